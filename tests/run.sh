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
# report NAME RC SECS: one result line, counted
report() {
	if [ "$2" = 0 ]; then
		echo "PASS $1 (${3}s)"
		passed=$((passed + 1))
	else
		echo "FAIL $1 (${3}s), last lines of $BUILD/log.$1:"
		tail -n 30 "$BUILD/log.$1" | sed 's/^/    /'
		fails+=("$1")
	fi
}
run() {
	local name=$1 t0=$SECONDS rc
	shift
	"$@" >"$BUILD/log.$name" 2>&1
	rc=$?
	report "$name" "$rc" "$((SECONDS - t0))"
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
# End-to-end scripts spend most of their time waiting (timers, reconnects,
# link delays), so E2E_JOBS of them (2 by default) run at once; each uses
# its own free ports and namespaces. A script with a line "# e2e: serial"
# (heavy load, or timing it must not share) runs alone afterwards.
E2E_JOBS=${E2E_JOBS:-2}
e2e_one() {
	local e=$1 name t0=$SECONDS
	name="e2e-$(basename "$e" .sh)"
	bash "$e" "$BUILD" >"$BUILD/log.$name" 2>&1
	echo "$? $((SECONDS - t0))" >"$BUILD/rc.$name"
}
e2e_report() {
	local name=$1 rc secs
	read -r rc secs <"$BUILD/rc.$name"
	rm -f "$BUILD/rc.$name"
	report "$name" "$rc" "$secs"
}
par=() serial=()
for e in tests/e2e/*.sh; do
	[ "$(basename "$e")" = lib.sh ] && continue
	[ -f "$e" ] || continue
	if grep -q '^# e2e: serial' "$e"; then serial+=("$e"); else par+=("$e"); fi
done
names=()
for e in "${par[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$E2E_JOBS" ]; do wait -n; done
	e2e_one "$e" &
	names+=("e2e-$(basename "$e" .sh)")
done
wait
for n in "${names[@]}"; do e2e_report "$n"; done
for e in "${serial[@]}"; do
	e2e_one "$e"
	e2e_report "e2e-$(basename "$e" .sh)"
done
echo "${BUILD}: ${passed} passed, ${#fails[@]} failed"
if [ ${#fails[@]} -gt 0 ]; then
	echo "FAILED (${BUILD}): ${fails[*]}"
	exit 1
fi
echo "ALL PASSED (${BUILD})"
