/*
 * kcp_sim_btl.c - the simulator's bottleneck: a serializer at a fixed rate
 * behind a finite tail-drop FIFO, like a home uplink (see kcp_sim.h).
 *
 * Time is kept in microseconds so that links faster than one datagram per
 * millisecond serialize exactly; the simulators' clock is milliseconds.
 */
#include "kcp_sim.h"
#include "kcp_sim_int.h"

#include <stdlib.h>

struct kcp_sim_btl {
	uint64_t rate_bps;
	uint32_t limit;     /* datagrams the queue holds */
	uint64_t busy_us;   /* when the serializer finishes what it has */
	uint64_t *dep;      /* departure times of queued datagrams (FIFO) */
	uint64_t *len;      /* their link bytes */
	uint32_t head, n, cap;
	struct kcp_sim_btl_stats st;
};

struct kcp_sim_btl *kcp_sim_btl_new(uint64_t rate_bps, uint32_t queue_pkts)
{
	struct kcp_sim_btl *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->rate_bps = rate_bps ? rate_bps : 1;
	b->limit = queue_pkts ? queue_pkts : 1000;
	b->cap = b->limit + 1;
	b->dep = calloc(b->cap, sizeof(*b->dep));
	b->len = calloc(b->cap, sizeof(*b->len));
	if (!b->dep || !b->len) {
		kcp_sim_btl_free(b);
		return NULL;
	}
	return b;
}

void kcp_sim_btl_free(struct kcp_sim_btl *b)
{
	if (!b)
		return;
	free(b->dep);
	free(b->len);
	free(b);
}

void kcp_sim_btl_set_rate(struct kcp_sim_btl *b, uint64_t rate_bps)
{
	b->rate_bps = rate_bps ? rate_bps : 1;
}

/* Forgets datagrams whose serialization ended by now_us. */
static void expire(struct kcp_sim_btl *b, uint64_t now_us)
{
	while (b->n && b->dep[b->head] <= now_us) {
		b->head = (b->head + 1) % b->cap;
		b->n--;
	}
}

static uint64_t backlog_us(const struct kcp_sim_btl *b, uint64_t now_us)
{
	uint64_t q = 0;

	/* bytes not yet on the wire: whole datagrams still waiting plus the
	 * unsent part of the one being serialized */
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t j = (b->head + i) % b->cap;
		uint64_t start = b->dep[j] - b->len[j] * 8000000 / b->rate_bps;

		if (start >= now_us)
			q += b->len[j];
		else if (b->dep[j] > now_us)
			q += (b->dep[j] - now_us) * b->rate_bps / 8000000;
	}
	return q;
}

uint64_t kcp_sim_btl_backlog(const struct kcp_sim_btl *b, uint64_t now_ms)
{
	return backlog_us(b, now_ms * 1000);
}

struct kcp_sim_btl_stats *kcp_sim_btl_stats(struct kcp_sim_btl *b)
{
	return &b->st;
}

bool kcp_sim_btl_admit(struct kcp_sim_btl *b, uint64_t now_us, size_t bytes,
		       uint64_t *depart_us)
{
	uint64_t q, start;

	expire(b, now_us);
	/* the datagram being serialized counts as queued, as in a qdisc
	 * whose limit includes the head */
	if (b->n >= b->limit) {
		b->st.drops++;
		return false;
	}
	q = backlog_us(b, now_us);
	b->st.qsum += q;
	b->st.qn++;
	if (q > b->st.qmax)
		b->st.qmax = q;
	start = b->busy_us > now_us ? b->busy_us : now_us;
	b->busy_us = start + (bytes * 8000000 + b->rate_bps - 1) / b->rate_bps;
	b->dep[(b->head + b->n) % b->cap] = b->busy_us;
	b->len[(b->head + b->n) % b->cap] = bytes;
	b->n++;
	b->st.pkts++;
	b->st.bytes += bytes;
	*depart_us = b->busy_us;
	return true;
}
