/*
 * metrics.h - Prometheus text exposition (format 0.0.4) of the stats model
 * and the clients' links. frp's metric names first (frp_server_*), ours
 * (frps_*) after them.
 */
#ifndef FRPS_METRICS_H
#define FRPS_METRICS_H

#include "dash.h"

struct evbuffer;
struct frps_stats;

/** Append the exposition to out. links(arg, run_id, ...) gives a client's
 *  links. 0 or -ENOMEM. */
int frps_metrics_render(const struct frps_stats *st, frps_links_fn links,
			void *arg, struct evbuffer *out);

#endif
