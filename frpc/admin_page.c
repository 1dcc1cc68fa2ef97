/*
 * admin_page.c - frpc's admin page: the files of web/frpc and web/common,
 * compiled in at build time (web/embed.sh -> build/gen/web_frpc.c), served
 * at "/" and under "/static/" on the admin server. The page talks to the admin
 * API (/api/status, /api/transport, /api/reload) with fetch().
 */
#include <stdio.h>

#include "frpc.h"
#include "httpd.h"
#include "web_assets.h"

void frpc_admin_page(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)arg;
	char path[256];
	snprintf(path, sizeof(path), "/%s", rest);
	const struct web_asset *a =
		web_asset_find(web_frpc_assets, web_frpc_nassets, path);
	if (!a) {
		httpd_reply_error(req, 404, "not found");
		return;
	}
	httpd_reply_data(req, 200, a->type, a->data, a->len);
}
