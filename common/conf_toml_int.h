/*
 * conf_toml_int.h - what the two halves of the TOML front end share
 * (private): the scanner state, one-character helpers, and the lexical
 * pieces in conf_toml_lex.c (input check, strings, numbers).
 */
#ifndef CONF_TOML_INT_H
#define CONF_TOML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "conf_yaml.h"

#define MAX_PATH 32     /* segments in one key or header */
#define MAX_NEST 32     /* arrays / inline tables inside each other */
#define MAX_KEYS 1024   /* keys in one table, items in one array */

/* Scanner state: the input, the cursor with its 1-based line:col (columns
 * count characters), where errors go, and the tree being built. */
struct tp {
	const char *name;
	const char *s;
	size_t len, i;
	int line, col;
	char *err;
	size_t errlen;
	struct conf_node *root, *cur;
};

/* A growing, always NUL-terminated string. */
struct buf {
	char *p;
	size_t n, cap;
};

/** "NAME:LINE:COL: why" into p->err; returns -EINVAL. */
int toml_fail_at(struct tp *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define FAIL(p, ...) toml_fail_at(p, (p)->line, (p)->col, __VA_ARGS__)
/** "NAME: out of memory"; returns -ENOMEM. */
int toml_oom(struct tp *p);
/** c as a message shows it ("'x'", "the end of the line", ...); tmp holds
 *  at least 16 bytes. */
const char *toml_shown(int c, char *tmp);
/** Whole input: valid UTF-8, no control characters but tab and line ends.
 *  Rewinds p on success. */
int toml_check_text(struct tp *p);
/** Any string form at the cursor into a malloc'd *out (multi-line forms
 *  only when allow_multi). */
int toml_string(struct tp *p, char **out, bool allow_multi);
/** An integer at the cursor as malloc'd decimal text; floats and dates are
 *  errors naming them. */
int toml_number(struct tp *p, char **text);

static inline int peek(const struct tp *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static inline int peek2(const struct tp *p)
{
	return p->i + 1 < p->len ? (unsigned char)p->s[p->i + 1] : -1;
}

/* One byte on; conf_pos_step keeps line:col in characters. */
static inline void adv(struct tp *p)
{
	if (p->i >= p->len)
		return;
	conf_pos_step(p->s[p->i], &p->line, &p->col);
	p->i++;
}

static inline bool at_str(const struct tp *p, const char *w)
{
	size_t n = strlen(w);

	return p->len - p->i >= n && !memcmp(p->s + p->i, w, n);
}

static inline void skip_ws(struct tp *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		adv(p);
}

static inline bool at_eol(const struct tp *p)
{
	return peek(p) == -1 || peek(p) == '\n' ||
	       (peek(p) == '\r' && peek2(p) == '\n');
}

static inline void skip_comment(struct tp *p)
{
	if (peek(p) == '#')
		while (!at_eol(p))
			adv(p);
}

static inline void eat_eol(struct tp *p)
{
	if (peek(p) == '\r')
		adv(p);
	if (peek(p) == '\n')
		adv(p);
}

static inline bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

#endif
