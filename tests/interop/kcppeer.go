// kcppeer: a kcp-go 5.6.1 peer for interoperability tests. It is built
// offline in GOPATH mode against Debian's golang-github-xtaci-kcp-dev:
//
//	GOPATH=$BUILD/gopath:/usr/share/gocode GO111MODULE=off go build -o kcppeer .
//
// Server: kcppeer -l 127.0.0.1:PORT [opts]   echoes every byte of each session
// Client: kcppeer -c 127.0.0.1:PORT -n BYTES [opts]
//
//	sends BYTES pseudo-random bytes (seeded), reads the echo back, checks it
//	and prints "ok BYTES" (exit 0) or an error (exit 1).
//
// Options mirror kcptun: -crypt NAME -key K -ds N -ps N -mode fast2 -mtu N
// -sndwnd N -rcvwnd N. The key is derived like kcptun's:
// PBKDF2-SHA1(key, "kcp-go", 4096, 32).
package main

import (
	"crypto/sha1"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"time"

	"github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

func blockCrypt(name string, pass []byte) (kcp.BlockCrypt, error) {
	switch name {
	case "null":
		return nil, nil
	case "none":
		return kcp.NewNoneBlockCrypt(pass)
	case "aes":
		return kcp.NewAESBlockCrypt(pass)
	case "aes-128":
		return kcp.NewAESBlockCrypt(pass[:16])
	case "aes-192":
		return kcp.NewAESBlockCrypt(pass[:24])
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(pass)
	case "3des":
		return kcp.NewTripleDESBlockCrypt(pass[:24])
	case "blowfish":
		return kcp.NewBlowfishBlockCrypt(pass)
	case "xtea":
		return kcp.NewXTEABlockCrypt(pass[:16])
	case "xor":
		return kcp.NewSimpleXORBlockCrypt(pass)
	}
	return nil, fmt.Errorf("unknown crypt %q", name)
}

func tune(s *kcp.UDPSession, mode string, mtu, snd, rcv int) {
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	switch mode {
	case "normal":
		s.SetNoDelay(0, 40, 2, 1)
	case "fast":
		s.SetNoDelay(0, 30, 2, 1)
	case "fast3":
		s.SetNoDelay(1, 10, 2, 1)
	default:
		s.SetNoDelay(1, 20, 2, 1)
	}
	s.SetMtu(mtu)
	s.SetWindowSize(snd, rcv)
	s.SetACKNoDelay(false)
}

func main() {
	listen := flag.String("l", "", "listen address (server mode)")
	connect := flag.String("c", "", "connect address (client mode)")
	n := flag.Int("n", 1<<20, "bytes to send in client mode")
	cryptName := flag.String("crypt", "none", "cipher")
	key := flag.String("key", "it's a secrect", "pre-shared key")
	ds := flag.Int("ds", 10, "data shards")
	ps := flag.Int("ps", 3, "parity shards")
	mode := flag.String("mode", "fast2", "normal|fast|fast2|fast3")
	mtu := flag.Int("mtu", 1350, "mtu")
	snd := flag.Int("sndwnd", 1024, "send window")
	rcv := flag.Int("rcvwnd", 1024, "receive window")
	timeout := flag.Int("t", 60, "overall timeout in seconds")
	flag.Parse()

	pass := pbkdf2.Key([]byte(*key), []byte("kcp-go"), 4096, 32, sha1.New)
	block, err := blockCrypt(*cryptName, pass)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	time.AfterFunc(time.Duration(*timeout)*time.Second, func() {
		fmt.Fprintln(os.Stderr, "kcppeer: timeout")
		os.Exit(3)
	})
	if *listen != "" {
		l, err := kcp.ListenWithOptions(*listen, block, *ds, *ps)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("listening %s\n", l.Addr())
		for {
			s, err := l.AcceptKCP()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			tune(s, *mode, *mtu, *snd, *rcv)
			go func(s *kcp.UDPSession) {
				buf := make([]byte, 65536)
				for {
					k, err := s.Read(buf)
					if err != nil {
						return
					}
					if _, err := s.Write(buf[:k]); err != nil {
						return
					}
				}
			}(s)
		}
	}
	s, err := kcp.DialWithOptions(*connect, block, *ds, *ps)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tune(s, *mode, *mtu, *snd, *rcv)
	data := make([]byte, *n)
	rand.New(rand.NewSource(42)).Read(data)
	go func() {
		for off := 0; off < len(data); off += 4096 {
			end := off + 4096
			if end > len(data) {
				end = len(data)
			}
			if _, err := s.Write(data[off:end]); err != nil {
				return
			}
		}
	}()
	got := make([]byte, *n)
	if _, err := io.ReadFull(s, got); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(1)
	}
	for i := range data {
		if data[i] != got[i] {
			fmt.Fprintf(os.Stderr, "mismatch at byte %d\n", i)
			os.Exit(1)
		}
	}
	fmt.Printf("ok %d\n", *n)
	s.Close()
}
