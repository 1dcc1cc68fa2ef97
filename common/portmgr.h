/*
 * portmgr.h - which public ports frps may hand to proxies (sans-I/O).
 *
 * One manager per port space (tcp, udp): the allowPorts ranges as a bitmap,
 * the ports our proxies hold, and a cursor for automatic picks. It never
 * touches sockets; the caller binds and releases the port again when the
 * bind fails. Errors mirror frp's wording (see portmgr_strerror):
 *   -EACCES      port not allowed (outside allowPorts, or 0 / > 65535)
 *   -EADDRINUSE  port already used (by one of our proxies)
 *   -ENOSPC      no available port (automatic pick found none)
 *   -EDQUOT      exceed the max_ports_per_client
 */
#ifndef PORTMGR_H
#define PORTMGR_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/** Ports below this are skipped by automatic picks when allowPorts is
 *  empty (binding them needs privileges; frp users expect high ports). */
#define PORTMGR_AUTO_MIN_WHEN_OPEN 1024

struct portmgr;

/** Ranges r[0..n) (inclusive); n == 0 allows every port 1..65535.
 *  Ranges with start > end or a 0 bound are ignored. NULL on OOM. */
struct portmgr *portmgr_new(const struct conf_port_range *r, size_t n);
void portmgr_free(struct portmgr *pm);

bool portmgr_allowed(const struct portmgr *pm, int port);
bool portmgr_in_use(const struct portmgr *pm, int port);
/** Ports currently held. */
size_t portmgr_used(const struct portmgr *pm);

/** Hold a specific port: 0, -EACCES or -EADDRINUSE. */
int portmgr_take(struct portmgr *pm, int port);
/** Hold the next allowed free port after the internal cursor (wrapping);
 *  returns the port or -ENOSPC. Successive calls move on, so a caller whose
 *  bind fails releases the port and calls again to try another one. */
int portmgr_take_any(struct portmgr *pm);
/** Start automatic picks at a place derived from r (e.g. a random
 *  number), so that picked ports are not simply the lowest free ones. */
void portmgr_seed(struct portmgr *pm, unsigned r);
/** Give a held port back. Ports not held are ignored. */
void portmgr_release(struct portmgr *pm, int port);

/** Per-client quota: 0 when a client holding used ports may take `more`
 *  more under max (max <= 0 = unlimited), else -EDQUOT. */
int portmgr_quota_check(int max, int used, int more);

/** frp's text for the errors above ("port not allowed", ...). */
const char *portmgr_strerror(int err);

#endif
