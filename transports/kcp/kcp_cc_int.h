/*
 * kcp_cc_int.h - what the congestion controller's parts share: the
 * model (kcp_cc.c: samples, states, rate and window), the judgement of a
 * standing queue (kcp_cc_queue.c) and the sender's side
 * (kcp_pace.c: the pacing budget, what may leave, what the session queues).
 * Units as in kcp_cc.c: link bytes, bytes/s, milliseconds.
 */
#ifndef KCP_CC_INT_H
#define KCP_CC_INT_H

#include "kcp_core_int.h"

#define GAIN_UNIT 1000
#define INIT_RTT_MS 10        /* pacing before the first RTT sample */
#define BURST_MS 2            /* pacing budget carried over, at most */
#define BURST_SEGS 2          /* ... or this many full datagrams */
#define MIN_BDP_RTT_MS 10     /* RTT the BDP assumes at least (ms clock) */
#define MIN_SAMPLE_MS 4       /* shortest rate-sample interval */
#define QUEUE_MIN_MS 3        /* the least queue margin */

enum { BBR_STARTUP, BBR_DRAIN, BBR_PROBE_BW, BBR_PROBE_RTT };

/* Link bytes of one segment of len payload bytes, sent alone in a
 * datagram (bulk data is one full segment per datagram). */
static inline uint32_t seg_charge(const struct kcp *k, uint32_t len)
{
	const struct kcp_bbr *b = &k->bbr;
	uint64_t c = (uint64_t)KCP_OVERHEAD + len + k->reserved + b->extra;

	if (b->ds && b->ps)
		c = c * (b->ds + b->ps) / b->ds;
	return (uint32_t)c;
}

/* Data datagrams (segments, copies, fillers: `n` of them) owe their
 * group's parity, ps parts per datagram (kcp_cc_parity pays them). */
static inline void kcp_cc_owe_parity(struct kcp_bbr *b, uint32_t n)
{
	uint32_t owed = b->parity_owed + n * b->ps;
	/* at most two groups: what did not leave in one is owed only once */
	uint32_t cap = 2 * b->ds * b->ps;

	b->parity_owed = owed < cap ? owed : cap;
}

static inline uint32_t full_charge(const struct kcp *k)
{
	return seg_charge(k, k->mss);
}

/* How long a rebuilt segment waits for the rest of its FEC group: one
 * group of datagrams at the pacing rate. */
static inline uint32_t group_ms(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;

	if (!b->ds || !b->pacing_rate)
		return 0;
	return (uint32_t)((uint64_t)(b->ds + b->ps) * b->full_seg * 1000 /
			  b->pacing_rate);
}

static inline uint32_t rtt_or_guess(const struct kcp_bbr *b)
{
	return b->min_rtt ? b->min_rtt : INIT_RTT_MS;
}

/* The RTT behind BDP and the inflight cap: on a path of a tick or two the
 * ms clock, the event loop and receive batching are most of the RTT. */
static inline uint32_t bdp_rtt(const struct kcp_bbr *b)
{
	uint32_t r = rtt_or_guess(b);

	return r < MIN_BDP_RTT_MS ? MIN_BDP_RTT_MS : r;
}

/* bandwidth x min RTT x gain, in bytes */
static inline uint64_t bdp(const struct kcp_bbr *b, uint32_t gain)
{
	return b->btl_bw * bdp_rtt(b) / 1000 * gain / GAIN_UNIT;
}

static inline uint64_t burst_cap(const struct kcp *k)
{
	uint64_t cap = k->bbr.pacing_rate * BURST_MS / 1000;
	uint64_t min = (uint64_t)BURST_SEGS * full_charge(k);

	return cap > min ? cap : min;
}

/* RTT above min_rtt by min_rtt / frac, within QUEUE_MIN_MS..max, means a
 * queue (not ms-clock noise or jitter), and above the time the bottleneck
 * takes to serialize one full datagram: the min RTT may be a small
 * datagram's, and at 1 Mbit/s a full one takes 11 ms more (every sample
 * of bulk data read as a standing queue, and the cuts took the estimate
 * to half the link). */
static inline uint32_t margin_of(const struct kcp_bbr *b, uint32_t frac,
			  uint32_t max)
{
	uint32_t m = b->min_rtt / frac;

	if (m > max)
		m = max;
	if (m < QUEUE_MIN_MS)
		m = QUEUE_MIN_MS;
	if (b->btl_bw)
		m += (uint32_t)((uint64_t)b->full_seg * 1000 / b->btl_bw);
	return m;
}

/* RTT spread the path has without a queue (kcp_cc.c), ms */
uint32_t kcp_cc_jitter(const struct kcp_bbr *b);
/* The latest an overtaken RTT sample came this slot or the last, where
 * reordering is measured; 0 elsewhere (kcp_cc.c) */
uint32_t kcp_cc_reorder_late(const struct kcp_bbr *b);

/* kcp_cc_queue.c: an RTT sample for the standing-queue judgement, and the
 * judgement at the end of an input that acknowledged something. */
void kcp_cc_queue_sample(struct kcp *k, uint32_t rtt, uint32_t now);
void kcp_cc_check_queue(struct kcp *k, uint32_t now);

#endif
