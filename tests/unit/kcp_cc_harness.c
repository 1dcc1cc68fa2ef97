/*
 * kcp_cc_harness.c - bulk sessions over the simulator's bottleneck for
 * test_kcp_cc.c (kcp_cc_harness.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcp_cc_harness.h"

uint32_t cc_reserved_of(const struct cc_path *p)
{
	return p->nofec ? RESERVED - FEC_HDR : RESERVED;
}

/* Payload bytes/s the bottleneck can carry: full datagrams, FEC parity,
 * KCP and crypt/FEC headers, IPv4/UDP. */
double cc_capacity(const struct cc_path *p)
{
	double mss = MTU - 24 - cc_reserved_of(p);
	double fec = p->nofec ? 1.0 : (double)DS / (DS + PS);

	return p->rate_bps / 8.0 * fec * mss / (MTU + WIRE_EXTRA);
}

/* Link bytes of one BDP at the bottleneck. */
double cc_bdp_bytes(const struct cc_path *p)
{
	return p->rate_bps / 8.0 * p->rtt_ms / 1000.0;
}

struct kcp_sim_side cc_side_for(const struct cc_path *p, int cc, bool data)
{
	struct kcp_sim_side s = {
		.kcp = {.nodelay = 1, .interval = 20, .resend = 2, .nc = 1,
			/* windows: ceilings with the controller; without it
			 * kcptun's server setting (a window per RTT) */
			.snd_wnd = cc ? 8192 : 1024,
			.rcv_wnd = cc ? 8192 : 1024, .mtu = MTU,
			.reserved = cc_reserved_of(p), .stream = true,
			.congestion = cc},
		/* our sessions answer every receive batch at once */
		.ack_nodelay = true,
		.link = {.delay_ms = (p->rtt_ms - p->jitter_ms) / 2,
			 .jitter_ms = p->jitter_ms,
			 .jitter_step_ms = p->jitter_step_ms,
			 .loss_ppm = p->loss_ppm,
			 .wire_extra = WIRE_EXTRA, .fec_ds = p->nofec ? 0 : DS,
			 .fec_ps = p->nofec ? 0 : PS,
			 .fec_charge = !p->scaled,
			 .bare_ack_hdr = cc && !p->nofec ? FEC_HDR : 0},
	};
	if (data) {
		s.link.rate_bps = p->rate_bps;
		s.link.queue_pkts = p->queue_pkts ? p->queue_pkts : QUEUE;
	}
	return s;
}

/* A session with its own conversation id (kcp-go draws them at random;
 * the controller's random PROBE_BW phases start from it). */
void cc_flow_init_conv(struct cc_flow *f, const struct cc_path *p, int cc,
			   uint64_t seed, uint32_t conv)
{
	struct kcp_sim_side a = cc_side_for(p, cc, true);
	struct kcp_sim_side b = cc_side_for(p, cc, false);

	memset(f, 0, sizeof(*f));
	f->sim = kcp_sim_new(seed, conv, 1000, &a, &b);
	ck_assert_ptr_nonnull(f->sim);
	for (int i = 0; i < 2; i++)
		kcp_set_wire(kcp_sim_kcp(f->sim, i), WIRE_EXTRA,
			     p->nofec ? 0 : DS, p->nofec ? 0 : PS);
	f->buf = calloc(1, CHUNK);
	ck_assert_ptr_nonnull(f->buf);
}

void cc_flow_init(struct cc_flow *f, const struct cc_path *p, int cc,
		      uint64_t seed)
{
	cc_flow_init_conv(f, p, cc, seed, CONV);
}

void cc_flow_free(struct cc_flow *f)
{
	kcp_sim_free(f->sim);
	free(f->buf);
}

/* The application: keep the sender full, drain the receiver. */
void cc_flow_app(struct cc_flow *f)
{
	struct kcp *tx = kcp_sim_kcp(f->sim, 0), *rx = kcp_sim_kcp(f->sim, 1);
	ssize_t n;
	bool queued = false;

	uint64_t due = f->rate ? f->rate * kcp_sim_elapsed(f->sim) / 1000
			       : UINT64_MAX;

	if (f->limit && due > f->limit)
		due = f->limit;

	while (f->written < due && kcp_waitsnd(tx) < kcp_send_limit(tx)) {
		size_t n = due - f->written < CHUNK ? (size_t)(due - f->written)
						    : CHUNK;

		REQUIRE(kcp_send(tx, f->buf, n) == 0, "kcp_send");
		f->written += n;
		queued = true;
	}
	/* as kcp.so tells it what its pair still holds */
	kcp_set_backlog(tx, f->backlog || f->written < due);
	if (queued)
		kcp_sim_kick(f->sim, 0);

	while ((n = kcp_recv(rx, f->buf, CHUNK)) > 0)
		f->got += (uint64_t)n;
}

/* Advances every flow to `until` (elapsed ms), events in time order. */
void cc_run_until(struct cc_flow *f, int nf, uint64_t until)
{
	for (;;) {
		int best = -1;
		uint64_t t = until + 1;

		for (int i = 0; i < nf; i++) {
			uint64_t e = kcp_sim_next_event(f[i].sim);

			if (e < t) {
				t = e;
				best = i;
			}
		}
		if (best < 0)
			break;
		kcp_sim_step(f[best].sim, t);
		cc_flow_app(&f[best]);
	}
	for (int i = 0; i < nf; i++)
		while (kcp_sim_step(f[i].sim, until)) /* clocks to `until` */
			cc_flow_app(&f[i]);
}

/* What the receiver holds: in order and unread, or waiting for a hole.
 * Counted with what it delivered, so a window's edges do not catch a
 * hole's wait: at 5 % loss some group is always waiting for a resend,
 * and a 4 s window at 300 ms read 93 % or 102 % of capacity, and link
 * bytes per byte 1.45 or 1.33, by what was waiting at its two ends. */
static uint64_t cc_held(struct cc_flow *f)
{
	struct kcp_info in;

	kcp_get_info(kcp_sim_kcp(f->sim, 1), &in);
	return (uint64_t)in.nrcv_buf * in.mss + in.rcv_bytes;
}

/* Warm up for `warm` ms, then measure one window of simulated time. */
struct cc_result cc_measure_after(const struct cc_path *p, int cc,
				   uint64_t seed, uint64_t warm)
{
	struct cc_flow f;
	struct cc_result r;
	uint64_t win = 1000 + 10 * (uint64_t)p->rtt_ms;
	uint64_t got0, got, wire0;
	struct kcp_sim_btl_stats st0, *st;

	cc_flow_init(&f, p, cc, seed);
	cc_run_until(&f, 1, warm);
	got0 = f.got + cc_held(&f);
	wire0 = kcp_sim_stats(f.sim)->wire_bytes[0];
	st = kcp_sim_btl_stats(kcp_sim_get_btl(f.sim, 0));
	st0 = *st;
	cc_run_until(&f, 1, warm + win);
	got = f.got + cc_held(&f);
	r.goodput = (double)(got - got0) * 1000.0 / (double)win;
	r.share = r.goodput / cc_capacity(p);
	r.queue = st->qn > st0.qn ? (double)(st->qsum - st0.qsum) /
					    (double)(st->qn - st0.qn) : 0;
	r.queue_bdp = r.queue / cc_bdp_bytes(p);
	r.overhead = got > got0 ?
		(double)(kcp_sim_stats(f.sim)->wire_bytes[0] - wire0) /
			(double)(got - got0) : 0;
	r.drops = st->drops - st0.drops;
	r.lost = kcp_sim_stats(f.sim)->lost[0];
	r.retrans = kcp_get_stats(kcp_sim_kcp(f.sim, 0))->retrans_segs;
	cc_flow_free(&f);
	return r;
}

struct cc_result cc_measure(const struct cc_path *p, int cc, uint64_t seed)
{
	return cc_measure_after(p, cc, seed, 1500 + 14 * (uint64_t)p->rtt_ms);
}

void cc_print_result(const char *what, const struct cc_path *p,
			 const struct cc_result *r)
{
	printf("%-5s %3u Mbit/s %3u ms %.0f%% loss: goodput %6.2f Mbit/s "
	       "(%3.0f%% of capacity) queue %.2f BDP (%.1f ms) link/goodput "
	       "%.2f drops %llu\n", what,
	       (unsigned)(p->rate_bps / 1000000), p->rtt_ms,
	       p->loss_ppm / 10000.0, r->goodput * 8 / 1e6, r->share * 100,
	       r->queue_bdp, r->queue * 8000.0 / (double)p->rate_bps,
	       r->overhead, (unsigned long long)r->drops);
	fflush(stdout);
}

/* The steady queue's bound: a quarter BDP, or with FEC one group's parity
 * (ps full datagrams, which leave at once behind the group's last data
 * datagram) where that is more: at 5 Mbit/s x 20 ms the burst alone is a
 * third of the BDP, whatever the sender's rate. */
double cc_queue_bound(const struct cc_path *p)
{
	double q = 0.25 * cc_bdp_bytes(p);
	double burst = p->nofec ? 0 : PS * (double)(MTU + WIRE_EXTRA);

	return q > burst ? q : burst;
}

/* Both sides send bulk data and read what arrives, each direction
 * through its own bottleneck; each side's FEC groups carry its data and
 * its ACKs for the other side's data. With echo, side 1 sends back what
 * it has received (an echo through the tunnel: application-limited by
 * side 0's deliveries). Measured over [from, to) ms. */
void cc_two_way(const struct cc_path *p, uint64_t seed, uint64_t from,
		uint64_t to, bool echo, struct cc_way w[2])
{
	struct kcp_sim_side a = cc_side_for(p, KCP_CC_BBR, true);
	struct kcp_sim *sim = kcp_sim_new(seed, CONV, 1000, &a, &a);
	uint8_t *buf = calloc(1, CHUNK);
	uint64_t got[2] = {0, 0}, got0[2] = {0, 0}, wire0[2] = {0, 0};
	uint64_t sent[2] = {0, 0};
	struct kcp_sim_btl_stats st0[2];
	const struct kcp_sim_btl_stats *st;

	ck_assert_ptr_nonnull(sim);
	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < 2; i++) {
		kcp_set_wire(kcp_sim_kcp(sim, i), WIRE_EXTRA, DS, PS);
		st0[i] = *kcp_sim_btl_stats(kcp_sim_get_btl(sim, i));
	}
	for (;;) {
		uint64_t next = kcp_sim_next_event(sim);

		if (next > to)
			break;
		kcp_sim_step(sim, next);
		for (int i = 0; i < 2; i++) {
			struct kcp *tx = kcp_sim_kcp(sim, i);
			struct kcp *rx = kcp_sim_kcp(sim, 1 - i);
			ssize_t n;
			bool queued = false;

			while (kcp_waitsnd(tx) < kcp_send_limit(tx)) {
				uint64_t n = CHUNK;

				if (echo && i == 1) /* what is not echoed yet */
					n = got[0] - sent[1] < CHUNK
						    ? got[0] - sent[1] : CHUNK;
				if (!n)
					break;
				REQUIRE(kcp_send(tx, buf, (size_t)n) == 0,
					"kcp_send");
				sent[i] += n;
				queued = true;
			}
			kcp_set_backlog(tx, !(echo && i == 1));
			if (queued)
				kcp_sim_kick(sim, i);
			while ((n = kcp_recv(rx, buf, CHUNK)) > 0)
				got[i] += (uint64_t)n;
		}
		if (kcp_sim_elapsed(sim) >= from)
			continue;
		for (int i = 0; i < 2; i++) {
			got0[i] = got[i];
			wire0[i] = kcp_sim_stats(sim)->wire_bytes[i];
			st0[i] = *kcp_sim_btl_stats(kcp_sim_get_btl(sim, i));
		}
	}
	for (int i = 0; i < 2; i++) {
		double secs = (double)(to - from) / 1000.0;

		st = kcp_sim_btl_stats(kcp_sim_get_btl(sim, i));
		w[i].goodput = (double)(got[i] - got0[i]) / secs;
		w[i].busy = (double)(kcp_sim_stats(sim)->wire_bytes[i] -
				     wire0[i]) * 8 / secs / (double)p->rate_bps;
		w[i].overhead = got[i] > got0[i] ?
			(double)(kcp_sim_stats(sim)->wire_bytes[i] - wire0[i]) /
				(double)(got[i] - got0[i]) : 0;
		w[i].queue_bdp = st->qn > st0[i].qn ?
			(double)(st->qsum - st0[i].qsum) /
			(double)(st->qn - st0[i].qn) / cc_bdp_bytes(p) : 0;
		kcp_get_cc(kcp_sim_kcp(sim, i), &w[i].cc);
	}
	kcp_sim_free(sim);
	free(buf);
}
