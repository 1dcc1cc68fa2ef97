/* Another libevent patch level of the same major.minor: accepted. */
#include "fake_plugin.h"

FAKE_PLUGIN("fake_patch", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR,
	    (LIBEVENT_VERSION_NUMBER & 0xffff0000u) | 0xff00u)
