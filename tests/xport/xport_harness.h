/*
 * xport_harness.h - fixture for the transport conformance suite.
 *
 * The suite drives a plugin only through struct xport_ops and the
 * bufferevents it hands out, the way frpc/frps do, so the same cases run
 * unchanged against tcp.so, kcp.so and any later transport. Nothing here
 * assumes TCP: EOF is only expected after the peer's stream_close(FLUSH),
 * and refused dials may surface as a timeout.
 */
#ifndef XPORT_HARNESS_H
#define XPORT_HARNESS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "xport.h"

struct event_base;
struct bufferevent;

#define FX_MAX_SIDES 128
#define FX_CHUNK (64 * 1024)

struct fx;

/* One stream end as the host sees it. Callbacks count what happens; the
 * hooks let a case take over a callback. */
struct side {
	struct fx *f;
	struct xport_stream *s;
	struct bufferevent *bev;
	int closed;       /* stream_close() was called: no callback may follow */
	int in_write_cb;  /* inside this side's write callback */
	int closed_in_write_cb;
	int after_close;  /* callbacks seen after close (must stay 0) */
	int reads;        /* read callbacks */
	int eof, error;   /* BEV_EVENT_EOF / BEV_EVENT_ERROR seen */
	uint64_t rx_at_event; /* rx when EOF/ERROR first arrived */

	/* receiving */
	uint64_t rx;      /* bytes taken from the input buffer */
	int verify;       /* compare against pattern(rx_seed) */
	uint64_t rx_seed;
	int bad;          /* a byte differed from the pattern */
	uint8_t *sink;    /* when set, received bytes are stored here */
	size_t sink_cap;
	int echo;         /* write everything read back */

	/* sending a pattern stream (side_send) */
	uint64_t tx_seed, tx_off, tx_total;
	size_t tx_hwm;    /* refill the output while it holds less */
	size_t max_out;   /* largest output buffer seen after a refill */
	int close_when_sent; /* stream_close(FLUSH) once tx_total is queued */

	void (*on_read)(struct side *d);
	void (*on_event)(struct side *d, short what);
	void (*on_write)(struct side *d);
	void *user;
};

struct fx {
	struct event_base *base;
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct xport_listener *l;
	uint16_t port;
	struct side *sides[FX_MAX_SIDES];
	size_t nsides;
	int accepts;
	int accept_echo;  /* accepted sides echo what they read */
	struct side *last_accepted;
	/* the most recent fx_dial() */
	int in_dial;      /* set while ops->dial runs */
	int dial_sync;    /* a dial callback ran inside dial() */
	int dial_cbs;
	int dial_err;
	int dial_bad;     /* callback broke the contract (s vs err) */
	int dial_pending; /* dial started, callback not yet run */
	struct side *dialed;
	struct xport_dial *dh;
	int relay_pid;    /* $XPORT_RELAY process in front of the listener */
};

/* Fresh event_base + instance (options from $XPORT_OPTS "k=v,k=v"). */
struct fx *fx_new(void);
/* Abort every side not closed yet, free the listener, fini, free all. */
void fx_free(struct fx *f);
/* Listen on 127.0.0.1:0, fill f->l and f->port. */
void fx_listen(struct fx *f);
/* Dial 127.0.0.1:port; returns dial()'s rc. Outcome lands in f->dial_*. */
int fx_dial(struct fx *f, uint16_t port, int timeout_ms);
/* Wait (bounded) until d->rx >= n / until d saw EOF or ERROR. */
int fx_wait_rx(struct fx *f, struct side *d, uint64_t n, int ms);
int fx_wait_event(struct fx *f, struct side *d, int ms);
/* A 127.0.0.1 port nobody listens on: a bound, non-listening TCP socket
 * (returned, to be closed by the caller) keeps it from being reused. */
int fx_dead_port(uint16_t *port);
/* Listen (if needed), dial and wait until both ends exist. */
void fx_pair(struct fx *f, struct side **cli, struct side **srv);
/* Run the loop until pred(arg) is true or ms pass; returns pred's value
 * (1 when pred is NULL, i.e. "just run for ms"). */
int fx_run(struct fx *f, int ms, int (*pred)(void *), void *arg);

/* Wrap a stream the host now owns (callbacks set, EV_READ|EV_WRITE on). */
struct side *side_new(struct fx *f, struct xport_stream *s);
void side_close(struct side *d, int how);
/* Default event handling: take remaining input, record EOF/ERROR. */
void side_event_default(struct side *d, short what);
/* Queue the pattern stream tx_seed from tx_off up to total, keeping at
 * most about hwm bytes in the output buffer. */
void side_send(struct side *d, uint64_t seed, uint64_t total, size_t hwm);
/* Take what the input holds (verify / sink / echo as configured). */
void side_consume(struct side *d);
/* Refill the output from the pattern stream (write-callback path). */
void side_pump(struct side *d);

/* Deterministic byte stream: byte i of stream seed. */
void pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n);

/* Suite assembly (one function per case file). */
void xport_add_life_cases(Suite *s);
void xport_add_data_cases(Suite *s);

#endif
