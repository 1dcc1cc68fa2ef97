/* The entry exists but returns no table: refused. */
#include "fake_plugin.h"

FAKE_EXPORT const struct xport_ops *
xport_plugin_entry(const struct xport_host *host);

FAKE_EXPORT const struct xport_ops *
xport_plugin_entry(const struct xport_host *host)
{
	(void)host;
	return NULL;
}
