/*
 * test_relay.c - the relay over socketpairs and bufferevent pairs: content
 * both ways, backpressure bounds, EOF flush, errors, freeing from done_cb.
 *
 * Layout of every test:  user <-> ra =relay= rb <-> svc
 * "user" and "svc" are the test's own ends; ra and rb are what the relay
 * borrows.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "relay.h"

#define MIB (1024u * 1024u)
#define FEED_CHUNK (64u * 1024u)

struct fix;

struct peer {
	struct bufferevent *bev;
	struct fix *f;
	const uint8_t *tx;	/* what this end sends */
	size_t tx_len, tx_off;
	const uint8_t *rx;	/* what this end must receive */
	size_t rx_len, rx_got;
	int rx_bad;
	int eof;
	int err;
	int close_after_tx;	/* free bev once everything is written */
};

enum free_order { FREE_BEVS_FIRST, FREE_RELAY_FIRST };

struct fix {
	struct event_base *base;
	struct peer user, svc;
	struct bufferevent *ra, *rb;
	struct relay *r;
	size_t high_wm;
	enum free_order order;
	int done_calls;
	int done_err;
	size_t ra_out_at_done, rb_out_at_done;
	size_t max_held;	/* relay-side buffered bytes, user -> svc */
	int timed_out;
	struct event *deadline;
};

static uint8_t *rand_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
	return p;
}

static void note_held(struct fix *f)
{
	size_t held;

	if (!f->ra || !f->rb)
		return;
	held = evbuffer_get_length(bufferevent_get_output(f->rb)) +
	       evbuffer_get_length(bufferevent_get_input(f->ra));
	if (held > f->max_held)
		f->max_held = held;
}

static void peer_feed(struct peer *p)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);

	while (p->tx_off < p->tx_len && evbuffer_get_length(out) < FEED_CHUNK) {
		size_t n = p->tx_len - p->tx_off;
		if (n > FEED_CHUNK)
			n = FEED_CHUNK;
		ck_assert_int_eq(evbuffer_add(out, p->tx + p->tx_off, n), 0);
		p->tx_off += n;
	}
}

static void peer_read_cb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[16384];
	size_t n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0 &&
	       n != (size_t)-1) {
		if (p->rx_got + n > p->rx_len ||
		    memcmp(buf, p->rx + p->rx_got, n) != 0)
			p->rx_bad = 1;
		p->rx_got += n;
	}
	note_held(p->f);
}

static void peer_write_cb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;

	peer_feed(p);
	if (p->close_after_tx && p->tx_off == p->tx_len &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_free(bev);
		p->bev = NULL;
	}
}

static void peer_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		p->eof = 1;
	if (what & BEV_EVENT_ERROR)
		p->err = 1;
}

static void peer_init(struct fix *f, struct peer *p, struct bufferevent *bev,
		      const uint8_t *tx, size_t tx_len, const uint8_t *rx,
		      size_t rx_len)
{
	p->f = f;
	p->bev = bev;
	p->tx = tx;
	p->tx_len = tx_len;
	p->rx = rx;
	p->rx_len = rx_len;
	bufferevent_setcb(bev, peer_read_cb, peer_write_cb, peer_event_cb, p);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	peer_feed(p);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fix *f = arg;

	(void)fd;
	(void)what;
	f->timed_out = 1;
}

static void done_cb(struct relay *r, int err, void *arg)
{
	struct fix *f = arg;

	ck_assert_ptr_eq(r, f->r);
	f->done_calls++;
	f->done_err = err;
	f->ra_out_at_done = evbuffer_get_length(bufferevent_get_output(f->ra));
	f->rb_out_at_done = evbuffer_get_length(bufferevent_get_output(f->rb));
	/* Both orders are allowed by the contract; ASan checks neither
	 * touches freed memory. */
	if (f->order == FREE_RELAY_FIRST)
		relay_free(r);
	bufferevent_free(f->ra);
	bufferevent_free(f->rb);
	if (f->order == FREE_BEVS_FIRST)
		relay_free(r);
	f->ra = f->rb = NULL;
	f->r = NULL;
}

/* sp_user: user <-> ra, sp_svc: rb <-> svc. */
static void fix_init_sockets(struct fix *f, size_t high_wm)
{
	int sp_user[2], sp_svc[2];
	int opts = BEV_OPT_CLOSE_ON_FREE;

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->high_wm = high_wm;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp_user), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp_svc), 0);
	for (int i = 0; i < 2; i++) {
		evutil_make_socket_nonblocking(sp_user[i]);
		evutil_make_socket_nonblocking(sp_svc[i]);
	}
	f->user.bev = bufferevent_socket_new(f->base, sp_user[0], opts);
	f->ra = bufferevent_socket_new(f->base, sp_user[1], opts);
	f->rb = bufferevent_socket_new(f->base, sp_svc[0], opts);
	f->svc.bev = bufferevent_socket_new(f->base, sp_svc[1], opts);
	ck_assert(f->user.bev && f->ra && f->rb && f->svc.bev);
	f->deadline = evtimer_new(f->base, deadline_cb, f);
	struct timeval tv = { 20, 0 };
	evtimer_add(f->deadline, &tv);
}

static void fix_start(struct fix *f)
{
	f->r = relay_new(f->ra, f->rb, f->high_wm, done_cb, f);
	ck_assert_ptr_nonnull(f->r);
}

static void fix_free(struct fix *f)
{
	if (f->r)
		relay_free(f->r);
	if (f->ra)
		bufferevent_free(f->ra);
	if (f->rb)
		bufferevent_free(f->rb);
	if (f->user.bev)
		bufferevent_free(f->user.bev);
	if (f->svc.bev)
		bufferevent_free(f->svc.bev);
	event_free(f->deadline);
	event_base_free(f->base);
}

typedef int (*pred_fn)(struct fix *f);

static void run_until(struct fix *f, pred_fn pred)
{
	while (!pred(f) && !f->timed_out)
		event_base_loop(f->base, EVLOOP_ONCE);
	ck_assert_msg(!f->timed_out, "timed out");
}

/* Let pending events run without waiting (to catch late callbacks). */
static void run_idle(struct fix *f)
{
	for (int i = 0; i < 20; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static int pred_both_received(struct fix *f)
{
	return f->user.rx_got >= f->user.rx_len &&
	       f->svc.rx_got >= f->svc.rx_len;
}

static int pred_done(struct fix *f) { return f->done_calls > 0; }

static int pred_done_and_user_eof(struct fix *f)
{
	return f->done_calls > 0 && (f->user.eof || f->user.err);
}

static int pred_svc_received(struct fix *f)
{
	return f->svc.rx_got >= f->svc.rx_len;
}

START_TEST(test_both_ways)
{
	struct fix f;
	size_t n = 8 * MIB;
	uint8_t *up = rand_bytes(n, 1), *down = rand_bytes(n, 2);
	uint64_t ab, ba;

	fix_init_sockets(&f, 0);
	f.order = FREE_BEVS_FIRST;
	peer_init(&f, &f.user, f.user.bev, up, n, down, n);
	peer_init(&f, &f.svc, f.svc.bev, down, n, up, n);
	fix_start(&f);
	run_until(&f, pred_both_received);
	ck_assert_int_eq(f.user.rx_bad, 0);
	ck_assert_int_eq(f.svc.rx_bad, 0);
	ck_assert_uint_eq(f.user.rx_got, n);
	ck_assert_uint_eq(f.svc.rx_got, n);
	relay_counters(f.r, &ab, &ba);
	ck_assert_uint_eq(ab, n);
	ck_assert_uint_eq(ba, n);
	ck_assert_int_eq(f.done_calls, 0);
	/* The user hangs up: orderly end. */
	bufferevent_free(f.user.bev);
	f.user.bev = NULL;
	run_until(&f, pred_done);
	run_idle(&f);
	ck_assert_int_eq(f.done_calls, 1);
	ck_assert_int_eq(f.done_err, 0);
	fix_free(&f);
	free(up);
	free(down);
}
END_TEST

static void stall_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	note_held(arg);
}

START_TEST(test_slow_reader_bounded)
{
	struct fix f;
	size_t n = 8 * MIB, wm = 64 * 1024;
	uint8_t *up = rand_bytes(n, 3);
	uint64_t ab1, ab2;
	struct event *tick;
	struct timeval ms2 = { 0, 2000 }, ms200 = { 0, 200000 };

	fix_init_sockets(&f, wm);
	f.order = FREE_RELAY_FIRST;
	peer_init(&f, &f.user, f.user.bev, up, n, NULL, 0);
	peer_init(&f, &f.svc, f.svc.bev, NULL, 0, up, n);
	bufferevent_disable(f.svc.bev, EV_READ); /* the slow reader */
	fix_start(&f);

	tick = event_new(f.base, -1, EV_PERSIST, stall_tick_cb, &f);
	event_add(tick, &ms2);
	/* Run 200 ms, then another 200 ms: nothing may move meanwhile. */
	event_base_loopexit(f.base, &ms200);
	event_base_dispatch(f.base);
	relay_counters(f.r, &ab1, NULL);
	event_base_loopexit(f.base, &ms200);
	event_base_dispatch(f.base);
	relay_counters(f.r, &ab2, NULL);
	ck_assert_uint_gt(ab1, 0);
	ck_assert_uint_eq(ab1, ab2);
	ck_assert_uint_lt(ab2, n / 2);
	ck_assert_uint_lt(f.user.tx_off, n); /* the writer was held back */
	ck_assert_uint_gt(f.max_held, wm);   /* it did fill up to the mark */
	ck_assert_uint_le(f.max_held, 2 * wm);

	/* The reader wakes up: everything arrives, intact. */
	bufferevent_enable(f.svc.bev, EV_READ);
	run_until(&f, pred_svc_received);
	event_free(tick);
	ck_assert_int_eq(f.svc.rx_bad, 0);
	ck_assert_uint_eq(f.svc.rx_got, n);
	ck_assert_uint_le(f.max_held, 2 * wm);
	relay_counters(f.r, &ab1, NULL);
	ck_assert_uint_eq(ab1, n);
	fix_free(&f);
	free(up);
}
END_TEST

static void enable_read_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bufferevent_enable(arg, EV_READ);
}

static int pred_svc_closed(struct fix *f) { return f->svc.bev == NULL; }

START_TEST(test_eof_flushes)
{
	struct fix f;
	size_t n = 2 * MIB;
	uint8_t *down = rand_bytes(n, 4);
	struct timeval ms100 = { 0, 100000 };

	/* No backpressure and a user that does not read yet: when the
	 * service's EOF arrives most of its bytes still sit in ra's output,
	 * and done_cb (which closes ra) must wait for them. */
	fix_init_sockets(&f, 16 * MIB);
	f.order = FREE_BEVS_FIRST;
	peer_init(&f, &f.user, f.user.bev, NULL, 0, down, n);
	peer_init(&f, &f.svc, f.svc.bev, down, n, NULL, 0);
	bufferevent_disable(f.user.bev, EV_READ);
	f.svc.close_after_tx = 1; /* service writes everything, then hangs up */
	fix_start(&f);
	run_until(&f, pred_svc_closed);
	event_base_once(f.base, -1, EV_TIMEOUT, enable_read_cb, f.user.bev,
			&ms100);
	run_until(&f, pred_done_and_user_eof);
	run_idle(&f);
	ck_assert_int_eq(f.done_calls, 1);
	ck_assert_int_eq(f.done_err, 0);
	ck_assert_uint_eq(f.ra_out_at_done, 0); /* flushed before done */
	ck_assert_int_eq(f.user.rx_bad, 0);
	ck_assert_uint_eq(f.user.rx_got, n);
	ck_assert_int_eq(f.user.eof, 1);
	fix_free(&f);
	free(down);
}
END_TEST

static int pred_down_moved(struct fix *f)
{
	uint64_t ba = 0;

	relay_counters(f->r, NULL, &ba);
	return ba >= f->svc.tx_len &&
	       evbuffer_get_length(bufferevent_get_output(f->ra)) == 0;
}

START_TEST(test_error_reported)
{
	struct fix f;
	size_t n = 32 * 1024;
	uint8_t *down = rand_bytes(n, 5);
	int user_fd;

	fix_init_sockets(&f, 0);
	f.order = FREE_RELAY_FIRST;
	/* The user end never reads; closing it with unread data makes the
	 * relay's socket fail (ECONNRESET) instead of seeing EOF. */
	user_fd = bufferevent_getfd(f.user.bev);
	bufferevent_setfd(f.user.bev, -1);
	bufferevent_free(f.user.bev);
	f.user.bev = NULL;
	peer_init(&f, &f.svc, f.svc.bev, down, n, NULL, 0);
	fix_start(&f);
	run_until(&f, pred_down_moved);
	ck_assert_int_eq(close(user_fd), 0);
	run_until(&f, pred_done);
	run_idle(&f);
	ck_assert_int_eq(f.done_calls, 1);
	ck_assert_int_lt(f.done_err, 0);
	fix_free(&f);
	free(down);
}
END_TEST

static void flush_finished_cb(struct bufferevent *bev, void *arg)
{
	struct peer *p = arg;

	peer_read_cb(bev, arg);
	if (p->rx_got >= p->rx_len && p->tx_off == p->tx_len &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_flush(bev, EV_WRITE, BEV_FINISHED);
}

static int pred_svc_got_pre(struct fix *f) { return f->svc.rx_got >= 1000; }

/* Over bufferevent pairs (what kcp.so hands out), with bytes already
 * waiting in ra's input when the relay starts. */
START_TEST(test_pairs_and_preread)
{
	struct fix f;
	struct bufferevent *pu[2], *ps[2];
	size_t pre = 1000, n = 2 * MIB;
	uint8_t *up = rand_bytes(pre + n, 6), *down = rand_bytes(n, 7);
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	uint64_t ab, ba;
	struct timeval tv = { 20, 0 };

	memset(&f, 0, sizeof(f));
	f.base = event_base_new();
	f.order = FREE_BEVS_FIRST;
	f.deadline = evtimer_new(f.base, deadline_cb, &f);
	evtimer_add(f.deadline, &tv);
	ck_assert_int_eq(bufferevent_pair_new(f.base, opts, pu), 0);
	ck_assert_int_eq(bufferevent_pair_new(f.base, opts, ps), 0);
	f.user.bev = pu[0];
	f.ra = pu[1];
	f.rb = ps[0];
	f.svc.bev = ps[1];

	bufferevent_enable(f.ra, EV_READ);
	bufferevent_write(f.user.bev, up, pre);
	run_idle(&f);
	bufferevent_disable(f.ra, EV_READ);
	ck_assert_uint_eq(evbuffer_get_length(bufferevent_get_input(f.ra)), pre);

	/* Only the pre-read bytes at first: nothing else would wake the
	 * relay up to forward them. */
	f.user.tx_off = pre;
	peer_init(&f, &f.user, f.user.bev, up, pre, down, n);
	peer_init(&f, &f.svc, f.svc.bev, down, n, up, pre + n);
	bufferevent_disable(f.svc.bev, EV_WRITE);
	fix_start(&f);
	run_until(&f, pred_svc_got_pre);
	ck_assert_uint_eq(f.svc.rx_got, pre);
	f.user.tx_len = pre + n;
	peer_feed(&f.user);
	bufferevent_enable(f.svc.bev, EV_WRITE);
	run_until(&f, pred_both_received);
	ck_assert_int_eq(f.user.rx_bad, 0);
	ck_assert_int_eq(f.svc.rx_bad, 0);
	relay_counters(f.r, &ab, &ba);
	ck_assert_uint_eq(ab, pre + n);
	ck_assert_uint_eq(ba, n);

	/* Orderly end of a pair: BEV_FINISHED reads as EOF on the partner. */
	bufferevent_setcb(f.user.bev, flush_finished_cb, peer_write_cb,
			  peer_event_cb, &f.user);
	flush_finished_cb(f.user.bev, &f.user);
	run_until(&f, pred_done);
	run_idle(&f);
	ck_assert_int_eq(f.done_calls, 1);
	ck_assert_int_eq(f.done_err, 0);
	fix_free(&f);
	free(up);
	free(down);
}
END_TEST

static int pred_some_moved(struct fix *f)
{
	uint64_t ab = 0, ba = 0;

	relay_counters(f->r, &ab, &ba);
	return ab > MIB && ba > MIB;
}

START_TEST(test_free_while_active)
{
	struct fix f;
	size_t n = 8 * MIB;
	uint8_t *up = rand_bytes(n, 8), *down = rand_bytes(n, 9);

	fix_init_sockets(&f, 0);
	peer_init(&f, &f.user, f.user.bev, up, n, down, n);
	peer_init(&f, &f.svc, f.svc.bev, down, n, up, n);
	fix_start(&f);
	run_until(&f, pred_some_moved);
	relay_free(f.r);
	f.r = NULL;
	/* Detached: traffic and hang-ups no longer reach the relay. */
	bufferevent_free(f.user.bev);
	f.user.bev = NULL;
	run_idle(&f);
	ck_assert_int_eq(f.done_calls, 0);
	fix_free(&f);
	free(up);
	free(down);
}
END_TEST

START_TEST(test_bad_args)
{
	struct event_base *base = event_base_new();
	struct bufferevent *p[2];
	uint64_t ab = 1, ba = 1;

	ck_assert_int_eq(bufferevent_pair_new(base, 0, p), 0);
	ck_assert_ptr_null(relay_new(p[0], p[0], 0, NULL, NULL));
	ck_assert_ptr_null(relay_new(NULL, p[1], 0, NULL, NULL));
	relay_free(NULL);
	relay_counters(NULL, &ab, &ba);
	ck_assert_uint_eq(ab, 0);
	ck_assert_uint_eq(ba, 0);
	bufferevent_free(p[0]);
	bufferevent_free(p[1]);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("relay");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_both_ways);
	tcase_add_test(tc, test_slow_reader_bounded);
	tcase_add_test(tc, test_eof_flushes);
	tcase_add_test(tc, test_error_reported);
	tcase_add_test(tc, test_pairs_and_preread);
	tcase_add_test(tc, test_free_while_active);
	tcase_add_test(tc, test_bad_args);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
