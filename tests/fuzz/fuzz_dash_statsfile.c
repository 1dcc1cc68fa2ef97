/*
 * fuzz_dash_statsfile.c - fuzz target for frps's stats file parser.
 *
 * A plain program: a bounded, seeded run of mutations of a valid file
 * (FUZZ_ITERS, FUZZ_SEED); with file arguments it replays them. For
 * libFuzzer: clang -DFUZZING -fsanitize=fuzzer,address ...
 *
 * Property: every input is either applied (0) or refused with -EINVAL, a
 * one-line reason, and the stats left exactly as they were.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "statsfile.h"

#define FUZZ_NAME "fuzz_dash_statsfile"
#include "fuzz_driver.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static long n_applied;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frps_stats *st = frps_stats_new();
	if (!st)
		return 0;
	char err[256] = "";
	int rc = frps_statsfile_parse(st, (const char *)data, size, err,
				      sizeof(err));
	if (rc == 0) {
		n_applied++;
	} else {
		CHECK(rc == -EINVAL || rc == -ENOMEM);
		CHECK(err[0] && !strchr(err, '\n'));
		size_t pos = 0;
		CHECK(frps_stats_proxy_next(st, &pos) == NULL);
		CHECK(st->total.in == 0 && st->total.out == 0);
	}
	frps_stats_free(st);
	return 0;
}

#ifndef FUZZING
static const char seed_file[] =
	"{\"format\":\"frps-stats\",\"version\":1,\"savedAt\":1796530444,"
	"\"total\":{\"in\":100000,\"out\":100000,\"day0\":20793,"
	"\"dayIn\":[100000,0,0,0,0,0,0],\"dayOut\":[100000,0,0,0,0,0,0]},"
	"\"proxies\":[{\"name\":\"echo\",\"type\":\"tcp\",\"user\":\"\","
	"\"lastStart\":1796530439,\"lastClose\":1796530444,\"traffic\":{"
	"\"in\":100000,\"out\":100000,\"day0\":20793,\"dayIn\":[100000,0,0,0,0,"
	"0,0],\"dayOut\":[100000,0,0,0,0,0,0]}},{\"name\":\"u\",\"type\":\"udp\","
	"\"user\":\"bob\",\"traffic\":{\"in\":1,\"out\":2,\"day0\":20790,"
	"\"dayIn\":[0,0,0,1,0,0,0],\"dayOut\":[0,0,0,2,0,0,0]}}]}\n";

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 14];
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			LLVMFuzzerTestOneInput(buf, slurp(argv[i], buf, sizeof(buf)));
		return 0;
	}
	static const char *tokens[] = {"{", "}", "[", "]", ",", ":", "\"", "-1",
				       "0", "1e9", "99999999999999999999", "null",
				       "true", "\\u0000", "\"in\"", "\"name\""};
	const size_t ntok = sizeof(tokens) / sizeof(tokens[0]);
	long iters = fuzz_setup(20000);
	LLVMFuzzerTestOneInput((const uint8_t *)seed_file, strlen(seed_file));
	CHECK(n_applied == 1);
	for (long it = 0; it < iters; it++) {
		size_t n = strlen(seed_file);
		memcpy(buf, seed_file, n);
		fuzz_mutate(buf, &n, sizeof(buf), 6, false, tokens, ntok);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_dash_statsfile: %ld inputs ok, %ld applied\n", iters + 1,
	       n_applied);
	return 0;
}
#endif
