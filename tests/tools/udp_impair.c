/*
 * udp_impair - a seeded UDP link emulator for KCP tests on loopback (there
 * is no netem in the test kernel).
 *
 *   udp_impair --listen 127.0.0.1:LP --to 127.0.0.1:TP [--delay-ms D]
 *       [--jitter-ms J] [--loss PCT] [--dup PCT] [--reorder PCT]
 *       [--reorder-gap-ms G] [--rate BPS | --rate-kbps R] [--queue N]
 *       [--seed S] [--port-file F] [--pidfile F] [--queue-bytes N]
 *       [--timeout T] ...
 *
 * Clients send to LP; each client address gets its own socket connected to
 * TP, so replies map back to the right client. Both directions ("up" =
 * client -> target, "down" = target -> client) are impaired independently
 * with the same settings (per-direction overrides exist for loss and
 * delay). Per packet, in this order:
 *   loss     dropped with probability PCT
 *   dup      with probability PCT a second copy follows (own jitter)
 *   rate     serialised on a link of BPS bit/s (or R kbit/s; payload + 28
 *            bytes of IP/UDP header), so a burst queues and trickles out;
 *            with --queue N the bottleneck is a tail-drop FIFO of N
 *            packets: a packet that finds N still waiting for (or in)
 *            the serializer is dropped (btl_drop), as a home router's
 *            uplink queue does
 *   delay    one way, D +- uniform J ms (never below 0): RTT = 2 * D
 *   reorder  with probability PCT held back G ms more (default 10), so
 *            packets sent shortly after it overtake it
 * Pending packets of one direction are capped at --queue-bytes (4 MiB);
 * beyond that they are dropped and counted (qdrop). Every decision comes
 * from a per-direction generator seeded with S drawing a fixed number of
 * values per packet: the same seed and packet order give the same fate.
 * Counters go to stderr on SIGUSR1 and at exit (SIGTERM/SIGINT/--timeout).
 *
 *   udp_impair --tun A,B [same impairment options]
 *
 * IP mode, for TCP (or anything) between two network namespaces: creates
 * TUN devices A and B, prints "tun ready", and forwards every IP packet read
 * from A to B ("up") and from B to A ("down") through the same model (rate
 * counts the IP packet as it is). The caller moves A and B into its
 * namespaces and gives them addresses in one subnet, e.g. 10.99.0.1/24 on A
 * and 10.99.0.2/24 on B: then 10.99.0.1 reaches 10.99.0.2 only through here.
 */
#include <event2/event.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "tool_util.h"

#define MAX_DGRAM 65536
#define CLIENT_BUCKETS 256
#define UDP_IP_OVERHEAD 28

enum { UP, DOWN };

struct pkt {
	uint64_t due;	/* monotonic us */
	uint64_t seq;	/* FIFO among equal due times */
	struct client *cl;
	size_t len;
	uint8_t data[];
};

struct dir_params {
	uint64_t delay_us, jitter_us, reorder_gap_us;
	uint32_t loss_ppm, dup_ppm, reorder_ppm;
	uint64_t rate_bps;	/* 0 = unlimited */
	uint32_t queue_pkts;	/* bottleneck FIFO limit, 0 = none */
};

struct dir_state {
	struct dir_params p;
	uint64_t rng;
	uint64_t link_free;	/* when the emulated link finishes sending */
	size_t queued;		/* bytes pending in this direction */
	struct pkt **heap;
	size_t n, cap;
	uint64_t rx, rx_bytes, lost, dups, reordered, qdrop, tx, tx_bytes,
		tx_err, btl_drop;
	uint64_t *dep;		/* serializer departures of queued packets */
	uint32_t dep_head, dep_n;
};

struct impair;

struct client {
	struct impair *im;
	struct sockaddr_storage addr;
	socklen_t alen;
	int fd;			/* connected to the target */
	struct event *ev;
	uint64_t last_seen;
	unsigned long pending;	/* queued packets pointing here */
	struct client *next;
};

struct impair {
	struct event_base *base;
	int lfd;
	int tun[2];		/* IP mode: A (up side), B; -1 otherwise */
	struct event *tev[2];
	struct event *lev, *timer, *sweep, *tmo;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct dir_state d[2];
	struct client *buckets[CLIENT_BUCKETS];
	size_t nclients, max_clients, queue_max;
	uint64_t idle_us, seq, client_refused, clients_total;
	int timed_out;
};

/* ---- min-heap of pending packets ------------------------------------------ */
static int pkt_before(const struct pkt *a, const struct pkt *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static int heap_push(struct dir_state *d, struct pkt *p)
{
	size_t i;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		struct pkt **v = realloc(d->heap, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->heap = v;
		d->cap = cap;
	}
	i = d->n++;
	while (i > 0 && pkt_before(p, d->heap[(i - 1) / 2])) {
		d->heap[i] = d->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	d->heap[i] = p;
	return 0;
}

static struct pkt *heap_pop(struct dir_state *d)
{
	struct pkt *top = d->heap[0], *last = d->heap[--d->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= d->n)
			break;
		if (c + 1 < d->n && pkt_before(d->heap[c + 1], d->heap[c]))
			c++;
		if (!pkt_before(d->heap[c], last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (d->n > 0)
		d->heap[i] = last;
	return top;
}

/* ---- sending ------------------------------------------------------------- */
static void deliver(struct impair *im, int dir, struct client *cl,
		    const uint8_t *data, size_t len)
{
	struct dir_state *d = &im->d[dir];
	ssize_t r;

	if (im->tun[0] >= 0)
		r = write(im->tun[dir == UP ? 1 : 0], data, len);
	else if (dir == UP)
		r = send(cl->fd, data, len, 0);
	else
		r = sendto(im->lfd, data, len, 0,
			   (const struct sockaddr *)&cl->addr, cl->alen);
	if (r == (ssize_t)len) {
		d->tx++;
		d->tx_bytes += len;
	} else {
		d->tx_err++;
	}
}

static void arm_timer(struct impair *im)
{
	uint64_t due = UINT64_MAX, now = tool_now_us();
	struct timeval tv;

	for (int i = 0; i < 2; i++)
		if (im->d[i].n && im->d[i].heap[0]->due < due)
			due = im->d[i].heap[0]->due;
	if (due == UINT64_MAX) {
		evtimer_del(im->timer);
		return;
	}
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000000);
	tv.tv_usec = (suseconds_t)(due % 1000000);
	evtimer_add(im->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct impair *im = arg;
	/* No slack: a packet never leaves before its time (timers may fire
	 * late, and a too-early wake-up just re-arms). */
	uint64_t now = tool_now_us();

	(void)fd;
	(void)what;
	/* Both directions in due order: a burst one way must not hold back
	 * what is due the other way (the two directions of a link are
	 * independent). */
	for (;;) {
		int dir = -1;
		for (int i = 0; i < 2; i++) {
			const struct dir_state *d = &im->d[i];
			if (d->n && d->heap[0]->due <= now &&
			    (dir < 0 || pkt_before(d->heap[0], im->d[dir].heap[0])))
				dir = i;
		}
		if (dir < 0)
			break;
		struct dir_state *d = &im->d[dir];
		struct pkt *p = heap_pop(d);
		deliver(im, dir, p->cl, p->data, p->len);
		if (p->cl)
			p->cl->pending--;
		d->queued -= p->len;
		free(p);
	}
	arm_timer(im);
}

/* Tail drop: forget packets the serializer finished by now; room if
 * fewer than queue_pkts remain. */
static int btl_admit(struct dir_state *d, uint64_t now)
{
	uint32_t cap = d->p.queue_pkts + 1;

	while (d->dep_n && d->dep[d->dep_head] <= now) {
		d->dep_head = (d->dep_head + 1) % cap;
		d->dep_n--;
	}
	return d->dep_n < d->p.queue_pkts;
}

static uint64_t draw(struct dir_state *d)
{
	return tool_splitmix(&d->rng);
}

/* Decide the fate of one packet; see the header comment for the model. */
static void impair_packet(struct impair *im, int dir, struct client *cl,
			  const uint8_t *data, size_t len)
{
	struct dir_state *d = &im->d[dir];
	const struct dir_params *p = &d->p;
	uint64_t now = tool_now_us();
	/* Always the same number of draws, whatever happens to the packet. */
	uint64_t r_loss = draw(d), r_dup = draw(d), r_reorder = draw(d);
	uint64_t r_jit[2] = { draw(d), draw(d) };
	int copies;

	d->rx++;
	d->rx_bytes += len;
	if (r_loss % 1000000 < p->loss_ppm) {
		d->lost++;
		return;
	}
	copies = r_dup % 1000000 < p->dup_ppm ? 2 : 1;
	if (copies == 2)
		d->dups++;
	for (int c = 0; c < copies; c++) {
		uint64_t sent = now, due;
		int64_t delay = (int64_t)p->delay_us;
		struct pkt *k;

		if (d->queued + len > im->queue_max) {
			d->qdrop++;
			continue;
		}
		if (p->rate_bps) {
			/* IP mode: the packet already is what the link carries */
			size_t wire = len + (im->tun[0] >= 0 ? 0 : UDP_IP_OVERHEAD);
			uint64_t ser = ((uint64_t)wire * 8000000 + p->rate_bps - 1) /
				       p->rate_bps;

			if (p->queue_pkts && !btl_admit(d, now)) {
				d->btl_drop++;
				continue;
			}
			sent = (d->link_free > now ? d->link_free : now) + ser;
			d->link_free = sent;
			if (p->queue_pkts) {
				d->dep[(d->dep_head + d->dep_n) % (p->queue_pkts + 1)] =
					sent;
				d->dep_n++;
			}
		}
		if (p->jitter_us)
			delay += (int64_t)(r_jit[c] % (2 * p->jitter_us + 1)) -
				 (int64_t)p->jitter_us;
		due = sent + (uint64_t)(delay > 0 ? delay : 0);
		if (c == 0 && r_reorder % 1000000 < p->reorder_ppm) {
			due += p->reorder_gap_us;
			d->reordered++;
		}
		if (due <= now && d->n == 0) {
			deliver(im, dir, cl, data, len); /* nothing to overtake */
			continue;
		}
		k = malloc(sizeof(*k) + len);
		if (!k) {
			d->qdrop++;
			continue;
		}
		k->due = due;
		k->seq = im->seq++;
		k->cl = cl;
		k->len = len;
		memcpy(k->data, data, len);
		if (heap_push(d, k) != 0) {
			free(k);
			d->qdrop++;
			continue;
		}
		if (cl)
			cl->pending++;
		d->queued += len;
	}
	arm_timer(im);
}

/* ---- clients ------------------------------------------------------------- */
static unsigned addr_hash(const struct sockaddr_storage *ss, socklen_t len)
{
	const uint8_t *b = (const uint8_t *)ss;
	uint32_t h = 2166136261u;

	for (socklen_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	return h % CLIENT_BUCKETS;
}

static void client_free(struct client *cl)
{
	event_free(cl->ev);
	close(cl->fd);
	free(cl);
}

static void target_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	static uint8_t buf[MAX_DGRAM];

	(void)what;
	for (int i = 0; i < 256; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				continue; /* target not up (yet): ICMP */
			return;
		}
		cl->last_seen = tool_now_us();
		impair_packet(cl->im, DOWN, cl, buf, (size_t)n);
	}
}

static struct client *client_get(struct impair *im,
				 const struct sockaddr_storage *from,
				 socklen_t flen)
{
	unsigned h = addr_hash(from, flen);
	struct client *cl;
	int sz = 4 << 20;

	for (cl = im->buckets[h]; cl; cl = cl->next)
		if (cl->alen == flen && !memcmp(&cl->addr, from, flen))
			return cl;
	if (im->nclients >= im->max_clients) {
		im->client_refused++;
		return NULL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return NULL;
	cl->im = im;
	memcpy(&cl->addr, from, flen);
	cl->alen = flen;
	cl->fd = socket(im->to.ss_family,
			SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cl->fd == -1)
		goto fail;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(cl->fd, (struct sockaddr *)&im->to, im->tolen) == -1)
		goto fail;
	cl->ev = event_new(im->base, cl->fd, EV_READ | EV_PERSIST,
			   target_read_cb, cl);
	if (!cl->ev || event_add(cl->ev, NULL) != 0)
		goto fail;
	cl->next = im->buckets[h];
	im->buckets[h] = cl;
	im->nclients++;
	im->clients_total++;
	return cl;
fail:
	im->client_refused++;
	if (cl->ev)
		event_free(cl->ev);
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl);
	return NULL;
}

static void listen_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct impair *im = arg;
	static uint8_t buf[MAX_DGRAM];

	(void)what;
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen);
		struct client *cl;

		if (n < 0) {
			if (errno == ECONNREFUSED)
				continue; /* a client went away: ICMP */
			return;
		}
		if (flen > sizeof(from))
			continue;
		cl = client_get(im, &from, flen);
		if (!cl) {
			im->d[UP].rx++;
			im->d[UP].lost++;
			continue;
		}
		cl->last_seen = tool_now_us();
		impair_packet(im, UP, cl, buf, (size_t)n);
	}
}

/* IP mode: packets from TUN A go up, from TUN B down. */
static void tun_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct impair *im = arg;
	static uint8_t buf[MAX_DGRAM];
	int dir = fd == im->tun[0] ? UP : DOWN;

	(void)what;
	for (int i = 0; i < 256; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		impair_packet(im, dir, NULL, buf, (size_t)n);
	}
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%.15s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Idle clients with nothing in flight give their socket back. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct impair *im = arg;
	uint64_t now = tool_now_us();

	(void)fd;
	(void)what;
	for (int h = 0; h < CLIENT_BUCKETS; h++) {
		struct client **pp = &im->buckets[h];
		while (*pp) {
			struct client *cl = *pp;
			if (cl->pending == 0 && now - cl->last_seen > im->idle_us) {
				*pp = cl->next;
				client_free(cl);
				im->nclients--;
			} else {
				pp = &cl->next;
			}
		}
	}
}

/* ---- reporting and main -------------------------------------------------- */
static void print_counters(const struct impair *im, const char *why)
{
	static const char *names[2] = { "up", "down" };

	for (int i = 0; i < 2; i++) {
		const struct dir_state *d = &im->d[i];
		fprintf(stderr, "udp_impair %s dir=%s rx=%llu rx_bytes=%llu "
			"lost=%llu dup=%llu reordered=%llu qdrop=%llu tx=%llu "
			"tx_bytes=%llu tx_err=%llu queued_pkts=%zu "
			"queued_bytes=%zu btl_drop=%llu\n", why, names[i],
			(unsigned long long)d->rx, (unsigned long long)d->rx_bytes,
			(unsigned long long)d->lost, (unsigned long long)d->dups,
			(unsigned long long)d->reordered,
			(unsigned long long)d->qdrop, (unsigned long long)d->tx,
			(unsigned long long)d->tx_bytes,
			(unsigned long long)d->tx_err, d->n, d->queued,
			(unsigned long long)d->btl_drop);
	}
	fprintf(stderr, "udp_impair %s clients=%zu clients_total=%llu "
		"clients_refused=%llu\n", why, im->nclients,
		(unsigned long long)im->clients_total,
		(unsigned long long)im->client_refused);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct impair *im = arg;

	(void)what;
	if (sig == SIGUSR1) {
		print_counters(im, "stats");
		return;
	}
	event_base_loopbreak(im->base);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct impair *im = arg;

	(void)fd;
	(void)what;
	im->timed_out = 1;
	event_base_loopbreak(im->base);
}

static void usage(FILE *f)
{
	fputs("usage: udp_impair --listen HOST:PORT --to HOST:PORT\n"
	      "   or: udp_impair --tun TUN_A,TUN_B (IP packets A <-> B)\n"
	      "  [--delay-ms D] [--jitter-ms J] [--loss PCT] [--dup PCT]\n"
	      "  [--reorder PCT] [--reorder-gap-ms G] [--rate BPS | --rate-kbps R]\n"
	      "  [--queue PACKETS] [--seed S] [--queue-bytes N] [--max-clients N]\n"
	      "  [--idle-ms N] [--port-file F] [--pidfile F] [--timeout T]\n"
	      "  [--loss-up PCT] [--loss-down PCT] [--delay-up-ms D]"
	      " [--delay-down-ms D]\n"
	      "  LISTEN port 0 = any (see --port-file); --timeout 0 = run"
	      " until SIGTERM (default 900 s)\n", f);
}

static uint32_t pct_ppm(double pct) { return (uint32_t)(pct * 10000.0 + 0.5); }

struct cli {
	const char *listen, *to, *port_file, *pidfile, *tun;
	double delay[2], jitter, loss[2], dup, reorder, gap, timeout;
	uint64_t seed, queue_max, rate_bps;
	long rate, max_clients, idle_ms, queue_pkts;
};

static int parse_args(int argc, char **argv, struct cli *c)
{
	enum { O_LISTEN = 256, O_TO, O_DELAY, O_JITTER, O_LOSS, O_DUP,
	       O_REORDER, O_GAP, O_RATE, O_SEED, O_QUEUE, O_MAXCL, O_IDLE,
	       O_PORTFILE, O_PIDFILE, O_TIMEOUT, O_LOSS_UP, O_LOSS_DOWN,
	       O_DELAY_UP, O_DELAY_DOWN, O_TUN, O_RATE_BPS, O_QPKTS, O_HELP };
	static const struct option lo[] = {
		{ "listen", 1, 0, O_LISTEN }, { "to", 1, 0, O_TO },
		{ "tun", 1, 0, O_TUN },
		{ "delay-ms", 1, 0, O_DELAY }, { "jitter-ms", 1, 0, O_JITTER },
		{ "loss", 1, 0, O_LOSS }, { "dup", 1, 0, O_DUP },
		{ "reorder", 1, 0, O_REORDER }, { "reorder-gap-ms", 1, 0, O_GAP },
		{ "rate-kbps", 1, 0, O_RATE }, { "seed", 1, 0, O_SEED },
		{ "rate", 1, 0, O_RATE_BPS }, { "queue", 1, 0, O_QPKTS },
		{ "queue-bytes", 1, 0, O_QUEUE }, { "max-clients", 1, 0, O_MAXCL },
		{ "idle-ms", 1, 0, O_IDLE }, { "port-file", 1, 0, O_PORTFILE },
		{ "pidfile", 1, 0, O_PIDFILE }, { "timeout", 1, 0, O_TIMEOUT },
		{ "loss-up", 1, 0, O_LOSS_UP }, { "loss-down", 1, 0, O_LOSS_DOWN },
		{ "delay-up-ms", 1, 0, O_DELAY_UP },
		{ "delay-down-ms", 1, 0, O_DELAY_DOWN }, { "help", 0, 0, O_HELP },
		{ 0, 0, 0, 0 } };
	int o, bad = 0;
	double v;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case O_LISTEN: c->listen = optarg; break;
		case O_TUN: c->tun = optarg; break;
		case O_TO: c->to = optarg; break;
		case O_DELAY: case O_DELAY_UP: case O_DELAY_DOWN:
			bad |= tool_parse_double(optarg, 0, 600000, &v);
			if (o != O_DELAY_DOWN)
				c->delay[UP] = v;
			if (o != O_DELAY_UP)
				c->delay[DOWN] = v;
			break;
		case O_LOSS: case O_LOSS_UP: case O_LOSS_DOWN:
			bad |= tool_parse_double(optarg, 0, 100, &v);
			if (o != O_LOSS_DOWN)
				c->loss[UP] = v;
			if (o != O_LOSS_UP)
				c->loss[DOWN] = v;
			break;
		case O_JITTER: bad |= tool_parse_double(optarg, 0, 600000, &c->jitter); break;
		case O_DUP: bad |= tool_parse_double(optarg, 0, 100, &c->dup); break;
		case O_REORDER: bad |= tool_parse_double(optarg, 0, 100, &c->reorder); break;
		case O_GAP: bad |= tool_parse_double(optarg, 0, 600000, &c->gap); break;
		case O_RATE: bad |= tool_parse_long(optarg, 0, 100000000, &c->rate); break;
		case O_RATE_BPS: bad |= tool_parse_size(optarg, &c->rate_bps); break;
		case O_QPKTS: bad |= tool_parse_long(optarg, 1, 1000000, &c->queue_pkts); break;
		case O_SEED: bad |= tool_parse_size(optarg, &c->seed); break;
		case O_QUEUE: bad |= tool_parse_size(optarg, &c->queue_max); break;
		case O_MAXCL: bad |= tool_parse_long(optarg, 1, 65536, &c->max_clients); break;
		case O_IDLE: bad |= tool_parse_long(optarg, 1, 86400000, &c->idle_ms); break;
		case O_PORTFILE: c->port_file = optarg; break;
		case O_PIDFILE: c->pidfile = optarg; break;
		case O_TIMEOUT: bad |= tool_parse_double(optarg, 0, 1e7, &c->timeout); break;
		case O_HELP: usage(stdout); return 1;
		default: bad = 1; break;
		}
	}
	if (bad || optind < argc ||
	    (c->tun ? c->listen || c->to || !strchr(c->tun, ',')
		    : !c->listen || !c->to)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c = { .gap = 10, .seed = 1, .queue_max = 4u << 20,
			 .max_clients = 1024, .idle_ms = 120000,
			 .timeout = 900 };
	struct impair im = { .lfd = -1, .tun = { -1, -1 } };
	struct sockaddr_storage lss;
	socklen_t llen;
	struct event *sigs[4] = { 0 };
	int sig_nums[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	int rc = 1, port, one = 1, sz = 4 << 20;
	struct event_config *cfg;

	rc = parse_args(argc, argv, &c);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	rc = 1;
	if (!c.tun && (tool_parse_hostport(c.listen, SOCK_DGRAM, &lss, &llen) != 0 ||
		       tool_parse_hostport(c.to, SOCK_DGRAM, &im.to, &im.tolen) != 0)) {
		fprintf(stderr, "udp_impair: bad --listen or --to address\n");
		return 2;
	}
	im.queue_max = (size_t)c.queue_max;
	im.max_clients = (size_t)c.max_clients;
	im.idle_us = (uint64_t)c.idle_ms * 1000;
	for (int i = 0; i < 2; i++) {
		struct dir_state *d = &im.d[i];
		d->p.delay_us = (uint64_t)(c.delay[i] * 1000);
		d->p.jitter_us = (uint64_t)(c.jitter * 1000);
		d->p.reorder_gap_us = (uint64_t)(c.gap * 1000);
		d->p.loss_ppm = pct_ppm(c.loss[i]);
		d->p.dup_ppm = pct_ppm(c.dup);
		d->p.reorder_ppm = pct_ppm(c.reorder);
		d->p.rate_bps = c.rate_bps ? c.rate_bps : (uint64_t)c.rate * 1000;
		d->p.queue_pkts = (uint32_t)c.queue_pkts;
		if (d->p.queue_pkts && !d->p.rate_bps) {
			fprintf(stderr, "udp_impair: --queue needs --rate\n");
			return 2;
		}
		if (d->p.queue_pkts &&
		    !(d->dep = calloc(d->p.queue_pkts + 1, sizeof(*d->dep))))
			return 1;
		d->rng = c.seed * 2 + (uint64_t)i;
		(void)tool_splitmix(&d->rng);
	}
	signal(SIGPIPE, SIG_IGN);
	/* The default 50 us timer slack would be added to every delay. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	/* Millisecond epoll timeouts would add up to 1 ms to every delay. */
	cfg = event_config_new();
	if (cfg)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	im.base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (cfg)
		event_config_free(cfg);
	if (!im.base)
		return 1;
	im.timer = evtimer_new(im.base, timer_cb, &im);
	if (!im.timer)
		goto out;
	if (c.tun) {
		char names[2][IFNAMSIZ] = { "", "" };
		const char *comma = strchr(c.tun, ',');
		snprintf(names[0], sizeof(names[0]), "%.*s",
			 (int)(comma - c.tun), c.tun);
		snprintf(names[1], sizeof(names[1]), "%.15s", comma + 1);
		for (int i = 0; i < 2; i++) {
			im.tun[i] = tun_open(names[i]);
			if (im.tun[i] < 0) {
				fprintf(stderr, "udp_impair: tun %s: %s\n",
					names[i], strerror(errno));
				goto out;
			}
			im.tev[i] = event_new(im.base, im.tun[i],
					      EV_READ | EV_PERSIST, tun_read_cb,
					      &im);
			if (!im.tev[i] || event_add(im.tev[i], NULL) != 0)
				goto out;
		}
		port = 0;
		goto run;
	}
	im.lfd = socket(lss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (im.lfd == -1)
		goto out;
	setsockopt(im.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(im.lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(im.lfd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(im.lfd, (struct sockaddr *)&lss, llen) == -1) {
		fprintf(stderr, "udp_impair: bind %s: %s\n", c.listen,
			strerror(errno));
		goto out;
	}
	port = tool_local_port(im.lfd);
	im.lev = event_new(im.base, im.lfd, EV_READ | EV_PERSIST,
			   listen_read_cb, &im);
	im.sweep = event_new(im.base, -1, EV_PERSIST, sweep_cb, &im);
	if (!im.lev || !im.sweep)
		goto out;
	event_add(im.lev, NULL);
	event_add(im.sweep, &(struct timeval){ 1, 0 });
run:
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(im.base, sig_nums[i], signal_cb, &im);
		if (sigs[i])
			event_add(sigs[i], NULL);
	}
	if (c.timeout > 0) {
		struct timeval tv = { (time_t)c.timeout, 0 };
		im.tmo = evtimer_new(im.base, timeout_cb, &im);
		if (!im.tmo)
			goto out;
		evtimer_add(im.tmo, &tv);
	}
	if (tool_write_int_file(c.port_file, port) != 0 ||
	    tool_write_int_file(c.pidfile, (long)getpid()) != 0) {
		fprintf(stderr, "udp_impair: cannot write --port-file/--pidfile\n");
		goto out;
	}
	if (c.tun)
		printf("tun ready\n");
	else
		printf("listening port=%d\n", port);
	fflush(stdout);
	event_base_dispatch(im.base);
	print_counters(&im, im.timed_out ? "timeout" : "final");
	rc = 0;
out:
	for (int dir = 0; dir < 2; dir++) {
		while (im.d[dir].n)
			free(heap_pop(&im.d[dir]));
		free(im.d[dir].heap);
		free(im.d[dir].dep);
	}
	for (int h = 0; h < CLIENT_BUCKETS; h++) {
		while (im.buckets[h]) {
			struct client *cl = im.buckets[h];
			im.buckets[h] = cl->next;
			client_free(cl);
		}
	}
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (im.lev)
		event_free(im.lev);
	if (im.timer)
		event_free(im.timer);
	if (im.sweep)
		event_free(im.sweep);
	if (im.tmo)
		event_free(im.tmo);
	if (im.lfd >= 0)
		close(im.lfd);
	for (int i = 0; i < 2; i++) {
		if (im.tev[i])
			event_free(im.tev[i]);
		if (im.tun[i] >= 0)
			close(im.tun[i]);
	}
	event_base_free(im.base);
	return rc;
}
