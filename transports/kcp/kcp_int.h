/*
 * kcp_int.h - internals of kcp.so shared by its files: the plugin instance,
 * UDP sockets with batched I/O, listeners and sessions.
 *
 * Data path of one session:
 *   host writes -> user end of a bufferevent_pair -> our end's input ->
 *   kcp_send (while the KCP send window has room) -> kcp_flush -> output:
 *   FEC encode -> crypt seal -> socket tx batch -> sendmmsg.
 *   recvmmsg -> crypt open -> FEC decode -> kcp_input -> kcp_read_front ->
 *   our end's output (bounded) -> pair -> user end's input.
 * Backpressure: a full KCP window stops reading our end (the host's output
 * grows and its watermarks act); a full pair stops draining KCP, whose
 * receive window then shrinks and slows the peer.
 */
#ifndef KCP_INT_H
#define KCP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fec.h"
#include "kcp_core.h"
#include "kcp_crypt.h"
#include "kcp_opts.h"
#include "xport.h"

#define KCP_PKT_MAX 1500     /* largest datagram on the wire (kcp-go) */
#define KCP_BATCH 32         /* datagrams per recvmmsg/sendmmsg */
#define KCP_CMD_FIN_EXT 85   /* our close notice; kcp-go ignores it */

extern const struct xport_host *kcp_host;

#define KLOG(level, ...) kcp_host->log(level, "kcp", __VA_ARGS__)

struct event;
struct bufferevent;
struct kcp_sess;
struct kcp_lsn;

/** One plugin instance (init .. fini). */
struct xport_ctx {
	struct event_base *base;
	struct kcp_opts opts;
	uint8_t pass[KCP_CRYPT_KEY_LEN]; /* derived key */
	bool use_crypt;                  /* opts.crypt != "null" */
	struct kcp_sess *sessions;       /* every live session */
	size_t nsessions;
	struct event *sweep;             /* 1 Hz: idle timeouts */
};

/** A UDP socket with a transmit batch. Owned by a listener or by one
 *  dialed session. */
struct kcp_sock {
	int fd;
	bool connected;     /* dialed: send() without address */
	struct event *ev;   /* EV_READ */
	unsigned ntx;
	struct mmsghdr tx[KCP_BATCH];
	struct iovec txiov[KCP_BATCH];
	struct sockaddr_storage txaddr[KCP_BATCH];
	uint8_t txbuf[KCP_BATCH][KCP_PKT_MAX + 32];
	uint64_t tx_dropped;
	/* slots whose cipher pass waits for the batch (kcp_crypt_seal_begin) */
	struct kcp_crypt *seal_crypt;
	bool seal_next;
	bool seal_later[KCP_BATCH];
	unsigned nseal;
};

int kcp_sock_open(struct kcp_sock *s, int family, int sock_buf);
void kcp_sock_close(struct kcp_sock *s);
/** A slot to build the next datagram in (flushes the batch when full). */
uint8_t *kcp_sock_slot(struct kcp_sock *s);
/** Queue the slot from kcp_sock_slot() with len bytes, to addr (ignored
 *  on a connected socket). */
void kcp_sock_commit(struct kcp_sock *s, size_t len,
		     const struct sockaddr_storage *addr, socklen_t alen);
/** The next committed slot still needs crypt's cipher pass: it is done for
 *  all such slots together right before they are sent. */
void kcp_sock_seal_later(struct kcp_sock *s, struct kcp_crypt *crypt);
/** Send everything queued (sendmmsg). */
void kcp_sock_uncork(struct kcp_sock *s);

/** Session life. */
enum kcp_sess_state {
	KS_DIALING,  /* probing the peer; host has no stream yet */
	KS_OPEN,
	KS_CLOSING,  /* host closed with FLUSH: drain, then free */
	KS_DEAD,     /* freed on the next loop turn */
};

struct kcp_sess {
	struct xport_ctx *ctx;
	struct kcp_lsn *lsn;          /* accepted on this listener, or NULL */
	struct kcp_sock *sock;        /* lsn's socket or our own (dialed) */
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint32_t conv;
	enum kcp_sess_state state;
	bool host_owns;               /* host holds the xport_stream */
	bool eof_sent;                /* EOF delivered to the host */
	bool fin_seen;
	bool timer_armed;
	bool touched;                 /* in the listener's ack batch */
	bool sent_any;                /* max_sn_sent is valid */
	uint32_t max_sn_sent;         /* highest PUSH sn sent so far */
	uint32_t una_sent;            /* una of the last ACK datagram sent */
	struct kcp *kcp;
	struct fec_encoder *fenc;
	struct fec_decoder *fdec;
	struct kcp_crypt *crypt;
	struct kcp_replay replay;
	size_t hdr;                   /* crypt header + FEC header bytes */
	size_t crypt_hdr;
	struct bufferevent *user;     /* the host's end of the pair */
	struct bufferevent *mine;     /* ours */
	struct event *timer;          /* next KCP wake-up */
	uint64_t timer_at;            /* when it fires (host ms) */
	struct event *reaper;         /* deferred free */
	struct event *tail;           /* FEC tail guard, see tail_cb */
	bool tail_armed;
	uint64_t part_ms;             /* since when the pair holds part of a
				       * segment behind bulk (0: it does not) */
	uint64_t data_shards;         /* data datagrams through the encoder */
	uint64_t tail_mark;           /* data_shards when tail was armed */
	uint64_t tail_fills;          /* filler datagrams sent */
	uint64_t last_rx_ms;
	uint64_t close_deadline_ms;
	/* dialing */
	xport_dial_cb dial_cb;
	void *dial_arg;
	uint64_t dial_deadline_ms;
	uint64_t next_probe_ms;
	/* counters */
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out, crypt_fail, bad_pkts;
	uint32_t pair_lim;            /* our end's read high watermark */
	/* links */
	struct kcp_sess *next, *prev;   /* ctx->sessions */
	struct kcp_sess *hnext;         /* listener hash chain */
};

/** xport_stream and xport_dial are sessions seen from the host. */
struct xport_stream { struct kcp_sess s; };
struct xport_dial { struct kcp_sess s; };

struct kcp_lsn_stats {
	uint64_t datagrams, bad_packets, crypt_failures, sessions_created,
		sessions_refused, no_session;
};

struct kcp_lsn {
	struct xport_ctx *ctx;
	struct kcp_sock sock;
	uint16_t port;
	xport_accept_cb cb;
	void *arg;
	struct kcp_crypt *crypt;     /* shared by the listener's sessions */
	struct kcp_sess **buckets;
	size_t nbuckets, count;
	struct kcp_lsn_stats st;
	struct kcp_sess *touched[KCP_BATCH]; /* sessions fed this batch */
	unsigned ntouched;
	bool closed;                 /* listener_free called: no new sessions;
					freed with the last session */
	int busy;                    /* inside lsn_read */
	uint8_t rxbuf[KCP_BATCH][KCP_PKT_MAX + 1];
	struct sockaddr_storage rxaddr[KCP_BATCH];
};

/* kcp_sess.c */
struct kcp_sess *kcp_sess_new(struct xport_ctx *ctx, struct kcp_lsn *lsn,
			      struct kcp_sock *sock, uint32_t conv, bool dialed,
			      struct kcp_crypt *crypt, char *err, size_t errlen);
/** Process one received datagram (still encrypted). */
void kcp_sess_input(struct kcp_sess *s, uint8_t *pkt, size_t len);
/** Payload already decrypted (listener path): pkt is the plaintext. */
void kcp_sess_input_plain(struct kcp_sess *s, const uint8_t *pkt, size_t len);
/** After one datagram: move data between KCP and the host. */
void kcp_sess_after_io(struct kcp_sess *s);
/** After a whole receive batch: send the ACKs it produced in one go. */
void kcp_sess_ack_batch(struct kcp_sess *s);
/** Tell the host the stream ended (EOF on its end). */
void kcp_sess_eof(struct kcp_sess *s);
/** Schedule the free (safe anywhere). */
void kcp_sess_kill(struct kcp_sess *s);
void kcp_sess_destroy(struct kcp_sess *s);
void kcp_sess_send_probe(struct kcp_sess *s);
/** Packets the session's FEC decoder rebuilt (0 without FEC). */
uint64_t kcp_sess_fec_recovered(const struct kcp_sess *s);

/* kcp_lsn.c */
int kcp_lsn_open(struct kcp_lsn *l, const struct sockaddr_storage *a,
		 socklen_t alen, char *err, size_t errlen);
void kcp_lsn_remove(struct kcp_lsn *l, struct kcp_sess *s);
void kcp_lsn_close(struct kcp_lsn *l);
void kcp_lsn_destroy(struct kcp_lsn *l);

#endif
