/*
 * kcp_aesni.h - AES-NI fast path for kcp-go's full-block AES-CFB.
 *
 * mbedTLS 2.28 offers AES-NI one block per call, and CFB is serial when
 * encrypting; but CFB *decryption* knows every keystream input up front
 * (the previous ciphertext blocks), so its AES rounds can run several
 * blocks at a time. This file does that (8 blocks interleaved) and an
 * inlined serial loop for encryption, using the round keys mbedTLS already
 * expanded. Callers fall back to mbedTLS when kcp_aesni_usable() is false.
 */
#ifndef KCP_AESNI_H
#define KCP_AESNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/aes.h>

/** True when the CPU has AES-NI (checked once). */
bool kcp_aesni_usable(void);
/** CFB over buf[0, len) in place from iv (16 bytes), keyed by ctx (an
 *  encryption key schedule). enc selects the direction. */
void kcp_aesni_cfb(const mbedtls_aes_context *ctx, uint8_t *buf, size_t len,
		   const uint8_t iv[16], bool enc);
/** CFB encryption of n independent buffers, each from the same iv: the
 *  chains of 8 buffers advance together, so the AES unit works on 8 blocks
 *  at once where one chain alone would wait on each block in turn. Same
 *  bytes as kcp_aesni_cfb(enc = true) on each buffer. */
void kcp_aesni_cfb_enc_many(const mbedtls_aes_context *ctx, uint8_t *const *bufs,
			    const size_t *lens, unsigned n, const uint8_t iv[16]);

#endif
