/*
 * conf_toml.c - TOML text -> struct conf_node tree.
 *
 * A single forward pass with one byte of look-ahead. Before parsing, the
 * whole input is checked once for UTF-8 and control characters (TOML allows
 * neither raw in strings nor in comments), so the scanner below only ever
 * sees printable text, tabs and line ends.
 *
 * Table bookkeeping lives in conf_node.pflags, which is how the strict rules
 * are enforced without a second structure: a table made by a [header] may
 * not be made again, one made by dotted keys may not get a header, inline
 * tables are sealed. Nesting is bounded (key paths and values), and so is
 * the number of keys per table, which keeps the linear key lookup cheap on
 * hostile input.
 */
#include "conf_toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH 32     /* segments in one key or header */
#define MAX_NEST 32     /* arrays / inline tables inside each other */
#define MAX_KEYS 1024   /* keys in one table, items in one array */

/* conf_node.pflags of maps and sequences */
enum {
	T_HEADER = 1,   /* defined by a [header] */
	T_IMPLICIT = 2, /* made as a parent of a [header]; may get one later */
	T_DOTTED = 4,   /* made by a dotted key */
	T_INLINE = 8,   /* inline table or array value: sealed */
	T_AOT = 16,     /* array of tables ([[header]]) */
};

struct seg {
	char *text;
	int line, col;
};

struct keypath {
	struct seg s[MAX_PATH];
	int n;
};

struct tp {
	const char *name;
	const char *s;
	size_t len, i;
	int line, col;
	char *err;
	size_t errlen;
	struct conf_node *root, *cur;
};

struct buf {
	char *p;
	size_t n, cap;
};

__attribute__((format(printf, 4, 5))) static int
fail_at(struct tp *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(p->err, p->errlen, "%s:%d:%d: ", p->name, line, col);

	if (k >= 0 && (size_t)k < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + k, p->errlen - k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define FAIL(p, ...) fail_at(p, (p)->line, (p)->col, __VA_ARGS__)

static int oom(struct tp *p)
{
	snprintf(p->err, p->errlen, "%s: out of memory", p->name);
	return -ENOMEM;
}

static int peek(const struct tp *p)
{
	return p->i < p->len ? (unsigned char)p->s[p->i] : -1;
}

static int peek2(const struct tp *p)
{
	return p->i + 1 < p->len ? (unsigned char)p->s[p->i + 1] : -1;
}

/* Columns count characters, not bytes: skip UTF-8 continuation bytes. */
static void adv(struct tp *p)
{
	if (p->i >= p->len)
		return;
	if (p->s[p->i] == '\n') {
		p->line++;
		p->col = 1;
	} else if (((unsigned char)p->s[p->i] & 0xc0) != 0x80) {
		p->col++;
	}
	p->i++;
}

static bool at_str(const struct tp *p, const char *w)
{
	size_t n = strlen(w);

	return p->len - p->i >= n && !memcmp(p->s + p->i, w, n);
}

static void skip_ws(struct tp *p)
{
	while (peek(p) == ' ' || peek(p) == '\t')
		adv(p);
}

static bool at_eol(const struct tp *p)
{
	return peek(p) == -1 || peek(p) == '\n' ||
	       (peek(p) == '\r' && peek2(p) == '\n');
}

static void skip_comment(struct tp *p)
{
	if (peek(p) == '#')
		while (!at_eol(p))
			adv(p);
}

static void eat_eol(struct tp *p)
{
	if (peek(p) == '\r')
		adv(p);
	if (peek(p) == '\n')
		adv(p);
}

static const char *shown(int c, char *tmp)
{
	if (c == -1)
		return "the end of the file";
	if (c == '\n' || c == '\r')
		return "the end of the line";
	if (c < 0x20 || c >= 0x7f)
		snprintf(tmp, 16, "byte 0x%02x", c);
	else
		snprintf(tmp, 16, "'%c'", c);
	return tmp;
}

static int expect_eol(struct tp *p, const char *after)
{
	char tmp[16];

	skip_ws(p);
	skip_comment(p);
	if (!at_eol(p))
		return FAIL(p, "expected the end of the line after %s, got %s",
			    after, shown(peek(p), tmp));
	eat_eol(p);
	return 0;
}

/* ---- input check -------------------------------------------------------- */

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not valid
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int check_text(struct tp *p)
{
	while (p->i < p->len) {
		const unsigned char *c = (const unsigned char *)p->s + p->i;
		size_t n = utf8_len(c, p->len - p->i);

		if (n == 0)
			return FAIL(p, "invalid UTF-8 (byte 0x%02x)", c[0]);
		if ((c[0] < 0x20 && c[0] != '\t' && c[0] != '\n' &&
		     !(c[0] == '\r' && peek2(p) == '\n')) ||
		    c[0] == 0x7f)
			return FAIL(p, "control character 0x%02x is not allowed "
				    "(write it as an escape in a \"string\")",
				    c[0]);
		while (n--)
			adv(p);
	}
	p->i = 0;
	p->line = p->col = 1;
	return 0;
}

/* ---- strings -------------------------------------------------------------- */

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 32;
		char *np;

		while (cap < b->n + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t k = 1; k < n; k++)
		u[k] = (char)(0x80 | ((cp >> (6 * (n - 1 - k))) & 0x3f));
	return buf_put(b, u, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* After a backslash in a basic string; multi says a line-ending backslash
 * (which swallows the following whitespace and line ends) is allowed. */
static int escape(struct tp *p, struct buf *b, bool multi)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	int line = p->line, col = p->col, c;
	unsigned long cp = 0;
	const char *k;

	adv(p); /* the backslash */
	c = peek(p);
	if (multi && (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
		skip_ws(p);
		if (!at_eol(p) || peek(p) == -1)
			return fail_at(p, line, col, "a line-ending backslash "
				       "must be followed only by whitespace");
		while (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '\r' ||
		       peek(p) == '\n')
			adv(p);
		return 0;
	}
	if (c != -1 && c != 0 && (k = strchr(from, c))) {
		adv(p);
		return buf_put(b, &to[k - from], 1);
	}
	if (c != 'u' && c != 'U')
		return fail_at(p, line, col, "unknown escape sequence \"\\%c\"",
			       c >= 0x20 && c < 0x7f ? c : '?');
	adv(p);
	for (int n = c == 'u' ? 4 : 8; n > 0; n--) {
		int h = hexval(peek(p));

		if (h < 0)
			return fail_at(p, line, col, "\\%c needs %d hex digits",
				       c, c == 'u' ? 4 : 8);
		cp = cp << 4 | (unsigned long)h;
		adv(p);
	}
	if (cp == 0)
		return fail_at(p, line, col, "a value must not contain a NUL "
			       "character");
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return fail_at(p, line, col, "\\%c%0*lX is not a Unicode scalar "
			       "value", c, c == 'u' ? 4 : 8, cp);
	return put_utf8(b, cp);
}

/* Any of the four string forms at the cursor (multi-line ones only when
 * allow_multi: keys cannot be multi-line). *out is malloc'd. */
static int parse_string(struct tp *p, char **out, bool allow_multi)
{
	int q = peek(p), line = p->line, col = p->col, rc = 0;
	char delim3[4] = {(char)q, (char)q, (char)q, 0};
	bool multi = at_str(p, delim3);
	struct buf b = {0};

	if (multi && !allow_multi)
		return FAIL(p, "a key cannot be a multi-line string");
	if (buf_put(&b, "", 0) < 0)
		return oom(p);
	if (multi) {
		adv(p), adv(p), adv(p);
		eat_eol(p); /* a newline right after the opening is trimmed */
	} else {
		adv(p);
	}
	for (;;) {
		int c = peek(p);

		if (c == -1 || (!multi && at_eol(p))) {
			rc = fail_at(p, line, col, "unterminated string");
			break;
		}
		if (multi && at_str(p, delim3)) {
			/* Up to two quotes may sit right before the closing
			 * three ("""a"""" is `a"`). */
			int extra = 0;

			while (extra < 2 && p->i + 3 + extra < p->len &&
			       p->s[p->i + 3 + extra] == q)
				extra++;
			for (int k = 0; k < extra && rc == 0; k++, adv(p))
				rc = buf_put(&b, delim3, 1) < 0 ? -ENOMEM : 0;
			adv(p), adv(p), adv(p);
			break;
		}
		if (!multi && c == q) {
			adv(p);
			break;
		}
		if (q == '"' && c == '\\') {
			rc = escape(p, &b, multi);
			if (rc < 0)
				break;
			continue;
		}
		if (buf_put(&b, p->s + p->i, 1) < 0) {
			rc = -ENOMEM;
			break;
		}
		adv(p);
	}
	if (rc == -ENOMEM)
		rc = oom(p);
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

static bool is_bare(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void keypath_free(struct keypath *k)
{
	for (int i = 0; i < k->n; i++)
		free(k->s[i].text);
	k->n = 0;
}

static int parse_key(struct tp *p, struct keypath *k)
{
	char tmp[16];
	int rc;

	k->n = 0;
	for (;;) {
		struct seg *s = &k->s[k->n];

		skip_ws(p);
		if (k->n == MAX_PATH)
			return FAIL(p, "a key has more than %d parts", MAX_PATH);
		s->line = p->line;
		s->col = p->col;
		if (peek(p) == '"' || peek(p) == '\'') {
			rc = parse_string(p, &s->text, false);
			if (rc < 0)
				return rc;
		} else if (is_bare(peek(p))) {
			size_t start = p->i;

			while (is_bare(peek(p)))
				adv(p);
			s->text = strndup(p->s + start, p->i - start);
			if (!s->text)
				return oom(p);
		} else {
			return FAIL(p, "expected a key, got %s",
				    shown(peek(p), tmp));
		}
		k->n++;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		adv(p);
	}
}

/* "a.b.c" of the first n segments, for messages. */
static const char *key_name(const struct keypath *k, int n, char *buf,
			    size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "." : "",
				      k->s[i].text);
	return buf;
}

/* ---- tables ----------------------------------------------------------------- */

static struct conf_node *lookup(struct conf_node *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kid[i]->text, key))
			return map->kid[i + 1];
	return NULL;
}

static const struct conf_node *lookup_key(struct conf_node *map,
					  const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kid[i]->text, key))
			return map->kid[i];
	return NULL;
}

/* Add key -> val to map. Takes val (and frees it on failure); the key text
 * is copied. */
static int put(struct tp *p, struct conf_node *map, const struct seg *s,
	       struct conf_node *val)
{
	struct conf_node *key;

	if (map->n / 2 >= MAX_KEYS) {
		conf_node_free(val);
		return fail_at(p, s->line, s->col, "more than %d keys in one "
			       "table", MAX_KEYS);
	}
	key = conf_node_new(CONF_NODE_SCALAR, s->line, s->col);
	if (!key || !(key->text = strdup(s->text)) ||
	    conf_node_append(map, key) < 0) {
		conf_node_free(key);
		conf_node_free(val);
		return oom(p);
	}
	if (conf_node_append(map, val) < 0) {
		/* keep the map well-formed: drop the key again */
		conf_node_free(map->kid[--map->n]);
		conf_node_free(val);
		return oom(p);
	}
	return 0;
}

static int new_table(struct tp *p, struct conf_node *map, const struct seg *s,
		     int line, int col, unsigned flags,
		     struct conf_node **out)
{
	struct conf_node *t = conf_node_new(CONF_NODE_MAP, line, col);
	int rc;

	if (!t)
		return oom(p);
	t->pflags = (unsigned char)flags;
	rc = put(p, map, s, t);
	if (rc == 0)
		*out = t;
	return rc;
}

static int taken(struct tp *p, const struct keypath *k, int upto,
		 const struct conf_node *first, const char *why)
{
	char name[256];

	return fail_at(p, k->s[upto].line, k->s[upto].col,
		       "\"%s\" %s (first at %d:%d)",
		       key_name(k, upto + 1, name, sizeof(name)), why,
		       first->line, first->col);
}

/* Assign val at the dotted key k inside table t. Takes val. */
static int assign(struct tp *p, struct conf_node *t, const struct keypath *k,
		  struct conf_node *val)
{
	int rc;

	for (int i = 0; i + 1 < k->n; i++) {
		struct conf_node *next = lookup(t, k->s[i].text);
		const struct conf_node *key = lookup_key(t, k->s[i].text);

		if (!next) {
			rc = new_table(p, t, &k->s[i], k->s[i].line,
				       k->s[i].col, T_DOTTED, &next);
			if (rc < 0) {
				conf_node_free(val);
				return rc;
			}
		} else if (next->kind != CONF_NODE_MAP ||
			   !(next->pflags & T_DOTTED)) {
			conf_node_free(val);
			return taken(p, k, i, key,
				     next->kind != CONF_NODE_MAP
					     ? "already holds a value"
				     : next->pflags & T_INLINE
					     ? "is an inline table and cannot "
					       "be extended"
					     : "is a table defined elsewhere and "
					       "cannot be extended with dotted "
					       "keys");
		}
		t = next;
	}
	if (lookup(t, k->s[k->n - 1].text)) {
		conf_node_free(val);
		return taken(p, k, k->n - 1, lookup_key(t, k->s[k->n - 1].text),
			     "is defined twice");
	}
	return put(p, t, &k->s[k->n - 1], val);
}

/* [a.b.c] or [[a.b.c]] at the cursor: make p->cur the table it names. */
static int header(struct tp *p)
{
	int line = p->line, col = p->col, rc;
	bool aot = peek2(p) == '[';
	struct conf_node *t = p->root, *next;
	struct keypath k;
	char tmp[16];

	adv(p);
	if (aot)
		adv(p);
	rc = parse_key(p, &k);
	if (rc < 0)
		goto out;
	if (peek(p) != ']' || (aot && peek2(p) != ']')) {
		rc = FAIL(p, "expected '%s' to close the table header, got %s",
			  aot ? "]]" : "]", shown(peek(p), tmp));
		goto out;
	}
	adv(p);
	if (aot)
		adv(p);
	rc = expect_eol(p, "a table header");
	for (int i = 0; i + 1 < k.n && rc == 0; i++) {
		next = lookup(t, k.s[i].text);
		if (!next) {
			rc = new_table(p, t, &k.s[i], k.s[i].line, k.s[i].col,
				       T_IMPLICIT, &next);
		} else if (next->kind == CONF_NODE_SEQ &&
			   (next->pflags & T_AOT)) {
			next = next->kid[next->n - 1];
		} else if (next->kind != CONF_NODE_MAP ||
			   (next->pflags & T_INLINE)) {
			rc = taken(p, &k, i, lookup_key(t, k.s[i].text),
				   next->kind == CONF_NODE_MAP
					   ? "is an inline table and cannot be "
					     "extended"
					   : "already holds a value");
		}
		t = next;
	}
	if (rc < 0)
		goto out;
	const struct seg *last = &k.s[k.n - 1];
	const struct conf_node *key = lookup_key(t, last->text);
	next = lookup(t, last->text);
	if (aot) {
		struct conf_node *item;

		if (!next) {
			next = conf_node_new(CONF_NODE_SEQ, line, col);
			if (!next) {
				rc = oom(p);
				goto out;
			}
			next->pflags = T_AOT;
			rc = put(p, t, last, next);
		} else if (next->kind != CONF_NODE_SEQ ||
			   !(next->pflags & T_AOT)) {
			rc = taken(p, &k, k.n - 1, key,
				   "is already defined and is not an array of "
				   "tables");
		} else if (next->n >= MAX_KEYS) {
			rc = fail_at(p, line, col, "more than %d tables in one "
				     "array", MAX_KEYS);
		}
		if (rc < 0)
			goto out;
		item = conf_node_new(CONF_NODE_MAP, line, col);
		if (!item || conf_node_append(next, item) < 0) {
			conf_node_free(item);
			rc = oom(p);
			goto out;
		}
		item->pflags = T_HEADER;
		p->cur = item;
	} else if (!next) {
		rc = new_table(p, t, last, line, col, T_HEADER, &p->cur);
	} else if (next->kind == CONF_NODE_MAP &&
		   next->pflags == T_IMPLICIT) {
		next->pflags = T_HEADER;
		next->line = line;
		next->col = col;
		p->cur = next;
	} else {
		rc = taken(p, &k, k.n - 1, key,
			   next->kind != CONF_NODE_MAP ? "already holds a value"
			   : next->pflags & T_DOTTED
				   ? "is already defined by dotted keys"
			   : next->pflags & T_INLINE
				   ? "is already defined as an inline table"
				   : "is defined twice");
	}
out:
	keypath_free(&k);
	return rc;
}

/* ---- values ----------------------------------------------------------------- */

static int parse_value(struct tp *p, struct conf_node **out, int depth);

static struct conf_node *scalar(struct tp *p, int line, int col, char *text,
				bool quoted)
{
	struct conf_node *n = conf_node_new(CONF_NODE_SCALAR, line, col);

	if (!n) {
		free(text);
		oom(p);
		return NULL;
	}
	n->text = text;
	n->quoted = quoted;
	return n;
}

/* Blank space, line ends and comments inside an array. */
static void skip_space_nl(struct tp *p)
{
	for (;;) {
		skip_ws(p);
		skip_comment(p);
		if (peek(p) == -1 || !at_eol(p))
			return;
		eat_eol(p);
	}
}

static int parse_array(struct tp *p, struct conf_node *a, int depth)
{
	char tmp[16];
	int rc;

	adv(p);
	for (;;) {
		struct conf_node *v;

		skip_space_nl(p);
		if (peek(p) == ']')
			break;
		if (a->n >= MAX_KEYS)
			return FAIL(p, "more than %d items in one array",
				    MAX_KEYS);
		rc = parse_value(p, &v, depth + 1);
		if (rc < 0)
			return rc;
		if (conf_node_append(a, v) < 0) {
			conf_node_free(v);
			return oom(p);
		}
		skip_space_nl(p);
		if (peek(p) == ',') {
			adv(p);
			continue;
		}
		if (peek(p) != ']')
			return FAIL(p, "expected ',' or ']' in an array, got %s",
				    shown(peek(p), tmp));
		break;
	}
	adv(p);
	return 0;
}

static int keyval(struct tp *p, struct conf_node *t, int depth);

static int parse_inline(struct tp *p, struct conf_node *t, int depth)
{
	char tmp[16];
	int rc;

	adv(p);
	skip_ws(p);
	if (peek(p) == '}') {
		adv(p);
		return 0;
	}
	for (;;) {
		rc = keyval(p, t, depth + 1);
		if (rc < 0)
			return rc;
		skip_ws(p);
		if (peek(p) == '}') {
			adv(p);
			return 0;
		}
		if (peek(p) != ',')
			return FAIL(p, "expected ',' or '}' in an inline "
				    "table, got %s", shown(peek(p), tmp));
		adv(p);
		skip_ws(p);
		if (peek(p) == '}')
			return FAIL(p, "no trailing ',' is allowed in an "
				    "inline table");
	}
}

/* Integer in any TOML form -> decimal text. Floats and date-times are
 * recognised only to name them in the error. */
static int parse_number(struct tp *p, struct conf_node **out)
{
	int line = p->line, col = p->col, base = 10;
	size_t start = p->i, n;
	const char *s, *d;
	unsigned long long v = 0, lim;
	bool neg = false, prev_digit = false;
	char tok[80], *text;

	while (p->i < p->len &&
	       (is_bare(peek(p)) || peek(p) == '+' || peek(p) == '.' ||
		peek(p) == ':'))
		adv(p);
	n = p->i - start;
	if (n == 0 || n >= sizeof(tok))
		return fail_at(p, line, col, n ? "number is too long"
					      : "expected a value");
	memcpy(tok, p->s + start, n);
	tok[n] = '\0';
	s = tok;
	if (strchr(tok, ':') || (n >= 10 && tok[4] == '-' && tok[7] == '-'))
		return fail_at(p, line, col, "dates and times are not supported "
			       "(no setting takes one)");
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
		base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
		if (s != tok)
			return fail_at(p, line, col, "a sign is not allowed "
				       "before 0%c", s[1]);
		s += 2;
	} else if (base == 10 && (strpbrk(s, ".eE") || !strcmp(s, "inf") ||
				  !strcmp(s, "nan"))) {
		return fail_at(p, line, col, "floating-point numbers are not "
			       "supported (no setting takes one): \"%s\"", tok);
	} else if (s[0] == '0' && s[1]) {
		return fail_at(p, line, col, "leading zeros are not allowed in "
			       "\"%s\"", tok);
	}
	lim = neg ? (unsigned long long)1 << 63 : ((unsigned long long)1 << 63) - 1;
	for (d = s; *d; d++) {
		int h = hexval((unsigned char)*d);

		if (*d == '_' && prev_digit && d[1] && d[1] != '_') {
			prev_digit = false;
			continue;
		}
		if (h < 0 || h >= base)
			return fail_at(p, line, col, "\"%s\" is not a valid "
				       "value", tok);
		prev_digit = true;
		if (v > (lim - (unsigned)h) / (unsigned)base)
			return fail_at(p, line, col, "integer \"%s\" does not "
				       "fit in 64 bits", tok);
		v = v * (unsigned)base + (unsigned)h;
	}
	if (!prev_digit)
		return fail_at(p, line, col, "\"%s\" is not a valid value", tok);
	if (asprintf(&text, "%s%llu", neg && v ? "-" : "", v) == -1)
		return oom(p);
	*out = scalar(p, line, col, text, false);
	return *out ? 0 : -ENOMEM;
}

static int parse_value(struct tp *p, struct conf_node **out, int depth)
{
	int c = peek(p), line = p->line, col = p->col, rc;
	struct conf_node *n;
	char *text;

	if (depth > MAX_NEST)
		return FAIL(p, "nesting is too deep");
	if (c == '"' || c == '\'') {
		rc = parse_string(p, &text, true);
		if (rc < 0)
			return rc;
		*out = scalar(p, line, col, text, true);
		return *out ? 0 : -ENOMEM;
	}
	if (at_str(p, "true") || at_str(p, "false")) {
		size_t w = c == 't' ? 4 : 5;

		if (p->i + w < p->len && is_bare(p->s[p->i + w]))
			return FAIL(p, "\"%.*s\" is not a valid value (strings "
				    "need quotes)", (int)w + 1, p->s + p->i);
		for (size_t k = 0; k < w; k++)
			adv(p);
		text = strdup(c == 't' ? "true" : "false");
		*out = scalar(p, line, col, text, false);
		return *out ? 0 : -ENOMEM;
	}
	if (c == '[' || c == '{') {
		n = conf_node_new(c == '[' ? CONF_NODE_SEQ : CONF_NODE_MAP,
				  line, col);
		if (!n)
			return oom(p);
		n->pflags = T_INLINE;
		rc = c == '[' ? parse_array(p, n, depth)
			      : parse_inline(p, n, depth);
		if (rc < 0) {
			conf_node_free(n);
			return rc;
		}
		*out = n;
		return 0;
	}
	if ((c >= '0' && c <= '9') || c == '+' || c == '-' ||
	    at_str(p, "inf") || at_str(p, "nan"))
		return parse_number(p, out);
	if (is_bare(c)) {
		size_t e = p->i;

		while (e < p->len && e - p->i < 40 && is_bare(p->s[e]))
			e++;
		return FAIL(p, "\"%.*s\" is not a valid value (strings need "
			    "quotes)", (int)(e - p->i), p->s + p->i);
	}
	return FAIL(p, "expected a value");
}

/* key = value into table t (the value's own line end is not consumed). */
static int keyval(struct tp *p, struct conf_node *t, int depth)
{
	struct keypath k;
	struct conf_node *v;
	char tmp[16];
	int rc;

	rc = parse_key(p, &k);
	if (rc < 0)
		goto out;
	if (peek(p) != '=') {
		rc = FAIL(p, "expected '=' after the key, got %s",
			  shown(peek(p), tmp));
		goto out;
	}
	adv(p);
	skip_ws(p);
	rc = parse_value(p, &v, depth);
	if (rc == 0)
		rc = assign(p, t, &k, v);
out:
	keypath_free(&k);
	return rc;
}

int conf_toml_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen)
{
	struct tp p = {.name = name, .s = buf, .len = len, .line = 1,
		       .col = 1, .err = err, .errlen = errlen};
	int rc;

	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) { /* BOM */
		p.s += 3;
		p.len -= 3;
	}
	rc = check_text(&p);
	if (rc < 0)
		return rc;
	p.root = p.cur = conf_node_new(CONF_NODE_MAP, 1, 1);
	if (!p.root)
		return oom(&p);
	while (rc == 0 && p.i < p.len) {
		skip_ws(&p);
		skip_comment(&p);
		if (at_eol(&p))
			eat_eol(&p);
		else if (peek(&p) == '[')
			rc = header(&p);
		else if ((rc = keyval(&p, p.cur, 0)) == 0)
			rc = expect_eol(&p, "a value");
	}
	if (rc < 0) {
		conf_node_free(p.root);
		return rc;
	}
	*root = p.root;
	return 0;
}
