/*
 * portmgr.c - two 8 KiB bitmaps (allowed, held) per port space. Automatic
 * picks walk the bitmaps a word at a time from a cursor, so a crowded
 * allowPorts range costs at most 1024 word tests per pick.
 */
#include "portmgr.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define NPORTS 65536
#define WORDS (NPORTS / 64)

struct portmgr {
	uint64_t allowed[WORDS];
	uint64_t held[WORDS];
	size_t nheld;
	int cursor;   /* next port an automatic pick looks at */
	int auto_min; /* lowest port an automatic pick may return */
};

static bool bit_get(const uint64_t *b, int p)
{
	return (b[p >> 6] >> (p & 63)) & 1u;
}

static void bit_set(uint64_t *b, int p, bool on)
{
	if (on)
		b[p >> 6] |= (uint64_t)1 << (p & 63);
	else
		b[p >> 6] &= ~((uint64_t)1 << (p & 63));
}

struct portmgr *portmgr_new(const struct conf_port_range *r, size_t n)
{
	struct portmgr *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (r[i].start == 0 || r[i].start > r[i].end)
			continue;
		for (int p = r[i].start; p <= r[i].end; p++)
			bit_set(pm->allowed, p, true);
	}
	/* With no allowPorts the privileged range is never picked
	 * automatically; with an explicit list every listed port may be. If
	 * every listed range is invalid, nothing is allowed. */
	pm->auto_min = 1;
	if (n == 0) {
		for (int p = 1; p < NPORTS; p++)
			bit_set(pm->allowed, p, true);
		pm->auto_min = PORTMGR_AUTO_MIN_WHEN_OPEN;
	}
	pm->cursor = pm->auto_min;
	return pm;
}

void portmgr_free(struct portmgr *pm) { free(pm); }

bool portmgr_allowed(const struct portmgr *pm, int port)
{
	return port > 0 && port < NPORTS && bit_get(pm->allowed, port);
}

bool portmgr_in_use(const struct portmgr *pm, int port)
{
	return port > 0 && port < NPORTS && bit_get(pm->held, port);
}

size_t portmgr_used(const struct portmgr *pm) { return pm->nheld; }

int portmgr_take(struct portmgr *pm, int port)
{
	if (!portmgr_allowed(pm, port))
		return -EACCES;
	if (bit_get(pm->held, port))
		return -EADDRINUSE;
	bit_set(pm->held, port, true);
	pm->nheld++;
	return 0;
}

/* First port >= from that is allowed and free, or -1. */
static int scan(const struct portmgr *pm, int from, int lo)
{
	if (from < lo)
		from = lo;
	for (int w = from >> 6; w < WORDS; w++) {
		uint64_t free_bits = pm->allowed[w] & ~pm->held[w];
		if (w == from >> 6)
			free_bits &= ~(uint64_t)0 << (from & 63);
		if (free_bits)
			return (w << 6) + __builtin_ctzll(free_bits);
	}
	return -1;
}

int portmgr_take_any(struct portmgr *pm)
{
	int lo = pm->auto_min;
	int p = scan(pm, pm->cursor, lo);
	if (p < 0)
		p = scan(pm, lo, lo);
	if (p < 0)
		return -ENOSPC;
	bit_set(pm->held, p, true);
	pm->nheld++;
	pm->cursor = p + 1 < NPORTS ? p + 1 : lo;
	return p;
}

void portmgr_seed(struct portmgr *pm, unsigned r)
{
	pm->cursor = pm->auto_min + (int)(r % (unsigned)(NPORTS - pm->auto_min));
}

void portmgr_release(struct portmgr *pm, int port)
{
	if (!portmgr_in_use(pm, port))
		return;
	bit_set(pm->held, port, false);
	pm->nheld--;
}

int portmgr_quota_check(int max, int used, int more)
{
	if (max <= 0)
		return 0;
	return (long)used + more > max ? -EDQUOT : 0;
}

const char *portmgr_strerror(int err)
{
	switch (err) {
	case -EACCES:
		return "port not allowed";
	case -EADDRINUSE:
		return "port already used";
	case -ENOSPC:
		return "no available port";
	case -EDQUOT:
		return "exceed the max_ports_per_client";
	default:
		return "port unavailable";
	}
}
