/*
 * conf_schema.h - table-driven YAML -> struct mapping (private to the conf
 * module), in the manner of nginx's ngx_command_t.
 *
 * A schema is an array of rows, one per key: dotted name, type, offset of
 * the field in the target struct, default (as YAML text, parsed by the same
 * setter as file values), range or allowed words, an optional extra check.
 * Nested YAML maps address dotted names: `auth: {token: x}` sets the row
 * "auth.token". Keys written with a dot are rejected, as frp does.
 */
#ifndef CONF_SCHEMA_H
#define CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "conf_yaml.h"

enum conf_type {
	CONF_T_STR,    /**< char *, owned */
	CONF_T_INT,    /**< int within [min, max] */
	CONF_T_U16,    /**< uint16_t within [min, max] */
	CONF_T_BOOL,   /**< bool, exactly true or false */
	CONF_T_ENUM,   /**< int = index of the word in choices */
	CONF_T_CHOICE, /**< char *, one of choices */
	CONF_T_SEQ,    /**< a sequence, handled by row->seq */
};

#define CONF_F_REQUIRED 1u

/* Maps in one file have at most this many keys (bounds the quadratic
 * duplicate-key check on hostile input). */
#define CONF_MAX_KEYS 1024
/* A schema has at most this many rows (struct conf_seen is a bitmask). */
#define CONF_MAX_ROWS 64

struct conf_ctx {
	const char *file;
	char *err;
	size_t errlen;
	const char *scope; /**< message prefix, e.g. "proxies[1]: ", or "" */
};

struct conf_row {
	const char *key;
	enum conf_type type;
	size_t off;
	const char *def;   /**< default as YAML text; NULL = none */
	long min, max;     /**< INT, U16 */
	const char *const *choices; /**< ENUM, CHOICE: NULL-terminated */
	/** STR, CHOICE: NULL when text is acceptable, else why not (the
	 *  message follows the quoted value). */
	const char *(*check)(const char *text);
	/** SEQ: fill base from the sequence v. 0 or -errno, err set. */
	int (*seq)(struct conf_ctx *c, const struct conf_node *v, void *base);
	/** SEQ: free what seq stored in base (also partial results). */
	void (*seq_free)(void *base);
	unsigned flags;
};

struct conf_schema {
	const struct conf_row *rows;
	size_t n;
	/** Maps under this section whose key names no row are transport
	 *  plugin option subtrees, collected into the struct conf_xport_opts
	 *  array at xport_off (count at n_xport_off). NULL = none. */
	const char *xport_section;
	size_t xport_off, n_xport_off;
};

/** Which rows a map set (non-null values), and the key node of each. */
struct conf_seen {
	uint64_t mask;
	const struct conf_node *key[CONF_MAX_ROWS];
};

/** Write "FILE:LINE:COL: <scope><message>" (no position when at is NULL)
 *  into c->err. Returns -EINVAL. */
int conf_fail(struct conf_ctx *c, const struct conf_node *at, const char *fmt,
	      ...) __attribute__((format(printf, 3, 4)));
/** "FILE: out of memory"; returns -ENOMEM. */
int conf_fail_oom(struct conf_ctx *c);
/** Copy s into buf for a message: control characters, '"' and '\\' escaped,
 *  cut to about 60 bytes. Returns buf. */
const char *conf_esc(const char *s, char *buf, size_t len);

/** Set every row that has a default. 0 or -ENOMEM. */
int conf_schema_defaults(const struct conf_schema *s, void *base);
/** Apply the YAML map (NULL = empty) to base; checks required rows. seen
 *  may be NULL. 0, -EINVAL (c->err set) or -ENOMEM. */
int conf_schema_apply(struct conf_ctx *c, const struct conf_schema *s,
		      const struct conf_node *map, void *base,
		      struct conf_seen *seen);
/** The key node that set row `key` in a map applied with seen, or NULL
 *  when the map did not set it. */
const struct conf_node *conf_seen_key(const struct conf_schema *s,
				      const struct conf_seen *seen,
				      const char *key);
/** Free the strings, sequences and transport subtrees the schema owns in
 *  base (not base itself). Safe on a partly filled, zeroed struct. */
void conf_schema_free(const struct conf_schema *s, void *base);

#endif
