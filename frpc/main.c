/*
 * frpc - expose services behind NAT through frps.
 *
 *   frpc [-c frpc.yaml] [--protocol P] [--server-addr A] [--server-port N]
 *        [--token T] [--log-level L] [--transports-dir DIR]
 *   frpc verify -c frpc.yaml
 *   frpc reload|status|stop -c frpc.yaml   (through the admin API)
 *   frpc tcp|udp -n NAME -l LOCAL_PORT [-r REMOTE_PORT] ... (quick.c)
 *
 * SIGHUP reloads the configuration file, as GET /api/reload does.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 when the first login fails with
 * loginFailExit, 2 for configuration or start-up errors.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf.h"
#include "frpc.h"
#include "httpd.h"
#include "log.h"
#include "quick.h"
#include "version.h"
#include "xport_loader.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: frpc [-c FILE] [--protocol P] [--server-addr A] "
		"[--server-port N]\n"
		"            [--token T] [--log-level L] [--transports-dir DIR]\n"
		"       frpc verify -c FILE\n"
		"       frpc reload|status|stop -c FILE\n"
		"       frpc tcp|udp -n NAME -l LOCAL_PORT [flags] (frpc tcp -h)\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	LOG_I("frpc", "received signal %d, exiting", (int)sig);
	event_base_loopexit(arg, NULL);
}

static void hup_switch_done(int err, const char *why, void *arg)
{
	(void)arg;
	if (err)
		LOG_W("frpc", "reload: switch failed: %s", why ? why : "error");
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct frpc *c = *(struct frpc **)arg;
	if (!c)
		return;
	char err[600];
	bool switching = false;
	LOG_I("frpc", "SIGHUP: reloading %s", c->cfg_path ? c->cfg_path : "");
	if (frpc_reload(c, hup_switch_done, NULL, &switching, err,
			sizeof(err)) < 0)
		LOG_E("frpc", "reload refused, the running configuration stays: "
			      "%s", err);
	else
		LOG_I("frpc", "success reload conf");
}

/* Everything start-up checks short of opening sockets. */
static int verify(const struct frpc_conf *cfg, char *err, size_t errlen)
{
	int rc = frpc_check_transports(cfg, err, errlen);
	if (rc < 0)
		return rc;
	const struct conf_web *w = &cfg->web;
	if (w->port && !httpd_addr_is_loopback(w->addr) &&
	    !(w->password && *w->password)) {
		snprintf(err, errlen, "%s: webServer.addr %s is not a loopback "
			 "address: set webServer.password to serve the admin "
			 "API there", cfg->path ? cfg->path : "frpc", w->addr);
		return -EPERM;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_PROTO = 256, O_ADDR, O_PORT, O_TOKEN, O_LEVEL, O_XDIR };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"protocol", required_argument, NULL, O_PROTO},
		{"server-addr", required_argument, NULL, O_ADDR},
		{"server-port", required_argument, NULL, O_PORT},
		{"token", required_argument, NULL, O_TOKEN},
		{"log-level", required_argument, NULL, O_LEVEL},
		{"transports-dir", required_argument, NULL, O_XDIR},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL, *proto = NULL, *addr = NULL, *port = NULL,
		   *token = NULL, *level = NULL, *xdir = NULL;
	bool do_verify = false;
	const char *cli = NULL;
	char err[512];
	struct frpc_conf *cfg = NULL;
	if (argc > 1 && frpc_quick_cmd(argv[1])) { /* frpc tcp|udp: quick.c */
		int q = frpc_quick_parse(argc, argv, &cfg, &level, &xdir, err,
					 sizeof(err));
		if (q < 0)
			fprintf(stderr, "%s\n", err);
		if (q != 0)
			return q < 0 ? 2 : 0;
		goto run;
	}
	if (argc > 1 && (!strcmp(argv[1], "verify") || !strcmp(argv[1], "reload") ||
			 !strcmp(argv[1], "status") || !strcmp(argv[1], "stop"))) {
		if (!strcmp(argv[1], "verify"))
			do_verify = true;
		else
			cli = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	int ch;
	while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case O_PROTO: proto = optarg; break;
		case O_ADDR: addr = optarg; break;
		case O_PORT: port = optarg; break;
		case O_TOKEN: token = optarg; break;
		case O_LEVEL: level = optarg; break;
		case O_XDIR: xdir = optarg; break;
		case 'v': printf("frpc %s (frp wire %s)\n", FRPC_C_VERSION,
				 FRP_WIRE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (path) {
		if (conf_frpc_load(path, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	} else if (do_verify || cli) {
		fprintf(stderr, "frpc %s: -c FILE is required\n",
			cli ? cli : "verify");
		return 2;
	} else if (!(cfg = conf_frpc_defaults())) {
		return 2;
	}
	if (cli) {
		int st = frpc_cli(cli, cfg);
		conf_frpc_free(cfg);
		return st;
	}
run:;
	int lvl = cfg->log.level;
	if (level && (lvl = log_level_parse(level)) < 0) {
		fprintf(stderr, "--log-level: \"%s\" is not one of trace, debug, "
				"info, warn, error\n", level);
		conf_frpc_free(cfg);
		return 2;
	}
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);
		if (*end || v < 1 || v > 65535) {
			fprintf(stderr, "--server-port: \"%s\" is not a port "
					"(1-65535)\n", port);
			conf_frpc_free(cfg);
			return 2;
		}
		cfg->server_port = (uint16_t)v;
	}
	if ((proto && conf_set_str(&cfg->protocol, proto) < 0) ||
	    (addr && conf_set_str(&cfg->server_addr, addr) < 0) ||
	    (token && conf_set_str(&cfg->auth_token, token) < 0)) {
		conf_frpc_free(cfg);
		return 2;
	}
	log_set_level(lvl);
	int rc = log_open(cfg->log.to);
	if (rc < 0) {
		fprintf(stderr, "log.to: %s: %s\n", cfg->log.to, strerror(-rc));
		conf_frpc_free(cfg);
		return 2;
	}
	if (xport_load_default(xdir, xport_host_default()) <= 0) {
		LOG_E("frpc", "no transport plugins could be loaded");
		conf_frpc_free(cfg);
		log_close();
		return 2;
	}
	if (do_verify) {
		rc = verify(cfg, err, sizeof(err));
		if (rc < 0)
			fprintf(stderr, "%s\n", err);
		else
			printf("frpc: the configuration file %s syntax is ok\n",
			       path);
		conf_frpc_free(cfg);
		log_close();
		return rc < 0 ? 2 : 0;
	}
	struct event_base *base = event_base_new();
	if (!base) {
		conf_frpc_free(cfg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
	struct frpc *c = NULL;
	struct event *sighup = evsignal_new(base, SIGHUP, on_hup, &c);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	event_add(sighup, NULL);
	int status = 0;
	if (frpc_new(base, cfg, &c, err, sizeof(err)) < 0) {
		LOG_E("frpc", "%s", err);
		status = 2;
	} else if (frpc_admin_new(c, err, sizeof(err)) < 0) {
		LOG_E("frpc", "%s", err);
		status = 2;
		frpc_free(c);
		c = NULL;
	} else {
		frpc_start(c);
		event_base_dispatch(base);
		status = c->exit_code;
		frpc_free(c);
		c = NULL;
	}
	event_free(sighup);
	event_free(sigterm);
	event_free(sigint);
	/* Let deferred frees inside libevent and the plugins run: bufferevent
	 * pairs freed with callbacks pending only go away from the loop. */
	for (int i = 0; i < 3; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	log_close();
	return status;
}
