/*
 * test_kcp_aesni.c - the AES-NI CFB fast path against mbedTLS's own
 * mbedtls_aes_crypt_cfb128 (the reference kcp-go matches), for every key
 * size and every length 0..1500, both directions.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>

#include "../../transports/kcp/kcp_aesni.h"

static void ref_cfb(mbedtls_aes_context *a, uint8_t *buf, size_t len,
		    const uint8_t iv0[16], int mode)
{
	uint8_t iv[16];
	size_t off = 0;
	memcpy(iv, iv0, 16);
	mbedtls_aes_crypt_cfb128(a, mode, len, &off, iv, buf, buf);
}

/* A random key of `bits` bits scheduled into a, and a random IV. */
static void random_key(mbedtls_aes_context *a, int bits, uint8_t iv[16])
{
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)rand();
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)rand();
	mbedtls_aes_init(a);
	ck_assert_int_eq(mbedtls_aes_setkey_enc(a, key, (unsigned)bits), 0);
}

START_TEST(matches_mbedtls)
{
	if (!kcp_aesni_usable())
		return; /* no AES-NI: kcp_crypt uses mbedTLS itself */
	srand(7);
	for (int bits = 128; bits <= 256; bits += 64) {
		uint8_t iv[16];
		mbedtls_aes_context a;
		random_key(&a, bits, iv);
		for (size_t len = 0; len <= 1500; len++) {
			uint8_t p[1500], x[1500], y[1500];
			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)rand();
			memcpy(x, p, len);
			memcpy(y, p, len);
			kcp_aesni_cfb(&a, x, len, iv, true);
			ref_cfb(&a, y, len, iv, MBEDTLS_AES_ENCRYPT);
			ck_assert_msg(memcmp(x, y, len) == 0, "enc differs: %d bits, len %zu",
				      bits, len);
			kcp_aesni_cfb(&a, x, len, iv, false);
			ck_assert_msg(memcmp(x, p, len) == 0, "dec differs: %d bits, len %zu",
				      bits, len);
		}
		mbedtls_aes_free(&a);
	}
}
END_TEST

/* The 8-lane batch encryption gives each buffer the bytes the one-chain
 * path gives it: batches of 1..20 buffers (so partial lane groups), lengths
 * from 0 to 1500 mixed within a batch. */
START_TEST(batch_matches_single)
{
	if (!kcp_aesni_usable())
		return;
	srand(11);
	static uint8_t x[20][1500], y[20][1500];
	for (int bits = 128; bits <= 256; bits += 64) {
		uint8_t iv[16];
		mbedtls_aes_context a;
		random_key(&a, bits, iv);
		for (unsigned n = 1; n <= 20; n++) {
			uint8_t *bufs[20];
			size_t lens[20];
			for (unsigned j = 0; j < n; j++) {
				lens[j] = (size_t)rand() % 1501;
				if (j % 3 == 0)
					lens[j] = 1350; /* bulk datagrams share a size */
				for (size_t i = 0; i < lens[j]; i++)
					x[j][i] = y[j][i] = (uint8_t)rand();
				bufs[j] = x[j];
			}
			kcp_aesni_cfb_enc_many(&a, bufs, lens, n, iv);
			for (unsigned j = 0; j < n; j++) {
				kcp_aesni_cfb(&a, y[j], lens[j], iv, true);
				ck_assert_msg(memcmp(x[j], y[j], lens[j]) == 0,
					      "%d bits, batch %u, buffer %u (len %zu)",
					      bits, n, j, lens[j]);
			}
		}
		mbedtls_aes_free(&a);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kcp_aesni");
	TCase *tc = tcase_create("cfb");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, matches_mbedtls);
	tcase_add_test(tc, batch_matches_single);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
