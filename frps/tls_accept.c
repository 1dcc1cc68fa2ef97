/*
 * tls_accept.c - frps's TLS: the server config made at start, the
 * first-byte sniff on every accepted transport stream (bindPort and
 * kcpBindPort alike: frp's 0x17 byte or a 0x16 handshake means TLS,
 * anything else plain frp), and transport.tls.force.
 *
 * A plain client under tls.force is not cut off blind: its first message
 * is answered with frp's own error reply (LoginResp / StartWorkConn with
 * the reason), so a stock frpc prints why, then the stream is closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "ctl.h"
#include "frps.h"
#include "log.h"
#include "msg.h"
#include "tls.h"
#include "version.h"

#define ERR_TLS_FORCE "this server requires TLS (transport.tls.force): set " \
		      "transport.tls.enable = true on the client"

struct frps_sniff {
	struct frps *s;
	struct tls_sniff *h;
	char peer[64];
	TAILQ_ENTRY(frps_sniff) link;
};

int frps_tls_init(struct frps *s, char *err, size_t errlen)
{
	const struct conf_tls *t = &s->cfg->tls;
	struct tls_config_opts o = {
		.server = true,
		.cert_file = t->cert_file,
		.key_file = t->key_file,
		.ca_file = t->trusted_ca_file,
	};
	char e[256];
	TAILQ_INIT(&s->sniffs);
	int rc = tls_config_new(&o, &s->tls, e, sizeof(e));
	if (rc < 0) {
		snprintf(err, errlen, "%s: transport.tls: %s",
			 s->cfg->path ? s->cfg->path : "frps", e);
		return rc;
	}
	if (tls_config_self_signed(s->tls))
		LOG_I("frps", "TLS: no transport.tls.certFile, using a "
			      "self-signed certificate made at start");
	if (tls_config_verifies(s->tls))
		LOG_I("frps", "TLS: client certificates are required and "
			      "verified against %s; plain clients are refused",
		      t->trusted_ca_file);
	else if (t->force)
		LOG_I("frps", "TLS: transport.tls.force, plain clients are "
			      "refused");
	return 0;
}

void frps_tls_fini(struct frps *s)
{
	struct frps_sniff *x;
	while ((x = TAILQ_FIRST(&s->sniffs))) {
		TAILQ_REMOVE(&s->sniffs, x, link);
		tls_sniff_cancel(x->h);
		free(x);
	}
	s->nsniff = 0;
	tls_config_free(s->tls);
	s->tls = NULL;
}

static void sniffed(struct chan *ch, enum tls_sniff_kind kind, int err,
		    void *arg)
{
	struct frps_sniff *x = arg;
	struct frps *s = x->s;
	TAILQ_REMOVE(&s->sniffs, x, link);
	s->nsniff--;
	if (!ch) {
		LOG_D("frps", "%s: closed before its first byte: %s", x->peer,
		      err == -ETIMEDOUT ? "timed out" : strerror(-err));
		free(x);
		return;
	}
	free(x);
	if (kind != TLS_SNIFF_PLAIN) {
		LOG_T("frps", "%s: TLS client%s", ch->peer,
		      kind == TLS_SNIFF_TLS_CUSTOM ? " (frp's 0x17 byte)" : "");
		if (!(ch = tls_chan_wrap(s->base, s->tls, ch, false)))
			return;
	}
	frps_serve_stream(s, ch);
}

void frps_tls_accept(struct frps *s, struct chan *ch)
{
	if (s->nsniff >= FRPS_MAX_NEW_CONNS) {
		LOG_W("frps", "%s: too many new connections waiting for their "
			      "first byte, closing", ch->peer);
		chan_close(ch, XPORT_CLOSE_ABORT);
		return;
	}
	struct frps_sniff *x = calloc(1, sizeof(*x));
	if (!x) {
		chan_close(ch, XPORT_CLOSE_ABORT);
		return;
	}
	x->s = s;
	snprintf(x->peer, sizeof(x->peer), "%s", ch->peer);
	x->h = tls_sniff(s->base, ch, FRPS_FIRST_MSG_TIMEOUT_S * 1000, sniffed, x);
	if (!x->h) {
		free(x);
		return;
	}
	TAILQ_INSERT_TAIL(&s->sniffs, x, link);
	s->nsniff++;
}

bool frps_tls_refused(struct frps *s, struct ctl *ctl, struct frps_sess *sess,
		      const struct msg *m)
{
	if (!s->cfg->tls.force)
		return false;
	const struct chan *ch = sess ? sess->carrier : ctl_chan(ctl);
	if (ch && ch->is_tls)
		return false;
	LOG_W("frps", "%s: plain (non-TLS) client refused: transport.tls.force "
		      "is set", ctl_chan(ctl)->peer);
	struct msg r = {.type = m->type == MSG_LOGIN ? MSG_LOGIN_RESP
						     : MSG_START_WORK_CONN};
	if (m->type == MSG_LOGIN) {
		r.u.login_resp.version = FRP_WIRE_VERSION;
		r.u.login_resp.error = (char *)ERR_TLS_FORCE;
	} else {
		r.u.start_work_conn.error = (char *)ERR_TLS_FORCE;
	}
	ctl_send(ctl, &r);
	return true;
}
