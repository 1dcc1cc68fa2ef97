/*
 * fec_crypt_bench - throughput of the KCP transport's FEC and crypt layers.
 *
 *   fec_crypt_bench [seconds-per-item]     (default 1.0)
 *
 * FEC: RS(10,3) with 1400-byte shards. "encode" counts the data bytes going
 * through fec_encoder_encode() (parity built every 10th call). "decode"
 * counts data bytes delivered (received + rebuilt) per group, for 0, 1 and 3
 * lost data shards per group; every group's 13 packets are fed (minus the
 * lost ones), so late parity shards are queued and evicted as in a session.
 * Crypt: 1400-byte datagrams (header included). "open" includes a 1400-byte
 * memcpy per datagram to restore the sealed copy, and runs without a replay
 * window (AEAD replay check costs a few ns).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../transports/kcp/fec.h"
#include "../transports/kcp/kcp_crypt.h"

#define SHARD 1400
#define DGRAM 1400
#define DS 10
#define PS 3

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void row(const char *name, double bytes, double ops, double secs)
{
	printf("  %-34s %10.1f MB/s %10.1f ns/op\n", name, bytes / secs / 1e6,
	       secs / ops * 1e9);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static int bench_encode(double limit)
{
	struct fec_encoder *e = fec_encoder_new(DS, PS, 0, SHARD + 6);
	static uint8_t dg[SHARD + 6];
	double t0, t, ops = 0;

	if (!e)
		return -errno;
	fill(dg, sizeof(dg), 1);
	t0 = now_s();
	do {
		int i;

		for (i = 0; i < 1000; i++)
			if (fec_encoder_encode(e, dg, sizeof(dg)) < 0)
				goto fail;
		ops += 1000;
		t = now_s() - t0;
	} while (t < limit);
	row("fec encode 10/3 (data bytes)", ops * SHARD, ops, t);
	fec_encoder_free(e);
	return 0;
fail:
	fec_encoder_free(e);
	return -EIO;
}

/* One encoded group, re-numbered for every round. */
static uint8_t grp[DS + PS][SHARD + 6 + FEC_TAILROOM];
static size_t grp_len[DS + PS];

static int make_group(void)
{
	struct fec_encoder *e = fec_encoder_new(DS, PS, 0, SHARD + 6);
	size_t plen;
	int i;

	if (!e)
		return -errno;
	for (i = 0; i < DS; i++) {
		fill(grp[i], SHARD + 6, (uint32_t)i + 7);
		grp_len[i] = SHARD + 6;
		fec_encoder_encode(e, grp[i], grp_len[i]);
	}
	for (i = 0; i < PS; i++) {
		uint8_t *p = fec_encoder_parity(e, i, &plen);

		memcpy(grp[DS + i], p, plen);
		grp_len[DS + i] = plen;
	}
	fec_encoder_free(e);
	return 0;
}

static int bench_decode(int lost, double limit)
{
	struct fec_decoder *d = fec_decoder_new(DS, PS, SHARD + 6);
	struct fec_decoder_stats st;
	double t0, t, groups = 0;
	uint32_t g = 0;
	char name[64];

	if (!d)
		return -errno;
	t0 = now_s();
	do {
		int n;

		for (n = 0; n < 100; n++, g++) {
			int i;
			size_t rl;

			for (i = 0; i < DS + PS; i++) {
				uint32_t s = g * (DS + PS) + (uint32_t)i;

				if (i < lost) /* lose the first data shards */
					continue;
				grp[i][0] = (uint8_t)s;
				grp[i][1] = (uint8_t)(s >> 8);
				grp[i][2] = (uint8_t)(s >> 16);
				grp[i][3] = (uint8_t)(s >> 24);
				fec_decoder_input(d, grp[i], grp_len[i], 0);
				while (fec_decoder_next(d, &rl))
					;
			}
		}
		groups += 100;
		t = now_s() - t0;
	} while (t < limit);
	fec_decoder_get_stats(d, &st);
	fec_decoder_free(d);
	if (st.recovered != (uint64_t)groups * (uint64_t)lost)
		return -EIO;
	snprintf(name, sizeof(name), "fec decode 10/3, %d lost/group", lost);
	row(name, groups * DS * SHARD, groups * (DS + PS - lost), t);
	return 0;
}

static int bench_cipher(const char *name, const uint8_t *key, double limit)
{
	char err[128];
	struct kcp_crypt *c = kcp_crypt_new(name, key, err, sizeof(err));
	static uint8_t buf[DGRAM + 64], sealed[DGRAM + 64];
	double t0, t, ops = 0, seal_t, seal_ops;
	size_t len;
	ssize_t n = 0;

	if (!c) {
		fprintf(stderr, "%s\n", err);
		return -errno;
	}
	len = DGRAM - kcp_crypt_trailer_size(c);
	fill(buf, sizeof(buf), 3);
	t0 = now_s();
	do {
		int i;

		for (i = 0; i < 256; i++)
			n = kcp_crypt_seal(c, buf, len, sizeof(buf));
		ops += 256;
		t = now_s() - t0;
	} while (t < limit);
	seal_t = t;
	seal_ops = ops;
	memcpy(sealed, buf, (size_t)n);
	ops = 0;
	t0 = now_s();
	do {
		int i;

		for (i = 0; i < 256; i++) {
			memcpy(buf, sealed, (size_t)n);
			if (kcp_crypt_open(c, buf, (size_t)n, NULL) < 0)
				goto fail;
		}
		ops += 256;
		t = now_s() - t0;
	} while (t < limit);
	printf("  %-18s %10.1f %10.1f %10.1f %10.1f\n", name,
	       seal_ops * DGRAM / seal_t / 1e6, seal_t / seal_ops * 1e9,
	       ops * DGRAM / t / 1e6, t / ops * 1e9);
	kcp_crypt_free(c);
	return 0;
fail:
	kcp_crypt_free(c);
	return -EBADMSG;
}

/* The send path's batched seal: nonce and CRC per datagram, then one
 * cipher pass over 32 datagrams (8 CFB chains in step). Only ciphers that
 * defer their pass (AES with AES-NI) get a row. */
static int bench_batch(const char *name, const uint8_t *key, double limit)
{
	enum { B = 32 };
	char err[128], label[40];
	struct kcp_crypt *c = kcp_crypt_new(name, key, err, sizeof(err));
	static uint8_t buf[B][DGRAM + 64];
	uint8_t *bufs[B];
	size_t lens[B];
	double t0, t, ops = 0;
	bool later = false;

	if (!c)
		return -EINVAL;
	for (int i = 0; i < B; i++) {
		fill(buf[i], sizeof(buf[i]), 5 + (uint32_t)i);
		bufs[i] = buf[i];
		lens[i] = DGRAM;
	}
	kcp_crypt_seal_begin(c, buf[0], DGRAM, sizeof(buf[0]), &later);
	if (!later) {
		kcp_crypt_free(c);
		return 0;
	}
	t0 = now_s();
	do {
		for (int i = 0; i < B; i++)
			kcp_crypt_seal_begin(c, buf[i], DGRAM, sizeof(buf[i]), &later);
		kcp_crypt_seal_finish(c, bufs, lens, B);
		ops += B;
		t = now_s() - t0;
	} while (t < limit);
	snprintf(label, sizeof(label), "%s, batch of %d", name, B);
	printf("  %-18s %10.1f %10.1f\n", label, ops * DGRAM / t / 1e6,
	       t / ops * 1e9);
	kcp_crypt_free(c);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const ciphers[] = {
		"none",	   "aes",     "aes-128", "aes-192",
		"3des",	   "blowfish", "xtea",   "salsa20",
		"xor",	   "aes-128-gcm", "chacha20-poly1305",
	};
	uint8_t key[KCP_CRYPT_KEY_LEN];
	double limit = 1.0;
	size_t i;
	int rc = 0;

	if (argc > 1) {
		limit = strtod(argv[1], NULL);
		if (!(limit > 0 && limit <= 60)) {
			fprintf(stderr, "usage: %s [seconds-per-item]\n",
				argv[0]);
			return 2;
		}
	}
	printf("FEC, RS(10,3), %d-byte shards\n", SHARD);
	rc |= bench_encode(limit);
	rc |= make_group();
	rc |= bench_decode(0, limit);
	rc |= bench_decode(1, limit);
	rc |= bench_decode(3, limit);
	if (kcp_crypt_derive_key("it's a secrect", key) < 0)
		return 1;
	printf("\ncrypt, %d-byte datagrams\n", DGRAM);
	printf("  %-18s %10s %10s %10s %10s\n", "cipher", "seal MB/s",
	       "seal ns", "open MB/s", "open ns");
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		rc |= bench_cipher(ciphers[i], key, limit);
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		rc |= bench_batch(ciphers[i], key, limit);
	if (rc)
		fprintf(stderr, "some benchmark failed\n");
	return rc ? 1 : 0;
}
