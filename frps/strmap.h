/*
 * strmap.h - a string-keyed hash map of borrowed pointers (run_id ->
 * control, proxy name -> proxy, name -> stats). Lookups are O(1) so that
 * nothing per connection scans all clients. Keys are copied; values are
 * never freed by the map.
 */
#ifndef FRPS_STRMAP_H
#define FRPS_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/** Free the map and its key copies (not the values). NULL no-op. */
void strmap_free(struct strmap *m);
/** The value stored for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/** Insert or replace. 0 or -ENOMEM (the map is then unchanged). */
int strmap_put(struct strmap *m, const char *key, void *val);
/** Remove key; returns the value it had, or NULL. */
void *strmap_del(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);

/** Iteration: start with *pos = 0; returns the next value (and its key in
 *  *key when key != NULL) or NULL at the end. The map must not change
 *  during an iteration, except strmap_del() of the entry just returned. */
void *strmap_next(const struct strmap *m, size_t *pos, const char **key);

#endif
