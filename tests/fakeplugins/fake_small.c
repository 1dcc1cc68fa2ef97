/* An ops table that ends before the ABI 1.0 ops: refused. */
#include <stddef.h>

#include "fake_plugin.h"

FAKE_PLUGIN("fake_small", offsetof(struct xport_ops, init), XPORT_ABI_MAJOR,
	    XPORT_ABI_MINOR, LIBEVENT_VERSION_NUMBER)
