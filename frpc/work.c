/*
 * work.c - work connections: ReqWorkConn -> open a stream to frps ->
 * NewWorkConn -> wait for StartWorkConn -> dial the local service -> relay.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "ctl.h"
#include "frpc.h"
#include "log.h"
#include "relay.h"
#include "util.h"
#include "sockbev.h"
#include "snappy_frame.h"
#include "workcrypt.h"

#define LOCAL_DIAL_TIMEOUT_S 10
#define START_WAIT_TIMEOUT_S 3600

struct work {
	struct frpc_track t; /* first: work_kill casts back */
	struct frpc *c;
	struct frpc_link *l;
	struct ctl *ctl;            /* until StartWorkConn */
	struct chan *ch;            /* after StartWorkConn */
	struct bufferevent *local;  /* local service connection */
	struct bufferevent *crypt;  /* useEncryption filter over ch->bev */
	struct bufferevent *comp;   /* useCompression filter over that */
	struct relay *relay;
	struct frpc_proxy *p;       /* referenced once known */
	struct frpc_open *open;     /* the stream open under way */
	struct frpc_resolve *res;   /* localIP being resolved */
	bool in_connect;            /* inside bufferevent_socket_connect */
	bool connect_failed;
};

static void work_end(struct work *w)
{
	TAILQ_REMOVE(&w->c->tracked, &w->t, link);
	frpc_open_cancel(w->open);
	frpc_resolve_cancel(w->res);
	relay_free(w->relay);
	if (w->comp)
		bufferevent_free(w->comp);
	if (w->crypt)
		bufferevent_free(w->crypt);
	ctl_free(w->ctl);
	chan_close(w->ch, XPORT_CLOSE_FLUSH);
	if (w->local)
		bufferevent_free(w->local);
	w->c->work_conns--;
	w->l->nwork--;
	frpc_proxy_unref(w->p);
	frpc_link_unref(w->l);
	free(w);
}

static void relay_done(struct relay *r, int err, void *arg)
{
	(void)r;
	(void)err;
	work_end(arg);
}

static void local_event(struct bufferevent *bev, short what, void *arg)
{
	struct work *w = arg;
	(void)bev;
	if (w->in_connect) {
		if (!(what & BEV_EVENT_CONNECTED))
			w->connect_failed = true;
		return;
	}
	if (what & BEV_EVENT_CONNECTED) {
		bufferevent_set_timeouts(w->local, NULL, NULL);
		evutil_socket_t fd = bufferevent_getfd(w->local);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct bufferevent *wbev = w->ch->bev;
		bufferevent_enable(wbev, EV_READ);
		if (w->p->conf.use_encryption) {
			uint8_t key[CRYPTO_KEY_LEN];
			const char *tok = w->c->cfg->auth_token;
			crypto_frp_key(tok ? tok : "", key);
			if (!(w->crypt = workcrypt_new(wbev, key))) {
				work_end(w);
				return;
			}
			/* frps's IV and the user's first bytes may already
			 * be waiting below the new filter. */
			bufferevent_trigger(wbev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS |
						    BEV_TRIG_DEFER_CALLBACKS);
			wbev = w->crypt;
		}
		/* frp's order: compression above encryption (golib io) */
		if (w->p->conf.use_compression) {
			if (!(w->comp = snappy_frame_bev_new(wbev))) {
				work_end(w);
				return;
			}
			bufferevent_trigger(wbev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS |
						    BEV_TRIG_DEFER_CALLBACKS);
			wbev = w->comp;
		}
		w->relay = relay_new(wbev, w->local, 0, relay_done, w);
		if (!w->relay)
			work_end(w);
		return;
	}
	const struct conf_proxy *p = &w->p->conf;
	LOG_W("frpc", "[%s] connect to local service [%s:%u] error: %s", p->name,
	      p->local_ip, p->local_port,
	      (what & BEV_EVENT_TIMEOUT) ? "timeout"
					 : evutil_socket_error_to_string(
						   EVUTIL_SOCKET_ERROR()));
	/* Abort so the user's connection on frps is closed promptly. */
	chan_close(w->ch, XPORT_CLOSE_ABORT);
	w->ch = NULL;
	work_end(w);
}

static void local_resolved(int err, const struct sockaddr *sa, unsigned len,
			   const char *errstr, void *arg)
{
	struct work *w = arg;
	const struct conf_proxy *p = &w->p->conf;
	w->res = NULL;
	if (err == 0) {
		w->local = sockbev_new(w->c->base, -1);
		if (w->local) {
			bufferevent_setcb(w->local, NULL, NULL, local_event, w);
			struct timeval tv = {LOCAL_DIAL_TIMEOUT_S, 0};
			bufferevent_set_timeouts(w->local, NULL, &tv);
			/* A refused connect may be reported from inside the
			 * call: local_event then only records it. */
			w->in_connect = true;
			int rc = bufferevent_socket_connect(w->local, (struct sockaddr *)sa,
							    (int)len);
			w->in_connect = false;
			if (rc == 0 && !w->connect_failed)
				return;
		}
		errstr = "cannot connect";
	}
	LOG_W("frpc", "[%s] connect to local service [%s:%u] error: %s", p->name,
	      p->local_ip, p->local_port, errstr);
	/* Abort so the user's connection on frps is closed promptly. */
	chan_close(w->ch, XPORT_CLOSE_ABORT);
	w->ch = NULL;
	work_end(w);
}

/* localIP may be a host name (docker, compose): resolved without blocking
 * the loop, then connected. */
static int dial_local(struct work *w)
{
	const struct conf_proxy *p = &w->p->conf;
	w->res = frpc_resolve_start(w->c, p->local_ip, p->local_port, SOCK_STREAM,
				    local_resolved, w);
	return w->res ? 0 : -ENOMEM;
}

static void work_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	struct work *w = arg;
	if (m->type != MSG_START_WORK_CONN) {
		LOG_W("frpc", "unexpected %s on work connection",
		      msg_type_name(m->type));
		work_end(w);
		return;
	}
	struct msg_start_work_conn *s = &m->u.start_work_conn;
	if (s->error && *s->error) {
		LOG_W("frpc", "StartWorkConn error: %s", s->error);
		work_end(w);
		return;
	}
	w->p = frpc_find_proxy(w->c, s->proxy_name ? s->proxy_name : "");
	if (w->p)
		frpc_proxy_ref(w->p);
	if (!w->p) {
		LOG_W("frpc", "StartWorkConn for unknown proxy [%s]",
		      s->proxy_name ? s->proxy_name : "");
		work_end(w);
		return;
	}
	LOG_D("frpc", "[%s] new user connection from %s:%d over %s",
	      w->p->conf.name, s->src_addr ? s->src_addr : "?", s->src_port,
	      w->l->xp->ops->name);
	if (w->p->conf.type == CONF_PROXY_UDP) {
		/* The udp proxy keeps the ctl for UDPPacket messages and owns
		 * the link and proxy references from now on. The ctl's
		 * delivery stays paused until it has set its callbacks. */
		ctl_set_callbacks(ctl, NULL, NULL, NULL);
		w->ctl = NULL;
		TAILQ_REMOVE(&w->c->tracked, &w->t, link);
		w->c->work_conns--;
		w->l->nwork--;
		frpc_udp_start(w->c, w->l, w->p, ctl);
		free(w);
		return;
	}
	w->ch = ctl_detach(ctl);
	w->ctl = NULL;
	/* User bytes may arrive while we dial: hold them in the stream. */
	bufferevent_disable(w->ch->bev, EV_READ);
	if (dial_local(w) < 0) {
		LOG_W("frpc", "[%s] connect to local service [%s:%u] error",
		      w->p->conf.name, w->p->conf.local_ip,
		      w->p->conf.local_port);
		chan_close(w->ch, XPORT_CLOSE_ABORT);
		w->ch = NULL;
		work_end(w);
	}
}

static void work_err(struct ctl *ctl, int err, void *arg)
{
	(void)ctl;
	struct work *w = arg;
	if (err)
		LOG_D("frpc", "work connection closed: %s", strerror(-err));
	work_end(w);
}

static void opened(struct chan *ch, void *arg)
{
	struct work *w = arg;
	w->open = NULL;
	if (!ch) {
		work_end(w);
		return;
	}
	w->ctl = ctl_new(ch, work_msg, work_err, w);
	if (!w->ctl) {
		work_end(w);
		return;
	}
	struct msg m = {.type = MSG_NEW_WORK_CONN};
	m.u.new_work_conn.run_id = (char *)frpc_link_run_id(w->l);
	if (ctl_send(w->ctl, &m) < 0)
		work_end(w);
}

static void work_kill(struct frpc_track *t)
{
	work_end((struct work *)t);
}

void frpc_work_request(struct frpc *c, struct frpc_link *l)
{
	struct work *w = calloc(1, sizeof(*w));
	if (!w)
		return;
	w->t.kill = work_kill;
	w->t.l = l;
	TAILQ_INSERT_TAIL(&c->tracked, &w->t, link);
	w->c = c;
	w->l = l;
	frpc_link_ref(l);
	l->nwork++;
	c->work_conns++;
	/* The stream opens on the link the request came from, with that
	 * link's transport, whatever the client's current link is. */
	w->open = frpc_link_open_stream(l, opened, w);
	if (!w->open)
		work_end(w);
}

void frpc_kill_link_work(struct frpc *c, struct frpc_link *l)
{
	struct frpc_track *t;
again:
	TAILQ_FOREACH(t, &c->tracked, link)
		if (t->l == l) {
			t->kill(t);
			goto again;
		}
}
