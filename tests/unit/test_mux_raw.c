/*
 * test_mux_raw.c - one yamux session against a peer written by hand: frp's
 * captured bytes, pings and keepalive, protocol errors, hostile but legal
 * input, backpressure on the underlying stream, seeded random frames.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mux.h"
#include "mux_harness.h"
#include "util.h"

static bool pred_wm_eof(void *arg)
{
	struct mh_ep *e = arg;
	return e->eof > 0;
}

static void wm_accept(struct mux_stream *s, void *arg)
{
	struct mh_ep *e = arg;
	e->s = s;
	e->bev = mux_stream_bev(s);
	e->got = evbuffer_new();
	e->no_read = true; /* no read callback: it would spin at the mark */
	bufferevent_setcb(e->bev, NULL, NULL, mh_ep_event_cb, e);
	bufferevent_setwatermark(e->bev, EV_READ, 0, 1 * KIB);
	/* EV_READ stays off, as when a relay holds back: the data waits in
	 * the mux until EOF flushes it */
}

START_TEST(test_eof_with_read_watermark)
{
	/* a user end with a small read high watermark still holds every byte
	 * in its input when EOF is raised */
	struct mh_raw r;
	struct mux_config cfg = mh_small_cfg();
	struct mh_ep e;
	memset(&e, 0, sizeof(e));
	mh_raw_up(&r, false, &cfg);
	mux_session_free(r.sd.m);
	r.sd.m = mux_session_new(r.base, r.p[0], false, &cfg, wm_accept, NULL, &e);
	uint8_t buf[10 * KIB];
	memset(buf, 'w', sizeof(buf));
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
	mh_raw_put(&r, MUX_DATA, MUX_FIN, 1, sizeof(buf));
	bufferevent_write(r.p[1], buf, sizeof(buf));
	ck_assert(mh_run_until(r.base, pred_wm_eof, &e, 5000));
	/* before anything is drained (draining would pull more through) */
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(e.bev)), sizeof(buf));
	e.no_read = false;
	mh_ep_consume(&e);
	ck_assert_uint_eq(e.received, sizeof(buf));
	size_t lo = 1, hi = 0;
	bufferevent_getwatermark(e.bev, EV_READ, &lo, &hi);
	ck_assert_uint_eq(hi, 1 * KIB); /* the user's setting is back */
	mh_ep_fini(&e);
	mh_raw_down(&r);
}
END_TEST

/* ---- raw peer --------------------------------------------------------------- */

static const char login_json[] =
	"{\"version\":\"0.54.0\",\"os\":\"linux\",\"arch\":\"amd64\","
	"\"privilege_key\":\"3a605ce248b756ef60c59a96268d490b\","
	"\"timestamp\":1795345545,\"client_spec\":{},\"pool_count\":1}";

static bool pred_raw_login(void *arg)
{
	struct mh_raw *r = arg;
	return r->sd.n == 1 && evbuffer_get_length(r->sd.eps[0].got) == 163;
}

START_TEST(test_frp_client_bytes)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	mh_raw_up(&r, false, &cfg);
	r.sd.tmpl.got = (struct evbuffer *)1;

	uint8_t msg[512];
	size_t n = 0;
	static const uint8_t hdrs[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
					0x00, 0x5c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa3 };
	memcpy(msg, hdrs, sizeof(hdrs));
	n = sizeof(hdrs);
	msg[n++] = 'o';
	ck_assert_uint_eq(strlen(login_json), 154);
	static const uint8_t len154[] = { 0, 0, 0, 0, 0, 0, 0, 154 };
	memcpy(msg + n, len154, 8);
	n += 8;
	memcpy(msg + n, login_json, 154);
	n += 154;
	/* one byte at a time: headers and payloads split across reads */
	for (size_t i = 0; i < n; i++) {
		bufferevent_write(r.p[1], msg + i, 1);
		event_base_loop(r.base, EVLOOP_NONBLOCK);
	}
	ck_assert(mh_run_until(r.base, pred_raw_login, &r, 5000));
	ck_assert_uint_eq(mux_stream_id(r.sd.eps[0].s), 1);
	ck_assert_mem_eq(evbuffer_pullup(r.sd.eps[0].got, -1), msg + sizeof(hdrs), 163);

	/* our answer starts like frps 0.54's: WindowUpdate ACK stream 1 */
	static const uint8_t ack[] = { 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
				       0x00, 0x5c, 0x00, 0x00 };
	ck_assert_uint_ge(mh_raw_avail(&r), 12);
	ck_assert_mem_eq(evbuffer_pullup(bufferevent_get_input(r.p[1]), 12), ack, 12);

	/* a reply from the user comes back as a data frame on stream 1 */
	struct mux_frame f;
	ck_assert(mh_raw_take(&r, &f, NULL));
	bufferevent_write(r.sd.eps[0].bev, "pong", 4);
	mh_run_for(r.base, 20);
	struct evbuffer *pl = evbuffer_new();
	ck_assert(mh_raw_take(&r, &f, pl));
	ck_assert_int_eq(f.type, MUX_DATA);
	ck_assert_uint_eq(f.stream_id, 1);
	ck_assert_uint_eq(f.length, 4);
	ck_assert_mem_eq(evbuffer_pullup(pl, -1), "pong", 4);
	evbuffer_free(pl);
	mh_raw_down(&r);
}
END_TEST

START_TEST(test_client_open_bytes)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	mh_raw_up(&r, true, &cfg);
	struct mux_stream *a = mux_open(r.sd.m), *b = mux_open(r.sd.m);
	mh_run_for(r.base, 10);
	static const uint8_t want[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
					0x00, 0x5c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
					0x00, 0x00, 0x00, 0x03, 0x00, 0x5c, 0x00, 0x00 };
	ck_assert_uint_eq(mh_raw_avail(&r), sizeof(want));
	ck_assert_mem_eq(evbuffer_pullup(bufferevent_get_input(r.p[1]), -1), want,
			 sizeof(want));
	/* frp 0.45 style: the 256 KiB default window means a zero delta */
	mux_stream_close(a, 1);
	mux_stream_close(b, 1);
	mh_raw_down(&r);

	struct mux_config sc = mh_small_cfg();
	mh_raw_up(&r, true, &sc);
	a = mux_open(r.sd.m);
	mh_run_for(r.base, 10);
	static const uint8_t zero[] = { 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0 };
	ck_assert_mem_eq(evbuffer_pullup(bufferevent_get_input(r.p[1]), -1), zero, 12);
	mux_stream_close(a, 0);
	mh_raw_down(&r);
}
END_TEST

START_TEST(test_ping_answer)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	mh_raw_up(&r, false, &cfg);
	mh_raw_put(&r, MUX_PING, MUX_SYN, 0, 0xdeadbeef);
	mh_raw_put(&r, MUX_PING, MUX_ACK, 0, 7); /* an answer needs no answer */
	mh_run_for(r.base, 20);
	struct mux_frame f;
	ck_assert(mh_raw_take(&r, &f, NULL));
	ck_assert_int_eq(f.type, MUX_PING);
	ck_assert_int_eq(f.flags, MUX_ACK);
	ck_assert_uint_eq(f.stream_id, 0);
	ck_assert_uint_eq(f.length, 0xdeadbeef);
	ck_assert_uint_eq(mh_raw_avail(&r), 0);
	struct mux_stats st;
	mux_session_stats(r.sd.m, &st);
	ck_assert_uint_eq(st.pings_in, 1);
	ck_assert_uint_eq(st.frames_in, 2);
	mh_raw_down(&r);
}
END_TEST

static bool pred_two_pings(void *arg)
{
	return mh_raw_avail(arg) >= 24;
}

static bool pred_raw_closed(void *arg)
{
	struct mh_raw *r = arg;
	return r->sd.closed > 0;
}

START_TEST(test_keepalive)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	cfg.keepalive_interval_ms = 20;
	cfg.keepalive_timeout_ms = 1000;
	mh_raw_up(&r, true, &cfg);
	ck_assert(mh_run_until(r.base, pred_two_pings, &r, 5000));
	struct mux_frame f, g;
	ck_assert(mh_raw_take(&r, &f, NULL));
	ck_assert(mh_raw_take(&r, &g, NULL));
	ck_assert(f.type == MUX_PING && f.flags == MUX_SYN && f.stream_id == 0);
	ck_assert(g.type == MUX_PING && g.flags == MUX_SYN && g.stream_id == 0);
	ck_assert_uint_ne(f.length, g.length);
	mh_raw_down(&r);
}
END_TEST

START_TEST(test_keepalive_timeout)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	cfg.keepalive_interval_ms = 20;
	cfg.keepalive_timeout_ms = 100;

	/* a peer that answers pings keeps the session alive */
	mh_raw_up(&r, true, &cfg);
	r.pong = true;
	mh_run_for(r.base, 400);
	ck_assert_int_eq(r.sd.closed, 0);
	ck_assert(mux_session_alive(r.sd.m));
	/* once it falls silent the session dies, not before the timeout */
	r.pong = false;
	uint64_t t0 = util_now_ms();
	ck_assert(mh_run_until(r.base, pred_raw_closed, &r, 5000));
	ck_assert_uint_ge(util_now_ms() - t0, 70);
	ck_assert_int_eq(r.sd.close_err, -ETIMEDOUT);
	ck_assert(!mux_session_alive(r.sd.m));
	mh_raw_down(&r);

	/* silent from the start; freeing inside closed_cb is fine */
	mh_raw_up(&r, false, &cfg);
	r.sd.free_in_closed = true;
	ck_assert(mh_run_until(r.base, pred_raw_closed, &r, 5000));
	ck_assert_int_eq(r.sd.close_err, -ETIMEDOUT);
	ck_assert_ptr_null(r.sd.m);
	mh_raw_down(&r);
}
END_TEST

/* Feed frames, expect closed_cb(-EPROTO) and a go-away(1) as the last frame. */
static void proto_case(bool is_client, uint32_t window, int which)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	cfg.max_stream_window = window;
	mh_raw_up(&r, is_client, &cfg);
	switch (which) {
	case 0: { /* version 1 */
		uint8_t b[MUX_HDR_LEN] = { 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
		bufferevent_write(r.p[1], b, sizeof(b));
		break;
	}
	case 1: { /* type 4 */
		uint8_t b[MUX_HDR_LEN] = { 0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
		bufferevent_write(r.p[1], b, sizeof(b));
		break;
	}
	case 2: /* SYN with our own parity */
		mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, is_client ? 1 : 2, 0);
		break;
	case 3: /* SYN reusing a live id */
		mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
		mh_raw_put(&r, MUX_DATA, MUX_SYN, 1, 0);
		break;
	case 4: /* more data than the window: header alone is enough */
		mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
		mh_raw_put(&r, MUX_DATA, 0, 1, window + 1);
		break;
	case 5: /* SYN on stream 0 */
		mh_raw_put(&r, MUX_DATA, MUX_SYN, 0, 0);
		break;
	case 6: { /* window exceeded across two frames */
		mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
		uint8_t *z = calloc(1, window);
		mh_raw_put(&r, MUX_DATA, 0, 1, window - 10);
		bufferevent_write(r.p[1], z, window - 10);
		mh_raw_put(&r, MUX_DATA, 0, 1, 11);
		bufferevent_write(r.p[1], z, 11);
		free(z);
		break;
	}
	}
	if (!is_client)
		r.sd.tmpl.no_read = true;
	ck_assert(mh_run_until(r.base, pred_raw_closed, &r, 5000));
	ck_assert_int_eq(r.sd.close_err, -EPROTO);
	ck_assert(!mux_session_alive(r.sd.m));
	ck_assert_uint_eq(mux_stream_count(r.sd.m), 0);
	mh_run_for(r.base, 10);
	struct mux_frame f = { 0 }, last = { 0 };
	while (mh_raw_take(&r, &f, NULL))
		last = f;
	ck_assert_int_eq(last.type, MUX_GO_AWAY);
	ck_assert_uint_eq(last.length, 1);
	/* accepted streams saw EOF */
	for (int i = 0; i < r.sd.n; i++)
		ck_assert(mux_stream_peer_closed(r.sd.eps[i].s));
	mh_raw_down(&r);
}

START_TEST(test_protocol_errors)
{
	proto_case(false, MUX_INITIAL_WINDOW, 0);
	proto_case(false, MUX_INITIAL_WINDOW, 1);
	proto_case(false, MUX_INITIAL_WINDOW, 2);
	proto_case(true, MUX_INITIAL_WINDOW, 2);
	proto_case(false, MUX_INITIAL_WINDOW, 3);
	proto_case(false, MUX_INITIAL_WINDOW, 4);
	proto_case(false, 6 * MIB, 4);
	proto_case(false, MUX_INITIAL_WINDOW, 5);
	proto_case(false, MUX_INITIAL_WINDOW, 6);
}
END_TEST

static bool pred_raw_full_window(void *arg)
{
	struct mh_raw *r = arg;
	return r->sd.n == 1 && r->sd.eps[0].received == MUX_INITIAL_WINDOW;
}

START_TEST(test_hostile_but_legal)
{
	struct mh_raw r;
	struct mux_config cfg = mh_small_cfg();
	mh_raw_up(&r, false, &cfg);
	r.sd.tmpl.got = (struct evbuffer *)1;
	/* stray frames cost a counter, not the session */
	mh_raw_put(&r, MUX_DATA, 0, 99, 5);
	bufferevent_write(r.p[1], "junk!", 5);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_FIN, 77, 0);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_RST, 75, 0);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, 0, 73, 1000);
	/* exactly one full window is fine */
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
	uint8_t *z = calloc(1, MUX_INITIAL_WINDOW);
	mh_raw_put(&r, MUX_DATA, 0, 1, MUX_INITIAL_WINDOW);
	bufferevent_write(r.p[1], z, MUX_INITIAL_WINDOW);
	free(z);
	ck_assert(mh_run_until(r.base, pred_raw_full_window, &r, 5000));
	ck_assert(mux_session_alive(r.sd.m));
	struct mux_stats st;
	mux_session_stats(r.sd.m, &st);
	ck_assert_uint_eq(st.discarded, 5);
	ck_assert_uint_eq(st.ignored, 4);
	ck_assert_uint_eq(st.bytes_in, MUX_INITIAL_WINDOW);
	/* having consumed it all, we re-opened the window: the peer may send
	 * another full window */
	struct mux_frame f;
	bool update = false;
	while (mh_raw_take(&r, &f, NULL))
		if (f.type == MUX_WINDOW_UPDATE && f.stream_id == 1 && f.flags == 0)
			update = f.length >= MUX_INITIAL_WINDOW / 2;
	ck_assert(update);
	/* FIN + data together, the payload split across reads: all the data
	 * first, then EOF */
	mh_raw_put(&r, MUX_DATA, MUX_FIN, 1, 3);
	bufferevent_write(r.p[1], "e", 1);
	mh_run_for(r.base, 10);
	ck_assert_int_eq(r.sd.eps[0].eof, 0);
	bufferevent_write(r.p[1], "nd", 2);
	mh_run_for(r.base, 10);
	mh_raw_put(&r, MUX_DATA, 0, 1, 2); /* after FIN: dropped, counted */
	bufferevent_write(r.p[1], "xx", 2);
	mh_run_for(r.base, 20);
	struct mh_ep *e = &r.sd.eps[0];
	ck_assert_int_eq(e->eof, 1);
	ck_assert_mem_eq((char *)evbuffer_pullup(e->got, -1) + MUX_INITIAL_WINDOW, "end", 3);
	mux_session_stats(r.sd.m, &st);
	ck_assert_uint_eq(st.discarded, 7);
	ck_assert(mux_session_alive(r.sd.m));
	/* max_streams: the third SYN is refused with RST */
	mh_raw_down(&r);

	cfg.max_streams = 2;
	mh_raw_up(&r, false, &cfg);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 3, 0);
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_SYN, 5, 0);
	mh_run_for(r.base, 20);
	ck_assert_int_eq(r.sd.n, 2);
	ck_assert(mh_raw_take(&r, &f, NULL) && f.flags == MUX_ACK && f.stream_id == 1);
	ck_assert(mh_raw_take(&r, &f, NULL) && f.flags == MUX_ACK && f.stream_id == 3);
	ck_assert(mh_raw_take(&r, &f, NULL) && f.flags == MUX_RST && f.stream_id == 5);
	mux_session_stats(r.sd.m, &st);
	ck_assert_uint_eq(st.refused, 1);
	mh_raw_down(&r);
}
END_TEST

struct bp {
	struct mh_raw *r;
	uint32_t st;
	size_t got;
	int bad;
	uint32_t max_frame;
};

static void bp_read_cb(struct bufferevent *bev, void *arg)
{
	struct bp *b = arg;
	struct mux_frame f;
	struct evbuffer *pl = evbuffer_new();
	(void)bev;
	while (mh_raw_take(b->r, &f, pl)) {
		size_t n = evbuffer_get_length(pl);
		if (f.type == MUX_DATA && f.length > b->max_frame)
			b->max_frame = f.length;
		uint8_t *p = evbuffer_pullup(pl, -1);
		for (size_t i = 0; i < n; i++)
			if (p[i] != mh_gen_byte(&b->st))
				b->bad++;
		b->got += n;
		evbuffer_drain(pl, n);
	}
	evbuffer_free(pl);
}

static bool pred_bp_done(void *arg)
{
	return ((struct bp *)arg)->got == 8 * MIB;
}

static void write_pattern(struct bufferevent *bev, uint32_t *st, size_t n)
{
	uint8_t *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = mh_gen_byte(st);
	bufferevent_write(bev, buf, n);
	free(buf);
}

START_TEST(test_under_backpressure)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	mh_raw_up(&r, true, &cfg);
	bufferevent_disable(r.p[1], EV_READ); /* the link stalls */
	struct mh_ep *c = &r.sd.eps[r.sd.n++];
	memset(c, 0, sizeof(*c));
	mh_ep_attach(c, mux_open(r.sd.m));
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_ACK, 1, 64 * MIB);
	uint32_t st = 7;
	write_pattern(c->bev, &st, 8 * MIB);
	mh_run_for(r.base, 60);
	/* the window allows it all, but under's output stays bounded and
	 * the rest stays with the writer */
	size_t queued = evbuffer_get_length(bufferevent_get_output(r.p[0]));
	ck_assert_uint_ge(queued, 32 * KIB);
	ck_assert_uint_le(queued, 32 * KIB + 64 * KIB);
	ck_assert_uint_ge(evbuffer_get_length(bufferevent_get_output(c->bev)),
			  8 * MIB - queued - 256 * KIB);
	struct bp b = { &r, 7, 0, 0, 0 };
	bufferevent_setcb(r.p[1], bp_read_cb, NULL, NULL, &b);
	bufferevent_enable(r.p[1], EV_READ);
	ck_assert(mh_run_until(r.base, pred_bp_done, &b, 20000));
	ck_assert_int_eq(b.bad, 0);
	mh_raw_down(&r);
}
END_TEST

static size_t goal_of(void *arg) { return *(size_t *)arg; }

static bool pred_bp_half(void *arg)
{
	return ((struct bp *)arg)->got == 4 * MIB;
}

/* A transport that asks for a small queue above it (mux_session_set_goal)
 * gets at most that plus one frame in under's output, and frames no
 * larger; when it asks for nothing again, the fixed bound is back. */
START_TEST(test_under_goal)
{
	struct mh_raw r;
	struct mux_config cfg = mh_quiet_cfg();
	size_t goal = 4 * KIB;
	uint32_t wst = 7;
	mh_raw_up(&r, true, &cfg);
	mux_session_set_goal(r.sd.m, goal_of, &goal);
	bufferevent_disable(r.p[1], EV_READ); /* the link stalls */
	struct mh_ep *c = &r.sd.eps[r.sd.n++];
	memset(c, 0, sizeof(*c));
	mh_ep_attach(c, mux_open(r.sd.m));
	mh_raw_put(&r, MUX_WINDOW_UPDATE, MUX_ACK, 1, 64 * MIB);
	write_pattern(c->bev, &wst, 4 * MIB);
	mh_run_for(r.base, 60);
	size_t queued = evbuffer_get_length(bufferevent_get_output(r.p[0]));
	/* the SYN, then data frames of at most 4 KiB until 4 KiB is passed */
	ck_assert_uint_ge(queued, 4 * KIB);
	ck_assert_uint_le(queued, 8 * KIB + 3 * MUX_HDR_LEN);
	struct bp b = { &r, 7, 0, 0, 0 };
	bufferevent_setcb(r.p[1], bp_read_cb, NULL, NULL, &b);
	bufferevent_enable(r.p[1], EV_READ);
	ck_assert(mh_run_until(r.base, pred_bp_half, &b, 20000));
	ck_assert_uint_le(b.max_frame, 4 * KIB);
	ck_assert_int_eq(b.bad, 0);
	/* no goal any more: the fixed 32 KiB bound and 16 KiB frames */
	goal = 0;
	bufferevent_disable(r.p[1], EV_READ);
	write_pattern(c->bev, &wst, 4 * MIB);
	mh_run_for(r.base, 60);
	queued = evbuffer_get_length(bufferevent_get_output(r.p[0]));
	ck_assert_uint_ge(queued, 32 * KIB);
	ck_assert_uint_le(queued, 32 * KIB + 64 * KIB);
	bufferevent_enable(r.p[1], EV_READ);
	ck_assert(mh_run_until(r.base, pred_bp_done, &b, 20000));
	ck_assert_uint_gt(b.max_frame, 4 * KIB);
	ck_assert_int_eq(b.bad, 0);
	mh_raw_down(&r);
}
END_TEST

/* Seeded random frame sequences (valid and invalid headers, any flags,
 * ids and lengths, split at random points) against a server session whose
 * streams echo and close at random: it must survive or end with a protocol
 * error, and free cleanly either way (ASan/UBSan check the rest). */
START_TEST(test_random_frames)
{
	uint32_t rnd = 12345;
	int died = 0, lived = 0;
	uint64_t delivered = 0;
	for (int run = 0; run < 300; run++) {
		struct mh_raw r;
		struct mux_config cfg = mh_small_cfg();
		cfg.max_streams = 8;
		mh_raw_up(&r, false, &cfg);
		r.sd.tmpl.echo = (run & 1) != 0;
		r.sd.tmpl.got = (struct evbuffer *)1;
		r.sd.tmpl.close_in_read = (run % 3) == 0;
		static const uint32_t ids[] = { 0, 1, 2, 3, 5, 7, 9, 11, 13, 15, 17, 0x7fffffff };
		int frames = 1 + (int)(mh_gen_byte(&rnd) % 40);
		for (int i = 0; i < frames && r.sd.n < 15; i++) {
			uint8_t t = mh_gen_byte(&rnd) % 9, fl = mh_gen_byte(&rnd) & 15;
			uint32_t id = ids[mh_gen_byte(&rnd) % 12];
			uint32_t len = mh_gen_byte(&rnd);
			uint8_t hb[MUX_HDR_LEN];
			struct mux_frame f = { 0, t < 4 ? MUX_DATA : t < 7 ? MUX_WINDOW_UPDATE :
					       t == 7 ? MUX_PING : MUX_GO_AWAY, fl, id, len };
			if (mh_gen_byte(&rnd) < 4)
				f.length = MUX_INITIAL_WINDOW - 100 + mh_gen_byte(&rnd);
			if (f.type == MUX_GO_AWAY && mh_gen_byte(&rnd) > 8)
				continue; /* keep most runs going */
			mux_frame_encode(&f, hb);
			if (mh_gen_byte(&rnd) < 3)
				hb[mh_gen_byte(&rnd) % 2] ^= (uint8_t)(1 + mh_gen_byte(&rnd) % 8);
			bufferevent_write(r.p[1], hb, sizeof(hb));
			if (f.type == MUX_DATA) {
				uint32_t plen = f.length < 4096 ? f.length : mh_gen_byte(&rnd) * 16u;
				uint8_t *pl = malloc(plen + 1);
				for (uint32_t k = 0; k < plen; k++)
					pl[k] = mh_gen_byte(&rnd);
				bufferevent_write(r.p[1], pl, plen);
				free(pl);
			}
			if (mh_gen_byte(&rnd) < 64)
				event_base_loop(r.base, EVLOOP_NONBLOCK);
		}
		for (int k = 0; k < 4; k++)
			event_base_loop(r.base, EVLOOP_NONBLOCK);
		if (r.sd.closed)
			ck_assert(r.sd.close_err == -EPROTO || r.sd.close_err == 0 ||
				  r.sd.close_err == -ECONNABORTED);
		else
			ck_assert(mux_session_alive(r.sd.m));
		ck_assert_uint_le(mux_stream_count(r.sd.m), 8);
		struct mux_stats st;
		mux_session_stats(r.sd.m, &st);
		delivered += st.bytes_in;
		died += r.sd.closed && r.sd.close_err == -EPROTO;
		lived += !r.sd.closed && r.sd.n > 0;
		mh_raw_down(&r);
	}
	/* the generator reaches both outcomes and real data delivery */
	ck_assert_int_gt(died, 20);
	ck_assert_int_gt(lived, 20);
	ck_assert_uint_gt(delivered, 10000);
}
END_TEST

static Suite *mux_raw_suite(void)
{
	Suite *s = suite_create("mux_raw");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eof_with_read_watermark);
	tcase_add_test(tc, test_frp_client_bytes);
	tcase_add_test(tc, test_client_open_bytes);
	tcase_add_test(tc, test_ping_answer);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_keepalive_timeout);
	tcase_add_test(tc, test_protocol_errors);
	tcase_add_test(tc, test_hostile_but_legal);
	tcase_add_test(tc, test_under_backpressure);
	tcase_add_test(tc, test_under_goal);
	tcase_add_test(tc, test_random_frames);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mux_raw_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
