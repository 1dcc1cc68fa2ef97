/*
 * conf_include.h - frpc's `includes = ["./confd/PATTERN.toml"]` (private to the
 * conf module).
 *
 * Each pattern is a glob, relative to the directory of the including file;
 * the files it matches (any supported format, chosen by extension) may
 * hold only `proxies`, as in frp. Their proxy entries are appended to the
 * main file's `proxies` sequence, each node remembering the file it came
 * from, so every later message (and the duplicate-name check) names the
 * right file. Stricter than frp: a pattern that matches no file is an
 * error, since a proxy file the user expected would otherwise be skipped
 * without a word.
 */
#ifndef CONF_INCLUDE_H
#define CONF_INCLUDE_H

#include <stddef.h>

#include "conf_schema.h"

/** Names of included files, kept alive while their nodes are in use. */
struct conf_files {
	char **v;
	size_t n;
};

/** Resolve and remove the `includes` key of root (a map, or NULL), merging
 *  the included proxies into root. 0, -EINVAL (c->err set) or -errno. */
int conf_include_apply(struct conf_ctx *c, struct conf_node *root,
		       struct conf_files *files);
void conf_files_free(struct conf_files *f);

#endif
