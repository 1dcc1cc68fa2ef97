/*
 * tls_link.c - frpc's TLS: the client config made at start from
 * transport.tls.*, and the one step that wraps a fresh transport stream
 * (control link or a work connection without tcpMux) before anything is
 * written on it.
 */
#include <stdio.h>

#include "chan.h"
#include "frpc.h"
#include "log.h"
#include "tls.h"

int frpc_tls_init(struct frpc *c, char *err, size_t errlen)
{
	const struct frpc_conf *cfg = c->cfg;
	const struct conf_tls *t = &cfg->tls;
	const char *where = cfg->path ? cfg->path : "frpc";
	if (!t->enable) {
		if (*t->cert_file || *t->trusted_ca_file || *t->server_name)
			LOG_W("frpc", "transport.tls.enable is false: the other "
				      "transport.tls keys have no effect");
		return 0;
	}
	struct tls_config_opts o = {
		.server = false,
		.cert_file = t->cert_file,
		.key_file = t->key_file,
		.ca_file = t->trusted_ca_file,
		.server_name = *t->server_name ? t->server_name : cfg->server_addr,
	};
	char e[256];
	int rc = tls_config_new(&o, &c->tls, e, sizeof(e));
	if (rc < 0) {
		snprintf(err, errlen, "%s: transport.tls: %s", where, e);
		return rc;
	}
	if (tls_config_verifies(c->tls))
		LOG_I("frpc", "TLS: the server certificate must chain to %s and "
			      "name %s", t->trusted_ca_file, o.server_name);
	else
		LOG_W("frpc", "TLS: the server certificate is NOT verified (no "
			      "transport.tls.trustedCaFile): the link is "
			      "encrypted, but whoever sits in its path can pose "
			      "as frps and read it");
	return 0;
}

void frpc_tls_fini(struct frpc *c)
{
	tls_config_free(c->tls);
	c->tls = NULL;
}

struct chan *frpc_tls_wrap(struct frpc *c, struct chan *ch)
{
	if (!c->tls || !ch)
		return ch;
	return tls_chan_wrap(c->base, c->tls, ch,
			     !c->cfg->tls.disable_custom_first_byte);
}
