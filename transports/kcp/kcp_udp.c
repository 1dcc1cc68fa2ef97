/*
 * kcp_udp.c - UDP sockets with batched transmit (sendmmsg). Datagrams are
 * built directly in the batch's slots, so sealing a packet costs no extra
 * copy, and one event-loop turn ends with one syscall per socket.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "kcp_int.h"

int kcp_sock_open(struct kcp_sock *s, int family, int sock_buf)
{
	memset(s, 0, sizeof(*s));
	s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1)
		return -errno;
	if (sock_buf > 0) {
		/* FORCE variants exceed rmem_max when we may (root); else the
		 * kernel caps the plain ones silently. */
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sock_buf,
			       sizeof(sock_buf)) == -1)
			setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sock_buf,
				   sizeof(sock_buf));
		if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sock_buf,
			       sizeof(sock_buf)) == -1)
			setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sock_buf,
				   sizeof(sock_buf));
	}
	return 0;
}

void kcp_sock_close(struct kcp_sock *s)
{
	if (s->ev) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->fd >= 0) {
		kcp_sock_uncork(s);
		close(s->fd);
		s->fd = -1;
	}
}

uint8_t *kcp_sock_slot(struct kcp_sock *s)
{
	if (s->ntx == KCP_BATCH)
		kcp_sock_uncork(s);
	return s->txbuf[s->ntx];
}

void kcp_sock_commit(struct kcp_sock *s, size_t len,
		     const struct sockaddr_storage *addr, socklen_t alen)
{
	unsigned i = s->ntx;
	s->txiov[i].iov_base = s->txbuf[i];
	s->txiov[i].iov_len = len;
	memset(&s->tx[i], 0, sizeof(s->tx[i]));
	s->tx[i].msg_hdr.msg_iov = &s->txiov[i];
	s->tx[i].msg_hdr.msg_iovlen = 1;
	if (!s->connected && addr) {
		memcpy(&s->txaddr[i], addr, alen);
		s->tx[i].msg_hdr.msg_name = &s->txaddr[i];
		s->tx[i].msg_hdr.msg_namelen = alen;
	}
	s->seal_later[i] = s->seal_next;
	s->nseal += s->seal_next;
	s->seal_next = false;
	s->ntx++;
}

static void seal_pending(struct kcp_sock *s)
{
	uint8_t *bufs[KCP_BATCH];
	size_t lens[KCP_BATCH];
	unsigned n = 0;
	for (unsigned i = 0; i < s->ntx && s->nseal; i++) {
		if (!s->seal_later[i])
			continue;
		s->seal_later[i] = false;
		s->nseal--;
		bufs[n] = s->txbuf[i];
		lens[n++] = s->txiov[i].iov_len;
	}
	if (n)
		kcp_crypt_seal_finish(s->seal_crypt, bufs, lens, n);
}

void kcp_sock_seal_later(struct kcp_sock *s, struct kcp_crypt *crypt)
{
	if (s->nseal && s->seal_crypt != crypt)
		seal_pending(s); /* one key per pass */
	s->seal_crypt = crypt;
	s->seal_next = true;
}

void kcp_sock_uncork(struct kcp_sock *s)
{
	unsigned done = 0;
	if (s->nseal)
		seal_pending(s);
	while (done < s->ntx) {
		int n = sendmmsg(s->fd, s->tx + done, s->ntx - done, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* EAGAIN (socket buffer full), ECONNREFUSED (ICMP from
			 * a dead peer), ...: KCP retransmits what matters, so
			 * drop the rest of this batch. */
			s->tx_dropped += s->ntx - done;
			break;
		}
		done += (unsigned)n;
	}
	s->ntx = 0;
}
