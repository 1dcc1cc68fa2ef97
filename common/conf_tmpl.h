/*
 * conf_tmpl.h - frp's environment templates in configuration files
 * (private to the conf module).
 *
 * frp renders every file as a Go text/template with .Envs holding the
 * environment. We accept only the one form frp documents,
 * `{{ .Envs.NAME }}` (blanks inside the braces optional), anywhere in the
 * file, and replace it with the variable's value before the text is parsed.
 * Stricter than frp: an unset variable is an error naming it (frp would
 * render it empty), and any other `{{ ... }}` is an error with its line:col
 * rather than text passed on to the parser.
 */
#ifndef CONF_TMPL_H
#define CONF_TMPL_H

#include <stddef.h>

/** Looks up an environment variable (getenv, or a table in tests). */
typedef const char *(*conf_env_cb)(const char *name, void *ctx);

/** Where the substitutions of one expansion went, so that positions in
 *  the expanded text can be reported as positions in the file as written.
 *  Zero it before use; conf_tmpl_map_free() releases it. */
struct conf_tmpl_map {
	struct conf_tmpl_sub {
		size_t out0, out1; /**< the value's bytes in the output */
		size_t in0, in1;   /**< the template's bytes in the input */
	} *v;
	size_t n;
	/* line starts of both texts, built by conf_tmpl_map_index() */
	size_t *in_bol, n_in, *out_bol, n_out;
	const char *in, *out;
	size_t inlen, outlen;
};

/**
 * Expand templates in buf (len bytes). On success *out is a malloc'd,
 * NUL-terminated copy (*outlen bytes without the NUL), at most
 * max_out bytes; map (may be NULL) records where substitutions went. Returns 0, -EINVAL (err "NAME:LINE:COL: why"), -EFBIG
 * (err set) or -ENOMEM. env NULL means getenv.
 */
int conf_tmpl_expand(const char *name, const char *buf, size_t len,
		     conf_env_cb env, void *ctx, size_t max_out, char **out,
		     size_t *outlen, struct conf_tmpl_map *map, char *err,
		     size_t errlen);
/** Index the input and output texts of map (both stay borrowed until
 *  conf_tmpl_map_free). Only needed when map->n > 0. 0 or -ENOMEM. */
int conf_tmpl_map_index(struct conf_tmpl_map *m, const char *in,
			size_t inlen, const char *out, size_t outlen);
/** Turn line:col in the expanded text into line:col in the file; a
 *  position inside a substituted value becomes the template's start. */
void conf_tmpl_unmap(const struct conf_tmpl_map *m, int *line, int *col);
void conf_tmpl_map_free(struct conf_tmpl_map *m);

#endif
