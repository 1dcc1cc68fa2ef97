/*
 * reload.c - re-reading the configuration file while running (SIGHUP,
 * GET /api/reload, `frpc reload`). The new file is checked as at start-up;
 * if anything is wrong the running configuration stays and the caller gets
 * the FILE:LINE:COL message.
 *
 * What a reload changes: proxies (added, removed, or closed and registered
 * again when their settings changed; unchanged ones are not touched), the
 * transport (a new transport.protocol, or changed transport.<plugin>
 * options of the one in use, switch the link make-before-break), the
 * drain and fallback settings. Keys that shape the session itself
 * (serverAddr, serverPort, user, auth, tcpMux, webServer, log) keep their
 * running values and a warning says a restart applies them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frpc.h"
#include "frpc_conf.h"
#include "log.h"
#include "util.h"
#include "xport_loader.h"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static bool has_fallback_now(const struct frpc *c)
{
	const char *f = c->cfg->fallback_protocol;
	return f && *f && strcmp(f, c->cfg->protocol) != 0;
}

static void swap_str(char **a, char **b)
{
	char *t = *a;
	*a = *b;
	*b = t;
}

/* Keep the running session's identity: warn about what would need a restart
 * and carry the running values into the new snapshot. */
static void keep_session_keys(struct frpc_conf *old, struct frpc_conf *nw)
{
#define KEEP_STR(f, key) \
	if (!str_eq(old->f, nw->f)) { \
		LOG_W("frpc", "reload: %s changed; it applies after a restart", key); \
		swap_str(&old->f, &nw->f); \
	}
#define KEEP_VAL(f, key) \
	if (old->f != nw->f) { \
		LOG_W("frpc", "reload: %s changed; it applies after a restart", key); \
		nw->f = old->f; \
	}
	KEEP_STR(server_addr, "serverAddr");
	KEEP_VAL(server_port, "serverPort");
	KEEP_STR(user, "user");
	KEEP_STR(client_id, "clientID");
	KEEP_STR(auth_token, "auth.token");
	KEEP_VAL(tcp_mux, "transport.tcpMux");
	KEEP_VAL(pool_count, "transport.poolCount");
	KEEP_STR(web.addr, "webServer.addr");
	KEEP_VAL(web.port, "webServer.port");
	KEEP_STR(web.user, "webServer.user");
	KEEP_STR(web.password, "webServer.password");
	KEEP_STR(log.to, "log.to");
	/* TLS is configured once at start (common/tls.h) */
	KEEP_VAL(tls.enable, "transport.tls.enable");
	KEEP_STR(tls.cert_file, "transport.tls.certFile");
	KEEP_STR(tls.key_file, "transport.tls.keyFile");
	KEEP_STR(tls.trusted_ca_file, "transport.tls.trustedCaFile");
	KEEP_STR(tls.server_name, "transport.tls.serverName");
	KEEP_VAL(tls.disable_custom_first_byte,
		 "transport.tls.disableCustomTLSFirstByte");
#undef KEEP_STR
#undef KEEP_VAL
}

/* New transport instances for plugins whose options changed. */
static int rebuild_transports(struct frpc *c, const struct frpc_conf *nw,
			      struct frpc_xport **fresh, char *err,
			      size_t errlen)
{
	for (size_t i = 0; i < c->nxp; i++) {
		const char *name = c->xp[i]->ops->name;
		const struct conf_xport_opts *o =
			conf_xport_find(nw->xport, nw->n_xport, name);
		fresh[i] = NULL;
		if (frpc_conf_xopts_equal(c->xp[i]->opts, o))
			continue;
		int rc = frpc_xport_build(c->base, nw, c->xp[i]->ops, &fresh[i],
					  err, errlen);
		if (rc < 0) {
			while (i--)
				frpc_xport_unref(fresh[i]);
			return rc;
		}
	}
	return 0;
}

static struct frpc_proxy *find_by_conf_name(struct frpc_proxy **v, size_t n,
					    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && strcmp(v[i]->conf.name, name) == 0)
			return v[i];
	return NULL;
}

/* Build the new proxy list reusing unchanged proxies; tell frps about the
 * differences over the current link. */
static int apply_proxies(struct frpc *c, const struct frpc_conf *nw)
{
	struct frpc_proxy **v = calloc(nw->n_proxies ? nw->n_proxies : 1,
				       sizeof(*v));
	if (!v)
		return -ENOMEM;
	bool *kept = calloc(c->n_proxies ? c->n_proxies : 1, sizeof(*kept));
	if (!kept) {
		free(v);
		return -ENOMEM;
	}
	size_t added = 0, changed = 0, removed = 0;
	for (size_t i = 0; i < nw->n_proxies; i++) {
		const struct conf_proxy *np = &nw->proxies[i];
		struct frpc_proxy *op =
			find_by_conf_name(c->proxies, c->n_proxies, np->name);
		if (op && frpc_conf_proxy_equal(&op->conf, np)) {
			for (size_t j = 0; j < c->n_proxies; j++)
				if (c->proxies[j] == op)
					kept[j] = true;
			frpc_proxy_ref(op);
			v[i] = op;
			continue;
		}
		if (!(v[i] = frpc_proxy_new(nw, np))) {
			while (i--)
				frpc_proxy_unref(v[i]);
			free(v);
			free(kept);
			return -ENOMEM;
		}
		if (op)
			changed++;
		else
			added++;
	}
	struct frpc_link *l = c->link && c->link->logged_in ? c->link : NULL;
	for (size_t j = 0; j < c->n_proxies; j++) {
		struct frpc_proxy *op = c->proxies[j];
		if (kept[j]) {
			frpc_proxy_unref(op);
			continue;
		}
		if (!find_by_conf_name(v, nw->n_proxies, op->conf.name))
			removed++;
		LOG_I("frpc", "[%s] reload: closing proxy", op->conf.name);
		if (l)
			frpc_link_send_close_proxy(l, op);
		op->removed = true;
		op->status = FRPC_PROXY_CLOSED;
		frpc_proxy_unref(op); /* users still running keep their copy */
	}
	free(kept);
	free(c->proxies);
	c->proxies = v;
	c->n_proxies = nw->n_proxies;
	for (size_t i = 0; i < c->n_proxies; i++)
		if (c->proxies[i]->status == FRPC_PROXY_NEW && l)
			frpc_link_send_new_proxy(l, c->proxies[i]);
	/* A switch under way registers the new list when it logs in. */
	LOG_I("frpc", "reload: %zu proxies added, %zu changed, %zu removed, "
		      "%zu unchanged", added, changed, removed,
	      c->n_proxies - added - changed);
	return 0;
}

int frpc_reload(struct frpc *c, frpc_switch_cb cb, void *arg, bool *switching,
		char *err, size_t errlen)
{
	*switching = false;
	if (!c->cfg_path) {
		snprintf(err, errlen, "frpc was started without a configuration "
			 "file; nothing to reload");
		return -ENOENT;
	}
	struct frpc_conf *nw = NULL;
	int rc = conf_frpc_load(c->cfg_path, &nw, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = frpc_check_transports(nw, err, errlen)) < 0) {
		conf_frpc_free(nw);
		return rc;
	}
	struct frpc_xport *fresh[FRPC_MAX_XPORTS] = {0};
	if ((rc = rebuild_transports(c, nw, fresh, err, errlen)) < 0) {
		conf_frpc_free(nw);
		return rc;
	}
	keep_session_keys(c->cfg, nw);
	bool proto_changed = strcmp(nw->protocol, c->cfg->protocol) != 0;
	if ((rc = apply_proxies(c, nw)) < 0) {
		for (size_t i = 0; i < c->nxp; i++)
			frpc_xport_unref(fresh[i]);
		conf_frpc_free(nw);
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	/* Links hold their own reference to the instance they ride on. */
	bool cur_rebuilt = false;
	for (size_t i = 0; i < c->nxp; i++)
		if (fresh[i]) {
			LOG_I("frpc", "reload: transport.%s options changed",
			      c->xp[i]->ops->name);
			if (c->link && c->link->xp == c->xp[i])
				cur_rebuilt = true;
			frpc_xport_unref(c->xp[i]);
			c->xp[i] = fresh[i];
		}
	struct frpc_conf *old = c->cfg;
	c->cfg = nw;
	conf_frpc_free(old);
	if (!has_fallback_now(c))
		c->fallback_active = false;
	/* The file's transport.protocol becomes current (a switch made by the
	 * API lasts until the next reload). A file that still names the
	 * protocol we fell back from does not undo the fallback: the retry
	 * timer moves back when it can. */
	const char *want = c->cfg->protocol;
	if (!proto_changed && c->fallback_active)
		want = c->protocol;
	if (strcmp(want, c->protocol) == 0 && !cur_rebuilt)
		return 0;
	char serr[160];
	rc = frpc_switch(c, want, cb, arg, serr, sizeof(serr));
	if (rc == 0) {
		*switching = true;
		return 0;
	}
	if (rc == -EALREADY || rc == -ENOTCONN) {
		LOG_I("frpc", "reload: %s", serr);
		return 0;
	}
	snprintf(err, errlen, "reload applied, but the switch to %s did not "
		 "start: %s", want, serr);
	return rc;
}
