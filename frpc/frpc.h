/*
 * frpc.h - the client. One struct frpc per process owns the configuration
 * snapshot, the proxies' run-time state, one initialised instance of every
 * loaded transport, the current link to frps and the links still draining.
 *
 * Object graph (arrows own):
 *   frpc -> frpc_xport (ops + ctx, refcounted: links hold one)
 *   frpc -> current link, switching link, draining links
 *        link -> transport stream -> mux (tcpMux) -> ctl, stats
 *   frpc -> proxies (refcounted: work connections hold one)
 *   frpc -> tracked work connections / udp sessions (each holds its link)
 * Nothing above the link knows which transport carries it.
 */
#ifndef FRPC_H
#define FRPC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "conf.h"
#include "xport.h"

struct event_base;
struct event;
struct ctl;
struct chan;
struct mux_session;
struct xport_dial;
struct frpc_link;
struct tls_config;
struct frpc_admin;
struct evdns_base;

#define FRPC_MAX_XPORTS 8

/** One initialised transport instance. Links hold a reference, so a
 *  reload that re-initialises a transport with new options leaves the
 *  links on the old instance working until they end. */
struct frpc_xport {
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct conf_xport_opts *opts; /**< copy of the options it was built with */
	int refs;
};

/** Run-time state of one configured proxy; its own copy of the config. */
struct frpc_proxy {
	struct conf_proxy conf;        /**< owned deep copy */
	char *wire_name;               /**< name on the wire: "user.name" when
					    user is set (frp prefixes it) */
	char *remote_addr;             /**< from NewProxyResp, or NULL */
	char *err;                     /**< last NewProxyResp error, or NULL */
	int status;                    /**< FRPC_PROXY_* */
	bool removed;                  /**< gone from the config (reload) */
	int refs;                      /**< 1 for the client + 1 per user */
};

enum { FRPC_PROXY_NEW = 0, FRPC_PROXY_WAIT_START, FRPC_PROXY_RUNNING,
       FRPC_PROXY_START_ERROR, FRPC_PROXY_CLOSED };

/** Anything that holds a link reference (work connections, udp proxy
 *  sessions): listed so shutdown and drain timeouts can end them. */
struct frpc_track {
	TAILQ_ENTRY(frpc_track) link;
	struct frpc_link *l;                /**< the link it rides on */
	void (*kill)(struct frpc_track *t); /**< end it now (frees t) */
};
TAILQ_HEAD(frpc_track_list, frpc_track);

/** Outcome of a switch request (admin API, reload): err 0 = the new link
 *  is current; otherwise why holds the reason and the old link serves. */
typedef void (*frpc_switch_cb)(int err, const char *why, void *arg);

/** What a link is doing, for /api/transport. */
enum { FRPC_LINK_DIALING = 0, FRPC_LINK_LOGIN, FRPC_LINK_ONLINE,
       FRPC_LINK_DRAINING };

struct frpc_link {
	struct frpc *c;
	struct frpc_xport *xp;    /* referenced */
	int refs;                 /* control + one per work connection */
	int state;                /* FRPC_LINK_* */
	bool lost;                /* control gone, frpc told */
	bool logged_in;
	struct frpc_resolve *res; /* serverAddr being resolved */
	char server_ip[64];       /* serverAddr as resolved for this link */
	struct xport_dial *dial;
	struct chan *carrier;     /* transport stream under the mux */
	struct mux_session *mux;
	bool mux_dead;
	struct ctl *ctl;
	struct event *tick;       /* 1 s: login timeout, pings, liveness */
	struct event *login_ev;   /* the login deadline */
	struct event *drain_ev;   /* drainTimeout of a draining link */
	struct event *linger_ev;  /* last streams finishing, refs == 0 */
	uint64_t linger_since_ms;
	char peer[64];            /* server address as connected */
	uint64_t started_ms;
	int64_t since;            /* unix time of login */
	uint64_t last_ping_ms;
	uint64_t last_pong_ms;
	int nwork;                /* live work connections on this link */
	uint64_t login_timeout_ms;
	char run_id[64];
	TAILQ_ENTRY(frpc_link) dlink; /* in c->draining */
};
TAILQ_HEAD(frpc_link_list, frpc_link);

struct frpc {
	struct event_base *base;
	struct frpc_conf *cfg;            /**< owned snapshot; replaced on reload */
	struct tls_config *tls;           /**< transport.tls (built at start),
					       NULL when off */
	char *cfg_path;                   /**< file to reload (NULL: none) */
	struct frpc_xport *xp[FRPC_MAX_XPORTS]; /**< one per loaded transport */
	size_t nxp;
	char protocol[32];                /**< the transport links use now */
	char was_proto[32];               /**< transport of the last lost link */
	struct frpc_link *link;           /**< current link to frps, or NULL */
	struct frpc_link *next;           /**< a switch under way, or NULL */
	struct frpc_link_list draining;   /**< old links with live work */
	frpc_switch_cb switch_cb;         /**< whoever asked for c->next */
	void *switch_arg;
	bool fallback_active;             /**< serving over fallbackProtocol */
	struct event *fallback_ev;        /**< retry the configured protocol */
	struct event *retry_ev;           /**< reconnect backoff timer */
	int backoff_ms;
	bool ever_logged_in;
	int exit_code;                    /**< set before loopexit on fatal */
	bool shutting_down;               /**< frpc_free under way */
	char run_id[64];                  /**< from LoginResp; kept across
					       reconnects and switches */
	struct frpc_proxy **proxies;
	size_t n_proxies;
	uint64_t work_conns;              /**< live work connections */
	struct frpc_track_list tracked;   /**< see struct frpc_track */
	struct frpc_admin *admin;         /**< admin API, or NULL */
	struct evdns_base *dns;           /**< resolver for names in the config */
};

/* client.c */
/** Build the client on base with cfg (takes cfg): initialises every loaded
 *  transport with its options. 0/-errno (err filled). */
int frpc_new(struct event_base *base, struct frpc_conf *cfg, struct frpc **out,
	     char *err, size_t errlen);
void frpc_free(struct frpc *c);
/** Initialise ops with its options from cfg. 0/-errno (err filled). */
int frpc_xport_build(struct event_base *base, const struct frpc_conf *cfg,
		     const struct xport_ops *ops, struct frpc_xport **out,
		     char *err, size_t errlen);
void frpc_xport_ref(struct frpc_xport *x);
void frpc_xport_unref(struct frpc_xport *x);
/** The current link is gone: reconnect with backoff (or exit). */
void frpc_reconnect_later(struct frpc *c, bool logged_in, const char *why);
/** Start connecting. */
void frpc_start(struct frpc *c);
struct frpc_proxy *frpc_find_proxy(struct frpc *c, const char *name);
void frpc_proxy_ref(struct frpc_proxy *p);
void frpc_proxy_unref(struct frpc_proxy *p);
struct frpc_xport *frpc_xport_find(struct frpc *c, const char *name);
/** Check that every loaded transport accepts its options in cfg (init and
 *  fini, no sockets) and that transport.protocol and fallbackProtocol name
 *  loaded transports. 0/-errno with err "FILE:LINE:COL: ...". */
int frpc_check_transports(const struct frpc_conf *cfg, char *err,
			  size_t errlen);

/* switch.c */
/** Move to transport `proto` now, make before break. cb (may be NULL) runs
 *  once with the outcome, never from inside this call. 0 when started,
 *  -EALREADY when already on it (cb not called), -EBUSY when a switch is
 *  under way, -ENOENT when no such transport (err filled). */
int frpc_switch(struct frpc *c, const char *proto, frpc_switch_cb cb,
		void *arg, char *err, size_t errlen);
/** Called by link.c when l logged in. */
void frpc_link_online(struct frpc *c, struct frpc_link *l);
/** Called by the link when it ends (lost or login failed). */
void frpc_link_lost(struct frpc *c, struct frpc_link *l, bool logged_in,
		    const char *why);
/** Reload the configuration file: proxies added/removed/changed, a new
 *  transport.protocol switches. 0 or -errno with err filled (the running
 *  configuration stays). cb as for frpc_switch (only when a switch
 *  started; *switching tells). */
int frpc_reload(struct frpc *c, frpc_switch_cb cb, void *arg, bool *switching,
		char *err, size_t errlen);
void frpc_switch_free(struct frpc *c);

/* link.c: one login session to frps */
struct frpc_link *frpc_link_new(struct frpc *c, struct frpc_xport *xp);
/** The control is over: l stops taking new work (frpc is told). */
void frpc_link_close(struct frpc_link *l);
/** Stop taking new work, keep relaying what is live (bounded by
 *  drainTimeout); freed with its last connection. */
void frpc_link_retire(struct frpc_link *l);
/** List l among the draining links (its control is already gone). */
void frpc_link_mark_draining(struct frpc_link *l);
/** Free links whose last streams are still finishing (shutdown). */
void frpc_link_destroy_lingering(struct frpc *c);
/** Register one proxy / close one proxy on a logged-in link. */
void frpc_link_send_new_proxy(struct frpc_link *l, struct frpc_proxy *p);
void frpc_link_send_close_proxy(struct frpc_link *l, struct frpc_proxy *p);
void frpc_link_ref(struct frpc_link *l);
void frpc_link_unref(struct frpc_link *l);
/** Transport stats of the link's carrier (zeros without one). */
int frpc_link_stats(struct frpc_link *l, struct xport_stats *st);

/* An asynchronous work stream open: a mux stream or a new transport
 * connection on the link's own transport. cb runs exactly once, always from
 * the loop, unless frpc_open_cancel() is called first. */
struct frpc_open;
typedef void (*frpc_open_cb)(struct chan *ch, void *arg);
struct frpc_open *frpc_link_open_stream(struct frpc_link *l, frpc_open_cb cb,
					void *arg);
void frpc_open_cancel(struct frpc_open *o);
const char *frpc_link_run_id(struct frpc_link *l);

/* work.c: a ReqWorkConn arrived on link l */
void frpc_work_request(struct frpc *c, struct frpc_link *l);
/** End every tracked connection riding on l (drain timeout). */
void frpc_kill_link_work(struct frpc *c, struct frpc_link *l);

/* tls_link.c: transport.tls */
int frpc_tls_init(struct frpc *c, char *err, size_t errlen);
void frpc_tls_fini(struct frpc *c);
/** Wrap a new transport stream in TLS when it is on (takes ch; NULL in,
 *  or on OOM, NULL out). */
struct chan *frpc_tls_wrap(struct frpc *c, struct chan *ch);

/* udp.c: a StartWorkConn for a udp proxy; takes the ctl */
/* udp.c: a StartWorkConn for a udp proxy; takes the ctl and the link and
 * proxy references */
void frpc_udp_start(struct frpc *c, struct frpc_link *l, struct frpc_proxy *p,
		    struct ctl *work);

/* cli.c: `frpc reload|status|stop`; returns the exit status */
int frpc_cli(const char *what, const struct frpc_conf *cfg);

/* resolve.c: names to addresses without blocking the loop */
struct sockaddr;
struct frpc_resolve;
/** err 0: sa/len hold the address (with port); else errstr says why. */
typedef void (*frpc_resolve_cb)(int err, const struct sockaddr *sa,
				unsigned len, const char *errstr, void *arg);
int frpc_dns_init(struct frpc *c);
void frpc_dns_free(struct frpc *c);
/** Start resolving host (numeric or a name); cb runs once, from the loop,
 *  unless cancelled. NULL on OOM. */
struct frpc_resolve *frpc_resolve_start(struct frpc *c, const char *host,
					uint16_t port, int socktype,
					frpc_resolve_cb cb, void *arg);
void frpc_resolve_cancel(struct frpc_resolve *r);
bool frpc_addr_is_numeric(const char *host);

/* admin.c */
int frpc_admin_new(struct frpc *c, char *err, size_t errlen);
void frpc_admin_free(struct frpc *c);
/* admin_page.c: the page's files at "/" and "/static/" (an httpd route). */
struct evhttp_request;
void frpc_admin_page(struct evhttp_request *req, const char *rest, void *arg);

#endif
