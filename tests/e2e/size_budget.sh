#!/bin/bash
# frpc is meant for routers: frpc + its transport plugins must stay within
# 300 KB stripped. Sizes of a sanitizer build say nothing about that, so the
# budget is checked on the plain build and reported on the other.
source "$(dirname "$0")/lib.sh"
BUDGET=$((300 * 1000))
total=0
for f in "$BUILD/frpc" "$BUILD"/transports/*.so; do
	[ -f "$f" ] || fail "missing $f"
	strip -o "$T/stripped" "$f" || fail "strip $f"
	n=$(stat -c %s "$T/stripped")
	log "$(basename "$f"): $n bytes stripped"
	total=$((total + n))
done
log "frpc + plugins: $total bytes (budget $BUDGET)"
case "$BUILD" in
*san*) log "sanitizer build: budget not applicable, sizes reported only" ;;
*) [ "$total" -le "$BUDGET" ] || fail "frpc + plugins is $total bytes stripped, over the $BUDGET budget" ;;
esac
log "ok"
