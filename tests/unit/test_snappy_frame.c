/*
 * test_snappy_frame.c - snappy's framing format: a stream written by frp's
 * own implementation (captured), hand-made vectors from the spec, every
 * size class round trip, chunked input, and what a reader must reject.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "snappy_frame.h"
#include "workcrypt.h"

/* frps 0.54 (stock, Go's snappy writer) relaying a user's two writes to a
 * useCompression proxy: "hello, snappy framing! " x 100, then 200 random
 * bytes. Captured on the work connection (tcpMux off, TLS off), after the
 * StartWorkConn message. A compressed chunk, then an uncompressed one. */
static const uint8_t frp_stream[] = {
	0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, 0x00, 0x8a,
	0x00, 0x00, 0xe0, 0xc2, 0xe1, 0xa5, 0xfc, 0x11, 0x58, 0x68, 0x65, 0x6c,
	0x6c, 0x6f, 0x2c, 0x20, 0x73, 0x6e, 0x61, 0x70, 0x70, 0x79, 0x20, 0x66,
	0x72, 0x61, 0x6d, 0x69, 0x6e, 0x67, 0x21, 0x20, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe, 0x17, 0x00, 0xfe,
	0x17, 0x00, 0xfe, 0x17, 0x00, 0x92, 0x17, 0x00, 0x01, 0xcc, 0x00, 0x00,
	0xd8, 0x45, 0xc8, 0xd8, 0x52, 0xf2, 0x26, 0x65, 0xa6, 0x0c, 0x12, 0xd2,
	0x89, 0x18, 0x5d, 0x95, 0x0e, 0xe8, 0x81, 0x36, 0x09, 0x16, 0x6f, 0x6b,
	0x11, 0x3d, 0x17, 0x8d, 0x6c, 0x0f, 0xd3, 0x90, 0x1f, 0xf2, 0x39, 0xa1,
	0xa0, 0x95, 0xf2, 0x0f, 0x93, 0x95, 0x65, 0x0c, 0xf9, 0x38, 0x0b, 0x8e,
	0xdb, 0x22, 0x4a, 0x6b, 0x24, 0x8a, 0x1e, 0x92, 0x4e, 0x8f, 0xd0, 0xae,
	0x2e, 0x1a, 0x94, 0x92, 0xa3, 0x30, 0x5f, 0x18, 0x8c, 0xb6, 0x10, 0x90,
	0x0f, 0x9e, 0x34, 0x7f, 0xae, 0x88, 0x6d, 0xc6, 0x50, 0x77, 0x95, 0xec,
	0x74, 0x5c, 0x4c, 0x3f, 0xcb, 0x2e, 0xb2, 0xc7, 0x3e, 0x14, 0x93, 0x4c,
	0x86, 0x7e, 0xe0, 0x57, 0xba, 0x72, 0x49, 0x9b, 0xfa, 0x12, 0x1e, 0x83,
	0x6b, 0x2a, 0xc1, 0x57, 0x26, 0xee, 0x7d, 0x6b, 0x0a, 0xf6, 0xab, 0x13,
	0xc3, 0x8e, 0x92, 0xca, 0xe0, 0xd1, 0x50, 0x57, 0xb1, 0x59, 0x98, 0x7f,
	0x94, 0xcc, 0x74, 0x11, 0xd7, 0x17, 0xf1, 0x45, 0x79, 0xb2, 0xaa, 0x10,
	0x0f, 0xbb, 0xb3, 0x4f, 0xa5, 0x93, 0xfe, 0xae, 0xd2, 0x72, 0x48, 0xb7,
	0x62, 0xe3, 0xab, 0x58, 0x05, 0xf0, 0x76, 0x5a, 0x2b, 0x9c, 0x1d, 0x7e,
	0x0f, 0x37, 0xc4, 0x49, 0x21, 0xbd, 0x3f, 0x65, 0x64, 0xea, 0xdf, 0x7f,
	0x14, 0x2a, 0x72, 0x66, 0x8c, 0x47, 0xe2, 0x23, 0xd1, 0x6e, 0xdd, 0x8c,
	0x47, 0xb4, 0x6a, 0xfc, 0x5b, 0xae, 0xe2, 0x61, 0xf5, 0x3b, 0x26, 0x15,
};
#define FRP_TEXT "hello, snappy framing! "
#define FRP_REPEAT 100
#define FRP_RANDOM_AT 152 /* offset of the uncompressed chunk */

static struct evbuffer *buf_of(const void *p, size_t n)
{
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, p, n);
	return b;
}

static int decode_all(const uint8_t *p, size_t n, struct evbuffer *out)
{
	struct snappy_frame_dec d = {0};
	struct evbuffer *in = buf_of(p, n);
	int rc = snappy_frame_decode(&d, in, out, 0);
	if (rc == 0 && evbuffer_get_length(in) != 0)
		rc = -EAGAIN; /* a partial chunk left */
	evbuffer_free(in);
	return rc;
}

START_TEST(crc32c_known_values)
{
	/* RFC 3720 B.4 test vectors */
	uint8_t z[32] = {0}, f[32], inc[32];
	memset(f, 0xff, sizeof(f));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	ck_assert_uint_eq(snappy_frame_crc32c(z, 32), 0x8a9136aa);
	ck_assert_uint_eq(snappy_frame_crc32c(f, 32), 0x62a8ab43);
	ck_assert_uint_eq(snappy_frame_crc32c(inc, 32), 0x46dd794e);
	ck_assert_uint_eq(snappy_frame_crc32c((const uint8_t *)"123456789", 9),
			  0xe3069283);
}
END_TEST

START_TEST(frp_written_stream_decodes)
{
	struct evbuffer *out = evbuffer_new();
	ck_assert_int_eq(decode_all(frp_stream, sizeof(frp_stream), out), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), strlen(FRP_TEXT) * FRP_REPEAT + 200);
	const char *p = (const char *)evbuffer_pullup(out, -1);
	for (int i = 0; i < FRP_REPEAT; i++)
		ck_assert(memcmp(p + i * strlen(FRP_TEXT), FRP_TEXT, strlen(FRP_TEXT)) == 0);
	ck_assert(memcmp(p + strlen(FRP_TEXT) * FRP_REPEAT, frp_stream + FRP_RANDOM_AT + 8,
			 200) == 0);
	evbuffer_free(out);

	/* byte by byte: partial chunks wait, the result is the same */
	struct snappy_frame_dec d = {0};
	struct evbuffer *in = evbuffer_new();
	out = evbuffer_new();
	for (size_t i = 0; i < sizeof(frp_stream); i++) {
		evbuffer_add(in, frp_stream + i, 1);
		ck_assert_int_eq(snappy_frame_decode(&d, in, out, 0), 0);
	}
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), strlen(FRP_TEXT) * FRP_REPEAT + 200);
	evbuffer_free(in);
	evbuffer_free(out);
}
END_TEST

/* Where the format leaves no choice, our writer is byte-identical to frp's:
 * the stream identifier and an uncompressed chunk (type, length, masked
 * CRC-32C, bytes). */
START_TEST(writer_matches_frp_bytes)
{
	struct snappy_frame_enc e = {0};
	struct evbuffer *in = buf_of(frp_stream + FRP_RANDOM_AT + 8, 200);
	struct evbuffer *out = evbuffer_new();
	ck_assert_int_eq(snappy_frame_encode(&e, in, out), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), 10 + 8 + 200);
	const uint8_t *o = evbuffer_pullup(out, -1);
	ck_assert(memcmp(o, frp_stream, 10) == 0);
	ck_assert(memcmp(o + 10, frp_stream + FRP_RANDOM_AT, 208) == 0);
	evbuffer_free(in);
	evbuffer_free(out);
}
END_TEST

/* Hand-made from the spec: skippable and padding chunks are skipped, a
 * second stream identifier is fine (concatenated streams), an empty
 * uncompressed chunk is fine. */
START_TEST(spec_vectors)
{
	static const uint8_t ok[] = {
		0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y',
		0x80, 0x03, 0x00, 0x00, 1, 2, 3,         /* skippable */
		0xfe, 0x02, 0x00, 0x00, 0, 0,             /* padding */
		0x01, 0x07, 0x00, 0x00, 0, 0, 0, 0, 'a', 'b', 'c', /* CRC below */
		0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y',
		0x01, 0x04, 0x00, 0x00, 0, 0, 0, 0,       /* empty, CRC below */
	};
	uint8_t v[sizeof(ok)];
	memcpy(v, ok, sizeof(v));
	uint32_t c = snappy_frame_mask(snappy_frame_crc32c((const uint8_t *)"abc", 3));
	for (int i = 0; i < 4; i++)
		v[27 + i] = (uint8_t)(c >> (8 * i));
	c = snappy_frame_mask(snappy_frame_crc32c(NULL, 0));
	for (int i = 0; i < 4; i++)
		v[48 + i] = (uint8_t)(c >> (8 * i));
	struct evbuffer *out = evbuffer_new();
	ck_assert_int_eq(decode_all(v, sizeof(v), out), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), 3);
	ck_assert(memcmp(evbuffer_pullup(out, -1), "abc", 3) == 0);
	evbuffer_free(out);

	/* what must be refused */
	struct { const char *what; size_t off; uint8_t val; size_t len; } bad[] = {
		{"no stream identifier", 0, 0x01, 0},
		{"wrong identifier text", 9, 'y', 0},
		{"identifier length 7", 1, 0x07, 0},
		{"reserved unskippable 0x02", 23, 0x02, 0},
		{"reserved unskippable 0x7f", 23, 0x7f, 0},
		{"bad CRC", 27, 0x00, 0},
		{"data chunk shorter than its CRC", 24, 0x03, 0},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t w[sizeof(v)];
		memcpy(w, v, sizeof(w));
		if (bad[i].off == 0)
			w[0] = bad[i].val;
		else
			w[bad[i].off] ^= (uint8_t)(bad[i].val ? bad[i].val ^ w[bad[i].off] : 0xff);
		out = evbuffer_new();
		ck_assert_msg(decode_all(w, sizeof(w), out) == -EBADMSG, "%s accepted",
			      bad[i].what);
		evbuffer_free(out);
	}
	/* an uncompressed chunk over 65536 bytes, a compressed block whose
	 * header announces more than 65536 */
	static const uint8_t big_u[] = {0xff, 6, 0, 0, 's', 'N', 'a', 'P', 'p', 'Y',
					0x01, 0x05, 0x00, 0x01};
	out = evbuffer_new();
	ck_assert_int_eq(decode_all(big_u, sizeof(big_u), out), -EBADMSG);
	static const uint8_t big_c[] = {0xff, 6, 0, 0, 's', 'N', 'a', 'P', 'p', 'Y',
					0x00, 0x0a, 0x00, 0x00, 0, 0, 0, 0,
					0x81, 0x80, 0x04, 0, 0, 0}; /* varint 65537 */
	ck_assert_int_eq(decode_all(big_c, sizeof(big_c), out), -EBADMSG);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
	evbuffer_free(out);
}
END_TEST

static uint8_t data_byte(size_t i, int kind)
{
	if (kind == 0)
		return (uint8_t)"abcdefgh"[i % 8]; /* compresses */
	uint32_t x = (uint32_t)i * 2654435761u;
	return (uint8_t)(x >> 13 ^ x >> 5); /* does not */
}

/* Every size class: empty, 1 byte, around the block size, several blocks,
 * compressible and not; fed to the decoder in odd pieces. */
START_TEST(round_trip_sizes)
{
	static const size_t sizes[] = {0, 1, 7, 8, 100, 4095, 65535, 65536,
				       65537, 131072, 200001, 1 << 20};
	for (int kind = 0; kind < 2; kind++)
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			size_t n = sizes[si];
			uint8_t *src = malloc(n + 1);
			for (size_t i = 0; i < n; i++)
				src[i] = data_byte(i, kind);
			struct snappy_frame_enc e = {0};
			struct evbuffer *in = buf_of(src, n), *wire = evbuffer_new();
			ck_assert_int_eq(snappy_frame_encode(&e, in, wire), 0);
			ck_assert_uint_eq(evbuffer_get_length(in), 0);
			size_t wlen = evbuffer_get_length(wire);
			if (kind == 0 && n >= 4096)
				ck_assert_uint_lt(wlen, n / 4);
			if (kind == 1 && n > 0) /* stored: at most headers on top */
				ck_assert_uint_le(wlen, n + 10 + 8 * (n / 65536 + 1));
			struct snappy_frame_dec d = {0};
			struct evbuffer *piece = evbuffer_new(), *out = evbuffer_new();
			size_t step = 1 + si * 997;
			while (evbuffer_get_length(wire) > 0) {
				evbuffer_remove_buffer(wire, piece, step);
				ck_assert_int_eq(snappy_frame_decode(&d, piece, out, 0), 0);
			}
			ck_assert_uint_eq(evbuffer_get_length(piece), 0);
			ck_assert_uint_eq(evbuffer_get_length(out), n);
			if (n)
				ck_assert(memcmp(evbuffer_pullup(out, -1), src, n) == 0);
			evbuffer_free(in);
			evbuffer_free(wire);
			evbuffer_free(piece);
			evbuffer_free(out);
			free(src);
		}
}
END_TEST

/* max_out bounds what one call produces (the filter's read watermark). */
START_TEST(decode_respects_bound)
{
	size_t n = 5 * 65536;
	uint8_t *src = calloc(1, n);
	struct snappy_frame_enc e = {0};
	struct evbuffer *in = buf_of(src, n), *wire = evbuffer_new(), *out = evbuffer_new();
	ck_assert_int_eq(snappy_frame_encode(&e, in, wire), 0);
	struct snappy_frame_dec d = {0};
	ck_assert_int_eq(snappy_frame_decode(&d, wire, out, 1000), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), 65536); /* one block */
	ck_assert_int_eq(snappy_frame_decode(&d, wire, out, 0), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), n);
	evbuffer_free(in);
	evbuffer_free(wire);
	evbuffer_free(out);
	free(src);
}
END_TEST

/* As a filter, alone and stacked over useEncryption's filter (frp's
 * order), over a socketpair: 8 MiB of half-compressible bytes arrive
 * intact. Stacked filters call back into each other while a block is
 * being committed; a block must never be framed twice. */
static size_t f_got;
static int f_bad;
static uint8_t f_pat(size_t i) { return (uint8_t)(i * 7 + (i >> 11)); }
static void f_read(struct bufferevent *b, void *a)
{
	(void)a;
	uint8_t buf[65536];
	size_t n;
	while ((n = bufferevent_read(b, buf, sizeof(buf))) > 0) {
		for (size_t i = 0; i < n; i++)
			if (buf[i] != f_pat(f_got + i))
				f_bad++;
		f_got += n;
	}
}

static void filter_case(int stacked)
{
	const size_t total = 8u << 20;
	struct event_base *base = event_base_new();
	int fd[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	evutil_make_socket_nonblocking(fd[0]);
	evutil_make_socket_nonblocking(fd[1]);
	struct bufferevent *a = bufferevent_socket_new(base, fd[0], BEV_OPT_CLOSE_ON_FREE);
	struct bufferevent *b = bufferevent_socket_new(base, fd[1], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_enable(a, EV_READ | EV_WRITE);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	uint8_t key[16] = {1, 2, 3};
	struct bufferevent *ca = NULL, *cb = NULL, *ua = a, *ub = b;
	if (stacked) {
		ua = ca = workcrypt_new(a, key);
		ub = cb = workcrypt_new(b, key);
	}
	struct bufferevent *za = snappy_frame_bev_new(ua), *zb = snappy_frame_bev_new(ub);
	ck_assert(za && zb);
	f_got = 0;
	f_bad = 0;
	bufferevent_setcb(zb, f_read, NULL, NULL, NULL);
	bufferevent_enable(zb, EV_READ);
	size_t off = 0;
	uint8_t buf[65536];
	for (long spins = 0; f_got < total && spins < 2000000; spins++) {
		if (off < total &&
		    evbuffer_get_length(bufferevent_get_output(za)) < (1u << 20)) {
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = f_pat(off + i);
			bufferevent_write(za, buf, sizeof(buf));
			off += sizeof(buf);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_uint_eq(f_got, total);
	ck_assert_int_eq(f_bad, 0);
	bufferevent_free(za);
	bufferevent_free(zb);
	if (stacked) {
		bufferevent_free(ca);
		bufferevent_free(cb);
	}
	bufferevent_free(a);
	bufferevent_free(b);
	event_base_free(base);
}

START_TEST(filter_alone) { filter_case(0); }
END_TEST

START_TEST(filter_over_encryption) { filter_case(1); }
END_TEST

int main(void)
{
	Suite *s = suite_create("snappy_frame");
	TCase *tc = tcase_create("snappy_frame");
	tcase_add_test(tc, crc32c_known_values);
	tcase_add_test(tc, frp_written_stream_decodes);
	tcase_add_test(tc, writer_matches_frp_bytes);
	tcase_add_test(tc, spec_vectors);
	tcase_add_test(tc, round_trip_sizes);
	tcase_add_test(tc, decode_respects_bound);
	tcase_add_test(tc, filter_alone);
	tcase_add_test(tc, filter_over_encryption);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
