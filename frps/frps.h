/*
 * frps.h - the server: one struct frps per process, passed everywhere.
 *
 * Object graph (arrows own):
 *   frps -> transports (one listener each) -> sessions (yamux over one
 *        transport stream, when tcpMux) -> new connections waiting for their
 *        first message (conn.c)
 *   frps -> controls (one per logged-in client) -> proxies, work pool
 *   frps -> user connections relaying (they outlive their proxy, like frp:
 *        closing a proxy stops its listener, not the transfers under way)
 *   frps -> stats (entries outlive proxies and clients, for the dashboard)
 * Lookups that happen per connection (run_id -> control, name -> proxy)
 * are hash maps; the only walk over all controls is the 1-s heartbeat tick.
 */
#ifndef FRPS_H
#define FRPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "conf.h"
#include "crypto.h"
#include "msg.h"
#include "xport.h"

struct event_base;
struct event;
struct ctl;
struct chan;
struct mux_session;
struct portmgr;
struct strmap;
struct frps_stats;
struct frps_proxy_stats;
struct frps_client_stats;
struct frps_dash;

#define FRPS_MAX_XPORTS 4
/** A new connection must send its first message within this time. */
#define FRPS_FIRST_MSG_TIMEOUT_S 10
/** Connections waiting for their first message, server-wide. */
#define FRPS_MAX_NEW_CONNS 4096
/** User connections of one proxy waiting for a work connection. */
#define FRPS_MAX_PENDING_PER_PROXY 1024
/** Work connections kept idle beyond the client's pool_count (frp: 10). */
#define FRPS_POOL_EXTRA 10
/** Longest run_id / proxy name we accept from a client. */
#define FRPS_RUN_ID_MAX 64
#define FRPS_NAME_MAX 256

/** Port spaces of the port manager. */
enum { FRPS_PORTS_TCP = 0, FRPS_PORTS_UDP = 1, FRPS_PORTS_N };

/** One served transport (bindPort -> "tcp", kcpBindPort -> "kcp"). */
struct frps_xport {
	struct frps *s;
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct xport_listener *l;
	const char *conf_key; /* "bindPort" ... for logs */
};

/** yamux over one accepted transport stream (tcpMux). Referenced by the
 *  controls logged in through it (they read mux_last_rx_ms). */
struct frps_sess {
	struct frps *s;
	struct chan *carrier;     /* the transport stream */
	struct mux_session *mux;  /* NULL once the session ended */
	struct event *login_timer; /* kills sessions that never log in */
	bool had_login;
	int refs;                 /* 1 while alive + 1 per control */
	char run_id[FRPS_RUN_ID_MAX + 1]; /* client that logged in over it
				      (dash_link.c: its draining links) */
	int64_t since;            /* unix s of that login */
	TAILQ_ENTRY(frps_sess) link;
};

/* Waiting for a work connection (a user connection, a udp proxy). */
struct frps_waiter;
/** work is the work connection's ctl (plain, the callee owns it from now
 *  on), or NULL when the control went away. */
typedef void (*frps_waiter_cb)(struct frps_waiter *w, struct ctl *work);
struct frps_waiter {
	frps_waiter_cb cb;
	void *arg;
	bool queued;
	TAILQ_ENTRY(frps_waiter) link;
};

struct frps_work; /* an idle pooled work connection (workpool.c) */

struct frps_workpool {
	struct frps_control *c;
	TAILQ_HEAD(, frps_work) idle;
	TAILQ_HEAD(, frps_waiter) waiters;
	size_t nidle, cap, nwaiters;
};

struct frps_proxy;
struct frps_proxy_ops {
	const char *type;   /* proxy_type in NewProxy */
	int port_space;     /* FRPS_PORTS_* */
	/** Open the public side on p->port. 0 or -errno (err filled). */
	int (*start)(struct frps_proxy *p, char *err, size_t errlen);
	/** Close the public side and everything waiting on it. */
	void (*stop)(struct frps_proxy *p);
	/** Optional: the client moved links; move long-lived work (udp). */
	void (*relink)(struct frps_proxy *p);
};

struct frps_proxy {
	struct frps *s;
	struct frps_control *c;
	const struct frps_proxy_ops *ops;
	char *name;
	int port;                      /* held in the port manager */
	bool use_encryption;           /* frp's transport.useEncryption */
	bool use_compression;          /* frp's transport.useCompression */
	struct frps_proxy_stats *st;
	void *impl;                    /* type-specific state */
	TAILQ_ENTRY(frps_proxy) link;  /* in c->proxies */
};

/* One client, known by its run_id. It owns its proxies (and their public
 * listeners), its work pool and its stats; the control stream (ctl, sess)
 * is the link it currently speaks over. A login with the same run_id while
 * it is online is the client moving links: the new control stream attaches
 * here and the old one is closed, while the proxies stay open and the old
 * link's relaying work connections stay until they end. */
struct frps_control {
	struct frps *s;
	struct ctl *ctl;
	struct frps_sess *sess;        /* referenced, or NULL (no tcpMux) */
	char run_id[FRPS_RUN_ID_MAX + 1];
	char peer[64];
	char xport[16];                /* transport of the current link */
	uint64_t moves;                /* links this client moved to */
	char *user;
	int pool_count;                /* min(login pool_count, maxPoolCount) */
	int nports;                    /* ports held by our proxies */
	struct frps_workpool pool;
	struct frps_client_stats *st;
	TAILQ_HEAD(, frps_proxy) proxies;
	TAILQ_ENTRY(frps_control) link;
};

struct frps_conn;     /* a connection before its first message (conn.c) */
struct frps_sniff;    /* a stream before its first byte (tls_accept.c) */
struct tls_config;
struct frps_userconn; /* a tcp user connection (proxy_tcp.c) */

struct frps {
	struct event_base *base;
	struct frps_conf *cfg;          /* owned */
	const char *token;              /* cfg->auth_token or "" */
	uint8_t frp_key[CRYPTO_KEY_LEN];
	struct frps_xport xp[FRPS_MAX_XPORTS];
	size_t nxp;
	struct portmgr *ports[FRPS_PORTS_N];
	struct strmap *ctl_by_run_id;   /* run_id -> frps_control */
	struct strmap *proxy_by_name;   /* name -> frps_proxy */
	struct frps_stats *stats;
	struct frps_dash *dash;         /* web server, stats file (dash.c) */
	TAILQ_HEAD(, frps_control) controls;
	TAILQ_HEAD(, frps_sess) sessions;
	TAILQ_HEAD(, frps_conn) conns;
	size_t nconns;
	TAILQ_HEAD(frps_userconn_list, frps_userconn) userconns;
	struct event *tick;             /* 1 s: heartbeats, stats */
	struct frps_control *tick_next; /* safe-iteration cursor of the tick */
	uint64_t ticks;
	const struct timeval *first_msg_tv; /* common timeouts */
	const struct timeval *user_wait_tv;
	struct tls_config *tls;         /* transport.tls, built at start */
	TAILQ_HEAD(, frps_sniff) sniffs;
	size_t nsniff;
};

/* server.c */
/** Build the server on base (takes cfg). Loads nothing: transports must be
 *  registered already. 0 or -errno; on error err has one line and *exit_code
 *  the status main should exit with (2 = configuration). */
int frps_new(struct event_base *base, struct frps_conf *cfg, struct frps **out,
	     int *exit_code, char *err, size_t errlen);
/** Close everything (connections, listeners, transports). NULL no-op. */
void frps_free(struct frps *s);
void frps_sess_ref(struct frps_sess *x);
void frps_sess_unref(struct frps_sess *x);
/** A control logged in through x: it may live past the login timeout. */
void frps_sess_logged_in(struct frps_sess *x);
/** End the session now (all its streams see EOF). */
void frps_sess_kill(struct frps_sess *x);
/** Last time anything arrived on the session (0 when it is gone). */
uint64_t frps_sess_last_rx_ms(const struct frps_sess *x);

/** A transport stream past the first-byte sniff (TLS already wrapped):
 *  start yamux on it or wait for its first message. Takes ch. */
void frps_serve_stream(struct frps *s, struct chan *ch);

/* tls_accept.c */
/** Build the TLS config (self-signed certificate when none). 0/-errno. */
int frps_tls_init(struct frps *s, char *err, size_t errlen);
void frps_tls_fini(struct frps *s);
/** A new transport stream (takes ch): sniff, maybe TLS, then serve it. */
void frps_tls_accept(struct frps *s, struct chan *ch);
/** tls.force and a plain stream: the error reply to m is queued on ctl
 *  (the caller closes it) and true is returned. */
bool frps_tls_refused(struct frps *s, struct ctl *ctl, struct frps_sess *sess,
		      const struct msg *m);

/* conn.c */
/** A new stream (a transport stream without tcpMux or one mux stream);
 *  takes ch, and a reference on sess when sess is not NULL. */
void frps_conn_new(struct frps *s, struct chan *ch, struct frps_sess *sess);
void frps_conn_close_all(struct frps *s);

/* control.c */
/** A Login arrived on ctl (plain so far). Takes ctl and the sess reference
 *  (either way: on refusal both are released). */
void frps_control_login(struct frps *s, struct ctl *ctl, struct frps_sess *sess,
			const struct msg_login *m);
/** A NewWorkConn arrived; takes ctl. */
void frps_control_work_conn(struct frps *s, struct ctl *ctl,
			    const struct msg_new_work_conn *m);
/** Close a control: its proxies, pooled work conns and waiters. kill_sess
 *  also ends the yamux session it came through (dead link). */
void frps_control_close(struct frps_control *c, const char *why, bool kill_sess);
/** Ask the client for one more work connection. */
void frps_control_req_work_conn(struct frps_control *c);
void frps_control_tick(struct frps *s, uint64_t now_ms);
void frps_control_close_all(struct frps *s);
/** Copy client-supplied text for a log line: control characters become
 *  '?', at most n-1 bytes. Returns buf. */
const char *frps_log_str(const char *s, char *buf, size_t n);

/* workpool.c */
void frps_workpool_init(struct frps_workpool *p, struct frps_control *c,
			size_t cap);
/** Close idle work conns; waiters get cb(NULL). */
void frps_workpool_clear(struct frps_workpool *p);
/** Close the idle work conns only (waiters stay queued). */
void frps_workpool_drop_idle(struct frps_workpool *p);
/** A work connection arrived (takes work). */
void frps_workpool_put(struct frps_workpool *p, struct ctl *work);
/** Get a work connection for w: runs w->cb at once when one is idle
 *  (returns 1), else queues w (returns 0). Sends one ReqWorkConn either way
 *  (refill, or the request for this waiter). */
int frps_workpool_get(struct frps_workpool *p, struct frps_waiter *w);
/** Remove a queued waiter (no-op if not queued). */
void frps_workpool_cancel(struct frps_workpool *p, struct frps_waiter *w);

/* proxy.c */
void frps_proxy_new_msg(struct frps_control *c, const struct msg_new_proxy *m);
void frps_proxy_close_msg(struct frps_control *c, const struct msg_close_proxy *m);
/** Close p: stop it, release its port, mark its stats offline, free it. */
void frps_proxy_close(struct frps_proxy *p);
/** Fill a StartWorkConn for a user at src (and our listener at dst). */
void frps_proxy_start_msg(const struct frps_proxy *p, struct msg *m,
			  const struct sockaddr_storage *src,
			  const struct sockaddr_storage *dst, char *src_ip,
			  char *dst_ip, size_t iplen);
/** Parse proxyBindAddr:port into ss. 0/-EINVAL. */
int frps_proxy_bind_addr(const struct frps *s, int port,
			 struct sockaddr_storage *ss, int *sslen);

/* proxy_tcp.c / proxy_udp.c */
extern const struct frps_proxy_ops frps_proxy_tcp_ops;
extern const struct frps_proxy_ops frps_proxy_udp_ops;
/** Fold relay byte counts into the stats (every tick and at close). */
void frps_userconn_sync_all(struct frps *s);
void frps_userconn_close_all(struct frps *s);

#endif
