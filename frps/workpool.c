/*
 * workpool.c - a control's work connections: idle ones the client opened
 * ahead of time (pool_count) and the user connections / udp proxies waiting
 * for one. Both lists are bounded: idle by cap (pool_count + 10, extras are
 * closed like frp's full channel), waiters by their owners (per-proxy cap).
 *
 * An idle work connection keeps its ctl reading so that a client closing it
 * is noticed; any message on it before StartWorkConn is a protocol error.
 */
#include <stdlib.h>

#include "ctl.h"
#include "frps.h"
#include "log.h"

struct frps_work {
	struct frps_workpool *p;
	struct ctl *ctl;
	TAILQ_ENTRY(frps_work) link;
};

void frps_workpool_init(struct frps_workpool *p, struct frps_control *c,
			size_t cap)
{
	p->c = c;
	TAILQ_INIT(&p->idle);
	TAILQ_INIT(&p->waiters);
	p->nidle = 0;
	p->nwaiters = 0;
	p->cap = cap;
}

static void work_unlink(struct frps_work *w)
{
	TAILQ_REMOVE(&w->p->idle, w, link);
	w->p->nidle--;
}

static void idle_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	struct frps_work *w = arg;
	LOG_W("frps", "[%s] unexpected %s on idle work connection, closing it",
	      w->p->c->run_id, msg_type_name(m->type));
	work_unlink(w);
	ctl_free(ctl);
	free(w);
}

static void idle_err(struct ctl *ctl, int err, void *arg)
{
	struct frps_work *w = arg;
	(void)err;
	work_unlink(w);
	ctl_free(ctl);
	free(w);
}

void frps_workpool_clear(struct frps_workpool *p)
{
	struct frps_work *w;
	while ((w = TAILQ_FIRST(&p->idle))) {
		work_unlink(w);
		ctl_free(w->ctl);
		free(w);
	}
	struct frps_waiter *q;
	while ((q = TAILQ_FIRST(&p->waiters))) {
		TAILQ_REMOVE(&p->waiters, q, link);
		p->nwaiters--;
		q->queued = false;
		q->cb(q, NULL);
	}
}

void frps_workpool_drop_idle(struct frps_workpool *p)
{
	struct frps_work *w;
	while ((w = TAILQ_FIRST(&p->idle))) {
		work_unlink(w);
		ctl_free(w->ctl);
		free(w);
	}
}

void frps_workpool_put(struct frps_workpool *p, struct ctl *work)
{
	struct frps_waiter *q = TAILQ_FIRST(&p->waiters);
	if (q) {
		TAILQ_REMOVE(&p->waiters, q, link);
		p->nwaiters--;
		q->queued = false;
		/* The waiter used up the connection it asked for: refill. */
		frps_control_req_work_conn(p->c);
		q->cb(q, work);
		return;
	}
	if (p->nidle >= p->cap) {
		LOG_D("frps", "[%s] work connection pool is full, discarding",
		      p->c->run_id);
		ctl_free(work);
		return;
	}
	struct frps_work *w = calloc(1, sizeof(*w));
	if (!w) {
		ctl_free(work);
		return;
	}
	w->p = p;
	w->ctl = work;
	ctl_set_callbacks(work, idle_msg, idle_err, w);
	TAILQ_INSERT_TAIL(&p->idle, w, link);
	p->nidle++;
}

int frps_workpool_get(struct frps_workpool *p, struct frps_waiter *w)
{
	/* One ReqWorkConn either way: a refill for the connection we take, or
	 * the request for this waiter (frp's GetWorkConn does the same). */
	frps_control_req_work_conn(p->c);
	struct frps_work *idle = TAILQ_FIRST(&p->idle);
	if (idle) {
		struct ctl *ctl = idle->ctl;
		work_unlink(idle);
		free(idle);
		ctl_set_callbacks(ctl, NULL, NULL, NULL);
		w->queued = false;
		w->cb(w, ctl);
		return 1;
	}
	TAILQ_INSERT_TAIL(&p->waiters, w, link);
	p->nwaiters++;
	w->queued = true;
	return 0;
}

void frps_workpool_cancel(struct frps_workpool *p, struct frps_waiter *w)
{
	if (!w->queued)
		return;
	TAILQ_REMOVE(&p->waiters, w, link);
	p->nwaiters--;
	w->queued = false;
}
