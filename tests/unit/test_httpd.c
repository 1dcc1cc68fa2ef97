/*
 * test_httpd.c - the HTTP server layer: routing (exact, prefix, 404, 405),
 * basic auth (401 without or with wrong credentials, public routes), JSON
 * bodies, query parameters, the limits (oversized headers and bodies), bad
 * paths, and the refusal of a non-loopback address without a password.
 *
 * Each request is written raw on a socket so that malformed input can be
 * sent; the server runs on the test's own event loop.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "httpd.h"

struct client {
	struct event_base *base;
	struct bufferevent *bev;
	struct evbuffer *got;
	int done;
};

static void cl_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	evbuffer_add_buffer(c->got, bufferevent_get_input(bev));
}

static void cl_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		evbuffer_add_buffer(c->got, bufferevent_get_input(bev));
		c->done = 1;
		event_base_loopbreak(c->base);
	}
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Send `raw` (len bytes) to port; return the whole reply (free()). */
static char *roundtrip(struct event_base *base, int port, const char *raw,
		       size_t len)
{
	struct client c = {.base = base};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	struct event *dl = evtimer_new(base, deadline_cb, base);
	size_t n;
	char *out;

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.got = evbuffer_new();
	c.bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c.bev, cl_read, NULL, cl_event, &c);
	bufferevent_enable(c.bev, EV_READ | EV_WRITE);
	ck_assert_int_eq(bufferevent_socket_connect(c.bev, (struct sockaddr *)&sin,
						    sizeof(sin)), 0);
	bufferevent_write(c.bev, raw, len);
	evtimer_add(dl, &tv);
	event_base_dispatch(base);
	event_free(dl);
	ck_assert_msg(c.done, "no reply within 10 s");
	bufferevent_free(c.bev);
	n = evbuffer_get_length(c.got);
	out = malloc(n + 1);
	evbuffer_remove(c.got, out, n);
	out[n] = '\0';
	evbuffer_free(c.got);
	return out;
}

static int status_of(const char *reply)
{
	int code = 0;

	if (sscanf(reply, "HTTP/1.%*d %d", &code) != 1)
		return -1;
	return code;
}

static const char *body_of(const char *reply)
{
	const char *b = strstr(reply, "\r\n\r\n");

	return b ? b + 4 : "";
}

static int calls;
static char last_rest[256];
static char last_body[256];

static void h_hello(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)arg;
	calls++;
	snprintf(last_rest, sizeof(last_rest), "%s", rest);
	httpd_reply_json(req, 200, json_pack("{s:s}", "hello", "world"));
}

static void h_echo(struct evhttp_request *req, const char *rest, void *arg)
{
	char err[200];
	json_t *j = httpd_body_json(req, err, sizeof(err));

	(void)rest;
	(void)arg;
	calls++;
	if (!j) {
		snprintf(last_body, sizeof(last_body), "%s", err);
		httpd_reply_error(req, 400, err);
		return;
	}
	httpd_reply_json(req, 200, j);
}

static void h_query(struct evhttp_request *req, const char *rest, void *arg)
{
	char v[8];
	int rc = httpd_query(req, "status", v, sizeof(v));

	(void)rest;
	(void)arg;
	calls++;
	if (rc == 0)
		httpd_reply_data(req, 200, "text/plain", v, strlen(v));
	else
		httpd_reply_error(req, 400, rc == -ENOSPC ? "long" : "absent");
}

static const struct httpd_route routes[] = {
	{EVHTTP_REQ_GET, "/healthz", h_hello, NULL, 1},
	{EVHTTP_REQ_GET, "/api/hello", h_hello, NULL, 0},
	{EVHTTP_REQ_GET, "/api/proxy/", h_hello, NULL, 0},
	{EVHTTP_REQ_PUT | EVHTTP_REQ_POST, "/api/echo", h_echo, NULL, 0},
	{EVHTTP_REQ_DELETE, "/api/q", h_query, NULL, 0},
};

static struct httpd *start(struct event_base *base, const char *user,
			   const char *pass)
{
	struct httpd_conf conf = {.addr = "127.0.0.1", .port = 0, .user = user,
				  .password = pass, .max_body = 4096,
				  .max_headers = 2048};
	struct httpd *h = NULL;
	char err[256] = "";

	ck_assert_msg(httpd_new(base, &conf, routes,
				sizeof(routes) / sizeof(routes[0]), &h, err,
				sizeof(err)) == 0, "%s", err);
	ck_assert_int_gt(httpd_port(h), 0);
	return h;
}

static char *get(struct event_base *base, int port, const char *method,
		 const char *path, const char *extra_headers, const char *body)
{
	char *raw, *rep;
	int n = asprintf(&raw,
			 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			 "%sContent-Length: %zu\r\n\r\n%s",
			 method, path, extra_headers ? extra_headers : "",
			 body ? strlen(body) : 0, body ? body : "");

	ck_assert_int_gt(n, 0);
	rep = roundtrip(base, port, raw, (size_t)n);
	free(raw);
	return rep;
}

START_TEST(routes_and_methods)
{
	struct event_base *base = event_base_new();
	struct httpd *h = start(base, NULL, NULL);
	int port = httpd_port(h);
	char *r;

	calls = 0;
	r = get(base, port, "GET", "/api/hello", NULL, NULL);
	ck_assert_int_eq(status_of(r), 200);
	ck_assert_str_eq(body_of(r), "{\"hello\":\"world\"}");
	ck_assert_ptr_nonnull(strstr(r, "Content-Type: application/json"));
	free(r);
	r = get(base, port, "GET", "/api/proxy/tcp/my%20name", NULL, NULL);
	ck_assert_int_eq(status_of(r), 200);
	ck_assert_str_eq(last_rest, "tcp/my name");
	free(r);
	r = get(base, port, "GET", "/api/nothing", NULL, NULL);
	ck_assert_int_eq(status_of(r), 404);
	ck_assert_str_eq(body_of(r), "{\"error\":\"not found\"}");
	free(r);
	r = get(base, port, "POST", "/api/hello", NULL, "");
	ck_assert_int_eq(status_of(r), 405);
	free(r);
	r = get(base, port, "GET", "/api/%00x", NULL, NULL);
	ck_assert_int_eq(status_of(r), 400);
	free(r);
	ck_assert_int_eq(calls, 2);
	httpd_free(h);
	event_base_free(base);
}
END_TEST

START_TEST(json_bodies_and_query)
{
	struct event_base *base = event_base_new();
	struct httpd *h = start(base, NULL, NULL);
	int port = httpd_port(h);
	char *r;

	r = get(base, port, "PUT", "/api/echo", NULL, "{\"protocol\":\"kcp\"}");
	ck_assert_int_eq(status_of(r), 200);
	ck_assert_str_eq(body_of(r), "{\"protocol\":\"kcp\"}");
	free(r);
	r = get(base, port, "PUT", "/api/echo", NULL, "{\n \"a\": }");
	ck_assert_int_eq(status_of(r), 400);
	ck_assert_msg(strstr(last_body, "body:2:") != NULL, "%s", last_body);
	free(r);
	r = get(base, port, "DELETE", "/api/q?status=offline", NULL, NULL);
	ck_assert_int_eq(status_of(r), 200);
	ck_assert_str_eq(body_of(r), "offline");
	free(r);
	r = get(base, port, "DELETE", "/api/q?status=offlineoffline", NULL, NULL);
	ck_assert_int_eq(status_of(r), 400);
	free(r);
	r = get(base, port, "DELETE", "/api/q", NULL, NULL);
	ck_assert_int_eq(status_of(r), 400);
	free(r);
	httpd_free(h);
	event_base_free(base);
}
END_TEST

START_TEST(basic_auth)
{
	struct event_base *base = event_base_new();
	struct httpd *h = start(base, "admin", "s3cret");
	int port = httpd_port(h);
	char *r;

	calls = 0;
	r = get(base, port, "GET", "/api/hello", NULL, NULL);
	ck_assert_int_eq(status_of(r), 401);
	ck_assert_ptr_nonnull(strstr(r, "WWW-Authenticate: Basic realm="));
	free(r);
	/* admin:wrong */
	r = get(base, port, "GET", "/api/hello",
		"Authorization: Basic YWRtaW46d3Jvbmc=\r\n", NULL);
	ck_assert_int_eq(status_of(r), 401);
	free(r);
	/* not base64, not Basic, a prefix of the password */
	r = get(base, port, "GET", "/api/hello",
		"Authorization: Basic ***\r\n", NULL);
	ck_assert_int_eq(status_of(r), 401);
	free(r);
	r = get(base, port, "GET", "/api/hello",
		"Authorization: Bearer YWRtaW46czNjcmV0\r\n", NULL);
	ck_assert_int_eq(status_of(r), 401);
	free(r);
	r = get(base, port, "GET", "/api/hello",
		"Authorization: Basic YWRtaW46czNjcmU=\r\n", NULL);
	ck_assert_int_eq(status_of(r), 401);
	free(r);
	/* unknown paths say nothing before authentication */
	r = get(base, port, "GET", "/nothing", NULL, NULL);
	ck_assert_int_eq(status_of(r), 401);
	free(r);
	ck_assert_int_eq(calls, 0);
	/* admin:s3cret */
	r = get(base, port, "GET", "/api/hello",
		"Authorization: Basic YWRtaW46czNjcmV0\r\n", NULL);
	ck_assert_int_eq(status_of(r), 200);
	free(r);
	r = get(base, port, "GET", "/healthz", NULL, NULL);
	ck_assert_int_eq(status_of(r), 200);
	free(r);
	ck_assert_int_eq(calls, 2);
	httpd_free(h);
	event_base_free(base);
}
END_TEST

START_TEST(limits)
{
	struct event_base *base = event_base_new();
	struct httpd *h = start(base, NULL, NULL);
	int port = httpd_port(h);
	char *big = malloc(8192), *hdr, *r;

	memset(big, 'a', 8191);
	big[8191] = '\0';
	calls = 0;
	/* body over max_body (4096) */
	r = get(base, port, "PUT", "/api/echo", NULL, big);
	ck_assert_int_eq(status_of(r), 413);
	free(r);
	/* headers over max_headers (2048) */
	ck_assert_int_gt(asprintf(&hdr, "X-Big: %.4000s\r\n", big), 0);
	r = get(base, port, "GET", "/api/hello", hdr, NULL);
	ck_assert_msg(status_of(r) == 400 || status_of(r) == 413 ||
		      status_of(r) == 431 || r[0] == '\0', "%s", r);
	free(r);
	free(hdr);
	/* garbage request line */
	r = roundtrip(base, port, "NOT HTTP AT ALL\r\n\r\n", 19);
	ck_assert_msg(status_of(r) == 400 || status_of(r) == 405 ||
		      status_of(r) == 501 || r[0] == '\0', "%s", r);
	free(r);
	/* a method outside the allowed set */
	r = get(base, port, "PATCH", "/api/echo", NULL, "{}");
	ck_assert_msg(status_of(r) == 405 || status_of(r) == 501, "%s", r);
	free(r);
	ck_assert_int_eq(calls, 0);
	/* and the server still answers afterwards */
	r = get(base, port, "GET", "/healthz", NULL, NULL);
	ck_assert_int_eq(status_of(r), 200);
	free(r);
	free(big);
	httpd_free(h);
	event_base_free(base);
}
END_TEST

START_TEST(non_loopback_needs_password)
{
	struct event_base *base = event_base_new();
	struct httpd_conf conf = {.addr = "0.0.0.0", .port = 0};
	struct httpd *h = NULL;
	char err[256] = "";

	ck_assert_int_eq(httpd_new(base, &conf, routes, 1, &h, err, sizeof(err)),
			 -EPERM);
	ck_assert_ptr_null(h);
	ck_assert_ptr_nonnull(strstr(err, "webServer.password"));
	ck_assert_int_eq(httpd_addr_is_loopback("127.0.0.9"), 1);
	ck_assert_int_eq(httpd_addr_is_loopback("::1"), 1);
	ck_assert_int_eq(httpd_addr_is_loopback("localhost"), 1);
	ck_assert_int_eq(httpd_addr_is_loopback("::"), 0);
	ck_assert_int_eq(httpd_addr_is_loopback("10.0.0.1"), 0);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpd");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, routes_and_methods);
	tcase_add_test(tc, json_bodies_and_query);
	tcase_add_test(tc, basic_auth);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, non_loopback_needs_password);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
