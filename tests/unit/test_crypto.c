/*
 * test_crypto.c - frp auth key, PBKDF2-HMAC-SHA1 and AES-128-CFB stream.
 *
 * Known-answer vectors come from outside this code base: the frp capture
 * (md5), RFC 6070 (PBKDF2-HMAC-SHA1), kcp-wire.md (kcptun key), NIST
 * SP 800-38A F.3.13/F.3.14 (CFB128-AES128) and Python's hashlib (frp key).
 */
#include "crypto.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/md5.h>

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
	uint8_t w[256];
	ck_assert_uint_le(n, sizeof(w));
	unhex(want, w, n);
	ck_assert_mem_eq(got, w, n);
}

/* Deterministic xorshift so failures reproduce. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 11);
}

/* ---- auth key ------------------------------------------------------------ */

START_TEST(auth_key_capture_kat)
{
	char key[33];
	crypto_auth_key("t", 1795345545, key);
	ck_assert_str_eq(key, "3a605ce248b756ef60c59a96268d490b");
	crypto_auth_key("secret", -1, key);
	ck_assert_str_eq(key, "5926ed10493e613137208e1d5360d8f3");
}
END_TEST

/* The streaming MD5 must equal a one-shot MD5 of the concatenated text. */
START_TEST(auth_key_matches_concatenation)
{
	static const char *tokens[] = { "", "t", "a much longer token ✓",
					"12345678901234567890" };
	static const int64_t stamps[] = { 0, 1, -42, INT64_MAX, INT64_MIN,
					  1700000000 };
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		for (size_t j = 0; j < sizeof(stamps) / sizeof(stamps[0]); j++) {
			char text[128], got[33], want[33];
			uint8_t d[16];
			int n = snprintf(text, sizeof(text), "%s%" PRId64,
					 tokens[i], stamps[j]);
			ck_assert_int_eq(mbedtls_md5_ret((uint8_t *)text,
							 (size_t)n, d),
					 0);
			for (int k = 0; k < 16; k++)
				snprintf(want + 2 * k, 3, "%02x", d[k]);
			crypto_auth_key(tokens[i], stamps[j], got);
			ck_assert_str_eq(got, want);
		}
	}
}
END_TEST

START_TEST(auth_check_accepts_and_rejects)
{
	const int64_t ts = 1795345545;
	ck_assert_int_eq(crypto_auth_check("t", ts,
					   "3a605ce248b756ef60c59a96268d490b"),
			 1);
	/* one digit off, upper case, wrong timestamp / token, lengths */
	ck_assert_int_eq(crypto_auth_check("t", ts,
					   "3a605ce248b756ef60c59a96268d490c"),
			 0);
	ck_assert_int_eq(crypto_auth_check("t", ts,
					   "3A605CE248B756EF60C59A96268D490B"),
			 0);
	ck_assert_int_eq(crypto_auth_check("t", ts + 1,
					   "3a605ce248b756ef60c59a96268d490b"),
			 0);
	ck_assert_int_eq(crypto_auth_check("u", ts,
					   "3a605ce248b756ef60c59a96268d490b"),
			 0);
	ck_assert_int_eq(crypto_auth_check("t", ts,
					   "3a605ce248b756ef60c59a96268d490"),
			 0);
	ck_assert_int_eq(crypto_auth_check("t", ts,
					   "3a605ce248b756ef60c59a96268d490b0"),
			 0);
	ck_assert_int_eq(crypto_auth_check("t", ts, ""), 0);
	ck_assert_int_eq(crypto_auth_check("t", ts, NULL), 0);
}
END_TEST

/* ---- PBKDF2 -------------------------------------------------------------- */

START_TEST(pbkdf2_rfc6070)
{
	uint8_t out[32];
	ck_assert_int_eq(crypto_pbkdf2_sha1("password", 8, "salt", 4, 1, out,
					    20),
			 0);
	assert_hex(out, 20, "0c60c80f961f0e71f3a9b524af6012062fe037a6");
	ck_assert_int_eq(crypto_pbkdf2_sha1("password", 8, "salt", 4, 2, out,
					    20),
			 0);
	assert_hex(out, 20, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
	ck_assert_int_eq(crypto_pbkdf2_sha1("password", 8, "salt", 4, 4096,
					    out, 20),
			 0);
	assert_hex(out, 20, "4b007901b765489abead49d926f721d065a429c1");
	ck_assert_int_eq(
		crypto_pbkdf2_sha1("passwordPASSWORDpassword", 24,
				   "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36,
				   4096, out, 25),
		0);
	assert_hex(out, 25,
		   "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
	/* embedded NULs: lengths, not strlen, must be honoured */
	ck_assert_int_eq(crypto_pbkdf2_sha1("pass\0word", 9, "sa\0lt", 5, 4096,
					    out, 16),
			 0);
	assert_hex(out, 16, "56fa6aa75548099dcc37d7f03425e0c3");
}
END_TEST

START_TEST(pbkdf2_kcptun_key)
{
	uint8_t out[32];
	ck_assert_int_eq(crypto_pbkdf2_sha1("it's a secrect", 14, "kcp-go", 6,
					    4096, out, 32),
			 0);
	assert_hex(out, 32,
		   "25d7d7bd51050742d8d791f2b653c6c8"
		   "b2366b7e25a124cf7a2e12eaf4ffa444");
}
END_TEST

START_TEST(pbkdf2_bad_args)
{
	uint8_t out[16];
	ck_assert_int_eq(crypto_pbkdf2_sha1("p", 1, "s", 1, 0, out, 16),
			 -EINVAL);
	ck_assert_int_eq(crypto_pbkdf2_sha1("p", 1, "s", 1, 1, out, 0),
			 -EINVAL);
	ck_assert_int_eq(crypto_pbkdf2_sha1(NULL, 3, "s", 1, 1, out, 16),
			 -EINVAL);
	/* an empty password is legal */
	ck_assert_int_eq(crypto_pbkdf2_sha1(NULL, 0, "frp", 3, 64, out, 16),
			 0);
	assert_hex(out, 16, "cdc9dc4c472c37331281df4c232a8407");
}
END_TEST

START_TEST(frp_key_kat)
{
	uint8_t key[CRYPTO_KEY_LEN];
	ck_assert_int_eq(crypto_frp_key("token", key), 0);
	assert_hex(key, 16, "c16a8f63832926cee123eea29f95d670");
	ck_assert_int_eq(crypto_frp_key("", key), 0);
	assert_hex(key, 16, "cdc9dc4c472c37331281df4c232a8407");
}
END_TEST

/* ---- AES-128-CFB --------------------------------------------------------- */

static const char *nist_key = "2b7e151628aed2a6abf7158809cf4f3c";
static const char *nist_iv = "000102030405060708090a0b0c0d0e0f";
static const char *nist_pt = "6bc1bee22e409f96e93d7e117393172a"
			     "ae2d8a571e03ac9c9eb76fac45af8e51"
			     "30c81c46a35ce411e5fbc1191a0a52ef"
			     "f69f2445df4f9b17ad2b417be66c3710";
static const char *nist_ct = "3b3fd92eb72dad20333449f8e83cfb4a"
			     "c8a64537a0b3a93fcde3cdad9f1ce58b"
			     "26751f67a3cbb140b1808cf187a4f4df"
			     "c04b05357c5d1c0eeac4c66f9ff7f2e6";

START_TEST(cfb_nist_encrypt)
{
	uint8_t key[16], iv[16], buf[64];
	unhex(nist_key, key, 16);
	unhex(nist_iv, iv, 16);
	unhex(nist_pt, buf, 64);
	struct crypto_cfb *c = crypto_cfb_new(key, iv);
	ck_assert_ptr_nonnull(c);
	crypto_cfb_encrypt(c, buf, 64);
	assert_hex(buf, 64, nist_ct);
	crypto_cfb_free(c);
}
END_TEST

START_TEST(cfb_nist_decrypt)
{
	uint8_t key[16], iv[16], buf[64];
	unhex(nist_key, key, 16);
	unhex(nist_iv, iv, 16);
	unhex(nist_ct, buf, 64);
	struct crypto_cfb *c = crypto_cfb_new(key, iv);
	ck_assert_ptr_nonnull(c);
	/* decrypt byte-wise across block boundaries */
	crypto_cfb_decrypt(c, buf, 5);
	crypto_cfb_decrypt(c, buf + 5, 0);
	crypto_cfb_decrypt(c, buf + 5, 27);
	crypto_cfb_decrypt(c, buf + 32, 32);
	assert_hex(buf, 64, nist_pt);
	crypto_cfb_free(c);
}
END_TEST

/* Full-block CFB spelled out with the raw block cipher: keystream block =
 * E(previous ciphertext block), the last block may be partial. */
static void reference_cfb(const uint8_t key[16], const uint8_t iv[16],
			  const uint8_t *in, uint8_t *out, size_t n)
{
	mbedtls_aes_context aes;
	uint8_t reg[16], ks[16];
	mbedtls_aes_init(&aes);
	ck_assert_int_eq(mbedtls_aes_setkey_enc(&aes, key, 128), 0);
	memcpy(reg, iv, 16);
	for (size_t off = 0; off < n; off += 16) {
		size_t k = n - off < 16 ? n - off : 16;
		ck_assert_int_eq(mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT,
						       reg, ks),
				 0);
		for (size_t i = 0; i < k; i++)
			out[off + i] = in[off + i] ^ ks[i];
		if (k == 16)
			memcpy(reg, out + off, 16);
	}
	mbedtls_aes_free(&aes);
}

static void random_chunks(struct crypto_cfb *c, uint8_t *buf, size_t n,
			  int enc)
{
	size_t off = 0;
	while (off < n) {
		size_t k = rnd() % 40;
		if (k > n - off)
			k = n - off;
		if (enc)
			crypto_cfb_encrypt(c, buf + off, k);
		else
			crypto_cfb_decrypt(c, buf + off, k);
		off += k;
	}
}

START_TEST(cfb_chunking_matches_one_shot)
{
	enum { N = 4099 };
	static uint8_t plain[N], one[N], chunked[N], ref[N];
	uint8_t key[16], iv[16];

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 16; i++) {
			key[i] = (uint8_t)rnd();
			iv[i] = (uint8_t)rnd();
		}
		size_t n = 1 + rnd() % N;
		for (size_t i = 0; i < n; i++)
			plain[i] = (uint8_t)rnd();

		struct crypto_cfb *a = crypto_cfb_new(key, iv);
		struct crypto_cfb *b = crypto_cfb_new(key, iv);
		struct crypto_cfb *d = crypto_cfb_new(key, iv);
		ck_assert(a && b && d);
		memcpy(one, plain, n);
		crypto_cfb_encrypt(a, one, n);
		memcpy(chunked, plain, n);
		random_chunks(b, chunked, n, 1);
		ck_assert_mem_eq(one, chunked, n);
		reference_cfb(key, iv, plain, ref, n);
		ck_assert_mem_eq(one, ref, n);
		ck_assert(n < 16 || memcmp(one, plain, n) != 0);

		random_chunks(d, chunked, n, 0);
		ck_assert_mem_eq(chunked, plain, n);
		crypto_cfb_free(a);
		crypto_cfb_free(b);
		crypto_cfb_free(d);
	}
	crypto_cfb_free(NULL);
}
END_TEST

/* The frp control channel as a whole: both ends derive the key from the
 * token, the sender's IV travels in clear. */
START_TEST(cfb_frp_channel_round_trip)
{
	uint8_t ka[16], kb[16], iv[16], msg[300], wire[300];
	for (int i = 0; i < 16; i++)
		iv[i] = (uint8_t)rnd();
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	ck_assert_int_eq(crypto_frp_key("shared", ka), 0);
	ck_assert_int_eq(crypto_frp_key("shared", kb), 0);
	struct crypto_cfb *tx = crypto_cfb_new(ka, iv);
	struct crypto_cfb *rx = crypto_cfb_new(kb, iv);
	ck_assert(tx && rx);
	memcpy(wire, msg, sizeof(msg));
	crypto_cfb_encrypt(tx, wire, 100);
	crypto_cfb_encrypt(tx, wire + 100, 200);
	crypto_cfb_decrypt(rx, wire, 33);
	crypto_cfb_decrypt(rx, wire + 33, 267);
	ck_assert_mem_eq(wire, msg, sizeof(msg));
	crypto_cfb_free(tx);
	crypto_cfb_free(rx);

	/* a wrong token yields garbage, not the plaintext */
	ck_assert_int_eq(crypto_frp_key("other", kb), 0);
	tx = crypto_cfb_new(ka, iv);
	rx = crypto_cfb_new(kb, iv);
	ck_assert(tx && rx);
	memcpy(wire, msg, sizeof(msg));
	crypto_cfb_encrypt(tx, wire, sizeof(wire));
	crypto_cfb_decrypt(rx, wire, sizeof(wire));
	ck_assert(memcmp(wire, msg, sizeof(msg)) != 0);
	crypto_cfb_free(tx);
	crypto_cfb_free(rx);
}
END_TEST

static Suite *crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, auth_key_capture_kat);
	tcase_add_test(tc, auth_key_matches_concatenation);
	tcase_add_test(tc, auth_check_accepts_and_rejects);
	tcase_add_test(tc, pbkdf2_rfc6070);
	tcase_add_test(tc, pbkdf2_kcptun_key);
	tcase_add_test(tc, pbkdf2_bad_args);
	tcase_add_test(tc, frp_key_kat);
	tcase_add_test(tc, cfb_nist_encrypt);
	tcase_add_test(tc, cfb_nist_decrypt);
	tcase_add_test(tc, cfb_chunking_matches_one_shot);
	tcase_add_test(tc, cfb_frp_channel_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crypto_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
