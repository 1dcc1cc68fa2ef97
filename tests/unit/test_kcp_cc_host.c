/*
 * test_kcp_cc_host.c - the congestion controller as its host sees it, over
 * the simulator's bottleneck (kcp_cc_harness.c, as test_kcp_cc.c): an
 * application-limited source on a jittery path, what kcp.so's backlog
 * tells the controller, the send goal the host queues to, the FEC tail
 * guard's pause, and STARTUP's first flight on a slow link after the
 * login's small messages set srtt. Assertions are on simulated numbers
 * only.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_cc_harness.h"

/* ---- an application-limited source ------------------------------------- */

/* A source well below the link rate on a jittery path (the RTT moves by
 * more than the queue margin without any queue), then a burst: the
 * goodput follows the source (no stall with data queued and nothing in
 * flight), and once the source bursts the session finds the link. */
START_TEST(test_app_limited)
{
	struct cc_path p = {50000000, 30, 10000};
	struct kcp_cc_info cc;
	struct cc_flow f;
	uint64_t got0, w0;
	double cap = cc_capacity(&p), burst;

	cc_flow_init(&f, &p, KCP_CC_BBR, 400);
	for (int side = 0; side < 2; side++) {
		struct kcp_sim_link l =
			cc_side_for(&p, KCP_CC_BBR, side == 0).link;

		l.delay_ms -= 2;
		l.jitter_ms = 4;
		kcp_sim_set_link(f.sim, side, &l);
	}
	f.rate = (uint64_t)(cap / 8); /* an eighth of the link */
	cc_run_until(&f, 1, 4000);
	w0 = f.written;
	printf("app-limited: wrote %.2f MB, delivered %.2f MB in 4 s\n",
	       w0 / 1e6, f.got / 1e6);
	/* everything written up to one RTT ago has arrived */
	ck_assert_msg(f.got + f.rate * 3 * p.rtt_ms / 1000 >= w0,
		      "delivered %llu of %llu", (unsigned long long)f.got,
		      (unsigned long long)w0);
	f.rate = 0; /* the burst */
	cc_run_until(&f, 1, 5500);
	got0 = f.got;
	cc_run_until(&f, 1, 7500);
	burst = (double)(f.got - got0) / 2.0;
	printf("then bulk: %.1f Mbit/s = %.0f%% of capacity\n", burst * 8 / 1e6,
	       burst / cap * 100);
	ck_assert_msg(burst >= 0.85 * cap, "burst reached %.0f%% of capacity",
		      burst / cap * 100);
	/* jitter holds ACKs back for a few ms at a time: runs of standing
	 * samples that delivered 40-60 % of the estimate, whose RTTs do not
	 * rise as a slower path's do; none of them may cut */
	kcp_get_cc(kcp_sim_kcp(f.sim, 0), &cc);
	ck_assert_uint_eq(cc.run_cuts, 0);
	cc_flow_free(&f);
}
END_TEST

/* kcp.so refills the core's queue from its pair on pacing ticks and
 * ACKs; on a busy event loop a late tick sends all of the few ms queued,
 * and the queue is empty at the flush's end while the pair holds plenty.
 * Read as an idle application, four such rounds restarted STARTUP in the
 * middle of bulk transfers (a BDP of queue for a second on a 200 ms
 * path). Here the application stops writing after 3 s of bulk: saying
 * it has nothing more, the emptied queue marks the samples
 * application-limited; saying it has more (kcp_set_backlog), it does
 * not. */
START_TEST(test_backlog)
{
	struct cc_path p = {20000000, 200, 20000};
	bool marked[2];

	for (int more = 0; more < 2; more++) {
		struct cc_flow f;
		struct kcp_cc_info cc;

		cc_flow_init(&f, &p, KCP_CC_BBR, 700);
		cc_run_until(&f, 1, 3000);
		kcp_get_cc(kcp_sim_kcp(f.sim, 0), &cc);
		ck_assert_msg(!cc.app_limited, "bulk read as application-limited");
		f.limit = f.written;
		f.backlog = more;
		cc_run_until(&f, 1, 3100);
		kcp_get_cc(kcp_sim_kcp(f.sim, 0), &cc);
		marked[more] = cc.app_limited;
		cc_flow_free(&f);
	}
	printf("queue emptied: application-limited %s without a backlog, %s "
	       "with one\n", marked[0] ? "yes" : "no", marked[1] ? "yes" : "no");
	ck_assert(marked[0]);
	ck_assert(!marked[1]);
}
END_TEST

/* What the session asks its host to queue above it (kcp_host_goal): the
 * floor while a low-rate link's window is small (a 16 KiB record there is
 * half a second), about 5 ms of the rate on a fast link (at least the
 * host's own 32-64 KiB bounds), nothing without the controller. */
START_TEST(test_host_goal)
{
	struct cc_path slow = {2000000, 100, 10000};
	struct cc_path fast = {200000000, 20, 10000};
	struct cc_flow f;
	struct kcp_cc_info cc;
	uint32_t lo = UINT32_MAX, hi = 0, g;

	cc_flow_init(&f, &slow, KCP_CC_BBR, 710);
	for (uint64_t t = 100; t <= 6000; t += 50) {
		cc_run_until(&f, 1, t);
		kcp_get_cc(kcp_sim_kcp(f.sim, 0), &cc);
		if (!cc.min_rtt)
			continue;
		g = kcp_host_goal(kcp_sim_kcp(f.sim, 0));
		lo = g < lo ? g : lo;
		hi = g > hi ? g : hi;
	}
	cc_flow_free(&f);
	printf("host goal at 2 Mbit/s x 100 ms: %u-%u bytes\n", lo, hi);
	ck_assert_uint_eq(lo, 4096);
	ck_assert_uint_le(hi, 4096);

	cc_flow_init(&f, &fast, KCP_CC_BBR, 711);
	cc_run_until(&f, 1, 3000);
	g = kcp_host_goal(kcp_sim_kcp(f.sim, 0));
	cc_flow_free(&f);
	printf("host goal at 200 Mbit/s x 20 ms: %u bytes\n", g);
	ck_assert_uint_ge(g, 64 * 1024);
	ck_assert_uint_le(g, 200000000 / 8 * 5 / 1000 * 3 / 2);

	cc_flow_init(&f, &fast, KCP_CC_NONE, 712);
	cc_run_until(&f, 1, 500);
	ck_assert_uint_eq(kcp_host_goal(kcp_sim_kcp(f.sim, 0)), 0);
	cc_flow_free(&f);
}
END_TEST

/* The FEC tail guard's pause (kcp_tail_ms): srtt / 8 within 2-25 ms, but
 * never shorter than two datagrams' time at the bottleneck, the ACK clock's
 * own pause while the inflight cap binds (at 1 Mbit/s 22 ms, not 2.5). */
START_TEST(test_tail_wait)
{
	struct cc_path slow = {1000000, 20, 10000};
	struct cc_path fast = {50000000, 20, 10000};
	struct cc_flow f;
	uint32_t ms_slow, ms_fast;

	cc_flow_init(&f, &slow, KCP_CC_BBR, 720);
	cc_run_until(&f, 1, 6000);
	ms_slow = kcp_tail_ms(kcp_sim_kcp(f.sim, 0));
	cc_flow_free(&f);
	cc_flow_init(&f, &fast, KCP_CC_BBR, 721);
	cc_run_until(&f, 1, 3000);
	ms_fast = kcp_tail_ms(kcp_sim_kcp(f.sim, 0));
	cc_flow_free(&f);
	printf("tail guard pause: %u ms at 1 Mbit/s x 20 ms, %u ms at 50 "
	       "Mbit/s x 20 ms\n", ms_slow, ms_fast);
	/* 2 x 1,378 IP bytes at 1 Mbit/s (FEC 10/3 on top: 2 x 1.3 x 11 ms) */
	ck_assert_uint_ge(ms_slow, 20);
	ck_assert_uint_le(ms_slow, 40);
	ck_assert_uint_ge(ms_fast, 2);
	ck_assert_uint_le(ms_fast, 4);
}
END_TEST

/* A session's first RTT samples come from small messages (frp's login),
 * then bulk starts: at 1 Mbit/s STARTUP's first flight queues for half a
 * second while srtt still says 10-20 ms, and the pauses behind each parity
 * burst (three datagrams, 33 ms) must not read as stalls. The path loses
 * nothing, so nothing may go out twice. With the stall span at srtt / 2
 * alone, 49 segments went again by timeouts at 10 ms and the first 2 s
 * carried a third less. */
static const uint32_t first_flight_rtt[] = {10, 20};

START_TEST(test_first_flight_slow)
{
	struct cc_path p = {1000000, first_flight_rtt[_i], 0};
	struct cc_flow f;
	const struct kcp_stats *st;

	cc_flow_init(&f, &p, KCP_CC_BBR, 950);
	f.rate = 1500; /* small messages for a second */
	cc_run_until(&f, 1, 1000);
	f.rate = 0; /* then bulk */
	cc_run_until(&f, 1, 3000);
	st = kcp_get_stats(kcp_sim_kcp(f.sim, 0));
	printf("first flight at 1 Mbit/s x %u ms: %.0f KB in 2 s, %llu sent "
	       "again (%llu by timeouts)\n", p.rtt_ms, f.got / 1e3,
	       (unsigned long long)st->retrans_segs,
	       (unsigned long long)st->lost_segs);
	ck_assert_uint_eq(st->retrans_segs, 0);
	/* 2 s of the link after FEC 10/3, less STARTUP's queue */
	ck_assert_uint_ge(f.got, 150000);
	cc_flow_free(&f);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("kcp_cc_host");
	TCase *tc = tcase_create("host");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_app_limited);
	tcase_add_test(tc, test_backlog);
	tcase_add_test(tc, test_host_goal);
	tcase_add_test(tc, test_tail_wait);
	tcase_add_loop_test(tc, test_first_flight_slow, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(host_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
