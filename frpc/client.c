/*
 * client.c - frpc's top level: the transport instances, the proxies' state,
 * the current link to frps and reconnecting with exponential backoff (1 s
 * doubling to 20 s, with jitter). Every new login re-registers every proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "frpc.h"
#include "frpc_conf.h"
#include "log.h"
#include "util.h"
#include "xport_loader.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 20000

struct frpc_proxy *frpc_find_proxy(struct frpc *c, const char *name)
{
	for (size_t i = 0; i < c->n_proxies; i++)
		if (strcmp(c->proxies[i]->wire_name, name) == 0)
			return c->proxies[i];
	return NULL;
}

void frpc_proxy_ref(struct frpc_proxy *p) { p->refs++; }

void frpc_proxy_unref(struct frpc_proxy *p)
{
	if (!p || --p->refs > 0)
		return;
	frpc_conf_proxy_clear(&p->conf);
	free(p->remote_addr);
	free(p->err);
	free(p->wire_name);
	free(p);
}

struct frpc_xport *frpc_xport_find(struct frpc *c, const char *name)
{
	for (size_t i = 0; i < c->nxp; i++)
		if (strcmp(c->xp[i]->ops->name, name) == 0)
			return c->xp[i];
	return NULL;
}

static void connect_now(struct frpc *c)
{
	struct frpc_xport *xp = frpc_xport_find(c, c->protocol);
	c->link = xp ? frpc_link_new(c, xp) : NULL;
	if (!c->link)
		frpc_link_lost(c, NULL, false, "cannot start connecting");
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc *c = arg;
	if (!c->link)
		connect_now(c);
}

/* The current link is gone: reconnect with backoff (or exit). */
void frpc_reconnect_later(struct frpc *c, bool logged_in, const char *why)
{
	for (size_t i = 0; i < c->n_proxies; i++)
		c->proxies[i]->status = FRPC_PROXY_NEW;
	if (!c->ever_logged_in && c->cfg->login_fail_exit) {
		LOG_E("frpc", "login to the server failed: %s. With loginFailExit "
			      "enabled, no additional retries will be attempted",
		      why ? why : "unknown error");
		c->exit_code = 1;
		event_base_loopexit(c->base, NULL);
		return;
	}
	if (logged_in)
		c->backoff_ms = 0;
	c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (c->backoff_ms > BACKOFF_MAX_MS)
		c->backoff_ms = BACKOFF_MAX_MS;
	/* +-10% jitter so a fleet does not reconnect in lock-step. */
	uint32_t r = 0;
	util_random(&r, sizeof(r));
	int jitter = (int)(r % (unsigned)(c->backoff_ms / 5 + 1)) - c->backoff_ms / 10;
	int delay = c->backoff_ms + jitter;
	LOG_W("frpc", "%s; reconnecting in %d ms", why ? why : "connection lost",
	      delay);
	struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
	event_add(c->retry_ev, &tv);
}

/* Point at the offending key when the plugin named it. */
static void xport_init_error(const struct frpc_conf *cfg,
			     const struct conf_xport_opts *xo, const char *name,
			     const char *perr, char *err, size_t errlen)
{
	const char *where = cfg->path ? cfg->path : "command line";
	if (xo)
		for (size_t i = 0; i < xo->n; i++)
			if (strstr(perr, xo->opts[i].key)) {
				where = xo->where[i];
				break;
			}
	snprintf(err, errlen, "%s: transport.%s: %s", where, name, perr);
}

static void xport_unref(struct frpc_xport *x);

/* Initialise ops with its options from cfg. */
int frpc_xport_build(struct event_base *base, const struct frpc_conf *cfg,
		     const struct xport_ops *ops, struct frpc_xport **out,
		     char *err, size_t errlen)
{
	const struct conf_xport_opts *xo =
		conf_xport_find(cfg->xport, cfg->n_xport, ops->name);
	struct frpc_xport *x = calloc(1, sizeof(*x));
	if (!x || (xo && !(x->opts = frpc_conf_xopts_dup(xo)))) {
		free(x);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->ops = ops;
	x->refs = 1;
	char perr[256] = "";
	int rc = ops->init(base, xo ? xo->opts : NULL, xo ? xo->n : 0, &x->ctx,
			   perr, sizeof(perr));
	if (rc < 0) {
		xport_init_error(cfg, xo, ops->name, perr[0] ? perr : strerror(-rc),
				 err, errlen);
		x->ctx = NULL;
		xport_unref(x);
		return rc;
	}
	*out = x;
	return 0;
}

static void xport_unref(struct frpc_xport *x)
{
	if (!x || --x->refs > 0)
		return;
	if (x->ctx)
		x->ops->fini(x->ctx);
	frpc_conf_xopts_free(x->opts);
	free(x);
}

void frpc_xport_ref(struct frpc_xport *x) { x->refs++; }
void frpc_xport_unref(struct frpc_xport *x) { xport_unref(x); }

int frpc_check_transports(const struct frpc_conf *cfg, char *err,
			  size_t errlen)
{
	const char *where = cfg->path ? cfg->path : "command line";
	if (!xport_find(cfg->protocol)) {
		snprintf(err, errlen, "%s: transport.protocol \"%s\": no such "
			 "transport plugin loaded", where, cfg->protocol);
		return -ENOENT;
	}
	if (cfg->fallback_protocol && *cfg->fallback_protocol &&
	    !xport_find(cfg->fallback_protocol)) {
		snprintf(err, errlen, "%s: transport.fallbackProtocol \"%s\": no "
			 "such transport plugin loaded", where,
			 cfg->fallback_protocol);
		return -ENOENT;
	}
	for (size_t i = 0; i < cfg->n_xport; i++)
		if (!xport_find(cfg->xport[i].protocol)) {
			/* at: the subtree's own key (set for every file) */
			snprintf(err, errlen, "%s: transport.%s: no such transport "
				 "plugin loaded (and not a setting)",
				 cfg->xport[i].at ? cfg->xport[i].at
				 : cfg->xport[i].n ? cfg->xport[i].where[0] : where,
				 cfg->xport[i].protocol);
			return -ENOENT;
		}
	/* Every plugin validates its options now, even one used later. */
	struct event_base *base = event_base_new();
	if (!base) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < xport_count(); i++) {
		struct frpc_xport *x = NULL;
		rc = frpc_xport_build(base, cfg, xport_at(i), &x, err, errlen);
		xport_unref(x);
	}
	event_base_free(base);
	return rc;
}

int frpc_new(struct event_base *base, struct frpc_conf *cfg, struct frpc **out,
	     char *err, size_t errlen)
{
	struct frpc *c = calloc(1, sizeof(*c));
	if (!c) {
		conf_frpc_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = -ENOMEM;
	c->base = base;
	c->cfg = cfg;
	TAILQ_INIT(&c->tracked);
	TAILQ_INIT(&c->draining);
	c->retry_ev = event_new(base, -1, 0, retry_cb, c);
	if (!c->retry_ev || (cfg->path && !(c->cfg_path = util_strdup(cfg->path))))
		goto oom;
	if (frpc_proxies_build(c, cfg, &c->proxies, &c->n_proxies) < 0 ||
	    frpc_dns_init(c) < 0)
		goto oom;
	if ((rc = frpc_tls_init(c, err, errlen)) < 0)
		goto fail;
	if (!xport_find(cfg->protocol)) {
		snprintf(err, errlen, "transport.protocol \"%s\": no such "
			 "transport plugin loaded", cfg->protocol);
		rc = -ENOENT;
		goto fail;
	}
	if ((rc = frpc_check_transports(cfg, err, errlen)) < 0)
		goto fail;
	for (size_t i = 0; i < xport_count() && c->nxp < FRPC_MAX_XPORTS; i++) {
		rc = frpc_xport_build(base, cfg, xport_at(i), &c->xp[c->nxp],
				      err, errlen);
		if (rc < 0)
			goto fail;
		c->nxp++;
	}
	snprintf(c->protocol, sizeof(c->protocol), "%s", cfg->protocol);
	*out = c;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	frpc_free(c);
	return rc;
}

void frpc_start(struct frpc *c)
{
	LOG_I("frpc", "start frpc service, server %s:%u over %s, %zu proxies",
	      c->cfg->server_addr, c->cfg->server_port, c->protocol,
	      c->n_proxies);
	connect_now(c);
}

void frpc_free(struct frpc *c)
{
	if (!c)
		return;
	c->shutting_down = true;
	frpc_admin_free(c);
	frpc_switch_free(c);
	if (c->next) {
		struct frpc_link *l = c->next;
		c->next = NULL;
		frpc_link_close(l);
	}
	if (c->link) {
		struct frpc_link *l = c->link;
		c->link = NULL;
		frpc_link_close(l);
	}
	while (!TAILQ_EMPTY(&c->tracked))
		TAILQ_FIRST(&c->tracked)->kill(TAILQ_FIRST(&c->tracked));
	frpc_link_destroy_lingering(c);
	if (c->retry_ev)
		event_free(c->retry_ev);
	for (size_t i = 0; i < c->n_proxies; i++)
		frpc_proxy_unref(c->proxies[i]);
	free(c->proxies);
	for (size_t i = 0; i < c->nxp; i++)
		xport_unref(c->xp[i]);
	frpc_tls_fini(c);
	frpc_dns_free(c);
	conf_frpc_free(c->cfg);
	free(c->cfg_path);
	free(c);
}
