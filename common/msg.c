/*
 * msg.c - frp v1 control message codec (contract in msg.h).
 *
 * Encoding follows what Go's encoding/json produces for frp's structs
 * (pkg/msg/msg.go): keys in struct order, compact, every field omitempty
 * except Login.client_spec (a struct value, which omitempty never drops) and
 * the members of a net.UDPAddr (no tags at all: "IP", "Port", "Zone").
 * Decoding follows the Unmarshal rules that matter for interop and safety:
 * null means absent, unknown keys are ignored, a known key of the wrong JSON
 * type is an error, anything after the top-level value is an error.
 *
 * Each message type is a table of field descriptors (offsets into struct
 * msg), so encode, decode and free walk the same description and cannot
 * drift apart.
 */
#include "msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum field_kind {
	F_STR,	 /* char *; omitted when NULL or "" */
	F_BOOL,	 /* bool; omitted when false */
	F_I64,	 /* int64_t; omitted when 0 */
	F_COUNT, /* int in 0..INT_MAX; omitted when 0 */
	F_PORT,	 /* int in 0..65535; omitted when 0 */
	F_MAP,	 /* map[string]string we do not keep: type-checked, never sent */
	F_SPEC,	 /* Login.client_spec: checked on input, always sent as {} */
	F_BYTES, /* uint8_t * at off, size_t at off2; base64 string */
	F_ADDR,	 /* *net.UDPAddr: char *ip at off, int port at off2 */
};

struct field {
	const char *name;
	enum field_kind kind;
	size_t off, off2;
};

struct msg_desc {
	int type;
	const char *name;
	const struct field *fields;
	size_t nfields;
};

#define FLD(n, k, mem) { n, k, offsetof(struct msg, u.mem), 0 }
#define FLD2(n, k, mem, mem2)                                          \
	{ n, k, offsetof(struct msg, u.mem), offsetof(struct msg, u.mem2) }

static const struct field login_fields[] = {
	FLD("version", F_STR, login.version),
	FLD("hostname", F_STR, login.hostname),
	FLD("os", F_STR, login.os),
	FLD("arch", F_STR, login.arch),
	FLD("user", F_STR, login.user),
	FLD("privilege_key", F_STR, login.privilege_key),
	FLD("timestamp", F_I64, login.timestamp),
	FLD("run_id", F_STR, login.run_id),
	FLD("client_id", F_STR, login.client_id),
	{ "metas", F_MAP, 0, 0 },
	{ "client_spec", F_SPEC, 0, 0 },
	FLD("pool_count", F_COUNT, login.pool_count),
};

static const struct field login_resp_fields[] = {
	FLD("version", F_STR, login_resp.version),
	FLD("run_id", F_STR, login_resp.run_id),
	FLD("error", F_STR, login_resp.error),
};

static const struct field new_proxy_fields[] = {
	FLD("proxy_name", F_STR, new_proxy.proxy_name),
	FLD("proxy_type", F_STR, new_proxy.proxy_type),
	FLD("use_encryption", F_BOOL, new_proxy.use_encryption),
	FLD("use_compression", F_BOOL, new_proxy.use_compression),
	{ "metas", F_MAP, 0, 0 },
	FLD("remote_port", F_PORT, new_proxy.remote_port),
};

static const struct field new_proxy_resp_fields[] = {
	FLD("proxy_name", F_STR, new_proxy_resp.proxy_name),
	FLD("remote_addr", F_STR, new_proxy_resp.remote_addr),
	FLD("error", F_STR, new_proxy_resp.error),
};

static const struct field close_proxy_fields[] = {
	FLD("proxy_name", F_STR, close_proxy.proxy_name),
};

static const struct field new_work_conn_fields[] = {
	FLD("run_id", F_STR, new_work_conn.run_id),
	FLD("privilege_key", F_STR, new_work_conn.privilege_key),
	FLD("timestamp", F_I64, new_work_conn.timestamp),
};

static const struct field start_work_conn_fields[] = {
	FLD("proxy_name", F_STR, start_work_conn.proxy_name),
	FLD("src_addr", F_STR, start_work_conn.src_addr),
	FLD("dst_addr", F_STR, start_work_conn.dst_addr),
	FLD("src_port", F_PORT, start_work_conn.src_port),
	FLD("dst_port", F_PORT, start_work_conn.dst_port),
	FLD("error", F_STR, start_work_conn.error),
};

static const struct field ping_fields[] = {
	FLD("privilege_key", F_STR, ping.privilege_key),
	FLD("timestamp", F_I64, ping.timestamp),
};

static const struct field pong_fields[] = {
	FLD("error", F_STR, pong.error),
};

static const struct field udp_packet_fields[] = {
	FLD2("c", F_BYTES, udp_packet.content, udp_packet.content_len),
	FLD2("l", F_ADDR, udp_packet.laddr_ip, udp_packet.laddr_port),
	FLD2("r", F_ADDR, udp_packet.raddr_ip, udp_packet.raddr_port),
};

#define DESC(t, n, f) { t, n, f, sizeof(f) / sizeof(f[0]) }

static const struct msg_desc descs[] = {
	DESC(MSG_LOGIN, "Login", login_fields),
	DESC(MSG_LOGIN_RESP, "LoginResp", login_resp_fields),
	DESC(MSG_NEW_PROXY, "NewProxy", new_proxy_fields),
	DESC(MSG_NEW_PROXY_RESP, "NewProxyResp", new_proxy_resp_fields),
	DESC(MSG_CLOSE_PROXY, "CloseProxy", close_proxy_fields),
	DESC(MSG_NEW_WORK_CONN, "NewWorkConn", new_work_conn_fields),
	{ MSG_REQ_WORK_CONN, "ReqWorkConn", NULL, 0 },
	DESC(MSG_START_WORK_CONN, "StartWorkConn", start_work_conn_fields),
	DESC(MSG_PING, "Ping", ping_fields),
	DESC(MSG_PONG, "Pong", pong_fields),
	DESC(MSG_UDP_PACKET, "UDPPacket", udp_packet_fields),
};

static const struct msg_desc *desc_find(int type)
{
	for (size_t i = 0; i < sizeof(descs) / sizeof(descs[0]); i++)
		if (descs[i].type == type)
			return &descs[i];
	return NULL;
}

const char *msg_type_name(int type)
{
	const struct msg_desc *d = desc_find(type);
	return d ? d->name : "Unknown";
}

#define AT(m, off, T) ((T *)(void *)((char *)(m) + (off)))
#define CAT(m, off, T) ((const T *)(const void *)((const char *)(m) + (off)))

/* ---- base64 (Go's base64.StdEncoding) ---------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out must hold 4 * ((n + 2) / 3) + 1 bytes. */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18];
		*out++ = b64_alphabet[(v >> 12) & 63];
		*out++ = b64_alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Go's StdEncoding.DecodeString: padding is mandatory, '\r' and '\n' are
 * skipped anywhere, nothing may follow the padding, and non-zero trailing
 * bits are tolerated (StdEncoding is not Strict). out must hold n bytes.
 * Returns the decoded length or -EBADMSG.
 */
static long b64_decode(const char *in, size_t n, uint8_t *out)
{
	size_t olen = 0;
	uint32_t acc = 0;
	int have = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding only completes a quantum of 2 or 3 symbols. */
			if (have + pad < 2)
				return -EBADMSG;
			pad++;
			if (have + pad == 4) {
				if (pad == 2) {
					out[olen++] = (uint8_t)(acc >> 4);
				} else {
					out[olen++] = (uint8_t)(acc >> 10);
					out[olen++] = (uint8_t)(acc >> 2);
				}
				have = 0;
				acc = 0;
				/* A finished padded quantum ends the data; only
				 * line breaks may follow. */
				for (i++; i < n; i++)
					if (in[i] != '\r' && in[i] != '\n')
						return -EBADMSG;
				return (long)olen;
			}
			continue;
		}
		int v = b64_value(c);
		if (v < 0 || pad)
			return -EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		if (++have == 4) {
			out[olen++] = (uint8_t)(acc >> 16);
			out[olen++] = (uint8_t)(acc >> 8);
			out[olen++] = (uint8_t)acc;
			have = 0;
			acc = 0;
		}
	}
	if (have || pad)
		return -EBADMSG;
	return (long)olen;
}

/* ---- decoding ------------------------------------------------------------ */

/* A JSON string we keep: NUL inside would silently truncate it in C. */
static int dup_json_string(const json_t *v, char **out)
{
	if (!json_is_string(v))
		return -EBADMSG;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (memchr(s, '\0', n))
		return -EBADMSG;
	char *d = malloc(n + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, s, n + 1);
	*out = d;
	return 0;
}

static int json_int_in(const json_t *v, json_int_t lo, json_int_t hi,
		       json_int_t *out)
{
	if (!json_is_integer(v))
		return -EBADMSG;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return -EBADMSG;
	*out = x;
	return 0;
}

/* Go's net.IP.UnmarshalText: "" is a nil IP, anything else must parse. */
static int ip_text_ok(const char *s)
{
	unsigned char tmp[sizeof(struct in6_addr)];
	return *s == '\0' || inet_pton(AF_INET, s, tmp) == 1 ||
	       inet_pton(AF_INET6, s, tmp) == 1;
}

static int decode_addr(const json_t *v, char **ip, int *port)
{
	const json_t *x;
	json_int_t p;
	int rc;

	if (!json_is_object(v))
		return -EBADMSG;
	x = json_object_get(v, "IP");
	if (x && !json_is_null(x)) {
		if ((rc = dup_json_string(x, ip)) != 0)
			return rc;
		if (!ip_text_ok(*ip))
			return -EBADMSG;
	} else if (!(*ip = strdup(""))) {
		/* A present address with no IP stays distinguishable from an
		 * absent one (NULL). */
		return -ENOMEM;
	}
	x = json_object_get(v, "Port");
	if (x && !json_is_null(x)) {
		if ((rc = json_int_in(x, 0, 65535, &p)) != 0)
			return rc;
		*port = (int)p;
	}
	x = json_object_get(v, "Zone");
	if (x && !json_is_null(x) && !json_is_string(x))
		return -EBADMSG;
	return 0;
}

static int decode_bytes(const json_t *v, uint8_t **buf, size_t *len)
{
	if (!json_is_string(v))
		return -EBADMSG;
	size_t n = json_string_length(v);
	if (n == 0)
		return 0;
	uint8_t *b = malloc(n);
	if (!b)
		return -ENOMEM;
	long got = b64_decode(json_string_value(v), n, b);
	if (got < 0) {
		free(b);
		return (int)got;
	}
	*buf = b;
	*len = (size_t)got;
	return 0;
}

static int decode_field(const struct field *f, const json_t *v, struct msg *m)
{
	json_int_t x;
	const char *k;
	const json_t *e;
	int rc;

	switch (f->kind) {
	case F_STR:
		/* Go cannot tell "" from absent, and consumers test for NULL
		 * (e.g. "error" set?), so an empty string stays NULL. */
		if (json_is_string(v) && json_string_length(v) == 0)
			return 0;
		return dup_json_string(v, AT(m, f->off, char *));
	case F_BOOL:
		if (!json_is_boolean(v))
			return -EBADMSG;
		*AT(m, f->off, bool) = json_is_true(v);
		return 0;
	case F_I64:
		if ((rc = json_int_in(v, INT64_MIN, INT64_MAX, &x)) != 0)
			return rc;
		*AT(m, f->off, int64_t) = (int64_t)x;
		return 0;
	case F_COUNT:
	case F_PORT:
		rc = json_int_in(v, 0, f->kind == F_PORT ? 65535 : INT_MAX, &x);
		if (rc != 0)
			return rc;
		*AT(m, f->off, int) = (int)x;
		return 0;
	case F_MAP:
		if (!json_is_object(v))
			return -EBADMSG;
		json_object_foreach((json_t *)v, k, e)
			if (!json_is_string(e) && !json_is_null(e))
				return -EBADMSG;
		return 0;
	case F_SPEC:
		return json_is_object(v) ? 0 : -EBADMSG;
	case F_BYTES:
		return decode_bytes(v, AT(m, f->off, uint8_t *),
				    AT(m, f->off2, size_t));
	case F_ADDR:
		return decode_addr(v, AT(m, f->off, char *),
				   AT(m, f->off2, int));
	}
	return -EBADMSG;
}

/* Header check shared by both decoders. Returns the whole frame length once
 * the header is complete and sane, 0 if more header bytes are needed. */
static long frame_check(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return 0;
	/* Like golib's reader, reject an unknown type before the length. */
	if (!desc_find(buf[0]))
		return -EBADMSG;
	if (len < MSG_HDR_LEN)
		return 0;
	uint64_t blen = 0;
	for (int i = 1; i < MSG_HDR_LEN; i++)
		blen = blen << 8 | buf[i];
	/* A negative int64 has the top bit set, so it is > MSG_MAX_BODY too. */
	if (blen > MSG_MAX_BODY)
		return -EMSGSIZE;
	return (long)(MSG_HDR_LEN + blen);
}

/* buf holds exactly one complete frame of flen bytes. */
static long decode_frame(const uint8_t *buf, size_t flen, struct msg *m)
{
	const struct msg_desc *d = desc_find(buf[0]);
	json_error_t jerr;
	json_t *root;
	int rc = 0;

	/* JSON_ALLOW_NUL: "\u0000" in the value of a key we ignore is fine,
	 * as in Go; in a string we keep, dup_json_string refuses it. (jansson
	 * rejects it inside keys whatever the flags.) */
	root = json_loadb((const char *)buf + MSG_HDR_LEN, flen - MSG_HDR_LEN,
			  JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!root)
		return -EBADMSG;
	m->type = (enum msg_type)d->type;
	if (json_is_object(root)) {
		for (size_t i = 0; i < d->nfields && rc == 0; i++) {
			const json_t *v =
				json_object_get(root, d->fields[i].name);
			if (v && !json_is_null(v))
				rc = decode_field(&d->fields[i], v, m);
		}
	} else if (!json_is_null(root)) {
		/* Go unmarshals "null" into a struct as a no-op. */
		rc = -EBADMSG;
	}
	json_decref(root);
	if (rc != 0) {
		msg_free(m);
		return rc;
	}
	return (long)flen;
}

long msg_decode(const uint8_t *buf, size_t len, struct msg *m)
{
	memset(m, 0, sizeof(*m));
	long flen = frame_check(buf, len);
	if (flen <= 0 || (size_t)flen > len)
		return flen < 0 ? flen : 0;
	return decode_frame(buf, (size_t)flen, m);
}

long msg_decode_evbuffer(struct evbuffer *in, struct msg *m)
{
	uint8_t hdr[MSG_HDR_LEN];
	size_t have = evbuffer_get_length(in);
	size_t n = have < MSG_HDR_LEN ? have : MSG_HDR_LEN;

	memset(m, 0, sizeof(*m));
	if (n == 0)
		return 0;
	if (evbuffer_copyout(in, hdr, n) != (ev_ssize_t)n)
		return -EIO;
	long flen = frame_check(hdr, n);
	if (flen <= 0 || (size_t)flen > have)
		return flen < 0 ? flen : 0;
	/* Only this frame is made contiguous, never the whole backlog. */
	const uint8_t *p = evbuffer_pullup(in, flen);
	if (!p)
		return -ENOMEM;
	long r = decode_frame(p, (size_t)flen, m);
	if (r > 0)
		evbuffer_drain(in, (size_t)r);
	return r;
}

void msg_free(struct msg *m)
{
	if (!m)
		return;
	const struct msg_desc *d = desc_find(m->type);
	for (size_t i = 0; d && i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		if (f->kind == F_STR || f->kind == F_ADDR)
			free(*AT(m, f->off, char *));
		else if (f->kind == F_BYTES)
			free(*AT(m, f->off, uint8_t *));
	}
	memset(m, 0, sizeof(*m));
}

/* ---- encoding ------------------------------------------------------------ */

/* json_object_set_new steals v even when it fails. */
static int put(json_t *obj, const char *key, json_t *v, int err_if_null)
{
	if (!v)
		return err_if_null;
	return json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

static int encode_addr(json_t *obj, const char *key, const char *ip, int port)
{
	if (!ip)
		return 0;
	if (port < 0 || port > 65535 || !ip_text_ok(ip))
		return -EINVAL;
	json_t *a = json_object();
	if (!a)
		return -ENOMEM;
	int rc = put(a, "IP", json_string(ip), -EINVAL);
	if (rc == 0)
		rc = put(a, "Port", json_integer(port), -ENOMEM);
	if (rc == 0)
		rc = put(a, "Zone", json_string(""), -ENOMEM);
	if (rc != 0) {
		json_decref(a);
		return rc;
	}
	return put(obj, key, a, -ENOMEM);
}

static int encode_bytes(json_t *obj, const char *key, const uint8_t *b,
			size_t n)
{
	if (n == 0)
		return 0;
	if (!b)
		return -EINVAL;
	/* Base64 grows 4/3, so anything near MSG_MAX_BODY cannot fit; stop
	 * before sizing an allocation from a caller's length. */
	if (n > MSG_MAX_BODY)
		return -EMSGSIZE;
	char *s = malloc(4 * ((n + 2) / 3) + 1);
	if (!s)
		return -ENOMEM;
	b64_encode(b, n, s);
	int rc = put(obj, key, json_string_nocheck(s), -ENOMEM);
	free(s);
	return rc;
}

static int encode_field(const struct field *f, const struct msg *m,
			json_t *obj)
{
	switch (f->kind) {
	case F_STR: {
		const char *s = *CAT(m, f->off, char *);
		if (!s || !*s)
			return 0;
		/* json_string fails on invalid UTF-8 (rarely on OOM). */
		return put(obj, f->name, json_string(s), -EINVAL);
	}
	case F_BOOL:
		if (!*CAT(m, f->off, bool))
			return 0;
		return put(obj, f->name, json_true(), -ENOMEM);
	case F_I64: {
		int64_t v = *CAT(m, f->off, int64_t);
		if (v == 0)
			return 0;
		return put(obj, f->name, json_integer(v), -ENOMEM);
	}
	case F_COUNT:
	case F_PORT: {
		int v = *CAT(m, f->off, int);
		if (v < 0 || (f->kind == F_PORT && v > 65535))
			return -EINVAL;
		if (v == 0)
			return 0;
		return put(obj, f->name, json_integer(v), -ENOMEM);
	}
	case F_MAP:
		return 0;
	case F_SPEC:
		return put(obj, f->name, json_object(), -ENOMEM);
	case F_BYTES:
		return encode_bytes(obj, f->name, *CAT(m, f->off, uint8_t *),
				    *CAT(m, f->off2, size_t));
	case F_ADDR:
		return encode_addr(obj, f->name, *CAT(m, f->off, char *),
				   *CAT(m, f->off2, int));
	}
	return -EINVAL;
}

int msg_encode(struct evbuffer *out, const struct msg *m)
{
	const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
	const struct msg_desc *d = desc_find(m->type);
	struct evbuffer_iovec v;
	json_t *root;
	size_t blen;
	int rc = 0;

	if (!d)
		return -EINVAL;
	if (!(root = json_object()))
		return -ENOMEM;
	for (size_t i = 0; i < d->nfields && rc == 0; i++)
		rc = encode_field(&d->fields[i], m, root);
	if (rc != 0)
		goto fail;
	blen = json_dumpb(root, NULL, 0, flags);
	if (blen == 0) {
		rc = -ENOMEM;
		goto fail;
	}
	if (blen > MSG_MAX_BODY) {
		rc = -EMSGSIZE;
		goto fail;
	}
	/* Header and body go in as one reservation so a failure never leaves
	 * half a frame in out. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(MSG_HDR_LEN + blen), &v,
				   1) != 1) {
		rc = -ENOMEM;
		goto fail;
	}
	uint8_t *p = v.iov_base;
	p[0] = (uint8_t)d->type;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)((uint64_t)blen >> (56 - 8 * i));
	if (json_dumpb(root, (char *)p + MSG_HDR_LEN, blen, flags) != blen) {
		rc = -ENOMEM;
		goto fail;
	}
	v.iov_len = MSG_HDR_LEN + blen;
	if (evbuffer_commit_space(out, &v, 1) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return rc;
}
