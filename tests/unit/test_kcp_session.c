/*
 * test_kcp_session.c - kcp.so's session layer against hostile input at a
 * listener: random datagrams, truncated headers, the wrong key, huge length
 * fields. No crash, no session created, counters rise, and a real client
 * still gets through afterwards.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../../transports/kcp/kcp_int.h"
#include "xport_host.h"

struct env {
	struct event_base *base;
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct xport_listener *lst;
	struct xport_stream *accepted;
	int naccepted;
	struct xport_stream *dialed;
	int dial_err;
	bool dial_done;
	uint16_t port;
};

static void on_accept(struct xport_stream *s, void *arg)
{
	struct env *e = arg;
	e->naccepted++;
	if (e->accepted)
		e->ops->stream_close(s, XPORT_CLOSE_ABORT);
	else
		e->accepted = s;
}

static void on_dial(struct xport_stream *s, int err, void *arg)
{
	struct env *e = arg;
	e->dialed = s;
	e->dial_err = err;
	e->dial_done = true;
}

static void env_up(struct env *e, const struct xport_option *o, size_t n)
{
	char err[256];
	memset(e, 0, sizeof(*e));
	e->base = event_base_new();
	e->ops = kcp_xport_ops(&uh_host);
	ck_assert_int_eq(e->ops->init(e->base, o, n, &e->ctx, err, sizeof(err)), 0);
	ck_assert_int_eq(e->ops->listen(e->ctx, "127.0.0.1", 0, on_accept, e,
					&e->lst, err, sizeof(err)),
			 0);
	e->port = e->ops->listener_port(e->lst);
	ck_assert_uint_gt(e->port, 0);
}

static void env_down(struct env *e)
{
	if (e->accepted)
		e->ops->stream_close(e->accepted, XPORT_CLOSE_ABORT);
	if (e->dialed)
		e->ops->stream_close(e->dialed, XPORT_CLOSE_ABORT);
	e->ops->listener_free(e->lst);
	event_base_loop(e->base, EVLOOP_NONBLOCK);
	e->ops->fini(e->ctx);
	event_base_free(e->base);
}

static void run_for(struct env *e, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(e->base, &tv);
	event_base_dispatch(e->base);
}

static void blast(uint16_t port, const uint8_t *p, size_t n)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	sendto(fd, p, n, 0, (struct sockaddr *)&a, sizeof(a));
	close(fd);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static struct kcp_lsn *lsn_of(struct env *e) { return (struct kcp_lsn *)e->lst; }

static void garbage_round(struct env *e, unsigned seed)
{
	srand(seed);
	uint8_t buf[1600];
	for (int i = 0; i < 400; i++) {
		size_t n = (size_t)(rand() % 1500) + 1;
		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rand();
		switch (i % 4) {
		case 0: /* random bytes */
			break;
		case 1: /* truncated header */
			n = (size_t)(rand() % 24);
			break;
		case 2: /* plausible PUSH with a huge length */
			memset(buf, 0, 24);
			put32(buf, 0x1234);
			buf[4] = 81;
			put32(buf + 20, 0xfffffff0u);
			n = 24 + (size_t)(rand() % 100);
			break;
		case 3: /* FEC-looking data header, truncated */
			buf[4] = 0xf1;
			buf[5] = 0;
			n = 6 + (size_t)(rand() % 8);
			break;
		}
		blast(e->port, buf, n);
		if (i % 50 == 0)
			run_for(e, 5);
	}
	run_for(e, 100);
}

START_TEST(garbage_creates_no_session)
{
	struct env e;
	const struct xport_option o[] = {{"crypt", "aes"}, {"key", "k1"}};
	env_up(&e, o, 2);
	garbage_round(&e, 1);
	struct kcp_lsn *l = lsn_of(&e);
	ck_assert_int_eq(e.naccepted, 0);
	ck_assert_uint_eq(l->count, 0);
	ck_assert_uint_eq(l->st.sessions_created, 0);
	ck_assert_uint_ge(l->st.datagrams, 300);
	ck_assert_uint_ge(l->st.crypt_failures, 300);
	env_down(&e);
}
END_TEST

START_TEST(garbage_without_crypt)
{
	struct env e;
	const struct xport_option o[] = {{"crypt", "null"}};
	env_up(&e, o, 1);
	garbage_round(&e, 2);
	struct kcp_lsn *l = lsn_of(&e);
	ck_assert_int_eq(e.naccepted, 0);
	ck_assert_uint_eq(l->count, 0);
	ck_assert_uint_ge(l->st.no_session + l->st.bad_packets, 300);
	env_down(&e);
}
END_TEST

static void dial_and_echo(struct env *e, const struct xport_option *o, size_t n)
{
	char err[256];
	struct xport_ctx *cctx;
	ck_assert_int_eq(e->ops->init(e->base, o, n, &cctx, err, sizeof(err)), 0);
	struct xport_dial *d;
	ck_assert_int_eq(e->ops->dial(cctx, "127.0.0.1", e->port, 3000, on_dial, e,
				      &d, err, sizeof(err)),
			 0);
	for (int i = 0; i < 100 && !e->dial_done; i++)
		run_for(e, 20);
	ck_assert(e->dial_done);
	ck_assert_int_eq(e->dial_err, 0);
	ck_assert_ptr_nonnull(e->accepted);
	struct bufferevent *cb = e->ops->stream_bev(e->dialed);
	struct bufferevent *sb = e->ops->stream_bev(e->accepted);
	bufferevent_enable(cb, EV_READ | EV_WRITE);
	bufferevent_enable(sb, EV_READ | EV_WRITE);
	bufferevent_write(cb, "hello kcp", 9);
	for (int i = 0; i < 100 && evbuffer_get_length(bufferevent_get_input(sb)) < 9; i++)
		run_for(e, 10);
	char got[16] = "";
	ck_assert_int_eq(bufferevent_read(sb, got, sizeof(got)), 9);
	ck_assert_mem_eq(got, "hello kcp", 9);
	/* the sender's path model shows in the stats once an ACK came back
	 * (the controller is the default; `congestion: none` has none) */
	bool cc = true;
	for (size_t i = 0; i < n; i++)
		cc = cc && !(strcmp(o[i].key, "congestion") == 0 &&
			     strcmp(o[i].value, "none") == 0);
	struct xport_stats st;
	for (int i = 0; i < 50; i++) {
		memset(&st, 0, sizeof(st));
		ck_assert_int_eq(e->ops->stream_stats(e->dialed, &st), 0);
		if (st.min_rtt_ms)
			break;
		run_for(e, 10);
	}
	if (cc) {
		ck_assert_uint_gt(st.min_rtt_ms, 0);
		ck_assert_uint_gt(st.pacing_bps, 0);
		ck_assert_uint_eq(st.inflight_bytes, 0);
	} else {
		ck_assert_uint_eq(st.min_rtt_ms, 0);
		ck_assert_uint_eq(st.pacing_bps, 0);
	}
	e->ops->stream_close(e->dialed, XPORT_CLOSE_ABORT);
	e->dialed = NULL;
	run_for(e, 10);
	e->ops->fini(cctx);
}

START_TEST(wrong_key_rejected_then_right_key_works)
{
	struct env e;
	const struct xport_option o[] = {{"crypt", "aes"}, {"key", "right"}};
	env_up(&e, o, 2);
	char err[256];
	struct xport_ctx *bad;
	const struct xport_option wrong[] = {{"crypt", "aes"}, {"key", "wrong"}};
	ck_assert_int_eq(e.ops->init(e.base, wrong, 2, &bad, err, sizeof(err)), 0);
	struct xport_dial *d;
	ck_assert_int_eq(e.ops->dial(bad, "127.0.0.1", e.port, 600, on_dial, &e, &d,
				     err, sizeof(err)),
			 0);
	for (int i = 0; i < 100 && !e.dial_done; i++)
		run_for(&e, 20);
	ck_assert(e.dial_done);
	ck_assert_int_eq(e.dial_err, -ETIMEDOUT);
	ck_assert_int_eq(e.naccepted, 0);
	ck_assert_uint_gt(lsn_of(&e)->st.crypt_failures, 0);
	e.ops->fini(bad);
	e.dial_done = false;
	e.dialed = NULL;
	dial_and_echo(&e, o, 2);
	ck_assert_int_eq(e.naccepted, 1);
	env_down(&e);
}
END_TEST

START_TEST(bad_options_name_the_key)
{
	struct event_base *base = event_base_new();
	const struct xport_ops *ops = kcp_xport_ops(&uh_host);
	struct xport_ctx *ctx;
	char err[256];
	const struct xport_option a[] = {{"sndWnd", "lots"}};
	ck_assert_int_eq(ops->init(base, a, 1, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "sndWnd"));
	const struct xport_option b[] = {{"bogus", "1"}};
	ck_assert_int_eq(ops->init(base, b, 1, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bogus"));
	const struct xport_option c[] = {{"crypt", "rot13"}};
	ck_assert_int_eq(ops->init(base, c, 1, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "crypt"));
	const struct xport_option d[] = {{"mode", "warp"}};
	ck_assert_int_eq(ops->init(base, d, 1, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "mode"));
	const struct xport_option f[] = {{"dataShards", "10"}, {"parityShards", "0"}};
	ck_assert_int_eq(ops->init(base, f, 2, &ctx, err, sizeof(err)), -EINVAL);
	const struct xport_option g[] = {{"congestion", "cubic"}};
	ck_assert_int_eq(ops->init(base, g, 1, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "congestion"));
	/* noCongestion is kcp-go's switch: it contradicts the controller */
	const struct xport_option h[] = {{"congestion", "bbr"}, {"noCongestion", "0"}};
	ck_assert_int_eq(ops->init(base, h, 2, &ctx, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "noCongestion"));
	event_base_free(base);
}
END_TEST

START_TEST(session_cap_and_dead_port)
{
	struct env e;
	const struct xport_option o[] = {{"maxSessions", "1"}, {"congestion", "none"}};
	env_up(&e, o, 2);
	dial_and_echo(&e, o, 2);
	/* A second peer is refused while the first session lives. */
	uint8_t seg[24] = {0};
	put32(seg, 77);
	seg[4] = 83; /* WASK, una 0: a valid opener */
	blast(e.port, seg, sizeof(seg));
	run_for(&e, 50);
	ck_assert_int_eq(e.naccepted, 1);
	ck_assert_uint_ge(lsn_of(&e)->st.sessions_refused, 1);
	/* Dial to a port nobody listens on fails fast (ICMP) or times out. */
	char err[256];
	struct xport_ctx *c;
	ck_assert_int_eq(e.ops->init(e.base, NULL, 0, &c, err, sizeof(err)), 0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	socklen_t al = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);
	e.dial_done = false;
	e.dialed = NULL;
	struct xport_dial *d;
	ck_assert_int_eq(e.ops->dial(c, "127.0.0.1", ntohs(a.sin_port), 1500, on_dial,
				     &e, &d, err, sizeof(err)),
			 0);
	for (int i = 0; i < 150 && !e.dial_done; i++)
		run_for(&e, 20);
	ck_assert(e.dial_done);
	ck_assert(e.dial_err == -ECONNREFUSED || e.dial_err == -ETIMEDOUT);
	e.ops->fini(c);
	env_down(&e);
}
END_TEST

/* ---- wire-neutral redundancy, seen from a raw UDP peer ----------------- */

struct peer {
	int fd;
	uint32_t conv;
};

static void peer_up(struct peer *p, uint32_t conv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(p->fd, 0);
	ck_assert_int_eq(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	p->conv = conv;
}

/* A bare KCP PUSH (no FEC header: the listener takes raw KCP too). */
static void peer_push(struct peer *p, uint16_t port, uint32_t sn, uint32_t una,
		      uint16_t wnd)
{
	uint8_t seg[25] = {0};
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	put32(seg, p->conv);
	seg[4] = 81; /* PUSH */
	seg[6] = (uint8_t)wnd;
	seg[7] = (uint8_t)(wnd >> 8);
	put32(seg + 12, sn);
	put32(seg + 16, una);
	put32(seg + 20, 1);
	seg[24] = (uint8_t)('a' + sn % 26);
	ck_assert_int_eq(sendto(p->fd, seg, sizeof(seg), 0, (struct sockaddr *)&a,
				sizeof(a)),
			 (ssize_t)sizeof(seg));
}

/* Everything the session sent us so far, datagram by datagram. */
static int peer_drain(struct peer *p, uint8_t (*dg)[1600], size_t *len, int max)
{
	int n = 0;
	for (;;) {
		uint8_t tmp[1600];
		ssize_t r = recv(p->fd, tmp, sizeof(tmp), 0);
		if (r < 0)
			break;
		if (n < max) {
			memcpy(dg[n], tmp, (size_t)r);
			len[n] = (size_t)r;
		}
		n++;
	}
	return n;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

enum { MAXDG = 512 };
static uint8_t dgs[MAXDG][1600];
static size_t dlen[MAXDG];

/* A raw peer whose first PUSH opens a session and offers a window of 32:
 * the session may send 32 segments, then it stalls (the peer acknowledges
 * nothing). Returns the accepted stream's bufferevent, enabled. */
static struct bufferevent *accept_stalled(struct env *e, struct peer *p,
					  uint32_t conv)
{
	peer_up(p, conv);
	peer_push(p, e->port, 0, 0, 32);
	for (int i = 0; i < 50 && !e->accepted; i++)
		run_for(e, 5);
	ck_assert_ptr_nonnull(e->accepted);
	struct bufferevent *sb = e->ops->stream_bev(e->accepted);
	bufferevent_enable(sb, EV_READ | EV_WRITE);
	return sb;
}

/* Bulk data stops (the peer's window is full and it acknowledges nothing):
 * the FEC group left open by the last datagrams is completed with copies of
 * its own shards within a few ms, and its parity follows, long before any
 * RTO. Without that guard a loss among those datagrams waits for an RTO. */
START_TEST(open_fec_group_completed_when_bulk_stalls)
{
	struct env e;
	const struct xport_option o[] = {{"dataShards", "10"}, {"parityShards", "3"},
					 {"mode", "fast2"}};
	env_up(&e, o, 3);
	struct peer p;
	struct bufferevent *sb = accept_stalled(&e, &p, 0x51e55);
	run_for(&e, 30);
	int before = peer_drain(&p, dgs, dlen, MAXDG); /* ACK of our PUSH */
	static uint8_t bulk[64 << 10];
	for (size_t i = 0; i < sizeof(bulk); i++)
		bulk[i] = (uint8_t)(i * 7);
	bufferevent_write(sb, bulk, sizeof(bulk));
	run_for(&e, 40); /* well under the first RTO (200 ms) */
	int n = peer_drain(&p, dgs, dlen, MAXDG);
	ck_assert_int_le(n, MAXDG);
	int data = 0, parity = 0, copies = 0, pushes = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_ge(dlen[i], 8);
		unsigned type = dgs[i][4] | dgs[i][5] << 8;
		if (type == FEC_TYPE_PARITY) {
			parity++;
			continue;
		}
		ck_assert_uint_eq(type, FEC_TYPE_DATA);
		data++;
		pushes += dlen[i] >= 8 + 24 && dgs[i][8 + 4] == 81;
		for (int j = 0; j < i; j++)
			if (dlen[j] == dlen[i] &&
			    memcmp(dgs[j] + 6, dgs[i] + 6, dlen[i] - 6) == 0) {
				copies++;
				break;
			}
	}
	ck_assert_int_ge(pushes, 32);
	/* whole groups of 10 data + 3 parity, counting the earlier ACK
	 * datagram(s) (fewer than 10, so no parity among them; not bulk yet,
	 * so in the groups) */
	ck_assert_int_lt(before, 10);
	int groups = (before + data) / 10;
	ck_assert_int_eq((before + data) % 10, 0);
	ck_assert_int_eq(parity, groups * 3);
	ck_assert_int_gt(copies, 0);
	/* the last datagram is the last parity shard of the last group */
	ck_assert_uint_eq(get32(dgs[n - 1]) + 1, (uint32_t)(groups * 13));
	close(p.fd);
	env_down(&e);
}
END_TEST

/* With FEC 10/3 and the controller, a session that sends bulk data sends
 * its datagrams of ACKs only as bare KCP (no FEC header, so no seat in a
 * group whose parity a full data shard makes full length); with
 * `congestion: none` they are FEC data shards, as kcp-go sends them. Either
 * way the peer reads ordinary ACKs of its PUSHes. */
START_TEST(bare_acks_outside_fec_groups)
{
	struct env e;
	const char *cc = _i ? "none" : "bbr";
	const struct xport_option o[] = {{"dataShards", "10"}, {"parityShards", "3"},
					 {"congestion", cc}};
	env_up(&e, o, 3);
	struct peer p;
	struct bufferevent *sb = accept_stalled(&e, &p, 0xbae + (uint32_t)_i);
	static uint8_t bulk[64 << 10];
	memset(bulk, 'b', sizeof(bulk));
	bufferevent_write(sb, bulk, sizeof(bulk));
	run_for(&e, 40);
	peer_drain(&p, dgs, dlen, MAXDG);
	/* our bulk waits for the peer; the peer's requests arrive meanwhile */
	for (uint32_t sn = 1; sn < 6; sn++) {
		peer_push(&p, e.port, sn, 0, 32);
		run_for(&e, 10);
	}
	run_for(&e, 20);
	int n = peer_drain(&p, dgs, dlen, MAXDG);
	ck_assert_int_le(n, MAXDG);
	uint32_t una = 0;
	int acks = 0;
	for (int i = 0; i < n; i++) {
		const uint8_t *k = dgs[i];
		unsigned type = dgs[i][4] | dgs[i][5] << 8;
		if (type == FEC_TYPE_PARITY)
			continue;
		if (type == FEC_TYPE_DATA)
			k += 8;
		ck_assert_uint_ge(dlen[i], (size_t)(k - dgs[i]) + 24);
		ck_assert_uint_eq(get32(k), 0xbae + (uint32_t)_i);
		if (k[4] != 82)
			continue; /* our PUSHes (tail guard copies) */
		acks++;
		/* bare with the controller, an FEC shard without */
		ck_assert_uint_eq(type == FEC_TYPE_DATA, _i == 1);
		if (get32(k + 16) > una)
			una = get32(k + 16);
	}
	ck_assert_int_ge(acks, 1);
	ck_assert_uint_eq(una, 6);
	close(p.fd);
	env_down(&e);
}
END_TEST

/* The ACK datagram that reports a filled hole (una jumps far beyond the ACKs
 * it carries) is sent twice: a stalled sender waits on exactly that one. An
 * ordinary in-order ACK is sent once. */
START_TEST(hole_filling_ack_sent_twice)
{
	struct env e;
	const struct xport_option o[] = {{"dataShards", "0"}, {"parityShards", "0"}};
	env_up(&e, o, 2);
	struct peer p;
	peer_up(&p, 0xacc);
	for (uint32_t sn = 1; sn <= 40; sn++)
		peer_push(&p, e.port, sn, 0, 128);
	for (int i = 0; i < 50 && !e.accepted; i++)
		run_for(&e, 5);
	ck_assert_ptr_nonnull(e.accepted);
	run_for(&e, 30);
	int n = peer_drain(&p, dgs, dlen, MAXDG);
	ck_assert_int_gt(n, 0);
	for (int i = 0; i < n; i++)
		ck_assert_uint_eq(get32(dgs[i] + 16), 0); /* una stays at the hole */
	/* fill the hole: una 0 -> 41 in a datagram that ACKs one segment */
	peer_push(&p, e.port, 0, 0, 128);
	run_for(&e, 30);
	n = peer_drain(&p, dgs, dlen, MAXDG);
	int with41 = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_ge(dlen[i], 24);
		ck_assert_uint_eq(dgs[i][4], 82); /* ACK */
		if (get32(dgs[i] + 16) == 41)
			with41++;
	}
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(with41, 2);
	ck_assert_uint_eq(dlen[0], dlen[1]);
	ck_assert_mem_eq(dgs[0], dgs[1], dlen[0]);
	/* in order from here: one ACK, sent once */
	peer_push(&p, e.port, 41, 0, 128);
	run_for(&e, 30);
	n = peer_drain(&p, dgs, dlen, MAXDG);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(get32(dgs[0] + 16), 42);
	close(p.fd);
	env_down(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kcp_session");
	TCase *tc = tcase_create("hostile");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, garbage_creates_no_session);
	tcase_add_test(tc, garbage_without_crypt);
	tcase_add_test(tc, wrong_key_rejected_then_right_key_works);
	tcase_add_test(tc, bad_options_name_the_key);
	tcase_add_test(tc, session_cap_and_dead_port);
	suite_add_tcase(s, tc);
	TCase *tr = tcase_create("redundancy");
	tcase_set_timeout(tr, 30);
	tcase_add_test(tr, open_fec_group_completed_when_bulk_stalls);
	tcase_add_test(tr, hole_filling_ack_sent_twice);
	tcase_add_loop_test(tr, bare_acks_outside_fec_groups, 0, 2);
	suite_add_tcase(s, tr);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
