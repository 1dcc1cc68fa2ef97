/* Built for the next ABI major: refused. */
#include "fake_plugin.h"

FAKE_PLUGIN("fake_major", FAKE_SIZE, XPORT_ABI_MAJOR + 1, XPORT_ABI_MINOR,
	    LIBEVENT_VERSION_NUMBER)
