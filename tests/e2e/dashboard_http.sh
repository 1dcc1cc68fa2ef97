#!/bin/bash
# frps's web server fed malformed requests (oversized headers, bad auth
# headers, unknown paths, huge bodies to PUT, bytes that are not HTTP):
# clear 4xx, no crash, no descriptor left behind (dashboard_http.py); and
# a non-loopback webServer.addr without a password refused at start.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ROOT/tests/e2e"

SP=$(free_port); WP=$(free_port)
write_frps "$T/frps.yaml" "$SP" \
	"webServer: {port: $WP, user: admin, password: pw, statsFile: $T/s.json}" \
	"enablePrometheus: true"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not listen"
/usr/bin/python3 "$ROOT/tests/e2e/dashboard_http.py" "$WP" "$(pid_of frps)" ||
	fail "malformed requests"
stop frps || fail "frps did not exit cleanly after the malformed requests"

log "non-loopback address without a password"
write_frps "$T/open.yaml" "$SP" "webServer: {addr: 0.0.0.0, port: $WP}"
rc=0
"$FRPS" -c "$T/open.yaml" --transports-dir "$XDIR" >"$T/open.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "frps started (exit $rc) with an open dashboard and no password"
grep -q "webServer.addr 0.0.0.0 is not a loopback address: set webServer.password" \
	"$T/open.log" || fail "no clear message: $(cat "$T/open.log")"
log "keys that need webServer.port are not silently ignored"
write_frps "$T/noweb.yaml" "$SP" "webServer: {statsFile: $T/x.json}" "enablePrometheus: true"
start noweb "$FRPS" -c "$T/noweb.yaml" --transports-dir "$XDIR"
wait_log noweb "webServer.statsFile is set but webServer.port is 0" 5 ||
	fail "no warning for statsFile without a port"
wait_log noweb "enablePrometheus needs webServer.port" 5 ||
	fail "no warning for enablePrometheus without a port"
stop noweb || fail "frps did not exit cleanly"
log "ok"
