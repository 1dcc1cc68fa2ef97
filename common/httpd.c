/*
 * httpd.c - route table, basic auth and JSON replies over evhttp.
 *
 * Limits are set before the socket is bound so that no request is ever read
 * without them: header and body sizes, a connection timeout and the set of
 * methods evhttp parses at all (anything else gets 405/501 from evhttp).
 */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define HTTPD_METHODS                                                     \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |              \
	 EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD)

struct httpd {
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	const struct httpd_route *routes;
	size_t nroutes;
	char *user;
	char *password;
	char *realm;
	int port;
};

int httpd_addr_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!addr || !*addr || strcasecmp(addr, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static void add_common_headers(struct evhttp_request *req, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

void httpd_reply_buffer(struct evhttp_request *req, int code,
			const char *content_type, struct evbuffer *buf)
{
	add_common_headers(req, content_type);
	evhttp_send_reply(req, code, NULL, buf);
}

void httpd_reply_data(struct evhttp_request *req, int code,
		      const char *content_type, const void *data, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (b && len && evbuffer_add(b, data, len) != 0) {
		evbuffer_free(b);
		b = NULL;
	}
	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	httpd_reply_buffer(req, code, content_type, b);
	evbuffer_free(b);
}

void httpd_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!s) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	httpd_reply_data(req, code, "application/json", s, strlen(s));
	free(s);
}

void httpd_reply_error(struct evhttp_request *req, int code, const char *msg)
{
	httpd_reply_json(req, code, json_pack("{s:s}", "error", msg ? msg : ""));
}

char *httpd_body_string(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = in ? evbuffer_get_length(in) : 0;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	if (n)
		evbuffer_copyout(in, s, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

json_t *httpd_body_json(struct evhttp_request *req, char *err, size_t errlen)
{
	size_t n;
	char *s = httpd_body_string(req, &n);
	json_error_t je;
	json_t *j;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (n == 0) {
		free(s);
		snprintf(err, errlen, "empty body, expected JSON");
		return NULL;
	}
	j = json_loadb(s, n, 0, &je);
	free(s);
	if (!j)
		snprintf(err, errlen, "body:%d:%d: %s", je.line, je.column,
			 je.text);
	return j;
}

int httpd_query(struct evhttp_request *req, const char *key, char *out,
		size_t outlen)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	const char *v;
	int rc = -ENOENT;

	if (!q)
		return -ENOENT;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(q, &kv) != 0) {
		evhttp_clear_headers(&kv);
		return -ENOENT;
	}
	v = evhttp_find_header(&kv, key);
	if (v) {
		if (strlen(v) >= outlen) {
			rc = -ENOSPC;
		} else {
			memcpy(out, v, strlen(v) + 1);
			rc = 0;
		}
	}
	evhttp_clear_headers(&kv);
	return rc;
}

/* 1 when the request carries the configured Basic credentials. */
static int auth_ok(const struct httpd *h, struct evhttp_request *req)
{
	const char *hv = evhttp_find_header(evhttp_request_get_input_headers(req),
					    "Authorization");
	unsigned char dec[512];
	size_t n = 0, ul = strlen(h->user), pl = strlen(h->password);
	const char *b64;
	int ok;

	if (!hv || strncasecmp(hv, "Basic ", 6) != 0)
		return 0;
	b64 = hv + 6;
	while (*b64 == ' ')
		b64++;
	if (strlen(b64) > 4 * (sizeof(dec) / 3))
		return 0;
	if (mbedtls_base64_decode(dec, sizeof(dec), &n,
				  (const unsigned char *)b64, strlen(b64)) != 0)
		return 0;
	if (n != ul + 1 + pl || dec[ul] != ':')
		return 0;
	/* Compare both parts whatever the first gives (no early exit). */
	ok = util_ct_memcmp(dec, h->user, ul) == 0;
	ok &= util_ct_memcmp(dec + ul + 1, h->password, pl) == 0;
	return ok;
}

static int auth_required(const struct httpd *h)
{
	return *h->user || *h->password;
}

/* 1 when route r serves path; *rest is then what follows a prefix. */
static int route_matches(const struct httpd_route *r, const char *path,
			 const char **rest)
{
	size_t pl = strlen(r->path);

	if (pl > 1 && r->path[pl - 1] == '/') {
		if (strncmp(path, r->path, pl) != 0)
			return 0;
		*rest = path + pl;
		return 1;
	}
	if (strcmp(path, r->path) != 0)
		return 0;
	*rest = "";
	return 1;
}

static void reply_401(const struct httpd *h, struct evhttp_request *req)
{
	char hdr[160];

	snprintf(hdr, sizeof(hdr), "Basic realm=\"%s\"", h->realm);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "WWW-Authenticate", hdr);
	httpd_reply_error(req, 401, "unauthorized");
}

/*
 * First route whose path and method fit wins; a path that some route serves
 * with other methods only is 405. Authentication comes before both answers
 * so that an unauthenticated client learns nothing about the paths.
 */
static void dispatch(struct evhttp_request *req, void *arg)
{
	struct httpd *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	int cmd = (int)evhttp_request_get_command(req);
	const struct httpd_route *hit = NULL, *path_hit = NULL;
	const char *rest = "", *r2;
	size_t plen = 0, i;
	char *path;

	if (!raw || !*raw)
		raw = "/";
	path = evhttp_uridecode(raw, 0, &plen);
	if (!path || strlen(path) != plen) {
		free(path);
		httpd_reply_error(req, 400, "bad path");
		return;
	}
	for (i = 0; i < h->nroutes && !hit; i++) {
		if (!route_matches(&h->routes[i], path, &r2))
			continue;
		if (!path_hit)
			path_hit = &h->routes[i];
		if (h->routes[i].methods & cmd) {
			hit = &h->routes[i];
			rest = r2;
		}
	}
	if (auth_required(h) && !(hit && hit->public_route) && !auth_ok(h, req))
		reply_401(h, req);
	else if (hit)
		hit->cb(req, rest, hit->arg);
	else if (path_hit)
		httpd_reply_error(req, 405, "method not allowed");
	else
		httpd_reply_error(req, 404, "not found");
	free(path);
}

int httpd_new(struct event_base *base, const struct httpd_conf *conf,
	      const struct httpd_route *routes, size_t n, struct httpd **out,
	      char *err, size_t errlen)
{
	const char *addr = conf->addr && *conf->addr ? conf->addr : "127.0.0.1";
	struct httpd *h;
	evutil_socket_t fd;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64];
	uint16_t port = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (!httpd_addr_is_loopback(addr) &&
	    !(conf->password && *conf->password)) {
		snprintf(err, errlen,
			 "webServer.addr %s is not a loopback address: set "
			 "webServer.password (and webServer.user) to expose it",
			 addr);
		return -EPERM;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto fail_msg;
	h->routes = routes;
	h->nroutes = n;
	h->user = util_strdup(conf->user ? conf->user : "");
	h->password = util_strdup(conf->password ? conf->password : "");
	h->realm = util_strdup(conf->realm ? conf->realm : "frp");
	h->http = evhttp_new(base);
	if (!h->user || !h->password || !h->realm || !h->http)
		goto fail_msg;
	evhttp_set_max_headers_size(h->http, conf->max_headers ? conf->max_headers
							  : 16384);
	evhttp_set_max_body_size(h->http, conf->max_body ? conf->max_body
						       : (1u << 20));
	evhttp_set_timeout(h->http, conf->timeout_s > 0 ? conf->timeout_s : 30);
	evhttp_set_allowed_methods(h->http, HTTPD_METHODS);
	evhttp_set_default_content_type(h->http, "application/json");
	evhttp_set_gencb(h->http, dispatch, h);
	h->sock = evhttp_bind_socket_with_handle(
		h->http, strcasecmp(addr, "localhost") == 0 ? "127.0.0.1" : addr,
		(uint16_t)conf->port);
	if (!h->sock) {
		rc = -EADDRNOTAVAIL;
		snprintf(err, errlen, "cannot listen on %s:%d: %s", addr,
			 conf->port, strerror(errno ? errno : EADDRINUSE));
		goto fail;
	}
	fd = evhttp_bound_socket_get_fd(h->sock);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    util_addr_split(&ss, host, sizeof(host), &port) == 0)
		h->port = port;
	else
		h->port = conf->port;
	*out = h;
	return 0;
fail_msg:
	snprintf(err, errlen, "out of memory");
fail:
	httpd_free(h);
	return rc;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	if (h->http)
		evhttp_free(h->http);
	free(h->user);
	if (h->password) {
		explicit_bzero(h->password, strlen(h->password));
		free(h->password);
	}
	free(h->realm);
	free(h);
}

int httpd_port(const struct httpd *h)
{
	return h ? h->port : 0;
}
