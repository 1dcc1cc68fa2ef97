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

/* frp's v1 name for an INI key: a few moved into sections, the rest are
 * the same words in camelCase (bind_port -> bindPort). */
static void v1_name(const char *k, size_t n, char *out, size_t len)
{
	static const char *const moved[][2] = {
		{"token", "auth.token"},
		{"authentication_method", "auth.method"},
		{"protocol", "transport.protocol"},
		{"tcp_mux", "transport.tcpMux"},
		{"pool_count", "transport.poolCount"},
		{"max_pool_count", "transport.maxPoolCount"},
		{"heartbeat_interval", "transport.heartbeatInterval"},
		{"heartbeat_timeout", "transport.heartbeatTimeout"},
		{"log_file", "log.to"},
		{"log_level", "log.level"},
		{"log_max_days", "log.maxDays"},
		{"admin_addr", "webServer.addr"},
		{"admin_port", "webServer.port"},
		{"dashboard_addr", "webServer.addr"},
		{"dashboard_port", "webServer.port"},
	};
	size_t o = 0;

	for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++)
		if (strlen(moved[i][0]) == n && !memcmp(k, moved[i][0], n)) {
			snprintf(out, len, "%s", moved[i][1]);
			return;
		}
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (k[i] == '_' && i + 1 < n && k[i + 1] != '_') {
			char c = k[++i];

			out[o++] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
		} else {
			out[o++] = k[i];
		}
	}
	out[o] = '\0';
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
		char v1[48];
		int kl = (int)(k - s > 40 ? 40 : k - s);

		v1_name(s, (size_t)kl, v1, sizeof(v1));
		snprintf(err, errlen, "%s:%d:1: this is frp's legacy INI format "
			 "([common] at line %d, key \"%.*s\"), which is not "
			 "supported: write the file as TOML, YAML or JSON with "
			 "frp's v1 keys (here: %s)", name, line, sec_line, kl, s,
			 v1);
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

/* Positions in the tree and in a "NAME:L:C: why" message are in the
 * expanded text: report them in the file as written. */
static void unmap_tree(const struct conf_tmpl_map *m, struct conf_node *n)
{
	conf_tmpl_unmap(m, &n->line, &n->col);
	for (size_t i = 0; i < n->n; i++)
		unmap_tree(m, n->kid[i]);
}

static void unmap_err(const struct conf_tmpl_map *m, const char *name,
		      char *err, size_t errlen)
{
	size_t n = strlen(name);
	int line, col, used = 0;
	char *rest;

	if (strncmp(err, name, n) || err[n] != ':' ||
	    sscanf(err + n, ":%d:%d:%n", &line, &col, &used) != 2 || !used)
		return;
	rest = strdup(err + n + (size_t)used);
	if (!rest)
		return;
	conf_tmpl_unmap(m, &line, &col);
	snprintf(err, errlen, "%s:%d:%d:%s", name, line, col, rest);
	free(rest);
}

int conf_doc_parse(const char *name, const char *buf, size_t len,
		   enum conf_format fmt, conf_env_cb env, void *ctx,
		   struct conf_node **root, char *err, size_t errlen)
{
	struct conf_tmpl_map map = {0};
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
			      &text, &tlen, &map, err, errlen);
	if (rc == 0 && map.n &&
	    conf_tmpl_map_index(&map, buf, len, text, tlen) < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		rc = -ENOMEM;
	}
	if (rc < 0) {
		free(text);
		conf_tmpl_map_free(&map);
		return rc;
	}
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
	if (map.n && rc == 0 && *root)
		unmap_tree(&map, *root);
	else if (map.n && rc == -EINVAL)
		unmap_err(&map, name, err, errlen);
	conf_tmpl_map_free(&map);
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
