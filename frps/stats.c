#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

static int64_t utc_day(int64_t unix_s) { return unix_s / 86400; }

int64_t frps_stats_today(void) { return utc_day(util_unix_time()); }
int64_t frps_stats_mono_s(void) { return (int64_t)(util_now_ms() / 1000); }

/* Clear the slots of the seconds between r->sec and now (exclusive of
 * r->sec, inclusive of now), so every slot holds a second of the window. */
static void rate_roll(struct frps_rate *r, int64_t now)
{
	if (now <= r->sec)
		return;
	if (now - r->sec >= FRPS_RATE_WINDOW) {
		memset(r->in, 0, sizeof(r->in));
		memset(r->out, 0, sizeof(r->out));
	} else {
		for (int64_t s = r->sec + 1; s <= now; s++) {
			r->in[s % FRPS_RATE_WINDOW] = 0;
			r->out[s % FRPS_RATE_WINDOW] = 0;
		}
	}
	r->sec = now;
}

void frps_traffic_rate(const struct frps_traffic *t, int64_t mono_s,
		       uint64_t *in_bps, uint64_t *out_bps)
{
	struct frps_rate r = t->rate;
	uint64_t si = 0, so = 0;
	/* Roll to the last complete second only: rolling to mono_s would
	 * clear the slot of mono_s - FRPS_RATE_WINDOW, still in the window.
	 * When the second under way has bytes already, its slot is that
	 * oldest second's and the loop leaves it out. */
	rate_roll(&r, mono_s - 1);
	for (int64_t s = mono_s - FRPS_RATE_WINDOW; s < mono_s; s++) {
		if (s < 0 || s > r.sec || r.sec - s >= FRPS_RATE_WINDOW)
			continue;
		si += r.in[s % FRPS_RATE_WINDOW];
		so += r.out[s % FRPS_RATE_WINDOW];
	}
	*in_bps = si / FRPS_RATE_WINDOW;
	*out_bps = so / FRPS_RATE_WINDOW;
}

void frps_traffic_days(const struct frps_traffic *t, int64_t today,
		       uint64_t in[FRPS_STATS_DAYS], uint64_t out[FRPS_STATS_DAYS])
{
	struct frps_traffic c = *t;
	frps_traffic_roll(&c, today);
	memcpy(in, c.day_in, sizeof(c.day_in));
	memcpy(out, c.day_out, sizeof(c.day_out));
}

uint64_t frps_traffic_today_in(const struct frps_traffic *t, int64_t today)
{
	return t->day0 == today ? t->day_in[0] : 0;
}

uint64_t frps_traffic_today_out(const struct frps_traffic *t, int64_t today)
{
	return t->day0 == today ? t->day_out[0] : 0;
}

void frps_traffic_roll(struct frps_traffic *t, int64_t today)
{
	if (t->day0 == today)
		return;
	int64_t shift = today - t->day0;
	if (t->day0 == 0 || shift >= FRPS_STATS_DAYS || shift < 0) {
		memset(t->day_in, 0, sizeof(t->day_in));
		memset(t->day_out, 0, sizeof(t->day_out));
	} else {
		int s = (int)shift;
		memmove(t->day_in + s, t->day_in,
			sizeof(t->day_in[0]) * (FRPS_STATS_DAYS - s));
		memmove(t->day_out + s, t->day_out,
			sizeof(t->day_out[0]) * (FRPS_STATS_DAYS - s));
		memset(t->day_in, 0, sizeof(t->day_in[0]) * s);
		memset(t->day_out, 0, sizeof(t->day_out[0]) * s);
	}
	t->day0 = today;
}

void frps_traffic_add(struct frps_traffic *t, int64_t today, int64_t mono_s,
		      uint64_t in, uint64_t out)
{
	frps_traffic_roll(t, today);
	t->in += in;
	t->out += out;
	t->day_in[0] += in;
	t->day_out[0] += out;
	rate_roll(&t->rate, mono_s);
	t->rate.in[mono_s % FRPS_RATE_WINDOW] += in;
	t->rate.out[mono_s % FRPS_RATE_WINDOW] += out;
}

struct frps_stats *frps_stats_new(void)
{
	struct frps_stats *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->proxies = strmap_new();
	st->clients = strmap_new();
	if (!st->proxies || !st->clients) {
		strmap_free(st->proxies);
		strmap_free(st->clients);
		free(st);
		return NULL;
	}
	return st;
}

static void proxy_entry_free(struct frps_proxy_stats *p)
{
	free(p->name);
	free(p->type);
	free(p->user);
	free(p->run_id);
	free(p->client_version);
	free(p);
}

static void client_entry_free(struct frps_client_stats *c)
{
	free(c->run_id);
	free(c->user);
	free(c->client_id);
	free(c->version);
	free(c->hostname);
	free(c->os);
	free(c->arch);
	free(c);
}

void frps_stats_free(struct frps_stats *st)
{
	if (!st)
		return;
	size_t pos = 0;
	void *v;
	while ((v = strmap_next(st->proxies, &pos, NULL)))
		proxy_entry_free(v);
	pos = 0;
	while ((v = strmap_next(st->clients, &pos, NULL)))
		client_entry_free(v);
	strmap_free(st->proxies);
	strmap_free(st->clients);
	free(st);
}

/* Replace *field with a copy of v ("" for NULL); keeps the old value on OOM. */
static void set_str(char **field, const char *v)
{
	char *d = util_strdup(v ? v : "");
	if (!d)
		return;
	free(*field);
	*field = d;
}

struct frps_proxy_stats *frps_stats_proxy_online(struct frps_stats *st,
						 const char *name,
						 const char *type,
						 int remote_port,
						 struct frps_client_stats *owner)
{
	struct frps_proxy_stats *p = strmap_get(st->proxies, name);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || !(p->name = util_strdup(name)) ||
		    strmap_put(st->proxies, name, p) < 0) {
			if (p)
				free(p->name);
			free(p);
			return NULL;
		}
	} else if (!p->online) {
		st->proxies_offline--;
	}
	set_str(&p->type, type);
	set_str(&p->user, owner ? owner->user : "");
	set_str(&p->run_id, owner ? owner->run_id : "");
	set_str(&p->client_version, owner ? owner->version : "");
	p->remote_port = remote_port;
	p->online = true;
	p->last_start = util_unix_time();
	p->last_close = 0;
	p->refs++;
	if (owner)
		owner->nproxies++;
	st->generation++;
	return p;
}

void frps_stats_proxy_offline(struct frps_stats *st, struct frps_proxy_stats *p,
			      struct frps_client_stats *owner)
{
	if (!p)
		return;
	if (p->online) {
		p->online = false;
		p->last_close = util_unix_time();
		st->proxies_offline++;
		if (owner && owner->nproxies > 0)
			owner->nproxies--;
		st->generation++;
	}
	p->refs--;
}

struct frps_client_stats *frps_stats_client_online(
	struct frps_stats *st, const char *run_id, const char *user,
	const char *client_id, const char *version, const char *hostname,
	const char *os, const char *arch, const char *addr)
{
	struct frps_client_stats *c = strmap_get(st->clients, run_id);
	int64_t now = util_unix_time();
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c || !(c->run_id = util_strdup(run_id)) ||
		    strmap_put(st->clients, run_id, c) < 0) {
			if (c)
				free(c->run_id);
			free(c);
			return NULL;
		}
		c->first_connected = now;
	} else if (!c->online) {
		st->clients_offline--;
	}
	set_str(&c->user, user);
	set_str(&c->client_id, client_id);
	set_str(&c->version, version);
	set_str(&c->hostname, hostname);
	set_str(&c->os, os);
	set_str(&c->arch, arch);
	snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "");
	if (!c->online)
		st->clients_online++;
	c->online = true;
	c->last_connected = now;
	c->refs++;
	return c;
}

void frps_stats_client_offline(struct frps_stats *st, struct frps_client_stats *c)
{
	if (!c)
		return;
	if (c->online) {
		c->online = false;
		c->disconnected = util_unix_time();
		st->clients_online--;
		st->clients_offline++;
	}
	c->refs--;
}

void frps_stats_conn_open(struct frps_stats *st, struct frps_proxy_stats *p,
			  struct frps_client_stats *c)
{
	st->cur_conns++;
	if (p) {
		p->cur_conns++;
		p->refs++;
	}
	if (c) {
		c->cur_conns++;
		c->refs++;
	}
}

void frps_stats_conn_close(struct frps_stats *st, struct frps_proxy_stats *p,
			   struct frps_client_stats *c)
{
	st->cur_conns--;
	if (p) {
		p->cur_conns--;
		p->refs--;
	}
	if (c) {
		c->cur_conns--;
		c->refs--;
	}
}

void frps_stats_traffic(struct frps_stats *st, struct frps_proxy_stats *p,
			struct frps_client_stats *c, uint64_t in, uint64_t out)
{
	if (in == 0 && out == 0)
		return;
	int64_t today = frps_stats_today(), mono = frps_stats_mono_s();
	frps_traffic_add(&st->total, today, mono, in, out);
	if (p)
		frps_traffic_add(&p->traffic, today, mono, in, out);
	if (c)
		frps_traffic_add(&c->traffic, today, mono, in, out);
	st->generation++;
}

/* Offline, unreferenced, and either old or beyond the cap. Oldest-first
 * eviction would need a sorted index; beyond the cap we drop whatever
 * unreferenced offline entries the sweep meets first, which bounds memory
 * and is good enough for a display. */
void frps_stats_gc(struct frps_stats *st, int64_t now)
{
	size_t pos = 0;
	const char *key;
	struct frps_proxy_stats *p;
	while ((p = strmap_next(st->proxies, &pos, &key))) {
		if (p->online || p->refs > 0)
			continue;
		if (now - p->last_close > FRPS_STATS_KEEP_S ||
		    st->proxies_offline > FRPS_STATS_MAX_OFFLINE) {
			strmap_del(st->proxies, key);
			st->proxies_offline--;
			proxy_entry_free(p);
			st->generation++;
		}
	}
	pos = 0;
	struct frps_client_stats *c;
	while ((c = strmap_next(st->clients, &pos, &key))) {
		if (c->online || c->refs > 0)
			continue;
		if (now - c->disconnected > FRPS_STATS_KEEP_S ||
		    st->clients_offline > FRPS_STATS_MAX_OFFLINE) {
			strmap_del(st->clients, key);
			st->clients_offline--;
			client_entry_free(c);
		}
	}
}

struct frps_proxy_stats *frps_stats_proxy_next(const struct frps_stats *st,
					       size_t *pos)
{
	return strmap_next(st->proxies, pos, NULL);
}

struct frps_client_stats *frps_stats_client_next(const struct frps_stats *st,
						 size_t *pos)
{
	return strmap_next(st->clients, pos, NULL);
}

struct frps_proxy_stats *frps_stats_proxy_find(const struct frps_stats *st,
					       const char *name)
{
	return strmap_get(st->proxies, name);
}

void frps_stats_client_link(struct frps_stats *st, struct frps_client_stats *c,
			    const char *transport, const char *addr)
{
	(void)st;
	if (!c)
		return;
	int64_t now = util_unix_time();
	if (c->nlinks > 0 && c->links[c->nlinks - 1].until == 0)
		c->links[c->nlinks - 1].until = now;
	if (c->nlinks == FRPS_LINK_HISTORY) {
		memmove(c->links, c->links + 1,
			sizeof(c->links[0]) * (FRPS_LINK_HISTORY - 1));
		c->nlinks--;
	}
	struct frps_link_event *e = &c->links[c->nlinks++];
	memset(e, 0, sizeof(*e));
	snprintf(e->transport, sizeof(e->transport), "%s",
		 transport ? transport : "");
	snprintf(e->addr, sizeof(e->addr), "%s", addr ? addr : "");
	e->since = now;
	c->link_ups++;
}

int frps_stats_proxy_restore(struct frps_stats *st, const char *name,
			     const char *type, const char *user,
			     const struct frps_traffic *t, int64_t last_start,
			     int64_t last_close)
{
	if (strmap_get(st->proxies, name))
		return 0;
	struct frps_proxy_stats *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (!(p->name = util_strdup(name)) || !(p->type = util_strdup(type)) ||
	    !(p->user = util_strdup(user ? user : "")) ||
	    !(p->run_id = util_strdup("")) ||
	    !(p->client_version = util_strdup("")) ||
	    strmap_put(st->proxies, name, p) < 0) {
		proxy_entry_free(p);
		return -ENOMEM;
	}
	p->traffic = *t;
	memset(&p->traffic.rate, 0, sizeof(p->traffic.rate));
	p->last_start = last_start;
	p->last_close = last_close ? last_close : util_unix_time();
	st->proxies_offline++;
	return 0;
}

size_t frps_stats_prune_offline(struct frps_stats *st)
{
	size_t pos = 0, n = 0;
	const char *key;
	struct frps_proxy_stats *p;
	while ((p = strmap_next(st->proxies, &pos, &key))) {
		if (p->online || p->refs > 0)
			continue;
		strmap_del(st->proxies, key);
		st->proxies_offline--;
		proxy_entry_free(p);
		n++;
	}
	if (n)
		st->generation++;
	return n;
}
