/*
 * kcp_cc_harness.h - bulk sessions over the simulator's bottleneck for the
 * congestion controller's tests (test_kcp_cc.c): a path (rate, RTT, loss,
 * FEC 10/3 or off), what its link can carry, a session that keeps its
 * sender full, and the measurements the tests assert on.
 */
#ifndef KCP_CC_HARNESS_H
#define KCP_CC_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../transports/kcp/kcp_core.h"
#include "kcp_sim.h"

#define CONV 0x0bb1e5u
#define MTU 1350
#define RESERVED 28      /* crypt 20 + FEC 8, as our sessions */
#define FEC_HDR 8        /* ... of which FEC's */
#define WIRE_EXTRA 28    /* IPv4 + UDP */
#define DS 10
#define PS 3
#define QUEUE 1000
#define CHUNK (16 * 1024)

#define REQUIRE(cond, ...) \
	do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

struct cc_path {
	uint64_t rate_bps;
	uint32_t rtt_ms;
	uint32_t loss_ppm;
	bool nofec;      /* FEC off (dataShards 0): no parity, no FEC header */
	bool scaled;     /* parity paid by each segment's scaled charge (a
			  * host that does not call kcp_cc_parity; kcp.so
			  * did not until the echo spiral was understood,
			  * test_two_way), not when it leaves */
	uint32_t queue_pkts; /* the bottleneck's queue, 0 = QUEUE */
	/* each way's delay varies per datagram, uniform over this many ms
	 * (which reorders them), around rtt_ms / 2 */
	uint32_t jitter_ms;
	uint32_t jitter_step_ms; /* != 0: one draw per step, order kept */
};

uint32_t cc_reserved_of(const struct cc_path *p);
/* payload bytes/s the bottleneck can carry; link bytes of one BDP */
double cc_capacity(const struct cc_path *p);
double cc_bdp_bytes(const struct cc_path *p);
/* the steady queue's bound: a quarter BDP or one group's parity */
double cc_queue_bound(const struct cc_path *p);
struct kcp_sim_side cc_side_for(const struct cc_path *p, int cc, bool data);

/* One bulk session from side 0 to side 1, the way a session feeds it:
 * queue while kcp_send_limit() allows, read everything that arrives. */
struct cc_flow {
	struct kcp_sim *sim;
	uint64_t got;
	uint8_t *buf;
	uint64_t rate;    /* application bytes/s, 0 = as fast as allowed */
	uint64_t written;
	uint64_t limit;   /* bytes to write in all, 0 = no end */
	bool backlog;     /* says it has more whatever it writes */
};

void cc_flow_init_conv(struct cc_flow *f, const struct cc_path *p, int cc,
		       uint64_t seed, uint32_t conv);
void cc_flow_init(struct cc_flow *f, const struct cc_path *p, int cc,
		  uint64_t seed);
void cc_flow_free(struct cc_flow *f);
void cc_flow_app(struct cc_flow *f);
/* advances every flow to `until` (elapsed ms), events in time order */
void cc_run_until(struct cc_flow *f, int nf, uint64_t until);

struct cc_result {
	double goodput;   /* payload bytes/s in the measured window */
	double share;     /* of cc_capacity() */
	double queue;     /* mean bottleneck queue seen by arrivals, bytes */
	double queue_bdp; /* ... over the BDP */
	double overhead;  /* link bytes per goodput byte */
	uint64_t drops;
	uint64_t lost;    /* sender's datagrams the link lost, whole run */
	uint64_t retrans; /* segments the sender sent again, whole run */
};

/* warm up for `warm` ms (cc_measure: the grid's warm-up), then measure
 * one window of 1 s + 10 RTTs */
struct cc_result cc_measure_after(const struct cc_path *p, int cc,
				  uint64_t seed, uint64_t warm);
struct cc_result cc_measure(const struct cc_path *p, int cc, uint64_t seed);
void cc_print_result(const char *what, const struct cc_path *p,
		     const struct cc_result *r);

/* both directions at once (an echo), per side */
struct cc_way {
	double goodput;   /* payload bytes/s from this side */
	double busy;      /* its link's busy share */
	double queue_bdp; /* mean queue of its link, over the BDP */
	double overhead;  /* link bytes per goodput byte */
	struct kcp_cc_info cc;
};

/* echo: side 1 sends back what it received instead of bulk data */
void cc_two_way(const struct cc_path *p, uint64_t seed, uint64_t from,
		uint64_t to, bool echo, struct cc_way w[2]);

#endif
