/*
 * dash_link.c - read a client's link state for the dashboard.
 *
 * This is the only dashboard file that knows how frps holds a client's
 * links (a control over a transport stream, or over a yamux session on
 * one); the API, the metrics and the page see struct frps_link_view.
 */
#include "dash.h"

#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "ctl.h"
#include "mux.h"
#include "util.h"
#include "frps.h"
#include "stats.h"
#include "strmap.h"

/* The transport stream under c: the session's carrier with tcpMux, else
 * the control's own chan. */
static struct chan *link_chan(const struct frps_control *c)
{
	if (c->sess && c->sess->carrier)
		return c->sess->carrier;
	return c->ctl ? ctl_chan(c->ctl) : NULL;
}

static void fill(struct frps_link_view *v, struct chan *ch, const char *addr,
		 int64_t since, const struct mux_session *mux, bool draining)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->transport, sizeof(v->transport), "%s",
		 ch && ch->ops && ch->ops->name ? ch->ops->name : "?");
	snprintf(v->addr, sizeof(v->addr), "%s", addr);
	v->since = since;
	v->draining = draining;
	v->streams = mux ? (int)mux_stream_count(mux) : -1;
	if (ch && chan_stats(ch, &v->xs) == 0)
		v->has_stats = true;
}

/*
 * The current link first; then, with tcpMux, the earlier sessions of the
 * same client that still carry streams (a client that moved to another
 * link keeps the old one until its last work connection ends). Without
 * tcpMux work connections are separate streams and there is no earlier
 * link object to show.
 */
size_t frps_dash_links(struct frps *s, const char *run_id,
		       struct frps_link_view *out, size_t max)
{
	if (max == 0)
		return 0;
	struct frps_control *c = strmap_get(s->ctl_by_run_id, run_id);
	if (!c)
		return 0;
	int64_t since = c->st && c->st->nlinks > 0
				? c->st->links[c->st->nlinks - 1].since
				: 0;
	fill(&out[0], link_chan(c), c->peer, since, c->sess ? c->sess->mux : NULL,
	     false);
	size_t n = 1;
	struct frps_sess *x;
	TAILQ_FOREACH(x, &s->sessions, link) {
		if (n == max)
			break;
		if (x == c->sess || !x->mux || !x->carrier ||
		    strcmp(x->run_id, run_id) != 0)
			continue;
		fill(&out[n++], x->carrier, x->carrier->peer, x->since, x->mux,
		     true);
	}
	return n;
}

void frps_dash_link_up(struct frps_control *c)
{
	struct chan *ch = link_chan(c);
	frps_stats_client_link(c->s->stats, c->st,
			       ch && ch->ops ? ch->ops->name : "?", c->peer);
	if (c->sess) {
		snprintf(c->sess->run_id, sizeof(c->sess->run_id), "%s",
			 c->run_id);
		c->sess->since = util_unix_time();
	}
}
