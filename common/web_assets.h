/*
 * web_assets.h - static files compiled into a program. The tables are
 * generated at build time from web/<app>/ by web/embed.sh (see the
 * Makefile); the files under web/ are the sources, never C strings.
 */
#ifndef WEB_ASSETS_H
#define WEB_ASSETS_H

#include <stddef.h>
#include <string.h>

struct web_asset {
	const char *path;         /**< "/index.html" */
	const char *type;         /**< Content-Type */
	const unsigned char *data;
	size_t len;
};

/** The frps dashboard (web/frps) and the frpc admin page (web/frpc). */
extern const struct web_asset web_frps_assets[];
extern const size_t web_frps_nassets;
extern const struct web_asset web_frpc_assets[];
extern const size_t web_frpc_nassets;

/** The asset served at path ("/" = "/index.html"), or NULL. */
static inline const struct web_asset *
web_asset_find(const struct web_asset *tab, size_t n, const char *path)
{
	if (strcmp(path, "/") == 0 || path[0] == '\0')
		path = "/index.html";
	for (size_t i = 0; i < n; i++)
		if (strcmp(tab[i].path, path) == 0)
			return &tab[i];
	return NULL;
}

#endif
