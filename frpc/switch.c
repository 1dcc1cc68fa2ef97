/*
 * switch.c - moving the client's link between transports while it runs, and
 * what decides to move it: a request (admin API), a reload, the fallback.
 *
 * Make before break: the new link is dialed over the other transport, logs
 * in with the client's run_id and registers every proxy; only then does it
 * become current and the old link is retired (it stops taking work; user
 * connections relaying on it go on until they end or transport.drainTimeout).
 * frps treats a login with an online run_id as the same client moving, so
 * its public listeners never close. A switch that fails before its login is
 * answered leaves the old link serving.
 *
 * Fallback: when a login over transport.protocol gets no answer within
 * fallbackTimeout (UDP blocked, say), the client logs in over
 * fallbackProtocol and every fallbackRetryInterval tries the configured
 * protocol again by the same switch.
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

static bool has_fallback(const struct frpc *c)
{
	const char *f = c->cfg->fallback_protocol;
	return f && *f && strcmp(f, c->cfg->protocol) != 0;
}

static void switch_done(struct frpc *c, int err, const char *why)
{
	frpc_switch_cb cb = c->switch_cb;
	void *arg = c->switch_arg;
	c->switch_cb = NULL;
	c->switch_arg = NULL;
	if (cb)
		cb(err, why, arg);
}

static void fallback_arm(struct frpc *c)
{
	if (!c->fallback_ev)
		return;
	struct timeval tv = {c->cfg->fallback_retry_interval, 0};
	evtimer_add(c->fallback_ev, &tv);
}

static void fallback_try_done(int err, const char *why, void *arg)
{
	struct frpc *c = arg;
	if (err) {
		LOG_I("frpc", "still no way over %s (%s); staying on %s, next try "
			      "in %d s", c->cfg->protocol, why ? why : "failed",
		      c->protocol, c->cfg->fallback_retry_interval);
		fallback_arm(c);
	}
}

static void fallback_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc *c = arg;
	if (!c->fallback_active)
		return;
	if (!c->link || c->link->state != FRPC_LINK_ONLINE || c->next) {
		fallback_arm(c);
		return;
	}
	char err[160];
	LOG_I("frpc", "fallback: trying %s again", c->cfg->protocol);
	int rc = frpc_switch(c, c->cfg->protocol, fallback_try_done, c, err,
			     sizeof(err));
	if (rc < 0 && rc != -EALREADY) {
		LOG_W("frpc", "fallback: %s", err);
		fallback_arm(c);
	}
}

int frpc_switch(struct frpc *c, const char *proto, frpc_switch_cb cb,
		void *arg, char *err, size_t errlen)
{
	struct frpc_xport *xp = frpc_xport_find(c, proto);
	if (!xp) {
		snprintf(err, errlen, "no transport plugin \"%s\" is loaded", proto);
		return -ENOENT;
	}
	if (c->next) {
		snprintf(err, errlen, "a switch to %s is already under way",
			 c->next->xp->ops->name);
		return -EBUSY;
	}
	if (c->link && c->link->xp == xp) {
		snprintf(err, errlen, "already on %s", proto);
		return -EALREADY;
	}
	if (!c->link) {
		/* Not connected: the next connection attempt uses it. */
		snprintf(c->protocol, sizeof(c->protocol), "%s", proto);
		snprintf(err, errlen, "not connected to the server; the next "
			 "connection uses %s", proto);
		return -ENOTCONN;
	}
	LOG_I("frpc", "switching the link from %s to %s (make before break)",
	      c->link->xp->ops->name, proto);
	c->next = frpc_link_new(c, xp);
	if (!c->next) {
		snprintf(err, errlen, "cannot start dialing over %s", proto);
		return -EIO;
	}
	c->switch_cb = cb;
	c->switch_arg = arg;
	return 0;
}

void frpc_link_online(struct frpc *c, struct frpc_link *l)
{
	if (l == c->link) {
		if (c->fallback_active)
			fallback_arm(c);
		return;
	}
	if (l != c->next)
		return;
	struct frpc_link *old = c->link;
	c->link = l;
	c->next = NULL;
	snprintf(c->protocol, sizeof(c->protocol), "%s", l->xp->ops->name);
	if (old) {
		LOG_I("frpc", "switched link: now over %s to %s (was %s to %s)",
		      l->xp->ops->name, l->peer, old->xp->ops->name, old->peer);
		frpc_link_retire(old);
	} else {
		/* The old control already ended (frps closes it when the new
		 * link logs in, and that may arrive first). */
		LOG_I("frpc", "switched link: now over %s to %s (was %s)",
		      l->xp->ops->name, l->peer, c->was_proto);
	}
	if (c->fallback_active && strcmp(c->protocol, c->cfg->protocol) == 0) {
		c->fallback_active = false;
		LOG_I("frpc", "fallback over: back on %s", c->protocol);
	}
	switch_done(c, 0, NULL);
}

void frpc_link_lost(struct frpc *c, struct frpc_link *l, bool logged_in,
		    const char *why)
{
	if (c->shutting_down) {
		if (l == c->next)
			c->next = NULL;
		if (l == c->link)
			c->link = NULL;
		return;
	}
	if (l && l == c->next) {
		c->next = NULL;
		LOG_W("frpc", "switch to %s failed: %s; %s",
		      l->xp->ops->name, why ? why : "closed",
		      c->link ? "the old link keeps serving" : "reconnecting");
		switch_done(c, -EIO, why ? why : "closed");
		if (!c->link)
			frpc_reconnect_later(c, false, why);
		return;
	}
	if (l && c->link != l)
		return; /* an old link draining, or a deliberate close */
	c->link = NULL;
	if (!why)
		return; /* closed on purpose (shutdown) */
	/* Connections relaying on the lost link go on while they can. */
	if (l && (l->nwork > 0 || c->next))
		frpc_link_mark_draining(l);
	if (l)
		snprintf(c->was_proto, sizeof(c->was_proto), "%s",
			 l->xp->ops->name);
	if (c->next) {
		/* frps closed our old control when the new link logged in,
		 * before we read its answer: the switch goes on. */
		LOG_D("frpc", "old link's control ended during the switch: %s",
		      why);
		return;
	}
	bool on_configured = strcmp(c->protocol, c->cfg->protocol) == 0;
	if (l && !logged_in && on_configured && has_fallback(c)) {
		LOG_W("frpc", "login over %s failed (%s); falling back to %s, "
			      "trying %s again every %d s", c->protocol, why,
		      c->cfg->fallback_protocol, c->cfg->protocol,
		      c->cfg->fallback_retry_interval);
		snprintf(c->protocol, sizeof(c->protocol), "%s",
			 c->cfg->fallback_protocol);
		c->fallback_active = true;
		if (!c->fallback_ev)
			c->fallback_ev = evtimer_new(c->base, fallback_retry, c);
		struct timeval now = {0, 0};
		event_add(c->retry_ev, &now);
		return;
	}
	frpc_reconnect_later(c, logged_in, why);
}

void frpc_switch_free(struct frpc *c)
{
	if (c->fallback_ev)
		event_free(c->fallback_ev);
	c->fallback_ev = NULL;
	c->switch_cb = NULL;
}
