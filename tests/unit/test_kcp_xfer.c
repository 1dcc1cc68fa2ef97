/*
 * test_kcp_xfer.c - the KCP ARQ core end to end over the deterministic
 * lossy link of kcp_sim.c: streams and messages for every profile at 0-30 %
 * loss, linear RTO backoff, window probing, hostile datagrams during a
 * transfer, determinism. (Unit-level behaviour: test_kcp_core.c.)
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../transports/kcp/kcp_core.h"
#include "kcp_sim.h"

#define CONV 0x5f3759dfu

#define REQUIRE(cond, ...) \
	do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

static const uint32_t loss_pct[] = {0, 5, 15, 30};
#define NLOSS (int)(sizeof(loss_pct) / sizeof(loss_pct[0]))
#define STREAM_BYTES (16u << 20)
#define MESSAGES 10000
#define XFER_LIMIT_MS (48ull * 3600 * 1000)

/* Link-level invariants every simulated run must keep. */
static void check_sim_clean(struct kcp_sim *sim, uint32_t snd_wnd)
{
	const struct kcp_sim_stats *st = kcp_sim_stats(sim);

	ck_assert_uint_eq(st->oversize, 0);
	ck_assert_uint_eq(st->prefix_clobbered, 0);
	ck_assert_uint_eq(st->malformed, 0);
	ck_assert_uint_eq(st->input_errs, 0);
	ck_assert_uint_eq(st->window_violations, 0);
	ck_assert_uint_le(st->max_inflight[0], snd_wnd);
	ck_assert_uint_gt(st->max_inflight[0], 0);
}

static void xfer_run(const struct kcp_sim_profile *p, uint32_t loss,
		     bool stream, uint64_t total, uint64_t seed)
{
	struct kcp_sim_side a = kcp_sim_side_for(p, stream, loss);
	struct kcp_sim_xfer x = {.stream = stream, .total = total,
				 .seed = seed, .limit_ms = XFER_LIMIT_MS};
	struct kcp_sim *sim = kcp_sim_new(seed, CONV, p->start_ms, &a, &a);

	ck_assert_ptr_nonnull(sim);
	ck_assert_msg(kcp_sim_transfer(sim, &x) == 0, "%s loss %u%% %s: %s",
		      p->name, loss, stream ? "stream" : "messages", x.err);
	ck_assert_uint_eq(x.got, total);
	check_sim_clean(sim, (uint32_t)p->snd_wnd);
	if (loss)
		ck_assert_uint_gt(
			kcp_get_stats(kcp_sim_kcp(sim, 0))->retrans_segs, 0);
	kcp_sim_free(sim);
}

/* _i = profile * NLOSS + loss index */
START_TEST(test_transfer_stream)
{
	const struct kcp_sim_profile *p = &kcp_sim_profiles[_i / NLOSS];

	xfer_run(p, loss_pct[_i % NLOSS], true, STREAM_BYTES, 1000 + _i);
}
END_TEST

START_TEST(test_transfer_messages)
{
	const struct kcp_sim_profile *p = &kcp_sim_profiles[_i / NLOSS];

	xfer_run(p, loss_pct[_i % NLOSS], false, MESSAGES, 2000 + _i);
}
END_TEST

struct rto_log {
	int n;
	uint32_t t[32];
};

static bool drop_and_log(int from, const uint8_t *p, size_t len, uint32_t now,
			 void *arg)
{
	struct rto_log *l = arg;
	struct kcp_hdr h[64];
	int n = kcp_sim_segs(p, len, h, 64);

	for (int i = 0; from == 0 && i < n && i < 64; i++) {
		if (h[i].cmd != KCP_CMD_PUSH)
			continue;
		REQUIRE(h[i].sn == 0 && h[i].ts == now && l->n < 32,
			"unexpected PUSH sn %u ts %u", h[i].sn, h[i].ts);
		l->t[l->n++] = now;
	}
	return from == 0;
}

static void rto_run(int nodelay, int interval, const uint32_t *gaps, int ngaps)
{
	struct kcp_sim_side s = {
		.kcp = {.nodelay = nodelay, .interval = interval},
		.link = {.delay_ms = 10},
	};
	struct rto_log log = {0};
	struct kcp_sim *sim = kcp_sim_new(7, CONV, 999, &s, &s);
	struct kcp *k;

	ck_assert_ptr_nonnull(sim);
	k = kcp_sim_kcp(sim, 0);
	kcp_sim_set_tap(sim, drop_and_log, &log);
	ck_assert_int_eq(kcp_sim_write(sim, 0, "syn", 3), 0);
	ck_assert_int_eq(log.n, 1);
	while (log.n < 20) {
		ck_assert(kcp_sim_step(sim, 3600 * 1000));
		ck_assert_msg(kcp_dead(k) == (log.n >= 20),
			      "dead after %d transmissions", log.n);
	}
	for (int i = 0; i < ngaps; i++)
		ck_assert_msg(log.t[i + 1] - log.t[i] == gaps[i],
			      "nodelay %d gap %d: %u != %u", nodelay, i,
			      log.t[i + 1] - log.t[i], gaps[i]);
	ck_assert_uint_eq(kcp_get_stats(k)->lost_segs, 19);
	kcp_sim_free(sim);
}

START_TEST(test_rto_backoff)
{
	/* kcptun capture: 999 -> 1199 -> 1599 -> 2199 */
	static const uint32_t linear[] = {200, 400, 600, 800, 1000, 1200};
	static const uint32_t half[] = {200, 300, 400, 500, 600, 700};

	rto_run(0, 100, linear, 6);
	rto_run(1, 20, half, 6);
}
END_TEST

struct probe_log {
	struct kcp_sim_xfer *x;
	uint64_t t0, resume;   /* zero window seen; reader resumed */
	int nwask, nwins, nwins_at_resume;
	uint32_t wask[8], wins_t[16];
	uint16_t wins_wnd[16];
};

static bool probe_tap(int from, const uint8_t *p, size_t len, uint32_t now,
		      void *arg)
{
	struct probe_log *l = arg;
	struct kcp_hdr h[64];
	int n = kcp_sim_segs(p, len, h, 64);

	for (int i = 0; i < n && i < 64; i++) {
		if (h[i].cmd == KCP_CMD_WASK && from == 0 && l->nwask < 8)
			l->wask[l->nwask++] = now;
		if (h[i].cmd == KCP_CMD_WINS && from == 1 && l->nwins < 16) {
			l->wins_t[l->nwins] = now;
			l->wins_wnd[l->nwins++] = h[i].wnd;
		}
	}
	return false;
}

/* The receiving application stops reading until 20 s after the sender saw
 * a zero window. */
static bool probe_step(struct kcp_sim *sim, void *arg)
{
	struct probe_log *l = arg;
	uint64_t t = kcp_sim_elapsed(sim);

	if (!l->t0 && kcp_rmt_wnd(kcp_sim_kcp(sim, 0)) == 0)
		l->t0 = t;
	if (l->t0 && !l->resume && t >= l->t0 + 20000) {
		l->resume = t;
		l->nwins_at_resume = l->nwins;
		l->x->hold_reads = false;
	}
	return true;
}

START_TEST(test_window_probe)
{
	struct kcp_sim_side s = {
		.kcp = {.interval = 30, .resend = 2, .nc = 1, .stream = true},
		.link = {.delay_ms = 20},
	};
	struct kcp_sim_xfer x = {.stream = true, .total = 200 * 1376,
				 .seed = 3, .limit_ms = 3600 * 1000,
				 .hold_reads = true};
	struct probe_log l = {.x = &x};
	struct kcp_sim *sim = kcp_sim_new(3, CONV, 0, &s, &s);
	int w;

	ck_assert_ptr_nonnull(sim);
	x.on_step = probe_step;
	x.arg = &l;
	kcp_sim_set_tap(sim, probe_tap, &l);
	ck_assert_msg(kcp_sim_transfer(sim, &x) == 0, "%s", x.err);
	ck_assert_uint_gt(l.t0, 0);
	/* first WASK 7 s after the zero window was seen, next 10.5 s later
	 * (one flush interval of slack for timer granularity) */
	ck_assert_int_ge(l.nwask, 2);
	ck_assert_uint_ge(l.wask[0] - (uint32_t)l.t0, 7000);
	ck_assert_uint_le(l.wask[0] - (uint32_t)l.t0, 7000 + 30);
	ck_assert_uint_ge(l.wask[1] - l.wask[0], 10500);
	ck_assert_uint_le(l.wask[1] - l.wask[0], 10500 + 30);
	/* each WASK got a WINS telling 0; after reading, a WINS with room */
	w = l.nwins_at_resume;
	ck_assert_int_ge(w, 2);
	for (int i = 0; i < w; i++)
		ck_assert_uint_eq(l.wins_wnd[i], 0);
	ck_assert_int_gt(l.nwins, w);
	ck_assert_uint_gt(l.wins_wnd[w], 0);
	ck_assert_uint_le(l.wins_t[w] - (uint32_t)l.resume, 30);
	check_sim_clean(sim, 32);
	kcp_sim_free(sim);
}
END_TEST

struct fuzz_ctx {
	uint64_t injected, r;
};

static bool fuzz_step(struct kcp_sim *sim, void *arg)
{
	struct fuzz_ctx *f = arg;

	for (int i = 0; i < 40 && f->injected < 100000; i++, f->injected++)
		REQUIRE(kcp_sim_hostile(sim, f->r += 16) == 0,
			"hostile datagram %llu not handled as it must be",
			(unsigned long long)f->injected);
	return true;
}

/* 100k hostile datagrams into both sides of a 4 MiB transfer: no crash,
 * every one rejected (or harmless), the data arrives intact. */
START_TEST(test_fuzz_during_transfer)
{
	struct kcp_sim_side a = kcp_sim_side_for(&kcp_sim_profiles[1], true, 5);
	struct fuzz_ctx f = {.r = 99};
	struct kcp_sim_xfer x = {.stream = true, .total = 4u << 20,
				 .seed = 5, .limit_ms = XFER_LIMIT_MS,
				 .on_step = fuzz_step, .arg = &f};
	struct kcp_sim *sim = kcp_sim_new(77, CONV, 1000, &a, &a);

	ck_assert_ptr_nonnull(sim);
	ck_assert_msg(kcp_sim_transfer(sim, &x) == 0, "%s", x.err);
	while (f.injected < 100000) {
		fuzz_step(sim, &f);
		ck_assert(kcp_sim_step(sim, XFER_LIMIT_MS));
	}
	ck_assert_int_eq(kcp_peeksize(kcp_sim_kcp(sim, 1)), -EAGAIN);
	check_sim_clean(sim, (uint32_t)kcp_sim_profiles[1].snd_wnd);
	kcp_sim_free(sim);
}
END_TEST

/* The simulator itself is deterministic: same seed, same run. */
START_TEST(test_sim_deterministic)
{
	uint64_t sig[2];

	for (int run = 0; run < 2; run++) {
		struct kcp_sim_side sd =
			kcp_sim_side_for(&kcp_sim_profiles[1], true, 15);
		struct kcp_sim_xfer x = {.stream = true, .total = 1u << 20,
					 .seed = 9, .limit_ms = XFER_LIMIT_MS};
		struct kcp_sim *sim = kcp_sim_new(42, CONV, 0, &sd, &sd);
		const struct kcp_sim_stats *st;

		ck_assert_ptr_nonnull(sim);
		ck_assert_msg(kcp_sim_transfer(sim, &x) == 0, "%s", x.err);
		st = kcp_sim_stats(sim);
		sig[run] = kcp_sim_elapsed(sim) * 1000003 + st->sent[0] * 101 +
			   st->lost[1];
		kcp_sim_free(sim);
	}
	ck_assert_uint_eq(sig[0], sig[1]);
}
END_TEST

static Suite *kcp_xfer_suite(void)
{
	Suite *s = suite_create("kcp_xfer");
	TCase *sim = tcase_create("sim");

	tcase_set_timeout(sim, 300);
	tcase_add_test(sim, test_sim_deterministic);
	tcase_add_test(sim, test_rto_backoff);
	tcase_add_test(sim, test_window_probe);
	tcase_add_test(sim, test_fuzz_during_transfer);
	tcase_add_loop_test(sim, test_transfer_stream, 0,
			    KCP_SIM_NPROFILES * NLOSS);
	tcase_add_loop_test(sim, test_transfer_messages, 0,
			    KCP_SIM_NPROFILES * NLOSS);
	suite_add_tcase(s, sim);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kcp_xfer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
