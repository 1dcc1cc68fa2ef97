#include "kcp_aesni.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <wmmintrin.h>

#define AESNI_TARGET __attribute__((target("aes,sse2")))

bool kcp_aesni_usable(void)
{
	static int state; /* 0 unknown, 1 yes, 2 no */
	if (!state) {
		__builtin_cpu_init();
		state = __builtin_cpu_supports("aes") ? 1 : 2;
	}
	return state == 1;
}

AESNI_TARGET static inline __m128i enc1(const __m128i *k, int nr, __m128i b)
{
	b = _mm_xor_si128(b, k[0]);
	for (int r = 1; r < nr; r++)
		b = _mm_aesenc_si128(b, k[r]);
	return _mm_aesenclast_si128(b, k[nr]);
}

AESNI_TARGET void kcp_aesni_cfb(const mbedtls_aes_context *ctx, uint8_t *buf,
				size_t len, const uint8_t iv[16], bool enc)
{
	__m128i k[15];
	int nr = ctx->nr;
	for (int r = 0; r <= nr; r++)
		k[r] = _mm_loadu_si128((const __m128i *)(ctx->rk + 4 * r));
	__m128i fb = _mm_loadu_si128((const __m128i *)iv);
	size_t off = 0;
	if (enc) {
		for (; off + 16 <= len; off += 16) {
			__m128i p = _mm_loadu_si128((const __m128i *)(buf + off));
			fb = _mm_xor_si128(p, enc1(k, nr, fb));
			_mm_storeu_si128((__m128i *)(buf + off), fb);
		}
	} else {
		/* Eight independent blocks per round keep the AES unit busy. */
		for (; off + 128 <= len; off += 128) {
			__m128i c[8], s[8];
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				c[i] = _mm_loadu_si128((const __m128i *)(buf + off + 16 * i));
			s[0] = _mm_xor_si128(fb, k[0]);
#pragma GCC unroll 8
			for (int i = 1; i < 8; i++)
				s[i] = _mm_xor_si128(c[i - 1], k[0]);
			for (int r = 1; r < nr; r++) {
				__m128i kr = k[r];
#pragma GCC unroll 8
				for (int i = 0; i < 8; i++)
					s[i] = _mm_aesenc_si128(s[i], kr);
			}
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++) {
				s[i] = _mm_aesenclast_si128(s[i], k[nr]);
				_mm_storeu_si128((__m128i *)(buf + off + 16 * i),
						 _mm_xor_si128(c[i], s[i]));
			}
			fb = c[7];
		}
		for (; off + 16 <= len; off += 16) {
			__m128i cb = _mm_loadu_si128((const __m128i *)(buf + off));
			_mm_storeu_si128((__m128i *)(buf + off),
					 _mm_xor_si128(cb, enc1(k, nr, fb)));
			fb = cb;
		}
	}
	if (off < len) { /* trailing partial block: prefix of the keystream */
		uint8_t ks[16];
		_mm_storeu_si128((__m128i *)ks, enc1(k, nr, fb));
		for (size_t i = 0; off + i < len; i++)
			buf[off + i] ^= ks[i];
	}
}

#define LANES 8

AESNI_TARGET void kcp_aesni_cfb_enc_many(const mbedtls_aes_context *ctx,
					 uint8_t *const *bufs, const size_t *lens,
					 unsigned n, const uint8_t iv[16])
{
	__m128i k[15];
	int nr = ctx->nr;
	for (int r = 0; r <= nr; r++)
		k[r] = _mm_loadu_si128((const __m128i *)(ctx->rk + 4 * r));
	__m128i ivb = _mm_loadu_si128((const __m128i *)iv);
	for (unsigned g = 0; g < n; g += LANES) {
		unsigned m = n - g < LANES ? n - g : LANES;
		__m128i fb[LANES], s[LANES];
		size_t nb[LANES], maxb = 0;
		/* idle lanes (m < 8, or a chain already done) compute and drop
		 * a block: fixed-width loops keep all 8 in the AES pipeline */
		for (unsigned j = 0; j < LANES; j++) {
			fb[j] = ivb;
			nb[j] = j < m ? lens[g + j] / 16 : 0;
			if (nb[j] > maxb)
				maxb = nb[j];
		}
		for (size_t b = 0; b < maxb; b++) {
#pragma GCC unroll 8
			for (unsigned j = 0; j < LANES; j++)
				s[j] = _mm_xor_si128(fb[j], k[0]);
			for (int r = 1; r < nr; r++) {
				__m128i kr = k[r];
#pragma GCC unroll 8
				for (unsigned j = 0; j < LANES; j++)
					s[j] = _mm_aesenc_si128(s[j], kr);
			}
#pragma GCC unroll 8
			for (unsigned j = 0; j < LANES; j++) {
				s[j] = _mm_aesenclast_si128(s[j], k[nr]);
				if (b < nb[j]) {
					__m128i *q = (__m128i *)(bufs[g + j] + 16 * b);
					fb[j] = _mm_xor_si128(_mm_loadu_si128(q), s[j]);
					_mm_storeu_si128(q, fb[j]);
				}
			}
		}
		for (unsigned j = 0; j < m; j++) {
			size_t len = lens[g + j], off = nb[j] * 16;
			if (off < len) {
				uint8_t ks[16];
				_mm_storeu_si128((__m128i *)ks, enc1(k, nr, fb[j]));
				for (size_t i = 0; off + i < len; i++)
					bufs[g + j][off + i] ^= ks[i];
			}
		}
	}
}

#else

bool kcp_aesni_usable(void) { return false; }

void kcp_aesni_cfb_enc_many(const mbedtls_aes_context *ctx, uint8_t *const *bufs,
			    const size_t *lens, unsigned n, const uint8_t iv[16])
{
	(void)ctx;
	(void)bufs;
	(void)lens;
	(void)n;
	(void)iv;
}

void kcp_aesni_cfb(const mbedtls_aes_context *ctx, uint8_t *buf, size_t len,
		   const uint8_t iv[16], bool enc)
{
	(void)ctx;
	(void)buf;
	(void)len;
	(void)iv;
	(void)enc;
}

#endif
