/*
 * cli.c - `frpc reload|status|stop -c FILE`: ask the running frpc's admin
 * API (webServer.* in FILE) over HTTP with libevent's evhttp client, print
 * what frp's commands print, exit 1 with the reason when it fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "conf.h"
#include "frpc.h"

#define CLI_TIMEOUT_S 30

struct call {
	int code;          /* HTTP status, 0 when no answer */
	char *body;
	char err[320];
	struct event_base *base;
};

static void done(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	if (!req) {
		snprintf(c->err, sizeof(c->err), "no answer (connection refused "
			 "or closed)");
	} else if ((c->code = evhttp_request_get_response_code(req)) == 0) {
		snprintf(c->err, sizeof(c->err), "connection refused or closed");
	} else {
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(in);
		if ((c->body = malloc(n + 1))) {
			evbuffer_remove(in, c->body, n);
			c->body[n] = '\0';
		}
	}
	event_base_loopexit(c->base, NULL);
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), o = 0;
	for (size_t i = 0; i < n && o + 5 < outlen; i += 3) {
		unsigned v = (unsigned char)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)in[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

static int call(const struct frpc_conf *cfg, enum evhttp_cmd_type cmd,
		const char *path, struct call *c)
{
	memset(c, 0, sizeof(*c));
	const char *addr = cfg->web.addr && *cfg->web.addr ? cfg->web.addr
							   : "127.0.0.1";
	if (!cfg->web.port) {
		snprintf(c->err, sizeof(c->err), "webServer.port is not set in %s",
			 cfg->path ? cfg->path : "the configuration");
		return -EINVAL;
	}
	if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "::"))
		addr = "127.0.0.1";
	c->base = event_base_new();
	struct evhttp_connection *conn =
		c->base ? evhttp_connection_base_new(c->base, NULL, addr,
						     (uint16_t)cfg->web.port)
			: NULL;
	struct evhttp_request *req = conn ? evhttp_request_new(done, c) : NULL;
	if (!req) {
		if (conn)
			evhttp_connection_free(conn);
		if (c->base)
			event_base_free(c->base);
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -ENOMEM;
	}
	evhttp_connection_set_timeout(conn, CLI_TIMEOUT_S);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char host[300];
	snprintf(host, sizeof(host), "%s:%d", addr, cfg->web.port);
	evhttp_add_header(h, "Host", host);
	if ((cfg->web.user && *cfg->web.user) ||
	    (cfg->web.password && *cfg->web.password)) {
		char up[512], enc[700], hdr[720];
		snprintf(up, sizeof(up), "%s:%s", cfg->web.user ? cfg->web.user : "",
			 cfg->web.password ? cfg->web.password : "");
		base64(up, enc, sizeof(enc));
		snprintf(hdr, sizeof(hdr), "Basic %s", enc);
		evhttp_add_header(h, "Authorization", hdr);
	}
	if (evhttp_make_request(conn, req, cmd, path) != 0)
		snprintf(c->err, sizeof(c->err), "cannot send the request");
	else
		event_base_dispatch(c->base);
	evhttp_connection_free(conn);
	event_base_free(c->base);
	if (c->code == 0) {
		char why[160];
		snprintf(why, sizeof(why), "%.150s", c->err);
		snprintf(c->err, sizeof(c->err), "admin API at %s:%d: %s", addr,
			 cfg->web.port, why);
		return -ECONNREFUSED;
	}
	return 0;
}

static void print_table(const char *type, json_t *list)
{
	static const char *const head[] = {"Name", "Status", "LocalAddr",
					   "Plugin", "RemoteAddr", "Error"};
	static const char *const keys[] = {"name", "status", "local_addr",
					   "plugin", "remote_addr", "err"};
	size_t w[6];
	for (int k = 0; k < 6; k++)
		w[k] = strlen(head[k]);
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p)
		for (int k = 0; k < 6; k++) {
			const char *v = json_string_value(json_object_get(p, keys[k]));
			if (v && strlen(v) > w[k])
				w[k] = strlen(v);
		}
	for (const char *t = type; *t; t++)
		putchar(*t >= 'a' && *t <= 'z' ? *t - 32 : *t);
	putchar('\n');
	for (int k = 0; k < 6; k++)
		printf("%-*s", (int)w[k] + 2, head[k]);
	putchar('\n');
	json_array_foreach(list, i, p) {
		for (int k = 0; k < 6; k++) {
			const char *v = json_string_value(json_object_get(p, keys[k]));
			printf("%-*s", (int)w[k] + 2, v ? v : "");
		}
		putchar('\n');
	}
	putchar('\n');
}

int frpc_cli(const char *what, const struct frpc_conf *cfg)
{
	struct call c;
	int rc;
	if (!strcmp(what, "reload"))
		rc = call(cfg, EVHTTP_REQ_GET, "/api/reload", &c);
	else if (!strcmp(what, "stop"))
		rc = call(cfg, EVHTTP_REQ_POST, "/api/stop", &c);
	else
		rc = call(cfg, EVHTTP_REQ_GET, "/api/status", &c);
	if (rc < 0) {
		fprintf(stderr, "%s\n", c.err);
		return 1;
	}
	if (c.code != 200) {
		fprintf(stderr, "%s\n", c.body && *c.body ? c.body
				      : c.code == 401 ? "unauthorized"
						      : "request failed");
		if (c.code == 401 && c.body && *c.body)
			fprintf(stderr, "(HTTP 401: check webServer.user and "
					"webServer.password)\n");
		free(c.body);
		return 1;
	}
	if (!strcmp(what, "reload")) {
		printf("reload success\n");
	} else if (!strcmp(what, "stop")) {
		printf("stop success\n");
	} else {
		json_error_t je;
		json_t *root = json_loads(c.body ? c.body : "", 0, &je);
		if (!json_is_object(root)) {
			fprintf(stderr, "unexpected answer from the admin API: %s\n",
				je.text);
			json_decref(root);
			free(c.body);
			return 1;
		}
		printf("Proxy Status...\n\n");
		static const char *const order[] = {"tcp", "udp", "tcpmux", "http",
						    "https", "stcp", "sudp",
						    "xtcp", NULL};
		for (int i = 0; order[i]; i++) {
			json_t *list = json_object_get(root, order[i]);
			if (json_array_size(list))
				print_table(order[i], list);
		}
		json_decref(root);
	}
	free(c.body);
	return 0;
}
