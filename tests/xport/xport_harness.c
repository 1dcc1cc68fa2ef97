/*
 * xport_harness.c - fixture, host-side stream ends, pattern streams and a
 * bounded loop runner for the conformance cases.
 */
#include "xport_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "xport_loader.h"

#define FX_MAX_OPTS 32

/* ---- pattern ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	uint64_t key = mix64(seed);
	size_t i = 0;
	while (i < n) {
		uint64_t pos = off + i;
		uint64_t w = mix64(key ^ (pos >> 3));
		unsigned b = (unsigned)(pos & 7);
		size_t take = 8 - b;
		if (take > n - i)
			take = n - i;
		for (size_t k = 0; k < take; k++)
			buf[i + k] = (uint8_t)(w >> (8 * (b + k)));
		i += take;
	}
}

/* ---- host-side stream ends ---------------------------------------------- */

void side_consume(struct side *d)
{
	struct evbuffer *in = bufferevent_get_input(d->bev);
	size_t len = evbuffer_get_length(in);
	if (len == 0)
		return;
	if (d->echo) {
		d->rx += len;
		evbuffer_add_buffer(bufferevent_get_output(d->bev), in);
		return;
	}
	uint8_t got[16384], want[16384];
	int n;
	while ((n = evbuffer_remove(in, got, sizeof(got))) > 0) {
		if (d->verify) {
			pattern_fill(d->rx_seed, d->rx, want, (size_t)n);
			if (memcmp(got, want, (size_t)n) != 0)
				d->bad = 1;
		}
		if (d->sink) {
			if (d->rx + (size_t)n > d->sink_cap)
				d->bad = 1;
			else
				memcpy(d->sink + d->rx, got, (size_t)n);
		}
		d->rx += (uint64_t)n;
	}
}

void side_pump(struct side *d)
{
	if (d->closed)
		return;
	struct evbuffer *out = bufferevent_get_output(d->bev);
	/* A pair-based transport may call back from inside the commit below
	 * (and the callback may close d): re-check closed every round. */
	while (!d->closed && d->tx_off < d->tx_total &&
	       evbuffer_get_length(out) < d->tx_hwm) {
		uint64_t left = d->tx_total - d->tx_off;
		size_t n = left < FX_CHUNK ? (size_t)left : FX_CHUNK;
		struct evbuffer_iovec v;
		/* One vector: n contiguous bytes we fill in place. */
		if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) != 1)
			break;
		pattern_fill(d->tx_seed, d->tx_off, v.iov_base, n);
		v.iov_len = n;
		if (evbuffer_commit_space(out, &v, 1) != 0)
			break;
		d->tx_off += n;
	}
	if (d->closed)
		return;
	size_t ol = evbuffer_get_length(out);
	if (ol > d->max_out)
		d->max_out = ol;
	if (d->tx_total && d->tx_off == d->tx_total && d->close_when_sent)
		side_close(d, XPORT_CLOSE_FLUSH);
}

void side_send(struct side *d, uint64_t seed, uint64_t total, size_t hwm)
{
	d->tx_seed = seed;
	d->tx_total = total;
	d->tx_hwm = hwm;
	/* Write callback whenever the output falls to half the mark. */
	bufferevent_setwatermark(d->bev, EV_WRITE, hwm / 2, 0);
	side_pump(d);
}

void side_event_default(struct side *d, short what)
{
	side_consume(d);
	if (!d->eof && !d->error)
		d->rx_at_event = d->rx;
	if (what & BEV_EVENT_EOF)
		d->eof = 1;
	if (what & BEV_EVENT_ERROR)
		d->error = 1;
}

static void cb_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct side *d = arg;
	if (d->closed) {
		d->after_close++;
		return;
	}
	d->reads++;
	if (d->on_read)
		d->on_read(d);
	else
		side_consume(d);
}

static void cb_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct side *d = arg;
	if (d->closed) {
		d->after_close++;
		return;
	}
	d->in_write_cb++;
	if (d->on_write)
		d->on_write(d);
	else
		side_pump(d);
	d->in_write_cb--; /* d outlives its stream: freed by fx_free */
}

static void cb_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct side *d = arg;
	if (d->closed) {
		d->after_close++;
		return;
	}
	if (d->on_event)
		d->on_event(d, what);
	else
		side_event_default(d, what);
}

struct side *side_new(struct fx *f, struct xport_stream *s)
{
	ck_assert_msg(f->nsides < FX_MAX_SIDES, "too many streams in a case");
	struct side *d = calloc(1, sizeof(*d));
	ck_assert_ptr_nonnull(d);
	d->f = f;
	d->s = s;
	d->bev = f->ops->stream_bev(s);
	ck_assert_msg(d->bev != NULL, "stream_bev returned NULL");
	bufferevent_setcb(d->bev, cb_read, cb_write, cb_event, d);
	bufferevent_enable(d->bev, EV_READ | EV_WRITE);
	f->sides[f->nsides++] = d;
	return d;
}

void side_close(struct side *d, int how)
{
	ck_assert_msg(!d->closed, "side closed twice");
	d->closed = 1;
	d->closed_in_write_cb = d->in_write_cb > 0;
	d->f->ops->stream_close(d->s, how);
	d->s = NULL;
	d->bev = NULL;
}

/* ---- fixture ------------------------------------------------------------ */

static void on_accept(struct xport_stream *s, void *arg)
{
	struct fx *f = arg;
	struct side *d = side_new(f, s);
	d->echo = f->accept_echo;
	f->accepts++;
	f->last_accepted = d;
}

static void on_dial(struct xport_stream *s, int err, void *arg)
{
	struct fx *f = arg;
	if (f->in_dial)
		f->dial_sync++;
	f->dial_cbs++;
	f->dial_err = err;
	f->dial_pending = 0;
	f->dh = NULL;
	if ((err == 0) != (s != NULL)) {
		f->dial_bad++;
		if (s)
			f->ops->stream_close(s, XPORT_CLOSE_ABORT);
		return;
	}
	if (s)
		f->dialed = side_new(f, s);
}

/* "k=v,k=v" from $XPORT_OPTS into opts, pointing into buf. */
static size_t parse_opts(char *buf, struct xport_option *opts, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq = '\0';
		opts[n].key = tok;
		opts[n].value = eq ? eq + 1 : "";
		n++;
	}
	return n;
}

struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	ck_assert_ptr_nonnull(f);
	f->base = event_base_new();
	ck_assert_ptr_nonnull(f->base);
	f->ops = xport_at(0);
	ck_assert_ptr_nonnull(f->ops);
	char buf[1024] = "";
	const char *env = getenv("XPORT_OPTS");
	if (env)
		snprintf(buf, sizeof(buf), "%s", env);
	struct xport_option opts[FX_MAX_OPTS];
	size_t n = parse_opts(buf, opts, FX_MAX_OPTS);
	char err[256] = "";
	int rc = f->ops->init(f->base, opts, n, &f->ctx, err, sizeof(err));
	ck_assert_msg(rc == 0 && f->ctx, "init failed: %d %s", rc, err);
	return f;
}

void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->nsides; i++)
		if (!f->sides[i]->closed)
			side_close(f->sides[i], XPORT_CLOSE_ABORT);
	if (f->dial_pending && f->dh)
		f->ops->dial_cancel(f->dh);
	if (f->l)
		f->ops->listener_free(f->l);
	/* Let deferred frees run through the loop as they would in a
	 * process, then make sure no closed stream called the host back. */
	fx_run(f, 50, NULL, NULL);
	for (size_t i = 0; i < f->nsides; i++)
		ck_assert_msg(f->sides[i]->after_close == 0,
			      "host callback after stream_close (side %zu)", i);
	if (f->ctx)
		f->ops->fini(f->ctx);
	event_base_free(f->base);
	if (f->relay_pid > 0) {
		kill(f->relay_pid, SIGTERM);
		waitpid(f->relay_pid, NULL, 0);
	}
	for (size_t i = 0; i < f->nsides; i++)
		free(f->sides[i]);
	free(f);
}

/* Put $XPORT_RELAY (a UDP relay taking --listen/--to/--port-file, like
 * tests/tools/udp_impair) in front of port; returns the relay's port. The
 * relay dies with this process (PR_SET_PDEATHSIG) and by its own timeout. */
static uint16_t start_relay(struct fx *f, const char *relay, uint16_t port)
{
	char pf[] = "/tmp/xport_relay.XXXXXX";
	int fd = mkstemp(pf);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "exec %s --listen 127.0.0.1:0 --to 127.0.0.1:%u --port-file %s "
		 "--timeout 300",
		 relay, port, pf);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	f->relay_pid = pid;
	uint16_t rport = 0;
	for (int i = 0; i < 500 && !rport; i++) {
		FILE *pfh = fopen(pf, "r");
		unsigned v = 0;
		if (pfh && fscanf(pfh, "%u", &v) == 1)
			rport = (uint16_t)v;
		if (pfh)
			fclose(pfh);
		if (!rport)
			usleep(10000);
	}
	unlink(pf);
	ck_assert_msg(rport != 0, "relay did not start: %s", cmd);
	return rport;
}

void fx_listen(struct fx *f)
{
	char err[256] = "";
	int rc = f->ops->listen(f->ctx, "127.0.0.1", 0, on_accept, f, &f->l,
				err, sizeof(err));
	ck_assert_msg(rc == 0 && f->l, "listen failed: %d %s", rc, err);
	f->port = f->ops->listener_port(f->l);
	ck_assert_msg(f->port != 0, "listener_port is 0 after port 0");
	const char *relay = getenv("XPORT_RELAY");
	if (relay && *relay && (f->ops->caps & XPORT_CAP_DATAGRAM_BASED))
		f->port = start_relay(f, relay, f->port);
}

int fx_dial(struct fx *f, uint16_t port, int timeout_ms)
{
	char err[256] = "";
	f->dial_cbs = 0;
	f->dial_err = 0;
	f->dialed = NULL;
	f->dh = NULL;
	f->in_dial = 1;
	int rc = f->ops->dial(f->ctx, "127.0.0.1", port, timeout_ms, on_dial,
			      f, &f->dh, err, sizeof(err));
	f->in_dial = 0;
	if (rc == 0)
		f->dial_pending = f->dial_cbs == 0;
	return rc;
}

/* Keeps EVLOOP_ONCE from blocking longer than a tick when nothing else
 * is scheduled, so deadlines and predicates are re-checked. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

int fx_run(struct fx *f, int ms, int (*pred)(void *), void *arg)
{
	uint64_t end = util_now_ms() + (uint64_t)ms;
	struct event *tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
	ck_assert_ptr_nonnull(tick);
	event_add(tick, &tv);
	while (!(pred && pred(arg)) && util_now_ms() < end)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(tick);
	return pred ? pred(arg) : 1;
}

struct wait_rx {
	struct side *d;
	uint64_t n;
};

static int rx_reached(void *arg)
{
	struct wait_rx *w = arg;
	return w->d->rx >= w->n;
}

int fx_wait_rx(struct fx *f, struct side *d, uint64_t n, int ms)
{
	struct wait_rx w = {d, n};
	return fx_run(f, ms, rx_reached, &w);
}

static int saw_event(void *arg)
{
	struct side *d = arg;
	return d->eof || d->error;
}

int fx_wait_event(struct fx *f, struct side *d, int ms)
{
	return fx_run(f, ms, saw_event, d);
}

int fx_dead_port(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int paired(void *arg)
{
	struct fx *f = arg;
	return f->dial_cbs > 0 && f->last_accepted &&
	       f->last_accepted->rx >= 1;
}

static int dialed_done(void *arg)
{
	struct fx *f = arg;
	return f->dial_cbs > 0;
}

/* A datagram transport may learn of a new stream only from its first
 * bytes, so the client speaks first: one byte the server then forgets. */
void fx_pair(struct fx *f, struct side **cli, struct side **srv)
{
	if (!f->l)
		fx_listen(f);
	f->last_accepted = NULL;
	ck_assert_int_eq(fx_dial(f, f->port, 5000), 0);
	ck_assert_msg(fx_run(f, 10000, dialed_done, f), "dial never called back");
	ck_assert_msg(f->dial_err == 0 && f->dialed, "dial failed: %d",
		      f->dial_err);
	bufferevent_write(f->dialed->bev, "H", 1);
	ck_assert_msg(fx_run(f, 10000, paired, f), "no stream accepted");
	ck_assert_int_eq(f->last_accepted->rx, 1);
	f->last_accepted->rx = 0;
	f->last_accepted->reads = 0;
	*cli = f->dialed;
	*srv = f->last_accepted;
}
