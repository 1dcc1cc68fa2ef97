/*
 * util.h - small helpers shared by frpc and frps.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** Monotonic milliseconds (CLOCK_MONOTONIC). */
uint64_t util_now_ms(void);
/** Wall-clock seconds since the epoch. */
int64_t util_unix_time(void);
/** Fill buf with n cryptographically random bytes (getrandom). 0/-errno. */
int util_random(void *buf, size_t n);
/** "ip:port" of ss into buf (IPv6 as [ip]:port). Returns buf. */
char *util_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/** Split a sockaddr into numeric host and port. 0/-EINVAL. */
int util_addr_split(const struct sockaddr_storage *ss, char *host, size_t hlen,
		    uint16_t *port);
/** strdup that aborts on OOM-free paths is not wanted: returns NULL on OOM. */
char *util_strdup(const char *s);
/** Constant-time memory compare: 0 if equal. */
int util_ct_memcmp(const void *a, const void *b, size_t n);
/** Hex-encode n bytes into out (2n+1 bytes). */
void util_hex(const uint8_t *in, size_t n, char *out);

#endif
