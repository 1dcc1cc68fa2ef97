/*
 * kcp_plugin.c - kcp.so's entry point and ops table: KCP (kcp-go 5.6.1
 * compatible, with FEC and packet crypt) as a stream transport.
 *
 * dial = a connected UDP socket and a random conv. kcp-go has no handshake,
 * so to report a dead server the dial sends a window probe (WASK) every
 * 250 ms and completes when the first valid packet comes back (kcp-go and
 * kcp.so both answer with WINS), or fails with -ECONNREFUSED / -ETIMEDOUT.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kcp_int.h"

const struct xport_host *kcp_host;

static int resolve(const char *host, uint16_t port, bool passive,
		   struct sockaddr_storage *ss, socklen_t *len, char *err,
		   size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = passive ? AI_PASSIVE : 0};
	struct addrinfo *res;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (host && !*host)
		host = NULL;
	if (!host && passive)
		host = "0.0.0.0";
	int rc = getaddrinfo(host, ps, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "resolve %s: %s", host ? host : "", gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct xport_ctx *ctx = arg;
	uint64_t now = kcp_host->now_ms();
	uint64_t idle = (uint64_t)ctx->opts.idle_timeout_s * 1000;
	for (struct kcp_sess *s = ctx->sessions; s; s = s->next) {
		if (s->state != KS_OPEN)
			continue;
		if ((idle && now - s->last_rx_ms > idle) || kcp_dead(s->kcp))
			kcp_sess_eof(s);
	}
}

static int k_init(struct event_base *base, const struct xport_option *opts,
		  size_t nopts, struct xport_ctx **out, char *err, size_t errlen)
{
	struct xport_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ctx->base = base;
	int rc = kcp_opts_parse(&ctx->opts, opts, nopts, err, errlen);
	if (rc < 0)
		goto fail;
	ctx->use_crypt = strcmp(ctx->opts.crypt, "null") != 0;
	if (ctx->use_crypt &&
	    (rc = kcp_crypt_derive_key(ctx->opts.key, ctx->pass)) < 0) {
		snprintf(err, errlen, "key derivation failed");
		goto fail;
	}
	ctx->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, ctx);
	struct timeval tv = {1, 0};
	if (!ctx->sweep || event_add(ctx->sweep, &tv) != 0) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	if (ctx->sweep)
		event_free(ctx->sweep);
	free(ctx);
	return rc;
}

static void k_fini(struct xport_ctx *ctx)
{
	if (!ctx)
		return;
	while (ctx->sessions)
		kcp_sess_destroy(ctx->sessions);
	event_free(ctx->sweep);
	memset(ctx->pass, 0, sizeof(ctx->pass));
	free(ctx);
}

static struct kcp_crypt *make_crypt(struct xport_ctx *ctx, char *err,
				    size_t errlen)
{
	if (!ctx->use_crypt)
		return NULL;
	return kcp_crypt_new(ctx->opts.crypt, ctx->pass, err, errlen);
}

static int k_listen(struct xport_ctx *ctx, const char *addr, uint16_t port,
		    xport_accept_cb cb, void *arg, struct xport_listener **out,
		    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = resolve(addr, port, true, &ss, &len, err, errlen);
	if (rc < 0)
		return rc;
	struct kcp_lsn *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->ctx = ctx;
	l->cb = cb;
	l->arg = arg;
	l->sock.fd = -1;
	if (ctx->use_crypt && !(l->crypt = make_crypt(ctx, err, errlen))) {
		free(l);
		return -EINVAL;
	}
	rc = kcp_lsn_open(l, &ss, len, err, errlen);
	if (rc < 0) {
		kcp_lsn_destroy(l);
		return rc;
	}
	*out = (struct xport_listener *)l;
	return 0;
}

static uint16_t k_listener_port(const struct xport_listener *xl)
{
	return ((const struct kcp_lsn *)xl)->port;
}

static void k_listener_free(struct xport_listener *xl)
{
	if (xl)
		kcp_lsn_close((struct kcp_lsn *)xl);
}

/* Datagrams on a dialed session's own socket. */
static void dial_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct kcp_sess *s = arg;
	uint8_t buf[KCP_PKT_MAX + 1];
	for (int i = 0; i < 64 && s->state != KS_DEAD; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1) {
			if (errno == ECONNREFUSED && s->state == KS_DIALING) {
				xport_dial_cb cb = s->dial_cb;
				s->dial_cb = NULL;
				kcp_sess_kill(s);
				cb(NULL, -ECONNREFUSED, s->dial_arg);
				return;
			}
			break;
		}
		if (n > KCP_PKT_MAX) {
			s->bad_pkts++;
			continue;
		}
		kcp_sess_input(s, buf, (size_t)n);
		kcp_sess_after_io(s);
	}
	kcp_sess_ack_batch(s);
	if (s->state != KS_DEAD && s->sock)
		kcp_sock_uncork(s->sock);
}

static int k_dial(struct xport_ctx *ctx, const char *host, uint16_t port,
		  int timeout_ms, xport_dial_cb cb, void *arg,
		  struct xport_dial **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = resolve(host, port, false, &ss, &len, err, errlen);
	if (rc < 0)
		return rc;
	struct kcp_sock *sock = calloc(1, sizeof(*sock));
	if (!sock) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = kcp_sock_open(sock, ss.ss_family, ctx->opts.sock_buf);
	if (rc < 0) {
		snprintf(err, errlen, "udp socket: %s", strerror(-rc));
		free(sock);
		return rc;
	}
	if (connect(sock->fd, (struct sockaddr *)&ss, len) == -1) {
		rc = -errno;
		snprintf(err, errlen, "connect udp: %s", strerror(errno));
		kcp_sock_close(sock);
		free(sock);
		return rc;
	}
	sock->connected = true;
	uint32_t conv = 0;
	while (conv == 0 && getrandom(&conv, sizeof(conv), 0) != sizeof(conv))
		;
	struct kcp_crypt *crypt = NULL;
	if (ctx->use_crypt && !(crypt = make_crypt(ctx, err, errlen))) {
		kcp_sock_close(sock);
		free(sock);
		return -EINVAL;
	}
	struct kcp_sess *s = kcp_sess_new(ctx, NULL, sock, conv, true, crypt, err,
					  errlen);
	if (!s) {
		kcp_crypt_free(crypt);
		kcp_sock_close(sock);
		free(sock);
		return -ENOMEM;
	}
	memcpy(&s->peer, &ss, len);
	s->peerlen = len;
	s->dial_cb = cb;
	s->dial_arg = arg;
	uint64_t now = kcp_host->now_ms();
	s->dial_deadline_ms = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 30000);
	s->next_probe_ms = now + 250;
	sock->ev = event_new(ctx->base, sock->fd, EV_READ | EV_PERSIST, dial_read, s);
	if (!sock->ev || event_add(sock->ev, NULL) != 0) {
		kcp_sess_destroy(s);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	kcp_sess_send_probe(s);
	kcp_sock_uncork(sock);
	struct timeval tv = {0, 20000};
	evtimer_add(s->timer, &tv);
	s->timer_armed = true;
	*out = (struct xport_dial *)s;
	return 0;
}

static void k_dial_cancel(struct xport_dial *d)
{
	struct kcp_sess *s = (struct kcp_sess *)d;
	s->dial_cb = NULL;
	kcp_sess_kill(s);
}

static struct bufferevent *k_stream_bev(struct xport_stream *xs)
{
	return ((struct kcp_sess *)xs)->user;
}

static void k_stream_close(struct xport_stream *xs, int how)
{
	struct kcp_sess *s = (struct kcp_sess *)xs;
	s->host_owns = false;
	bufferevent_setcb(s->user, NULL, NULL, NULL, NULL);
	if (s->state != KS_OPEN) {
		kcp_sess_kill(s);
		return;
	}
	if (how == XPORT_CLOSE_ABORT || !s->sock) {
		kcp_sess_kill(s);
		return;
	}
	s->state = KS_CLOSING;
	s->close_deadline_ms = kcp_host->now_ms() + 30000;
	/* Let the pair keep moving what the host wrote into our end. */
	bufferevent_enable(s->user, EV_WRITE);
	bufferevent_enable(s->mine, EV_READ);
	kcp_sess_after_io(s);
	if (s->sock && s->state != KS_DEAD)
		kcp_sock_uncork(s->sock);
}

static int k_stream_stats(struct xport_stream *xs, struct xport_stats *st)
{
	struct kcp_sess *s = (struct kcp_sess *)xs;
	const struct kcp_stats *ks = kcp_get_stats(s->kcp);
	memset(st, 0, sizeof(*st));
	st->bytes_in = s->bytes_in;
	st->bytes_out = s->bytes_out;
	st->pkts_in = s->pkts_in;
	st->pkts_out = s->pkts_out;
	st->retransmits = ks->retrans_segs;
	st->fec_recovered = kcp_sess_fec_recovered(s);
	st->crypt_failures = s->crypt_fail;
	st->srtt_ms = (uint32_t)(kcp_srtt(s->kcp) > 0 ? kcp_srtt(s->kcp) : 0);
	st->rto_ms = kcp_rto(s->kcp);
	st->send_queue = kcp_waitsnd(s->kcp) +
			 (uint32_t)evbuffer_get_length(bufferevent_get_input(s->mine));
	struct kcp_cc_info ci;
	kcp_get_cc(s->kcp, &ci);
	st->min_rtt_ms = ci.min_rtt;
	st->inflight_bytes = ci.inflight;
	st->btl_bw_bps = ci.btl_bw * 8;
	st->pacing_bps = ci.pacing_rate * 8;
	st->lost = ks->fast_retrans_segs + ks->lost_segs;
	return 0;
}

static uint32_t k_stream_send_goal(struct xport_stream *xs)
{
	return kcp_host_goal(((struct kcp_sess *)xs)->kcp);
}

static int k_stream_peer(struct xport_stream *xs, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	struct kcp_sess *s = (struct kcp_sess *)xs;
	if (*len < s->peerlen)
		return -ENOSPC;
	memcpy(ss, &s->peer, s->peerlen);
	*len = s->peerlen;
	return 0;
}

static struct xport_ops kcp_ops = {
	.size = sizeof(struct xport_ops),
	.abi_major = XPORT_ABI_MAJOR,
	.abi_minor = XPORT_ABI_MINOR,
	.name = "kcp",
	.caps = XPORT_CAP_DATAGRAM_BASED,
	.init = k_init,
	.fini = k_fini,
	.listen = k_listen,
	.listener_port = k_listener_port,
	.listener_free = k_listener_free,
	.dial = k_dial,
	.dial_cancel = k_dial_cancel,
	.stream_bev = k_stream_bev,
	.stream_close = k_stream_close,
	.stream_stats = k_stream_stats,
	.stream_peer = k_stream_peer,
	.stream_send_goal = k_stream_send_goal,
};

const struct xport_ops *kcp_xport_ops(const struct xport_host *host)
{
	kcp_host = host;
	kcp_ops.libevent_version = (uint32_t)event_get_version_number();
	return &kcp_ops;
}

__attribute__((visibility("default"))) const struct xport_ops *
xport_plugin_entry(const struct xport_host *host)
{
	return kcp_xport_ops(host);
}
