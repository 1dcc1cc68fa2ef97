/*
 * mux.h - yamux (frp's tcpMux) over one byte stream.
 *
 * Wire: 12-byte big-endian header version(0) type(0 data, 1 window update,
 * 2 ping, 3 go-away) flags(u16: SYN 1, ACK 2, FIN 4, RST 8) stream_id(u32)
 * length(u32). Client streams are odd, server streams even. Every stream
 * starts with a 256 KiB receive window; we advertise up to max_stream_window
 * (frp: 6 MiB) with window updates. Ping with SYN is answered with ACK and the
 * same opaque value; go-away ends the session.
 *
 * Each stream is handed to the user as one end of a bufferevent_pair; the mux
 * drives the other end. Peer FIN or RST (or the session dying) shows up as
 * BEV_EVENT_EOF on the user's end. Backpressure: when a stream's send window
 * is exhausted the mux stops reading the user's writes (they stay in the
 * user's output evbuffer); receive windows are only re-opened as the user
 * drains its input.
 *
 * The user's end starts with EV_WRITE enabled and EV_READ disabled: incoming
 * data waits inside the mux until the user enables EV_READ (like a socket
 * bufferevent). libevent drops an event raised while no event callback is
 * set, so set callbacks before returning to the loop, or check
 * mux_stream_peer_closed() when setting them later. Pair callbacks are
 * deferred, so run the loop once after freeing sessions/streams before
 * event_base_free() (it drops pending deferred callbacks, leaking their
 * bufferevents).
 *
 * Sans-I/O core: mux_frame_* encode/decode headers for tests and fuzzing.
 */
#ifndef MUX_H
#define MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;

#define MUX_HDR_LEN 12
#define MUX_INITIAL_WINDOW (256u * 1024u)

enum mux_type { MUX_DATA = 0, MUX_WINDOW_UPDATE = 1, MUX_PING = 2, MUX_GO_AWAY = 3 };
enum mux_flag { MUX_SYN = 1, MUX_ACK = 2, MUX_FIN = 4, MUX_RST = 8 };

struct mux_frame {
	uint8_t version, type;
	uint16_t flags;
	uint32_t stream_id, length;
};

/** Write the 12-byte header. */
void mux_frame_encode(const struct mux_frame *f, uint8_t out[MUX_HDR_LEN]);
/** Parse a header; -EPROTO on version != 0 or type > 3. */
int mux_frame_decode(const uint8_t in[MUX_HDR_LEN], struct mux_frame *f);

struct mux_config {
	uint32_t max_stream_window; /**< default 6 MiB (frp) */
	int keepalive_interval_ms;  /**< 0 = no pings; default 30000 */
	int keepalive_timeout_ms;   /**< session dies if a ping gets no answer
				       (and nothing else arrives) this long;
				       default 2 * interval; only used when
				       pings are on */
	int max_streams;            /**< cap on open streams (default 4096) */
};
void mux_config_default(struct mux_config *c);

struct mux_session;
struct mux_stream;

/** A peer-opened stream; the user owns s (must mux_stream_close it). */
typedef void (*mux_accept_cb)(struct mux_stream *s, void *arg);
/** The session ended (peer go-away, protocol error, keepalive timeout or
 *  EOF/error on the underlying stream). err is 0 or -errno. Called once;
 *  the user then frees the session (may do so from inside this callback). */
typedef void (*mux_closed_cb)(struct mux_session *m, int err, void *arg);

/** Run yamux over `under`. Borrows under: sets its callbacks and
 *  watermarks (read high 1 MiB, write low 32 KiB) and owns them until
 *  mux_session_free; the caller still owns and finally closes it, after
 *  freeing the session. Bytes already in under's input are parsed from the
 *  loop, never inside this call. */
struct mux_session *mux_session_new(struct event_base *base,
				    struct bufferevent *under, bool is_client,
				    const struct mux_config *cfg,
				    mux_accept_cb accept_cb, mux_closed_cb closed_cb,
				    void *arg);
/** Free the session: a live session sends go-away (normal); every open
 *  stream sees EOF; the user's stream handles stay valid until they close
 *  them. under is detached on return (callbacks cleared). Safe inside the
 *  session's callbacks (memory freed when they return); closed_cb is not
 *  called for an explicit free. NULL no-op. */
void mux_session_free(struct mux_session *m);
/** What the transport under the session asks to have queued above it
 *  (frpc/frps: chan_send_goal of the carrier), asked before each stream's
 *  turn: while it is less than the 32 KiB high mark, framing stops at that
 *  much in under's output and data frames are no larger (not below 1 KiB),
 *  so a small write on one stream waits behind a few ms of the others.
 *  0 from goal, or no goal, keeps the fixed bounds. */
void mux_session_set_goal(struct mux_session *m, size_t (*goal)(void *arg),
			  void *arg);
/** Open a stream (sends SYN). NULL when the session is closed or full. */
struct mux_stream *mux_open(struct mux_session *m);
/** Monotonic ms of the last frame received (for liveness checks). */
uint64_t mux_last_rx_ms(const struct mux_session *m);
size_t mux_stream_count(const struct mux_session *m);
/** False once the session has ended (closed_cb ran or is running). */
bool mux_session_alive(const struct mux_session *m);

/** Per-session counters. A bad or stray frame costs one increment. */
struct mux_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out; /**< stream payload bytes */
	uint64_t discarded;  /**< payload bytes no open stream took */
	uint64_t ignored;    /**< frames for unknown/closed streams, stray flags */
	uint64_t refused;    /**< peer SYNs answered with RST (full, no acceptor) */
	uint64_t streams_opened, streams_accepted;
	uint64_t pings_out, pings_in;
};
void mux_session_stats(const struct mux_session *m, struct mux_stats *st);

/** The user's end of the stream. Valid until mux_stream_close(). */
struct bufferevent *mux_stream_bev(struct mux_stream *s);
uint32_t mux_stream_id(const struct mux_stream *s);
/** True once the peer sent FIN or RST on s, or the session ended: EOF was
 *  signalled on the user's end. libevent drops the event when no event
 *  callback is set at that moment, so a user that sets callbacks late (a
 *  pooled stream) checks this. */
bool mux_stream_peer_closed(const struct mux_stream *s);
/** how: 0 = send what was written then FIN, 1 = RST now. Safe from the
 *  stream's own callbacks. */
void mux_stream_close(struct mux_stream *s, int how);

#endif
