/*
 * kcp_pace.c - the sender's side of the congestion controller (the model
 * is kcp_cc.c): the pacing budget and its refills, what may leave now,
 * what the session pays for outside kcp_flush (copies, fillers, parity),
 * how much it queues, and the waits FEC changes (fast resend and the
 * tail guard). docs/kcp-congestion.md, "Sending".
 */
#include "kcp_cc_int.h"

#define CATCHUP_MS 8          /* a late timer may send what it owed */
#define SEND_AHEAD_MS 2       /* queued unsent: this much of pacing ... */
#define SEND_AHEAD_SEGS 8     /* ... plus this many segments */
#define FEC_SKIP_GROUPS 4     /* FEC-aware fast resend from this many groups */
#define TAIL_MIN_MS 2         /* the FEC tail guard's pause: srtt / 8 ... */
#define TAIL_MAX_MS 25        /* ... within 2-25 ms */
#define HOST_GOAL_MS 5        /* the host queues above us this much ... */
#define HOST_GOAL_MIN 4096    /* ... of the send rate, at least this */
#define MIXED_GROUPS 30       /* parity datagrams (ten groups) a group of
			       * ACKs keeps the burst correction off */

/* The rate the budget fills at: the pacing rate, or the window's own
 * while snd_wnd/rmt_wnd bind (kcp_cc_flush_end). */
static uint64_t rate_of(const struct kcp_bbr *b)
{
	return b->pacing_rate > b->wnd_rate ? b->pacing_rate : b->wnd_rate;
}

void kcp_cc_refill(struct kcp *k, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	int32_t dt = tdiff(now, b->credit_ms);
	int64_t cap = (int64_t)burst_cap(k);
	uint32_t late;

	b->credit_ms = now;
	if (dt <= 0)
		return;
	/* When data waited for the pacer, a timer that fired late (a busy
	 * event loop) may send what it owed for up to CATCHUP_MS; otherwise
	 * (a pause of the sender) no more than one burst is banked. */
	late = dt > CATCHUP_MS ? CATCHUP_MS : (uint32_t)dt;
	if (b->waiting && (uint64_t)cap < rate_of(b) * late / 1000)
		cap = (int64_t)(rate_of(b) * late / 1000);
	/* A debt (a datagram or parity burst that outran the budget) is
	 * paid by all the time since: counting at most CATCHUP_MS of it
	 * left a paced sender whose datagram takes longer than that at the
	 * pacing rate (below ~1.8 Mbit/s with FEC) a third below its rate. */
	if (dt > 1000)
		dt = 1000;
	b->credit += (int64_t)(rate_of(b) * (uint64_t)dt / 1000);
	if (b->credit > cap)
		b->credit = cap;
}

/* n full datagrams' time at the estimated bottleneck rate (0 before an
 * estimate), at most 1 s. */
static uint32_t dgrams_ms(const struct kcp_bbr *b, uint32_t n)
{
	uint64_t ms;

	if (!b->on || !b->btl_bw)
		return 0;
	ms = (uint64_t)n * b->full_seg * 1000 / b->btl_bw;
	return ms > 1000 ? 1000 : (uint32_t)ms;
}

/* No delivery for srtt / div: at least one interval, and at least the ACK
 * clock's own pause on a slow link, a parity burst and two datagrams at
 * the bottleneck (55 ms at 1 Mbit/s). There STARTUP's first flight queues
 * before srtt, still the login messages' 20 ms, knows it, and the pauses
 * behind each parity burst read as stalls: at 1 Mbit/s x 20 ms timers
 * resent 17-30 of the first flight's 48 segments. */
static bool no_delivery(const struct kcp *k, uint32_t now, uint32_t div)
{
	uint32_t span = (uint32_t)(k->srtt > 0 ? k->srtt : 0) / div;
	uint32_t clock = dgrams_ms(&k->bbr, k->bbr.ps + 2);

	if (span < k->interval)
		span = k->interval;
	if (span < clock)
		span = clock;
	return tdiff(now, k->bbr.delivered_ms) >= (int32_t)span;
}

bool kcp_cc_stalled(const struct kcp *k, uint32_t now)
{
	return k->bbr.inflight == 0 || no_delivery(k, now, 2);
}

/* No delivery for a whole RTT: what a timer finds unacknowledged now is
 * lost, not queued (kcp_cc_on_lost). */
bool kcp_cc_lost_stall(const struct kcp *k, uint32_t now)
{
	return no_delivery(k, now, 1);
}

/* The head's timer expired, but nothing sent after it has arrived (no
 * skips) while ACKs still flow: that is a queue growing faster than the
 * RTO follows (STARTUP's own, or the path slowed down), not a loss. */
bool kcp_cc_queue_head(const struct kcp *k, const struct kcp_seg *s)
{
	(void)k;
	return s->fastack == 0;
}

/* Whether fast retransmission may wait out a segment's FEC group: only
 * while the inflight cap holds a few groups. A narrower window cannot
 * bring resend + ds + ps skips behind a lost segment, so with heavy loss
 * every hole waited for a timeout, deliveries slowed, the estimate fell
 * and the window narrowed further (a 20 %-loss link down to 0.4 Mbit/s). */
bool kcp_cc_fec_skips(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;

	return b->cwnd / b->full_seg >= FEC_SKIP_GROUPS * (b->ds + b->ps);
}

bool kcp_cc_spare(const struct kcp *k)
{
	return !k->bbr.on || k->bbr.wnd_rate != 0;
}

/* How long a hole waits for FEC before a window too narrow for the skip
 * rule (kcp_cc_fec_skips) resends it: the rest of its group at the pacing
 * rate, the tail guard's pause when sending stops first, and the round
 * trip that brings the rebuilt segment's ACK. 0 without FEC. */
uint32_t kcp_cc_fec_wait(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;
	uint32_t srtt = k->srtt > 0 ? (uint32_t)k->srtt : rtt_or_guess(b);

	if (!b->on || !b->ds || !b->ps)
		return 0;
	return srtt + group_ms(k) + kcp_tail_ms(k);
}

uint32_t kcp_tail_ms(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;
	uint32_t ms = k->srtt > 0 ? (uint32_t)k->srtt / 8 : 0;
	uint32_t clock;

	ms = ms < TAIL_MIN_MS ? TAIL_MIN_MS : ms > TAIL_MAX_MS ? TAIL_MAX_MS : ms;
	/* On a slow link the ACK clock itself pauses that long: while the
	 * inflight cap binds, the next datagram leaves when an ACK frees room,
	 * one datagram's time at the bottleneck after the last (11 ms at
	 * 1 Mbit/s). Filling those pauses cost a fifth more link bytes at
	 * 1 Mbit/s; a pause of two such times is a tail. */
	if (b->on && b->btl_bw && k->srtt > 0) {
		clock = dgrams_ms(b, 2);
		if (clock > (uint32_t)k->srtt)
			clock = (uint32_t)k->srtt;
		if (clock > ms)
			ms = clock;
	}
	return ms;
}

bool kcp_cc_acks_due(const struct kcp *k, uint32_t now)
{
	const struct kcp_bbr *b = &k->bbr;

	/* a flight from nothing counts from its first datagram: without any
	 * RTT sample yet, nothing says when its ACKs are due */
	return b->on && k->srtt > 0 &&
	       b->inflight + full_charge(k) > b->cwnd && !no_delivery(k, now, 1);
}

void kcp_cc_charge(struct kcp *k, size_t bytes, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	uint64_t c = bytes + b->extra;

	if (!b->on)
		return;
	if (b->ds && b->ps) {
		/* copies and fillers: full datagrams, mostly */
		kcp_cc_owe_parity(b, (uint32_t)((c * (b->ds + b->ps) / b->ds +
						 b->full_seg - 1) /
						(b->full_seg ? b->full_seg : 1)));
		if (!b->parity_paced)
			c = c * (b->ds + b->ps) / b->ds;
	}
	kcp_cc_refill(k, now);
	b->credit -= (int64_t)c;
}

/* A parity datagram pays for the data datagrams of its group, ds parts
 * for a whole group: a group of ACK datagrams (they are FEC shards too,
 * and parity is as long as the group's longest shard) carries parity that
 * no delivery sample counts. Paid in full, it took the budget from the
 * data, the estimate fell with the deliveries and the next groups held
 * fewer data datagrams: a session answering an echo at 20 % loss
 * spiralled down to a few hundred kbit/s (test_two_way). */
void kcp_cc_parity(struct kcp *k, size_t bytes, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	uint64_t c = bytes + b->extra;
	uint32_t parts;

	if (!b->on || !b->ds)
		return;
	parts = b->parity_owed < b->ds ? b->parity_owed : b->ds;
	b->parity_owed -= parts;
	/* the last parity datagram of a group the data filled finds its
	 * parts too (all but a datagram's, which may leave after the
	 * group's parity); one that finds under half belongs to a group of
	 * ACKs */
	if (parts * 2 < b->ds)
		b->mixed_groups = MIXED_GROUPS;
	else if (b->mixed_groups)
		b->mixed_groups--;
	b->parity_paced = true;
	c = c * parts / b->ds;
	kcp_cc_refill(k, now);
	b->credit -= (int64_t)c;
}

bool kcp_cc_can_send(struct kcp *k, const struct kcp_seg *s, bool head)
{
	struct kcp_bbr *b = &k->bbr;

	if (b->credit <= 0)
		return false;
	/* Everything needs room under the inflight cap, retransmissions
	 * too (a burst of spurious RTOs on a suddenly longer queue must not
	 * feed the queue); the oldest unacknowledged segment always may go,
	 * so a path that lost everything still recovers. */
	return b->inflight == 0 || head ||
	       b->inflight + seg_charge(k, s->len) <= b->cwnd;
}

void kcp_cc_flush_end(struct kcp *k, bool blocked, bool idle,
		      uint32_t wnd_segs)
{
	struct kcp_bbr *b = &k->bbr;

	/* When snd_wnd/rmt_wnd bind, the window already bounds what is in
	 * flight, as in kcp-go: pacing near the window's own rate would only
	 * keep a window-bound sender from catching up after a stall (a
	 * repaired hole at una opens the whole window at once). While the
	 * window is no more than the path holds (window <= 5/4 BDP: the
	 * window, not the path, sets the rate, and even the whole window at
	 * once queues at most a quarter BDP), the budget fills at twice the
	 * window's rate, also in the flushes after such a stall, which the
	 * pacer holds, not the window. A window above that (a long fat path
	 * against the 8192 ceiling) only lets the budget run at 5/4 of the
	 * window's rate in flushes the window held. */
	uint32_t wnd = k->snd_wnd < k->rmt_wnd ? k->snd_wnd : k->rmt_wnd;
	bool small = b->btl_bw && (uint64_t)wnd * full_charge(k) * 4 <=
					  bdp(b, GAIN_UNIT) * 5;

	if (wnd_segs) {
		b->round_wnd = true;
		b->wnd_rate = (uint64_t)wnd_segs * full_charge(k) * 1000 /
			      bdp_rtt(b) * (small ? 8 : 5) / 4;
	} else if (!small) {
		b->wnd_rate = 0;
	}
	b->waiting = blocked;
	/* nothing left to send and room under the cap: whatever the next
	 * samples show is the application's rate, not the path's */
	if (idle && b->inflight < b->cwnd) {
		b->app_limited = b->delivered + b->inflight ? b->delivered +
							     b->inflight : 1;
		b->q_app = true;
	}
}

uint32_t kcp_pace_wait(const struct kcp *k, uint32_t now)
{
	const struct kcp_bbr *b = &k->bbr;
	int64_t need;
	uint64_t ms;

	(void)now;
	if (!b->on || !b->waiting)
		return UINT32_MAX;
	if (b->credit > 0)
		return 1;
	need = 1 - b->credit;
	ms = ((uint64_t)need * 1000 + rate_of(b) - 1) /
	     (rate_of(b) ? rate_of(b) : 1);
	return ms < 1 ? 1 : ms > 1000 ? 1000 : (uint32_t)ms;
}

void kcp_set_backlog(struct kcp *k, bool more)
{
	k->backlog = more;
}

uint32_t kcp_send_limit(const struct kcp *k)
{
	uint32_t lim = k->snd_wnd < k->rmt_wnd ? k->snd_wnd : k->rmt_wnd;
	uint32_t segs, unsent;
	uint64_t ahead;

	if (!k->bbr.on)
		return lim;
	/* What is in flight plus a few ms of pacing plus a little: memory
	 * follows what the path holds, and a small message the application
	 * writes behind bulk data waits a few ms, not a window, before it
	 * leaves. The pacer does not run dry: the session refills this queue
	 * on every pacing tick and every ACK, not once per interval. */
	unsent = 0;
	while (unsent < k->snd_buf.n &&
	       ring_at(&k->snd_buf, k->snd_buf.n - 1 - unsent)->xmit == 0)
		unsent++;
	/* sent segments hold their slots until una passes them (a hole
	 * waiting for its repair keeps acked ones behind it): they count */
	ahead = rate_of(&k->bbr) * SEND_AHEAD_MS / 1000;
	/* ... or, in STARTUP, what the inflight cap would let leave at once
	 * (an ACK that frees much of the window; later the cap is 2 BDP and
	 * its room would be a BDP of queue here) */
	if (!k->bbr.full_pipe && k->bbr.cwnd > k->bbr.inflight &&
	    k->bbr.cwnd - k->bbr.inflight > ahead)
		ahead = k->bbr.cwnd - k->bbr.inflight;
	segs = k->snd_buf.n - unsent + (uint32_t)(ahead / full_charge(k)) +
	       SEND_AHEAD_SEGS;
	return segs < lim ? segs : lim;
}

uint32_t kcp_host_goal(const struct kcp *k)
{
	const struct kcp_bbr *b = &k->bbr;
	uint64_t rate, wnd, goal;

	if (!b->on)
		return 0;
	/* what leaves per second: the pacing rate, or less while the window
	 * binds (STARTUP's first rounds start at the initial window at any
	 * pacing rate) */
	rate = rate_of(b);
	wnd = (uint64_t)b->cwnd * 1000 / rtt_or_guess(b);
	if (wnd < rate)
		rate = wnd;
	goal = rate * HOST_GOAL_MS / 1000;
	if (goal < HOST_GOAL_MIN)
		goal = HOST_GOAL_MIN;
	return goal > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)goal;
}
