/*
 * fuzz_msg.c - fuzz target for the frp v1 message codec (common/msg.c).
 *
 * Built by the Makefile as $(BUILD)/fuzz/fuzz_msg and run by tests/run.sh.
 * Two ways to build it by hand:
 *
 *  plain program (bounded seeded mutation run, or replay files):
 *    make BUILD=/tmp/b /tmp/b/libcommon.a
 *    gcc -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined \
 *        -Icommon $(pkg-config --cflags libevent jansson) \
 *        tests/fuzz/fuzz_msg.c /tmp/b/libcommon.a \
 *        $(pkg-config --libs libevent jansson) -lmbedcrypto -o /tmp/fuzz_msg
 *    /tmp/fuzz_msg               # 20000 mutated inputs (FUZZ_SEED, FUZZ_ITERS)
 *    /tmp/fuzz_msg crash-file... # replay given inputs
 *
 *  libFuzzer:
 *    clang -DFUZZING -g -O1 -fsanitize=fuzzer,address,undefined -Icommon \
 *        $(pkg-config --cflags libevent jansson) tests/fuzz/fuzz_msg.c \
 *        common/msg.c $(pkg-config --libs libevent jansson) -o fuzz_msg
 *
 * Properties checked on every input (abort() on violation):
 *  - msg_decode never claims more bytes than it was given, and a prefix of
 *    a complete frame reports "need more" (0), never an error;
 *  - msg_decode_evbuffer over a fragmented evbuffer agrees with msg_decode
 *    and drains exactly what it reports;
 *  - a decoded message re-encodes (or is -EMSGSIZE, since encoding may add
 *    client_spec), and the canonical form is a fixed point:
 *    encode(decode(encode(m))) == encode(m).
 */
#include "msg.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz_msg: %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                           \
			abort();                                            \
		}                                                           \
	} while (0)

/* Encode m into a fresh evbuffer; returns the rc, bytes in *out. */
static int encode_to(const struct msg *m, struct evbuffer **out)
{
	*out = evbuffer_new();
	CHECK(*out);
	return msg_encode(*out, m);
}

static int evbuffers_equal(struct evbuffer *a, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(a);
	if (n != evbuffer_get_length(b))
		return 0;
	if (n == 0)
		return 1;
	return memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0;
}

static void check_canonical(const struct msg *m)
{
	struct evbuffer *e1, *e2;
	struct msg m2;
	int rc = encode_to(m, &e1);

	CHECK(rc == 0 || rc == -EMSGSIZE);
	if (rc == 0) {
		size_t n = evbuffer_get_length(e1);
		const uint8_t *p = evbuffer_pullup(e1, -1);
		CHECK(n >= MSG_HDR_LEN && p[0] == (uint8_t)m->type);
		CHECK(msg_decode(p, n, &m2) == (long)n);
		CHECK(m2.type == m->type);
		CHECK(encode_to(&m2, &e2) == 0);
		CHECK(evbuffers_equal(e1, e2));
		evbuffer_free(e2);
		msg_free(&m2);
	}
	evbuffer_free(e1);
}

static void check_evbuffer(const uint8_t *data, size_t size, long want)
{
	struct evbuffer *b = evbuffer_new();
	struct msg m;
	CHECK(b);
	/* Fragment the input into chunks whose sizes come from the input so
	 * pullup has to gather across chains. */
	size_t off = 0, step = size ? (size_t)data[size - 1] % 7 + 1 : 1;
	while (off < size) {
		size_t k = size - off < step ? size - off : step;
		CHECK(evbuffer_add(b, data + off, k) == 0);
		off += k;
		step = step * 3 % 11 + 1;
	}
	long r = msg_decode_evbuffer(b, &m);
	CHECK(r == want);
	CHECK(evbuffer_get_length(b) == (r > 0 ? size - (size_t)r : size));
	if (r > 0)
		msg_free(&m);
	evbuffer_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	long r = msg_decode(data, size, &m);

	CHECK(r <= (long)size);
	CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE || r == -ENOMEM ||
	      r >= MSG_HDR_LEN);
	check_evbuffer(data, size, r);
	if (r > 0) {
		/* Every proper prefix of a good frame only asks for more. */
		struct msg p;
		for (size_t cut = 0; cut < (size_t)r; cut += 1 + cut / 8)
			CHECK(msg_decode(data, cut, &p) == 0);
		check_canonical(&m);
		msg_free(&m);
	}
	return 0;
}

#ifndef FUZZING

static uint64_t rng;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static const struct {
	char type;
	const char *body;
} seeds[] = {
	{ 'o', "{\"version\":\"0.54.0\",\"os\":\"linux\",\"arch\":\"amd64\","
	       "\"privilege_key\":\"3a605ce248b756ef60c59a96268d490b\","
	       "\"timestamp\":1795345545,\"client_spec\":{},\"pool_count\":1}" },
	{ '1', "{\"version\":\"0.54.0\",\"run_id\":\"0816b35fbeceb540\"}" },
	{ 'p', "{\"proxy_name\":\"web\",\"proxy_type\":\"tcp\","
	       "\"use_encryption\":true,\"metas\":{\"a\":\"b\"},"
	       "\"remote_port\":6000}" },
	{ '2', "{\"proxy_name\":\"web\",\"remote_addr\":\":6000\"}" },
	{ 'c', "{\"proxy_name\":\"web\"}" },
	{ 'w', "{\"run_id\":\"0816b35fbeceb540\",\"timestamp\":-1}" },
	{ 'r', "{}" },
	{ 's', "{\"proxy_name\":\"webcap\",\"src_addr\":\"127.0.0.1\","
	       "\"dst_addr\":\"127.0.0.1\",\"src_port\":35958,"
	       "\"dst_port\":16001}" },
	{ 'h', "{\"privilege_key\":\"k\",\"timestamp\":1}" },
	{ '4', "{\"error\":\"\\u00e9\\n\"}" },
	{ 'u', "{\"c\":\"AP8Q\",\"l\":{\"IP\":\"127.0.0.1\",\"Port\":1234,"
	       "\"Zone\":\"\"},\"r\":{\"IP\":\"::1\",\"Port\":53,"
	       "\"Zone\":\"\"}}" },
};

/* Fragments spliced into bodies to reach type and range checks. */
static const char *tokens[] = {
	"null", "true", "-1", "65536", "1e3", "\"\\u0000\"", "{}", "[]",
	"9223372036854775808", "\"", ":", ",", "\"QQ==\"", "\"\xff\"",
	"{\"IP\":\"x\"}", "0", "\"l\"", "\"c\"",
};

static size_t build_frame(uint8_t *buf, size_t cap)
{
	size_t i = rnd() % (sizeof(seeds) / sizeof(seeds[0]));
	size_t n = strlen(seeds[i].body);
	buf[0] = (uint8_t)seeds[i].type;
	memcpy(buf + MSG_HDR_LEN, seeds[i].body, n);
	size_t len = MSG_HDR_LEN + n;

	int muts = (int)(rnd() % 4);
	for (int k = 0; k < muts && len > MSG_HDR_LEN; k++) {
		size_t pos = MSG_HDR_LEN + rnd() % (len - MSG_HDR_LEN);
		switch (rnd() % 5) {
		case 0: /* flip a bit */
			buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* delete a byte */
			memmove(buf + pos, buf + pos + 1, len - pos - 1);
			len--;
			break;
		case 2: /* random byte */
			buf[pos] = (uint8_t)rnd();
			break;
		default: { /* splice a token */
			const char *t =
				tokens[rnd() % (sizeof(tokens) / sizeof(*tokens))];
			size_t tl = strlen(t);
			if (len + tl > cap)
				break;
			memmove(buf + pos + tl, buf + pos, len - pos);
			memcpy(buf + pos, t, tl);
			len += tl;
			break;
		}
		}
	}
	/* Mostly an honest length; sometimes a lie or a wild header. */
	uint64_t blen = len - MSG_HDR_LEN;
	switch (rnd() % 16) {
	case 0:
		blen = (uint64_t)rnd() << 32 | rnd();
		break;
	case 1:
		blen += rnd() % 3;
		break;
	case 2:
		buf[0] = (uint8_t)rnd();
		break;
	}
	for (int b = 0; b < 8; b++)
		buf[1 + b] = (uint8_t)(blen >> (56 - 8 * b));
	/* Occasionally truncate, or append a second frame's head. */
	if (rnd() % 8 == 0)
		len = rnd() % (len + 1);
	else if (rnd() % 8 == 0 && len + 4 <= cap) {
		memcpy(buf + len, "r\0\0\0", 4);
		len += 4;
	}
	return len;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int bad = 0;
		for (int i = 1; i < argc; i++)
			bad |= run_file(argv[i]);
		return bad;
	}
	const char *s = getenv("FUZZ_SEED"), *it = getenv("FUZZ_ITERS");
	rng = s ? strtoull(s, NULL, 0) : 0x5eed5eed12345678ull;
	if (rng == 0)
		rng = 1;
	long iters = it ? strtol(it, NULL, 0) : 20000;
	static uint8_t buf[4096];
	for (long i = 0; i < iters; i++) {
		size_t n = build_frame(buf, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, n);
	}
	/* A body of exactly the limit and one byte over it. */
	static uint8_t big[MSG_HDR_LEN + MSG_MAX_BODY + 1];
	for (int extra = 0; extra <= 1; extra++) {
		size_t blen = MSG_MAX_BODY + (size_t)extra;
		big[0] = 'c';
		for (int b = 0; b < 8; b++)
			big[1 + b] = (uint8_t)((uint64_t)blen >> (56 - 8 * b));
		memset(big + MSG_HDR_LEN, ' ', blen);
		memcpy(big + MSG_HDR_LEN, "{}", 2);
		LLVMFuzzerTestOneInput(big, MSG_HDR_LEN + blen);
	}
	printf("fuzz_msg: %ld inputs ok\n", iters + 2);
	return 0;
}

#endif
