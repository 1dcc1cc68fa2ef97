/*
 * conf_doc.h - one configuration file, whatever its format, as a
 * struct conf_node tree (private to the conf module).
 *
 * The format is chosen as frp chooses it: by extension (.toml, .json,
 * .yaml/.yml); any other name is tried as TOML, then as YAML. Before the
 * text is parsed, `{{ .Envs.NAME }}` templates are expanded (conf_tmpl.h),
 * and a file in frp's legacy INI format is recognised and refused with one
 * line naming the INI key it saw. The front ends (conf_toml.c,
 * conf_json.c, conf_yaml.c) all build the same tree, so the schema walker
 * and its messages are shared by every format.
 */
#ifndef CONF_DOC_H
#define CONF_DOC_H

#include <stddef.h>

#include "conf_tmpl.h"
#include "conf_yaml.h"

enum conf_format {
	CONF_FMT_AUTO, /**< TOML, then YAML */
	CONF_FMT_TOML,
	CONF_FMT_YAML,
	CONF_FMT_JSON,
	CONF_FMT_INI, /**< refused */
};

/** The format frp would pick for path (by its extension). */
enum conf_format conf_format_of(const char *path);
/** "TOML", "YAML", ... for messages. */
const char *conf_format_name(enum conf_format f);

/**
 * Parse buf (len bytes) as fmt after expanding templates with env (NULL =
 * getenv). *root may be NULL for an empty YAML document. 0, -EINVAL (err
 * one line "NAME:LINE:COL: why"), -EFBIG or -ENOMEM.
 */
int conf_doc_parse(const char *name, const char *buf, size_t len,
		   enum conf_format fmt, conf_env_cb env, void *ctx,
		   struct conf_node **root, char *err, size_t errlen);
/** Read path and parse it in the format of its extension. */
int conf_doc_load(const char *path, struct conf_node **root, char *err,
		  size_t errlen);

#endif
