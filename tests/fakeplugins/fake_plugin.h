/*
 * fake_plugin.h - building blocks for the deliberately good or broken
 * transport plugins that tests/unit/test_loader.c feeds to the loader.
 * Each fake_*.c becomes $(BUILD)/fakeplugins/fake_*.so.
 */
#ifndef FAKE_PLUGIN_H
#define FAKE_PLUGIN_H

#include <errno.h>
#include <event2/event.h>

#include "xport.h"

#define FAKE_EXPORT __attribute__((visibility("default")))

static inline int fake_init(struct event_base *base,
			    const struct xport_option *opts, size_t nopts,
			    struct xport_ctx **out, char *err, size_t errlen)
{
	(void)base, (void)opts, (void)nopts, (void)err, (void)errlen;
	*out = NULL;
	return -ENOSYS;
}
static inline void fake_fini(struct xport_ctx *ctx) { (void)ctx; }
static inline int fake_listen(struct xport_ctx *ctx, const char *addr,
			      uint16_t port, xport_accept_cb cb, void *arg,
			      struct xport_listener **out, char *err,
			      size_t errlen)
{
	(void)ctx, (void)addr, (void)port, (void)cb, (void)arg, (void)err;
	(void)errlen;
	*out = NULL;
	return -ENOSYS;
}
static inline uint16_t fake_listener_port(const struct xport_listener *l)
{
	(void)l;
	return 0;
}
static inline void fake_listener_free(struct xport_listener *l) { (void)l; }
static inline int fake_dial(struct xport_ctx *ctx, const char *host,
			    uint16_t port, int timeout_ms, xport_dial_cb cb,
			    void *arg, struct xport_dial **out, char *err,
			    size_t errlen)
{
	(void)ctx, (void)host, (void)port, (void)timeout_ms, (void)cb;
	(void)arg, (void)err, (void)errlen;
	*out = NULL;
	return -ENOSYS;
}
static inline void fake_dial_cancel(struct xport_dial *d) { (void)d; }
static inline struct bufferevent *fake_stream_bev(struct xport_stream *s)
{
	(void)s;
	return NULL;
}
static inline void fake_stream_close(struct xport_stream *s, int how)
{
	(void)s, (void)how;
}
static inline int fake_stream_stats(struct xport_stream *s,
				    struct xport_stats *st)
{
	(void)s, (void)st;
	return -ENOSYS;
}
static inline int fake_stream_peer(struct xport_stream *s,
				   struct sockaddr_storage *ss, socklen_t *len)
{
	(void)s, (void)ss, (void)len;
	return -ENOSYS;
}

/* A table with every op set; the arguments are the header fields a fake
 * gets wrong (FAKE_DEFAULTS gives the right ones). */
#define FAKE_OPS(name_, size_, major_, minor_, libevent_)                      \
	{                                                                      \
		.size = (size_), .abi_major = (major_), .abi_minor = (minor_), \
		.libevent_version = (libevent_), .name = (name_),              \
		.init = fake_init, .fini = fake_fini, .listen = fake_listen,   \
		.listener_port = fake_listener_port,                           \
		.listener_free = fake_listener_free, .dial = fake_dial,        \
		.dial_cancel = fake_dial_cancel,                               \
		.stream_bev = fake_stream_bev,                                 \
		.stream_close = fake_stream_close,                             \
		.stream_stats = fake_stream_stats,                             \
		.stream_peer = fake_stream_peer,                               \
	}

#define FAKE_SIZE sizeof(struct xport_ops)

/* Defines the entry, returning a static table FAKE_OPS(args). */
#define FAKE_PLUGIN(...)                                                       \
	static const struct xport_ops fake_ops = FAKE_OPS(__VA_ARGS__);        \
	FAKE_EXPORT const struct xport_ops *xport_plugin_entry(                \
		const struct xport_host *host);                                \
	FAKE_EXPORT const struct xport_ops *xport_plugin_entry(                \
		const struct xport_host *host)                                 \
	{                                                                      \
		(void)host;                                                    \
		return &fake_ops;                                              \
	}

#endif
