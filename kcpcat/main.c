/*
 * kcpcat - netcat over the kcp transport plugin, for debugging a link and as
 * our interop probe against kcp-go / kcptun.
 *
 *   kcpcat [-l] HOST:PORT [--crypt NAME] [--key KEY] [--datashard N]
 *          [--parityshard N] [--mode M] [--mtu N] [--sndwnd N] [--rcvwnd N]
 *          [--congestion bbr|none] [-w SECONDS] [--echo] [--transport NAME]
 *          [--transports-dir DIR]
 *
 * Client: stdin -> peer, peer -> stdout. -l: accept one session, same
 * plumbing. KCP has no FIN, so the exit rule is: after stdin EOF, wait until
 * everything sent is acknowledged, then exit once nothing has arrived for -w
 * seconds (default 3). --echo sends back whatever arrives instead (an echo
 * server for link tests; with it, -w ends the program after the peer has
 * been silent that long).
 *
 * stdin and stdout are non-blocking members of the event loop (unless they
 * are regular files or a terminal): a stdout that does not keep up leaves
 * data in the stream's input, whose high watermark stops the transport
 * from delivering more, so the KCP receive window closes and the peer
 * slows down; the loop (and KCP's timers) never waits on a write. That is
 * what lets `kcpcat -l H:P <>fifo >fifo` echo more than a pipe's worth.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xport_loader.h"

#define STDIN_CHUNK 65536
#define OUT_HIGH_WM (1u << 20)
#define MAX_OPTS 16

struct cat {
	struct event_base *base;
	const struct xport_ops *ops;
	struct xport_ctx *ctx;
	struct xport_listener *lst;
	struct xport_dial *dial;
	struct xport_stream *s;
	struct bufferevent *bev;
	struct event *in_ev;   /* stdin readable (pipes, ttys, sockets) */
	struct event *out_ev;  /* stdout writable again (pipes, sockets) */
	struct event *tick;
	bool stdin_regular;    /* regular file: pumped from the write cb */
	bool stdin_eof;
	bool echo;             /* --echo: send back what arrives */
	uint64_t last_rx_ms;
	int wait_s;
	int status;
	uint8_t buf[STDIN_CHUNK];
};

static void finish(struct cat *k, int status)
{
	k->status = status;
	event_base_loopexit(k->base, NULL);
}

static void pump_stdin(struct cat *k)
{
	struct evbuffer *out = bufferevent_get_output(k->bev);
	while (!k->stdin_eof && evbuffer_get_length(out) < OUT_HIGH_WM) {
		ssize_t n = read(STDIN_FILENO, k->buf, sizeof(k->buf));
		if (n > 0) {
			evbuffer_add(out, k->buf, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		k->stdin_eof = true;
		if (k->in_ev)
			event_del(k->in_ev);
	}
	if (k->in_ev && !k->stdin_eof) {
		/* Output full: stop watching stdin until it drains. */
		if (evbuffer_get_length(out) >= OUT_HIGH_WM)
			event_del(k->in_ev);
	}
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_stdin(arg);
}

/* Moves the stream's input to stdout until it is empty or stdout would
 * block; then waits for stdout to drain (out_ev). What stays in the input
 * holds the transport back through the read high watermark. */
static void flush_stdout(struct cat *k)
{
	struct evbuffer *in = bufferevent_get_input(k->bev);
	while (evbuffer_get_length(in) > 0) {
		int w = evbuffer_write(in, STDOUT_FILENO);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && k->out_ev) {
			event_add(k->out_ev, NULL);
			return;
		}
		if (w <= 0) {
			fprintf(stderr, "kcpcat: stdout: %s\n", strerror(errno));
			finish(k, 1);
			return;
		}
	}
	if (k->out_ev)
		event_del(k->out_ev);
}

static void stdout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_stdout(arg);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct cat *k = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	k->last_rx_ms = util_now_ms();
	if (k->echo) {
		bufferevent_write_buffer(bev, in);
		return;
	}
	if (!k->out_ev || !event_pending(k->out_ev, EV_WRITE, NULL))
		flush_stdout(k);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct cat *k = arg;
	if (k->stdin_eof)
		return;
	if (k->stdin_regular)
		pump_stdin(k);
	else if (k->in_ev && !event_pending(k->in_ev, EV_READ, NULL))
		event_add(k->in_ev, NULL);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	struct cat *k = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		fprintf(stderr, "kcpcat: peer %s\n",
			(what & BEV_EVENT_EOF) ? "closed" : "failed");
		finish(k, (what & BEV_EVENT_EOF) ? 0 : 1);
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct cat *k = arg;
	if (!k->s || !k->stdin_eof)
		return;
	struct xport_stats st;
	k->ops->stream_stats(k->s, &st);
	if (st.send_queue > 0 || evbuffer_get_length(bufferevent_get_output(k->bev)))
		return; /* not all acknowledged yet */
	if (evbuffer_get_length(bufferevent_get_input(k->bev)))
		return; /* not all written to stdout yet */
	if (util_now_ms() - k->last_rx_ms >= (uint64_t)k->wait_s * 1000)
		finish(k, 0);
}

static void start_stream(struct cat *k, struct xport_stream *s)
{
	k->s = s;
	k->bev = k->ops->stream_bev(s);
	k->last_rx_ms = util_now_ms();
	bufferevent_setcb(k->bev, read_cb, write_cb, event_cb, k);
	bufferevent_setwatermark(k->bev, EV_WRITE, OUT_HIGH_WM / 2, 0);
	/* stdout backpressure: past this much undelivered input the
	 * transport stops handing us data */
	bufferevent_setwatermark(k->bev, EV_READ, 0, OUT_HIGH_WM);
	bufferevent_enable(k->bev, EV_READ | EV_WRITE);
	if (k->echo) {
		k->stdin_eof = true;
		return;
	}
	struct stat sb;
	if (fstat(STDOUT_FILENO, &sb) == 0 &&
	    (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) {
		fcntl(STDOUT_FILENO, F_SETFL,
		      fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
		k->out_ev = event_new(k->base, STDOUT_FILENO, EV_WRITE,
				      stdout_cb, k);
	}
	k->stdin_regular = fstat(STDIN_FILENO, &sb) == 0 && S_ISREG(sb.st_mode);
	if (!k->stdin_regular) {
		fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
		k->in_ev = event_new(k->base, STDIN_FILENO, EV_READ | EV_PERSIST,
				     stdin_cb, k);
		if (event_add(k->in_ev, NULL) != 0) {
			/* Not pollable (e.g. /dev/null): read it like a file. */
			event_free(k->in_ev);
			k->in_ev = NULL;
			k->stdin_regular = true;
		}
	}
	if (k->stdin_regular)
		pump_stdin(k);
}

static void accept_cb(struct xport_stream *s, void *arg)
{
	struct cat *k = arg;
	if (k->s) {
		k->ops->stream_close(s, XPORT_CLOSE_ABORT);
		return;
	}
	start_stream(k, s);
}

static void dial_cb(struct xport_stream *s, int err, void *arg)
{
	struct cat *k = arg;
	k->dial = NULL;
	if (err) {
		fprintf(stderr, "kcpcat: connect: %s\n", strerror(-err));
		finish(k, 1);
		return;
	}
	start_stream(k, s);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kcpcat [-l] HOST:PORT [--crypt NAME] [--key KEY] "
		   "[--datashard N] [--parityshard N]\n"
		   "              [--mode normal|fast|fast2|fast3] [--mtu N] "
		   "[--sndwnd N] [--rcvwnd N] [--congestion bbr|none]\n"
		   "              [-w SECONDS]\n"
		   "              [--echo] [--transport NAME] [--transports-dir DIR]\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *flag, *key;
	} map[] = {{"crypt", "crypt"},         {"key", "key"},
		   {"datashard", "dataShards"}, {"parityshard", "parityShards"},
		   {"mode", "mode"},           {"mtu", "mtu"},
		   {"sndwnd", "sndWnd"},       {"rcvwnd", "rcvWnd"},
		   {"congestion", "congestion"}};
	enum { O_MAP = 256, O_XDIR = O_MAP + 16, O_XPORT };
	struct option lopts[16];
	size_t nmap = sizeof(map) / sizeof(map[0]);
	for (size_t i = 0; i < nmap; i++)
		lopts[i] = (struct option){map[i].flag, required_argument, NULL,
					   O_MAP + (int)i};
	lopts[nmap] = (struct option){"transports-dir", required_argument, NULL, O_XDIR};
	lopts[nmap + 1] = (struct option){"transport", required_argument, NULL, O_XPORT};
	lopts[nmap + 2] = (struct option){"help", no_argument, NULL, 'h'};
	lopts[nmap + 3] = (struct option){"echo", no_argument, NULL, 'e'};
	lopts[nmap + 4] = (struct option){NULL, 0, NULL, 0};

	struct xport_option opts[MAX_OPTS];
	size_t nopts = 0;
	bool listen_mode = false;
	const char *xdir = NULL, *xname = "kcp";
	static struct cat k;
	k.wait_s = 3;
	int ch;
	while ((ch = getopt_long(argc, argv, "lw:h", lopts, NULL)) != -1) {
		if (ch >= O_MAP && ch < O_MAP + (int)nmap) {
			opts[nopts++] = (struct xport_option){map[ch - O_MAP].key, optarg};
			continue;
		}
		switch (ch) {
		case 'l': listen_mode = true; break;
		case 'e': k.echo = true; break;
		case 'w': k.wait_s = atoi(optarg); break;
		case O_XDIR: xdir = optarg; break;
		case O_XPORT: xname = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	char host[256];
	snprintf(host, sizeof(host), "%s", argv[optind]);
	char *colon = strrchr(host, ':');
	long port = colon ? strtol(colon + 1, NULL, 10) : -1;
	if (!colon || port < 0 || port > 65535) {
		fprintf(stderr, "kcpcat: \"%s\" is not HOST:PORT\n", argv[optind]);
		return 2;
	}
	*colon = '\0';
	/* KCPCAT_LOG_LEVEL=debug shows the transport's per-session summary. */
	const char *lv = getenv("KCPCAT_LOG_LEVEL");
	int lvl = lv ? log_level_parse(lv) : -1;
	log_set_level(lvl >= 0 ? lvl : XPORT_LOG_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (xport_load_default(xdir, xport_host_default()) <= 0 ||
	    !(k.ops = xport_find(xname))) {
		fprintf(stderr, "kcpcat: transport \"%s\" not available\n", xname);
		return 2;
	}
	k.base = event_base_new();
	char err[256] = "";
	int rc = k.ops->init(k.base, opts, nopts, &k.ctx, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kcpcat: %s\n", err);
		event_base_free(k.base);
		return 2;
	}
	if (listen_mode)
		rc = k.ops->listen(k.ctx, host, (uint16_t)port, accept_cb, &k, &k.lst,
				   err, sizeof(err));
	else
		rc = k.ops->dial(k.ctx, host, (uint16_t)port, 10000, dial_cb, &k,
				 &k.dial, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kcpcat: %s\n", err);
		k.ops->fini(k.ctx);
		event_base_free(k.base);
		return 1;
	}
	k.tick = event_new(k.base, -1, EV_PERSIST, tick_cb, &k);
	struct timeval tv = {0, 100000};
	event_add(k.tick, &tv);
	event_base_dispatch(k.base);
	if (k.dial)
		k.ops->dial_cancel(k.dial);
	if (k.s)
		k.ops->stream_close(k.s, XPORT_CLOSE_ABORT);
	k.ops->listener_free(k.lst);
	if (k.in_ev)
		event_free(k.in_ev);
	if (k.out_ev)
		event_free(k.out_ev);
	event_free(k.tick);
	k.ops->fini(k.ctx);
	for (int i = 0; i < 3; i++)
		event_base_loop(k.base, EVLOOP_NONBLOCK);
	event_base_free(k.base);
	return k.status;
}
