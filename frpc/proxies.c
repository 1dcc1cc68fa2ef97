/*
 * proxies.c - the proxies' run-time state owns a copy of its settings, so a
 * reload can drop the old configuration while user connections of a proxy
 * still run; comparing copies tells a reload what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frpc.h"
#include "frpc_conf.h"
#include "util.h"

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

void frpc_conf_proxy_clear(struct conf_proxy *p)
{
	free(p->name);
	free(p->type_name);
	free(p->local_ip);
	memset(p, 0, sizeof(*p));
}

int frpc_conf_proxy_copy(struct conf_proxy *dst, const struct conf_proxy *src)
{
	*dst = *src;
	dst->name = util_strdup(src->name ? src->name : "");
	dst->type_name = util_strdup(src->type_name ? src->type_name : "");
	dst->local_ip = util_strdup(src->local_ip ? src->local_ip : "");
	if (!dst->name || !dst->type_name || !dst->local_ip) {
		frpc_conf_proxy_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

bool frpc_conf_proxy_equal(const struct conf_proxy *a,
			   const struct conf_proxy *b)
{
	return str_eq(a->name, b->name) && a->type == b->type &&
	       str_eq(a->type_name, b->type_name) &&
	       str_eq(a->local_ip, b->local_ip) &&
	       a->local_port == b->local_port &&
	       a->remote_port == b->remote_port &&
	       a->use_encryption == b->use_encryption &&
	       a->use_compression == b->use_compression;
}

void frpc_conf_xopts_free(struct conf_xport_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free((char *)o->opts[i].key);
		free((char *)o->opts[i].value);
		if (o->where)
			free(o->where[i]);
	}
	free(o->opts);
	free(o->where);
	free(o->protocol);
	free(o);
}

struct conf_xport_opts *frpc_conf_xopts_dup(const struct conf_xport_opts *o)
{
	struct conf_xport_opts *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->protocol = util_strdup(o->protocol);
	d->opts = calloc(o->n ? o->n : 1, sizeof(*d->opts));
	d->where = calloc(o->n ? o->n : 1, sizeof(*d->where));
	if (!d->protocol || !d->opts || !d->where)
		goto fail;
	for (size_t i = 0; i < o->n; i++) {
		d->n = i + 1;
		d->opts[i].key = util_strdup(o->opts[i].key);
		d->opts[i].value = util_strdup(o->opts[i].value);
		d->where[i] = util_strdup(o->where[i]);
		if (!d->opts[i].key || !d->opts[i].value || !d->where[i])
			goto fail;
	}
	return d;
fail:
	frpc_conf_xopts_free(d);
	return NULL;
}

bool frpc_conf_xopts_equal(const struct conf_xport_opts *a,
			   const struct conf_xport_opts *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a->opts[i].key, b->opts[i].key) ||
		    !str_eq(a->opts[i].value, b->opts[i].value))
			return false;
	return true;
}

struct frpc_proxy *frpc_proxy_new(const struct frpc_conf *cfg,
				  const struct conf_proxy *cp)
{
	struct frpc_proxy *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->refs = 1;
	if (frpc_conf_proxy_copy(&p->conf, cp) < 0) {
		free(p);
		return NULL;
	}
	const char *user = cfg->user ? cfg->user : "";
	size_t n = strlen(user) + strlen(cp->name) + 2;
	if (!(p->wire_name = malloc(n))) {
		frpc_proxy_unref(p);
		return NULL;
	}
	snprintf(p->wire_name, n, "%s%s%s", user, *user ? "." : "", cp->name);
	return p;
}

int frpc_proxies_build(struct frpc *c, const struct frpc_conf *cfg,
		       struct frpc_proxy ***out, size_t *n)
{
	(void)c;
	struct frpc_proxy **v = calloc(cfg->n_proxies ? cfg->n_proxies : 1,
				       sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_proxies; i++)
		if (!(v[i] = frpc_proxy_new(cfg, &cfg->proxies[i]))) {
			while (i--)
				frpc_proxy_unref(v[i]);
			free(v);
			return -ENOMEM;
		}
	*out = v;
	*n = cfg->n_proxies;
	return 0;
}
