#!/bin/bash
# The frps dashboard and frpc's admin page in a real browser: Debian's
# chromium, headless, driven by playwright-core (tests/browser/*.mjs). Rows
# show the API's numbers, charts are drawn; on frpc's page the transport is
# switched to KCP and frps's API then reports the new link. Screenshots
# land in $BUILD/screenshots/.
# Skips (and says so) only when chromium is not installed.
source "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null 2>&1; then
	echo "SKIP: chromium is not installed (make deps could not install it)"
	exit 0
fi
[ -f "$ROOT/tests/browser/node_modules/playwright-core/package.json" ] ||
	fail "playwright-core missing: run make deps (tests/deps.sh installs it)"
command -v node >/dev/null || fail "node missing: run make deps"
SHOTS="$BUILD/screenshots"
mkdir -p "$SHOTS"

SP=$(free_port); WP=$(free_port); EP=$(free_port); RP=$(free_port); FWP=$(free_port)
UP=$(free_port); URP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start uecho "$NT" udp-echo --bind 127.0.0.1 --port "$UP"
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $SP" \
	"webServer: {port: $WP, user: admin, password: pw, statsFile: $T/stats.json}"
write_frpc "$T/frpc.yaml" "$SP" "webServer: {port: $FWP, user: admin, password: pw}" \
	"transport: {protocol: tcp}" "proxies:" \
	"  - {name: web, type: tcp, localPort: $EP, remotePort: $RP}" \
	"  - {name: dns, type: udp, localPort: $UP, remotePort: $URP}" \
	"  - {name: '<img src=x onerror=window.__xss=1>', type: tcp, localPort: $EP}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[web\\] start proxy success" 10 || fail "proxy did not start"
wait_port "$RP" || fail "remote port not open"
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes 2M --seed 9 --timeout 30) ||
	fail "transfer: $out"
sleep 1.5 # one stats tick

cd "$ROOT/tests/browser" || fail "no tests/browser"
timeout 120 node dashboard.mjs "http://127.0.0.1:$WP" admin pw "$SHOTS" web \
	>"$T/browser.log" 2>&1 || { cat "$T/browser.log"; fail "dashboard in chromium"; }
cat "$T/browser.log"
[ -s "$SHOTS/dashboard.png" ] || fail "no screenshot"
timeout 120 node frpc_page.mjs "http://127.0.0.1:$FWP" "http://127.0.0.1:$WP" admin pw \
	"$SHOTS" kcp >"$T/browser2.log" 2>&1 || { cat "$T/browser2.log"; fail "frpc page in chromium"; }
cat "$T/browser2.log"
grep -q "client moved links: from tcp .* to kcp" "$T/frps.log" || fail "frps did not see the move"
log "screenshots: $(cd "$SHOTS" && echo *.png) in $SHOTS"
log "ok"
