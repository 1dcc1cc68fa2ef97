/*
 * xport_conformance.c - the transport conformance suite.
 *
 *   xport_conformance path/to/transport.so
 *   xport_conformance --caps path/to/transport.so   (prints "datagram" or
 *                                                    "stream")
 *
 * Loads the plugin through the real loader, then runs every case on a
 * fresh event_base and instance (options from $XPORT_OPTS, "k=v,k=v";
 * none by default). With $XPORT_RELAY set to a UDP relay command (e.g.
 * "udp_impair --delay-ms 5 --loss 2"), every stream is dialed through that
 * relay, so the same cases run over an impaired link. Exits non-zero when a
 * case fails.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xport_harness.h"
#include "xport_loader.h"

int main(int argc, char **argv)
{
	int caps_only = argc == 3 && strcmp(argv[1], "--caps") == 0;
	if (argc != 2 && !caps_only) {
		fprintf(stderr, "usage: %s [--caps] transport.so\n", argv[0]);
		return 2;
	}
	if (caps_only)
		argv++;
	/* Like frpc/frps: a write to a reset socket is an error to handle,
	 * not a reason to die (plugins may not touch signal dispositions). */
	signal(SIGPIPE, SIG_IGN);
	log_set_level(XPORT_LOG_WARN);
	char err[256] = "";
	int rc = xport_load_file(argv[1], xport_host_default(), err,
				 sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "cannot load %s: %s\n", argv[1], err);
		return 2;
	}
	if (caps_only) {
		printf("%s\n", (xport_at(0)->caps & XPORT_CAP_DATAGRAM_BASED)
				      ? "datagram"
				      : "stream");
		return 0;
	}
	char name[64];
	snprintf(name, sizeof(name), "xport:%s", xport_at(0)->name);
	Suite *s = suite_create(name);
	xport_add_life_cases(s);
	xport_add_data_cases(s);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
