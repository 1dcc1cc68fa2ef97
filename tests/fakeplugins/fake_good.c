/* A valid plugin named "fake". */
#include "fake_plugin.h"

FAKE_PLUGIN("fake", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR,
	    LIBEVENT_VERSION_NUMBER)
