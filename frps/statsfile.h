/*
 * statsfile.h - the daily traffic buckets survive a restart.
 *
 * The file is JSON (one object: the server total and one entry per proxy
 * with its 7 daily buckets and lifetime counters). It is written whole to
 * a temporary file beside it, flushed, and renamed over the old one, so a
 * crash leaves either the old or the new file, never a mix. A file that
 * does not parse or does not have the expected shape is reported by the
 * caller and replaced at the next save; it never stops the server.
 */
#ifndef FRPS_STATSFILE_H
#define FRPS_STATSFILE_H

#include <stddef.h>
#include <stdint.h>

struct frps_stats;

/** Largest stats file we read (a proxy entry is ~300 bytes). */
#define FRPS_STATSFILE_MAX (16u << 20)
/** Saves happen at most this often (plus one at shutdown). */
#define FRPS_STATSFILE_EVERY_MS 5000

/**
 * Fold a stats file's contents (len bytes, need not be NUL-terminated)
 * into st: the server total and offline entries for the proxies. 0, or
 * -EINVAL with the reason in err (st is then unchanged).
 */
int frps_statsfile_parse(struct frps_stats *st, const char *data, size_t len,
			 char *err, size_t errlen);
/** Read path into st. -ENOENT when absent (not an error for the caller),
 *  -EINVAL/-EFBIG for a bad file, other -errno for I/O; err says why. */
int frps_statsfile_load(struct frps_stats *st, const char *path, char *err,
			size_t errlen);
/** Write st to path atomically (temp file + fsync + rename). 0/-errno. */
int frps_statsfile_save(const struct frps_stats *st, const char *path,
			char *err, size_t errlen);

/**
 * The path to use: `configured` when not empty, else "<config>.stats.json"
 * beside the config file, else (no config file) /var/lib/frps/stats.json.
 * Returns a malloc'd string or NULL on OOM.
 */
char *frps_statsfile_default_path(const char *configured,
				  const char *config_path);

#endif
