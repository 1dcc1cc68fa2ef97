/*
 * link.c - one login session from frpc to frps: the transport connection,
 * the yamux session on it (tcpMux), the encrypted control stream, heartbeats.
 *
 * Lifetime: the control holds one reference and every work connection riding
 * on the link holds one more. Losing the control (EOF, heartbeat timeout,
 * login refused) tells frpc at once so it can reconnect, while relays already
 * running on the old link keep going until they end; the transport stream
 * and mux session are freed with the last reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "crypto.h"
#include "ctl.h"
#include "frpc.h"
#include "log.h"
#include "mux.h"
#include "tls.h"
#include "util.h"
#include "version.h"

#define LOGIN_TIMEOUT_MS 10000
#define LINGER_MAX_MS 30000

struct frpc_open {
	struct frpc_link *l;
	frpc_open_cb cb;
	void *arg;
	struct xport_dial *dial;   /* a transport dial under way */
	struct chan *ready;        /* a mux stream, delivered from the loop */
	struct event *ev;
};

static void link_destroy(struct frpc_link *l)
{
	struct frpc *c = l->c;
	if (l->linger_ev)
		event_free(l->linger_ev);
	if (l->state == FRPC_LINK_DRAINING) {
		TAILQ_REMOVE(&c->draining, l, dlink);
		LOG_I("frpc", "old link over %s to %s drained, closed",
		      l->xp->ops->name, l->peer);
	}
	if (l->tick)
		event_free(l->tick);
	if (l->login_ev)
		event_free(l->login_ev);
	if (l->drain_ev)
		event_free(l->drain_ev);
	if (l->mux)
		mux_session_free(l->mux);
	chan_close(l->carrier, l->state == FRPC_LINK_DRAINING ? XPORT_CLOSE_FLUSH
							       : XPORT_CLOSE_ABORT);
	frpc_xport_unref(l->xp);
	free(l);
}

/* A draining link's last user closed its stream with a flush: the bytes and
 * the FIN still have to cross the mux. Free the link once every stream has
 * finished (or after LINGER_MAX_MS). */
static bool link_must_linger(struct frpc_link *l)
{
	return l->state == FRPC_LINK_DRAINING && !l->c->shutting_down &&
	       l->mux && mux_session_alive(l->mux) && mux_stream_count(l->mux) > 0 &&
	       util_now_ms() - l->linger_since_ms < LINGER_MAX_MS;
}

static void linger_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_link *l = arg;
	if (!link_must_linger(l))
		link_destroy(l);
}

static void link_release(struct frpc_link *l)
{
	l->linger_since_ms = util_now_ms();
	if (link_must_linger(l) &&
	    (l->linger_ev = event_new(l->c->base, -1, EV_PERSIST, linger_cb, l))) {
		struct timeval tv = {0, 100000};
		event_add(l->linger_ev, &tv);
		return;
	}
	link_destroy(l);
}

void frpc_link_destroy_lingering(struct frpc *c)
{
	struct frpc_link *l, *next;
	for (l = TAILQ_FIRST(&c->draining); l; l = next) {
		next = TAILQ_NEXT(l, dlink);
		if (l->refs == 0)
			link_destroy(l);
	}
}

void frpc_link_ref(struct frpc_link *l) { l->refs++; }

void frpc_link_unref(struct frpc_link *l)
{
	if (--l->refs == 0)
		link_release(l);
}

const char *frpc_link_run_id(struct frpc_link *l) { return l->run_id; }

int frpc_link_stats(struct frpc_link *l, struct xport_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct chan *ch = l->carrier ? l->carrier : l->ctl ? ctl_chan(l->ctl) : NULL;
	return ch ? chan_stats(ch, st) : -ENOTCONN;
}

/* Stop what belongs to the control: the dial, the tick, the ctl. */
static void link_stop_control(struct frpc_link *l)
{
	l->lost = true;
	frpc_resolve_cancel(l->res);
	l->res = NULL;
	if (l->dial) {
		l->xp->ops->dial_cancel(l->dial);
		l->dial = NULL;
	}
	if (l->tick)
		event_del(l->tick);
	if (l->login_ev)
		event_del(l->login_ev);
	ctl_free(l->ctl);
	l->ctl = NULL;
}

/* The control is over (for whatever reason): stop everything that belongs
 * to the control, tell frpc once, drop the control's reference. */
static void link_fail(struct frpc_link *l, const char *why)
{
	if (l->lost)
		return;
	link_stop_control(l);
	frpc_link_lost(l->c, l, l->logged_in, why);
	frpc_link_unref(l);
}

void frpc_link_close(struct frpc_link *l)
{
	link_fail(l, NULL);
}

static void drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_link *l = arg;
	LOG_W("frpc", "old link over %s: transport.drainTimeout (%d s) reached "
		      "with %d connections live, closing them",
	      l->xp->ops->name, l->c->cfg->drain_timeout, l->nwork);
	frpc_link_ref(l);
	frpc_kill_link_work(l->c, l);
	frpc_link_unref(l);
}

void frpc_link_mark_draining(struct frpc_link *l)
{
	struct frpc *c = l->c;
	if (l->state == FRPC_LINK_DRAINING)
		return;
	l->state = FRPC_LINK_DRAINING;
	TAILQ_INSERT_TAIL(&c->draining, l, dlink);
	LOG_I("frpc", "old link over %s to %s stops taking new work; %d "
		      "connections drain on it", l->xp->ops->name, l->peer,
	      l->nwork);
	if (c->cfg->drain_timeout > 0 &&
	    (l->drain_ev = evtimer_new(c->base, drain_timeout, l))) {
		struct timeval tv = {c->cfg->drain_timeout, 0};
		evtimer_add(l->drain_ev, &tv);
	}
}

void frpc_link_retire(struct frpc_link *l)
{
	if (l->state == FRPC_LINK_DRAINING)
		return;
	if (!l->lost)
		link_stop_control(l);
	frpc_link_mark_draining(l);
	frpc_link_unref(l); /* the control's reference */
}

void frpc_link_send_new_proxy(struct frpc_link *l, struct frpc_proxy *fp)
{
	const struct conf_proxy *p = &fp->conf;
	struct msg m = {.type = MSG_NEW_PROXY};
	m.u.new_proxy.proxy_name = fp->wire_name;
	m.u.new_proxy.proxy_type = p->type_name;
	m.u.new_proxy.use_encryption = p->use_encryption;
	m.u.new_proxy.use_compression = p->use_compression;
	m.u.new_proxy.remote_port = p->remote_port;
	if (!l->ctl || ctl_send(l->ctl, &m) < 0)
		LOG_W("frpc", "[%s] cannot queue NewProxy", p->name);
	fp->status = FRPC_PROXY_WAIT_START;
}

void frpc_link_send_close_proxy(struct frpc_link *l, struct frpc_proxy *fp)
{
	struct msg m = {.type = MSG_CLOSE_PROXY};
	m.u.close_proxy.proxy_name = fp->wire_name;
	if (!l->ctl || ctl_send(l->ctl, &m) < 0)
		LOG_W("frpc", "[%s] cannot queue CloseProxy", fp->conf.name);
	fp->status = FRPC_PROXY_CLOSED;
}

static void send_new_proxies(struct frpc_link *l)
{
	struct frpc *c = l->c;
	for (size_t i = 0; i < c->n_proxies; i++)
		frpc_link_send_new_proxy(l, c->proxies[i]);
}

static void on_login_resp(struct frpc_link *l, struct msg_login_resp *r)
{
	struct frpc *c = l->c;
	if (r->error && *r->error) {
		char why[256];
		snprintf(why, sizeof(why), "login refused by server: %s", r->error);
		link_fail(l, why);
		return;
	}
	if (!r->run_id || !*r->run_id || strlen(r->run_id) >= sizeof(l->run_id)) {
		link_fail(l, "login response without a valid run_id");
		return;
	}
	snprintf(l->run_id, sizeof(l->run_id), "%s", r->run_id);
	snprintf(c->run_id, sizeof(c->run_id), "%s", r->run_id);
	uint8_t key[CRYPTO_KEY_LEN];
	crypto_frp_key(c->cfg->auth_token ? c->cfg->auth_token : "", key);
	int rc = ctl_enable_crypto(l->ctl, key);
	if (rc < 0) {
		link_fail(l, "cannot start control encryption");
		return;
	}
	l->logged_in = true;
	l->state = FRPC_LINK_ONLINE;
	l->since = util_unix_time();
	l->last_pong_ms = util_now_ms();
	c->ever_logged_in = true;
	c->backoff_ms = 0;
	LOG_I("frpc", "login to server success over %s (%s), get run id [%s]",
	      l->xp->ops->name, l->peer, l->run_id);
	/* Make before break: every proxy is registered on the new link before
	 * the old one (if any) is retired. */
	send_new_proxies(l);
	frpc_link_online(c, l);
}

static void on_new_proxy_resp(struct frpc_link *l, struct msg_new_proxy_resp *r)
{
	struct frpc_proxy *p = frpc_find_proxy(l->c, r->proxy_name);
	if (l->state == FRPC_LINK_DRAINING)
		return;
	if (!p) {
		LOG_W("frpc", "NewProxyResp for unknown proxy [%s]",
		      r->proxy_name ? r->proxy_name : "");
		return;
	}
	free(p->err);
	p->err = NULL;
	free(p->remote_addr);
	p->remote_addr = NULL;
	if (r->error && *r->error) {
		p->status = FRPC_PROXY_START_ERROR;
		p->err = util_strdup(r->error);
		LOG_W("frpc", "[%s] start error: %s", p->conf.name, r->error);
		return;
	}
	p->status = FRPC_PROXY_RUNNING;
	p->remote_addr = util_strdup(r->remote_addr ? r->remote_addr : "");
	LOG_I("frpc", "[%s] start proxy success, remote address %s",
	      p->conf.name, p->remote_addr ? p->remote_addr : "?");
}

static void ctl_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	(void)ctl;
	struct frpc_link *l = arg;
	if (!l->logged_in && m->type != MSG_LOGIN_RESP) {
		LOG_W("frpc", "unexpected %s before LoginResp", msg_type_name(m->type));
		link_fail(l, "protocol error");
		return;
	}
	switch (m->type) {
	case MSG_LOGIN_RESP:
		if (l->logged_in) {
			link_fail(l, "second LoginResp");
			return;
		}
		on_login_resp(l, &m->u.login_resp);
		break;
	case MSG_REQ_WORK_CONN:
		frpc_work_request(l->c, l);
		break;
	case MSG_NEW_PROXY_RESP:
		on_new_proxy_resp(l, &m->u.new_proxy_resp);
		break;
	case MSG_PONG:
		l->last_pong_ms = util_now_ms();
		if (m->u.pong.error && *m->u.pong.error) {
			LOG_W("frpc", "Pong error: %s", m->u.pong.error);
			link_fail(l, "server rejected heartbeat");
		}
		break;
	default:
		LOG_W("frpc", "ignoring unexpected %s on control",
		      msg_type_name(m->type));
		break;
	}
}

static void ctl_err(struct ctl *ctl, int err, void *arg)
{
	struct frpc_link *l = arg;
	char why[320];
	const char *te = tls_chan_error(ctl_chan(ctl));
	if (te)
		snprintf(why, sizeof(why), "TLS: %s", te);
	else if (err == 0)
		snprintf(why, sizeof(why), "connection closed by server");
	else
		snprintf(why, sizeof(why), "control connection error: %s",
			 strerror(-err));
	link_fail(l, why);
}

static void send_ping(struct frpc_link *l, uint64_t now)
{
	struct frpc *c = l->c;
	int64_t ts = util_unix_time();
	char key[33];
	crypto_auth_key(c->cfg->auth_token ? c->cfg->auth_token : "", ts, key);
	struct msg m = {.type = MSG_PING};
	m.u.ping.privilege_key = key;
	m.u.ping.timestamp = ts;
	ctl_send(l->ctl, &m);
	l->last_ping_ms = now;
}

static void login_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_link *l = arg;
	if (l->logged_in)
		return;
	char why[96];
	snprintf(why, sizeof(why), "no login answer over %s within %llu ms",
		 l->xp->ops->name, (unsigned long long)l->login_timeout_ms);
	link_fail(l, why);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_link *l = arg;
	const struct frpc_conf *cfg = l->c->cfg;
	uint64_t now = util_now_ms();
	if (!l->logged_in) {
		(void)now; /* login_timeout_cb ends a login that takes too long */
		return;
	}
	if (cfg->heartbeat_timeout > 0) {
		uint64_t seen = l->last_pong_ms;
		if (now - seen > (uint64_t)cfg->heartbeat_timeout * 1000) {
			link_fail(l, "heartbeat timeout");
			return;
		}
	}
	if (cfg->heartbeat_interval > 0 &&
	    now - l->last_ping_ms >= (uint64_t)cfg->heartbeat_interval * 1000)
		send_ping(l, now);
}

static void send_login(struct frpc_link *l)
{
	struct frpc *c = l->c;
	struct utsname u;
	char host[256] = "";
	if (uname(&u) == 0)
		snprintf(host, sizeof(host), "%s", u.nodename);
	int64_t ts = util_unix_time();
	char key[33];
	crypto_auth_key(c->cfg->auth_token ? c->cfg->auth_token : "", ts, key);
	struct msg m = {.type = MSG_LOGIN};
	m.u.login.version = FRP_WIRE_VERSION;
	m.u.login.hostname = host;
	m.u.login.os = "linux";
	m.u.login.arch = u.machine[0] ? u.machine : "unknown";
	if (strcmp(u.machine, "x86_64") == 0)
		m.u.login.arch = "amd64";
	else if (strcmp(u.machine, "aarch64") == 0)
		m.u.login.arch = "arm64";
	m.u.login.user = c->cfg->user;
	m.u.login.privilege_key = key;
	m.u.login.timestamp = ts;
	m.u.login.run_id = c->run_id[0] ? c->run_id : NULL;
	m.u.login.client_id = c->cfg->client_id;
	m.u.login.pool_count = c->cfg->pool_count;
	ctl_send(l->ctl, &m);
}

static void mux_accept(struct mux_stream *s, void *arg)
{
	(void)arg;
	/* frps never opens streams towards frpc. */
	mux_stream_close(s, 1);
}

static void mux_closed(struct mux_session *m, int err, void *arg)
{
	(void)m;
	struct frpc_link *l = arg;
	l->mux_dead = true;
	char why[320];
	const char *te = tls_chan_error(l->carrier);
	if (te)
		snprintf(why, sizeof(why), "TLS: %s", te);
	else
		snprintf(why, sizeof(why), "multiplexed session ended: %s",
			 err ? strerror(-err) : "closed by peer");
	link_fail(l, why);
}

/*
 * The one place where a transport stream of this link becomes a chan the
 * core uses: the control connection and (tcpMux off) every work connection.
 * A layer over the transport (TLS, ...) goes here, for every transport.
 */
static struct chan *link_stream(struct frpc_link *l, struct xport_stream *s)
{
	return frpc_tls_wrap(l->c, chan_from_xport(l->xp->ops, s));
}

static void dial_done(struct xport_stream *s, int err, void *arg)
{
	struct frpc_link *l = arg;
	struct frpc *c = l->c;
	l->dial = NULL;
	l->state = FRPC_LINK_LOGIN;
	if (err) {
		char why[160];
		snprintf(why, sizeof(why), "connect to server %s:%u: %s",
			 c->cfg->server_addr, c->cfg->server_port, strerror(-err));
		link_fail(l, why);
		return;
	}
	struct chan *tch = link_stream(l, s);
	if (!tch) {
		link_fail(l, "out of memory");
		return;
	}
	struct chan *ctl_ch = tch;
	if (c->cfg->tcp_mux) {
		struct mux_config mc;
		mux_config_default(&mc);
		mc.keepalive_interval_ms = c->cfg->tcp_mux_keepalive_interval * 1000;
		mc.keepalive_timeout_ms = 2 * mc.keepalive_interval_ms;
		l->carrier = tch;
		l->mux = mux_session_new(c->base, tch->bev, true, &mc, mux_accept,
					 mux_closed, l);
		if (l->mux)
			mux_session_set_goal(l->mux, chan_send_goal, tch);
		struct mux_stream *ms = l->mux ? mux_open(l->mux) : NULL;
		ctl_ch = ms ? chan_from_mux(ms, tch->peer) : NULL;
		if (!ctl_ch) {
			link_fail(l, "cannot open multiplexed control stream");
			return;
		}
	}
	l->ctl = ctl_new(ctl_ch, ctl_msg, ctl_err, l);
	if (!l->ctl) {
		link_fail(l, "out of memory");
		return;
	}
	snprintf(l->peer, sizeof(l->peer), "%s", tch->peer);
	LOG_D("frpc", "connected to %s over %s, logging in", tch->peer,
	      l->xp->ops->name);
	send_login(l);
}

static void server_resolved(int err, const struct sockaddr *sa, unsigned len,
			    const char *errstr, void *arg)
{
	(void)len;
	struct frpc_link *l = arg;
	struct frpc *c = l->c;
	l->res = NULL;
	if (err) {
		link_fail(l, errstr);
		return;
	}
	uint16_t port = 0;
	if (util_addr_split((const struct sockaddr_storage *)sa, l->server_ip,
			    sizeof(l->server_ip), &port) < 0) {
		link_fail(l, "bad server address");
		return;
	}
	char derr[256] = "";
	const struct frpc_xport *xp = l->xp;
	int rc = xp->ops->dial(xp->ctx, l->server_ip, c->cfg->server_port,
			       c->cfg->dial_server_timeout * 1000, dial_done, l,
			       &l->dial, derr, sizeof(derr));
	if (rc < 0) {
		char why[320];
		snprintf(why, sizeof(why), "dial %s:%u over %s: %s",
			 c->cfg->server_addr, c->cfg->server_port, xp->ops->name,
			 derr[0] ? derr : strerror(-rc));
		link_fail(l, why);
	}
}

struct frpc_link *frpc_link_new(struct frpc *c, struct frpc_xport *xp)
{
	struct frpc_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->c = c;
	l->xp = xp;
	frpc_xport_ref(xp);
	l->refs = 1;
	l->started_ms = util_now_ms();
	l->login_timeout_ms = LOGIN_TIMEOUT_MS;
	/* With a fallback configured, the configured protocol gets only
	 * fallbackTimeout to answer a login. */
	const char *fb = c->cfg->fallback_protocol;
	if (fb && *fb && strcmp(fb, xp->ops->name) != 0 &&
	    strcmp(c->cfg->protocol, xp->ops->name) == 0)
		l->login_timeout_ms = (uint64_t)c->cfg->fallback_timeout * 1000;
	snprintf(l->peer, sizeof(l->peer), "%s:%u", c->cfg->server_addr,
		 c->cfg->server_port);
	l->tick = event_new(c->base, -1, EV_PERSIST, tick_cb, l);
	if (!l->tick) {
		frpc_xport_unref(xp);
		free(l);
		return NULL;
	}
	struct timeval tv = {1, 0};
	event_add(l->tick, &tv);
	/* The login deadline on its own timer: the fallback's clock should
	 * not wait for the next tick. */
	l->login_ev = evtimer_new(c->base, login_timeout_cb, l);
	if (!l->login_ev) {
		event_free(l->tick);
		frpc_xport_unref(xp);
		free(l);
		return NULL;
	} else {
		struct timeval lt = {(time_t)(l->login_timeout_ms / 1000),
				     (suseconds_t)(l->login_timeout_ms % 1000) * 1000};
		evtimer_add(l->login_ev, &lt);
	}
	/* serverAddr may be a name: resolve it without blocking, then hand
	 * the plugin the address (its own resolver would block the loop). */
	l->res = frpc_resolve_start(c, c->cfg->server_addr, c->cfg->server_port,
				    SOCK_STREAM, server_resolved, l);
	if (!l->res) {
		event_free(l->tick);
		event_free(l->login_ev);
		frpc_xport_unref(xp);
		free(l);
		return NULL;
	}
	return l;
}

static void open_free(struct frpc_open *o)
{
	if (o->ev)
		event_free(o->ev);
	frpc_link_unref(o->l);
	free(o);
}

static void open_dial_done(struct xport_stream *s, int err, void *arg)
{
	struct frpc_open *o = arg;
	struct frpc_link *l = o->l;
	struct chan *ch = NULL;
	o->dial = NULL;
	if (err == 0)
		ch = link_stream(l, s);
	else
		LOG_W("frpc", "work connection to server over %s: %s",
		      l->xp->ops->name, strerror(-err));
	frpc_open_cb cb = o->cb;
	void *cbarg = o->arg;
	open_free(o);
	cb(ch, cbarg);
}

static void open_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_open *o = arg;
	struct chan *ch = o->ready;
	frpc_open_cb cb = o->cb;
	void *cbarg = o->arg;
	o->ready = NULL;
	open_free(o);
	cb(ch, cbarg);
}

void frpc_open_cancel(struct frpc_open *o)
{
	if (!o)
		return;
	if (o->dial)
		o->l->xp->ops->dial_cancel(o->dial);
	chan_close(o->ready, XPORT_CLOSE_ABORT);
	open_free(o);
}

struct frpc_open *frpc_link_open_stream(struct frpc_link *l, frpc_open_cb cb,
					void *arg)
{
	struct frpc *c = l->c;
	struct frpc_open *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->l = l;
	frpc_link_ref(l);
	o->cb = cb;
	o->arg = arg;
	if (l->mux) {
		/* Answer from the loop even though a mux stream opens at once:
		 * callers never see their callback inside this call. */
		struct mux_stream *ms = l->mux_dead ? NULL : mux_open(l->mux);
		o->ready = ms ? chan_from_mux(ms, l->carrier->peer) : NULL;
		o->ev = evtimer_new(c->base, open_ready, o);
		if (!o->ev) {
			chan_close(o->ready, XPORT_CLOSE_ABORT);
			o->ready = NULL;
			open_free(o);
			return NULL;
		}
		event_active(o->ev, EV_TIMEOUT, 1);
		return o;
	}
	char err[256] = "";
	const struct frpc_xport *xp = l->xp;
	int rc = xp->ops->dial(xp->ctx, l->server_ip, c->cfg->server_port,
			       c->cfg->dial_server_timeout * 1000, open_dial_done,
			       o, &o->dial, err, sizeof(err));
	if (rc < 0) {
		LOG_W("frpc", "work connection dial over %s: %s", xp->ops->name,
		      err[0] ? err : strerror(-rc));
		open_free(o);
		return NULL;
	}
	return o;
}
