/* Valid, but named "fake" like fake_good: the second one loaded is refused. */
#include "fake_plugin.h"

FAKE_PLUGIN("fake", FAKE_SIZE, XPORT_ABI_MAJOR, XPORT_ABI_MINOR,
	    LIBEVENT_VERSION_NUMBER)
