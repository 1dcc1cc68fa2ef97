/*
 * httpd.h - the one HTTP server of both programs (frpc admin API, frps
 * dashboard), on libevent's evhttp with its limits set.
 *
 * A server is a route table: each route names the methods it accepts, a path
 * (exact, or a prefix ending in '/' that hands the rest to the handler) and a
 * handler. Basic auth is checked once before dispatch when a user or password
 * is configured. Unknown paths answer 404, a known path with another method
 * 405, both as JSON {"error": "..."}; oversized headers or bodies are refused
 * by evhttp itself (413/400) before a handler runs.
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stddef.h>

struct httpd;

/**
 * A route handler. `rest` is the part of the path after a prefix route's
 * prefix (already percent-decoded, no query string; "" for exact routes).
 * The handler must answer `req` (httpd_reply_* or evhttp_send_reply) before
 * returning, or keep `req` and answer it later from the same event loop.
 */
typedef void (*httpd_handler_cb)(struct evhttp_request *req, const char *rest,
				 void *arg);

struct httpd_route {
	int methods;	  /**< EVHTTP_REQ_GET | EVHTTP_REQ_PUT | ... */
	const char *path; /**< "/api/status" exact; "/api/proxy/" prefix */
	httpd_handler_cb cb;
	void *arg;	  /**< passed to cb */
	int public_route; /**< 1: no auth even when auth is configured */
};

struct httpd_conf {
	const char *addr;     /**< bind address; NULL or "" = 127.0.0.1 */
	int port;	      /**< 0 = pick a free port (see httpd_port) */
	const char *user;     /**< basic auth; NULL/"" with NULL/"" password = none */
	const char *password;
	const char *realm;    /**< WWW-Authenticate realm; NULL = "frp" */
	size_t max_body;      /**< bytes; 0 = 1 MiB */
	size_t max_headers;   /**< bytes; 0 = 16 KiB */
	int timeout_s;	      /**< per-connection I/O timeout; 0 = 30 */
};

/**
 * Bind and start serving on `base`. `routes` (n entries) must outlive the
 * server. Refuses (-EPERM, with a message in err) a non-loopback address
 * without a password. 0/-errno.
 */
int httpd_new(struct event_base *base, const struct httpd_conf *conf,
	      const struct httpd_route *routes, size_t n, struct httpd **out,
	      char *err, size_t errlen);
/** Stop listening and free (open connections are closed). NULL is a no-op. */
void httpd_free(struct httpd *h);
/** The bound port (useful with conf.port = 0). */
int httpd_port(const struct httpd *h);
/** 1 when addr is a loopback address (127.0.0.0/8, ::1, "localhost"). */
int httpd_addr_is_loopback(const char *addr);

/** Answer with a JSON body; takes the reference to `body`. */
void httpd_reply_json(struct evhttp_request *req, int code, json_t *body);
/** Answer {"error": msg} (or frp-style plain text when the caller wants). */
void httpd_reply_error(struct evhttp_request *req, int code, const char *msg);
/** Answer with bytes of the given content type (copied). */
void httpd_reply_data(struct evhttp_request *req, int code,
		      const char *content_type, const void *data, size_t len);
/** Answer with a buffer's contents (drained into the reply). */
void httpd_reply_buffer(struct evhttp_request *req, int code,
			const char *content_type, struct evbuffer *buf);
/**
 * Parse the request body as JSON. NULL on an empty or invalid body, with the
 * reason (including jansson's line:col) in err.
 */
json_t *httpd_body_json(struct evhttp_request *req, char *err, size_t errlen);
/** Copy of the request body as a NUL-terminated string (free()); NULL on OOM. */
char *httpd_body_string(struct evhttp_request *req, size_t *len);
/**
 * Value of query parameter `key` copied into out (NUL-terminated).
 * 0 when present, -ENOENT when absent, -ENOSPC when too long.
 */
int httpd_query(struct evhttp_request *req, const char *key, char *out,
		size_t outlen);

#endif
