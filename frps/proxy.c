/*
 * proxy.c - what every proxy type shares: NewProxy checks (name, type,
 * quota, port), the server-wide name table, NewProxyResp, CloseProxy, and
 * the StartWorkConn text. A failing NewProxy is answered with an error and
 * touches nothing else: the control and its other proxies go on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/util.h>

#include "ctl.h"
#include "frps.h"
#include "log.h"
#include "portmgr.h"
#include "stats.h"
#include "strmap.h"
#include "util.h"

/* Automatic port picks tried before giving up (each is a bind attempt). */
#define AUTO_PORT_TRIES 64

static const struct frps_proxy_ops *const proxy_types[] = {
	&frps_proxy_tcp_ops,
	&frps_proxy_udp_ops,
};

static const struct frps_proxy_ops *proxy_type_find(const char *type)
{
	for (size_t i = 0; i < sizeof(proxy_types) / sizeof(proxy_types[0]); i++)
		if (type && strcmp(proxy_types[i]->type, type) == 0)
			return proxy_types[i];
	return NULL;
}

static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len == 0 || len > FRPS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)n[i] < ' ' || n[i] == 0x7f)
			return false;
	return true;
}

int frps_proxy_bind_addr(const struct frps *s, int port,
			 struct sockaddr_storage *ss, int *sslen)
{
	const char *a = s->cfg->proxy_bind_addr;
	char spec[128];
	if (!a || !*a)
		a = "0.0.0.0";
	snprintf(spec, sizeof(spec), strchr(a, ':') ? "[%s]:%d" : "%s:%d", a,
		 port);
	memset(ss, 0, sizeof(*ss));
	*sslen = sizeof(*ss);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)ss, sslen) != 0)
		return -EINVAL;
	return 0;
}

/* Hold `port` and open the proxy on it; on failure give the port back. */
static int try_port(struct frps_proxy *p, struct portmgr *pm, int port,
		    char *err, size_t errlen)
{
	p->port = port;
	int rc = p->ops->start(p, err, errlen);
	if (rc < 0) {
		portmgr_release(pm, port);
		p->port = 0;
	}
	return rc;
}

/* Pick and open a port. 0 or -errno with err filled in frp's words. */
static int open_port(struct frps_proxy *p, int want, char *err, size_t errlen)
{
	struct portmgr *pm = p->s->ports[p->ops->port_space];
	char why[160] = "";
	int rc;
	if (want != 0) {
		rc = portmgr_take(pm, want);
		if (rc < 0) {
			snprintf(err, errlen, "%s", portmgr_strerror(rc));
			return rc;
		}
		rc = try_port(p, pm, want, why, sizeof(why));
		if (rc < 0) {
			/* Taken by another program: frp says "unavailable". */
			snprintf(err, errlen, "port unavailable");
			LOG_D("frps", "proxy [%s] port %d: %s", p->name, want, why);
		}
		return rc;
	}
	/* Same port as last time under this name, like frp's reservation,
	 * so a reconnecting client keeps its address. */
	struct frps_proxy_stats *old = frps_stats_proxy_find(p->s->stats, p->name);
	if (old && old->remote_port > 0 && !old->online &&
	    strcmp(old->type ? old->type : "", p->ops->type) == 0 &&
	    portmgr_take(pm, old->remote_port) == 0 &&
	    try_port(p, pm, old->remote_port, why, sizeof(why)) == 0)
		return 0;
	for (int i = 0; i < AUTO_PORT_TRIES; i++) {
		int port = portmgr_take_any(pm);
		if (port < 0) {
			snprintf(err, errlen, "%s", portmgr_strerror(port));
			return port;
		}
		if (try_port(p, pm, port, why, sizeof(why)) == 0)
			return 0;
	}
	snprintf(err, errlen, "%s", portmgr_strerror(-ENOSPC));
	return -ENOSPC;
}

static void reply(struct frps_control *c, const char *name, int port,
		  const char *error)
{
	char addr[16];
	struct msg r = {.type = MSG_NEW_PROXY_RESP};
	r.u.new_proxy_resp.proxy_name = (char *)name;
	if (error) {
		r.u.new_proxy_resp.error = (char *)error;
	} else {
		snprintf(addr, sizeof(addr), ":%d", port);
		r.u.new_proxy_resp.remote_addr = addr;
	}
	if (ctl_send(c->ctl, &r) < 0)
		LOG_W("frps", "[%s] cannot queue NewProxyResp", c->run_id);
}

void frps_proxy_new_msg(struct frps_control *c, const struct msg_new_proxy *m)
{
	struct frps *s = c->s;
	const char *name = m->proxy_name;
	const struct frps_proxy_ops *ops = proxy_type_find(m->proxy_type);
	char err[192] = "", tbuf[33];
	struct frps_proxy *p = NULL;

	/* The same client registering a proxy it already has (it moved links,
	 * or re-sent NewProxy): keep it open when nothing changed, else close
	 * it and build it again. */
	struct frps_proxy *have = name ? strmap_get(s->proxy_by_name, name) : NULL;
	if (have && have->c == c) {
		if (ops == have->ops && m->use_encryption == have->use_encryption &&
		    (m->remote_port == 0 || m->remote_port == have->port) &&
		    !m->use_compression) {
			LOG_I("frps", "[%s] proxy [%s] kept open on port %d", c->run_id,
			      name, have->port);
			reply(c, name, have->port, NULL);
			return;
		}
		frps_proxy_close(have);
	}

	if (!name_ok(name))
		snprintf(err, sizeof(err), "invalid proxy name");
	else if (!ops)
		snprintf(err, sizeof(err), "proxy type %s not supported",
			 m->proxy_type ? frps_log_str(m->proxy_type, tbuf,
						      sizeof(tbuf))
				       : "(none)");
	else if (m->use_compression && ops->port_space == FRPS_PORTS_UDP)
		snprintf(err, sizeof(err), "transport.useCompression is not "
			 "supported for udp proxies by this server");
	else if (strmap_get(s->proxy_by_name, name))
		snprintf(err, sizeof(err), "proxy [%s] already exists", name);
	else if (portmgr_quota_check(s->cfg->max_ports_per_client, c->nports,
				     1) < 0)
		snprintf(err, sizeof(err), "%s", portmgr_strerror(-EDQUOT));
	if (err[0])
		goto fail;

	p = calloc(1, sizeof(*p));
	if (!p || !(p->name = util_strdup(name))) {
		snprintf(err, sizeof(err), "server out of memory");
		goto fail;
	}
	p->s = s;
	p->c = c;
	p->ops = ops;
	p->use_encryption = m->use_encryption;
	p->use_compression = m->use_compression;
	if (open_port(p, m->remote_port, err, sizeof(err)) < 0)
		goto fail;
	if (strmap_put(s->proxy_by_name, name, p) < 0) {
		p->ops->stop(p);
		portmgr_release(s->ports[ops->port_space], p->port);
		snprintf(err, sizeof(err), "server out of memory");
		goto fail;
	}
	c->nports++;
	TAILQ_INSERT_TAIL(&c->proxies, p, link);
	p->st = frps_stats_proxy_online(s->stats, name, ops->type, p->port, c->st);
	LOG_I("frps", "[%s] new proxy [%s] type [%s] listening on port %d",
	      c->run_id, name, ops->type, p->port);
	reply(c, name, p->port, NULL);
	return;
fail:
	char ln[FRPS_NAME_MAX + 1];
	LOG_W("frps", "[%s] new proxy [%s] error: %s", c->run_id,
	      frps_log_str(name, ln, sizeof(ln)), err);
	if (p)
		free(p->name);
	free(p);
	reply(c, name, 0, err);
}

void frps_proxy_close(struct frps_proxy *p)
{
	struct frps *s = p->s;
	struct frps_control *c = p->c;
	p->ops->stop(p);
	portmgr_release(s->ports[p->ops->port_space], p->port);
	c->nports--;
	if (strmap_get(s->proxy_by_name, p->name) == p)
		strmap_del(s->proxy_by_name, p->name);
	TAILQ_REMOVE(&c->proxies, p, link);
	frps_stats_proxy_offline(s->stats, p->st, c->st);
	if (p->st)
		/* Relays' bytes reach the stats every tick, so this may lag
		 * by up to a second. */
		LOG_I("frps", "[%s] proxy [%s] closed (traffic in %llu B, out "
			      "%llu B, %d connections still open)",
		      c->run_id, p->name,
		      (unsigned long long)p->st->traffic.in,
		      (unsigned long long)p->st->traffic.out, p->st->cur_conns);
	else
		LOG_I("frps", "[%s] proxy [%s] closed", c->run_id, p->name);
	free(p->name);
	free(p);
}

void frps_proxy_close_msg(struct frps_control *c, const struct msg_close_proxy *m)
{
	struct frps_proxy *p =
		m->proxy_name ? strmap_get(c->s->proxy_by_name, m->proxy_name)
			      : NULL;
	if (!p || p->c != c) {
		char ln[FRPS_NAME_MAX + 1];
		LOG_D("frps", "[%s] CloseProxy for unknown proxy [%s]", c->run_id,
		      frps_log_str(m->proxy_name, ln, sizeof(ln)));
		return;
	}
	frps_proxy_close(p);
}

void frps_proxy_start_msg(const struct frps_proxy *p, struct msg *m,
			  const struct sockaddr_storage *src,
			  const struct sockaddr_storage *dst, char *src_ip,
			  char *dst_ip, size_t iplen)
{
	uint16_t sport = 0, dport = 0;
	memset(m, 0, sizeof(*m));
	m->type = MSG_START_WORK_CONN;
	m->u.start_work_conn.proxy_name = p->name;
	if (src && util_addr_split(src, src_ip, iplen, &sport) == 0) {
		m->u.start_work_conn.src_addr = src_ip;
		m->u.start_work_conn.src_port = sport;
	}
	if (dst && util_addr_split(dst, dst_ip, iplen, &dport) == 0) {
		m->u.start_work_conn.dst_addr = dst_ip;
		m->u.start_work_conn.dst_port = dport;
	}
}
