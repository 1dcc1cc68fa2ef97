/*
 * nettool - TCP/UDP test and benchmark utility for end-to-end scripts on
 * loopback. One program, many modes (nettool MODE [options]; see usage()).
 *
 * Client modes print exactly one result line on stdout, "ok key=value ..."
 * (exit 0) or "FAIL key=value ... reason=..." (exit 1); servers print
 * "listening port=P" once bound and their counters on stderr at exit.
 * Every mode is bounded in time by --timeout (servers: 900 s by default,
 * 0 = until SIGTERM); clients also carry a SIGALRM backstop.
 * Byte streams are the seeded generator of tool_util.h, so a receiver
 * checks content without any side channel.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <getopt.h>
#include <sys/resource.h>

#include "nettool_probe.h"
#include "sockbev.h"
#include "tool_util.h"

#define CHUNK (64 * 1024)
#define ECHO_MAX_OUT (1024 * 1024)
#define SOURCE_CHUNK (256 * 1024)

struct opts {
	const char *mode;
	const char *host;
	const char *bind;
	const char *pidfile;
	const char *port_file;
	const char *stream_mode;
	long port;
	uint64_t bytes;
	int bytes_set;
	uint64_t seed;
	uint64_t rate; /* servers: bytes/s each connection may write, 0 = any */
	double timeout;
	long conns, count, size, interval_ms, wait_ms;
	long progress_ms; /* recv: a 'progress' line this often, 0 = none */
	int udp, half_close, verify, count_set, help;
};

static void usage(FILE *f)
{
	fputs("usage: nettool MODE [options]\n"
	      " servers (print 'listening port=P'; --port 0 = any):\n"
	      "  echo-server|sink-server|source-server --port P [--bind A]\n"
	      "      [--pidfile F] [--port-file F] [--bytes N --seed S]"
	      " [--timeout T] [--rate BYTES_PER_S]\n"
	      "  udp-echo --port P [--bind A] [--pidfile F] [--port-file F]\n"
	      " clients ([--host H] default 127.0.0.1, --timeout T default"
	      " 120):\n"
	      "  send --port P --bytes N [--seed S] [--half-close]\n"
	      "  recv --port P --bytes N [--seed S] [--progress-ms MS]\n"
	      "      (--progress-ms: a line 'progress us=T got=B' every MS,"
	      " T monotonic)\n"
	      "  stream --port P --bytes N --mode up|down|echo [--verify]"
	      " [--half-close]\n"
	      "  conc --port P [--conns 200] [--bytes 65536] [--seed S]\n"
	      "  rtt --port P [--count 100] [--size 64] [--interval-ms 10]\n"
	      "  rtt-paced --port P [--count 100] [--size 64] [--interval-ms 10]"
	      " [--wait-ms 1000]\n      (a message every interval, not"
	      " waiting for the previous one)\n"
	      "  udp-ping --port P [--count 100] [--size 64]"
	      " [--interval-ms 10] [--wait-ms 1000]\n"
	      "  wait-port --port P [--timeout 10]\n"
	      "  free-port [--udp] [--count K]\n"
	      " sizes take k/M/G suffixes (binary).\n", f);
}

static double secs_since(uint64_t t0_us)
{
	return (double)(tool_now_us() - t0_us) / 1e6;
}

static double mbps(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes / secs / 1e6 : 0.0;
}

static int resolve_target(const struct opts *o, int socktype,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	if (tool_resolve(o->host, (int)o->port, socktype, ss, len) != 0) {
		printf("FAIL mode=%s reason=bad-address host=%s\n", o->mode,
		       o->host);
		return -1;
	}
	return 0;
}

/* ---- TCP servers ---------------------------------------------------------- */
enum srv_kind { SRV_ECHO, SRV_SINK, SRV_SOURCE };

struct sconn;

struct srv {
	struct event_base *base;
	struct ev_token_bucket_cfg *rate; /* per-connection write limit */
	enum srv_kind kind;
	uint64_t bytes, seed;
	uint64_t conns_total, bytes_in, bytes_out, pkts;
	struct sconn *head;
	int timed_out;
};

struct sconn {
	struct srv *s;
	struct bufferevent *bev;
	struct sconn *prev, *next;
	struct tool_prng prng;
	uint64_t left;
	uint64_t got, t0_us; /* sink: bytes taken, accept time */
	int closing;
};

static void sconn_free(struct sconn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

/* Finish writing what is queued, then close. */
static void sconn_close_after_flush(struct sconn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		sconn_free(c);
}

static void source_fill(struct sconn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (c->left > 0 && evbuffer_get_length(out) < SOURCE_CHUNK) {
		struct evbuffer_iovec v;
		size_t n = c->left < CHUNK ? (size_t)c->left : CHUNK;
		if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
			break;
		tool_prng_fill(&c->prng, v.iov_base, n);
		v.iov_len = n;
		evbuffer_commit_space(out, &v, 1);
		c->left -= n;
		c->s->bytes_out += n;
	}
}

static void sconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t n = evbuffer_get_length(in);

	c->s->bytes_in += n;
	c->got += n;
	if (c->s->kind != SRV_ECHO || c->closing) {
		evbuffer_drain(in, n);
		return;
	}
	evbuffer_add_buffer(out, in);
	c->s->bytes_out += n;
	if (evbuffer_get_length(out) >= ECHO_MAX_OUT)
		bufferevent_disable(bev, EV_READ); /* client reads too slowly */
}

static void sconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (c->closing) {
		if (left == 0)
			sconn_free(c);
		return;
	}
	if (c->s->kind == SRV_SOURCE) {
		source_fill(c);
		if (c->left == 0)
			sconn_close_after_flush(c);
		return;
	}
	if (c->s->kind == SRV_ECHO && !(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_enable(bev, EV_READ);
}

static void sconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	(void)bev;
	/* a sink reports each connection when its input ends: bytes and time
	 * since accept, what an upload's goodput is at the receiving end */
	if (c->s->kind == SRV_SINK && (what & BEV_EVENT_EOF))
		printf("conn_done bytes=%llu secs=%.3f MBps=%.2f\n",
		       (unsigned long long)c->got,
		       (double)(tool_now_us() - c->t0_us) / 1e6,
		       mbps(c->got, (double)(tool_now_us() - c->t0_us) / 1e6));
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* A half-close ends the client's input only: echo what is still
		 * queued, keep sourcing. */
		if (c->s->kind == SRV_ECHO) {
			sconn_close_after_flush(c);
			return;
		}
		if (c->s->kind == SRV_SOURCE && !c->closing)
			return;
	}
	sconn_free(c);
}

static void srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
			  struct sockaddr *sa, int salen, void *arg)
{
	struct srv *s = arg;
	struct sconn *c = calloc(1, sizeof(*c));
	int one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t0_us = tool_now_us();
	c->s = s;
	c->bev = sockbev_new(s->base, fd);
	if (!c->bev) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = s->head;
	if (s->head)
		s->head->prev = c;
	s->head = c;
	s->conns_total++;
	bufferevent_setcb(c->bev, sconn_read_cb, sconn_write_cb, sconn_event_cb,
			  c);
	if (s->rate)
		bufferevent_set_rate_limit(c->bev, s->rate);
	if (s->kind == SRV_ECHO)
		bufferevent_setwatermark(c->bev, EV_WRITE, ECHO_MAX_OUT / 2, 0);
	if (s->kind == SRV_SOURCE)
		bufferevent_setwatermark(c->bev, EV_WRITE, SOURCE_CHUNK / 2, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (s->kind == SRV_SOURCE) {
		tool_prng_init(&c->prng, s->seed);
		c->left = s->bytes;
		source_fill(c);
		if (c->left == 0)
			sconn_close_after_flush(c);
	}
}

static void srv_accept_err_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	fprintf(stderr, "nettool: accept: %s\n", strerror(errno));
}

static void srv_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct srv *s = arg;

	(void)what;
	if (sig == SIGUSR1) {
		fprintf(stderr, "nettool: conns=%llu bytes_in=%llu "
			"bytes_out=%llu pkts=%llu\n",
			(unsigned long long)s->conns_total,
			(unsigned long long)s->bytes_in,
			(unsigned long long)s->bytes_out,
			(unsigned long long)s->pkts);
		return;
	}
	event_base_loopbreak(s->base);
}

static void srv_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;

	(void)fd;
	(void)what;
	s->timed_out = 1;
	event_base_loopbreak(s->base);
}

static void udp_echo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	uint8_t buf[65536];

	(void)what;
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &flen);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error queued: ignore */
		s->pkts++;
		s->bytes_in += (uint64_t)n;
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
			   flen) == n)
			s->bytes_out += (uint64_t)n;
	}
}

static int udp_bind(const struct opts *o, struct sockaddr_storage *ss,
		    socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	int one = 1, sz = 4 << 20;

	(void)o;
	if (fd == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int run_server(const struct opts *o, enum srv_kind kind, int udp)
{
	struct srv s = { 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	struct evconnlistener *l = NULL;
	struct event *sigs[4] = { 0 }, *tmo = NULL, *uev = NULL;
	int sig_nums[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	int port, fd = -1, rc = 1;

	if (o->port < 0) {
		printf("FAIL mode=%s reason=--port-required\n", o->mode);
		return 1;
	}
	if (tool_resolve(o->bind, (int)o->port, udp ? SOCK_DGRAM : SOCK_STREAM,
			 &ss, &len) != 0) {
		printf("FAIL mode=%s reason=bad-bind-address\n", o->mode);
		return 1;
	}
	s.kind = kind;
	s.bytes = o->bytes;
	s.seed = o->seed;
	s.base = event_base_new();
	if (!s.base)
		return 1;
	if (o->rate) {
		/* Ticks of 50 ms so a slow source still writes smoothly. */
		struct timeval tick = { 0, 50000 };
		size_t per = o->rate / 20 ? (size_t)(o->rate / 20) : 1;
		s.rate = ev_token_bucket_cfg_new(EV_RATE_LIMIT_MAX, EV_RATE_LIMIT_MAX,
						 per, per, &tick);
	}
	if (udp) {
		fd = udp_bind(o, &ss, len);
		if (fd >= 0)
			uev = event_new(s.base, fd, EV_READ | EV_PERSIST,
					udp_echo_cb, &s);
		if (uev)
			event_add(uev, NULL);
		port = fd >= 0 ? tool_local_port(fd) : -1;
	} else {
		l = evconnlistener_new_bind(s.base, srv_accept_cb, &s,
					    LEV_OPT_REUSEABLE |
						    LEV_OPT_CLOSE_ON_FREE |
						    LEV_OPT_CLOSE_ON_EXEC,
					    4096, (struct sockaddr *)&ss,
					    (int)len);
		if (l)
			evconnlistener_set_error_cb(l, srv_accept_err_cb);
		port = l ? tool_local_port(evconnlistener_get_fd(l)) : -1;
	}
	if (port < 0 || (udp && !uev)) {
		printf("FAIL mode=%s reason=bind errno=%s\n", o->mode,
		       strerror(errno));
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(s.base, sig_nums[i], srv_signal_cb, &s);
		event_add(sigs[i], NULL);
	}
	if (o->timeout > 0) {
		struct timeval tv = { (time_t)o->timeout,
				      (suseconds_t)((o->timeout -
						     (double)(time_t)o->timeout) *
						    1e6) };
		tmo = evtimer_new(s.base, srv_timeout_cb, &s);
		evtimer_add(tmo, &tv);
	}
	if (tool_write_int_file(o->port_file, port) != 0 ||
	    tool_write_int_file(o->pidfile, (long)getpid()) != 0) {
		printf("FAIL mode=%s reason=cannot-write-files\n", o->mode);
		goto out;
	}
	printf("listening port=%d\n", port);
	fflush(stdout);
	event_base_dispatch(s.base);
	fprintf(stderr, "nettool %s: %s conns=%llu bytes_in=%llu bytes_out=%llu"
		" pkts=%llu\n", o->mode, s.timed_out ? "timeout" : "stopped",
		(unsigned long long)s.conns_total,
		(unsigned long long)s.bytes_in,
		(unsigned long long)s.bytes_out, (unsigned long long)s.pkts);
	rc = 0;
out:
	while (s.head)
		sconn_free(s.head);
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (tmo)
		event_free(tmo);
	if (uev)
		event_free(uev);
	if (fd >= 0)
		close(fd);
	if (l)
		evconnlistener_free(l);
	if (s.rate)
		ev_token_bucket_cfg_free(s.rate);
	event_base_free(s.base);
	return rc;
}

/* ---- bulk clients ------------------------------------------------------- */
/* One connection: send o->bytes (if send_n) and/or receive. echo: expect
 * the same bytes back; verify: check content against the seeded stream. */
struct xfer {
	int echo, verify, half_close, stop_at_n;
	uint64_t send_n;
};

static int run_xfer(const struct opts *o, const struct xfer *x)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct tool_prng tx, rx;
	static uint8_t txbuf[CHUNK], rxbuf[CHUNK], expbuf[CHUNK];
	size_t tx_len = 0, tx_off = 0;
	uint64_t sent = 0, got = 0, t0, deadline, t_half = 0, t_first = 0;
	uint64_t next_progress = 0;
	int fd, wr_shut = 0, eof = 0, rc = 1;
	const char *why = NULL;
	char detail[96] = "";

	if (resolve_target(o, SOCK_STREAM, &ss, &len) != 0)
		return 1;
	t0 = tool_now_us();
	deadline = t0 + (uint64_t)(o->timeout * 1e6);
	fd = tool_tcp_connect(&ss, len, tool_timeout_ms(o->timeout));
	if (fd < 0) {
		printf("FAIL mode=%s reason=connect errno=%s\n", o->mode,
		       strerror(-fd));
		return 1;
	}
	tool_prng_init(&tx, o->seed);
	tool_prng_init(&rx, o->seed);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = tool_now_us();
		int r;

		if (sent == x->send_n && !wr_shut && x->half_close) {
			shutdown(fd, SHUT_WR);
			wr_shut = 1;
		}
		if (x->stop_at_n && got == o->bytes && (!x->half_close || eof))
			break;
		if (eof) {
			if (x->stop_at_n) {
				why = "early-eof";
			} else if (o->bytes_set && x->send_n == 0 &&
				   got != o->bytes) {
				why = "length-mismatch";
			}
			break;
		}
		if (now >= deadline) {
			why = "timeout";
			break;
		}
		if (sent < x->send_n)
			p.events |= POLLOUT;
		if (o->progress_ms && now >= next_progress) {
			printf("progress us=%llu got=%llu\n",
			       (unsigned long long)now, (unsigned long long)got);
			fflush(stdout);
			next_progress = now + (uint64_t)o->progress_ms * 1000;
		}
		r = poll(&p, 1, o->progress_ms &&
				    o->progress_ms < tool_poll_ms(deadline) ?
				(int)o->progress_ms : tool_poll_ms(deadline));
		if (r == -1 && errno != EINTR) {
			why = "poll";
			break;
		}
		if (r <= 0)
			continue;
		if ((p.revents & (POLLOUT | POLLERR | POLLHUP)) &&
		    sent < x->send_n) {
			ssize_t w;
			if (tx_off == tx_len) {
				uint64_t left = x->send_n - sent;
				tx_len = left < CHUNK ? (size_t)left : CHUNK;
				tool_prng_fill(&tx, txbuf, tx_len);
				tx_off = 0;
			}
			w = write(fd, txbuf + tx_off, tx_len - tx_off);
			if (w > 0) {
				tx_off += (size_t)w;
				sent += (uint64_t)w;
			} else if (w == -1 && errno != EAGAIN && errno != EINTR) {
				snprintf(detail, sizeof(detail), " errno=%s",
					 strerror(errno));
				why = "write";
				break;
			}
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			size_t want = sizeof(rxbuf);
			ssize_t n;
			/* recv checks a prefix: never read past it. */
			if (x->stop_at_n && !x->send_n && o->bytes - got < want)
				want = (size_t)(o->bytes - got);
			n = read(fd, rxbuf, want);
			if (n == 0) {
				eof = 1;
			} else if (n > 0) {
				if (x->stop_at_n && got + (uint64_t)n > o->bytes) {
					why = "extra-bytes";
					break;
				}
				if (x->verify) {
					tool_prng_fill(&rx, expbuf, (size_t)n);
					if (memcmp(expbuf, rxbuf, (size_t)n)) {
						size_t i = 0;
						while (expbuf[i] == rxbuf[i])
							i++;
						snprintf(detail, sizeof(detail),
							 " offset=%llu",
							 (unsigned long long)(got + i));
						why = "mismatch";
						break;
					}
				}
				if (!got)
					t_first = tool_now_us();
				got += (uint64_t)n;
				/* the second half's rate: the steady state,
				 * without the start of the transfer */
				if (!t_half && o->bytes_set &&
				    got * 2 >= o->bytes)
					t_half = tool_now_us();
			} else if (errno != EAGAIN && errno != EINTR) {
				snprintf(detail, sizeof(detail), " errno=%s",
					 strerror(errno));
				why = "read";
				break;
			}
		}
	}
	close(fd);
	if (why) {
		printf("FAIL mode=%s reason=%s sent=%llu got=%llu bytes=%llu"
		       "%s secs=%.3f\n", o->mode, why, (unsigned long long)sent,
		       (unsigned long long)got, (unsigned long long)o->bytes,
		       detail, secs_since(t0));
	} else {
		double secs = secs_since(t0);
		uint64_t b = x->send_n ? x->send_n : got;
		printf("ok bytes=%llu secs=%.3f MBps=%.2f mode=%s",
		       (unsigned long long)b, secs, mbps(b, secs), o->mode);
		if (t_half && !x->send_n)
			printf(" half_secs=%.3f half2_MBps=%.2f",
			       (double)(t_half - t0) / 1e6,
			       mbps(b - b / 2, secs - (double)(t_half - t0) / 1e6));
		/* from the first byte received: the rate without the time
		 * the connection took to be set up (through a tunnel, its work
		 * connection), as iperf3 times a transfer */
		if (t_first && !x->send_n)
			printf(" first_secs=%.3f first_MBps=%.2f",
			       (double)(t_first - t0) / 1e6,
			       mbps(b, secs - (double)(t_first - t0) / 1e6));
		if (o->stream_mode)
			printf(" stream=%s", o->stream_mode);
		printf("\n");
		rc = 0;
	}
	return rc;
}

/* ---- conc: many concurrent echo connections ------------------------------ */
struct conc;

struct cconn {
	struct conc *c;
	struct bufferevent *bev;
	struct tool_prng tx, rx;
	uint64_t sent, got;
	int state; /* 0 running, 1 ok, 2 failed */
};

struct conc {
	struct event_base *base;
	struct cconn *cs;
	long n;
	uint64_t bytes;
	long ok, failed;
	int timed_out;
	char first_err[128];
};

static void conc_check_end(struct conc *c)
{
	if (c->ok + c->failed == c->n)
		event_base_loopbreak(c->base);
}

static void cconn_fail(struct cconn *k, const char *why)
{
	struct conc *c = k->c;

	if (k->state != 0)
		return;
	k->state = 2;
	c->failed++;
	if (!c->first_err[0])
		snprintf(c->first_err, sizeof(c->first_err), "conn%ld:%s",
			 (long)(k - c->cs), why);
	bufferevent_free(k->bev);
	k->bev = NULL;
	conc_check_end(c);
}

static void cconn_feed(struct cconn *k)
{
	struct evbuffer *out = bufferevent_get_output(k->bev);

	while (k->sent < k->c->bytes && evbuffer_get_length(out) < CHUNK) {
		struct evbuffer_iovec v;
		uint64_t left = k->c->bytes - k->sent;
		size_t n = left < 16384 ? (size_t)left : 16384;
		if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
			return;
		tool_prng_fill(&k->tx, v.iov_base, n);
		v.iov_len = n;
		evbuffer_commit_space(out, &v, 1);
		k->sent += n;
	}
}

static void cconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct cconn *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[16384], exp[16384];
	int n;

	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (k->got + (uint64_t)n > k->c->bytes) {
			cconn_fail(k, "extra-bytes");
			return;
		}
		tool_prng_fill(&k->rx, exp, (size_t)n);
		if (memcmp(exp, buf, (size_t)n) != 0) {
			cconn_fail(k, "mismatch");
			return;
		}
		k->got += (uint64_t)n;
	}
	if (k->got == k->c->bytes && k->state == 0) {
		/* Stay connected until all are done: they are meant to be
		 * concurrent, not sequential. */
		k->state = 1;
		k->c->ok++;
		conc_check_end(k->c);
	}
}

static void cconn_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	cconn_feed(arg);
}

static void cconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cconn *k = arg;
	char why[64];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY,
			   &one, sizeof(one));
		cconn_feed(k);
		if (k->c->bytes == 0 && k->state == 0) {
			k->state = 1;
			k->c->ok++;
			conc_check_end(k->c);
		}
		return;
	}
	if (k->state != 0)
		return;
	if (what & BEV_EVENT_ERROR)
		snprintf(why, sizeof(why), "error-%s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		snprintf(why, sizeof(why), "eof-after-%llu",
			 (unsigned long long)k->got);
	for (char *p = why; *p; p++)
		if (*p == ' ')
			*p = '-';
	cconn_fail(k, why);
}

static void conc_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conc *c = arg;

	(void)fd;
	(void)what;
	c->timed_out = 1;
	event_base_loopbreak(c->base);
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_conc(const struct opts *o)
{
	struct conc c = { 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	struct event *tmo;
	struct timeval tv = { (time_t)o->timeout, 0 };
	uint64_t t0 = tool_now_us();
	double secs;

	if (resolve_target(o, SOCK_STREAM, &ss, &len) != 0)
		return 1;
	raise_nofile((rlim_t)o->conns + 64);
	c.n = o->conns;
	c.bytes = o->bytes_set ? o->bytes : 65536;
	c.base = event_base_new();
	c.cs = calloc((size_t)c.n, sizeof(*c.cs));
	if (!c.base || !c.cs) {
		printf("FAIL mode=conc reason=oom\n");
		return 1;
	}
	tmo = evtimer_new(c.base, conc_timeout_cb, &c);
	evtimer_add(tmo, &tv);
	for (long i = 0; i < c.n; i++) {
		struct cconn *k = &c.cs[i];
		k->c = &c;
		tool_prng_init(&k->tx, o->seed + (uint64_t)i);
		tool_prng_init(&k->rx, o->seed + (uint64_t)i);
		k->bev = bufferevent_socket_new(c.base, -1,
						BEV_OPT_CLOSE_ON_FREE);
		if (!k->bev) {
			k->state = 2;
			c.failed++;
			continue;
		}
		bufferevent_setcb(k->bev, cconn_read_cb, cconn_write_cb,
				  cconn_event_cb, k);
		bufferevent_enable(k->bev, EV_READ | EV_WRITE);
		if (bufferevent_socket_connect(k->bev, (struct sockaddr *)&ss,
					       (int)len) != 0)
			cconn_fail(k, "connect");
	}
	if (c.ok + c.failed < c.n)
		event_base_dispatch(c.base);
	secs = secs_since(t0);
	if (c.ok == c.n) {
		printf("ok conns=%ld okcount=%ld failed=0 bytes=%llu secs=%.3f "
		       "mode=conc\n",
		       c.n, c.ok, (unsigned long long)c.bytes, secs);
	} else {
		printf("FAIL mode=conc conns=%ld okcount=%ld failed=%ld "
		       "pending=%ld reason=%s secs=%.3f\n", c.n, c.ok, c.failed,
		       c.n - c.ok - c.failed,
		       c.timed_out && !c.first_err[0] ? "timeout" :
		       (c.first_err[0] ? c.first_err : "unknown"), secs);
	}
	for (long i = 0; i < c.n; i++)
		if (c.cs[i].bev)
			bufferevent_free(c.cs[i].bev);
	event_free(tmo);
	event_base_free(c.base);
	free(c.cs);
	return c.ok == c.n ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------- */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_PORT = 256, O_HOST, O_BIND, O_PIDFILE, O_PORTFILE, O_BYTES,
	       O_SEED, O_TIMEOUT, O_CONNS, O_COUNT, O_SIZE, O_INTERVAL, O_MODE,
	       O_UDP, O_HALF, O_VERIFY, O_WAIT, O_HELP, O_RATE, O_PROGRESS };
	static const struct option lo[] = {
		{ "port", 1, 0, O_PORT }, { "host", 1, 0, O_HOST },
		{ "bind", 1, 0, O_BIND }, { "pidfile", 1, 0, O_PIDFILE },
		{ "port-file", 1, 0, O_PORTFILE }, { "bytes", 1, 0, O_BYTES },
		{ "seed", 1, 0, O_SEED }, { "timeout", 1, 0, O_TIMEOUT },
		{ "conns", 1, 0, O_CONNS }, { "count", 1, 0, O_COUNT },
		{ "size", 1, 0, O_SIZE }, { "interval-ms", 1, 0, O_INTERVAL },
		{ "mode", 1, 0, O_MODE }, { "udp", 0, 0, O_UDP },
		{ "half-close", 0, 0, O_HALF }, { "verify", 0, 0, O_VERIFY },
		{ "wait-ms", 1, 0, O_WAIT }, { "help", 0, 0, O_HELP },
		{ "rate", 1, 0, O_RATE }, { "progress-ms", 1, 0, O_PROGRESS },
		{ 0, 0, 0, 0 } };
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_PORT: bad |= tool_parse_long(optarg, 0, 65535, &o->port); break;
		case O_HOST: o->host = optarg; break;
		case O_BIND: o->bind = optarg; break;
		case O_PIDFILE: o->pidfile = optarg; break;
		case O_PORTFILE: o->port_file = optarg; break;
		case O_BYTES:
			bad |= tool_parse_size(optarg, &o->bytes);
			o->bytes_set = 1;
			break;
		case O_SEED: bad |= tool_parse_size(optarg, &o->seed); break;
		case O_RATE: bad |= tool_parse_size(optarg, &o->rate); break;
		case O_TIMEOUT:
			bad |= tool_parse_double(optarg, 0, 1e7, &o->timeout);
			break;
		case O_CONNS: bad |= tool_parse_long(optarg, 1, 100000, &o->conns); break;
		case O_COUNT:
			bad |= tool_parse_long(optarg, 1, 10000000, &o->count);
			o->count_set = 1;
			break;
		case O_SIZE: bad |= tool_parse_long(optarg, 1, 65507, &o->size); break;
		case O_INTERVAL:
			bad |= tool_parse_long(optarg, 0, 3600000, &o->interval_ms);
			break;
		case O_WAIT: bad |= tool_parse_long(optarg, 0, 3600000, &o->wait_ms); break;
		case O_PROGRESS:
			bad |= tool_parse_long(optarg, 1, 3600000, &o->progress_ms);
			break;
		case O_MODE: o->stream_mode = optarg; break;
		case O_UDP: o->udp = 1; break;
		case O_HALF: o->half_close = 1; break;
		case O_VERIFY: o->verify = 1; break;
		case O_HELP: o->help = 1; break;
		default: bad = 1; break;
		}
	}
	if (optind < argc)
		bad = 1;
	return bad ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .host = "127.0.0.1", .bind = "127.0.0.1", .port = -1,
			  .bytes = 1024 * 1024, .seed = 1, .timeout = -1,
			  .conns = 200, .count = 100, .size = 64,
			  .interval_ms = 10, .wait_ms = 1000 };
	struct probe_args pa;
	const char *m;
	int server, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	m = o.mode = argv[1];
	if (parse_opts(argc - 1, argv + 1, &o) != 0) {
		fprintf(stderr, "nettool %s: bad arguments\n", m);
		usage(stderr);
		return 2;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(m, "free-port") && !o.count_set)
		o.count = 1;
	signal(SIGPIPE, SIG_IGN);
	server = !strcmp(m, "echo-server") || !strcmp(m, "sink-server") ||
		 !strcmp(m, "source-server") || !strcmp(m, "udp-echo");
	if (o.timeout < 0)
		o.timeout = server ? 900 : !strcmp(m, "wait-port") ? 10 : 120;
	if (!server && strcmp(m, "free-port")) {
		if (o.port < 1) {
			printf("FAIL mode=%s reason=--port-required\n", m);
			return 2;
		}
		if (o.timeout <= 0)
			o.timeout = 1e7;
		tool_arm_hard_timeout(o.timeout + 5);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pa = (struct probe_args){ .host = o.host, .port = o.port,
				  .count = o.count, .size = o.size,
				  .interval_ms = o.interval_ms,
				  .wait_ms = o.wait_ms, .timeout = o.timeout,
				  .seed = o.seed };
	if (!strcmp(m, "echo-server"))
		rc = run_server(&o, SRV_ECHO, 0);
	else if (!strcmp(m, "sink-server"))
		rc = run_server(&o, SRV_SINK, 0);
	else if (!strcmp(m, "source-server"))
		rc = run_server(&o, SRV_SOURCE, 0);
	else if (!strcmp(m, "udp-echo"))
		rc = run_server(&o, SRV_ECHO, 1);
	else if (!strcmp(m, "send"))
		rc = run_xfer(&o, &(struct xfer){ .echo = 1, .verify = 1,
						  .half_close = o.half_close,
						  .stop_at_n = 1,
						  .send_n = o.bytes });
	else if (!strcmp(m, "recv"))
		rc = run_xfer(&o, &(struct xfer){ .verify = 1, .stop_at_n = 1 });
	else if (!strcmp(m, "stream") && o.stream_mode &&
		 !strcmp(o.stream_mode, "echo"))
		rc = run_xfer(&o, &(struct xfer){ .echo = 1, .verify = o.verify,
						  .half_close = o.half_close,
						  .stop_at_n = 1,
						  .send_n = o.bytes });
	else if (!strcmp(m, "stream") && o.stream_mode &&
		 !strcmp(o.stream_mode, "up"))
		rc = run_xfer(&o, &(struct xfer){ .half_close = 1,
						  .send_n = o.bytes });
	else if (!strcmp(m, "stream") && o.stream_mode &&
		 !strcmp(o.stream_mode, "down"))
		rc = run_xfer(&o, &(struct xfer){ .verify = o.verify });
	else if (!strcmp(m, "conc"))
		rc = run_conc(&o);
	else if (!strcmp(m, "rtt"))
		rc = probe_rtt(&pa);
	else if (!strcmp(m, "rtt-paced"))
		rc = probe_rtt_paced(&pa);
	else if (!strcmp(m, "udp-ping"))
		rc = probe_udp_ping(&pa);
	else if (!strcmp(m, "wait-port"))
		rc = probe_wait_port(&pa);
	else if (!strcmp(m, "free-port"))
		rc = probe_free_port(&pa);
	else {
		fprintf(stderr, "nettool: unknown mode '%s'%s\n", m,
			!strcmp(m, "stream") ? " (needs --mode up|down|echo)" : "");
		usage(stderr);
		return 2;
	}
	return rc;
}
