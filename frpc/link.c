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
#include "util.h"
#include "version.h"

#define LOGIN_TIMEOUT_MS 10000

struct frpc_link {
	struct frpc *c;
	int refs;
	bool lost;      /* control gone, frpc told */
	bool logged_in;
	struct xport_dial *dial;
	struct chan *carrier;     /* transport stream under the mux */
	struct mux_session *mux;
	bool mux_dead;
	struct ctl *ctl;
	struct event *tick;       /* 1 s: login timeout, pings, liveness */
	uint64_t started_ms;
	uint64_t last_ping_ms;
	uint64_t last_pong_ms;
	char run_id[64];
};

struct open_req {
	struct frpc_link *l;
	frpc_open_cb cb;
	void *arg;
	struct xport_dial *dial;
};

static void link_release(struct frpc_link *l)
{
	if (l->tick)
		event_free(l->tick);
	if (l->mux)
		mux_session_free(l->mux);
	chan_close(l->carrier, XPORT_CLOSE_ABORT);
	free(l);
}

void frpc_link_ref(struct frpc_link *l) { l->refs++; }

void frpc_link_unref(struct frpc_link *l)
{
	if (--l->refs == 0)
		link_release(l);
}

const char *frpc_link_run_id(struct frpc_link *l) { return l->run_id; }

/* The control is over (for whatever reason): stop everything that belongs
 * to the control, tell frpc once, drop the control's reference. */
static void link_fail(struct frpc_link *l, const char *why)
{
	if (l->lost)
		return;
	l->lost = true;
	if (l->dial) {
		l->c->ops->dial_cancel(l->dial);
		l->dial = NULL;
	}
	if (l->tick)
		event_del(l->tick);
	ctl_free(l->ctl);
	l->ctl = NULL;
	struct frpc *c = l->c;
	bool was_in = l->logged_in;
	frpc_link_lost(c, l, was_in, why);
	frpc_link_unref(l);
}

void frpc_link_close(struct frpc_link *l)
{
	link_fail(l, NULL);
}

static void send_new_proxies(struct frpc_link *l)
{
	struct frpc *c = l->c;
	for (size_t i = 0; i < c->cfg->n_proxies; i++) {
		const struct conf_proxy *p = &c->cfg->proxies[i];
		struct msg m = {.type = MSG_NEW_PROXY};
		m.u.new_proxy.proxy_name = c->proxies[i].wire_name;
		m.u.new_proxy.proxy_type = p->type_name;
		m.u.new_proxy.use_encryption = p->use_encryption;
		m.u.new_proxy.use_compression = p->use_compression;
		m.u.new_proxy.remote_port = p->remote_port;
		if (ctl_send(l->ctl, &m) < 0)
			LOG_W("frpc", "[%s] cannot queue NewProxy", p->name);
		c->proxies[i].status = FRPC_PROXY_WAIT_START;
	}
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
	l->last_pong_ms = util_now_ms();
	c->ever_logged_in = true;
	c->backoff_ms = 0;
	LOG_I("frpc", "login to server success, get run id [%s]", l->run_id);
	send_new_proxies(l);
}

static void on_new_proxy_resp(struct frpc_link *l, struct msg_new_proxy_resp *r)
{
	struct frpc_proxy *p = frpc_find_proxy(l->c, r->proxy_name);
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
		LOG_W("frpc", "[%s] start error: %s", p->conf->name, r->error);
		return;
	}
	p->status = FRPC_PROXY_RUNNING;
	p->remote_addr = util_strdup(r->remote_addr ? r->remote_addr : "");
	LOG_I("frpc", "[%s] start proxy success, remote address %s",
	      p->conf->name, p->remote_addr ? p->remote_addr : "?");
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
	(void)ctl;
	struct frpc_link *l = arg;
	char why[128];
	if (err == 0)
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

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_link *l = arg;
	const struct frpc_conf *cfg = l->c->cfg;
	uint64_t now = util_now_ms();
	if (!l->logged_in) {
		if (now - l->started_ms >= LOGIN_TIMEOUT_MS)
			link_fail(l, "login timed out");
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
	char why[128];
	snprintf(why, sizeof(why), "multiplexed session ended: %s",
		 err ? strerror(-err) : "closed by peer");
	link_fail(l, why);
}

static void dial_done(struct xport_stream *s, int err, void *arg)
{
	struct frpc_link *l = arg;
	struct frpc *c = l->c;
	l->dial = NULL;
	if (err) {
		char why[160];
		snprintf(why, sizeof(why), "connect to server %s:%u: %s",
			 c->cfg->server_addr, c->cfg->server_port, strerror(-err));
		link_fail(l, why);
		return;
	}
	struct chan *tch = frpc_tls_wrap(c, chan_from_xport(c->ops, s));
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
	LOG_D("frpc", "connected to %s over %s, logging in", tch->peer,
	      c->ops->name);
	send_login(l);
}

struct frpc_link *frpc_link_new(struct frpc *c)
{
	struct frpc_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->c = c;
	l->refs = 1;
	l->started_ms = util_now_ms();
	l->tick = event_new(c->base, -1, EV_PERSIST, tick_cb, l);
	if (!l->tick) {
		free(l);
		return NULL;
	}
	struct timeval tv = {1, 0};
	event_add(l->tick, &tv);
	char err[256] = "";
	int rc = c->ops->dial(c->xctx, c->cfg->server_addr, c->cfg->server_port,
			      c->cfg->dial_server_timeout * 1000, dial_done, l,
			      &l->dial, err, sizeof(err));
	if (rc < 0) {
		LOG_W("frpc", "dial %s:%u: %s", c->cfg->server_addr,
		      c->cfg->server_port, err[0] ? err : strerror(-rc));
		event_free(l->tick);
		free(l);
		return NULL;
	}
	return l;
}

static void open_dial_done(struct xport_stream *s, int err, void *arg)
{
	struct open_req *r = arg;
	struct frpc_link *l = r->l;
	struct chan *ch = NULL;
	if (err == 0) {
		ch = frpc_tls_wrap(l->c, chan_from_xport(l->c->ops, s));
	} else {
		LOG_W("frpc", "work connection to server: %s", strerror(-err));
	}
	r->cb(ch, r->arg);
	free(r);
}

void frpc_link_open_stream(struct frpc_link *l, frpc_open_cb cb, void *arg)
{
	struct frpc *c = l->c;
	if (l->mux) {
		struct mux_stream *ms = l->mux_dead ? NULL : mux_open(l->mux);
		cb(ms ? chan_from_mux(ms, l->carrier->peer) : NULL, arg);
		return;
	}
	struct open_req *r = calloc(1, sizeof(*r));
	if (!r) {
		cb(NULL, arg);
		return;
	}
	r->l = l;
	r->cb = cb;
	r->arg = arg;
	char err[256] = "";
	int rc = c->ops->dial(c->xctx, c->cfg->server_addr, c->cfg->server_port,
			      c->cfg->dial_server_timeout * 1000, open_dial_done,
			      r, &r->dial, err, sizeof(err));
	if (rc < 0) {
		LOG_W("frpc", "work connection dial: %s", err[0] ? err : strerror(-rc));
		free(r);
		cb(NULL, arg);
	}
}
