/*
 * kcp_sim.c - deterministic link simulator for KCP tests (see kcp_sim.h).
 *
 * In-flight datagrams sit in a binary min-heap keyed by (arrival time,
 * send order), so equal arrival times keep their send order and the run is
 * reproducible. The clock is 64-bit internally; the cores see its low 32
 * bits offset by start_ms.
 */
#include "kcp_sim.h"
#include "kcp_sim_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX_FILL 0xA5
#define KCP_SIM_FEC_MAX 16 /* lost data datagrams kept per FEC group */

struct sim_pkt {
	uint64_t at;  /* arrival, elapsed ms */
	uint64_t seq; /* tie breaker: send order */
	int to;
	bool parity;  /* emulated FEC parity: occupies the link only */
	bool rebuilt; /* emulated FEC recovery: regular = false */
	size_t len;
	uint8_t *data;
};

struct sim_end {
	struct kcp *kcp;
	struct kcp_sim *sim;
	int side;
	bool ack_nodelay;
	uint32_t reserved, mtu;
	struct kcp_sim_link link;
	uint64_t timer; /* next flush, elapsed ms */
	struct kcp_sim_btl *btl, *own_btl;
	uint32_t fec_n;      /* data datagrams in the open FEC group */
	size_t fec_max;      /* longest of them */
	uint32_t fec_nlost, fec_nkeep;
	uint64_t fec_last;   /* latest arrival in the group */
	uint64_t jit_next, jit_cur; /* jitter_step_ms: next draw, value */
	uint64_t last_at;    /* jitter_step_ms: latest arrival so far */
	uint8_t fec_keep[KCP_SIM_FEC_MAX][KCP_MTU_MAX]; /* lost data copies */
	size_t fec_keep_len[KCP_SIM_FEC_MAX];
};

struct kcp_sim {
	uint64_t rng;
	uint64_t clock;
	uint32_t start;
	uint64_t seq;
	struct sim_end end[2];
	struct sim_pkt *heap;
	size_t nheap, capheap;
	kcp_sim_tap_cb tap;
	void *tap_arg;
	struct kcp_sim_stats st;
	uint8_t last[2][KCP_MTU_MAX]; /* last datagram output per side */
	size_t last_len[2];
};

uint64_t kcp_sim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct kcp_sim *sim)
{
	sim->rng += 0x9e3779b97f4a7c15ull;
	return kcp_sim_mix(sim->rng);
}

/* Uniform in [0, n] */
static uint32_t rnd_upto(struct kcp_sim *sim, uint32_t n)
{
	return (uint32_t)(rnd(sim) % ((uint64_t)n + 1));
}

static bool chance(struct kcp_sim *sim, uint32_t ppm)
{
	return ppm && rnd(sim) % 1000000 < ppm;
}

static bool pkt_before(const struct sim_pkt *a, const struct sim_pkt *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(struct kcp_sim *sim, struct sim_pkt p)
{
	size_t i;

	if (sim->nheap == sim->capheap) {
		size_t cap = sim->capheap ? 2 * sim->capheap : 256;
		struct sim_pkt *v = realloc(sim->heap, cap * sizeof(*v));

		if (!v) {
			free(p.data);
			sim->st.lost[p.to ^ 1]++;
			return;
		}
		sim->heap = v;
		sim->capheap = cap;
	}
	i = sim->nheap++;
	while (i > 0 && pkt_before(&p, &sim->heap[(i - 1) / 2])) {
		sim->heap[i] = sim->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	sim->heap[i] = p;
}

static struct sim_pkt heap_pop(struct kcp_sim *sim)
{
	struct sim_pkt top = sim->heap[0], last = sim->heap[--sim->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= sim->nheap)
			break;
		if (c + 1 < sim->nheap &&
		    pkt_before(&sim->heap[c + 1], &sim->heap[c]))
			c++;
		if (!pkt_before(&sim->heap[c], &last))
			break;
		sim->heap[i] = sim->heap[c];
		i = c;
	}
	if (sim->nheap)
		sim->heap[i] = last;
	return top;
}

/* Returns the first copy's arrival time, or 0 when the link lost it. */
static uint64_t link_send(struct kcp_sim *sim, int from, const uint8_t *data,
			  size_t len, size_t wire_len, bool parity)
{
	struct sim_end *e = &sim->end[from];
	const struct kcp_sim_link *l = &e->link;
	int copies = 1 + chance(sim, l->dup_ppm);
	uint64_t at = sim->clock;

	sim->st.wire_bytes[from] += wire_len + l->wire_extra;
	if (e->btl) {
		uint64_t dep;

		if (!kcp_sim_btl_admit(e->btl, sim->clock * 1000,
				       wire_len + l->wire_extra, &dep)) {
			sim->st.lost[from]++;
			return 0;
		}
		at = (dep + 999) / 1000;
	}
	if (chance(sim, l->loss_ppm)) {
		sim->st.lost[from]++;
		return 0;
	}
	uint64_t first = 0;

	if (l->jitter_step_ms) {
		if (sim->clock >= e->jit_next) {
			e->jit_cur = rnd_upto(sim, l->jitter_ms);
			e->jit_next = sim->clock + l->jitter_step_ms;
		}
		at += e->jit_cur;
		if (at + l->delay_ms < e->last_at)
			at = e->last_at - l->delay_ms;
		e->last_at = at + l->delay_ms;
	}
	for (int c = 0; c < copies; c++) {
		struct sim_pkt p = {
			.at = at + l->delay_ms + (l->jitter_step_ms ? 0 :
				rnd_upto(sim, l->jitter_ms)),
			.seq = sim->seq++,
			.to = from ^ 1,
			.parity = parity,
			.len = len,
		};

		if (chance(sim, l->reorder_ppm) && l->reorder_ms)
			p.at += 1 + rnd_upto(sim, l->reorder_ms - 1);
		p.data = malloc(len ? len : 1);
		if (!p.data) {
			sim->st.lost[from]++;
			continue;
		}
		memcpy(p.data, data, len);
		if (!first)
			first = p.at;
		heap_push(sim, p);
	}
	return first;
}

/* FEC emulation: parity after every fec_ds data datagrams; when a group
 * lost no more than fec_ps of its datagrams, the lost data ones arrive
 * rebuilt (kcp_input regular = false) with the group's last arrival. */
static void fec_account(struct kcp_sim *sim, struct sim_end *e,
			const uint8_t *kcpb, size_t klen, size_t len,
			uint64_t at)
{
	const struct kcp_sim_link *l = &e->link;

	if (!l->fec_ds || !l->fec_ps)
		return;
	if (len > e->fec_max)
		e->fec_max = len;
	if (at > e->fec_last)
		e->fec_last = at;
	if (!at) {
		e->fec_nlost++;
		if (e->fec_nkeep < KCP_SIM_FEC_MAX && klen <= KCP_MTU_MAX) {
			memcpy(e->fec_keep[e->fec_nkeep], kcpb, klen);
			e->fec_keep_len[e->fec_nkeep++] = klen;
		}
	}
	if (++e->fec_n < l->fec_ds)
		return;
	for (uint32_t i = 0; i < l->fec_ps; i++) {
		if (l->fec_charge)
			kcp_cc_parity(e->kcp, e->fec_max, kcp_sim_now(sim));
		at = link_send(sim, e->side, kcpb, 0, e->fec_max, true);
		if (!at)
			e->fec_nlost++;
		else if (at > e->fec_last)
			e->fec_last = at;
	}
	if (e->fec_nlost <= l->fec_ps && e->fec_last) {
		for (uint32_t i = 0; i < e->fec_nkeep; i++) {
			struct sim_pkt p = {
				.at = e->fec_last, .seq = sim->seq++,
				.to = e->side ^ 1, .rebuilt = true,
				.len = e->fec_keep_len[i],
			};

			p.data = malloc(p.len);
			if (!p.data)
				continue;
			memcpy(p.data, e->fec_keep[i], p.len);
			heap_push(sim, p);
			sim->st.fec_rebuilt[e->side]++;
		}
	}
	e->fec_n = e->fec_nlost = e->fec_nkeep = 0;
	e->fec_max = 0;
	e->fec_last = 0;
}

/* Every PUSH must lie inside the sender's window when it leaves. */
static void check_window(struct kcp_sim *sim, struct sim_end *e,
			 const uint8_t *p, size_t len)
{
	struct kcp_hdr h[KCP_MTU_MAX / KCP_OVERHEAD];
	struct kcp_info in;
	int n = kcp_sim_segs(p, len, h, KCP_MTU_MAX / KCP_OVERHEAD);

	if (n < 0 || n > KCP_MTU_MAX / KCP_OVERHEAD) {
		sim->st.malformed++;
		return;
	}
	kcp_get_info(e->kcp, &in);
	for (int i = 0; i < n; i++) {
		int32_t d = (int32_t)(h[i].sn - in.snd_una);

		if (h[i].cmd != KCP_CMD_PUSH)
			continue;
		if (d < 0 || (uint32_t)d >= in.snd_wnd)
			sim->st.window_violations++;
		else if ((uint32_t)d + 1 > sim->st.max_inflight[e->side])
			sim->st.max_inflight[e->side] = (uint32_t)d + 1;
	}
}

#define BARE_ACK_BULK 4 /* kcp.so's latencyDup default */

/* Whether a datagram holds ACK segments only. */
static bool acks_only(const uint8_t *p, size_t len)
{
	struct kcp_hdr h[KCP_MTU_MAX / KCP_OVERHEAD];
	int n = kcp_sim_segs(p, len, h, KCP_MTU_MAX / KCP_OVERHEAD);

	if (n <= 0 || n > KCP_MTU_MAX / KCP_OVERHEAD)
		return false;
	for (int i = 0; i < n; i++)
		if (h[i].cmd != KCP_CMD_ACK)
			return false;
	return true;
}

/* The output callback: emulates a FEC/crypt layer by writing its own
 * header into the reserved prefix, and checks the core left it alone. */
static void sim_output(uint8_t *buf, size_t len, void *arg)
{
	struct sim_end *e = arg;
	struct kcp_sim *sim = e->sim;

	/* The scratch buffer's prefix holds our fill from the previous
	 * datagram (zeros before the first one). */
	if (sim->st.sent[e->side]++)
		for (uint32_t i = 0; i < e->reserved && i < len; i++)
			if (buf[i] != PREFIX_FILL)
				sim->st.prefix_clobbered++;
	if (len > e->mtu)
		sim->st.oversize++;
	if (len > e->reserved)
		check_window(sim, e, buf + e->reserved, len - e->reserved);
	memset(buf, PREFIX_FILL, e->reserved < len ? e->reserved : len);
	if (len <= e->reserved)
		return;
	if (len - e->reserved <= KCP_MTU_MAX) {
		sim->last_len[e->side] = len - e->reserved;
		memcpy(sim->last[e->side], buf + e->reserved,
		       sim->last_len[e->side]);
	}
	if (sim->tap && sim->tap(e->side, buf + e->reserved, len - e->reserved,
				 kcp_sim_now(sim), sim->tap_arg)) {
		sim->st.lost[e->side]++;
		return;
	}
	if (e->link.fec_ds && e->link.bare_ack_hdr &&
	    kcp_waitsnd(e->kcp) > BARE_ACK_BULK &&
	    acks_only(buf + e->reserved, len - e->reserved)) {
		link_send(sim, e->side, buf + e->reserved, len - e->reserved,
			  len - e->link.bare_ack_hdr, false);
		return;
	}
	fec_account(sim, e, buf + e->reserved, len - e->reserved, len,
		    link_send(sim, e->side, buf + e->reserved,
			      len - e->reserved, len, false));
}

static void flush_side(struct kcp_sim *sim, int side)
{
	struct sim_end *e = &sim->end[side];
	uint32_t wait = kcp_flush(e->kcp, kcp_sim_now(sim), false);

	e->timer = sim->clock + wait;
}

struct kcp_sim *kcp_sim_new(uint64_t seed, uint32_t conv, uint32_t start_ms,
			    const struct kcp_sim_side *a,
			    const struct kcp_sim_side *b)
{
	const struct kcp_sim_side *sides[2] = {a, b};
	struct kcp_sim *sim = calloc(1, sizeof(*sim));

	if (!sim)
		return NULL;
	sim->rng = seed;
	sim->start = start_ms;
	for (int i = 0; i < 2; i++) {
		struct sim_end *e = &sim->end[i];

		e->kcp = kcp_new(conv, &sides[i]->kcp);
		if (!e->kcp)
			goto fail;
		e->sim = sim;
		e->side = i;
		e->ack_nodelay = sides[i]->ack_nodelay;
		e->link = sides[i]->link;
		e->reserved = (uint32_t)sides[i]->kcp.reserved;
		e->mtu = kcp_mtu(e->kcp);
		kcp_set_output(e->kcp, sim_output, e);
		if (e->link.rate_bps) {
			e->own_btl = kcp_sim_btl_new(e->link.rate_bps,
						     e->link.queue_pkts);
			if (!e->own_btl)
				goto fail;
			e->btl = e->own_btl;
		}
	}
	/* A session runs its first update when it is created. */
	for (int i = 0; i < 2; i++)
		flush_side(sim, i);
	return sim;
fail:
	kcp_sim_free(sim);
	return NULL;
}

void kcp_sim_free(struct kcp_sim *sim)
{
	if (!sim)
		return;
	for (int i = 0; i < 2; i++) {
		kcp_free(sim->end[i].kcp);
		kcp_sim_btl_free(sim->end[i].own_btl);
	}
	for (size_t i = 0; i < sim->nheap; i++)
		free(sim->heap[i].data);
	free(sim->heap);
	free(sim);
}

struct kcp *kcp_sim_kcp(struct kcp_sim *sim, int side)
{
	return sim->end[side & 1].kcp;
}

uint32_t kcp_sim_now(const struct kcp_sim *sim)
{
	return sim->start + (uint32_t)sim->clock;
}

uint64_t kcp_sim_elapsed(const struct kcp_sim *sim)
{
	return sim->clock;
}

const struct kcp_sim_stats *kcp_sim_stats(const struct kcp_sim *sim)
{
	return &sim->st;
}

void kcp_sim_set_tap(struct kcp_sim *sim, kcp_sim_tap_cb tap, void *arg)
{
	sim->tap = tap;
	sim->tap_arg = arg;
}

void kcp_sim_set_link(struct kcp_sim *sim, int from,
		      const struct kcp_sim_link *link)
{
	sim->end[from & 1].link = *link;
}

int kcp_sim_write(struct kcp_sim *sim, int side, const void *buf, size_t len)
{
	struct sim_end *e = &sim->end[side & 1];
	int rc = kcp_send(e->kcp, buf, len);
	uint32_t wait;

	if (rc)
		return rc;
	/* Keep the earlier of the armed timer and the new wake-up, so a
	 * fresh segment's RTO is never missed. */
	wait = kcp_flush(e->kcp, kcp_sim_now(sim), false);
	if (sim->clock + wait < e->timer)
		e->timer = sim->clock + wait;
	return 0;
}

void kcp_sim_kick(struct kcp_sim *sim, int side)
{
	flush_side(sim, side & 1);
}

int kcp_sim_inject(struct kcp_sim *sim, int side, const uint8_t *data,
		   size_t len)
{
	struct sim_end *e = &sim->end[side & 1];

	return kcp_input(e->kcp, data, len, true, e->ack_nodelay,
			 kcp_sim_now(sim));
}

bool kcp_sim_step(struct kcp_sim *sim, uint64_t limit)
{
	uint64_t t = sim->end[0].timer < sim->end[1].timer ?
			     sim->end[0].timer : sim->end[1].timer;

	if (sim->nheap && sim->heap[0].at < t)
		t = sim->heap[0].at;
	if (t < sim->clock)
		t = sim->clock;
	if (t > limit) {
		if (limit > sim->clock)
			sim->clock = limit;
		return false;
	}
	sim->clock = t;
	while (sim->nheap && sim->heap[0].at <= sim->clock) {
		struct sim_pkt p = heap_pop(sim);
		struct sim_end *e = &sim->end[p.to];

		if (p.parity) {
			free(p.data);
			continue;
		}
		sim->st.delivered[p.to]++;
		if (kcp_input(e->kcp, p.data, p.len, !p.rebuilt,
			      e->ack_nodelay, kcp_sim_now(sim)))
			sim->st.input_errs++;
		free(p.data);
	}
	for (int i = 0; i < 2; i++)
		if (sim->end[i].timer <= sim->clock)
			flush_side(sim, i);
	return true;
}

void kcp_sim_set_btl(struct kcp_sim *sim, int from, struct kcp_sim_btl *b)
{
	struct sim_end *e = &sim->end[from & 1];

	e->btl = b ? b : e->own_btl;
}

struct kcp_sim_btl *kcp_sim_get_btl(struct kcp_sim *sim, int from)
{
	return sim->end[from & 1].btl;
}

uint64_t kcp_sim_next_event(const struct kcp_sim *sim)
{
	uint64_t t = sim->end[0].timer < sim->end[1].timer ?
			     sim->end[0].timer : sim->end[1].timer;

	if (sim->nheap && sim->heap[0].at < t)
		t = sim->heap[0].at;
	return t < sim->clock ? sim->clock : t;
}

size_t kcp_sim_inflight(const struct kcp_sim *sim)
{
	return sim->nheap;
}

int kcp_sim_segs(const uint8_t *p, size_t len, struct kcp_hdr *out, int max)
{
	int n = 0;

	while (len >= KCP_OVERHEAD) {
		struct kcp_hdr h;

		kcp_hdr_decode(p, len, &h);
		if (h.len > len - KCP_OVERHEAD)
			return -1;
		if (n < max)
			out[n] = h;
		n++;
		p += KCP_OVERHEAD + h.len;
		len -= KCP_OVERHEAD + h.len;
	}
	return len ? -1 : n;
}

static size_t put_hdr(uint8_t *p, uint32_t conv, uint8_t cmd, uint64_t b,
		      uint32_t len)
{
	struct kcp_hdr h = {conv, cmd, 0, 32, (uint32_t)b, (uint32_t)(b >> 32),
			    0, len};

	kcp_hdr_encode(p, &h);
	return KCP_OVERHEAD;
}

int kcp_sim_hostile(struct kcp_sim *sim, uint64_t r)
{
	uint8_t dg[1600];
	uint64_t a = kcp_sim_mix(r), b = kcp_sim_mix(r + 1);
	int side = (int)(a & 1), rc;
	uint32_t conv = kcp_conv(sim->end[side].kcp);
	size_t n = (size_t)(b % sizeof(dg)), off = 0;

	switch ((a >> 1) % 4) {
	case 0: /* noise, never the right conv */
		for (size_t i = 0; i < n; i += 8) {
			uint64_t w = kcp_sim_mix(r + 2 + i);

			memcpy(dg + i, &w, n - i < 8 ? n - i : 8);
		}
		if (n >= 4 && dg[0] == (uint8_t)conv)
			dg[0] ^= 0x80;
		return kcp_sim_inject(sim, side, dg, n) < 0 ? 0 : -1;
	case 1: /* the right conv, an unknown cmd */
		n = put_hdr(dg, conv, (uint8_t)(85 + (b >> 8) % 171), b, 0);
		return kcp_sim_inject(sim, side, dg, n) == -EPROTO ? 0 : -1;
	case 2: /* a payload length beyond the datagram */
		n = (size_t)(1 + (b >> 16) % 200);
		put_hdr(dg, conv, (uint8_t)(KCP_CMD_PUSH + b % 4), b,
			(uint32_t)n);
		memset(dg + KCP_OVERHEAD, 0, n);
		n = KCP_OVERHEAD + n - 1 - (b >> 40) % n;
		return kcp_sim_inject(sim, side, dg, n) == -EBADMSG ? 0 : -1;
	default: /* a truncated genuine datagram from the other side */
		n = sim->last_len[side ^ 1];
		n = n ? (size_t)(b % n) : 0;
		memcpy(dg, sim->last[side ^ 1], n);
		while (off + KCP_OVERHEAD <= n)
			off += KCP_OVERHEAD + (size_t)(dg[off + 20] |
						       dg[off + 21] << 8);
		rc = kcp_sim_inject(sim, side, dg, n);
		return (off && off <= n) == (rc == 0) ? 0 : -1;
	}
}

void kcp_sim_cap_output(uint8_t *buf, size_t len, void *arg)
{
	struct kcp_sim_cap *c = arg;

	if (c->n >= 64 || len > sizeof(c->buf[0])) {
		c->overflow++;
		return;
	}
	memcpy(c->buf[c->n], buf, len);
	c->len[c->n++] = len;
}

const struct kcp_sim_profile kcp_sim_profiles[KCP_SIM_NPROFILES] = {
	{"normal", 0, 40, 2, 1, 128, 256, 1350, 28, false, 1000},
	{"fast", 0, 30, 2, 1, 128, 256, 1350, 28, false, 1000},
	{"fast2", 1, 20, 2, 1, 128, 256, 1350, 28, false, 0xfffff000u},
	{"fast3", 1, 10, 2, 1, 128, 256, 1350, 28, true, 1000},
	{"default", 0, 100, 0, 0, 32, 32, 1400, 0, false, 1000},
};

struct kcp_sim_side kcp_sim_side_for(const struct kcp_sim_profile *p,
				     bool stream, uint32_t loss_pct)
{
	struct kcp_sim_side s = {
		.kcp = {.nodelay = p->nodelay, .interval = p->interval,
			.resend = p->resend, .nc = p->nc, .snd_wnd = p->snd_wnd,
			.rcv_wnd = p->rcv_wnd, .mtu = p->mtu,
			.reserved = p->reserved, .stream = stream},
		.ack_nodelay = p->ack_nodelay,
		.link = {.delay_ms = 20, .jitter_ms = 10,
			 .loss_ppm = loss_pct * 10000, .dup_ppm = 10000,
			 .reorder_ppm = 50000, .reorder_ms = 30},
	};
	return s;
}

/* ---- bulk transfer driver ------------------------------------------------ */

struct xfer_run {
	struct kcp_sim *sim;
	struct kcp_sim_xfer *x;
	uint32_t mss;
	uint64_t rng;
	uint8_t *tx, *rx, *want; /* 4 mss each */
};

static void stream_fill(uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint64_t w = kcp_sim_mix((off + i) >> 3);

		for (unsigned b = (unsigned)((off + i) & 7); b < 8 && i < n;
		     b++)
			p[i++] = (uint8_t)(w >> (b * 8));
	}
}

static size_t msg_size(const struct xfer_run *r, uint64_t i)
{
	return 1 + kcp_sim_mix(r->x->seed ^ (i << 20)) % (3 * r->mss);
}

static void msg_fill(uint8_t *p, uint64_t i, size_t n)
{
	stream_fill(p, i << 24, n);
}

static int fail(struct xfer_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->x->err, sizeof(r->x->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int xfer_write(struct xfer_run *r)
{
	struct kcp *k = kcp_sim_kcp(r->sim, 0);
	struct kcp_sim_xfer *x = r->x;

	while (x->sent < x->total && kcp_waitsnd(k) < kcp_snd_wnd(k) &&
	       kcp_waitsnd(k) < kcp_rmt_wnd(k)) {
		size_t n;
		int rc;

		if (x->stream) {
			n = 1 + kcp_sim_mix(r->rng++) % (4 * r->mss);
			if (n > x->total - x->sent)
				n = (size_t)(x->total - x->sent);
			stream_fill(r->tx, x->sent, n);
			rc = kcp_sim_write(r->sim, 0, r->tx, n);
			x->sent += n;
		} else {
			n = msg_size(r, x->sent);
			msg_fill(r->tx, x->sent, n);
			rc = kcp_sim_write(r->sim, 0, r->tx, n);
			x->sent++;
		}
		if (rc)
			return fail(r, "kcp_send: %d", rc);
	}
	return 0;
}

static int xfer_read_stream(struct xfer_run *r)
{
	struct kcp *k = kcp_sim_kcp(r->sim, 1);
	struct kcp_sim_xfer *x = r->x;

	while (!x->hold_reads) {
		const uint8_t *p = r->rx;
		ssize_t n;

		if (kcp_sim_mix(r->rng++) & 1)
			n = kcp_recv(k, r->rx,
				     1 + kcp_sim_mix(r->rng++) % (3 * r->mss));
		else
			n = kcp_read_front(k, &p);
		if (n == -EAGAIN)
			return 0;
		if (n <= 0 || (size_t)n > 3 * r->mss ||
		    x->got + (uint64_t)n > x->total)
			return fail(r, "read returned %zd at %llu", n,
				    (unsigned long long)x->got);
		stream_fill(r->want, x->got, (size_t)n);
		if (memcmp(p, r->want, (size_t)n))
			return fail(r, "stream corrupt near offset %llu",
				    (unsigned long long)x->got);
		if (p != r->rx)
			kcp_read_consume(k, (size_t)n);
		x->got += (uint64_t)n;
	}
	return 0;
}

static int xfer_read_msgs(struct xfer_run *r)
{
	struct kcp *k = kcp_sim_kcp(r->sim, 1);
	struct kcp_sim_xfer *x = r->x;
	ssize_t n;

	if (x->hold_reads)
		return 0;
	while ((n = kcp_peeksize(k)) >= 0) {
		size_t size = msg_size(r, x->got);

		if (x->got >= x->total)
			return fail(r, "extra message");
		if ((size_t)n != size)
			return fail(r, "message %llu: size %zd != %zu",
				    (unsigned long long)x->got, n, size);
		if (kcp_recv(k, r->rx, 4 * r->mss) != n)
			return fail(r, "kcp_recv disagrees with peeksize");
		msg_fill(r->want, x->got, size);
		if (memcmp(r->rx, r->want, size))
			return fail(r, "message %llu corrupt",
				    (unsigned long long)x->got);
		x->got++;
	}
	return n == -EAGAIN ? 0 : fail(r, "peeksize %zd", n);
}

static int xfer_loop(struct xfer_run *r)
{
	struct kcp_sim_xfer *x = r->x;
	uint64_t limit = kcp_sim_elapsed(r->sim) + x->limit_ms;

	for (;;) {
		if (x->on_step && !x->on_step(r->sim, x->arg))
			return fail(r, "aborted by on_step");
		if (xfer_write(r))
			return -1;
		if (x->stream ? xfer_read_stream(r) : xfer_read_msgs(r))
			return -1;
		if (x->got == x->total && x->sent == x->total &&
		    kcp_waitsnd(kcp_sim_kcp(r->sim, 0)) == 0)
			break;
		if (!kcp_sim_step(r->sim, limit))
			return fail(r, "stuck at %llu/%llu",
				    (unsigned long long)x->got,
				    (unsigned long long)x->total);
	}
	/* exactly once: nothing more may show up */
	limit = kcp_sim_elapsed(r->sim) + 5000;
	while (kcp_sim_step(r->sim, limit))
		if (x->stream ? xfer_read_stream(r) : xfer_read_msgs(r))
			return -1;
	if (kcp_peeksize(kcp_sim_kcp(r->sim, 1)) != -EAGAIN)
		return fail(r, "data after the end");
	return 0;
}

int kcp_sim_transfer(struct kcp_sim *sim, struct kcp_sim_xfer *x)
{
	struct xfer_run r = {.sim = sim, .x = x, .rng = x->seed};
	int rc;

	x->sent = x->got = 0;
	x->err[0] = 0;
	r.mss = kcp_mss(kcp_sim_kcp(sim, 0));
	r.tx = malloc(4 * (size_t)r.mss);
	r.rx = malloc(4 * (size_t)r.mss);
	r.want = malloc(4 * (size_t)r.mss);
	rc = r.tx && r.rx && r.want ? xfer_loop(&r) : fail(&r, "no memory");
	free(r.tx);
	free(r.rx);
	free(r.want);
	return rc;
}
