/*
 * fuzz_conf.c - fuzz target for the whole configuration loader (file ->
 * format front end -> document tree -> schema table -> frpc/frps structs).
 *
 * Built by the Makefile as $(BUILD)/fuzz/fuzz_conf and run by tests/run.sh
 * for a bounded number of seeded mutations (FUZZ_ITERS, FUZZ_SEED) of the
 * YAML and TOML example files in conf/ (the file has no extension, so the
 * loader tries TOML, then YAML); with file arguments it replays them. For
 * libFuzzer: clang -DFUZZING -fsanitize=fuzzer,address ... (see fuzz_msg.c).
 *
 * Property: every input either loads (and frees cleanly) or fails with one
 * non-empty error line and leaves *out untouched.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"

#define FUZZ_NAME "fuzz_conf"
#include "fuzz_driver.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static long n_loaded; /* inputs at least one loader accepted */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.yaml", 0);
	if (fd == -1)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64], err[512];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct frpc_conf *c = (void *)1;
	err[0] = '\0';
	if (conf_frpc_load(path, &c, err, sizeof(err)) == 0) {
		conf_frpc_free(c);
		n_loaded++;
	}
	else
		CHECK(c == (void *)1 && err[0] && !strchr(err, '\n'));
	struct frps_conf *s = (void *)1;
	err[0] = '\0';
	if (conf_frps_load(path, &s, err, sizeof(err)) == 0)
		conf_frps_free(s);
	else
		CHECK(s == (void *)1 && err[0] && !strchr(err, '\n'));
	close(fd);
	return 0;
}

#ifndef FUZZING
int main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			LLVMFuzzerTestOneInput(buf, slurp(argv[i], buf, sizeof(buf)));
		return 0;
	}
	static const char *seeds[] = {"conf/frpc.yaml", "conf/frps.yaml",
				      "conf/frpc_full.yaml", "conf/frps_full.yaml",
				      "conf/frpc.toml", "conf/frps.toml"};
	static const char *tokens[] = {":", "-", "{", "}", "[", "]", "\n", " ",
				       "#", "'", "\"", "*a", "&a", "!!int", "0x1",
				       "70000", "-1", "true", "proxies:", "~"};
	long iters = fuzz_setup(20000);
	for (long it = 0; it < iters; it++) {
		size_t n = slurp(seeds[it % 6], buf, sizeof(buf) / 2);
		fuzz_mutate(buf, &n, sizeof(buf), 8, false, tokens, 20);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz_conf: %ld inputs ok, %ld loaded as frpc config\n", iters,
	       n_loaded);
	return 0;
}
#endif
