/*
 * conf.c - the frpc and frps schemas (one row per key) and the public
 * load/free API. The generic machinery is in conf_schema.c (walker, typed
 * setters); files become trees in conf_doc.c (format, templates) with the
 * front ends conf_toml.c, conf_yaml.c and conf_json.c; conf_include.c
 * merges frpc's included proxy files.
 *
 * Choices made here, documented in docs/config-reference.md:
 *  - A quoted scalar is a string: `bindPort: "7000"` is rejected, as frp
 *    rejects it. Plain scalars are accepted for string keys (`token: 1234`).
 *  - A null value (`key:`, `~`, `null`) means "not set": the default stays.
 *  - Integers are decimal; ranges are per key (the table below).
 *  - frp's -1 ("off") for heartbeats is accepted with frp's meaning (any
 *    value <= 0 is off there too): no application heartbeat, liveness
 *    rests on the mux keepalive.
 */
#include "conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_doc.h"
#include "conf_include.h"
#include "conf_schema.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ROW_STR(k, st, f, d, chk) \
	{.key = k, .type = CONF_T_STR, .off = offsetof(st, f), .def = d, \
	 .check = chk}
#define ROW_INT(k, st, f, d, lo, hi) \
	{.key = k, .type = CONF_T_INT, .off = offsetof(st, f), .def = d, \
	 .min = lo, .max = hi}
#define ROW_U16(k, st, f, d, lo, hi) \
	{.key = k, .type = CONF_T_U16, .off = offsetof(st, f), .def = d, \
	 .min = lo, .max = hi}
#define ROW_BOOL(k, st, f, d) \
	{.key = k, .type = CONF_T_BOOL, .off = offsetof(st, f), .def = d}
#define ROW_CHOICE(k, st, f, d, ch) \
	{.key = k, .type = CONF_T_CHOICE, .off = offsetof(st, f), .def = d, \
	 .choices = ch}
#define ROW_ENUM(k, st, f, d, ch) \
	{.key = k, .type = CONF_T_ENUM, .off = offsetof(st, f), .def = d, \
	 .choices = ch}
#define ROW_SEQ(k, fn, fr) \
	{.key = k, .type = CONF_T_SEQ, .seq = fn, .seq_free = fr}

/* Same order as enum xport_log_level, so the index is the level. */
static const char *const log_levels[] = {"trace", "debug", "info", "warn",
					 "error", NULL};
_Static_assert(XPORT_LOG_TRACE == 0 && XPORT_LOG_ERROR == 4,
	       "log_levels[] must follow enum xport_log_level");
static const char *const auth_methods[] = {"token", NULL};
static const char *const proxy_types[] = {"tcp", "udp", NULL};

static const char *check_nonempty(const char *t)
{
	return *t ? NULL : "must not be empty";
}

/* transport.protocol names a plugin, so it must look like one. */
static const char *check_word(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > 32 ||
	    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-") != n)
		return "must be a word of up to 32 letters, digits, '_' or '-'";
	return NULL;
}

static const char *check_word_or_empty(const char *t)
{
	return *t ? check_word(t) : NULL;
}

/* ---- proxies --------------------------------------------------------- */

#define P struct conf_proxy
static const struct conf_row proxy_rows[] = {
	{.key = "name", .type = CONF_T_STR, .off = offsetof(P, name),
	 .check = check_nonempty, .flags = CONF_F_REQUIRED},
	{.key = "type", .type = CONF_T_CHOICE, .off = offsetof(P, type_name),
	 .choices = proxy_types, .flags = CONF_F_REQUIRED},
	ROW_STR("localIP", P, local_ip, "127.0.0.1", check_nonempty),
	{.key = "localPort", .type = CONF_T_U16, .off = offsetof(P, local_port),
	 .min = 1, .max = 65535, .flags = CONF_F_REQUIRED},
	ROW_INT("remotePort", P, remote_port, "0", 0, 65535),
	ROW_BOOL("transport.useEncryption", P, use_encryption, "false"),
	ROW_BOOL("transport.useCompression", P, use_compression, "false"),
};
#undef P
static const struct conf_schema proxy_schema = {proxy_rows,
						ARRAY_SIZE(proxy_rows)};

struct name_ref {
	const char *name;
	const struct conf_node *key;
	size_t idx;
};

static int name_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Report the duplicate name whose second use comes first in the file.
 * Sorting keeps this O(n log n) on files with many proxies. */
static int check_unique_names(struct conf_ctx *c, struct name_ref *v,
			      size_t n)
{
	const struct name_ref *dup = NULL, *first = NULL;
	char esc[80];

	qsort(v, n, sizeof(*v), name_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1].name, v[i].name))
			continue;
		if (i >= 2 && !strcmp(v[i - 2].name, v[i].name))
			continue; /* only the second use of each name counts */
		if (!dup || v[i].idx < dup->idx) {
			dup = &v[i];
			first = &v[i - 1];
		}
	}
	if (!dup)
		return 0;
	/* Proxies may come from included files: name the first one's file
	 * when it is not the file of the second. */
	const char *f1 = first->key->file ? first->key->file : c->file;
	const char *f2 = dup->key->file ? dup->key->file : c->file;
	bool same = !strcmp(f1, f2);

	return conf_fail(c, dup->key, "duplicate proxy name \"%s\" (first at "
			 "%s%s%d:%d)", conf_esc(dup->name, esc, sizeof(esc)),
			 same ? "" : f1, same ? "" : ":", first->key->line,
			 first->key->col);
}

static void free_proxies(void *base)
{
	struct frpc_conf *f = base;

	for (size_t i = 0; i < f->n_proxies; i++)
		conf_schema_free(&proxy_schema, &f->proxies[i]);
	free(f->proxies);
	f->proxies = NULL;
	f->n_proxies = 0;
}

static int parse_proxies(struct conf_ctx *c, const struct conf_node *seq,
			 void *base)
{
	struct frpc_conf *f = base;
	struct name_ref *names;
	int rc = 0;

	free_proxies(f);
	f->proxies = calloc(seq->n ? seq->n : 1, sizeof(*f->proxies));
	names = calloc(seq->n ? seq->n : 1, sizeof(*names));
	if (!f->proxies || !names) {
		free(names);
		return conf_fail_oom(c);
	}
	for (size_t i = 0; i < seq->n && rc == 0; i++) {
		const struct conf_node *item = seq->kid[i];
		struct conf_ctx pc = *c;
		struct conf_proxy *p = &f->proxies[f->n_proxies];
		struct conf_seen seen;
		char scope[40];

		snprintf(scope, sizeof(scope), "proxies[%zu]: ", i);
		pc.scope = scope;
		if (item->kind != CONF_NODE_MAP) {
			rc = conf_fail(&pc, item, "expected a map, got %s",
				       conf_node_kind_name(item));
			break;
		}
		f->n_proxies++;
		rc = conf_schema_defaults(&proxy_schema, p);
		if (rc < 0) {
			rc = conf_fail_oom(c);
			break;
		}
		rc = conf_schema_apply(&pc, &proxy_schema, item, p, &seen);
		if (rc < 0)
			break;
		p->type = strcmp(p->type_name, "udp") ? CONF_PROXY_TCP
						       : CONF_PROXY_UDP;
		names[i] = (struct name_ref){
			p->name, conf_seen_key(&proxy_schema, &seen, "name"), i};
	}
	if (rc == 0)
		rc = check_unique_names(c, names, f->n_proxies);
	free(names);
	return rc;
}

/* ---- allowPorts -------------------------------------------------------- */

struct port_entry {
	uint16_t start, end, single;
};

#define E struct port_entry
static const struct conf_row port_rows[] = {
	ROW_U16("start", E, start, NULL, 1, 65535),
	ROW_U16("end", E, end, NULL, 1, 65535),
	ROW_U16("single", E, single, NULL, 1, 65535),
};
#undef E
static const struct conf_schema port_schema = {port_rows,
					       ARRAY_SIZE(port_rows)};

static void free_allow_ports(void *base)
{
	struct frps_conf *f = base;

	free(f->allow_ports);
	f->allow_ports = NULL;
	f->n_allow_ports = 0;
}

static int parse_one_range(struct conf_ctx *c, const struct conf_node *item,
			   struct conf_port_range *out)
{
	struct port_entry e = {0};
	struct conf_seen seen;
	bool has_start, has_end, has_single;
	int rc;

	if (item->kind != CONF_NODE_MAP)
		return conf_fail(c, item, "expected a map {start, end} or "
				 "{single}, got %s", conf_node_kind_name(item));
	rc = conf_schema_apply(c, &port_schema, item, &e, &seen);
	if (rc < 0)
		return rc;
	has_start = conf_seen_key(&port_schema, &seen, "start");
	has_end = conf_seen_key(&port_schema, &seen, "end");
	has_single = conf_seen_key(&port_schema, &seen, "single");
	if (has_single && (has_start || has_end))
		return conf_fail(c, item, "use either single or start/end, "
				 "not both");
	if (has_single) {
		out->start = out->end = e.single;
		return 0;
	}
	if (!has_start || !has_end)
		return conf_fail(c, item, "expected {start, end} or {single}");
	if (e.start > e.end)
		return conf_fail(c, item, "start %u is greater than end %u",
				 e.start, e.end);
	out->start = e.start;
	out->end = e.end;
	return 0;
}

static int parse_allow_ports(struct conf_ctx *c, const struct conf_node *seq,
			     void *base)
{
	struct frps_conf *f = base;
	int rc = 0;

	free_allow_ports(f);
	f->allow_ports = calloc(seq->n ? seq->n : 1, sizeof(*f->allow_ports));
	if (!f->allow_ports)
		return conf_fail_oom(c);
	for (size_t i = 0; i < seq->n && rc == 0; i++) {
		struct conf_ctx pc = *c;
		char scope[40];

		snprintf(scope, sizeof(scope), "allowPorts[%zu]: ", i);
		pc.scope = scope;
		rc = parse_one_range(&pc, seq->kid[i],
				     &f->allow_ports[f->n_allow_ports]);
		if (rc == 0)
			f->n_allow_ports++;
	}
	return rc;
}

/* ---- the two programs ---------------------------------------------------- */

#define LOG_ROWS(st) \
	ROW_STR("log.to", st, log.to, "console", NULL), \
	ROW_ENUM("log.level", st, log.level, "info", log_levels), \
	ROW_INT("log.maxDays", st, log.max_days, "3", 0, 36500), \
	ROW_BOOL("log.disablePrintColor", st, log.disable_print_color, "false")
#define WEB_ROWS(st) \
	ROW_STR("webServer.addr", st, web.addr, "127.0.0.1", NULL), \
	ROW_INT("webServer.port", st, web.port, "0", 0, 65535), \
	ROW_STR("webServer.user", st, web.user, "", NULL), \
	ROW_STR("webServer.password", st, web.password, "", NULL)

#define C struct frpc_conf
static const struct conf_row frpc_rows[] = {
	ROW_STR("serverAddr", C, server_addr, "0.0.0.0", check_nonempty),
	ROW_U16("serverPort", C, server_port, "7000", 1, 65535),
	ROW_STR("user", C, user, "", NULL),
	ROW_STR("clientID", C, client_id, "", NULL),
	ROW_BOOL("loginFailExit", C, login_fail_exit, "true"),
	ROW_CHOICE("auth.method", C, auth_method, "token", auth_methods),
	ROW_STR("auth.token", C, auth_token, "", NULL),
	ROW_STR("transport.protocol", C, protocol, "tcp", check_word),
	ROW_BOOL("transport.tcpMux", C, tcp_mux, "true"),
	ROW_INT("transport.tcpMuxKeepaliveInterval", C,
		tcp_mux_keepalive_interval, "30", 1, 86400),
	ROW_INT("transport.poolCount", C, pool_count, "1", 0, 100),
	ROW_INT("transport.heartbeatInterval", C, heartbeat_interval, "30", -1,
		86400),
	ROW_INT("transport.heartbeatTimeout", C, heartbeat_timeout, "90", -1,
		86400),
	ROW_INT("transport.dialServerTimeout", C, dial_server_timeout, "10", 1,
		3600),
	ROW_BOOL("transport.tls.enable", C, tls.enable, "true"),
	ROW_STR("transport.tls.certFile", C, tls.cert_file, "", NULL),
	ROW_STR("transport.tls.keyFile", C, tls.key_file, "", NULL),
	ROW_STR("transport.tls.trustedCaFile", C, tls.trusted_ca_file, "", NULL),
	ROW_STR("transport.tls.serverName", C, tls.server_name, "", NULL),
	ROW_BOOL("transport.tls.disableCustomTLSFirstByte", C,
		 tls.disable_custom_first_byte, "true"),
	ROW_INT("transport.drainTimeout", C, drain_timeout, "600", 0, 864000),
	ROW_STR("transport.fallbackProtocol", C, fallback_protocol, "",
		check_word_or_empty),
	ROW_INT("transport.fallbackTimeout", C, fallback_timeout, "5", 1, 3600),
	ROW_INT("transport.fallbackRetryInterval", C, fallback_retry_interval,
		"300", 1, 86400),
	LOG_ROWS(C),
	WEB_ROWS(C),
	ROW_SEQ("proxies", parse_proxies, free_proxies),
};
#undef C
static const struct conf_schema frpc_schema = {
	frpc_rows, ARRAY_SIZE(frpc_rows), "transport",
	offsetof(struct frpc_conf, xport), offsetof(struct frpc_conf, n_xport)};

#define S struct frps_conf
static const struct conf_row frps_rows[] = {
	ROW_STR("bindAddr", S, bind_addr, "0.0.0.0", NULL),
	ROW_U16("bindPort", S, bind_port, "7000", 0, 65535),
	ROW_U16("kcpBindPort", S, kcp_bind_port, "0", 0, 65535),
	ROW_STR("proxyBindAddr", S, proxy_bind_addr, NULL, NULL),
	ROW_CHOICE("auth.method", S, auth_method, "token", auth_methods),
	ROW_STR("auth.token", S, auth_token, "", NULL),
	ROW_INT("auth.timestampWindow", S, login_time_window, "900", 0, 86400),
	ROW_SEQ("allowPorts", parse_allow_ports, free_allow_ports),
	ROW_INT("maxPortsPerClient", S, max_ports_per_client, "0", 0, 65535),
	ROW_BOOL("transport.tcpMux", S, tcp_mux, "true"),
	ROW_INT("transport.tcpMuxKeepaliveInterval", S,
		tcp_mux_keepalive_interval, "30", 1, 86400),
	ROW_INT("transport.maxPoolCount", S, max_pool_count, "5", 0, 1000),
	ROW_INT("transport.heartbeatTimeout", S, heartbeat_timeout, "90", -1,
		86400),
	ROW_BOOL("transport.tls.force", S, tls.force, "false"),
	ROW_STR("transport.tls.certFile", S, tls.cert_file, "", NULL),
	ROW_STR("transport.tls.keyFile", S, tls.key_file, "", NULL),
	ROW_STR("transport.tls.trustedCaFile", S, tls.trusted_ca_file, "", NULL),
	ROW_INT("userConnTimeout", S, user_conn_timeout, "10", 1, 3600),
	ROW_BOOL("enablePrometheus", S, enable_prometheus, "false"),
	LOG_ROWS(S),
	WEB_ROWS(S),
	ROW_STR("webServer.statsFile", S, stats_file, "", NULL),
};
#undef S
static const struct conf_schema frps_schema = {
	frps_rows, ARRAY_SIZE(frps_rows), "transport",
	offsetof(struct frps_conf, xport), offsetof(struct frps_conf, n_xport)};

_Static_assert(ARRAY_SIZE(frpc_rows) <= CONF_MAX_ROWS, "too many rows");
_Static_assert(ARRAY_SIZE(frps_rows) <= CONF_MAX_ROWS, "too many rows");

/* ---- public API ------------------------------------------------------- */

int conf_set_str(char **field, const char *value)
{
	char *s = strdup(value ? value : "");

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

int conf_frpc_add_proxy(struct frpc_conf *c, const struct conf_proxy *p,
			char *err, size_t errlen)
{
	struct conf_proxy *v, *q;

	if (!p->name || !*p->name) {
		snprintf(err, errlen, "a proxy name is required");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_proxies; i++)
		if (!strcmp(c->proxies[i].name, p->name)) {
			snprintf(err, errlen, "duplicate proxy name \"%s\"",
				 p->name);
			return -EINVAL;
		}
	if (strcmp(p->type_name, "tcp") && strcmp(p->type_name, "udp")) {
		snprintf(err, errlen, "proxy type \"%s\" is not one of tcp, udp",
			 p->type_name);
		return -EINVAL;
	}
	v = realloc(c->proxies, (c->n_proxies + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->proxies = v;
	q = &v[c->n_proxies];
	*q = *p;
	q->type = strcmp(p->type_name, "udp") ? CONF_PROXY_TCP : CONF_PROXY_UDP;
	q->name = strdup(p->name);
	q->type_name = strdup(p->type_name);
	q->local_ip = strdup(p->local_ip ? p->local_ip : "127.0.0.1");
	c->n_proxies++; /* counted first so conf_frpc_free frees a partial one */
	if (!q->name || !q->type_name || !q->local_ip)
		return -ENOMEM;
	return 0;
}

struct frpc_conf *conf_frpc_defaults(void)
{
	struct frpc_conf *c = calloc(1, sizeof(*c));

	if (c && conf_schema_defaults(&frpc_schema, c) < 0) {
		conf_frpc_free(c);
		return NULL;
	}
	return c;
}

static int frps_fill_defaults(struct frps_conf *c)
{
	int rc = conf_schema_defaults(&frps_schema, c);

	return rc < 0 ? rc : conf_set_str(&c->proxy_bind_addr, c->bind_addr);
}

struct frps_conf *conf_frps_defaults(void)
{
	struct frps_conf *c = calloc(1, sizeof(*c));

	if (c && frps_fill_defaults(c) < 0) {
		conf_frps_free(c);
		return NULL;
	}
	return c;
}

void conf_frpc_free(struct frpc_conf *c)
{
	if (!c)
		return;
	conf_schema_free(&frpc_schema, c);
	free(c->path);
	free(c);
}

void conf_frps_free(struct frps_conf *c)
{
	if (!c)
		return;
	conf_schema_free(&frps_schema, c);
	free(c->path);
	free(c);
}

/* certFile and keyFile come together; reported at the one that is set.
 * frps: a trustedCaFile means client certificates are required, which
 * only makes sense when plain clients are refused too (frp does this). */
static int check_tls(struct conf_ctx *c, const struct conf_schema *s,
		     const struct conf_seen *seen, struct conf_tls *t,
		     bool server)
{
	bool has_cert = t->cert_file && *t->cert_file;
	bool has_key = t->key_file && *t->key_file;

	if (has_cert != has_key) {
		const char *set = has_cert ? "transport.tls.certFile"
					   : "transport.tls.keyFile";
		return conf_fail(c, conf_seen_key(s, seen, set),
				 "%s: transport.tls.certFile and "
				 "transport.tls.keyFile must be set together",
				 set);
	}
	if (server && t->trusted_ca_file && *t->trusted_ca_file)
		t->force = true;
	return 0;
}

static int frpc_post(struct conf_ctx *c, const struct conf_schema *s,
		     const struct conf_seen *seen, void *base)
{
	return check_tls(c, s, seen, &((struct frpc_conf *)base)->tls, false);
}

static int frps_post(struct conf_ctx *c, const struct conf_schema *s,
		     const struct conf_seen *seen, void *base)
{
	return check_tls(c, s, seen, &((struct frps_conf *)base)->tls, true);
}

/* Shared body of both loaders: read path, apply the schema to base (which
 * already holds the defaults), leave the seen rows in *seen. */
static int load(const char *path, const struct conf_schema *s, void *base,
		char **path_field, struct conf_seen *seen,
		int (*post)(struct conf_ctx *, const struct conf_schema *,
			    const struct conf_seen *, void *),
		char *err, size_t errlen)
{
	struct conf_ctx c = {.file = path, .err = err, .errlen = errlen,
			     .scope = ""};
	struct conf_files files = {0};
	struct conf_node *root = NULL;
	int rc;

	rc = conf_doc_load(path, &root, err, errlen);
	if (rc < 0)
		return rc;
	if (s == &frpc_schema && (rc = conf_include_apply(&c, root, &files)))
		; /* reported */
	else if (conf_set_str(path_field, path) < 0)
		rc = conf_fail_oom(&c);
	else if (root && root->kind != CONF_NODE_MAP)
		rc = conf_fail(&c, root, "expected a map of settings at the "
			       "top level, got %s", conf_node_kind_name(root));
	else
		rc = conf_schema_apply(&c, s, root, base, seen);
	/* checks across keys, while the key nodes (positions) still exist */
	if (rc == 0 && post)
		rc = post(&c, s, seen, base);
	conf_node_free(root);
	conf_files_free(&files);
	return rc;
}

int conf_frpc_load(const char *path, struct frpc_conf **out, char *err,
		   size_t errlen)
{
	struct conf_seen seen;
	struct frpc_conf *c;
	int rc;

	c = conf_frpc_defaults();
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	rc = load(path, &frpc_schema, c, &c->path, &seen, frpc_post, err,
		  errlen);
	if (rc < 0) {
		conf_frpc_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int conf_frps_load(const char *path, struct frps_conf **out, char *err,
		   size_t errlen)
{
	struct conf_seen seen;
	struct frps_conf *c;
	int rc;

	c = conf_frps_defaults();
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	rc = load(path, &frps_schema, c, &c->path, &seen, frps_post, err,
		  errlen);
	/* proxyBindAddr defaults to whatever bindAddr ended up being. */
	if (rc == 0 && !conf_seen_key(&frps_schema, &seen, "proxyBindAddr") &&
	    conf_set_str(&c->proxy_bind_addr, c->bind_addr) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		conf_frps_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

const struct conf_xport_opts *conf_xport_find(const struct conf_xport_opts *v,
					      size_t n, const char *protocol)
{
	for (size_t i = 0; v && protocol && i < n; i++)
		if (!strcmp(v[i].protocol, protocol))
			return &v[i];
	return NULL;
}

int conf_xport_check(const struct conf_xport_opts *v, size_t n,
		     bool (*is_known)(const char *name), char *err,
		     size_t errlen)
{
	for (size_t i = 0; v && i < n; i++) {
		if (is_known(v[i].protocol))
			continue;
		snprintf(err, errlen, "%s: transport.%s: \"%s\" is neither a "
			 "setting nor a loaded transport plugin (see "
			 "--transports-dir)", v[i].at ? v[i].at : "?",
			 v[i].protocol, v[i].protocol);
		return -ENOENT;
	}
	return 0;
}

bool conf_port_allowed(const struct conf_port_range *r, size_t n, int port)
{
	if (port < 0 || port > 65535)
		return false;
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (port >= r[i].start && port <= r[i].end)
			return true;
	return false;
}
