/*
 * chan.h - one byte stream as the core sees it, whatever carries it: a
 * transport stream (tcp.so, kcp.so, ...) or a yamux stream on top of one.
 * Control, work connections and the relay use only this.
 */
#ifndef CHAN_H
#define CHAN_H

#include <stdbool.h>
#include <stddef.h>

#include "xport.h"

struct mux_stream;
struct tls_stream;

struct chan {
	struct bufferevent *bev; /**< data plane; owned by the carrier */
	char peer[64];           /**< "ip:port" of the remote end, for logs */
	const struct xport_ops *ops; /**< transport chans (and TLS over one) */
	struct xport_stream *xs;     /**< transport chans only */
	struct mux_stream *ms;       /**< mux chans only */
	struct tls_stream *tls;      /**< TLS chans only (tls_chan_wrap) */
	struct chan *inner;          /**< TLS chans: the stream under TLS */
	bool is_tls;                 /**< TLS runs on this stream */
};

/** Wrap a transport stream (takes s). NULL on OOM (s is then closed). */
struct chan *chan_from_xport(const struct xport_ops *ops, struct xport_stream *s);
/** Wrap a mux stream (takes s); peer is copied for logs. */
struct chan *chan_from_mux(struct mux_stream *s, const char *peer);
/** Close the carrier (XPORT_CLOSE_FLUSH / XPORT_CLOSE_ABORT) and free c.
 *  Safe from inside the bev's callbacks. NULL no-op. */
void chan_close(struct chan *c, int how);
/** Transport stats when the chan is a transport stream (or TLS over one);
 *  -ENOTSUP for mux. */
int chan_stats(struct chan *c, struct xport_stats *st);
/** What the transport under c (through TLS) asks the layers above it to
 *  keep queued (xport_ops.stream_send_goal), 0 for none or a mux chan.
 *  Takes a struct chan * as void * so it can be a layer's goal callback. */
size_t chan_send_goal(void *c);
/** A layer's bound under a goal: hi when there is no goal (0) or it is
 *  above hi, else the goal, not below lo. */
size_t chan_goal_bound(size_t goal, size_t lo, size_t hi);

#endif
