/*
 * msg.h - frp v1 control messages: [type byte][int64 BE length][JSON body].
 *
 * Sans-I/O codec. msg_decode() takes bytes from an evbuffer-like contiguous
 * view and reports how much it consumed; msg_encode() appends one frame to an
 * evbuffer. JSON field names are frp's snake_case tags (pkg/msg/msg.go);
 * absent fields decode as zero/NULL; unknown JSON fields are ignored (frp adds
 * fields over versions), but a field of the wrong JSON type is an error.
 * Bodies longer than MSG_MAX_BODY or negative lengths are errors.
 */
#ifndef MSG_H
#define MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define MSG_MAX_BODY 10240
#define MSG_HDR_LEN 9

enum msg_type {
	MSG_LOGIN = 'o',
	MSG_LOGIN_RESP = '1',
	MSG_NEW_PROXY = 'p',
	MSG_NEW_PROXY_RESP = '2',
	MSG_CLOSE_PROXY = 'c',
	MSG_NEW_WORK_CONN = 'w',
	MSG_REQ_WORK_CONN = 'r',
	MSG_START_WORK_CONN = 's',
	MSG_PING = 'h',
	MSG_PONG = '4',
	MSG_UDP_PACKET = 'u',
};

struct msg_login {
	char *version, *hostname, *os, *arch, *user, *privilege_key, *run_id,
		*client_id;
	int64_t timestamp;
	int pool_count;
};

struct msg_login_resp {
	char *version, *run_id, *error;
};

struct msg_new_proxy {
	char *proxy_name, *proxy_type;
	bool use_encryption, use_compression;
	int remote_port;
};

struct msg_new_proxy_resp {
	char *proxy_name, *remote_addr, *error;
};

struct msg_close_proxy {
	char *proxy_name;
};

struct msg_new_work_conn {
	char *run_id, *privilege_key;
	int64_t timestamp;
};

struct msg_start_work_conn {
	char *proxy_name, *src_addr, *dst_addr, *error;
	int src_port, dst_port;
};

struct msg_ping {
	char *privilege_key;
	int64_t timestamp;
};

struct msg_pong {
	char *error;
};

/** UDPPacket: content is raw bytes (base64 on the wire, field "c"); l and r
 *  are {"IP": "...", "Port": n, "Zone": ""} addresses. */
struct msg_udp_packet {
	uint8_t *content;
	size_t content_len;
	char *laddr_ip, *raddr_ip;
	int laddr_port, raddr_port;
};

/** A decoded message: type selects the union member. */
struct msg {
	enum msg_type type;
	union {
		struct msg_login login;
		struct msg_login_resp login_resp;
		struct msg_new_proxy new_proxy;
		struct msg_new_proxy_resp new_proxy_resp;
		struct msg_close_proxy close_proxy;
		struct msg_new_work_conn new_work_conn;
		struct msg_start_work_conn start_work_conn;
		struct msg_ping ping;
		struct msg_pong pong;
		struct msg_udp_packet udp_packet;
	} u;
};

/** Append one frame for m to out. Returns 0 or -errno (-EINVAL on an unknown
 *  type, -EMSGSIZE when the body would exceed MSG_MAX_BODY). */
int msg_encode(struct evbuffer *out, const struct msg *m);

/** Try to decode one frame from buf[0..len).
 *  Returns > 0: bytes consumed, *m filled (free with msg_free);
 *          0 : need more bytes (nothing consumed);
 *        < 0 : -EBADMSG (bad JSON / wrong field types / unknown type byte),
 *              -EMSGSIZE (length < 0 or > MSG_MAX_BODY). The connection should
 *              be dropped. */
long msg_decode(const uint8_t *buf, size_t len, struct msg *m);

/** Same as msg_decode, reading from (and draining) an evbuffer. */
long msg_decode_evbuffer(struct evbuffer *in, struct msg *m);

/** Free the strings inside m (not m itself). Safe on a zeroed msg. */
void msg_free(struct msg *m);

/** Printable name of a type ("Login", ...) for logs. */
const char *msg_type_name(int type);

#endif
