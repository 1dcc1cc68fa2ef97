/*
 * udp.c - the client side of a udp proxy. frps carries user datagrams as
 * UDPPacket messages on one long-lived work connection; for every user
 * address we keep one connected UDP socket towards the local service, so
 * replies map back to the right user. Sockets idle for a minute are closed
 * and their number is capped, so memory stays bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "crypto.h"
#include "ctl.h"
#include "frpc.h"
#include "log.h"
#include "util.h"

#define UDP_MAX_PEERS 256
#define UDP_IDLE_MS 60000
#define UDP_PING_MS 30000
#define UDP_MAX_DGRAM 65535

struct udp_peer {
	int fd;
	struct event *ev;
	char ip[64];
	int port;
	uint64_t last_ms;
	struct udp_proxy *u;
};

struct udp_proxy {
	struct frpc_track t; /* first: udp_kill casts back */
	struct frpc *c;
	struct frpc_link *l;
	struct ctl *ctl;
	struct frpc_proxy *p;
	struct event *tick;
	uint64_t last_ping_ms;
	struct frpc_resolve *res;      /* localIP being resolved */
	struct sockaddr_storage local; /* the local service, once resolved */
	socklen_t local_len;           /* 0 until resolved */
	struct udp_peer *peers[UDP_MAX_PEERS];
	size_t npeers;
	uint8_t buf[UDP_MAX_DGRAM];
};

static void peer_free(struct udp_peer *pe)
{
	event_free(pe->ev);
	close(pe->fd);
	free(pe);
}

static void udp_end(struct udp_proxy *u)
{
	TAILQ_REMOVE(&u->c->tracked, &u->t, link);
	frpc_resolve_cancel(u->res);
	for (size_t i = 0; i < u->npeers; i++)
		peer_free(u->peers[i]);
	event_free(u->tick);
	ctl_free(u->ctl);
	LOG_D("frpc", "[%s] udp work connection closed", u->p->conf.name);
	u->l->nwork--;
	frpc_proxy_unref(u->p);
	frpc_link_unref(u->l);
	free(u);
}

static void peer_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct udp_peer *pe = arg;
	struct udp_proxy *u = pe->u;
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(fd, u->buf, sizeof(u->buf), 0);
		if (n == -1)
			return;
		pe->last_ms = util_now_ms();
		struct msg m = {.type = MSG_UDP_PACKET};
		m.u.udp_packet.content = u->buf;
		m.u.udp_packet.content_len = (size_t)n;
		m.u.udp_packet.raddr_ip = pe->ip;
		m.u.udp_packet.raddr_port = pe->port;
		if (ctl_send(u->ctl, &m) < 0)
			return;
	}
}

static struct udp_peer *peer_get(struct udp_proxy *u, const char *ip, int port)
{
	for (size_t i = 0; i < u->npeers; i++)
		if (u->peers[i]->port == port && strcmp(u->peers[i]->ip, ip) == 0)
			return u->peers[i];
	if (u->npeers == UDP_MAX_PEERS) {
		/* Evict the least recently used peer. */
		size_t old = 0;
		for (size_t i = 1; i < u->npeers; i++)
			if (u->peers[i]->last_ms < u->peers[old]->last_ms)
				old = i;
		peer_free(u->peers[old]);
		u->peers[old] = u->peers[--u->npeers];
	}
	if (!u->local_len)
		return NULL;
	const struct sockaddr_storage ss = u->local;
	socklen_t sslen = u->local_len;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sslen) == -1) {
		close(fd);
		return NULL;
	}
	struct udp_peer *pe = calloc(1, sizeof(*pe));
	if (!pe) {
		close(fd);
		return NULL;
	}
	pe->fd = fd;
	pe->u = u;
	pe->port = port;
	snprintf(pe->ip, sizeof(pe->ip), "%s", ip);
	pe->ev = event_new(u->c->base, fd, EV_READ | EV_PERSIST, peer_read, pe);
	if (!pe->ev || event_add(pe->ev, NULL) != 0) {
		if (pe->ev)
			event_free(pe->ev);
		close(fd);
		free(pe);
		return NULL;
	}
	u->peers[u->npeers++] = pe;
	return pe;
}

static void udp_msg(struct ctl *ctl, struct msg *m, void *arg)
{
	(void)ctl;
	struct udp_proxy *u = arg;
	if (m->type == MSG_PONG)
		return;
	if (m->type != MSG_UDP_PACKET) {
		LOG_W("frpc", "[%s] unexpected %s on udp work connection",
		      u->p->conf.name, msg_type_name(m->type));
		udp_end(u);
		return;
	}
	struct msg_udp_packet *pk = &m->u.udp_packet;
	if (!pk->raddr_ip)
		return;
	struct udp_peer *pe = peer_get(u, pk->raddr_ip, pk->raddr_port);
	if (!pe)
		return;
	pe->last_ms = util_now_ms();
	if (send(pe->fd, pk->content, pk->content_len, 0) == -1)
		LOG_T("frpc", "[%s] udp send to local: %s", u->p->conf.name,
		      strerror(errno));
}

static void udp_err(struct ctl *ctl, int err, void *arg)
{
	(void)ctl;
	(void)err;
	udp_end(arg);
}

static void udp_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct udp_proxy *u = arg;
	uint64_t now = util_now_ms();
	for (size_t i = 0; i < u->npeers;) {
		if (now - u->peers[i]->last_ms > UDP_IDLE_MS) {
			peer_free(u->peers[i]);
			u->peers[i] = u->peers[--u->npeers];
		} else {
			i++;
		}
	}
	if (now - u->last_ping_ms >= UDP_PING_MS) {
		struct msg m = {.type = MSG_PING};
		ctl_send(u->ctl, &m);
		u->last_ping_ms = now;
	}
}

static void local_resolved(int err, const struct sockaddr *sa, unsigned len,
			   const char *errstr, void *arg)
{
	struct udp_proxy *u = arg;
	u->res = NULL;
	if (err) {
		LOG_W("frpc", "[%s] udp local service [%s:%u]: %s", u->p->conf.name,
		      u->p->conf.local_ip, u->p->conf.local_port, errstr);
		udp_end(u);
		return;
	}
	memcpy(&u->local, sa, len);
	u->local_len = (socklen_t)len;
	/* Now the datagrams that waited in the stream can go out. */
	ctl_pause(u->ctl, 0);
}

static void udp_kill(struct frpc_track *t)
{
	udp_end((struct udp_proxy *)t);
}

void frpc_udp_start(struct frpc *c, struct frpc_link *l, struct frpc_proxy *p,
		    struct ctl *work)
{
	struct udp_proxy *u = calloc(1, sizeof(*u));
	if (!u) {
		ctl_free(work);
		frpc_proxy_unref(p);
		frpc_link_unref(l);
		return;
	}
	u->c = c;
	u->l = l;
	u->p = p;
	u->ctl = work;
	u->last_ping_ms = util_now_ms();
	u->tick = event_new(c->base, -1, EV_PERSIST, udp_tick, u);
	struct timeval tv = {5, 0};
	if (!u->tick || event_add(u->tick, &tv) != 0) {
		if (u->tick)
			event_free(u->tick);
		ctl_free(work);
		frpc_proxy_unref(p);
		frpc_link_unref(l);
		free(u);
		return;
	}
	u->t.kill = udp_kill;
	u->t.l = l;
	l->nwork++;
	TAILQ_INSERT_TAIL(&c->tracked, &u->t, link);
	if (p->conf.use_encryption) {
		uint8_t key[CRYPTO_KEY_LEN];
		const char *tok = c->cfg->auth_token;
		crypto_frp_key(tok ? tok : "", key);
		if (ctl_enable_crypto(work, key) < 0) {
			/* Fail closed: never carry an encrypted proxy's
			 * datagrams in clear. */
			LOG_E("frpc", "[%s] cannot start udp encryption, closing "
				      "the work connection", p->conf.name);
			udp_end(u);
			return;
		}
	}
	/* localIP may be a host name: resolved once per work connection,
	 * without blocking the loop, and always answered from the loop, even
	 * for a numeric address. frps sends datagrams right after
	 * StartWorkConn (at once after a link switch, with what it held), so
	 * they may sit in the same read: hold delivery until the address is
	 * known, the stream keeps them (and pushes back on frps) meanwhile. */
	ctl_pause(work, 1);
	u->res = frpc_resolve_start(c, p->conf.local_ip, p->conf.local_port,
				    SOCK_DGRAM, local_resolved, u);
	if (!u->res) {
		udp_end(u);
		return;
	}
	/* Re-point the ctl's callbacks at the udp proxy (this also resumes
	 * delivery, paused for the hand-over). */
	ctl_set_callbacks(work, udp_msg, udp_err, u);
	LOG_I("frpc", "[%s] udp work connection established", p->conf.name);
}
