/*
 * tool_util.h - helpers shared by the test/benchmark programs in
 * tests/tools (each .c there is one program; this header is included, not
 * built). Everything is static inline so a program that uses only part of
 * it still compiles warning-free.
 */
#ifndef TOOL_UTIL_H
#define TOOL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- deterministic byte stream ------------------------------------------
 * Seeded xorshift64*: the same seed gives the same bytes in every tool, so a
 * receiver can verify what a sender produced without exchanging anything. */
struct tool_prng {
	uint64_t s;
	uint8_t spare[8];
	unsigned nspare;
};

static inline uint64_t tool_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void tool_prng_init(struct tool_prng *p, uint64_t seed)
{
	uint64_t x = seed;
	p->s = tool_splitmix(&x);
	if (p->s == 0)
		p->s = 1;
	p->nspare = 0;
}

static inline uint64_t tool_prng_next(struct tool_prng *p)
{
	p->s ^= p->s >> 12;
	p->s ^= p->s << 25;
	p->s ^= p->s >> 27;
	return p->s * 0x2545F4914F6CDD1Dull;
}

static inline void tool_prng_fill(struct tool_prng *p, uint8_t *buf, size_t n)
{
	while (n > 0 && p->nspare > 0) {
		*buf++ = p->spare[8 - p->nspare];
		p->nspare--;
		n--;
	}
	while (n >= 8) {
		uint64_t v = tool_prng_next(p);
		memcpy(buf, &v, 8);
		buf += 8;
		n -= 8;
	}
	if (n > 0) {
		uint64_t v = tool_prng_next(p);
		memcpy(p->spare, &v, 8);
		memcpy(buf, p->spare, n);
		p->nspare = (unsigned)(8 - n);
	}
}

/* ---- time ---------------------------------------------------------------- */
static inline uint64_t tool_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void tool_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* poll() timeout toward a deadline: at most 1 s per wait, so callers
 * re-check their state and huge deadlines never overflow an int. */
static inline int tool_poll_ms(uint64_t deadline_us)
{
	uint64_t now = tool_now_us(), ms;

	if (now >= deadline_us)
		return 0;
	ms = (deadline_us - now + 999) / 1000;
	return ms > 1000 ? 1000 : (int)ms;
}

static inline int tool_timeout_ms(double secs)
{
	return secs * 1000 > 2e9 ? 2000000000 : (int)(secs * 1000);
}

/* Backstop for every client mode: whatever hangs, the process ends. The
 * modes report their own, more precise timeouts before this fires. */
static inline void tool_alarm_handler(int sig)
{
	static const char msg[] = "FAIL reason=hard-timeout\n";
	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to do */
	}
	_exit(3);
}

static inline void tool_arm_hard_timeout(double secs)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	if (secs <= 0)
		return;
	signal(SIGALRM, tool_alarm_handler);
	it.it_value.tv_sec = (time_t)secs;
	it.it_value.tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6);
	if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* ---- parsing ------------------------------------------------------------- */
/* "123", "64k", "8M", "1G" (binary multiples; "KiB"/"MB" spellings too). */
static inline int tool_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mul = 1024ull; end++; break;
	case 'm': case 'M': mul = 1024ull * 1024; end++; break;
	case 'g': case 'G': mul = 1024ull * 1024 * 1024; end++; break;
	default: return -EINVAL;
	}
	if (mul > 1 && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end != '\0' || (v > 0 && mul > UINT64_MAX / v))
		return -EINVAL;
	*out = (uint64_t)v * mul;
	return 0;
}

static inline int tool_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static inline int tool_parse_double(const char *s, double lo, double hi,
				    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
}

/* Numeric or named host plus port into a sockaddr (first result). */
static inline int tool_resolve(const char *host, int port, int socktype,
			       struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res = NULL;
	char pbuf[16];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	snprintf(pbuf, sizeof(pbuf), "%d", port);
	rc = getaddrinfo(host, pbuf, &hints, &res);
	if (rc != 0 || !res)
		return -EINVAL;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* "host:port" or "[v6]:port". */
static inline int tool_parse_hostport(const char *s, int socktype,
				      struct sockaddr_storage *ss,
				      socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;
	long port;

	if (!colon || tool_parse_long(colon + 1, 0, 65535, &port) != 0)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return tool_resolve(host, (int)port, socktype, ss, len);
}

static inline int tool_sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static inline int tool_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return tool_sockaddr_port(&ss);
}

/* Write "text" to path through a temporary file and rename, so a script
 * polling for the file never reads it half-written. */
static inline int tool_write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	int ok;

	if (!path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	ok = fputs(text, f) >= 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) == -1) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return -e;
	}
	return 0;
}

static inline int tool_write_int_file(const char *path, long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld\n", v);
	return tool_write_file(path, buf);
}

/* Non-blocking connect bounded by timeout_ms; returns a connected socket
 * (left non-blocking) or -errno. */
static inline int tool_tcp_connect(const struct sockaddr_storage *ss,
				   socklen_t len, int timeout_ms)
{
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);
	struct pollfd pfd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd == -1)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -err;
}

#endif
