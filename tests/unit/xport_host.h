/*
 * xport_host.h - the host side of the transport ABI for unit tests that run
 * a transport in-process (test_tls.c, test_kcp_session.c): log lines are
 * dropped, now_ms is the monotonic clock. Linked into every unit test
 * binary, hence the uh_ prefix.
 */
#ifndef UNIT_XPORT_HOST_H
#define UNIT_XPORT_HOST_H

#include "xport.h"

extern const struct xport_host uh_host;

/* The KCP transport's entry point, linked in from libxport_kcp.a. */
const struct xport_ops *kcp_xport_ops(const struct xport_host *host);

#endif
