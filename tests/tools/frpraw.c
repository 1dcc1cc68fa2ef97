/*
 * frpraw - speak raw frp v1 to a frps over plain TCP (tcpMux off), for
 * protocol tests that a well-behaved frpc cannot do.
 *
 *   frpraw login --port P --token T [--ts-offset SECONDS] [--mux]
 *       send Login, print the LoginResp as "run_id=... error=..."; exit 0
 *       when a LoginResp arrived, 1 otherwise.
 *   frpraw abuse --port P --what oversized|negative|badjson|badtype|
 *                                outoforder|garbage-mux
 *       send one bad thing; exit 0 if frps closes the connection within 5 s.
 *
 * Blocking sockets, no event loop: this is a test probe, not a client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "crypto.h"
#include "msg.h"
#include "mux.h"
#include "util.h"

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == -1) {
		perror("connect");
		exit(2);
	}
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

/* Send one frame, wrapped in a yamux data frame on stream 1 if mux. */
static void send_frame(int fd, const uint8_t *p, size_t n, int mux, int first)
{
	if (mux) {
		uint8_t h[MUX_HDR_LEN];
		struct mux_frame f = {.type = MUX_DATA, .flags = first ? MUX_SYN : 0,
				      .stream_id = 1, .length = (uint32_t)n};
		mux_frame_encode(&f, h);
		send_all(fd, h, sizeof(h));
	}
	send_all(fd, p, n);
}

/* 1 if the peer closed (EOF or reset) within ms. */
static int closed_within(int fd, int ms)
{
	uint8_t buf[4096];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, ms);
		if (r <= 0)
			return 0;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 1;
	}
}

static int do_login(int port, const char *token, long off, int mux)
{
	int fd = dial(port);
	int64_t ts = util_unix_time() + off;
	char key[33];
	crypto_auth_key(token, ts, key);
	struct msg m = {.type = MSG_LOGIN};
	m.u.login.version = "0.54.0";
	m.u.login.os = "linux";
	m.u.login.arch = "amd64";
	m.u.login.privilege_key = key;
	m.u.login.timestamp = ts;
	m.u.login.pool_count = 1;
	struct evbuffer *out = evbuffer_new();
	msg_encode(out, &m);
	size_t n = evbuffer_get_length(out);
	send_frame(fd, evbuffer_pullup(out, (ssize_t)n), n, mux, 1);
	evbuffer_free(out);
	/* Read until a LoginResp decodes; with --mux, unwrap yamux data
	 * frames into `plain` first. */
	uint8_t buf[65536], plain[65536];
	size_t have = 0, np = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, 5000) > 0) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
		if (!mux) {
			memcpy(plain, buf, have);
			np = have;
		} else {
			size_t used = 0;
			struct mux_frame f;
			while (have - used >= MUX_HDR_LEN &&
			       mux_frame_decode(buf + used, &f) == 0) {
				size_t body = f.type == MUX_DATA ? f.length : 0;
				if (have - used < MUX_HDR_LEN + body)
					break;
				memcpy(plain + np, buf + used + MUX_HDR_LEN, body);
				np += body;
				used += MUX_HDR_LEN + body;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
		}
		struct msg resp;
		long used = msg_decode(plain, np, &resp);
		if (used > 0 && resp.type == MSG_LOGIN_RESP) {
			printf("run_id=%s error=%s\n",
			       resp.u.login_resp.run_id ? resp.u.login_resp.run_id : "",
			       resp.u.login_resp.error ? resp.u.login_resp.error : "");
			msg_free(&resp);
			close(fd);
			return 0;
		}
		if (used > 0)
			msg_free(&resp);
	}
	printf("no LoginResp\n");
	close(fd);
	return 1;
}

static int do_abuse(int port, const char *what)
{
	int fd = dial(port);
	uint8_t b[16384];
	size_t n = 0;
	int mux = 0;
	if (strcmp(what, "oversized") == 0) {
		/* 'o' with a body of 10241 bytes announced (and sent). */
		b[0] = 'o';
		uint64_t len = 10241;
		for (int i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(len >> (56 - 8 * i));
		memset(b + 9, ' ', len);
		n = 9 + len;
	} else if (strcmp(what, "negative") == 0) {
		memcpy(b, "o\xff\xff\xff\xff\xff\xff\xff\xf0", 9);
		n = 9;
	} else if (strcmp(what, "badjson") == 0) {
		memcpy(b, "o\0\0\0\0\0\0\0\x05{bad}", 14);
		n = 14;
	} else if (strcmp(what, "badtype") == 0) {
		memcpy(b, "Z\0\0\0\0\0\0\0\x02{}", 11);
		n = 11;
	} else if (strcmp(what, "outoforder") == 0) {
		/* A StartWorkConn as the first message of a connection. */
		const char *j = "{\"proxy_name\":\"x\"}";
		b[0] = 's';
		memset(b + 1, 0, 8);
		b[8] = (uint8_t)strlen(j);
		memcpy(b + 9, j, strlen(j));
		n = 9 + strlen(j);
	} else if (strcmp(what, "garbage-mux") == 0) {
		memset(b, 0x7f, 64); /* version byte 0x7f: not yamux */
		n = 64;
	} else {
		fprintf(stderr, "frpraw: unknown --what %s\n", what);
		return 2;
	}
	send_frame(fd, b, n, mux, 1);
	int ok = closed_within(fd, 5000);
	close(fd);
	printf("%s: %s\n", what, ok ? "connection closed" : "connection still open");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"token", required_argument, NULL, 't'},
		{"ts-offset", required_argument, NULL, 'o'},
		{"what", required_argument, NULL, 'w'},
		{"mux", no_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2) {
		fprintf(stderr, "usage: frpraw login|abuse --port P ...\n");
		return 2;
	}
	const char *cmd = argv[1];
	argv++;
	argc--;
	int port = 0, mux = 0;
	long off = 0;
	const char *token = "", *what = "";
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 't': token = optarg; break;
		case 'o': off = atol(optarg); break;
		case 'w': what = optarg; break;
		case 'm': mux = 1; break;
		default: return 2;
		}
	}
	if (strcmp(cmd, "login") == 0)
		return do_login(port, token, off, mux);
	if (strcmp(cmd, "abuse") == 0)
		return do_abuse(port, what);
	fprintf(stderr, "frpraw: unknown command %s\n", cmd);
	return 2;
}
