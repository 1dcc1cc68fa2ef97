/*
 * xport_loader.c - dlopen transport plugins, check them against the host's
 * ABI and libevent, and keep the name -> ops registry.
 *
 * Who logs: xport_load_file() logs each refusal (and each success) exactly
 * once, so its callers need not log again; xport_check_ops() and
 * xport_register() only fill err, their callers decide.
 */
#include "xport_loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef XPORT_INSTALL_DIR
#define XPORT_INSTALL_DIR "/usr/local/lib/frp-c/transports"
#endif

#define XPORT_REGISTRY_MAX 16
#define LOADER_MOD "xport"

/* Fields every ABI version has at the same place: enough to read the
 * version numbers before trusting anything else in the table. */
#define OPS_HEADER_SIZE                                                        \
	(offsetof(struct xport_ops, libevent_version) + sizeof(uint32_t))
/* The smallest table a 1.x plugin may hand us: everything 1.0 defined. */
#define OPS_V1_MIN_SIZE                                                        \
	(offsetof(struct xport_ops, stream_peer) +                             \
	 sizeof(((struct xport_ops *)0)->stream_peer))

/* The one allowed global besides the log sink: the registry, plus the
 * host services table it hands to plugins (filled on first use, because
 * the libevent version is only known at run time). */
static struct {
	const struct xport_ops *ops[XPORT_REGISTRY_MAX];
	size_t n;
	struct xport_host host;
} registry;

const struct xport_host *xport_host_default(void)
{
	struct xport_host *h = &registry.host;
	if (h->size == 0) {
		h->abi_major = XPORT_ABI_MAJOR;
		h->abi_minor = XPORT_ABI_MINOR;
		h->libevent_version = event_get_version_number();
		h->log = log_write;
		h->now_ms = util_now_ms;
		h->size = sizeof(*h);
	}
	return h;
}

/* Transport names are config values and log prefixes: keep them short
 * and plain. */
static int name_ok(const char *name)
{
	size_t n = 0;
	if (!name)
		return 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (n >= 32 || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
				 c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

int xport_check_ops(const struct xport_ops *ops, const struct xport_host *host,
		    char *err, size_t errlen)
{
	if (!ops) {
		snprintf(err, errlen, "entry returned no ops table");
		return -EINVAL;
	}
	if (ops->size < OPS_HEADER_SIZE) {
		snprintf(err, errlen, "ops table too small (%zu bytes)",
			 ops->size);
		return -EINVAL;
	}
	if (ops->abi_major != host->abi_major) {
		snprintf(err, errlen, "ABI %u.%u, host speaks %u.%u (major differs)",
			 ops->abi_major, ops->abi_minor, host->abi_major,
			 host->abi_minor);
		return -EPROTONOSUPPORT;
	}
	if (ops->abi_minor > host->abi_minor) {
		snprintf(err, errlen, "ABI %u.%u is newer than host's %u.%u",
			 ops->abi_major, ops->abi_minor, host->abi_major,
			 host->abi_minor);
		return -EPROTONOSUPPORT;
	}
	if (ops->size < OPS_V1_MIN_SIZE) {
		snprintf(err, errlen,
			 "ops table too small (%zu bytes, ABI 1.0 needs %zu)",
			 ops->size, (size_t)OPS_V1_MIN_SIZE);
		return -EINVAL;
	}
	/* major.minor must match: bufferevent behaviour and struct layouts
	 * shared through the bev differ between libevent minors. */
	if ((ops->libevent_version >> 16) != (host->libevent_version >> 16)) {
		snprintf(err, errlen,
			 "built for libevent %u.%u, host runs %u.%u",
			 ops->libevent_version >> 24,
			 (ops->libevent_version >> 16) & 0xff,
			 host->libevent_version >> 24,
			 (host->libevent_version >> 16) & 0xff);
		return -ELIBBAD;
	}
	if (!name_ok(ops->name)) {
		snprintf(err, errlen, "bad transport name (want [a-z0-9_-]{1,32})");
		return -EINVAL;
	}
	if (!ops->init || !ops->fini || !ops->listen || !ops->listener_port ||
	    !ops->listener_free || !ops->dial || !ops->dial_cancel ||
	    !ops->stream_bev || !ops->stream_close || !ops->stream_stats ||
	    !ops->stream_peer) {
		snprintf(err, errlen, "transport %s lacks a required op",
			 ops->name);
		return -EINVAL;
	}
	return 0;
}

int xport_register(const struct xport_ops *ops, char *err, size_t errlen)
{
	if (!ops || !ops->name) {
		snprintf(err, errlen, "no ops table or name");
		return -EINVAL;
	}
	if (xport_find(ops->name)) {
		snprintf(err, errlen, "transport %s is already registered",
			 ops->name);
		return -EEXIST;
	}
	if (registry.n >= XPORT_REGISTRY_MAX) {
		snprintf(err, errlen, "too many transports (max %d)",
			 XPORT_REGISTRY_MAX);
		return -ENOSPC;
	}
	registry.ops[registry.n++] = ops;
	return 0;
}

/* dlopen, entry, checks, registration; the handle is dropped again on any
 * refusal (an accepted plugin is never unloaded). */
static int load_file(const char *path, const struct xport_host *host,
		     const struct xport_ops **out, char *err, size_t errlen)
{
	struct stat st;
	if (!host)
		host = xport_host_default();
	if (stat(path, &st) == -1) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		return -e;
	}
	dlerror();
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *d = dlerror();
		snprintf(err, errlen, "dlopen: %s", d ? d : "failed");
		return -ELIBBAD;
	}
	int rc;
	/* POSIX leaves object-to-function pointer conversion to dlsym's
	 * contract; the memcpy keeps -Wpedantic quiet about it. */
	void *sym = dlsym(h, XPORT_ENTRY_SYMBOL);
	if (!sym) {
		snprintf(err, errlen, "no %s symbol", XPORT_ENTRY_SYMBOL);
		rc = -ENOEXEC;
		goto fail;
	}
	xport_entry_fn entry;
	memcpy(&entry, &sym, sizeof(entry));
	const struct xport_ops *ops = entry(host);
	rc = xport_check_ops(ops, host, err, errlen);
	if (rc != 0)
		goto fail;
	rc = xport_register(ops, err, errlen);
	if (rc != 0)
		goto fail;
	*out = ops;
	return 0;
fail:
	dlclose(h);
	return rc;
}

int xport_load_file(const char *path, const struct xport_host *host, char *err,
		    size_t errlen)
{
	const struct xport_ops *ops = NULL;
	char tmp[256];
	if (!err || errlen == 0) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	err[0] = '\0';
	int rc = load_file(path, host, &ops, err, errlen);
	if (rc != 0) {
		LOG_E(LOADER_MOD, "refused transport plugin %s: %s", path, err);
		return rc;
	}
	LOG_I(LOADER_MOD, "loaded transport %s (ABI %u.%u) from %s", ops->name,
	      ops->abi_major, ops->abi_minor, path);
	return 0;
}

static int is_so(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 3 &&
	       strcmp(d->d_name + n - 3, ".so") == 0;
}

int xport_load_dir(const char *dir, const struct xport_host *host)
{
	struct dirent **names;
	int n = scandir(dir, &names, is_so, alphasort);
	if (n == -1) {
		int e = errno;
		LOG_E(LOADER_MOD, "cannot read transport dir %s: %s", dir,
		      strerror(e));
		return -e;
	}
	int loaded = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		int len = snprintf(path, sizeof(path), "%s/%s", dir,
				   names[i]->d_name);
		if (len > 0 && (size_t)len < sizeof(path) &&
		    xport_load_file(path, host, NULL, 0) == 0)
			loaded++;
		free(names[i]);
	}
	free(names);
	return loaded;
}

/* "<dir of the running executable>/transports" into buf; 0 or -errno. */
static int exe_transport_dir(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	int w = snprintf(buf, len, "%s/transports", exe);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	return 0;
}

int xport_load_default(const char *flag_dir, const struct xport_host *host)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *use = XPORT_INSTALL_DIR;
	if (flag_dir && *flag_dir)
		use = flag_dir;
	else if (exe_transport_dir(dir, sizeof(dir)) == 0 &&
		 stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		use = dir;
	LOG_D(LOADER_MOD, "loading transports from %s", use);
	return xport_load_dir(use, host);
}

const struct xport_ops *xport_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < registry.n; i++)
		if (strcmp(registry.ops[i]->name, name) == 0)
			return registry.ops[i];
	return NULL;
}

size_t xport_count(void) { return registry.n; }

const struct xport_ops *xport_at(size_t i)
{
	return i < registry.n ? registry.ops[i] : NULL;
}

void xport_registry_reset(void)
{
	registry.n = 0;
	memset(registry.ops, 0, sizeof(registry.ops));
}
