/*
 * conf_json.c - jansson value + the source text -> struct conf_node tree.
 *
 * The walk goes over the text and the jansson value side by side: jansson
 * (>= 2.8) iterates an object's keys in the order they were written, so the
 * i-th key in the text is the i-th key of the object. The text is known to
 * be valid JSON when the walk starts, which keeps the scanner to skipping
 * blanks, strings and plain tokens.
 */
#include "conf_json.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jw {
	const char *name;
	const char *s;
	size_t len, i;
	int line, col;
	char *err;
	size_t errlen;
};

static void adv(struct jw *w)
{
	if (w->i >= w->len)
		return;
	conf_pos_step(w->s[w->i], &w->line, &w->col);
	w->i++;
}

static void skip_blank(struct jw *w)
{
	while (w->i < w->len && strchr(" \t\r\n", w->s[w->i]) && w->s[w->i])
		adv(w);
}

/* Skip one string, or a number / true / false / null, or one of , : */
static void skip_token(struct jw *w)
{
	if (w->i < w->len && w->s[w->i] == '"') {
		adv(w);
		while (w->i < w->len && w->s[w->i] != '"') {
			if (w->s[w->i] == '\\')
				adv(w);
			adv(w);
		}
		adv(w);
		return;
	}
	while (w->i < w->len && !strchr(" \t\r\n,:]}", w->s[w->i]))
		adv(w);
}

static void skip_punct(struct jw *w)
{
	skip_blank(w);
	adv(w); /* ',' ':' '[' ']' '{' '}' */
}

static int oom(struct jw *w)
{
	snprintf(w->err, w->errlen, "%s: out of memory", w->name);
	return -ENOMEM;
}

static int scalar(struct jw *w, struct conf_node *n, const json_t *v)
{
	char num[32];
	const char *t;

	switch (json_typeof(v)) {
	case JSON_STRING:
		t = json_string_value(v);
		n->quoted = true;
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		t = num;
		break;
	case JSON_REAL:
		snprintf(w->err, w->errlen, "%s:%d:%d: floating-point numbers "
			 "are not supported (no setting takes one)", w->name,
			 n->line, n->col);
		return -EINVAL;
	case JSON_TRUE:
		t = "true";
		break;
	case JSON_FALSE:
		t = "false";
		break;
	default:
		t = "";
		n->null = true;
		break;
	}
	n->text = strdup(t);
	return n->text ? 0 : oom(w);
}

static int build(struct jw *w, const json_t *v, struct conf_node **out,
		 int depth);

static int build_kids(struct jw *w, const json_t *v, struct conf_node *n,
		      int depth)
{
	void *it = json_is_object(v) ? json_object_iter((json_t *)v) : NULL;
	size_t count = json_is_array(v) ? json_array_size(v) : 0;
	int rc;

	skip_punct(w); /* '[' or '{' */
	for (size_t i = 0; it || i < count; i++) {
		struct conf_node *kid;

		if (i > 0)
			skip_punct(w); /* ',' */
		if (it) {
			struct conf_node *key;

			skip_blank(w);
			key = conf_node_new(CONF_NODE_SCALAR, w->line, w->col);
			if (!key || !(key->text = strdup(json_object_iter_key(
					      it))) ||
			    conf_node_append(n, key) < 0) {
				conf_node_free(key);
				return oom(w);
			}
			key->quoted = true;
			skip_token(w);
			skip_punct(w); /* ':' */
		}
		rc = build(w, it ? json_object_iter_value(it)
				 : json_array_get(v, i), &kid, depth + 1);
		if (rc < 0)
			return rc;
		if (conf_node_append(n, kid) < 0) {
			conf_node_free(kid);
			return oom(w);
		}
		if (it)
			it = json_object_iter_next((json_t *)v, it);
	}
	skip_punct(w); /* ']' or '}' */
	return 0;
}

static int build(struct jw *w, const json_t *v, struct conf_node **out,
		 int depth)
{
	enum conf_node_kind kind = json_is_object(v)  ? CONF_NODE_MAP
				   : json_is_array(v) ? CONF_NODE_SEQ
						      : CONF_NODE_SCALAR;
	struct conf_node *n;
	int rc;

	skip_blank(w);
	/* the same bound as the other front ends (jansson allows 2048) */
	if (depth > CONF_YAML_MAX_DEPTH && kind != CONF_NODE_SCALAR) {
		snprintf(w->err, w->errlen, "%s:%d:%d: nesting is too deep",
			 w->name, w->line, w->col);
		return -EINVAL;
	}
	n = conf_node_new(kind, w->line, w->col);
	if (!n)
		return oom(w);
	if (kind == CONF_NODE_SCALAR) {
		rc = scalar(w, n, v);
		skip_token(w);
	} else {
		rc = build_kids(w, v, n, depth);
	}
	if (rc < 0) {
		conf_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int conf_json_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen)
{
	struct jw w = {.name = name, .s = buf, .len = len, .line = 1,
		       .col = 1, .err = err, .errlen = errlen};
	json_error_t je;
	json_t *v;
	int rc;

	size_t blank = 0;

	while (blank < len && buf[blank] && strchr(" \t\r\n", buf[blank]))
		blank++;
	if (blank == len) {
		snprintf(err, errlen, "%s:1:1: the file is empty (a JSON "
			 "configuration is an object, at least {})", name);
		return -EINVAL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!v) {
		/* jansson names its own flag here; say what is wrong. */
		bool nul = strstr(je.text, "JSON_ALLOW_NUL") != NULL;

		char text[2 * JSON_ERROR_TEXT_LENGTH];
		size_t o = 0;

		/* jansson quotes the input near the error as is: keep the
		 * message on one line. */
		for (const char *c = je.text; *c && o + 3 < sizeof(text); c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				text[o++] = '\\';
				text[o++] = *c == '\n' ? 'n' : *c == '\t' ? 't' : '?';
			} else {
				text[o++] = *c;
			}
		}
		text[o] = '\0';
		snprintf(err, errlen, "%s:%d:%d: %s", name,
			 je.line < 1 ? 1 : je.line,
			 je.column < 1 ? 1 : je.column,
			 nul ? "a value must not contain a NUL character"
			     : text);
		return -EINVAL;
	}
	rc = build(&w, v, root, 0);
	json_decref(v);
	return rc;
}
