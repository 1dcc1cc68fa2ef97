/*
 * tcp_listen.c - listening sockets of the TCP transport.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

#define TCP_BACKLOG 1024
/* After an accept failure such as EMFILE the socket stays readable; pause
 * instead of spinning on it. */
#define TCP_ACCEPT_RETRY_MS 1000

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	(void)lev;
	struct xport_listener *l = arg;
	struct xport_stream *s =
		tcp_stream_new(l->ctx, fd, sa, (socklen_t)salen);
	if (!s)
		return; /* fd already closed; the peer sees a reset */
	/* The host may free l from inside its callback: touch nothing
	 * after it (libevent holds its own reference on lev). */
	l->cb(s, l->arg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct xport_listener *l = arg;
	evconnlistener_enable(l->lev);
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct xport_listener *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	const struct xport_host *h = l->ctx->host;
	if (h)
		h->log(XPORT_LOG_WARN, TCP_MOD,
		       "accept on port %u: %s; pausing %d ms", l->port,
		       strerror(e), TCP_ACCEPT_RETRY_MS);
	struct timeval tv = {.tv_sec = TCP_ACCEPT_RETRY_MS / 1000,
			     .tv_usec = (TCP_ACCEPT_RETRY_MS % 1000) * 1000};
	if (evtimer_add(l->retry, &tv) == 0)
		evconnlistener_disable(lev);
}

int tcp_listen(struct xport_ctx *ctx, const char *addr, uint16_t port,
	       xport_accept_cb cb, void *arg, struct xport_listener **out,
	       char *err, size_t errlen)
{
	*out = NULL;
	struct addrinfo *ai = NULL;
	int rc = tcp_resolve(addr, port, 1, &ai, err, errlen);
	if (rc != 0)
		return rc;
	struct xport_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	l->ctx = ctx;
	l->cb = cb;
	l->arg = arg;
	tcp_list_init(&l->link);
	l->retry = evtimer_new(ctx->base, on_retry, l);
	if (!l->retry) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	errno = 0;
	l->lev = evconnlistener_new_bind(
		ctx->base, on_accept, l,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		TCP_BACKLOG, ai->ai_addr, (int)ai->ai_addrlen);
	if (!l->lev) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "listen on %s:%u: %s",
			 addr && *addr ? addr : "0.0.0.0", port, strerror(-rc));
		goto fail;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(l->lev), (struct sockaddr *)&ss,
			&len) == 0) {
		if (ss.ss_family == AF_INET)
			l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	freeaddrinfo(ai);
	tcp_list_add(&ctx->listeners, &l->link);
	*out = l;
	return 0;
fail:
	if (l && l->retry)
		event_free(l->retry);
	free(l);
	freeaddrinfo(ai);
	return rc;
}

uint16_t tcp_listener_port(const struct xport_listener *l) { return l->port; }

void tcp_listener_free(struct xport_listener *l)
{
	if (!l)
		return;
	tcp_list_del(&l->link);
	evconnlistener_free(l->lev);
	event_free(l->retry);
	free(l);
}
