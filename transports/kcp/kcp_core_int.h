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
};

struct kcp_ring {
	struct kcp_seg *v;
	uint32_t head, n, cap; /* cap: 0 or a power of two */
};

struct kcp_ack {
	uint32_t sn, ts;
};

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

	struct kcp_ring snd_queue, snd_buf, rcv_queue;
	struct kcp_seg *rcv_slots; /* indexed by sn & (rcv_cap - 1) */
	uint32_t rcv_cap, nrcv_buf;
	uint32_t rcv_off;          /* bytes already read from rcv_queue[0] */
	size_t rcv_bytes;          /* unread bytes in rcv_queue */

	struct kcp_ack *acks;
	uint32_t nack, ack_cap;

	void *pool;                /* free list linked through the buffers */
	uint32_t pool_n, pool_keep;

	uint8_t *obuf;
	size_t opos;               /* write position in obuf */
	kcp_output_cb output;
	void *output_arg;

	struct kcp_stats st;
};

/* ---- small helpers ---------------------------------------------------- */

static inline int32_t tdiff(uint32_t later, uint32_t earlier)
{
	return (int32_t)(later - earlier);
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

#endif
