/*
 * main.c - frps command line: parse flags, load the configuration and the
 * transports, run the loop until SIGINT/SIGTERM, free everything.
 *
 * Exit status: 0 after a clean shutdown, 2 for configuration errors (the
 * file, a transport's options, a transport the file needs but that is not
 * loaded), 1 for other start-up failures (e.g. the port is taken).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf.h"
#include "frps.h"
#include "log.h"
#include "version.h"
#include "xport_loader.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: frps [-c FILE] [--log-level LEVEL] [--transports-dir DIR]\n"
		"       frps verify -c FILE\n"
		"       frps -h | -v\n"
		"\n"
		"  -c, --config FILE         configuration file (YAML)\n"
		"      --log-level LEVEL     trace, debug, info, warn or error\n"
		"                            (overrides log.level)\n"
		"      --transports-dir DIR  where the transport plugins (*.so) are\n"
		"  -h, --help                this text\n"
		"  -v, --version             print the version\n");
}

struct opts {
	const char *config;
	const char *log_level;
	const char *xport_dir;
	bool verify;
};

/* 0 = run, 1 = done (exit 0), -1 = usage error (exit 2). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_LOG_LEVEL = 256, OPT_XPORT_DIR };
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"transports-dir", required_argument, NULL, OPT_XPORT_DIR},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	if (argc > 1 && strcmp(argv[1], "verify") == 0) {
		o->verify = true;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	int ch;
	while ((ch = getopt_long(argc, argv, "c:hv", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case OPT_LOG_LEVEL:
			o->log_level = optarg;
			break;
		case OPT_XPORT_DIR:
			o->xport_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'v':
			printf("%s\n", FRP_WIRE_VERSION);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "frps: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (o->verify && !o->config) {
		fprintf(stderr, "frps: verify needs -c FILE\n");
		return -1;
	}
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	LOG_I("frps", "received signal %d, shutting down", (int)sig);
	event_base_loopbreak(arg);
}

static bool xport_known(const char *name) { return xport_find(name) != NULL; }

int main(int argc, char **argv)
{
	struct opts o = {0};
	char err[512];
	int code = 1;
	struct frps_conf *cfg = NULL;
	struct event_base *base = NULL;
	struct event *sigint = NULL, *sigterm = NULL;
	struct frps *s = NULL;

	int rc = parse_args(argc, argv, &o);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (o.config) {
		if (conf_frps_load(o.config, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	} else if (!(cfg = conf_frps_defaults())) {
		fprintf(stderr, "frps: out of memory\n");
		return 1;
	}
	if (o.verify) {
		/* transport.<name> subtrees must name a plugin that loads */
		xport_load_default(o.xport_dir, xport_host_default());
		if (conf_xport_check(cfg->xport, cfg->n_xport, xport_known, err,
				     sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			conf_frps_free(cfg);
			return 2;
		}
		printf("frps: the configuration file %s syntax is ok\n", o.config);
		conf_frps_free(cfg);
		return 0;
	}
	int level = cfg->log.level;
	if (o.log_level && (level = log_level_parse(o.log_level)) < 0) {
		fprintf(stderr, "frps: --log-level: unknown level '%s' (trace, "
				"debug, info, warn, error)\n", o.log_level);
		conf_frps_free(cfg);
		return 2;
	}
	log_set_level(level);
	rc = log_open(cfg->log.to);
	if (rc < 0) {
		fprintf(stderr, "frps: log.to %s: %s\n", cfg->log.to,
			strerror(-rc));
		conf_frps_free(cfg);
		return 2;
	}
	bool log_to_file = cfg->log.to && *cfg->log.to &&
			   strcmp(cfg->log.to, "console") != 0;
	signal(SIGPIPE, SIG_IGN);

	rc = xport_load_default(o.xport_dir, xport_host_default());
	if (rc < 0)
		LOG_W("frps", "loading transports: %s", strerror(-rc));
	if (conf_xport_check(cfg->xport, cfg->n_xport, xport_known, err,
			     sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		if (log_to_file)
			LOG_E("frps", "%s", err);
		conf_frps_free(cfg);
		code = 2;
		goto out;
	}
	base = event_base_new();
	if (!base) {
		LOG_E("frps", "cannot create the event loop");
		conf_frps_free(cfg);
		goto out;
	}
	rc = frps_new(base, cfg, &s, &code, err, sizeof(err));
	cfg = NULL; /* taken by frps_new */
	if (rc < 0) {
		/* Configuration errors keep the one-line FILE:LINE:COL form on
		 * stderr, like the file's own errors. */
		if (code != 2 || log_to_file)
			LOG_E("frps", "%s", err);
		if (code == 2)
			fprintf(stderr, "%s\n", err);
		goto out;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	if (!sigint || !sigterm || evsignal_add(sigint, NULL) ||
	    evsignal_add(sigterm, NULL)) {
		LOG_E("frps", "cannot install signal handlers");
		code = 1;
		goto out;
	}
	LOG_I("frps", "frps started (frp protocol %s)", FRP_WIRE_VERSION);
	event_base_dispatch(base);
	code = 0;
out:
	frps_free(s);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	/* Let deferred frees inside libevent and the plugins run. */
	if (base) {
		for (int i = 0; i < 3; i++)
			event_base_loop(base, EVLOOP_NONBLOCK);
		event_base_free(base);
	}
	LOG_I("frps", "frps exited");
	log_close();
	return code;
}
