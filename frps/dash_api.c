/*
 * dash_api.c - the dashboard's JSON API: frp's paths, keys and shapes
 * (serverinfo, proxy, traffic, DELETE proxies) plus ours (clients with
 * their links, live rates). Every handler renders the stats model and the
 * link views; nothing here keeps numbers.
 *
 * Keys frp has keep frp's spelling and units (bytes, "MM-DD hh:mm:ss"
 * local times for proxies); keys that are ours are camelCase too, with the
 * unit in the name where it is not bytes (srttMs, since = unix seconds).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>

#include "dash_int.h"
#include "frps.h"
#include "httpd.h"
#include "stats.h"
#include "version.h"

#define MAX_LINKS 4

static json_t *ju(uint64_t v) { return json_integer((json_int_t)v); }

/* frp's proxy times: "01-02 15:04:05" local time, "" for never. */
static json_t *frp_time(int64_t t)
{
	char buf[32] = "";
	struct tm tm;
	time_t tt = (time_t)t;
	if (t > 0 && localtime_r(&tt, &tm))
		strftime(buf, sizeof(buf), "%m-%d %H:%M:%S", &tm);
	return json_string(buf);
}

/* Build the object with json_pack; NULL (and 500) when it fails. */
static void reply(struct evhttp_request *req, json_t *o)
{
	if (!o) {
		httpd_reply_error(req, 500, "out of memory");
		return;
	}
	httpd_reply_json(req, 200, o);
}

void frps_api_healthz(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	(void)arg;
	httpd_reply_data(req, 200, "text/plain; charset=utf-8", "", 0);
}

void frps_api_serverinfo(struct evhttp_request *req, const char *rest,
			 void *arg)
{
	(void)rest;
	struct frps *s = arg;
	const struct frps_conf *cfg = s->cfg;
	const struct frps_stats *st = s->stats;
	int64_t today = frps_stats_today();
	uint64_t ri, ro;
	frps_traffic_rate(&st->total, frps_stats_mono_s(), &ri, &ro);
	json_t *types = json_object(), *xports = json_array();
	size_t pos = 0;
	const struct frps_proxy_stats *p;
	while (types && (p = frps_stats_proxy_next(st, &pos))) {
		if (!p->online)
			continue;
		const char *t = p->type ? p->type : "";
		json_t *n = json_object_get(types, t);
		json_object_set_new(types, t,
				    json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	for (size_t i = 0; xports && i < s->nxp; i++)
		json_array_append_new(xports, json_string(s->xp[i].ops->name));
	reply(req, json_pack(
		"{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:i, s:i, s:b,"
		" s:o, s:o, s:i, s:i, s:o*,"
		" s:o, s:o, s:o, s:I, s:I}",
		"version", FRP_WIRE_VERSION, "bindPort", cfg->bind_port,
		"vhostHTTPPort", 0, "vhostHTTPSPort", 0,
		"tcpmuxHTTPConnectPort", 0, "kcpBindPort", cfg->kcp_bind_port,
		"quicBindPort", 0, "subdomainHost", "",
		"maxPoolCount", cfg->max_pool_count,
		"maxPortsPerClient", cfg->max_ports_per_client,
		"heartbeatTimeout", cfg->heartbeat_timeout,
		"tlsForce", (int)cfg->tls.force,
		"totalTrafficIn", ju(frps_traffic_today_in(&st->total, today)),
		"totalTrafficOut", ju(frps_traffic_today_out(&st->total, today)),
		"curConns", st->cur_conns, "clientCounts", st->clients_online,
		"proxyTypeCount", types,
		/* ours */
		"transports", xports ? xports : json_array(),
		"rateIn", ju(ri), "rateOut", ju(ro),
		"lifetimeTrafficIn", (json_int_t)st->total.in,
		"lifetimeTrafficOut", (json_int_t)st->total.out));
}

/* One proxy in frp's shape (+ ours: type, remotePort, runID, rates). */
static json_t *proxy_json(const struct frps_proxy_stats *p, bool with_version)
{
	int64_t today = frps_stats_today();
	uint64_t ri, ro;
	frps_traffic_rate(&p->traffic, frps_stats_mono_s(), &ri, &ro);
	json_t *conf = json_null();
	if (p->online)
		conf = json_pack("{s:s, s:s, s:i}", "name", p->name, "type",
				 p->type ? p->type : "", "remotePort",
				 p->remote_port);
	json_t *o = json_pack(
		"{s:s, s:o*, s:s, s:s, s:o, s:o, s:i, s:o, s:o, s:s,"
		" s:s, s:i, s:s, s:o, s:o, s:I, s:I}",
		"name", p->name, "conf", conf, "user", p->user ? p->user : "",
		"clientID", "", "todayTrafficIn",
		ju(frps_traffic_today_in(&p->traffic, today)),
		"todayTrafficOut", ju(frps_traffic_today_out(&p->traffic, today)),
		"curConns", p->cur_conns, "lastStartTime", frp_time(p->last_start),
		"lastCloseTime", frp_time(p->last_close),
		"status", p->online ? "online" : "offline",
		/* ours */
		"type", p->type ? p->type : "", "remotePort", p->remote_port,
		"runID", p->run_id ? p->run_id : "", "rateIn", ju(ri),
		"rateOut", ju(ro), "trafficIn", (json_int_t)p->traffic.in,
		"trafficOut", (json_int_t)p->traffic.out);
	if (o && with_version && p->online)
		json_object_set_new(o, "clientVersion",
				    json_string(p->client_version ? p->client_version : ""));
	return o;
}

static bool type_is(const struct frps_proxy_stats *p, const char *type)
{
	return strcmp(p->type ? p->type : "", type) == 0;
}

void frps_api_proxy(struct evhttp_request *req, const char *rest, void *arg)
{
	struct frps *s = arg;
	char type[32];
	const char *slash = strchr(rest, '/');
	size_t tl = slash ? (size_t)(slash - rest) : strlen(rest);
	if (tl == 0 || tl >= sizeof(type)) {
		httpd_reply_error(req, 404, "no proxy info found");
		return;
	}
	memcpy(type, rest, tl);
	type[tl] = '\0';
	if (slash) {
		const struct frps_proxy_stats *p =
			frps_stats_proxy_find(s->stats, slash + 1);
		if (!p || !type_is(p, type)) {
			httpd_reply_error(req, 404, "no proxy info found");
			return;
		}
		reply(req, proxy_json(p, false));
		return;
	}
	json_t *arr = json_array();
	size_t pos = 0;
	const struct frps_proxy_stats *p;
	while (arr && (p = frps_stats_proxy_next(s->stats, &pos))) {
		if (!type_is(p, type))
			continue;
		json_t *o = proxy_json(p, true);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	reply(req, arr ? json_pack("{s:o}", "proxies", arr) : NULL);
}

void frps_api_proxy_by_name(struct evhttp_request *req, const char *rest,
			    void *arg)
{
	struct frps *s = arg;
	const struct frps_proxy_stats *p = frps_stats_proxy_find(s->stats, rest);
	if (!p) {
		httpd_reply_error(req, 404, "no proxy info found");
		return;
	}
	reply(req, proxy_json(p, false));
}

void frps_api_proxies_delete(struct evhttp_request *req, const char *rest,
			     void *arg)
{
	(void)rest;
	struct frps *s = arg;
	char status[16];
	if (httpd_query(req, "status", status, sizeof(status)) < 0 ||
	    strcmp(status, "offline") != 0) {
		httpd_reply_error(req, 400, "status only supports offline");
		return;
	}
	size_t n = frps_stats_prune_offline(s->stats);
	reply(req, json_pack("{s:I}", "cleared", (json_int_t)n));
}

void frps_api_traffic(struct evhttp_request *req, const char *rest, void *arg)
{
	struct frps *s = arg;
	const struct frps_proxy_stats *p = frps_stats_proxy_find(s->stats, rest);
	if (!p) {
		httpd_reply_error(req, 404, "no proxy info found");
		return;
	}
	uint64_t in[FRPS_STATS_DAYS], out[FRPS_STATS_DAYS];
	frps_traffic_days(&p->traffic, frps_stats_today(), in, out);
	json_t *ai = json_array(), *ao = json_array();
	for (int i = 0; ai && ao && i < FRPS_STATS_DAYS; i++) {
		json_array_append_new(ai, ju(in[i]));
		json_array_append_new(ao, ju(out[i]));
	}
	reply(req, json_pack("{s:s, s:o, s:o}", "name", p->name, "trafficIn",
			     ai, "trafficOut", ao));
}

/* ---- clients ---------------------------------------------------------------- */

static json_t *link_json(const struct frps_link_view *l)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:b}", "transport", l->transport,
			      "addr", l->addr, "since", (json_int_t)l->since,
			      "draining", l->draining);
	if (o && l->streams >= 0)
		json_object_set_new(o, "streams", json_integer(l->streams));
	if (!o || !l->has_stats)
		return o;
	const struct xport_stats *x = &l->xs;
	json_object_set_new(o, "srttMs", json_integer(x->srtt_ms));
	json_object_set_new(o, "rtoMs", json_integer(x->rto_ms));
	json_object_set_new(o, "retransmits", ju(x->retransmits));
	json_object_set_new(o, "fecRecovered", ju(x->fec_recovered));
	json_object_set_new(o, "cryptFailures", ju(x->crypt_failures));
	json_object_set_new(o, "bytesIn", ju(x->bytes_in));
	json_object_set_new(o, "bytesOut", ju(x->bytes_out));
	json_object_set_new(o, "pktsIn", ju(x->pkts_in));
	json_object_set_new(o, "pktsOut", ju(x->pkts_out));
	json_object_set_new(o, "sendQueue", json_integer(x->send_queue));
	/* the sender's model of the path (0 where the transport has none) */
	json_object_set_new(o, "minRttMs", json_integer(x->min_rtt_ms));
	json_object_set_new(o, "inflightBytes", json_integer(x->inflight_bytes));
	json_object_set_new(o, "bandwidthBps", ju(x->btl_bw_bps));
	json_object_set_new(o, "pacingBps", ju(x->pacing_bps));
	json_object_set_new(o, "lost", ju(x->lost));
	return o;
}

/* run_id -> array of the names of its online proxies, in one pass over
 * the proxies (rather than one pass per client). */
static json_t *proxies_by_client(struct frps *s)
{
	json_t *by = json_object();
	size_t pos = 0;
	const struct frps_proxy_stats *p;
	while (by && (p = frps_stats_proxy_next(s->stats, &pos))) {
		if (!p->online || !p->run_id || !*p->run_id)
			continue;
		json_t *a = json_object_get(by, p->run_id);
		if (!a && json_object_set_new(by, p->run_id, a = json_array()) < 0)
			a = NULL;
		if (a)
			json_array_append_new(a, json_string(p->name));
	}
	return by;
}

/* by: proxies_by_client(); borrowed. */
static json_t *client_json(struct frps *s, const struct frps_client_stats *c,
			   json_t *by)
{
	int64_t today = frps_stats_today();
	uint64_t ri, ro;
	frps_traffic_rate(&c->traffic, frps_stats_mono_s(), &ri, &ro);
	json_t *proxies = by ? json_object_get(by, c->run_id) : NULL;
	proxies = proxies ? json_incref(proxies) : json_array();
	json_t *hist = json_array();
	for (int i = 0; hist && i < c->nlinks; i++)
		json_array_append_new(
			hist, json_pack("{s:s, s:s, s:I, s:I}", "transport",
					c->links[i].transport, "addr",
					c->links[i].addr, "since",
					(json_int_t)c->links[i].since, "until",
					(json_int_t)c->links[i].until));
	json_t *link = json_null(), *draining = json_array();
	if (c->online) {
		struct frps_link_view v[MAX_LINKS];
		size_t n = frps_dash_links(s, c->run_id, v, MAX_LINKS);
		for (size_t i = 0; i < n; i++) {
			if (!v[i].draining && json_is_null(link))
				link = link_json(&v[i]);
			else if (draining)
				json_array_append_new(draining, link_json(&v[i]));
		}
	}
	/* frp 0.70's keys first (key, runID, clientIP, ...), then ours. */
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I,"
		" s:b, s:s, s:s, s:I, s:o*, s:i, s:o, s:o, s:I, s:I, s:o, s:o,"
		" s:o*, s:o*, s:o*}",
		"key", c->run_id, "user", c->user ? c->user : "", "clientID",
		c->client_id ? c->client_id : "", "runID", c->run_id,
		"version", c->version ? c->version : "", "hostname",
		c->hostname ? c->hostname : "", "os", c->os ? c->os : "",
		"arch", c->arch ? c->arch : "", "clientIP", c->addr,
		"firstConnectedAt", (json_int_t)c->first_connected,
		"lastConnectedAt", (json_int_t)c->last_connected,
		"disconnectedAt", (json_int_t)c->disconnected, "online",
		c->online,
		/* ours */
		"id", c->run_id, "address", c->addr, "loginTime",
		(json_int_t)c->last_connected, "proxies", proxies, "curConns",
		c->cur_conns, "todayTrafficIn",
		ju(frps_traffic_today_in(&c->traffic, today)), "todayTrafficOut",
		ju(frps_traffic_today_out(&c->traffic, today)), "trafficIn",
		(json_int_t)c->traffic.in, "trafficOut",
		(json_int_t)c->traffic.out, "rateIn", ju(ri), "rateOut", ju(ro),
		"link", link, "drainingLinks", draining, "linkHistory", hist);
}

void frps_api_clients(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	struct frps *s = arg;
	json_t *arr = json_array(), *by = proxies_by_client(s);
	size_t pos = 0;
	const struct frps_client_stats *c;
	while (arr && (c = frps_stats_client_next(s->stats, &pos))) {
		json_t *o = client_json(s, c, by);
		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	json_decref(by);
	reply(req, arr ? json_pack("{s:o}", "clients", arr) : NULL);
}

void frps_api_client(struct evhttp_request *req, const char *rest, void *arg)
{
	struct frps *s = arg;
	size_t pos = 0;
	const struct frps_client_stats *c;
	while ((c = frps_stats_client_next(s->stats, &pos)))
		if (strcmp(c->run_id, rest) == 0)
			break;
	if (!c) {
		httpd_reply_error(req, 404, "no client info found");
		return;
	}
	json_t *by = proxies_by_client(s);
	reply(req, client_json(s, c, by));
	json_decref(by);
}
