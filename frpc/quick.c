/*
 * quick.c - `frpc tcp|udp` with frp's flags (frp 0.54 `frpc tcp --help`):
 *   -s/--server-addr, -P/--server-port, -t/--token, -u/--user,
 *   -p/--protocol, -n/--proxy-name, -i/--local-ip, -l/--local-port,
 *   -r/--remote-port, --ue, --uc, --log-level, --log-file, --log-max-days,
 *   --disable-log-color; plus our --transports-dir.
 * frp's flags for features we do not have (--bandwidth-limit,
 * --dns-server, --tls-*) are refused by name, never ignored.
 */
#include "quick.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* frp's other quick commands: recognised so that they get a clear error
 * rather than a usage line. */
static const char *const unsupported[] = {"http", "https", "tcpmux", "stcp",
					  "sudp", "xtcp", NULL};

bool frpc_quick_cmd(const char *word)
{
	for (int i = 0; unsupported[i]; i++)
		if (!strcmp(word, unsupported[i]))
			return true;
	return !strcmp(word, "tcp") || !strcmp(word, "udp");
}

static void usage(FILE *f, const char *cmd)
{
	fprintf(f,
		"usage: frpc %s -n NAME -l LOCAL_PORT [-r REMOTE_PORT] "
		"[-i LOCAL_IP]\n"
		"       [-s SERVER_ADDR] [-P SERVER_PORT] [-t TOKEN] [-u USER] "
		"[-p PROTOCOL]\n"
		"       [--ue] [--uc] [--log-level L] [--log-file F] "
		"[--transports-dir DIR]\n",
		cmd);
}

/* Decimal integer in [lo, hi] for flag name. */
static int num(const char *flag, const char *v, long lo, long hi, long *out,
	       char *err, size_t errlen)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	if (!*v || *end || errno || *out < lo || *out > hi) {
		snprintf(err, errlen, "--%s: \"%s\" is not a number in %ld-%ld",
			 flag, v, lo, hi);
		return -EINVAL;
	}
	return 0;
}

int frpc_quick_parse(int argc, char **argv, struct frpc_conf **out,
		     const char **level, const char **xdir, char *err,
		     size_t errlen)
{
	enum { O_UE = 256, O_UC, O_LEVEL, O_LOGFILE, O_MAXDAYS, O_NOCOLOR,
	       O_XDIR };
	static const struct option opts[] = {
		{"server-addr", required_argument, NULL, 's'},
		{"server-port", required_argument, NULL, 'P'},
		{"token", required_argument, NULL, 't'},
		{"user", required_argument, NULL, 'u'},
		{"protocol", required_argument, NULL, 'p'},
		{"proxy-name", required_argument, NULL, 'n'},
		{"local-ip", required_argument, NULL, 'i'},
		{"local-port", required_argument, NULL, 'l'},
		{"remote-port", required_argument, NULL, 'r'},
		{"ue", no_argument, NULL, O_UE},
		{"uc", no_argument, NULL, O_UC},
		{"log-level", required_argument, NULL, O_LEVEL},
		{"log-file", required_argument, NULL, O_LOGFILE},
		{"log-max-days", required_argument, NULL, O_MAXDAYS},
		{"disable-log-color", no_argument, NULL, O_NOCOLOR},
		{"transports-dir", required_argument, NULL, O_XDIR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[1];
	struct conf_proxy p = {.type_name = (char *)cmd,
			       .local_ip = "127.0.0.1"};
	struct frpc_conf *c = conf_frpc_defaults();
	bool have_local = false;
	long v;
	int ch, rc = 0;

	if (strcmp(cmd, "tcp") && strcmp(cmd, "udp")) {
		snprintf(err, errlen, "frpc %s: only the tcp and udp quick "
			 "commands are supported", cmd);
		conf_frpc_free(c);
		return -EINVAL;
	}
	if (!c || conf_set_str(&c->server_addr, "127.0.0.1") < 0) {
		conf_frpc_free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* Parse the words after the command: av[0] is the command itself.
	 * optind = 0 makes getopt start afresh (it keeps state between
	 * calls otherwise). */
	char **av = argv + 1;
	int ac = argc - 1;

	opterr = 0; /* we word the message ourselves */
	optind = 0;
	while (rc == 0 &&
	       (ch = getopt_long(ac, av, ":s:P:t:u:p:n:i:l:r:h", opts,
				 NULL)) != -1) {
		switch (ch) {
		case 's': rc = conf_set_str(&c->server_addr, optarg); break;
		case 'P':
			if ((rc = num("server-port", optarg, 1, 65535, &v, err,
				      errlen)) == 0)
				c->server_port = (uint16_t)v;
			break;
		case 't': rc = conf_set_str(&c->auth_token, optarg); break;
		case 'u': rc = conf_set_str(&c->user, optarg); break;
		case 'p': rc = conf_set_str(&c->protocol, optarg); break;
		case 'n': p.name = optarg; break;
		case 'i': p.local_ip = optarg; break;
		case 'l':
			if ((rc = num("local-port", optarg, 1, 65535, &v, err,
				      errlen)) == 0)
				p.local_port = (uint16_t)v;
			have_local = rc == 0;
			break;
		case 'r':
			if ((rc = num("remote-port", optarg, 0, 65535, &v, err,
				      errlen)) == 0)
				p.remote_port = (int)v;
			break;
		case O_UE: p.use_encryption = true; break;
		case O_UC: p.use_compression = true; break;
		case O_LEVEL: *level = optarg; break;
		case O_LOGFILE: rc = conf_set_str(&c->log.to, optarg); break;
		case O_MAXDAYS:
			if ((rc = num("log-max-days", optarg, 0, 36500, &v, err,
				      errlen)) == 0)
				c->log.max_days = (int)v;
			break;
		case O_NOCOLOR: c->log.disable_print_color = true; break;
		case O_XDIR: *xdir = optarg; break;
		case 'h':
			usage(stdout, cmd);
			conf_frpc_free(c);
			return 1;
		case ':':
			snprintf(err, errlen, "frpc %s: %s needs a value", cmd,
				 av[optind - 1]);
			rc = -EINVAL;
			break;
		default: {
			/* a short flag in a cluster ("-lx") is not a word */
			char sflag[3] = {'-', (char)optopt, 0};

			snprintf(err, errlen, "frpc %s: unknown or unsupported "
				 "flag %s (see frpc %s --help)", cmd,
				 optopt > 0 && optopt < 128 ? sflag
							    : av[optind - 1],
				 cmd);
			rc = -EINVAL;
			break;
		}
		}
	}
	if (rc == 0 && optind != ac) {
		snprintf(err, errlen, "frpc %s: unexpected argument \"%s\"", cmd,
			 av[optind]);
		rc = -EINVAL;
	}
	if (rc == 0 && !p.name) {
		snprintf(err, errlen, "frpc %s: --proxy-name (-n) is required",
			 cmd);
		rc = -EINVAL;
	}
	if (rc == 0 && !have_local) {
		snprintf(err, errlen, "frpc %s: --local-port (-l) is required",
			 cmd);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = conf_frpc_add_proxy(c, &p, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc < 0) {
		conf_frpc_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
