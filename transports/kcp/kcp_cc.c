/*
 * kcp_cc.c - a paced, model-based congestion controller for the KCP core
 * (BBR v1's model: docs/kcp-congestion.md has the constants and why).
 *
 * Sender side only; nothing on the wire changes. The path is modelled by
 * two numbers: the bottleneck bandwidth (windowed max of delivery-rate
 * samples over 10 round trips) and the propagation delay (windowed min of
 * RTT samples over 10 s). Transmissions are paced at gain x bandwidth and
 * the data in flight is capped near 2 x bandwidth x min RTT. Random loss
 * does not enter the model; a queue that stands does: kcp_cc_queue.c
 * judges it and cuts the estimate, and DRAIN empties the queue.
 * A segment that FEC rebuilt behind a standing queue is not counted as
 * delivered: the queue dropped it, the link never carried it.
 *
 * The pacing budget, what may leave now and how much the session queues
 * are kcp_pace.c; the helpers both use are kcp_cc_int.h.
 *
 * Units: link bytes (what kcp_flush outputs plus kcp_set_wire's extra per
 * datagram, scaled by the FEC parity ratio), bytes/s, milliseconds.
 */
#include "kcp_cc_int.h"

#include <errno.h>

#define HIGH_GAIN 2885        /* 2/ln 2: doubles the rate every round */
#define DRAIN_GAIN 347        /* 1/2.885 */
#define CWND_GAIN 2000
#define FULL_BW_GROWTH 1250   /* "still growing": +25 % ... */
#define FULL_BW_ROUNDS 3      /* ... within 3 rounds */
#define MIN_RTT_WIN_MS 10000
#define PROBE_RTT_MS 200
#define PROBE_MAX_MS 100      /* PROBE_BW's 5/4 phase lasts at most this */
#define MIN_CWND_SEGS 4
#define DRAIN_MAX_RTTS 4      /* DRAIN's longest (drain_overdue) */
#define INIT_CWND_SEGS 32     /* kcp-go's default window goes out at once */
#define APP_RESTART_ROUNDS 4  /* app-limited rounds, then bulk: STARTUP */
#define APP_HOLD_ROUNDS 16    /* ... in STARTUP: its ACKs may wait */
#define LATE_FRAC 16          /* late deliveries: min_rtt / 16, >= 3 ms */
#define OVERFLOW_MIN_RETX 8   /* STARTUP: resends that can mean overflow */
#define LATE_SKIPS 2          /* skips that make an ACK "late" */
#define LATE_VARS 4           /* ... and rttvar times this */

static const uint32_t cycle_gain[8] = {1250, 750, 1000, 1000,
				       1000, 1000, 1000, 1000};

static uint32_t seg_charge_full(const struct kcp_bbr *b)
{
	return b->full_seg;
}

/* The link carries FEC parity in bursts (ps datagrams after every ds data
 * ones) while each segment's charge spreads it evenly, so a delivery-rate
 * sample over a few datagrams errs by up to the parity ratio: one between
 * two bursts reads 13/10 of the link, one across a burst less, and the max
 * filter keeps the high ones. On a fast path every sample spans many
 * groups; at 1-3 Mbit/s and 10-20 ms a flight is less than one, and the
 * estimate stood 20-30 % above the link (a standing queue, a cut, grown
 * back: a sawtooth of 15-40 ms of queue). So a sample's bytes are counted
 * as the link carried them if its span held as few bursts as it can:
 * n data datagrams and floor(n / ds) bursts. Exact for the samples the
 * max filter keeps, no change for long ones. Only where the FEC layer
 * pays parity when it leaves (kcp_cc_parity), whose pacer sends a group's
 * data at the data rate and then pauses: with the scaled charge the sends
 * are evenly spaced, a sample they limit is exact, and this read 1/1.3 of
 * it (the estimate fell to a third of a 5 Mbit/s x 10 ms link). Nor
 * while the groups hold ACK datagrams (an echo: mixed_groups): then the
 * bursts come after fewer data datagrams than ds, and the correction read
 * the samples low (a 20 %-loss echo took 13-44 s instead of 11-16). */
static uint64_t parity_phase(const struct kcp_bbr *b, uint64_t got)
{
	uint64_t grp;

	if (!b->parity_paced || !b->ds || !b->ps || !got || b->mixed_groups)
		return got;
	grp = (uint64_t)b->ds * b->full_seg; /* a group, its parity included */
	/* data bytes (got without its parity share) + the bursts' bytes */
	return (got + (got / grp) * b->ps * b->full_seg) * b->ds /
	       (b->ds + b->ps);
}

static uint32_t pacing_gain(const struct kcp_bbr *b)
{
	switch (b->mode) {
	case BBR_STARTUP:
		return HIGH_GAIN;
	case BBR_DRAIN:
		return DRAIN_GAIN;
	case BBR_PROBE_BW:
		return cycle_gain[b->cycle];
	default:
		return GAIN_UNIT;
	}
}

void kcp_cc_reset(struct kcp *k)
{
	struct kcp_bbr *b = &k->bbr;
	bool on = b->on, parity_paced = b->parity_paced;
	uint32_t extra = b->extra, ds = b->ds, ps = b->ps;

	memset(b, 0, sizeof(*b));
	b->on = on;
	b->parity_paced = parity_paced;
	b->extra = extra;
	b->ds = ds;
	b->ps = ps;
	b->rng = 0x9e3779b97f4a7c15ull ^ k->conv;
	b->full_seg = full_charge(k);
	b->cwnd = INIT_CWND_SEGS * full_charge(k);
	b->pacing_rate = (uint64_t)b->cwnd * 1000 / INIT_RTT_MS *
			 HIGH_GAIN / GAIN_UNIT;
	b->credit = (int64_t)burst_cap(k);
}

int kcp_set_congestion(struct kcp *k, int algo)
{
	if (algo != KCP_CC_NONE && algo != KCP_CC_BBR)
		return -EINVAL;
	k->bbr.on = algo == KCP_CC_BBR;
	kcp_cc_reset(k);
	return 0;
}

void kcp_set_wire(struct kcp *k, uint32_t extra, uint32_t ds, uint32_t ps)
{
	k->bbr.extra = extra;
	k->bbr.ds = ds && ps ? ds : 0;
	k->bbr.ps = ds && ps ? ps : 0;
	if (!k->bbr.rounds)
		kcp_cc_reset(k);
}

void kcp_cc_on_send(struct kcp *k, struct kcp_seg *s, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	uint32_t c = seg_charge(k, s->len);

	/* a flight starting from nothing measures from now */
	if (b->inflight == 0)
		b->first_sent_ms = b->delivered_ms = now;
	/* every copy counts in flight until the segment is acknowledged
	 * (or found lost after an RTT without deliveries, kcp_cc_on_lost):
	 * lost copies then hold back new data for a round, and a burst of
	 * retransmissions cannot add to a queue behind the cap's back */
	if (s->copies || s->xmit) {
		b->round_retx++;
		b->q.retx++;
		b->run.retx++;
	}
	b->inflight += c;
	s->charge = c;
	if (s->copies < UINT8_MAX)
		s->copies++;
	s->del = b->delivered;
	s->del_ms = b->delivered_ms;
	s->first_ms = b->first_sent_ms;
	s->app_lim = b->app_limited != 0;
	/* the budget pays the datagram's own bytes when the FEC layer pays
	 * for its parity (kcp_cc_parity), else its share of them too */
	b->credit -= b->parity_paced ? (int64_t)(KCP_OVERHEAD + s->len +
						 k->reserved + b->extra)
				     : (int64_t)c;
	kcp_cc_owe_parity(b, 1);
}

/* Every copy of s leaves the flight (acknowledged, or found lost). */
static void leave_flight(struct kcp_bbr *b, struct kcp_seg *s)
{
	uint32_t all = s->charge * s->copies;

	b->inflight = b->inflight > all ? b->inflight - all : 0;
	s->copies = 0;
}

/* s's timer expired with nothing delivered for an RTT (kcp_cc_lost_stall):
 * its copies are lost and leave the flight, so the inflight cap lets it
 * (and the rest of a lost flight) go again at the pacing rate. Counted
 * until acknowledged, the copies of a flight that a link outage took kept
 * the cap shut, and only the head went, once per RTO: after 300 ms of
 * outage at 200 Mbit/s x 100 ms the session ran at 0.1 Mbit/s for 1.3 s
 * and took 2.2 s to get back to 80 % of its rate (test_blackout; 0.2-0.4 s
 * now). A copy that arrives after all is only delivered (its charge
 * left with it). */
void kcp_cc_on_lost(struct kcp *k, struct kcp_seg *s)
{
	leave_flight(&k->bbr, s);
}

static bool late_behind_queue(const struct kcp *k, const struct kcp_seg *s)
{
	const struct kcp_bbr *b = &k->bbr;
	uint32_t margin = margin_of(b, LATE_FRAC, UINT32_MAX) + group_ms(k) +
			  (k->rttvar > 0 ? LATE_VARS * (uint32_t)k->rttvar : 0);

	return s->fastack >= LATE_SKIPS && b->min_rtt &&
	       tdiff(k->cc_now, s->ts) > (int32_t)(b->min_rtt + margin);
}

void kcp_cc_on_deliver(struct kcp *k, struct kcp_seg *s, bool known,
		       uint32_t ts)
{
	struct kcp_bbr *b = &k->bbr;

	if (!s->charge)
		return; /* never sent by us (cannot be acked honestly) */
	leave_flight(b, s);
	/* Acknowledged after segments sent later (it was lost and FEC
	 * rebuilt it, or it was reordered) with an RTT that says a queue
	 * stood: most likely a datagram the full queue dropped, whose data
	 * the parity carried. The link never serialized it, so counting it
	 * as delivered made the rate samples exceed the link by up to the
	 * parity ratio whenever the queue overflowed (206 Mbit/s measured on
	 * a 200 Mbit/s link), and the inflated estimate overflowed the queue
	 * again. Random loss on an empty path still counts (the link carried
	 * those datagrams; the wait for the rest of the group is part of
	 * the margin), and so does jitter: two skips at least, and four
	 * times rttvar in the margin. With rttvar once, a path whose delay
	 * varies by a few ms per datagram (reordering them) had its late
	 * datagrams' deliveries left out: the estimate stood 17 % under the
	 * link at 50 Mbit/s x 50 ms x 1 % with 0-10 ms of jitter each way
	 * (test_jitter: 83 % of capacity, 90 % now; bench/kcp_rated.sh with
	 * RJIT=5, +-5 ms: 56 % of the link). A queue that drops stands
	 * longer than rttvar varies. */
	if (!late_behind_queue(k, s))
		b->delivered += s->charge;
	else
		b->late_del += s->charge;
	b->delivered_ms = k->cc_now;
	b->rs_acked += s->charge;
	/* the sample follows the most recently sent of the segments this
	 * input acknowledged; the stamps are those of the latest copy, so a
	 * segment acknowledged by an older copy (the ACK echoes the ts of
	 * the copy that arrived; una tells nothing) only counts as delivered */
	if (known ? ts != s->ts : s->xmit > 1) {
		s->charge = 0;
		return;
	}
	if (!b->rs_valid || s->del >= b->rs_prior) {
		b->rs_valid = true;
		b->rs_prior = s->del;
		b->rs_prior_ms = s->del_ms;
		b->rs_send_elapsed = (uint32_t)tdiff(s->ts, s->first_ms);
		b->app_rs = s->app_lim;
		b->first_sent_ms = s->ts;
	}
	s->charge = 0;
}

/* Jitter: the RTT spread that no queue explains, for the standing-queue
 * margin (kcp_cc_queue.c). Two kinds of evidence, from consecutive RTT
 * samples:
 * - a rise: a FIFO queue fed by us (at most 5/4 of the estimate after
 *   STARTUP) grows by at most the time between the two sends, plus two
 *   datagrams' serialization at the highest estimate and two ms ticks;
 *   a step of the path's delay rises by itself at once. Not in STARTUP,
 *   whose pacing may run far above the link (1 Mbit/s: 33 ms rises);
 * - reordering: a sample sent before one already acknowledged arrived
 *   that much later (a FIFO never reorders), less the time an FEC group
 *   takes to rebuild a lost datagram. Counted only while a JIT_RO_FRAC
 *   share of the samples is reordered: FEC-rebuilt datagrams are late by
 *   up to a few groups (49 ms at 5 Mbit/s x 5 % loss) but few (1-3 % of
 *   the samples on bench/kcp_rated.sh's link at 2-5 % loss), per-datagram
 *   jitter reorders 11-13 % of them (5 Mbit/s in the simulator; 50 Mbit/s
 *   with udp_impair's +- 5 ms, where a gate of 1/8 missed it).
 * The value is the JIT_K + 1-th largest of a JIT_SLOT_MS slot (this one
 * or the last): the largest alone took one newcomer's STARTUP burst for
 * jitter, and fairness fell to 0.73 (test_fairness). At most min_rtt. */
#define JIT_SLOT_MS 2000
#define JIT_TICKS 2
#define JIT_K 3
#define JIT_RO_FRAC 16

static void jit_add(uint32_t *top, int64_t e)
{
	int i;

	if (e <= (int64_t)top[JIT_TOP - 1])
		return;
	for (i = JIT_TOP - 1; i > 0 && (int64_t)top[i - 1] < e; i--)
		top[i] = top[i - 1];
	top[i] = (uint32_t)e;
}

/* the i-th largest lateness of a slot's reordered samples, while the
 * slot counts as reordering at all */
static uint32_t slot_reorder(const struct kcp_jit_slot *sl, int i)
{
	return sl->nr * JIT_RO_FRAC >= sl->n ? sl->ro[i] : 0;
}

static uint32_t slot_jitter(const struct kcp_jit_slot *sl)
{
	uint32_t j = slot_reorder(sl, JIT_K);

	return sl->rise[JIT_K] > j ? sl->rise[JIT_K] : j;
}

static void jitter_sample(struct kcp *k, uint32_t rtt, bool fresh,
			  uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	struct kcp_jit_slot *sl = &b->jit[0];
	uint32_t ts = now - rtt;
	int32_t gap = tdiff(ts, b->jit_ts);
	int64_t e;

	if (!b->jit_ms || tdiff(now, b->jit_ms) >= JIT_SLOT_MS) {
		uint32_t j = slot_jitter(sl);

		if (j > b->jit_max)
			b->jit_max = j;
		if (b->jit_ms && tdiff(now, b->jit_ms) < 2 * JIT_SLOT_MS)
			b->jit[1] = b->jit[0];
		else
			memset(&b->jit[1], 0, sizeof(b->jit[1]));
		memset(&b->jit[0], 0, sizeof(b->jit[0]));
		b->jit_ms = now;
	}
	if (b->btl_bw > b->jit_bw)
		b->jit_bw = b->btl_bw;
	if (b->jit_ts && b->full_pipe && b->jit_bw) {
		sl->n++;
		if (gap < 0) {
			if (fresh) {
				sl->nr++;
				jit_add(sl->ro, (int64_t)rtt - b->jit_rtt -
							group_ms(k) - JIT_TICKS);
			}
			return;
		}
		e = (int64_t)rtt - b->jit_rtt - gap - JIT_TICKS -
		    2 * (int64_t)b->full_seg * 1000 / (int64_t)b->jit_bw;
		jit_add(sl->rise, e);
	} else if (b->jit_ts && gap < 0) {
		return;
	}
	b->jit_ts = ts;
	b->jit_rtt = rtt;
}

uint32_t kcp_cc_reorder_late(const struct kcp_bbr *b)
{
	uint32_t r = slot_reorder(&b->jit[0], 0);
	uint32_t r1 = slot_reorder(&b->jit[1], 0);

	return r1 > r ? r1 : r;
}

/* How long fast retransmission waits for a segment's ACK on a path that
 * reorders (0 on one that does not): the smoothed RTT plus the latest an
 * overtaken sample came (the largest, not the fourth: with udp_impair's
 * +- 5 ms at 50 Mbit/s x 50 ms, 237-266 fast retransmissions per 50 MB
 * where the fourth left 334-690). KCP resends a segment that two later ones
 * skipped; with 0-10 ms of jitter each way a datagram is skipped by dozens
 * (hundreds at 200 Mbit/s) and sent again for nothing: 1.66 link bytes per
 * byte and 34 % of capacity at 200 Mbit/s x 20 ms, 1.39 and 71 % now.
 * Only where reordering is measured (slot_reorder), so lost and rebuilt
 * copies do not hold the repairs back (as a wait on every late ACK did:
 * test_two_way's 20 % loss at 66 % of capacity). */
uint32_t kcp_cc_reorder_wait(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;
	uint32_t r = kcp_cc_reorder_late(b);

	if (!b->on || !r)
		return 0;
	return (k->srtt > 0 ? (uint32_t)k->srtt : rtt_or_guess(b)) + r;
}

uint32_t kcp_cc_jitter(const struct kcp_bbr *b)
{
	uint32_t j = slot_jitter(&b->jit[0]), j1 = slot_jitter(&b->jit[1]);

	if (j1 > j)
		j = j1;
	return j < b->min_rtt ? j : b->min_rtt;
}

void kcp_cc_on_rtt(struct kcp *k, uint32_t rtt, bool fresh, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;

	if (rtt == 0)
		rtt = 1; /* ms clock: below one tick */
	jitter_sample(k, rtt, fresh, now);
	if (!b->round_rtt || rtt < b->round_rtt)
		b->round_rtt = rtt;
	if (rtt > b->round_rtt_max)
		b->round_rtt_max = rtt;
	if (!b->full_pipe) { /* STARTUP's overflow rule counts them */
		b->round_rtt_n++;
		if (b->min_rtt &&
		    rtt > b->min_rtt + margin_of(b, 4, UINT32_MAX))
			b->round_rtt_hi++;
	}
	/* expiry is PROBE_RTT's business (update_state) */
	if (!b->min_rtt || rtt <= b->min_rtt) {
		b->min_rtt = rtt;
		b->min_rtt_ms = now;
	}
	kcp_cc_queue_sample(k, rtt, now);
}

static uint64_t bw_max(const struct kcp_bbr *b)
{
	uint64_t m = 0;

	for (int i = 0; i < BBR_BW_ROUNDS; i++)
		if (b->rounds - b->bw_slot_round[i] < BBR_BW_ROUNDS &&
		    b->bw_slot[i] > m)
			m = b->bw_slot[i];
	return m;
}

static void bw_update(struct kcp_bbr *b, uint64_t bw)
{
	uint32_t i = b->rounds % BBR_BW_ROUNDS;

	if (b->bw_slot_round[i] != b->rounds) {
		b->bw_slot_round[i] = b->rounds;
		b->bw_slot[i] = 0;
	}
	if (bw > b->bw_slot[i])
		b->bw_slot[i] = bw;
	b->btl_bw = bw_max(b);
}

/* STARTUP doubles the rate every round and stops when it stops paying
 * (the bandwidth grew less than 25 % in 3 rounds, as BBR). A shallow
 * queue overflows long before that on a long path, and the drops keep the
 * samples low, so a round that ended with a queue (its largest RTT sample
 * a quarter above the min RTT) and resent a tenth of what it delivered,
 * or two rounds in a row with a queue and no growth, also mean the pipe
 * is full. */
static void check_full_pipe(struct kcp_bbr *b)
{
	uint32_t margin = margin_of(b, 4, UINT32_MAX);
	bool queue = b->min_rtt && b->round_rtt_max > b->min_rtt + margin;
	/* even the round's least RTT sample sat a quarter above the min:
	 * a queue stood all round and the bandwidth stopped doubling */
	bool standing = b->min_rtt && b->round_rtt > b->min_rtt + margin;
	/* the overflow rule's queue: a quarter of the round's samples that
	 * high, not its largest alone. Reordering and jitter raise single
	 * samples, and at 20 % random loss a tenth of a round is resent
	 * anyway: an echo's STARTUP ended at 7-9 Mbit/s on an unlimited
	 * loopback link (16 MiB each way in 11-25 s, now 3-11 s) */
	bool overflow_queue = b->round_rtt_hi &&
			      (uint64_t)b->round_rtt_hi * 4 >= b->round_rtt_n;

	if (b->full_pipe || !b->round_start)
		return;
	b->startup_standing = standing;
	/* overflow: a tenth of the round resent, 8 segments at least (random
	 * loss is mostly repaired by FEC, and below that anyway). A round the
	 * window held back (snd_wnd/rmt_wnd: its samples count as
	 * application-limited) needs no RTT rise:
	 * a queue shallower than min_rtt / 4 (1,000 datagrams at 200 Mbit/s
	 * and 300 ms) never shows one, and STARTUP went on overflowing it
	 * for seconds. */
	if ((overflow_queue || b->app_rs) &&
	    b->round_retx >= OVERFLOW_MIN_RETX &&
	    (uint64_t)b->round_retx * 10 * seg_charge_full(b) >
		    b->delivered - b->round_del) {
		b->full_pipe = true;
		return;
	}
	/* An application-limited round says nothing about the path. One
	 * the window held back (its samples count as application-limited
	 * too) that saw a queue (the overflow rule's) is judged as any other:
	 * with a queue deeper than the window's excess over the BDP (5,000
	 * datagrams at 200 Mbit/s x 300 ms, with the 8192-segment ceiling)
	 * STARTUP never overflowed it enough for the rule above, paced at
	 * 2.885 x into each opening of the window for 2-3 s, and stalled the
	 * stream twice (89 % of capacity, 85 % at 5 % loss; 97 % and 94 %
	 * now, test_queue_depth). Not without a queue: a window-bound session
	 * on a path without a bottleneck (bench/kcp.sh's first rows) then
	 * left STARTUP, and the simulator's first 3 s at 50 ms x 5 % with
	 * 1024-segment windows fell from 145-159 to 123-133 Mbit/s. */
	if (b->app_rs && !(b->round_wnd && (standing || overflow_queue)))
		return;
	if (b->btl_bw * GAIN_UNIT >= b->full_bw * FULL_BW_GROWTH) {
		b->full_bw = b->btl_bw;
		b->full_cnt = 0;
		b->startup_queue = 0;
		return;
	}
	b->startup_queue = queue ? b->startup_queue + 1 : 0;
	if (++b->full_cnt >= FULL_BW_ROUNDS || b->startup_queue >= 2 ||
	    standing)
		b->full_pipe = true;
}

static void enter_probe_bw(struct kcp_bbr *b, uint32_t now)
{
	b->mode = BBR_PROBE_BW;
	b->rng += 0x9e3779b97f4a7c15ull;
	/* a random phase other than the 3/4 one, so flows do not probe in
	 * step */
	b->cycle = (uint8_t)(2 + (b->rng >> 33) % 6);
	if ((b->rng >> 20) % 8 == 0)
		b->cycle = 0;
	b->cycle_ms = now;
}

static void advance_cycle(struct kcp *k, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	bool full_time = tdiff(now, b->cycle_ms) > (int32_t)rtt_or_guess(b);
	uint32_t gain = cycle_gain[b->cycle];

	/* probe until the extra data is in flight, for PROBE_MAX_MS at most:
	 * a min RTT of 1.25 x the estimate queues a quarter BDP, more than a
	 * 1,000-datagram queue holds at 200 Mbit/s x 300 ms (each probe
	 * tail-dropped hundreds of datagrams); a shorter probe still shows
	 * spare bandwidth in the samples of what it sent */
	if (gain > GAIN_UNIT && tdiff(now, b->cycle_ms) > PROBE_MAX_MS)
		full_time = true;
	else if (gain > GAIN_UNIT &&
		 !(full_time && b->inflight >= bdp(b, gain)))
		return;
	if (gain < GAIN_UNIT && !full_time &&
	    b->inflight > bdp(b, GAIN_UNIT))
		return; /* drain until inflight is back at the BDP */
	if (gain == GAIN_UNIT && !full_time)
		return;
	b->cycle = (uint8_t)((b->cycle + 1) % 8);
	b->cycle_ms = now;
}

/* PROBE_RTT's window: half the BDP (BBRv2's), at least MIN_CWND_SEGS.
 * Our own queue is gone well below one BDP in flight, and the link keeps
 * half its rate meanwhile (with 4 segments it idled for 200 ms and a
 * round every 10 s). */
static uint32_t probe_rtt_cwnd(const struct kcp *k)
{
	uint64_t half = bdp(&k->bbr, GAIN_UNIT / 2);
	uint32_t min_cwnd = MIN_CWND_SEGS * full_charge(k);

	return half > min_cwnd ? (uint32_t)half : min_cwnd;
}

/* DRAIN ends when one BDP is in flight, or, where a BDP is less than two
 * full datagrams, at the latest DRAIN_MAX_RTTS min RTTs after what was in
 * flight when it began could have left at the estimate. At 1 Mbit/s x
 * 20 ms the BDP of a 0.6 Mbit/s estimate is 2.1 KB, and every copy of a
 * resent segment counts in flight until it is acknowledged: with two
 * datagrams out DRAIN never ended, its samples (at 1/2.885 of the
 * estimate) aged the estimate down over 10 rounds, and DRAIN's pace with
 * it, to nothing (0 % of the link from the fourth second on,
 * test_drain_stall). Not on larger BDPs: at 50 Mbit/s x 50 ms x 5 % the
 * copies of lost datagrams keep DRAIN going longer than that, and ending
 * it then left a queue that runs cut on (4 and 2 times in the benchmark's
 * sessions, none without the limit). */
static bool drain_overdue(const struct kcp_bbr *b, uint32_t now)
{
	uint64_t ms;

	if (!b->btl_bw || !b->min_rtt ||
	    bdp(b, GAIN_UNIT) >= 2 * (uint64_t)b->full_seg)
		return false;
	ms = (uint64_t)b->min_rtt * DRAIN_MAX_RTTS +
	     (uint64_t)b->drain_infl * 1000 / b->btl_bw;
	if (ms > INT32_MAX)
		ms = INT32_MAX;
	return tdiff(now, b->drain_ms) > (int32_t)ms;
}

static void update_state(struct kcp *k, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;

	if (b->mode == BBR_STARTUP && b->full_pipe) {
		b->mode = BBR_DRAIN;
		b->startup_drain = true;
	}
	if (b->mode != BBR_DRAIN)
		b->drain_ms = 0;
	else if (!b->drain_ms) {
		b->drain_ms = now ? now : 1;
		b->drain_infl = b->inflight;
	}
	if (b->mode == BBR_DRAIN && (b->inflight <= bdp(b, GAIN_UNIT) ||
				     drain_overdue(b, now))) {
		b->drain_ms = 0;
		if (b->startup_drain)
			b->settling = true;
		b->startup_drain = false;
		b->run_drain = false;
		enter_probe_bw(b, now);
	}
	if (b->mode == BBR_PROBE_BW)
		advance_cycle(k, now);
	/* min_rtt expired: measure the empty path again */
	if (b->mode != BBR_PROBE_RTT && b->min_rtt &&
	    tdiff(now, b->min_rtt_ms) > MIN_RTT_WIN_MS) {
		/* restored when PROBE_RTT ends (as Linux BBR): growing back
		 * from PROBE_RTT's window by what is acknowledged took six
		 * rounds, 1.3 s of a 200 ms path at a fraction of its rate
		 * every 10 s */
		b->prior_cwnd = b->cwnd;
		b->mode = BBR_PROBE_RTT;
		b->probe_rtt_done = 0;
		b->probe_rtt_round = false;
	}
	if (b->mode == BBR_PROBE_RTT) {
		if (!b->probe_rtt_done && b->inflight <= probe_rtt_cwnd(k)) {
			b->probe_rtt_done = now + PROBE_RTT_MS;
			b->probe_rtt_round = false;
			b->next_round = b->delivered;
			b->min_rtt = 0; /* the next sample is the fresh one */
		} else if (b->probe_rtt_done) {
			if (b->round_start)
				b->probe_rtt_round = true;
			if (b->probe_rtt_round &&
			    tdiff(now, b->probe_rtt_done) >= 0) {
				b->min_rtt_ms = now;
				if (b->cwnd < b->prior_cwnd)
					b->cwnd = b->prior_cwnd;
				if (b->full_pipe)
					enter_probe_bw(b, now);
				else
					b->mode = BBR_STARTUP;
			}
		}
	}
}

/* STARTUP's least pacing rate: the initial window per min RTT, times the
 * STARTUP gain. */
static uint64_t startup_floor(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;

	return (uint64_t)INIT_CWND_SEGS * full_charge(k) * 1000 /
	       bdp_rtt(b) * HIGH_GAIN / GAIN_UNIT;
}

static void set_rate_and_cwnd(struct kcp *k, uint64_t acked)
{
	struct kcp_bbr *b = &k->bbr;
	uint32_t min_cwnd = MIN_CWND_SEGS * full_charge(k);
	uint64_t target, rate;

	if (b->btl_bw) {
		rate = b->btl_bw * pacing_gain(b) / GAIN_UNIT;
		/* STARTUP paces at least the initial window per min RTT
		 * (times its gain), as Linux BBR takes its first pacing rate
		 * from the RTT, and never slows down on a low sample: a
		 * session that carried only frp's login and control messages
		 * has samples of their rate, and starting bulk data from
		 * there took 7 rounds (1.4 s at 200 ms) to reach the link. */
		if (!b->full_pipe && !b->startup_standing &&
		    rate < startup_floor(k))
			rate = startup_floor(k);
		/* the first sample replaces the guess the flow began with
		 * (its RTT was a guess too); once a STARTUP round's least
		 * RTT stood above the minimum the samples are the link's
		 * (the floor and the initial window are several BDPs of a
		 * 1 Mbit/s link: 0.6 s of queue for a second), and STARTUP
		 * paces at its gain over them */
		if (b->full_pipe || rate > b->pacing_rate || !b->rate_set ||
		    b->startup_standing)
			b->pacing_rate = rate;
		b->rate_set = true;
	}
	if (b->mode == BBR_PROBE_RTT) {
		b->cwnd = probe_rtt_cwnd(k);
		return;
	}
	if (!b->btl_bw) {
		b->cwnd += (uint32_t)acked;
		return;
	}
	/* 2 x BDP plus the bursts the pacer and the ms clock allow; the
	 * same gain in STARTUP (BBRv3's): 2.885 let STARTUP's last round
	 * queue almost 2 BDP before the pipe was seen to be full */
	target = bdp(b, CWND_GAIN) + 3 * burst_cap(k);
	if (target > UINT32_MAX / 2)
		target = UINT32_MAX / 2;
	if (!b->full_pipe) {
		/* STARTUP's window only grows (as Linux BBR): from the
		 * initial window, by what is acknowledged, up to target;
		 * once a round's queue stood it is the target (above) */
		if (b->cwnd < target)
			b->cwnd += (uint32_t)(acked < target - b->cwnd ?
					      acked : target - b->cwnd);
		else if (b->startup_standing)
			b->cwnd = (uint32_t)target;
	} else {
		uint64_t c = (uint64_t)b->cwnd + acked;

		b->cwnd = (uint32_t)(c < target ? c : target);
		/* one BDP in flight is where DRAIN ends */
		if (b->mode == BBR_DRAIN && b->run_drain &&
		    b->cwnd > bdp(b, GAIN_UNIT))
			b->cwnd = (uint32_t)bdp(b, GAIN_UNIT);
	}
	if (b->cwnd < min_cwnd)
		b->cwnd = min_cwnd;
}

/* A session that was application-limited for rounds (not window-bound)
 * and now has bulk data knows only the application's rate: STARTUP finds
 * the path's again in a few rounds, where PROBE_BW's 5/4 per cycle took
 * seconds (from an eighth of the link to all of it: 1.7 s at 30 ms).
 * Called at the start of each round. */
static void check_app_restart(struct kcp *k)
{
	struct kcp_bbr *b = &k->bbr;
	uint32_t wnd = k->snd_wnd < k->rmt_wnd ? k->snd_wnd : k->rmt_wnd;

	if (b->app_rs && k->snd_buf.n < wnd / 2) {
		b->app_rounds++;
		return;
	}
	if (b->app_rounds >= APP_RESTART_ROUNDS && b->full_pipe &&
	    b->mode == BBR_PROBE_BW) {
		b->mode = BBR_STARTUP;
		b->full_pipe = false;
		b->full_bw = 0;
		b->full_cnt = 0;
		b->startup_queue = 0;
		b->startup_standing = false;
	}
	b->app_rounds = 0;
}

void kcp_cc_on_input_end(struct kcp *k, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	uint64_t acked = b->rs_acked;

	b->round_start = false;
	if (!b->rs_valid)
		return;
	b->rs_valid = false;
	b->rs_acked = 0;
	if (b->app_limited && b->delivered > b->app_limited)
		b->app_limited = 0;
	if (b->rs_prior >= b->next_round) {
		b->next_round = b->delivered;
		b->rounds++;
		b->round_start = true;
		check_app_restart(k);
		check_full_pipe(b);
		b->round_del = b->delivered;
		b->round_rtt = 0;
		b->round_rtt_max = 0;
		b->round_rtt_n = 0;
		b->round_rtt_hi = 0;
		b->round_retx = 0;
		b->round_wnd = false;
	}
	/* rate sample: data delivered since the newest acked segment was
	 * sent, over the longer of its send and ack phases (the ack phase
	 * alone would overestimate after ACK compression) */
	{
		uint32_t ack_el = (uint32_t)tdiff(now, b->rs_prior_ms);
		uint32_t iv = b->rs_send_elapsed > ack_el ? b->rs_send_elapsed
							  : ack_el;
		uint64_t bw;
		uint64_t got = b->delivered - b->rs_prior;

		/* A path whose RTT is a tick or two (a LAN, loopback) gives
		 * intervals the ms clock cannot measure: take the rate over
		 * the last MIN_SAMPLE_MS of deliveries instead. */
		if (iv < MIN_SAMPLE_MS && b->ck_ms &&
		    tdiff(now, b->ck_ms) >= MIN_SAMPLE_MS) {
			iv = (uint32_t)tdiff(now, b->ck_ms);
			got = b->delivered - b->ck_del;
		}
		got = parity_phase(b, got);
		/* ms stamps: the true interval is iv +- 1; the max filter
		 * would keep the samples that erred short */
		iv++;
		bw = got * 1000 / iv;
		/* too short to mean anything next to the RTT */
		if (iv > MIN_SAMPLE_MS &&
		    iv >= (b->min_rtt ? b->min_rtt : 1) &&
		    (!b->app_rs || bw >= b->btl_bw)) {
			/* In the DRAIN after a cut, a segment sent before
			 * the cut measures the old rate too: 35 Mbit/s
			 * samples after a halving from 50 to 25 put the
			 * estimate back at 28, and the queue rebuilt. Later
			 * such samples count again: capping them for good
			 * left an incumbent that cut for a newcomer at its
			 * cut rate while the newcomer grew (Jain 0.76). */
			if (b->rs_prior < b->cut_del && bw > b->cut_bw &&
			    b->mode == BBR_DRAIN)
				bw = b->cut_bw;
			bw_update(b, bw);
		}
		/* the checkpoint trails by 1-2 sample lengths */
		if (!b->ck_ms || tdiff(now, b->ck_ms) >= 2 * MIN_SAMPLE_MS) {
			b->ck_ms = b->ck2_ms;
			b->ck_del = b->ck2_del;
			b->ck2_ms = now;
			b->ck2_del = b->delivered;
		}
	}
	kcp_cc_check_queue(k, now);
	update_state(k, now);
	set_rate_and_cwnd(k, acked);
}

/* Whether ACKs must go at once (kcp_flush holds them for our data
 * otherwise): in STARTUP, unless it has been application-limited for
 * APP_HOLD_ROUNDS rounds. An echo's replying side is application-limited
 * from its first round, its rounds never judge growth, and it stayed in
 * STARTUP for whole transfers: every ACK went alone, 1.70 link bytes per
 * byte where the bulk side spent 1.41 (bench/kcp_share.sh, 50 Mbit/s x
 * 50 ms). Held from the first round (or from the fourth or eighth), the
 * 20 % loss echo of tests/e2e/kcp_lossy.sh took 8-24 s in some runs, not
 * 3-6: with 16, as before (ten runs each, alternating). */
bool kcp_cc_acks_now(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;

	return b->mode == BBR_STARTUP &&
	       !(b->app_limited && b->app_rounds >= APP_HOLD_ROUNDS);
}

void kcp_get_cc(const struct kcp *k, struct kcp_cc_info *in)
{
	const struct kcp_bbr *b = &k->bbr;

	memset(in, 0, sizeof(*in));
	if (!b->on)
		return;
	in->btl_bw = b->btl_bw;
	in->pacing_rate = b->pacing_rate;
	in->min_rtt = b->min_rtt;
	in->inflight = b->inflight;
	in->cwnd = b->cwnd;
	in->state = b->mode;
	in->rounds = b->rounds;
	in->app_limited = b->app_limited != 0;
	in->cuts = b->cuts;
	in->run_cuts = b->run_cuts;
	in->jitter = kcp_cc_jitter(b);
	in->jitter_max = b->jit_max > in->jitter ? b->jit_max : in->jitter;
}
