/*
 * relay.h - copy bytes both ways between two bufferevents with watermarks
 * (libevent's sample/le-proxy.c pattern): when the destination's output
 * holds more than high_wm bytes, reading from the source stops until it has
 * drained below half of that, so a slow side slows the other and memory
 * stays bounded.
 *
 * The relay borrows both bufferevents (it sets their callbacks) and owns
 * neither. When one side reaches EOF or an error, what was read is flushed
 * to the other side; once that is written (or the other side fails) done_cb
 * runs once. The caller then closes both streams and frees the relay (both
 * allowed from inside done_cb).
 */
#ifndef RELAY_H
#define RELAY_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct relay;

/** err: 0 on an orderly end (EOF), -errno if a side failed. */
typedef void (*relay_done_cb)(struct relay *r, int err, void *arg);

/** high_wm 0 = default (256 KiB). NULL on OOM. Starts relaying at once
 *  (data already in a's/b's input is forwarded). */
struct relay *relay_new(struct bufferevent *a, struct bufferevent *b,
			size_t high_wm, relay_done_cb cb, void *arg);
/** Detach from both bufferevents (callbacks cleared) and free. Safe from
 *  done_cb. NULL no-op. */
void relay_free(struct relay *r);
/** Bytes moved a->b and b->a so far. */
void relay_counters(const struct relay *r, uint64_t *a_to_b, uint64_t *b_to_a);

#endif
