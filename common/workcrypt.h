/*
 * workcrypt.h - frp's per-proxy `useEncryption` on a tcp work connection:
 * the control channel's AES-128-CFB scheme (key from the token, each
 * direction starts with its own random 16-byte IV) as a libevent filter, so
 * the relay above works unchanged. Used by frps and frpc alike.
 */
#ifndef WORKCRYPT_H
#define WORKCRYPT_H

#include <stdint.h>

#include "crypto.h"

struct bufferevent;

/** Wrap under (our IV is queued at once). The returned filter bufferevent
 *  borrows under: freeing it leaves under open. NULL on failure. */
struct bufferevent *workcrypt_new(struct bufferevent *under,
				  const uint8_t key[CRYPTO_KEY_LEN]);

#endif
