/*
 * crypto.h - frp's authentication and control-channel encryption (mbedTLS).
 *
 *  privilege_key = hex(md5(token + decimal(timestamp)))
 *  control key   = PBKDF2-HMAC-SHA1(token, salt "frp", 64 iterations, 16 B)
 *  control data  = AES-128-CFB (full-block CFB128); each direction first
 *                  sends its own random 16-byte IV, then one continuous
 *                  CFB stream for the life of the connection.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_IV_LEN 16
#define CRYPTO_KEY_LEN 16

/** out: 33 bytes (32 hex digits + NUL). */
void crypto_auth_key(const char *token, int64_t timestamp, char out[33]);

/** Constant-time check of a received privilege_key. 1 = valid, 0 = not. */
int crypto_auth_check(const char *token, int64_t timestamp, const char *key);

/** PBKDF2-HMAC-SHA1. Returns 0 or -errno. */
int crypto_pbkdf2_sha1(const void *pass, size_t passlen, const void *salt,
		       size_t saltlen, unsigned iterations, uint8_t *out,
		       size_t outlen);

/** Key for frp's stream encryption: pbkdf2(token, "frp", 64, 16). */
int crypto_frp_key(const char *token, uint8_t key[CRYPTO_KEY_LEN]);

/** One direction of an AES-128-CFB byte stream. */
struct crypto_cfb;

/** New stream state with key and iv. NULL on OOM. */
struct crypto_cfb *crypto_cfb_new(const uint8_t key[CRYPTO_KEY_LEN],
				  const uint8_t iv[CRYPTO_IV_LEN]);
void crypto_cfb_free(struct crypto_cfb *c);
/** Encrypt / decrypt len bytes in place, continuing the stream. */
void crypto_cfb_encrypt(struct crypto_cfb *c, uint8_t *buf, size_t len);
void crypto_cfb_decrypt(struct crypto_cfb *c, uint8_t *buf, size_t len);

#endif
