/*
 * dash_int.h - between the dashboard's files: the API handlers (dash_api.c)
 * that dash.c puts in its route table. Each takes the struct frps as arg.
 */
#ifndef FRPS_DASH_INT_H
#define FRPS_DASH_INT_H

#include <stddef.h>

#include "dash.h"

struct evhttp_request;

void frps_api_healthz(struct evhttp_request *req, const char *rest, void *arg);
void frps_api_serverinfo(struct evhttp_request *req, const char *rest,
			 void *arg);
/** /api/proxy/{type} and /api/proxy/{type}/{name} */
void frps_api_proxy(struct evhttp_request *req, const char *rest, void *arg);
/** /api/proxies/{name} (frp 0.70: any type) */
void frps_api_proxy_by_name(struct evhttp_request *req, const char *rest,
			    void *arg);
/** DELETE /api/proxies?status=offline */
void frps_api_proxies_delete(struct evhttp_request *req, const char *rest,
			     void *arg);
void frps_api_traffic(struct evhttp_request *req, const char *rest, void *arg);
void frps_api_clients(struct evhttp_request *req, const char *rest, void *arg);
void frps_api_client(struct evhttp_request *req, const char *rest, void *arg);

/** frps_dash_links in the frps_links_fn shape (arg = struct frps *). */
size_t frps_dash_links_fn(void *arg, const char *run_id,
			  struct frps_link_view *out, size_t max);

#endif
