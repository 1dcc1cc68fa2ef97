#!/bin/bash
# Run the whole suite against one build directory (build/ or build-san/):
# unit suites, the transport conformance suite on every plugin, end-to-end
# scripts. Exits non-zero if anything failed.
set -u
BUILD=${1:-build}
export BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
fails=()
passed=0
run() {
	local name=$1; shift
	local t0=$SECONDS
	if "$@" >"$BUILD/log.$name" 2>&1; then
		echo "PASS $name ($((SECONDS - t0))s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name ($((SECONDS - t0))s), last lines of $BUILD/log.$name:"
		tail -n 30 "$BUILD/log.$name" | sed 's/^/    /'
		fails+=("$name")
	fi
}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
for f in "$BUILD"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	run "$(basename "$f")" "$f"
done
if [ -x "$BUILD/tests/xport_conformance" ]; then
	for so in "$BUILD"/transports/*.so; do
		[ -f "$so" ] || continue
		run "conformance-$(basename "$so" .so)" "$BUILD/tests/xport_conformance" "$so"
		# Datagram transports run the same cases once more over a lossy,
		# reordering, duplicating link (seeded user-space relay).
		if [ "$("$BUILD/tests/xport_conformance" --caps "$so")" = datagram ]; then
			run "conformance-$(basename "$so" .so)-lossy" env \
				XPORT_RELAY="$BUILD/tools/udp_impair --delay-ms 5 --jitter-ms 2 --loss 2 --dup 1 --reorder 1 --seed 5" \
				"$BUILD/tests/xport_conformance" "$so"
		fi
	done
fi
for e in tests/e2e/*.sh; do
	[ "$(basename "$e")" = lib.sh ] && continue
	[ -f "$e" ] || continue
	run "e2e-$(basename "$e" .sh)" bash "$e" "$BUILD"
done
echo "${BUILD}: ${passed} passed, ${#fails[@]} failed"
if [ ${#fails[@]} -gt 0 ]; then
	echo "FAILED (${BUILD}): ${fails[*]}"
	exit 1
fi
echo "ALL PASSED (${BUILD})"
