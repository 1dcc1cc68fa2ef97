/*
 * test_mux.c - yamux: header codec golden bytes, and two sessions over a
 * bufferevent_pair (data both ways, flow control, FIN/RST, closing from
 * callbacks, freeing a session under open streams). Raw-peer tests are in
 * test_mux_raw.c; fixtures in mux_harness.c.
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

/* ---- codec --------------------------------------------------------------- */

START_TEST(test_frame_golden)
{
	/* frpc 0.54 opening stream 1 (frp-captures.md) */
	static const uint8_t syn[] = { 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
				       0x00, 0x5c, 0x00, 0x00 };
	static const uint8_t data[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
					0x00, 0x00, 0x00, 0xa3 };
	uint8_t b[MUX_HDR_LEN];
	struct mux_frame f = { 0, MUX_WINDOW_UPDATE, MUX_SYN, 1, 0x5C0000 }, g;

	mux_frame_encode(&f, b);
	ck_assert_mem_eq(b, syn, sizeof(syn));
	ck_assert_int_eq(mux_frame_decode(data, &g), 0);
	ck_assert_int_eq(g.type, MUX_DATA);
	ck_assert_int_eq(g.flags, 0);
	ck_assert_uint_eq(g.stream_id, 1);
	ck_assert_uint_eq(g.length, 0xa3);

	/* every type and flag combination survives a round trip */
	for (uint8_t t = 0; t <= MUX_GO_AWAY; t++)
		for (uint16_t fl = 0; fl < 16; fl++) {
			struct mux_frame a = { 0, t, fl, 0x80000001u + fl, 0xfedcba98u - t };
			mux_frame_encode(&a, b);
			ck_assert_int_eq(mux_frame_decode(b, &g), 0);
			ck_assert_mem_eq(&a, &g, sizeof(a));
		}
	/* bytes are big-endian on the wire */
	struct mux_frame h = { 0, MUX_PING, MUX_ACK | MUX_FIN, 0x01020304, 0x0a0b0c0d };
	mux_frame_encode(&h, b);
	static const uint8_t ping[] = { 0, 2, 0, 6, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d };
	ck_assert_mem_eq(b, ping, sizeof(ping));

	uint8_t bad[MUX_HDR_LEN];
	memcpy(bad, syn, sizeof(bad));
	bad[0] = 1;
	ck_assert_int_eq(mux_frame_decode(bad, &g), -EPROTO);
	bad[0] = 0;
	bad[1] = 4;
	ck_assert_int_eq(mux_frame_decode(bad, &g), -EPROTO);

	struct mux_config c;
	mux_config_default(&c);
	ck_assert_uint_eq(c.max_stream_window, 6 * MIB);
	ck_assert_int_eq(c.keepalive_interval_ms, 30000);
	ck_assert_int_eq(c.keepalive_timeout_ms, 60000);
}
END_TEST

/* ---- two sessions ----------------------------------------------------------- */

static bool pred_hello(void *arg)
{
	struct mh_link *l = arg;
	return l->s.n == 1 && l->c.eps[0].got &&
	       evbuffer_get_length(l->c.eps[0].got) == 5 &&
	       evbuffer_get_length(l->s.eps[0].got) == 5;
}

START_TEST(test_open_send_recv)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	l.s.tmpl.got = (struct evbuffer *)1; /* marker: capture raw bytes */
	l.s.tmpl.echo = true;

	struct mh_ep *e = mh_client_open(&l.c, 0, 0);
	e->got = evbuffer_new();
	ck_assert_uint_eq(mux_stream_id(e->s), 1);
	bufferevent_write(e->bev, "hello", 5);
	ck_assert(mh_run_until(l.base, pred_hello, &l, 5000));
	ck_assert_uint_eq(mux_stream_id(l.s.eps[0].s), 1);
	ck_assert_mem_eq(evbuffer_pullup(e->got, -1), "hello", 5);
	ck_assert_mem_eq(evbuffer_pullup(l.s.eps[0].got, -1), "hello", 5);
	ck_assert_uint_eq(mux_stream_count(l.c.m), 1);
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1);

	struct mux_stream *s3 = mux_open(l.c.m);
	ck_assert_uint_eq(mux_stream_id(s3), 3);
	mux_stream_close(s3, 1);
	ck_assert(mux_session_alive(l.c.m));
	ck_assert(l.c.closed == 0 && l.s.closed == 0);
	ck_assert_uint_ge(mux_last_rx_ms(l.c.m), 1);
	mh_link_down(&l);
}
END_TEST

static bool pred_bulk(void *arg)
{
	struct mh_link *l = arg;
	if (l->s.n < l->c.n)
		return false;
	for (int i = 0; i < l->c.n; i++)
		if (!l->c.eps[i].closed || !l->s.eps[i].closed)
			return false;
	return mux_stream_count(l->c.m) == 0 && mux_stream_count(l->s.m) == 0;
}

START_TEST(test_bulk_parallel)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	l.s.tmpl.to_write = 4 * MIB;
	l.s.tmpl.expect = 4 * MIB;
	l.s.tmpl.close_when_done = true;
	for (int i = 0; i < 8; i++)
		mh_client_open(&l.c, 4 * MIB, 4 * MIB)->close_when_done = true;
	ck_assert(mh_run_until(l.base, pred_bulk, &l, 50000));
	for (int i = 0; i < 8; i++) {
		ck_assert_uint_eq(l.c.eps[i].received, 4 * MIB);
		ck_assert_uint_eq(l.s.eps[i].received, 4 * MIB);
		ck_assert_int_eq(l.c.eps[i].bad, 0);
		ck_assert_int_eq(l.s.eps[i].bad, 0);
	}
	struct mux_stats cs, ss;
	mux_session_stats(l.c.m, &cs);
	mux_session_stats(l.s.m, &ss);
	ck_assert_uint_eq(cs.bytes_out, 32 * MIB);
	ck_assert_uint_eq(ss.bytes_in, 32 * MIB);
	ck_assert_uint_eq(ss.bytes_out, 32 * MIB);
	ck_assert_uint_eq(cs.discarded + ss.discarded, 0);
	ck_assert_uint_eq(ss.streams_accepted, 8);
	ck_assert(l.c.closed == 0 && l.s.closed == 0);
	mh_link_down(&l);
}
END_TEST

struct flow {
	struct mh_link *l;
	size_t want;
};

static bool pred_srv_buffered(void *arg)
{
	struct flow *f = arg;
	return f->l->s.n == 1 &&
	       evbuffer_get_length(bufferevent_get_input(f->l->s.eps[0].bev)) >= f->want;
}

static bool pred_srv_received(void *arg)
{
	struct flow *f = arg;
	return f->l->s.n == 1 && f->l->s.eps[0].received >= f->want;
}

static void flow_case(uint32_t window, size_t total)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	cfg.max_stream_window = window;
	mh_link_up(&l, &cfg);
	l.s.tmpl.no_read = true;
	struct mh_ep *c = mh_client_open(&l.c, 0, 0);
	uint8_t *buf = malloc(total);
	uint32_t st = mux_stream_id(c->s) * 2;
	for (size_t i = 0; i < total; i++)
		buf[i] = mh_gen_byte(&st);
	bufferevent_write(c->bev, buf, total);
	free(buf);

	/* the receiver never reads: exactly one window arrives, no more */
	struct flow f = { &l, window };
	ck_assert(mh_run_until(l.base, pred_srv_buffered, &f, 10000));
	mh_run_for(l.base, 60);
	struct mh_ep *s = &l.s.eps[0];
	struct evbuffer *sin = bufferevent_get_input(s->bev);
	struct mux_stats cs;
	ck_assert_uint_eq(evbuffer_get_length(sin), window);
	/* a stalled stream is idle, not spinning on its read callback */
	event_base_loop(l.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(event_base_get_num_events(l.base, EVENT_BASE_COUNT_ACTIVE), 0);
	mux_session_stats(l.c.m, &cs);
	ck_assert_uint_eq(cs.bytes_out, window);
	/* the rest waits in the writer's own output, visible to its
	 * watermarks, apart from a small staging area */
	ck_assert_uint_ge(evbuffer_get_length(bufferevent_get_output(c->bev)),
			  total - window - 256 * KIB);

	/* consuming less than half a window re-opens nothing */
	size_t part = window / 2 - 4 * KIB;
	evbuffer_drain(sin, part);
	mh_run_for(l.base, 40);
	mux_session_stats(l.c.m, &cs);
	ck_assert_uint_eq(cs.bytes_out, window);
	ck_assert_uint_eq(evbuffer_get_length(sin), window - part);

	/* crossing half a window returns all consumed credit at once */
	evbuffer_drain(sin, 8 * KIB);
	f.want = window;
	ck_assert(mh_run_until(l.base, pred_srv_buffered, &f, 10000));
	mh_run_for(l.base, 40);
	ck_assert_uint_eq(evbuffer_get_length(sin), window);
	mux_session_stats(l.c.m, &cs);
	ck_assert_uint_eq(cs.bytes_out, window + part + 8 * KIB);

	/* reading resumes the flow; the bytes arrive whole and in order */
	s->rstate = mux_stream_id(s->s) * 2;
	for (size_t i = 0; i < part + 8 * KIB; i++)
		mh_gen_byte(&s->rstate);
	s->received = part + 8 * KIB;
	s->no_read = false;
	mh_ep_consume(s);
	f.want = total;
	ck_assert(mh_run_until(l.base, pred_srv_received, &f, 20000));
	ck_assert_uint_eq(s->received, total);
	ck_assert_int_eq(s->bad, 0);
	mh_link_down(&l);
}

START_TEST(test_flow_control_small)
{
	flow_case(MUX_INITIAL_WINDOW, 1 * MIB);
}
END_TEST

START_TEST(test_flow_control_frp)
{
	flow_case(6 * MIB, 13 * MIB);
}
END_TEST

static bool pred_s_eof(void *arg)
{
	struct mh_link *l = arg;
	return l->s.n == 1 && l->s.eps[0].eof > 0;
}

static bool pred_c_eof(void *arg)
{
	struct mh_link *l = arg;
	return l->c.eps[0].eof > 0;
}

static bool pred_c1_eof(void *arg)
{
	struct mh_link *l = arg;
	return l->c.eps[1].eof > 0;
}

static bool pred_c_sent_all(void *arg)
{
	struct mh_link *l = arg;
	struct mux_stats st;
	mux_session_stats(l->c.m, &st);
	return st.bytes_out >= 3 + 4 + 2 * MIB;
}

static bool pred_counts_zero(void *arg)
{
	struct mh_link *l = arg;
	return mux_stream_count(l->c.m) == 0 && mux_stream_count(l->s.m) == 0;
}

static bool pred_s_got(void *arg)
{
	struct mh_link *l = arg;
	return l->s.n == 1 && evbuffer_get_length(l->s.eps[0].got) >= 3;
}

START_TEST(test_half_close)
{
	struct mh_link l;
	struct mux_config cfg = mh_small_cfg();
	mh_link_up(&l, &cfg);
	l.s.tmpl.got = (struct evbuffer *)1;

	/* client -> server data, then the server FINs its direction */
	struct mh_ep *c = mh_client_open(&l.c, 0, 0);
	c->got = evbuffer_new();
	bufferevent_write(c->bev, "abc", 3);
	ck_assert(mh_run_until(l.base, pred_s_got, &l, 5000));
	struct mh_ep *s = &l.s.eps[0];
	bufferevent_write(s->bev, "xyz", 3);
	s->closed = true;
	mux_stream_close(s->s, 0);
	ck_assert(mh_run_until(l.base, pred_c_eof, &l, 5000));
	ck_assert_uint_eq(evbuffer_get_length(c->got), 3);
	ck_assert_mem_eq(evbuffer_pullup(c->got, -1), "xyz", 3);
	ck_assert(mux_stream_peer_closed(c->s));
	ck_assert_int_eq(c->err, 0);
	/* half-closed: the client can still send, the server still reads */
	ck_assert_uint_eq(mux_stream_count(l.c.m), 1);
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1);
	bufferevent_write(c->bev, "more", 4);
	mh_run_for(l.base, 30);
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1);

	/* the server gave up its handle, yet the client may send far more
	 * than one window: what nobody reads is still credited */
	struct mux_stats cs0, cs1;
	mux_session_stats(l.c.m, &cs0);
	c->to_write = 2 * MIB;
	mh_ep_top_up(c);
	ck_assert(mh_run_until(l.base, pred_c_sent_all, &l, 10000));
	mux_session_stats(l.c.m, &cs1);
	ck_assert_uint_ge(cs1.bytes_out - cs0.bytes_out, 2 * MIB);

	/* second FIN ends the stream on both sides */
	c->closed = true;
	mux_stream_close(c->s, 0);
	ck_assert(mh_run_until(l.base, pred_counts_zero, &l, 5000));
	struct mux_stats ss;
	mux_session_stats(l.s.m, &ss);
	/* the server had given its handle up, so "more" was dropped */
	ck_assert_uint_eq(ss.discarded, 4 + 2 * MIB);

	/* a FIN after data: server sees the data then EOF */
	c = mh_client_open(&l.c, 0, 0);
	bufferevent_write(c->bev, "tail", 4);
	c->closed = true;
	mux_stream_close(c->s, 0);
	mh_side_reset(&l.s);
	ck_assert(mh_run_until(l.base, pred_s_eof, &l, 5000));
	s = &l.s.eps[0];
	ck_assert_mem_eq(evbuffer_pullup(s->got, -1), "tail", 4);
	ck_assert(mux_stream_peer_closed(s->s));
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1);
	mh_link_down(&l);
}
END_TEST

START_TEST(test_rst)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	struct mh_ep *c = mh_client_open(&l.c, 100 * KIB, 0);
	c->close_when_done = false;
	l.s.tmpl.no_read = true;
	ck_assert(mh_run_until(l.base, pred_srv_received, &(struct flow){ &l, 0 }, 5000));
	/* reset with data in flight: both sides forget the stream at once */
	c->closed = true;
	mux_stream_close(c->s, 1);
	ck_assert_uint_eq(mux_stream_count(l.c.m), 0);
	ck_assert(mh_run_until(l.base, pred_s_eof, &l, 5000));
	ck_assert_uint_eq(mux_stream_count(l.s.m), 0);
	struct mh_ep *s = &l.s.eps[0];
	ck_assert(mux_stream_peer_closed(s->s));
	/* the orphaned handle still works as a bufferevent and closes */
	ck_assert_ptr_eq(mux_stream_bev(s->s), s->bev);
	bufferevent_write(s->bev, "late", 4);
	s->closed = true;
	mux_stream_close(s->s, 0);

	/* the server resets a stream the client is still writing to */
	c = mh_client_open(&l.c, 0, 0);
	bufferevent_write(c->bev, "x", 1);
	mh_side_reset(&l.s);
	ck_assert(mh_run_until(l.base, pred_srv_received, &(struct flow){ &l, 0 }, 5000));
	l.s.eps[0].closed = true;
	mux_stream_close(l.s.eps[0].s, 1);
	ck_assert(mh_run_until(l.base, pred_c1_eof, &l, 5000));
	ck_assert(mux_stream_peer_closed(c->s));
	ck_assert_uint_eq(mux_stream_count(l.c.m), 0);
	ck_assert(mux_session_alive(l.c.m) && mux_session_alive(l.s.m));
	mh_link_down(&l);
}
END_TEST

static bool pred_echo_done(void *arg)
{
	struct mh_link *l = arg;
	return l->c.eps[0].eof > 0 && evbuffer_get_length(l->c.eps[0].got) >= 5;
}

START_TEST(test_close_in_read_cb)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	l.s.tmpl.got = (struct evbuffer *)1;
	l.s.tmpl.echo = true;
	l.s.tmpl.close_in_read = true;
	struct mh_ep *c = mh_client_open(&l.c, 0, 0);
	c->got = evbuffer_new();
	bufferevent_write(c->bev, "12345", 5);
	/* the server echoes and closes inside its read callback: the echo is
	 * still delivered, then EOF; the server forgot the stream once the
	 * client FINs too */
	ck_assert(mh_run_until(l.base, pred_echo_done, &l, 5000));
	ck_assert_mem_eq(evbuffer_pullup(c->got, -1), "12345", 5);
	ck_assert_int_eq(c->eof, 1);
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1); /* until our FIN */
	c->closed = true;
	mux_stream_close(c->s, 0);
	ck_assert(mh_run_until(l.base, pred_counts_zero, &l, 5000));
	mh_link_down(&l);
}
END_TEST

static bool pred_s_bytes_in_200k(void *arg)
{
	struct mh_link *l = arg;
	struct mux_stats st;
	mux_session_stats(l->s.m, &st);
	return st.bytes_in >= 200 * KIB;
}

static bool pred_c_sent_1m(void *arg)
{
	struct mh_link *l = arg;
	struct mux_stats st;
	mux_session_stats(l->c.m, &st);
	return st.bytes_out >= 200 * KIB + 1 * MIB;
}

START_TEST(test_close_with_unread)
{
	struct mh_link l;
	struct mux_config cfg = mh_small_cfg();
	mh_link_up(&l, &cfg);
	l.s.tmpl.no_read = true;
	struct mh_ep *c = mh_client_open(&l.c, 0, 0);
	ck_assert(mh_run_until(l.base, pred_srv_received, &(struct flow){ &l, 0 }, 5000));
	/* the user holds back with a read mark: the bytes wait in the mux */
	bufferevent_disable(l.s.eps[0].bev, EV_READ);
	bufferevent_setwatermark(l.s.eps[0].bev, EV_READ, 0, 1 * KIB);
	c->to_write = 200 * KIB;
	mh_ep_top_up(c);
	ck_assert(mh_run_until(l.base, pred_s_bytes_in_200k, &l, 5000));
	/* closing with 200 KiB unread hands that credit back: the sender is
	 * not left with a nearly shut window */
	l.s.eps[0].closed = true;
	mux_stream_close(l.s.eps[0].s, 0);
	c->to_write += 1 * MIB;
	mh_ep_top_up(c);
	ck_assert(mh_run_until(l.base, pred_c_sent_1m, &l, 10000));
	struct mux_stats ss;
	mux_session_stats(l.s.m, &ss);
	ck_assert_uint_eq(ss.discarded, 1 * MIB);
	ck_assert_uint_eq(mux_stream_count(l.s.m), 1);
	mh_link_down(&l);
}
END_TEST

/* ---- session end ---------------------------------------------------------- */

static bool pred_free_done(void *arg)
{
	struct mh_link *l = arg;
	return l->c.eps[0].eof && l->c.eps[1].eof && l->s.closed &&
	       l->s.eps[0].eof && l->s.eps[1].eof;
}

static bool pred_two_accepted(void *arg)
{
	struct mh_link *l = arg;
	return l->s.n == 2 && l->s.eps[1].received == 3;
}

START_TEST(test_session_free_open_streams)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	l.s.free_in_closed = true;
	l.s.tmpl.got = (struct evbuffer *)1;
	struct mh_ep *a = mh_client_open(&l.c, 0, 0);
	struct mh_ep *b = mh_client_open(&l.c, 0, 0);
	bufferevent_write(a->bev, "aaa", 3);
	bufferevent_write(b->bev, "bbb", 3);
	ck_assert(mh_run_until(l.base, pred_two_accepted, &l, 5000));

	mux_session_free(l.c.m);
	l.c.m = NULL;
	ck_assert(mh_run_until(l.base, pred_free_done, &l, 5000));
	/* the peer saw our go-away (normal) and freed itself in closed_cb */
	ck_assert_int_eq(l.s.close_err, 0);
	ck_assert_ptr_null(l.s.m);
	ck_assert_int_eq(l.c.closed, 0);
	/* handles outlive the session */
	ck_assert_ptr_eq(mux_stream_bev(a->s), a->bev);
	ck_assert_uint_eq(mux_stream_id(b->s), 3);
	ck_assert(mux_stream_peer_closed(a->s));
	bufferevent_write(a->bev, "zzz", 3);
	mh_run_for(l.base, 10);
	mh_link_down(&l);
}
END_TEST

static bool pred_s_accepted_eof(void *arg)
{
	struct mh_link *l = arg;
	return l->s.n == 1 && l->s.eps[0].eof && l->c.closed;
}

START_TEST(test_free_in_accept)
{
	struct mh_link l;
	struct mux_config cfg = mh_quiet_cfg();
	mh_link_up(&l, &cfg);
	l.s.free_in_accept = true;
	struct mh_ep *c = mh_client_open(&l.c, 10, 0);
	(void)c;
	ck_assert(mh_run_until(l.base, pred_s_accepted_eof, &l, 5000));
	ck_assert_ptr_null(l.s.m);
	ck_assert_int_eq(l.s.eps[0].received, 0);
	ck_assert_int_eq(l.c.close_err, 0);
	ck_assert(!mux_session_alive(l.c.m));
	ck_assert_ptr_null(mux_open(l.c.m));
	mh_link_down(&l);
}
END_TEST

static Suite *mux_suite(void)
{
	Suite *s = suite_create("mux");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_frame_golden);
	tcase_add_test(tc, test_open_send_recv);
	tcase_add_test(tc, test_bulk_parallel);
	tcase_add_test(tc, test_flow_control_small);
	tcase_add_test(tc, test_flow_control_frp);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_rst);
	tcase_add_test(tc, test_close_in_read_cb);
	tcase_add_test(tc, test_close_with_unread);
	tcase_add_test(tc, test_session_free_open_streams);
	tcase_add_test(tc, test_free_in_accept);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mux_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
