#!/bin/bash
# frpc's admin API and CLI: frp's endpoints and shapes (/healthz, /api/status,
# /api/config, /api/reload, /api/stop), ours (/api/transport), basic auth,
# `frpc status|reload|stop`, reload diffing proxies (an unchanged proxy's
# transfer goes on), a bad file refused with FILE:LINE:COL, verify checks,
# and a non-loopback admin address without a password refused at start.
source "$(dirname "$0")/lib.sh"

SP=$(free_port); WP=$(free_port); EP=$(free_port); SRC=$(free_port)
RA=$(free_port); RB=$(free_port); RC=$(free_port); RD=$(free_port)
API="http://127.0.0.1:$WP"
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 8M --seed 5 --rate 2M
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $SP"
F="$T/frpc.yaml"
frpc_conf() { # extra proxy lines...
	write_frpc "$F" "$SP" "transport: {heartbeatInterval: -1, heartbeatTimeout: -1}" \
		"webServer: {port: $WP, user: admin, password: pw}" \
		"proxies:" \
		"  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RD}" \
		"$@"
}
frpc_conf "  - {name: a, type: tcp, localPort: $EP, remotePort: $RA}" \
	"  - {name: b, type: tcp, localPort: $EP, remotePort: $RB}"
"$FRPC" verify -c "$F" --transports-dir "$XDIR" >"$T/verify.out" 2>&1 ||
	fail "verify refused a valid file (heartbeats -1): $(cat "$T/verify.out")"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps did not listen"
start frpc "$FRPC" -c "$F" --transports-dir "$XDIR"
wait_log frpc "\\[b\\] start proxy success" 10 || fail "proxies did not start"

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
api() { curl -s -S --max-time 20 -u admin:pw "$@"; }

# Auth: /healthz is open, /api/* need the credentials.
[ "$(code "$API/healthz")" = 200 ] || fail "/healthz without credentials"
for p in /api/status /api/config /api/reload /api/transport; do
	[ "$(code "$API$p")" = 401 ] || fail "$p without credentials is not 401"
	[ "$(code -u admin:wrong "$API$p")" = 401 ] || fail "$p with a wrong password is not 401"
done
[ "$(code -X POST "$API/api/stop")" = 401 ] || fail "/api/stop without credentials is not 401"
# The admin page (compiled in) behind the same auth; unknown paths 404.
[ "$(code "$API/")" = 401 ] || fail "/ without credentials is not 401"
[ "$(code -u admin:pw "$API/")" = 200 ] || fail "admin page /"
curl -s -u admin:pw "$API/" | grep -q "/static/app.js" || fail "admin page does not load its script"
[ "$(code -u admin:pw "$API/static/app.js")" = 200 ] || fail "/static/app.js"
[ "$(code -u admin:pw "$API/nonexistent")" = 404 ] || fail "unknown path is not 404"

# /api/status: frp's map of type -> proxies with frp's keys.
st=$(api "$API/api/status")
for want in "\"name\": *\"a\", *\"type\": *\"tcp\", *\"status\": *\"running\", *\"err\": *\"\", *\"local_addr\": *\"127.0.0.1:$EP\", *\"plugin\": *\"\", *\"remote_addr\": *\"127.0.0.1:$RA\"" \
	'^{"tcp": *\[{'; do
	grep -q -E "$want" <<<"$st" || fail "/api/status shape ($want): $st"
done
# frpc status prints frp's table.
out=$("$FRPC" status -c "$F") || fail "frpc status: $out"
grep -q "^Proxy Status...$" <<<"$out" || fail "frpc status header: $out"
grep -q "^TCP$" <<<"$out" || fail "frpc status type line: $out"
grep -q -E "^Name +Status +LocalAddr +Plugin +RemoteAddr +Error" <<<"$out" || fail "frpc status columns: $out"
grep -q -E "^a +running +127.0.0.1:$EP +127.0.0.1:$RA" <<<"$out" || fail "frpc status row: $out"

# Stock frp 0.54's own CLI reads our admin API and prints the same table.
PEERS="$ROOT/../shared/peers/frp-0.54"
if [ -x "$PEERS/frpc" ]; then
	stock=$("$PEERS/frpc" status -c "$F") || fail "stock frpc status against our admin API: $stock"
	[ "$stock" = "$out" ] || fail "stock frpc status differs from ours:
$stock
---
$out"
	log "stock frpc status prints the same as ours"
else
	echo "SKIP (part): stock frp 0.54 not found at $PEERS; CLI interop not checked"
fi

# /api/config is the file as written.
api "$API/api/config" >"$T/got.yaml"
cmp -s "$T/got.yaml" "$F" || fail "/api/config differs from the file"

# /api/transport: our link report.
tr=$(api "$API/api/transport")
for k in protocol server_addr since state srtt_ms rto_ms retransmits fec_recovered bytes_in bytes_out draining switching fallback_active; do
	grep -q "\"$k\":" <<<"$tr" || fail "/api/transport lacks $k: $tr"
done
grep -q '"protocol": *"tcp"' <<<"$tr" || fail "/api/transport protocol: $tr"
grep -q '"state": *"online"' <<<"$tr" || fail "/api/transport state: $tr"
for body in 'not json' '{"protocol": 5}' '{}' '{"protocol": "../tcp"}' ''; do
	[ "$(code -u admin:pw -X PUT -d "$body" "$API/api/transport")" = 400 ] ||
		fail "PUT /api/transport with body '$body' is not 400"
done
[ "$(code -u admin:pw -X PUT -d '{"protocol": "tcp"}' "$API/api/transport")" = 200 ] ||
	fail "PUT /api/transport to the current protocol is not 200"

# Reload diff while a download runs through the unchanged proxy dl:
# b removed, c added, a changed (new remote port), dl untouched.
start dl "$NT" recv --port "$RD" --bytes 8M --seed 5 --timeout 30
sleep 1
frpc_conf "  - {name: a, type: tcp, localPort: $EP, remotePort: $RB}" \
	"  - {name: c, type: tcp, localPort: $EP, remotePort: $RC}"
out=$("$FRPC" reload -c "$F") || fail "frpc reload: $out"
[ "$out" = "reload success" ] || fail "frpc reload printed: $out"
wait_log frpc "reload: 1 proxies added, 1 changed, 1 removed, 1 unchanged" 5 || fail "reload diff not as expected"
grep -q "proxy \\[b\\] closed" "$T/frps.log" || wait_log frps "proxy \\[b\\] closed" 5 || fail "removed proxy b not closed on frps"
wait_log frpc "\\[c\\] start proxy success" 10 || fail "added proxy c did not start"
wait_port "$RC" 5 || fail "added proxy c's port not open"
out=$("$NT" send --port "$RC" --bytes 64k --seed 3 --timeout 10) || fail "proxy c: $out"
for i in $(seq 50); do
	out=$("$NT" send --port "$RB" --bytes 1k --seed 3 --timeout 5) && break
	sleep 0.1
done
grep -q "^ok" <<<"$out" || fail "changed proxy a not serving on its new port $RB: $out"
if "$NT" send --port "$RA" --bytes 1k --seed 3 --timeout 3 >/dev/null 2>&1; then
	fail "proxy a's old port $RA still serves"
fi
grep -q "proxy \\[dl\\] closed" "$T/frps.log" && fail "unchanged proxy dl was closed by the reload"
wait "$(pid_of dl)" || fail "download through the unchanged proxy failed: $(cat "$T/dl.log")"
eval "PID_dl="

# A bad file is refused with FILE:LINE:COL; the running configuration stays.
cp "$F" "$T/good.yaml"
printf 'proxies:\n  - {name: x, type: tcp, localPort: 70000}\n' >>"$F"
[ "$(code -u admin:pw "$API/api/reload")" = 400 ] || fail "bad reload not refused with 400"
body=$(api "$API/api/reload")
grep -q -E "frpc.yaml:[0-9]+:[0-9]+: " <<<"$body" || fail "bad reload error lacks FILE:LINE:COL: $body"
out=$("$NT" send --port "$RC" --bytes 1k --seed 3 --timeout 10) || fail "proxy c gone after a refused reload: $out"
# PUT /api/config writes the file; a reload applies it.
[ "$(code -u admin:pw -X PUT --data-binary @"$T/good.yaml" "$API/api/config")" = 200 ] || fail "PUT /api/config"
cmp -s "$T/good.yaml" "$F" || fail "PUT /api/config did not write the file"
[ "$(code -u admin:pw "$API/api/reload")" = 200 ] || fail "reload after PUT /api/config"

# verify checks what start-up checks.
printf 'serverPort: %s\ntransport: {protocol: invalid}\n' "$SP" >"$T/bad1.yaml"
"$FRPC" verify -c "$T/bad1.yaml" --transports-dir "$XDIR" >"$T/v1.out" 2>&1 && fail "verify accepted transport.protocol: invalid"
grep -q "invalid" "$T/v1.out" || fail "verify message: $(cat "$T/v1.out")"
printf 'serverPort: %s\ntransport: {kcp: {mode: nosuchmode}}\n' "$SP" >"$T/bad2.yaml"
"$FRPC" verify -c "$T/bad2.yaml" --transports-dir "$XDIR" >"$T/v2.out" 2>&1 && fail "verify accepted a bad kcp option"
grep -q -E "bad2.yaml:2:[0-9]+: transport.kcp" "$T/v2.out" || fail "verify kcp option message: $(cat "$T/v2.out")"

# A non-loopback admin address needs a password, at start and in verify.
printf 'serverPort: %s\nwebServer: {addr: 0.0.0.0, port: %s}\n' "$SP" "$(free_port)" >"$T/open.yaml"
"$FRPC" verify -c "$T/open.yaml" --transports-dir "$XDIR" >"$T/v3.out" 2>&1 && fail "verify accepted an open admin address"
timeout 10 "$FRPC" -c "$T/open.yaml" --transports-dir "$XDIR" >"$T/open.log" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "frpc with a non-loopback admin address and no password exited $rc"
grep -q "webServer.password" "$T/open.log" || fail "no clear message: $(cat "$T/open.log")"

# frpc stop; then the CLI reports the unreachable API.
out=$("$FRPC" stop -c "$F") || fail "frpc stop: $out"
[ "$out" = "stop success" ] || fail "frpc stop printed: $out"
pid=$(pid_of frpc)
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "frpc still running after /api/stop"
wait "$pid"; rc=$?
[ "$rc" = 0 ] || fail "frpc exited $rc after /api/stop"
eval "PID_frpc="
out=$("$FRPC" status -c "$F" 2>&1) && fail "frpc status succeeded with frpc stopped"
grep -q "127.0.0.1:$WP" <<<"$out" || fail "unreachable message lacks the address: $out"
log "ok"
