/*
 * xport_loader.h - load transport plugins (.so) and look them up by name.
 *
 * The registry of loaded transports is one of the two allowed globals; it is
 * filled in main() and only read afterwards. Plugins are never unloaded.
 *
 * Refusals (each one log line, the plugin is skipped, -errno returned):
 * missing entry symbol, entry returning NULL, ops->size too small, different
 * ABI major, newer ABI minor, libevent major.minor different from the host's,
 * a name already registered.
 *
 * Return codes of xport_load_file(): -ENOENT (etc., from stat) no such file,
 * -ELIBBAD dlopen failed or libevent major.minor differs, -ENOEXEC no entry
 * symbol, -EINVAL NULL ops / table too small / bad name / a required op is
 * NULL, -EPROTONOSUPPORT ABI major differs or minor is newer, -EEXIST name
 * taken, -ENOSPC registry full. xport_load_file() logs the refusal itself.
 */
#ifndef XPORT_LOADER_H
#define XPORT_LOADER_H

#include "xport.h"

/** The host services table frpc/frps give plugins (log.h + util_now_ms). */
const struct xport_host *xport_host_default(void);

/** Load one .so. 0 or -errno (err filled). */
int xport_load_file(const char *path, const struct xport_host *host, char *err,
		    size_t errlen);
/** Validate an ops table (the checks above, minus dlopen). 0/-errno. */
int xport_check_ops(const struct xport_ops *ops, const struct xport_host *host,
		    char *err, size_t errlen);
/** Register an already validated table (used by tests and the loader). */
int xport_register(const struct xport_ops *ops, char *err, size_t errlen);
/** Load every *.so in dir (sorted by name); returns how many loaded
 *  (refusals are logged), or -errno when dir cannot be read. */
int xport_load_dir(const char *dir, const struct xport_host *host);
/** Pick the plugin directory: flag_dir if set, else "transports/" next to
 *  the executable (argv0 resolved via /proc/self/exe), else
 *  XPORT_INSTALL_DIR. Loads from it; returns count or -errno. */
int xport_load_default(const char *flag_dir, const struct xport_host *host);
/** The transport named name, or NULL. */
const struct xport_ops *xport_find(const char *name);
/** Number of registered transports and the i-th (for listings). */
size_t xport_count(void);
const struct xport_ops *xport_at(size_t i);
/** Forget all registrations (tests only; does not dlclose). */
void xport_registry_reset(void);

#endif
