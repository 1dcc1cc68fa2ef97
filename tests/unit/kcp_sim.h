/*
 * kcp_sim.h - deterministic two-endpoint link simulator for KCP tests.
 *
 * Two kcp_core control blocks (side 0 and side 1) joined by a simulated
 * datagram link with per-direction delay, jitter, loss, duplication and
 * reordering, all drawn from a seeded splitmix64 generator, on a fake
 * millisecond clock. Nothing depends on wall time or rand(): the same seed
 * and the same calls give the same run.
 *
 * It mimics how a kcp-go session drives the core: kcp_sim_write() queues
 * data and flushes right away (no write delay), each side has one timer
 * re-armed at the wake-up kcp_flush() returns, and every arriving datagram
 * goes to kcp_input() at its arrival time (regular, optional ack_nodelay).
 */
#ifndef KCP_SIM_H
#define KCP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../transports/kcp/kcp_core.h"

/** One direction of the link. Probabilities in parts per million. */
struct kcp_sim_link {
	uint32_t delay_ms;    /* base one-way delay */
	uint32_t jitter_ms;   /* plus uniform [0, jitter_ms] */
	/* jitter_step_ms != 0: the extra delay is one value for the whole
	 * link, drawn again (uniform [0, jitter_ms]) every jitter_step_ms,
	 * and datagrams keep their order (a radio link's varying access
	 * delay); 0: drawn per datagram, which reorders them */
	uint32_t jitter_step_ms;
	uint32_t loss_ppm;    /* datagram dropped */
	uint32_t dup_ppm;     /* datagram delivered twice (second one later) */
	uint32_t reorder_ppm; /* datagram held back an extra ... */
	uint32_t reorder_ms;  /* ... uniform [1, reorder_ms] */
	/* Bottleneck (rate_bps != 0): datagrams are serialized at rate_bps
	 * (each costs its length + wire_extra bytes) behind a tail-drop FIFO
	 * of queue_pkts datagrams, then delayed; random loss strikes after
	 * the queue. jitter/reorder still apply on top. */
	uint64_t rate_bps;
	uint32_t queue_pkts;  /* 0 = 1000 */
	uint32_t wire_extra;  /* e.g. 28 for IPv4 + UDP */
	/* FEC parity traffic: after every fec_ds data datagrams, fec_ps
	 * parity datagrams as long as the group's longest go out too (they
	 * occupy the link and the receiver discards them); a group that lost
	 * at most fec_ps datagrams delivers its lost data datagrams rebuilt
	 * (regular = false) when its last datagram arrives. */
	uint32_t fec_ds, fec_ps;
	/* the sender's pacer pays for the parity when it leaves
	 * (kcp_cc_parity), as kcp.so does, instead of by the ratio */
	bool fec_charge;
	/* != 0: while the side has more than 4 segments to deliver (bulk,
	 * kcp.so's latencyDup), a datagram of ACKs only leaves this many
	 * bytes shorter (no FEC header) and outside the groups, as kcp.so's
	 * do with the controller */
	uint32_t bare_ack_hdr;
};

/** A bottleneck several simulators can share (two sessions through one
 *  link): pass it to kcp_sim_set_btl() on each, then advance them
 *  together with kcp_sim_next_event()/kcp_sim_step(). */
struct kcp_sim_btl;
struct kcp_sim_btl *kcp_sim_btl_new(uint64_t rate_bps, uint32_t queue_pkts);
void kcp_sim_btl_free(struct kcp_sim_btl *b);
/** Changes the rate from now on (what is queued keeps its schedule). */
void kcp_sim_btl_set_rate(struct kcp_sim_btl *b, uint64_t rate_bps);
struct kcp_sim_btl_stats {
	uint64_t pkts, bytes; /* admitted to the queue (link bytes) */
	uint64_t drops;       /* tail drops */
	uint64_t qsum, qn;    /* sum/count of queued bytes seen on arrival */
	uint64_t qmax;        /* most bytes queued */
};
/** Queued bytes (not yet serialized) at the simulators' time now_ms. */
uint64_t kcp_sim_btl_backlog(const struct kcp_sim_btl *b, uint64_t now_ms);
struct kcp_sim_btl_stats *kcp_sim_btl_stats(struct kcp_sim_btl *b);

struct kcp_sim_side {
	struct kcp_cfg kcp;       /* passed to kcp_new() */
	bool ack_nodelay;         /* kcp_input(..., ack_nodelay) */
	struct kcp_sim_link link; /* from this side to the other */
};

/** Observes every datagram a side outputs (KCP bytes, reserved prefix
 *  stripped) before the link sees it; returning true drops it. */
typedef bool (*kcp_sim_tap_cb)(int from, const uint8_t *data, size_t len,
			       uint32_t now, void *arg);

struct kcp_sim_stats {
	uint64_t sent[2];      /* datagrams output by each side */
	uint64_t delivered[2]; /* datagrams handed to kcp_input of each side */
	uint64_t lost[2];      /* dropped by the link (or the tap) */
	uint64_t input_errs;   /* kcp_input() returned an error */
	uint64_t oversize;     /* datagrams longer than the side's mtu */
	uint64_t prefix_clobbered; /* core wrote into the reserved prefix */
	uint64_t malformed;    /* output that does not parse as segments */
	/* PUSH sent outside snd_una .. snd_una + snd_wnd - 1 at send time */
	uint64_t window_violations;
	uint32_t max_inflight[2]; /* largest sn - snd_una + 1 seen per side */
	uint64_t wire_bytes[2];   /* link bytes offered per side (+extra,
				     + emulated parity) */
	uint64_t fec_rebuilt[2];  /* datagrams the emulated FEC recovered */
};

struct kcp_sim;

/** NULL on allocation failure or bad kcp cfg. The clock starts at
 *  start_ms (choose one near 2^32 to exercise wrap-around). */
struct kcp_sim *kcp_sim_new(uint64_t seed, uint32_t conv, uint32_t start_ms,
			    const struct kcp_sim_side *a,
			    const struct kcp_sim_side *b);
void kcp_sim_free(struct kcp_sim *sim);
struct kcp *kcp_sim_kcp(struct kcp_sim *sim, int side);
uint32_t kcp_sim_now(const struct kcp_sim *sim);
/** Milliseconds elapsed since kcp_sim_new() (64-bit, no wrap). */
uint64_t kcp_sim_elapsed(const struct kcp_sim *sim);
const struct kcp_sim_stats *kcp_sim_stats(const struct kcp_sim *sim);
void kcp_sim_set_tap(struct kcp_sim *sim, kcp_sim_tap_cb tap, void *arg);
void kcp_sim_set_link(struct kcp_sim *sim, int from,
		      const struct kcp_sim_link *link);
/** kcp_send() then kcp_flush() now (kcp-go Write without write delay).
 *  Returns kcp_send()'s result. */
int kcp_sim_write(struct kcp_sim *sim, int side, const void *buf,
		  size_t len);
/** Flushes a side now and re-arms its timer. */
void kcp_sim_kick(struct kcp_sim *sim, int side);
/** Hands a datagram to a side's kcp_input() now, bypassing the link;
 *  returns kcp_input()'s result. */
int kcp_sim_inject(struct kcp_sim *sim, int side, const uint8_t *data,
		   size_t len);
/**
 * Advances the clock to the next event (a datagram arrival or a side's
 * timer) and processes everything due then: arrivals first, then timers.
 * Never moves past `elapsed_limit` (kcp_sim_elapsed() units): returns false
 * when that limit is reached without an event.
 */
bool kcp_sim_step(struct kcp_sim *sim, uint64_t elapsed_limit);
/** Routes datagrams from side `from` through a shared bottleneck (not
 *  owned; NULL = the link's own, from its rate_bps). */
void kcp_sim_set_btl(struct kcp_sim *sim, int from, struct kcp_sim_btl *b);
/** The bottleneck a side sends into (own or shared), NULL if none. */
struct kcp_sim_btl *kcp_sim_get_btl(struct kcp_sim *sim, int from);
/** Elapsed time of the next event (arrival or timer). */
uint64_t kcp_sim_next_event(const struct kcp_sim *sim);
/** Datagrams in flight on the link. */
size_t kcp_sim_inflight(const struct kcp_sim *sim);

/** An output callback for driving a core by hand: keeps whole copies
 *  (reserved prefix included) of the first 64 datagrams, counts the rest
 *  in `overflow`. arg: struct kcp_sim_cap *. */
struct kcp_sim_cap {
	int n;
	uint64_t overflow;
	size_t len[64];
	uint8_t buf[64][2 * KCP_MTU_MAX];
};
void kcp_sim_cap_output(uint8_t *buf, size_t len, void *arg);

/** Mode presets the link tests run: kcptun's normal, fast, fast2, fast3
 *  (nc=1, resend 2; fast3 with ack_nodelay) and kcp-go's defaults
 *  (0,100,0,0 with congestion window). fast2 starts the clock just before
 *  2^32 so its runs cross the wrap. */
struct kcp_sim_profile {
	const char *name;
	int nodelay, interval, resend, nc;
	int snd_wnd, rcv_wnd, mtu, reserved;
	bool ack_nodelay;
	uint32_t start_ms;
};
#define KCP_SIM_NPROFILES 5
extern const struct kcp_sim_profile kcp_sim_profiles[KCP_SIM_NPROFILES];
/** A side running profile p over a link with 20 ms delay, 10 ms jitter,
 *  loss_pct % loss, 1 % duplication and 5 % reordering (up to 30 ms). */
struct kcp_sim_side kcp_sim_side_for(const struct kcp_sim_profile *p,
				     bool stream, uint32_t loss_pct);

/** splitmix64: the generator behind the link, exposed for test data. */
uint64_t kcp_sim_mix(uint64_t x);

/** Splits a datagram (KCP bytes) into headers, filling at most max of
 *  them; returns the segment count, or -1 unless it splits exactly. */
int kcp_sim_segs(const uint8_t *p, size_t len, struct kcp_hdr *out, int max);

/**
 * Injects one hostile datagram chosen by r into side r & 1: noise with a
 * foreign conv, an unknown cmd, a payload length beyond the datagram, or a
 * truncated copy of the last genuine datagram the other side sent. Returns
 * 0 when kcp_input() answered as it must (an error, or 0 exactly when the
 * cut left whole segments plus at most a stub shorter than a header),
 * else -1.
 */
int kcp_sim_hostile(struct kcp_sim *sim, uint64_t r);

/**
 * A bulk transfer from side 0 to side 1 the way a kcp-go application
 * drives it: the writer writes while kcp_waitsnd() < min(snd_wnd, rmt_wnd)
 * (stream: chunks of 1..4 mss; messages: 1..3 mss each, so they fragment),
 * the reader drains everything after every step (stream: alternating
 * kcp_recv with random sizes and kcp_read_front/consume) and checks every
 * byte against the generator. Done when all was delivered and acked; then
 * 5 s more must deliver nothing.
 */
struct kcp_sim_xfer {
	bool stream;
	uint64_t total;    /* bytes (stream) or messages */
	uint64_t seed;     /* chunk sizes, message sizes, content */
	uint64_t limit_ms; /* fake-time budget (kcp_sim_elapsed units) */
	/* optional, runs at each step's time before the application writes
	 * and reads; returning false aborts */
	bool (*on_step)(struct kcp_sim *sim, void *arg);
	void *arg;
	bool hold_reads;   /* the reader pauses while set (on_step may flip) */
	/* results */
	uint64_t sent, got;
	char err[160];     /* why kcp_sim_transfer() failed */
};

/** 0 when everything arrived intact, in order, exactly once; else -1 with
 *  x->err set. */
int kcp_sim_transfer(struct kcp_sim *sim, struct kcp_sim_xfer *x);

#endif
