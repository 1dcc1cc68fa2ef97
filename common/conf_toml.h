/*
 * conf_toml.h - a TOML 1.0 file as the same struct conf_node tree the YAML
 * front end builds (private to the conf module).
 *
 * Our own parser: Debian ships no C TOML library. It accepts what frp's
 * files use - comments, bare/quoted/dotted keys, [tables], [[arrays of
 * tables]], inline tables, arrays, the four string forms, integers (any
 * base, '_' separators) and booleans - and is strict where TOML is:
 * duplicate keys, tables defined twice, extending inline tables or tables
 * made by dotted keys are errors. Floats and date-times are errors too: no
 * setting takes one. Every error is one line "NAME:LINE:COL: why".
 *
 * The tree: tables are maps, arrays are sequences, strings are quoted
 * scalars (so `serverPort = "7000"` is refused as in YAML), integers are
 * plain scalars in decimal, booleans plain "true"/"false".
 */
#ifndef CONF_TOML_H
#define CONF_TOML_H

#include <stddef.h>

#include "conf_yaml.h"

/** Parse buf (len bytes, no NUL needed) into *root (always a map on
 *  success). 0, -EINVAL (err set) or -ENOMEM. */
int conf_toml_parse(const char *name, const char *buf, size_t len,
		    struct conf_node **root, char *err, size_t errlen);

#endif
