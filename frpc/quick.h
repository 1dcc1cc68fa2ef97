/*
 * quick.h - frp's quick commands: `frpc tcp|udp [flags]` starts a client
 * with one proxy and no configuration file.
 */
#ifndef FRPC_QUICK_H
#define FRPC_QUICK_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/** True when word names one of frp's quick commands (only "tcp" and
 *  "udp" are supported; frpc_quick_parse refuses the others). */
bool frpc_quick_cmd(const char *word);

/**
 * Parse `frpc tcp|udp FLAGS` (argv[1] is the command) into a new config
 * with one proxy, frp's flag names and defaults (server 127.0.0.1:7000).
 * *level and *xdir receive --log-level / --transports-dir when given.
 * Returns 0 (run *out), 1 (help printed: exit 0) or -EINVAL / -ENOMEM
 * with err set.
 */
int frpc_quick_parse(int argc, char **argv, struct frpc_conf **out,
		     const char **level, const char **xdir, char *err,
		     size_t errlen);

#endif
