/*
 * conf_include.c - expand frpc's `includes` into the main document tree.
 */
#include "conf_include.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_doc.h"

/* More than this many included files is certainly a wrong pattern. */
#define MAX_INCLUDED 256

void conf_files_free(struct conf_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

static int files_add(struct conf_files *f, const char *name, char **kept)
{
	char **v = realloc(f->v, (f->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	f->v = v;
	if (!(v[f->n] = strdup(name)))
		return -ENOMEM;
	*kept = v[f->n++];
	return 0;
}

static void set_file(struct conf_node *n, const char *file)
{
	n->file = file;
	for (size_t i = 0; i < n->n; i++)
		set_file(n->kid[i], file);
}

static size_t find_key(const struct conf_node *map, const char *key)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (!strcmp(map->kid[i]->text, key))
			return i;
	return (size_t)-1;
}

/* Move the items of the included file's proxies into dst. */
static int merge_one(struct conf_ctx *c, const char *file,
		     struct conf_node *inc, struct conf_node *dst)
{
	struct conf_ctx ic = *c;
	struct conf_node *seq;
	char esc[80];

	ic.file = file;
	if (!inc)
		return 0; /* an empty file adds nothing */
	if (inc->kind != CONF_NODE_MAP)
		return conf_fail(&ic, inc, "expected a map with \"proxies\" in "
				 "an included file, got %s",
				 conf_node_kind_name(inc));
	for (size_t i = 0; i + 1 < inc->n; i += 2)
		if (strcmp(inc->kid[i]->text, "proxies"))
			return conf_fail(&ic, inc->kid[i], "an included file may "
					 "hold only \"proxies\", not \"%s\"",
					 conf_esc(inc->kid[i]->text, esc,
						  sizeof(esc)));
	if (inc->n == 0)
		return 0;
	if (inc->n > 2)
		return conf_fail(&ic, inc->kid[2], "duplicate key \"proxies\"");
	seq = inc->kid[1];
	if (seq->kind == CONF_NODE_SCALAR && seq->null)
		return 0;
	if (seq->kind != CONF_NODE_SEQ)
		return conf_fail(&ic, seq, "proxies: expected a sequence, got %s",
				 conf_node_kind_name(seq));
	for (size_t i = 0; i < seq->n; i++) {
		if (conf_node_append(dst, seq->kid[i]) < 0)
			return conf_fail_oom(c);
		seq->kid[i] = NULL; /* now owned by dst */
	}
	return 0;
}

static int include_pattern(struct conf_ctx *c, const struct conf_node *pat,
			   const char *dir, struct conf_node *dst,
			   struct conf_files *files, size_t *count)
{
	char *full = NULL, esc[80];
	glob_t g;
	int rc = 0, grc;

	if (pat->kind != CONF_NODE_SCALAR || pat->null || !pat->quoted)
		return conf_fail(c, pat, "includes: expected a string, got %s",
				 pat->kind == CONF_NODE_SCALAR
					 ? "an unquoted value"
					 : conf_node_kind_name(pat));
	/* Keep the names in messages short: "./confd/a.toml" next to a file
	 * in the working directory is "confd/a.toml". */
	const char *rel = pat->text;

	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	if (pat->text[0] == '/' || !strcmp(dir, ".")
		    ? !(full = strdup(pat->text[0] == '/' ? pat->text : rel))
		    : asprintf(&full, "%s/%s", dir, rel) == -1)
		return conf_fail_oom(c);
	grc = glob(full, GLOB_ERR, NULL, &g);
	if (grc == GLOB_NOMATCH) {
		rc = conf_fail(c, pat, "includes: \"%s\" matches no file",
			       conf_esc(pat->text, esc, sizeof(esc)));
		goto out_full;
	}
	if (grc != 0) {
		rc = grc == GLOB_NOSPACE ? conf_fail_oom(c)
			: conf_fail(c, pat, "includes: cannot read the files "
				    "of \"%s\"", conf_esc(pat->text, esc,
							  sizeof(esc)));
		goto out_full;
	}
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
		struct conf_node *inc = NULL;
		char *name;

		if (++*count > MAX_INCLUDED) {
			rc = conf_fail(c, pat, "includes: more than %d files",
				       MAX_INCLUDED);
			break;
		}
		if (files_add(files, g.gl_pathv[i], &name) < 0) {
			rc = conf_fail_oom(c);
			break;
		}
		rc = conf_doc_load(name, &inc, c->err, c->errlen);
		if (rc == 0) {
			if (inc)
				set_file(inc, name);
			rc = merge_one(c, name, inc, dst);
		}
		conf_node_free(inc);
	}
	globfree(&g);
out_full:
	free(full);
	return rc;
}

int conf_include_apply(struct conf_ctx *c, struct conf_node *root,
		       struct conf_files *files)
{
	struct conf_node *inc, *dst, *key;
	size_t at, pi, count = 0;
	char *dir;
	int rc = 0;

	if (!root || root->kind != CONF_NODE_MAP ||
	    (at = find_key(root, "includes")) == (size_t)-1)
		return 0;
	inc = root->kid[at + 1];
	if (inc->kind == CONF_NODE_SEQ && inc->n > 0) {
		pi = find_key(root, "proxies");
		if (pi == (size_t)-1) {
			/* No proxies in the main file: give it an empty list
			 * where the includes key is, for the messages. */
			key = conf_node_new(CONF_NODE_SCALAR, root->kid[at]->line,
					    root->kid[at]->col);
			dst = conf_node_new(CONF_NODE_SEQ, inc->line, inc->col);
			if (!key || !dst || !(key->text = strdup("proxies")) ||
			    conf_node_append(root, key) < 0) {
				conf_node_free(key);
				conf_node_free(dst);
				return conf_fail_oom(c);
			}
			if (conf_node_append(root, dst) < 0) {
				conf_node_free(root->kid[--root->n]);
				conf_node_free(dst);
				return conf_fail_oom(c);
			}
		} else {
			dst = root->kid[pi + 1];
		}
		/* A main-file proxies that is not a sequence is the schema's
		 * to report: drop the includes key and let it. */
		if (dst->kind != CONF_NODE_SEQ)
			goto drop;
		dir = strdup(c->file);
		if (!dir)
			return conf_fail_oom(c);
		if (strrchr(dir, '/'))
			*strrchr(dir, '/') = '\0';
		else
			strcpy(dir, ".");
		for (size_t i = 0; i < inc->n && rc == 0; i++)
			rc = include_pattern(c, inc->kid[i], dir, dst, files,
					     &count);
		free(dir);
	} else if (inc->kind != CONF_NODE_SEQ &&
		   !(inc->kind == CONF_NODE_SCALAR && inc->null)) {
		return conf_fail(c, inc, "includes: expected a sequence of "
				 "file patterns, got %s",
				 conf_node_kind_name(inc));
	}
	if (rc < 0)
		return rc;
drop:
	/* The key has been acted on: take it out of what the schema sees. */
	at = find_key(root, "includes");
	conf_node_free(root->kid[at]);
	conf_node_free(root->kid[at + 1]);
	memmove(&root->kid[at], &root->kid[at + 2],
		(root->n - at - 2) * sizeof(root->kid[0]));
	root->n -= 2;
	return 0;
}
