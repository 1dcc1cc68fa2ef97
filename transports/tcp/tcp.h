/*
 * tcp.h - internals of the TCP transport plugin (tcp.so).
 *
 * Everything here has hidden visibility (the plugin is built with
 * -fvisibility=hidden); the only exported symbol is xport_plugin_entry.
 * The same objects also land in libxport_tcp.a for unit tests, so every
 * non-static name carries the tcp_ prefix.
 */
#ifndef TCP_H
#define TCP_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "xport.h"

#define TCP_MOD "tcp"

/* Intrusive circular list: a ctx keeps its listeners, dials and streams so
 * fini() can release whatever the host left behind. */
struct tcp_link {
	struct tcp_link *prev, *next;
};

static inline void tcp_list_init(struct tcp_link *head)
{
	head->prev = head->next = head;
}

static inline void tcp_list_add(struct tcp_link *head, struct tcp_link *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void tcp_list_del(struct tcp_link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

struct xport_ctx {
	struct event_base *base;
	const struct xport_host *host; /* for logging; NULL without entry */
	int keepalive_s; /* TCP_KEEPIDLE seconds; 0 = keepalive off */
	int nodelay;     /* TCP_NODELAY on every stream */
	struct tcp_link listeners, dials, streams;
};

struct event;
struct evbuffer_cb_entry;
struct evconnlistener;

struct xport_listener {
	struct tcp_link link; /* in ctx->listeners */
	struct xport_ctx *ctx;
	struct evconnlistener *lev;
	struct event *retry; /* re-enables accepting after EMFILE & co */
	xport_accept_cb cb;
	void *arg;
	uint16_t port;
};

struct xport_dial {
	struct tcp_link link; /* in ctx->dials */
	struct xport_ctx *ctx;
	struct addrinfo *ai_list, *ai_cur; /* candidates, the one being tried */
	int fd;                 /* socket of the current attempt, or -1 */
	struct event *conn_ev;  /* EV_WRITE on fd: connect finished */
	struct event *timer;    /* overall timeout; also defers early results */
	int early_err;          /* result found inside dial(), reported later */
	xport_dial_cb cb;
	void *arg;
};

struct xport_stream {
	struct tcp_link link; /* in ctx->streams */
	struct xport_ctx *ctx;
	struct bufferevent *bev;
	struct evbuffer_cb_entry *in_cb, *out_cb; /* byte counters */
	struct event *linger;  /* safety timeout while flushing */
	uint64_t bytes_in, bytes_out;
	unsigned flushing : 1, shut_wr : 1, peer_eof : 1, extra_reading : 1;
	socklen_t peer_len;
	struct sockaddr_storage peer;
};

/* Wrap a connected non-blocking socket (takes fd, closes it on failure).
 * peer may be NULL. */
struct xport_stream *tcp_stream_new(struct xport_ctx *ctx, int fd,
				    const struct sockaddr *peer,
				    socklen_t peer_len);
/* Free now, dropping pending output (RST when rst != 0). */
void tcp_stream_abort(struct xport_stream *s, int rst);

struct bufferevent *tcp_stream_bev(struct xport_stream *s);
void tcp_stream_close(struct xport_stream *s, int how);
int tcp_stream_stats(struct xport_stream *s, struct xport_stats *st);
int tcp_stream_peer(struct xport_stream *s, struct sockaddr_storage *ss,
		    socklen_t *len);

int tcp_listen(struct xport_ctx *ctx, const char *addr, uint16_t port,
	       xport_accept_cb cb, void *arg, struct xport_listener **out,
	       char *err, size_t errlen);
uint16_t tcp_listener_port(const struct xport_listener *l);
void tcp_listener_free(struct xport_listener *l);

int tcp_dial(struct xport_ctx *ctx, const char *host, uint16_t port,
	     int timeout_ms, xport_dial_cb cb, void *arg,
	     struct xport_dial **out, char *err, size_t errlen);
void tcp_dial_cancel(struct xport_dial *d);

/* getaddrinfo for host:port with numeric forms tried first (no resolver
 * round trip for the common "127.0.0.1" case). passive: for bind. Returns
 * 0 or -errno with err filled; *res is freed with freeaddrinfo. */
int tcp_resolve(const char *host, uint16_t port, int passive,
		struct addrinfo **res, char *err, size_t errlen);

/* Recover the owning struct from an embedded tcp_link. */
#define tcp_container_of(ptr, type, member)                                    \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
