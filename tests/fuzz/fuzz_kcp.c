/*
 * fuzz_kcp.c - fuzz target for everything a KCP datagram passes through on
 * the way in: crypt open (kcp-go CFB + CRC, and the AEAD extension), FEC
 * decoding and the KCP core's input, on mutated valid traffic and noise.
 *
 * Built by the Makefile as $(BUILD)/fuzz/fuzz_kcp and run by tests/run.sh
 * for a bounded number of seeded inputs (FUZZ_ITERS, FUZZ_SEED); with file
 * arguments it replays them. For libFuzzer build with -DFUZZING.
 *
 * Properties: no crash or sanitizer report; rejected datagrams change no
 * delivered data (the stream that comes out is a prefix of what was sent).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/kcp/fec.h"
#include "../../transports/kcp/kcp_core.h"
#include "../../transports/kcp/kcp_crypt.h"

#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, "fuzz_kcp: check failed: %s\n", #c); \
			abort();                                             \
		}                                                            \
	} while (0)

struct rig {
	struct kcp *tx, *rx;
	struct fec_encoder *enc;
	struct fec_decoder *dec;
	struct kcp_crypt *c_tx, *c_rx, *g_rx;
	struct kcp_replay rp;
	uint8_t last[1600];
	size_t last_len;
	uint8_t sent[1 << 16], got[1 << 16];
	size_t nsent, ngot;
};

static struct rig R;

static void out_cb(uint8_t *buf, size_t len, void *arg)
{
	(void)arg;
	/* buf = [20 crypt][8 FEC][KCP]: FEC-mark and seal a copy. */
	if (fec_encoder_encode(R.enc, buf, len) < 0)
		return;
	memcpy(R.last, buf, len);
	ssize_t n = kcp_crypt_seal(R.c_tx, R.last, len, sizeof(R.last));
	R.last_len = n > 0 ? (size_t)n : 0;
}

static void feed(uint8_t *pkt, size_t len, uint32_t now)
{
	uint8_t copy[1600];
	if (len > sizeof(copy))
		return;
	memcpy(copy, pkt, len);
	/* The AEAD path sees the same bytes (it must reject them all). */
	CHECK(kcp_crypt_open(R.g_rx, copy, len, &R.rp) < 0 || len >= 28);
	memcpy(copy, pkt, len);
	ssize_t n = kcp_crypt_open(R.c_rx, copy, len, NULL);
	if (n < 0)
		return;
	uint8_t *p = copy + KCP_CRYPT_HEADER_LEN;
	int t = fec_decoder_input(R.dec, p, (size_t)n, now);
	if (t == FEC_TYPE_DATA)
		kcp_input(R.rx, p + 8, (size_t)n - 8, true, false, now);
	else if (t < 0 && (size_t)n >= KCP_OVERHEAD)
		kcp_input(R.rx, p, (size_t)n, true, false, now);
	const uint8_t *r;
	size_t rl;
	while ((r = fec_decoder_next(R.dec, &rl)))
		kcp_input(R.rx, r, rl, false, false, now);
	ssize_t g;
	while ((g = kcp_recv(R.rx, R.got + R.ngot, sizeof(R.got) - R.ngot)) > 0)
		R.ngot += (size_t)g;
	CHECK(R.ngot <= R.nsent && memcmp(R.got, R.sent, R.ngot) == 0);
}

static void rig_up(void)
{
	static uint8_t key[32];
	static int have_key;
	char err[128];
	memset(&R, 0, sizeof(R));
	if (!have_key) /* PBKDF2 with 4096 rounds: once, not per input */
		have_key = kcp_crypt_derive_key("fuzz", key) == 0;
	R.c_tx = kcp_crypt_new("aes", key, err, sizeof(err));
	R.c_rx = kcp_crypt_new("aes", key, err, sizeof(err));
	R.g_rx = kcp_crypt_new("aes-128-gcm", key, err, sizeof(err));
	struct kcp_cfg cfg = {.nodelay = 1, .interval = 10, .resend = 2, .nc = 1,
			      .snd_wnd = 64, .rcv_wnd = 64, .mtu = 1350,
			      .reserved = 28, .stream = true};
	R.tx = kcp_new(7, &cfg);
	R.rx = kcp_new(7, &cfg);
	kcp_set_output(R.tx, out_cb, NULL);
	R.enc = fec_encoder_new(10, 3, 20, 1350);
	R.dec = fec_decoder_new(10, 3, 1500);
	CHECK(R.c_tx && R.c_rx && R.g_rx && R.tx && R.rx && R.enc && R.dec);
}

static void rig_down(void)
{
	kcp_free(R.tx);
	kcp_free(R.rx);
	fec_encoder_free(R.enc);
	fec_decoder_free(R.dec);
	kcp_crypt_free(R.c_tx);
	kcp_crypt_free(R.c_rx);
	kcp_crypt_free(R.g_rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rig_up();
	uint32_t now = 1000;
	/* Interleave real traffic with the fuzz input cut into datagrams. */
	size_t off = 0;
	for (int round = 0; round < 8; round++) {
		size_t chunk = 700 + (size_t)round * 50;
		if (R.nsent + chunk <= sizeof(R.sent)) {
			for (size_t i = 0; i < chunk; i++)
				R.sent[R.nsent + i] = (uint8_t)(R.nsent + i);
			kcp_send(R.tx, R.sent + R.nsent, chunk);
			R.nsent += chunk;
		}
		R.last_len = 0;
		kcp_flush(R.tx, now, false);
		if (R.last_len)
			feed(R.last, R.last_len, now);
		if (off < size) {
			size_t take = (size_t)data[off] * 6 + 1;
			if (take > size - off)
				take = size - off;
			uint8_t pkt[1600];
			size_t n = take < sizeof(pkt) ? take : sizeof(pkt);
			memcpy(pkt, data + off, n);
			/* Half the time, splice the noise into a real packet. */
			if (R.last_len && (data[off] & 1) && n <= R.last_len) {
				memcpy(pkt, R.last, R.last_len);
				memcpy(pkt + (data[off] % (R.last_len - n + 1)), data + off, n);
				n = R.last_len;
			}
			feed(pkt, n, now);
			off += take;
		}
		now += 10;
	}
	rig_down();
	return 0;
}

#ifndef FUZZING
int main(int argc, char **argv)
{
	static uint8_t buf[1 << 14];
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");
			size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
			if (f)
				fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
		}
		return 0;
	}
	uint64_t s = getenv("FUZZ_SEED") ? strtoull(getenv("FUZZ_SEED"), NULL, 10) : 1;
	long iters = getenv("FUZZ_ITERS") ? atol(getenv("FUZZ_ITERS")) : 10000;
	for (long it = 0; it < iters; it++) {
		size_t n = 1 + (size_t)(it % 4000);
		for (size_t i = 0; i < n; i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (uint8_t)(s >> 56);
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_kcp: %ld inputs ok\n", iters);
	return 0;
}
#endif
