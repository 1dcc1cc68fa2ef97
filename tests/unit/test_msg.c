/*
 * test_msg.c - frp v1 message codec: golden frames from real frp 0.54
 * captures (docs/frp-captures.md), round trips of every type, framing edge
 * cases and hostile input.
 */
#include "msg.h"

#include <check.h>
#include <errno.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Captured JSON bodies, byte for byte. */
static const char *cap_login =
	"{\"version\":\"0.54.0\",\"os\":\"linux\",\"arch\":\"amd64\","
	"\"privilege_key\":\"3a605ce248b756ef60c59a96268d490b\","
	"\"timestamp\":1795345545,\"client_spec\":{},\"pool_count\":1}";
static const char *cap_login_resp =
	"{\"version\":\"0.54.0\",\"run_id\":\"0816b35fbeceb540\"}";
static const char *cap_new_work_conn = "{\"run_id\":\"0816b35fbeceb540\"}";
static const char *cap_start_work_conn =
	"{\"proxy_name\":\"webcap\",\"src_addr\":\"127.0.0.1\","
	"\"dst_addr\":\"127.0.0.1\",\"src_port\":35958,\"dst_port\":16001}";

/* [type][int64 BE len][body]; caller frees. */
static uint8_t *frame_n(int type, int64_t blen, const char *body, size_t n,
			size_t *out_len)
{
	uint8_t *f = malloc(MSG_HDR_LEN + n + 1);
	ck_assert_ptr_nonnull(f);
	f[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		f[1 + i] = (uint8_t)((uint64_t)blen >> (56 - 8 * i));
	memcpy(f + MSG_HDR_LEN, body, n);
	*out_len = MSG_HDR_LEN + n;
	return f;
}

static uint8_t *frame(int type, const char *body, size_t *out_len)
{
	size_t n = strlen(body);
	return frame_n(type, (int64_t)n, body, n, out_len);
}

/* Encode m and return the bytes (caller frees). */
static uint8_t *encode(const struct msg *m, size_t *len)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(msg_encode(b, m), 0);
	*len = evbuffer_get_length(b);
	uint8_t *p = malloc(*len ? *len : 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(evbuffer_remove(b, p, *len), (int)*len);
	evbuffer_free(b);
	return p;
}

static void assert_encodes_to(const struct msg *m, int type, const char *body)
{
	size_t want_len, got_len;
	uint8_t *want = frame(type, body, &want_len);
	uint8_t *got = encode(m, &got_len);
	ck_assert_uint_eq(got_len, want_len);
	ck_assert_mem_eq(got, want, want_len);
	free(want);
	free(got);
}

/* Decode a complete frame built from body; asserts it consumed it all. */
static long decode_body(int type, const char *body, struct msg *m)
{
	size_t len;
	uint8_t *f = frame(type, body, &len);
	long r = msg_decode(f, len, m);
	if (r > 0)
		ck_assert_int_eq(r, (long)len);
	free(f);
	return r;
}

/* ---- golden frames from the captures ------------------------------------ */

START_TEST(golden_login)
{
	struct msg m = { .type = MSG_LOGIN };
	m.u.login.version = "0.54.0";
	m.u.login.os = "linux";
	m.u.login.arch = "amd64";
	m.u.login.privilege_key = "3a605ce248b756ef60c59a96268d490b";
	m.u.login.timestamp = 1795345545;
	m.u.login.pool_count = 1;

	size_t len;
	uint8_t *got = encode(&m, &len);
	/* the captured header: 'o', int64 length 0x9a */
	static const uint8_t hdr[] = { 0x6f, 0, 0, 0, 0, 0, 0, 0, 0x9a };
	ck_assert_uint_eq(len, 9 + 0x9a);
	ck_assert_mem_eq(got, hdr, 9);
	ck_assert_uint_eq(strlen(cap_login), 0x9a);
	ck_assert_mem_eq(got + 9, cap_login, 0x9a);

	struct msg d;
	ck_assert_int_eq(msg_decode(got, len, &d), (long)len);
	ck_assert_int_eq(d.type, MSG_LOGIN);
	ck_assert_str_eq(d.u.login.version, "0.54.0");
	ck_assert_str_eq(d.u.login.os, "linux");
	ck_assert_str_eq(d.u.login.arch, "amd64");
	ck_assert_str_eq(d.u.login.privilege_key,
			 "3a605ce248b756ef60c59a96268d490b");
	ck_assert_int_eq(d.u.login.timestamp, 1795345545);
	ck_assert_int_eq(d.u.login.pool_count, 1);
	ck_assert_ptr_null(d.u.login.hostname);
	ck_assert_ptr_null(d.u.login.user);
	ck_assert_ptr_null(d.u.login.run_id);
	ck_assert_ptr_null(d.u.login.client_id);
	msg_free(&d);
	free(got);
}
END_TEST

START_TEST(golden_login_resp)
{
	struct msg m = { .type = MSG_LOGIN_RESP };
	m.u.login_resp.version = "0.54.0";
	m.u.login_resp.run_id = "0816b35fbeceb540";
	ck_assert_uint_eq(strlen(cap_login_resp), 0x30);
	assert_encodes_to(&m, '1', cap_login_resp);

	struct msg d;
	ck_assert_int_gt(decode_body('1', cap_login_resp, &d), 0);
	ck_assert_int_eq(d.type, MSG_LOGIN_RESP);
	ck_assert_str_eq(d.u.login_resp.version, "0.54.0");
	ck_assert_str_eq(d.u.login_resp.run_id, "0816b35fbeceb540");
	ck_assert_ptr_null(d.u.login_resp.error);
	msg_free(&d);
}
END_TEST

START_TEST(golden_new_work_conn)
{
	struct msg m = { .type = MSG_NEW_WORK_CONN };
	m.u.new_work_conn.run_id = "0816b35fbeceb540";
	size_t len;
	uint8_t *got = encode(&m, &len);
	ck_assert_uint_eq(len, 38); /* yamux "Data 38" in the capture */
	free(got);
	assert_encodes_to(&m, 'w', cap_new_work_conn);

	struct msg d;
	ck_assert_int_gt(decode_body('w', cap_new_work_conn, &d), 0);
	ck_assert_int_eq(d.type, MSG_NEW_WORK_CONN);
	ck_assert_str_eq(d.u.new_work_conn.run_id, "0816b35fbeceb540");
	ck_assert_ptr_null(d.u.new_work_conn.privilege_key);
	ck_assert_int_eq(d.u.new_work_conn.timestamp, 0);
	msg_free(&d);
}
END_TEST

START_TEST(golden_start_work_conn)
{
	struct msg m = { .type = MSG_START_WORK_CONN };
	m.u.start_work_conn.proxy_name = "webcap";
	m.u.start_work_conn.src_addr = "127.0.0.1";
	m.u.start_work_conn.dst_addr = "127.0.0.1";
	m.u.start_work_conn.src_port = 35958;
	m.u.start_work_conn.dst_port = 16001;
	ck_assert_uint_eq(strlen(cap_start_work_conn), 0x67);
	size_t len;
	uint8_t *got = encode(&m, &len);
	ck_assert_uint_eq(len, 112); /* "Data 112" in the capture */
	free(got);
	assert_encodes_to(&m, 's', cap_start_work_conn);

	struct msg d;
	ck_assert_int_gt(decode_body('s', cap_start_work_conn, &d), 0);
	ck_assert_int_eq(d.type, MSG_START_WORK_CONN);
	ck_assert_str_eq(d.u.start_work_conn.proxy_name, "webcap");
	ck_assert_str_eq(d.u.start_work_conn.src_addr, "127.0.0.1");
	ck_assert_str_eq(d.u.start_work_conn.dst_addr, "127.0.0.1");
	ck_assert_int_eq(d.u.start_work_conn.src_port, 35958);
	ck_assert_int_eq(d.u.start_work_conn.dst_port, 16001);
	ck_assert_ptr_null(d.u.start_work_conn.error);
	msg_free(&d);
}
END_TEST

START_TEST(golden_req_work_conn)
{
	static const uint8_t want[] = { 0x72, 0, 0, 0, 0, 0, 0, 0, 2, 0x7b,
					0x7d };
	struct msg m = { .type = MSG_REQ_WORK_CONN };
	size_t len;
	uint8_t *got = encode(&m, &len);
	ck_assert_uint_eq(len, sizeof(want)); /* "Data 11" in the capture */
	ck_assert_mem_eq(got, want, sizeof(want));
	free(got);

	struct msg d;
	ck_assert_int_eq(msg_decode(want, sizeof(want), &d),
			 (long)sizeof(want));
	ck_assert_int_eq(d.type, MSG_REQ_WORK_CONN);
	msg_free(&d);
}
END_TEST

/* Zero values are left out (omitempty), so an empty Login is just the
 * client_spec struct that omitempty cannot drop. */
START_TEST(omitempty)
{
	struct msg m = { .type = MSG_LOGIN };
	m.u.login.version = "";
	assert_encodes_to(&m, 'o', "{\"client_spec\":{}}");

	struct msg p = { .type = MSG_NEW_PROXY };
	p.u.new_proxy.proxy_name = "web";
	p.u.new_proxy.proxy_type = "tcp";
	p.u.new_proxy.remote_port = 6000;
	assert_encodes_to(&p, 'p',
			  "{\"proxy_name\":\"web\",\"proxy_type\":\"tcp\","
			  "\"remote_port\":6000}");
	p.u.new_proxy.use_compression = true;
	assert_encodes_to(&p, 'p',
			  "{\"proxy_name\":\"web\",\"proxy_type\":\"tcp\","
			  "\"use_compression\":true,\"remote_port\":6000}");

	struct msg pong = { .type = MSG_PONG };
	assert_encodes_to(&pong, '4', "{}");
	struct msg u = { .type = MSG_UDP_PACKET };
	assert_encodes_to(&u, 'u', "{}");
}
END_TEST

START_TEST(golden_udp_packet)
{
	static const uint8_t content[] = { 0x00, 0xff, 0x10 };
	struct msg m = { .type = MSG_UDP_PACKET };
	m.u.udp_packet.content = (uint8_t *)content;
	m.u.udp_packet.content_len = sizeof(content);
	m.u.udp_packet.laddr_ip = "127.0.0.1";
	m.u.udp_packet.laddr_port = 1234;
	m.u.udp_packet.raddr_ip = "::1";
	m.u.udp_packet.raddr_port = 53;
	/* net.UDPAddr has no json tags: Go writes all three fields. */
	assert_encodes_to(&m, 'u',
			  "{\"c\":\"AP8Q\",\"l\":{\"IP\":\"127.0.0.1\","
			  "\"Port\":1234,\"Zone\":\"\"},\"r\":{\"IP\":\"::1\","
			  "\"Port\":53,\"Zone\":\"\"}}");
}
END_TEST

/* ---- round trips -------------------------------------------------------- */

static void round_trip(const struct msg *m, struct msg *d)
{
	size_t len, len2;
	uint8_t *bytes = encode(m, &len);
	ck_assert_int_eq(msg_decode(bytes, len, d), (long)len);
	ck_assert_int_eq(d->type, m->type);
	/* decode then encode again is byte-identical */
	uint8_t *again = encode(d, &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(bytes, again, len);
	free(bytes);
	free(again);
}

START_TEST(round_trip_control_types)
{
	struct msg m, d;

	memset(&m, 0, sizeof(m));
	m.type = MSG_LOGIN;
	m.u.login = (struct msg_login){ "0.54.0", "host", "linux", "amd64",
					 "alice", "key", "run", "cid",
					 -1234567890123LL, 5 };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.login.version, "0.54.0");
	ck_assert_str_eq(d.u.login.hostname, "host");
	ck_assert_str_eq(d.u.login.os, "linux");
	ck_assert_str_eq(d.u.login.arch, "amd64");
	ck_assert_str_eq(d.u.login.user, "alice");
	ck_assert_str_eq(d.u.login.privilege_key, "key");
	ck_assert_str_eq(d.u.login.run_id, "run");
	ck_assert_str_eq(d.u.login.client_id, "cid");
	ck_assert_int_eq(d.u.login.timestamp, -1234567890123LL);
	ck_assert_int_eq(d.u.login.pool_count, 5);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_LOGIN_RESP;
	m.u.login_resp = (struct msg_login_resp){ "v", "r", "bad token" };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.login_resp.version, "v");
	ck_assert_str_eq(d.u.login_resp.run_id, "r");
	ck_assert_str_eq(d.u.login_resp.error, "bad token");
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_NEW_PROXY;
	m.u.new_proxy = (struct msg_new_proxy){ "ssh", "tcp", true, true,
						65535 };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.new_proxy.proxy_name, "ssh");
	ck_assert_str_eq(d.u.new_proxy.proxy_type, "tcp");
	ck_assert(d.u.new_proxy.use_encryption);
	ck_assert(d.u.new_proxy.use_compression);
	ck_assert_int_eq(d.u.new_proxy.remote_port, 65535);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_NEW_PROXY_RESP;
	m.u.new_proxy_resp =
		(struct msg_new_proxy_resp){ "ssh", ":6000", "port taken" };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.new_proxy_resp.proxy_name, "ssh");
	ck_assert_str_eq(d.u.new_proxy_resp.remote_addr, ":6000");
	ck_assert_str_eq(d.u.new_proxy_resp.error, "port taken");
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_CLOSE_PROXY;
	m.u.close_proxy.proxy_name = "ssh";
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.close_proxy.proxy_name, "ssh");
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_NEW_WORK_CONN;
	m.u.new_work_conn =
		(struct msg_new_work_conn){ "run", "pk", 1795345545 };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.new_work_conn.run_id, "run");
	ck_assert_str_eq(d.u.new_work_conn.privilege_key, "pk");
	ck_assert_int_eq(d.u.new_work_conn.timestamp, 1795345545);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_REQ_WORK_CONN;
	round_trip(&m, &d);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_START_WORK_CONN;
	m.u.start_work_conn = (struct msg_start_work_conn){
		"p", "10.0.0.1", "::1", "no proxy", 1, 65535
	};
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.start_work_conn.proxy_name, "p");
	ck_assert_str_eq(d.u.start_work_conn.src_addr, "10.0.0.1");
	ck_assert_str_eq(d.u.start_work_conn.dst_addr, "::1");
	ck_assert_str_eq(d.u.start_work_conn.error, "no proxy");
	ck_assert_int_eq(d.u.start_work_conn.src_port, 1);
	ck_assert_int_eq(d.u.start_work_conn.dst_port, 65535);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_PING;
	m.u.ping = (struct msg_ping){ "pk", INT64_MAX };
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.ping.privilege_key, "pk");
	ck_assert(d.u.ping.timestamp == INT64_MAX);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_PING;
	m.u.ping.timestamp = INT64_MIN;
	round_trip(&m, &d);
	ck_assert(d.u.ping.timestamp == INT64_MIN);
	ck_assert_ptr_null(d.u.ping.privilege_key);
	msg_free(&d);

	memset(&m, 0, sizeof(m));
	m.type = MSG_PONG;
	m.u.pong.error = "token mismatch";
	round_trip(&m, &d);
	ck_assert_str_eq(d.u.pong.error, "token mismatch");
	msg_free(&d);
}
END_TEST

START_TEST(round_trip_utf8_and_escapes)
{
	static const char *names[] = {
		"名字✓", "quote\" backslash\\ slash/", "tab\tnl\ncr\r",
		"\x01\x1f control", "emoji \xf0\x9f\x98\x80", "<html>&amp;",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct msg m = { .type = MSG_CLOSE_PROXY }, d;
		m.u.close_proxy.proxy_name = (char *)names[i];
		round_trip(&m, &d);
		ck_assert_str_eq(d.u.close_proxy.proxy_name, names[i]);
		msg_free(&d);
	}
}
END_TEST

/* Every content length 0..40 exercises all base64 padding cases; the bytes
 * include zeros and 0xff. */
START_TEST(round_trip_udp_packet)
{
	uint8_t buf[40];
	for (size_t n = 0; n <= sizeof(buf); n++) {
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(i % 3 == 0 ? 0 : 0xff - 7 * i);
		struct msg m = { .type = MSG_UDP_PACKET }, d;
		m.u.udp_packet.content = n ? buf : NULL;
		m.u.udp_packet.content_len = n;
		m.u.udp_packet.laddr_ip = "192.168.1.2";
		m.u.udp_packet.laddr_port = 53;
		m.u.udp_packet.raddr_ip = "fe80::1";
		m.u.udp_packet.raddr_port = 65535;
		round_trip(&m, &d);
		ck_assert_uint_eq(d.u.udp_packet.content_len, n);
		if (n)
			ck_assert_mem_eq(d.u.udp_packet.content, buf, n);
		else
			ck_assert_ptr_null(d.u.udp_packet.content);
		ck_assert_str_eq(d.u.udp_packet.laddr_ip, "192.168.1.2");
		ck_assert_int_eq(d.u.udp_packet.laddr_port, 53);
		ck_assert_str_eq(d.u.udp_packet.raddr_ip, "fe80::1");
		ck_assert_int_eq(d.u.udp_packet.raddr_port, 65535);
		msg_free(&d);
	}

	/* absent addresses stay absent */
	struct msg m = { .type = MSG_UDP_PACKET }, d;
	m.u.udp_packet.content = buf;
	m.u.udp_packet.content_len = 1;
	round_trip(&m, &d);
	ck_assert_ptr_null(d.u.udp_packet.laddr_ip);
	ck_assert_ptr_null(d.u.udp_packet.raddr_ip);
	msg_free(&d);
}
END_TEST

START_TEST(udp_packet_decode_variants)
{
	struct msg d;
	/* Go's decoder skips line breaks inside base64 */
	ck_assert_int_gt(decode_body('u', "{\"c\":\"AP\\r\\n8Q\"}", &d), 0);
	ck_assert_uint_eq(d.u.udp_packet.content_len, 3);
	ck_assert_mem_eq(d.u.udp_packet.content, "\x00\xff\x10", 3);
	msg_free(&d);
	/* present address with an empty / missing IP: "" (Go: nil IP) */
	ck_assert_int_gt(decode_body('u', "{\"l\":{\"Port\":7},\"r\":{\"IP\":"
					  "\"\",\"Zone\":\"eth0\"}}",
				     &d),
			 0);
	ck_assert_str_eq(d.u.udp_packet.laddr_ip, "");
	ck_assert_int_eq(d.u.udp_packet.laddr_port, 7);
	ck_assert_str_eq(d.u.udp_packet.raddr_ip, "");
	ck_assert_int_eq(d.u.udp_packet.raddr_port, 0);
	ck_assert_uint_eq(d.u.udp_packet.content_len, 0);
	msg_free(&d);
	/* bad base64 / addresses */
	static const char *bad[] = {
		"{\"c\":\"QQ\"}",   "{\"c\":\"Q===\"}",
		"{\"c\":\"QQ==QQ==\"}", "{\"c\":\"QU JD\"}",
		"{\"c\":\"QUJD=\"}", "{\"c\":\"!!!!\"}",
		"{\"c\":1}",	      "{\"l\":\"127.0.0.1:5\"}",
		"{\"l\":{\"IP\":\"localhost\"}}",
		"{\"l\":{\"IP\":\"1.2.3.4\",\"Port\":65536}}",
		"{\"r\":{\"IP\":\"1.2.3.4\",\"Port\":\"5\"}}",
		"{\"r\":{\"Zone\":1}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(decode_body('u', bad[i], &d) == -EBADMSG, "%s",
			      bad[i]);
}
END_TEST

/* ---- decoding rules ----------------------------------------------------- */

START_TEST(decode_any_order_unknown_and_null)
{
	struct msg d;
	ck_assert_int_gt(
		decode_body('o',
			    " {\"pool_count\":3,\"future\":[1,{\"x\":null}],"
			    "\"hostname\":null,\"metas\":{\"a\":\"b\",\"c\":null},"
			    "\"client_spec\":{\"type\":\"ssh-tunnel\"},"
			    "\"odd\":\"v\\u0000\",\"version\":\"1\","
			    "\"timestamp\":-0} \n",
			    &d),
		0);
	ck_assert_int_eq(d.type, MSG_LOGIN);
	ck_assert_int_eq(d.u.login.pool_count, 3);
	ck_assert_str_eq(d.u.login.version, "1");
	ck_assert_ptr_null(d.u.login.hostname);
	ck_assert_int_eq(d.u.login.timestamp, 0);
	msg_free(&d);

	/* Go's Unmarshal of null into a struct is a no-op, not an error */
	ck_assert_int_gt(decode_body('c', "null", &d), 0);
	ck_assert_int_eq(d.type, MSG_CLOSE_PROXY);
	ck_assert_ptr_null(d.u.close_proxy.proxy_name);
	msg_free(&d);

	/* "" is the zero value: it decodes like an absent field */
	ck_assert_int_gt(decode_body('1', "{\"run_id\":\"r\",\"error\":\"\"}",
				     &d),
			 0);
	ck_assert_str_eq(d.u.login_resp.run_id, "r");
	ck_assert_ptr_null(d.u.login_resp.error);
	ck_assert_ptr_null(d.u.login_resp.version);
	msg_free(&d);

	/* a later duplicate key wins, as in Go */
	ck_assert_int_gt(decode_body('c',
				     "{\"proxy_name\":\"a\",\"proxy_name\":\"b\"}",
				     &d),
			 0);
	ck_assert_str_eq(d.u.close_proxy.proxy_name, "b");
	msg_free(&d);
}
END_TEST

START_TEST(decode_rejects_bad_json_and_types)
{
	static const struct {
		int type;
		const char *body;
	} bad[] = {
		{ 'o', "" },
		{ 'o', "{\"version\":" },
		{ 'o', "{}x" },
		{ 'o', "{} {}" },
		{ 'o', "[]" },
		{ 'o', "\"str\"" },
		{ 'o', "{'a':1}" },
		{ 'o', "{\"version\":1}" },
		{ 'o', "{\"version\":true}" },
		{ 'o', "{\"timestamp\":\"1\"}" },
		{ 'o', "{\"timestamp\":1.5}" },
		{ 'o', "{\"timestamp\":1e3}" },
		{ 'o', "{\"timestamp\":9223372036854775808}" },
		{ 'o', "{\"pool_count\":-1}" },
		{ 'o', "{\"pool_count\":2147483648}" },
		{ 'o', "{\"metas\":[]}" },
		{ 'o', "{\"metas\":{\"a\":1}}" },
		{ 'o', "{\"client_spec\":1}" },
		{ 'o', "{\"run_id\":\"a\\u0000b\"}" },
		/* jansson cannot represent a NUL in a key (Go could) */
		{ 'o', "{\"x\\u0000y\":1}" },
		{ 'o', "{\"os\":\"\xff\xfe\"}" },
		{ 'p', "{\"use_encryption\":1}" },
		{ 'p', "{\"use_compression\":\"true\"}" },
		{ 'p', "{\"remote_port\":65536}" },
		{ 'p', "{\"remote_port\":-1}" },
		{ 's', "{\"src_port\":70000}" },
		{ 's', "{\"dst_port\":-5}" },
		{ 's', "{\"proxy_name\":{}}" },
		{ 'h', "{\"timestamp\":null,\"privilege_key\":[]}" },
		{ '4', "{\"error\":5}" },
		{ 'r', "[]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct msg d;
		long r = decode_body(bad[i].type, bad[i].body, &d);
		ck_assert_msg(r == -EBADMSG, "%c %s -> %ld", bad[i].type,
			      bad[i].body, r);
		/* nothing left to free after an error */
		ck_assert_int_eq(d.type, 0);
	}
}
END_TEST

START_TEST(decode_unknown_type_byte)
{
	struct msg d;
	static const uint8_t one[] = { 'Z' };
	ck_assert_int_eq(msg_decode(one, 1, &d), -EBADMSG);
	size_t len;
	/* frp types this codec does not speak are unknown too */
	const int types[] = { 'v', '3', 0, 0xff, 'O' };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t *f = frame(types[i], "{}", &len);
		ck_assert_int_eq(msg_decode(f, len, &d), -EBADMSG);
		free(f);
	}
	ck_assert_int_eq(msg_decode(one, 0, &d), 0);
}
END_TEST

START_TEST(decode_length_limits)
{
	struct msg d;
	size_t len;
	uint8_t *f;

	/* decided from the header alone, before any body byte arrives */
	f = frame_n('o', MSG_MAX_BODY + 1, "", 0, &len);
	ck_assert_int_eq(msg_decode(f, len, &d), -EMSGSIZE);
	free(f);
	f = frame_n('o', -1, "", 0, &len);
	ck_assert_int_eq(msg_decode(f, len, &d), -EMSGSIZE);
	free(f);
	f = frame_n('o', INT64_MIN, "", 0, &len);
	ck_assert_int_eq(msg_decode(f, len, &d), -EMSGSIZE);
	free(f);
	f = frame_n('o', INT64_MAX, "", 0, &len);
	ck_assert_int_eq(msg_decode(f, len, &d), -EMSGSIZE);
	free(f);
	/* exactly the limit is fine: wait for the body */
	f = frame_n('o', MSG_MAX_BODY, "", 0, &len);
	ck_assert_int_eq(msg_decode(f, len, &d), 0);
	free(f);

	/* a body of exactly MSG_MAX_BODY bytes decodes */
	char *body = malloc(MSG_MAX_BODY + 1);
	ck_assert_ptr_nonnull(body);
	const char *pre = "{\"proxy_name\":\"";
	size_t pl = strlen(pre);
	memcpy(body, pre, pl);
	memset(body + pl, 'x', MSG_MAX_BODY - pl - 2);
	memcpy(body + MSG_MAX_BODY - 2, "\"}", 3);
	ck_assert_uint_eq(strlen(body), MSG_MAX_BODY);
	ck_assert_int_eq(decode_body('c', body, &d),
			 (long)(MSG_HDR_LEN + MSG_MAX_BODY));
	ck_assert_uint_eq(strlen(d.u.close_proxy.proxy_name),
			  MSG_MAX_BODY - pl - 2);
	msg_free(&d);
	free(body);
}
END_TEST

/* Every split point of a valid frame needs more bytes, with a plain buffer
 * and with an evbuffer filled a byte at a time. */
START_TEST(decode_partial_frames)
{
	struct msg m = { .type = MSG_START_WORK_CONN }, d;
	m.u.start_work_conn.proxy_name = "webcap";
	m.u.start_work_conn.src_port = 35958;
	size_t len;
	uint8_t *f = encode(&m, &len);

	for (size_t cut = 0; cut < len; cut++) {
		ck_assert_int_eq(msg_decode(f, cut, &d), 0);
		ck_assert_int_eq(d.type, 0);
	}
	ck_assert_int_eq(msg_decode(f, len, &d), (long)len);
	msg_free(&d);

	struct evbuffer *b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < len; i++) {
		ck_assert_int_eq(msg_decode_evbuffer(b, &d), 0);
		ck_assert_uint_eq(evbuffer_get_length(b), i);
		ck_assert_int_eq(evbuffer_add(b, f + i, 1), 0);
	}
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), (long)len);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_str_eq(d.u.start_work_conn.proxy_name, "webcap");
	ck_assert_int_eq(d.u.start_work_conn.src_port, 35958);
	msg_free(&d);
	evbuffer_free(b);
	free(f);
}
END_TEST

START_TEST(decode_back_to_back)
{
	size_t l1, l2, l3;
	uint8_t *f1 = frame('1', cap_login_resp, &l1);
	uint8_t *f2 = frame('r', "{}", &l2);
	uint8_t *f3 = frame('s', cap_start_work_conn, &l3);
	size_t total = l1 + l2 + l3;
	uint8_t *all = malloc(total);
	ck_assert_ptr_nonnull(all);
	memcpy(all, f1, l1);
	memcpy(all + l1, f2, l2);
	memcpy(all + l1 + l2, f3, l3);

	struct msg d;
	ck_assert_int_eq(msg_decode(all, total, &d), (long)l1);
	ck_assert_int_eq(d.type, MSG_LOGIN_RESP);
	ck_assert_str_eq(d.u.login_resp.run_id, "0816b35fbeceb540");
	msg_free(&d);
	ck_assert_int_eq(msg_decode(all + l1, total - l1, &d), (long)l2);
	ck_assert_int_eq(d.type, MSG_REQ_WORK_CONN);
	msg_free(&d);

	/* evbuffer: two whole frames plus the head of a third, where the
	 * evbuffer is built from separate chunks so frames span them */
	struct evbuffer *b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	size_t cut1 = 5, cut2 = l1 + l2 + 20;
	ck_assert_int_eq(evbuffer_add(b, all, cut1), 0);
	ck_assert_int_eq(evbuffer_add(b, all + cut1, cut2 - cut1), 0);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), (long)l1);
	ck_assert_int_eq(d.type, MSG_LOGIN_RESP);
	ck_assert_str_eq(d.u.login_resp.version, "0.54.0");
	msg_free(&d);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), (long)l2);
	ck_assert_int_eq(d.type, MSG_REQ_WORK_CONN);
	msg_free(&d);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 20);
	ck_assert_int_eq(evbuffer_add(b, all + cut2, total - cut2), 0);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), (long)l3);
	ck_assert_str_eq(d.u.start_work_conn.dst_addr, "127.0.0.1");
	ck_assert_int_eq(d.u.start_work_conn.dst_port, 16001);
	msg_free(&d);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);

	/* an error leaves the evbuffer alone */
	ck_assert_int_eq(evbuffer_add(b, "{", 1), 0);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), -EBADMSG);
	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	evbuffer_free(b);
	free(all);
	free(f1);
	free(f2);
	free(f3);
}
END_TEST

START_TEST(evbuffer_oversize_from_header)
{
	struct evbuffer *b = evbuffer_new();
	struct msg d;
	size_t len;
	uint8_t *f = frame_n('p', MSG_MAX_BODY + 1, "", 0, &len);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(evbuffer_add(b, f, 4), 0);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), 0);
	ck_assert_int_eq(evbuffer_add(b, f + 4, len - 4), 0);
	ck_assert_int_eq(msg_decode_evbuffer(b, &d), -EMSGSIZE);
	free(f);
	evbuffer_free(b);
}
END_TEST

/* ---- encoding errors ---------------------------------------------------- */

START_TEST(encode_errors_leave_buffer_untouched)
{
	struct evbuffer *b = evbuffer_new();
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(evbuffer_add(b, "x", 1), 0);

	struct msg m = { .type = 'v' };
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);
	m.type = 0;
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);

	/* body over the limit: the name alone is 10240 bytes */
	char *big = malloc(MSG_MAX_BODY + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', MSG_MAX_BODY);
	big[MSG_MAX_BODY] = '\0';
	memset(&m, 0, sizeof(m));
	m.type = MSG_CLOSE_PROXY;
	m.u.close_proxy.proxy_name = big;
	ck_assert_int_eq(msg_encode(b, &m), -EMSGSIZE);
	/* ... and the largest body that fits: {"proxy_name":"..."} */
	big[MSG_MAX_BODY - 17] = '\0';
	struct evbuffer *ok = evbuffer_new();
	ck_assert_ptr_nonnull(ok);
	ck_assert_int_eq(msg_encode(ok, &m), 0);
	ck_assert_uint_eq(evbuffer_get_length(ok), MSG_HDR_LEN + MSG_MAX_BODY);
	evbuffer_free(ok);
	free(big);

	m.u.close_proxy.proxy_name = "bad \xc3\x28 utf8";
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = MSG_START_WORK_CONN;
	m.u.start_work_conn.src_port = 65536;
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);
	m.u.start_work_conn.src_port = -1;
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = MSG_UDP_PACKET;
	m.u.udp_packet.laddr_ip = "not-an-ip";
	ck_assert_int_eq(msg_encode(b, &m), -EINVAL);
	m.u.udp_packet.laddr_ip = NULL;
	m.u.udp_packet.content_len = 8000; /* base64 > limit */
	m.u.udp_packet.content = calloc(1, 8000);
	ck_assert_ptr_nonnull(m.u.udp_packet.content);
	ck_assert_int_eq(msg_encode(b, &m), -EMSGSIZE);
	free(m.u.udp_packet.content);

	ck_assert_uint_eq(evbuffer_get_length(b), 1);
	evbuffer_free(b);
}
END_TEST

START_TEST(free_and_names)
{
	struct msg z;
	memset(&z, 0, sizeof(z));
	msg_free(&z);
	msg_free(NULL);
	ck_assert_str_eq(msg_type_name(MSG_LOGIN), "Login");
	ck_assert_str_eq(msg_type_name(MSG_REQ_WORK_CONN), "ReqWorkConn");
	ck_assert_str_eq(msg_type_name(MSG_UDP_PACKET), "UDPPacket");
	ck_assert_str_eq(msg_type_name('Z'), "Unknown");

	/* msg_free zeroes, so a second call is harmless */
	struct msg d;
	ck_assert_int_gt(decode_body('1', cap_login_resp, &d), 0);
	msg_free(&d);
	ck_assert_ptr_null(d.u.login_resp.version);
	msg_free(&d);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *g = tcase_create("golden");
	tcase_add_test(g, golden_login);
	tcase_add_test(g, golden_login_resp);
	tcase_add_test(g, golden_new_work_conn);
	tcase_add_test(g, golden_start_work_conn);
	tcase_add_test(g, golden_req_work_conn);
	tcase_add_test(g, golden_udp_packet);
	tcase_add_test(g, omitempty);
	suite_add_tcase(s, g);

	TCase *r = tcase_create("round_trip");
	tcase_add_test(r, round_trip_control_types);
	tcase_add_test(r, round_trip_utf8_and_escapes);
	tcase_add_test(r, round_trip_udp_packet);
	tcase_add_test(r, udp_packet_decode_variants);
	suite_add_tcase(s, r);

	TCase *d = tcase_create("decode");
	tcase_add_test(d, decode_any_order_unknown_and_null);
	tcase_add_test(d, decode_rejects_bad_json_and_types);
	tcase_add_test(d, decode_unknown_type_byte);
	tcase_add_test(d, decode_length_limits);
	tcase_add_test(d, decode_partial_frames);
	tcase_add_test(d, decode_back_to_back);
	tcase_add_test(d, evbuffer_oversize_from_header);
	suite_add_tcase(s, d);

	TCase *e = tcase_create("encode");
	tcase_add_test(e, encode_errors_leave_buffer_untouched);
	tcase_add_test(e, free_and_names);
	suite_add_tcase(s, e);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
