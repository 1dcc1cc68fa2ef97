/*
 * test_kcp_cc.c - the paced, model-based congestion controller (kcp_cc.c)
 * over the simulator's bottleneck: a serializer at a fixed rate behind a
 * 1,000-datagram tail-drop queue, delay each way, seeded random loss, FEC
 * 10/3 parity on the link (and its recovery; the parity is paid to the
 * sender's pacer when it leaves, kcp_cc_parity, as kcp.so pays it),
 * fake clock.
 *
 * Assertions are on simulated numbers only: goodput against what the link
 * carries after FEC parity and headers, the bottleneck queue in the steady
 * state against the BDP, Jain's fairness index of two sessions sharing the
 * queue, how fast the queue drains after the rate halves, and with FEC
 * off that the sender resends about what the link lost. The same
 * link with congestion control off (kcp-go's behaviour, nc = 1) is run
 * too, to show what the controller fixes. The sessions and the
 * measurements are kcp_cc_harness.c's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_cc_harness.h"


/* ---- today's behaviour vs the controller -------------------------------- */

/* kcp-go's nc = 1 sends a window per RTT whatever the bottleneck: the
 * queue fills and tail-drops. The controller keeps it near empty at no
 * cost in goodput. */
START_TEST(test_none_vs_bbr)
{
	struct cc_path p = {50000000, 50, 10000};
	struct cc_result none = cc_measure(&p, KCP_CC_NONE, 7);
	struct cc_result bbr = cc_measure(&p, KCP_CC_BBR, 7);

	cc_print_result("none", &p, &none);
	cc_print_result("bbr", &p, &bbr);
	ck_assert_msg(none.queue_bdp > 1.0,
		      "without control the 8192 window must flood the queue "
		      "(%.2f BDP)", none.queue_bdp);
	ck_assert_msg(bbr.queue_bdp < none.queue_bdp / 4,
		      "queue %.2f vs %.2f BDP", bbr.queue_bdp, none.queue_bdp);
	ck_assert_msg(bbr.goodput >= 0.9 * none.goodput,
		      "goodput %.0f vs %.0f", bbr.goodput, none.goodput);
	ck_assert_msg(bbr.overhead < none.overhead,
		      "link bytes per goodput byte %.2f vs %.2f", bbr.overhead,
		      none.overhead);
}
END_TEST

/* ---- the grid ------------------------------------------------------------ */

static const uint64_t grid_rate[] = {5000000, 50000000, 200000000};
static const uint32_t grid_rtt[] = {20, 100, 300};
static const uint32_t grid_loss[] = {0, 10000, 50000};

/* FEC 10/3 and the headers alone cost 13/10 x 1378/1298 = 1.38 link bytes
 * per goodput byte; a few % more is what retransmissions may add. Data FEC
 * rebuilds must not be resent: a window too narrow for the FEC-aware skip
 * count resent it (5 Mbit/s x 20 ms x 5 %: 1.48) until such holes waited
 * for FEC's chance (kcp_cc_fec_wait). */
#define OVERHEAD_MAX 1.42
/* ... and below the grid, where a window of a few datagrams waits for
 * timeouts more often (1 Mbit/s x 10 ms: 1.43; 1.44-1.51 before the
 * fixes test_low_rate describes) */
#define OVERHEAD_LOW 1.46

/* Appends a cell that misses a limit to `bad` (len bytes, *off used):
 * every cell of a row runs before the verdict, so a failure shows all of
 * the row's misses. */
static void check_cell(char *bad, size_t len, size_t *off,
		       const struct cc_path *p, const struct cc_result *r,
		       double min_share, double max_queue, double max_over)
{
	if ((r->share >= min_share && r->queue <= max_queue &&
	     r->overhead <= max_over) || *off + 100 > len)
		return;
	*off += (size_t)snprintf(bad + *off, len - *off,
		" [%ums %.0f%%: %.0f%% of capacity, queue %.2f BDP "
		"(%.1f ms), %.2f link bytes per byte]", p->rtt_ms,
		p->loss_ppm / 10000.0, r->share * 100, r->queue_bdp,
		r->queue * 8000.0 / (double)p->rate_bps, r->overhead);
}

/* Every cell asserts the targets: goodput >= 90 % of capacity,
 * steady queue <= 0.25 BDP (cc_queue_bound), and at most OVERHEAD_MAX link bytes per
 * goodput byte. (The last corner that missed, 5 Mbit/s x
 * 20 ms x 5 %, kept 0.35 BDP: with a window of a few FEC groups, fast
 * retransmission waited for skips the window could not bring, and holes
 * waited for timeouts; see kcp_cc_fec_skips.) */
/* _i: rate index; the loop covers RTT x loss. */
START_TEST(test_grid)
{
	char bad[512] = "";
	size_t off = 0;

	for (int j = 0; j < 3; j++) {
		for (int l = 0; l < 3; l++) {
			struct cc_path p = {grid_rate[_i], grid_rtt[j],
					 grid_loss[l]};
			struct cc_result r = cc_measure(&p, KCP_CC_BBR,
						  100 + 10 * (uint64_t)j + l);
			cc_print_result("bbr", &p, &r);
			check_cell(bad, sizeof(bad), &off, &p, &r, 0.90,
				   cc_queue_bound(&p), OVERHEAD_MAX);
		}
	}
	ck_assert_msg(off == 0, "%u Mbit/s:%s",
		      (unsigned)(grid_rate[_i] / 1000000), bad);
}
END_TEST

/* ---- below the grid ---------------------------------------------------- */

static const uint64_t low_rate[] = {1000000, 2000000, 3000000};
static const uint32_t low_rtt[] = {10, 20, 100, 300};

/* The range starts at 1 Mbit/s and 10 ms, where a full datagram
 * takes 11 ms to serialize, a flight is less than one FEC group and the
 * BDP less than one datagram. Three faults kept a standing queue there
 * (1 Mbit/s x 10 ms: 11 BDP, 114 ms) or left the link idle (1 Mbit/s x
 * 20 ms x 5 %: 77 %): a pacing debt paid back with at most CATCHUP_MS of
 * each wait, rate samples between two parity bursts (13/10 of the link),
 * and a min RTT of a small datagram that made every full one look
 * queued. Asserted per cell: 85 % of capacity (90-100 % measured), at
 * most OVERHEAD_LOW link bytes per byte, and a queue within
 * cc_queue_bound or four full datagrams (one parity burst and the datagram
 * behind it: at 1 Mbit/s 45 ms, what Linux BBR's 4-packet floor allows
 * too). _i 0-2: rate index, parity paid when it leaves; 3-5: the same
 * with each segment's charge scaled by the parity ratio, as a host that
 * does not call kcp_cc_parity pays it (docs/kcp-congestion.md, Units). Its rate samples
 * cannot be corrected for the bursts (its sends are evenly spaced, so a
 * sample limited by them is exact and a correction read 1/1.3 of it, down
 * to a third of the link), so its estimate swings more: the queue is
 * asserted as above (it was 40-90 ms at 1-2 Mbit/s x 10 ms), goodput at
 * 70 % (72-99 % measured; 81-100 % before, with that queue) and link
 * bytes at 1.55 (1.36-1.52, as before). The loop covers RTT x loss. */
START_TEST(test_low_rate)
{
	char bad[512] = "";
	size_t off = 0;

	for (int j = 0; j < 4; j++) {
		for (int l = 0; l < 3; l++) {
			struct cc_path p = {low_rate[_i % 3], low_rtt[j],
					 grid_loss[l], .scaled = _i >= 3};
			/* STARTUP's initial window alone is 0.36 s of a
			 * 1 Mbit/s link, and its queue drains at the link
			 * rate: the steady state begins seconds in */
			struct cc_result r = cc_measure_after(&p, KCP_CC_BBR,
				800 + 10 * (uint64_t)j + l,
				4000 + 14 * (uint64_t)p.rtt_ms);
			double qmax = cc_queue_bound(&p);

			if (qmax < 4.0 * (MTU + WIRE_EXTRA))
				qmax = 4.0 * (MTU + WIRE_EXTRA);
			cc_print_result(p.scaled ? "low/s" : "low", &p, &r);
			check_cell(bad, sizeof(bad), &off, &p, &r,
				   p.scaled ? 0.70 : 0.85, qmax,
				   p.scaled ? 1.55 : OVERHEAD_LOW);
		}
	}
	ck_assert_msg(off == 0, "%u Mbit/s%s:%s",
		      (unsigned)(low_rate[_i % 3] / 1000000),
		      _i >= 3 ? " (parity scaled)" : "", bad);
}
END_TEST

/* A DRAIN that never ended: at 1 Mbit/s x 20 ms x 5 % (parity scaled, as
 * kcp.so paid it then) a cut to 0.6 Mbit/s left a BDP of 2.1 KB, less than the
 * two datagrams in flight (a resent segment counts once per copy), so
 * DRAIN went on while its own samples aged the estimate down, and its
 * pace with it: from the fourth second the session carried nothing (0 %
 * of capacity over the measured window). DRAIN now ends at the latest a
 * few min RTTs after its start (drain_overdue). */
START_TEST(test_drain_stall)
{
	struct cc_path p = {1000000, 20, 50000, .scaled = true};
	struct cc_result r = cc_measure_after(&p, KCP_CC_BBR, 800,
					      4000 + 14 * 20);

	cc_print_result("drain", &p, &r);
	ck_assert_msg(r.share >= 0.70, "%.0f%% of capacity", r.share * 100);
}
END_TEST

/* ---- the benchmark's links ------------------------------------------------ */

/* bench/kcp_rated.sh's rate-limited rows, here without the host's noise:
 * the simulator must reach the targets on them too. */
START_TEST(test_bench_links)
{
	static const struct cc_path links[] = {
		{50000000, 50, 10000}, {50000000, 50, 50000},
		{20000000, 200, 20000},
	};
	const struct cc_path *p = &links[_i];
	struct cc_result r = cc_measure(p, KCP_CC_BBR, 500 + (uint64_t)_i);

	cc_print_result("bench", p, &r);
	ck_assert_msg(r.share >= 0.90, "%.0f%% of capacity", r.share * 100);
	ck_assert_msg(r.queue <= cc_queue_bound(p), "queue %.2f BDP",
		      r.queue_bdp);
}
END_TEST

/* One session on p: at least `share` of capacity, the queue bound, at
 * most `over` link bytes per byte. */
static void check_link(const struct cc_path *p, uint64_t seed,
		       const char *what, double share, double over)
{
	struct cc_result r = cc_measure(p, KCP_CC_BBR, seed);
	/* a queue no longer than the jitter's mean per round trip (each way
	 * adds half its range on average) is not told from the path's own
	 * delay by any RTT sample */
	double bound = cc_queue_bound(p);
	double jit = (double)p->rate_bps / 8 * p->jitter_ms / 1000;

	cc_print_result(what, p, &r);
	ck_assert_msg(r.share >= share, "%.0f%% of capacity", r.share * 100);
	ck_assert_msg(r.queue <= (jit > bound ? jit : bound),
		      "queue %.2f BDP", r.queue_bdp);
	ck_assert_msg(r.overhead <= over, "%.2f link bytes per byte",
		      r.overhead);
}

/* The grid's queue is the benchmark's, 1,000 datagrams. Links come with
 * others: a deep one (5,000: 0.9 BDP at 200 Mbit/s x 300 ms, seconds of
 * buffer at a few Mbit/s) and a shallow one (100: a twentieth of a BDP at
 * 200 Mbit/s x 100 ms). The targets are the grid's; on the shallow queue
 * each 5/4 probe overflows it, and the repairs of its tail drops cost up
 * to 1.47 link bytes per byte (1.50 asserted). Before a window-bound
 * round that saw a queue could end STARTUP, the deep queue at 200 Mbit/s
 * x 300 ms kept STARTUP going for 2-3 s: 89 % and 85 % of capacity
 * (check_full_pipe). */
START_TEST(test_queue_depth)
{
	static const struct cc_path links[] = {
		{.rate_bps = 200000000, .rtt_ms = 300, .queue_pkts = 5000},
		{.rate_bps = 200000000, .rtt_ms = 300, .loss_ppm = 50000,
		 .queue_pkts = 5000},
		{.rate_bps = 50000000, .rtt_ms = 100, .loss_ppm = 10000,
		 .queue_pkts = 5000},
		{.rate_bps = 5000000, .rtt_ms = 20, .queue_pkts = 5000},
		{.rate_bps = 200000000, .rtt_ms = 100, .loss_ppm = 10000,
		 .queue_pkts = 100},
		{.rate_bps = 50000000, .rtt_ms = 300, .queue_pkts = 100},
		{.rate_bps = 5000000, .rtt_ms = 20, .loss_ppm = 50000,
		 .queue_pkts = 100},
	};
	const struct cc_path *p = &links[_i];

	printf("queue of %u datagrams: ", p->queue_pkts);
	check_link(p, 121 + (uint64_t)_i, "depth", 0.90,
		   p->queue_pkts < QUEUE ? 1.50 : OVERHEAD_MAX);
}
END_TEST

/* Jitter: each way's delay varies by 0-10 ms per datagram, which reorders
 * them (udp_impair --jitter-ms does the same). A datagram that arrived
 * after later ones with an RTT above the margin counts as one the queue
 * dropped (late_behind_queue); with rttvar once in that margin the
 * estimate stood 17 % under the link at 50 Mbit/s x 50 ms (83 % of
 * capacity). KCP's fast retransmission read a datagram two places late as
 * lost (1.46 link bytes per byte there, 1.56 at 200 Mbit/s x 50 ms with
 * 0-4 ms, 80 % of capacity) until it waited for the reordering measured
 * (kcp_cc_reorder_wait): 97 % and 1.39, 94 % and 1.39.
 * Rows 3-4: the delay changes for whole stretches of time (10 ms steps,
 * order kept). On the 20 ms paths (rows 5-6) the RTT spreads over as
 * much as the path itself, and the standing-queue judgement read it as a
 * queue in most windows until its margin took in the measured jitter
 * (kcp_cc_jitter): 5 % of capacity at 0-10 ms, 97 % now, with a queue of
 * up to the jitter's mean (check_link). Row 7: steps on a 20 ms path. A
 * window of one min RTT (12 ms) counted the ACKs of a stretch of delay
 * that held them back, read a slower path and cut: 69 % of capacity
 * (1-51 % over six other seeds) until the windows lasted JIT_SPAN x the
 * jitter. Steps there are not solved where they come before the jitter is
 * measured: docs/kcp-jitter.md. */
START_TEST(test_jitter)
{
	static const struct cc_path links[] = {
		{.rate_bps = 50000000, .rtt_ms = 50, .loss_ppm = 10000,
		 .jitter_ms = 10},
		{.rate_bps = 5000000, .rtt_ms = 100, .loss_ppm = 10000,
		 .jitter_ms = 10},
		{.rate_bps = 50000000, .rtt_ms = 100, .loss_ppm = 10000,
		 .jitter_ms = 10, .jitter_step_ms = 10},
		{.rate_bps = 200000000, .rtt_ms = 300, .loss_ppm = 10000,
		 .jitter_ms = 10, .jitter_step_ms = 10},
		{.rate_bps = 50000000, .rtt_ms = 20, .loss_ppm = 10000,
		 .jitter_ms = 10},
		{.rate_bps = 50000000, .rtt_ms = 20, .loss_ppm = 10000,
		 .jitter_ms = 4},
		{.rate_bps = 200000000, .rtt_ms = 50, .loss_ppm = 10000,
		 .jitter_ms = 4},
		{.rate_bps = 200000000, .rtt_ms = 20, .loss_ppm = 10000,
		 .jitter_ms = 10, .jitter_step_ms = 10},
	};
	const struct cc_path *p = &links[_i];

	printf("jitter 0-%u ms each way%s: ", p->jitter_ms,
	       p->jitter_step_ms ? " in steps" : "");
	/* steps hold the ACKs back a step at a time: 1.44 at 100 ms */
	check_link(p, 130 + (uint64_t)_i, "jit", 0.85,
		   p->jitter_step_ms ? 1.50 : OVERHEAD_MAX);
}
END_TEST

/* The rate halves on a jittery path (50 Mbit/s x 50 ms x 1 %, 0-10 ms per
 * datagram): the queue stands and the estimate is cut to what the link
 * carried for us. Most datagrams there arrive after later ones, and those
 * with a high RTT are left out of the deliveries as a full queue's drops
 * (late_behind_queue); the cuts measured without them took the estimate
 * to 12.6-14.4 Mbit/s of the new 25 over eight seeds. Where reordering is
 * measured the cut counts them (carried_since): 17.7-22.5. */
START_TEST(test_jitter_halving)
{
	const struct cc_path p = {.rate_bps = 50000000, .rtt_ms = 50,
				  .loss_ppm = 10000, .jitter_ms = 10};
	struct cc_path half = p;
	struct cc_flow f;
	uint64_t at = 3000, got0 = 0, least = UINT64_MAX;
	double share;

	half.rate_bps = p.rate_bps / 2;
	cc_flow_init(&f, &p, KCP_CC_BBR, 130);
	cc_run_until(&f, 1, at);
	kcp_sim_btl_set_rate(kcp_sim_get_btl(f.sim, 0), half.rate_bps);
	for (uint64_t t = at + 10; t <= at + 5000; t += 10) {
		struct kcp_cc_info ci;

		cc_run_until(&f, 1, t);
		kcp_get_cc(kcp_sim_kcp(f.sim, 0), &ci);
		/* from when the first window after the halving has ended */
		if (t > at + 300 && ci.btl_bw < least)
			least = ci.btl_bw;
		if (t == at + 1000)
			got0 = f.got;
	}
	share = (double)(f.got - got0) / 4.0 / cc_capacity(&half);
	printf("jitter, rate halved: %.0f%% of the new capacity, least "
	       "estimate %.1f of %.0f Mbit/s\n", share * 100,
	       (double)least * 8 / 1e6, half.rate_bps / 1e6);
	ck_assert_msg(least * 8 >= half.rate_bps * 6 / 10,
		      "estimate cut to %.1f Mbit/s", (double)least * 8 / 1e6);
	ck_assert_msg(share >= 0.90, "%.0f%% of capacity", share * 100);
	cc_flow_free(&f);
}
END_TEST

/* The jitter the controller measures (kcp_cc_jitter, in the debug
 * summary): none on paths without it, FEC's rebuilt datagrams (late by a
 * group or more, 5 % loss at 1 and 5 Mbit/s) and our own queue included;
 * on 0-10 ms each way, per datagram or in steps, 6-12 ms. */
START_TEST(test_jitter_estimate)
{
	static const struct cc_path links[] = {
		{.rate_bps = 50000000, .rtt_ms = 20, .loss_ppm = 10000},
		{.rate_bps = 5000000, .rtt_ms = 20, .loss_ppm = 50000},
		{.rate_bps = 1000000, .rtt_ms = 100, .loss_ppm = 50000},
		{.rate_bps = 200000000, .rtt_ms = 300, .loss_ppm = 50000},
		{.rate_bps = 50000000, .rtt_ms = 20, .loss_ppm = 10000,
		 .jitter_ms = 10},
		{.rate_bps = 50000000, .rtt_ms = 20, .loss_ppm = 10000,
		 .jitter_ms = 10, .jitter_step_ms = 10},
		{.rate_bps = 50000000, .rtt_ms = 50, .loss_ppm = 10000,
		 .jitter_ms = 10},
	};
	const struct cc_path *p = &links[_i];
	struct cc_flow f;

	cc_flow_init(&f, p, KCP_CC_BBR, 130);
	for (uint64_t t = 1000; t <= 5000; t += 1000) {
		struct kcp_cc_info ci;

		cc_run_until(&f, 1, t);
		kcp_get_cc(kcp_sim_kcp(f.sim, 0), &ci);
		printf("jitter estimate, %u Mbit/s %u ms, 0-%u ms%s: %u ms at "
		       "%llu ms\n", (unsigned)(p->rate_bps / 1000000),
		       p->rtt_ms, p->jitter_ms,
		       p->jitter_step_ms ? " in steps" : "", ci.jitter,
		       (unsigned long long)t);
		if (t < 2000)
			continue;
		if (p->jitter_ms)
			ck_assert_uint_ge(ci.jitter, p->jitter_ms / 2);
		else
			ck_assert_uint_eq(ci.jitter, 0);
		ck_assert_uint_le(ci.jitter, 2 * p->jitter_ms);
	}
	cc_flow_free(&f);
}
END_TEST

/* FEC off: every datagram the link loses is repaired by retransmission,
 * and the ACK path loses as many. Before the receiver repeated its ACKs
 * (kcp_flush: each lost ACK datagram meant a retransmission of every
 * segment it acknowledged while a hole sat below them) the sender resent
 * about twice what the link lost. Asserted: retransmissions within 10 % of
 * the losses (bulk data: one segment per datagram), 90 % of what the link
 * carries after headers and its random loss (without parity, each lost
 * datagram is sent again: at 5 % loss 95 % of the capacity is the most a
 * sender can deliver; measured 89 % of capacity at 5 % over windows of
 * 1.5-12 s, 91 % when a window's edges caught a hole's wait), the queue
 * as in the grid. */
START_TEST(test_fec_off)
{
	static const struct cc_path links[] = {
		{50000000, 50, 10000, true}, {50000000, 50, 50000, true},
		{20000000, 200, 20000, true},
	};
	const struct cc_path *p = &links[_i];
	struct cc_result r = cc_measure(p, KCP_CC_BBR, 600 + (uint64_t)_i);

	cc_print_result("nofec", p, &r);
	printf("nofec: %llu datagrams lost, %llu segments resent\n",
	       (unsigned long long)r.lost, (unsigned long long)r.retrans);
	ck_assert_msg(r.lost > 0, "the link lost nothing");
	ck_assert_msg(r.retrans * 10 <= r.lost * 11, "%llu segments resent "
		      "for %llu datagrams lost", (unsigned long long)r.retrans,
		      (unsigned long long)r.lost);
	ck_assert_msg(r.share >= 0.90 * (1.0 - p->loss_ppm / 1e6),
		      "%.0f%% of capacity", r.share * 100);
	ck_assert_msg(r.queue_bdp <= 0.25, "queue %.2f BDP", r.queue_bdp);
}
END_TEST

/* A transfer the way the benchmark makes one: the session has carried
 * only a few small messages for 2 s (frp's login and control), then 8 s
 * worth of the link rate is sent as fast as allowed. Goodput counts from
 * the first bulk byte to the last, STARTUP included, so on long paths it
 * stays below the steady state: STARTUP doubles the window per round
 * from 32 segments (7 rounds = 1.4 s to 20 Mbit/s at 200 ms), overshoots
 * and drains. Before STARTUP had a pacing floor it began from the small
 * messages' rate (the first sample replaced the initial guess) with a
 * window shrunk to that rate: 85 % and 74 % where the rows below now
 * reach 93 % and 92 % (docs/kcp-congestion.md). The 12 s transfers cross
 * a PROBE_RTT: before the window was restored after it, the 5 Mbit/s
 * 300 ms row reached 84 %. */
START_TEST(test_late_bulk)
{
	static const struct {
		struct cc_path p;
		double min_share; /* known shortfall below 0.90 */
	} links[] = {
		{{20000000, 200, 20000}, 0.90},
		{{50000000, 50, 10000}, 0.90},
		{{5000000, 300, 10000}, 0.90},
	};
	const struct cc_path *p = &links[_i].p;
	struct cc_flow f;
	uint64_t total = p->rate_bps / 8 * 8, start = 2000, t;
	double gp, share;

	cc_flow_init(&f, p, KCP_CC_BBR, 600 + (uint64_t)_i);
	f.rate = 200; /* control messages */
	cc_run_until(&f, 1, start);
	REQUIRE(f.got > 0, "small messages arrive");
	f.rate = 0;
	f.limit = f.written + total;
	for (t = start; t < start + 60000 && f.got < f.limit; t += 10)
		cc_run_until(&f, 1, t);
	gp = (double)total * 1000.0 / (double)(t - start);
	share = gp / cc_capacity(p);
	printf("late bulk %3u Mbit/s %3u ms %.0f%%: %.1f MB in %llu ms = "
	       "%.2f Mbit/s, %.0f%% of capacity\n",
	       (unsigned)(p->rate_bps / 1000000), p->rtt_ms,
	       p->loss_ppm / 10000.0, total / 1e6,
	       (unsigned long long)(t - start), gp * 8 / 1e6, share * 100);
	fflush(stdout);
	ck_assert_msg(share >= links[_i].min_share, "%.0f%% of capacity",
		      share * 100);
	cc_flow_free(&f);
}
END_TEST

/* ---- both directions at once ------------------------------------------ */

/* Bulk data both ways (an echo through the tunnel): every datagram goes
 * through FEC, ACK-only ones too, and a group's parity is as long as its
 * longest shard, so a group of one data datagram and nine ACKs carries
 * three full parity datagrams that no delivery sample counts. Paid in
 * full to the pacer (kcp_cc_parity), they took the budget from the
 * data; the estimate fell with the deliveries, the next groups held fewer
 * data datagrams and more ACKs, and one direction spiralled down: at
 * 20 % loss to 0 % of capacity, at 2 % to 51 % (tests/e2e/kcp_lossy.sh
 * at 20 % timed out after 240 s). A parity datagram now pays for the
 * data datagrams of its group only.
 * Each link also carries the other side's ACKs. They ride in the data
 * datagrams (ACK_ROOM in kcp_core_int.h): in a datagram of their own each
 * ACK flush took a shard of an FEC group and a full datagram's worth of
 * its parity, and the sides got 60-69 % of the one-way capacity at 20 %
 * loss, 76 % at 2 % (now 74-80 % and 89-95 %; 70-82 % and 89-96 % over
 * six seeds each). Asserted: each direction 70 % of the one-way
 * capacity at 20 % loss, 80 % at 2 %, its link 85 % busy (88-98 %; the
 * collapsed side's was 6 %), its queue within a quarter BDP (0.02-0.12).
 *
 * A true echo: side 1 sends back what it receives, so its rounds are
 * application-limited from the first, never judge growth, and it stays
 * in STARTUP. Its ACKs went out alone there (ACKs wait for our data only
 * outside STARTUP): 1.80 link bytes per byte on that side and 27.6 Mbit/s
 * each way at 50 Mbit/s x 50 ms x 1 %, where the bulk side spent 1.41.
 * After APP_HOLD_ROUNDS application-limited rounds they wait for the
 * echoed data too: 1.41-1.45 on both sides, 34.1-35.0 Mbit/s (96 % of the
 * one-way capacity). Asserted: each way 85 % of the one-way capacity,
 * both sides at most 1.5 link bytes per byte (FEC 10/3 and the headers
 * alone are 1.40), and the bulk cases' busy and queue bounds. */
START_TEST(test_two_way)
{
	static const struct {
		struct cc_path p;
		uint64_t seed;
		double share; /* of the one-way capacity, each way */
		bool echo;    /* side 1 sends back what it received */
		double overhead; /* most link bytes per byte, 0: any */
	} links[] = {
		{{20000000, 50, 200000}, 900, 0.70, false, 0},
		{{20000000, 50, 20000}, 901, 0.80, false, 0},
		/* STARTUP's overflow rule, fed by 20 % random loss and one
		 * high RTT sample, ended one side's STARTUP in its first
		 * rounds: one side at 18 % of its capacity */
		{{200000000, 50, 200000}, 902, 0.70, false, 0},
		/* true echoes: 93-97 % each way, 1.41-1.45 link bytes per
		 * byte on both sides */
		{{50000000, 50, 10000}, 900, 0.85, true, 1.5},
		{{50000000, 50, 10000}, 901, 0.85, true, 1.5},
		{{20000000, 50, 20000}, 902, 0.85, true, 1.5},
	};
	const struct cc_path *p = &links[_i].p;
	struct cc_way w[2];

	cc_two_way(p, links[_i].seed, 6000, 10000, links[_i].echo, w);
	for (int i = 0; i < 2; i++) {
		printf("%s %2u Mbit/s %u ms %.0f%%, side %d: %.2f Mbit/s "
		       "(%.0f%% of capacity), link busy %.0f%%, queue %.2f BDP, "
		       "%.2f link bytes per byte, estimate %.2f Mbit/s, %u "
		       "cuts, state %u\n", links[_i].echo ? "echo" : "two-way",
		       (unsigned)(p->rate_bps / 1000000), p->rtt_ms,
		       p->loss_ppm / 10000.0, i, w[i].goodput * 8 / 1e6,
		       w[i].goodput / cc_capacity(p) * 100, w[i].busy * 100,
		       w[i].queue_bdp, w[i].overhead, w[i].cc.btl_bw * 8 / 1e6,
		       w[i].cc.cuts, w[i].cc.state);
		fflush(stdout);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(w[i].goodput >= links[_i].share * cc_capacity(p),
			      "side %d: %.0f%% of capacity", i,
			      w[i].goodput / cc_capacity(p) * 100);
		ck_assert_msg(!links[_i].overhead ||
				      w[i].overhead <= links[_i].overhead,
			      "side %d: %.2f link bytes per byte", i,
			      w[i].overhead);
		ck_assert_msg(w[i].busy >= 0.85, "side %d: link %.0f%% busy", i,
			      w[i].busy * 100);
		ck_assert_msg(w[i].queue_bdp <= 0.25, "side %d: queue %.2f BDP",
			      i, w[i].queue_bdp);
	}
}
END_TEST

/* ---- two sessions, one bottleneck ---------------------------------------- */

/* Each session has a conversation id of its own, as kcp-go's do (with one
 * id for both, as before, their random PROBE_BW phases were the same).
 * The second starts `join` ms after the first, and Jain's index is taken
 * over 3-5 s after that: five seeds on 50 Mbit/s x 50 ms x 1 % (every one
 * must converge, not a lucky one), two on 20 Mbit/s x 200 ms x 2 % once
 * the first has left STARTUP, and a loss-free 5 Mbit/s x 100 ms path.
 * Where it does not converge in that time (a second session that starts
 * within the first's STARTUP on a long path; 200 Mbit/s x 100 ms, where
 * the queue is 0.55 BDP): docs/kcp-two-sessions.md. */
static const struct fair_case {
	struct cc_path p;
	uint64_t join; /* ms after the first session starts */
	uint64_t seed;
} fair_cases[] = {
	{{50000000, 50, 10000}, 1000, 200},
	{{50000000, 50, 10000}, 1000, 210},
	{{50000000, 50, 10000}, 1000, 220},
	{{50000000, 50, 10000}, 1000, 230},
	{{50000000, 50, 10000}, 1000, 240},
	{{20000000, 200, 20000}, 3000, 300},
	{{20000000, 200, 20000}, 3000, 307},
	{{5000000, 100, 0}, 1000, 300},
};

START_TEST(test_fairness)
{
	const struct fair_case *c = &fair_cases[_i];
	struct cc_path p = c->p;
	struct kcp_sim_btl *btl = kcp_sim_btl_new(p.rate_bps, QUEUE);
	struct cc_flow f[2];
	uint64_t got0[2], t0 = c->join + 3000;
	double x[2], jain;

	ck_assert_ptr_nonnull(btl);
	for (int i = 0; i < 2; i++) {
		uint64_t seed = c->seed + (uint64_t)i;

		cc_flow_init_conv(&f[i], &p, KCP_CC_BBR, seed,
			       CONV + (uint32_t)seed * 7919u);
		kcp_sim_set_btl(f[i].sim, 0, btl);
	}
	cc_run_until(f, 1, c->join);
	while (kcp_sim_step(f[1].sim, c->join)) /* idle until then */
		;
	cc_run_until(f, 2, t0);
	got0[0] = f[0].got;
	got0[1] = f[1].got;
	cc_run_until(f, 2, t0 + 2000);
	for (int i = 0; i < 2; i++)
		x[i] = (double)(f[i].got - got0[i]) / 2.0;
	jain = (x[0] + x[1]) * (x[0] + x[1]) / (2 * (x[0] * x[0] + x[1] * x[1]));
	printf("fairness %3.0f Mbit/s %3u ms %u%%, second after %llu ms (seed "
	       "%llu): %.2f and %.2f Mbit/s, Jain %.3f, total %.0f%% of "
	       "capacity\n", p.rate_bps / 1e6, p.rtt_ms, p.loss_ppm / 10000,
	       (unsigned long long)c->join, (unsigned long long)c->seed,
	       x[0] * 8 / 1e6, x[1] * 8 / 1e6, jain,
	       (x[0] + x[1]) / cc_capacity(&p) * 100);
	ck_assert_msg(jain >= 0.9, "Jain index %.3f", jain);
	ck_assert_msg(x[0] + x[1] >= 0.85 * cc_capacity(&p),
		      "together %.0f of %.0f", x[0] + x[1],
		      cc_capacity(&p));
	for (int i = 0; i < 2; i++)
		cc_flow_free(&f[i]);
	kcp_sim_btl_free(btl);
}
END_TEST

/* ---- the bottleneck rate halves ------------------------------------------ */

/* _i: where the halving falls against the sender's min-RTT windows and
 * PROBE_BW's cycle moves the drain by an RTT or more, so five moments on
 * one path (2.677 s took 19 RTTs when a run was judged whole, 3.111 s
 * the slowest of the rest), two of the benchmark's lossy rows, and
 * 10 Mbit/s x 30 ms, where the queue raised the margin faster than the
 * run's samples rose above it (5.8 RTTs while a run's samples were tested
 * against the margin again when judged). The last three no run sees:
 * the halving fell into PROBE_BW's 3/4 phase, whose drain kept the
 * samples from rising, and a window's deep cut came first, on a rate
 * measured half before the halving (6.8 of 5 Mbit/s); its hold then kept
 * the queue for 20 RTTs and more, until two standing windows after the
 * cut corrected it (check_after_cut): 4.7-7.2 RTTs. */
static const struct halving {
	struct cc_path p;
	uint64_t at_ms; /* when the rate halves */
	uint32_t rtts;  /* the queue drains within this many RTTs */
	bool run;       /* ... seen on a standing run */
} halvings[] = {
	{{50000000, 50, 0}, 2000, 5, true},
	{{50000000, 50, 0}, 2677, 5, true},
	{{50000000, 50, 0}, 3000, 5, true},
	{{50000000, 50, 0}, 3111, 5, true},
	{{50000000, 50, 0}, 3500, 5, true},
	{{50000000, 50, 50000}, 3290, 5, true},
	{{20000000, 200, 20000}, 5000, 5, true},
	{{10000000, 30, 10000}, 2000, 5, true},
	{{10000000, 30, 10000}, 2666, 8, false},
	{{10000000, 30, 10000}, 3443, 8, false},
	{{3000000, 100, 10000}, 5614, 8, false},
};

START_TEST(test_rate_halving)
{
	const struct halving *h = &halvings[_i];
	struct cc_path p = h->p;
	struct kcp_cc_info cc;
	struct cc_flow f;
	struct kcp_sim_btl *btl;
	uint64_t t, end = h->at_ms + 20 * p.rtt_ms, drained = 0;
	double bdp_new, sum = 0, peak = 0, *q;
	size_t i, n = 0, top = 0, nq = (size_t)(end - h->at_ms) / 5;

	cc_flow_init(&f, &p, KCP_CC_BBR, 300);
	btl = kcp_sim_get_btl(f.sim, 0);
	cc_run_until(&f, 1, h->at_ms);
	kcp_sim_btl_set_rate(btl, p.rate_bps / 2);
	bdp_new = cc_bdp_bytes(&p) / 2;
	q = calloc(nq, sizeof(*q));
	ck_assert_ptr_nonnull(q);
	/* The queue the old rate leaves (it grows until the sender sees the
	 * path slow down) must fall below a quarter BDP of the new rate
	 * within a few RTTs of the halving, and from then on the mean queue
	 * must stay below that, as the grid's steady state. A mean, not
	 * every instant: PROBE_BW's 5/4 phase peaks at ~0.4 BDP for a moment
	 * by design (docs/kcp-congestion.md). The drain is timed from the
	 * queue's peak: a halving during a 5/4 phase found that phase's
	 * queue draining first (0.1 RTT, the real one peaked after it). */
	for (i = 0, t = h->at_ms + 5; i < nq; i++, t += 5) {
		cc_run_until(&f, 1, t);
		q[i] = (double)kcp_sim_btl_backlog(btl, t);
		if (q[i] > peak) {
			peak = q[i];
			top = i;
		}
	}
	for (i = top; i < nq; i++) {
		if (!drained && q[i] <= 0.25 * bdp_new)
			drained = h->at_ms + 5 * (i + 1);
		if (drained) {
			sum += q[i];
			n++;
		}
	}
	free(q);
	printf("%3.0f Mbit/s %3u ms %u%% halved at %llu ms: queue peaked at "
	       "%.1f BDP, below 0.25 BDP %.1f RTT later, mean after that "
	       "%.2f BDP\n", p.rate_bps / 1e6, p.rtt_ms, p.loss_ppm / 10000,
	       (unsigned long long)h->at_ms, peak / bdp_new,
	       drained ? (double)(drained - h->at_ms) / p.rtt_ms : -1.0,
	       n ? sum / n / bdp_new : -1.0);
	fflush(stdout);
	/* 3.0-4.0 RTTs where a run sees it: the samples show the queue
	 * about an RTT late, half an RTT of them shows the slower path, and
	 * then nothing new leaves until one BDP is in flight, so the queue
	 * drains at the link's rate (docs/kcp-congestion.md; 4.9-6.9 and 19
	 * before the standing run, 3.0-5.0 and 19 while it was judged
	 * whole). */
	ck_assert_msg(drained && drained - h->at_ms <= h->rtts * p.rtt_ms,
		      "queue still above 0.25 BDP %u RTT after (drained at "
		      "%llu)", h->rtts, (unsigned long long)drained);
	ck_assert_msg(sum / n <= 0.25 * bdp_new,
		      "mean queue after the drain %.2f BDP", sum / n / bdp_new);
	/* the drop was seen on a standing run, not at a window's end, where
	 * a run can see it */
	kcp_get_cc(kcp_sim_kcp(f.sim, 0), &cc);
	printf("  estimate cuts %u, %u on a standing run\n", cc.cuts,
	       cc.run_cuts);
	ck_assert_uint_ge(cc.cuts, 1);
	if (h->run)
		ck_assert_uint_ge(cc.run_cuts, 1);
	cc_flow_free(&f);
}
END_TEST

/* ---- a link outage ------------------------------------------------------ */

/* The data direction loses everything for `ms` (a radio fading, a route
 * change), then works again. Every copy in flight is lost; counted in
 * flight until acknowledged, those copies kept the inflight cap shut, and
 * only the head went, once per RTO: measured from the link's return, the
 * session took 2.2 s to get back to 80 % of its rate at 200 Mbit/s x
 * 100 ms (after 0.3 and after 1 s of outage), 1.9 s at 20 Mbit/s x 200 ms
 * and 0.7 s at 50 Mbit/s x 50 ms. A timer that expires after a whole RTT
 * without deliveries now takes its segment's copies out of the flight
 * (kcp_cc_on_lost): 0.2-0.4 s. Asserted: 80 % of the rate before, within
 * 1 s of the link's return (measured in 100 ms steps). */
START_TEST(test_blackout)
{
	static const struct {
		struct cc_path p;
		uint64_t ms; /* outage */
	} cases[] = {
		{{200000000, 100, 0}, 300},
		{{200000000, 100, 0}, 1000},
		{{20000000, 200, 20000}, 1000},
		{{50000000, 50, 10000}, 300},
	};
	const struct cc_path *p = &cases[_i].p;
	struct kcp_sim_link up = cc_side_for(p, KCP_CC_BBR, true).link;
	struct kcp_sim_link out = up;
	uint64_t t0 = 5000, t1 = t0 + cases[_i].ms, got, back = 0, t;
	double before, gp = 0;
	struct cc_flow f;

	cc_flow_init(&f, p, KCP_CC_BBR, 900);
	cc_run_until(&f, 1, t0 - 1000);
	got = f.got;
	cc_run_until(&f, 1, t0);
	before = (double)(f.got - got);
	out.loss_ppm = 1000000;
	kcp_sim_set_link(f.sim, 0, &out);
	cc_run_until(&f, 1, t1);
	kcp_sim_set_link(f.sim, 0, &up);
	for (t = t1 + 100; t <= t1 + 5000 && !back; t += 100) {
		got = f.got;
		cc_run_until(&f, 1, t);
		gp = (double)(f.got - got) * 10;
		if (gp >= 0.8 * before)
			back = t - t1;
	}
	printf("outage %4llu ms at %3u Mbit/s %3u ms %.0f%%: %.2f Mbit/s "
	       "before, 80 %% of it again %llu ms after the link's return\n",
	       (unsigned long long)cases[_i].ms,
	       (unsigned)(p->rate_bps / 1000000), p->rtt_ms,
	       p->loss_ppm / 10000.0, before * 8 / 1e6,
	       (unsigned long long)back);
	fflush(stdout);
	ck_assert_msg(back && back <= 1000, "back to 80%% after %llu ms",
		      (unsigned long long)back);
	cc_flow_free(&f);
}
END_TEST

static Suite *cc_suite(void)
{
	Suite *s = suite_create("kcp_cc");
	TCase *tc = tcase_create("bottleneck");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_none_vs_bbr);
	tcase_add_loop_test(tc, test_grid, 0, 3);
	tcase_add_loop_test(tc, test_low_rate, 0, 6);
	tcase_add_test(tc, test_drain_stall);
	tcase_add_loop_test(tc, test_bench_links, 0, 3);
	tcase_add_loop_test(tc, test_queue_depth, 0, 7);
	tcase_add_loop_test(tc, test_jitter, 0, 8);
	tcase_add_loop_test(tc, test_jitter_estimate, 0, 7);
	tcase_add_test(tc, test_jitter_halving);
	tcase_add_loop_test(tc, test_fec_off, 0, 3);
	tcase_add_loop_test(tc, test_late_bulk, 0, 3);
	tcase_add_loop_test(tc, test_two_way, 0, 6);
	tcase_add_loop_test(tc, test_blackout, 0, 4);
	tcase_add_loop_test(tc, test_fairness, 0,
			    sizeof(fair_cases) / sizeof(fair_cases[0]));
	tcase_add_loop_test(tc, test_rate_halving, 0,
			    sizeof(halvings) / sizeof(halvings[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
