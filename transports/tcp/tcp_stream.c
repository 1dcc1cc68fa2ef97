/*
 * tcp_stream.c - one TCP connection handed to the host as its socket
 * bufferevent, with byte counters and a graceful (flushing) close.
 *
 * No BEV_OPT_DEFER_CALLBACKS: a socket bufferevent only calls back from its
 * own socket events, never from inside a host call, so deferral would only
 * add a queue hop per read on the throughput path.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* the kernel's full struct tcp_info (glibc's stops
			   at tcpi_total_retrans) */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tcp.h"

/* A closing stream gets this long to deliver its output and see the
 * peer's FIN before it is reset. */
#define TCP_FLUSH_TIMEOUT_S 30
/* Bytes per writev (libevent's default is 16 KiB). */
#define TCP_MAX_WRITE (256 * 1024)
/* libevent 2.1 reads at most this much per socket event (EVBUFFER_MAX_READ,
 * not configurable before 2.2), and the most we add on top per event. */
#define LIBEVENT_READ_CAP 4096
#define TCP_EXTRA_READ_MAX (256 * 1024)

static void set_sockopts(const struct xport_ctx *ctx, int fd)
{
	int one = 1;
	/* Best effort: a failure here costs latency, not correctness. */
	if (ctx->nodelay)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				 sizeof(one));
	if (ctx->keepalive_s > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
				 sizeof(one));
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE,
				 &ctx->keepalive_s, sizeof(ctx->keepalive_s));
	}
}

/* Top up a read that hit libevent's 4 KiB cap with what the kernel already
 * holds, straight into the input buffer's own memory (no copy). Runs from
 * the input buffer's callback, i.e. inside libevent's read and before the
 * host's read callback, so the host sees one larger read. Bounded by
 * FIONREAD, so it never consumes an EOF or error libevent should report,
 * and by the host's read high watermark and EV_READ state. */
static void read_more(struct xport_stream *s, struct evbuffer *in)
{
	struct bufferevent *bev = s->bev;
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		return;
	size_t want = TCP_EXTRA_READ_MAX, lo = 0, hi = 0;
	bufferevent_getwatermark(bev, EV_READ, &lo, &hi);
	if (hi) {
		size_t have = evbuffer_get_length(in);
		if (have >= hi)
			return;
		if (hi - have < want)
			want = hi - have;
	}
	int fd = bufferevent_getfd(bev);
	int avail = 0;
	if (ioctl(fd, FIONREAD, &avail) == -1 || avail <= 0)
		return;
	if ((size_t)avail < want)
		want = (size_t)avail;
	struct evbuffer_iovec v[2];
	int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (n <= 0)
		return;
	struct iovec iov[2];
	size_t left = want;
	for (int i = 0; i < n; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	ssize_t r = readv(fd, iov, n);
	int used = 0;
	for (size_t got = r > 0 ? (size_t)r : 0; used < n && got > 0; used++) {
		if (v[used].iov_len > got)
			v[used].iov_len = got;
		got -= v[used].iov_len;
	}
	s->extra_reading = 1; /* the commit calls back into in_cb */
	evbuffer_commit_space(in, v, used);
	s->extra_reading = 0;
}

static void in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		  void *arg)
{
	struct xport_stream *s = arg;
	s->bytes_in += info->n_added;
	if (info->n_added == LIBEVENT_READ_CAP && !s->extra_reading)
		read_more(s, buf);
}

static void out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		   void *arg)
{
	(void)buf;
	struct xport_stream *s = arg;
	s->bytes_out += info->n_added;
}

static void drop_counters(struct xport_stream *s)
{
	if (s->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(s->bev), s->in_cb);
	if (s->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(s->bev),
					 s->out_cb);
	s->in_cb = s->out_cb = NULL;
}

struct xport_stream *tcp_stream_new(struct xport_ctx *ctx, int fd,
				    const struct sockaddr *peer,
				    socklen_t peer_len)
{
	struct xport_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return NULL;
	}
	s->ctx = ctx;
	tcp_list_init(&s->link);
	set_sockopts(ctx, fd);
	s->bev = bufferevent_socket_new(ctx->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!s->bev) {
		close(fd);
		goto fail;
	}
	bufferevent_set_max_single_write(s->bev, TCP_MAX_WRITE);
	s->in_cb = evbuffer_add_cb(bufferevent_get_input(s->bev), in_cb, s);
	s->out_cb = evbuffer_add_cb(bufferevent_get_output(s->bev), out_cb, s);
	if (!s->in_cb || !s->out_cb)
		goto fail;
	s->peer_len = sizeof(s->peer);
	if (peer && peer_len > 0 && (size_t)peer_len <= sizeof(s->peer)) {
		memcpy(&s->peer, peer, (size_t)peer_len);
		s->peer_len = peer_len;
	} else if (getpeername(fd, (struct sockaddr *)&s->peer,
			       &s->peer_len) == -1) {
		s->peer_len = 0;
	}
	tcp_list_add(&ctx->streams, &s->link);
	return s;
fail:
	if (s->bev) {
		drop_counters(s);
		bufferevent_free(s->bev);
	}
	free(s);
	return NULL;
}

/* libevent keeps its own reference on a bufferevent while one of its
 * callbacks runs, so bufferevent_free() from inside them only drops ours;
 * the socket is closed when that callback returns. Our struct is not
 * referenced by libevent once the callbacks and counters are detached. */
void tcp_stream_abort(struct xport_stream *s, int rst)
{
	tcp_list_del(&s->link);
	drop_counters(s);
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	if (rst) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		(void)setsockopt(bufferevent_getfd(s->bev), SOL_SOCKET,
				 SO_LINGER, &lg, sizeof(lg));
	}
	bufferevent_free(s->bev);
	if (s->linger)
		event_free(s->linger);
	free(s);
}

/* ---- graceful close: the host is gone, the plugin finishes the job ---- */

static void flush_shutdown(struct xport_stream *s)
{
	if (!s->shut_wr) {
		(void)shutdown(bufferevent_getfd(s->bev), SHUT_WR);
		s->shut_wr = 1;
	}
	if (s->peer_eof)
		tcp_stream_abort(s, 0);
}

/* Keep reading (and dropping) what the peer still sends: unread data at
 * close() makes the kernel answer with RST, which can destroy our own
 * last bytes in flight on the peer's side. */
static void flush_readcb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void flush_writecb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		flush_shutdown(arg);
}

static void flush_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct xport_stream *s = arg;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* Half-close from the peer: our output may still go out. */
		s->peer_eof = 1;
		if (s->shut_wr ||
		    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			tcp_stream_abort(s, 0);
		return;
	}
	tcp_stream_abort(s, 0);
}

static void flush_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tcp_stream_abort(arg, 1);
}

static void flush_begin(struct xport_stream *s)
{
	struct timeval tv = {.tv_sec = TCP_FLUSH_TIMEOUT_S};
	s->linger = evtimer_new(s->ctx->base, flush_timeout, s);
	if (!s->linger || evtimer_add(s->linger, &tv) == -1) {
		/* Without the timer the close could hang forever. */
		tcp_stream_abort(s, 1);
		return;
	}
	s->flushing = 1;
	drop_counters(s);
	struct bufferevent *bev = s->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* The host's watermarks no longer apply: write until empty, read
	 * without limit (to discard). */
	bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
	bufferevent_setcb(bev, flush_readcb, flush_writecb, flush_eventcb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		flush_shutdown(s);
}

/* ---- ops ---------------------------------------------------------------- */

struct bufferevent *tcp_stream_bev(struct xport_stream *s) { return s->bev; }

void tcp_stream_close(struct xport_stream *s, int how)
{
	if (!s || s->flushing)
		return;
	if (how == XPORT_CLOSE_ABORT)
		tcp_stream_abort(s, 1);
	else
		flush_begin(s);
}

/* True when the kernel filled field (an older kernel returns a shorter
 * struct tcp_info; what it did not write stays 0 in st). */
#define TI_HAS(len, field)                                                     \
	((size_t)(len) >= offsetof(struct tcp_info, field) +                   \
				  sizeof(((struct tcp_info *)0)->field))

/*
 * The kernel's own model of the connection: RTTs in us, rates in bytes/s.
 * TCP retransmits exactly the segments it judged lost (fast retransmit,
 * RTO), so lost and retransmits both count tcpi_total_retrans. The
 * delivery rate is the kernel's latest bandwidth sample (what BBR feeds its
 * model with); a pacing rate of ~0 means "not paced".
 */
static void from_tcp_info(struct xport_stats *st, const struct tcp_info *ti,
			  socklen_t len)
{
	st->srtt_ms = ti->tcpi_rtt / 1000;
	st->rto_ms = ti->tcpi_rto / 1000;
	if (TI_HAS(len, tcpi_total_retrans)) {
		st->retransmits = ti->tcpi_total_retrans;
		st->lost = ti->tcpi_total_retrans;
	}
	uint64_t inflight = (uint64_t)ti->tcpi_unacked * ti->tcpi_snd_mss;
	st->inflight_bytes = inflight > UINT32_MAX ? UINT32_MAX : (uint32_t)inflight;
	if (TI_HAS(len, tcpi_pacing_rate) && ti->tcpi_pacing_rate != UINT64_MAX)
		st->pacing_bps = ti->tcpi_pacing_rate * 8;
	if (TI_HAS(len, tcpi_min_rtt) && ti->tcpi_min_rtt != UINT32_MAX)
		st->min_rtt_ms = ti->tcpi_min_rtt / 1000;
	if (TI_HAS(len, tcpi_delivery_rate))
		st->btl_bw_bps = ti->tcpi_delivery_rate * 8;
}

int tcp_stream_stats(struct xport_stream *s, struct xport_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bytes_in = s->bytes_in;
	st->bytes_out = s->bytes_out;
	int fd = bufferevent_getfd(s->bev);
	uint64_t q = evbuffer_get_length(bufferevent_get_output(s->bev));
	int outq = 0;
	if (ioctl(fd, SIOCOUTQ, &outq) == 0 && outq > 0)
		q += (uint64_t)outq; /* in the kernel, not yet acknowledged */
	st->send_queue = q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0)
		from_tcp_info(st, &ti, len);
	return 0;
}

int tcp_stream_peer(struct xport_stream *s, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	if (s->peer_len == 0)
		return -ENOTCONN;
	memcpy(ss, &s->peer, (size_t)s->peer_len);
	*len = s->peer_len;
	return 0;
}
