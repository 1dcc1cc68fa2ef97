/*
 * kcp_core.h - the KCP ARQ protocol core, sans-I/O.
 *
 * Wire compatible with kcp-go 5.6.1 (24-byte little-endian segment header,
 * PUSH/ACK/WASK/WINS) and behaving like kcp-go where kcp-go departs from the
 * original C implementation (docs/kcp-wire.md sections 1-3): RFC 6298-like RTT
 * estimator fed once per datagram, per-ACK fast-ack counting, early
 * retransmit, linear RTO backoff, flush on input when the send window slides,
 * ACK filtering, no fast-retransmit limit.
 *
 * The core owns no socket, timer or clock. The caller passes `now` (a
 * wrapping millisecond counter; only differences are used) to kcp_input() and
 * kcp_flush(), receives datagrams through the output callback, and calls
 * kcp_flush() again after the number of milliseconds it returned.
 *
 * Depends on libc only. Not thread-safe: one control block is used by one
 * thread at a time.
 */
#ifndef KCP_CORE_H
#define KCP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KCP_OVERHEAD 24        /* segment header bytes */
#define KCP_MTU_MIN 50
#define KCP_MTU_MAX 1500       /* largest datagram kcp-go accepts */
#define KCP_MTU_DEF 1400
/* Largest PUSH payload accepted or produced (a full datagram minus one
 * header); longer PUSH segments make kcp_input() reject the datagram. */
#define KCP_MAX_PAYLOAD (KCP_MTU_MAX - KCP_OVERHEAD)
#define KCP_MAX_FRAGMENTS 255  /* message mode: fragments per message */
#define KCP_WND_MAX 65535      /* windows travel in a u16 */

#define KCP_CMD_PUSH 81
#define KCP_CMD_ACK 82
#define KCP_CMD_WASK 83
#define KCP_CMD_WINS 84

/* Offsets of header fields, for code that peeks at raw datagrams (listener
 * demultiplexing reads conv and sn without a control block). */
#define KCP_OFF_CONV 0
#define KCP_OFF_CMD 4
#define KCP_OFF_SN 12

/** One decoded segment header (24 bytes in memory, no padding). */
struct kcp_hdr {
	uint32_t conv;
	uint8_t cmd;
	uint8_t frg;   /* message mode: fragments still to come */
	uint16_t wnd;  /* sender's free receive window, in segments */
	uint32_t ts;   /* PUSH: send time; ACK: echo of the PUSH's ts */
	uint32_t sn;
	uint32_t una;  /* everything below una has been received */
	uint32_t len;  /* payload bytes following the header */
};

/** Writes h as 24 little-endian bytes. */
void kcp_hdr_encode(uint8_t out[KCP_OVERHEAD], const struct kcp_hdr *h);
/** Reads the header at p; -EBADMSG if len < KCP_OVERHEAD. Checks nothing
 *  else (cmd, conv, payload length are the caller's business). */
int kcp_hdr_decode(const uint8_t *p, size_t len, struct kcp_hdr *h);

/**
 * Receives one datagram. buf[0, len) is the datagram; buf[0, reserved) is
 * left for the caller (FEC / crypt headers: the core never reads or writes
 * it; it holds zeros before the first call, then whatever the callee left
 * there last time) and the KCP
 * segments start at buf + reserved. len <= kcp_mtu() except for the one
 * datagram that may follow an MTU/reserved decrease while bigger segments
 * were already queued. The buffer is the control block's scratch area:
 * the callee may modify buf[0, len) in place (encrypt, FEC header) and must
 * copy what it keeps before returning; buf is writable for
 * KCP_MTU_MAX bytes at least. The callee must not call kcp_input, kcp_send,
 * kcp_recv, kcp_flush or kcp_free on the same control block.
 */
typedef void (*kcp_output_cb)(uint8_t *buf, size_t len, void *arg);

/**
 * Settings for kcp_new(). A zeroed struct (or NULL) gives kcp-go's NewKCP
 * defaults: nodelay 0, interval 100, resend 0, nc 0, windows 32/32, mtu
 * 1400, reserved 0, message mode, dead_link 20.
 */
struct kcp_cfg {
	int nodelay;          /* !=0: min RTO 30 ms, RTO backoff + rx_rto/2 */
	int interval;         /* flush period, ms (0 = 100; clamped 10..5000) */
	int resend;           /* fast retransmit after this many skips; 0 off */
	int nc;               /* !=0: no congestion window */
	int snd_wnd, rcv_wnd; /* segments (0 = 32), at most KCP_WND_MAX */
	int mtu;              /* datagram size incl. reserved (0 = 1400) */
	int reserved;         /* bytes kept free at the datagram's start */
	bool stream;          /* stream mode (kcptun) instead of messages */
	uint32_t dead_link;   /* transmissions before kcp_dead() (0 = 20) */
	uint32_t pool_keep;   /* idle payload buffers kept (0 = 64) */
	int congestion;       /* KCP_CC_NONE (kcp-go exact) or KCP_CC_BBR */
};

/* Congestion control (kcp_set_congestion). NONE keeps kcp-go's behaviour
 * exactly (its loss-based cwnd, or none with nc). BBR replaces the cwnd by
 * a model of the path (bottleneck bandwidth x min RTT, kcp_cc.c) and paces
 * transmissions; the wire is unchanged. */
#define KCP_CC_NONE 0
#define KCP_CC_BBR 1

/** The controller's view of the path (all 0 with KCP_CC_NONE). */
struct kcp_cc_info {
	uint64_t btl_bw;      /* estimated bottleneck bandwidth, bytes/s */
	uint64_t pacing_rate; /* bytes/s */
	uint32_t min_rtt;     /* ms, 0 = no sample yet */
	uint32_t inflight;    /* bytes sent and not yet acknowledged */
	uint32_t cwnd;        /* inflight cap, bytes */
	uint32_t state;       /* 0 startup 1 drain 2 probe_bw 3 probe_rtt */
	uint32_t rounds;      /* round trips counted so far */
	bool app_limited;     /* samples now measure the application */
	uint32_t cuts;        /* estimate cut on a standing queue ... */
	uint32_t run_cuts;    /* ... of which on a standing run */
	uint32_t jitter;      /* ms of RTT spread no queue explains */
	uint32_t jitter_max;  /* ... the most it has been */
};

/** Counters, monotonic (kcp-go SNMP names in brackets). */
struct kcp_stats {
	uint64_t out_pkts;          /* datagrams handed to output [OutPkts] */
	uint64_t out_segs;          /* segments encoded, any cmd [OutSegs] */
	uint64_t out_bytes;         /* KCP bytes output, reserved excluded */
	uint64_t in_pkts;           /* datagrams accepted by kcp_input */
	uint64_t in_segs;           /* segments processed [InSegs] */
	uint64_t in_bytes;          /* bytes of accepted datagrams */
	uint64_t in_errs;           /* datagrams rejected [KCPInErrors] */
	uint64_t retrans_segs;      /* fast + early + lost [RetransSegs] */
	uint64_t fast_retrans_segs; /* fastack >= resend [FastRetransSegs] */
	uint64_t early_retrans_segs;/* fastack > 0, window stalled */
	uint64_t lost_segs;         /* RTO expiries [LostSegs] */
	uint64_t repeat_segs;       /* dup/out-of-window PUSH [RepeatSegs] */
};

/** A snapshot of the protocol state, for stats pages and tests. */
struct kcp_info {
	uint32_t conv, mtu, mss, reserved, interval;
	int32_t srtt, rttvar;
	uint32_t rto;
	uint32_t cwnd, ssthresh;
	uint32_t snd_wnd, rcv_wnd, rmt_wnd;
	uint32_t snd_una, snd_nxt, rcv_nxt;
	uint32_t nsnd_que, nsnd_buf, nrcv_buf, nrcv_que;
	size_t rcv_bytes;      /* unread bytes in the receive queue */
	uint32_t probe_wait;   /* current window-probe period, 0 if idle */
	uint32_t pool_free;    /* idle payload buffers held */
	uint32_t nacks;        /* ACKs waiting for the next flush */
	size_t mem;            /* heap bytes held by the control block */
	bool dead;
};

struct kcp;

/** New control block, or NULL with errno EINVAL (bad cfg) or ENOMEM. */
struct kcp *kcp_new(uint32_t conv, const struct kcp_cfg *cfg);
/** Frees everything, including queued data. kcp_free(NULL) is a no-op. */
void kcp_free(struct kcp *kcp);
/** Sets the datagram sink; with none set, datagrams are dropped. */
void kcp_set_output(struct kcp *kcp, kcp_output_cb output, void *arg);

/** kcp-go NoDelay(): a negative argument keeps the current value. interval
 *  is clamped to [10, 5000]; nodelay != 0 sets the minimum RTO to 30 ms
 *  (else 100). Always 0. */
int kcp_nodelay(struct kcp *kcp, int nodelay, int interval, int resend,
		int nc);
/** Window sizes in segments; <= 0 keeps the current value. -EINVAL above
 *  KCP_WND_MAX (nothing changed). */
int kcp_wndsize(struct kcp *kcp, int snd_wnd, int rcv_wnd);
/** MTU_MIN <= mtu <= MTU_MAX and mtu - 24 - reserved >= 1, else -EINVAL.
 *  mss = mtu - 24 - reserved. Segments already queued keep their size. */
int kcp_set_mtu(struct kcp *kcp, int mtu);
/** Bytes to leave free in front of every datagram (FEC + crypt headers);
 *  -EINVAL unless 0 <= n < mtu - 24. */
int kcp_set_reserved(struct kcp *kcp, int n);
void kcp_set_stream(struct kcp *kcp, bool stream);
void kcp_set_dead_link(struct kcp *kcp, uint32_t xmits);

/**
 * Queues len bytes (copied). Message mode: one message, split into at most
 * KCP_MAX_FRAGMENTS segments of mss bytes (-E2BIG beyond). Stream mode:
 * first tops up the last queued, not yet sent segment, then cuts the rest
 * into mss-sized segments; no size limit. Nothing leaves until kcp_flush().
 * Returns 0, -EINVAL for len 0, -E2BIG, -ENOMEM (nothing queued).
 * The caller bounds memory by checking kcp_waitsnd() before sending.
 */
int kcp_send(struct kcp *kcp, const void *buf, size_t len);
/** Message mode: size of the next complete message; stream mode: bytes
 *  readable now. -EAGAIN when nothing is ready. */
ssize_t kcp_peeksize(const struct kcp *kcp);
/**
 * Message mode: copies the next message; -EMSGSIZE if it does not fit in
 * len (nothing consumed). Stream mode: copies up to len bytes, possibly
 * ending inside a segment (the rest stays for the next call). -EAGAIN when
 * nothing is ready. Reading may schedule a WINS window update for the next
 * flush (when the receive queue was full).
 */
ssize_t kcp_recv(struct kcp *kcp, void *buf, size_t len);
/**
 * Stream mode, zero copy: sets *data to the next readable bytes (inside the
 * core's buffer, valid until the next call on kcp) and returns how many are
 * contiguous there, or -EAGAIN; -EINVAL in message mode. Consume them with
 * kcp_read_consume(kcp, n), n <= that count.
 */
ssize_t kcp_read_front(struct kcp *kcp, const uint8_t **data);
void kcp_read_consume(struct kcp *kcp, size_t n);

/**
 * Processes one datagram (KCP bytes only, no reserved prefix). regular is
 * false for datagrams rebuilt by FEC: their wnd fields and ACK timestamps
 * are not trusted (no rmt_wnd update, no RTT sample, no repeat count).
 * ack_nodelay: flush pending ACKs right away (kcp-go SetACKNoDelay).
 * When the send window slid, kcp_flush(now, false) runs from here, so output
 * may be called. A datagram is checked whole before any of it is applied:
 * on error nothing changes except stats.in_errs.
 * Returns 0, -EBADMSG (shorter than a header, or a payload length beyond
 * the datagram), -EMSGSIZE (PUSH payload > KCP_MAX_PAYLOAD), -EPROTO
 * (unknown cmd), -ESRCH (conv differs), -ENOMEM.
 */
int kcp_input(struct kcp *kcp, const uint8_t *data, size_t len, bool regular,
	      bool ack_nodelay, uint32_t now);

/**
 * Sends pending ACKs, window probes, new segments the windows allow and due
 * retransmissions, packed into datagrams of at most mtu bytes (ACKs first,
 * then WASK, WINS, then PUSH in sequence order). ack_only sends ACKs only.
 * Returns the milliseconds until the next call is needed: the interval, or
 * less when a retransmission timer expires sooner.
 */
uint32_t kcp_flush(struct kcp *kcp, uint32_t now, bool ack_only);

/** Segments not yet acknowledged: in flight + queued (kcp-go WaitSnd). */
uint32_t kcp_waitsnd(const struct kcp *kcp);
/** Some segment was transmitted dead_link times (kcp-go state -1). */
bool kcp_dead(const struct kcp *kcp);
uint32_t kcp_conv(const struct kcp *kcp);
uint32_t kcp_mss(const struct kcp *kcp);
/** The payload new segments take now: the MSS, or a few ACKs' worth less
 *  while data flows both ways (their ACKs ride in the data datagrams).
 *  Writes of whole multiples of it fill whole segments. */
uint32_t kcp_seg_len(const struct kcp *kcp);
/** Data flows both ways with the controller on (ACKs then ride in data,
 *  and may wait a moment for it). */
bool kcp_both_ways_now(const struct kcp *kcp, uint32_t now);
/** ACKs waiting for a flush. */
uint32_t kcp_acks_pending(const struct kcp *kcp);
uint32_t kcp_mtu(const struct kcp *kcp);
uint32_t kcp_interval(const struct kcp *kcp);
uint32_t kcp_snd_wnd(const struct kcp *kcp);
uint32_t kcp_rmt_wnd(const struct kcp *kcp);
int32_t kcp_srtt(const struct kcp *kcp);
int32_t kcp_rttvar(const struct kcp *kcp);
uint32_t kcp_rto(const struct kcp *kcp);
const struct kcp_stats *kcp_get_stats(const struct kcp *kcp);
void kcp_get_info(const struct kcp *kcp, struct kcp_info *info);
/** KCP_CC_NONE or KCP_CC_BBR; -EINVAL otherwise. Switch before the
 *  first send. */
int kcp_set_congestion(struct kcp *kcp, int algo);
/** What a datagram costs on the link beyond the bytes the core outputs:
 *  extra bytes each (crypt trailer, IP/UDP headers) and the FEC parity
 *  ratio (ds data + ps parity shards; 0/0 = no FEC). The controller paces
 *  and measures in these link bytes. */
void kcp_set_wire(struct kcp *kcp, uint32_t extra, uint32_t ds, uint32_t ps);
/** Link bytes sent outside kcp_flush (duplicate copies, FEC fillers):
 *  taken from the pacing budget, so later datagrams wait for them. */
void kcp_cc_charge(struct kcp *kcp, size_t bytes, uint32_t now);
/** Whether a second copy of a retransmission is cheap: no controller
 *  (kcp-go's behaviour), or snd_wnd/rmt_wnd, not the path, hold the
 *  sender back (the link has room the window leaves unused). On a path
 *  the pacer holds at its rate, a copy takes the place of new data. */
bool kcp_cc_spare(const struct kcp *kcp);
/** How long the FEC tail guard waits after the last data datagram before
 *  it completes the open group: srtt / 8 within 2-25 ms, and with the
 *  controller at least two full datagrams' time at the estimated
 *  bottleneck rate (at most srtt): the ACK clock's own pause on a slow
 *  link. The controller's wait for FEC counts it too. */
uint32_t kcp_tail_ms(const struct kcp *kcp);
/** Whether ACKs are due to free room under the inflight cap: it binds, an
 *  RTT sample exists, and a delivery came within the last srtt (at least
 *  the ACK clock's pause behind a parity burst: kcp_cc_lost_stall's span
 *  is the complement). The data
 *  they let out completes the open FEC group, so the tail guard waits:
 *  while a queue drains after STARTUP or a cut, the sender pauses for 1.3
 *  datagrams of deliveries per datagram, and filling those pauses cost a
 *  tenth more link bytes per byte at 1 Mbit/s. */
bool kcp_cc_acks_due(const struct kcp *kcp, uint32_t now);
/** FEC parity datagrams of `bytes` (as output, reserved prefix included)
 *  that the FEC layer emits right after a group's last data shard. Once a
 *  session calls this, the pacer charges data datagrams their own link
 *  bytes and parity here, instead of scaling every datagram by the parity
 *  ratio: the pause for the parity then comes right after the group, while
 *  the parity burst serializes, not spread over the next group. A parity
 *  datagram pays only for the data datagrams of its group (a group of ACK
 *  datagrams' parity is not the data's). kcp.so calls it. */
void kcp_cc_parity(struct kcp *kcp, size_t bytes, uint32_t now);
/** Segments kcp_waitsnd() may reach before the caller stops queueing:
 *  min(snd_wnd, rmt_wnd), and with BBR also what is in flight plus 2 ms
 *  of pacing and 8 segments (memory follows what the path holds, the
 *  windows are ceilings, and data written later waits a few ms). */
uint32_t kcp_send_limit(const struct kcp *kcp);
/** The application holds more data than kcp_send_limit() let it queue
 *  (kcp.so: bytes waiting in its pair). A flush that then empties the
 *  queue is the limit's doing, not the application's: its samples are
 *  not marked application-limited. Set before each flush. */
void kcp_set_backlog(struct kcp *kcp, bool more);
/** Bytes the application should keep queued above the session (kcp.so's
 *  pair, and the layers its host stacks on it): about 5 ms of what leaves
 *  per second (the pacing rate, or cwnd per RTT while the window binds),
 *  at least 4 KiB. Whatever waits there waits for every later write, so a
 *  small message written behind bulk data waits that long, not a fixed
 *  buffer's worth at a low rate. 0 with the controller off (no opinion). */
uint32_t kcp_host_goal(const struct kcp *kcp);
/** Milliseconds until the pacer lets the next datagram go, when
 *  something is waiting for it; UINT32_MAX when nothing is. */
uint32_t kcp_pace_wait(const struct kcp *kcp, uint32_t now);
void kcp_get_cc(const struct kcp *kcp, struct kcp_cc_info *info);

/** Returns the idle payload buffers to the allocator (e.g. when a session
 *  goes quiet); the pool refills on demand. */
void kcp_trim(struct kcp *kcp);

#endif
