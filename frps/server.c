/*
 * server.c - the struct frps: transports and their listeners, the yamux
 * sessions over accepted streams, the 1-s tick, and orderly teardown.
 *
 * Which transport serves which port is the table below; nothing else in
 * frps knows a transport's name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chan.h"
#include "frps.h"
#include "log.h"
#include "mux.h"
#include "portmgr.h"
#include "dash.h"
#include "stats.h"
#include "strmap.h"
#include "util.h"
#include "xport_loader.h"

#define STATS_GC_EVERY_TICKS 60

/* A port in struct frps_conf and the transport that serves it. */
static const struct frps_bind {
	const char *transport;
	const char *conf_key;
	size_t port_off; /* uint16_t member of struct frps_conf */
	bool always;     /* served even when 0 (= pick a free port) */
} frps_binds[] = {
	{"tcp", "bindPort", offsetof(struct frps_conf, bind_port), true},
	{"kcp", "kcpBindPort", offsetof(struct frps_conf, kcp_bind_port), false},
};
#define N_BINDS (sizeof(frps_binds) / sizeof(frps_binds[0]))
_Static_assert(N_BINDS <= FRPS_MAX_XPORTS, "raise FRPS_MAX_XPORTS");

/* ---- sessions -------------------------------------------------------- */

void frps_sess_ref(struct frps_sess *x) { x->refs++; }

void frps_sess_unref(struct frps_sess *x)
{
	if (--x->refs > 0)
		return;
	if (x->login_timer)
		event_free(x->login_timer);
	TAILQ_REMOVE(&x->s->sessions, x, link);
	free(x);
}

uint64_t frps_sess_last_rx_ms(const struct frps_sess *x)
{
	return x->mux ? mux_last_rx_ms(x->mux) : 0;
}

/* Free the mux and the stream under it; drops the "alive" reference. */
static void sess_end(struct frps_sess *x)
{
	if (!x->mux)
		return;
	mux_session_free(x->mux);
	x->mux = NULL;
	chan_close(x->carrier, XPORT_CLOSE_ABORT);
	x->carrier = NULL;
	frps_sess_unref(x);
}

void frps_sess_kill(struct frps_sess *x) { sess_end(x); }

void frps_sess_logged_in(struct frps_sess *x)
{
	x->had_login = true;
	if (x->login_timer)
		event_del(x->login_timer);
}

/* Without a Login a session is only an open socket to us: it gets the same
 * time as a single connection to become a client. */
static void sess_login_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frps_sess *x = arg;
	if (x->had_login || !x->mux)
		return;
	LOG_W("frps", "%s: no login within %d s, closing the session",
	      x->carrier ? x->carrier->peer : "?", FRPS_FIRST_MSG_TIMEOUT_S);
	sess_end(x);
}

static void sess_accept(struct mux_stream *ms, void *arg)
{
	struct frps_sess *x = arg;
	struct chan *ch = chan_from_mux(ms, x->carrier->peer);
	if (ch)
		frps_conn_new(x->s, ch, x);
}

static void sess_closed(struct mux_session *m, int err, void *arg)
{
	(void)m;
	struct frps_sess *x = arg;
	if (err == -EPROTO)
		LOG_W("frps", "%s: yamux protocol error (a client with "
			      "transport.tcpMux = false? it must equal the "
			      "server's)", x->carrier->peer);
	else if (err)
		LOG_D("frps", "%s: session ended: %s", x->carrier->peer,
		      strerror(-err));
	else
		LOG_D("frps", "%s: session closed by peer", x->carrier->peer);
	sess_end(x);
}

static void sess_new(struct frps *s, struct chan *ch)
{
	struct frps_sess *x = calloc(1, sizeof(*x));
	if (!x) {
		chan_close(ch, XPORT_CLOSE_ABORT);
		return;
	}
	struct mux_config mc;
	mux_config_default(&mc);
	mc.keepalive_interval_ms = s->cfg->tcp_mux_keepalive_interval * 1000;
	mc.keepalive_timeout_ms = 2 * mc.keepalive_interval_ms;
	x->s = s;
	x->carrier = ch;
	x->refs = 1;
	x->login_timer = evtimer_new(s->base, sess_login_timeout, x);
	if (!x->login_timer || evtimer_add(x->login_timer, s->first_msg_tv) != 0)
		goto fail;
	x->mux = mux_session_new(s->base, ch->bev, false, &mc, sess_accept,
				 sess_closed, x);
	if (!x->mux)
		goto fail;
	mux_session_set_goal(x->mux, chan_send_goal, ch);
	TAILQ_INSERT_TAIL(&s->sessions, x, link);
	return;
fail:
	if (x->login_timer)
		event_free(x->login_timer);
	chan_close(ch, XPORT_CLOSE_ABORT);
	free(x);
}

/* ---- transports ------------------------------------------------------- */

void frps_serve_stream(struct frps *s, struct chan *ch)
{
	if (s->cfg->tcp_mux)
		sess_new(s, ch);
	else
		frps_conn_new(s, ch, NULL);
}

static void xport_accept(struct xport_stream *st, void *arg)
{
	struct frps_xport *xp = arg;
	struct chan *ch = chan_from_xport(xp->ops, st);
	if (!ch)
		return;
	LOG_T("frps", "%s: new %s connection", ch->peer, xp->ops->name);
	frps_tls_accept(xp->s, ch);
}

/* Prefix a plugin's init error with the location of the option it names
 * (the longest option key found in the text), else with the first
 * option's location, else with the file. */
static void init_error(const struct frps_conf *cfg,
		       const struct conf_xport_opts *o, const char *name,
		       const char *perr, char *err, size_t errlen)
{
	const char *where = cfg->path ? cfg->path : "frps";
	size_t best = 0;
	for (size_t i = 0; o && i < o->n; i++) {
		size_t kl = strlen(o->opts[i].key);
		if (kl > best && strstr(perr, o->opts[i].key)) {
			best = kl;
			where = o->where[i];
		}
	}
	if (best == 0 && o && o->n > 0)
		where = o->where[0];
	snprintf(err, errlen, "%s: transport.%s: %s", where, name, perr);
}

/* Which transports the configuration needs: all must be loaded before
 * anything starts. */
static int check_transports(const struct frps_conf *cfg, char *err,
			    size_t errlen)
{
	for (size_t i = 0; i < N_BINDS; i++) {
		const struct frps_bind *b = &frps_binds[i];
		uint16_t port =
			*(const uint16_t *)((const char *)cfg + b->port_off);
		if ((port != 0 || b->always) && !xport_find(b->transport)) {
			snprintf(err, errlen, "%s: %s is set but transport "
				 "\"%s\" is not loaded (see --transports-dir)",
				 cfg->path ? cfg->path : "frps", b->conf_key,
				 b->transport);
			return -ENOENT;
		}
	}
	return 0;
}

static int serve_transport(struct frps *s, const struct frps_bind *b,
			   int *exit_code, char *err, size_t errlen)
{
	const struct frps_conf *cfg = s->cfg;
	uint16_t port = *(const uint16_t *)((const char *)cfg + b->port_off);
	if (port == 0 && !b->always)
		return 0;
	const struct xport_ops *ops = xport_find(b->transport);
	struct frps_xport *xp = &s->xp[s->nxp];
	xp->s = s;
	xp->ops = ops;
	xp->conf_key = b->conf_key;
	const struct conf_xport_opts *o =
		conf_xport_find(cfg->xport, cfg->n_xport, b->transport);
	char perr[256] = "";
	int rc = ops->init(s->base, o ? o->opts : NULL, o ? o->n : 0, &xp->ctx,
			   perr, sizeof(perr));
	if (rc < 0) {
		init_error(cfg, o, b->transport, perr[0] ? perr : strerror(-rc),
			   err, errlen);
		*exit_code = 2;
		return rc;
	}
	s->nxp++;
	rc = ops->listen(xp->ctx, cfg->bind_addr, port, xport_accept, xp,
			 &xp->l, perr, sizeof(perr));
	if (rc < 0) {
		snprintf(err, errlen, "%s: listen on %s:%u (%s): %s", b->conf_key,
			 cfg->bind_addr, port, b->transport,
			 perr[0] ? perr : strerror(-rc));
		*exit_code = 1;
		return rc;
	}
	port = ops->listener_port(xp->l);
	LOG_I("frps", "%s listening on %s:%u (%s)", b->transport, cfg->bind_addr,
	      port, b->conf_key);
	return 0;
}

/* ---- tick ----------------------------------------------------------- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frps *s = arg;
	frps_control_tick(s, util_now_ms());
	frps_userconn_sync_all(s);
	frps_dash_tick(s);
	if (++s->ticks % STATS_GC_EVERY_TICKS == 0)
		frps_stats_gc(s->stats, util_unix_time());
}

/* ---- life cycle --------------------------------------------------------- */

int frps_new(struct event_base *base, struct frps_conf *cfg, struct frps **out,
	     int *exit_code, char *err, size_t errlen)
{
	int rc = -ENOMEM;
	*exit_code = 1;
	struct frps *s = calloc(1, sizeof(*s));
	if (!s) {
		conf_frps_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->base = base;
	s->cfg = cfg;
	s->token = cfg->auth_token ? cfg->auth_token : "";
	TAILQ_INIT(&s->controls);
	TAILQ_INIT(&s->sessions);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->userconns);
	rc = crypto_frp_key(s->token, s->frp_key);
	if (rc < 0) {
		snprintf(err, errlen, "cannot derive the control key");
		goto fail;
	}
	rc = -ENOMEM;
	for (int i = 0; i < FRPS_PORTS_N; i++) {
		unsigned r = 0;
		if (!(s->ports[i] = portmgr_new(cfg->allow_ports,
						cfg->n_allow_ports)))
			goto oom;
		util_random(&r, sizeof(r));
		portmgr_seed(s->ports[i], r);
	}
	if (!(s->ctl_by_run_id = strmap_new()) ||
	    !(s->proxy_by_name = strmap_new()) || !(s->stats = frps_stats_new()))
		goto oom;
	struct timeval tv = {FRPS_FIRST_MSG_TIMEOUT_S, 0};
	s->first_msg_tv = event_base_init_common_timeout(base, &tv);
	tv.tv_sec = cfg->user_conn_timeout;
	s->user_wait_tv = event_base_init_common_timeout(base, &tv);
	if (!s->first_msg_tv || !s->user_wait_tv)
		goto oom;
	s->tick = event_new(base, -1, EV_PERSIST, tick_cb, s);
	struct timeval one = {1, 0};
	if (!s->tick || event_add(s->tick, &one) != 0)
		goto oom;
	rc = frps_tls_init(s, err, errlen);
	if (rc < 0) {
		*exit_code = 2;
		goto fail;
	}
	rc = check_transports(cfg, err, errlen);
	if (rc < 0) {
		*exit_code = 2;
		goto fail;
	}
	for (size_t i = 0; i < N_BINDS; i++) {
		rc = serve_transport(s, &frps_binds[i], exit_code, err, errlen);
		if (rc < 0)
			goto fail;
	}
	rc = frps_dash_start(s, err, errlen);
	if (rc < 0) {
		*exit_code = rc == -EPERM || rc == -EINVAL ? 2 : 1;
		goto fail;
	}
	*out = s;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	frps_free(s);
	return rc;
}

void frps_free(struct frps *s)
{
	if (!s)
		return;
	/* Users first (they reference controls and sessions), then what
	 * carries them, then the transports. */
	frps_control_close_all(s);
	frps_conn_close_all(s);
	frps_userconn_close_all(s);
	frps_dash_stop(s); /* after the last bytes reached the stats */
	struct frps_sess *x, *next;
	for (x = TAILQ_FIRST(&s->sessions); x; x = next) {
		next = TAILQ_NEXT(x, link);
		sess_end(x);
	}
	frps_tls_fini(s);
	for (size_t i = 0; i < s->nxp; i++) {
		if (s->xp[i].l)
			s->xp[i].ops->listener_free(s->xp[i].l);
		s->xp[i].ops->fini(s->xp[i].ctx);
	}
	if (s->tick)
		event_free(s->tick);
	frps_stats_free(s->stats);
	strmap_free(s->proxy_by_name);
	strmap_free(s->ctl_by_run_id);
	for (int i = 0; i < FRPS_PORTS_N; i++)
		portmgr_free(s->ports[i]);
	conf_frps_free(s->cfg);
	free(s);
}
