/*
 * proxy_tcp.c - tcp proxies: a listener on proxyBindAddr:port; each user
 * connection waits (bounded in number and time) for a work connection of
 * the owning client, which gets StartWorkConn and is then relayed to the
 * user byte for byte.
 *
 * A user connection is "pending" (in its proxy's list, its waiter queued
 * at the control) until a work connection arrives, then "relaying" (in the
 * server's list, independent of the proxy: closing a proxy or replacing
 * its client stops new connections, not transfers under way, as in frp).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "chan.h"
#include "ctl.h"
#include "frps.h"
#include "sockbev.h"
#include "snappy_frame.h"
#include "workcrypt.h"
#include "log.h"
#include "relay.h"
#include "stats.h"

#define LISTEN_BACKLOG 1024

struct tcp_proxy {
	struct frps_proxy *p;
	struct evconnlistener *l;
	TAILQ_HEAD(, frps_userconn) pending;
	size_t npending;
};

struct frps_userconn {
	struct frps *s;
	struct tcp_proxy *tp;   /* while pending; NULL once relaying */
	struct bufferevent *user;
	struct chan *work;
	struct bufferevent *crypt; /* useEncryption filter over work->bev */
	struct bufferevent *comp;  /* useCompression filter over that */
	struct relay *relay;
	struct frps_waiter waiter;
	struct event *timer;    /* userConnTimeout while pending */
	struct frps_proxy_stats *pst;
	struct frps_client_stats *cst;
	struct sockaddr_storage src, dst;
	uint64_t synced_in, synced_out; /* relay bytes already in the stats */
	TAILQ_ENTRY(frps_userconn) link;
};

static void uc_sync(struct frps_userconn *uc)
{
	if (!uc->relay)
		return;
	uint64_t in, out;
	relay_counters(uc->relay, &in, &out);
	frps_stats_traffic(uc->s->stats, uc->pst, uc->cst, in - uc->synced_in,
			   out - uc->synced_out);
	uc->synced_in = in;
	uc->synced_out = out;
}

static void uc_free(struct frps_userconn *uc, bool abort_work)
{
	struct frps *s = uc->s;
	if (uc->tp) {
		frps_workpool_cancel(&uc->tp->p->c->pool, &uc->waiter);
		TAILQ_REMOVE(&uc->tp->pending, uc, link);
		uc->tp->npending--;
	} else {
		TAILQ_REMOVE(&s->userconns, uc, link);
	}
	if (uc->timer)
		event_free(uc->timer);
	uc_sync(uc);
	relay_free(uc->relay);
	if (uc->comp)
		bufferevent_free(uc->comp);
	if (uc->crypt)
		bufferevent_free(uc->crypt);
	if (uc->user)
		bufferevent_free(uc->user);
	chan_close(uc->work, abort_work ? XPORT_CLOSE_ABORT : XPORT_CLOSE_FLUSH);
	frps_stats_conn_close(s->stats, uc->pst, uc->cst);
	free(uc);
}

static void relay_done(struct relay *r, int err, void *arg)
{
	(void)r;
	uc_free(arg, err != 0);
}

static void got_work(struct frps_waiter *w, struct ctl *work)
{
	struct frps_userconn *uc = w->arg;
	struct tcp_proxy *tp = uc->tp;
	if (!work) {
		uc_free(uc, true);
		return;
	}
	struct msg m;
	char sip[64], dip[64];
	frps_proxy_start_msg(tp->p, &m, &uc->src, &uc->dst, sip, dip,
			     sizeof(sip));
	if (ctl_send(work, &m) < 0) {
		LOG_W("frps", "[%s] cannot send StartWorkConn", tp->p->name);
		ctl_free(work);
		uc_free(uc, true);
		return;
	}
	/* From pending to relaying. */
	TAILQ_REMOVE(&tp->pending, uc, link);
	tp->npending--;
	uc->tp = NULL;
	TAILQ_INSERT_TAIL(&uc->s->userconns, uc, link);
	event_free(uc->timer);
	uc->timer = NULL;
	uc->work = ctl_detach(work);
	if (!uc->work) {
		uc_free(uc, true);
		return;
	}
	struct bufferevent *wbev = uc->work->bev;
	if (tp->p->use_encryption) {
		uc->crypt = workcrypt_new(wbev, uc->s->frp_key);
		if (!uc->crypt) {
			uc_free(uc, true);
			return;
		}
		wbev = uc->crypt;
	}
	/* frp's order: compression above encryption (golib io) */
	if (tp->p->use_compression) {
		uc->comp = snappy_frame_bev_new(wbev);
		if (!uc->comp) {
			uc_free(uc, true);
			return;
		}
		wbev = uc->comp;
	}
	uc->relay = relay_new(uc->user, wbev, 0, relay_done, uc);
	if (!uc->relay)
		uc_free(uc, true);
}

static void pending_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct frps_userconn *uc = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		uc_free(uc, true);
}

static void pending_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frps_userconn *uc = arg;
	LOG_W("frps", "[%s] timeout trying to get work connection, closing the "
		      "user connection", uc->tp->p->name);
	uc_free(uc, true);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	struct tcp_proxy *tp = arg;
	struct frps_proxy *p = tp->p;
	struct frps *s = p->s;
	if (tp->npending >= FRPS_MAX_PENDING_PER_PROXY) {
		LOG_W("frps", "[%s] too many user connections waiting for a work "
			      "connection, refusing one", p->name);
		close(fd);
		return;
	}
	struct frps_userconn *uc = calloc(1, sizeof(*uc));
	if (!uc) {
		close(fd);
		return;
	}
	uc->s = s;
	uc->tp = tp;
	if ((size_t)salen <= sizeof(uc->src))
		memcpy(&uc->src, sa, (size_t)salen);
	socklen_t dl = sizeof(uc->dst);
	if (getsockname(fd, (struct sockaddr *)&uc->dst, &dl) == -1)
		memset(&uc->dst, 0, sizeof(uc->dst));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uc->user = sockbev_new(s->base, fd);
	uc->timer = evtimer_new(s->base, pending_timeout, uc);
	if (!uc->user || !uc->timer || evtimer_add(uc->timer, s->user_wait_tv)) {
		if (uc->user)
			bufferevent_free(uc->user);
		else
			close(fd);
		if (uc->timer)
			event_free(uc->timer);
		free(uc);
		return;
	}
	/* Nothing is read while waiting: what the user sends (and a FIN after
	 * it) stays in the kernel until the relay reads it, so a request
	 * followed by a half-close reaches the service intact. A user who
	 * gives up meanwhile is noticed at the latest by the timeout. */
	bufferevent_setcb(uc->user, NULL, NULL, pending_event, uc);
	bufferevent_disable(uc->user, EV_READ);
	uc->pst = p->st;
	uc->cst = p->c->st;
	frps_stats_conn_open(s->stats, uc->pst, uc->cst);
	TAILQ_INSERT_TAIL(&tp->pending, uc, link);
	tp->npending++;
	uc->waiter.cb = got_work;
	uc->waiter.arg = uc;
	/* Last: may hand over a pooled work connection (and start relaying)
	 * right here. */
	frps_workpool_get(&p->c->pool, &uc->waiter);
}

static int tcp_start(struct frps_proxy *p, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen;
	if (frps_proxy_bind_addr(p->s, p->port, &ss, &sslen) < 0) {
		snprintf(err, errlen, "bad proxyBindAddr");
		return -EINVAL;
	}
	struct tcp_proxy *tp = calloc(1, sizeof(*tp));
	if (!tp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	tp->p = p;
	TAILQ_INIT(&tp->pending);
	tp->l = evconnlistener_new_bind(p->s->base, accept_cb, tp,
					LEV_OPT_CLOSE_ON_FREE |
						LEV_OPT_REUSEABLE |
						LEV_OPT_CLOSE_ON_EXEC,
					LISTEN_BACKLOG, (struct sockaddr *)&ss,
					sslen);
	if (!tp->l) {
		int e = errno ? errno : EADDRINUSE;
		snprintf(err, errlen, "listen: %s", strerror(e));
		free(tp);
		return -e;
	}
	p->impl = tp;
	return 0;
}

static void tcp_stop(struct frps_proxy *p)
{
	struct tcp_proxy *tp = p->impl;
	if (!tp)
		return;
	evconnlistener_free(tp->l);
	struct frps_userconn *uc;
	while ((uc = TAILQ_FIRST(&tp->pending)))
		uc_free(uc, true);
	free(tp);
	p->impl = NULL;
}

const struct frps_proxy_ops frps_proxy_tcp_ops = {
	.type = "tcp",
	.port_space = FRPS_PORTS_TCP,
	.start = tcp_start,
	.stop = tcp_stop,
};

void frps_userconn_sync_all(struct frps *s)
{
	struct frps_userconn *uc;
	TAILQ_FOREACH(uc, &s->userconns, link)
		uc_sync(uc);
}

void frps_userconn_close_all(struct frps *s)
{
	struct frps_userconn *uc;
	while ((uc = TAILQ_FIRST(&s->userconns)))
		uc_free(uc, true);
}
