/*
 * dash.h - frps's dashboard: the web server (JSON API, /metrics, the page),
 * the stats file, and the one place that reads link state out of the
 * server's objects for them.
 *
 * Every view (API, Prometheus text, page, log lines) renders the one stats
 * model (stats.h) plus the link views below; none keeps numbers of its own.
 */
#ifndef FRPS_DASH_H
#define FRPS_DASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xport.h"

struct frps;
struct frps_control;

/** One link of a client as the transport measures it right now. */
struct frps_link_view {
	char transport[16];   /**< "tcp", "kcp", ... */
	char addr[64];        /**< the client's end */
	int64_t since;        /**< unix seconds */
	bool draining;        /**< an earlier link still finishing its streams */
	bool has_stats;       /**< xs is filled (the transport has stream_stats) */
	int streams;          /**< multiplexed streams open on it; -1 unknown */
	struct xport_stats xs;
};

/** Up to max links of the client with this run_id, the current one first.
 *  Returns how many were filled (0: client offline or unknown). */
size_t frps_dash_links(struct frps *s, const char *run_id,
		       struct frps_link_view *out, size_t max);
/** Record c's current link in its stats entry (login, transport switch). */
void frps_dash_link_up(struct frps_control *c);

/** Link lookup as the renderers take it (frps_dash_links, or a test's). */
typedef size_t (*frps_links_fn)(void *arg, const char *run_id,
				struct frps_link_view *out, size_t max);

/**
 * Start what the configuration asks for: the stats file (loaded now,
 * saved every few seconds when changed) and the web server when
 * webServer.port is set. 0, or -errno with err filled (the caller exits
 * with status 1, or 2 for -EINVAL/-EPERM: configuration).
 */
int frps_dash_start(struct frps *s, char *err, size_t errlen);
/** Once a second from the server's tick. */
void frps_dash_tick(struct frps *s);
/** Save the stats file one last time and stop the web server. */
void frps_dash_stop(struct frps *s);
/** The web server's bound port (0 when off). */
int frps_dash_port(const struct frps *s);

#endif
