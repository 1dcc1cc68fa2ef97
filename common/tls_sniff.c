/*
 * tls_sniff.c - tell a TLS client from a plain one by its first byte, as
 * frps does on bindPort and kcpBindPort: frp's custom 0x17 byte (then TLS),
 * 0x16 (a TLS handshake record), anything else plain frp (a v1 message
 * type or a yamux header, neither of which starts with 0x16 or 0x17).
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "tls.h"

struct tls_sniff {
	struct chan *ch;
	struct event *timer;
	tls_sniff_cb cb;
	void *arg;
};

enum tls_sniff_kind tls_sniff_classify(uint8_t first)
{
	if (first == TLS_FRP_FIRST_BYTE)
		return TLS_SNIFF_TLS_CUSTOM;
	if (first == TLS_HANDSHAKE_BYTE)
		return TLS_SNIFF_TLS;
	return TLS_SNIFF_PLAIN;
}

static void sniff_end(struct tls_sniff *s, enum tls_sniff_kind kind, int err)
{
	struct chan *ch = s->ch;
	tls_sniff_cb cb = s->cb;
	void *arg = s->arg;
	bufferevent_setcb(ch->bev, NULL, NULL, NULL, NULL);
	event_free(s->timer);
	free(s);
	if (err) {
		chan_close(ch, XPORT_CLOSE_ABORT);
		ch = NULL;
	}
	cb(ch, kind, err, arg);
}

static void sniff_read(struct bufferevent *bev, void *arg)
{
	uint8_t b;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (evbuffer_copyout(in, &b, 1) != 1)
		return;
	enum tls_sniff_kind k = tls_sniff_classify(b);
	if (k == TLS_SNIFF_TLS_CUSTOM)
		evbuffer_drain(in, 1);
	sniff_end(arg, k, 0);
}

static void sniff_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_EOF)
		sniff_end(arg, TLS_SNIFF_PLAIN, -ECONNRESET);
	else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		sniff_end(arg, TLS_SNIFF_PLAIN, -EIO);
}

static void sniff_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sniff_end(arg, TLS_SNIFF_PLAIN, -ETIMEDOUT);
}

struct tls_sniff *tls_sniff(struct event_base *base, struct chan *ch,
			    int timeout_ms, tls_sniff_cb cb, void *arg)
{
	struct tls_sniff *s = calloc(1, sizeof(*s));
	if (!s) {
		chan_close(ch, XPORT_CLOSE_ABORT);
		return NULL;
	}
	s->ch = ch;
	s->cb = cb;
	s->arg = arg;
	s->timer = evtimer_new(base, sniff_timeout, s);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	if (!s->timer || evtimer_add(s->timer, &tv) != 0) {
		if (s->timer)
			event_free(s->timer);
		free(s);
		chan_close(ch, XPORT_CLOSE_ABORT);
		return NULL;
	}
	bufferevent_setcb(ch->bev, sniff_read, NULL, sniff_event, s);
	bufferevent_enable(ch->bev, EV_READ);
	/* A byte may be buffered already: look from the loop, never from
	 * in here, so the caller has returned before cb runs. */
	if (evbuffer_get_length(bufferevent_get_input(ch->bev)) > 0)
		bufferevent_trigger(ch->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
							 BEV_TRIG_DEFER_CALLBACKS);
	return s;
}

void tls_sniff_cancel(struct tls_sniff *s)
{
	bufferevent_setcb(s->ch->bev, NULL, NULL, NULL, NULL);
	chan_close(s->ch, XPORT_CLOSE_ABORT);
	event_free(s->timer);
	free(s);
}
