/*
 * client.c - frpc's top level: the transport instance, the current link to
 * frps and reconnecting with exponential backoff (1 s doubling to 20 s, with
 * jitter). Every new login re-registers every proxy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "frpc.h"
#include "log.h"
#include "util.h"
#include "xport_loader.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 20000

struct frpc_proxy *frpc_find_proxy(struct frpc *c, const char *name)
{
	for (size_t i = 0; i < c->cfg->n_proxies; i++)
		if (strcmp(c->proxies[i].wire_name, name) == 0)
			return &c->proxies[i];
	return NULL;
}

static void connect_now(struct frpc *c)
{
	c->link = frpc_link_new(c);
	if (!c->link)
		frpc_link_lost(c, NULL, false, "cannot start connecting");
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_now(arg);
}

void frpc_link_lost(struct frpc *c, struct frpc_link *l, bool logged_in,
		    const char *why)
{
	if (l && c->link != l)
		return; /* an old link draining, or a deliberate close */
	c->link = NULL;
	for (size_t i = 0; i < c->cfg->n_proxies; i++)
		c->proxies[i].status = FRPC_PROXY_NEW;
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

int frpc_new(struct event_base *base, struct frpc_conf *cfg, struct frpc **out,
	     char *err, size_t errlen)
{
	struct frpc *c = calloc(1, sizeof(*c));
	if (!c) {
		conf_frpc_free(cfg);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->base = base;
	c->cfg = cfg;
	TAILQ_INIT(&c->tracked);
	c->proxies = calloc(cfg->n_proxies ? cfg->n_proxies : 1, sizeof(*c->proxies));
	c->retry_ev = event_new(base, -1, 0, retry_cb, c);
	if (!c->proxies || !c->retry_ev) {
		snprintf(err, errlen, "out of memory");
		frpc_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_proxies; i++) {
		struct frpc_proxy *p = &c->proxies[i];
		p->conf = &cfg->proxies[i];
		const char *user = cfg->user ? cfg->user : "";
		size_t n = strlen(user) + strlen(p->conf->name) + 2;
		if (!(p->wire_name = malloc(n))) {
			snprintf(err, errlen, "out of memory");
			frpc_free(c);
			return -ENOMEM;
		}
		snprintf(p->wire_name, n, "%s%s%s", user, *user ? "." : "",
			 p->conf->name);
	}
	int trc = frpc_tls_init(c, err, errlen);
	if (trc < 0) {
		frpc_free(c);
		return trc;
	}
	c->ops = xport_find(cfg->protocol);
	if (!c->ops) {
		snprintf(err, errlen, "transport.protocol \"%s\": no such transport "
				      "plugin loaded", cfg->protocol);
		frpc_free(c);
		return -ENOENT;
	}
	const struct conf_xport_opts *xo =
		conf_xport_find(cfg->xport, cfg->n_xport, cfg->protocol);
	char perr[256] = "";
	int rc = c->ops->init(base, xo ? xo->opts : NULL, xo ? xo->n : 0, &c->xctx,
			      perr, sizeof(perr));
	if (rc < 0) {
		const char *where = cfg->path ? cfg->path : "command line";
		/* Point at the offending key when the plugin named it. */
		if (xo)
			for (size_t i = 0; i < xo->n; i++)
				if (strstr(perr, xo->opts[i].key)) {
					where = xo->where[i];
					break;
				}
		snprintf(err, errlen, "%s: transport.%s: %s", where, cfg->protocol,
			 perr[0] ? perr : strerror(-rc));
		c->xctx = NULL;
		frpc_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void frpc_start(struct frpc *c)
{
	LOG_I("frpc", "start frpc service, server %s:%u over %s, %zu proxies",
	      c->cfg->server_addr, c->cfg->server_port, c->ops->name,
	      c->cfg->n_proxies);
	connect_now(c);
}

void frpc_free(struct frpc *c)
{
	if (!c)
		return;
	if (c->link) {
		struct frpc_link *l = c->link;
		c->link = NULL;
		frpc_link_close(l);
	}
	while (!TAILQ_EMPTY(&c->tracked))
		TAILQ_FIRST(&c->tracked)->kill(TAILQ_FIRST(&c->tracked));
	if (c->retry_ev)
		event_free(c->retry_ev);
	if (c->proxies)
		for (size_t i = 0; i < c->cfg->n_proxies; i++) {
			free(c->proxies[i].remote_addr);
			free(c->proxies[i].err);
			free(c->proxies[i].wire_name);
		}
	free(c->proxies);
	if (c->xctx)
		c->ops->fini(c->xctx);
	frpc_tls_fini(c);
	conf_frpc_free(c->cfg);
	free(c);
}
