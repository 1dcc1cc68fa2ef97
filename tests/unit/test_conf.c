/*
 * test_conf.c - the YAML configuration loader: shipped files, defaults,
 * typed values from inline files, and the exact one-line error for each
 * kind of mistake (with the line:col libyaml marks give).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* ---- helpers ---------------------------------------------------------- */

struct tmpfile {
	char path[64];
};

static void tmp_write(struct tmpfile *t, const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(t->path, sizeof(t->path), "/tmp/test_conf_XXXXXX.yaml");
	fd = mkstemps(t->path, 5);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static struct frpc_conf *frpc_ok(const char *text)
{
	struct tmpfile t;
	struct frpc_conf *c = NULL;
	char err[512] = "";
	int rc;

	tmp_write(&t, text);
	rc = conf_frpc_load(t.path, &c, err, sizeof(err));
	unlink(t.path);
	ck_assert_msg(rc == 0, "load failed (%d): %s\n--- file:\n%s", rc, err,
		      text);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, t.path);
	return c;
}

static struct frps_conf *frps_ok(const char *text)
{
	struct tmpfile t;
	struct frps_conf *c = NULL;
	char err[512] = "";
	int rc;

	tmp_write(&t, text);
	rc = conf_frps_load(t.path, &c, err, sizeof(err));
	unlink(t.path);
	ck_assert_msg(rc == 0, "load failed (%d): %s\n--- file:\n%s", rc, err,
		      text);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Load text as frpc (or frps) config and require failure with exactly
 * "PATH:" + want, one line, *out untouched. */
static void expect_err(bool frps, const char *text, const char *want)
{
	struct tmpfile t;
	struct frpc_conf *cc = (struct frpc_conf *)&t; /* sentinel */
	struct frps_conf *sc = (struct frps_conf *)&t;
	char err[512] = "", full[640];
	int rc;

	tmp_write(&t, text);
	if (frps)
		rc = conf_frps_load(t.path, &sc, err, sizeof(err));
	else
		rc = conf_frpc_load(t.path, &cc, err, sizeof(err));
	unlink(t.path);
	snprintf(full, sizeof(full), "%s:%s", t.path, want);
	ck_assert_msg(rc == -EINVAL, "rc %d for:\n%s", rc, text);
	ck_assert_msg(!strcmp(err, full),
		      "\n got: %s\nwant: %s\n--- file:\n%s", err, full, text);
	ck_assert_ptr_eq(cc, (struct frpc_conf *)&t);
	ck_assert_ptr_eq(sc, (struct frps_conf *)&t);
	ck_assert_ptr_null(strchr(err, '\n'));
}

#define FRPC_ERR(text, want) expect_err(false, text, want)
#define FRPS_ERR(text, want) expect_err(true, text, want)

/* ---- shipped files ------------------------------------------------------ */

START_TEST(shipped_files_load)
{
	const char *dir = getenv("CONF_DIR") ? getenv("CONF_DIR") : "conf";
	struct dirent *de;
	DIR *d = opendir(dir);
	int nfrpc = 0, nfrps = 0;

	ck_assert_msg(d != NULL, "cannot open %s (run from the repo root or "
		      "set CONF_DIR)", dir);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[512], err[512] = "";
		int rc;

		if (n < 5 || strcmp(de->d_name + n - 5, ".yaml"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!strncmp(de->d_name, "frpc", 4)) {
			struct frpc_conf *c = NULL;

			rc = conf_frpc_load(path, &c, err, sizeof(err));
			ck_assert_msg(rc == 0, "%s", err);
			conf_frpc_free(c);
			nfrpc++;
		} else if (!strncmp(de->d_name, "frps", 4)) {
			struct frps_conf *c = NULL;

			rc = conf_frps_load(path, &c, err, sizeof(err));
			ck_assert_msg(rc == 0, "%s", err);
			conf_frps_free(c);
			nfrps++;
		} else {
			ck_abort_msg("%s: neither frpc nor frps", path);
		}
	}
	closedir(d);
	ck_assert_int_ge(nfrpc, 2);
	ck_assert_int_ge(nfrps, 2);
}
END_TEST

/* The full files claim to show defaults except where noted: check the
 * numbers against the defaults so the comments cannot drift. */
START_TEST(full_files_show_defaults)
{
	const char *dir = getenv("CONF_DIR") ? getenv("CONF_DIR") : "conf";
	struct frpc_conf *c = NULL, *dc = conf_frpc_defaults();
	struct frps_conf *s = NULL, *ds = conf_frps_defaults();
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/frpc_full.yaml", dir);
	ck_assert_msg(conf_frpc_load(path, &c, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_str_eq(c->server_addr, dc->server_addr);
	ck_assert_int_eq(c->server_port, dc->server_port);
	ck_assert_int_eq(c->login_fail_exit, dc->login_fail_exit);
	ck_assert_str_eq(c->protocol, dc->protocol);
	ck_assert_int_eq(c->tcp_mux, dc->tcp_mux);
	ck_assert_int_eq(c->tcp_mux_keepalive_interval,
			 dc->tcp_mux_keepalive_interval);
	ck_assert_int_eq(c->pool_count, dc->pool_count);
	ck_assert_int_eq(c->heartbeat_interval, dc->heartbeat_interval);
	ck_assert_int_eq(c->heartbeat_timeout, dc->heartbeat_timeout);
	ck_assert_int_eq(c->dial_server_timeout, dc->dial_server_timeout);
	ck_assert_int_eq(c->log.level, dc->log.level);
	ck_assert_int_eq(c->log.max_days, dc->log.max_days);
	ck_assert_str_eq(c->web.addr, dc->web.addr);
	ck_assert_int_eq(c->web.port, dc->web.port);
	ck_assert_uint_eq(c->n_proxies, 2);
	ck_assert_int_eq(c->proxies[1].type, CONF_PROXY_UDP);

	snprintf(path, sizeof(path), "%s/frps_full.yaml", dir);
	ck_assert_msg(conf_frps_load(path, &s, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_str_eq(s->bind_addr, ds->bind_addr);
	ck_assert_int_eq(s->bind_port, ds->bind_port);
	ck_assert_int_eq(s->login_time_window, ds->login_time_window);
	ck_assert_int_eq(s->max_ports_per_client, ds->max_ports_per_client);
	ck_assert_int_eq(s->tcp_mux, ds->tcp_mux);
	ck_assert_int_eq(s->max_pool_count, ds->max_pool_count);
	ck_assert_int_eq(s->heartbeat_timeout, ds->heartbeat_timeout);
	ck_assert_int_eq(s->user_conn_timeout, ds->user_conn_timeout);
	ck_assert_int_eq(s->enable_prometheus, ds->enable_prometheus);
	ck_assert_int_eq(s->log.level, ds->log.level);
	ck_assert_uint_eq(s->n_allow_ports, 2);
	conf_frpc_free(c);
	conf_frpc_free(dc);
	conf_frps_free(s);
	conf_frps_free(ds);
}
END_TEST

/* ---- defaults -------------------------------------------------------- */

static void check_frpc_defaults(const struct frpc_conf *c)
{
	ck_assert_str_eq(c->server_addr, "0.0.0.0");
	ck_assert_int_eq(c->server_port, 7000);
	ck_assert_str_eq(c->user, "");
	ck_assert_str_eq(c->client_id, "");
	ck_assert(c->login_fail_exit);
	ck_assert_str_eq(c->auth_method, "token");
	ck_assert_str_eq(c->auth_token, "");
	ck_assert_str_eq(c->protocol, "tcp");
	ck_assert(c->tcp_mux);
	ck_assert_int_eq(c->tcp_mux_keepalive_interval, 30);
	ck_assert_int_eq(c->pool_count, 1);
	ck_assert_int_eq(c->heartbeat_interval, 30);
	ck_assert_int_eq(c->heartbeat_timeout, 90);
	ck_assert_int_eq(c->dial_server_timeout, 10);
	ck_assert_ptr_null(c->xport);
	ck_assert_uint_eq(c->n_xport, 0);
	ck_assert_str_eq(c->log.to, "console");
	ck_assert_int_eq(c->log.level, XPORT_LOG_INFO);
	ck_assert_int_eq(c->log.max_days, 3);
	ck_assert_str_eq(c->web.addr, "127.0.0.1");
	ck_assert_int_eq(c->web.port, 0);
	ck_assert_str_eq(c->web.user, "");
	ck_assert_str_eq(c->web.password, "");
	ck_assert_uint_eq(c->n_proxies, 0);
}

static void check_frps_defaults(const struct frps_conf *c)
{
	ck_assert_str_eq(c->bind_addr, "0.0.0.0");
	ck_assert_int_eq(c->bind_port, 7000);
	ck_assert_int_eq(c->kcp_bind_port, 0);
	ck_assert_str_eq(c->proxy_bind_addr, "0.0.0.0");
	ck_assert_str_eq(c->auth_method, "token");
	ck_assert_str_eq(c->auth_token, "");
	ck_assert_uint_eq(c->n_allow_ports, 0);
	ck_assert_int_eq(c->max_ports_per_client, 0);
	ck_assert(c->tcp_mux);
	ck_assert_int_eq(c->tcp_mux_keepalive_interval, 30);
	ck_assert_int_eq(c->max_pool_count, 5);
	ck_assert_int_eq(c->heartbeat_timeout, 90);
	ck_assert_int_eq(c->user_conn_timeout, 10);
	ck_assert(!c->enable_prometheus);
	ck_assert_int_eq(c->login_time_window, 900);
	ck_assert_uint_eq(c->n_xport, 0);
	ck_assert_str_eq(c->log.to, "console");
	ck_assert_int_eq(c->log.level, XPORT_LOG_INFO);
	ck_assert_str_eq(c->web.addr, "127.0.0.1");
	ck_assert_int_eq(c->web.port, 0);
}

START_TEST(defaults_without_file)
{
	struct frpc_conf *c = conf_frpc_defaults();
	struct frps_conf *s = conf_frps_defaults();

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_null(c->path);
	ck_assert_ptr_null(s->path);
	check_frpc_defaults(c);
	check_frps_defaults(s);
	conf_frpc_free(c);
	conf_frps_free(s);
	conf_frpc_free(NULL);
	conf_frps_free(NULL);
}
END_TEST

START_TEST(empty_files_give_defaults)
{
	static const char *const texts[] = {
		"", "# only a comment\n\n", "---\n", "---\n...\n", "~\n",
		"serverPort:\nproxies:\nauth:\nlog: {level: ~}\n",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct frpc_conf *c = frpc_ok(texts[i]);
		struct frps_conf *s;

		check_frpc_defaults(c);
		conf_frpc_free(c);
		if (i == 5)
			continue; /* serverPort/proxies are frpc keys */
		s = frps_ok(texts[i]);
		check_frps_defaults(s);
		conf_frps_free(s);
	}
}
END_TEST

/* ---- valid files ----------------------------------------------------- */

START_TEST(frpc_block_style)
{
	struct frpc_conf *c = frpc_ok(
		"serverAddr: frps.example.com\n"
		"serverPort: 7001\n"
		"user: alice\n"
		"clientID: box-1\n"
		"loginFailExit: false\n"
		"auth:\n"
		"  method: token\n"
		"  token: 12345678\n"
		"transport:\n"
		"  protocol: kcp\n"
		"  tcpMux: false\n"
		"  tcpMuxKeepaliveInterval: 15\n"
		"  poolCount: 100\n"
		"  heartbeatInterval: 5\n"
		"  heartbeatTimeout: 20\n"
		"  dialServerTimeout: 3\n"
		"log:\n"
		"  to: /tmp/frpc.log\n"
		"  level: trace\n"
		"  maxDays: 0\n"
		"webServer:\n"
		"  addr: 0.0.0.0\n"
		"  port: 7400\n"
		"  user: admin\n"
		"  password: \"s3cret: yes\"\n"
		"proxies:\n"
		"- name: ssh\n"
		"  type: tcp\n"
		"  localPort: 22\n"
		"  remotePort: 6000\n"
		"  transport:\n"
		"    useEncryption: true\n"
		"- name: dns\n"
		"  type: udp\n"
		"  localIP: 10.0.0.53\n"
		"  localPort: 53\n"
		"  transport: {useCompression: true}\n");

	ck_assert_str_eq(c->server_addr, "frps.example.com");
	ck_assert_int_eq(c->server_port, 7001);
	ck_assert_str_eq(c->user, "alice");
	ck_assert_str_eq(c->client_id, "box-1");
	ck_assert(!c->login_fail_exit);
	ck_assert_str_eq(c->auth_method, "token");
	ck_assert_str_eq(c->auth_token, "12345678");
	ck_assert_str_eq(c->protocol, "kcp");
	ck_assert(!c->tcp_mux);
	ck_assert_int_eq(c->tcp_mux_keepalive_interval, 15);
	ck_assert_int_eq(c->pool_count, 100);
	ck_assert_int_eq(c->heartbeat_interval, 5);
	ck_assert_int_eq(c->heartbeat_timeout, 20);
	ck_assert_int_eq(c->dial_server_timeout, 3);
	ck_assert_str_eq(c->log.to, "/tmp/frpc.log");
	ck_assert_int_eq(c->log.level, XPORT_LOG_TRACE);
	ck_assert_int_eq(c->log.max_days, 0);
	ck_assert_str_eq(c->web.addr, "0.0.0.0");
	ck_assert_int_eq(c->web.port, 7400);
	ck_assert_str_eq(c->web.user, "admin");
	ck_assert_str_eq(c->web.password, "s3cret: yes");
	ck_assert_uint_eq(c->n_xport, 0);
	ck_assert_uint_eq(c->n_proxies, 2);

	ck_assert_str_eq(c->proxies[0].name, "ssh");
	ck_assert_int_eq(c->proxies[0].type, CONF_PROXY_TCP);
	ck_assert_str_eq(c->proxies[0].type_name, "tcp");
	ck_assert_str_eq(c->proxies[0].local_ip, "127.0.0.1");
	ck_assert_int_eq(c->proxies[0].local_port, 22);
	ck_assert_int_eq(c->proxies[0].remote_port, 6000);
	ck_assert(c->proxies[0].use_encryption);
	ck_assert(!c->proxies[0].use_compression);

	ck_assert_str_eq(c->proxies[1].name, "dns");
	ck_assert_int_eq(c->proxies[1].type, CONF_PROXY_UDP);
	ck_assert_str_eq(c->proxies[1].type_name, "udp");
	ck_assert_str_eq(c->proxies[1].local_ip, "10.0.0.53");
	ck_assert_int_eq(c->proxies[1].local_port, 53);
	ck_assert_int_eq(c->proxies[1].remote_port, 0);
	ck_assert(!c->proxies[1].use_encryption);
	ck_assert(c->proxies[1].use_compression);
	conf_frpc_free(c);
}
END_TEST

/* The flow-style example of docs/frp-reference.md, minus bandwidthLimit. */
START_TEST(frpc_flow_style)
{
	struct frpc_conf *c = frpc_ok(
		"serverAddr: \"x.x.x.x\"\n"
		"serverPort: 7000\n"
		"auth: {method: token, token: \"12345678\"}\n"
		"transport: {protocol: kcp, tcpMux: true, poolCount: 1}\n"
		"webServer: {addr: 127.0.0.1, port: 7400, user: admin, "
		"password: admin}\n"
		"proxies:\n"
		"  - {name: ssh, type: tcp, localIP: 127.0.0.1, localPort: 22,"
		" remotePort: 6000,\n"
		"     transport: {useEncryption: true, useCompression: true}}\n");

	ck_assert_str_eq(c->server_addr, "x.x.x.x");
	ck_assert_str_eq(c->auth_token, "12345678");
	ck_assert_str_eq(c->protocol, "kcp");
	ck_assert_int_eq(c->pool_count, 1);
	ck_assert_int_eq(c->web.port, 7400);
	ck_assert_str_eq(c->web.password, "admin");
	ck_assert_uint_eq(c->n_proxies, 1);
	ck_assert(c->proxies[0].use_encryption);
	ck_assert(c->proxies[0].use_compression);
	ck_assert_int_eq(c->proxies[0].remote_port, 6000);
	/* Fields not in the file keep their defaults. */
	ck_assert_int_eq(c->heartbeat_interval, 30);
	ck_assert_int_eq(c->heartbeat_timeout, 90);
	ck_assert(c->login_fail_exit);
	conf_frpc_free(c);
}
END_TEST

START_TEST(frps_values)
{
	struct frps_conf *s = frps_ok(
		"bindAddr: 10.0.0.1\n"
		"bindPort: 0\n"
		"kcpBindPort: 7000\n"
		"auth: {token: \"12345678\", timestampWindow: 0}\n"
		"webServer: {addr: 0.0.0.0, port: 7500, user: admin, "
		"password: admin}\n"
		"enablePrometheus: true\n"
		"allowPorts: [{start: 2000, end: 3000}, {single: 3001}]\n"
		"maxPortsPerClient: 4\n"
		"transport:\n"
		"  tcpMux: false\n"
		"  tcpMuxKeepaliveInterval: 60\n"
		"  maxPoolCount: 50\n"
		"  heartbeatTimeout: 30\n"
		"userConnTimeout: 20\n"
		"log: {to: /dev/null, level: error, maxDays: 7}\n");

	ck_assert_str_eq(s->bind_addr, "10.0.0.1");
	ck_assert_int_eq(s->bind_port, 0);
	ck_assert_int_eq(s->kcp_bind_port, 7000);
	/* proxyBindAddr follows bindAddr when not given. */
	ck_assert_str_eq(s->proxy_bind_addr, "10.0.0.1");
	ck_assert_str_eq(s->auth_token, "12345678");
	ck_assert_int_eq(s->login_time_window, 0);
	ck_assert_int_eq(s->web.port, 7500);
	ck_assert(s->enable_prometheus);
	ck_assert_uint_eq(s->n_allow_ports, 2);
	ck_assert_int_eq(s->allow_ports[0].start, 2000);
	ck_assert_int_eq(s->allow_ports[0].end, 3000);
	ck_assert_int_eq(s->allow_ports[1].start, 3001);
	ck_assert_int_eq(s->allow_ports[1].end, 3001);
	ck_assert_int_eq(s->max_ports_per_client, 4);
	ck_assert(!s->tcp_mux);
	ck_assert_int_eq(s->tcp_mux_keepalive_interval, 60);
	ck_assert_int_eq(s->max_pool_count, 50);
	ck_assert_int_eq(s->heartbeat_timeout, 30);
	ck_assert_int_eq(s->user_conn_timeout, 20);
	ck_assert_str_eq(s->log.to, "/dev/null");
	ck_assert_int_eq(s->log.level, XPORT_LOG_ERROR);
	ck_assert_int_eq(s->log.max_days, 7);

	ck_assert(conf_port_allowed(s->allow_ports, s->n_allow_ports, 2000));
	ck_assert(conf_port_allowed(s->allow_ports, s->n_allow_ports, 2500));
	ck_assert(conf_port_allowed(s->allow_ports, s->n_allow_ports, 3000));
	ck_assert(conf_port_allowed(s->allow_ports, s->n_allow_ports, 3001));
	ck_assert(!conf_port_allowed(s->allow_ports, s->n_allow_ports, 1999));
	ck_assert(!conf_port_allowed(s->allow_ports, s->n_allow_ports, 3002));
	ck_assert(!conf_port_allowed(s->allow_ports, s->n_allow_ports, 0));
	conf_frps_free(s);

	s = frps_ok("proxyBindAddr: 127.0.0.1\nbindAddr: 10.0.0.1\n");
	ck_assert_str_eq(s->proxy_bind_addr, "127.0.0.1");
	ck_assert_str_eq(s->bind_addr, "10.0.0.1");
	conf_frps_free(s);
}
END_TEST

START_TEST(port_allowed_edges)
{
	struct conf_port_range r[] = {{1, 1}, {65535, 65535}};

	ck_assert(conf_port_allowed(NULL, 0, 1));
	ck_assert(conf_port_allowed(NULL, 0, 65535));
	ck_assert(!conf_port_allowed(NULL, 0, 65536));
	ck_assert(!conf_port_allowed(NULL, 0, -1));
	ck_assert(conf_port_allowed(r, 2, 1));
	ck_assert(conf_port_allowed(r, 2, 65535));
	ck_assert(!conf_port_allowed(r, 2, 2));
	ck_assert(!conf_port_allowed(r, 1, 65535));
	ck_assert(!conf_port_allowed(r, 2, 65536));
}
END_TEST

START_TEST(set_str_replaces)
{
	struct frpc_conf *c = conf_frpc_defaults();

	ck_assert_int_eq(conf_set_str(&c->protocol, "kcp"), 0);
	ck_assert_str_eq(c->protocol, "kcp");
	ck_assert_int_eq(conf_set_str(&c->auth_token, NULL), 0);
	ck_assert_str_eq(c->auth_token, "");
	ck_assert_int_eq(conf_set_str(&c->server_addr, c->server_addr), 0);
	ck_assert_str_eq(c->server_addr, "0.0.0.0");
	conf_frpc_free(c);
}
END_TEST

/* ---- transport plugin subtrees ------------------------------------- */

START_TEST(xport_subtree_flattened)
{
	struct frpc_conf *c = frpc_ok(
		"transport:\n"
		"  protocol: kcp\n"
		"  kcp:\n"
		"    mode: fast2\n"
		"    sndWnd: 256\n"
		"    fec: {data: 10, parity: 3}\n"
		"    key: \"it's: quoted\"\n"
		"    unset: ~\n"
		"  quic: {keepalivePeriod: 10}\n"
		"  tcpMux: true\n");
	const struct conf_xport_opts *k, *q;
	char want[128];
	static const char *const keys[] = {"mode", "sndWnd", "fec.data",
					   "fec.parity", "key"};
	static const char *const vals[] = {"fast2", "256", "10", "3",
					   "it's: quoted"};
	static const int pos[][2] = {{4, 5}, {5, 5}, {6, 11}, {6, 21}, {7, 5}};

	ck_assert_uint_eq(c->n_xport, 2);
	k = conf_xport_find(c->xport, c->n_xport, "kcp");
	q = conf_xport_find(c->xport, c->n_xport, "quic");
	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_null(conf_xport_find(c->xport, c->n_xport, "tcp"));
	ck_assert_ptr_null(conf_xport_find(NULL, 0, "kcp"));
	ck_assert_str_eq(k->protocol, "kcp");
	ck_assert_uint_eq(k->n, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_str_eq(k->opts[i].key, keys[i]);
		ck_assert_str_eq(k->opts[i].value, vals[i]);
		snprintf(want, sizeof(want), "%s:%d:%d", c->path, pos[i][0],
			 pos[i][1]);
		ck_assert_str_eq(k->where[i], want);
	}
	ck_assert_uint_eq(q->n, 1);
	ck_assert_str_eq(q->opts[0].key, "keepalivePeriod");
	ck_assert_str_eq(q->opts[0].value, "10");
	conf_frpc_free(c);
}
END_TEST

START_TEST(xport_subtree_frps_flow)
{
	struct frps_conf *s = frps_ok(
		"transport: {kcp: {mode: fast2, sndWnd: 256}, tcpMux: true}\n");
	const struct conf_xport_opts *k;
	char want[128];

	k = conf_xport_find(s->xport, s->n_xport, "kcp");
	ck_assert_ptr_nonnull(k);
	ck_assert_uint_eq(k->n, 2);
	ck_assert_str_eq(k->opts[0].key, "mode");
	ck_assert_str_eq(k->opts[0].value, "fast2");
	ck_assert_str_eq(k->opts[1].key, "sndWnd");
	ck_assert_str_eq(k->opts[1].value, "256");
	snprintf(want, sizeof(want), "%s:1:32", s->path);
	ck_assert_str_eq(k->where[1], want);
	conf_frps_free(s);
}
END_TEST

START_TEST(xport_subtree_errors)
{
	FRPC_ERR("transport:\n  kcp:\n    mode: fast2\n    list: [1, 2]\n",
		 "4:11: transport.kcp.list: expected a scalar, got a sequence");
	FRPC_ERR("transport:\n  kcp:\n    mode: fast2\n    mode: normal\n",
		 "4:5: duplicate key \"transport.kcp.mode\" (first at 3:5)");
	FRPC_ERR("transport:\n  kcp: {fec.data: 10}\n",
		 "2:9: unknown key \"transport.kcp.fec.data\" (write dotted "
		 "keys as nested maps)");
	/* Only maps are plugin subtrees: a misspelt scalar key is caught. */
	FRPS_ERR("transport:\n  tcpMx: true\n",
		 "2:3: unknown key \"transport.tcpMx\"");
}
END_TEST

/* ---- errors --------------------------------------------------------- */

START_TEST(err_unknown_keys)
{
	FRPS_ERR("bindPort: 7000\nbindPrt: 1\n",
		 "2:1: unknown key \"bindPrt\"");
	FRPC_ERR("auth:\n  tokn: x\n", "2:3: unknown key \"auth.tokn\"");
	FRPC_ERR("log: {level: info, lvl: 3}\n",
		 "1:20: unknown key \"log.lvl\"");
	FRPC_ERR("proxies:\n  - name: a\n    type: tcp\n    localPort: 22\n"
		 "    localPrt: 1\n",
		 "5:5: proxies[0]: unknown key \"localPrt\"");
	FRPC_ERR("proxies:\n  - {name: a, type: tcp, localPort: 1}\n"
		 "  - {name: b, type: tcp, localPort: 2,\n"
		 "     transport: {bandwidthLimit: 1MB}}\n",
		 "4:18: proxies[1]: unknown key \"transport.bandwidthLimit\"");
	FRPC_ERR("auth.token: x\n",
		 "1:1: unknown key \"auth.token\" (write dotted keys as "
		 "nested maps)");
	/* frps keys are not frpc keys and the other way round. */
	FRPC_ERR("bindPort: 7000\n", "1:1: unknown key \"bindPort\"");
	FRPS_ERR("proxies: []\n", "1:1: unknown key \"proxies\"");
	FRPS_ERR("transport: {poolCount: 1}\n",
		 "1:13: unknown key \"transport.poolCount\"");
	FRPC_ERR("\"\": 1\n", "1:1: unknown key \"\"");
	/* Control characters are escaped so the message stays one line. */
	FRPC_ERR("\"a\\nb\": 1\n", "1:1: unknown key \"a\\x0ab\"");
}
END_TEST

START_TEST(err_wrong_type)
{
	FRPC_ERR("serverPort: abc\n",
		 "1:13: serverPort: \"abc\" is not a decimal integer");
	FRPC_ERR("serverPort: 1.5\n",
		 "1:13: serverPort: \"1.5\" is not a decimal integer");
	FRPC_ERR("serverPort: 0x1F\n",
		 "1:13: serverPort: \"0x1F\" is not a decimal integer");
	FRPC_ERR("serverPort: 07000\n",
		 "1:13: serverPort: \"07000\" is not a decimal integer");
	FRPC_ERR("serverPort: [1]\n",
		 "1:13: serverPort: expected an integer, got a sequence");
	FRPS_ERR("bindPort: \"7000\"\n",
		 "1:11: bindPort: expected an integer, got the quoted string "
		 "\"7000\"");
	FRPC_ERR("loginFailExit: yes\n",
		 "1:16: loginFailExit: \"yes\" is not a boolean (true or false)");
	FRPC_ERR("loginFailExit: True\n",
		 "1:16: loginFailExit: \"True\" is not a boolean (true or false)");
	FRPC_ERR("loginFailExit: 'true'\n",
		 "1:16: loginFailExit: expected a boolean, got the quoted "
		 "string \"true\"");
	FRPC_ERR("auth: token\n", "1:7: auth: expected a map, got a scalar");
	FRPC_ERR("user: {a: 1}\n", "1:7: user: expected a string, got a map");
	FRPC_ERR("proxies: {name: a}\n",
		 "1:10: proxies: expected a sequence, got a map");
	FRPC_ERR("proxies:\n  - ssh\n",
		 "2:5: proxies[0]: expected a map, got a scalar");
	FRPC_ERR("- a\n- b\n",
		 "1:1: expected a map of settings at the top level, got a "
		 "sequence");
	FRPC_ERR("transport: {protocol: \"k c p\"}\n",
		 "1:23: transport.protocol: \"k c p\" must be a word of up to "
		 "32 letters, digits, '_' or '-'");
	FRPC_ERR("serverAddr: \"\"\n",
		 "1:13: serverAddr: \"\" must not be empty");
}
END_TEST

START_TEST(err_out_of_range)
{
	FRPC_ERR("serverPort: 70000\n",
		 "1:13: serverPort: 70000 is out of range (1-65535)");
	FRPC_ERR("serverPort: 0\n",
		 "1:13: serverPort: 0 is out of range (1-65535)");
	FRPC_ERR("serverPort: 99999999999999999999999\n",
		 "1:13: serverPort: 99999999999999999999999 is out of range "
		 "(1-65535)");
	FRPC_ERR("transport:\n  poolCount: 101\n",
		 "2:14: transport.poolCount: 101 is out of range (0-100)");
	FRPC_ERR("transport:\n  heartbeatInterval: -2\n",
		 "2:22: transport.heartbeatInterval: -2 is out of range "
		 "(-1-86400)");
	FRPC_ERR("proxies:\n  - name: a\n    type: tcp\n    localPort: 0\n",
		 "4:16: proxies[0]: localPort: 0 is out of range (1-65535)");
	FRPC_ERR("proxies:\n  - {name: a, type: tcp, localPort: 1, "
		 "remotePort: 65536}\n",
		 "2:52: proxies[0]: remotePort: 65536 is out of range "
		 "(0-65535)");
	FRPS_ERR("kcpBindPort: -1\n",
		 "1:14: kcpBindPort: -1 is out of range (0-65535)");
	FRPS_ERR("webServer: {port: 65536}\n",
		 "1:19: webServer.port: 65536 is out of range (0-65535)");
}
END_TEST

START_TEST(err_duplicates)
{
	FRPC_ERR("serverAddr: a\n"
		 "proxies:\n"
		 "  - name: web\n"
		 "    type: tcp\n"
		 "    localPort: 80\n"
		 "  - name: ssh\n"
		 "    type: tcp\n"
		 "    localPort: 22\n"
		 "  - name: ssh\n"
		 "    type: tcp\n"
		 "    localPort: 23\n"
		 "  - name: web\n"
		 "    type: udp\n"
		 "    localPort: 81\n",
		 "9:5: duplicate proxy name \"ssh\" (first at 6:5)");
	FRPC_ERR("serverPort: 1\nuser: a\nserverPort: 2\n",
		 "3:1: duplicate key \"serverPort\" (first at 1:1)");
	FRPC_ERR("auth: {token: a, token: b}\n",
		 "1:18: duplicate key \"auth.token\" (first at 1:8)");
	FRPC_ERR("log:\n  level: info\nlog:\n  to: x\n",
		 "3:1: duplicate key \"log\" (first at 1:1)");
	FRPC_ERR("proxies:\n  - {name: a, type: tcp, name: b}\n",
		 "2:26: proxies[0]: duplicate key \"name\" (first at 2:6)");
}
END_TEST

START_TEST(err_missing_required)
{
	FRPC_ERR("proxies:\n"
		 "- name: a\n"
		 "  localPort: 1\n"
		 "  type: tcp\n"
		 "- name: b\n"
		 "  type: tcp\n",
		 "5:3: proxies[1]: missing required key \"localPort\"");
	FRPC_ERR("proxies:\n  - {type: tcp, localPort: 1}\n",
		 "2:5: proxies[0]: missing required key \"name\"");
	FRPC_ERR("proxies:\n  - {name: a, localPort: 1}\n",
		 "2:5: proxies[0]: missing required key \"type\"");
	/* A null value is "not set", so it does not satisfy "required". */
	FRPC_ERR("proxies:\n  - {name: a, type: tcp, localPort: }\n",
		 "2:5: proxies[0]: missing required key \"localPort\"");
	FRPC_ERR("proxies:\n  - {name: \"\", type: tcp, localPort: 1}\n",
		 "2:12: proxies[0]: name: \"\" must not be empty");
}
END_TEST

START_TEST(err_bad_enum)
{
	FRPC_ERR("log:\n  level: loud\n",
		 "2:10: log.level: \"loud\" is not one of trace, debug, info, "
		 "warn, error");
	FRPS_ERR("auth: {method: oidc}\n",
		 "1:16: auth.method: \"oidc\" is not one of token");
	FRPC_ERR("proxies:\n  - {name: a, type: http, localPort: 1}\n",
		 "2:21: proxies[0]: type: \"http\" is not one of tcp, udp");
}
END_TEST

START_TEST(err_allow_ports)
{
	FRPS_ERR("allowPorts:\n  - {start: 3000, end: 2000}\n",
		 "2:5: allowPorts[0]: start 3000 is greater than end 2000");
	FRPS_ERR("allowPorts: [{single: 1}, {start: 5}]\n",
		 "1:27: allowPorts[1]: expected {start, end} or {single}");
	FRPS_ERR("allowPorts: [{}]\n",
		 "1:14: allowPorts[0]: expected {start, end} or {single}");
	FRPS_ERR("allowPorts: [{single: 5, start: 1, end: 9}]\n",
		 "1:14: allowPorts[0]: use either single or start/end, not "
		 "both");
	FRPS_ERR("allowPorts: [{single: 0}]\n",
		 "1:23: allowPorts[0]: single: 0 is out of range (1-65535)");
	FRPS_ERR("allowPorts: [{start: 1, end: 65536}]\n",
		 "1:30: allowPorts[0]: end: 65536 is out of range (1-65535)");
	FRPS_ERR("allowPorts: [2000-3000]\n",
		 "1:14: allowPorts[0]: expected a map {start, end} or "
		 "{single}, got a scalar");
	FRPS_ERR("allowPorts: [{stop: 5}]\n",
		 "1:15: allowPorts[0]: unknown key \"stop\"");
	FRPS_ERR("allowPorts: {start: 1, end: 2}\n",
		 "1:13: allowPorts: expected a sequence, got a map");
}
END_TEST

START_TEST(err_files)
{
	char dir[] = "/tmp/test_conf_dir_XXXXXX", path[128], err[256];
	struct frpc_conf *c = NULL;
	struct frps_conf *s = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nope.yaml", dir);
	ck_assert_int_eq(conf_frpc_load(path, &c, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err + strlen(dir) + 1,
			 "nope.yaml: No such file or directory");
	ck_assert_int_eq(conf_frps_load(path, &s, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(s);
	/* A directory opens but does not read. */
	ck_assert_int_eq(conf_frps_load(dir, &s, err, sizeof(err)), -EISDIR);
	ck_assert_ptr_null(s);
	snprintf(path, sizeof(path), "%s: Is a directory", dir);
	ck_assert_str_eq(err, path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(err_too_large)
{
	size_t n = (1u << 20) + 16;
	char *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, '#', n);
	big[n] = '\0';
	{
		struct tmpfile t;
		struct frpc_conf *c = NULL;
		char err[256], want[128];

		tmp_write(&t, big);
		ck_assert_int_eq(conf_frpc_load(t.path, &c, err, sizeof(err)),
				 -EFBIG);
		unlink(t.path);
		snprintf(want, sizeof(want), "%s: file is larger than %u bytes",
			 t.path, 1u << 20);
		ck_assert_str_eq(err, want);
	}
	free(big);
}
END_TEST

START_TEST(err_yaml_syntax)
{
	FRPC_ERR("serverAddr: [a, b\nuser: x\n",
		 "2:5: did not find expected ',' or ']' (while parsing a flow "
		 "sequence at 1:13)");
	FRPC_ERR("serverAddr: a: b\n",
		 "1:14: mapping values are not allowed in this context");
	FRPC_ERR("auth:\n  token: a\n method: token\n",
		 "3:2: did not find expected key (while parsing a block "
		 "mapping at 1:1)");
	FRPC_ERR("user: \"abc\n",
		 "2:1: found unexpected end of stream (while scanning a "
		 "quoted scalar at 1:7)");
	FRPC_ERR("user: \xff\xfe\n",
		 "1:7: invalid leading UTF-8 octet");
	/* Things YAML allows but a config file does not need. */
	FRPC_ERR("user: &u alice\nclientID: *u\n",
		 "2:11: aliases are not supported");
	FRPC_ERR("user: a\n---\nuser: b\n",
		 "2:1: only one YAML document is allowed");
	FRPC_ERR("user: !secret x\n", "1:7: unsupported YAML tag");
	FRPC_ERR("user: \"a\\0b\"\n",
		 "1:7: a value must not contain a NUL character");
	FRPC_ERR("? [a]\n: b\n", "1:3: a key must be a scalar, not a sequence");
}
END_TEST

START_TEST(err_nesting_too_deep)
{
	char text[256] = "transport: {kcp: ";
	size_t o = strlen(text);

	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "{a: ");
	/* root map, transport map, then the 31st "{a: " would be level 33. */
	FRPC_ERR(text, "1:138: nesting is too deep");
}
END_TEST

START_TEST(tags_and_quoting)
{
	struct frpc_conf *c = frpc_ok("user: !!str 123\n"
				      "serverPort: !!int 7001\n"
				      "clientID: 'it''s'\n"
				      "auth:\n  token: |\n    multi\n    line\n");

	ck_assert_str_eq(c->user, "123");
	ck_assert_int_eq(c->server_port, 7001);
	ck_assert_str_eq(c->client_id, "it's");
	ck_assert_str_eq(c->auth_token, "multi\nline\n");
	conf_frpc_free(c);
	FRPC_ERR("serverPort: !!str 7000\n",
		 "1:13: serverPort: expected an integer, got the quoted string "
		 "\"7000\"");
}
END_TEST

/* A file with many proxies: names are all checked (the duplicate is the
 * last one) and everything is freed. */
START_TEST(many_proxies)
{
	size_t n = 2000, cap = n * 64 + 64, o;
	char *text = malloc(cap), want[128];
	struct frpc_conf *c;

	ck_assert_ptr_nonnull(text);
	o = (size_t)snprintf(text, cap, "proxies:\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "- {name: p%zu, type: tcp, localPort: "
				      "%zu}\n", i, i + 1);
	c = frpc_ok(text);
	ck_assert_uint_eq(c->n_proxies, n);
	ck_assert_str_eq(c->proxies[n - 1].name, "p1999");
	ck_assert_int_eq(c->proxies[n - 1].local_port, 2000);
	conf_frpc_free(c);
	snprintf(text + o, cap - o, "- {name: p7, type: tcp, localPort: 1}\n");
	snprintf(want, sizeof(want),
		 "%zu:4: duplicate proxy name \"p7\" (first at 9:4)", n + 2);
	FRPC_ERR(text, want);
	free(text);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *t = tcase_create("conf");

	tcase_add_test(t, shipped_files_load);
	tcase_add_test(t, full_files_show_defaults);
	tcase_add_test(t, defaults_without_file);
	tcase_add_test(t, empty_files_give_defaults);
	tcase_add_test(t, frpc_block_style);
	tcase_add_test(t, frpc_flow_style);
	tcase_add_test(t, frps_values);
	tcase_add_test(t, port_allowed_edges);
	tcase_add_test(t, set_str_replaces);
	tcase_add_test(t, xport_subtree_flattened);
	tcase_add_test(t, xport_subtree_frps_flow);
	tcase_add_test(t, xport_subtree_errors);
	tcase_add_test(t, err_unknown_keys);
	tcase_add_test(t, err_wrong_type);
	tcase_add_test(t, err_out_of_range);
	tcase_add_test(t, err_duplicates);
	tcase_add_test(t, err_missing_required);
	tcase_add_test(t, err_bad_enum);
	tcase_add_test(t, err_allow_ports);
	tcase_add_test(t, err_files);
	tcase_add_test(t, err_too_large);
	tcase_add_test(t, err_yaml_syntax);
	tcase_add_test(t, err_nesting_too_deep);
	tcase_add_test(t, tags_and_quoting);
	tcase_add_test(t, many_proxies);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
