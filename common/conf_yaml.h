/*
 * conf_yaml.h - a YAML file as a small tree of maps, sequences and scalars
 * (private to the conf module). struct conf_node is the one document tree
 * every front end builds (conf_toml.h, conf_json.h), and the schema walker
 * reads.
 *
 * Built from libyaml's event API so that what we accept is explicit: one
 * document, no aliases, bounded nesting and size, no NUL in scalars, only the
 * standard !!str/!!int/!!bool/!!null tags. Every node keeps the 1-based
 * line/column of its first character for error messages.
 */
#ifndef CONF_YAML_H
#define CONF_YAML_H

#include <stdbool.h>
#include <stddef.h>

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_MAP, CONF_NODE_SEQ };

struct conf_node {
	enum conf_node_kind kind;
	int line, col;       /**< 1-based start of the node */
	char *text;          /**< scalars: the value as written (unescaped) */
	bool quoted;         /**< scalars: quoted, block or !!str -> a string */
	bool null;           /**< scalars: plain "", "~", "null" (= not set) */
	struct conf_node **kid; /**< maps: key0, value0, key1, value1, ...;
				     sequences: the items */
	size_t n;            /**< number of entries in kid */
	const char *file;    /**< file the node came from when it is not the
				  file being loaded (includes); borrowed */
	unsigned char pflags; /**< private to the parser that built it */
};

/** Largest configuration file we read, and deepest nesting we accept. */
#define CONF_YAML_MAX_SIZE (1u << 20)
#define CONF_YAML_MAX_DEPTH 32

/**
 * Parse buf. *root is NULL for an empty input (or a document that is a lone
 * null scalar). Returns 0 or -EINVAL for bad YAML (err =
 * "NAME:LINE:COL: why"); -ENOMEM possible. name is what error messages call
 * the input. Files go through conf_doc_load (conf_doc.h).
 */
int conf_yaml_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen);
void conf_node_free(struct conf_node *n);
/** A zeroed node of kind at line:col (NULL on ENOMEM). */
struct conf_node *conf_node_new(enum conf_node_kind kind, int line, int col);
/** Append kid to a map or sequence. 0 or -ENOMEM (kid not taken then). */
int conf_node_append(struct conf_node *parent, struct conf_node *kid);
/** Read a whole configuration file (at most CONF_YAML_MAX_SIZE bytes) into
 *  a malloc'd, NUL-terminated buffer. 0 or -errno with err "PATH: why". */
int conf_file_read(const char *path, char **buf, size_t *len, char *err,
		   size_t errlen);
/** Move the position line:col past byte c of the input. Columns count
 *  characters, not bytes: UTF-8 continuation bytes do not move them. Shared
 *  by every front end so that all report the same line:col. */
static inline void conf_pos_step(char c, int *line, int *col)
{
	if (c == '\n') {
		++*line;
		*col = 1;
	} else if (((unsigned char)c & 0xc0) != 0x80) {
		++*col;
	}
}
/** Human name of a node's kind: "a map", "a sequence", "a scalar", "an
 *  empty value" (null scalar). */
const char *conf_node_kind_name(const struct conf_node *n);

#endif
