/*
 * admin.c - frpc's admin API on common/httpd (evhttp): frp's endpoints with
 * frp's shapes (/healthz, /api/status, /api/reload, /api/stop, /api/config)
 * so that frp's own `frpc status|reload|stop` can talk to it too, plus ours:
 * GET/PUT /api/transport (the link, the links draining, switch now).
 *
 * Requests that start a switch keep their evhttp_request until the switch
 * ends (bounded by the dial and login timeouts); if the HTTP client goes
 * away first, the answer is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "frpc.h"
#include "httpd.h"
#include "log.h"
#include "util.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

/* A request waiting for a switch to end. */
struct pending {
	struct frpc_admin *a;
	struct evhttp_request *req;   /* NULL once the client went away */
	bool reload;                  /* answer in /api/reload's shape */
	struct pending *next;
};

struct frpc_admin {
	struct frpc *c;
	struct httpd *h;
	struct event *stop_ev;
	struct pending *pend;
	struct httpd_route routes[8];  /* the table below; httpd borrows it */
};

static const char *const status_names[] = {
	[FRPC_PROXY_NEW] = "new",
	[FRPC_PROXY_WAIT_START] = "wait start",
	[FRPC_PROXY_RUNNING] = "running",
	[FRPC_PROXY_START_ERROR] = "start error",
	[FRPC_PROXY_CLOSED] = "closed",
};

/* The whole file, NUL-terminated, at most max bytes; NULL on error. */
static char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f) || n > max;
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
	httpd_reply_data(req, code, "text/plain; charset=utf-8", text,
			 text ? strlen(text) : 0);
}

static void on_healthz(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	(void)arg;
	reply_text(req, 200, "");
}

/* frp: {"tcp": [{name, type, status, err, local_addr, plugin, remote_addr}]}
 * with remote_addr = serverAddr + the ":port" frps answered. */
static void on_status(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frpc *c = arg;
	json_t *root = json_object();
	for (size_t i = 0; root && i < c->n_proxies; i++) {
		const struct frpc_proxy *p = c->proxies[i];
		json_t *list = json_object_get(root, p->conf.type_name);
		if (!list) {
			list = json_array();
			json_object_set_new(root, p->conf.type_name, list);
		}
		char local[300], remote[300] = "";
		snprintf(local, sizeof(local), "%s:%u", p->conf.local_ip,
			 p->conf.local_port);
		if (p->status == FRPC_PROXY_RUNNING && p->remote_addr)
			snprintf(remote, sizeof(remote), "%s%s",
				 p->remote_addr[0] == ':' ? c->cfg->server_addr : "",
				 p->remote_addr);
		json_array_append_new(
			list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
					"name", p->conf.name, "type",
					p->conf.type_name, "status",
					status_names[p->status], "err",
					p->err ? p->err : "", "local_addr", local,
					"plugin", "", "remote_addr", remote));
	}
	httpd_reply_json(req, 200, root);
}

static void pending_gone(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	struct pending *p = arg;
	p->req = NULL;
}

static void pending_unhook(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	if (conn)
		evhttp_connection_set_closecb(conn, NULL, NULL);
}

static void switch_answer(int err, const char *why, void *arg)
{
	struct pending *p = arg;
	struct frpc_admin *a = p->a;
	for (struct pending **pp = &a->pend; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->req) {
		struct evhttp_connection *conn =
			evhttp_request_get_connection(p->req);
		if (conn)
			evhttp_connection_set_closecb(conn, NULL, NULL);
		char msg[300];
		if (err)
			snprintf(msg, sizeof(msg), "switch failed, the old link "
				 "keeps serving: %s", why ? why : "error");
		if (p->reload)
			reply_text(p->req, err ? 500 : 200, err ? msg : "");
		else if (err)
			httpd_reply_error(p->req, 502, msg);
		else
			httpd_reply_json(p->req, 200,
					 json_pack("{s:s, s:s}", "protocol",
						   a->c->protocol, "state",
						   "online"));
	}
	free(p);
}

static struct pending *pending_new(struct frpc_admin *a,
				   struct evhttp_request *req, bool reload)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->a = a;
	p->req = req;
	p->reload = reload;
	p->next = a->pend;
	a->pend = p;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	if (conn)
		evhttp_connection_set_closecb(conn, pending_gone, p);
	return p;
}

static void on_reload(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frpc_admin *a = arg;
	char err[600];
	bool switching = false;
	struct pending *p = pending_new(a, req, true);
	if (!p) {
		reply_text(req, 500, "out of memory");
		return;
	}
	int rc = frpc_reload(a->c, switch_answer, p, &switching, err,
			     sizeof(err));
	if (switching)
		return; /* answered when the switch ends */
	a->pend = p->next;
	free(p);
	pending_unhook(req);
	if (rc < 0) {
		LOG_W("frpc", "reload refused: %s", err);
		reply_text(req, 400, err);
		return;
	}
	LOG_I("frpc", "success reload conf");
	reply_text(req, 200, "");
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc *c = arg;
	LOG_I("frpc", "stop requested through the admin API, exiting");
	event_base_loopexit(c->base, NULL);
}

static void on_stop(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frpc_admin *a = arg;
	reply_text(req, 200, "");
	/* Leave the loop a little later so the answer reaches the caller. */
	struct timeval tv = {0, 200000};
	evtimer_add(a->stop_ev, &tv);
}

static void on_config(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frpc *c = arg;
	if (!c->cfg_path) {
		reply_text(req, 400, "frpc has no configuration file");
		return;
	}
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		size_t n = 0;
		char *text = read_file(c->cfg_path, CONFIG_MAX_BYTES, &n);
		if (!text) {
			reply_text(req, 400, "cannot read the configuration file");
			return;
		}
		httpd_reply_data(req, 200, "text/plain; charset=utf-8", text, n);
		free(text);
		return;
	}
	size_t n = 0;
	char *body = httpd_body_string(req, &n);
	if (!body || n == 0) {
		free(body);
		reply_text(req, 400, "body can't be empty");
		return;
	}
	/* Replace the file atomically; a reload applies it. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", c->cfg_path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	bool ok = f && fwrite(body, 1, n, f) == n;
	if (f && fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, c->cfg_path) != 0) {
		unlink(tmp);
		free(body);
		reply_text(req, 500, "cannot write the configuration file");
		return;
	}
	free(body);
	reply_text(req, 200, "");
}

static const char *const link_states[] = {
	[FRPC_LINK_DIALING] = "dialing",
	[FRPC_LINK_LOGIN] = "login",
	[FRPC_LINK_ONLINE] = "online",
	[FRPC_LINK_DRAINING] = "draining",
};

static json_t *link_json(struct frpc_link *l)
{
	struct xport_stats st;
	frpc_link_stats(l, &st);
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:i, s:i, s:i, s:I, s:I, s:I, "
			       "s:I, s:i}",
			       "protocol", l->xp->ops->name, "server_addr", l->peer,
			       "since", (json_int_t)l->since, "state",
			       link_states[l->state], "srtt_ms", (int)st.srtt_ms,
			       "rto_ms", (int)st.rto_ms, "send_queue",
			       (int)st.send_queue, "retransmits",
			       (json_int_t)st.retransmits, "fec_recovered",
			       (json_int_t)st.fec_recovered, "bytes_in",
			       (json_int_t)st.bytes_in, "bytes_out",
			       (json_int_t)st.bytes_out, "connections", l->nwork);
	if (!o)
		return NULL;
	/* the sender's model of the path (0 where the transport has none) */
	json_object_set_new(o, "min_rtt_ms", json_integer(st.min_rtt_ms));
	json_object_set_new(o, "inflight_bytes", json_integer(st.inflight_bytes));
	json_object_set_new(o, "bandwidth_bps", json_integer((json_int_t)st.btl_bw_bps));
	json_object_set_new(o, "pacing_bps", json_integer((json_int_t)st.pacing_bps));
	json_object_set_new(o, "lost", json_integer((json_int_t)st.lost));
	return o;
}

static void transport_get(struct frpc_admin *a, struct evhttp_request *req)
{
	struct frpc *c = a->c;
	json_t *root = c->link ? link_json(c->link)
			       : json_pack("{s:s, s:s}", "protocol", c->protocol,
					   "state", "offline");
	json_t *dr = json_array();
	struct frpc_link *l;
	TAILQ_FOREACH(l, &c->draining, dlink)
		json_array_append_new(dr, link_json(l));
	json_object_set_new(root, "draining", dr);
	json_object_set_new(root, "switching",
			    c->next ? json_string(c->next->xp->ops->name)
				    : json_null());
	json_object_set_new(root, "fallback_active",
			    json_boolean(c->fallback_active));
	json_t *av = json_array();
	for (size_t i = 0; i < c->nxp; i++)
		json_array_append_new(av, json_string(c->xp[i]->ops->name));
	json_object_set_new(root, "available", av);
	httpd_reply_json(req, 200, root);
}

static void transport_put(struct frpc_admin *a, struct evhttp_request *req)
{
	char err[300];
	json_t *body = httpd_body_json(req, err, sizeof(err));
	const char *proto = body ? json_string_value(json_object_get(body,
								     "protocol"))
				 : NULL;
	if (!proto) {
		httpd_reply_error(req, 400, body ? "body must be {\"protocol\": "
					     "\"NAME\"}" : err);
		json_decref(body);
		return;
	}
	struct pending *p = pending_new(a, req, false);
	if (!p) {
		json_decref(body);
		httpd_reply_error(req, 500, "out of memory");
		return;
	}
	int rc = frpc_switch(a->c, proto, switch_answer, p, err, sizeof(err));
	json_decref(body);
	if (rc == 0)
		return; /* answered when the switch ends */
	a->pend = p->next;
	free(p);
	pending_unhook(req);
	if (rc == -EALREADY)
		httpd_reply_json(req, 200, json_pack("{s:s, s:s, s:s}", "protocol",
						     a->c->protocol, "state",
						     "online", "note", err));
	else
		httpd_reply_error(req, rc == -ENOENT ? 400
				       : rc == -EBUSY ? 409
						      : 503, err);
}

static void on_transport(struct evhttp_request *req, const char *rest,
			 void *arg)
{
	(void)rest;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		transport_get(arg, req);
	else
		transport_put(arg, req);
}

/* The admin page (web/frpc, compiled in): "/" and "/static/...". */
int frpc_admin_new(struct frpc *c, char *err, size_t errlen)
{
	const struct conf_web *w = &c->cfg->web;
	if (!w->port)
		return 0;
	struct frpc_admin *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->c = c;
	const struct httpd_route r[] = {
		{EVHTTP_REQ_GET, "/healthz", on_healthz, c, 1},
		{EVHTTP_REQ_GET, "/api/status", on_status, c, 0},
		{EVHTTP_REQ_GET, "/api/reload", on_reload, a, 0},
		{EVHTTP_REQ_POST, "/api/stop", on_stop, a, 0},
		{EVHTTP_REQ_GET | EVHTTP_REQ_PUT, "/api/config", on_config, c, 0},
		{EVHTTP_REQ_GET | EVHTTP_REQ_PUT, "/api/transport", on_transport,
		 a, 0},
		/* The page (admin_page.c). Last: "/" is a prefix that would
		 * take every other path. */
		{EVHTTP_REQ_GET, "/static/", frpc_admin_page, c, 0},
		{EVHTTP_REQ_GET, "/", frpc_admin_page, c, 0},
	};
	_Static_assert(sizeof(r) <= sizeof(a->routes), "raise routes[]");
	size_t n = sizeof(r) / sizeof(r[0]);
	memcpy(a->routes, r, sizeof(r));
	a->stop_ev = evtimer_new(c->base, stop_cb, c);
	struct httpd_conf hc = {
		.addr = w->addr,
		.port = w->port,
		.user = w->user,
		.password = w->password,
		.realm = "Restricted",
	};
	char herr[256] = "";
	int rc = a->stop_ev ? httpd_new(c->base, &hc, a->routes, n, &a->h, herr,
					sizeof(herr))
			    : -ENOMEM;
	if (rc < 0) {
		snprintf(err, errlen, "%s: webServer %s:%d: %s",
			 c->cfg->path ? c->cfg->path : "frpc", w->addr, w->port,
			 herr[0] ? herr : strerror(-rc));
		if (a->stop_ev)
			event_free(a->stop_ev);
		free(a);
		return rc;
	}
	c->admin = a;
	LOG_I("frpc", "admin API listening on %s:%d", w->addr, httpd_port(a->h));
	return 0;
}

void frpc_admin_free(struct frpc *c)
{
	struct frpc_admin *a = c->admin;
	if (!a)
		return;
	c->admin = NULL;
	/* Switch requests still waiting get no answer: the server closes. */
	while (a->pend) {
		struct pending *p = a->pend;
		a->pend = p->next;
		if (p->req) {
			struct evhttp_connection *conn =
				evhttp_request_get_connection(p->req);
			if (conn)
				evhttp_connection_set_closecb(conn, NULL, NULL);
		}
		free(p);
	}
	c->switch_cb = NULL;
	httpd_free(a->h);
	event_free(a->stop_ev);
	free(a);
}
