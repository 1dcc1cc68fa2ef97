/*
 * conf_json.h - a JSON file as the same struct conf_node tree the YAML and
 * TOML front ends build (private to the conf module).
 *
 * jansson does the parsing (strings, escapes, numbers, duplicate keys, NUL
 * in strings: all refused with its line:col). It keeps no positions for the
 * values it returns, so a second, trivial pass over the already valid text
 * assigns each node the line:col where it starts.
 *
 * The tree: objects are maps, arrays sequences, strings quoted scalars,
 * integers and booleans plain scalars, null a null scalar (= not set, as in
 * YAML). Floats are refused: no setting takes one.
 */
#ifndef CONF_JSON_H
#define CONF_JSON_H

#include <stddef.h>

#include "conf_yaml.h"

/** Parse buf into *root (NULL never: JSON has no empty document). 0,
 *  -EINVAL (err "NAME:LINE:COL: why") or -ENOMEM. */
int conf_json_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen);

#endif
