/*
 * conf_tmpl.c - `{{ .Envs.NAME }}` expansion.
 *
 * A template never spans lines (Go allows it, frp's documentation never
 * does it), so an unterminated `{{` is reported where it opens instead of
 * swallowing the rest of the file.
 */
#include "conf_tmpl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 128

struct out {
	char *p;
	size_t n, cap, max;
};

static int put(struct out *o, const char *s, size_t n)
{
	if (o->n + n > o->max)
		return -EFBIG;
	if (o->n + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *np;

		while (cap < o->n + n + 1)
			cap *= 2;
		np = realloc(o->p, cap);
		if (!np)
			return -ENOMEM;
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
	return 0;
}

static const char *env_getenv(const char *name, void *ctx)
{
	(void)ctx;
	return getenv(name);
}

static bool name_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Column of byte off in the line starting at bol (characters, 1-based). */
static int column(const char *bol, const char *at)
{
	int col = 1;

	for (const char *c = bol; c < at; c++)
		if (((unsigned char)*c & 0xc0) != 0x80)
			col++;
	return col;
}

/* Parse the template at s (which starts with "{{"), ending before lim.
 * On success *end points after "}}" and name holds NAME. */
static const char *parse_one(const char *s, const char *lim, char *name,
			     const char **end)
{
	const char *c = s + 2, *close = NULL, *n0;
	size_t n;

	for (const char *k = c; k + 1 < lim && *k != '\n'; k++)
		if (k[0] == '}' && k[1] == '}') {
			close = k;
			break;
		}
	if (!close)
		return "unterminated \"{{\" (templates end with \"}}\" on the "
		       "same line)";
	*end = close + 2;
	while (c < close && (*c == ' ' || *c == '\t'))
		c++;
	if (close - c < 6 || memcmp(c, ".Envs.", 6))
		return NULL; /* reported by the caller as unsupported */
	n0 = c += 6;
	while (c < close && name_char(*c, c == n0))
		c++;
	n = (size_t)(c - n0);
	while (c < close && (*c == ' ' || *c == '\t'))
		c++;
	if (n == 0 || n >= MAX_NAME || c != close)
		return NULL;
	memcpy(name, n0, n);
	name[n] = '\0';
	return "";
}

static int map_add(struct conf_tmpl_map *m, size_t out0, size_t out1,
		   size_t in0, size_t in1)
{
	struct conf_tmpl_sub *v;

	if (!m)
		return 0;
	v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	v[m->n++] = (struct conf_tmpl_sub){out0, out1, in0, in1};
	return 0;
}

int conf_tmpl_expand(const char *fname, const char *buf, size_t len,
		     conf_env_cb env, void *ctx, size_t max_out, char **out,
		     size_t *outlen, struct conf_tmpl_map *map, char *err,
		     size_t errlen)
{
	struct out o = {.max = max_out};
	const char *s = buf, *lim = buf + len, *bol = buf;
	int line = 1, rc = 0;

	if (!env)
		env = env_getenv;
	rc = put(&o, "", 0);
	while (rc == 0 && s < lim) {
		const char *open = NULL, *end, *why, *val;
		char name[MAX_NAME];

		for (const char *k = s; k < lim; k++) {
			if (*k == '\n') {
				line++;
				bol = k + 1;
			} else if (k + 1 < lim && k[0] == '{' && k[1] == '{') {
				open = k;
				break;
			}
		}
		rc = put(&o, s, (size_t)((open ? open : lim) - s));
		if (rc < 0 || !open)
			break;
		why = parse_one(open, lim, name, &end);
		if (!why) {
			snprintf(err, errlen, "%s:%d:%d: unsupported template "
				 "\"%.*s\" (only {{ .Envs.NAME }} is supported)",
				 fname, line, column(bol, open),
				 (int)(end - open > 60 ? 60 : end - open), open);
			rc = -EINVAL;
		} else if (*why) {
			snprintf(err, errlen, "%s:%d:%d: %s", fname, line,
				 column(bol, open), why);
			rc = -EINVAL;
		} else if (!(val = env(name, ctx))) {
			snprintf(err, errlen, "%s:%d:%d: environment variable "
				 "%s is not set (used as {{ .Envs.%s }})",
				 fname, line, column(bol, open), name, name);
			rc = -EINVAL;
		} else {
			size_t out0 = o.n;

			rc = put(&o, val, strlen(val));
			if (rc == 0)
				rc = map_add(map, out0, o.n,
					     (size_t)(open - buf),
					     (size_t)(end - buf));
			s = end;
		}
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", fname);
	else if (rc == -EFBIG)
		snprintf(err, errlen, "%s: file is larger than %zu bytes once "
			 "templates are expanded", fname, max_out);
	if (rc < 0) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*outlen = o.n;
	return 0;
}

static int index_lines(const char *t, size_t len, size_t **bol, size_t *n)
{
	size_t k = 1;

	for (size_t i = 0; i < len; i++)
		k += t[i] == '\n';
	*bol = malloc(k * sizeof(**bol));
	if (!*bol)
		return -ENOMEM;
	(*bol)[0] = 0;
	*n = 1;
	for (size_t i = 0; i < len; i++)
		if (t[i] == '\n')
			(*bol)[(*n)++] = i + 1;
	return 0;
}

int conf_tmpl_map_index(struct conf_tmpl_map *m, const char *in,
			size_t inlen, const char *out, size_t outlen)
{
	m->in = in;
	m->inlen = inlen;
	m->out = out;
	m->outlen = outlen;
	if (index_lines(in, inlen, &m->in_bol, &m->n_in) < 0 ||
	    index_lines(out, outlen, &m->out_bol, &m->n_out) < 0)
		return -ENOMEM;
	return 0;
}

void conf_tmpl_unmap(const struct conf_tmpl_map *m, int *line, int *col)
{
	size_t off, lo = 0, hi, in_off, l;
	int c;

	if (!m || m->n == 0 || !m->out_bol || !m->in_bol || *line < 1 ||
	    *col < 1)
		return;
	/* line:col -> byte offset in the output (columns count characters) */
	l = (size_t)*line - 1 < m->n_out ? (size_t)*line - 1 : m->n_out - 1;
	off = m->out_bol[l];
	for (c = 1; c < *col && off < m->outlen && m->out[off] != '\n'; c++) {
		off++;
		while (off < m->outlen &&
		       ((unsigned char)m->out[off] & 0xc0) == 0x80)
			off++;
	}
	/* the last substitution starting at or before off */
	hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->v[mid].out0 <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		in_off = off;
	else if (off < m->v[lo - 1].out1)
		in_off = m->v[lo - 1].in0;
	else
		in_off = m->v[lo - 1].in1 + (off - m->v[lo - 1].out1);
	if (in_off > m->inlen)
		in_off = m->inlen;
	/* byte offset in the input -> line:col */
	lo = 0;
	hi = m->n_in;
	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->in_bol[mid] <= in_off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (int)lo + 1;
	c = 1;
	for (size_t i = m->in_bol[lo]; i < in_off; i++)
		if (((unsigned char)m->in[i] & 0xc0) != 0x80)
			c++;
	*col = c;
}

void conf_tmpl_map_free(struct conf_tmpl_map *m)
{
	free(m->v);
	free(m->in_bol);
	free(m->out_bol);
	memset(m, 0, sizeof(*m));
}
