/*
 * mux.c - yamux session over one bufferevent (frp's tcpMux): frame parser,
 * `under`'s callbacks, keepalive, session life cycle. Streams, windows and
 * framing of user data live in mux_stream.c.
 *
 * Data path. Incoming payload is moved chain by chain from `under`'s input
 * into the mux end of the stream's bufferevent_pair; the pair hands it to
 * the user's end. The user's writes arrive as input on the mux end and are
 * framed into `under`'s output. No payload byte is copied except where a
 * frame boundary splits an evbuffer chain.
 *
 * Re-entrancy. Pairs always defer their callbacks, so user code runs
 * synchronously only from accept_cb and closed_cb. Every entry point brackets
 * its work with mux_sess_enter()/mux_sess_leave(); mux_session_free() inside
 * a callback detaches at once but leaves the free to the outermost
 * mux_sess_leave(). Streams are looked up by id again after any user
 * callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "mux_int.h"
#include "util.h"

#define UNDER_READ_HIGH (1024u * 1024u)

enum goaway_code { GOAWAY_NORMAL = 0, GOAWAY_PROTO = 1, GOAWAY_INTERNAL = 2 };

static void sess_process(struct mux_session *m);
static void sess_service(struct mux_session *m);

/* ---- plumbing ----------------------------------------------------------- */

void mux_sess_enter(struct mux_session *m)
{
	m->depth++;
}

static void sess_destroy(struct mux_session *m)
{
	if (m->ping_ev)
		event_free(m->ping_ev);
	if (m->dead_ev)
		event_free(m->dead_ev);
	free(m->tab);
	free(m);
}

/* Work that a nested entry point postponed runs here, at the outermost
 * level; then the session is freed if the user asked for it meanwhile. */
void mux_sess_leave(struct mux_session *m)
{
	if (m->depth == 1) {
		while (!m->dead && (m->again_read || m->again_write)) {
			if (m->again_read) {
				m->again_read = false;
				sess_process(m);
			} else {
				m->again_write = false;
				sess_service(m);
			}
		}
	}
	if (--m->depth == 0 && m->free_pending)
		sess_destroy(m);
}

void mux_sess_send(struct mux_session *m, uint8_t type, uint16_t flags, uint32_t id,
		   uint32_t length)
{
	struct mux_frame f = { .type = type, .flags = flags, .stream_id = id, .length = length };
	uint8_t b[MUX_HDR_LEN];

	mux_frame_encode(&f, b);
	if (evbuffer_add(bufferevent_get_output(m->under), b, sizeof(b)) == 0)
		m->st.frames_out++;
}

/* Stop everything without telling the user; streams see EOF. */
static void sess_shutdown(struct mux_session *m)
{
	m->dead = true;
	bufferevent_disable(m->under, EV_READ);
	if (m->ping_ev)
		event_del(m->ping_ev);
	if (m->dead_ev)
		event_del(m->dead_ev);
	for (size_t i = 0; i < ((size_t)1 << m->tab_bits); i++)
		while (m->tab[i])
			mux_strm_unlink(m->tab[i]);
}

static void sess_die(struct mux_session *m, int err, int goaway)
{
	if (m->dead)
		return;
	if (goaway >= 0)
		mux_sess_send(m, MUX_GO_AWAY, 0, 0, (uint32_t)goaway);
	sess_shutdown(m);
	if (m->closed_cb && !m->free_pending)
		m->closed_cb(m, err, m->arg);
}

static void sess_proto_error(struct mux_session *m)
{
	sess_die(m, -EPROTO, GOAWAY_PROTO);
}

/* ---- incoming frames ------------------------------------------------------ */

/* A SYN from the peer. Returns the new stream; NULL when refused or gone
 * (the caller checks m->dead: the session may have ended in accept_cb). */
static struct mux_stream *sess_accept(struct mux_session *m, const struct mux_frame *f)
{
	uint32_t id = f->stream_id;
	bool theirs = m->is_client ? (id % 2 == 0) : (id % 2 == 1);

	if (id == 0 || !theirs || mux_tab_find(m, id)) {
		sess_proto_error(m);
		return NULL;
	}
	struct mux_stream *s = NULL;
	if (m->accept_cb && m->count < (size_t)m->cfg.max_streams)
		s = mux_strm_new(m, id);
	if (!s) {
		/* like hashicorp when its backlog is full: refuse this one,
		 * keep the session */
		m->st.refused++;
		mux_sess_send(m, MUX_WINDOW_UPDATE, MUX_RST, id, 0);
		return NULL;
	}
	m->st.streams_accepted++;
	mux_strm_send_open(s, MUX_ACK);
	m->accept_cb(s, m->arg);
	if (m->dead)
		return NULL;
	return mux_tab_find(m, id);
}

static void sess_on_header(struct mux_session *m, const struct mux_frame *f)
{
	struct mux_stream *s;

	switch (f->type) {
	case MUX_PING:
		if (f->flags & MUX_SYN) {
			m->st.pings_in++;
			mux_sess_send(m, MUX_PING, MUX_ACK, 0, f->length);
		}
		return;
	case MUX_GO_AWAY:
		sess_die(m, f->length == GOAWAY_NORMAL ? 0 :
			 f->length == GOAWAY_INTERNAL ? -ECONNABORTED : -EPROTO, -1);
		return;
	}
	if (f->flags & MUX_SYN) {
		s = sess_accept(m, f);
		if (m->dead)
			return;
	} else {
		s = mux_tab_find(m, f->stream_id);
	}
	if (f->type == MUX_WINDOW_UPDATE) {
		if (!s) {
			m->st.ignored++;
			return;
		}
		uint64_t w = (uint64_t)s->send_window + f->length;
		s->send_window = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
		mux_strm_peer_close(m, f->stream_id, f->flags);
		s = mux_tab_find(m, f->stream_id);
		if (s)
			mux_strm_pump(s);
		return;
	}
	/* data: flow control is checked against the header; FIN/RST apply
	 * after the payload so the user sees the bytes before EOF */
	if (s && !s->remote_fin) {
		if (f->length > s->recv_window) {
			sess_proto_error(m);
			return;
		}
		s->recv_window -= f->length;
	} else {
		m->st.ignored++;
	}
	m->body_id = f->stream_id;
	m->body_flags = f->flags;
	m->body_left = f->length;
	if (f->length == 0)
		mux_strm_peer_close(m, f->stream_id, f->flags);
}

static void sess_on_body(struct mux_session *m, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	uint32_t n = m->body_left < avail ? m->body_left : (uint32_t)avail;
	struct mux_stream *s = mux_tab_find(m, m->body_id);

	if (s && s->user_open && s->mux && !s->remote_fin) {
		evbuffer_remove_buffer(in, bufferevent_get_output(s->mux), n);
		m->st.bytes_in += n;
	} else {
		evbuffer_drain(in, n);
		m->st.discarded += n;
		/* a stream the user closed still owes the peer credit, or its
		 * sender stalls before it can FIN */
		if (s && !s->remote_fin)
			mux_strm_credit(s, n);
	}
	m->body_left -= n;
	if (m->body_left == 0)
		mux_strm_peer_close(m, m->body_id, m->body_flags);
}

static void sess_process(struct mux_session *m)
{
	struct evbuffer *in = bufferevent_get_input(m->under);

	if (evbuffer_get_length(in) > 0)
		m->last_rx = util_now_ms();
	while (!m->dead) {
		if (m->body_left > 0) {
			if (evbuffer_get_length(in) == 0)
				return;
			sess_on_body(m, in);
			continue;
		}
		uint8_t hb[MUX_HDR_LEN];
		struct mux_frame f;
		if (evbuffer_get_length(in) < sizeof(hb))
			return; /* a partial header waits for the next read */
		evbuffer_remove(in, hb, sizeof(hb));
		m->st.frames_in++;
		if (mux_frame_decode(hb, &f) != 0) {
			sess_proto_error(m);
			return;
		}
		sess_on_header(m, &f);
	}
	/* dead: whatever else arrives is of no use */
	if (m->under)
		evbuffer_drain(in, evbuffer_get_length(in));
}

/* ---- under's callbacks, timers --------------------------------------------- */

static void under_read_cb(struct bufferevent *bev, void *arg)
{
	struct mux_session *m = arg;

	(void)bev;
	mux_sess_enter(m);
	if (m->depth == 1)
		sess_process(m);
	else
		m->again_read = true;
	mux_sess_leave(m);
}

size_t mux_under_high(struct mux_session *m)
{
	size_t goal = m->goal ? m->goal(m->goal_arg) : 0;
	size_t high = chan_goal_bound(goal, MUX_UNDER_MIN, MUX_UNDER_HIGH);
	if (high != m->under_high) {
		m->under_high = high;
		bufferevent_setwatermark(m->under, EV_WRITE, high / 2, 0);
	}
	return high;
}

void mux_session_set_goal(struct mux_session *m, size_t (*goal)(void *arg),
			  void *arg)
{
	m->goal = goal;
	m->goal_arg = arg;
}

/* under drained below half its high mark (or a stream queued while it had
 * room): queued streams send a frame each, in turn, until it fills */
static void sess_service(struct mux_session *m)
{
	if (evbuffer_get_length(bufferevent_get_output(m->under)) >=
	    mux_under_high(m))
		return;
	m->congested = false;
	struct mux_stream *s;
	while (!m->congested && !m->dead && (s = TAILQ_FIRST(&m->blocked))) {
		TAILQ_REMOVE(&m->blocked, s, blk);
		s->blocked = 0;
		m->serving = s;
		mux_strm_pump(s);
		m->serving = NULL;
	}
}

static void under_write_cb(struct bufferevent *bev, void *arg)
{
	struct mux_session *m = arg;

	(void)bev;
	if (m->dead)
		return;
	mux_sess_enter(m);
	if (m->depth == 1)
		sess_service(m);
	else
		m->again_write = true;
	mux_sess_leave(m);
}

static void under_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mux_session *m = arg;
	int err = 0;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_ERROR)
		err = errno ? -errno : -EIO;
	else if (what & BEV_EVENT_TIMEOUT)
		err = -ETIMEDOUT;
	mux_sess_enter(m);
	sess_die(m, err, -1);
	mux_sess_leave(m);
}

static void ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mux_session *m = arg;

	(void)fd;
	(void)ev;
	if (m->dead)
		return;
	mux_sess_enter(m);
	m->st.pings_out++;
	mux_sess_send(m, MUX_PING, MUX_SYN, 0, m->ping_id++);
	mux_sess_leave(m);
}

static void arm_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	event_add(ev, &tv);
}

/* Fires at most once per timeout period: re-armed for the time left
 * instead of being pushed back on every frame. */
static void dead_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mux_session *m = arg;
	uint64_t idle = util_now_ms() - m->last_rx;
	uint64_t limit = (uint64_t)m->cfg.keepalive_timeout_ms;

	(void)fd;
	(void)ev;
	if (m->dead)
		return;
	if (idle < limit) {
		arm_ms(m->dead_ev, limit - idle);
		return;
	}
	mux_sess_enter(m);
	sess_die(m, -ETIMEDOUT, -1);
	mux_sess_leave(m);
}

/* ---- public session API ------------------------------------------------------ */

struct mux_session *mux_session_new(struct event_base *base, struct bufferevent *under,
				    bool is_client, const struct mux_config *cfg,
				    mux_accept_cb accept_cb, mux_closed_cb closed_cb, void *arg)
{
	struct mux_session *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (cfg)
		m->cfg = *cfg;
	else
		mux_config_default(&m->cfg);
	if (m->cfg.max_stream_window < MUX_INITIAL_WINDOW)
		m->cfg.max_stream_window = MUX_INITIAL_WINDOW;
	if (m->cfg.max_streams <= 0)
		m->cfg.max_streams = 4096;
	if (m->cfg.keepalive_interval_ms > 0 && m->cfg.keepalive_timeout_ms <= 0)
		m->cfg.keepalive_timeout_ms = 2 * m->cfg.keepalive_interval_ms;
	m->base = base;
	m->under = under;
	m->is_client = is_client;
	m->accept_cb = accept_cb;
	m->closed_cb = closed_cb;
	m->arg = arg;
	m->next_id = is_client ? 1 : 2;
	TAILQ_INIT(&m->blocked);
	if (util_random(&m->seed, sizeof(m->seed)) != 0)
		m->seed = (uint32_t)(uintptr_t)m;
	if (mux_tab_init(m) != 0)
		goto fail;
	if (m->cfg.keepalive_interval_ms > 0) {
		m->ping_ev = event_new(base, -1, EV_PERSIST, ping_cb, m);
		m->dead_ev = event_new(base, -1, 0, dead_cb, m);
		if (!m->ping_ev || !m->dead_ev)
			goto fail;
		arm_ms(m->ping_ev, (uint64_t)m->cfg.keepalive_interval_ms);
		arm_ms(m->dead_ev, (uint64_t)m->cfg.keepalive_timeout_ms);
	}
	m->last_rx = util_now_ms();
	bufferevent_setcb(under, under_read_cb, under_write_cb, under_event_cb, m);
	bufferevent_setwatermark(under, EV_READ, 0, UNDER_READ_HIGH);
	bufferevent_setwatermark(under, EV_WRITE, MUX_UNDER_LOW, 0);
	m->under_high = MUX_UNDER_HIGH;
	bufferevent_enable(under, EV_READ | EV_WRITE);
	/* bytes read before we took over (e.g. while sniffing TLS) are parsed
	 * from the loop, never before the caller has m */
	if (evbuffer_get_length(bufferevent_get_input(under)) > 0)
		bufferevent_trigger(under, EV_READ,
				    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	return m;
fail:
	sess_destroy(m);
	return NULL;
}

void mux_session_free(struct mux_session *m)
{
	if (!m || m->free_pending)
		return;
	m->free_pending = true;
	if (!m->dead) {
		mux_sess_send(m, MUX_GO_AWAY, 0, 0, GOAWAY_NORMAL);
		sess_shutdown(m);
	}
	bufferevent_setcb(m->under, NULL, NULL, NULL, NULL);
	bufferevent_setwatermark(m->under, EV_READ | EV_WRITE, 0, 0);
	m->under = NULL;
	if (m->depth == 0)
		sess_destroy(m);
}

struct mux_stream *mux_open(struct mux_session *m)
{
	if (!m || m->dead || m->count >= (size_t)m->cfg.max_streams ||
	    m->next_id > UINT32_MAX - 2)
		return NULL;
	mux_sess_enter(m);
	struct mux_stream *s = mux_strm_new(m, m->next_id);
	if (s) {
		m->next_id += 2;
		m->st.streams_opened++;
		mux_strm_send_open(s, MUX_SYN);
	}
	mux_sess_leave(m);
	return s;
}

uint64_t mux_last_rx_ms(const struct mux_session *m)
{
	return m->last_rx;
}

size_t mux_stream_count(const struct mux_session *m)
{
	return m->count;
}

bool mux_session_alive(const struct mux_session *m)
{
	return m && !m->dead;
}

void mux_session_stats(const struct mux_session *m, struct mux_stats *st)
{
	*st = m->st;
}
