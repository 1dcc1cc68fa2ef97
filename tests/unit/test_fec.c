/*
 * test_fec.c - kcp-go compatible FEC: GF and matrix KATs (docs/kcp-wire.md
 * §5.1), encoder layout, every erasure pattern of RS(10,3), decoder queue
 * rules (duplicates, order, rxlimit, expiry), hostile input, auto-tuning.
 */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/kcp/fec.h"

#define MTU 1500

/* Deterministic xorshift so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

START_TEST(gf_kat)
{
	ck_assert_uint_eq(fec_gf_mul(3, 4), 12);
	ck_assert_uint_eq(fec_gf_mul(7, 7), 21);
	ck_assert_uint_eq(fec_gf_mul(23, 45), 41);
	ck_assert_uint_eq(fec_gf_mul(0x80, 2), 29); /* reduction by 0x11D */
	ck_assert_uint_eq(fec_gf_mul(0, 77), 0);
	ck_assert_uint_eq(fec_gf_mul(1, 77), 77);
}
END_TEST

static void check_matrix(int ds, int ps, const uint8_t *want)
{
	uint8_t got[FEC_MAX_SHARDS];

	ck_assert_int_eq(fec_parity_matrix(ds, ps, got), 0);
	ck_assert_mem_eq(got, want, (size_t)(ds * ps));
}

START_TEST(matrix_kat)
{
	static const uint8_t rs10_3[] = {
		129, 150, 175, 184, 210, 196, 254, 232, 3, 2,
		150, 129, 184, 175, 196, 210, 232, 254, 2, 3,
		191, 214, 98,  10,  6,   111, 223, 183, 5, 4,
	};
	static const uint8_t rs4_2[] = { 27, 28, 18, 20, 28, 27, 20, 18 };
	static const uint8_t rs3_2[] = { 1, 1, 1, 15, 8, 6 };
	static const uint8_t rs2_1[] = { 3, 2 };
	static const uint8_t rs1_1[] = { 1 };
	static const uint8_t rs8_4[] = {
		26,  132, 186, 51,  231, 16,  198, 39,
		132, 26,  51,  186, 16,  231, 39,  198,
		186, 51,  26,  132, 198, 39,  231, 16,
		51,  186, 132, 26,  39,  198, 16,  231,
	};
	uint8_t dummy[4];

	check_matrix(10, 3, rs10_3);
	check_matrix(4, 2, rs4_2);
	check_matrix(3, 2, rs3_2);
	check_matrix(2, 1, rs2_1);
	check_matrix(1, 1, rs1_1);
	check_matrix(8, 4, rs8_4);
	ck_assert_int_eq(fec_parity_matrix(0, 1, dummy), -EINVAL);
	ck_assert_int_eq(fec_parity_matrix(1, 0, dummy), -EINVAL);
	ck_assert_int_eq(fec_parity_matrix(200, 57, dummy), -EINVAL);
}
END_TEST

/* Structured vector: data_i[j] = i*16 + j -> parity rows a0.., b0.., c0.. */
START_TEST(structured_vector)
{
	uint8_t data[10][8], par[3][8];
	const uint8_t *dp[10];
	uint8_t *pp[3];
	int i, j;

	for (i = 0; i < 10; i++) {
		for (j = 0; j < 8; j++)
			data[i][j] = (uint8_t)(i * 16 + j);
		dp[i] = data[i];
	}
	for (i = 0; i < 3; i++)
		pp[i] = par[i];
	ck_assert_int_eq(fec_rs_encode(10, 3, dp, pp, 8), 0);
	for (i = 0; i < 3; i++)
		for (j = 0; j < 8; j++)
			ck_assert_uint_eq(par[i][j], 0xa0 + 0x10 * i + j);
}
END_TEST

/*
 * Random shards of many lengths (odd sizes, around SIMD widths): jerasure's
 * parity equals the matrix applied byte by byte.
 */
START_TEST(random_vector_matches_matrix)
{
	enum { DS = 10, PS = 3, MAXLEN = 1500 };
	static const size_t lens[] = { 1,  2,  3,  7,   8,   15,   16,   17,  31,
				       32, 33, 63, 64,  65,  100,  1373, 1400,
				       1494 };
	static uint8_t data[DS][MAXLEN], par[PS][MAXLEN];
	uint8_t m[DS * PS];
	const uint8_t *dp[DS];
	uint8_t *pp[PS];
	size_t b, li;
	int i, j;

	ck_assert_int_eq(fec_parity_matrix(DS, PS, m), 0);
	for (i = 0; i < PS; i++)
		pp[i] = par[i];
	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];

		for (i = 0; i < DS; i++) {
			rnd_fill(data[i], len);
			dp[i] = data[i];
		}
		ck_assert_int_eq(fec_rs_encode(DS, PS, dp, pp, len), 0);
		for (i = 0; i < PS; i++) {
			for (b = 0; b < len; b++) {
				uint8_t acc = 0;

				for (j = 0; j < DS; j++)
					acc ^= fec_gf_mul(m[i * DS + j],
							  data[j][b]);
				ck_assert_uint_eq(par[i][b], acc);
			}
		}
	}
}
END_TEST

START_TEST(paws_values)
{
	ck_assert_uint_eq(fec_paws(10, 3), 4294967287u);
	ck_assert_uint_eq(fec_paws(1, 1), 4294967294u);
	ck_assert_uint_eq(fec_paws(3, 2), 4294967295u);
}
END_TEST

/* Encoder: header fields, unpadded data, parity datagram layout and bytes. */
static void encoder_layout(size_t hdr)
{
	enum { DS = 3, PS = 2 };
	static const size_t kcp_len[DS] = { 30, 101, 57 };
	uint8_t dg[DS][256], kcp[DS][256], shard[DS][256], par[PS][256];
	const uint8_t *dp[DS];
	uint8_t *pp[PS];
	struct fec_encoder *e = fec_encoder_new(DS, PS, hdr, MTU);
	size_t maxl = 0, plen;
	int i, rc;

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(fec_encoder_next_seqid(e), 0);
	for (i = 0; i < DS; i++) {
		size_t len = hdr + 8 + kcp_len[i];

		memset(dg[i], 0xEE, sizeof(dg[i]));
		rnd_fill(kcp[i], kcp_len[i]);
		memcpy(dg[i] + hdr + 8, kcp[i], kcp_len[i]);
		rc = fec_encoder_encode(e, dg[i], len);
		ck_assert_int_eq(rc, i == DS - 1 ? PS : 0);
		ck_assert_uint_eq(le32(dg[i] + hdr), (uint32_t)i);
		ck_assert_uint_eq(le16(dg[i] + hdr + 4), FEC_TYPE_DATA);
		ck_assert_uint_eq(le16(dg[i] + hdr + 6), 2 + kcp_len[i]);
		ck_assert_mem_eq(dg[i] + hdr + 8, kcp[i], kcp_len[i]);
		/* the reserved crypt space and the tail are untouched */
		if (hdr)
			ck_assert_uint_eq(dg[i][hdr - 1], 0xEE);
		ck_assert_uint_eq(dg[i][len], 0xEE);
		if (2 + kcp_len[i] > maxl)
			maxl = 2 + kcp_len[i];
		if (i < DS - 1) {
			const uint8_t *sh;
			size_t sl;

			ck_assert_ptr_null(fec_encoder_parity(e, 0, &plen));
			/* the open group, shard by shard, as encoded */
			ck_assert_int_eq(fec_encoder_pending(e), i + 1);
			sh = fec_encoder_shard(e, i, &sl);
			ck_assert_ptr_nonnull(sh);
			ck_assert_uint_eq(sl, 2 + kcp_len[i]);
			ck_assert_mem_eq(sh, dg[i] + hdr + 6, sl);
			ck_assert_ptr_null(fec_encoder_shard(e, i + 1, &sl));
			ck_assert_ptr_null(fec_encoder_shard(e, -1, &sl));
		} else {
			ck_assert_int_eq(fec_encoder_pending(e), 0);
		}
	}
	/* expected parity over zero-padded (size || KCP) shards */
	for (i = 0; i < DS; i++) {
		memset(shard[i], 0, sizeof(shard[i]));
		memcpy(shard[i], dg[i] + hdr + 6, 2 + kcp_len[i]);
		dp[i] = shard[i];
	}
	for (i = 0; i < PS; i++)
		pp[i] = par[i];
	ck_assert_int_eq(fec_rs_encode(DS, PS, dp, pp, maxl), 0);
	for (i = 0; i < PS; i++) {
		uint8_t *p = fec_encoder_parity(e, i, &plen);
		size_t k;

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(plen, hdr + 6 + maxl);
		for (k = 0; k < hdr; k++)
			ck_assert_uint_eq(p[k], 0);
		ck_assert_uint_eq(le32(p + hdr), (uint32_t)(DS + i));
		ck_assert_uint_eq(le16(p + hdr + 4), FEC_TYPE_PARITY);
		ck_assert_mem_eq(p + hdr + 6, par[i], maxl);
		/* tail room is writable (ASan checks) */
		memset(p + plen, 0xAB, FEC_TAILROOM);
	}
	ck_assert_ptr_null(fec_encoder_parity(e, PS, &plen));
	ck_assert_ptr_null(fec_encoder_parity(e, -1, &plen));
	ck_assert_uint_eq(fec_encoder_next_seqid(e), DS + PS);
	/* next group starts where the parity ended */
	memset(dg[0], 0, 64);
	ck_assert_int_eq(fec_encoder_encode(e, dg[0], hdr + 8 + 10), 0);
	ck_assert_uint_eq(le32(dg[0] + hdr), DS + PS);
	ck_assert_ptr_null(fec_encoder_parity(e, 0, &plen));
	fec_encoder_free(e);
}

START_TEST(encoder_layout_plain)
{
	encoder_layout(0);
}
END_TEST

START_TEST(encoder_layout_crypt)
{
	encoder_layout(20);
	encoder_layout(12);
}
END_TEST

START_TEST(encoder_limits)
{
	uint8_t buf[MTU + 1] = { 0 };
	struct fec_encoder *e;

	ck_assert_ptr_null(fec_encoder_new(0, 3, 0, MTU));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(fec_encoder_new(10, 0, 0, MTU));
	ck_assert_ptr_null(fec_encoder_new(10, 3, 0, MTU + 1));
	ck_assert_ptr_null(fec_encoder_new(200, 100, 0, MTU));
	e = fec_encoder_new(10, 3, 20, 1350);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(fec_encoder_encode(e, buf, 27), -EINVAL);
	ck_assert_int_eq(fec_encoder_encode(e, buf, 1351), -EMSGSIZE);
	ck_assert_int_eq(fec_encoder_encode(e, buf, 28), 0); /* empty KCP */
	ck_assert_uint_eq(le16(buf + 26), 2);
	fec_encoder_free(e);
	fec_encoder_free(NULL);
	fec_decoder_free(NULL);
}
END_TEST

/* Seqids wrap to 0 only after the last parity of the group before paws. */
START_TEST(encoder_paws_wrap)
{
	uint32_t paws = fec_paws(10, 3);
	struct fec_encoder *e = fec_encoder_new(10, 3, 0, MTU);
	uint8_t buf[64];
	size_t plen;
	int i;

	ck_assert_ptr_nonnull(e);
	fec_encoder_set_next_seqid(e, paws);
	ck_assert_uint_eq(fec_encoder_next_seqid(e), 0);
	fec_encoder_set_next_seqid(e, paws - 13);
	for (i = 0; i < 10; i++) {
		memset(buf, 0, sizeof(buf));
		ck_assert_int_eq(fec_encoder_encode(e, buf, 40), i == 9 ? 3 : 0);
		ck_assert_uint_eq(le32(buf), paws - 13 + (uint32_t)i);
	}
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(le32(fec_encoder_parity(e, i, &plen)),
				  paws - 3 + (uint32_t)i);
	ck_assert_uint_eq(fec_encoder_next_seqid(e), 0);
	ck_assert_int_eq(fec_encoder_encode(e, buf, 40), 0);
	ck_assert_uint_eq(le32(buf), 0);
	fec_encoder_free(e);
}
END_TEST

/* ---- a captured group: ds data datagrams + ps parity datagrams --------- */

struct group {
	int ds, ps;
	size_t hdr;
	uint8_t pkt[FEC_MAX_SHARDS][MTU + FEC_TAILROOM]; /* FEC packets */
	size_t len[FEC_MAX_SHARDS];
	uint8_t kcp[FEC_MAX_SHARDS][MTU];
	size_t kcp_len[FEC_MAX_SHARDS];
};

/*
 * Run one group through the encoder; keep the packets as the receiver sees
 * them (crypt header stripped). Lengths are mixed: tiny to near the MTU.
 */
static void make_group(struct fec_encoder *e, struct group *g, int ds, int ps,
		       size_t hdr)
{
	uint8_t dg[MTU];
	size_t plen;
	int i;

	g->ds = ds;
	g->ps = ps;
	g->hdr = hdr;
	for (i = 0; i < ds; i++) {
		size_t kl = (rnd() % 4 == 0) ? rnd() % 8 : rnd() % (MTU - hdr - 8);
		int rc;

		g->kcp_len[i] = kl;
		rnd_fill(g->kcp[i], kl);
		rnd_fill(dg, hdr);
		memcpy(dg + hdr + 8, g->kcp[i], kl);
		rc = fec_encoder_encode(e, dg, hdr + 8 + kl);
		ck_assert_int_eq(rc, i == ds - 1 ? ps : 0);
		g->len[i] = 8 + kl;
		memcpy(g->pkt[i], dg + hdr, g->len[i]);
	}
	for (i = 0; i < ps; i++) {
		uint8_t *p = fec_encoder_parity(e, i, &plen);

		ck_assert_ptr_nonnull(p);
		g->len[ds + i] = plen - hdr;
		memcpy(g->pkt[ds + i], p + hdr, plen - hdr);
	}
}

/*
 * Feed the group minus the erased set (bitmask) in the given order; check
 * data packets are classified as data and that exactly the erased data
 * shards come back, byte-exact. Returns the number recovered.
 */
static int feed_group(struct fec_decoder *d, const struct group *g,
		      uint32_t erased, const int *order, uint64_t now)
{
	int n = g->ds + g->ps, i, nrec = 0, nerased_data = 0;
	bool got[FEC_MAX_SHARDS] = { false };

	for (i = 0; i < g->ds; i++)
		nerased_data += (erased >> i) & 1;
	for (i = 0; i < n; i++) {
		int k = order ? order[i] : i, rc;
		const uint8_t *r;
		size_t rl;

		if (erased & (1u << k))
			continue;
		rc = fec_decoder_input(d, g->pkt[k], g->len[k], now);
		ck_assert_int_eq(rc, k < g->ds ? FEC_TYPE_DATA : FEC_TYPE_PARITY);
		while ((r = fec_decoder_next(d, &rl)) != NULL) {
			int j, match = -1;

			for (j = 0; j < g->ds; j++)
				if ((erased & (1u << j)) && !got[j] &&
				    g->kcp_len[j] == rl &&
				    memcmp(g->kcp[j], r, rl) == 0)
					match = j;
			ck_assert_int_ge(match, 0);
			got[match] = true;
			nrec++;
		}
	}
	ck_assert_int_eq(nrec, nerased_data);
	return nrec;
}

static struct group grp; /* large; static keeps it off the stack */

START_TEST(all_erasures_10_3)
{
	struct fec_encoder *e = fec_encoder_new(10, 3, 20, MTU);
	struct fec_decoder *d = fec_decoder_new(10, 3, MTU);
	struct fec_decoder_stats st;
	uint32_t mask;
	int patterns = 0, expect_rec = 0;

	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(d);
	/*
	 * One decoder for all patterns: each pattern uses the next group of
	 * seqids, so this also covers the queue across many groups.
	 */
	for (mask = 1; mask < (1u << 13); mask++) {
		int bits = __builtin_popcount(mask), i, nd = 0;

		if (bits > 3)
			continue;
		make_group(e, &grp, 10, 3, 20);
		for (i = 0; i < 10; i++)
			nd += (mask >> i) & 1;
		expect_rec += nd;
		feed_group(d, &grp, mask, NULL, 1000);
		patterns++;
	}
	ck_assert_int_eq(patterns, 13 + 78 + 286);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.recovered, (uint64_t)expect_rec);
	ck_assert_uint_eq(st.errors, 0);
	ck_assert_uint_eq(st.retunes, 0);
	fec_encoder_free(e);
	fec_decoder_free(d);
}
END_TEST

/* More erasures than parity: nothing can be rebuilt, nothing bogus appears. */
START_TEST(too_many_erasures)
{
	struct fec_encoder *e = fec_encoder_new(10, 3, 0, MTU);
	struct fec_decoder *d = fec_decoder_new(10, 3, MTU);
	struct fec_decoder_stats st;
	const uint8_t *r;
	size_t rl;
	int i;

	make_group(e, &grp, 10, 3, 0);
	for (i = 4; i < 13; i++) {
		fec_decoder_input(d, grp.pkt[i], grp.len[i], 0);
		ck_assert_ptr_null(fec_decoder_next(d, &rl));
	}
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.recovered, 0);
	ck_assert_uint_eq(st.parity_shards, 3);
	ck_assert_uint_eq(fec_decoder_queued(d), 9);
	/* a late data shard completes the group */
	fec_decoder_input(d, grp.pkt[0], grp.len[0], 0);
	ck_assert_ptr_nonnull(r = fec_decoder_next(d, &rl));
	(void)r;
	fec_encoder_free(e);
	fec_decoder_free(d);
}
END_TEST

START_TEST(out_of_order_and_duplicates)
{
	struct fec_encoder *e = fec_encoder_new(4, 2, 0, MTU);
	struct fec_decoder *d = fec_decoder_new(4, 2, MTU);
	struct fec_decoder_stats st;
	static const int rev[] = { 5, 4, 3, 2, 1, 0 };
	static const int mix[] = { 4, 1, 5, 3, 0, 2 };
	size_t rl;
	int i;

	/* reverse order, two data shards lost */
	make_group(e, &grp, 4, 2, 0);
	feed_group(d, &grp, (1u << 0) | (1u << 2), rev, 0);
	/* shuffled, one data + one parity lost */
	make_group(e, &grp, 4, 2, 0);
	feed_group(d, &grp, (1u << 1) | (1u << 5), mix, 0);
	/* every packet twice: duplicates ignored, one recovery only */
	make_group(e, &grp, 4, 2, 0);
	for (i = 1; i < 6; i++) {
		ck_assert_int_eq(fec_decoder_input(d, grp.pkt[i], grp.len[i], 0),
				 i < 4 ? FEC_TYPE_DATA : FEC_TYPE_PARITY);
		if (i == 4) {
			ck_assert_ptr_nonnull(fec_decoder_next(d, &rl));
			ck_assert_uint_eq(rl, grp.kcp_len[0]);
		}
		ck_assert_int_eq(fec_decoder_input(d, grp.pkt[i], grp.len[i], 0),
				 i < 4 ? FEC_TYPE_DATA : FEC_TYPE_PARITY);
		ck_assert_ptr_null(fec_decoder_next(d, &rl));
	}
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.recovered, 2 + 1 + 1);
	/* duplicates of a queued seqid are counted; the parity at i == 5
	 * arrives after its group was decoded and freed, so it is queued
	 * again and its duplicate then counted as well */
	ck_assert_uint_eq(st.duplicates, 4);
	fec_encoder_free(e);
	fec_decoder_free(d);
}
END_TEST

/* Build a FEC packet by hand. */
static size_t mkpkt(uint8_t *p, uint32_t seqid, unsigned type, size_t len)
{
	p[0] = (uint8_t)seqid;
	p[1] = (uint8_t)(seqid >> 8);
	p[2] = (uint8_t)(seqid >> 16);
	p[3] = (uint8_t)(seqid >> 24);
	p[4] = (uint8_t)type;
	p[5] = 0;
	p[6] = (uint8_t)(len - 6); /* a plausible size field */
	p[7] = (uint8_t)((len - 6) >> 8);
	return len;
}

START_TEST(rxlimit_eviction)
{
	struct fec_decoder *d = fec_decoder_new(10, 3, MTU);
	struct fec_decoder_stats st;
	uint8_t p[64] = { 0 };
	uint32_t g;
	int i;

	/* 5 data shards of each of 20 groups: no group ever completes */
	for (g = 0; g < 20; g++) {
		for (i = 0; i < 5; i++) {
			mkpkt(p, g * 13 + (uint32_t)i, FEC_TYPE_DATA, 40);
			ck_assert_int_eq(fec_decoder_input(d, p, 40, g),
					 FEC_TYPE_DATA);
			ck_assert_uint_le(fec_decoder_queued(d), 39);
		}
	}
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(fec_decoder_queued(d), 39);
	ck_assert_uint_eq(st.short_shards, 100 - 39);
	/* the oldest ones went: an old seqid is queued again as new */
	mkpkt(p, 0, FEC_TYPE_DATA, 40);
	fec_decoder_input(d, p, 40, 100);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.duplicates, 0);
	fec_decoder_free(d);
}
END_TEST

START_TEST(expiry)
{
	struct fec_decoder *d = fec_decoder_new(10, 3, MTU);
	struct fec_decoder_stats st;
	uint8_t p[64] = { 0 };
	uint64_t t0 = 5000000;
	int i;

	for (i = 0; i < 5; i++) {
		mkpkt(p, (uint32_t)i, FEC_TYPE_DATA, 40);
		fec_decoder_input(d, p, 40, t0 + (uint64_t)i * 1000);
	}
	ck_assert_uint_eq(fec_decoder_queued(d), 5);
	/* at t0 + 61.5 s the first two (t0, t0 + 1 s) are older than 60 s */
	mkpkt(p, 13, FEC_TYPE_DATA, 40);
	fec_decoder_input(d, p, 40, t0 + 61500);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.expired, 2);
	ck_assert_uint_eq(fec_decoder_queued(d), 4);
	/* exactly 60 s is not expired yet */
	mkpkt(p, 14, FEC_TYPE_DATA, 40);
	fec_decoder_input(d, p, 40, t0 + 62000);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.expired, 2);
	fec_decoder_free(d);
}
END_TEST

/*
 * The queue orders seqids in serial-number order across 2^32: a parity
 * shard just below the wrap sorts before data seqid 1 and is evicted first.
 */
START_TEST(seqid_wrap_order)
{
	struct fec_decoder *d = fec_decoder_new(10, 3, MTU);
	struct fec_decoder_stats st;
	uint32_t paws = fec_paws(10, 3), k;
	uint8_t p[64] = { 0 };

	mkpkt(p, 1, FEC_TYPE_DATA, 40);
	fec_decoder_input(d, p, 40, 0);
	mkpkt(p, paws - 1, FEC_TYPE_PARITY, 40); /* last parity before wrap */
	fec_decoder_input(d, p, 40, 0);
	/* 38 more lone data shards (position 0 of later groups) */
	for (k = 1; k <= 38; k++) {
		mkpkt(p, 13 * k, FEC_TYPE_DATA, 40);
		fec_decoder_input(d, p, 40, 0);
	}
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(fec_decoder_queued(d), 39);
	ck_assert_uint_eq(st.short_shards, 0); /* the parity went first */
	mkpkt(p, 13 * 39, FEC_TYPE_DATA, 40);
	fec_decoder_input(d, p, 40, 0);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.short_shards, 1); /* then data seqid 1 */
	ck_assert_uint_eq(st.retunes, 0);
	fec_decoder_free(d);
}
END_TEST

START_TEST(garbage_input)
{
	struct fec_decoder *d = fec_decoder_new(10, 3, 1400);
	struct fec_decoder_stats st;
	uint8_t p[MTU + 10];
	size_t rl;
	int i, ds, ps;

	ck_assert_ptr_null(fec_decoder_new(0, 1, MTU));
	ck_assert_ptr_null(fec_decoder_new(1, 1, 7));
	ck_assert_ptr_null(fec_decoder_new(1, 1, MTU + 1));
	ck_assert_ptr_nonnull(d);
	memset(p, 0, sizeof(p));
	mkpkt(p, 0, FEC_TYPE_DATA, 8);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(fec_decoder_input(d, p, (size_t)i, 0), -EBADMSG);
	ck_assert_int_eq(fec_decoder_input(d, p, 8, 0), FEC_TYPE_DATA);
	p[4] = 81; /* a KCP cmd: not FEC */
	ck_assert_int_eq(fec_decoder_input(d, p, 40, 0), -EBADMSG);
	ck_assert_int_eq(fec_packet_type(p, 40), 0);
	/* larger than the decoder's mtu: still data for KCP, not stored */
	mkpkt(p, 1, FEC_TYPE_DATA, 1401);
	ck_assert_int_eq(fec_decoder_input(d, p, 1401, 0), FEC_TYPE_DATA);
	ck_assert_uint_eq(fec_decoder_queued(d), 1);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.bad_packets, 8 + 1 + 1);

	/* random junk with FEC types, random seqids/lengths: counters only */
	for (i = 0; i < 20000; i++) {
		size_t len = rnd() % 1400 + 1;
		int rc;

		rnd_fill(p, len);
		if (len >= 6) {
			p[4] = (rnd() & 1) ? FEC_TYPE_DATA : FEC_TYPE_PARITY;
			p[5] = 0;
			switch (rnd() % 4) { /* keep many in a few groups */
			case 0:
				p[1] = p[2] = p[3] = 0;
				break;
			case 1: /* both sides of the 2^32 wrap */
				p[1] = p[2] = p[3] = p[0] < 128 ? 0 : 0xFF;
				break;
			}
		}
		rc = fec_decoder_input(d, p, len, (uint64_t)i);
		ck_assert(rc == -EBADMSG || rc == FEC_TYPE_DATA ||
			  rc == FEC_TYPE_PARITY);
		while (fec_decoder_next(d, &rl))
			ck_assert_uint_le(rl, 1400);
		/* junk may re-tune the geometry; the bound follows it */
		fec_decoder_geometry(d, &ds, &ps);
		ck_assert_uint_le(fec_decoder_queued(d),
				  (size_t)(FEC_RX_MULTI * (ds + ps)));
	}
	fec_decoder_free(d);
}
END_TEST

/* A rebuilt shard whose size field is out of range is an error, not data. */
START_TEST(recovered_bad_size)
{
	struct fec_decoder *d = fec_decoder_new(2, 1, MTU);
	struct fec_decoder_stats st;
	uint8_t s0[20], s1[20], par[20], p[64];
	const uint8_t *dp[2] = { s0, s1 };
	uint8_t *pp[1] = { par };
	size_t rl;
	int bad;

	for (bad = 0; bad < 3; bad++) {
		uint32_t base = (uint32_t)bad * 3;
		static const unsigned sz[3] = { 21, 1, 0 };

		rnd_fill(s0, sizeof(s0));
		rnd_fill(s1, sizeof(s1));
		s0[0] = (uint8_t)sz[bad];
		s0[1] = 0;
		ck_assert_int_eq(fec_rs_encode(2, 1, dp, pp, 20), 0);
		mkpkt(p, base + 1, FEC_TYPE_DATA, 26);
		memcpy(p + 6, s1, 20);
		fec_decoder_input(d, p, 26, 0);
		mkpkt(p, base + 2, FEC_TYPE_PARITY, 26);
		memcpy(p + 6, par, 20);
		fec_decoder_input(d, p, 26, 0);
		ck_assert_ptr_null(fec_decoder_next(d, &rl));
	}
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.errors, 3);
	ck_assert_uint_eq(st.recovered, 0);
	/* sz == len is the largest valid value */
	s0[0] = 20;
	fec_rs_encode(2, 1, dp, pp, 20);
	mkpkt(p, 10, FEC_TYPE_DATA, 26);
	memcpy(p + 6, s1, 20);
	fec_decoder_input(d, p, 26, 0);
	mkpkt(p, 11, FEC_TYPE_PARITY, 26);
	memcpy(p + 6, par, 20);
	fec_decoder_input(d, p, 26, 0);
	ck_assert_ptr_nonnull(fec_decoder_next(d, &rl));
	ck_assert_uint_eq(rl, 18);
	fec_decoder_free(d);
}
END_TEST

/* Lazy decoder: created as (1,1), learns the peer's 10/3 from the stream. */
START_TEST(autotune_lazy_decoder)
{
	struct fec_encoder *e = fec_encoder_new(10, 3, 0, MTU);
	struct fec_decoder *d = fec_decoder_new(1, 1, MTU);
	struct fec_decoder_stats st;
	int ds, ps, g, i;
	size_t rl;

	for (g = 0; g < 4; g++) {
		make_group(e, &grp, 10, 3, 0);
		for (i = 0; i < 13; i++) {
			fec_decoder_input(d, grp.pkt[i], grp.len[i], 0);
			while (fec_decoder_next(d, &rl))
				;
		}
	}
	fec_decoder_geometry(d, &ds, &ps);
	ck_assert_int_eq(ds, 10);
	ck_assert_int_eq(ps, 3);
	fec_decoder_get_stats(d, &st);
	ck_assert_uint_eq(st.retunes, 1);
	/* now losses are repaired */
	make_group(e, &grp, 10, 3, 0);
	ck_assert_int_eq(feed_group(d, &grp, (1u << 3) | (1u << 7), NULL, 0), 2);
	fec_encoder_free(e);
	fec_decoder_free(d);
}
END_TEST

static Suite *fec_suite(void)
{
	Suite *s = suite_create("fec");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, gf_kat);
	tcase_add_test(tc, matrix_kat);
	tcase_add_test(tc, structured_vector);
	tcase_add_test(tc, random_vector_matches_matrix);
	tcase_add_test(tc, paws_values);
	tcase_add_test(tc, encoder_layout_plain);
	tcase_add_test(tc, encoder_layout_crypt);
	tcase_add_test(tc, encoder_limits);
	tcase_add_test(tc, encoder_paws_wrap);
	tcase_add_test(tc, all_erasures_10_3);
	tcase_add_test(tc, too_many_erasures);
	tcase_add_test(tc, out_of_order_and_duplicates);
	tcase_add_test(tc, rxlimit_eviction);
	tcase_add_test(tc, expiry);
	tcase_add_test(tc, seqid_wrap_order);
	tcase_add_test(tc, garbage_input);
	tcase_add_test(tc, recovered_bad_size);
	tcase_add_test(tc, autotune_lazy_decoder);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fec_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
