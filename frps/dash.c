/*
 * dash.c - the dashboard's life cycle: route table, web server, stats file.
 *
 * The stats file is saved from the server's 1-s tick when the stats changed
 * and FRPS_STATSFILE_EVERY_MS has passed since the last save, and once more
 * at shutdown; a failing save is logged when its reason changes, not every
 * time.
 */
#include "dash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>

#include "dash_int.h"
#include "frps.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "stats.h"
#include "statsfile.h"
#include "util.h"
#include "web_assets.h"

#define MAX_ROUTES 16
/* Link health in the debug log every minute (the first 5 s after start). */
#define FRPS_DASH_LOG_EVERY_TICKS 60

struct frps_dash {
	struct frps *s;
	struct httpd *http;
	struct httpd_route routes[MAX_ROUTES];
	size_t nroutes;
	char *stats_path;      /* NULL: not persisted */
	uint64_t saved_gen;
	uint64_t last_save_ms;
	bool force_save;       /* the file on disk is bad: replace it */
	char last_err[256];    /* last save failure we logged */
};

/* ---- static files and metrics ------------------------------------------- */

static void on_static(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)arg;
	char path[256];
	snprintf(path, sizeof(path), "/%s", rest);
	const struct web_asset *a =
		web_asset_find(web_frps_assets, web_frps_nassets, path);
	if (!a) {
		httpd_reply_error(req, 404, "not found");
		return;
	}
	httpd_reply_data(req, 200, a->type, a->data, a->len);
}

static void on_metrics(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frps *s = arg;
	struct evbuffer *b = evbuffer_new();
	if (!b || frps_metrics_render(s->stats, frps_dash_links_fn, s, b) < 0) {
		if (b)
			evbuffer_free(b);
		httpd_reply_error(req, 500, "out of memory");
		return;
	}
	httpd_reply_buffer(req, 200, "text/plain; version=0.0.4; charset=utf-8",
			   b);
	evbuffer_free(b);
}

size_t frps_dash_links_fn(void *arg, const char *run_id,
			  struct frps_link_view *out, size_t max)
{
	return frps_dash_links(arg, run_id, out, max);
}

static void add_route(struct frps_dash *d, int methods, const char *path,
		      httpd_handler_cb cb, bool public_route)
{
	if (d->nroutes == MAX_ROUTES)
		return; /* the table below is fixed; see MAX_ROUTES */
	d->routes[d->nroutes++] = (struct httpd_route){
		.methods = methods,
		.path = path,
		.cb = cb,
		.arg = d->s,
		.public_route = public_route,
	};
}

static void build_routes(struct frps_dash *d)
{
	const int GET = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD;
	add_route(d, GET, "/healthz", frps_api_healthz, true);
	add_route(d, GET, "/api/serverinfo", frps_api_serverinfo, false);
	add_route(d, GET, "/api/proxy/", frps_api_proxy, false);
	add_route(d, EVHTTP_REQ_DELETE, "/api/proxies", frps_api_proxies_delete,
		  false);
	add_route(d, GET, "/api/proxies/", frps_api_proxy_by_name, false);
	add_route(d, GET, "/api/traffic/", frps_api_traffic, false);
	add_route(d, GET, "/api/clients", frps_api_clients, false);
	add_route(d, GET, "/api/clients/", frps_api_client, false);
	if (d->s->cfg->enable_prometheus)
		add_route(d, GET, "/metrics", on_metrics, false);
	add_route(d, GET, "/", on_static, false);
	add_route(d, GET, "/static/", on_static, false);
}

/* ---- stats file ----------------------------------------------------------- */

static void save_now(struct frps_dash *d)
{
	char err[256];
	uint64_t gen = d->s->stats->generation;
	d->last_save_ms = util_now_ms();
	if (frps_statsfile_save(d->s->stats, d->stats_path, err, sizeof(err)) < 0) {
		if (strcmp(err, d->last_err) != 0)
			LOG_W("frps", "stats file: %s (will retry)", err);
		snprintf(d->last_err, sizeof(d->last_err), "%s", err);
		return;
	}
	if (d->last_err[0])
		LOG_I("frps", "stats file %s: saved again", d->stats_path);
	d->last_err[0] = '\0';
	d->saved_gen = gen;
	d->force_save = false;
}

static void load_stats(struct frps_dash *d)
{
	char err[256];
	const char *p = d->stats_path;
	int rc = frps_statsfile_load(d->s->stats, p, err, sizeof(err));
	if (rc == 0) {
		LOG_I("frps", "stats file %s: traffic counters restored", p);
	} else if (rc == -ENOENT) {
		LOG_I("frps", "stats file %s: none yet, starting from zero", p);
		d->force_save = true;
	} else {
		LOG_W("frps", "stats file %s is unusable (%s): starting from "
			      "zero, it will be replaced", p, err);
		d->force_save = true;
	}
	d->saved_gen = d->s->stats->generation;
	/* Make the directory of the default path under /var/lib. */
	char *slash = strrchr(d->stats_path, '/');
	if (slash && slash != d->stats_path) {
		*slash = '\0';
		if (mkdir(d->stats_path, 0750) == -1 && errno != EEXIST)
			LOG_D("frps", "mkdir %s: %s", d->stats_path,
			      strerror(errno));
		*slash = '/';
	}
}

/* ---- life cycle ------------------------------------------------------------ */

int frps_dash_start(struct frps *s, char *err, size_t errlen)
{
	const struct frps_conf *cfg = s->cfg;
	if (!cfg->web.port && cfg->stats_file && *cfg->stats_file)
		LOG_W("frps", "webServer.statsFile is set but webServer.port is "
			      "0: traffic counters are not kept");
	if (!cfg->web.port && !cfg->enable_prometheus)
		return 0;
	struct frps_dash *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->s = s;
	s->dash = d;
	if (!cfg->web.port) {
		/* Prometheus is served by the web server: frp ignores the
		 * key in this case too, but we say so. */
		LOG_W("frps", "enablePrometheus needs webServer.port: no "
			      "/metrics is served");
		return 0;
	}
	build_routes(d);
	struct httpd_conf hc = {
		.addr = cfg->web.addr,
		.port = cfg->web.port,
		.user = cfg->web.user,
		.password = cfg->web.password,
		.realm = "frps",
	};
	char herr[256];
	int rc = httpd_new(s->base, &hc, d->routes, d->nroutes, &d->http, herr,
			   sizeof(herr));
	if (rc < 0) {
		snprintf(err, errlen, "webServer: %s", herr);
		return rc;
	}
	/* Only once the port is ours: a server that fails to start must
	 * not rewrite the file. */
	d->stats_path = frps_statsfile_default_path(cfg->stats_file, cfg->path);
	if (!d->stats_path) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	load_stats(d);
	LOG_I("frps", "dashboard listening on %s:%d%s%s",
	      cfg->web.addr && *cfg->web.addr ? cfg->web.addr : "127.0.0.1",
	      httpd_port(d->http),
	      cfg->enable_prometheus ? " (with /metrics)" : "",
	      (cfg->web.user && *cfg->web.user) ||
			      (cfg->web.password && *cfg->web.password)
		      ? ", basic auth"
		      : "");
	return 0;
}

/* A debug line per online client with its link health and rates, from
 * the same model and link views the API renders. */
static void log_links(struct frps *s)
{
	if (log_get_level() > XPORT_LOG_DEBUG)
		return;
	size_t pos = 0;
	const struct frps_client_stats *c;
	int64_t mono = frps_stats_mono_s();
	while ((c = frps_stats_client_next(s->stats, &pos))) {
		struct frps_link_view v[4];
		size_t n = c->online ? frps_dash_links(s, c->run_id, v, 4) : 0;
		if (n == 0)
			continue;
		uint64_t ri, ro;
		frps_traffic_rate(&c->traffic, mono, &ri, &ro);
		LOG_D("frps", "[%s] link %s srtt %u ms rto %u ms retransmits %llu "
			      "fec recovered %llu crypt failures %llu, %zu draining; "
			      "rate in %llu B/s out %llu B/s",
		      c->run_id, v[0].transport, v[0].xs.srtt_ms, v[0].xs.rto_ms,
		      (unsigned long long)v[0].xs.retransmits,
		      (unsigned long long)v[0].xs.fec_recovered,
		      (unsigned long long)v[0].xs.crypt_failures,
		      n - 1,
		      (unsigned long long)ri, (unsigned long long)ro);
	}
}

void frps_dash_tick(struct frps *s)
{
	if (s->ticks % FRPS_DASH_LOG_EVERY_TICKS == 5)
		log_links(s);
	struct frps_dash *d = s->dash;
	if (!d || !d->stats_path)
		return;
	if (d->saved_gen == s->stats->generation && !d->force_save)
		return;
	if (util_now_ms() - d->last_save_ms < FRPS_STATSFILE_EVERY_MS)
		return;
	save_now(d);
}

void frps_dash_stop(struct frps *s)
{
	struct frps_dash *d = s->dash;
	if (!d)
		return;
	httpd_free(d->http);
	if (d->stats_path)
		save_now(d);
	free(d->stats_path);
	free(d);
	s->dash = NULL;
}

int frps_dash_port(const struct frps *s)
{
	return s->dash ? httpd_port(s->dash->http) : 0;
}
