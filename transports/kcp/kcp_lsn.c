/*
 * kcp_lsn.c - one UDP socket serving many sessions, keyed by the peer's
 * address (kcp-go's rule), with the conv checked per packet.
 *
 * kcp-go has no handshake: a session starts with the first packet of a new
 * conv. To keep random datagrams from creating sessions, we create one only
 * for a packet that authenticates (when a cipher is set) and parses whole as
 * KCP segments of one conv, the first a PUSH or WASK with una == 0 (what
 * every fresh kcp-go or kcp.so client sends first). A different conv from a
 * known address replaces the old session only when it starts at sn 0
 * (kcp-go PR #152/#155: a client restarted on the same port).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kcp_int.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static size_t addr_len(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
}

static bool addr_eq(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static size_t addr_hash(const struct sockaddr_storage *a)
{
	const uint8_t *p;
	size_t n;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a;
		p = (const uint8_t *)&x->sin_addr;
		n = 4;
	} else {
		const struct sockaddr_in6 *x = (const void *)a;
		p = (const uint8_t *)&x->sin6_addr;
		n = 16;
	}
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	const struct sockaddr_in *x = (const void *)a; /* port at same offset */
	h = (h ^ x->sin_port) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

static struct kcp_sess *lookup(struct kcp_lsn *l, const struct sockaddr_storage *a)
{
	for (struct kcp_sess *s = l->buckets[addr_hash(a) & (l->nbuckets - 1)]; s;
	     s = s->hnext)
		if (addr_eq(&s->peer, a))
			return s;
	return NULL;
}

static int grow(struct kcp_lsn *l)
{
	size_t nb = l->nbuckets * 2;
	struct kcp_sess **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < l->nbuckets; i++) {
		struct kcp_sess *s = l->buckets[i], *next;
		for (; s; s = next) {
			next = s->hnext;
			size_t k = addr_hash(&s->peer) & (nb - 1);
			s->hnext = b[k];
			b[k] = s;
		}
	}
	free(l->buckets);
	l->buckets = b;
	l->nbuckets = nb;
	return 0;
}

void kcp_lsn_remove(struct kcp_lsn *l, struct kcp_sess *s)
{
	struct kcp_sess **pp = &l->buckets[addr_hash(&s->peer) & (l->nbuckets - 1)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			l->count--;
			break;
		}
	s->lsn = NULL;
	s->sock = NULL;
	if (l->closed && l->count == 0)
		kcp_lsn_destroy(l);
}

/* May this plaintext packet start a session? Fills *conv. */
static bool valid_opener(const uint8_t *p, size_t len, uint32_t *conv)
{
	if (fec_packet_type(p, len) == FEC_TYPE_DATA) {
		p += FEC_HEADER_SIZE_PLUS2;
		len -= FEC_HEADER_SIZE_PLUS2;
	} else if (fec_packet_type(p, len)) {
		return false; /* parity: no conv to read */
	}
	if (len < KCP_OVERHEAD)
		return false;
	struct kcp_hdr h;
	kcp_hdr_decode(p, len, &h);
	if ((h.cmd != KCP_CMD_PUSH && h.cmd != KCP_CMD_WASK) || h.una != 0)
		return false;
	*conv = h.conv;
	while (len > 0) {
		if (kcp_hdr_decode(p, len, &h) < 0 || h.conv != *conv ||
		    h.cmd < KCP_CMD_PUSH || h.cmd > KCP_CMD_WINS ||
		    h.len > len - KCP_OVERHEAD)
			return false;
		p += KCP_OVERHEAD + h.len;
		len -= KCP_OVERHEAD + h.len;
	}
	return true;
}

/* conv and sn of a plaintext packet, when it carries them. */
static bool peek_conv(const uint8_t *p, size_t len, uint32_t *conv, uint32_t *sn)
{
	int t = fec_packet_type(p, len);
	if (t == FEC_TYPE_PARITY)
		return false;
	if (t == FEC_TYPE_DATA) {
		p += FEC_HEADER_SIZE_PLUS2;
		len -= len >= FEC_HEADER_SIZE_PLUS2 ? FEC_HEADER_SIZE_PLUS2 : len;
	}
	if (len < KCP_OVERHEAD)
		return false;
	*conv = le32(p + KCP_OFF_CONV);
	*sn = le32(p + KCP_OFF_SN);
	return true;
}

static struct kcp_sess *create(struct kcp_lsn *l, const struct sockaddr_storage *a,
			       uint32_t conv)
{
	if (l->closed || !l->cb || (int)l->count >= l->ctx->opts.max_sessions) {
		l->st.sessions_refused++;
		return NULL;
	}
	if (l->count >= l->nbuckets && grow(l) < 0)
		return NULL;
	char err[128];
	struct kcp_sess *s = kcp_sess_new(l->ctx, l, &l->sock, conv, false, l->crypt,
					  err, sizeof(err));
	if (!s) {
		l->st.sessions_refused++;
		return NULL;
	}
	memcpy(&s->peer, a, addr_len(a));
	s->peerlen = (socklen_t)addr_len(a);
	size_t k = addr_hash(a) & (l->nbuckets - 1);
	s->hnext = l->buckets[k];
	l->buckets[k] = s;
	l->count++;
	l->st.sessions_created++;
	s->host_owns = true;
	l->cb((struct xport_stream *)s, l->arg);
	return s;
}

static void handle(struct kcp_lsn *l, uint8_t *pkt, size_t len,
		   const struct sockaddr_storage *a)
{
	l->st.datagrams++;
	const uint8_t *p = pkt;
	if (l->crypt) {
		ssize_t n = kcp_crypt_open(l->crypt, pkt, len, NULL);
		if (n < 0) {
			l->st.crypt_failures++;
			return;
		}
		p = pkt + kcp_crypt_header_size(l->crypt);
		len = (size_t)n;
	}
	struct kcp_sess *s = lookup(l, a);
	uint32_t conv = 0, sn = 0;
	bool has_conv = peek_conv(p, len, &conv, &sn);
	if (s && has_conv && conv != s->conv) {
		uint32_t nconv;
		if (sn != 0 || !valid_opener(p, len, &nconv)) {
			l->st.bad_packets++;
			return;
		}
		/* A new conv from a known address: the peer restarted. */
		kcp_lsn_remove(l, s);
		s->lsn = NULL;
		s->sock = NULL;
		kcp_sess_eof(s);
		if (!s->host_owns)
			kcp_sess_kill(s);
		s = NULL;
	}
	if (!s) {
		uint32_t nconv;
		if (!valid_opener(p, len, &nconv)) {
			l->st.no_session++;
			return;
		}
		s = create(l, a, nconv);
		if (!s)
			return;
	}
	if (l->crypt && kcp_crypt_is_aead(l->crypt) &&
	    kcp_replay_accept(&s->replay, pkt) < 0) {
		l->st.crypt_failures++;
		return;
	}
	kcp_sess_input_plain(s, p, len);
	kcp_sess_after_io(s);
	if (!s->touched && l->ntouched < KCP_BATCH) {
		s->touched = true;
		l->touched[l->ntouched++] = s;
	}
}

static void lsn_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct kcp_lsn *l = arg;
	struct mmsghdr msgs[KCP_BATCH];
	struct iovec iov[KCP_BATCH];
	for (int round = 0; round < 8; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < KCP_BATCH; i++) {
			iov[i].iov_base = l->rxbuf[i];
			iov[i].iov_len = sizeof(l->rxbuf[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &l->rxaddr[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(l->rxaddr[i]);
		}
		int n = recvmmsg(fd, msgs, KCP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		l->busy++;
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || len > KCP_PKT_MAX) {
				l->st.bad_packets++;
				continue;
			}
			handle(l, l->rxbuf[i], len, &l->rxaddr[i]);
		}
		/* ACK everything this batch brought in, once per session,
		 * instead of waiting up to an interval for the next flush. */
		for (unsigned i = 0; i < l->ntouched; i++)
			kcp_sess_ack_batch(l->touched[i]);
		l->ntouched = 0;
		kcp_sock_uncork(&l->sock);
		l->busy--;
		if (n < KCP_BATCH)
			break;
	}
	if (l->closed && l->count == 0)
		kcp_lsn_destroy(l);
}

int kcp_lsn_open(struct kcp_lsn *l, const struct sockaddr_storage *a,
		 socklen_t alen, char *err, size_t errlen)
{
	struct xport_ctx *ctx = l->ctx;
	int rc = kcp_sock_open(&l->sock, a->ss_family, ctx->opts.sock_buf);
	if (rc < 0) {
		snprintf(err, errlen, "udp socket: %s", strerror(-rc));
		return rc;
	}
	int one = 1;
	setsockopt(l->sock.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->sock.fd, (const struct sockaddr *)a, alen) == -1) {
		rc = -errno;
		snprintf(err, errlen, "bind udp: %s", strerror(errno));
		return rc;
	}
	struct sockaddr_storage got;
	socklen_t glen = sizeof(got);
	getsockname(l->sock.fd, (struct sockaddr *)&got, &glen);
	l->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	l->nbuckets = 64;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	l->sock.ev = event_new(ctx->base, l->sock.fd, EV_READ | EV_PERSIST, lsn_read, l);
	if (!l->buckets || !l->sock.ev || event_add(l->sock.ev, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void kcp_lsn_destroy(struct kcp_lsn *l)
{
	if (l->busy) {
		l->closed = true;
		return;
	}
	kcp_sock_close(&l->sock);
	kcp_crypt_free(l->crypt);
	free(l->buckets);
	free(l);
}

void kcp_lsn_close(struct kcp_lsn *l)
{
	l->closed = true;
	l->cb = NULL;
	if (l->count == 0)
		kcp_lsn_destroy(l);
}
