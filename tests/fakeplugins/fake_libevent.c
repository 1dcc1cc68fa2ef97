/* Claims the next libevent minor (e.g. 2.2 against a 2.1 host): refused. */
#include "fake_plugin.h"

FAKE_PLUGIN("fake_libevent", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR,
	    LIBEVENT_VERSION_NUMBER + 0x00010000u)
