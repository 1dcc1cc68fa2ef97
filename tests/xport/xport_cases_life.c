/*
 * xport_cases_life.c - conformance cases about the life of instances,
 * listeners, dials and streams: who calls back when, and closing from
 * inside callbacks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xport_harness.h"
#include "xport_loader.h"

#define KIB 1024u
#define MANY 32

static void assert_loopback_peer(struct fx *f, struct side *d, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	ck_assert_int_eq(f->ops->stream_peer(d->s, &ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	if (port)
		ck_assert_uint_eq(ntohs(sin->sin_port), port);
	else
		ck_assert_uint_ne(ntohs(sin->sin_port), 0);
}

static int dial_called(void *arg)
{
	return ((struct fx *)arg)->dial_cbs > 0;
}

static int accepted_rx4(void *arg)
{
	struct fx *f = arg;
	return f->last_accepted && f->last_accepted->rx >= 4;
}

START_TEST(t_dial_accept)
{
	struct fx *f = fx_new();
	fx_listen(f);
	ck_assert_int_eq(fx_dial(f, f->port, 5000), 0);
	ck_assert_msg(f->dial_sync == 0, "dial callback ran inside dial()");
	ck_assert_ptr_nonnull(f->dh);
	ck_assert(fx_run(f, 10000, dial_called, f));
	ck_assert_int_eq(f->dial_err, 0);
	ck_assert_ptr_nonnull(f->dialed);
	struct side *c = f->dialed;
	bufferevent_write(c->bev, "ping", 4);
	ck_assert_msg(fx_run(f, 10000, accepted_rx4, f), "nothing accepted");
	struct side *s = f->last_accepted;
	ck_assert_int_eq(s->rx, 4);
	bufferevent_write(s->bev, "pong", 4);
	ck_assert(fx_wait_rx(f, c, 4, 10000));
	assert_loopback_peer(f, c, f->port);
	assert_loopback_peer(f, s, 0);
	/* Exactly once, and nothing more turns up later. */
	fx_run(f, 100, NULL, NULL);
	ck_assert_int_eq(f->dial_cbs, 1);
	ck_assert_int_eq(f->dial_bad, 0);
	ck_assert_int_eq(f->accepts, 1);
	fx_free(f);
}
END_TEST

START_TEST(t_dial_dead_port)
{
	struct fx *f = fx_new();
	uint16_t port;
	int hold = fx_dead_port(&port);
	ck_assert_int_eq(fx_dial(f, port, 1500), 0);
	ck_assert_msg(f->dial_sync == 0, "dial callback ran inside dial()");
	ck_assert_msg(fx_run(f, 1500 + 3000, dial_called, f),
		      "no callback within the dial timeout");
	ck_assert_int_lt(f->dial_err, 0);
	ck_assert_ptr_null(f->dialed);
	fx_run(f, 200, NULL, NULL);
	ck_assert_int_eq(f->dial_cbs, 1);
	ck_assert_int_eq(f->dial_bad, 0);
	close(hold);
	fx_free(f);
}
END_TEST

START_TEST(t_dial_cancel)
{
	struct fx *f = fx_new();
	fx_listen(f);
	uint16_t dead;
	int hold = fx_dead_port(&dead);
	int cbs = 0;
	/* to a live listener, and to a dead port with a short timeout */
	ck_assert_int_eq(fx_dial(f, f->port, 5000), 0);
	ck_assert_ptr_nonnull(f->dh);
	f->ops->dial_cancel(f->dh);
	f->dh = NULL;
	f->dial_pending = 0;
	cbs += f->dial_cbs;
	ck_assert_int_eq(fx_dial(f, dead, 200), 0);
	ck_assert_ptr_nonnull(f->dh);
	f->ops->dial_cancel(f->dh);
	f->dh = NULL;
	f->dial_pending = 0;
	cbs += f->dial_cbs;
	fx_run(f, 700, NULL, NULL);
	cbs += f->dial_cbs;
	ck_assert_msg(cbs == 0, "callback of a cancelled dial ran");
	close(hold);
	fx_free(f);
}
END_TEST

START_TEST(t_listener_free_keeps_stream)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	uint16_t port = f->port;
	f->ops->listener_free(f->l);
	f->l = NULL;
	fx_run(f, 50, NULL, NULL);
	c->verify = 1;
	c->rx_seed = 2;
	s->verify = 1;
	s->rx_seed = 1;
	side_send(c, 1, 256 * KIB, 64 * KIB);
	side_send(s, 2, 256 * KIB, 64 * KIB);
	ck_assert(fx_wait_rx(f, s, 256 * KIB, 20000));
	ck_assert(fx_wait_rx(f, c, 256 * KIB, 20000));
	ck_assert(!c->bad && !s->bad);
	int accepts = f->accepts;
	/* Nobody listens there any more. */
	int rc = fx_dial(f, port, 1000);
	if (rc == 0) {
		ck_assert(fx_run(f, 1000 + 3000, dial_called, f));
		ck_assert_int_lt(f->dial_err, 0);
	} else {
		ck_assert_int_lt(rc, 0);
	}
	ck_assert_int_eq(f->accepts, accepts);
	fx_free(f);
}
END_TEST

START_TEST(t_init_unknown_option)
{
	struct event_base *base = event_base_new();
	const struct xport_ops *ops = xport_at(0);
	struct xport_option o = {"noSuchOptionConformance", "1"};
	struct xport_ctx *ctx = NULL;
	char err[256] = "";
	int rc = ops->init(base, &o, 1, &ctx, err, sizeof(err));
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(err, "noSuchOptionConformance") != NULL,
		      "error text does not name the key: \"%s\"", err);
	event_base_free(base);
}
END_TEST

START_TEST(t_fini_aborts_open_streams)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	side_send(c, 3, 1024 * KIB, 256 * KIB);
	side_send(s, 4, 1024 * KIB, 256 * KIB);
	fx_run(f, 20, NULL, NULL);
	f->ops->listener_free(f->l);
	f->l = NULL;
	/* Streams still open (and busy): fini must release them. */
	f->ops->fini(f->ctx);
	f->ctx = NULL;
	for (size_t i = 0; i < f->nsides; i++)
		f->sides[i]->closed = 1;
	fx_free(f);
}
END_TEST

/* ---- stream_close() from inside the stream's own callbacks ---- */

static void close_on_read(struct side *d)
{
	side_consume(d);
	side_close(d, (int)(intptr_t)d->user);
}

static void close_on_event(struct side *d, short what)
{
	side_event_default(d, what);
	side_close(d, (int)(intptr_t)d->user);
}

static int side_closed(void *arg)
{
	return ((struct side *)arg)->closed;
}

START_TEST(t_close_in_read_cb)
{
	int how = _i ? XPORT_CLOSE_ABORT : XPORT_CLOSE_FLUSH;
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	s->user = (void *)(intptr_t)how;
	s->on_read = close_on_read;
	side_send(c, 5, 256 * KIB, 64 * KIB);
	ck_assert_msg(fx_run(f, 10000, side_closed, s), "no read callback");
	/* The sender keeps going into a closed stream; nothing may reach
	 * the closed side's callbacks (checked by fx_free). */
	fx_run(f, 200, NULL, NULL);
	fx_free(f);
}
END_TEST

START_TEST(t_close_in_event_cb)
{
	int how = _i ? XPORT_CLOSE_ABORT : XPORT_CLOSE_FLUSH;
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	s->user = (void *)(intptr_t)how;
	s->on_event = close_on_event;
	s->verify = 1;
	s->rx_seed = 6;
	c->close_when_sent = 1;
	side_send(c, 6, 1 * KIB, 64 * KIB);
	ck_assert(c->closed);
	ck_assert_msg(fx_run(f, 15000, side_closed, s),
		      "no EOF/ERROR after the peer's close(FLUSH)");
	ck_assert(s->eof || s->error);
	ck_assert_int_eq(s->rx, 1 * KIB);
	ck_assert(!s->bad);
	fx_run(f, 200, NULL, NULL);
	fx_free(f);
}
END_TEST

/* First write callback: queue the rest and close, all inside it. */
static void finish_on_write(struct side *d)
{
	d->on_write = NULL;
	d->tx_total = 4 * FX_CHUNK;
	d->tx_hwm = 8 * FX_CHUNK;
	d->close_when_sent = 1;
	side_pump(d);
}

START_TEST(t_close_in_write_cb)
{
	struct fx *f = fx_new();
	struct side *c, *s;
	fx_pair(f, &c, &s);
	c->verify = 1;
	c->rx_seed = 7;
	s->on_write = finish_on_write;
	side_send(s, 7, FX_CHUNK, 1);
	ck_assert_msg(fx_wait_event(f, c, 15000), "no EOF after close(FLUSH)");
	ck_assert(s->closed);
	ck_assert_msg(s->closed_in_write_cb, "close did not run in write cb");
	ck_assert_int_eq(c->rx, 4 * FX_CHUNK);
	ck_assert_int_eq(c->rx_at_event, 4 * FX_CHUNK);
	ck_assert(!c->bad);
	fx_free(f);
}
END_TEST

/* ---- many concurrent streams on one listener ---- */

struct many {
	struct fx *f;
	struct side *cli[MANY];
	int cbs, failed;
};

struct many_slot {
	struct many *m;
	int i;
};

static void many_dialed(struct xport_stream *st, int err, void *arg)
{
	struct many_slot *slot = arg;
	struct many *m = slot->m;
	m->cbs++;
	if (err || !st) {
		m->failed++;
		return;
	}
	struct side *d = side_new(m->f, st);
	d->verify = 1;
	d->rx_seed = 100 + (uint64_t)slot->i;
	m->cli[slot->i] = d;
	side_send(d, d->rx_seed, 16 * KIB, 64 * KIB);
}

static int many_done(void *arg)
{
	struct many *m = arg;
	if (m->cbs < MANY)
		return 0;
	for (int i = 0; i < MANY; i++)
		if (!m->cli[i] || m->cli[i]->rx < 16 * KIB)
			return 0;
	return 1;
}

START_TEST(t_many_streams)
{
	struct fx *f = fx_new();
	f->accept_echo = 1;
	fx_listen(f);
	struct many m = {.f = f};
	struct many_slot slots[MANY];
	struct xport_dial *handles[MANY];
	for (int i = 0; i < MANY; i++) {
		char err[256] = "";
		slots[i] = (struct many_slot){&m, i};
		int rc = f->ops->dial(f->ctx, "127.0.0.1", f->port, 5000,
				      many_dialed, &slots[i], &handles[i], err,
				      sizeof(err));
		ck_assert_msg(rc == 0, "dial %d: %d %s", i, rc, err);
	}
	ck_assert_int_eq(m.cbs, 0);
	ck_assert_msg(fx_run(f, 20000, many_done, &m),
		      "echo on %d streams incomplete (dials %d, failed %d)",
		      MANY, m.cbs, m.failed);
	ck_assert_int_eq(m.failed, 0);
	ck_assert_int_eq(f->accepts, MANY);
	for (int i = 0; i < MANY; i++)
		ck_assert_msg(!m.cli[i]->bad, "stream %d got foreign bytes", i);
	fx_free(f);
}
END_TEST

void xport_add_life_cases(Suite *s)
{
	TCase *tc = tcase_create("life");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_dial_accept);
	tcase_add_test(tc, t_dial_dead_port);
	tcase_add_test(tc, t_dial_cancel);
	tcase_add_test(tc, t_listener_free_keeps_stream);
	tcase_add_test(tc, t_init_unknown_option);
	tcase_add_test(tc, t_fini_aborts_open_streams);
	tcase_add_loop_test(tc, t_close_in_read_cb, 0, 2);
	tcase_add_loop_test(tc, t_close_in_event_cb, 0, 2);
	tcase_add_test(tc, t_close_in_write_cb);
	tcase_add_test(tc, t_many_streams);
	suite_add_tcase(s, tc);
}
