/*
 * conf_toml.c - TOML text -> struct conf_node tree (the syntactic half:
 * keys, tables, values; strings and numbers are in conf_toml_lex.c).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_toml_int.h"

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

static int expect_eol(struct tp *p, const char *after)
{
	char tmp[16];

	skip_ws(p);
	skip_comment(p);
	if (!at_eol(p))
		return FAIL(p, "expected the end of the line after %s, got %s",
			    after, toml_shown(peek(p), tmp));
	eat_eol(p);
	return 0;
}

/* ---- input check -------------------------------------------------------- */

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
			rc = toml_string(p, &s->text, false);
			if (rc < 0)
				return rc;
		} else if (is_bare(peek(p))) {
			size_t start = p->i;

			while (is_bare(peek(p)))
				adv(p);
			s->text = strndup(p->s + start, p->i - start);
			if (!s->text)
				return toml_oom(p);
		} else {
			return FAIL(p, "expected a key, got %s",
				    toml_shown(peek(p), tmp));
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
		return toml_fail_at(p, s->line, s->col, "more than %d keys in one "
			       "table", MAX_KEYS);
	}
	key = conf_node_new(CONF_NODE_SCALAR, s->line, s->col);
	if (!key || !(key->text = strdup(s->text)) ||
	    conf_node_append(map, key) < 0) {
		conf_node_free(key);
		conf_node_free(val);
		return toml_oom(p);
	}
	if (conf_node_append(map, val) < 0) {
		/* keep the map well-formed: drop the key again */
		conf_node_free(map->kid[--map->n]);
		conf_node_free(val);
		return toml_oom(p);
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
		return toml_oom(p);
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

	return toml_fail_at(p, k->s[upto].line, k->s[upto].col,
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
			  aot ? "]]" : "]", toml_shown(peek(p), tmp));
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
				rc = toml_oom(p);
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
			rc = toml_fail_at(p, line, col, "more than %d tables in one "
				     "array", MAX_KEYS);
		}
		if (rc < 0)
			goto out;
		item = conf_node_new(CONF_NODE_MAP, line, col);
		if (!item || conf_node_append(next, item) < 0) {
			conf_node_free(item);
			rc = toml_oom(p);
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
		toml_oom(p);
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
			return toml_oom(p);
		}
		skip_space_nl(p);
		if (peek(p) == ',') {
			adv(p);
			continue;
		}
		if (peek(p) != ']')
			return FAIL(p, "expected ',' or ']' in an array, got %s",
				    toml_shown(peek(p), tmp));
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
				    "table, got %s", toml_shown(peek(p), tmp));
		adv(p);
		skip_ws(p);
		if (peek(p) == '}')
			return FAIL(p, "no trailing ',' is allowed in an "
				    "inline table");
	}
}

static int parse_value(struct tp *p, struct conf_node **out, int depth)
{
	int c = peek(p), line = p->line, col = p->col, rc;
	struct conf_node *n;
	char *text, tmp[16];

	if (depth > MAX_NEST)
		return FAIL(p, "nesting is too deep");
	if (c == '"' || c == '\'') {
		rc = toml_string(p, &text, true);
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
			return toml_oom(p);
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
	    at_str(p, "inf") || at_str(p, "nan")) {
		rc = toml_number(p, &text);
		if (rc < 0)
			return rc;
		*out = scalar(p, line, col, text, false);
		return *out ? 0 : -ENOMEM;
	}
	if (is_bare(c)) {
		size_t e = p->i;

		while (e < p->len && e - p->i < 40 && is_bare(p->s[e]))
			e++;
		return FAIL(p, "\"%.*s\" is not a valid value (strings need "
			    "quotes)", (int)(e - p->i), p->s + p->i);
	}
	return FAIL(p, "expected a value, got %s", toml_shown(c, tmp));
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
			  toml_shown(peek(p), tmp));
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
	rc = toml_check_text(&p);
	if (rc < 0)
		return rc;
	p.root = p.cur = conf_node_new(CONF_NODE_MAP, 1, 1);
	if (!p.root)
		return toml_oom(&p);
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
