/* Exports a differently named entry only: refused (missing symbol). */
#include "fake_plugin.h"

static const struct xport_ops fake_ops =
	FAKE_OPS("fake_nosym", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR,
		 LIBEVENT_VERSION_NUMBER);

FAKE_EXPORT const struct xport_ops *
xport_plugin_entry_v0(const struct xport_host *host);

FAKE_EXPORT const struct xport_ops *
xport_plugin_entry_v0(const struct xport_host *host)
{
	(void)host;
	return &fake_ops;
}
