#!/bin/bash
# What users rely on when things go wrong: local service down, wrong token,
# a port that is not allowed (other proxies keep working).
source "$(dirname "$0")/lib.sh"
SP=$(free_port); EP=$(free_port); DEAD=$(free_port); RP1=$(free_port); RP2=$(free_port)
BAD=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
write_frps "$T/frps.yaml" "$SP" "allowPorts: [{start: $RP1, end: $RP1}, {single: $RP2}]"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps not listening"

log "wrong token with loginFailExit: exits non-zero with the server's reason"
write_frpc "$T/bad.yaml" "$SP" "loginFailExit: true"
sed -i 's/e2e-secret/wrong-secret/' "$T/bad.yaml"
out=$(timeout 20 "$FRPC" -c "$T/bad.yaml" --transports-dir "$XDIR" 2>&1); rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "frpc with a wrong token: exit $rc"
echo "$out" | grep -q "token" || fail "no server reason in: $out"
wait_log frps "token" 5 || fail "frps did not log the bad login"

log "one good proxy, one on a port not allowed, one with its local service down"
write_frpc "$T/frpc.yaml" "$SP" "proxies:" \
	"  - {name: good, type: tcp, localPort: $EP, remotePort: $RP1}" \
	"  - {name: denied, type: tcp, localPort: $EP, remotePort: $BAD}" \
	"  - {name: down, type: tcp, localPort: $DEAD, remotePort: $RP2}"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\[good\] start proxy success" 10 || fail "good proxy did not start"
wait_log frpc "\[denied\] start error" 10 || fail "denied proxy: no error logged"
wait_log frpc "\[down\] start proxy success" 10 || fail "down proxy did not start"
"$NT" send --host 127.0.0.1 --port "$RP1" --bytes 1000000 --seed 3 --timeout 10 >/dev/null ||
	fail "the good proxy must keep working"
t0=$(date +%s%N)
"$NT" send --host 127.0.0.1 --port "$RP2" --bytes 10 --seed 3 --timeout 5 >/dev/null 2>&1 &&
	fail "a proxy whose local service is down must not echo"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 3000 ] || fail "user connection not closed promptly (${ms} ms)"
wait_log frpc "\[down\] connect to local service" 5 || fail "frpc did not log the local failure"
log "closed after ${ms} ms"
"$NT" send --host 127.0.0.1 --port "$RP1" --bytes 1000000 --seed 4 --timeout 10 >/dev/null ||
	fail "the good proxy must still work"

log "command-line flags override the file (--server-port, --token)"
RP3=$(free_port)
printf 'serverAddr: 127.0.0.1\nserverPort: 1\nauth: {token: nope}\nloginFailExit: true\nproxies:\n  - {name: flagged, type: tcp, localPort: %s, remotePort: %s}\n' \
	"$EP" "$RP1" >"$T/flags.yaml"
stop frpc
start frpc_flags "$FRPC" -c "$T/flags.yaml" --server-port "$SP" --token e2e-secret \
	--protocol tcp --log-level debug --transports-dir "$XDIR"
wait_log frpc_flags "\[flagged\] start proxy success" 10 || fail "flags did not override the file"
"$NT" send --host 127.0.0.1 --port "$RP1" --bytes 100000 --seed 5 --timeout 10 >/dev/null ||
	fail "proxy configured through flags does not work"
log "ok"
