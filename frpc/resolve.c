/*
 * resolve.c - host names to addresses without blocking the loop (libevent's
 * evdns: /etc/hosts, then the resolv.conf name servers). Used for serverAddr
 * (once per link, the plugin then gets the address) and for a proxy's
 * localIP (docker and compose users name services this way).
 *
 * The answer always arrives from the loop, never inside frpc_resolve_start,
 * even for a numeric address or a hosts-file hit, so callers need no
 * re-entrancy care. An IPv4 answer is preferred when a name has both, as
 * services bound to "localhost" usually listen on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "frpc.h"
#include "log.h"

struct frpc_resolve {
	struct frpc *c;
	char *host;
	uint16_t port;
	int socktype;
	frpc_resolve_cb cb;
	void *arg;
	struct event *ev;
	struct evdns_getaddrinfo_request *req;
	int in_start;   /* inside evdns_getaddrinfo (it may answer at once) */
	int done;
	int err;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char errstr[128];
};

int frpc_dns_init(struct frpc *c)
{
	c->dns = evdns_base_new(c->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
						 EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!c->dns) {
		/* No usable resolv.conf: the hosts file still answers. */
		c->dns = evdns_base_new(c->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (c->dns)
			evdns_base_load_hosts(c->dns, NULL);
	}
	return c->dns ? 0 : -ENOMEM;
}

void frpc_dns_free(struct frpc *c)
{
	if (c->dns)
		evdns_base_free(c->dns, 0);
	c->dns = NULL;
}

static void resolve_free(struct frpc_resolve *r)
{
	event_free(r->ev);
	free(r->host);
	free(r);
}

static void deliver(struct frpc_resolve *r)
{
	frpc_resolve_cb cb = r->cb;
	void *arg = r->arg;
	int err = r->err;
	struct sockaddr_storage ss = r->ss;
	socklen_t len = r->sslen;
	char why[128];
	snprintf(why, sizeof(why), "%s", r->errstr);
	resolve_free(r);
	cb(err, err ? NULL : (struct sockaddr *)&ss, len, why, arg);
}

static void dns_done(int result, struct evutil_addrinfo *res, void *arg)
{
	struct frpc_resolve *r = arg;
	if (result == EVUTIL_EAI_CANCEL) {
		if (res)
			evutil_freeaddrinfo(res);
		return; /* frpc_resolve_cancel frees r */
	}
	r->req = NULL;
	struct evutil_addrinfo *pick = NULL;
	for (struct evutil_addrinfo *a = res; a; a = a->ai_next)
		if (!pick || (a->ai_family == AF_INET && pick->ai_family != AF_INET))
			pick = a;
	if (result != 0 || !pick) {
		r->err = -EHOSTUNREACH;
		snprintf(r->errstr, sizeof(r->errstr), "cannot resolve %s: %s",
			 r->host, result ? evutil_gai_strerror(result)
					 : "no address");
	} else {
		memcpy(&r->ss, pick->ai_addr, pick->ai_addrlen);
		r->sslen = (socklen_t)pick->ai_addrlen;
	}
	if (res)
		evutil_freeaddrinfo(res);
	r->done = 1;
	if (!r->in_start)
		deliver(r);
}

static int numeric(const char *host, uint16_t port, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

static void start_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct frpc_resolve *r = arg;
	if (numeric(r->host, r->port, &r->ss, &r->sslen) == 0 || !r->c->dns) {
		if (!r->sslen) {
			r->err = -EHOSTUNREACH;
			snprintf(r->errstr, sizeof(r->errstr), "cannot resolve %s: "
				 "no resolver", r->host);
		}
		deliver(r);
		return;
	}
	struct evutil_addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = r->socktype;
	char port[8];
	snprintf(port, sizeof(port), "%u", r->port);
	r->in_start = 1;
	struct evdns_getaddrinfo_request *req =
		evdns_getaddrinfo(r->c->dns, r->host, port, &hints, dns_done, r);
	r->in_start = 0;
	if (r->done) {
		deliver(r);
		return;
	}
	r->req = req;
}

struct frpc_resolve *frpc_resolve_start(struct frpc *c, const char *host,
					uint16_t port, int socktype,
					frpc_resolve_cb cb, void *arg)
{
	struct frpc_resolve *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->c = c;
	r->port = port;
	r->socktype = socktype;
	r->cb = cb;
	r->arg = arg;
	r->host = strdup(host);
	r->ev = evtimer_new(c->base, start_cb, r);
	if (!r->host || !r->ev) {
		if (r->ev)
			event_free(r->ev);
		free(r->host);
		free(r);
		return NULL;
	}
	event_active(r->ev, EV_TIMEOUT, 1);
	return r;
}

void frpc_resolve_cancel(struct frpc_resolve *r)
{
	if (!r)
		return;
	if (r->req)
		evdns_getaddrinfo_cancel(r->req);
	resolve_free(r);
}

bool frpc_addr_is_numeric(const char *host)
{
	struct sockaddr_storage ss;
	socklen_t len;
	return numeric(host, 0, &ss, &len) == 0;
}
