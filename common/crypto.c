/*
 * crypto.c - frp's auth key, key derivation and AES-128-CFB stream
 * (contract in crypto.h), on mbedTLS 2.28.
 */
#include "crypto.h"

#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>

/* The salt frps and frpc both install as golib's crypto.DefaultSalt. */
#define FRP_SALT "frp"
#define FRP_PBKDF2_ITER 64

void crypto_auth_key(const char *token, int64_t timestamp, char out[33])
{
	mbedtls_md5_context ctx;
	uint8_t digest[16];
	char ts[24];
	int n = snprintf(ts, sizeof(ts), "%" PRId64, timestamp);

	if (!token)
		token = "";
	/* Hashing the two parts in sequence equals hashing token+timestamp
	 * without building the concatenation. MD5 over memory cannot fail. */
	mbedtls_md5_init(&ctx);
	(void)mbedtls_md5_starts_ret(&ctx);
	(void)mbedtls_md5_update_ret(&ctx, (const unsigned char *)token,
				     strlen(token));
	(void)mbedtls_md5_update_ret(&ctx, (const unsigned char *)ts,
				     (size_t)n);
	(void)mbedtls_md5_finish_ret(&ctx, digest);
	mbedtls_md5_free(&ctx);
	util_hex(digest, sizeof(digest), out);
	mbedtls_platform_zeroize(digest, sizeof(digest));
}

int crypto_auth_check(const char *token, int64_t timestamp, const char *key)
{
	char want[33];

	if (!key)
		return 0;
	crypto_auth_key(token, timestamp, want);
	/* The length is public (always 32 for a genuine key); only the
	 * content comparison has to be constant-time. frp compares the hex
	 * text case-sensitively, so do we. */
	if (strnlen(key, sizeof(want)) != sizeof(want) - 1)
		return 0;
	return util_ct_memcmp(want, key, sizeof(want) - 1) == 0;
}

int crypto_pbkdf2_sha1(const void *pass, size_t passlen, const void *salt,
		       size_t saltlen, unsigned iterations, uint8_t *out,
		       size_t outlen)
{
	static const unsigned char empty[1];
	mbedtls_md_context_t md;
	const mbedtls_md_info_t *info;
	int rc;

	if (iterations == 0 || outlen == 0 || outlen > UINT32_MAX || !out ||
	    (!pass && passlen) || (!salt && saltlen))
		return -EINVAL;
	if (!(info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1)))
		return -ENOSYS;
	mbedtls_md_init(&md);
	rc = mbedtls_md_setup(&md, info, 1);
	if (rc != 0) {
		rc = rc == MBEDTLS_ERR_MD_ALLOC_FAILED ? -ENOMEM : -EINVAL;
		goto fail;
	}
	rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pass ? pass : empty, passlen,
				       salt ? salt : empty, saltlen,
				       iterations, (uint32_t)outlen, out);
	if (rc != 0)
		rc = -EINVAL;
fail:
	mbedtls_md_free(&md);
	return rc;
}

int crypto_frp_key(const char *token, uint8_t key[CRYPTO_KEY_LEN])
{
	if (!token)
		token = "";
	return crypto_pbkdf2_sha1(token, strlen(token), FRP_SALT,
				  strlen(FRP_SALT), FRP_PBKDF2_ITER, key,
				  CRYPTO_KEY_LEN);
}

/*
 * Go's cipher.NewCFBEncrypter/Decrypter is full-block CFB: the keystream
 * block is E(previous ciphertext block), consumed a byte at a time. That is
 * exactly mbedtls_aes_crypt_cfb128 when iv and iv_off persist between calls,
 * so any chunking of the stream gives the same bytes.
 */
struct crypto_cfb {
	mbedtls_aes_context aes;
	unsigned char iv[CRYPTO_IV_LEN];
	size_t iv_off;
};

struct crypto_cfb *crypto_cfb_new(const uint8_t key[CRYPTO_KEY_LEN],
				  const uint8_t iv[CRYPTO_IV_LEN])
{
	struct crypto_cfb *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	mbedtls_aes_init(&c->aes);
	/* CFB runs the block cipher forwards in both directions, so the
	 * decrypting side also needs the encryption key schedule. */
	if (mbedtls_aes_setkey_enc(&c->aes, key, CRYPTO_KEY_LEN * 8) != 0) {
		crypto_cfb_free(c);
		return NULL;
	}
	memcpy(c->iv, iv, CRYPTO_IV_LEN);
	return c;
}

void crypto_cfb_free(struct crypto_cfb *c)
{
	if (!c)
		return;
	mbedtls_aes_free(&c->aes);
	mbedtls_platform_zeroize(c, sizeof(*c));
	free(c);
}

/* In place is safe: cfb128 reads each input byte before writing it. */
void crypto_cfb_encrypt(struct crypto_cfb *c, uint8_t *buf, size_t len)
{
	if (len)
		(void)mbedtls_aes_crypt_cfb128(&c->aes, MBEDTLS_AES_ENCRYPT,
					       len, &c->iv_off, c->iv, buf,
					       buf);
}

void crypto_cfb_decrypt(struct crypto_cfb *c, uint8_t *buf, size_t len)
{
	if (len)
		(void)mbedtls_aes_crypt_cfb128(&c->aes, MBEDTLS_AES_DECRYPT,
					       len, &c->iv_off, c->iv, buf,
					       buf);
}
