/*
 * statsfile.c - load and save the traffic counters (see statsfile.h).
 *
 * Shape (version 1):
 *   {"format":"frps-stats","version":1,"savedAt":<unix s>,
 *    "total":<traffic>,
 *    "proxies":[{"name":..,"type":..,"user":..,"lastStart":..,
 *                "lastClose":..,"traffic":<traffic>}, ...]}
 *   <traffic> = {"in":n,"out":n,"day0":<UTC day>,"dayIn":[7],"dayOut":[7]}
 * The file is validated completely before anything is applied, so a bad
 * file changes nothing.
 */
#include "statsfile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frps.h"
#include "stats.h"
#include "util.h"

#define FORMAT_NAME "frps-stats"
#define FORMAT_VERSION 1

/* ---- reading ------------------------------------------------------------ */

static int get_u64(json_t *o, const char *key, uint64_t *v, const char *where,
		   char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < 0) {
		snprintf(err, errlen, "%s: \"%s\" is not a count", where, key);
		return -EINVAL;
	}
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int get_days(json_t *o, const char *key, uint64_t *days,
		    const char *where, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, key);
	if (!json_is_array(a) || json_array_size(a) != FRPS_STATS_DAYS) {
		snprintf(err, errlen, "%s: \"%s\" is not an array of %d counts",
			 where, key, FRPS_STATS_DAYS);
		return -EINVAL;
	}
	for (size_t i = 0; i < FRPS_STATS_DAYS; i++) {
		json_t *j = json_array_get(a, i);
		if (!json_is_integer(j) || json_integer_value(j) < 0) {
			snprintf(err, errlen, "%s: \"%s\"[%zu] is not a count",
				 where, key, i);
			return -EINVAL;
		}
		days[i] = (uint64_t)json_integer_value(j);
	}
	return 0;
}

static int get_traffic(json_t *o, struct frps_traffic *t, const char *where,
		       char *err, size_t errlen)
{
	uint64_t day0;
	memset(t, 0, sizeof(*t));
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s: traffic is not an object", where);
		return -EINVAL;
	}
	if (get_u64(o, "in", &t->in, where, err, errlen) < 0 ||
	    get_u64(o, "out", &t->out, where, err, errlen) < 0 ||
	    get_u64(o, "day0", &day0, where, err, errlen) < 0 ||
	    get_days(o, "dayIn", t->day_in, where, err, errlen) < 0 ||
	    get_days(o, "dayOut", t->day_out, where, err, errlen) < 0)
		return -EINVAL;
	/* A day number past year 9999 is garbage, not a date. */
	if (day0 > 3000000) {
		snprintf(err, errlen, "%s: \"day0\" out of range", where);
		return -EINVAL;
	}
	t->day0 = (int64_t)day0;
	return 0;
}

static const char *get_str(json_t *o, const char *key, size_t max)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_string(j))
		return NULL;
	const char *s = json_string_value(j);
	if (json_string_length(j) > max || strlen(s) != json_string_length(j))
		return NULL; /* too long, or with a NUL inside */
	return s;
}

static int get_time(json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!j) {
		*v = 0;
		return 0;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -EINVAL;
	*v = json_integer_value(j);
	return 0;
}

/* One pass over the proxies; applies them only when apply is set. */
static int walk_proxies(struct frps_stats *st, json_t *arr, bool apply,
			char *err, size_t errlen)
{
	size_t i;
	json_t *p;
	json_array_foreach(arr, i, p) {
		char where[48];
		snprintf(where, sizeof(where), "proxies[%zu]", i);
		if (!json_is_object(p)) {
			snprintf(err, errlen, "%s is not an object", where);
			return -EINVAL;
		}
		const char *name = get_str(p, "name", FRPS_NAME_MAX);
		const char *type = get_str(p, "type", 16);
		const char *user = get_str(p, "user", FRPS_NAME_MAX);
		int64_t ls, lc;
		if (!name || !*name || !type || !user) {
			snprintf(err, errlen,
				 "%s: name, type or user missing or too long",
				 where);
			return -EINVAL;
		}
		if (get_time(p, "lastStart", &ls) < 0 ||
		    get_time(p, "lastClose", &lc) < 0) {
			snprintf(err, errlen, "%s: bad lastStart/lastClose",
				 where);
			return -EINVAL;
		}
		struct frps_traffic t;
		if (get_traffic(json_object_get(p, "traffic"), &t, where, err,
				errlen) < 0)
			return -EINVAL;
		if (apply) {
			int rc = frps_stats_proxy_restore(st, name, type, user,
							  &t, ls, lc);
			if (rc < 0) {
				snprintf(err, errlen, "out of memory");
				return rc;
			}
		}
	}
	return 0;
}

int frps_statsfile_parse(struct frps_stats *st, const char *data, size_t len,
			 char *err, size_t errlen)
{
	json_error_t je;
	int rc = -EINVAL;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "not JSON (line %d, column %d: %s)",
			 je.line, je.column, je.text);
		return -EINVAL;
	}
	json_t *fmt = json_object_get(root, "format");
	json_t *ver = json_object_get(root, "version");
	json_t *proxies = json_object_get(root, "proxies");
	struct frps_traffic total;
	if (!json_is_object(root) || !json_is_string(fmt) ||
	    strcmp(json_string_value(fmt), FORMAT_NAME) != 0) {
		snprintf(err, errlen, "not an frps stats file");
		goto out;
	}
	if (!json_is_integer(ver) ||
	    json_integer_value(ver) != FORMAT_VERSION) {
		snprintf(err, errlen, "unsupported version (want %d)",
			 FORMAT_VERSION);
		goto out;
	}
	if (!json_is_array(proxies)) {
		snprintf(err, errlen, "\"proxies\" is not an array");
		goto out;
	}
	if (get_traffic(json_object_get(root, "total"), &total, "total", err,
			errlen) < 0 ||
	    walk_proxies(st, proxies, false, err, errlen) < 0)
		goto out;
	rc = walk_proxies(st, proxies, true, err, errlen);
	if (rc == 0) {
		total.rate = st->total.rate;
		st->total = total;
	}
out:
	json_decref(root);
	return rc;
}

int frps_statsfile_load(struct frps_stats *st, const char *path, char *err,
			size_t errlen)
{
	int rc;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return rc;
	}
	struct stat sb;
	if (fstat(fd, &sb) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)FRPS_STATSFILE_MAX) {
		rc = -EFBIG;
		snprintf(err, errlen, "not a regular file of at most %u bytes",
			 FRPS_STATSFILE_MAX);
		goto out;
	}
	size_t n = (size_t)sb.st_size, got = 0;
	rc = -ENOMEM;
	if (!(buf = malloc(n + 1)))
		goto out;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			rc = -errno;
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rc = frps_statsfile_parse(st, buf, got, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- writing ------------------------------------------------------------ */

static json_t *traffic_json(const struct frps_traffic *t)
{
	json_t *o = json_object(), *di = json_array(), *dout = json_array();
	if (!o || !di || !dout)
		goto fail;
	for (int i = 0; i < FRPS_STATS_DAYS; i++) {
		if (json_array_append_new(di, json_integer((json_int_t)t->day_in[i])) ||
		    json_array_append_new(dout, json_integer((json_int_t)t->day_out[i])))
			goto fail;
	}
	if (json_object_set_new(o, "in", json_integer((json_int_t)t->in)) ||
	    json_object_set_new(o, "out", json_integer((json_int_t)t->out)) ||
	    json_object_set_new(o, "day0", json_integer(t->day0)) ||
	    json_object_set_new(o, "dayIn", di) ||
	    json_object_set_new(o, "dayOut", dout)) {
		json_decref(o);
		return NULL;
	}
	return o;
fail:
	json_decref(o);
	json_decref(di);
	json_decref(dout);
	return NULL;
}

static json_t *stats_json(const struct frps_stats *st)
{
	json_t *root = json_object(), *arr = json_array();
	if (!root || !arr)
		goto fail;
	size_t pos = 0;
	struct frps_proxy_stats *p;
	while ((p = frps_stats_proxy_next(st, &pos))) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o*}",
				      "name", p->name, "type",
				      p->type ? p->type : "", "user",
				      p->user ? p->user : "", "lastStart",
				      (json_int_t)p->last_start, "lastClose",
				      (json_int_t)p->last_close, "traffic",
				      traffic_json(&p->traffic));
		if (!o || !json_object_get(o, "traffic") ||
		    json_array_append_new(arr, o)) {
			json_decref(o);
			goto fail;
		}
	}
	json_t *total = traffic_json(&st->total);
	if (json_object_set_new(root, "format", json_string(FORMAT_NAME)) ||
	    json_object_set_new(root, "version", json_integer(FORMAT_VERSION)) ||
	    json_object_set_new(root, "savedAt", json_integer(util_unix_time())) ||
	    json_object_set_new(root, "total", total) ||
	    json_object_set_new(root, "proxies", arr)) {
		json_decref(root);
		return NULL;
	}
	return root;
fail:
	json_decref(root);
	json_decref(arr);
	return NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int frps_statsfile_save(const struct frps_stats *st, const char *path,
			char *err, size_t errlen)
{
	int rc = -ENOMEM, fd = -1;
	char *text = NULL, *tmp = NULL;
	json_t *root = stats_json(st);
	if (!root || !(text = json_dumps(root, JSON_COMPACT)))
		goto oom;
	size_t tlen = strlen(path) + 32;
	if (!(tmp = malloc(tlen)))
		goto oom;
	snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1) {
		rc = -errno;
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	rc = write_all(fd, text, strlen(text));
	if (rc == 0)
		rc = write_all(fd, "\n", 1);
	if (rc == 0 && fsync(fd) == -1)
		rc = -errno;
	if (close(fd) == -1 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc < 0) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(-rc));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		rc = -errno;
		snprintf(err, errlen, "rename to %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(tmp);
	free(text);
	json_decref(root);
	return rc;
}

char *frps_statsfile_default_path(const char *configured,
				  const char *config_path)
{
	if (configured && *configured)
		return util_strdup(configured);
	if (!config_path || !*config_path)
		return util_strdup("/var/lib/frps/stats.json");
	size_t n = strlen(config_path) + sizeof(".stats.json");
	char *p = malloc(n);
	if (!p)
		return NULL;
	/* frps.yaml -> frps.yaml.stats.json: beside the file, never
	 * clobbering another file of the same stem. */
	snprintf(p, n, "%s.stats.json", config_path);
	return p;
}
