/*
 * nettool_probe.h - nettool's probing modes: TCP round trips (rtt), UDP
 * loss/RTT (udp-ping), wait-port and free-port. Part of nettool.c only
 * (the build makes one program per .c in tests/tools, so a program split
 * across files shares code through headers); kept apart to keep each file
 * small. Output conventions are nettool's: one "ok ..."/"FAIL ..." line.
 */
#ifndef NETTOOL_PROBE_H
#define NETTOOL_PROBE_H

#include <math.h>
#include <sys/random.h>

#include "tool_util.h"

struct probe_args {
	const char *host;
	long port;
	long count, size, interval_ms, wait_ms;
	double timeout;
	uint64_t seed;
};

static int probe_resolve(const struct probe_args *o, const char *mode,
			 int socktype, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	if (tool_resolve(o->host, (int)o->port, socktype, ss, len) != 0) {
		printf("FAIL mode=%s reason=bad-address host=%s\n", mode,
		       o->host);
		return -1;
	}
	return 0;
}

static double probe_secs_since(uint64_t t0_us)
{
	return (double)(tool_now_us() - t0_us) / 1e6;
}

/* ---- latency ---------------------------------------------------------------- */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	return n ? v[rank ? rank - 1 : 0] : 0;
}

static void print_lat(const char *prefix, uint64_t *v, size_t n)
{
	uint64_t sum = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	printf("%sp50_us=%llu %sp99_us=%llu %smax_us=%llu %smin_us=%llu "
	       "%savg_us=%.1f", prefix, (unsigned long long)pct(v, n, 50),
	       prefix, (unsigned long long)pct(v, n, 99), prefix,
	       (unsigned long long)(n ? v[n - 1] : 0), prefix,
	       (unsigned long long)(n ? v[0] : 0), prefix,
	       n ? (double)sum / (double)n : 0.0);
}

/* Move exactly n bytes in one direction before deadline; 0 or -errno. */
static int io_full(int fd, uint8_t *buf, size_t n, int wr, uint64_t deadline)
{
	size_t done = 0;

	while (done < n) {
		struct pollfd p = { fd, wr ? POLLOUT : POLLIN, 0 };
		uint64_t now = tool_now_us();
		ssize_t r;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, tool_poll_ms(deadline)) <= 0)
			continue;
		r = wr ? write(fd, buf + done, n - done)
		       : read(fd, buf + done, n - done);
		if (r > 0)
			done += (size_t)r;
		else if (r == 0)
			return -EPIPE;
		else if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

static int probe_rtt(const struct probe_args *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct tool_prng pr;
	uint8_t *msg = malloc((size_t)o->size), *back = malloc((size_t)o->size);
	uint64_t *lat = calloc((size_t)o->count, sizeof(uint64_t));
	uint64_t deadline = tool_now_us() + (uint64_t)(o->timeout * 1e6);
	int fd = -1, rc = 1;
	long i = 0;

	if (!msg || !back || !lat || probe_resolve(o, "rtt", SOCK_STREAM, &ss, &len))
		goto out;
	fd = tool_tcp_connect(&ss, len, tool_timeout_ms(o->timeout));
	if (fd < 0) {
		printf("FAIL mode=rtt reason=connect errno=%s\n", strerror(-fd));
		goto out;
	}
	/* Not the plain seed: a source-server would then "echo" correctly. */
	tool_prng_init(&pr, o->seed ^ 0x5254540000000000ull);
	for (i = 0; i < o->count; i++) {
		uint64_t t0;
		int e;
		tool_prng_fill(&pr, msg, (size_t)o->size);
		t0 = tool_now_us();
		e = io_full(fd, msg, (size_t)o->size, 1, deadline);
		if (!e)
			e = io_full(fd, back, (size_t)o->size, 0, deadline);
		if (e) {
			printf("FAIL mode=rtt reason=%s done=%ld\n",
			       e == -ETIMEDOUT ? "timeout" :
			       e == -EPIPE ? "eof" : strerror(-e), i);
			goto out;
		}
		lat[i] = tool_now_us() - t0;
		if (memcmp(msg, back, (size_t)o->size) != 0) {
			printf("FAIL mode=rtt reason=mismatch done=%ld\n", i);
			goto out;
		}
		if (o->interval_ms > 0 && i + 1 < o->count)
			tool_sleep_ms((unsigned)o->interval_ms);
	}
	printf("ok count=%ld size=%ld ", o->count, o->size);
	print_lat("", lat, (size_t)o->count);
	printf(" mode=rtt\n");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(msg);
	free(back);
	free(lat);
	return rc;
}

/* rtt-paced: a message every interval whether or not the previous one is
 * back (an interactive user does not wait either), on one connection. The
 * echo returns them in order, so message i's latency is the time from its
 * send to the moment its last byte is back. Messages not back within
 * wait-ms after the last send count as lost. */
static int probe_rtt_paced(const struct probe_args *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n = (size_t)o->count, size = (size_t)o->size;
	uint64_t *sent_at = calloc(n, sizeof(uint64_t));
	uint64_t *lat = calloc(n, sizeof(uint64_t));
	uint8_t *msg = malloc(size), buf[65536];
	uint64_t next, end = 0, hard;
	size_t sent = 0, woff = 0, back = 0, roff = 0;
	int fd = -1, rc = 1;

	if (!sent_at || !lat || !msg ||
	    probe_resolve(o, "rtt-paced", SOCK_STREAM, &ss, &len))
		goto out;
	fd = tool_tcp_connect(&ss, len, tool_timeout_ms(o->timeout));
	if (fd < 0) {
		printf("FAIL mode=rtt-paced reason=connect errno=%s\n",
		       strerror(-fd));
		goto out;
	}
	memset(msg, 0x5a, size);
	next = tool_now_us();
	hard = next + (uint64_t)(o->timeout * 1e6);
	while (back < n) {
		uint64_t now = tool_now_us(), wake;
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (now >= hard || (end && now >= end))
			break;
		/* the current message goes out whole before the next starts */
		if (sent < n && (woff || now >= next)) {
			if (!woff)
				sent_at[sent] = now;
			r = write(fd, msg + woff, size - woff);
			if (r > 0 && (woff += (size_t)r) == size) {
				woff = 0;
				next += (uint64_t)o->interval_ms * 1000;
				if (++sent == n)
					end = now + (uint64_t)o->wait_ms * 1000;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				break;
			if (woff)
				p.events |= POLLOUT;
		}
		wake = sent < n && !woff ? next : end ? end : hard;
		if (wake > hard)
			wake = hard;
		if (poll(&p, 1, woff ? 10 : tool_poll_ms(wake)) <= 0)
			continue;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
		for (ssize_t i = 0; i < r && back < sent; i++)
			if (++roff == size) {
				roff = 0;
				lat[back] = tool_now_us() - sent_at[back];
				back++;
			}
	}
	/* each message's latency in send order, for a look at when the slow
	 * ones happened (print_lat sorts) */
	printf("samples_ms");
	for (size_t i = 0; i < back; i++)
		printf(" %.1f", (double)lat[i] / 1000.0);
	printf("\n%s count=%zu back=%zu lost=%zu size=%zu ", back ? "ok" : "FAIL",
	       n, back, n - back, size);
	print_lat("", lat, back);
	printf(" mode=rtt-paced%s\n", back ? "" : " reason=no-replies");
	rc = back ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(sent_at);
	free(lat);
	free(msg);
	return rc;
}

/* ---- UDP ping: loss, duplicates, reordering, RTT -------------------------- */
#define PING_HDR 12 /* magic u64 + seq u32 */

static int probe_udp_ping(const struct probe_args *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	size_t size = (size_t)(o->size < PING_HDR ? PING_HDR : o->size);
	size_t n = (size_t)o->count;
	uint64_t *sent_at = calloc(n, sizeof(uint64_t));
	uint64_t *rtt = calloc(n, sizeof(uint64_t));
	uint8_t *seen = calloc(n, 1), pkt[65536];
	uint64_t magic, t_start, next, end = 0, hard;
	size_t sent = 0, nrecv = 0, dup = 0, reord = 0, refused = 0;
	long max_seq = -1;
	int fd = -1, rc = 1;

	if (!sent_at || !rtt || !seen || size > sizeof(pkt) ||
	    probe_resolve(o, "udp-ping", SOCK_DGRAM, &ss, &len))
		goto out;
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&ss, len) == -1) {
		printf("FAIL mode=udp-ping reason=socket errno=%s\n",
		       strerror(errno));
		goto out;
	}
	if (getrandom(&magic, sizeof(magic), 0) != sizeof(magic))
		magic = tool_now_us() ^ ((uint64_t)getpid() << 32);
	memset(pkt, 0xA5, size);
	t_start = next = tool_now_us();
	hard = t_start + (uint64_t)(o->timeout * 1e6);
	for (;;) {
		uint64_t now = tool_now_us(), wake;
		struct pollfd p = { fd, POLLIN, 0 };

		if (sent < n && now >= next) {
			uint32_t seq = (uint32_t)sent;
			memcpy(pkt, &magic, 8);
			memcpy(pkt + 8, &seq, 4);
			sent_at[sent] = now;
			if (send(fd, pkt, size, 0) == -1 && errno == ECONNREFUSED)
				refused++;
			sent++;
			next += (uint64_t)o->interval_ms * 1000;
			if (sent == n)
				end = now + (uint64_t)o->wait_ms * 1000;
			continue;
		}
		if ((sent == n && (nrecv == n || now >= end)) || now >= hard)
			break;
		wake = sent < n ? next : end;
		if (wake > hard)
			wake = hard;
		if (poll(&p, 1, tool_poll_ms(wake)) <= 0)
			continue;
		for (;;) {
			ssize_t r = recv(fd, pkt, sizeof(pkt), 0);
			uint64_t m;
			uint32_t seq;
			if (r == -1 && errno == ECONNREFUSED) {
				refused++;
				continue;
			}
			if (r < PING_HDR)
				break;
			memcpy(&m, pkt, 8);
			memcpy(&seq, pkt + 8, 4);
			if (m != magic || seq >= sent)
				continue; /* not ours */
			if (seen[seq]) {
				dup++;
				continue;
			}
			seen[seq] = 1;
			rtt[nrecv++] = tool_now_us() - sent_at[seq];
			if ((long)seq < max_seq)
				reord++;
			else
				max_seq = seq;
		}
		memset(pkt, 0xA5, size);
	}
	/* in arrival order, for a look at when the queue stood (print_lat
	 * sorts) */
	printf("samples_ms");
	for (size_t i = 0; i < nrecv; i++)
		printf(" %.1f", (double)rtt[i] / 1000.0);
	printf("\n%s sent=%zu recv=%zu loss_pct=%.2f dup=%zu reordered=%zu "
	       "refused=%zu ", nrecv ? "ok" : "FAIL", sent, nrecv,
	       sent ? 100.0 * (double)(sent - nrecv) / (double)sent : 0.0, dup,
	       reord, refused);
	print_lat("rtt_", rtt, nrecv);
	printf(" mode=udp-ping%s\n", nrecv ? "" : " reason=no-replies");
	rc = nrecv ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(sent_at);
	free(rtt);
	free(seen);
	return rc;
}

/* ---- ports ------------------------------------------------------------------ */
static int probe_wait_port(const struct probe_args *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint64_t t0 = tool_now_us();
	uint64_t deadline = t0 + (uint64_t)(o->timeout * 1e6);

	if (probe_resolve(o, "wait-port", SOCK_STREAM, &ss, &len) != 0)
		return 1;
	for (;;) {
		int fd = tool_tcp_connect(&ss, len, 200);
		if (fd >= 0) {
			close(fd);
			printf("ok port=%ld secs=%.3f\n", o->port, probe_secs_since(t0));
			return 0;
		}
		if (tool_now_us() >= deadline)
			break;
		tool_sleep_ms(50);
	}
	printf("FAIL mode=wait-port port=%ld reason=timeout secs=%.3f\n",
	       o->port, probe_secs_since(t0));
	return 1;
}

static int port_bindable(int type, int port)
{
	struct sockaddr_in sin = { 0 };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), ok;

	if (fd == -1)
		return 0;
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* A port outside the kernel's ephemeral range (so outgoing connections
 * made meanwhile cannot take it) that is free for both TCP and UDP on all
 * addresses. Random, so parallel runs rarely pick the same one. */
static int probe_free_port(const struct probe_args *o)
{
	long lo = 32768, hi = 60999, a, b, printed = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	struct tool_prng pr;
	uint64_t seed;

	if (f) {
		if (fscanf(f, "%ld %ld", &lo, &hi) != 2) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	if (lo - 1 - 10000 >= 1000) {
		a = 10000;
		b = lo - 1;
	} else if (65535 - (hi + 1) >= 1000) {
		a = hi + 1;
		b = 65535;
	} else {
		a = 1024;
		b = 65535;
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = tool_now_us() ^ (uint64_t)getpid();
	tool_prng_init(&pr, seed);
	for (int tries = 0; tries < 5000 && printed < o->count; tries++) {
		int port = (int)(a + (long)(tool_prng_next(&pr) %
					    (uint64_t)(b - a + 1)));
		if (!port_bindable(SOCK_STREAM, port) ||
		    !port_bindable(SOCK_DGRAM, port))
			continue;
		printf("%d\n", port);
		printed++;
	}
	if (printed < o->count) {
		printf("FAIL mode=free-port reason=none-found\n");
		return 1;
	}
	return 0;
}

#endif
