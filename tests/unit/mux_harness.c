/*
 * mux_harness.c - fixtures shared by the yamux unit tests (see
 * mux_harness.h).
 */
#include "mux_harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util.h"

static void tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
}

/* Run the loop until pred(arg) holds or ms pass; returns pred's value. */
bool mh_run_until(struct event_base *base, bool (*pred)(void *), void *arg, int ms)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = { 0, 2000 };
	event_add(tick, &tv);
	uint64_t end = util_now_ms() + (uint64_t)ms;
	bool ok;
	while (!(ok = pred && pred(arg)) && util_now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return ok;
}

void mh_run_for(struct event_base *base, int ms)
{
	mh_run_until(base, NULL, NULL, ms);
}

/* event_base_free() drops pending deferred bufferevent callbacks without
 * running them, and each holds a reference on its bufferevent: let them run
 * (and the finalizers after them) first. */
void mh_base_free(struct event_base *base)
{
	for (int i = 0; i < 4; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
}

void mh_ep_top_up(struct mh_ep *e)
{
	uint8_t buf[16 * KIB];
	struct evbuffer *out = bufferevent_get_output(e->bev);
	while (e->written < e->to_write && evbuffer_get_length(out) < 256 * KIB) {
		size_t n = e->to_write - e->written;
		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = mh_gen_byte(&e->wstate);
		bufferevent_write(e->bev, buf, n);
		e->written += n;
	}
}

static void ep_maybe_close(struct mh_ep *e)
{
	if (e->close_when_done && !e->closed && e->written == e->to_write &&
	    e->received >= e->expect) {
		e->closed = true;
		mux_stream_close(e->s, 0);
	}
}

void mh_ep_consume(struct mh_ep *e)
{
	struct evbuffer *in = bufferevent_get_input(e->bev);
	size_t n;
	while ((n = evbuffer_get_length(in)) > 0) {
		uint8_t buf[16 * KIB];
		if (n > sizeof(buf))
			n = sizeof(buf);
		evbuffer_remove(in, buf, n);
		if (e->got)
			evbuffer_add(e->got, buf, n);
		if (e->echo)
			bufferevent_write(e->bev, buf, n);
		for (size_t i = 0; i < n && !e->got; i++)
			if (buf[i] != mh_gen_byte(&e->rstate))
				e->bad++;
		e->received += n;
	}
}

static void ep_read_cb(struct bufferevent *bev, void *arg)
{
	struct mh_ep *e = arg;
	(void)bev;
	if (e->no_read)
		return;
	mh_ep_consume(e);
	if (e->close_in_read) {
		e->closed = true;
		mux_stream_close(e->s, 0);
		return;
	}
	ep_maybe_close(e);
}

static void ep_write_cb(struct bufferevent *bev, void *arg)
{
	struct mh_ep *e = arg;
	(void)bev;
	mh_ep_top_up(e);
	ep_maybe_close(e);
}

void mh_ep_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mh_ep *e = arg;
	(void)bev;
	if (what & BEV_EVENT_EOF)
		e->eof++;
	if (what & BEV_EVENT_ERROR)
		e->err++;
	if (!e->no_read)
		mh_ep_consume(e);
	ep_maybe_close(e);
}

void mh_ep_attach(struct mh_ep *e, struct mux_stream *s)
{
	e->s = s;
	e->bev = mux_stream_bev(s);
	bufferevent_setcb(e->bev, ep_read_cb, ep_write_cb, mh_ep_event_cb, e);
	bufferevent_setwatermark(e->bev, EV_WRITE, 64 * KIB, 0);
	bufferevent_enable(e->bev, EV_READ | EV_WRITE);
	mh_ep_top_up(e);
}

void mh_side_accept(struct mux_stream *s, void *arg)
{
	struct mh_side *sd = arg;
	ck_assert_int_lt(sd->n, 16);
	struct mh_ep *e = &sd->eps[sd->n++];
	*e = sd->tmpl;
	uint32_t id = mux_stream_id(s);
	/* an accepted stream writes direction 1 of its id if it is the server */
	e->wstate = id * 2 + (sd->is_client ? 0 : 1);
	e->rstate = id * 2 + (sd->is_client ? 1 : 0);
	if (sd->tmpl.got)
		e->got = evbuffer_new();
	mh_ep_attach(e, s);
	if (sd->free_in_accept) {
		mux_session_free(sd->m);
		sd->m = NULL;
	}
}

void mh_side_closed(struct mux_session *m, int err, void *arg)
{
	struct mh_side *sd = arg;
	ck_assert_ptr_eq(m, sd->m);
	sd->closed++;
	sd->close_err = err;
	if (sd->free_in_closed) {
		mux_session_free(m);
		sd->m = NULL;
	}
}

struct mh_ep *mh_client_open(struct mh_side *c, size_t to_write, size_t expect)
{
	struct mux_stream *s = mux_open(c->m);
	ck_assert_ptr_nonnull(s);
	struct mh_ep *e = &c->eps[c->n++];
	memset(e, 0, sizeof(*e));
	e->wstate = mux_stream_id(s) * 2;
	e->rstate = mux_stream_id(s) * 2 + 1;
	e->to_write = to_write;
	e->expect = expect;
	mh_ep_attach(e, s);
	return e;
}

void mh_ep_fini(struct mh_ep *e)
{
	if (e->s && !e->closed)
		mux_stream_close(e->s, 1);
	e->closed = true;
	if (e->got)
		evbuffer_free(e->got);
	e->got = NULL;
}

/* Forget the accepted endpoints (closing what is still open). */
void mh_side_reset(struct mh_side *sd)
{
	for (int i = 0; i < sd->n; i++)
		mh_ep_fini(&sd->eps[i]);
	sd->n = 0;
}

void mh_link_up(struct mh_link *l, const struct mux_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->base = event_base_new();
	ck_assert_int_eq(bufferevent_pair_new(l->base, BEV_OPT_DEFER_CALLBACKS, l->p), 0);
	l->c.is_client = true;
	l->c.m = mux_session_new(l->base, l->p[0], true, cfg, NULL, mh_side_closed, &l->c);
	l->s.m = mux_session_new(l->base, l->p[1], false, cfg, mh_side_accept, mh_side_closed, &l->s);
	ck_assert_ptr_nonnull(l->c.m);
	ck_assert_ptr_nonnull(l->s.m);
}

void mh_link_down(struct mh_link *l)
{
	for (int i = 0; i < l->c.n; i++)
		mh_ep_fini(&l->c.eps[i]);
	for (int i = 0; i < l->s.n; i++)
		mh_ep_fini(&l->s.eps[i]);
	mux_session_free(l->c.m);
	mux_session_free(l->s.m);
	bufferevent_free(l->p[0]);
	bufferevent_free(l->p[1]);
	mh_base_free(l->base);
}

void mh_raw_put(struct mh_raw *r, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	struct mux_frame f = { 0, type, flags, id, len };
	uint8_t b[MUX_HDR_LEN];
	mux_frame_encode(&f, b);
	bufferevent_write(r->p[1], b, sizeof(b));
}

/* Pop one whole frame header (and skip its payload) from the raw input. */
bool mh_raw_take(struct mh_raw *r, struct mux_frame *f, struct evbuffer *payload)
{
	struct evbuffer *in = bufferevent_get_input(r->p[1]);
	uint8_t b[MUX_HDR_LEN];
	if (evbuffer_copyout(in, b, sizeof(b)) != (ev_ssize_t)sizeof(b))
		return false;
	ck_assert_int_eq(mux_frame_decode(b, f), 0);
	size_t plen = f->type == MUX_DATA ? f->length : 0;
	if (evbuffer_get_length(in) < sizeof(b) + plen)
		return false;
	evbuffer_drain(in, sizeof(b));
	if (payload)
		evbuffer_remove_buffer(in, payload, plen);
	else
		evbuffer_drain(in, plen);
	return true;
}

static void raw_read_cb(struct bufferevent *bev, void *arg)
{
	struct mh_raw *r = arg;
	(void)bev;
	if (!r->pong)
		return;
	struct mux_frame f;
	while (mh_raw_take(r, &f, NULL))
		if (f.type == MUX_PING && (f.flags & MUX_SYN))
			mh_raw_put(r, MUX_PING, MUX_ACK, 0, f.length);
}

void mh_raw_up(struct mh_raw *r, bool is_client, const struct mux_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	ck_assert_int_eq(bufferevent_pair_new(r->base, BEV_OPT_DEFER_CALLBACKS, r->p), 0);
	r->sd.is_client = is_client;
	r->sd.m = mux_session_new(r->base, r->p[0], is_client, cfg,
				  is_client ? NULL : mh_side_accept, mh_side_closed, &r->sd);
	ck_assert_ptr_nonnull(r->sd.m);
	bufferevent_setcb(r->p[1], raw_read_cb, NULL, NULL, r);
	bufferevent_enable(r->p[1], EV_READ | EV_WRITE);
}

void mh_raw_down(struct mh_raw *r)
{
	for (int i = 0; i < r->sd.n; i++)
		mh_ep_fini(&r->sd.eps[i]);
	mux_session_free(r->sd.m);
	bufferevent_free(r->p[0]);
	bufferevent_free(r->p[1]);
	mh_base_free(r->base);
}

size_t mh_raw_avail(struct mh_raw *r)
{
	return evbuffer_get_length(bufferevent_get_input(r->p[1]));
}

struct mux_config mh_small_cfg(void)
{
	struct mux_config c;
	mux_config_default(&c);
	c.max_stream_window = MUX_INITIAL_WINDOW;
	c.keepalive_interval_ms = 0;
	return c;
}

struct mux_config mh_quiet_cfg(void)
{
	struct mux_config c;
	mux_config_default(&c);
	c.keepalive_interval_ms = 0;
	return c;
}
