/*
 * xport.h - the transport plugin ABI.
 *
 * This is the only project header a transport plugin includes. A plugin is a
 * shared object exporting exactly one dynamic symbol, XPORT_ENTRY_SYMBOL, of
 * type xport_entry_fn. The host calls it once at start-up with its services
 * table and receives the plugin's ops table. Plugins are never unloaded.
 *
 * Threading and loop rules:
 *  - every call happens on the host's thread; callbacks run from the host's
 *    event_base (the one given to init());
 *  - plugins create no threads, never dispatch the loop, never change global
 *    libevent settings (no event_set_mem_functions, no evthread_use_*).
 *
 * Errors: calls return 0 or -errno. Set-up calls (init, listen, dial) also
 * fill err (errlen bytes, NUL-terminated) with one human sentence; the host
 * logs it once. Plugins log through host->log only for things the host cannot
 * see (e.g. a dropped datagram burst), never for errors they also return.
 *
 * Compatibility: a host accepts a plugin whose abi_major equals the host's and
 * whose abi_minor is not newer. New optional ops are appended at the end of
 * struct xport_ops and bump the minor; an op is present when ops->size covers
 * it and the pointer is not NULL (see XPORT_HAS_OP).
 */
#ifndef XPORT_H
#define XPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define XPORT_ABI_MAJOR 1
#define XPORT_ABI_MINOR 2
#define XPORT_ENTRY_SYMBOL "xport_plugin_entry"

struct event_base;
struct bufferevent;

/** Log levels, shared with the host's logger. */
enum xport_log_level {
	XPORT_LOG_TRACE = 0,
	XPORT_LOG_DEBUG = 1,
	XPORT_LOG_INFO = 2,
	XPORT_LOG_WARN = 3,
	XPORT_LOG_ERROR = 4,
};

/** Services the host offers to a plugin (host -> plugin). */
struct xport_host {
	size_t size;           /**< sizeof(struct xport_host) of the host */
	uint16_t abi_major;    /**< XPORT_ABI_MAJOR of the host */
	uint16_t abi_minor;    /**< XPORT_ABI_MINOR of the host */
	uint32_t libevent_version; /**< event_get_version_number() of the host */
	/** printf-style log sink; module is the plugin name. Never NULL. */
	void (*log)(int level, const char *module, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/** Monotonic clock in milliseconds. Tests may inject a fake clock, so
	 *  plugins read time only through this. Never NULL. */
	uint64_t (*now_ms)(void);
};

/** One transport option: the flattened `transport.<name>` YAML subtree.
 *  key is relative to the subtree ("mode", "sndWnd"); value is the scalar
 *  text as written. Both are valid for the duration of init(). */
struct xport_option {
	const char *key;
	const char *value;
};

/** Per-stream counters. Fields a transport does not track stay 0. All
 *  counters are monotonic over the stream's life. */
struct xport_stats {
	uint64_t bytes_in;       /**< payload bytes delivered to the host */
	uint64_t bytes_out;      /**< payload bytes accepted from the host */
	uint64_t pkts_in;        /**< datagrams/segments received */
	uint64_t pkts_out;       /**< datagrams/segments sent */
	uint64_t retransmits;    /**< segments sent again */
	uint64_t fec_recovered;  /**< packets rebuilt from parity */
	uint64_t crypt_failures; /**< datagrams dropped by CRC/auth checks */
	uint32_t srtt_ms;        /**< smoothed RTT, 0 if unknown */
	uint32_t rto_ms;         /**< current retransmission timeout, 0 if n/a */
	uint32_t send_queue;     /**< bytes or segments not yet acknowledged */
	/* ABI minor 1: the sender's model of the path (congestion control);
	 * 0 when the transport has none. A plugin of minor 0 leaves these
	 * alone, so hosts zero the struct before calling stream_stats. */
	uint32_t min_rtt_ms;     /**< propagation delay estimate */
	uint32_t inflight_bytes; /**< sent, not yet acknowledged (link bytes) */
	uint64_t btl_bw_bps;     /**< estimated bottleneck bandwidth, bit/s */
	uint64_t pacing_bps;     /**< pacing rate, bit/s */
	uint64_t lost;           /**< segments the sender judged lost (fast
				      retransmits + timeouts; not duplicate
				      copies sent ahead), minor 1 */
};

/** Capability bits in xport_ops.caps. */
#define XPORT_CAP_DATAGRAM_BASED 0x1u /**< runs over UDP (liveness is the
				       host's job: no FIN on the wire) */

/** How stream_close() ends a stream. */
enum xport_close_how {
	XPORT_CLOSE_FLUSH = 0, /**< deliver what was written, then close */
	XPORT_CLOSE_ABORT = 1, /**< drop pending data, close now */
};

struct xport_ctx;      /* one initialised instance of a transport */
struct xport_listener; /* a listening endpoint */
struct xport_stream;   /* one reliable byte stream */
struct xport_dial;     /* a pending outgoing dial */

/** A new inbound stream. The host takes ownership of s (must eventually
 *  call stream_close). */
typedef void (*xport_accept_cb)(struct xport_stream *s, void *arg);

/** Outcome of dial(): exactly one call per dial unless cancelled first.
 *  On success err == 0 and the host owns s; otherwise s is NULL and err is
 *  -errno (-ETIMEDOUT, -ECONNREFUSED, ...). Never invoked from inside
 *  dial() itself. After this call the xport_dial handle is gone. */
typedef void (*xport_dial_cb)(struct xport_stream *s, int err, void *arg);

/** The plugin's operations (plugin -> host). */
struct xport_ops {
	size_t size;        /**< sizeof(struct xport_ops) the plugin built */
	uint16_t abi_major; /**< must equal the host's */
	uint16_t abi_minor; /**< must be <= the host's */
	uint32_t libevent_version; /**< event_get_version_number() the plugin
				       was built against (major.minor checked) */
	const char *name;   /**< value of transport.protocol, e.g. "tcp" */
	uint32_t caps;      /**< XPORT_CAP_* bits */

	/** Create an instance on base with options opts[0..nopts). Unknown
	 *  keys or bad values: -EINVAL and err names the key. */
	int (*init)(struct event_base *base, const struct xport_option *opts,
		    size_t nopts, struct xport_ctx **out, char *err,
		    size_t errlen);
	/** Free an instance. All its listeners must be freed first; streams
	 *  still open are aborted. NULL is a no-op. */
	void (*fini)(struct xport_ctx *ctx);

	/** Listen on addr:port (addr NULL or "" = any; port 0 = pick one).
	 *  cb runs for every accepted stream. */
	int (*listen)(struct xport_ctx *ctx, const char *addr, uint16_t port,
		      xport_accept_cb cb, void *arg,
		      struct xport_listener **out, char *err, size_t errlen);
	/** The bound local port (useful after port 0). */
	uint16_t (*listener_port)(const struct xport_listener *l);
	/** Stop listening. Streams already accepted stay open. NULL no-op. */
	void (*listener_free)(struct xport_listener *l);

	/** Start connecting to host:port (numeric or a name, resolved by the
	 *  plugin) with a timeout in ms (0 = none). *out receives a handle
	 *  that stays valid until cb runs or dial_cancel() is called. */
	int (*dial)(struct xport_ctx *ctx, const char *host, uint16_t port,
		    int timeout_ms, xport_dial_cb cb, void *arg,
		    struct xport_dial **out, char *err, size_t errlen);
	/** Abandon a pending dial: cb will not run. */
	void (*dial_cancel)(struct xport_dial *d);

	/** The stream's data plane. The plugin owns the bufferevent; the host
	 *  may set callbacks, watermarks and enable/disable EV_READ|EV_WRITE
	 *  on it, but must not free it. Peer EOF is BEV_EVENT_EOF, failure
	 *  BEV_EVENT_ERROR, in the host's event callback. Valid until
	 *  stream_close(). */
	struct bufferevent *(*stream_bev)(struct xport_stream *s);
	/** End the stream. Safe from inside the stream's own bufferevent
	 *  callbacks: the real free is deferred. After this call the host must
	 *  not touch s or its bufferevent; no host callback runs again. */
	void (*stream_close)(struct xport_stream *s, int how);
	/** Fill *st. Returns 0. */
	int (*stream_stats)(struct xport_stream *s, struct xport_stats *st);
	/** Peer address of the stream; returns 0 or -errno. */
	int (*stream_peer)(struct xport_stream *s, struct sockaddr_storage *ss,
			   socklen_t *len);
	/** Minor 2, optional. Bytes the host should keep queued in the
	 *  layers it stacks on the stream (TLS, the multiplexer): whatever
	 *  waits there waits for every later write, so the transport asks
	 *  for a few ms of what it sends now. 0 = no preference (the host's
	 *  own bounds). The host asks again as it writes; the value follows
	 *  the stream's rate. */
	uint32_t (*stream_send_goal)(struct xport_stream *s);
};

/** True when ops provides the (optional) member op. */
#define XPORT_HAS_OP(ops, op)                                                  \
	((ops)->size >= offsetof(struct xport_ops, op) + sizeof((ops)->op) &&  \
	 (ops)->op != NULL)

typedef const struct xport_ops *(*xport_entry_fn)(const struct xport_host *host);

#endif
