#!/bin/bash
# Every transport plugin exports exactly one defined dynamic symbol: the
# entry point xport_plugin_entry (plugins are built -fvisibility=hidden, so
# anything else showing up is a missing `static` or a stray attribute).
#   tests/e2e/plugin_symbols.sh BUILD_DIR
set -u
BUILD=${1:-build}
ENTRY=xport_plugin_entry
shopt -s nullglob
sos=("$BUILD"/transports/*.so)
if [ ${#sos[@]} -eq 0 ]; then
	echo "no plugins in $BUILD/transports"
	exit 1
fi
fail=0
for so in "${sos[@]}"; do
	if ! syms=$(nm -D --defined-only "$so" | awk '{print $NF}'); then
		echo "FAIL $so: nm failed"
		fail=1
		continue
	fi
	if [ "$syms" = "$ENTRY" ]; then
		echo "ok   $so: $ENTRY"
	else
		echo "FAIL $so: want only $ENTRY, exports:" $syms
		fail=1
	fi
done
exit $fail
