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

/**
 * Expand templates in buf (len bytes). On success *out is a malloc'd,
 * NUL-terminated copy (*outlen bytes without the NUL), at most
 * max_out bytes. Returns 0, -EINVAL (err "NAME:LINE:COL: why"), -EFBIG
 * (err set) or -ENOMEM. env NULL means getenv.
 */
int conf_tmpl_expand(const char *name, const char *buf, size_t len,
		     conf_env_cb env, void *ctx, size_t max_out, char **out,
		     size_t *outlen, char *err, size_t errlen);

#endif
