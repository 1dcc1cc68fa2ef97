/*
 * conf_yaml.c - libyaml events -> struct conf_node tree.
 *
 * We build our own tree rather than use yaml_parser_load(): the document API
 * resolves aliases silently (a "billion laughs" file or a recursive alias
 * would reach the schema walker), cannot tell us where a document ends
 * before reading the next, and nests by recursion. Here the nesting is an
 * explicit, bounded stack and every unsupported construct is an error with a
 * position.
 */
#include "conf_yaml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_INT "tag:yaml.org,2002:int"
#define TAG_BOOL "tag:yaml.org,2002:bool"
#define TAG_NULL "tag:yaml.org,2002:null"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

struct builder {
	const char *name;
	char *err;
	size_t errlen;
	struct conf_node *root;
	struct conf_node *stack[CONF_YAML_MAX_DEPTH];
	int depth;
};

__attribute__((format(printf, 5, 6))) static int
fail_at(struct builder *b, int rc, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(b->err, b->errlen, "%s:%d:%d: ", b->name, line, col);

	if (k >= 0 && (size_t)k < b->errlen) {
		va_start(ap, fmt);
		vsnprintf(b->err + k, b->errlen - k, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int fail_mark(struct builder *b, const yaml_mark_t *m, const char *msg)
{
	return fail_at(b, -EINVAL, (int)m->line + 1, (int)m->column + 1, "%s",
		       msg);
}

void conf_node_free(struct conf_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		conf_node_free(n->kid[i]);
	free(n->kid);
	free(n->text);
	free(n);
}

const char *conf_node_kind_name(const struct conf_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case CONF_NODE_MAP:
		return "a map";
	case CONF_NODE_SEQ:
		return "a sequence";
	default:
		return n->null ? "an empty value" : "a scalar";
	}
}

int conf_node_append(struct conf_node *parent, struct conf_node *kid)
{
	/* Capacity is implicit: 4, then doubled whenever n reaches a power of
	 * two. n is bounded by the input size. */
	size_t n = parent->n;

	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		size_t cap = n ? n * 2 : 4;
		struct conf_node **k = realloc(parent->kid, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kid = k;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

/* Hand node to its parent (or make it the root). Ownership moves even on
 * error, except for -ENOMEM from append, where the caller still owns it. */
static int attach(struct builder *b, struct conf_node *node)
{
	struct conf_node *parent;

	if (b->depth == 0) {
		b->root = node;
		return 0;
	}
	parent = b->stack[b->depth - 1];
	if (conf_node_append(parent, node) < 0)
		return -ENOMEM;
	if (parent->kind == CONF_NODE_MAP && parent->n % 2 == 1 &&
	    node->kind != CONF_NODE_SCALAR)
		return fail_at(b, -EINVAL, node->line, node->col,
			       "a key must be a scalar, not %s",
			       conf_node_kind_name(node));
	return 0;
}

struct conf_node *conf_node_new(enum conf_node_kind kind, int line, int col)
{
	struct conf_node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->line = line;
		n->col = col;
	}
	return n;
}

static struct conf_node *node_new(enum conf_node_kind kind,
				  const yaml_mark_t *m)
{
	return conf_node_new(kind, (int)m->line + 1, (int)m->column + 1);
}

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	size_t len = ev->data.scalar.length;
	struct conf_node *n;
	bool tag_str = false, tag_null = false;
	int rc;

	if (tag) {
		tag_str = !strcmp(tag, TAG_STR) || !strcmp(tag, "!");
		tag_null = !strcmp(tag, TAG_NULL);
		if (!tag_str && !tag_null && strcmp(tag, TAG_INT) &&
		    strcmp(tag, TAG_BOOL))
			return fail_mark(b, &ev->start_mark,
					 "unsupported YAML tag");
	}
	if (memchr(ev->data.scalar.value, '\0', len))
		return fail_mark(b, &ev->start_mark,
				 "a value must not contain a NUL character");
	n = node_new(CONF_NODE_SCALAR, &ev->start_mark);
	if (!n || !(n->text = malloc(len + 1))) {
		free(n);
		return -ENOMEM;
	}
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->quoted = tag_str || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	n->null = tag_null || (!n->quoted && is_null_text(n->text));
	rc = attach(b, n);
	if (rc == -ENOMEM)
		conf_node_free(n);
	return rc;
}

static int on_start(struct builder *b, const yaml_event_t *ev,
		    enum conf_node_kind kind)
{
	const char *tag = kind == CONF_NODE_MAP
				  ? (const char *)ev->data.mapping_start.tag
				  : (const char *)ev->data.sequence_start.tag;
	struct conf_node *n;
	int rc;

	if (tag && strcmp(tag, kind == CONF_NODE_MAP ? TAG_MAP : TAG_SEQ))
		return fail_mark(b, &ev->start_mark, "unsupported YAML tag");
	if (b->depth == CONF_YAML_MAX_DEPTH)
		return fail_mark(b, &ev->start_mark, "nesting is too deep");
	n = node_new(kind, &ev->start_mark);
	if (!n)
		return -ENOMEM;
	rc = attach(b, n);
	if (rc == -ENOMEM)
		conf_node_free(n);
	if (rc < 0)
		return rc;
	b->stack[b->depth++] = n;
	return 0;
}

/* libyaml's reader reports a byte offset only: turn it into line/column. */
static void offset_pos(const char *buf, size_t len, size_t off, int *line,
		       int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++)
		conf_pos_step(buf[i], line, col);
}

static int syntax_error(struct builder *b, const yaml_parser_t *p,
			const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(b->err, b->errlen, "%s: out of memory", b->name);
		return -ENOMEM;
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		return fail_at(b, -EINVAL, line, col, "%s", problem);
	default:
		if (p->context)
			return fail_at(b, -EINVAL, (int)p->problem_mark.line + 1,
				       (int)p->problem_mark.column + 1,
				       "%s (%s at %d:%d)", problem, p->context,
				       (int)p->context_mark.line + 1,
				       (int)p->context_mark.column + 1);
		return fail_mark(b, &p->problem_mark, problem);
	}
}

static int on_event(struct builder *b, const yaml_event_t *ev, int *ndocs)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*ndocs > 1)
			return fail_mark(b, &ev->start_mark,
					 "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail_mark(b, &ev->start_mark,
				 "aliases are not supported");
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_MAPPING_START_EVENT:
		return on_start(b, ev, CONF_NODE_MAP);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, CONF_NODE_SEQ);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	default:
		return 0;
	}
}

int conf_yaml_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen)
{
	struct builder b = {.name = name, .err = err, .errlen = errlen};
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0, rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(&b, &p, buf, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev, &ndocs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	if (rc < 0) {
		conf_node_free(b.root);
		return rc;
	}
	if (b.root && b.root->kind == CONF_NODE_SCALAR && b.root->null) {
		conf_node_free(b.root);
		b.root = NULL;
	}
	*root = b.root;
	return 0;
}

static int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > CONF_YAML_MAX_SIZE) {
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > CONF_YAML_MAX_SIZE) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

int conf_file_read(const char *path, char **buf, size_t *len, char *err,
		   size_t errlen)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = read_all(fd, buf, len);
	close(fd);
	if (rc == -EFBIG)
		snprintf(err, errlen, "%s: file is larger than %u bytes", path,
			 CONF_YAML_MAX_SIZE);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}
