/*
 * mux_int.h - private to mux.c (session, parser, timers) and mux_stream.c
 * (streams, windows, framing). Not for other modules.
 */
#ifndef MUX_INT_H
#define MUX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "mux.h"

struct evbuffer_cb_entry;

#define MUX_FRAME_MAX (16u * 1024u)	 /* largest data frame we send */
#define MUX_STAGE_HIGH MUX_FRAME_MAX	 /* mux end input held before framing */
/* under's output is the only queue all streams share: a frame put there
 * waits behind everything already in it. Keep it short (a few ms at tens
 * of Mbit/s) so a small write on one stream is framed after at most one
 * frame of each bulk stream (16 KiB, TLS's record size); bulk data waits
 * per stream, in each user's output buffer, where the round-robin in
 * mux_strm_pump/sess_service picks it up. The layers below (TLS, the
 * transport) hold their own buffers and keep the link busy. */
#define MUX_UNDER_HIGH (32u * 1024u) /* under's output: stop framing */
#define MUX_UNDER_LOW (16u * 1024u)  /* under's output: resume */
/* A transport that asks for less (mux_session_set_goal: a few ms of its
 * rate) gets that as the high mark, and frames no larger, down to: */
#define MUX_UNDER_MIN 1024u

struct mux_stream {
	struct mux_session *m;	/* NULL once the session stopped tracking it */
	struct mux_stream *hnext;
	TAILQ_ENTRY(mux_stream) blk;
	struct bufferevent *user, *mux;
	struct evbuffer_cb_entry *in_cb;
	uint32_t id;
	uint32_t send_window;	/* bytes the peer lets us send */
	uint32_t recv_window;	/* bytes the peer may still send us */
	uint32_t unacked;	/* consumed by the user, not yet re-advertised */
	unsigned user_open : 1;	/* the user still holds the handle */
	unsigned fin_req : 1;	/* send FIN once the user's data is out */
	unsigned fin_sent : 1;
	unsigned remote_fin : 1;
	unsigned eof_sent : 1;	/* EOF signalled on the user's end */
	unsigned blocked : 1;	/* queued until under drains */
	unsigned paused : 1;	/* EV_READ off on the mux end */
};

TAILQ_HEAD(mux_stream_q, mux_stream);

struct mux_session {
	struct event_base *base;
	struct bufferevent *under; /* NULL after mux_session_free */
	struct mux_config cfg;
	bool is_client;
	mux_accept_cb accept_cb;
	mux_closed_cb closed_cb;
	void *arg;

	struct mux_stream **tab; /* id -> stream, chained */
	uint32_t tab_bits, seed;
	size_t count;
	struct mux_stream_q blocked; /* waiting for their turn on under */
	struct mux_stream *serving;  /* the stream sess_service is pumping */
	uint32_t next_id;
	uint32_t ping_id;

	/* parser: payload of the current data frame still to come */
	uint32_t body_left, body_id;
	uint16_t body_flags;

	struct event *ping_ev, *dead_ev;
	uint64_t last_rx;
	struct mux_stats st;

	size_t (*goal)(void *arg); /* mux_session_set_goal */
	void *goal_arg;
	size_t under_high; /* MUX_UNDER_HIGH or the goal; low is half */

	int depth; /* entry points on the stack; see mux_sess_leave */
	bool dead, free_pending, congested, again_read, again_write;
};

/* mux.c */
void mux_sess_enter(struct mux_session *m);
/** Ends an entry point; m may be freed on return. */
void mux_sess_leave(struct mux_session *m);
void mux_sess_send(struct mux_session *m, uint8_t type, uint16_t flags, uint32_t id,
		   uint32_t length);

/** Under's high mark now (MUX_UNDER_HIGH, or the goal where less); sets
 *  the write low watermark to half of it when it changed. */
size_t mux_under_high(struct mux_session *m);

/* mux_stream.c */
int mux_tab_init(struct mux_session *m);
struct mux_stream *mux_tab_find(const struct mux_session *m, uint32_t id);
/** New stream in m's table; NULL on OOM. */
struct mux_stream *mux_strm_new(struct mux_session *m, uint32_t id);
/** SYN or ACK carrying our window beyond the initial 256 KiB. */
void mux_strm_send_open(struct mux_stream *s, uint16_t flag);
/** The session is done with s; frees it unless the user holds it. */
void mux_strm_unlink(struct mux_stream *s);
/** n bytes of s were consumed (or discarded): maybe a window update. */
void mux_strm_credit(struct mux_stream *s, size_t n);
/** Frame the user's pending writes; may free s. */
void mux_strm_pump(struct mux_stream *s);
/** Peer FIN/RST on id (after any payload). May free the stream. */
void mux_strm_peer_close(struct mux_session *m, uint32_t id, uint16_t flags);

#endif
