/*
 * relay.c - two-way byte copy between two borrowed bufferevents.
 *
 * Each direction moves whole evbuffer chains (evbuffer_add_buffer), so no
 * payload is copied here. Backpressure follows libevent's le-proxy sample:
 * once a destination's output passes high_wm, the source stops reading and
 * the destination gets a write low-watermark of high_wm/2 whose callback
 * resumes the source. Memory held per direction is thus about high_wm plus
 * one read (libevent reads at most 16 KiB at a time from a socket).
 *
 * Ending: the first EOF/error/timeout on side X turns the relay into
 * "closing": neither side is read any more, what X had already read goes to
 * the other side Y, and done_cb runs once Y's output is empty (or Y fails).
 * Before done_cb the relay detaches from both bufferevents, so the caller
 * may free them and the relay in any order, inside done_cb or later, and no
 * code here touches either afterwards.
 */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <event2/util.h>

#define RELAY_DEFAULT_HIGH_WM (256u * 1024u)

struct relay {
	struct bufferevent *a;	/* NULL once detached */
	struct bufferevent *b;
	size_t high_wm;
	relay_done_cb cb;
	void *arg;
	uint64_t a_to_b;
	uint64_t b_to_a;
	struct bufferevent *flush_to; /* closing: the side still being written */
	int err;		/* first failure seen; 0 = orderly */
	unsigned closing : 1;
	unsigned done : 1;
};

static void relay_read_cb(struct bufferevent *bev, void *arg);
static void relay_write_cb(struct bufferevent *bev, void *arg);
static void relay_event_cb(struct bufferevent *bev, short what, void *arg);

static struct bufferevent *relay_peer(const struct relay *r,
				      const struct bufferevent *bev)
{
	return bev == r->a ? r->b : r->a;
}

static void relay_count(struct relay *r, const struct bufferevent *src,
			size_t n)
{
	if (src == r->a)
		r->a_to_b += n;
	else
		r->b_to_a += n;
}

/* Move everything src has read to dst; pause src if dst is now too full.
 * Never ends the relay, so callers may keep using r afterwards. */
static void relay_forward(struct relay *r, struct bufferevent *src)
{
	struct bufferevent *dst = relay_peer(r, src);
	struct evbuffer *in = bufferevent_get_input(src);
	struct evbuffer *out = bufferevent_get_output(dst);
	size_t n = evbuffer_get_length(in);

	if (n == 0)
		return;
	if (evbuffer_add_buffer(out, in) == 0)
		relay_count(r, src, n);
	if (evbuffer_get_length(out) > r->high_wm) {
		/* dst's write callback fires once it drains to high_wm/2. */
		bufferevent_disable(src, EV_READ);
		bufferevent_setwatermark(dst, EV_WRITE, r->high_wm / 2, 0);
	}
}

static void relay_detach(struct relay *r)
{
	struct bufferevent *sides[2] = { r->a, r->b };

	for (int i = 0; i < 2; i++) {
		if (!sides[i])
			continue;
		bufferevent_setcb(sides[i], NULL, NULL, NULL, NULL);
		bufferevent_setwatermark(sides[i], EV_WRITE, 0, 0);
	}
	r->a = r->b = NULL;
	r->flush_to = NULL;
}

/* Ends the relay. The caller must return right after: done_cb may have
 * freed r and both bufferevents. */
static void relay_finish(struct relay *r)
{
	if (r->done)
		return;
	r->done = 1;
	relay_detach(r);
	if (r->cb)
		r->cb(r, r->err, r->arg);
}

static int relay_event_err(short what)
{
	int e;

	if (what & BEV_EVENT_TIMEOUT)
		return -ETIMEDOUT;
	e = EVUTIL_SOCKET_ERROR();
	return e > 0 ? -e : -EIO;
}

/* Side x ended (EOF or failure). Returns 1 if the relay finished (r may be
 * gone), 0 if it is now waiting for the peer's output to drain. */
static int relay_begin_close(struct relay *r, struct bufferevent *x)
{
	struct bufferevent *y = relay_peer(r, x);

	r->closing = 1;
	bufferevent_disable(x, EV_READ);
	bufferevent_disable(y, EV_READ);
	/* What x read is still owed to y; nothing more goes toward x. */
	if (evbuffer_get_length(bufferevent_get_input(x)) > 0) {
		size_t n = evbuffer_get_length(bufferevent_get_input(x));
		if (evbuffer_add_buffer(bufferevent_get_output(y),
					bufferevent_get_input(x)) == 0)
			relay_count(r, x, n);
	}
	if (evbuffer_get_length(bufferevent_get_output(y)) == 0) {
		relay_finish(r);
		return 1;
	}
	r->flush_to = y;
	/* Write callback when y's output is empty; make sure y writes. */
	bufferevent_setwatermark(y, EV_WRITE, 0, 0);
	bufferevent_enable(y, EV_WRITE);
	return 0;
}

static void relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;

	if (r->closing || r->done)
		return;
	relay_forward(r, bev);
}

static void relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *src;

	if (r->done)
		return;
	if (r->closing) {
		if (bev == r->flush_to &&
		    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			relay_finish(r);
		return;
	}
	/* bev drained below its low watermark: resume the side feeding it. */
	src = relay_peer(r, bev);
	if (evbuffer_get_length(bufferevent_get_output(bev)) > r->high_wm / 2)
		return;
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	if (!(bufferevent_get_enabled(src) & EV_READ)) {
		bufferevent_enable(src, EV_READ);
		/* Bytes that sat in src's input while paused would otherwise
		 * wait for the next read event, which may never come. */
		relay_forward(r, src);
	}
}

static void relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	int failed = (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) != 0;

	if (r->done)
		return;
	if (!failed && !(what & BEV_EVENT_EOF))
		return; /* BEV_EVENT_CONNECTED and friends: nothing to do */
	if (failed && r->err == 0)
		r->err = relay_event_err(what);
	if (r->closing) {
		/* The side being flushed failed or ended: nothing more can be
		 * delivered, so stop here. An EOF from the side that already
		 * ended changes nothing. */
		if (bev == r->flush_to)
			relay_finish(r);
		return;
	}
	relay_begin_close(r, bev);
}

struct relay *relay_new(struct bufferevent *a, struct bufferevent *b,
			size_t high_wm, relay_done_cb cb, void *arg)
{
	struct relay *r;

	if (!a || !b || a == b)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->a = a;
	r->b = b;
	r->high_wm = high_wm ? high_wm : RELAY_DEFAULT_HIGH_WM;
	r->cb = cb;
	r->arg = arg;
	bufferevent_setcb(a, relay_read_cb, relay_write_cb, relay_event_cb, r);
	bufferevent_setcb(b, relay_read_cb, relay_write_cb, relay_event_cb, r);
	bufferevent_setwatermark(a, EV_WRITE, 0, 0);
	bufferevent_setwatermark(b, EV_WRITE, 0, 0);
	bufferevent_enable(a, EV_READ | EV_WRITE);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	relay_forward(r, a);
	relay_forward(r, b);
	return r;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	relay_detach(r);
	free(r);
}

void relay_counters(const struct relay *r, uint64_t *a_to_b, uint64_t *b_to_a)
{
	if (a_to_b)
		*a_to_b = r ? r->a_to_b : 0;
	if (b_to_a)
		*b_to_a = r ? r->b_to_a : 0;
}
