/*
 * kcp_cc_queue.c - the congestion controller's judgement of a standing
 * queue (docs/kcp-congestion.md, "Loss" and the sections after it): a run
 * of RTT samples above the margin, judged by its last stretch at every
 * ACK, and min-RTT windows of them, judged at their ends. A queue that
 * stands cuts the estimate to the rate the link carried for this session
 * (less 1/16) and DRAIN empties it; a deep cut holds further cuts while a
 * newcomer's STARTUP keeps the queue, and the hold's windows correct it.
 * The model it cuts is kcp_cc.c's.
 */
#include "kcp_cc_int.h"

/* A standing queue: every RTT sample of a min-RTT window above min_rtt by
 * this fraction (and QUEUE_MIN_MS), QUEUE_ROUNDS windows in a row. */
#define QUEUE_FRAC 8          /* min_rtt / 8 ... */
#define QUEUE_MAX_MS 10       /* ... within 3-10 ms */
#define QUEUE_ROUNDS 2
#define QUEUE_MIN_SAMPLES 4   /* RTT samples a window needs to judge */
#define QUEUE_WIN_MAX_MS 1000 /* ... which waits for them this long */
#define QUEUE_CUT 16          /* then the measured rate less 1/16 */
#define QUEUE_DEEP 8          /* a cut of more than 1/8 is deep ... */
#define QUEUE_HOLD 12         /* ... and holds further cuts this long */
/* A stretch of standing samples this long (min_rtt / RUN_DIV,
 * RUN_MIN_SAMPLES of them at least) that delivered under
 * RUN_RATE_NUM/RUN_RATE_DEN of the estimate is a slower path, judged
 * without waiting for a window. Half the min RTT, not a third: the last
 * third of a run, judged at every ACK, found jitter's 3-4 ms rises
 * (test_app_limited) and cut. */
#define RUN_DIV 2
#define RUN_MIN_SAMPLES 6
#define RUN_RATE_NUM 5
#define RUN_RATE_DEN 8

/* How far above min_rtt an RTT sample means a standing queue. An eighth
 * of the RTT covers a jittery path's spread (min/16 read a 50 ms link's
 * 3 ms of jitter as a queue and cut a lossy session to 2 % of its rate);
 * at most 10 ms, so a long path does not keep a standing queue of min/8
 * (25 ms at 200 ms) unseen; and a jittery path's RTT varies without any
 * queue, so never below rttvar, nor below JIT_MARGIN x the spread that
 * no queue explains (kcp_cc_jitter: each way's delay varies, the RTT by
 * twice that). Without the last, 0-10 ms of jitter each way on a 20 ms
 * path read as a standing queue in most windows: cuts and DRAINs several
 * times a second, 3-5 % of the link at 50 Mbit/s (97 % now, test_jitter). */
#define JIT_MARGIN 2
/* A judged window (and a run's stretch, half of it) lasts at least
 * JIT_SPAN x the measured jitter. The window's rate counts the ACKs that
 * arrived in it, and on such a path each ACK comes up to twice the jitter
 * early or late: over one min RTT of 11 ms, bench/kcp_rated.sh's +- 5 ms
 * (RJIT=5) at 50 Mbit/s x 20 ms read 23-58 Mbit/s where the link carried
 * 50, and runs of 5 ms 2-37. Those windows that stood cut the estimate to
 * half, 28-40 times in 8 s: 62-67 % of the link. With 4, 8 and 16 x the
 * jitter: 68, 72 and 72-74 % (5-17 cuts); in the simulator, 0-10 ms in
 * steps on 20 ms paths went from 5-91 % of capacity to 90-99 % at
 * 50 Mbit/s and from 1-51 % to 34-98 % at 200 Mbit/s (six seeds each;
 * 24 x kept queues of 0.7-0.8 BDP there). Paths without jitter keep
 * windows of one min RTT. */
#define JIT_SPAN 16

static uint32_t standing_margin(const struct kcp_bbr *b, int32_t rttvar)
{
	uint32_t margin = margin_of(b, QUEUE_FRAC, QUEUE_MAX_MS);
	uint32_t jit = kcp_cc_jitter(b) * JIT_MARGIN;

	if (rttvar > 0 && (uint32_t)rttvar > margin)
		margin = (uint32_t)rttvar;
	return jit > margin ? jit : margin;
}

/* What the link carried for us since a span began: new data delivered
 * plus the repairs of what random loss took (on a lossy path those are
 * most of the shortfall, and not a sign of a queue). On a path that
 * reorders, also the deliveries left out as a full queue's drops
 * (late_behind_queue): there most of them are datagrams the jitter
 * overtook, which the link carried. In a standing queue they were a tenth
 * to a fifth of the deliveries on bench/kcp_rated.sh's link with RJIT=5,
 * and windows that stood measured 19-31 Mbit/s where the link carried 50:
 * cuts to half, 68-72 % of the link at 50 Mbit/s x 50 ms, 73 % with them
 * counted (three runs each). The estimate's samples still leave them out:
 * counted there too, the noisy samples' maximum stood above the link and
 * test_jitter's 50 ms row kept 0.28-0.43 BDP of queue. */
static uint64_t carried_since(const struct kcp_bbr *b,
			      const struct kcp_span *sp)
{
	uint64_t got = b->delivered - sp->del + (uint64_t)sp->retx *
							b->full_seg;

	return kcp_cc_reorder_late(b) ? got + b->late_del - sp->late : got;
}

static void span_start(struct kcp_span *sp, uint32_t now,
		       const struct kcp_bbr *b)
{
	sp->ms = now;
	sp->n = 0;
	sp->min = 0;
	sp->retx = 0;
	sp->del = b->delivered;
	sp->late = b->late_del;
}

static void span_add(struct kcp_span *sp, uint32_t rtt)
{
	if (!sp->min || rtt < sp->min)
		sp->min = rtt;
	sp->n++;
}

/* How long a window lasts: one min RTT, and JIT_SPAN x the jitter (at
 * most QUEUE_WIN_MAX_MS of it: a slow host's scheduling delays read as
 * jitter too, and a queue must still be judged within a second). */
static uint32_t judge_len(const struct kcp_bbr *b)
{
	uint32_t j = kcp_cc_jitter(b) * JIT_SPAN;

	if (j > QUEUE_WIN_MAX_MS)
		j = QUEUE_WIN_MAX_MS;
	return j > b->min_rtt ? j : b->min_rtt;
}

/* The shortest stretch of a run that may be judged: half a window,
 * MIN_SAMPLE_MS at least. */
static uint32_t run_len(const struct kcp_bbr *b)
{
	uint32_t len = judge_len(b) / RUN_DIV;

	return len > MIN_SAMPLE_MS ? len : MIN_SAMPLE_MS;
}

static void run_mark(struct kcp_bbr *b, uint32_t now, uint32_t rtt)
{
	struct kcp_run_mark *m;

	if (b->run_marks == BBR_RUN_MARKS) {
		memmove(&b->run_mark[0], &b->run_mark[1],
			(BBR_RUN_MARKS - 1) * sizeof(b->run_mark[0]));
		b->run_marks--;
	}
	m = &b->run_mark[b->run_marks++];
	m->ms = now;
	m->n = b->run.n;
	m->retx = b->run.retx;
	m->rtt = rtt;
	m->del = b->delivered;
	m->late = b->late_del;
}

/* The run of samples above the standing-queue margin (the windows' own)
 * restarts at every sample below it and while the application limits
 * the flow. Marks every run_len / (BBR_RUN_MARKS - 1) let the judge take
 * its last stretch, not all of it: a run that began in PROBE_BW's 5/4
 * phase, before a rate halving reached the ACKs, averaged the old rate
 * in until a window's end judged it first (a cut to 32 of 25 Mbit/s). */
static void standing_run(struct kcp *k, uint32_t rtt, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	uint32_t margin = standing_margin(b, k->rttvar);
	const struct kcp_run_mark *last;

	if (!b->run.ms || b->app_limited || rtt <= b->min_rtt + margin) {
		span_start(&b->run, now, b);
		b->run_marks = 0;
		run_mark(b, now, 0);
		return;
	}
	if (!b->run_mark[0].rtt && b->run_mark[0].ms == b->run.ms)
		b->run_mark[0].rtt = rtt;
	b->run_last = rtt;
	span_add(&b->run, rtt);
	/* marks far enough apart, in time and samples, that the oldest is
	 * a stretch back */
	last = &b->run_mark[b->run_marks - 1];
	if (tdiff(now, last->ms) >=
		    (int32_t)(run_len(b) / (BBR_RUN_MARKS - 1)) &&
	    (b->run.n - last->n) * (BBR_RUN_MARKS - 1) >= RUN_MIN_SAMPLES)
		run_mark(b, now, rtt);
}

/* The windows wait for their fixed boundaries: after a rate halving the
 * first window whose every sample stood began up to an RTT after the
 * samples showed the queue, and 2.6-3.3 new BDPs were queued when it
 * ended (drained 4.9-6.9 RTTs after the halving, by its phase against the
 * windows). So the last stretch of a run of standing samples, half the
 * min RTT long (RUN_MIN_SAMPLES at least), is judged at every ACK, as a
 * window of its own, and cuts when it shows a slower path: it delivered
 * under 5/8 of the estimate (PROBE_BW's probe delivers the estimate), and
 * its samples rose as a queue fed at the estimate and drained at that
 * rate rises. The rise rules out jitter: on a 30 ms path with 4 ms of
 * it, runs of 9-22 ms delivered 40-60 % of the estimate (ACKs held back)
 * while their samples rose 4 ms at most; after a halving at 50 ms they
 * rose 7-10 ms in 17. The last
 * stretch, not the whole run: a run that began in the 5/4 phase's queue
 * before the halving reached the ACKs averaged the old rate in, a
 * window's end came first and cut to 32 of 25 Mbit/s, and the deep cut's
 * hold kept a standing queue for 12 windows (19 RTTs). Only outside a
 * deep cut's hold and STARTUP's settling: a newcomer's STARTUP is left to
 * the windows. */
static bool standing_run_slow(const struct kcp_bbr *b, uint32_t now,
			      struct kcp_span *sp)
{
	const struct kcp_run_mark *m = NULL;
	uint32_t span, first, len;
	uint64_t got, rate;

	if (b->mode != BBR_PROBE_BW || !b->min_rtt || !b->run.ms ||
	    b->q_cut || b->settling)
		return false;
	/* the newest mark a stretch's length and samples back */
	len = run_len(b);
	for (uint32_t i = b->run_marks; i-- > 0;)
		if (tdiff(now, b->run_mark[i].ms) >= (int32_t)len &&
		    b->run.n - b->run_mark[i].n >= RUN_MIN_SAMPLES) {
			m = &b->run_mark[i];
			break;
		}
	if (!m || !m->rtt)
		return false;
	span = (uint32_t)tdiff(now, m->ms);
	sp->ms = m->ms;
	sp->n = b->run.n - m->n;
	sp->min = b->run.min;
	sp->retx = b->run.retx - m->retx;
	sp->del = m->del;
	sp->late = m->late;
	first = m->rtt;
	got = carried_since(b, sp);
	rate = got * 1000 / span;
	if (rate * RUN_RATE_DEN >= b->btl_bw * RUN_RATE_NUM ||
	    b->run_last <= first)
		return false;
	/* a queue that grows as fast as the deliveries fell short: sent at
	 * the estimate and delivered at rate, the samples rise by
	 * span x (1 - rate / estimate); 3/4 of that allows the ms clock */
	return (uint64_t)(b->run_last - first) * 4 * b->btl_bw >=
	       3 * (uint64_t)span * (b->btl_bw - rate);
}

/* The estimate becomes `rate`, and the max filter forgets what was above
 * it. The DRAIN that follows is timed from here (drain_overdue), also
 * when it continues one. */
static void cut_to(struct kcp_bbr *b, uint64_t rate)
{
	b->drain_ms = 0;
	b->btl_bw = rate;
	b->cuts++;
	b->cut_del = b->delivered;
	b->cut_bw = rate;
	for (int i = 0; i < BBR_BW_ROUNDS; i++)
		if (b->bw_slot[i] > rate)
			b->bw_slot[i] = rate;
}

/* A deep cut on a window that no run saw first measured a window that
 * began before the slower rate reached the ACKs: half the old rate was in
 * it, and after a halving from 10 to 5 Mbit/s the estimate stood at 6.8.
 * DRAIN then left the queue standing, PROBE_BW rebuilt it at 6.8, and the
 * hold that keeps a newcomer's STARTUP from cutting the incumbent again
 * kept it for 12 windows (never drained within 20 RTTs). So while the
 * hold lasts, the windows that stood from end to end (the link was busy:
 * each measured the rate we get) are judged by the higher rate of the
 * last two, which a newcomer's STARTUP only lowers for a while:
 * - under 7/8 of the estimate: the cut was too shallow; once per deep
 *   cut, the estimate becomes that rate less 1/16 and DRAIN empties the
 *   queue (the DRAIN's own windows count: the queue keeps the link busy);
 * - else, in PROBE_BW, still above that rate less 1/16: the estimate is
 *   about right, but the queue stands (PROBE_BW cannot drain a queue while
 *   the estimate is above the link): a small cut, and DRAIN.
 * Returns whether it cut. */
static bool check_after_cut(struct kcp_bbr *b, uint32_t margin,
			    uint64_t rate)
{
	uint64_t m;
	bool deep;

	if (!b->q_cut || !b->recut || !rate || !b->q.min ||
	    b->q.min <= b->min_rtt + margin ||
	    (b->mode != BBR_PROBE_BW && b->mode != BBR_DRAIN)) {
		b->post_rate = 0;
		return false;
	}
	m = rate > b->post_rate ? rate : b->post_rate;
	deep = m * 8 < b->btl_bw * 7;
	if (!b->post_rate || (!deep && (b->mode != BBR_PROBE_BW ||
					m - m / QUEUE_CUT >= b->btl_bw))) {
		b->post_rate = rate;
		return false;
	}
	m -= m / QUEUE_CUT;
	if (m < b->btl_bw / 2)
		m = b->btl_bw / 2;
	cut_to(b, m);
	if (deep) {
		b->recut = false;
		b->q_hold = 0;
		b->queue_rounds = 0;
	}
	b->post_rate = 0;
	b->mode = BBR_DRAIN;
	return true;
}

/* A standing queue: every RTT sample over one window (judge_len: a
 * min_rtt of time, longer on a jittery path; at least QUEUE_MIN_SAMPLES
 * samples) sat well above the propagation delay, so the queue did not
 * empty once (checked per window of time, not per round, because a
 * growing queue stretches the rounds). Outside STARTUP the pacing rate
 * ran above the path's: the ms clock makes the max filter err upwards at
 * low rates, the path may have slowed down, or another flow came. After
 * QUEUE_ROUNDS such windows in a row the delivery rate measured over the
 * last one (the link was busy all along, so it is the rate we get) minus
 * 1/16 replaces the estimate, and DRAIN (pacing gain 1/2.885) empties the
 * queue before PROBE_BW resumes. */
static void check_standing_queue(struct kcp_bbr *b, uint32_t now,
				 int32_t rttvar, bool run)
{
	uint32_t margin = standing_margin(b, rttvar);
	uint32_t span = (uint32_t)tdiff(now, b->q.ms);
	uint64_t got = carried_since(b, &b->q);

	/* An application-limited window measures the application, and a
	 * handful of samples is not "every sample": neither says queue. */
	if (b->q_app || b->q.n < QUEUE_MIN_SAMPLES) {
		b->queue_rounds = 0;
		return;
	}
	if (!run && check_after_cut(b, margin, span ? got * 1000 / span : 0))
		return;
	/* a run's samples stood by the margin of their time (the queue it
	 * judges raises rttvar, and with it the margin, as it grows) */
	if (b->mode != BBR_PROBE_BW || !b->q.min ||
	    (!run && b->q.min <= b->min_rtt + margin)) {
		if (b->mode == BBR_PROBE_BW) {
			b->settling = false;
			b->q_cut = false;
		}
		b->queue_rounds = 0;
		return;
	}
	/* A window that stood and delivered less than 3/4 of the estimate
	 * (the link was busy all along: the path slowed down or another
	 * flow took a share) needs no second window to confirm it: the
	 * queue grows by the difference every RTT (after a rate halving it
	 * reached 3.3 new BDPs before the second window, 2.6 now). */
	if (span && got * 1000 / span < b->btl_bw * 3 / 4)
		b->queue_rounds = QUEUE_ROUNDS - 1;
	if (++b->queue_rounds < QUEUE_ROUNDS)
		return;
	/* After a deep cut, no further cut until the queue has been seen
	 * gone once, or for QUEUE_HOLD windows: a newcomer's STARTUP keeps
	 * the queue standing for many windows, and cutting to the measured
	 * rate in each of them took the incumbent down to a tenth of the
	 * link, from where probing at 5/4 of its own rate recovers slowly. */
	if (b->q_cut && ++b->q_hold < QUEUE_HOLD)
		return;
	/* Right after STARTUP the queue is what STARTUP left (with the
	 * repairs of its overflow, which keep the link busy without
	 * delivering): drain it, the estimate stands. */
	if (span && got && !b->settling) {
		uint64_t rate = got * 1000 / span;

		rate -= rate / QUEUE_CUT;
		/* at most halve per step: repairs after heavy loss also keep
		 * the link busy without delivering anything new */
		if (rate < b->btl_bw / 2)
			rate = b->btl_bw / 2;
		if (rate < b->btl_bw) {
			/* small cuts correct the max filter's upward error
			 * at low rates; they may repeat. A run's cut
			 * measured the slower path itself and holds
			 * nothing (held, a cut on a run that began before
			 * the halving reached the ACKs left the estimate
			 * at 29 of 25 Mbit/s and a standing queue for 12
			 * windows). */
			if (rate < b->btl_bw - b->btl_bw / QUEUE_DEEP && !run) {
				b->q_cut = true;
				b->q_hold = 0;
				b->recut = true;
				b->post_rate = 0;
			}
			cut_to(b, rate);
			if (run)
				b->run_cuts++;
		}
	}
	/* drain what stood, down to one BDP in flight. STARTUP's queue is
	 * drained once without a cut: a queue that stands again is not
	 * STARTUP's (a newcomer that kept its STARTUP estimate while an
	 * incumbent's queue stood never cut, and the incumbent cut twice). */
	b->settling = false;
	b->mode = BBR_DRAIN;
	(void)now;
}

void kcp_cc_queue_sample(struct kcp *k, uint32_t rtt, uint32_t now)
{
	span_add(&k->bbr.q, rtt);
	standing_run(k, rtt, now);
}

/* At the end of each input that acknowledged something: a run's last
 * stretch, or a window (judge_len) that has its samples. */
void kcp_cc_check_queue(struct kcp *k, uint32_t now)
{
	struct kcp_bbr *b = &k->bbr;
	struct kcp_span sp;
	bool run;

	run = standing_run_slow(b, now, &sp);
	if (run) {
		/* the run's stretch is the window judged */
		b->q = sp;
		b->q_app = false;
		b->run.ms = 0;
	}
	if (run || (b->min_rtt && tdiff(now, b->q.ms) >= (int32_t)judge_len(b) &&
		    (b->q.n >= QUEUE_MIN_SAMPLES || b->q_app ||
		     tdiff(now, b->q.ms) >= QUEUE_WIN_MAX_MS))) {
		check_standing_queue(b, now, k->rttvar, run);
		/* the queue the slower path built drains at the link's
		 * rate: nothing new leaves until it is gone */
		if (run && b->mode == BBR_DRAIN)
			b->run_drain = true;
		span_start(&b->q, now, b);
		b->q_app = b->app_limited != 0;
	}
}
