/*
 * conf_schema.c - the generic half of the config loader: walk a YAML map
 * against a schema table, set typed fields, collect transport subtrees.
 *
 * Defaults go through the same setters as file values, so a default that
 * would not parse is caught the first time any test builds a config.
 */
#include "conf_schema.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(base, off, type) ((type *)((char *)(base) + (off)))

int conf_fail(struct conf_ctx *c, const struct conf_node *at, const char *fmt,
	      ...)
{
	va_list ap;
	int k;

	if (at)
		k = snprintf(c->err, c->errlen, "%s:%d:%d: %s",
			     at->file ? at->file : c->file, at->line, at->col,
			     c->scope ? c->scope : "");
	else
		k = snprintf(c->err, c->errlen, "%s: %s", c->file,
			     c->scope ? c->scope : "");
	if (k >= 0 && (size_t)k < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + k, c->errlen - k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int conf_fail_oom(struct conf_ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -ENOMEM;
}

const char *conf_esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	assert(len >= 16);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char tmp[8];
		int k;

		if (ch < 0x20 || ch == 0x7f)
			k = snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
		else if (ch == '"' || ch == '\\')
			k = snprintf(tmp, sizeof(tmp), "\\%c", ch);
		else
			k = snprintf(tmp, sizeof(tmp), "%c", ch);
		if (o + (size_t)k + 4 > len || o >= 60) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, tmp, (size_t)k);
		o += (size_t)k;
	}
	buf[o] = '\0';
	return buf;
}

static const char *type_name(const struct conf_row *r)
{
	switch (r->type) {
	case CONF_T_INT:
	case CONF_T_U16:
		return "an integer";
	case CONF_T_BOOL:
		return "a boolean";
	case CONF_T_SEQ:
		return "a sequence";
	default:
		return "a string";
	}
}

static int set_str(char **field, const char *text)
{
	char *s = strdup(text);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

static void choices_list(const char *const *ch, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; ch[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
				      ch[i]);
}

/* Decimal integer: optional '-', digits, no leading zeros (YAML 1.1 would
 * read 010 as octal; we refuse rather than guess). */
static int parse_long(const char *t, long *out, bool *range)
{
	const char *d = t[0] == '-' ? t + 1 : t;
	char *end;

	*range = false;
	if (!*d || strspn(d, "0123456789") != strlen(d))
		return -EINVAL;
	if (d[0] == '0' && d[1])
		return -EINVAL;
	errno = 0;
	*out = strtol(t, &end, 10);
	if (errno == ERANGE) {
		*range = true;
		return -ERANGE;
	}
	return 0;
}

/* Parse text into the row's field. On -EINVAL msg says why, starting with
 * the value (the caller puts the key in front). */
static int set_text(const struct conf_row *r, void *base, const char *text,
		    char *msg, size_t msglen)
{
	char esc[80], list[128];
	const char *why;
	long v;
	bool range;
	int i;

	switch (r->type) {
	case CONF_T_STR:
	case CONF_T_CHOICE:
		if (r->type == CONF_T_CHOICE) {
			for (i = 0; r->choices[i]; i++)
				if (!strcmp(r->choices[i], text))
					break;
			if (!r->choices[i])
				goto bad_choice;
		}
		if (r->check && (why = r->check(text))) {
			snprintf(msg, msglen, "\"%s\" %s",
				 conf_esc(text, esc, sizeof(esc)), why);
			return -EINVAL;
		}
		return set_str(FIELD(base, r->off, char *), text);
	case CONF_T_INT:
	case CONF_T_U16:
		if (parse_long(text, &v, &range) < 0 && !range) {
			snprintf(msg, msglen, "\"%s\" is not a decimal integer",
				 conf_esc(text, esc, sizeof(esc)));
			return -EINVAL;
		}
		if (range || v < r->min || v > r->max) {
			snprintf(msg, msglen, "%s is out of range (%ld-%ld)",
				 conf_esc(text, esc, sizeof(esc)), r->min,
				 r->max);
			return -EINVAL;
		}
		if (r->type == CONF_T_INT)
			*FIELD(base, r->off, int) = (int)v;
		else
			*FIELD(base, r->off, uint16_t) = (uint16_t)v;
		return 0;
	case CONF_T_BOOL:
		if (strcmp(text, "true") && strcmp(text, "false")) {
			snprintf(msg, msglen,
				 "\"%s\" is not a boolean (true or false)",
				 conf_esc(text, esc, sizeof(esc)));
			return -EINVAL;
		}
		*FIELD(base, r->off, bool) = text[0] == 't';
		return 0;
	case CONF_T_ENUM:
		for (i = 0; r->choices[i]; i++)
			if (!strcmp(r->choices[i], text)) {
				*FIELD(base, r->off, int) = i;
				return 0;
			}
		goto bad_choice;
	default:
		snprintf(msg, msglen, "expected a sequence");
		return -EINVAL;
	}
bad_choice:
	choices_list(r->choices, list, sizeof(list));
	snprintf(msg, msglen, "\"%s\" is not one of %s",
		 conf_esc(text, esc, sizeof(esc)), list);
	return -EINVAL;
}

int conf_schema_defaults(const struct conf_schema *s, void *base)
{
	char msg[256];
	int rc;

	assert(s->n <= CONF_MAX_ROWS);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->rows[i].def)
			continue;
		rc = set_text(&s->rows[i], base, s->rows[i].def, msg,
			      sizeof(msg));
		/* A default that does not parse is a bug in the table. */
		assert(rc != -EINVAL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A scalar (or null) from the file for row r. Returns 1 when the field was
 * set, 0 when the value is null (the default stays), or -errno. */
static int set_value(struct conf_ctx *c, const struct conf_row *r,
		     const char *key, const struct conf_node *v, void *base)
{
	char msg[256], esc[80];
	int rc;

	if (v->kind == CONF_NODE_SCALAR && v->null)
		return 0;
	if (r->type == CONF_T_SEQ) {
		if (v->kind != CONF_NODE_SEQ)
			return conf_fail(c, v, "%s: expected a sequence, got %s",
					 key, conf_node_kind_name(v));
		rc = r->seq(c, v, base);
		return rc < 0 ? rc : 1;
	}
	if (v->kind != CONF_NODE_SCALAR)
		return conf_fail(c, v, "%s: expected %s, got %s", key,
				 type_name(r), conf_node_kind_name(v));
	if (v->quoted && (r->type == CONF_T_INT || r->type == CONF_T_U16 ||
			  r->type == CONF_T_BOOL))
		return conf_fail(c, v, "%s: expected %s, got the quoted string "
				 "\"%s\"", key, type_name(r),
				 conf_esc(v->text, esc, sizeof(esc)));
	rc = set_text(r, base, v->text, msg, sizeof(msg));
	if (rc == -EINVAL)
		return conf_fail(c, v, "%s: %s", key, msg);
	if (rc < 0)
		return conf_fail_oom(c);
	return 1;
}

static const struct conf_row *find_row(const struct conf_schema *s,
				       const char *key, size_t *idx)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->rows[i].key, key)) {
			*idx = i;
			return &s->rows[i];
		}
	return NULL;
}

/* True when some row lives under "key." (key names a section). */
static bool is_section(const struct conf_schema *s, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < s->n; i++)
		if (!strncmp(s->rows[i].key, key, len) &&
		    s->rows[i].key[len] == '.')
			return true;
	return false;
}

/* Keys are checked one by one, in order, so the first offending key of the
 * file is the one reported. */
static int check_key(struct conf_ctx *c, const struct conf_node *map,
		     size_t i, const char *full)
{
	const struct conf_node *k = map->kid[2 * i];
	char esc[80];

	if (map->n / 2 > CONF_MAX_KEYS)
		return conf_fail(c, map, "more than %d keys in one map",
				 CONF_MAX_KEYS);
	for (size_t j = 0; j < i; j++) {
		const struct conf_node *p = map->kid[2 * j];

		if (!strcmp(p->text, k->text))
			return conf_fail(c, k,
					 "duplicate key \"%s\" (first at %d:%d)",
					 conf_esc(full, esc, sizeof(esc)),
					 p->line, p->col);
	}
	if (strchr(k->text, '.'))
		return conf_fail(c, k, "unknown key \"%s\" (write dotted keys "
				 "as nested maps)",
				 conf_esc(full, esc, sizeof(esc)));
	return 0;
}

static char *join(const char *prefix, const char *key)
{
	char *s;

	if (!prefix || !*prefix)
		return strdup(key);
	if (asprintf(&s, "%s.%s", prefix, key) == -1)
		return NULL;
	return s;
}

static void xport_free_one(struct conf_xport_opts *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free((char *)x->opts[i].key);
		free((char *)x->opts[i].value);
		free(x->where[i]);
	}
	free(x->opts);
	free(x->where);
	free(x->protocol);
	free(x->at);
}

static int xport_push(struct conf_ctx *c, struct conf_xport_opts *x,
		      const char *key, const struct conf_node *kn,
		      const struct conf_node *vn)
{
	struct xport_option *o;
	char **w;

	o = realloc(x->opts, (x->n + 1) * sizeof(*o));
	if (!o)
		return conf_fail_oom(c);
	x->opts = o;
	w = realloc(x->where, (x->n + 1) * sizeof(*w));
	if (!w)
		return conf_fail_oom(c);
	x->where = w;
	o[x->n].key = strdup(key);
	o[x->n].value = strdup(vn->text);
	if (asprintf(&w[x->n], "%s:%d:%d", c->file, kn->line, kn->col) == -1)
		w[x->n] = NULL;
	x->n++; /* counted before the check, so xport_free_one frees it */
	if (!o[x->n - 1].key || !o[x->n - 1].value || !w[x->n - 1])
		return conf_fail_oom(c);
	return 0;
}

/* Flatten map into x: nested maps join keys with dots, null values are
 * skipped (as everywhere: null = not set), sequences are errors. prefix is
 * relative to the subtree, section is its full name for messages. */
static int xport_flatten(struct conf_ctx *c, struct conf_xport_opts *x,
			 const char *section, const char *prefix,
			 const struct conf_node *map)
{
	int rc = 0;

	for (size_t i = 0; i < map->n / 2 && rc == 0; i++) {
		const struct conf_node *k = map->kid[2 * i];
		const struct conf_node *v = map->kid[2 * i + 1];
		char *rel = join(prefix, k->text), *full = NULL;

		if (!rel || !(full = join(section, rel))) {
			rc = conf_fail_oom(c);
		} else if ((rc = check_key(c, map, i, full)) < 0) {
			/* reported */
		} else if (v->kind == CONF_NODE_MAP) {
			rc = xport_flatten(c, x, section, rel, v);
		} else if (v->kind == CONF_NODE_SEQ) {
			rc = conf_fail(c, v, "%s: expected a scalar, got %s",
				       full, conf_node_kind_name(v));
		} else if (!v->null) {
			rc = xport_push(c, x, rel, k, v);
		}
		free(rel);
		free(full);
	}
	return rc;
}

static int xport_add(struct conf_ctx *c, const struct conf_schema *s,
		     const char *full, const struct conf_node *key,
		     const struct conf_node *map, void *base)
{
	struct conf_xport_opts **v = FIELD(base, s->xport_off,
					   struct conf_xport_opts *);
	size_t *n = FIELD(base, s->n_xport_off, size_t);
	struct conf_xport_opts *nv;

	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return conf_fail_oom(c);
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	nv[*n].protocol = strdup(key->text);
	if (asprintf(&nv[*n].at, "%s:%d:%d", c->file, key->line, key->col) == -1)
		nv[*n].at = NULL;
	++*n;
	if (!nv[*n - 1].protocol || !nv[*n - 1].at)
		return conf_fail_oom(c);
	return xport_flatten(c, &nv[*n - 1], full, "", map);
}

static int walk(struct conf_ctx *c, const struct conf_schema *s,
		const struct conf_node *map, const char *prefix, void *base,
		struct conf_seen *seen)
{
	int rc = 0;

	for (size_t i = 0; i < map->n / 2 && rc == 0; i++) {
		const struct conf_node *k = map->kid[2 * i];
		const struct conf_node *v = map->kid[2 * i + 1];
		const struct conf_row *r;
		char *full = join(prefix, k->text);
		char esc[80];
		size_t idx;

		if (!full) {
			rc = conf_fail_oom(c);
		} else if ((rc = check_key(c, map, i, full)) < 0) {
			/* reported */
		} else if ((r = find_row(s, full, &idx))) {
			rc = set_value(c, r, full, v, base);
			if (rc > 0) {
				seen->mask |= (uint64_t)1 << idx;
				seen->key[idx] = k;
				rc = 0;
			}
		} else if (*k->text && is_section(s, full)) {
			if (v->kind == CONF_NODE_MAP)
				rc = walk(c, s, v, full, base, seen);
			else if (!(v->kind == CONF_NODE_SCALAR && v->null))
				rc = conf_fail(c, v, "%s: expected a map, got %s",
					       full, conf_node_kind_name(v));
		} else if (s->xport_section && prefix &&
			   !strcmp(prefix, s->xport_section) && *k->text &&
			   v->kind == CONF_NODE_MAP) {
			rc = xport_add(c, s, full, k, v, base);
		} else {
			rc = conf_fail(c, k, "unknown key \"%s\"",
				       conf_esc(full, esc, sizeof(esc)));
		}
		free(full);
	}
	return rc;
}

int conf_schema_apply(struct conf_ctx *c, const struct conf_schema *s,
		      const struct conf_node *map, void *base,
		      struct conf_seen *seen)
{
	struct conf_seen local;
	int rc = 0;

	if (!seen)
		seen = &local;
	memset(seen, 0, sizeof(*seen));
	if (map)
		rc = walk(c, s, map, NULL, base, seen);
	for (size_t i = 0; i < s->n && rc == 0; i++)
		if ((s->rows[i].flags & CONF_F_REQUIRED) &&
		    !(seen->mask & ((uint64_t)1 << i)))
			rc = conf_fail(c, map, "missing required key \"%s\"",
				       s->rows[i].key);
	return rc;
}

const struct conf_node *conf_seen_key(const struct conf_schema *s,
				      const struct conf_seen *seen,
				      const char *key)
{
	size_t idx;

	if (!find_row(s, key, &idx) || !(seen->mask & ((uint64_t)1 << idx)))
		return NULL;
	return seen->key[idx];
}

void conf_schema_free(const struct conf_schema *s, void *base)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_row *r = &s->rows[i];

		if (r->type == CONF_T_STR || r->type == CONF_T_CHOICE) {
			free(*FIELD(base, r->off, char *));
			*FIELD(base, r->off, char *) = NULL;
		} else if (r->type == CONF_T_SEQ && r->seq_free) {
			r->seq_free(base);
		}
	}
	if (s->xport_section) {
		struct conf_xport_opts **v = FIELD(base, s->xport_off,
						   struct conf_xport_opts *);
		size_t *n = FIELD(base, s->n_xport_off, size_t);

		for (size_t i = 0; i < *n; i++)
			xport_free_one(&(*v)[i]);
		free(*v);
		*v = NULL;
		*n = 0;
	}
}
