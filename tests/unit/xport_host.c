/*
 * xport_host.c - a quiet transport host for unit tests (see xport_host.h).
 */
#include "xport_host.h"

#include <stdint.h>
#include <time.h>

static void uh_log(int level, const char *mod, const char *fmt, ...)
{
	(void)level;
	(void)mod;
	(void)fmt;
}

static uint64_t uh_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct xport_host uh_host = {
	.size = sizeof(struct xport_host),
	.abi_major = XPORT_ABI_MAJOR,
	.abi_minor = XPORT_ABI_MINOR,
	.log = uh_log,
	.now_ms = uh_now,
};
