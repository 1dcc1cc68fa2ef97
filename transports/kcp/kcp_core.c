/*
 * kcp_core.c - KCP core: life cycle, settings, send queueing, receive
 * reassembly and reading (kcp_core_arq.c has input and flush; the contract
 * is in kcp_core.h).
 *
 * Data structures, chosen so that a flush walks contiguous memory and the
 * steady state never calls malloc:
 *  - snd_queue, snd_buf, rcv_queue: power-of-two rings of struct kcp_seg
 *    that only grow (doubling). snd_buf holds consecutive sequence numbers
 *    snd_una .. snd_nxt-1, so an ACK finds its segment by subtraction;
 *    acknowledged segments drop their payload at once and leave the ring
 *    when una passes them (kcp-go does the same to avoid shifting).
 *  - rcv_buf: slots indexed by sn modulo a power of two larger than the
 *    span of accepted sequence numbers (which never exceeds rcv_wnd), so
 *    out-of-order insertion and duplicate detection are O(1).
 *  - payloads: fixed KCP_MAX_PAYLOAD-byte buffers from a free list owned by
 *    the control block; pool_keep of them are retained when idle.
 * All sequence-number and time comparisons are wrap-safe (signed
 * difference of two u32).
 */
#include "kcp_core_int.h"

#include <errno.h>
#include <stdlib.h>

void kcp_hdr_encode(uint8_t out[KCP_OVERHEAD], const struct kcp_hdr *h)
{
	put32(out, h->conv);
	out[4] = h->cmd;
	out[5] = h->frg;
	put16(out + 6, h->wnd);
	put32(out + 8, h->ts);
	put32(out + 12, h->sn);
	put32(out + 16, h->una);
	put32(out + 20, h->len);
}

int kcp_hdr_decode(const uint8_t *p, size_t len, struct kcp_hdr *h)
{
	if (len < KCP_OVERHEAD)
		return -EBADMSG;
	h->conv = get32(p);
	h->cmd = p[4];
	h->frg = p[5];
	h->wnd = get16(p + 6);
	h->ts = get32(p + 8);
	h->sn = get32(p + 12);
	h->una = get32(p + 16);
	h->len = get32(p + 20);
	return 0;
}

/* ---- payload pool -------------------------------------------------------- */

uint8_t *kcp_core_pool_get(struct kcp *k)
{
	void *p = k->pool;

	if (p) {
		memcpy(&k->pool, p, sizeof(void *));
		k->pool_n--;
		return p;
	}
	return malloc(KCP_MAX_PAYLOAD);
}

void kcp_core_pool_put(struct kcp *k, uint8_t *p)
{
	if (!p)
		return;
	if (k->pool_n >= k->pool_keep) {
		free(p);
		return;
	}
	memcpy(p, &k->pool, sizeof(void *));
	k->pool = p;
	k->pool_n++;
}

void kcp_trim(struct kcp *k)
{
	while (k->pool) {
		void *p = k->pool;

		memcpy(&k->pool, p, sizeof(void *));
		free(p);
	}
	k->pool_n = 0;
}

/* ---- rings --------------------------------------------------------------- */

/* The ring is re-linearised on growth. */
int kcp_core_ring_reserve(struct kcp_ring *r, uint32_t more)
{
	uint32_t need = r->n + more, cap = r->cap ? r->cap : 8;
	struct kcp_seg *v;

	if (need <= r->cap)
		return 0;
	if (need < r->n || need > (1u << 30))
		return -ENOMEM;
	while (cap < need)
		cap <<= 1;
	v = malloc((size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->n; i++)
		v[i] = *ring_at(r, i);
	free(r->v);
	r->v = v;
	r->head = 0;
	r->cap = cap;
	return 0;
}

static void ring_release(struct kcp_ring *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(ring_at(r, i)->data);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- life cycle and settings --------------------------------------------- */

static int cfg_default(int v, int def)
{
	return v ? v : def;
}

struct kcp *kcp_new(uint32_t conv, const struct kcp_cfg *cfg)
{
	static const struct kcp_cfg zero;
	struct kcp *k;

	if (!cfg)
		cfg = &zero;
	k = calloc(1, sizeof(*k));
	if (!k)
		goto nomem;
	k->conv = conv;
	k->snd_wnd = k->rcv_wnd = k->rmt_wnd = WND_DEF;
	k->mtu = KCP_MTU_DEF;
	k->mss = k->mtu - KCP_OVERHEAD;
	k->rx_rto = RTO_DEF;
	k->rx_minrto = RTO_MIN;
	k->interval = INTERVAL_DEF;
	k->ssthresh = THRESH_INIT;
	k->dead_link = cfg->dead_link ? cfg->dead_link : DEADLINK_DEF;
	k->pool_keep = cfg->pool_keep ? cfg->pool_keep : POOL_KEEP_DEF;
	k->stream = cfg->stream;
	k->obuf = calloc(1, OBUF_SIZE);
	if (!k->obuf)
		goto nomem;
	kcp_nodelay(k, cfg->nodelay, cfg_default(cfg->interval, INTERVAL_DEF),
		    cfg->resend, cfg->nc);
	if (cfg->snd_wnd < 0 || cfg->rcv_wnd < 0 || cfg->mtu < 0 ||
	    cfg->reserved < 0 || cfg->nodelay < 0 || cfg->interval < 0 ||
	    cfg->resend < 0 || cfg->nc < 0)
		goto inval;
	if (kcp_wndsize(k, cfg->snd_wnd, cfg->rcv_wnd) ||
	    kcp_set_mtu(k, cfg_default(cfg->mtu, KCP_MTU_DEF)) ||
	    kcp_set_reserved(k, cfg->reserved) ||
	    kcp_set_congestion(k, cfg->congestion))
		goto inval;
	return k;
inval:
	kcp_free(k);
	errno = EINVAL;
	return NULL;
nomem:
	kcp_free(k);
	errno = ENOMEM;
	return NULL;
}

void kcp_free(struct kcp *k)
{
	if (!k)
		return;
	ring_release(&k->snd_queue);
	ring_release(&k->snd_buf);
	ring_release(&k->rcv_queue);
	for (uint32_t i = 0; i < k->rcv_cap; i++)
		if (k->rcv_slots[i].used)
			free(k->rcv_slots[i].data);
	free(k->rcv_slots);
	free(k->acks);
	kcp_trim(k);
	free(k->obuf);
	free(k);
}

void kcp_set_output(struct kcp *k, kcp_output_cb output, void *arg)
{
	k->output = output;
	k->output_arg = arg;
}

int kcp_nodelay(struct kcp *k, int nodelay, int interval, int resend, int nc)
{
	if (nodelay >= 0) {
		k->nodelay = (uint32_t)nodelay;
		k->rx_minrto = nodelay ? RTO_NDL : RTO_MIN;
	}
	if (interval >= 0) {
		if (interval > 5000)
			interval = 5000;
		else if (interval < 10)
			interval = 10;
		k->interval = (uint32_t)interval;
	}
	if (resend >= 0)
		k->resend = (uint32_t)resend;
	if (nc >= 0)
		k->nocwnd = nc != 0;
	return 0;
}

int kcp_wndsize(struct kcp *k, int snd_wnd, int rcv_wnd)
{
	if (snd_wnd > KCP_WND_MAX || rcv_wnd > KCP_WND_MAX)
		return -EINVAL;
	if (snd_wnd > 0)
		k->snd_wnd = (uint32_t)snd_wnd;
	if (rcv_wnd > 0)
		k->rcv_wnd = (uint32_t)rcv_wnd;
	return 0;
}

int kcp_set_mtu(struct kcp *k, int mtu)
{
	if (mtu < KCP_MTU_MIN || mtu > KCP_MTU_MAX ||
	    k->reserved + KCP_OVERHEAD >= (uint32_t)mtu)
		return -EINVAL;
	k->mtu = (uint32_t)mtu;
	k->mss = k->mtu - KCP_OVERHEAD - k->reserved;
	return 0;
}

int kcp_set_reserved(struct kcp *k, int n)
{
	if (n < 0 || (uint32_t)n + KCP_OVERHEAD >= k->mtu)
		return -EINVAL;
	k->reserved = (uint32_t)n;
	k->mss = k->mtu - KCP_OVERHEAD - k->reserved;
	return 0;
}

void kcp_set_stream(struct kcp *k, bool stream)
{
	k->stream = stream;
}

void kcp_set_dead_link(struct kcp *k, uint32_t xmits)
{
	k->dead_link = xmits ? xmits : DEADLINK_DEF;
}

/* ---- send side: queueing ------------------------------------------------ */

int kcp_send(struct kcp *k, const void *buf, size_t len)
{
	struct kcp_ring *q = &k->snd_queue;
	const uint8_t *p = buf;
	struct kcp_seg *tail = NULL;
	size_t count, top = 0, mss = kcp_seg_len(k);

	if (len == 0)
		return -EINVAL;
	/* Stream mode: fill the last queued segment up to mss first. */
	if (k->stream && q->n) {
		tail = ring_at(q, q->n - 1);
		if (tail->data && tail->len < mss) {
			top = mss - tail->len;
			if (top > len)
				top = len;
		}
	}
	count = (len - top + mss - 1) / mss;
	if (!k->stream && count > KCP_MAX_FRAGMENTS)
		return -E2BIG;
	if (count > (1u << 30) || kcp_core_ring_reserve(q, (uint32_t)count))
		return -ENOMEM;
	/* Take every buffer before changing anything, so -ENOMEM is clean:
	 * they are parked in the slots past the end of the ring. */
	for (size_t i = 0; i < count; i++) {
		struct kcp_seg *s = ring_at(q, q->n + (uint32_t)i);

		memset(s, 0, sizeof(*s));
		s->data = kcp_core_pool_get(k);
		if (!s->data) {
			while (i--) {
				s = ring_at(q, q->n + (uint32_t)i);
				kcp_core_pool_put(k, s->data);
			}
			return -ENOMEM;
		}
	}
	if (top) {
		tail = ring_at(q, q->n - 1); /* the ring may have moved */
		memcpy(tail->data + tail->len, p, top);
		tail->len = (uint16_t)(tail->len + top);
		p += top;
		len -= top;
	}
	for (size_t i = 0; i < count; i++) {
		struct kcp_seg *s = ring_at(q, q->n++);
		size_t n = len < mss ? len : mss;

		memcpy(s->data, p, n);
		s->len = (uint16_t)n;
		s->frg = k->stream ? 0 : (uint8_t)(count - i - 1);
		p += n;
		len -= n;
	}
	return 0;
}

uint32_t kcp_waitsnd(const struct kcp *k)
{
	return k->snd_buf.n + k->snd_queue.n;
}

/* ---- receive side: reassembly and reading ------------------------------ */

/* Moves in-order segments from rcv_buf to rcv_queue while the queue is
 * below rcv_wnd (the advertised window is what remains of it). */
static void rcv_advance(struct kcp *k)
{
	while (k->nrcv_buf && k->rcv_queue.n < k->rcv_wnd) {
		struct kcp_seg *slot =
			&k->rcv_slots[k->rcv_nxt & (k->rcv_cap - 1)];

		if (!slot->used || slot->sn != k->rcv_nxt)
			break;
		if (kcp_core_ring_reserve(&k->rcv_queue, 1))
			break; /* stays in rcv_buf; retried on the next call */
		slot->used = 0;
		*ring_push(&k->rcv_queue) = *slot;
		slot->data = NULL; /* now owned by rcv_queue */
		k->rcv_bytes += slot->len;
		k->nrcv_buf--;
		k->rcv_nxt++;
	}
}

/* Grows the slot array to a power of two > span, re-indexing entries. */
static int rcv_slots_grow(struct kcp *k, uint32_t span)
{
	uint32_t cap = k->rcv_cap ? k->rcv_cap : 8;
	struct kcp_seg *v;

	while (cap <= span)
		cap <<= 1;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < k->rcv_cap; i++)
		if (k->rcv_slots[i].used)
			v[k->rcv_slots[i].sn & (cap - 1)] = k->rcv_slots[i];
	free(k->rcv_slots);
	k->rcv_slots = v;
	k->rcv_cap = cap;
	return 0;
}

int kcp_core_rcv_insert(struct kcp *k, const struct kcp_hdr *h,
			const uint8_t *payload)
{
	uint32_t span = h->sn - k->rcv_nxt;
	struct kcp_seg *slot;

	if (span >= k->rcv_cap && rcv_slots_grow(k, span))
		return -ENOMEM;
	slot = &k->rcv_slots[h->sn & (k->rcv_cap - 1)];
	if (slot->used)
		return 0;
	memset(slot, 0, sizeof(*slot));
	if (h->len) {
		slot->data = kcp_core_pool_get(k);
		if (!slot->data)
			return -ENOMEM;
		memcpy(slot->data, payload, h->len);
	}
	slot->sn = h->sn;
	slot->len = (uint16_t)h->len;
	slot->frg = h->frg;
	slot->used = 1;
	k->nrcv_buf++;
	rcv_advance(k);
	return 1;
}

/* Drops the front segment of rcv_queue after it has been read. */
static void rcv_pop(struct kcp *k)
{
	struct kcp_seg *s = ring_at(&k->rcv_queue, 0);

	k->rcv_bytes -= s->len - k->rcv_off;
	k->rcv_off = 0;
	kcp_core_pool_put(k, s->data);
	ring_pop(&k->rcv_queue);
}

/* After segments left rcv_queue: refill it from rcv_buf and, if it had
 * been full (we advertised a zero window), tell the peer with a WINS. */
static void rcv_after_read(struct kcp *k, bool was_full)
{
	rcv_advance(k);
	if (was_full && k->rcv_queue.n < k->rcv_wnd)
		k->probe |= ASK_TELL;
}

ssize_t kcp_peeksize(const struct kcp *k)
{
	const struct kcp_ring *q = &k->rcv_queue;
	const struct kcp_seg *s;
	size_t total = 0;

	if (k->stream)
		return k->rcv_bytes ? (ssize_t)k->rcv_bytes : -EAGAIN;
	if (!q->n)
		return -EAGAIN;
	s = ring_at(q, 0);
	if (s->frg == 0)
		return s->len - k->rcv_off;
	if (q->n < (uint32_t)s->frg + 1)
		return -EAGAIN;
	/* A hostile peer may send frg values that never reach 0: then the
	 * whole queue is one message, exactly as kcp_recv() will copy it. */
	for (uint32_t i = 0; i < q->n; i++) {
		s = ring_at(q, i);
		total += s->len;
		if (s->frg == 0)
			break;
	}
	return (ssize_t)(total - k->rcv_off);
}

ssize_t kcp_recv(struct kcp *k, void *buf, size_t len)
{
	bool was_full = k->rcv_queue.n >= k->rcv_wnd;
	uint8_t *out = buf;
	size_t done = 0;

	if (k->stream) {
		if (!k->rcv_bytes) {
			/* Empty PUSH segments carry nothing; discard them. */
			while (k->rcv_queue.n)
				rcv_pop(k);
			rcv_after_read(k, was_full);
			return -EAGAIN;
		}
		while (done < len && k->rcv_queue.n) {
			struct kcp_seg *s = ring_at(&k->rcv_queue, 0);
			size_t n = s->len - k->rcv_off;

			if (n > len - done)
				n = len - done;
			if (n)
				memcpy(out + done, s->data + k->rcv_off, n);
			done += n;
			if (k->rcv_off + n == s->len) {
				rcv_pop(k);
			} else {
				k->rcv_off += (uint32_t)n;
				k->rcv_bytes -= n;
			}
		}
	} else {
		ssize_t size = kcp_peeksize(k);

		if (size < 0)
			return size;
		if ((size_t)size > len)
			return -EMSGSIZE;
		while (k->rcv_queue.n) {
			struct kcp_seg *s = ring_at(&k->rcv_queue, 0);
			uint8_t frg = s->frg;
			size_t n = s->len - k->rcv_off;

			if (n)
				memcpy(out + done, s->data + k->rcv_off, n);
			done += n;
			rcv_pop(k);
			if (frg == 0)
				break;
		}
	}
	rcv_after_read(k, was_full);
	return (ssize_t)done;
}

ssize_t kcp_read_front(struct kcp *k, const uint8_t **data)
{
	bool was_full = k->rcv_queue.n >= k->rcv_wnd;
	bool popped = false;
	ssize_t ret = -EAGAIN;

	if (!k->stream)
		return -EINVAL;
	while (k->rcv_queue.n) {
		struct kcp_seg *s = ring_at(&k->rcv_queue, 0);

		if (s->len > k->rcv_off) {
			*data = s->data + k->rcv_off;
			ret = s->len - k->rcv_off;
			break;
		}
		rcv_pop(k);
		popped = true;
	}
	if (popped)
		rcv_after_read(k, was_full);
	return ret;
}

void kcp_read_consume(struct kcp *k, size_t n)
{
	bool was_full = k->rcv_queue.n >= k->rcv_wnd;
	struct kcp_seg *s;

	if (!k->stream || !k->rcv_queue.n)
		return;
	s = ring_at(&k->rcv_queue, 0);
	if (n > (size_t)(s->len - k->rcv_off))
		n = s->len - k->rcv_off;
	if (k->rcv_off + n < s->len) {
		k->rcv_off += (uint32_t)n;
		k->rcv_bytes -= n;
		return;
	}
	rcv_pop(k);
	rcv_after_read(k, was_full);
}

/* ---- getters ------------------------------------------------------------- */

bool kcp_dead(const struct kcp *k)
{
	return k->dead;
}

uint32_t kcp_conv(const struct kcp *k)
{
	return k->conv;
}

uint32_t kcp_mss(const struct kcp *k)
{
	return k->mss;
}

bool kcp_both_ways_now(const struct kcp *k, uint32_t now)
{
	return kcp_both_ways(k, now);
}

uint32_t kcp_acks_pending(const struct kcp *k)
{
	return k->nack;
}

/* While data flows both ways, segments leave room for ACK_ROOM ACKs to
 * ride in their datagrams. */
uint32_t kcp_seg_len(const struct kcp *k)
{
	if (kcp_both_ways(k, k->cc_now) && k->mss > 4 * ACK_ROOM * KCP_OVERHEAD)
		return k->mss - ACK_ROOM * KCP_OVERHEAD;
	return k->mss;
}

uint32_t kcp_mtu(const struct kcp *k)
{
	return k->mtu;
}

uint32_t kcp_interval(const struct kcp *k)
{
	return k->interval;
}

uint32_t kcp_snd_wnd(const struct kcp *k)
{
	return k->snd_wnd;
}

uint32_t kcp_rmt_wnd(const struct kcp *k)
{
	return k->rmt_wnd;
}

int32_t kcp_srtt(const struct kcp *k)
{
	return k->srtt;
}

int32_t kcp_rttvar(const struct kcp *k)
{
	return k->rttvar;
}

uint32_t kcp_rto(const struct kcp *k)
{
	return k->rx_rto;
}

const struct kcp_stats *kcp_get_stats(const struct kcp *k)
{
	return &k->st;
}

void kcp_get_info(const struct kcp *k, struct kcp_info *in)
{
	memset(in, 0, sizeof(*in));
	in->conv = k->conv;
	in->mtu = k->mtu;
	in->mss = k->mss;
	in->reserved = k->reserved;
	in->interval = k->interval;
	in->srtt = k->srtt;
	in->rttvar = k->rttvar;
	in->rto = k->rx_rto;
	in->cwnd = k->cwnd;
	in->ssthresh = k->ssthresh;
	in->snd_wnd = k->snd_wnd;
	in->rcv_wnd = k->rcv_wnd;
	in->rmt_wnd = k->rmt_wnd;
	in->snd_una = k->snd_una;
	in->snd_nxt = k->snd_nxt;
	in->rcv_nxt = k->rcv_nxt;
	in->nsnd_que = k->snd_queue.n;
	in->nsnd_buf = k->snd_buf.n;
	in->nrcv_buf = k->nrcv_buf;
	in->nrcv_que = k->rcv_queue.n;
	in->rcv_bytes = k->rcv_bytes;
	in->probe_wait = k->probe_wait;
	in->pool_free = k->pool_n;
	in->nacks = k->nack;
	/* Payload buffers: one per queued segment (acked ones in snd_buf
	 * already gave theirs back, so this is an upper bound) plus the
	 * pool. */
	in->mem = sizeof(*k) + OBUF_SIZE +
		  ((size_t)k->snd_queue.cap + k->snd_buf.cap +
		   k->rcv_queue.cap + k->rcv_cap) * sizeof(struct kcp_seg) +
		  (size_t)k->ack_cap * sizeof(struct kcp_ack) +
		  ((size_t)k->snd_queue.n + k->snd_buf.n + k->nrcv_buf +
		   k->rcv_queue.n + k->pool_n) * KCP_MAX_PAYLOAD;
	in->dead = k->dead;
}
