/*
 * fuzz_driver.h - what the standalone fuzz programs for text inputs
 * (fuzz_conf.c, fuzz_conf_toml.c, fuzz_dash_statsfile.c) share: CHECK, and
 * for their seeded run (built without -DFUZZING) the xorshift generator,
 * FUZZ_SEED/FUZZ_ITERS, reading a file and the byte mutator. Each program
 * is a single file: everything here is static. Define FUZZ_NAME (the
 * program's name, a string literal) before including this.
 */
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                             \
	do {                                                                 \
		if (!(c)) {                                                  \
			fprintf(stderr, FUZZ_NAME ": check failed: %s\n", #c); \
			abort();                                             \
		}                                                            \
	} while (0)

#ifndef FUZZING
static uint64_t rng;

static inline uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* FUZZ_SEED (decimal; 0 and unset mean 1: xorshift must not start at 0)
 * and FUZZ_ITERS (default dflt): the same run again for the same values. */
static inline long fuzz_setup(long dflt)
{
	rng = getenv("FUZZ_SEED") ? strtoull(getenv("FUZZ_SEED"), NULL, 10) : 1;
	if (!rng)
		rng = 1;
	return getenv("FUZZ_ITERS") ? atol(getenv("FUZZ_ITERS")) : dflt;
}

static inline size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* 1..max_edits random edits of buf[0..*n) (cap bytes of room): flip a byte,
 * cut the rest, delete a span of 1-8 bytes (only with del) or insert one of
 * the ntok tokens. */
static inline void fuzz_mutate(uint8_t *buf, size_t *n, size_t cap,
			       int max_edits, bool del,
			       const char *const *tokens, size_t ntok)
{
	int edits = 1 + (int)(rnd() % (uint32_t)max_edits);

	for (int e = 0; e < edits && *n > 0; e++) {
		size_t at = rnd() % *n;
		uint32_t op = rnd() % (del ? 4 : 3);

		if (op == 0) { /* flip a byte */
			buf[at] = (uint8_t)rnd();
		} else if (op == 1) { /* cut */
			*n = at;
		} else if (op == 2 && del) { /* delete a span */
			size_t k = 1 + rnd() % 8;

			if (at + k <= *n) {
				memmove(buf + at, buf + at + k, *n - at - k);
				*n -= k;
			}
		} else { /* insert a token */
			const char *t = tokens[rnd() % ntok];
			size_t tl = strlen(t);

			if (*n + tl < cap) {
				memmove(buf + at + tl, buf + at, *n - at);
				memcpy(buf + at, t, tl);
				*n += tl;
			}
		}
	}
}
#endif /* !FUZZING */

#endif
