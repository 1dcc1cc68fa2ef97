/*
 * metrics.c - Prometheus text from a table: one row per metric (name,
 * type, help, the scope whose objects give the samples, a getter). The
 * text is streamed into the reply buffer row by row.
 *
 * Scopes and their labels:
 *   SERVER     no labels
 *   PTYPE      {type}            online proxies counted per type
 *   PROXY      {name,type}       every proxy entry (online or offline)
 *   CLIENT     {client,user}     every client entry
 *   TRANSPORT  {transport}       current links counted per transport
 *   LINK       {client,transport} each link of each online client
 */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "stats.h"

#define MAX_LINKS 4   /* per client: current + draining ones */
#define MAX_GROUPS 16 /* distinct proxy types / transports */

enum scope { SERVER, PTYPE, PROXY, CLIENT, TRANSPORT, LINK };

/* What a getter may look at; only the members of its scope are set. */
struct sample {
	const struct frps_stats *st;
	const struct frps_proxy_stats *p;
	const struct frps_client_stats *c;
	const struct frps_link_view *l;
	uint64_t count; /* PTYPE / TRANSPORT */
	int64_t mono;
};

struct metric {
	const char *name;
	const char *type; /* "gauge" / "counter" */
	const char *help;
	enum scope scope;
	double (*get)(const struct sample *x);
};

/* ---- getters ------------------------------------------------------------- */

static double g_clients(const struct sample *x) { return x->st->clients_online; }
static double g_count(const struct sample *x) { return (double)x->count; }
static double g_p_conns(const struct sample *x) { return x->p->cur_conns; }
static double g_p_in(const struct sample *x) { return (double)x->p->traffic.in; }
static double g_p_out(const struct sample *x) { return (double)x->p->traffic.out; }
static double g_p_online(const struct sample *x) { return x->p->online; }
static double g_p_rate_in(const struct sample *x)
{
	uint64_t i, o;
	frps_traffic_rate(&x->p->traffic, x->mono, &i, &o);
	return (double)i;
}
static double g_p_rate_out(const struct sample *x)
{
	uint64_t i, o;
	frps_traffic_rate(&x->p->traffic, x->mono, &i, &o);
	return (double)o;
}
static double g_c_online(const struct sample *x) { return x->c->online; }
static double g_c_in(const struct sample *x) { return (double)x->c->traffic.in; }
static double g_c_out(const struct sample *x) { return (double)x->c->traffic.out; }
static double g_c_conns(const struct sample *x) { return x->c->cur_conns; }
static double g_c_links(const struct sample *x) { return (double)x->c->link_ups; }
static double g_total_in(const struct sample *x) { return (double)x->st->total.in; }
static double g_total_out(const struct sample *x) { return (double)x->st->total.out; }
static double g_conns(const struct sample *x) { return x->st->cur_conns; }
static double g_l_srtt(const struct sample *x) { return x->l->xs.srtt_ms / 1000.0; }
static double g_l_rto(const struct sample *x) { return x->l->xs.rto_ms / 1000.0; }
static double g_l_retx(const struct sample *x) { return (double)x->l->xs.retransmits; }
static double g_l_fec(const struct sample *x) { return (double)x->l->xs.fec_recovered; }
static double g_l_crypt(const struct sample *x) { return (double)x->l->xs.crypt_failures; }
static double g_l_bin(const struct sample *x) { return (double)x->l->xs.bytes_in; }
static double g_l_bout(const struct sample *x) { return (double)x->l->xs.bytes_out; }
static double g_l_pin(const struct sample *x) { return (double)x->l->xs.pkts_in; }
static double g_l_pout(const struct sample *x) { return (double)x->l->xs.pkts_out; }
static double g_l_queue(const struct sample *x) { return x->l->xs.send_queue; }
static double g_l_minrtt(const struct sample *x) { return x->l->xs.min_rtt_ms / 1000.0; }
static double g_l_inflight(const struct sample *x) { return x->l->xs.inflight_bytes; }
static double g_l_bw(const struct sample *x) { return (double)x->l->xs.btl_bw_bps; }
static double g_l_pacing(const struct sample *x) { return (double)x->l->xs.pacing_bps; }
static double g_l_lost(const struct sample *x) { return (double)x->l->xs.lost; }
static double g_l_draining(const struct sample *x) { return x->l->draining; }

static const struct metric metrics[] = {
	/* frp's own names and labels (pkg/metrics/prometheus/server.go) */
	{"frp_server_client_counts", "gauge", "Clients online.", SERVER, g_clients},
	{"frp_server_proxy_counts", "gauge", "Proxies online, per type.", PTYPE, g_count},
	{"frp_server_connection_counts", "gauge", "Open user connections, per proxy.", PROXY, g_p_conns},
	{"frp_server_traffic_in", "counter", "Bytes received from users, per proxy.", PROXY, g_p_in},
	{"frp_server_traffic_out", "counter", "Bytes sent to users, per proxy.", PROXY, g_p_out},
	/* ours */
	{"frps_traffic_in_bytes_total", "counter", "Bytes received from users, all proxies.", SERVER, g_total_in},
	{"frps_traffic_out_bytes_total", "counter", "Bytes sent to users, all proxies.", SERVER, g_total_out},
	{"frps_connections", "gauge", "Open user connections, all proxies.", SERVER, g_conns},
	{"frps_proxy_online", "gauge", "1 when the proxy is online.", PROXY, g_p_online},
	{"frps_proxy_rate_in_bytes_per_second", "gauge", "Bytes/s from users over the last 10 s.", PROXY, g_p_rate_in},
	{"frps_proxy_rate_out_bytes_per_second", "gauge", "Bytes/s to users over the last 10 s.", PROXY, g_p_rate_out},
	{"frps_client_online", "gauge", "1 when the client is logged in.", CLIENT, g_c_online},
	{"frps_client_connections", "gauge", "Open user connections of the client's proxies.", CLIENT, g_c_conns},
	{"frps_client_traffic_in_bytes_total", "counter", "Bytes from users of the client's proxies.", CLIENT, g_c_in},
	{"frps_client_traffic_out_bytes_total", "counter", "Bytes to users of the client's proxies.", CLIENT, g_c_out},
	{"frps_client_links_total", "counter", "Links the client has come up on (logins and transport switches).", CLIENT, g_c_links},
	{"frps_transport_links", "gauge", "Client links currently carried, per transport.", TRANSPORT, g_count},
	{"frps_link_srtt_seconds", "gauge", "Smoothed round-trip time the transport measures.", LINK, g_l_srtt},
	{"frps_link_rto_seconds", "gauge", "Current retransmission timeout.", LINK, g_l_rto},
	{"frps_link_retransmits_total", "counter", "Segments sent again.", LINK, g_l_retx},
	{"frps_kcp_fec_recovered_total", "counter", "Packets rebuilt from FEC parity.", LINK, g_l_fec},
	{"frps_link_crypt_failures_total", "counter", "Datagrams dropped by CRC/authentication checks.", LINK, g_l_crypt},
	{"frps_link_bytes_in_total", "counter", "Payload bytes received on the link.", LINK, g_l_bin},
	{"frps_link_bytes_out_total", "counter", "Payload bytes sent on the link.", LINK, g_l_bout},
	{"frps_link_packets_in_total", "counter", "Datagrams/segments received on the link.", LINK, g_l_pin},
	{"frps_link_packets_out_total", "counter", "Datagrams/segments sent on the link.", LINK, g_l_pout},
	{"frps_link_send_queue", "gauge", "Bytes or segments not yet acknowledged.", LINK, g_l_queue},
	{"frps_link_min_rtt_seconds", "gauge", "Minimum RTT seen (the path's propagation delay estimate).", LINK, g_l_minrtt},
	{"frps_link_inflight_bytes", "gauge", "Bytes sent and not yet acknowledged.", LINK, g_l_inflight},
	{"frps_link_bandwidth_bits_per_second", "gauge", "Bottleneck bandwidth the sender estimates.", LINK, g_l_bw},
	{"frps_link_pacing_bits_per_second", "gauge", "Rate the sender paces its packets at.", LINK, g_l_pacing},
	{"frps_link_lost_total", "counter", "Segments the sender judged lost (fast retransmits and timeouts).", LINK, g_l_lost},
	{"frps_link_draining", "gauge", "1 for an earlier link still finishing its streams.", LINK, g_l_draining},
};

/* ---- rendering ------------------------------------------------------------ */

/* A label value with \, " and newline escaped as the format requires. */
static void put_label(struct evbuffer *out, const char *key, const char *v,
		      bool first)
{
	evbuffer_add_printf(out, "%s%s=\"", first ? "" : ",", key);
	for (const char *s = v ? v : ""; *s; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, s, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/* Counts print as integers (exact below 2^53); seconds with the
 * millisecond precision the transports measure. */
static void put_value(struct evbuffer *out, double v)
{
	if (v == (double)(int64_t)v && v < 9007199254740992.0 &&
	    v > -9007199254740992.0)
		evbuffer_add_printf(out, " %" PRId64 "\n", (int64_t)v);
	else
		evbuffer_add_printf(out, " %.9g\n", v);
}

/* Distinct names with a count each (proxy types, transports). */
struct groups {
	const char *name[MAX_GROUPS];
	uint64_t n[MAX_GROUPS];
	size_t len;
};

static void group_add(struct groups *g, const char *name)
{
	for (size_t i = 0; i < g->len; i++) {
		if (strcmp(g->name[i], name) == 0) {
			g->n[i]++;
			return;
		}
	}
	if (g->len < MAX_GROUPS) {
		g->name[g->len] = name;
		g->n[g->len++] = 1;
	}
}

/* The clients' links, fetched once per scrape. */
struct client_links {
	const struct frps_client_stats *c;
	struct frps_link_view v[MAX_LINKS];
	size_t n;
};

static void render_row(const struct metric *m, struct sample *x,
		       const struct groups *types, const struct groups *xports,
		       const struct client_links *cl, size_t ncl,
		       struct evbuffer *out)
{
	size_t pos = 0;
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name,
			    m->help, m->name, m->type);
	switch (m->scope) {
	case SERVER:
		evbuffer_add_printf(out, "%s", m->name);
		put_value(out, m->get(x));
		break;
	case PTYPE:
	case TRANSPORT: {
		const struct groups *g = m->scope == PTYPE ? types : xports;
		for (size_t i = 0; i < g->len; i++) {
			x->count = g->n[i];
			evbuffer_add_printf(out, "%s{", m->name);
			put_label(out, m->scope == PTYPE ? "type" : "transport",
				  g->name[i], true);
			evbuffer_add(out, "}", 1);
			put_value(out, m->get(x));
		}
		break;
	}
	case PROXY:
		while ((x->p = frps_stats_proxy_next(x->st, &pos))) {
			evbuffer_add_printf(out, "%s{", m->name);
			put_label(out, "name", x->p->name, true);
			put_label(out, "type", x->p->type, false);
			evbuffer_add(out, "}", 1);
			put_value(out, m->get(x));
		}
		break;
	case CLIENT:
		while ((x->c = frps_stats_client_next(x->st, &pos))) {
			evbuffer_add_printf(out, "%s{", m->name);
			put_label(out, "client", x->c->run_id, true);
			put_label(out, "user", x->c->user, false);
			evbuffer_add(out, "}", 1);
			put_value(out, m->get(x));
		}
		break;
	case LINK:
		for (size_t i = 0; i < ncl; i++) {
			for (size_t j = 0; j < cl[i].n; j++) {
				x->l = &cl[i].v[j];
				/* A transport without counters has no samples
				 * rather than zeros that look measured. */
				if (!x->l->has_stats)
					continue;
				evbuffer_add_printf(out, "%s{", m->name);
				put_label(out, "client", cl[i].c->run_id, true);
				put_label(out, "transport", x->l->transport, false);
				evbuffer_add(out, "}", 1);
				put_value(out, m->get(x));
			}
		}
		break;
	}
}

int frps_metrics_render(const struct frps_stats *st, frps_links_fn links,
			void *arg, struct evbuffer *out)
{
	struct groups types = {0}, xports = {0};
	struct client_links *cl = NULL;
	size_t ncl = 0, pos = 0;
	const struct frps_proxy_stats *p;
	const struct frps_client_stats *c;

	while ((p = frps_stats_proxy_next(st, &pos)))
		if (p->online)
			group_add(&types, p->type ? p->type : "");
	size_t nclients = (size_t)(st->clients_online > 0 ? st->clients_online : 0);
	if (nclients && !(cl = calloc(nclients, sizeof(*cl))))
		return -ENOMEM;
	pos = 0;
	while ((c = frps_stats_client_next(st, &pos)) && ncl < nclients) {
		if (!c->online)
			continue;
		cl[ncl].c = c;
		cl[ncl].n = links ? links(arg, c->run_id, cl[ncl].v, MAX_LINKS) : 0;
		for (size_t j = 0; j < cl[ncl].n; j++)
			if (!cl[ncl].v[j].draining)
				group_add(&xports, cl[ncl].v[j].transport);
		ncl++;
	}
	struct sample x = {.st = st, .mono = frps_stats_mono_s()};
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		render_row(&metrics[i], &x, &types, &xports, cl, ncl, out);
	free(cl);
	return 0;
}
