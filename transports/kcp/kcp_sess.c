/*
 * kcp_sess.c - one KCP session: the protocol core, FEC, crypt, the
 * bufferevent pair the host sees, and the session's own timer.
 *
 * Reentrancy: the pair is created with BEV_OPT_DEFER_CALLBACKS, so host
 * callbacks never run on our stack; the only host calls made from here are
 * the dial and accept callbacks, after which we re-check the state. Frees
 * are deferred to the reaper event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kcp_int.h"

/* Our end's output (bytes for the host not yet moved through the pair)
 * beyond which we stop draining KCP; its receive window then closes. */
#define RCV_LIMIT (1u << 20)
/* Most host bytes the pair may park in our end's input: the pair moves a
 * host write across synchronously, so without this bound a fast writer
 * would never see its own output fill up. Small: KCP's own send queue
 * (kcp_send_limit: a few ms of pacing ahead) keeps the sender fed,
 * and whatever parks here delays every stream multiplexed above us; not
 * smaller: every refill runs a flush over the whole send buffer (16 KiB
 * cost a quarter more CPU per byte on a window-bound link). */
#define SND_LIMIT (64u << 10)
/* ... and with the controller, only what kcp_host_goal asks for (a few
 * ms of the send rate) while that is less: at a low rate, or in STARTUP's
 * first rounds, 64 KiB would hold a small message for seconds. */
#define CLOSE_LINGER_MS 30000
#define PROBE_EVERY_MS 250
#define FIN_COPIES 3
/* una may run ahead of one datagram's ACKs by this much without a hole
 * having been filled (a receive batch's ACKs split over datagrams). */
#define UNA_JUMP_SLACK 16

static uint32_t now32(void) { return (uint32_t)kcp_host->now_ms(); }

static void emit(struct kcp_sess *s, const uint8_t *buf, size_t len)
{
	if (!s->sock)
		return; /* replaced by a newer session of the same peer */
	uint8_t *slot = kcp_sock_slot(s->sock);
	memcpy(slot, buf, len);
	size_t out = len;
	if (s->crypt) {
		bool later;
		ssize_t r = kcp_crypt_seal_begin(s->crypt, slot, len,
						 KCP_PKT_MAX + 32, &later);
		if (r < 0)
			return;
		out = (size_t)r;
		if (later)
			kcp_sock_seal_later(s->sock, s->crypt);
	}
	kcp_sock_commit(s->sock, out, &s->peer, s->peerlen);
	s->pkts_out++;
}

/* Send a datagram twice when losing it would stall the stream for an RTO:
 * - interactive traffic (few segments in flight) gains nothing from FEC
 *   groups that fill slowly, so p% loss becomes p^2;
 * - a retransmission (a PUSH below the highest sn already sent) sits at the
 *   head of the window: losing it again blocks everything behind it. With
 *   FEC off, not while the controller paces at the path's rate
 *   (kcp_cc_spare): there every loss is retransmitted, the copy displaces
 *   new data and at 5 % loss costs 5 % of the link, while a lost
 *   retransmission is found again by the skips behind it. With FEC on,
 *   retransmissions are the rare losses FEC could not rebuild: the copies
 *   cost little and keep the stall short;
 * - the ACK datagram that reports a hole filled (una jumps by more than the
 *   ACKs it carries): the sender is usually stalled on that hole and sends
 *   nothing new until it hears, so losing it costs the sender an RTO.
 * Fresh bulk data is never duplicated. The receiver drops the copy (same
 * FEC seqid, same KCP sn), so this is wire-neutral. */
static bool want_dup(struct kcp_sess *s, const uint8_t *kcpb, size_t len,
		     bool *bare)
{
	int lim = s->ctx->opts.latency_dup;
	bool interactive = lim > 0 && kcp_waitsnd(s->kcp) <= (uint32_t)lim;
	bool dup = false;
	uint32_t acks = 0, una = 0;
	*bare = true;
	while (len >= KCP_OVERHEAD) {
		struct kcp_hdr h;
		kcp_hdr_decode(kcpb, len, &h);
		*bare = *bare && h.cmd == KCP_CMD_ACK;
		if (h.cmd == KCP_CMD_ACK) {
			acks++;
			una = h.una;
		} else if (h.cmd == KCP_CMD_PUSH) {
			if (s->sent_any && (int32_t)(h.sn - s->max_sn_sent) < 0)
				dup = dup || (s->ctx->opts.resend_dup &&
					      (s->fenc || kcp_cc_spare(s->kcp)));
			else {
				s->max_sn_sent = h.sn;
				s->sent_any = true;
			}
			dup = dup || interactive;
		}
		if (h.len > len - KCP_OVERHEAD)
			break;
		kcpb += KCP_OVERHEAD + h.len;
		len -= KCP_OVERHEAD + h.len;
	}
	if (acks) {
		if ((int32_t)(una - s->una_sent) > (int32_t)(acks + UNA_JUMP_SLACK))
			dup = dup || s->ctx->opts.resend_dup;
		if ((int32_t)(una - s->una_sent) > 0)
			s->una_sent = una;
	}
	return dup;
}

/* One datagram through the FEC encoder (copies times), then the group's
 * parity when it completes the group. */
static int fec_emit(struct kcp_sess *s, uint8_t *buf, size_t len, int copies)
{
	int np = fec_encoder_encode(s->fenc, buf, len);
	if (np < 0)
		return np;
	s->data_shards++;
	/* the core paid for one copy; extra copies come out of the pacing
	 * budget */
	if (copies > 1)
		kcp_cc_charge(s->kcp, (size_t)(copies - 1) * len, now32());
	while (copies-- > 0)
		emit(s, buf, len);
	for (int i = 0; i < np; i++) {
		size_t plen;
		const uint8_t *p = fec_encoder_parity(s->fenc, i, &plen);
		/* the pacer pays for parity as it leaves, after the
		 * group's last data datagram (kcp_cc_parity) */
		if (p) {
			kcp_cc_parity(s->kcp, plen, now32());
			emit(s, p, plen);
		}
	}
	return 0;
}

/* KCP core output: buf = [crypt header][FEC header][KCP segments].
 *
 * With the controller, while we send bulk data, a datagram of ACKs only
 * leaves without its FEC header and outside the groups: in a group of
 * full data shards its parity is three tenths of a full datagram (parity
 * is as long as the group's longest shard), and the ACKs of a download's
 * small requests were a tenth of the link bytes per byte at 1 Mbit/s. A
 * lost ACK datagram costs little: the next one repeats its ACKs above una
 * (kcp_core_arq.c, acks_out). A session that only receives keeps its ACKs
 * in groups of their own, whose parity is as short as they are. kcp-go
 * tells FEC datagrams by their type field, so a bare KCP datagram is an
 * ordinary one to it, as to us (kcp_sess_input_plain). */
static void sess_output(uint8_t *buf, size_t len, void *arg)
{
	struct kcp_sess *s = arg;
	bool bare = false;
	bool dup = len > s->hdr && want_dup(s, buf + s->hdr, len - s->hdr, &bare);
	if (s->fenc && bare && s->ctx->opts.congestion == KCP_CC_BBR &&
	    kcp_waitsnd(s->kcp) > (uint32_t)s->ctx->opts.latency_dup) {
		memmove(buf + s->crypt_hdr, buf + s->hdr, len - s->hdr);
		len -= s->hdr - s->crypt_hdr;
	} else if (s->fenc) {
		fec_emit(s, buf, len, dup ? 2 : 1);
		return;
	}
	emit(s, buf, len);
	if (dup) {
		kcp_cc_charge(s->kcp, len, now32());
		emit(s, buf, len);
	}
}

/* FEC tail guard. Parity goes out only when a group's data shards are all
 * sent, so the last datagrams before a pause travel unprotected: when the
 * sender then stalls (window full behind a hole, or the host has nothing
 * more to send), a loss among them is only found by an RTO, and with a full
 * window that RTO stalls the whole stream once more. So when bulk data is
 * in flight and no data datagram has gone out for a few milliseconds, the
 * open group is completed with copies of its own shards (the receiver drops
 * the duplicate segments) and its parity follows. Wire-neutral: every
 * datagram is an ordinary FEC data or parity shard. */
static bool tail_exposed(struct kcp_sess *s)
{
	/* Data the pacer holds back completes the group soon enough: a
	 * paced sender pauses between datagrams all the time, and filling
	 * each pause would spend the pacing budget on copies. */
	return s->fenc && s->ctx->opts.tail_guard &&
	       fec_encoder_pending(s->fenc) > 0 &&
	       kcp_waitsnd(s->kcp) > (uint32_t)s->ctx->opts.latency_dup &&
	       kcp_pace_wait(s->kcp, now32()) == UINT32_MAX &&
	       !kcp_cc_acks_due(s->kcp, now32());
}

static void tail_arm(struct kcp_sess *s)
{
	if (s->tail_armed || !tail_exposed(s))
		return;
	uint32_t ms = kcp_tail_ms(s->kcp);
	struct timeval tv = {0, (suseconds_t)ms * 1000};
	s->tail_mark = s->data_shards;
	s->tail_armed = true;
	evtimer_add(s->tail, &tv);
}

static void tail_fill(struct kcp_sess *s)
{
	uint8_t buf[KCP_PKT_MAX + 32];
	int n = fec_encoder_pending(s->fenc);
	/* newest first: the last shard before the pause is the one most often
	 * left without anything after it */
	for (int i = n - 1; fec_encoder_pending(s->fenc) > 0; i = i ? i - 1 : n - 1) {
		size_t slen;
		const uint8_t *sh = fec_encoder_shard(s->fenc, i, &slen);
		size_t off = s->crypt_hdr + FEC_HEADER_SIZE;
		if (!sh || off + slen > sizeof(buf))
			return;
		memcpy(buf + off, sh, slen);
		/* fillers are link bytes like any other: the pacer pays */
		kcp_cc_charge(s->kcp, off + slen, now32());
		if (fec_emit(s, buf, off + slen, 1) < 0)
			return;
		s->tail_fills++;
	}
}

static void tail_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct kcp_sess *s = arg;
	s->tail_armed = false;
	if (s->state == KS_DEAD || !tail_exposed(s))
		return;
	if (s->data_shards != s->tail_mark) {
		tail_arm(s); /* still sending: look again later */
		return;
	}
	tail_fill(s);
	if (s->sock)
		kcp_sock_uncork(s->sock);
}

/* A bare control segment (WASK probe or our FIN) in its own datagram. */
static void send_ctrl(struct kcp_sess *s, uint8_t cmd, bool via_fec)
{
	uint8_t buf[KCP_PKT_MAX + 32];
	struct kcp_hdr h = {.conv = s->conv, .cmd = cmd, .wnd = 0, .ts = now32()};
	if (via_fec) {
		kcp_hdr_encode(buf + s->hdr, &h);
		sess_output(buf, s->hdr + KCP_OVERHEAD, s);
	} else {
		kcp_hdr_encode(buf + s->crypt_hdr, &h);
		emit(s, buf, s->crypt_hdr + KCP_OVERHEAD);
	}
}

void kcp_sess_send_probe(struct kcp_sess *s) { send_ctrl(s, KCP_CMD_WASK, true); }

static void arm(struct kcp_sess *s, uint32_t ms)
{
	if (s->state == KS_DEAD)
		return;
	tail_arm(s);
	/* the pacer may want the core sooner than the caller thinks */
	uint32_t pace = kcp_pace_wait(s->kcp, now32());
	if (pace < ms)
		ms = pace;
	uint64_t at = kcp_host->now_ms() + ms;
	if (s->timer_armed && at >= s->timer_at)
		return;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(s->timer, &tv);
	s->timer_armed = true;
	s->timer_at = at;
}

/* Move what KCP has in order to the host, bounded by RCV_LIMIT. */
static bool drain_recv(struct kcp_sess *s)
{
	struct evbuffer *out = bufferevent_get_output(s->mine);
	bool moved = false;
	while (evbuffer_get_length(out) < RCV_LIMIT) {
		const uint8_t *data;
		ssize_t n = kcp_read_front(s->kcp, &data);
		if (n == -EINVAL) { /* message mode */
			uint8_t tmp[KCP_PKT_MAX * 4];
			n = kcp_recv(s->kcp, tmp, sizeof(tmp));
			if (n <= 0)
				break;
			evbuffer_add(out, tmp, (size_t)n);
		} else {
			if (n <= 0)
				break;
			evbuffer_add(out, data, (size_t)n);
			kcp_read_consume(s->kcp, (size_t)n);
		}
		s->bytes_in += (uint64_t)n;
		moved = true;
	}
	return moved;
}

/* The pair's read limit follows the goal (SND_LIMIT without one). */
static void pair_limit(struct kcp_sess *s)
{
	uint32_t lim = kcp_host_goal(s->kcp);

	if (!lim || lim > SND_LIMIT)
		lim = SND_LIMIT;
	if (lim != s->pair_lim) {
		s->pair_lim = lim;
		bufferevent_setwatermark(s->mine, EV_READ, 0, lim);
	}
}

/* Feed the host's bytes into KCP while the send window has room. In bulk
 * (more than latencyDup segments in flight) only whole segments are cut,
 * unless force: a half-empty segment would take a window slot of a full
 * one, and the window is what bounds goodput on a long link. The tail goes
 * out with the next bytes, or once it has waited an interval (force, from
 * the timer). */
static bool pump_send(struct kcp_sess *s, bool force)
{
	struct evbuffer *in = bufferevent_get_input(s->mine);
	/* min(snd_wnd, rmt_wnd); with the controller also about twice what
	 * the path holds, so memory follows the data in flight */
	uint32_t limit = kcp_send_limit(s->kcp);
	if (limit == 0)
		limit = 1; /* let the probe machinery see a queued segment */
	/* whole segments: the length they take now (kcp_seg_len) */
	uint32_t mss = kcp_seg_len(s->kcp);
	bool sent = false;
	while (evbuffer_get_length(in) > 0) {
		uint32_t waiting = kcp_waitsnd(s->kcp);
		if (waiting >= limit)
			break;
		size_t room = (size_t)(limit - waiting) * mss;
		size_t avail = evbuffer_get_length(in);
		if (!force && waiting > (uint32_t)s->ctx->opts.latency_dup &&
		    avail < room)
			room = avail - avail % mss;
		if (room == 0)
			break;
		struct evbuffer_iovec v[8];
		int nv = evbuffer_peek(in, (ssize_t)room, NULL, v, 8);
		size_t took = 0;
		for (int i = 0; i < nv && i < 8 && took < room; i++) {
			size_t l = v[i].iov_len;
			if (l > room - took)
				l = room - took;
			if (kcp_send(s->kcp, v[i].iov_base, l) < 0)
				break;
			took += l;
		}
		if (took == 0)
			break;
		evbuffer_drain(in, took);
		s->bytes_out += took;
		sent = true;
	}
	size_t left = evbuffer_get_length(in);
	if (left == 0 || left >= mss)
		s->part_ms = 0;
	else if (!s->part_ms)
		s->part_ms = kcp_host->now_ms();
	pair_limit(s);
	/* a segment or more still in the pair (either end) waits for the
	 * limit, not for the application (less is a write's tail, held to
	 * fill a segment) */
	kcp_set_backlog(s->kcp, evbuffer_get_length(in) >= mss ||
				evbuffer_get_length(bufferevent_get_output(
					s->user)) > 0);
	/* Window full: stop pulling from the pair until ACKs free room. */
	if (evbuffer_get_length(in) >= mss || kcp_waitsnd(s->kcp) >= limit)
		bufferevent_disable(s->mine, EV_READ);
	else
		bufferevent_enable(s->mine, EV_READ);
	if (sent && !s->ctx->opts.write_delay) {
		uint32_t next = kcp_flush(s->kcp, now32(), false);
		if (next < kcp_interval(s->kcp))
			arm(s, next ? next : 1);
	}
	return sent;
}

void kcp_sess_eof(struct kcp_sess *s)
{
	if (s->eof_sent || s->state == KS_DEAD)
		return;
	s->eof_sent = true;
	if (s->host_owns && s->state == KS_OPEN)
		bufferevent_flush(s->mine, EV_WRITE, BEV_FINISHED);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	kcp_sess_destroy(arg);
}

void kcp_sess_kill(struct kcp_sess *s)
{
	if (s->state == KS_DEAD)
		return;
	s->state = KS_DEAD;
	if (s->timer)
		evtimer_del(s->timer);
	if (s->tail)
		evtimer_del(s->tail);
	event_active(s->reaper, EV_TIMEOUT, 0);
}

static void finish_dial(struct kcp_sess *s, int err)
{
	xport_dial_cb cb = s->dial_cb;
	s->dial_cb = NULL;
	if (err) {
		kcp_sess_kill(s);
		cb(NULL, err, s->dial_arg);
		return;
	}
	s->state = KS_OPEN;
	s->host_owns = true;
	cb((struct xport_stream *)s, 0, s->dial_arg);
}

/* Closing (host used FLUSH): done once everything was acknowledged. */
static void check_closing(struct kcp_sess *s, uint64_t now)
{
	if (s->state != KS_CLOSING)
		return;
	bool drained = evbuffer_get_length(bufferevent_get_output(s->user)) == 0 &&
		       evbuffer_get_length(bufferevent_get_input(s->mine)) == 0 &&
		       kcp_waitsnd(s->kcp) == 0;
	if (drained || now >= s->close_deadline_ms || kcp_dead(s->kcp)) {
		for (int i = 0; i < FIN_COPIES; i++)
			send_ctrl(s, KCP_CMD_FIN_EXT, false);
		kcp_sess_kill(s);
	}
}

void kcp_sess_after_io(struct kcp_sess *s)
{
	if (s->state == KS_DEAD)
		return;
	drain_recv(s); /* the timer is armed once, at the end */
	pump_send(s, s->state == KS_CLOSING);
	if (s->fin_seen && kcp_peeksize(s->kcp) < 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->mine)) == 0)
		kcp_sess_eof(s);
	if (s->state == KS_DIALING && s->pkts_in > 0)
		finish_dial(s, 0);
	if (s->state == KS_DEAD)
		return;
	check_closing(s, kcp_host->now_ms());
	arm(s, kcp_interval(s->kcp));
}

/* End of a receive batch: send its ACKs at once, and when we are sending,
 * run a full flush so a segment that this batch's ACKs marked for fast
 * retransmit goes out now (KCP flushes from input only when una moved, so
 * a hole at una would otherwise wait for the next tick). */
void kcp_sess_ack_batch(struct kcp_sess *s)
{
	s->touched = false;
	if (s->state == KS_DEAD)
		return;
	/* data both ways: a full flush, whose ACKs may wait for our data */
	bool both = kcp_both_ways_now(s->kcp, now32());
	uint32_t next = kcp_flush(s->kcp, now32(),
				  kcp_waitsnd(s->kcp) == 0 && !both);
	/* a paced flush leaves data for later, and held ACKs wait for it: be
	 * back when they may go */
	if (kcp_pace_wait(s->kcp, now32()) != UINT32_MAX ||
	    (both && kcp_acks_pending(s->kcp)))
		arm(s, next ? next : 1);
}

static void feed(struct kcp_sess *s, const uint8_t *p, size_t len, bool regular)
{
	if (len >= KCP_OVERHEAD && p[KCP_OFF_CMD] == KCP_CMD_FIN_EXT) {
		struct kcp_hdr h;
		if (kcp_hdr_decode(p, len, &h) == 0 && h.conv == s->conv)
			s->fin_seen = true;
		return;
	}
	int rc = kcp_input(s->kcp, p, len, regular, s->ctx->opts.ack_nodelay,
			   now32());
	if (rc < 0)
		s->bad_pkts++;
}

void kcp_sess_input_plain(struct kcp_sess *s, const uint8_t *p, size_t len)
{
	if (s->state == KS_DEAD)
		return;
	uint64_t now = kcp_host->now_ms();
	int ft = fec_packet_type(p, len);
	if (ft) {
		if (!s->fdec) {
			/* kcp-go: a session without FEC that receives FEC
			 * packets decodes them lazily (auto-tuned geometry). */
			s->fdec = fec_decoder_new(1, 1, KCP_PKT_MAX);
			if (!s->fdec)
				return;
		}
		int r = fec_decoder_input(s->fdec, p, len, now);
		if (r < 0) {
			s->bad_pkts++;
			return;
		}
		if (r == FEC_TYPE_DATA)
			feed(s, p + FEC_HEADER_SIZE_PLUS2, len - FEC_HEADER_SIZE_PLUS2,
			     true);
		const uint8_t *rp;
		size_t rl;
		while ((rp = fec_decoder_next(s->fdec, &rl)))
			feed(s, rp, rl, false);
	} else if (len >= KCP_OVERHEAD) {
		feed(s, p, len, true);
	} else {
		s->bad_pkts++;
		return;
	}
	s->pkts_in++;
	s->last_rx_ms = now;
}

void kcp_sess_input(struct kcp_sess *s, uint8_t *pkt, size_t len)
{
	if (s->crypt) {
		ssize_t n = kcp_crypt_open(s->crypt, pkt, len, &s->replay);
		if (n < 0) {
			s->crypt_fail++;
			return;
		}
		pkt += s->crypt_hdr;
		len = (size_t)n;
	}
	kcp_sess_input_plain(s, pkt, len);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct kcp_sess *s = arg;
	s->timer_armed = false;
	if (s->state == KS_DEAD)
		return;
	uint64_t now = kcp_host->now_ms();
	if (s->state == KS_DIALING) {
		if (now >= s->dial_deadline_ms) {
			finish_dial(s, -ETIMEDOUT);
			return;
		}
		if (now >= s->next_probe_ms) {
			kcp_sess_send_probe(s);
			s->next_probe_ms = now + PROBE_EVERY_MS;
		}
	}
	/* A part segment left behind bulk goes once it has waited an
	 * interval: more bytes usually follow within one, and each timer tick
	 * of a paced sender cut one (at 1 Mbit/s 50 in 8 s, each a FEC
	 * shard with its share of full-length parity). */
	pump_send(s, s->state == KS_CLOSING ||
			     (s->part_ms && now - s->part_ms >= kcp_interval(s->kcp)));
	uint32_t next = kcp_flush(s->kcp, (uint32_t)now, false);
	if (kcp_dead(s->kcp) && s->state == KS_OPEN)
		kcp_sess_eof(s);
	drain_recv(s);
	check_closing(s, now);
	if (s->sock)
		kcp_sock_uncork(s->sock);
	if (s->state == KS_DEAD)
		return;
	struct kcp_info in;
	kcp_get_info(s->kcp, &in);
	bool idle = in.nsnd_buf == 0 && in.nsnd_que == 0 && in.nacks == 0 &&
		    in.probe_wait == 0 && s->state == KS_OPEN &&
		    evbuffer_get_length(bufferevent_get_input(s->mine)) == 0;
	/* Fully quiet sessions sleep: input or a host write re-arms them, so
	 * thousands of idle sessions cost no wake-ups. */
	if (!idle)
		arm(s, next ? next : 1);
}

static void mine_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct kcp_sess *s = arg;
	if (s->state == KS_DEAD)
		return;
	pump_send(s, false);
	check_closing(s, kcp_host->now_ms());
	if (s->state == KS_DEAD)
		return;
	arm(s, kcp_interval(s->kcp));
	if (s->sock)
		kcp_sock_uncork(s->sock);
}

static void mine_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct kcp_sess *s = arg;
	if (s->state == KS_DEAD)
		return;
	/* The host drained: take more from KCP (this may reopen the
	 * receive window; the next flush tells the peer). */
	if (drain_recv(s))
		arm(s, kcp_interval(s->kcp));
	if (s->fin_seen && kcp_peeksize(s->kcp) < 0 &&
	    evbuffer_get_length(bufferevent_get_output(s->mine)) == 0)
		kcp_sess_eof(s);
}

struct kcp_sess *kcp_sess_new(struct xport_ctx *ctx, struct kcp_lsn *lsn,
			      struct kcp_sock *sock, uint32_t conv, bool dialed,
			      struct kcp_crypt *crypt, char *err, size_t errlen)
{
	const struct kcp_opts *o = &ctx->opts;
	struct kcp_sess *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ctx = ctx;
	s->lsn = lsn;
	s->sock = sock;
	s->conv = conv;
	s->crypt = crypt;
	s->state = dialed ? KS_DIALING : KS_OPEN;
	s->last_rx_ms = kcp_host->now_ms();
	s->crypt_hdr = crypt ? kcp_crypt_header_size(crypt) : 0;
	size_t trailer = crypt ? kcp_crypt_trailer_size(crypt) : 0;
	bool fec = o->data_shards > 0 && o->parity_shards > 0;
	s->hdr = s->crypt_hdr + (fec ? FEC_HEADER_SIZE_PLUS2 : 0);
	struct kcp_cfg cfg = {
		.nodelay = o->nodelay,
		.interval = o->interval,
		.resend = o->resend,
		.nc = o->nc,
		.snd_wnd = dialed ? o->dial_snd_wnd : o->listen_snd_wnd,
		.rcv_wnd = dialed ? o->dial_rcv_wnd : o->listen_rcv_wnd,
		.mtu = o->mtu - (int)trailer,
		.reserved = (int)s->hdr,
		.stream = o->stream_mode,
		.dead_link = (uint32_t)o->dead_link,
		.congestion = o->congestion,
	};
	s->kcp = kcp_new(conv, &cfg);
	if (!s->kcp) {
		snprintf(err, errlen, "kcp: bad settings (mtu %d too small for the "
				      "headers?)", o->mtu);
		goto fail;
	}
	kcp_set_output(s->kcp, sess_output, s);
	/* link bytes per datagram beyond what the core writes: the crypt
	 * trailer and the IPv4/UDP headers (the peer is not known yet; IPv6
	 * adds 20 more, 1.5 %); FEC parity by its ratio */
	kcp_set_wire(s->kcp, (uint32_t)trailer + 28u,
		     fec ? (uint32_t)o->data_shards : 0,
		     fec ? (uint32_t)o->parity_shards : 0);
	if (fec) {
		s->fenc = fec_encoder_new(o->data_shards, o->parity_shards,
					  s->crypt_hdr, (size_t)o->mtu);
		s->fdec = fec_decoder_new(o->data_shards, o->parity_shards,
					  KCP_PKT_MAX);
		if (!s->fenc || !s->fdec) {
			snprintf(err, errlen, "fec: cannot set up %d/%d",
				 o->data_shards, o->parity_shards);
			goto fail;
		}
	}
	struct bufferevent *pair[2];
	if (bufferevent_pair_new(ctx->base, BEV_OPT_DEFER_CALLBACKS, pair) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->user = pair[0];
	s->mine = pair[1];
	bufferevent_setcb(s->mine, mine_read, mine_write, NULL, s);
	bufferevent_setwatermark(s->mine, EV_WRITE, RCV_LIMIT / 2, 0);
	bufferevent_setwatermark(s->mine, EV_READ, 0, SND_LIMIT);
	s->pair_lim = SND_LIMIT;
	bufferevent_enable(s->mine, EV_READ | EV_WRITE);
	bufferevent_enable(s->user, EV_READ | EV_WRITE);
	s->timer = evtimer_new(ctx->base, timer_cb, s);
	s->tail = evtimer_new(ctx->base, tail_cb, s);
	s->reaper = event_new(ctx->base, -1, 0, reaper_cb, s);
	if (!s->timer || !s->tail || !s->reaper) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->next = ctx->sessions;
	if (ctx->sessions)
		ctx->sessions->prev = s;
	ctx->sessions = s;
	ctx->nsessions++;
	return s;
fail:
	kcp_sess_destroy(s);
	return NULL;
}

uint64_t kcp_sess_fec_recovered(const struct kcp_sess *s)
{
	struct fec_decoder_stats fs = {0};
	if (s->fdec)
		fec_decoder_get_stats(s->fdec, &fs);
	return fs.recovered;
}

/* One line per session at debug level, for people tuning a link. */
static void log_summary(struct kcp_sess *s)
{
	const struct kcp_stats *ks = kcp_get_stats(s->kcp);
	struct kcp_cc_info ci;
	kcp_get_cc(s->kcp, &ci);
	kcp_host->log(XPORT_LOG_DEBUG, "kcp",
		      "session %08x closed: bytes in %llu out %llu, datagrams "
		      "in %llu out %llu, retransmits fast %llu early %llu rto %llu, "
		      "fec recovered %llu, tail fillers %llu, crypt failures %llu, "
		      "srtt %d ms, socket send drops %llu, btl bw %llu kbit/s, "
		      "min rtt %u ms, pacing %llu kbit/s, in flight %u bytes, "
		      "estimate cuts %u (%u on a standing run), jitter %u ms (at most %u)",
		      s->conv, (unsigned long long)s->bytes_in,
		      (unsigned long long)s->bytes_out,
		      (unsigned long long)s->pkts_in,
		      (unsigned long long)s->pkts_out,
		      (unsigned long long)ks->fast_retrans_segs,
		      (unsigned long long)ks->early_retrans_segs,
		      (unsigned long long)ks->lost_segs,
		      (unsigned long long)kcp_sess_fec_recovered(s),
		      (unsigned long long)s->tail_fills,
		      (unsigned long long)s->crypt_fail, (int)kcp_srtt(s->kcp),
		      (unsigned long long)(s->sock ? s->sock->tx_dropped : 0),
		      (unsigned long long)(ci.btl_bw * 8 / 1000), ci.min_rtt,
		      (unsigned long long)(ci.pacing_rate * 8 / 1000),
		      ci.inflight, ci.cuts, ci.run_cuts, ci.jitter,
		      ci.jitter_max);
}

void kcp_sess_destroy(struct kcp_sess *s)
{
	struct xport_ctx *ctx = s->ctx;
	if (s->kcp && s->pkts_in + s->pkts_out > 0)
		log_summary(s);
	if (s->prev || ctx->sessions == s) {
		if (s->prev)
			s->prev->next = s->next;
		else
			ctx->sessions = s->next;
		if (s->next)
			s->next->prev = s->prev;
		ctx->nsessions--;
	}
	if (s->lsn)
		kcp_lsn_remove(s->lsn, s);
	if (s->timer)
		event_free(s->timer);
	if (s->tail)
		event_free(s->tail);
	if (s->reaper)
		event_free(s->reaper);
	if (s->user)
		bufferevent_free(s->user);
	if (s->mine)
		bufferevent_free(s->mine);
	fec_encoder_free(s->fenc);
	fec_decoder_free(s->fdec);
	kcp_free(s->kcp);
	if (!s->lsn && s->sock) {
		kcp_sock_close(s->sock);
		free(s->sock);
		kcp_crypt_free(s->crypt);
	}
	free(s);
}
