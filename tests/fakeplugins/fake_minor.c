/* Built for a newer ABI minor than the host's: refused. */
#include "fake_plugin.h"

FAKE_PLUGIN("fake_minor", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR + 1,
	    LIBEVENT_VERSION_NUMBER)
