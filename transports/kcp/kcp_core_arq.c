/*
 * kcp_core_arq.c - the protocol half of the KCP core: kcp_input() (una,
 * ACK, PUSH, window probes, RTT, congestion window) and kcp_flush() (ACKs,
 * probes, window sliding, retransmission, datagram packing).
 *
 * Behaviour follows kcp-go 5.6.1 (docs/kcp-wire.md section 3) where it
 * departs from the original C implementation; the comments below name the
 * places where that matters on the wire or for timing.
 */
#include "kcp_core_int.h"

#include <errno.h>
#include <stdlib.h>

/* ---- output packing ------------------------------------------------------ */

static void out_emit(struct kcp *k)
{
	if (k->opos > k->reserved) {
		k->st.out_pkts++;
		k->st.out_bytes += k->opos - k->reserved;
		if (k->output)
			k->output(k->obuf, k->opos, k->output_arg);
	}
	k->opos = k->reserved;
}

/* Returns room for `need` bytes, emitting the current datagram first if
 * it would exceed the MTU. */
static uint8_t *out_space(struct kcp *k, size_t need)
{
	uint8_t *p;

	if (k->opos + need > k->mtu)
		out_emit(k);
	p = k->obuf + k->opos;
	k->opos += need;
	return p;
}

static void out_seg(struct kcp *k, const struct kcp_hdr *h,
		    const uint8_t *payload)
{
	uint8_t *p = out_space(k, KCP_OVERHEAD + (size_t)h->len);

	kcp_hdr_encode(p, h);
	if (h->len)
		memcpy(p + KCP_OVERHEAD, payload, h->len);
	k->st.out_segs++;
}

static uint16_t wnd_unused(const struct kcp *k)
{
	uint32_t n = k->rcv_queue.n;

	return n < k->rcv_wnd ? (uint16_t)(k->rcv_wnd - n) : 0;
}

/* ---- input --------------------------------------------------------------- */

/* RFC 6298-like estimator as in kcp-go: the first sample sets srtt and
 * rttvar = rtt/2; later samples below srtt - rttvar move rttvar with 1/8 of
 * the usual weight. srtt == 0 counts as "no sample yet", as in kcp-go. */
static void update_ack(struct kcp *k, int32_t rtt)
{
	uint32_t rto, var4;

	if (k->srtt == 0) {
		k->srtt = rtt;
		k->rttvar = asr(rtt, 1);
	} else {
		int32_t delta = rtt - k->srtt;

		k->srtt += asr(delta, 3);
		if (delta < 0)
			delta = -delta;
		if (rtt < k->srtt - k->rttvar)
			k->rttvar += asr(delta - k->rttvar, 5);
		else
			k->rttvar += asr(delta - k->rttvar, 2);
	}
	var4 = (uint32_t)k->rttvar << 2;
	rto = (uint32_t)k->srtt + (k->interval > var4 ? k->interval : var4);
	/* The controller's probes raise the RTT by a quarter for a round on
	 * purpose; on a steady path rttvar is ~0 and an RTO of srtt +
	 * interval would resend everything in flight each time. */
	if (k->bbr.on)
		rto += (uint32_t)k->srtt / 4;
	if (rto < k->rx_minrto)
		rto = k->rx_minrto;
	if (rto > RTO_MAX)
		rto = RTO_MAX;
	k->rx_rto = rto;
}

/* Drops snd_buf segments below una; returns how many left. */
static uint32_t parse_una(struct kcp *k, uint32_t una)
{
	uint32_t count = 0;

	while (k->snd_buf.n) {
		struct kcp_seg *s = ring_at(&k->snd_buf, 0);

		if (tdiff(una, s->sn) <= 0)
			break;
		if (k->bbr.on && !s->acked)
			kcp_cc_on_deliver(k, s, false, 0);
		kcp_core_pool_put(k, s->data);
		ring_pop(&k->snd_buf);
		count++;
	}
	k->snd_una = k->snd_buf.n ? ring_at(&k->snd_buf, 0)->sn : k->snd_nxt;
	return count;
}

/* The segment sn while it is sent and not acknowledged, else NULL.
 * snd_buf holds snd_una .. snd_nxt-1 consecutively, so it is found by
 * index. */
static struct kcp_seg *outstanding(struct kcp *k, uint32_t sn)
{
	struct kcp_seg *s;

	if (tdiff(sn, k->snd_una) < 0 || tdiff(sn, k->snd_nxt) >= 0)
		return NULL;
	s = ring_at(&k->snd_buf, sn - k->snd_una);
	return s->acked ? NULL : s;
}

/* An ACK: the segment's payload goes back to the pool right away; the
 * slot stays until una passes it. */
static void parse_ack(struct kcp *k, uint32_t sn, uint32_t ts)
{
	struct kcp_seg *s = outstanding(k, sn);

	if (!s)
		return;
	if (k->bbr.on)
		kcp_cc_on_deliver(k, s, true, ts);
	s->acked = 1;
	kcp_core_pool_put(k, s->data);
	s->data = NULL;
}

/* kcp-go counts a skip for every ACK segment (not only the highest one),
 * and only for segments sent no later than the acked one (ts compare), so
 * a retransmission is not "skipped" by ACKs of older transmissions. */
static void parse_fastack(struct kcp *k, uint32_t sn, uint32_t ts)
{
	uint32_t n;

	if (tdiff(sn, k->snd_una) < 0 || tdiff(sn, k->snd_nxt) >= 0)
		return;
	n = sn - k->snd_una;
	for (uint32_t i = 0; i < n; i++) {
		struct kcp_seg *s = ring_at(&k->snd_buf, i);

		if (!s->acked && tdiff(s->ts, ts) <= 0)
			s->fastack++;
	}
}

/* Checks the whole datagram before anything is applied. Returns the
 * number of segments or -errno. */
static int input_validate(const struct kcp *k, const uint8_t *p, size_t len)
{
	int nseg = 0;

	if (len < KCP_OVERHEAD)
		return -EBADMSG;
	while (len >= KCP_OVERHEAD) {
		uint32_t seglen = get32(p + 20);
		uint8_t cmd = p[4];

		if (get32(p) != k->conv)
			return -ESRCH;
		if (cmd < KCP_CMD_PUSH || cmd > KCP_CMD_WINS)
			return -EPROTO;
		if (seglen > len - KCP_OVERHEAD)
			return -EBADMSG;
		if (cmd == KCP_CMD_PUSH && seglen > KCP_MAX_PAYLOAD)
			return -EMSGSIZE;
		p += KCP_OVERHEAD + seglen;
		len -= KCP_OVERHEAD + seglen;
		nseg++;
	}
	return nseg;
}

static int acks_reserve(struct kcp *k, uint32_t more)
{
	uint32_t cap = k->ack_cap ? k->ack_cap : 16;
	struct kcp_ack *v;

	if (k->nack + more <= k->ack_cap)
		return 0;
	while (cap < k->nack + more)
		cap <<= 1;
	v = realloc(k->acks, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	k->acks = v;
	k->ack_cap = cap;
	return 0;
}

/* Slow start / congestion avoidance, once per datagram that advanced una
 * (not per acked segment), as both kcp implementations do. */
static void cwnd_grow(struct kcp *k)
{
	uint32_t mss = k->mss;

	if (k->cwnd >= k->rmt_wnd)
		return;
	if (k->cwnd < k->ssthresh) {
		k->cwnd++;
		k->incr += mss;
	} else {
		if (k->incr < mss)
			k->incr = mss;
		k->incr += (mss * mss) / k->incr + mss / 16;
		if ((k->cwnd + 1) * mss <= k->incr)
			k->cwnd = (k->incr + mss - 1) / mss;
	}
	if (k->cwnd > k->rmt_wnd) {
		k->cwnd = k->rmt_wnd;
		k->incr = k->rmt_wnd * mss;
	}
}

/* One more data segment in this BIDIR_WIN_MS window (kcp_both_ways). */
void kcp_flow_count(struct kcp_flow_win *w, uint32_t now)
{
	int32_t age = tdiff(now, w->ms);

	if (age >= BIDIR_WIN_MS || age < 0) {
		w->prev = age >= 0 && age < 2 * BIDIR_WIN_MS ? w->n : 0;
		w->n = 0;
		w->ms = now;
	}
	w->n++;
}

int kcp_input(struct kcp *k, const uint8_t *data, size_t len, bool regular,
	      bool ack_nodelay, uint32_t now)
{
	uint32_t old_una = k->snd_una, latest = 0;
	bool got_ack = false, slid = false, fresh = false;
	int nseg = input_validate(k, data, len);

	if (nseg >= 0 && acks_reserve(k, (uint32_t)nseg))
		nseg = -ENOMEM;
	if (nseg < 0) {
		k->st.in_errs++;
		return nseg;
	}
	k->st.in_pkts++;
	k->st.in_bytes += len;
	k->cc_now = now;
	for (int i = 0; i < nseg; i++) {
		struct kcp_hdr h;
		const uint8_t *payload = data + KCP_OVERHEAD;

		kcp_hdr_decode(data, len, &h);
		data += KCP_OVERHEAD + h.len;
		len -= KCP_OVERHEAD + h.len;
		k->st.in_segs++;
		/* FEC-rebuilt packets may be old: their window is stale. */
		if (regular)
			k->rmt_wnd = h.wnd;
		/* the ACK's segment was outstanding until this datagram (its
		 * una may take it first): an ACK of a copy already answered
		 * (an FEC-rebuilt duplicate) says nothing of reordering */
		if (h.cmd == KCP_CMD_ACK)
			fresh = outstanding(k, h.sn) != NULL;
		if (parse_una(k, h.una))
			slid = true;
		switch (h.cmd) {
		case KCP_CMD_ACK:
			parse_ack(k, h.sn, h.ts);
			parse_fastack(k, h.sn, h.ts);
			got_ack = true;
			latest = h.ts;
			break;
		case KCP_CMD_PUSH: {
			int rc = 0;

			kcp_flow_count(&k->rx, now);

			/* Beyond the window: dropped and not acked, so the
			 * sender keeps it; before rcv_nxt: acked again. */
			if (tdiff(h.sn, k->rcv_nxt + k->rcv_wnd) < 0) {
				if (tdiff(h.sn, k->rcv_nxt) >= 0)
					rc = kcp_core_rcv_insert(k, &h,
								 payload);
				if (rc >= 0) {
					if (!k->nack)
						k->ack_since = now;
					k->acks[k->nack].sn = h.sn;
					k->acks[k->nack].ts = h.ts;
					k->nack++;
				}
			}
			if (regular && rc == 0)
				k->st.repeat_segs++;
			break;
		}
		case KCP_CMD_WASK:
			k->probe |= ASK_TELL;
			break;
		default: /* WINS: the window was taken above */
			break;
		}
	}
	/* One RTT sample per datagram, from its last ACK, as kcp-go. */
	if (got_ack && regular && tdiff(now, latest) >= 0) {
		update_ack(k, tdiff(now, latest));
		if (k->bbr.on)
			kcp_cc_on_rtt(k, (uint32_t)tdiff(now, latest), fresh,
				      now);
	}
	if (k->bbr.on)
		kcp_cc_on_input_end(k, now);
	else if (!k->nocwnd && tdiff(k->snd_una, old_una) > 0)
		cwnd_grow(k);
	if (slid)
		kcp_flush(k, now, false);
	else if (k->nack && (ack_nodelay || (k->nack >= ACKS_MIN &&
					     k->nack >= 2 * k->rcv_wnd)))
		/* data flowing both ways: the ACKs may ride in ours
		 * (ACK_ROOM), as kcp.so's receive batches flush */
		kcp_flush(k, now, !(ack_nodelay && kcp_both_ways(k, now)));
	return 0;
}

/* ---- flush --------------------------------------------------------------- */

/* Window probing: while the peer advertises a zero window, ask with WASK
 * after 7 s, then every 1.5x longer up to 120 s. */
static void probe_update(struct kcp *k, uint32_t now)
{
	if (k->rmt_wnd != 0) {
		k->ts_probe = 0;
		k->probe_wait = 0;
		return;
	}
	if (k->probe_wait == 0) {
		k->probe_wait = PROBE_INIT;
		k->ts_probe = now + k->probe_wait;
	} else if (tdiff(now, k->ts_probe) >= 0) {
		if (k->probe_wait < PROBE_INIT)
			k->probe_wait = PROBE_INIT;
		k->probe_wait += k->probe_wait / 2;
		if (k->probe_wait > PROBE_LIMIT)
			k->probe_wait = PROBE_LIMIT;
		k->ts_probe = now + k->probe_wait;
		k->probe |= ASK_SEND;
	}
}

/* Moves queued segments into the window; returns how many. */
static uint32_t window_fill(struct kcp *k, uint32_t cwnd)
{
	uint32_t moved = 0;

	while (k->snd_queue.n && tdiff(k->snd_nxt, k->snd_una + cwnd) < 0) {
		struct kcp_seg *s;

		if (kcp_core_ring_reserve(&k->snd_buf, 1))
			break; /* tried again on the next flush */
		s = ring_push(&k->snd_buf);
		*s = *ring_at(&k->snd_queue, 0);
		ring_pop(&k->snd_queue);
		s->sn = k->snd_nxt++;
		moved++;
	}
	return moved;
}

/* Congestion response after a flush (nc == 0 only): rate halving on fast
 * or early retransmissions, back to one segment on a timeout. `cwnd_eff` is
 * the window used by this flush. With resend 0, `resent` is 0xffffffff and
 * an early retransmission wraps cwnd to ssthresh - 1, exactly as kcp-go. */
static void cwnd_react(struct kcp *k, uint32_t change, uint32_t lost,
		       uint32_t resent, uint32_t cwnd_eff)
{
	if (change) {
		k->ssthresh = (k->snd_nxt - k->snd_una) / 2;
		if (k->ssthresh < THRESH_MIN)
			k->ssthresh = THRESH_MIN;
		k->cwnd = k->ssthresh + resent;
		k->incr = k->cwnd * k->mss;
	}
	if (lost) {
		k->ssthresh = cwnd_eff / 2;
		if (k->ssthresh < THRESH_MIN)
			k->ssthresh = THRESH_MIN;
		k->cwnd = 1;
		k->incr = k->mss;
	}
	if (k->cwnd < 1) {
		k->cwnd = 1;
		k->incr = k->mss;
	}
}

enum xmit_why { XMIT_NONE, XMIT_FIRST, XMIT_FAST, XMIT_EARLY, XMIT_TIMEOUT };

/* Decides whether an unacked segment goes out now and re-arms its timer,
 * in kcp-go's order: first transmission; fast retransmit (fastack >=
 * resend, no xmit limit in kcp-go); early retransmit (skipped at least
 * once while no new segment entered the window this flush, so no more
 * skips are coming); RTO expiry with linear backoff (+rx_rto, or +rx_rto/2
 * with nodelay, where the original C code doubles or multiplies by 1.5). */
static enum xmit_why xmit_kind(const struct kcp_seg *s, uint32_t now,
			       uint32_t resent, uint32_t moved)
{
	if (s->xmit == 0)
		return XMIT_FIRST;
	if (s->fastack >= resent)
		return XMIT_FAST;
	if (s->fastack && !moved)
		return XMIT_EARLY;
	if (tdiff(now, s->resendts) >= 0)
		return XMIT_TIMEOUT;
	return XMIT_NONE;
}

static void xmit_arm(struct kcp *k, struct kcp_seg *s, uint32_t now,
		     enum xmit_why why)
{
	if (why == XMIT_TIMEOUT)
		s->rto += k->nodelay ? k->rx_rto / 2 : k->rx_rto;
	else
		s->rto = k->rx_rto;
	s->fastack = 0;
	s->resendts = now + s->rto;
}

/* ACKs below rcv_nxt are covered by una; the last one is kept so a
 * duplicate still gets an answer (kcp-go's jitter filter).
 *
 * With the controller on, the ACKs of the previous ACK-carrying flush that
 * una does not cover yet go out once more, first. A lost ACK datagram
 * otherwise costs the sender one spurious retransmission per ACK it held
 * whenever a hole sits below them (at 5 % loss there nearly always is
 * one): the next datagram's ACKs count as skips for every segment it did
 * not hear about. Placed first, the repeats are acknowledged before the
 * new ACKs count their skips, and the last ACK (the one kcp-go and we take
 * the RTT sample from) stays the newest. Wire-neutral: ordinary ACK
 * segments, as a receiver sends for a duplicate; a sender counts them as
 * skips like any ACK (for the holes below them, which resend after a
 * couple of ACKs anyway). */
static void acks_out(struct kcp *k, struct kcp_hdr *h)
{
	uint32_t keep = 0;

	if (!k->nack)
		return;
	for (uint32_t i = 0; i < k->nrack; i++) {
		if (tdiff(k->racks[i].sn, k->rcv_nxt) >= 0) {
			h->sn = k->racks[i].sn;
			h->ts = k->racks[i].ts;
			out_seg(k, h, NULL);
		}
	}
	for (uint32_t i = 0; i < k->nack; i++) {
		if (tdiff(k->acks[i].sn, k->rcv_nxt) >= 0 || i + 1 == k->nack) {
			h->sn = k->acks[i].sn;
			h->ts = k->acks[i].ts;
			out_seg(k, h, NULL);
		}
	}
	/* the newest ACK_REPEAT_MAX not yet covered by una */
	for (uint32_t i = k->nack; k->bbr.on && i-- > 0 && keep < ACK_REPEAT_MAX;)
		if (tdiff(k->acks[i].sn, k->rcv_nxt) >= 0)
			k->racks[ACK_REPEAT_MAX - 1 - keep++] = k->acks[i];
	memmove(k->racks, k->racks + ACK_REPEAT_MAX - keep, keep * sizeof(k->racks[0]));
	k->nrack = keep;
	k->nack = 0;
}

uint32_t kcp_flush(struct kcp *k, uint32_t now, bool ack_only)
{
	struct kcp_hdr h = {
		.conv = k->conv,
		.cmd = KCP_CMD_ACK,
		.wnd = wnd_unused(k),
		.una = k->rcv_nxt,
	};
	uint32_t resent, cwnd_eff, moved, minrto = k->interval, hole_wait;
	uint32_t lost = 0, fast = 0, early = 0, seen = 0;
	bool blocked = false;
	/* With the controller, the ACKs go in the first datagram that
	 * carries data, ahead of it, or alone at the end (ACK_ROOM). A
	 * window probe keeps kcp-go's order: ACKs, then the probe. */
	bool defer = k->bbr.on && !ack_only && !k->probe;
	struct kcp_hdr ha = h;

	k->opos = k->reserved;
	if (!defer)
		acks_out(k, &h);
	if (ack_only) {
		out_emit(k);
		return k->interval;
	}
	/* Idle: nothing queued, nothing in flight, nothing to probe. */
	if (!k->snd_buf.n && !k->snd_queue.n && !k->probe && k->rmt_wnd) {
		if (defer)
			acks_out(k, &ha);
		out_emit(k);
		k->ts_probe = k->probe_wait = 0;
		if (k->bbr.on)
			kcp_cc_flush_end(k, false, !k->backlog, 0);
		if (!k->nocwnd && k->cwnd < 1) {
			k->cwnd = 1;
			k->incr = k->mss;
		}
		return k->interval;
	}
	probe_update(k, now);
	/* WASK/WINS reuse the ACK template: sn and ts are whatever the last
	 * ACK left there (0 if none), as kcp-go sends them. */
	if (k->probe & ASK_SEND) {
		h.cmd = KCP_CMD_WASK;
		out_seg(k, &h, NULL);
	}
	if (k->probe & ASK_TELL) {
		h.cmd = KCP_CMD_WINS;
		out_seg(k, &h, NULL);
	}
	k->probe = 0;

	cwnd_eff = k->snd_wnd < k->rmt_wnd ? k->snd_wnd : k->rmt_wnd;
	if (!k->nocwnd && !k->bbr.on && k->cwnd < cwnd_eff)
		cwnd_eff = k->cwnd;
	if (k->bbr.on) {
		/* Windows are ceilings; the pacer and the inflight cap decide
		 * what leaves. Early retransmission once everything in the
		 * window has been sent (a paced sender rarely "moves" in a
		 * given flush): then no new transmissions bring more skips,
		 * whether the application is done or the window is full. */
		window_fill(k, cwnd_eff);
		moved = k->snd_buf.n &&
			ring_at(&k->snd_buf, k->snd_buf.n - 1)->xmit == 0;
		kcp_cc_refill(k, now);
	} else {
		moved = window_fill(k, cwnd_eff);
	}
	resent = k->resend ? k->resend : 0xffffffffu;
	/* With the controller and FEC, a segment is skipped by the rest of
	 * its FEC group before the parity can rebuild it: count those skips
	 * out, so data FEC recovers is not sent again (while the window is
	 * wide enough to bring that many skips at all; a narrower one waits
	 * for FEC's chance by time instead, hole_wait). */
	hole_wait = 0;
	if (k->bbr.on && k->resend && k->bbr.ds) {
		if (kcp_cc_fec_skips(k))
			resent += k->bbr.ds + k->bbr.ps;
		else
			hole_wait = kcp_cc_fec_wait(k);
	}
	/* ... and on a path that reorders, for the late ACKs */
	if (k->bbr.on && k->resend) {
		uint32_t rw = kcp_cc_reorder_wait(k);

		if (rw > hole_wait)
			hole_wait = rw;
	}

	h.cmd = KCP_CMD_PUSH;
	for (uint32_t i = 0; i < k->snd_buf.n; i++) {
		struct kcp_seg *s = ring_at(&k->snd_buf, i);
		enum xmit_why why;
		int32_t left;
		bool head;

		if (s->acked)
			continue;
		why = xmit_kind(s, now, resent, moved);
		head = seen++ == 0; /* the oldest unacknowledged segment */
		if ((why == XMIT_FAST || why == XMIT_EARLY) && hole_wait &&
		    tdiff(now, s->ts) < (int32_t)hole_wait) {
			uint32_t w = hole_wait - (uint32_t)tdiff(now, s->ts);

			if (w < minrto)
				minrto = w;
			why = XMIT_NONE;
		}
		/* With the controller, a timer that expires while ACKs still
		 * flow is the queue growing, not a loss (fast retransmit
		 * finds those): only the head, or a stalled ACK clock, may
		 * resend on a timeout. */
		if (why == XMIT_TIMEOUT && k->bbr.on &&
		    (!head || kcp_cc_queue_head(k, s)) &&
		    !kcp_cc_stalled(k, now))
			why = XMIT_NONE;
		/* ... and after a whole RTT without any, its copies are lost
		 * (not before the first RTT sample: a first flight whose
		 * timers expire before any ACK is still in flight) */
		if (why == XMIT_TIMEOUT && k->bbr.on && k->bbr.min_rtt &&
		    kcp_cc_lost_stall(k, now))
			kcp_cc_on_lost(k, s);
		if (why != XMIT_NONE && k->bbr.on &&
		    !kcp_cc_can_send(k, s, head && why != XMIT_FIRST)) {
			/* pacing or the inflight cap: everything behind
			 * waits too (retransmissions come first in sn
			 * order, so they are not overtaken) */
			blocked = k->bbr.credit <= 0;
			break;
		}
		if (why != XMIT_NONE)
			xmit_arm(k, s, now, why);
		fast += why == XMIT_FAST;
		early += why == XMIT_EARLY;
		lost += why == XMIT_TIMEOUT;
		if (why != XMIT_NONE) {
			if (k->bbr.on) {
				kcp_cc_on_send(k, s, now);
				kcp_flow_count(&k->tx, now);
			}
			s->xmit++;
			s->ts = now;
			h.frg = s->frg;
			h.ts = now;
			h.sn = s->sn;
			h.len = s->len;
			if (defer && k->nack)
				acks_out(k, &ha);
			out_seg(k, &h, s->data);
			if (s->xmit >= k->dead_link)
				k->dead = true;
		}
		left = tdiff(s->resendts, now);
		if (left > 0 && (uint32_t)left < minrto)
			minrto = (uint32_t)left;
	}
	/* No data went out: the ACKs go alone, unless data flows both ways:
	 * ours, held by the pacer or not written yet (an echo's replies
	 * follow what this flush acknowledges), may go within ACK_HOLD_MS of
	 * the oldest ACK. Not while we are in STARTUP, unless it has been
	 * application-limited for long (kcp_cc_acks_now): held there from
	 * the start, an echo at 20 % loss (tests/e2e/kcp_lossy.sh) took
	 * 5-17 s, not 3-5. */
	if (defer && k->nack) {
		int32_t held = tdiff(now, k->ack_since);

		if (held >= 0 && held < ACK_HOLD_MS &&
		    kcp_both_ways(k, now) && !kcp_cc_acks_now(k)) {
			if (minrto > (uint32_t)(ACK_HOLD_MS - held))
				minrto = (uint32_t)(ACK_HOLD_MS - held);
		} else {
			acks_out(k, &ha);
		}
	}
	out_emit(k);

	k->st.lost_segs += lost;
	k->st.fast_retrans_segs += fast;
	k->st.early_retrans_segs += early;
	k->st.retrans_segs += lost + fast + early;
	if (k->bbr.on) {
		uint32_t wait;
		bool sent_all = !k->snd_buf.n ||
				ring_at(&k->snd_buf, k->snd_buf.n - 1)->xmit > 0;
		/* Held back by snd_wnd/rmt_wnd, not by the path: like an idle
		 * application, what the next samples show is the window's
		 * rate, which must not lower the path's estimate. */
		bool full_wnd = k->snd_nxt - k->snd_una >= cwnd_eff;
		bool wnd_limited = k->snd_queue.n && sent_all && full_wnd;

		/* An empty queue is the application's doing unless it holds
		 * more than kcp_send_limit let it queue (kcp_set_backlog): a
		 * late pacing tick may send all of the few ms queued, and
		 * reading that as an idle application restarted STARTUP in
		 * the middle of bulk transfers (a BDP of queue for a second on
		 * a 200 ms path). With the window full it stays as it was
		 * (the window-bound samples must not lower the estimate). */
		bool empty = !k->snd_queue.n && (!k->backlog || full_wnd);

		kcp_cc_flush_end(k, blocked, sent_all && (empty || wnd_limited),
				 wnd_limited ? cwnd_eff : 0);
		wait = kcp_pace_wait(k, now);
		if (wait < minrto)
			minrto = wait;
	} else if (!k->nocwnd) {
		cwnd_react(k, fast + early, lost, resent, cwnd_eff);
	}
	return minrto;
}
