/*
 * tls.h - TLS (mbedTLS) as a core stream layer over any transport stream,
 * as frp wraps TCP and KCP alike.
 *
 * The layer owns an underlying bufferevent (a transport stream's, or any
 * other) and exposes one upward: one end of a bufferevent_pair that it
 * drives itself, with mbedTLS talking to the underlying buffers through
 * bio callbacks (the pattern of libevent's bufferevent_openssl filter
 * mode). Handshake state never leaks above it: the upper side may write at
 * once (bytes wait for the handshake) and sees plaintext, EOF or an error.
 *
 * Configuration (struct tls_config) is built once at start and shared by
 * every stream; it holds the certificates, the CA chain and the RNG.
 * Verification follows frp: a client verifies the server only when a CA
 * file is given (then chain and name); a server asks for client
 * certificates only when it has a CA file (then they are required).
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct bufferevent;
struct chan;
struct tls_config;
struct tls_stream;

/** frp's custom first byte, sent before the ClientHello when a client has
 *  disableCustomTLSFirstByte = false. */
#define TLS_FRP_FIRST_BYTE 0x17
/** First byte of a TLS handshake record. */
#define TLS_HANDSHAKE_BYTE 0x16
/** A handshake must finish within this time (as frp's 10 s read deadline). */
#define TLS_HANDSHAKE_TIMEOUT_MS 10000

struct tls_config_opts {
	bool server;
	const char *cert_file;   /**< PEM/DER; with key_file, or both NULL/"" */
	const char *key_file;
	/** Client: verify the server's chain against it (and its name).
	 *  Server: require client certificates signed by it. NULL/"" = no
	 *  verification (frp's behaviour). */
	const char *ca_file;
	/** Client: the name the server certificate must carry (DNS name or IP
	 *  literal, matched against its subjectAltName / CN); also sent as
	 *  SNI when it is a DNS name. */
	const char *server_name;
};

/** Build a config. A server without cert_file/key_file gets a fresh
 *  self-signed ECDSA P-256 certificate, in memory. 0 or -errno; err has
 *  one line naming the file at fault. */
int tls_config_new(const struct tls_config_opts *o, struct tls_config **out,
		   char *err, size_t errlen);
void tls_config_free(struct tls_config *c);
/** True when the config verifies the peer (a CA file was given). */
bool tls_config_verifies(const struct tls_config *c);
/** True when a server config made its own certificate. */
bool tls_config_self_signed(const struct tls_config *c);

/** Close the underlying stream (how: XPORT_CLOSE_FLUSH / _ABORT). Runs
 *  once, when the layer is done with it. */
typedef void (*tls_release_cb)(void *arg, int how);

/** Start TLS over under (borrowed until release runs; the layer sets its
 *  callbacks and watermarks). A client starts the handshake at once
 *  (after the 0x17 byte when custom_first_byte); a server waits for the
 *  ClientHello. peer is copied for log lines. NULL on failure (under is
 *  untouched, release not called). */
struct tls_stream *tls_stream_new(struct event_base *base,
				  const struct tls_config *cfg,
				  struct bufferevent *under,
				  bool custom_first_byte, const char *peer,
				  tls_release_cb release, void *release_arg);
/** The plaintext side. Owned by the stream; the user sets callbacks,
 *  watermarks and enables, never frees it. EOF = the peer's close_notify
 *  or the underlying EOF; BEV_EVENT_ERROR = handshake failure, timeout,
 *  a bad record or the underlying error (one log line says which). */
struct bufferevent *tls_stream_bev(struct tls_stream *t);
/** What the stream under us asks to have queued above it, asked before
 *  each batch of records (tls_chan_wrap: chan_send_goal of the inner
 *  chan): while it is less than two records, at most that much ciphertext
 *  waits below us and records are cut that small (not below 1 KiB).
 *  0 from goal, or no goal, keeps the fixed bounds. */
void tls_stream_set_goal(struct tls_stream *t, size_t (*goal)(void *arg),
			 void *arg);
/** True once the handshake finished. */
bool tls_stream_established(const struct tls_stream *t);
/** End the stream: FLUSH encrypts what the user wrote, sends
 *  close_notify, then releases the underlying stream with FLUSH; ABORT
 *  drops everything. Safe from the user's callbacks. NULL no-op. */
void tls_stream_close(struct tls_stream *t, int how);

/** The failure the stream logged (handshake, verification, a bad record),
 *  or NULL while it is fine. Valid until the stream is closed. */
const char *tls_stream_error(const struct tls_stream *t);
/** Same for a chan: NULL unless ch is a TLS chan that failed. */
const char *tls_chan_error(const struct chan *ch);

/** Wrap a chan in TLS (takes inner). The new chan's bev is the plaintext
 *  side; chan_close on it closes TLS, then inner; chan_stats reports
 *  inner's transport. NULL on OOM (inner is then closed). */
struct chan *tls_chan_wrap(struct event_base *base, const struct tls_config *cfg,
			   struct chan *inner, bool custom_first_byte);

/* ---- first-byte sniffing (frps) ---------------------------------------- */

enum tls_sniff_kind {
	TLS_SNIFF_PLAIN = 0,  /**< anything else: plain frp */
	TLS_SNIFF_TLS,        /**< 0x16: a ClientHello (left in the input) */
	TLS_SNIFF_TLS_CUSTOM, /**< 0x17: frp's byte (consumed), TLS follows */
};
/** Classify a first byte. */
enum tls_sniff_kind tls_sniff_classify(uint8_t first);

/** The first byte arrived (ch is handed back, callbacks cleared, the byte
 *  still in its input unless it was frp's 0x17), or the stream ended or
 *  timed out first (ch == NULL, already closed; err -errno). */
typedef void (*tls_sniff_cb)(struct chan *ch, enum tls_sniff_kind kind,
			     int err, void *arg);
struct tls_sniff;
/** Wait for ch's first byte (takes ch) for at most timeout_ms; cb runs
 *  exactly once, from the loop, unless cancelled first. NULL on OOM (ch
 *  is then closed and cb will not run). The caller bounds how many sniffs
 *  wait at once. */
struct tls_sniff *tls_sniff(struct event_base *base, struct chan *ch,
			    int timeout_ms, tls_sniff_cb cb, void *arg);
/** Stop waiting: ch is closed, cb does not run. */
void tls_sniff_cancel(struct tls_sniff *s);

#endif
