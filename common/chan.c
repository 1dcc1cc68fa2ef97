#include "chan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mux.h"
#include "tls.h"
#include "util.h"

struct chan *chan_from_xport(const struct xport_ops *ops, struct xport_stream *s)
{
	struct chan *c = calloc(1, sizeof(*c));
	if (!c) {
		ops->stream_close(s, XPORT_CLOSE_ABORT);
		return NULL;
	}
	c->ops = ops;
	c->xs = s;
	c->bev = ops->stream_bev(s);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (XPORT_HAS_OP(ops, stream_peer) && ops->stream_peer(s, &ss, &len) == 0)
		util_addr_str(&ss, c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "?");
	return c;
}

struct chan *chan_from_mux(struct mux_stream *s, const char *peer)
{
	struct chan *c = calloc(1, sizeof(*c));
	if (!c) {
		mux_stream_close(s, 1);
		return NULL;
	}
	c->ms = s;
	c->bev = mux_stream_bev(s);
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "?");
	return c;
}

void chan_close(struct chan *c, int how)
{
	if (!c)
		return;
	if (c->tls)
		tls_stream_close(c->tls, how); /* closes c->inner */
	else if (c->xs)
		c->ops->stream_close(c->xs, how);
	else if (c->ms)
		mux_stream_close(c->ms, how == XPORT_CLOSE_ABORT ? 1 : 0);
	free(c);
}

int chan_stats(struct chan *c, struct xport_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (c->inner)
		return chan_stats(c->inner, st);
	if (!c->xs)
		return -ENOTSUP;
	return c->ops->stream_stats(c->xs, st);
}

size_t chan_goal_bound(size_t goal, size_t lo, size_t hi)
{
	if (!goal || goal >= hi)
		return hi;
	return goal < lo ? lo : goal;
}

size_t chan_send_goal(void *arg)
{
	struct chan *c = arg;

	while (c->inner)
		c = c->inner;
	if (!c->xs || !XPORT_HAS_OP(c->ops, stream_send_goal))
		return 0;
	return c->ops->stream_send_goal(c->xs);
}
