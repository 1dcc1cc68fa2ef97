/*
 * frpc_conf.h - copies of configuration pieces that outlive a config
 * snapshot (proxies' settings, a transport's options), and comparing them,
 * so a reload can tell what changed.
 */
#ifndef FRPC_CONF_H
#define FRPC_CONF_H

#include <stdbool.h>

#include "conf.h"

struct frpc;
struct frpc_proxy;

void frpc_conf_proxy_clear(struct conf_proxy *p);
/** Deep copy. 0/-ENOMEM (dst cleared on failure). */
int frpc_conf_proxy_copy(struct conf_proxy *dst, const struct conf_proxy *src);
bool frpc_conf_proxy_equal(const struct conf_proxy *a,
			   const struct conf_proxy *b);

struct conf_xport_opts *frpc_conf_xopts_dup(const struct conf_xport_opts *o);
void frpc_conf_xopts_free(struct conf_xport_opts *o);
/** Same keys and values (either may be NULL = no options). */
bool frpc_conf_xopts_equal(const struct conf_xport_opts *a,
			   const struct conf_xport_opts *b);

/** A new proxy's run-time state for cfg's proxy i (refs 1). */
struct frpc_proxy *frpc_proxy_new(const struct frpc_conf *cfg,
				  const struct conf_proxy *cp);
/** All of cfg's proxies. 0/-ENOMEM. */
int frpc_proxies_build(struct frpc *c, const struct frpc_conf *cfg,
		       struct frpc_proxy ***out, size_t *n);

#endif
