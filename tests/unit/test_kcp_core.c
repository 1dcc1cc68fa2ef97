/*
 * test_kcp_core.c - the KCP ARQ core: wire format, kcp-go behaviour
 * (RTT estimator, ACK filtering and repeats, fast/early retransmit, cwnd,
 * flush on input), hostile input. Transfers over the simulated lossy link:
 * test_kcp_xfer.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/kcp/kcp_core.h"
#include "kcp_sim.h"

#define CONV 0x5f3759dfu

/* For hot loops: check's ck_assert records every passing check (a write()
 * each), which would dominate the run time of the transfers. */
#define REQUIRE(cond, ...) \
	do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

static struct kcp_sim_cap *cap_new(void)
{
	struct kcp_sim_cap *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	return c;
}

static void cap_free(struct kcp_sim_cap *c)
{
	ck_assert_uint_eq(c->overflow, 0);
	free(c);
}

/* Splits a datagram (reserved prefix already skipped) into headers. */
static int parse_segs(const uint8_t *p, size_t len, struct kcp_hdr *out,
		      int max)
{
	int n = kcp_sim_segs(p, len, out, max);

	ck_assert_msg(n >= 0 && n <= max, "malformed datagram (%d)", n);
	return n;
}

static size_t put_seg(uint8_t *p, uint8_t cmd, uint8_t frg, uint16_t wnd,
		      uint32_t ts, uint32_t sn, uint32_t una,
		      const void *payload, uint32_t len)
{
	struct kcp_hdr h = {CONV, cmd, frg, wnd, ts, sn, una, len};

	kcp_hdr_encode(p, &h);
	if (payload)
		memcpy(p + KCP_OVERHEAD, payload, len);
	else
		memset(p + KCP_OVERHEAD, 0, len);
	return KCP_OVERHEAD + len;
}

/* Every field of a decoded header equals the expectation. */
#define CHECK_HDR(got, ...) \
	check_hdr(&(got), (struct kcp_hdr){CONV, __VA_ARGS__})
static void check_hdr(const struct kcp_hdr *g, struct kcp_hdr w)
{
	ck_assert_msg(!memcmp(g, &w, sizeof(w)), /* 24 bytes, no padding */
		      "got %u/%u/%u/%u/%u/%u/%u, want %u/%u/%u/%u/%u/%u/%u "
		      "(cmd/frg/wnd/ts/sn/una/len)", g->cmd, g->frg, g->wnd,
		      g->ts, g->sn, g->una, g->len, w.cmd, w.frg, w.wnd, w.ts,
		      w.sn, w.una, w.len);
}

static struct kcp *new_kcp(const struct kcp_cfg *cfg, struct kcp_sim_cap *c)
{
	struct kcp *k = kcp_new(CONV, cfg);

	ck_assert_ptr_nonnull(k);
	if (c)
		kcp_set_output(k, kcp_sim_cap_output, c);
	return k;
}

START_TEST(test_hdr_golden)
{
	static const uint8_t want[KCP_OVERHEAD] = {
		0x04, 0x03, 0x02, 0x01, 0x51, 0x07, 0x34, 0x12,
		0xd8, 0xc7, 0xb6, 0xa5, 0x78, 0x56, 0x34, 0x12,
		0xef, 0xcd, 0xab, 0x89, 0x05, 0x00, 0x00, 0x00,
	};
	struct kcp_hdr h = {0x01020304, KCP_CMD_PUSH, 7, 0x1234, 0xa5b6c7d8,
			    0x12345678, 0x89abcdef, 5};
	struct kcp_hdr d;
	uint8_t out[KCP_OVERHEAD];

	kcp_hdr_encode(out, &h);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(kcp_hdr_decode(want, sizeof(want), &d), 0);
	check_hdr(&d, h);
	ck_assert_int_eq(kcp_hdr_decode(want, 23, &d), -EBADMSG);
}
END_TEST

/* First data datagram of a fresh block: exact bytes; also kcp-go's
 * "cwnd starts at 0" quirk (nc=0: the very first flush sends no data). */
START_TEST(test_push_output_golden)
{
	static const uint8_t want[] = {
		0xdf, 0x59, 0x37, 0x5f, 0x51, 0x00, 0x20, 0x00, /* wnd 32 */
		0xe8, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* ts 1000 */
		0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, /* len 5 */
		'h', 'e', 'l', 'l', 'o',
	};
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(NULL, c);
	struct kcp_info in;

	ck_assert_int_eq(kcp_send(k, "hello", 5), 0);
	ck_assert_uint_eq(kcp_flush(k, 990, false), 100);
	ck_assert_int_eq(c->n, 0);
	kcp_get_info(k, &in);
	ck_assert_uint_eq(in.cwnd, 1);
	kcp_flush(k, 1000, false);
	ck_assert_int_eq(c->n, 1);
	ck_assert_uint_eq(c->len[0], sizeof(want));
	ck_assert_mem_eq(c->buf[0], want, sizeof(want));
	ck_assert_uint_eq(kcp_waitsnd(k), 1);
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* kcp-go NewKCP defaults (kcp-wire.md section 7). */
START_TEST(test_defaults)
{
	struct kcp *k = new_kcp(NULL, NULL);
	struct kcp_info in;

	kcp_get_info(k, &in);
	ck_assert(in.interval == 100 && in.mtu == 1400 && in.mss == 1376);
	ck_assert(in.snd_wnd == 32 && in.rcv_wnd == 32 && in.rmt_wnd == 32);
	ck_assert(in.ssthresh == 2 && in.rto == 200 && in.cwnd == 0);
	ck_assert(!in.dead && in.srtt == 0 && in.reserved == 0);
	ck_assert_int_eq(kcp_set_reserved(k, 28), 0);
	ck_assert_uint_eq(kcp_mss(k), 1400 - 24 - 28);
	ck_assert_int_eq(kcp_set_mtu(k, 1350), 0);
	ck_assert_uint_eq(kcp_mss(k), 1350 - 24 - 28);
	ck_assert_int_eq(kcp_set_mtu(k, 49), -EINVAL);
	ck_assert_int_eq(kcp_set_mtu(k, 1501), -EINVAL);
	ck_assert_int_eq(kcp_set_mtu(k, 52), -EINVAL); /* mss would be 0 */
	ck_assert_int_eq(kcp_set_reserved(k, 1350 - 24), -EINVAL);
	ck_assert_int_eq(kcp_wndsize(k, 70000, 0), -EINVAL);
	ck_assert_int_eq(kcp_wndsize(k, 0, 512), 0);
	ck_assert_uint_eq(kcp_snd_wnd(k), 32);
	kcp_nodelay(k, 1, 1, -1, -1);
	ck_assert_uint_eq(kcp_interval(k), 10);
	kcp_nodelay(k, -1, 9999, -1, -1);
	ck_assert_uint_eq(kcp_interval(k), 5000);
	kcp_free(k);
	kcp_free(NULL);

	struct kcp_cfg bad = {.mtu = 40};
	errno = 0;
	ck_assert_ptr_null(kcp_new(1, &bad));
	ck_assert_int_eq(errno, EINVAL);
	bad = (struct kcp_cfg){.mtu = 100, .reserved = 76};
	ck_assert_ptr_null(kcp_new(1, &bad));
}
END_TEST

START_TEST(test_kcptun_exchange)
{
	/* C->S PUSH wnd=512 ts=1002 sn=0 una=0 len=8 (smux v1 SYN, sid 3) */
	static const uint8_t c2s_push[] = {
		0xdf, 0x59, 0x37, 0x5f, 0x51, 0x00, 0x00, 0x02,
		0xea, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
	};
	/* S->C ACK wnd=1023 ts=1002 sn=0 una=1 */
	static const uint8_t s2c_ack[] = {
		0xdf, 0x59, 0x37, 0x5f, 0x52, 0x00, 0xff, 0x03,
		0xea, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	/* kcptun server, mode fast, mtu 1350, crypt + FEC headers reserved */
	struct kcp_cfg cfg = {.nodelay = 0, .interval = 30, .resend = 2,
			      .nc = 1, .snd_wnd = 1024, .rcv_wnd = 1024,
			      .mtu = 1350, .reserved = 28, .stream = true};
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(&cfg, c);
	struct kcp_hdr h[4];
	uint8_t dg[256], buf[64];
	size_t n;

	ck_assert_uint_eq(kcp_mss(k), 1298);
	ck_assert_int_eq(kcp_input(k, c2s_push, sizeof(c2s_push), true, false,
				   5000), 0);
	ck_assert_int_eq(c->n, 0); /* no ack_nodelay, no window slide */
	kcp_flush(k, 5010, false);
	ck_assert_int_eq(c->n, 1);
	ck_assert_uint_eq(c->len[0], 28 + sizeof(s2c_ack));
	ck_assert_mem_eq(c->buf[0] + 28, s2c_ack, sizeof(s2c_ack));
	ck_assert_int_eq(kcp_recv(k, buf, sizeof(buf)), 8);
	ck_assert_mem_eq(buf, c2s_push + 24, 8);

	/* the client's first PSH, then the server answers: ACK + PUSH in one
	 * datagram, ACK first */
	n = put_seg(dg, KCP_CMD_PUSH, 0, 512, 1003, 1, 0, "smuxdata", 8);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 5015), 0);
	ck_assert_int_eq(kcp_send(k, "twelve bytes", 12), 0);
	kcp_flush(k, 5020, false);
	ck_assert_int_eq(c->n, 2);
	ck_assert_int_eq(parse_segs(c->buf[1] + 28, c->len[1] - 28, h, 4), 2);
	CHECK_HDR(h[0], KCP_CMD_ACK, 0, 1023, 1003, 1, 2, 0);
	CHECK_HDR(h[1], KCP_CMD_PUSH, 0, 1023, 5020, 0, 2, 12);
	ck_assert_mem_eq(c->buf[1] + 28 + 48, "twelve bytes", 12);

	/* C->S ACK wnd=511 sn=0 una=1 echoing ts 5020, 50 ms later */
	n = put_seg(dg, KCP_CMD_ACK, 0, 511, 5020, 0, 1, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 5070), 0);
	ck_assert_int_eq(c->n, 2); /* window slid, but nothing to send */
	ck_assert_uint_eq(kcp_waitsnd(k), 0);
	ck_assert_uint_eq(kcp_rmt_wnd(k), 511);
	ck_assert_int_eq(kcp_srtt(k), 50);
	ck_assert_int_eq(kcp_rttvar(k), 25);
	ck_assert_uint_eq(kcp_rto(k), 150); /* 50 + max(30, 4 * 25) */
	kcp_free(k);
	cap_free(c);
}
END_TEST

static void feed_ack(struct kcp *k, uint32_t ts, uint32_t now, bool regular)
{
	uint8_t dg[64];
	/* FEC-rebuilt datagrams carry a window that must be ignored */
	size_t n = put_seg(dg, KCP_CMD_ACK, 0, regular ? 32 : 5, ts, 99, 0,
			   NULL, 0);

	ck_assert_int_eq(kcp_input(k, dg, n, regular, false, now), 0);
}

START_TEST(test_rtt_estimator)
{
	struct kcp *k = new_kcp(NULL, NULL);
	uint8_t dg[64];
	size_t n;

	/* hand-computed with kcp-go's integer formulas (interval 100,
	 * min RTO 100); the second and third samples check floor shifts of
	 * negative deltas */
	feed_ack(k, 1000, 1100, true);
	ck_assert_int_eq(kcp_srtt(k), 100);
	ck_assert_int_eq(kcp_rttvar(k), 50);
	ck_assert_uint_eq(kcp_rto(k), 300);
	feed_ack(k, 2000, 2060, true);
	ck_assert_int_eq(kcp_srtt(k), 95);
	ck_assert_int_eq(kcp_rttvar(k), 47);
	ck_assert_uint_eq(kcp_rto(k), 283);
	feed_ack(k, 3000, 3010, true); /* below srtt - rttvar: 1/32 weight */
	ck_assert_int_eq(kcp_srtt(k), 84);
	ck_assert_int_eq(kcp_rttvar(k), 48);
	ck_assert_uint_eq(kcp_rto(k), 276);
	/* FEC-recovered: no sample, no window update */
	feed_ack(k, 4000, 9000, false);
	ck_assert_int_eq(kcp_srtt(k), 84);
	ck_assert_uint_eq(kcp_rmt_wnd(k), 32);
	/* ts in the future: no sample */
	feed_ack(k, 5000, 4000, true);
	ck_assert_int_eq(kcp_srtt(k), 84);
	/* one sample per datagram, from the last ACK: 1000 -> srtt 84+114 */
	n = put_seg(dg, KCP_CMD_ACK, 0, 32, 5990, 7, 0, NULL, 0);
	n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 5000, 8, 0, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 6000), 0);
	ck_assert_int_eq(kcp_srtt(k), 84 + (1000 - 84) / 8);
	kcp_free(k);

	/* RTO clamps: nodelay min 30, max 60000 */
	struct kcp_cfg cfg = {.nodelay = 1, .interval = 10};
	k = new_kcp(&cfg, NULL);
	feed_ack(k, 100, 101, true); /* srtt 1, rttvar 0 -> 1 + 10 */
	ck_assert_uint_eq(kcp_rto(k), 30);
	feed_ack(k, 0, 2000000, true);
	ck_assert_uint_eq(kcp_rto(k), 60000);
	kcp_free(k);
}
END_TEST

START_TEST(test_ack_filter_and_window)
{
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(NULL, c);
	struct kcp_hdr h[8];
	uint8_t dg[512];
	size_t n = 0;

	/* sn 0, its duplicate, sn 1: all acked below rcv_nxt = 2 except the
	 * last entry survives the filter */
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 10, 0, 0, "a", 1);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 11, 0, 0, "a", 1);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 12, 1, 0, "b", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 100), 0);
	ck_assert_uint_eq(kcp_get_stats(k)->repeat_segs, 1);
	kcp_flush(k, 110, false);
	ck_assert_int_eq(c->n, 1);
	ck_assert_int_eq(parse_segs(c->buf[0], c->len[0], h, 8), 1);
	CHECK_HDR(h[0], KCP_CMD_ACK, 0, 30, 12, 1, 2, 0);

	/* out of order inside the window: acked, buffered, not readable */
	n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 13, 2 + 31, 0, "z", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 120), 0);
	/* one past the window and far away: dropped, not acked, and no
	 * memory spent on them */
	struct kcp_info in, in0;
	kcp_get_info(k, &in0);
	n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 14, 2 + 32, 0, "y", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 120), 0);
	n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 15, 2 + 1000000000u, 0, "x", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 120), 0);
	n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 15, 0xfffffff0u, 0, "w", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 120), 0);
	kcp_get_info(k, &in);
	ck_assert_uint_eq(in.mem, in0.mem);
	ck_assert_uint_eq(in.nrcv_buf, 1);
	ck_assert_uint_eq(in.rcv_nxt, 2);
	ck_assert_uint_eq(kcp_get_stats(k)->repeat_segs, 4);
	kcp_flush(k, 130, false);
	ck_assert_int_eq(c->n, 2);
	/* sn 0xfffffff0 lies "before" rcv_nxt (wrap-safe compare): acked as
	 * an old duplicate; below rcv_nxt but the list's last entry, so it
	 * survives the filter */
	ck_assert_int_eq(parse_segs(c->buf[1], c->len[1], h, 8), 2);
	ck_assert_uint_eq(h[0].sn, 33);
	ck_assert_uint_eq(h[1].sn, 0xfffffff0u);
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* ack_nodelay answers at once; a PUSH alone never flushes otherwise. */
START_TEST(test_ack_nodelay)
{
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(NULL, c);
	struct kcp_hdr h[2];
	uint8_t dg[64];
	size_t n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 7, 0, 0, "q", 1);

	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 50), 0);
	ck_assert_int_eq(c->n, 0);
	n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 8, 1, 0, "r", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, true, 60), 0);
	ck_assert_int_eq(c->n, 1);
	ck_assert_int_eq(parse_segs(c->buf[0], c->len[0], h, 2), 1);
	CHECK_HDR(h[0], KCP_CMD_ACK, 0, 30, 8, 1, 2, 0); /* sn 0 filtered */
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* Message mode reassembly of frg > 0 (kcp-go never sends it, we accept
 * it), out of order; -EMSGSIZE leaves the message in place. */
START_TEST(test_fragments_rx)
{
	struct kcp *k = new_kcp(NULL, NULL);
	uint8_t dg[256], buf[16];
	size_t n = 0;

	n += put_seg(dg + n, KCP_CMD_PUSH, 1, 32, 1, 1, 0, "DEF", 3);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 1, 2, 0, "G", 1);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 5), 0);
	ck_assert_int_eq(kcp_peeksize(k), -EAGAIN);
	n = put_seg(dg, KCP_CMD_PUSH, 2, 32, 1, 0, 0, "ABC", 3);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 5), 0);
	ck_assert_int_eq(kcp_peeksize(k), 7);
	ck_assert_int_eq(kcp_recv(k, buf, 6), -EMSGSIZE);
	ck_assert_int_eq(kcp_recv(k, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, "ABCDEFG", 7);
	ck_assert_int_eq(kcp_recv(k, buf, sizeof(buf)), -EAGAIN);
	kcp_free(k);
}
END_TEST

/* Stream mode: partial reads, zero-copy front/consume, empty segments. */
START_TEST(test_stream_read)
{
	struct kcp_cfg cfg = {.stream = true};
	struct kcp *k = new_kcp(&cfg, NULL);
	const uint8_t *p;
	uint8_t dg[256], buf[16];
	size_t n = 0;

	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 1, 0, 0, "hello ", 6);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 1, 1, 0, NULL, 0);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 1, 2, 0, "world", 5);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 5), 0);
	ck_assert_int_eq(kcp_peeksize(k), 11);
	ck_assert_int_eq(kcp_recv(k, buf, 4), 4);
	ck_assert_mem_eq(buf, "hell", 4);
	ck_assert_int_eq(kcp_read_front(k, &p), 2);
	ck_assert_mem_eq(p, "o ", 2);
	kcp_read_consume(k, 1);
	ck_assert_int_eq(kcp_peeksize(k), 6);
	ck_assert_int_eq(kcp_recv(k, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, " world", 6);
	ck_assert_int_eq(kcp_recv(k, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(kcp_read_front(k, &p), -EAGAIN);
	kcp_set_stream(k, false);
	ck_assert_int_eq(kcp_read_front(k, &p), -EINVAL);
	kcp_free(k);
}
END_TEST

START_TEST(test_send_limits)
{
	struct kcp *k = new_kcp(NULL, NULL);
	uint32_t mss = kcp_mss(k);
	uint8_t *big = calloc(256, mss);

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(kcp_send(k, big, 0), -EINVAL);
	ck_assert_int_eq(kcp_send(k, big, (size_t)255 * mss + 1), -E2BIG);
	ck_assert_uint_eq(kcp_waitsnd(k), 0);
	ck_assert_int_eq(kcp_send(k, big, (size_t)255 * mss), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 255);
	ck_assert_int_eq(kcp_send(k, big, mss + 1), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 257);
	/* stream mode: no fragment limit, the tail segment is topped up */
	kcp_set_stream(k, true);
	ck_assert_int_eq(kcp_send(k, big, mss - 1), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 257);
	ck_assert_int_eq(kcp_send(k, big, 2), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 258);
	ck_assert_int_eq(kcp_send(k, big, (size_t)256 * mss), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 258 + 256);
	kcp_free(k);
	free(big);
}
END_TEST

/* Message mode fragmentation on the wire, frg counting down, datagrams
 * packed up to the MTU (reserved bytes included). */
START_TEST(test_send_fragments_packing)
{
	struct kcp_cfg cfg = {.nc = 1, .mtu = 200, .reserved = 20};
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(&cfg, c);
	uint8_t msg[400];
	struct kcp_hdr h[8];
	int total = 0;

	ck_assert_uint_eq(kcp_mss(k), 156);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	ck_assert_int_eq(kcp_send(k, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(kcp_waitsnd(k), 3);
	kcp_flush(k, 0, false);
	for (int d = 0; d < c->n; d++) {
		int n;

		ck_assert_uint_le(c->len[d], 200);
		n = parse_segs(c->buf[d] + 20, c->len[d] - 20, h, 8);
		for (int i = 0; i < n; i++, total++) {
			ck_assert_uint_eq(h[i].sn, (uint32_t)total);
			ck_assert_uint_eq(h[i].frg, (uint32_t)(2 - total));
		}
	}
	ck_assert_int_eq(total, 3);
	ck_assert_int_eq(c->n, 3); /* 24 + 156 + 20 = 200: one per datagram */
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* Flush on input: an ACK that advances una sends what the window allows
 * right away, from inside kcp_input. */
START_TEST(test_flush_on_input)
{
	struct kcp_cfg cfg = {.nc = 1, .snd_wnd = 2};
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(&cfg, c);
	struct kcp_hdr h[4];
	uint8_t dg[64];
	size_t n;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(kcp_send(k, "m", 1), 0);
	kcp_flush(k, 0, false);
	ck_assert_int_eq(c->n, 1);
	ck_assert_int_eq(parse_segs(c->buf[0], c->len[0], h, 4), 2);
	n = put_seg(dg, KCP_CMD_ACK, 0, 32, 0, 0, 1, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 40), 0);
	ck_assert_int_eq(c->n, 2);
	ck_assert_int_eq(parse_segs(c->buf[1], c->len[1], h, 4), 1);
	CHECK_HDR(h[0], KCP_CMD_PUSH, 0, 32, 40, 2, 0, 1);
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* Fast retransmit: two ACKs for later segments (resend=2); early
 * retransmit with resend=0 after one skip when no new data flows. */
START_TEST(test_fast_and_early_retransmit)
{
	for (int mode = 0; mode < 2; mode++) {
		struct kcp_cfg cfg = {.nc = 1, .resend = mode ? 0 : 2};
		struct kcp_sim_cap *c = cap_new();
		struct kcp *k = new_kcp(&cfg, c);
		const struct kcp_stats *st = kcp_get_stats(k);
		struct kcp_hdr h[8];
		uint8_t dg[128];
		size_t n = 0;

		for (int i = 0; i < 5; i++)
			ck_assert_int_eq(kcp_send(k, "x", 1), 0);
		kcp_flush(k, 0, false);
		ck_assert_int_eq(c->n, 1);
		/* ACKs sn 1 and 2 in one datagram (una still 0) */
		n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 1, 0, NULL, 0);
		if (!mode)
			n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 2, 0,
				     NULL, 0);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 30), 0);
		ck_assert_int_eq(c->n, 1);
		kcp_flush(k, 40, false);
		ck_assert_int_eq(c->n, 2);
		ck_assert_int_eq(parse_segs(c->buf[1], c->len[1], h, 8), 1);
		CHECK_HDR(h[0], KCP_CMD_PUSH, 0, 32, 40, 0, 0, 1);
		ck_assert_uint_eq(st->fast_retrans_segs, mode ? 0 : 1);
		ck_assert_uint_eq(st->early_retrans_segs, mode ? 1 : 0);
		ck_assert_uint_eq(st->retrans_segs, 1);
		ck_assert_uint_eq(st->lost_segs, 0);
		/* an ACK of an older transmission does not count as a skip of
		 * the retransmitted sn 0 (ts 40 > ack ts 0); sn 1, 2 are
		 * acked already when resend=2 */
		if (!mode) {
			n = put_seg(dg, KCP_CMD_ACK, 0, 32, 0, 3, 0, NULL, 0);
			ck_assert_int_eq(kcp_input(k, dg, n, true, false, 50),
					 0);
			kcp_flush(k, 60, false);
			ck_assert_int_eq(c->n, 2);
		}
		kcp_free(k);
		cap_free(c);
	}
}
END_TEST

/* With the controller, a receiver sends the previous flush's ACKs above
 * rcv_nxt once more, ahead of the new ones, so a lost ACK datagram does not
 * make the sender resend what it acknowledged. Without it, kcp-go's exact
 * behaviour. */
START_TEST(test_ack_repeat)
{
	for (int cc = 0; cc < 2; cc++) {
		struct kcp_cfg cfg = {.congestion = cc ? KCP_CC_BBR : KCP_CC_NONE};
		struct kcp_sim_cap *c = cap_new();
		struct kcp *k = new_kcp(&cfg, c);
		struct kcp_hdr h[8];
		uint8_t dg[256];
		size_t n = 0;

		/* sn 1, 2 with a hole at 0 */
		n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 11, 1, 0, "b", 1);
		n += put_seg(dg + n, KCP_CMD_PUSH, 0, 32, 12, 2, 0, "c", 1);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 100), 0);
		kcp_flush(k, 110, false);
		ck_assert_int_eq(c->n, 1);
		ck_assert_int_eq(parse_segs(c->buf[0], c->len[0], h, 8), 2);
		/* no new ACK: nothing repeated on its own */
		kcp_flush(k, 120, false);
		ck_assert_int_eq(c->n, 1);
		n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 13, 3, 0, "d", 1);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 130), 0);
		kcp_flush(k, 140, false);
		ck_assert_int_eq(c->n, 2);
		if (cc) {
			ck_assert_int_eq(parse_segs(c->buf[1], c->len[1], h, 8), 3);
			CHECK_HDR(h[0], KCP_CMD_ACK, 0, 32, 11, 1, 0, 0);
			CHECK_HDR(h[1], KCP_CMD_ACK, 0, 32, 12, 2, 0, 0);
			CHECK_HDR(h[2], KCP_CMD_ACK, 0, 32, 13, 3, 0, 0);
		} else {
			ck_assert_int_eq(parse_segs(c->buf[1], c->len[1], h, 8), 1);
			CHECK_HDR(h[0], KCP_CMD_ACK, 0, 32, 13, 3, 0, 0);
		}
		/* repeated once only; the hole filled: una covers the rest */
		n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 14, 4, 0, "e", 1);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 150), 0);
		kcp_flush(k, 160, false);
		ck_assert_int_eq(parse_segs(c->buf[2], c->len[2], h, 8), cc ? 2 : 1);
		CHECK_HDR(h[cc ? 1 : 0], KCP_CMD_ACK, 0, 32, 14, 4, 0, 0);
		n = put_seg(dg, KCP_CMD_PUSH, 0, 32, 15, 0, 0, "a", 1);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 170), 0);
		kcp_flush(k, 180, false);
		ck_assert_int_eq(parse_segs(c->buf[3], c->len[3], h, 8), 1);
		CHECK_HDR(h[0], KCP_CMD_ACK, 0, 27, 15, 0, 5, 0);
		kcp_free(k);
		cap_free(c);

		/* the sender's side of it: ACKs [1, 2] lost, then [3, 4]
		 * alone (kcp-go's receiver) resends 0, 1 and 2; [1, 2, 3, 4]
		 * (ours, repeats first) only 0, the real hole */
		struct kcp_cfg scfg = {.resend = 2, .nc = 1};
		const struct kcp_stats *st;

		c = cap_new();
		k = new_kcp(&scfg, c);
		st = kcp_get_stats(k);
		for (int i = 0; i < 6; i++)
			ck_assert_int_eq(kcp_send(k, "x", 1), 0);
		kcp_flush(k, 0, false);
		ck_assert_int_eq(c->n, 1);
		n = 0;
		if (cc) {
			n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 1, 0, NULL, 0);
			n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 2, 0, NULL, 0);
		}
		n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 3, 0, NULL, 0);
		n += put_seg(dg + n, KCP_CMD_ACK, 0, 32, 0, 4, 0, NULL, 0);
		ck_assert_int_eq(kcp_input(k, dg, n, true, false, 30), 0);
		/* new data enters the window: no early retransmission */
		ck_assert_int_eq(kcp_send(k, "y", 1), 0);
		kcp_flush(k, 32, false);
		ck_assert_uint_eq(st->early_retrans_segs, 0);
		ck_assert_uint_eq(st->fast_retrans_segs, cc ? 1 : 3);
		kcp_free(k);
		cap_free(c);
	}
}
END_TEST

/* nc=0: slow start per una-advancing datagram, collapse on timeout. */
START_TEST(test_cwnd)
{
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(NULL, c);
	struct kcp_info in;
	uint8_t dg[64];
	size_t n;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(kcp_send(k, "x", 1), 0);
	kcp_flush(k, 0, false); /* cwnd 0 -> 1 */
	kcp_flush(k, 100, false); /* sn 0 leaves */
	kcp_get_info(k, &in);
	ck_assert_uint_eq(in.cwnd, 1);
	ck_assert_uint_eq(in.snd_nxt, 1);
	n = put_seg(dg, KCP_CMD_ACK, 0, 32, 100, 0, 1, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n, true, false, 150), 0);
	kcp_get_info(k, &in);
	ck_assert_uint_eq(in.cwnd, 2);
	ck_assert_uint_eq(in.snd_nxt, 3); /* flushed on input */
	/* no ACKs: timeout at 150 + rto -> cwnd 1, ssthresh = 2/2 -> 2 */
	kcp_flush(k, 150 + in.rto, false);
	kcp_get_info(k, &in);
	ck_assert_uint_eq(in.cwnd, 1);
	ck_assert_uint_eq(in.ssthresh, 2);
	ck_assert_uint_eq(kcp_get_stats(k)->lost_segs, 2);
	kcp_free(k);
	cap_free(c);
}
END_TEST

START_TEST(test_hostile_datagrams)
{
	struct kcp_sim_cap *c = cap_new();
	struct kcp *k = new_kcp(NULL, c);
	struct kcp_info a, b;
	uint8_t dg[2 * KCP_MTU_MAX];
	size_t n;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(kcp_send(k, "abc", 3), 0);
	kcp_flush(k, 0, false);
	kcp_flush(k, 100, false);
	kcp_get_info(k, &a);

	/* valid ACK (una 1) followed by a truncated PUSH: all rejected */
	n = put_seg(dg, KCP_CMD_ACK, 0, 0, 0, 0, 1, NULL, 0);
	n += put_seg(dg + n, KCP_CMD_PUSH, 0, 0, 0, 0, 0, "abcdef", 6);
	ck_assert_int_eq(kcp_input(k, dg, n - 1, true, true, 110), -EBADMSG);
	/* header claims a huge payload */
	put_seg(dg, KCP_CMD_PUSH, 0, 0, 0, 0, 0, NULL, 0);
	dg[20] = 0xff, dg[21] = 0xff, dg[22] = 0xff, dg[23] = 0xff;
	ck_assert_int_eq(kcp_input(k, dg, 24, true, true, 110), -EBADMSG);
	/* short */
	ck_assert_int_eq(kcp_input(k, dg, 23, true, true, 110), -EBADMSG);
	ck_assert_int_eq(kcp_input(k, dg, 0, true, true, 110), -EBADMSG);
	/* bad cmd after a good segment */
	n = put_seg(dg, KCP_CMD_ACK, 0, 0, 0, 0, 1, NULL, 0);
	n += put_seg(dg + n, 85, 0, 0, 0, 0, 1, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n, true, true, 110), -EPROTO);
	/* other conv in the second segment */
	n = put_seg(dg, KCP_CMD_ACK, 0, 0, 0, 0, 1, NULL, 0);
	n += put_seg(dg + n, KCP_CMD_ACK, 0, 0, 0, 0, 1, NULL, 0);
	dg[24] ^= 1;
	ck_assert_int_eq(kcp_input(k, dg, n, true, true, 110), -ESRCH);
	/* PUSH payload larger than any real datagram could carry */
	put_seg(dg, KCP_CMD_PUSH, 0, 0, 0, 0, 0, NULL, KCP_MAX_PAYLOAD + 1);
	ck_assert_int_eq(kcp_input(k, dg, 24 + KCP_MAX_PAYLOAD + 1, true, true,
				   110), -EMSGSIZE);

	kcp_get_info(k, &b);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	ck_assert_uint_eq(kcp_get_stats(k)->in_errs, 7);
	ck_assert_uint_eq(kcp_get_stats(k)->in_pkts, 0);
	ck_assert_int_eq(c->n, 1);

	/* trailing bytes shorter than a header are ignored, as in kcp-go */
	n = put_seg(dg, KCP_CMD_ACK, 0, 32, 0, 0, 1, NULL, 0);
	ck_assert_int_eq(kcp_input(k, dg, n + 23, true, false, 120), 0);
	kcp_get_info(k, &b);
	ck_assert_uint_eq(b.snd_una, 1);
	kcp_free(k);
	cap_free(c);
}
END_TEST

/* Random segments with the right conv: no crash, bounded state. */
START_TEST(test_random_segments_bounded)
{
	struct kcp_cfg cfg = {.nc = 1, .resend = 2};
	struct kcp *k = new_kcp(&cfg, NULL); /* output dropped */
	uint64_t r = 12345;
	uint8_t dg[KCP_MTU_MAX], buf[4096];
	uint32_t now = 0;

	for (int iter = 0; iter < 100000; iter++) {
		size_t n = 0;
		int segs = 1 + (int)(kcp_sim_mix(r++) % 4);
		struct kcp_info in;

		for (int s = 0; s < segs; s++) {
			uint64_t x = kcp_sim_mix(r++), y = kcp_sim_mix(r++);
			uint32_t len = (uint32_t)(x % 64);
			uint32_t base = (uint32_t)(y >> 40) % 3 ?
						(uint32_t)iter / 4 : 0;

			put_seg(dg + n, (uint8_t)(KCP_CMD_PUSH + x % 4),
				(uint8_t)(y % 3), (uint16_t)(y >> 8),
				(uint32_t)(x >> 32),
				base + (uint32_t)((y >> 16) % 80) - 8,
				base + (uint32_t)((x >> 16) % 80) - 8, buf,
				len);
			n += KCP_OVERHEAD + len;
		}
		now += (uint32_t)(kcp_sim_mix(r++) % 7);
		if (kcp_sim_mix(r) % 5 == 0)
			n -= kcp_sim_mix(r) % (n + 1);
		r++;
		(void)kcp_input(k, dg, n, kcp_sim_mix(r++) & 1, iter & 1, now);
		if (iter % 3 == 0)
			(void)kcp_recv(k, buf, sizeof(buf));
		if (iter % 7 == 0 && kcp_waitsnd(k) < 64)
			REQUIRE(kcp_send(k, buf, 1 + iter % 3000) == 0, "send");
		if (iter % 5 == 0)
			kcp_flush(k, now, false);
		kcp_get_info(k, &in);
		REQUIRE(in.nrcv_buf <= in.rcv_wnd &&
				in.nrcv_que <= in.rcv_wnd &&
				in.nacks <= 256 + KCP_MTU_MAX / KCP_OVERHEAD &&
				in.pool_free <= 64 &&
				in.nsnd_buf <= in.snd_wnd &&
				in.mem < 512 * 1024,
			"state out of bounds at iteration %d", iter);
	}
	kcp_free(k);
}
END_TEST

static Suite *kcp_core_suite(void)
{
	Suite *s = suite_create("kcp_core");
	TCase *tc = tcase_create("unit");

	tcase_add_test(tc, test_hdr_golden);
	tcase_add_test(tc, test_push_output_golden);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_kcptun_exchange);
	tcase_add_test(tc, test_rtt_estimator);
	tcase_add_test(tc, test_ack_filter_and_window);
	tcase_add_test(tc, test_ack_nodelay);
	tcase_add_test(tc, test_fragments_rx);
	tcase_add_test(tc, test_stream_read);
	tcase_add_test(tc, test_send_limits);
	tcase_add_test(tc, test_send_fragments_packing);
	tcase_add_test(tc, test_flush_on_input);
	tcase_add_test(tc, test_fast_and_early_retransmit);
	tcase_add_test(tc, test_ack_repeat);
	tcase_add_test(tc, test_cwnd);
	tcase_add_test(tc, test_hostile_datagrams);
	tcase_add_test(tc, test_random_segments_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kcp_core_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
