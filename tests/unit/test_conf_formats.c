/*
 * test_conf_formats.c - every configuration format loads to the same typed
 * config: YAML, TOML and JSON versions of one file compared field by field;
 * frp's own example files; format selection by extension; legacy INI
 * refused; JSON errors with line:col; {{ .Envs.NAME }} templates; frpc
 * includes.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_doc.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_conf_formats_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write dir/name and return its path (static buffer per call site use). */
static const char *put(const char *name, const char *text)
{
	static char paths[8][256];
	static int k;
	char *p = paths[k++ % 8];
	FILE *f;

	snprintf(p, 256, "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	fclose(f);
	return p;
}

static struct frpc_conf *frpc_ok(const char *path)
{
	struct frpc_conf *c = NULL;
	char err[512] = "";

	ck_assert_msg(conf_frpc_load(path, &c, err, sizeof(err)) == 0, "%s",
		      err);
	return c;
}

static struct frps_conf *frps_ok(const char *path)
{
	struct frps_conf *c = NULL;
	char err[512] = "";

	ck_assert_msg(conf_frps_load(path, &c, err, sizeof(err)) == 0, "%s",
		      err);
	return c;
}

/* Loading path fails with exactly PREFIX + want, where PREFIX is
 * "DIR/" (want then starts with the file name). */
static void frpc_err(const char *path, const char *want)
{
	struct frpc_conf *c = (struct frpc_conf *)&c;
	char err[640] = "", full[700];

	snprintf(full, sizeof(full), "%s/%s", dir, want);
	ck_assert_int_eq(conf_frpc_load(path, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(!strcmp(err, full), "\n got: %s\nwant: %s", err, full);
	ck_assert_ptr_eq(c, (struct frpc_conf *)&c);
	ck_assert_ptr_null(strchr(err, '\n'));
}

static void frps_err(const char *path, const char *want)
{
	struct frps_conf *c = (struct frps_conf *)&c;
	char err[640] = "", full[700];

	snprintf(full, sizeof(full), "%s/%s", dir, want);
	ck_assert_int_eq(conf_frps_load(path, &c, err, sizeof(err)), -EINVAL);
	ck_assert_msg(!strcmp(err, full), "\n got: %s\nwant: %s", err, full);
}

static void same_str(const char *a, const char *b)
{
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(a, b);
}

static void same_xport(const struct conf_xport_opts *a, size_t na,
		       const struct conf_xport_opts *b, size_t nb)
{
	ck_assert_uint_eq(na, nb);
	for (size_t i = 0; i < na; i++) {
		same_str(a[i].protocol, b[i].protocol);
		ck_assert_uint_eq(a[i].n, b[i].n);
		for (size_t k = 0; k < a[i].n; k++) {
			same_str(a[i].opts[k].key, b[i].opts[k].key);
			same_str(a[i].opts[k].value, b[i].opts[k].value);
		}
	}
}

/* Every field of the typed struct except path. */
static void same_frpc(const struct frpc_conf *a, const struct frpc_conf *b)
{
	same_str(a->server_addr, b->server_addr);
	ck_assert_int_eq(a->server_port, b->server_port);
	same_str(a->user, b->user);
	same_str(a->client_id, b->client_id);
	ck_assert_int_eq(a->login_fail_exit, b->login_fail_exit);
	same_str(a->auth_method, b->auth_method);
	same_str(a->auth_token, b->auth_token);
	same_str(a->protocol, b->protocol);
	ck_assert_int_eq(a->tcp_mux, b->tcp_mux);
	ck_assert_int_eq(a->tcp_mux_keepalive_interval,
			 b->tcp_mux_keepalive_interval);
	ck_assert_int_eq(a->pool_count, b->pool_count);
	ck_assert_int_eq(a->heartbeat_interval, b->heartbeat_interval);
	ck_assert_int_eq(a->heartbeat_timeout, b->heartbeat_timeout);
	ck_assert_int_eq(a->dial_server_timeout, b->dial_server_timeout);
	same_xport(a->xport, a->n_xport, b->xport, b->n_xport);
	same_str(a->log.to, b->log.to);
	ck_assert_int_eq(a->log.level, b->log.level);
	ck_assert_int_eq(a->log.max_days, b->log.max_days);
	ck_assert_int_eq(a->log.disable_print_color,
			 b->log.disable_print_color);
	same_str(a->web.addr, b->web.addr);
	ck_assert_int_eq(a->web.port, b->web.port);
	same_str(a->web.user, b->web.user);
	same_str(a->web.password, b->web.password);
	ck_assert_uint_eq(a->n_proxies, b->n_proxies);
	for (size_t i = 0; i < a->n_proxies; i++) {
		const struct conf_proxy *p = &a->proxies[i], *q = &b->proxies[i];

		same_str(p->name, q->name);
		ck_assert_int_eq(p->type, q->type);
		same_str(p->type_name, q->type_name);
		same_str(p->local_ip, q->local_ip);
		ck_assert_int_eq(p->local_port, q->local_port);
		ck_assert_int_eq(p->remote_port, q->remote_port);
		ck_assert_int_eq(p->use_encryption, q->use_encryption);
		ck_assert_int_eq(p->use_compression, q->use_compression);
	}
}

static void same_frps(const struct frps_conf *a, const struct frps_conf *b)
{
	same_str(a->bind_addr, b->bind_addr);
	ck_assert_int_eq(a->bind_port, b->bind_port);
	ck_assert_int_eq(a->kcp_bind_port, b->kcp_bind_port);
	same_str(a->proxy_bind_addr, b->proxy_bind_addr);
	same_str(a->auth_method, b->auth_method);
	same_str(a->auth_token, b->auth_token);
	ck_assert_uint_eq(a->n_allow_ports, b->n_allow_ports);
	for (size_t i = 0; i < a->n_allow_ports; i++) {
		ck_assert_int_eq(a->allow_ports[i].start, b->allow_ports[i].start);
		ck_assert_int_eq(a->allow_ports[i].end, b->allow_ports[i].end);
	}
	ck_assert_int_eq(a->max_ports_per_client, b->max_ports_per_client);
	ck_assert_int_eq(a->tcp_mux, b->tcp_mux);
	ck_assert_int_eq(a->tcp_mux_keepalive_interval,
			 b->tcp_mux_keepalive_interval);
	ck_assert_int_eq(a->max_pool_count, b->max_pool_count);
	ck_assert_int_eq(a->heartbeat_timeout, b->heartbeat_timeout);
	ck_assert_int_eq(a->user_conn_timeout, b->user_conn_timeout);
	ck_assert_int_eq(a->enable_prometheus, b->enable_prometheus);
	ck_assert_int_eq(a->login_time_window, b->login_time_window);
	same_xport(a->xport, a->n_xport, b->xport, b->n_xport);
	same_str(a->log.to, b->log.to);
	ck_assert_int_eq(a->log.level, b->log.level);
	same_str(a->web.addr, b->web.addr);
	ck_assert_int_eq(a->web.port, b->web.port);
}

/* ---- one config, three formats ------------------------------------------ */

static const char frpc_yaml[] =
	"serverAddr: frps.example.com\n"
	"serverPort: 7001\n"
	"user: alice\n"
	"loginFailExit: false\n"
	"auth: {method: token, token: \"s3cret\"}\n"
	"transport:\n"
	"  protocol: kcp\n"
	"  poolCount: 4\n"
	"  heartbeatTimeout: 20\n"
	"  kcp: {mode: fast2, sndWnd: 256, fec: {data: 10}}\n"
	"log: {to: /tmp/x.log, level: debug, maxDays: 7, "
	"disablePrintColor: true}\n"
	"webServer: {addr: 0.0.0.0, port: 7400, user: admin, password: pw}\n"
	"proxies:\n"
	"  - {name: ssh, type: tcp, localPort: 22, remotePort: 6000,\n"
	"     transport: {useEncryption: true}}\n"
	"  - {name: dns, type: udp, localIP: 10.0.0.53, localPort: 53,\n"
	"     transport: {useCompression: true}}\n";

static const char frpc_toml[] =
	"serverAddr = \"frps.example.com\"\n"
	"serverPort = 7001\n"
	"user = \"alice\"\n"
	"loginFailExit = false\n"
	"auth.method = \"token\"\n"
	"auth.token = \"s3cret\"\n"
	"log = { to = '/tmp/x.log', level = \"debug\", maxDays = 7, "
	"disablePrintColor = true }\n"
	"[transport]\n"
	"protocol = \"kcp\"\n"
	"poolCount = 4\n"
	"heartbeatTimeout = 0x14\n"
	"kcp.mode = \"fast2\"\n"
	"kcp.sndWnd = 256\n"
	"kcp.fec.data = 10\n"
	"[webServer]\n"
	"addr = \"0.0.0.0\"\n"
	"port = 7_400\n"
	"user = \"admin\"\n"
	"password = \"\"\"pw\"\"\"\n"
	"[[proxies]]\n"
	"name = \"ssh\"\n"
	"type = \"tcp\"\n"
	"localPort = 22\n"
	"remotePort = 6000\n"
	"transport.useEncryption = true\n"
	"[[proxies]]\n"
	"name = \"dns\"\n"
	"type = \"udp\"\n"
	"localIP = \"10.0.0.53\"\n"
	"localPort = 53\n"
	"[proxies.transport]\n"
	"useCompression = true\n";

static const char frpc_json[] =
	"{\"serverAddr\": \"frps.example.com\", \"serverPort\": 7001,\n"
	" \"user\": \"alice\", \"loginFailExit\": false,\n"
	" \"auth\": {\"method\": \"token\", \"token\": \"s3cret\"},\n"
	" \"transport\": {\"protocol\": \"kcp\", \"poolCount\": 4,\n"
	"   \"heartbeatTimeout\": 20,\n"
	"   \"kcp\": {\"mode\": \"fast2\", \"sndWnd\": 256, "
	"\"fec\": {\"data\": 10}}},\n"
	" \"log\": {\"to\": \"/tmp/x.log\", \"level\": \"debug\", \"maxDays\": 7,"
	" \"disablePrintColor\": true},\n"
	" \"webServer\": {\"addr\": \"0.0.0.0\", \"port\": 7400, \"user\": "
	"\"admin\", \"password\": \"pw\"},\n"
	" \"proxies\": [\n"
	"  {\"name\": \"ssh\", \"type\": \"tcp\", \"localPort\": 22, "
	"\"remotePort\": 6000, \"transport\": {\"useEncryption\": true}},\n"
	"  {\"name\": \"dns\", \"type\": \"udp\", \"localIP\": \"10.0.0.53\", "
	"\"localPort\": 53, \"clientNote\": null,\n"
	"   \"transport\": {\"useCompression\": true}}]}\n";

START_TEST(same_config_in_three_formats)
{
	struct frpc_conf *y, *t, *j, *d;

	y = frpc_ok(put("c.yaml", frpc_yaml));
	t = frpc_ok(put("c.toml", frpc_toml));
	/* null is "not set" in JSON as in YAML, so an unknown key holding null
	 * is still reported: take it out for the comparison. */
	{
		char *js = strdup(frpc_json), *k = strstr(js, "\"clientNote\"");

		memmove(k, k + strlen("\"clientNote\": null,"),
			strlen(k + strlen("\"clientNote\": null,")) + 1);
		j = frpc_ok(put("c.json", js));
		free(js);
	}
	ck_assert_str_eq(y->auth_token, "s3cret");
	ck_assert_int_eq(y->heartbeat_timeout, 20);
	ck_assert_uint_eq(y->n_proxies, 2);
	ck_assert_int_eq(y->proxies[1].use_compression, 1);
	ck_assert_uint_eq(y->n_xport, 1);
	ck_assert_uint_eq(y->xport[0].n, 3);
	ck_assert_str_eq(y->xport[0].opts[2].key, "fec.data");
	same_frpc(y, t);
	same_frpc(y, j);
	/* a file that sets nothing differs from the defaults in no field */
	d = conf_frpc_defaults();
	conf_frpc_free(y);
	y = frpc_ok(put("e.toml", "# nothing\n"));
	same_frpc(y, d);
	conf_frpc_free(y);
	y = frpc_ok(put("e.json", "{}"));
	same_frpc(y, d);
	conf_frpc_free(y);
	conf_frpc_free(t);
	conf_frpc_free(j);
	conf_frpc_free(d);
	frpc_err(put("n.json", frpc_json), "n.json:11:75: proxies[1]: unknown "
		 "key \"clientNote\"");
}
END_TEST

START_TEST(same_frps_in_three_formats)
{
	struct frps_conf *y, *t, *j;

	y = frps_ok(put("s.yaml",
			"bindAddr: 127.0.0.1\nbindPort: 7100\nkcpBindPort: 7100\n"
			"auth: {token: abc}\n"
			"allowPorts: [{start: 2000, end: 3000}, {single: 3001}]\n"
			"maxPortsPerClient: 9\nenablePrometheus: true\n"
			"transport: {maxPoolCount: 9, kcp: {mode: fast}}\n"));
	t = frps_ok(put("s.toml",
			"bindAddr = \"127.0.0.1\"\nbindPort = 7100\n"
			"kcpBindPort = 7100\nauth.token = \"abc\"\n"
			"allowPorts = [{ start = 2000, end = 3000 }, "
			"{ single = 3001 }]\n"
			"maxPortsPerClient = 9\nenablePrometheus = true\n"
			"transport.maxPoolCount = 9\n"
			"transport.kcp.mode = \"fast\"\n"));
	j = frps_ok(put("s.json",
			"{\"bindAddr\": \"127.0.0.1\", \"bindPort\": 7100, "
			"\"kcpBindPort\": 7100, \"auth\": {\"token\": \"abc\"}, "
			"\"allowPorts\": [{\"start\": 2000, \"end\": 3000}, "
			"{\"single\": 3001}], \"maxPortsPerClient\": 9, "
			"\"enablePrometheus\": true, \"transport\": "
			"{\"maxPoolCount\": 9, \"kcp\": {\"mode\": \"fast\"}}}"));
	ck_assert_uint_eq(y->n_allow_ports, 2);
	ck_assert_int_eq(y->allow_ports[1].start, 3001);
	same_frps(y, t);
	same_frps(y, j);
	conf_frps_free(y);
	conf_frps_free(t);
	conf_frps_free(j);
}
END_TEST

/* The shared schema gives the same message, at the position of the value,
 * whatever the format. */
START_TEST(shared_schema_errors)
{
	frpc_err(put("a.toml", "serverPort = \"7000\"\n"),
		 "a.toml:1:14: serverPort: expected an integer, got the quoted "
		 "string \"7000\"");
	frpc_err(put("a.json", "{\"serverPort\": \"7000\"}"),
		 "a.json:1:16: serverPort: expected an integer, got the quoted "
		 "string \"7000\"");
	frpc_err(put("b.toml", "[log]\nlevel = \"loud\"\n"),
		 "b.toml:2:9: log.level: \"loud\" is not one of trace, debug, "
		 "info, warn, error");
	frpc_err(put("b.json", "{\"log\": {\n  \"level\": \"loud\"}}"),
		 "b.json:2:12: log.level: \"loud\" is not one of trace, debug, "
		 "info, warn, error");
	frpc_err(put("c.toml", "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\n"
			       "localPort = 1\nbandwidth = 5\n"),
		 "c.toml:5:1: proxies[0]: unknown key \"bandwidth\"");
	frpc_err(put("d.toml", "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\n"),
		 "d.toml:1:1: proxies[0]: missing required key \"localPort\"");
	frpc_err(put("e.toml", "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\n"
			       "localPort = 1\n[[proxies]]\nname = \"a\"\n"
			       "type = \"udp\"\nlocalPort = 2\n"),
		 "e.toml:6:1: duplicate proxy name \"a\" (first at 2:1)");
	frpc_err(put("f.toml", "proxies = 1\n"),
		 "f.toml:1:11: proxies: expected a sequence, got a scalar");
	frpc_err(put("g.json", "[1]"), "g.json:1:1: expected a map of settings "
		 "at the top level, got a sequence");
	frpc_err(put("h.toml", "auth = 5\n"),
		 "h.toml:1:8: auth: expected a map, got a scalar");
	frps_err(put("i.toml", "transport.kcp.mode = [1]\n"),
		 "i.toml:1:22: transport.kcp.mode: expected a scalar, got a "
		 "sequence");
}
END_TEST

START_TEST(json_errors)
{
	frpc_err(put("a.json", "{\"serverPort\": 7000,\n \"x\": }"),
		 "a.json:2:7: unexpected token near '}'");
	frpc_err(put("b.json", "{\"a\": 1,\n \"a\": 2}"),
		 "b.json:2:4: duplicate object key near '\"a\"'");
	frpc_err(put("c.json", "{\"serverPort\": 7000.5}"),
		 "c.json:1:16: floating-point numbers are not supported (no "
		 "setting takes one)");
	frpc_err(put("d.json", ""),
		 "d.json:1:1: the file is empty (a JSON configuration is an "
		 "object, at least {})");
	frpc_err(put("e.json", "{\"user\": \"a\\u0000b\"}"),
		 "e.json:1:19: a value must not contain a NUL character");
	frpc_err(put("f.json", "{\"serverPort\": 7000} x"),
		 "f.json:1:22: end of file expected near 'x'");
	{
		char deep[200];

		memset(deep, '[', 40);
		memset(deep + 40, ']', 40);
		deep[80] = '\0';
		frpc_err(put("g.json", deep), "g.json:1:34: nesting is too deep");
	}
	frpc_err(put("h.json", "{\"user\": \"a\nb\"}"),
		 "h.json:1:11: unexpected newline near '\"a'");
}
END_TEST

/* conf/frpc.toml and conf/frps.toml say the same as their YAML twins. */
START_TEST(shipped_toml_matches_yaml)
{
	const char *cd = getenv("CONF_DIR") ? getenv("CONF_DIR") : "conf";
	char y[512], t[512];
	struct frpc_conf *cy, *ct;
	struct frps_conf *sy, *st;

	snprintf(y, sizeof(y), "%s/frpc.yaml", cd);
	snprintf(t, sizeof(t), "%s/frpc.toml", cd);
	cy = frpc_ok(y);
	ct = frpc_ok(t);
	same_frpc(cy, ct);
	ck_assert_uint_eq(ct->n_proxies, 1);
	snprintf(y, sizeof(y), "%s/frps.yaml", cd);
	snprintf(t, sizeof(t), "%s/frps.toml", cd);
	sy = frps_ok(y);
	st = frps_ok(t);
	same_frps(sy, st);
	ck_assert_int_eq(st->kcp_bind_port, 7000);
	conf_frpc_free(cy);
	conf_frpc_free(ct);
	conf_frps_free(sy);
	conf_frps_free(st);
}
END_TEST

/* ---- frp's own example files -------------------------------------------- */

/* conf/frps.toml and conf/frpc.toml of frp v0.54.0, byte for byte. */
static const char frp_frps_toml[] = "bindPort = 7000\n";
static const char frp_frpc_toml[] =
	"serverAddr = \"127.0.0.1\"\n"
	"serverPort = 7000\n"
	"\n"
	"[[proxies]]\n"
	"name = \"test-tcp\"\n"
	"type = \"tcp\"\n"
	"localIP = \"127.0.0.1\"\n"
	"localPort = 22\n"
	"remotePort = 6000\n";

/* The head of frp's longer conf/frpc.toml (before 0.54 it was the full
 * example; comments shortened): the global settings, in frp's order. */
static const char frp_full_head[] =
	"# your proxy name will be changed to {user}.{proxy}\n"
	"user = \"your_name\"\n"
	"serverAddr = \"0.0.0.0\"\n"
	"serverPort = 7000\n"
	"# natHoleStunServer = \"stun.easyvoip.com:3478\"\n"
	"loginFailExit = true\n"
	"log.to = \"./frpc.log\"\n"
	"log.level = \"info\"\n"
	"log.maxDays = 3\n"
	"log.disablePrintColor = false\n"
	"auth.method = \"token\"\n"
	"# auth.additionalScopes = [\"HeartBeats\", \"NewWorkConns\"]\n"
	"auth.token = \"12345678\"\n"
	"webServer.addr = \"127.0.0.1\"\n"
	"webServer.port = 7400\n"
	"webServer.user = \"admin\"\n"
	"webServer.password = \"admin\"\n"
	"# webServer.assetsDir = \"./static\"\n"
	"webServer.pprofEnable = false\n";

START_TEST(frp_example_files)
{
	struct frps_conf *s = frps_ok(put("frps.toml", frp_frps_toml));
	struct frpc_conf *c = frpc_ok(put("frpc.toml", frp_frpc_toml));
	const char *head;

	ck_assert_int_eq(s->bind_port, 7000);
	ck_assert_str_eq(c->server_addr, "127.0.0.1");
	ck_assert_uint_eq(c->n_proxies, 1);
	ck_assert_str_eq(c->proxies[0].name, "test-tcp");
	ck_assert_int_eq(c->proxies[0].local_port, 22);
	ck_assert_int_eq(c->proxies[0].remote_port, 6000);
	conf_frps_free(s);
	conf_frpc_free(c);
	/* Every global key of the longer example up to the admin API's pprof
	 * switch is ours; pprofEnable (a Go profiler) has no meaning here and
	 * is named, not skipped. */
	head = put("full.toml", frp_full_head);
	frpc_err(head, "full.toml:19:11: unknown key \"webServer.pprofEnable\"");
	{
		char *cut = strdup(frp_full_head);

		*strstr(cut, "webServer.pprofEnable") = '\0';
		c = frpc_ok(put("full2.toml", cut));
		free(cut);
	}
	ck_assert_str_eq(c->user, "your_name");
	ck_assert_str_eq(c->log.to, "./frpc.log");
	ck_assert_int_eq(c->log.disable_print_color, 0);
	ck_assert_str_eq(c->auth_token, "12345678");
	ck_assert_int_eq(c->web.port, 7400);
	ck_assert_str_eq(c->web.password, "admin");
	conf_frpc_free(c);
}
END_TEST

/* The keys of frp's longer frpc.toml that we do not support, one by one, in
 * frp's own spelling: each is an error naming the key (or the value), at its
 * line:col, never skipped. Global keys go after a line of ours; proxy keys
 * into frp's "ssh" proxy. */
START_TEST(frp_unsupported_keys_named)
{
	static const struct {
		const char *line, *want;
	} global[] = {
		{"webServer.pprofEnable = false",
		 "2:11: unknown key \"webServer.pprofEnable\""},
		{"transport.connectServerLocalIP = \"0.0.0.0\"",
		 "2:11: unknown key \"transport.connectServerLocalIP\""},
		{"transport.dialServerKeepalive = 7200",
		 "2:11: unknown key \"transport.dialServerKeepalive\""},
		{"transport.proxyURL = \"http://user:passwd@192.168.1.128:8080\"",
		 "2:11: unknown key \"transport.proxyURL\""},
		{"auth.additionalScopes = [\"HeartBeats\", \"NewWorkConns\"]",
		 "2:6: unknown key \"auth.additionalScopes\""},
		{"auth.oidc.clientID = \"\"", "2:6: unknown key \"auth.oidc\""},
		{"natHoleStunServer = \"stun.easyvoip.com:3478\"",
		 "2:1: unknown key \"natHoleStunServer\""},
		{"dnsServer = \"8.8.8.8\"", "2:1: unknown key \"dnsServer\""},
		{"start = [\"ssh\", \"dns\"]", "2:1: unknown key \"start\""},
		{"udpPacketSize = 1500", "2:1: unknown key \"udpPacketSize\""},
		{"metadatas.var1 = \"abc\"", "2:1: unknown key \"metadatas\""},
		{"[[visitors]]\nname = \"secret_tcp_visitor\"",
		 "2:3: unknown key \"visitors\""},
	};
	static const struct {
		const char *line, *want;
	} proxy[] = {
		{"transport.bandwidthLimit = \"1MB\"",
		 "7:11: proxies[0]: unknown key \"transport.bandwidthLimit\""},
		{"transport.bandwidthLimitMode = \"client\"",
		 "7:11: proxies[0]: unknown key "
		 "\"transport.bandwidthLimitMode\""},
		{"transport.proxyProtocolVersion = \"v2\"",
		 "7:11: proxies[0]: unknown key "
		 "\"transport.proxyProtocolVersion\""},
		{"loadBalancer.group = \"test_group\"",
		 "7:1: proxies[0]: unknown key \"loadBalancer\""},
		{"healthCheck.type = \"tcp\"",
		 "7:1: proxies[0]: unknown key \"healthCheck\""},
		{"metadatas.var1 = \"abc\"",
		 "7:1: proxies[0]: unknown key \"metadatas\""},
		{"[proxies.plugin]\ntype = \"unix_domain_socket\"",
		 "7:10: proxies[0]: unknown key \"plugin\""},
	};
	char text[512], want[256];

	for (size_t i = 0; i < sizeof(global) / sizeof(global[0]); i++) {
		snprintf(text, sizeof(text), "serverPort = 7000\n%s\n",
			 global[i].line);
		snprintf(want, sizeof(want), "g.toml:%s", global[i].want);
		frpc_err(put("g.toml", text), want);
	}
	for (size_t i = 0; i < sizeof(proxy) / sizeof(proxy[0]); i++) {
		snprintf(text, sizeof(text),
			 "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\n"
			 "localIP = \"127.0.0.1\"\nlocalPort = 22\n"
			 "remotePort = 6001\n%s\n", proxy[i].line);
		snprintf(want, sizeof(want), "p.toml:%s", proxy[i].want);
		frpc_err(put("p.toml", text), want);
	}
	/* frp's other proxy types are named in the error */
	frpc_err(put("h.toml", "[[proxies]]\nname = \"web01\"\ntype = \"http\"\n"
			       "localPort = 80\n"),
		 "h.toml:3:8: proxies[0]: type: \"http\" is not one of tcp, udp");
}
END_TEST

/* ---- format selection ------------------------------------------------------ */

START_TEST(format_by_extension)
{
	struct frpc_conf *c;

	ck_assert_int_eq(conf_format_of("a/b.toml"), CONF_FMT_TOML);
	ck_assert_int_eq(conf_format_of("b.TOML"), CONF_FMT_TOML);
	ck_assert_int_eq(conf_format_of("b.json"), CONF_FMT_JSON);
	ck_assert_int_eq(conf_format_of("b.yml"), CONF_FMT_YAML);
	ck_assert_int_eq(conf_format_of("b.yaml"), CONF_FMT_YAML);
	ck_assert_int_eq(conf_format_of("b.ini"), CONF_FMT_INI);
	ck_assert_int_eq(conf_format_of("b.conf"), CONF_FMT_AUTO);
	ck_assert_int_eq(conf_format_of("d.toml/frpc"), CONF_FMT_AUTO);
	/* no known extension: TOML first, then YAML */
	c = frpc_ok(put("frpc.conf", "serverPort = 7001\n"));
	ck_assert_int_eq(c->server_port, 7001);
	conf_frpc_free(c);
	c = frpc_ok(put("frpc2.conf", "serverPort: 7002\n"));
	ck_assert_int_eq(c->server_port, 7002);
	conf_frpc_free(c);
	frpc_err(put("frpc3", "serverPort: [\n"),
		 "frpc3: neither TOML (1:11: expected '=' after the key, got "
		 "':') nor YAML (2:1: did not find expected node content "
		 "(while parsing a flow node at 2:1)); name the file .toml, "
		 ".yaml or .json to choose");
	/* the extension decides: YAML text in a .toml file is a TOML error */
	frpc_err(put("y.toml", "serverPort: 7000\n"),
		 "y.toml:1:11: expected '=' after the key, got ':'");
	frpc_err(put("t.yaml", "serverPort = 7000\n"),
		 "t.yaml:1:1: expected a map of settings at the top level, got "
		 "a scalar");
}
END_TEST

START_TEST(legacy_ini_refused)
{
	static const char ini[] = "# frpc.ini\n[common]\n; comment\n\n"
				  "server_addr = 127.0.0.1\nserver_port = 7000\n"
				  "\n[ssh]\ntype = tcp\n";

	frpc_err(put("frpc.ini", ini),
		 "frpc.ini:5:1: this is frp's legacy INI format ([common] at "
		 "line 2, key \"server_addr\"), which is not supported: write "
		 "the file as TOML, YAML or JSON with frp's v1 keys (here: "
		 "serverAddr)");
	/* the same text under any other name (except .json) */
	frpc_err(put("frpc.toml", ini),
		 "frpc.toml:5:1: this is frp's legacy INI format ([common] at "
		 "line 2, key \"server_addr\"), which is not supported: write "
		 "the file as TOML, YAML or JSON with frp's v1 keys (here: "
		 "serverAddr)");
	frps_err(put("frps", "[common]\r\nbind_port = 7000\r\n"),
		 "frps:2:1: this is frp's legacy INI format ([common] at line 1, "
		 "key \"bind_port\"), which is not supported: write the file as "
		 "TOML, YAML or JSON with frp's v1 keys (here: bindPort)");
	frps_err(put("z.ini", "[common]\ntoken = abc\n"),
		 "z.ini:2:1: this is frp's legacy INI format ([common] at line 1, "
		 "key \"token\"), which is not supported: write the file as "
		 "TOML, YAML or JSON with frp's v1 keys (here: auth.token)");
	frps_err(put("x.ini", "[common]\n"),
		 "x.ini:1:1: this is frp's legacy INI format ([common] section), "
		 "which is not supported: write the file as TOML, YAML or JSON "
		 "with frp's v1 keys");
	frps_err(put("y.ini", "bindPort = 7000\n"),
		 "y.ini: the INI format (frp's legacy format) is not supported: "
		 "write the file as .toml, .yaml or .json with frp's v1 keys");
}
END_TEST

/* ---- templates --------------------------------------------------------------- */

START_TEST(env_templates)
{
	struct frpc_conf *c;

	setenv("FRP_T_TOKEN", "tok \"with\" quotes\\", 1);
	setenv("FRP_T_PORT", "7123", 1);
	unsetenv("FRP_T_UNSET");
	c = frpc_ok(put("t.toml", "serverPort = {{ .Envs.FRP_T_PORT }}\n"
				  "auth.token = '{{.Envs.FRP_T_TOKEN}}'\n"));
	ck_assert_int_eq(c->server_port, 7123);
	ck_assert_str_eq(c->auth_token, "tok \"with\" quotes\\");
	conf_frpc_free(c);
	c = frpc_ok(put("t.yaml", "serverPort: {{ .Envs.FRP_T_PORT }}\n"));
	ck_assert_int_eq(c->server_port, 7123);
	conf_frpc_free(c);
	c = frpc_ok(put("t.json", "{\"serverPort\": {{ .Envs.FRP_T_PORT }}}"));
	ck_assert_int_eq(c->server_port, 7123);
	conf_frpc_free(c);
	frpc_err(put("u.toml", "serverAddr = \"x\"\n"
			       "user = \"é{{ .Envs.FRP_T_UNSET }}\"\n"),
		 "u.toml:2:10: environment variable FRP_T_UNSET is not set "
		 "(used as {{ .Envs.FRP_T_UNSET }})");
	frpc_err(put("v.toml", "user = \"{{ .Env.X }}\"\n"),
		 "v.toml:1:9: unsupported template \"{{ .Env.X }}\" (only "
		 "{{ .Envs.NAME }} is supported)");
	frpc_err(put("w.toml", "user = \"{{ if .Envs.X }}\"\n"),
		 "w.toml:1:9: unsupported template \"{{ if .Envs.X }}\" (only "
		 "{{ .Envs.NAME }} is supported)");
	frpc_err(put("x.toml", "user = \"{{ .Envs.X.Y }}\"\n"),
		 "x.toml:1:9: unsupported template \"{{ .Envs.X.Y }}\" (only "
		 "{{ .Envs.NAME }} is supported)");
	frpc_err(put("y.toml", "user = \"{{ .Envs.X\"\nx = 1 }}\n"),
		 "y.toml:1:9: unterminated \"{{\" (templates end with \"}}\" on "
		 "the same line)");
	/* also inside comments, as Go templates render the whole file */
	frpc_err(put("z.toml", "# {{ .Envs.FRP_T_UNSET }}\n"),
		 "z.toml:1:3: environment variable FRP_T_UNSET is not set "
		 "(used as {{ .Envs.FRP_T_UNSET }})");
	/* positions after a substitution are those of the file as written */
	setenv("FRP_T_LONG", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1);
	setenv("FRP_T_ML", "one\ntwo\nthree", 1);
	frpc_err(put("p1.toml", "a = \"{{ .Envs.FRP_T_LONG }}\" b\n"),
		 "p1.toml:1:30: expected the end of the line after a value, got "
		 "'b'");
	frpc_err(put("p2.toml", "log = { to = \"{{ .Envs.FRP_T_LONG }}\", "
				"level = \"loud\" }\n"),
		 "p2.toml:1:48: log.level: \"loud\" is not one of trace, debug, "
		 "info, warn, error");
	frpc_err(put("p3.toml", "user = \"\"\"{{ .Envs.FRP_T_ML }}\"\"\"\n"
				"serverPort = \"1\"\n"),
		 "p3.toml:2:14: serverPort: expected an integer, got the quoted "
		 "string \"1\"");
	frpc_err(put("p4.yaml", "user: \"{{ .Envs.FRP_T_ML }}\"\n"
				"serverPort: {{ .Envs.FRP_T_LONG }}\n"),
		 "p4.yaml:2:13: serverPort: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" "
		 "is not a decimal integer");
	/* a lone "}}" or "{" is text */
	c = frpc_ok(put("ok.toml", "user = \"a}}b{c\"\n"));
	ck_assert_str_eq(c->user, "a}}b{c");
	conf_frpc_free(c);
}
END_TEST

/* ---- includes ------------------------------------------------------------------ */

START_TEST(includes_merge_proxies)
{
	struct frpc_conf *c;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/confd", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	put("confd/a.toml", "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\n"
			    "localPort = 1\n");
	put("confd/b.yaml", "proxies:\n- {name: b, type: udp, localPort: 2}\n");
	put("confd/c.json", "{\"proxies\": [{\"name\": \"c\", \"type\": \"tcp\", "
			    "\"localPort\": 3}]}");
	put("confd/skip.txt", "not matched");
	c = frpc_ok(put("main.toml",
			"serverPort = 7000\n"
			"includes = [\"./confd/*.toml\", \"confd/*.yaml\", "
			"\"confd/*.json\"]\n"
			"[[proxies]]\nname = \"m\"\ntype = \"tcp\"\nlocalPort = 9\n"));
	ck_assert_uint_eq(c->n_proxies, 4);
	ck_assert_str_eq(c->proxies[0].name, "m");
	ck_assert_str_eq(c->proxies[1].name, "a");
	ck_assert_str_eq(c->proxies[2].name, "b");
	ck_assert_int_eq(c->proxies[2].type, CONF_PROXY_UDP);
	ck_assert_str_eq(c->proxies[3].name, "c");
	conf_frpc_free(c);
	/* a main file with no proxies of its own */
	c = frpc_ok(put("only.toml", "includes = [\"confd/[ab].*\"]\n"));
	ck_assert_uint_eq(c->n_proxies, 2);
	conf_frpc_free(c);
}
END_TEST

START_TEST(includes_errors)
{
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/confd", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	put("confd/a.toml", "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\n"
			    "localPort = 1\n");
	put("confd/bad.yml", "proxies:\n- {name: x, type: tcp, localPort: 0}\n");
	put("confd/glob.toml.x", "serverPort = 1\n");
	char want[512];

	snprintf(want, sizeof(want), "confd/a.toml:2:1: duplicate proxy name "
		 "\"ssh\" (first at %s/dup.toml:7:1)", dir);
	frpc_err(put("dup.toml", "includes = [\"confd/a.toml\"]\n"
				 "[[proxies]]\nname = \"x\"\ntype = \"tcp\"\n"
				 "localPort = 1\n[[proxies]]\nname = \"ssh\"\n"
				 "type = \"tcp\"\nlocalPort = 2\n"), want);
	/* the same file twice is a duplicate too */
	frpc_err(put("twice.toml", "includes = [\"confd/a.toml\", "
				   "\"confd/*.toml\"]\n"),
		 "confd/a.toml:2:1: duplicate proxy name \"ssh\" (first at "
		 "2:1)");
	frpc_err(put("none.toml", "includes = [\"confd/*.ini\"]\n"),
		 "none.toml:1:13: includes: \"confd/*.ini\" matches no file");
	frpc_err(put("bad.toml", "includes = [\"confd/bad.yml\"]\n"),
		 "confd/bad.yml:2:35: proxies[0]: localPort: 0 is out of range "
		 "(1-65535)");
	put("confd/other.toml", "serverPort = 1\n");
	frpc_err(put("other.toml", "includes = [\"confd/other.toml\"]\n"),
		 "confd/other.toml:1:1: an included file may hold only "
		 "\"proxies\", not \"serverPort\"");
	put("confd/nested.toml", "includes = [\"a.toml\"]\n");
	frpc_err(put("nested.toml", "includes = [\"confd/nested.toml\"]\n"),
		 "confd/nested.toml:1:1: an included file may hold only "
		 "\"proxies\", not \"includes\"");
	put("confd/syntax.toml", "[[proxies]\n");
	frpc_err(put("syntax.toml", "includes = [\"confd/syntax.toml\"]\n"),
		 "confd/syntax.toml:1:10: expected ']]' to close the table "
		 "header, got ']'");
	frpc_err(put("type.toml", "includes = \"confd/a.toml\"\n"),
		 "type.toml:1:12: includes: expected a sequence of file "
		 "patterns, got a scalar");
	frpc_err(put("num.toml", "includes = [1]\n"),
		 "num.toml:1:13: includes: expected a string, got an unquoted "
		 "value");
	frpc_err(put("ptype.toml", "proxies = 5\nincludes = [\"confd/a.toml\"]\n"),
		 "ptype.toml:1:11: proxies: expected a sequence, got a scalar");
	/* frps has no includes */
	frps_err(put("frps.toml", "includes = [\"confd/a.toml\"]\n"),
		 "frps.toml:1:1: unknown key \"includes\"");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conf_formats");
	TCase *t = tcase_create("formats");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, same_config_in_three_formats);
	tcase_add_test(t, same_frps_in_three_formats);
	tcase_add_test(t, shared_schema_errors);
	tcase_add_test(t, json_errors);
	tcase_add_test(t, shipped_toml_matches_yaml);
	tcase_add_test(t, frp_example_files);
	tcase_add_test(t, frp_unsupported_keys_named);
	tcase_add_test(t, format_by_extension);
	tcase_add_test(t, legacy_ini_refused);
	tcase_add_test(t, env_templates);
	tcase_add_test(t, includes_merge_proxies);
	tcase_add_test(t, includes_errors);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
