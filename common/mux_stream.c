/*
 * mux_stream.c - yamux streams: the id table, each stream's
 * bufferevent_pair, flow-control windows, framing of the user's writes,
 * FIN/RST and the stream half of the public API.
 *
 * Receive credit is returned to the peer only for bytes the user actually
 * removed from its input (an evbuffer callback on the user's input), in
 * batches of half the maximum window like hashicorp/yamux. A stream whose
 * send window is 0, or every stream while `under`'s output is above
 * MUX_UNDER_HIGH, stops reading its mux end; the user's writes then stay in
 * the user's output buffer where its watermarks see them. Streams with
 * data take turns on `under`, one frame each (m->blocked is the queue).
 */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mux_int.h"

/* ---- id table --------------------------------------------------------- */

int mux_tab_init(struct mux_session *m)
{
	m->tab_bits = 4;
	m->tab = calloc((size_t)1 << m->tab_bits, sizeof(*m->tab));
	return m->tab ? 0 : -ENOMEM;
}

static uint32_t tab_slot(const struct mux_session *m, uint32_t id)
{
	/* seeded multiplicative hash: a peer choosing ids cannot aim at one
	 * bucket */
	return ((id ^ m->seed) * 0x9E3779B1u) >> (32 - m->tab_bits);
}

struct mux_stream *mux_tab_find(const struct mux_session *m, uint32_t id)
{
	struct mux_stream *s = m->tab[tab_slot(m, id)];
	while (s && s->id != id)
		s = s->hnext;
	return s;
}

static int tab_grow(struct mux_session *m)
{
	uint32_t ob = m->tab_bits;
	struct mux_stream **old = m->tab;
	struct mux_stream **nt = calloc((size_t)1 << (ob + 1), sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	m->tab = nt;
	m->tab_bits = ob + 1;
	for (size_t i = 0; i < ((size_t)1 << ob); i++) {
		while (old[i]) {
			struct mux_stream *x = old[i];
			old[i] = x->hnext;
			uint32_t k = tab_slot(m, x->id);
			x->hnext = nt[k];
			nt[k] = x;
		}
	}
	free(old);
	return 0;
}

static int tab_insert(struct mux_session *m, struct mux_stream *s)
{
	if (m->count >= ((size_t)1 << m->tab_bits) && m->tab_bits < 24 && tab_grow(m) != 0)
		return -ENOMEM;
	uint32_t k = tab_slot(m, s->id);
	s->hnext = m->tab[k];
	m->tab[k] = s;
	m->count++;
	return 0;
}

static void tab_remove(struct mux_session *m, struct mux_stream *s)
{
	struct mux_stream **pp = &m->tab[tab_slot(m, s->id)];
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = s->hnext;
		m->count--;
	}
	s->hnext = NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static void stream_drop_in_cb(struct mux_stream *s)
{
	if (s->in_cb) {
		evbuffer_remove_cb_entry(bufferevent_get_input(s->user), s->in_cb);
		s->in_cb = NULL;
	}
}

/* Freeing the user's end is fine inside its own callbacks: libevent holds
 * a reference while it runs them. */
static void stream_free(struct mux_stream *s)
{
	if (s->user)
		stream_drop_in_cb(s);
	if (s->mux)
		bufferevent_free(s->mux);
	if (s->user)
		bufferevent_free(s->user);
	free(s);
}

static void stream_signal_eof(struct mux_stream *s)
{
	if (s->eof_sent)
		return;
	s->eof_sent = 1;
	if (!s->user_open || !s->mux)
		return;
	/* BEV_FINISHED moves what is queued to the user's input, then raises
	 * BEV_EVENT_EOF|BEV_EVENT_READING there (deferred, like all pair
	 * callbacks). libevent 2.1 still stops at the user's read high
	 * watermark when the input is below it, so lift the mark meanwhile:
	 * no byte may arrive after EOF. */
	size_t lo = 0, hi = 0;
	bufferevent_getwatermark(s->user, EV_READ, &lo, &hi);
	if (hi)
		bufferevent_setwatermark(s->user, EV_READ, lo, 0);
	bufferevent_flush(s->mux, EV_WRITE, BEV_FINISHED);
	if (hi)
		bufferevent_setwatermark(s->user, EV_READ, lo, hi);
}

void mux_strm_unlink(struct mux_stream *s)
{
	struct mux_session *m = s->m;

	if (m) {
		tab_remove(m, s);
		if (s->blocked)
			TAILQ_REMOVE(&m->blocked, s, blk);
		s->blocked = 0;
		s->m = NULL;
	}
	if (!s->user_open) {
		stream_free(s);
		return;
	}
	/* the user's handle lives on as an orphan until mux_stream_close */
	stream_drop_in_cb(s);
	stream_signal_eof(s);
	if (s->mux) {
		bufferevent_free(s->mux);
		s->mux = NULL;
	}
}

void mux_strm_credit(struct mux_stream *s, size_t n)
{
	struct mux_session *m = s->m;

	s->unacked += (uint32_t)n;
	if (!m || m->dead || s->remote_fin)
		return;
	if (s->unacked >= m->cfg.max_stream_window / 2) {
		mux_sess_send(m, MUX_WINDOW_UPDATE, 0, s->id, s->unacked);
		s->recv_window += s->unacked;
		s->unacked = 0;
	}
}

static void stream_user_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
			      void *arg)
{
	struct mux_stream *s = arg;
	struct mux_session *m = s->m;

	(void)buf;
	if (!info->n_deleted || !m)
		return;
	mux_sess_enter(m);
	mux_strm_credit(s, info->n_deleted);
	mux_sess_leave(m);
}

static void stream_mux_read_cb(struct bufferevent *bev, void *arg)
{
	struct mux_stream *s = arg;
	struct mux_session *m = s->m;

	(void)bev;
	if (!m)
		return;
	mux_sess_enter(m);
	mux_strm_pump(s);
	mux_sess_leave(m);
}

struct mux_stream *mux_strm_new(struct mux_session *m, uint32_t id)
{
	struct mux_stream *s = calloc(1, sizeof(*s));
	struct bufferevent *pair[2];

	if (!s)
		return NULL;
	if (bufferevent_pair_new(m->base, BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
		free(s);
		return NULL;
	}
	s->user = pair[0];
	s->mux = pair[1];
	s->id = id;
	s->send_window = MUX_INITIAL_WINDOW;
	s->recv_window = MUX_INITIAL_WINDOW;
	s->user_open = 1;
	s->in_cb = evbuffer_add_cb(bufferevent_get_input(s->user), stream_user_in_cb, s);
	if (!s->in_cb || tab_insert(m, s) != 0) {
		stream_free(s);
		return NULL;
	}
	s->m = m;
	bufferevent_setcb(s->mux, stream_mux_read_cb, NULL, NULL, s);
	/* the pair moves at most one frame ahead: the rest of the user's
	 * unsent writes stays visible in the user's output */
	bufferevent_setwatermark(s->mux, EV_READ, 0, MUX_STAGE_HIGH);
	bufferevent_enable(s->mux, EV_READ | EV_WRITE);
	return s;
}

/* hashicorp advertises max window minus what is buffered: all of it now */
void mux_strm_send_open(struct mux_stream *s, uint16_t flag)
{
	uint32_t delta = s->m->cfg.max_stream_window - MUX_INITIAL_WINDOW;

	mux_sess_send(s->m, MUX_WINDOW_UPDATE, flag, s->id, delta);
	s->recv_window += delta;
}

static void stream_send_fin(struct mux_stream *s)
{
	mux_sess_send(s->m, MUX_WINDOW_UPDATE, MUX_FIN, s->id, 0);
	s->fin_sent = 1;
	if (!s->user_open) {
		/* nothing more to read or write: keep only the small struct
		 * until the peer's FIN */
		stream_drop_in_cb(s);
		bufferevent_free(s->mux);
		bufferevent_free(s->user);
		s->mux = s->user = NULL;
	}
	if (s->remote_fin)
		mux_strm_unlink(s);
}

/* queue: wait for a turn on under (congested, or others are waiting),
 * else for the peer's window. */
static void stream_pause(struct mux_stream *s, bool queue)
{
	struct mux_session *m = s->m;

	/* EV_READ off, or libevent re-runs our read callback forever while
	 * the input sits at its watermark */
	if (!s->paused) {
		s->paused = 1;
		bufferevent_disable(s->mux, EV_READ);
	}
	if (queue && !s->blocked) {
		s->blocked = 1;
		TAILQ_INSERT_TAIL(&m->blocked, s, blk);
		/* under may have room: serve the queue when we unwind */
		if (!m->congested)
			m->again_write = true;
	}
}

void mux_strm_pump(struct mux_stream *s)
{
	struct mux_session *m = s->m;

	if (!m || m->dead || !s->mux || s->fin_sent)
		return;
	if (s->paused && s->send_window > 0 && !m->congested) {
		s->paused = 0;
		/* pulls the user's pending output over synchronously */
		bufferevent_enable(s->mux, EV_READ);
	}
	struct evbuffer *in = bufferevent_get_input(s->mux);
	struct evbuffer *out = bufferevent_get_output(m->under);
	size_t high = mux_under_high(m);
	size_t len;
	/* Round-robin, one frame per turn: a stream that finds others
	 * waiting for under joins the end of the queue instead of sending
	 * ahead of them (its own read callback would otherwise jump it), and
	 * the stream being served yields after each frame while others wait. */
	unsigned sent = 0;
	while ((len = evbuffer_get_length(in)) > 0) {
		bool others = !TAILQ_EMPTY(&m->blocked) && (m->serving != s || sent > 0);
		if (m->congested || others) {
			stream_pause(s, true);
			return;
		}
		if (s->send_window == 0) {
			stream_pause(s, false);
			return;
		}
		uint32_t n = s->send_window < MUX_FRAME_MAX ? s->send_window : MUX_FRAME_MAX;
		if (len < n)
			n = (uint32_t)len;
		if (n > high)
			n = (uint32_t)high;
		mux_sess_send(m, MUX_DATA, 0, s->id, n);
		/* moves whole chains; draining refills the input from the
		 * user's output at once */
		evbuffer_remove_buffer(in, out, n);
		s->send_window -= n;
		m->st.bytes_out += n;
		sent++;
		if (evbuffer_get_length(out) >= high)
			m->congested = true;
	}
	if (s->fin_req && !s->paused &&
	    evbuffer_get_length(bufferevent_get_output(s->user)) == 0)
		stream_send_fin(s);
}

void mux_strm_peer_close(struct mux_session *m, uint32_t id, uint16_t flags)
{
	struct mux_stream *s;

	if (!(flags & (MUX_FIN | MUX_RST)))
		return;
	s = mux_tab_find(m, id);
	if (!s) {
		m->st.ignored++;
		return;
	}
	if (flags & MUX_RST) {
		s->remote_fin = 1;
		mux_strm_unlink(s);
		return;
	}
	if (s->remote_fin) {
		m->st.ignored++;
		return;
	}
	s->remote_fin = 1;
	if (s->fin_sent)
		mux_strm_unlink(s);
	else
		stream_signal_eof(s);
}

/* ---- public stream API ------------------------------------------------- */

struct bufferevent *mux_stream_bev(struct mux_stream *s)
{
	return s->user;
}

uint32_t mux_stream_id(const struct mux_stream *s)
{
	return s->id;
}

bool mux_stream_peer_closed(const struct mux_stream *s)
{
	return s->eof_sent;
}

void mux_stream_close(struct mux_stream *s, int how)
{
	if (!s)
		return;
	struct mux_session *m = s->m;
	if (!m) {
		stream_free(s);
		return;
	}
	mux_sess_enter(m);
	s->user_open = 0;
	if (how) {
		if (!(s->fin_sent && s->remote_fin))
			mux_sess_send(m, MUX_WINDOW_UPDATE, MUX_RST, s->id, 0);
		mux_strm_unlink(s);
	} else {
		/* the user is gone: what it never read counts as consumed, or
		 * the peer could stall before it sends its FIN */
		stream_drop_in_cb(s);
		bufferevent_setcb(s->user, NULL, NULL, NULL, NULL);
		bufferevent_disable(s->user, EV_READ);
		/* no mark, or the flush stops short of it */
		bufferevent_setwatermark(s->user, EV_READ, 0, 0);
		bufferevent_flush(s->mux, EV_WRITE, BEV_FLUSH);
		struct evbuffer *uin = bufferevent_get_input(s->user);
		size_t pend = evbuffer_get_length(uin);
		evbuffer_drain(uin, pend);
		mux_strm_credit(s, pend);
		bufferevent_enable(s->user, EV_WRITE);
		s->fin_req = 1;
		mux_strm_pump(s);
	}
	mux_sess_leave(m);
}
