/*
 * stats.h - frps counters for the dashboard, the JSON API and metrics.
 *
 * Entries outlive what they describe: a proxy's entry stays (offline) after
 * its client leaves, and a proxy registered again under the same name keeps
 * its traffic, like frp's dashboard. Every live user of an entry (the proxy
 * itself, each open user connection, a client's control) holds a reference;
 * an entry is forgotten only when nothing refers to it and it has been
 * offline for FRPS_STATS_KEEP_S, or when offline entries exceed a cap.
 *
 * Traffic is counted from the user's side: "in" = bytes the user sent,
 * "out" = bytes sent to the user. Daily buckets are UTC days; index 0 is
 * the current day.
 */
#ifndef FRPS_STATS_H
#define FRPS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRPS_STATS_DAYS 7
#define FRPS_STATS_KEEP_S (7 * 86400)
#define FRPS_STATS_MAX_OFFLINE 10000
/** Live rates are bytes/s averaged over this many one-second slots. */
#define FRPS_RATE_WINDOW 10
/** Links (transport sessions) remembered per client, newest last. */
#define FRPS_LINK_HISTORY 8

/** Per-second byte counts of the last FRPS_RATE_WINDOW seconds (monotonic
 *  clock); slot sec % FRPS_RATE_WINDOW holds second sec. */
struct frps_rate {
	uint64_t in[FRPS_RATE_WINDOW], out[FRPS_RATE_WINDOW];
	int64_t sec;                      /**< newest second written */
};

struct frps_traffic {
	uint64_t in, out;                 /**< since the server started */
	uint64_t day_in[FRPS_STATS_DAYS]; /**< [0] = today (UTC) */
	uint64_t day_out[FRPS_STATS_DAYS];
	int64_t day0;                     /**< UTC day number of [0] */
	struct frps_rate rate;
};

/** One link a client had: which transport carried its control, when. */
struct frps_link_event {
	char transport[16];
	char addr[64];
	int64_t since, until;             /**< unix seconds; until 0 = now */
};

struct frps_proxy_stats {
	char *name;
	char *type;           /**< "tcp", "udp" */
	char *user;           /**< login user of the owning client */
	char *run_id;         /**< owning client's run_id (last owner) */
	char *client_version;
	int remote_port;      /**< last port it listened on */
	struct frps_traffic traffic;
	int cur_conns;
	bool online;
	int64_t last_start;   /**< unix seconds; 0 = never */
	int64_t last_close;
	int refs;
};

struct frps_client_stats {
	char *run_id;
	char *user, *client_id, *version, *hostname, *os, *arch;
	char addr[64];        /**< "ip:port" it logged in from */
	bool online;
	int64_t first_connected, last_connected, disconnected;
	struct frps_traffic traffic;
	int cur_conns;
	int nproxies;         /**< proxies online now */
	int refs;
	struct frps_link_event links[FRPS_LINK_HISTORY]; /**< oldest first */
	int nlinks;
	uint64_t link_ups;    /**< links it came up on, ever (monotonic) */
};

struct frps_stats {
	struct strmap *proxies; /* name -> frps_proxy_stats */
	struct strmap *clients; /* run_id -> frps_client_stats */
	struct frps_traffic total;
	int cur_conns;
	int clients_online;
	size_t proxies_offline, clients_offline;
	uint64_t generation;    /* bumped by every change worth persisting */
};

struct frps_stats *frps_stats_new(void);
void frps_stats_free(struct frps_stats *st);

/** A proxy came online. Creates or revives the entry for name and takes a
 *  reference for the proxy. NULL on OOM. */
struct frps_proxy_stats *frps_stats_proxy_online(struct frps_stats *st,
						 const char *name,
						 const char *type,
						 int remote_port,
						 struct frps_client_stats *owner);
/** The proxy went away: marks it offline, drops the proxy's reference. */
void frps_stats_proxy_offline(struct frps_stats *st, struct frps_proxy_stats *p,
			      struct frps_client_stats *owner);

/** A client logged in; keyed by run_id (a re-login with the same run_id
 *  revives the entry). Takes a reference for the control. NULL on OOM. */
struct frps_client_stats *frps_stats_client_online(
	struct frps_stats *st, const char *run_id, const char *user,
	const char *client_id, const char *version, const char *hostname,
	const char *os, const char *arch, const char *addr);
void frps_stats_client_offline(struct frps_stats *st, struct frps_client_stats *c);

/** A user connection opened / closed on proxy p of client c (either may be
 *  NULL). open takes references, close drops them. */
void frps_stats_conn_open(struct frps_stats *st, struct frps_proxy_stats *p,
			  struct frps_client_stats *c);
void frps_stats_conn_close(struct frps_stats *st, struct frps_proxy_stats *p,
			   struct frps_client_stats *c);
/** Add traffic (either entry may be NULL). */
void frps_stats_traffic(struct frps_stats *st, struct frps_proxy_stats *p,
			struct frps_client_stats *c, uint64_t in, uint64_t out);

/** Forget old offline entries nobody refers to (call now and then). */
void frps_stats_gc(struct frps_stats *st, int64_t now);

/** Iterate (start *pos at 0). */
struct frps_proxy_stats *frps_stats_proxy_next(const struct frps_stats *st,
					       size_t *pos);
struct frps_client_stats *frps_stats_client_next(const struct frps_stats *st,
						 size_t *pos);
struct frps_proxy_stats *frps_stats_proxy_find(const struct frps_stats *st,
					       const char *name);

/** Bring the daily buckets of t to day `today` (UTC day number). */
void frps_traffic_roll(struct frps_traffic *t, int64_t today);
/** Add bytes at the given UTC day and monotonic second (the clock-free
 *  core of frps_stats_traffic, for tests). */
void frps_traffic_add(struct frps_traffic *t, int64_t today, int64_t mono_s,
		      uint64_t in, uint64_t out);
/** Bytes/s over the FRPS_RATE_WINDOW seconds before mono_s (the second
 *  under way is left out: it is not complete yet). */
void frps_traffic_rate(const struct frps_traffic *t, int64_t mono_s,
		       uint64_t *in_bps, uint64_t *out_bps);
/** The 7 daily buckets as of day `today` ([0] = today), t unchanged. */
void frps_traffic_days(const struct frps_traffic *t, int64_t today,
		       uint64_t in[FRPS_STATS_DAYS], uint64_t out[FRPS_STATS_DAYS]);
/** Today's traffic (0 when the buckets are from an earlier day). */
uint64_t frps_traffic_today_in(const struct frps_traffic *t, int64_t today);
uint64_t frps_traffic_today_out(const struct frps_traffic *t, int64_t today);
/** Now as the stats count it: UTC day number and monotonic second. */
int64_t frps_stats_today(void);
int64_t frps_stats_mono_s(void);

/** A client's control came up over a transport (link history). */
void frps_stats_client_link(struct frps_stats *st, struct frps_client_stats *c,
			    const char *transport, const char *addr);

/** Recreate an offline proxy entry from the stats file (no reference is
 *  taken; an entry that exists already is left as it is). 0/-errno. */
int frps_stats_proxy_restore(struct frps_stats *st, const char *name,
			     const char *type, const char *user,
			     const struct frps_traffic *t, int64_t last_start,
			     int64_t last_close);
/** Forget every offline proxy entry nobody refers to (frp's
 *  DELETE /api/proxies?status=offline). Returns how many went. */
size_t frps_stats_prune_offline(struct frps_stats *st);

#endif
