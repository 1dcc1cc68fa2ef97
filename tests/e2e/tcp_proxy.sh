#!/bin/bash
# A tcp proxy over tcp.so, with tcpMux on (frp's default) and off:
# 64 MiB each way with content checked, then 200 concurrent connections.
# e2e: serial (with tcpMux off the 200 connections are 200 TLS handshakes at once,
# CPU-bound under ASan against frps's 10 s wait for a work connection: next to
# tls.sh on two cores 172 of them timed out in one fresh-clone run)
source "$(dirname "$0")/lib.sh"

for mux in true false; do
	log "tcpMux=$mux"
	SP=$(free_port); RP=$(free_port); EP=$(free_port); RP2=$(free_port)
	UP=$(free_port); URP=$(free_port); URP2=$(free_port)
	start echo_$mux "$NT" echo-server --bind 127.0.0.1 --port "$EP"
	start uecho_$mux "$NT" udp-echo --bind 127.0.0.1 --port "$UP"
	write_frps "$T/frps_$mux.yaml" "$SP" "transport: {tcpMux: $mux}"
	write_frpc "$T/frpc_$mux.yaml" "$SP" "transport: {tcpMux: $mux, poolCount: 2}" \
		"proxies:" \
		"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}" \
		"  - {name: echoenc, type: tcp, localPort: $EP, remotePort: $RP2, transport: {useEncryption: true}}" \
		"  - {name: uecho, type: udp, localPort: $UP, remotePort: $URP}" \
		"  - {name: uechoenc, type: udp, localPort: $UP, remotePort: $URP2, transport: {useEncryption: true}}"
	start frps_$mux "$FRPS" -c "$T/frps_$mux.yaml" --transports-dir "$XDIR"
	wait_port "$SP" || fail "frps did not listen on $SP"
	start frpc_$mux "$FRPC" -c "$T/frpc_$mux.yaml" --transports-dir "$XDIR"
	for p in echo echoenc uecho uechoenc; do
		wait_log frpc_$mux "\\[$p\\] start proxy success" 10 || fail "proxy $p did not start"
	done
	wait_port "$RP" || fail "remote port $RP not open"
	out=$("$NT" send --host 127.0.0.1 --port "$RP2" --bytes $((8 << 20)) --seed 8 --timeout 60) ||
		fail "8 MiB echo through an encrypted proxy: $out"
	log "useEncryption: $out"
	for urp in "$URP" "$URP2"; do
		sleep 0.6 # frps asks for the udp work connection 500 ms after start
		out=$("$NT" udp-ping --port "$urp" --count 50 --interval-ms 5 --wait-ms 2000) ||
			fail "udp proxy on $urp: $out"
		echo "$out" | grep -q "recv=50 " || fail "udp proxy on $urp lost datagrams on loopback: $out"
		log "udp: $out"
	done

	# 64 MiB up and the same 64 MiB echoed back down, compared byte for byte.
	out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $((64 << 20)) --seed 7 --timeout 120) ||
		fail "64 MiB echo through the proxy: $out"
	log "$out"
	out=$("$NT" conc --host 127.0.0.1 --port "$RP" --conns 200 --bytes 65536 --timeout 60) ||
		fail "200 concurrent connections: $out"
	log "$out"
	stop frpc_$mux || true
	stop frps_$mux || true
	stop echo_$mux || true
	stop uecho_$mux || true
done
log "ok"
