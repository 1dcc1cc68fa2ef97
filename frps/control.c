/*
 * control.c - one logged-in client: login checks, the encrypted control
 * stream (NewProxy, CloseProxy, Ping), work connections matched by run_id,
 * heartbeat timeout, and closing everything the client owned.
 *
 * Liveness: a control is dropped when nothing arrived for heartbeatTimeout
 * seconds, counting both its own stream and the yamux session under it
 * (stock frpc with tcpMux sends no Ping, only yamux keepalives).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "ctl.h"
#include "frps.h"
#include "log.h"
#include "dash.h"
#include "stats.h"
#include "strmap.h"
#include "util.h"
#include "version.h"

#define ERR_LOGIN_TOKEN "token in login doesn't match token from configuration"
#define ERR_LOGIN_TIME "timestamp in login is out of the allowed time window"
#define ERR_LOGIN_RUN_ID "invalid run_id in login"
#define ERR_PING_TOKEN "token in heartbeat doesn't match token from configuration"

static const char *nz(const char *s) { return s ? s : ""; }

const char *frps_log_str(const char *s, char *buf, size_t n)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < n; i++)
		buf[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* run_ids come from clients and end up in logs and JSON: printable ASCII
 * without spaces or quotes, bounded. */
static bool run_id_ok(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > FRPS_RUN_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (r[i] <= ' ' || r[i] > '~' || r[i] == '"' || r[i] == '\\')
			return false;
	return true;
}

static const char *peer_of(struct ctl *ctl)
{
	struct chan *ch = ctl_chan(ctl);
	return ch ? ch->peer : "?";
}

/* Name of the transport a control stream came over. */
static const char *xport_of(struct ctl *ctl, struct frps_sess *sess)
{
	struct chan *ch = sess ? sess->carrier : ctl_chan(ctl);
	return ch && ch->ops ? ch->ops->name : "?";
}

void frps_control_req_work_conn(struct frps_control *c)
{
	struct msg m = {.type = MSG_REQ_WORK_CONN};
	if (ctl_send(c->ctl, &m) < 0)
		LOG_D("frps", "[%s] cannot queue ReqWorkConn", c->run_id);
}

void frps_control_close(struct frps_control *c, const char *why, bool kill_sess)
{
	struct frps *s = c->s;
	LOG_I("frps", "[%s] client %s closed: %s", c->run_id, c->peer, why);
	if (strmap_get(s->ctl_by_run_id, c->run_id) == c)
		strmap_del(s->ctl_by_run_id, c->run_id);
	if (s->tick_next == c)
		s->tick_next = TAILQ_NEXT(c, link);
	TAILQ_REMOVE(&s->controls, c, link);
	struct frps_proxy *p;
	while ((p = TAILQ_FIRST(&c->proxies)))
		frps_proxy_close(p);
	frps_workpool_clear(&c->pool);
	ctl_free(c->ctl);
	frps_stats_client_offline(s->stats, c->st);
	if (c->sess) {
		if (kill_sess)
			frps_sess_kill(c->sess);
		frps_sess_unref(c->sess);
	}
	free(c->user);
	free(c);
}

static void on_ping(struct frps_control *c, const struct msg_ping *m)
{
	struct msg r = {.type = MSG_PONG};
	/* frp checks the key only with auth.additionalScopes=[HeartBeats];
	 * without it frpc sends none, so an empty key is accepted. */
	if (m->privilege_key && *m->privilege_key &&
	    !crypto_auth_check(c->s->token, m->timestamp, m->privilege_key)) {
		LOG_W("frps", "[%s] invalid ping from %s", c->run_id, c->peer);
		r.u.pong.error = ERR_PING_TOKEN;
		ctl_send(c->ctl, &r);
		frps_control_close(c, "invalid ping", false);
		return;
	}
	ctl_send(c->ctl, &r);
}

static void ctl_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	(void)ctl;
	struct frps_control *c = arg;
	switch (m->type) {
	case MSG_NEW_PROXY:
		frps_proxy_new_msg(c, &m->u.new_proxy);
		break;
	case MSG_CLOSE_PROXY:
		frps_proxy_close_msg(c, &m->u.close_proxy);
		break;
	case MSG_PING:
		on_ping(c, &m->u.ping);
		break;
	default:
		LOG_W("frps", "[%s] unexpected %s on the control connection",
		      c->run_id, msg_type_name(m->type));
		frps_control_close(c, "protocol error", false);
		break;
	}
}

static void ctl_err(struct ctl *ctl, int err, void *arg)
{
	(void)ctl;
	struct frps_control *c = arg;
	char why[96];
	if (c->sess && !c->sess->mux)
		snprintf(why, sizeof(why), "the multiplexed session ended");
	else if (err == 0)
		snprintf(why, sizeof(why), "control connection closed by client");
	else
		snprintf(why, sizeof(why), "control connection error: %s",
			 strerror(-err));
	frps_control_close(c, why, false);
}

static int login_answer(struct frps_control *c)
{
	struct msg r = {.type = MSG_LOGIN_RESP};
	r.u.login_resp.version = FRP_WIRE_VERSION;
	r.u.login_resp.run_id = c->run_id;
	int rc = ctl_send(c->ctl, &r);
	if (rc == 0)
		rc = ctl_enable_crypto(c->ctl, c->s->frp_key);
	return rc;
}

/*
 * The client c logs in again over another link: attach the new control
 * stream, close the old one. Proxies and their listeners stay open (no port
 * is released, so no user is refused in between); work connections relaying
 * on the old link stay until they end (their session is not killed). Idle
 * pooled work connections rode the old link: they are closed and requested
 * again, as are the ones user connections still wait for.
 */
static void control_move(struct frps_control *c, struct ctl *ctl,
			 struct frps_sess *sess, const struct msg_login *m)
{
	struct frps *s = c->s;
	char old_peer[64], old_xport[16];
	snprintf(old_peer, sizeof(old_peer), "%s", c->peer);
	snprintf(old_xport, sizeof(old_xport), "%s", c->xport);
	ctl_free(c->ctl);
	if (c->sess)
		frps_sess_unref(c->sess);
	c->ctl = ctl;
	c->sess = sess;
	if (sess)
		frps_sess_logged_in(sess);
	snprintf(c->peer, sizeof(c->peer), "%s", peer_of(ctl));
	snprintf(c->xport, sizeof(c->xport), "%s", xport_of(ctl, sess));
	c->moves++;
	if (c->st)
		snprintf(c->st->addr, sizeof(c->st->addr), "%s", c->peer);
	frps_dash_link_up(c);
	int pc = m->pool_count < s->cfg->max_pool_count ? m->pool_count
							: s->cfg->max_pool_count;
	c->pool_count = pc < 0 ? 0 : pc;
	frps_workpool_drop_idle(&c->pool);
	c->pool.cap = (size_t)c->pool_count + FRPS_POOL_EXTRA;
	ctl_set_callbacks(ctl, ctl_msg, ctl_err, c);
	if (login_answer(c) < 0) {
		frps_control_close(c, "cannot answer the login", false);
		return;
	}
	LOG_I("frps", "[%s] client moved links: from %s %s to %s %s; %d "
		      "proxies kept open", c->run_id, old_xport, old_peer,
	      c->xport, c->peer, c->nports);
	for (size_t i = 0; i < (size_t)c->pool_count + c->pool.nwaiters; i++)
		frps_control_req_work_conn(c);
	struct frps_proxy *p;
	TAILQ_FOREACH(p, &c->proxies, link)
		if (p->ops->relink)
			p->ops->relink(p);
}

/* Refuse a login: LoginResp with the error, then close (after flushing). */
static void login_refuse(struct ctl *ctl, struct frps_sess *sess,
			 const char *why)
{
	struct msg r = {.type = MSG_LOGIN_RESP};
	r.u.login_resp.version = FRP_WIRE_VERSION;
	r.u.login_resp.error = (char *)why;
	ctl_send(ctl, &r);
	ctl_free(ctl);
	if (sess)
		frps_sess_unref(sess);
}

static int new_run_id(struct frps *s, char *out)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t b[8];
		int rc = util_random(b, sizeof(b));
		if (rc < 0)
			return rc;
		util_hex(b, sizeof(b), out);
		if (!strmap_get(s->ctl_by_run_id, out))
			return 0;
	}
	return -EEXIST;
}

void frps_control_login(struct frps *s, struct ctl *ctl, struct frps_sess *sess,
			const struct msg_login *m)
{
	const struct frps_conf *cfg = s->cfg;
	const char *peer = peer_of(ctl);
	int64_t now = util_unix_time();

	if (!crypto_auth_check(s->token, m->timestamp, nz(m->privilege_key))) {
		LOG_W("frps", "%s: login refused: %s", peer, ERR_LOGIN_TOKEN);
		login_refuse(ctl, sess, ERR_LOGIN_TOKEN);
		return;
	}
	int64_t skew = now > m->timestamp ? now - m->timestamp
					  : m->timestamp - now;
	if (cfg->login_time_window > 0 && skew > cfg->login_time_window) {
		LOG_W("frps", "%s: login refused: timestamp %lld is %lld s away "
			      "from our clock (window %d s)", peer,
		      (long long)m->timestamp, (long long)skew,
		      cfg->login_time_window);
		login_refuse(ctl, sess, ERR_LOGIN_TIME);
		return;
	}
	if (m->run_id && *m->run_id && !run_id_ok(m->run_id)) {
		LOG_W("frps", "%s: login refused: %s", peer, ERR_LOGIN_RUN_ID);
		login_refuse(ctl, sess, ERR_LOGIN_RUN_ID);
		return;
	}

	if (m->run_id && *m->run_id) {
		struct frps_control *old = strmap_get(s->ctl_by_run_id, m->run_id);
		if (old) {
			control_move(old, ctl, sess, m);
			return;
		}
	}

	struct frps_control *c = calloc(1, sizeof(*c));
	if (!c || !(c->user = util_strdup(nz(m->user)))) {
		free(c);
		login_refuse(ctl, sess, "server out of memory");
		return;
	}
	c->s = s;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	TAILQ_INIT(&c->proxies);
	if (m->run_id && *m->run_id) {
		snprintf(c->run_id, sizeof(c->run_id), "%s", m->run_id);
	} else if (new_run_id(s, c->run_id) < 0) {
		free(c->user);
		free(c);
		login_refuse(ctl, sess, "server cannot allocate a run_id");
		return;
	}
	if (strmap_put(s->ctl_by_run_id, c->run_id, c) < 0) {
		free(c->user);
		free(c);
		login_refuse(ctl, sess, "server out of memory");
		return;
	}
	c->ctl = ctl;
	c->sess = sess;
	snprintf(c->xport, sizeof(c->xport), "%s", xport_of(ctl, sess));
	if (sess)
		frps_sess_logged_in(sess);
	c->pool_count = m->pool_count < cfg->max_pool_count ? m->pool_count
							    : cfg->max_pool_count;
	if (c->pool_count < 0)
		c->pool_count = 0;
	frps_workpool_init(&c->pool, c, (size_t)c->pool_count + FRPS_POOL_EXTRA);
	TAILQ_INSERT_TAIL(&s->controls, c, link);
	c->st = frps_stats_client_online(s->stats, c->run_id, c->user,
					 nz(m->client_id), nz(m->version),
					 nz(m->hostname), nz(m->os), nz(m->arch),
					 c->peer);
	frps_dash_link_up(c);
	ctl_set_callbacks(ctl, ctl_msg, ctl_err, c);

	int rc = login_answer(c);
	if (rc < 0) {
		frps_control_close(c, "cannot answer the login", false);
		return;
	}
	char lu[64], lv[32], lh[64], lo[16], la[16];
	LOG_I("frps", "[%s] client login: addr [%s] over %s user [%s] version "
		      "[%s] hostname [%s] os [%s] arch [%s]",
	      c->run_id, c->peer, c->xport, frps_log_str(c->user, lu, sizeof(lu)),
	      frps_log_str(m->version, lv, sizeof(lv)),
	      frps_log_str(m->hostname, lh, sizeof(lh)),
	      frps_log_str(m->os, lo, sizeof(lo)),
	      frps_log_str(m->arch, la, sizeof(la)));
	for (int i = 0; i < c->pool_count; i++)
		frps_control_req_work_conn(c);
}

void frps_control_work_conn(struct frps *s, struct ctl *ctl,
			    const struct msg_new_work_conn *m)
{
	const char *why = NULL;
	struct frps_control *c =
		m->run_id ? strmap_get(s->ctl_by_run_id, m->run_id) : NULL;
	if (!c)
		why = "no client control found for run id";
	else if (m->privilege_key && *m->privilege_key &&
		 !crypto_auth_check(s->token, m->timestamp, m->privilege_key))
		why = "token in NewWorkConn doesn't match token from configuration";
	if (why) {
		char lr[FRPS_RUN_ID_MAX + 1];
		LOG_W("frps", "%s: work connection for run id [%s] refused: %s",
		      peer_of(ctl), frps_log_str(m->run_id, lr, sizeof(lr)), why);
		struct msg r = {.type = MSG_START_WORK_CONN};
		r.u.start_work_conn.error = (char *)why;
		ctl_send(ctl, &r);
		ctl_free(ctl);
		return;
	}
	frps_workpool_put(&c->pool, ctl);
}

void frps_control_tick(struct frps *s, uint64_t now_ms)
{
	uint64_t limit = (uint64_t)s->cfg->heartbeat_timeout * 1000u;
	if (s->cfg->heartbeat_timeout <= 0)
		return;
	/* Closing a control may end a session and with it other controls;
	 * frps_control_close moves tick_next past any control it removes. */
	for (struct frps_control *c = TAILQ_FIRST(&s->controls); c;
	     c = s->tick_next) {
		s->tick_next = TAILQ_NEXT(c, link);
		uint64_t last = ctl_last_rx_ms(c->ctl);
		if (c->sess) {
			uint64_t mx = frps_sess_last_rx_ms(c->sess);
			if (mx > last)
				last = mx;
		}
		if (now_ms > last && now_ms - last > limit)
			frps_control_close(c, "heartbeat timeout", true);
	}
	s->tick_next = NULL;
}

void frps_control_close_all(struct frps *s)
{
	struct frps_control *c;
	while ((c = TAILQ_FIRST(&s->controls)))
		frps_control_close(c, "server shutting down", false);
}
