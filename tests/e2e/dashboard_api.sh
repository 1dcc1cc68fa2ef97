#!/bin/bash
# frps dashboard API: JSON shapes and numbers after a known transfer (both
# directions), live rates during a transfer and zero after, Prometheus text
# parsed and counters monotonic, 401/404/405; then a second client over KCP
# (through udp_impair: delay and loss) whose link shows the KCP model's
# bandwidth, pacing rate, min RTT and losses in the API, /metrics and
# frpc's /api/transport. Checks in dashboard_api.py.
source "$(dirname "$0")/lib.sh"
PY="/usr/bin/python3 $ROOT/tests/e2e/dashboard_api.py"
export PYTHONPATH="$ROOT/tests/e2e"

SP=$(free_port); WP=$(free_port); EP=$(free_port); RP=$(free_port)
UP=$(free_port); URP=$(free_port)
KP=$(free_port --udp); LP=$(free_port --udp); KRP=$(free_port); AP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start uecho "$NT" udp-echo --bind 127.0.0.1 --port "$UP"
write_frps "$T/frps.yaml" "$SP" \
	"webServer: {port: $WP, user: admin, password: pw, statsFile: $T/stats.json}" \
	"enablePrometheus: true" "kcpBindPort: $KP" \
	"transport: {kcp: {dataShards: 0, parityShards: 0}}"
write_frpc "$T/frpc.yaml" "$SP" "user: dashuser" "proxies:" \
	"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}" \
	"  - {name: uecho, type: udp, localPort: $UP, remotePort: $URP}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not listen on $WP"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[echo\\] start proxy success" 10 || fail "proxy echo did not start"
wait_port "$RP" || fail "remote port $RP not open"

N=300000
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $N --seed 3 --timeout 30) ||
	fail "transfer: $out"
log "sent and got back $N bytes: $out"
$PY transfer "$WP" "$N" || fail "API after a known transfer"
$PY live "$WP" "$NT" "$RP" || fail "live rates / monotonic counters"
$PY errors "$WP" || fail "auth and error answers"
# The debug log renders the same link views (every minute, first after 5 s).
grep -q "\] link tcp srtt [0-9]* ms rto [0-9]* ms retransmits 0 .*rate in" "$T/frps.log" ||
	fail "no link health line in frps's debug log"
stop frpc
$PY offline "$WP" "$N" || fail "after the client left"

# A client over KCP through an impaired path (5 ms each way, 2 % loss;
# no FEC, which would hide the losses from the sender).
start impair "$BUILD/tools/udp_impair" --listen "127.0.0.1:$LP" --to "127.0.0.1:$KP" \
	--delay-ms 5 --loss 2 --seed 9
wait_log impair "listening" 10 || fail "udp_impair did not start"
write_frpc "$T/kfrpc.yaml" "$LP" "user: kcpuser" "transport: {protocol: kcp, kcp: {dataShards: 0, parityShards: 0}}" \
	"webServer: {port: $AP}" "proxies:" \
	"  - {name: kecho, type: tcp, localPort: $EP, remotePort: $KRP}"
start kfrpc "$FRPC" -c "$T/kfrpc.yaml" --transports-dir "$XDIR"
wait_log kfrpc "\\[kecho\\] start proxy success" 20 || fail "proxy kecho over KCP did not start"
out=$("$NT" send --host 127.0.0.1 --port "$KRP" --bytes $((1 << 20)) --seed 5 --timeout 60) ||
	fail "transfer over KCP: $out"
log "1 MiB each way over KCP: $out"
$PY kcp "$WP" "$AP" || fail "the KCP link's model in the API and /metrics"
stop kfrpc
stop impair || true
stop frps || fail "frps did not exit cleanly"
log "ok"
