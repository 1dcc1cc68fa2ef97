/*
 * kcp_core_int.h - private to kcp_core*.c: the control block layout and
 * the small helpers both halves of the core share. Not for other modules.
 */
#ifndef KCP_CORE_INT_H
#define KCP_CORE_INT_H

#include "kcp_core.h"

#include <string.h>

#define RTO_NDL 30
#define RTO_MIN 100
#define RTO_DEF 200
#define RTO_MAX 60000
#define WND_DEF 32
#define INTERVAL_DEF 100
#define DEADLINK_DEF 20
#define THRESH_INIT 2
#define THRESH_MIN 2
#define PROBE_INIT 7000
#define PROBE_LIMIT 120000
#define ASK_SEND 1u
#define ASK_TELL 2u
#define POOL_KEEP_DEF 64
/* Output scratch: the largest reserved prefix plus one header plus the
 * largest payload, so a segment cut for an older, larger MSS still fits. */
#define OBUF_SIZE (2 * KCP_MTU_MAX)
/* Pending ACKs beyond this (2 * rcv_wnd, at least ACKS_MIN) are flushed at
 * the end of kcp_input, so a flood of duplicates cannot grow the list. */
#define ACKS_MIN 128
/* ACKs repeated in the next ACK datagram: one datagram's worth at the
 * default MTU (1400 / 24) */
#define ACK_REPEAT_MAX 56
/* Bulk data both ways (an echo through the tunnel), with the controller:
 * every datagram is an FEC shard and a group's parity is as long as its
 * longest shard, so an ACK datagram of its own takes a data datagram's
 * place in the group and a data datagram's worth of parity. New segments
 * then leave room for ACK_ROOM ACKs, the ACKs ride in the first data
 * datagram of a flush, and while no data goes out (the pacer holds it, or
 * it is not written yet) they wait for it up to ACK_HOLD_MS, outside our
 * STARTUP (kcp_cc_acks_now; the peer's RTT samples rise by that at most,
 * under the 3 ms a queue must add to count). "Both ways": BIDIR_SEGS data
 * segments or more arrived, and as many left, within a BIDIR_WIN_MS
 * window, this one or the last (kcp_both_ways). */
#define ACK_ROOM 4
#define ACK_HOLD_MS 2
#define BIDIR_SEGS 8
#define BIDIR_WIN_MS 100

struct kcp_seg {
	uint8_t *data;     /* pool buffer, NULL when len == 0 or acked */
	uint32_t sn;
	uint32_t ts;
	uint32_t resendts;
	uint32_t rto;
	uint32_t xmit;
	uint32_t fastack;
	uint16_t len;
	uint8_t frg;
	uint8_t acked;     /* snd_buf: payload released, waiting for una */
	uint8_t used;      /* rcv_buf slot occupied */
	uint8_t app_lim;   /* BBR: sent while application-limited */
	uint8_t copies;    /* BBR: transmissions counted in flight */
	/* BBR delivery-rate stamps, taken at the latest transmission */
	uint32_t charge;   /* link bytes this segment costs, 0 = unsent */
	uint32_t del_ms;   /* connection's delivered_ms then */
	uint32_t first_ms; /* connection's first_sent_ms then */
	uint64_t del;      /* connection's delivered bytes then */
};

/* BBR state (kcp_cc.c). Byte counts are link bytes: what the core outputs
 * plus the per-datagram extra, scaled by the FEC parity ratio. */
#define BBR_BW_ROUNDS 10
/* A stretch of RTT samples the controller judges for a standing queue. */
struct kcp_span {
	uint32_t ms;                /* its start, 0 = none yet */
	uint32_t n;                 /* RTT samples in it */
	uint32_t min;               /* its least sample */
	uint32_t retx;              /* retransmissions in it */
	uint64_t del;               /* delivered at its start */
	uint64_t late;              /* late_del at its start */
};

/* A point in a standing run where a judged stretch may begin. */
#define BBR_RUN_MARKS 4
struct kcp_run_mark {
	uint32_t ms;                /* when, 0 = none */
	uint32_t n, retx;           /* the run's counts then */
	uint32_t rtt;               /* the sample then, 0 = the next one */
	uint64_t del;               /* delivered then */
	uint64_t late;              /* late_del then */
};

/* RTT spread no queue explains (kcp_cc_jitter), per JIT_SLOT_MS slot */
#define JIT_TOP 4
struct kcp_jit_slot {
	uint32_t rise[JIT_TOP], ro[JIT_TOP]; /* ms, largest first */
	uint32_t n, nr;                      /* samples, reordered ones */
};

struct kcp_bbr {
	bool on;
	uint8_t mode;               /* BBR_STARTUP .. BBR_PROBE_RTT */
	uint8_t cycle;              /* PROBE_BW gain phase 0..7 */
	bool full_pipe, app_rs, rs_valid, round_start, probe_rtt_round;
	bool startup_drain;         /* DRAIN after STARTUP */
	bool run_drain;             /* DRAIN after a cut on a standing run */
	uint32_t cuts, run_cuts;    /* estimate cuts, those on a run */
	bool settling;              /* PROBE_BW, startup's queue not gone yet */
	bool startup_standing;      /* STARTUP: last round's queue stood */
	bool parity_paced;          /* the FEC layer charges parity itself */
	uint32_t extra, ds, ps;     /* kcp_set_wire */
	uint64_t delivered;         /* link bytes acknowledged so far */
	uint64_t late_del;          /* ... and those left out of it as late */
	uint32_t delivered_ms, first_sent_ms;
	uint64_t app_limited;       /* delivered mark, 0 = not app-limited */
	uint64_t next_round;        /* delivered value that ends the round */
	uint32_t rounds;
	uint64_t bw_slot[BBR_BW_ROUNDS];
	uint32_t bw_slot_round[BBR_BW_ROUNDS];
	uint64_t btl_bw;            /* bytes/s */
	uint64_t full_bw;
	uint32_t full_cnt;
	uint32_t min_rtt, min_rtt_ms; /* ms; when it was measured */
	uint32_t round_rtt;         /* smallest RTT sample this round */
	uint32_t round_rtt_max;     /* largest */
	uint32_t round_rtt_n, round_rtt_hi; /* samples, and those a quarter
				     * above min_rtt (check_full_pipe) */
	uint32_t round_retx;        /* retransmissions this round */
	bool round_wnd;             /* snd_wnd/rmt_wnd bound this round */
	bool rate_set;              /* pacing follows a sample, not the guess */
	uint32_t startup_queue;     /* STARTUP rounds in a row with a queue */
	uint64_t round_del;         /* delivered when the round began */
	uint32_t full_seg;          /* link bytes of a full segment */
	uint32_t queue_rounds;      /* rounds in a row with a standing queue */
	uint32_t cycle_ms, probe_rtt_done;
	uint32_t prior_cwnd;        /* cwnd when PROBE_RTT began */
	struct kcp_span q;          /* standing-queue window */
	bool q_app;                 /* application-limited at some point */
	struct kcp_span run;        /* RTT samples above the margin, up to now */
	uint32_t run_last;          /* the run's last sample */
	struct kcp_run_mark run_mark[BBR_RUN_MARKS]; /* oldest first */
	uint32_t run_marks;
	bool q_cut;                 /* deep cut, queue not seen gone since */
	uint32_t q_hold;            /* standing windows since that cut */
	bool recut;                 /* a too shallow one may be cut again */
	uint32_t drain_ms;          /* DRAIN began, 0 = not in DRAIN */
	uint32_t drain_infl;        /* in flight then */
	uint64_t post_rate;         /* the last window since that stood */
	uint64_t cut_del, cut_bw;   /* delivered at the last cut, its rate */
	uint32_t app_rounds;        /* application-limited rounds in a row */
	uint32_t ck_ms, ck2_ms;     /* delivery checkpoints for short RTTs */
	uint64_t ck_del, ck2_del;
	uint64_t pacing_rate;       /* bytes/s */
	uint64_t wnd_rate;          /* window / min_rtt while the window binds */
	uint32_t cwnd, inflight;    /* bytes */
	int64_t credit;             /* pacing budget, bytes */
	uint32_t parity_owed;       /* parity the data datagrams sent owe,
				     * in 1/ds of a parity datagram */
	uint8_t mixed_groups;       /* parity datagrams to go since one
				     * the data owed under half of (a group
				     * of ACK datagrams): parity_phase off */
	uint32_t credit_ms;
	bool waiting;               /* last flush left sendable data behind */
	/* the rate sample being built by one kcp_input */
	uint64_t rs_prior, rs_acked;
	uint32_t rs_prior_ms, rs_send_elapsed;
	uint64_t rng;
	struct kcp_jit_slot jit[2]; /* this slot, the one before */
	uint32_t jit_ms;            /* this slot began */
	uint32_t jit_max;           /* largest slot value so far */
	uint32_t jit_ts, jit_rtt;   /* newest-sent sample so far */
	uint64_t jit_bw;            /* highest estimate so far */
};

struct kcp_ring {
	struct kcp_seg *v;
	uint32_t head, n, cap; /* cap: 0 or a power of two */
};

struct kcp_ack {
	uint32_t sn, ts;
};

/* Data segments counted per BIDIR_WIN_MS window (kcp_both_ways). */
struct kcp_flow_win {
	uint32_t ms, n, prev;
};
void kcp_flow_count(struct kcp_flow_win *w, uint32_t now);

struct kcp {
	uint32_t conv, mtu, mss, reserved;
	uint32_t snd_una, snd_nxt, rcv_nxt;
	uint32_t ssthresh, cwnd, incr;
	int32_t srtt, rttvar;
	uint32_t rx_rto, rx_minrto;
	uint32_t snd_wnd, rcv_wnd, rmt_wnd;
	uint32_t probe, ts_probe, probe_wait;
	uint32_t interval, nodelay, resend, dead_link;
	bool nocwnd, stream, dead;
	bool backlog;              /* kcp_set_backlog */

	struct kcp_ring snd_queue, snd_buf, rcv_queue;
	struct kcp_seg *rcv_slots; /* indexed by sn & (rcv_cap - 1) */
	uint32_t rcv_cap, nrcv_buf;
	uint32_t rcv_off;          /* bytes already read from rcv_queue[0] */
	size_t rcv_bytes;          /* unread bytes in rcv_queue */

	struct kcp_ack *acks;
	uint32_t nack, ack_cap;
	/* With the controller on, the last flush's ACKs above rcv_nxt, sent
	 * once more ahead of the next flush's (see kcp_flush) */
	struct kcp_ack racks[ACK_REPEAT_MAX];
	uint32_t nrack;
	uint32_t ack_since;        /* when the oldest pending ACK was queued */
	struct kcp_flow_win rx, tx; /* data segments in and out: kcp_both_ways */

	void *pool;                /* free list linked through the buffers */
	uint32_t pool_n, pool_keep;

	uint8_t *obuf;
	size_t opos;               /* write position in obuf */
	kcp_output_cb output;
	void *output_arg;

	struct kcp_stats st;
	struct kcp_bbr bbr;
	uint32_t cc_now;           /* kcp_input's clock, for delivery stamps */
};

/* ---- small helpers ---------------------------------------------------- */

static inline int32_t tdiff(uint32_t later, uint32_t earlier)
{
	return (int32_t)(later - earlier);
}

static inline bool kcp_flow_busy(const struct kcp_flow_win *w, uint32_t now)
{
	return tdiff(now, w->ms) < 2 * BIDIR_WIN_MS &&
	       (w->n >= BIDIR_SEGS || w->prev >= BIDIR_SEGS);
}

/* Data flows both ways (see ACK_ROOM), and the controller is on. */
static inline bool kcp_both_ways(const struct kcp *k, uint32_t now)
{
	return k->bbr.on && kcp_flow_busy(&k->rx, now) &&
	       kcp_flow_busy(&k->tx, now);
}

/* Arithmetic shift right with floor semantics on every compiler (C leaves
 * >> of a negative value implementation-defined; kcp-go relies on Go's). */
static inline int32_t asr(int32_t v, unsigned n)
{
	return v < 0 ? ~(~v >> n) : v >> n;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline struct kcp_seg *ring_at(const struct kcp_ring *r, uint32_t i)
{
	return &r->v[(r->head + i) & (r->cap - 1)];
}

/* Only after kcp_core_ring_reserve() made room. */
static inline struct kcp_seg *ring_push(struct kcp_ring *r)
{
	struct kcp_seg *s = ring_at(r, r->n++);

	memset(s, 0, sizeof(*s));
	return s;
}

static inline void ring_pop(struct kcp_ring *r)
{
	r->head = (r->head + 1) & (r->cap - 1);
	r->n--;
}

/* Makes room for `more` pushes (the ring only grows). 0 or -ENOMEM. */
int kcp_core_ring_reserve(struct kcp_ring *r, uint32_t more);
uint8_t *kcp_core_pool_get(struct kcp *k);
void kcp_core_pool_put(struct kcp *k, uint8_t *p);
/* Stores a PUSH with rcv_nxt <= sn < rcv_nxt + rcv_wnd and moves what is
 * now in order to rcv_queue. 1 if new, 0 for a duplicate, -ENOMEM. */
int kcp_core_rcv_insert(struct kcp *k, const struct kcp_hdr *h,
			const uint8_t *payload);

/* kcp_cc.c: the BBR-like controller's hooks into input and flush. */
void kcp_cc_reset(struct kcp *k);
/* May s go out now (pacing budget, inflight cap; head = the oldest
 * unacknowledged segment, which the cap never holds back)? */
bool kcp_cc_can_send(struct kcp *k, const struct kcp_seg *s, bool head);
void kcp_cc_on_send(struct kcp *k, struct kcp_seg *s, uint32_t now);
/* s was acknowledged, first time only: by its ACK (known, ts = the echo
 * of the copy that arrived) or by una. */
void kcp_cc_on_deliver(struct kcp *k, struct kcp_seg *s, bool known,
		       uint32_t ts);
void kcp_cc_on_rtt(struct kcp *k, uint32_t rtt, bool fresh, uint32_t now);
/* s's timer expired after a whole RTT without deliveries: its copies are
 * lost and leave the flight. */
void kcp_cc_on_lost(struct kcp *k, struct kcp_seg *s);
/* End of kcp_input: turns the delivered segments into a rate sample and
 * updates the model. */
void kcp_cc_on_input_end(struct kcp *k, uint32_t now);
void kcp_cc_refill(struct kcp *k, uint32_t now);
/* No delivery for half an RTT (at least one interval). */
bool kcp_cc_stalled(const struct kcp *k, uint32_t now);
/* No delivery for a whole RTT (at least one interval). */
bool kcp_cc_lost_stall(const struct kcp *k, uint32_t now);
/* ACKs go at once: our STARTUP, unless long application-limited. */
bool kcp_cc_acks_now(const struct kcp *k);
bool kcp_cc_queue_head(const struct kcp *k, const struct kcp_seg *s);
/* Fast retransmission may wait out the FEC group (the window is wide). */
bool kcp_cc_fec_skips(const struct kcp *k);
uint32_t kcp_cc_fec_wait(const struct kcp *k);
uint32_t kcp_cc_reorder_wait(const struct kcp *k);
/* End of a flush's transmit pass: blocked = data was left for the pacer,
 * idle = nothing was left to send in the window, wnd_segs = the window
 * (snd_wnd/rmt_wnd) when it, not the path, held data back (else 0). */
void kcp_cc_flush_end(struct kcp *k, bool blocked, bool idle,
		      uint32_t wnd_segs);

#endif
