/*
 * proxy_udp.c - udp proxies, frp style: one UDP socket on proxyBindAddr:
 * port and one long-lived work connection carrying UDPPacket messages
 * (after StartWorkConn{proxy_name}; plain, or AES-128-CFB like the control
 * stream when the proxy has useEncryption). A datagram from a user becomes
 * UDPPacket{c: data, r: user address}; a UDPPacket from the client is sent
 * to its r. frpc sends Ping on that connection every 30 s; frp's frps reads
 * and ignores them, and so do we (no Pong). A work connection silent for
 * UDP_WORK_IDLE_MS is dropped and another one requested.
 *
 * While no work connection is there (at start, or after one died) up to
 * UDP_HOLD_MAX datagrams wait for the next one, as frp's 1024-slot channel
 * does; beyond that, and whenever the client is not keeping up (its output
 * queue above UDP_OUT_MAX), datagrams are dropped and counted: UDP may lose
 * packets, memory may not grow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "chan.h"
#include "ctl.h"
#include "frps.h"
#include "log.h"
#include "stats.h"
#include "util.h"

#define UDP_WORK_IDLE_MS 60000
#define UDP_OUT_MAX (1024 * 1024)
#define UDP_READ_BATCH 64
/* Largest datagram that fits a UDPPacket: base64 (4/3) plus the JSON
 * around it must stay within MSG_MAX_BODY. */
#define UDP_MAX_PAYLOAD 7168
#define UDP_BUF 65536
#define UDP_HOLD_MAX 64
#define UDP_SOCK_BUF (2 * 1024 * 1024)
/* After the client moved links, replies still in flight on the old work
 * connection are delivered for this long. */
#define UDP_OLD_GRACE_S 3

/* A datagram waiting for a work connection. */
struct held_dgram {
	struct sockaddr_storage from;
	size_t len;
	uint8_t data[];
};

struct udp_proxy {
	struct frps_proxy *p;
	int fd;
	int family;
	struct event *rev;
	struct event *check;    /* idle work conn, (re-)request: 1 s */
	struct ctl *work;       /* current work connection, or NULL */
	struct ctl *old_work;   /* the previous link's, after a move */
	struct event *old_ev;   /* closes old_work after UDP_OLD_GRACE_S */
	bool relink;            /* the client moved: take a new work conn */
	struct frps_waiter waiter;
	uint64_t dropped;
	struct held_dgram *held[UDP_HOLD_MAX]; /* FIFO of held[0..nheld) */
	size_t nheld;
	uint8_t *buf;           /* UDP_BUF bytes */
};

static void flush_held(struct udp_proxy *u);

static void work_drop(struct udp_proxy *u, const char *why)
{
	if (!u->work)
		return;
	LOG_D("frps", "[%s] udp work connection closed: %s", u->p->name, why);
	ctl_free(u->work);
	u->work = NULL;
}

static void old_drop(struct udp_proxy *u)
{
	if (!u->old_work)
		return;
	ctl_free(u->old_work);
	u->old_work = NULL;
	LOG_D("frps", "[%s] udp work connection of the old link closed",
	      u->p->name);
}

static void request_work(struct udp_proxy *u)
{
	if ((u->work && !u->relink) || u->waiter.queued)
		return;
	frps_workpool_get(&u->p->c->pool, &u->waiter);
}

/* Resolve a UDPPacket's r into an address our socket can send to. */
static int to_sockaddr(const struct udp_proxy *u, const char *ip, int port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (!ip || port <= 0 || port > 65535)
		return -EINVAL;
	struct sockaddr_in *a4 = (void *)ss;
	struct sockaddr_in6 *a6 = (void *)ss;
	if (u->family == AF_INET && inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		return 0;
	}
	if (u->family != AF_INET6)
		return -EINVAL;
	char mapped[64];
	if (strchr(ip, ':') == NULL) {
		snprintf(mapped, sizeof(mapped), "::ffff:%s", ip);
		ip = mapped;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) != 1)
		return -EINVAL;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons((uint16_t)port);
	*len = sizeof(*a6);
	return 0;
}

static void work_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	(void)ctl;
	struct udp_proxy *u = arg;
	struct frps *s = u->p->s;
	if (m->type == MSG_PING)
		return;
	if (m->type != MSG_UDP_PACKET) {
		LOG_W("frps", "[%s] unexpected %s on udp work connection",
		      u->p->name, msg_type_name(m->type));
		if (ctl == u->old_work)
			old_drop(u);
		else
			work_drop(u, "protocol error");
		return;
	}
	const struct msg_udp_packet *pk = &m->u.udp_packet;
	struct sockaddr_storage ss;
	socklen_t len;
	if (to_sockaddr(u, pk->raddr_ip, pk->raddr_port, &ss, &len) < 0) {
		u->dropped++;
		return;
	}
	if (sendto(u->fd, pk->content ? (const void *)pk->content : "",
		   pk->content_len, 0, (struct sockaddr *)&ss, len) == -1) {
		u->dropped++;
		return;
	}
	frps_stats_traffic(s->stats, u->p->st, u->p->c->st, 0, pk->content_len);
}

static void work_err(struct ctl *ctl, int err, void *arg)
{
	struct udp_proxy *u = arg;
	if (ctl == u->old_work) {
		old_drop(u);
		return;
	}
	work_drop(u, err ? strerror(-err) : "closed by client");
	/* The next one is requested by the 1-s check, which also keeps a
	 * client that keeps failing from looping us. */
}

static void got_work(struct frps_waiter *w, struct ctl *work)
{
	struct udp_proxy *u = w->arg;
	if (!work)
		return;
	struct msg m;
	frps_proxy_start_msg(u->p, &m, NULL, NULL, NULL, NULL, 0);
	if (ctl_send(work, &m) < 0 ||
	    (u->p->use_encryption && ctl_enable_crypto(work, u->p->s->frp_key) < 0)) {
		ctl_free(work);
		return;
	}
	if (u->relink && u->work) {
		/* Make before break: the new link's connection takes the
		 * datagrams from now on; replies still coming on the old one
		 * are delivered for a grace period. */
		old_drop(u);
		u->old_work = u->work;
		struct timeval g = {UDP_OLD_GRACE_S, 0};
		if (u->old_ev)
			evtimer_add(u->old_ev, &g);
		LOG_I("frps", "[%s] udp proxy moved to the client's new link",
		      u->p->name);
	}
	u->relink = false;
	u->work = work;
	ctl_set_callbacks(work, work_msg, work_err, u);
	flush_held(u);
	LOG_D("frps", "[%s] udp work connection ready", u->p->name);
}

/* Wrap one user datagram into a UDPPacket on the work connection.
 * Returns false when it had to be dropped. */
static bool forward(struct udp_proxy *u, const struct sockaddr_storage *from,
		    const uint8_t *data, size_t len)
{
	struct chan *ch = ctl_chan(u->work);
	if (!ch ||
	    evbuffer_get_length(bufferevent_get_output(ch->bev)) > UDP_OUT_MAX)
		return false;
	char ip[64];
	uint16_t port;
	if (util_addr_split(from, ip, sizeof(ip), &port) < 0)
		return false;
	struct msg m = {.type = MSG_UDP_PACKET};
	m.u.udp_packet.content = (uint8_t *)data;
	m.u.udp_packet.content_len = len;
	m.u.udp_packet.raddr_ip = ip;
	m.u.udp_packet.raddr_port = port;
	if (ctl_send(u->work, &m) < 0)
		return false;
	frps_stats_traffic(u->p->s->stats, u->p->st, u->p->c->st, len, 0);
	return true;
}

static void hold(struct udp_proxy *u, const struct sockaddr_storage *from,
		 const uint8_t *data, size_t len)
{
	struct held_dgram *h;
	if (u->nheld == UDP_HOLD_MAX || !(h = malloc(sizeof(*h) + len))) {
		u->dropped++;
		return;
	}
	h->from = *from;
	h->len = len;
	memcpy(h->data, data, len);
	u->held[u->nheld++] = h;
}

/* Send (or, without a work connection, drop) everything held. */
static void flush_held(struct udp_proxy *u)
{
	for (size_t i = 0; i < u->nheld; i++) {
		if (!u->work || !forward(u, &u->held[i]->from, u->held[i]->data,
					 u->held[i]->len))
			u->dropped++;
		free(u->held[i]);
	}
	u->nheld = 0;
}

static void sock_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct udp_proxy *u = arg;
	for (int i = 0; i < UDP_READ_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, u->buf, UDP_BUF, 0, (struct sockaddr *)&ss,
				     &sl);
		if (n == -1)
			return;
		if (n > UDP_MAX_PAYLOAD)
			u->dropped++;
		else if (!u->work)
			hold(u, &ss, u->buf, (size_t)n);
		else if (!forward(u, &ss, u->buf, (size_t)n))
			u->dropped++;
	}
}

static void check_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct udp_proxy *u = arg;
	if (u->work && util_now_ms() - ctl_last_rx_ms(u->work) > UDP_WORK_IDLE_MS)
		work_drop(u, "silent for 60 s");
	request_work(u);
	struct timeval one = {1, 0};
	event_add(u->check, &one);
}

static void old_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	old_drop(arg);
}

static void udp_relink(struct frps_proxy *p)
{
	struct udp_proxy *u = p->impl;
	if (!u || !u->work)
		return; /* the 1-s check asks the new link anyway */
	u->relink = true;
	request_work(u);
}

static void udp_free(struct udp_proxy *u)
{
	if (u->waiter.queued)
		frps_workpool_cancel(&u->p->c->pool, &u->waiter);
	old_drop(u);
	if (u->old_ev)
		event_free(u->old_ev);
	work_drop(u, "proxy closed");
	flush_held(u);
	if (u->rev)
		event_free(u->rev);
	if (u->check)
		event_free(u->check);
	if (u->fd != -1)
		close(u->fd);
	free(u->buf);
	free(u);
}

static int udp_start(struct frps_proxy *p, char *err, size_t errlen)
{
	struct frps *s = p->s;
	struct sockaddr_storage ss;
	int sslen;
	if (frps_proxy_bind_addr(s, p->port, &ss, &sslen) < 0) {
		snprintf(err, errlen, "bad proxyBindAddr");
		return -EINVAL;
	}
	struct udp_proxy *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->p = p;
	u->family = ss.ss_family;
	u->waiter.cb = got_work;
	u->waiter.arg = u;
	u->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* One socket takes every user's datagrams: give it room for a burst
	 * while the loop is busy (the kernel caps it at rmem_max). */
	int rcvbuf = UDP_SOCK_BUF;
	if (u->fd != -1)
		setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (u->fd == -1 || bind(u->fd, (struct sockaddr *)&ss, (socklen_t)sslen)) {
		int e = errno;
		snprintf(err, errlen, "udp bind: %s", strerror(e));
		udp_free(u);
		return -e;
	}
	/* The first work connection is requested a little later, so that
	 * frpc has our NewProxyResp first: frpc closes a StartWorkConn for a
	 * proxy it does not yet know as running (frp waits 500 ms too). */
	struct timeval first = {0, 500 * 1000};
	u->buf = malloc(UDP_BUF);
	u->rev = event_new(s->base, u->fd, EV_READ | EV_PERSIST, sock_read, u);
	u->check = evtimer_new(s->base, check_cb, u);
	u->old_ev = evtimer_new(s->base, old_timeout, u);
	if (!u->buf || !u->rev || !u->check || !u->old_ev || event_add(u->rev, NULL) ||
	    event_add(u->check, &first)) {
		snprintf(err, errlen, "out of memory");
		udp_free(u);
		return -ENOMEM;
	}
	p->impl = u;
	return 0;
}

static void udp_stop(struct frps_proxy *p)
{
	struct udp_proxy *u = p->impl;
	if (!u)
		return;
	if (u->dropped)
		LOG_I("frps", "[%s] %llu datagrams dropped", p->name,
		      (unsigned long long)u->dropped);
	udp_free(u);
	p->impl = NULL;
}

const struct frps_proxy_ops frps_proxy_udp_ops = {
	.type = "udp",
	.port_space = FRPS_PORTS_UDP,
	.start = udp_start,
	.stop = udp_stop,
	.relink = udp_relink,
};
