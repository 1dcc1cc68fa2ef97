/*
 * fuzz_snappy_frame.c - fuzz target for the snappy frame reader
 * (common/snappy_frame.c), which reads what a peer sends on a
 * useCompression work connection.
 *
 * Built as $(BUILD)/fuzz/fuzz_snappy_frame and run by tests/run.sh: a
 * bounded, seeded mutation run over streams our encoder writes (FUZZ_SEED,
 * FUZZ_ITERS; default 8000 inputs), or replay of files given as
 * arguments. With -DFUZZING it is a libFuzzer target instead.
 *
 * Properties checked on every input (abort() on violation):
 *  - decoding never produces more than 65536 bytes per chunk header seen;
 *  - decoding the input whole and decoding it in random pieces agree
 *    (same verdict, same bytes when accepted);
 *  - every proper prefix of an accepted stream is accepted too (a reader
 *    waits for the rest, it never fails early).
 */
#include "snappy_frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_snappy_frame: %s:%d: %s\n",   \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* Decode data in pieces of at most `piece` bytes (0 = whole). Returns the
 * verdict; out gets the bytes. */
static int decode(const uint8_t *data, size_t size, size_t piece,
		  struct evbuffer *out)
{
	struct snappy_frame_dec d = {0};
	struct evbuffer *in = evbuffer_new();
	CHECK(in);
	int rc = 0;
	size_t off = 0;
	do {
		size_t k = piece ? piece : size - off;
		if (k > size - off)
			k = size - off;
		evbuffer_add(in, data + off, k);
		off += k;
		rc = snappy_frame_decode(&d, in, out, 0);
	} while (rc == 0 && off < size);
	evbuffer_free(in);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *a = evbuffer_new(), *b = evbuffer_new();
	CHECK(a && b);
	int ra = decode(data, size, 0, a);
	CHECK(ra == 0 || ra == -EBADMSG);
	/* each chunk header is 4 bytes and yields at most one block */
	CHECK(evbuffer_get_length(a) <= (size / 4 + 1) * (size_t)SNAPPY_FRAME_BLOCK);
	size_t piece = 1 + (size ? (size_t)data[size / 2] % 97 : 0);
	int rb = decode(data, size, piece, b);
	CHECK(ra == rb);
	if (ra == 0) {
		size_t n = evbuffer_get_length(a);
		CHECK(n == evbuffer_get_length(b));
		CHECK(n == 0 || memcmp(evbuffer_pullup(a, -1),
				       evbuffer_pullup(b, -1), n) == 0);
		if (size > 1) {
			struct evbuffer *c = evbuffer_new();
			CHECK(decode(data, size - 1 - (size_t)data[0] % (size - 1), 0,
				     c) == 0);
			evbuffer_free(c);
		}
	}
	evbuffer_free(a);
	evbuffer_free(b);
	return 0;
}

#ifndef FUZZING

/* A valid stream from our encoder: a few writes of mixed content. */
static size_t make_stream(uint8_t *buf, size_t cap)
{
	struct snappy_frame_enc e = {0};
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	int writes = 1 + (int)(rnd() % 3);
	for (int w = 0; w < writes; w++) {
		size_t n = rnd() % 3 == 0 ? rnd() % 70000 : rnd() % 300;
		uint8_t tmp[256];
		int kind = (int)(rnd() % 3);
		for (size_t i = 0; i < n;) {
			size_t k = n - i < sizeof(tmp) ? n - i : sizeof(tmp);
			for (size_t j = 0; j < k; j++)
				tmp[j] = kind == 0   ? (uint8_t)"frp!"[(i + j) % 4]
					 : kind == 1 ? (uint8_t)rnd()
						     : (uint8_t)((i + j) / 50);
			evbuffer_add(in, tmp, k);
			i += k;
		}
		CHECK(snappy_frame_encode(&e, in, out) == 0);
	}
	size_t len = evbuffer_get_length(out);
	if (len > cap)
		len = cap;
	evbuffer_remove(out, buf, len);
	evbuffer_free(in);
	evbuffer_free(out);
	return len;
}

static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
	int muts = (int)(rnd() % 4);
	for (int k = 0; k < muts && *len > 0; k++) {
		size_t pos = rnd() % *len;
		switch (rnd() % 6) {
		case 0:
			buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			buf[pos] = (uint8_t)rnd();
			break;
		case 2: /* truncate */
			*len = pos;
			break;
		case 3: /* a chunk type byte somewhere */
			buf[pos] = (uint8_t)(rnd() % 2 ? rnd() % 4 : 0x80 + rnd() % 128);
			break;
		case 4: /* a large or small 24-bit length */
			if (pos + 3 <= *len) {
				uint32_t v = rnd() % 2 ? rnd() & 0xffffff : rnd() % 16;
				buf[pos] = (uint8_t)v;
				buf[pos + 1] = (uint8_t)(v >> 8);
				buf[pos + 2] = (uint8_t)(v >> 16);
			}
			break;
		default: /* duplicate a slice */
			if (*len * 2 <= cap) {
				size_t n = 1 + rnd() % (*len - pos);
				memmove(buf + pos + n, buf + pos, *len - pos);
				*len += n;
			}
			break;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			FILE *f = fopen(argv[i], "rb");
			if (!f) {
				perror(argv[i]);
				return 1;
			}
			static uint8_t buf[1 << 20];
			size_t n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
		}
		return 0;
	}
	const char *s = getenv("FUZZ_SEED");
	const char *it = getenv("FUZZ_ITERS");
	if (s)
		rng = strtoull(s, NULL, 0) | 1;
	long iters = it ? strtol(it, NULL, 10) : 8000;
	static uint8_t buf[300000];
	for (long i = 0; i < iters; i++) {
		size_t len = make_stream(buf, sizeof(buf) / 2);
		if (i % 8)
			mutate(buf, &len, sizeof(buf));
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz_snappy_frame: %ld inputs ok\n", iters);
	return 0;
}

#endif
