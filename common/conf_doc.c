/*
 * conf_doc.c - format selection, legacy INI detection, templates, then the
 * front end for the format.
 */
#include "conf_doc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_json.h"
#include "conf_toml.h"

enum conf_format conf_format_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');

	if (!dot)
		return CONF_FMT_AUTO;
	if (!strcasecmp(dot, ".toml"))
		return CONF_FMT_TOML;
	if (!strcasecmp(dot, ".json"))
		return CONF_FMT_JSON;
	if (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml"))
		return CONF_FMT_YAML;
	if (!strcasecmp(dot, ".ini"))
		return CONF_FMT_INI;
	return CONF_FMT_AUTO;
}

const char *conf_format_name(enum conf_format f)
{
	static const char *const names[] = {"TOML or YAML", "TOML", "YAML",
					    "JSON", "INI"};

	return names[f];
}

/* Next line of buf from *pos: [*s, *e) without the line end. */
static bool next_line(const char *buf, size_t len, size_t *pos,
		      const char **s, const char **e)
{
	if (*pos >= len)
		return false;
	*s = buf + *pos;
	*e = memchr(*s, '\n', len - *pos);
	if (!*e)
		*e = buf + len;
	*pos = (size_t)(*e - buf) + 1;
	if (*e > *s && (*e)[-1] == '\r')
		--*e;
	return true;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		++*s;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		--*e;
}

/* frp's INI files (frp < 0.52, deprecated) start with a [common] section
 * of snake_case keys. Returns -EINVAL with the message when buf is one,
 * or when fmt says INI. */
static int refuse_ini(const char *name, const char *buf, size_t len,
		      enum conf_format fmt, char *err, size_t errlen)
{
	const char *s, *e;
	size_t pos = 0;
	int line = 0, sec_line = 0;

	while (next_line(buf, len, &pos, &s, &e)) {
		const char *k;

		line++;
		trim(&s, &e);
		if (!sec_line) {
			if (e - s == 8 && !memcmp(s, "[common]", 8))
				sec_line = line;
			continue;
		}
		if (s == e || *s == '#' || *s == ';')
			continue;
		for (k = s; k < e && *k != '=' && *k != ':' && *k != ' ' &&
			    *k != '\t';
		     k++)
			;
		if (k == s || *s == '[')
			break;
		snprintf(err, errlen, "%s:%d:1: this is frp's legacy INI format "
			 "([common] at line %d, key \"%.*s\"), which is not "
			 "supported: write the file as TOML, YAML or JSON with "
			 "frp's v1 keys (e.g. server_addr -> serverAddr)", name,
			 line, sec_line, (int)(k - s > 40 ? 40 : k - s), s);
		return -EINVAL;
	}
	if (sec_line) {
		snprintf(err, errlen, "%s:%d:1: this is frp's legacy INI format "
			 "([common] section), which is not supported: write the "
			 "file as TOML, YAML or JSON with frp's v1 keys", name,
			 sec_line);
		return -EINVAL;
	}
	if (fmt == CONF_FMT_INI) {
		snprintf(err, errlen, "%s: the INI format (frp's legacy format) "
			 "is not supported: write the file as .toml, .yaml or "
			 ".json with frp's v1 keys", name);
		return -EINVAL;
	}
	return 0;
}

/* "NAME:L:C: why" -> "L:C: why" for the combined TOML/YAML message. */
static const char *after_name(const char *msg, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(msg, name, n) && msg[n] == ':' ? msg + n + 1 : msg;
}

static int parse_auto(const char *name, const char *buf, size_t len,
		      struct conf_node **root, char *err, size_t errlen)
{
	char terr[256];
	int rc;

	rc = conf_toml_parse(name, buf, len, root, terr, sizeof(terr));
	if (rc != -EINVAL) {
		if (rc < 0)
			snprintf(err, errlen, "%s", terr);
		return rc;
	}
	rc = conf_yaml_parse(name, buf, len, root, err, errlen);
	if (rc == -EINVAL) {
		char *yerr = strdup(after_name(err, name));

		snprintf(err, errlen, "%s: neither TOML (%s) nor YAML (%s); "
			 "name the file .toml, .yaml or .json to choose",
			 name, after_name(terr, name),
			 yerr ? yerr : "invalid");
		free(yerr);
	}
	return rc;
}

int conf_doc_parse(const char *name, const char *buf, size_t len,
		   enum conf_format fmt, conf_env_cb env, void *ctx,
		   struct conf_node **root, char *err, size_t errlen)
{
	char *text = NULL;
	size_t tlen = 0;
	int rc;

	*root = NULL;
	if (fmt != CONF_FMT_JSON) {
		rc = refuse_ini(name, buf, len, fmt, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = conf_tmpl_expand(name, buf, len, env, ctx, CONF_YAML_MAX_SIZE,
			      &text, &tlen, err, errlen);
	if (rc < 0)
		return rc;
	switch (fmt) {
	case CONF_FMT_TOML:
		rc = conf_toml_parse(name, text, tlen, root, err, errlen);
		break;
	case CONF_FMT_JSON:
		rc = conf_json_parse(name, text, tlen, root, err, errlen);
		break;
	case CONF_FMT_YAML:
		rc = conf_yaml_parse(name, text, tlen, root, err, errlen);
		break;
	default:
		rc = parse_auto(name, text, tlen, root, err, errlen);
		break;
	}
	free(text);
	return rc;
}

int conf_doc_load(const char *path, struct conf_node **root, char *err,
		  size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = conf_file_read(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = conf_doc_parse(path, buf, len, conf_format_of(path), NULL, NULL,
			    root, err, errlen);
	free(buf);
	return rc;
}
