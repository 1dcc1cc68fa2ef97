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

size_t frps_dash_links(struct frps *s, const char *run_id,
		       struct frps_link_view *out, size_t max)
{
	if (max == 0)
		return 0;
	struct frps_control *c = strmap_get(s->ctl_by_run_id, run_id);
	if (!c)
		return 0;
	struct chan *ch = link_chan(c);
	struct frps_link_view *v = &out[0];
	memset(v, 0, sizeof(*v));
	snprintf(v->transport, sizeof(v->transport), "%s",
		 ch && ch->ops && ch->ops->name ? ch->ops->name : "?");
	snprintf(v->addr, sizeof(v->addr), "%s", c->peer);
	if (c->st && c->st->nlinks > 0)
		v->since = c->st->links[c->st->nlinks - 1].since;
	if (ch && chan_stats(ch, &v->xs) == 0)
		v->has_stats = true;
	return 1;
}

void frps_dash_link_up(struct frps_control *c)
{
	struct chan *ch = link_chan(c);
	frps_stats_client_link(c->s->stats, c->st,
			       ch && ch->ops ? ch->ops->name : "?", c->peer);
}
