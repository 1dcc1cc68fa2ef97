/*
 * test_tls.c - the TLS layer over a socketpair and over a KCP session pair
 * (kcp.so's code on loopback): 1 MiB both ways, EOF, abort, backpressure,
 * frp's custom first byte; first-byte sniffing for every case.
 *
 * Each side is: test end (struct side) <-> tls_stream <-> underlying bev.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "conf.h"
#include "tls.h"
#include "xport.h"
#include "xport_host.h"

#define MIB (1024u * 1024u)

static uint8_t pattern(size_t i, unsigned seed)
{
	return (uint8_t)((i * 131u + seed * 7u + (i >> 13)) & 0xff);
}

struct side {
	struct tls_stream *t;
	struct bufferevent *bev; /* plaintext end */
	unsigned seed_rx;        /* pattern the peer sends */
	size_t got, want;
	int bad, eof, err;
	int released, release_how;
	struct bufferevent *under;
	const struct xport_ops *ops; /* KCP runs: the stream to close */
	struct xport_stream *xs;
};

static void side_read(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[16384];
	int n;
	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		for (int i = 0; i < n; i++)
			if (buf[i] != pattern(s->got + (size_t)i, s->seed_rx))
				s->bad++;
		s->got += (size_t)n;
	}
}

static void side_event(struct bufferevent *bev, short what, void *arg)
{
	struct side *s = arg;
	if (what & BEV_EVENT_EOF) {
		side_read(bev, arg);
		s->eof = 1;
	}
	if (what & BEV_EVENT_ERROR)
		s->err = 1;
}

static void free_when_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	bufferevent_free(bev);
}

static void release(void *arg, int how)
{
	struct side *s = arg;
	s->released++;
	s->release_how = how;
	if (s->xs) {
		s->ops->stream_close(s->xs, how);
	} else if (how == XPORT_CLOSE_FLUSH &&
		   evbuffer_get_length(bufferevent_get_output(s->under))) {
		/* what a transport's FLUSH close does: write, then close */
		bufferevent_setcb(s->under, NULL, free_when_written, NULL, NULL);
		bufferevent_setwatermark(s->under, EV_WRITE, 0, 0);
		bufferevent_enable(s->under, EV_WRITE);
	} else {
		bufferevent_free(s->under);
	}
	s->under = NULL;
	s->xs = NULL;
}

static void send_pattern(struct side *s, size_t n, unsigned seed)
{
	uint8_t buf[16384];
	for (size_t off = 0; off < n;) {
		size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(off + i, seed);
		ck_assert_int_eq(bufferevent_write(s->bev, buf, k), 0);
		off += k;
	}
}

static void run_until(struct event_base *b, int (*done)(void *), void *arg,
		      int max_ms)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (done(arg))
			return;
		event_base_loop(b, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			  (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms > max_ms)
			return;
		usleep(200);
	}
}

/* ---- environment: two underlying bevs joined somehow ------------------ */

struct env {
	struct event_base *base;
	struct tls_config *scfg, *ccfg;
	struct side c, s;
	/* KCP */
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct xport_listener *lst;
	struct xport_stream *acc, *dialed;
	int dial_done;
};

static void on_accept(struct xport_stream *x, void *arg)
{
	struct env *e = arg;
	if (e->acc)
		e->ops->stream_close(x, XPORT_CLOSE_ABORT);
	else
		e->acc = x;
}

static void on_dial(struct xport_stream *x, int err, void *arg)
{
	struct env *e = arg;
	ck_assert_int_eq(err, 0);
	e->dialed = x;
	e->dial_done = 1;
}

static int kcp_ready(void *arg)
{
	struct env *e = arg;
	return e->dial_done && e->acc;
}

static void configs(struct env *e)
{
	char err[256];
	struct tls_config_opts so = {.server = true};
	struct tls_config_opts co = {.server = false, .server_name = "127.0.0.1"};
	ck_assert_msg(tls_config_new(&so, &e->scfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert(tls_config_self_signed(e->scfg));
	ck_assert(!tls_config_verifies(e->scfg));
	ck_assert_msg(tls_config_new(&co, &e->ccfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!tls_config_verifies(e->ccfg));
}

/* Underlying bevs: a socketpair (kcp = 0) or a KCP session on loopback. */
static void env_up(struct env *e, int kcp)
{
	memset(e, 0, sizeof(*e));
	e->base = event_base_new();
	ck_assert_ptr_nonnull(e->base);
	configs(e);
	if (!kcp) {
		int fds[2];
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
		evutil_make_socket_nonblocking(fds[0]);
		evutil_make_socket_nonblocking(fds[1]);
		e->c.under = bufferevent_socket_new(e->base, fds[0], BEV_OPT_CLOSE_ON_FREE);
		e->s.under = bufferevent_socket_new(e->base, fds[1], BEV_OPT_CLOSE_ON_FREE);
		return;
	}
	char err[256];
	e->ops = kcp_xport_ops(&uh_host);
	ck_assert_ptr_nonnull(e->ops);
	/* windows as frp's defaults, so "in flight" has a known bound */
	static const struct xport_option wnd[] = {{"sndWnd", "512"}, {"rcvWnd", "512"}};
	ck_assert_int_eq(e->ops->init(e->base, wnd, 2, &e->ctx, err, sizeof(err)), 0);
	ck_assert_int_eq(e->ops->listen(e->ctx, "127.0.0.1", 0, on_accept, e, &e->lst,
					err, sizeof(err)), 0);
	struct xport_dial *d;
	ck_assert_int_eq(e->ops->dial(e->ctx, "127.0.0.1", e->ops->listener_port(e->lst),
				      5000, on_dial, e, &d, err, sizeof(err)), 0);
	/* KCP accepts a session on its first data: the ClientHello. So start
	 * the client side now and the server once the session shows up. */
	run_until(e->base, kcp_ready, e, 1);
	while (!e->dial_done)
		event_base_loop(e->base, EVLOOP_ONCE);
	e->c.ops = e->s.ops = e->ops;
	e->c.xs = e->dialed;
	e->c.under = e->ops->stream_bev(e->dialed);
}

static void start_side(struct env *e, struct side *sd, int server, int custom,
		       unsigned seed_rx)
{
	sd->seed_rx = seed_rx;
	sd->t = tls_stream_new(e->base, server ? e->scfg : e->ccfg, sd->under, custom,
			       server ? "server" : "client", release, sd);
	ck_assert_ptr_nonnull(sd->t);
	sd->bev = tls_stream_bev(sd->t);
	bufferevent_setcb(sd->bev, side_read, NULL, side_event, sd);
	bufferevent_enable(sd->bev, EV_READ | EV_WRITE);
}

static void start_both(struct env *e, int custom)
{
	start_side(e, &e->c, 0, custom, 2);
	if (e->ops) {
		run_until(e->base, kcp_ready, e, 5000);
		ck_assert_ptr_nonnull(e->acc);
		e->s.xs = e->acc;
		e->s.under = e->ops->stream_bev(e->acc);
	}
	if (custom) {
		/* what a server does before TLS: take frp's byte off */
		uint8_t b = 0;
		struct evbuffer *in = bufferevent_get_input(e->s.under);
		bufferevent_enable(e->s.under, EV_READ);
		for (int i = 0; i < 2000 && evbuffer_get_length(in) == 0; i++)
			event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK),
				usleep(500);
		ck_assert_int_eq(evbuffer_remove(in, &b, 1), 1);
		ck_assert_int_eq(b, TLS_FRP_FIRST_BYTE);
	}
	start_side(e, &e->s, 1, 0, 1);
}

static void env_down(struct env *e)
{
	tls_stream_close(e->c.t, XPORT_CLOSE_ABORT);
	tls_stream_close(e->s.t, XPORT_CLOSE_ABORT);
	if (e->ops) {
		if (e->acc && e->s.released == 0 && !e->s.t)
			e->ops->stream_close(e->acc, XPORT_CLOSE_ABORT);
		e->ops->listener_free(e->lst);
		for (int i = 0; i < 5; i++)
			event_base_loop(e->base, EVLOOP_NONBLOCK);
		e->ops->fini(e->ctx);
	}
	for (int i = 0; i < 5; i++)
		event_base_loop(e->base, EVLOOP_NONBLOCK);
	tls_config_free(e->scfg);
	tls_config_free(e->ccfg);
	event_base_free(e->base);
}

static int both_got(void *arg)
{
	struct env *e = arg;
	return (e->c.got >= e->c.want && e->s.got >= e->s.want) || e->c.err ||
	       e->s.err;
}

static int server_eof(void *arg)
{
	struct env *e = arg;
	return e->s.eof || e->s.err;
}

/* 1 MiB each way at once, then the client closes with FLUSH: the server
 * sees exactly the bytes, then EOF (close_notify); then it closes too. */
static void transfer_both_ways(int kcp, int custom)
{
	struct env e;
	env_up(&e, kcp);
	start_both(&e, custom);
	e.c.want = e.s.want = MIB;
	send_pattern(&e.c, MIB, 1);
	send_pattern(&e.s, MIB, 2);
	run_until(e.base, both_got, &e, 30000);
	ck_assert_int_eq(e.c.err, 0);
	ck_assert_int_eq(e.s.err, 0);
	ck_assert_uint_eq(e.c.got, MIB);
	ck_assert_uint_eq(e.s.got, MIB);
	ck_assert_int_eq(e.c.bad + e.s.bad, 0);
	ck_assert(tls_stream_established(e.c.t));
	ck_assert(tls_stream_established(e.s.t));
	/* a last write then close: it must arrive before EOF */
	send_pattern(&e.c, 0, 1);
	uint8_t tail[1000];
	for (size_t i = 0; i < sizeof(tail); i++)
		tail[i] = pattern(MIB + i, 1);
	bufferevent_write(e.c.bev, tail, sizeof(tail));
	tls_stream_close(e.c.t, XPORT_CLOSE_FLUSH);
	e.c.t = NULL;
	ck_assert_int_eq(e.c.released, 1);
	ck_assert_int_eq(e.c.release_how, XPORT_CLOSE_FLUSH);
	run_until(e.base, server_eof, &e, 10000);
	ck_assert_int_eq(e.s.eof, 1);
	ck_assert_int_eq(e.s.err, 0);
	ck_assert_uint_eq(e.s.got, MIB + sizeof(tail));
	ck_assert_int_eq(e.s.bad, 0);
	env_down(&e);
}

START_TEST(socketpair_both_ways) { transfer_both_ways(0, 0); }
END_TEST

START_TEST(socketpair_custom_first_byte) { transfer_both_ways(0, 1); }
END_TEST

START_TEST(kcp_both_ways) { transfer_both_ways(1, 0); }
END_TEST

START_TEST(kcp_custom_first_byte) { transfer_both_ways(1, 1); }
END_TEST

static int server_ended(void *arg)
{
	struct env *e = arg;
	return e->s.eof || e->s.err;
}

/* ABORT drops what is queued and closes the underlying stream at once;
 * the peer sees the end (EOF or error), nothing hangs or leaks. */
static void abort_case(int kcp)
{
	struct env e;
	env_up(&e, kcp);
	start_both(&e, 0);
	e.c.want = 0;
	e.s.want = 64 * 1024;
	send_pattern(&e.c, 64 * 1024, 1);
	run_until(e.base, both_got, &e, 10000);
	ck_assert_uint_eq(e.s.got, 64 * 1024);
	send_pattern(&e.c, 4 * MIB, 1);
	tls_stream_close(e.c.t, XPORT_CLOSE_ABORT);
	e.c.t = NULL;
	ck_assert_int_eq(e.c.release_how, XPORT_CLOSE_ABORT);
	if (!kcp) { /* KCP has no FIN: the mux keepalive above notices */
		run_until(e.base, server_ended, &e, 10000);
		ck_assert(e.s.eof || e.s.err);
		ck_assert_uint_lt(e.s.got, 64 * 1024 + 4 * MIB);
	}
	env_down(&e);
}

START_TEST(socketpair_abort) { abort_case(0); }
END_TEST

START_TEST(kcp_abort) { abort_case(1); }
END_TEST

static size_t goal_of(void *arg) { return *(size_t *)arg; }

/* A reader that stops reading: the writer's bytes stay in the writer's own
 * output (where its watermarks see them) instead of piling up below: at
 * most two records of ciphertext, or with a transport's goal (less than
 * that) the goal and one record cut to the goal's size. */
static void backpressure_case(int kcp, size_t goal)
{
	struct env e;
	env_up(&e, kcp);
	start_both(&e, 0);
	if (goal)
		tls_stream_set_goal(e.c.t, goal_of, &goal);
	e.s.want = 16;
	send_pattern(&e.c, 16, 1);
	run_until(e.base, both_got, &e, 10000);
	ck_assert_uint_eq(e.s.got, 16);
	bufferevent_disable(e.s.bev, EV_READ);
	const size_t total = 16 + 256 * 65536;
	for (size_t off = 16; off < total;) {
		uint8_t buf[65536];
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(off + i, 1);
		bufferevent_write(e.c.bev, buf, sizeof(buf));
		off += sizeof(buf);
		event_base_loop(e.base, EVLOOP_NONBLOCK);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		event_base_loop(e.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(500);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 2);
	size_t parked = evbuffer_get_length(bufferevent_get_output(e.c.bev));
	size_t below = evbuffer_get_length(bufferevent_get_output(e.c.under));
	if (!kcp) { /* the socket is full: TLS's own bound shows */
		size_t bound = goal ? goal : 2 * 16384;
		ck_assert_uint_ge(below, bound);
		ck_assert_uint_le(below, bound + (goal ? goal : 16384) + 64);
	}
	/* In flight at most: our stage + ciphertext queue + socket buffers or
	 * KCP windows (512 segments each way) + the reader's plaintext queue
	 * and input: well under 6 MiB. */
	ck_assert_msg(parked > total - 6 * MIB, "only %zu bytes held back", parked);
	ck_assert_int_eq(e.c.err + e.s.err, 0);
	e.s.want = total;
	bufferevent_enable(e.s.bev, EV_READ);
	run_until(e.base, both_got, &e, 60000);
	ck_assert_uint_eq(e.s.got, total);
	ck_assert_int_eq(e.s.bad, 0);
	env_down(&e);
}

START_TEST(socketpair_backpressure) { backpressure_case(0, 0); }
END_TEST

START_TEST(socketpair_backpressure_goal) { backpressure_case(0, 4096); }
END_TEST

START_TEST(kcp_backpressure) { backpressure_case(1, 0); }
END_TEST

/* A plain peer talking to a TLS server: one error, nothing else. */
START_TEST(garbage_fails_handshake)
{
	struct env e;
	env_up(&e, 0);
	start_side(&e, &e.s, 1, 0, 1);
	const char junk[] = "\x16\x03\x01\x00\x05hello, this is not TLS at all";
	bufferevent_write(e.c.under, junk, sizeof(junk));
	run_until(e.base, server_ended, &e, 5000);
	ck_assert_int_eq(e.s.err, 1);
	ck_assert(!tls_stream_established(e.s.t));
	bufferevent_free(e.c.under);
	e.c.under = NULL;
	env_down(&e);
}
END_TEST

/* ---- sniffing ----------------------------------------------------------- */

struct sniffed {
	int called;
	enum tls_sniff_kind kind;
	int err;
	size_t left;
	struct chan *ch;
};

static void on_sniff(struct chan *ch, enum tls_sniff_kind kind, int err, void *arg)
{
	struct sniffed *r = arg;
	r->called++;
	r->kind = kind;
	r->err = err;
	r->ch = ch;
	if (ch)
		r->left = evbuffer_get_length(bufferevent_get_input(ch->bev));
}

static int sniff_called(void *arg) { return ((struct sniffed *)arg)->called; }

static void sniff_case(const uint8_t *bytes, size_t n, int close_writer,
		       struct sniffed *r)
{
	struct event_base *b = event_base_new();
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	evutil_make_socket_nonblocking(fds[1]);
	/* a chan with no carrier: chan_close frees only the struct, the bev
	 * stays ours to free */
	struct chan *ch = calloc(1, sizeof(*ch));
	struct bufferevent *bev = bufferevent_socket_new(b, fds[1], BEV_OPT_CLOSE_ON_FREE);
	ch->bev = bev;
	memset(r, 0, sizeof(*r));
	ck_assert_ptr_nonnull(tls_sniff(b, ch, close_writer == 2 ? 300 : 5000, on_sniff, r));
	ck_assert_int_eq(r->called, 0); /* never from inside tls_sniff */
	if (n)
		ck_assert_int_eq(write(fds[0], bytes, n), (ssize_t)n);
	if (close_writer == 1)
		close(fds[0]);
	run_until(b, sniff_called, r, 5000);
	ck_assert_int_eq(r->called, 1);
	if (r->ch)
		free(r->ch);
	bufferevent_free(bev);
	if (close_writer != 1)
		close(fds[0]);
	event_base_free(b);
}

START_TEST(sniff_every_case)
{
	struct sniffed r;
	const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00};
	sniff_case(hello, sizeof(hello), 0, &r);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(r.kind, TLS_SNIFF_TLS);
	ck_assert_uint_eq(r.left, sizeof(hello)); /* the record stays */

	const uint8_t custom[] = {0x17, 0x16, 0x03, 0x01};
	sniff_case(custom, sizeof(custom), 0, &r);
	ck_assert_int_eq(r.kind, TLS_SNIFF_TLS_CUSTOM);
	ck_assert_uint_eq(r.left, sizeof(custom) - 1); /* 0x17 consumed */

	/* frp v1 Login ('o') and a yamux header (version 0) are plain */
	const uint8_t login[] = {'o', 0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
	sniff_case(login, sizeof(login), 0, &r);
	ck_assert_int_eq(r.kind, TLS_SNIFF_PLAIN);
	ck_assert_uint_eq(r.left, sizeof(login));
	const uint8_t yamux[] = {0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
	sniff_case(yamux, sizeof(yamux), 0, &r);
	ck_assert_int_eq(r.kind, TLS_SNIFF_PLAIN);
	ck_assert_uint_eq(r.left, sizeof(yamux));

	/* EOF before any byte; silence until the deadline */
	sniff_case(NULL, 0, 1, &r);
	ck_assert_ptr_null(r.ch);
	ck_assert_int_eq(r.err, -ECONNRESET);
	sniff_case(NULL, 0, 2, &r);
	ck_assert_ptr_null(r.ch);
	ck_assert_int_eq(r.err, -ETIMEDOUT);

	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(tls_sniff_classify((uint8_t)i),
				 i == 0x16 ? TLS_SNIFF_TLS
				 : i == 0x17 ? TLS_SNIFF_TLS_CUSTOM
					     : TLS_SNIFF_PLAIN);
}
END_TEST

START_TEST(config_errors)
{
	char err[256];
	struct tls_config *c = NULL;
	struct tls_config_opts o = {.server = true, .cert_file = "/nonexistent.crt"};
	ck_assert_int_eq(tls_config_new(&o, &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "together"));
	o.key_file = "/nonexistent.key";
	ck_assert_int_eq(tls_config_new(&o, &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "certFile /nonexistent.crt"));
	struct tls_config_opts ca = {.server = false, .ca_file = "/nonexistent.pem"};
	ck_assert_int_eq(tls_config_new(&ca, &c, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "trustedCaFile /nonexistent.pem"));
	ck_assert_ptr_null(c);
}
END_TEST

static int sniff_cb_ran;
static void never(struct chan *ch, enum tls_sniff_kind kind, int err, void *arg)
{
	(void)ch;
	(void)kind;
	(void)err;
	(void)arg;
	sniff_cb_ran++;
}

/* A cancelled sniff closes its stream and never calls back. */
START_TEST(sniff_cancel)
{
	struct event_base *b = event_base_new();
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct chan *ch = calloc(1, sizeof(*ch));
	struct bufferevent *bev = bufferevent_socket_new(b, fds[1], BEV_OPT_CLOSE_ON_FREE);
	ch->bev = bev;
	struct tls_sniff *h = tls_sniff(b, ch, 5000, never, NULL);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(write(fds[0], "\x16", 1), 1);
	tls_sniff_cancel(h); /* frees ch (no carrier: the bev is ours) */
	bufferevent_free(bev);
	for (int i = 0; i < 5; i++)
		event_base_loop(b, EVLOOP_NONBLOCK);
	ck_assert_int_eq(sniff_cb_ran, 0);
	close(fds[0]);
	event_base_free(b);
}
END_TEST

static bool only_kcp(const char *name) { return strcmp(name, "kcp") == 0; }

/* transport.tls.* are settings (defaults as frp), any other transport map
 * must name a loaded plugin: reported at its key. */
START_TEST(conf_tls_keys)
{
	char path[] = "/tmp/test_tls_confXXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *y = "serverPort: 7000\n"
			"transport:\n"
			"  tls: {serverName: frps.test, disableCustomTLSFirstByte: false}\n"
			"  kcp: {mode: fast}\n"
			"  quic: {x: 1}\n";
	ck_assert_int_eq(write(fd, y, strlen(y)), (ssize_t)strlen(y));
	close(fd);
	char err[256];
	struct frpc_conf *c = NULL;
	ck_assert_msg(conf_frpc_load(path, &c, err, sizeof(err)) == 0, "%s", err);
	ck_assert(c->tls.enable);
	ck_assert(!c->tls.disable_custom_first_byte);
	ck_assert_str_eq(c->tls.server_name, "frps.test");
	ck_assert_str_eq(c->tls.trusted_ca_file, "");
	ck_assert_int_eq(conf_xport_check(c->xport, c->n_xport, only_kcp, err,
					  sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, ":5:3: transport.quic: ") != NULL, "%s", err);
	conf_frpc_free(c);
	struct frpc_conf *d = conf_frpc_defaults();
	ck_assert(d->tls.enable && d->tls.disable_custom_first_byte);
	conf_frpc_free(d);
	struct frps_conf *s = conf_frps_defaults();
	ck_assert(!s->tls.force);
	conf_frps_free(s);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, socketpair_both_ways);
	tcase_add_test(tc, socketpair_custom_first_byte);
	tcase_add_test(tc, kcp_both_ways);
	tcase_add_test(tc, kcp_custom_first_byte);
	tcase_add_test(tc, socketpair_abort);
	tcase_add_test(tc, kcp_abort);
	tcase_add_test(tc, socketpair_backpressure);
	tcase_add_test(tc, socketpair_backpressure_goal);
	tcase_add_test(tc, kcp_backpressure);
	tcase_add_test(tc, garbage_fails_handshake);
	tcase_add_test(tc, sniff_every_case);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, sniff_cancel);
	tcase_add_test(tc, conf_tls_keys);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
