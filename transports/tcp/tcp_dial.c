/*
 * tcp_dial.c - non-blocking outgoing connections of the TCP transport.
 *
 * Every resolved address is tried in turn (so "localhost" works whichever
 * of ::1 / 127.0.0.1 the server listens on) under one overall timeout.
 * The callback runs exactly once and never inside tcp_dial(): results
 * known early (immediate connect, every address failing at once) are
 * reported from the loop through an activated event.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp.h"

static void on_connected(evutil_socket_t fd, short what, void *arg);

static void dial_free(struct xport_dial *d)
{
	tcp_list_del(&d->link);
	if (d->conn_ev)
		event_free(d->conn_ev);
	if (d->timer)
		event_free(d->timer);
	if (d->fd != -1)
		close(d->fd);
	if (d->ai_list)
		freeaddrinfo(d->ai_list);
	free(d);
}

/* Release the dial first, then call back: the handle is gone by the time
 * the host runs (it may even start a new dial from the callback). */
static void dial_finish(struct xport_dial *d, struct xport_stream *s, int err)
{
	xport_dial_cb cb = d->cb;
	void *arg = d->arg;
	dial_free(d);
	cb(s, err, arg);
}

/* Start connecting to d->ai_cur or the next address that lets us. Returns
 * 0 when an attempt is under way (conn_ev will fire) or -errno of the last
 * failure when no address is left. */
static int attempt(struct xport_dial *d)
{
	int last = -ECONNREFUSED;
	for (; d->ai_cur; d->ai_cur = d->ai_cur->ai_next) {
		const struct addrinfo *ai = d->ai_cur;
		int fd = socket(ai->ai_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd == -1) {
			last = -errno;
			continue;
		}
		int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r == -1 && errno != EINPROGRESS && errno != EINTR) {
			last = -errno;
			close(fd);
			continue;
		}
		d->conn_ev = event_new(d->ctx->base, fd, EV_WRITE, on_connected,
				       d);
		if (!d->conn_ev) {
			close(fd);
			return -ENOMEM;
		}
		d->fd = fd;
		/* Connected already (possible on loopback): still report from
		 * the loop, through the same path. */
		if (r == 0)
			event_active(d->conn_ev, EV_WRITE, 0);
		else
			event_add(d->conn_ev, NULL);
		return 0;
	}
	return last;
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct xport_dial *d = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		soerr = errno;
	if (soerr == 0) {
		const struct addrinfo *ai = d->ai_cur;
		d->fd = -1; /* the stream owns it now, even on failure */
		struct xport_stream *s =
			tcp_stream_new(d->ctx, fd, ai->ai_addr, ai->ai_addrlen);
		dial_finish(d, s, s ? 0 : -ENOMEM);
		return;
	}
	event_free(d->conn_ev);
	d->conn_ev = NULL;
	close(d->fd);
	d->fd = -1;
	d->ai_cur = d->ai_cur->ai_next;
	/* Report the last failure: this one, or a later address's. */
	int rc = d->ai_cur ? attempt(d) : -soerr;
	if (rc != 0)
		dial_finish(d, NULL, rc);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct xport_dial *d = arg;
	dial_finish(d, NULL, d->early_err ? d->early_err : -ETIMEDOUT);
}

int tcp_dial(struct xport_ctx *ctx, const char *host, uint16_t port,
	     int timeout_ms, xport_dial_cb cb, void *arg,
	     struct xport_dial **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!cb || port == 0 || timeout_ms < 0) {
		snprintf(err, errlen, "dial: bad arguments");
		return -EINVAL;
	}
	struct xport_dial *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->ctx = ctx;
	d->fd = -1;
	d->cb = cb;
	d->arg = arg;
	tcp_list_init(&d->link);
	int rc = tcp_resolve(host, port, 0, &d->ai_list, err, errlen);
	if (rc != 0)
		goto fail;
	d->ai_cur = d->ai_list;
	d->timer = evtimer_new(ctx->base, on_timer, d);
	if (!d->timer) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	rc = attempt(d);
	if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (rc != 0) {
		/* Refused or unreachable at once: still a callback, later. */
		d->early_err = rc;
		event_active(d->timer, EV_TIMEOUT, 0);
	} else if (timeout_ms > 0) {
		struct timeval tv = {.tv_sec = timeout_ms / 1000,
				     .tv_usec = (timeout_ms % 1000) * 1000};
		evtimer_add(d->timer, &tv);
	}
	tcp_list_add(&ctx->dials, &d->link);
	*out = d;
	return 0;
fail:
	dial_free(d);
	return rc;
}

void tcp_dial_cancel(struct xport_dial *d)
{
	if (d)
		dial_free(d);
}
