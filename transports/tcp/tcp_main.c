/*
 * tcp_main.c - entry point, ops table, instance set-up and options of the
 * TCP transport.
 *
 * Options (the flattened transport.tcp subtree):
 *   keepalive  seconds of idleness before TCP keepalive probes; 0 turns
 *              keepalive off (default 7200, frp's dial keepalive)
 *   noDelay    true|false: TCP_NODELAY on every stream (default true; the
 *              frp control protocol is many small request/response writes)
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tcp.h"

#define TCP_KEEPALIVE_DEFAULT 7200
#define TCP_KEEPALIVE_MAX 32767 /* Linux limit for TCP_KEEPIDLE */

/* Set once by the entry before any other call; plugins cannot receive the
 * host table any other way (init() does not carry it). */
static const struct xport_host *host_table;

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

static int apply_option(struct xport_ctx *ctx, const struct xport_option *o,
			char *err, size_t errlen)
{
	const char *v = o->value ? o->value : "";
	if (strcmp(o->key, "keepalive") == 0) {
		if (parse_int(v, 0, TCP_KEEPALIVE_MAX, &ctx->keepalive_s) == 0)
			return 0;
		snprintf(err, errlen,
			 "tcp option \"keepalive\": \"%s\" is not 0..%d seconds",
			 v, TCP_KEEPALIVE_MAX);
		return -EINVAL;
	}
	if (strcmp(o->key, "noDelay") == 0) {
		if (parse_bool(v, &ctx->nodelay) == 0)
			return 0;
		snprintf(err, errlen,
			 "tcp option \"noDelay\": \"%s\" is not a boolean", v);
		return -EINVAL;
	}
	snprintf(err, errlen, "tcp: unknown option \"%s\"", o->key);
	return -EINVAL;
}

static int tcp_init(struct event_base *base, const struct xport_option *opts,
		    size_t nopts, struct xport_ctx **out, char *err,
		    size_t errlen)
{
	*out = NULL;
	if (!base) {
		snprintf(err, errlen, "tcp: no event_base");
		return -EINVAL;
	}
	struct xport_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		snprintf(err, errlen, "tcp: out of memory");
		return -ENOMEM;
	}
	ctx->base = base;
	ctx->host = host_table;
	ctx->keepalive_s = TCP_KEEPALIVE_DEFAULT;
	ctx->nodelay = 1;
	tcp_list_init(&ctx->listeners);
	tcp_list_init(&ctx->dials);
	tcp_list_init(&ctx->streams);
	int rc;
	for (size_t i = 0; i < nopts; i++) {
		if (!opts[i].key) {
			snprintf(err, errlen, "tcp: option without a key");
			rc = -EINVAL;
			goto fail;
		}
		rc = apply_option(ctx, &opts[i], err, errlen);
		if (rc != 0)
			goto fail;
	}
	*out = ctx;
	return 0;
fail:
	free(ctx);
	return rc;
}

/* The contract asks the host to free listeners first; anything still
 * around is released anyway so a sloppy shutdown does not leak. */
static void tcp_fini(struct xport_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->listeners.next != &ctx->listeners)
		tcp_listener_free(tcp_container_of(ctx->listeners.next,
						   struct xport_listener, link));
	while (ctx->dials.next != &ctx->dials)
		tcp_dial_cancel(
			tcp_container_of(ctx->dials.next, struct xport_dial, link));
	while (ctx->streams.next != &ctx->streams)
		tcp_stream_abort(tcp_container_of(ctx->streams.next,
						  struct xport_stream, link),
				 1);
	free(ctx);
}

int tcp_resolve(const char *host, uint16_t port, int passive,
		struct addrinfo **res, char *err, size_t errlen)
{
	char serv[8];
	struct addrinfo hints;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST |
			 (passive ? AI_PASSIVE : 0);
	snprintf(serv, sizeof(serv), "%u", port);
	if (host && !*host)
		host = NULL;
	if (!host && passive) {
		/* "any": IPv4 wildcard, like frp's default bindAddr 0.0.0.0 */
		host = "0.0.0.0";
	}
	if (!host) {
		snprintf(err, errlen, "no host to dial");
		return -EINVAL;
	}
	int g = getaddrinfo(host, serv, &hints, res);
	if (g == EAI_NONAME) {
		/* A name, not a literal: this resolves synchronously, which
		 * only happens at dial/listen set-up, never per packet. */
		hints.ai_flags &= ~AI_NUMERICHOST;
		hints.ai_flags |= AI_ADDRCONFIG;
		g = getaddrinfo(host, serv, &hints, res);
	}
	if (g == 0)
		return 0;
	snprintf(err, errlen, "cannot resolve %s: %s", host,
		 g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	switch (g) {
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_AGAIN:
		return -EAGAIN;
	default:
		return -EHOSTUNREACH;
	}
}

static const struct xport_ops tcp_ops = {
	.size = sizeof(struct xport_ops),
	.abi_major = XPORT_ABI_MAJOR,
	.abi_minor = XPORT_ABI_MINOR,
	.libevent_version = LIBEVENT_VERSION_NUMBER,
	.name = "tcp",
	.caps = 0,
	.init = tcp_init,
	.fini = tcp_fini,
	.listen = tcp_listen,
	.listener_port = tcp_listener_port,
	.listener_free = tcp_listener_free,
	.dial = tcp_dial,
	.dial_cancel = tcp_dial_cancel,
	.stream_bev = tcp_stream_bev,
	.stream_close = tcp_stream_close,
	.stream_stats = tcp_stream_stats,
	.stream_peer = tcp_stream_peer,
};

__attribute__((visibility("default"))) const struct xport_ops *
xport_plugin_entry(const struct xport_host *host);

/* The ABI verdict (major/minor, libevent) is the loader's: we hand back
 * our table and let it refuse with a precise message. We only refuse a
 * host table too small to hold the services we call. */
__attribute__((visibility("default"))) const struct xport_ops *
xport_plugin_entry(const struct xport_host *host)
{
	if (!host || host->size < offsetof(struct xport_host, now_ms) +
					  sizeof(host->now_ms))
		return NULL;
	host_table = host;
	return &tcp_ops;
}
