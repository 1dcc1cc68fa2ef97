/*
 * frpc.h - the client: one struct frpc per process, holding the loaded
 * config, the transport in use, the current link to frps and the proxies.
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
struct mux_session;
struct xport_dial;
struct frpc_link;
struct tls_config;

/** Run-time state of one configured proxy. */
struct frpc_proxy {
	const struct conf_proxy *conf; /**< borrowed from frpc.cfg */
	char *wire_name;               /**< name on the wire: "user.name" when
					    user is set (frp prefixes it) */
	char *remote_addr;             /**< from NewProxyResp, or NULL */
	char *err;                     /**< last NewProxyResp error, or NULL */
	int status;                    /**< FRPC_PROXY_* */
};

enum { FRPC_PROXY_NEW = 0, FRPC_PROXY_WAIT_START, FRPC_PROXY_RUNNING,
       FRPC_PROXY_START_ERROR, FRPC_PROXY_CLOSED };

/** Anything that holds a link reference (work connections, udp proxy
 *  sessions): listed so shutdown can end them all. */
struct frpc_track {
	TAILQ_ENTRY(frpc_track) link;
	void (*kill)(struct frpc_track *t); /**< end it now (frees t) */
};
TAILQ_HEAD(frpc_track_list, frpc_track);

struct frpc {
	struct event_base *base;
	struct frpc_conf *cfg;            /**< owned */
	const struct xport_ops *ops;      /**< transport for cfg->protocol */
	struct xport_ctx *xctx;
	struct tls_config *tls;           /**< transport.tls, NULL when off */
	struct frpc_link *link;           /**< current link to frps, or NULL */
	struct event *retry_ev;           /**< reconnect backoff timer */
	int backoff_ms;
	bool ever_logged_in;
	int exit_code;                    /**< set before loopexit on fatal */
	char run_id[64];                  /**< from LoginResp; kept across
					       reconnects */
	struct frpc_proxy *proxies;       /**< cfg->n_proxies entries */
	uint64_t work_conns;              /**< live work connections */
	struct frpc_track_list tracked;   /**< see struct frpc_track */
};

/** Build the client on base with cfg (takes cfg). 0/-errno (err filled). */
int frpc_new(struct event_base *base, struct frpc_conf *cfg, struct frpc **out,
	     char *err, size_t errlen);
void frpc_free(struct frpc *c);
/** Start connecting. */
void frpc_start(struct frpc *c);

/* link.c: one login session to frps */
struct frpc_link *frpc_link_new(struct frpc *c);
void frpc_link_close(struct frpc_link *l);
/* Called by the link when it ends (lost or login failed). */
void frpc_link_lost(struct frpc *c, struct frpc_link *l, bool logged_in,
		    const char *why);

/* work.c: a ReqWorkConn arrived on link l */
void frpc_work_request(struct frpc *c, struct frpc_link *l);
/* link reference counting for work connections riding on it */
void frpc_link_ref(struct frpc_link *l);
void frpc_link_unref(struct frpc_link *l);
/* open a new stream to frps for a work connection: a mux stream or a new
 * transport connection; cb gets a chan or NULL. */
struct chan;
typedef void (*frpc_open_cb)(struct chan *ch, void *arg);
void frpc_link_open_stream(struct frpc_link *l, frpc_open_cb cb, void *arg);
const char *frpc_link_run_id(struct frpc_link *l);
struct frpc_proxy *frpc_find_proxy(struct frpc *c, const char *name);

/* tls_link.c: transport.tls */
int frpc_tls_init(struct frpc *c, char *err, size_t errlen);
void frpc_tls_fini(struct frpc *c);
/** Wrap a new transport stream in TLS when it is on (takes ch; NULL in,
 *  or on OOM, NULL out). */
struct chan *frpc_tls_wrap(struct frpc *c, struct chan *ch);

/* udp.c: a StartWorkConn for a udp proxy; takes the ctl */
void frpc_udp_start(struct frpc *c, struct frpc_link *l, struct frpc_proxy *p,
		    struct ctl *work);

#endif
