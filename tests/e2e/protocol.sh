#!/bin/bash
# frps against a raw frp v1 peer: the login timestamp window, malformed,
# oversized and out-of-order messages (each drops only that connection),
# and heartbeats under tcpMux (frp #4374: a stalled server is noticed).
source "$(dirname "$0")/lib.sh"
RAW="$BUILD/tools/frpraw"
EP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"

log "tcpMux off: login checks and bad messages"
SP=$(free_port); RP=$(free_port)
write_frps "$T/frps.yaml" "$SP" "transport: {tcpMux: false}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps not listening"
out=$("$RAW" login --port "$SP" --token e2e-secret) || fail "login: $out"
echo "$out" | grep -q "run_id=[0-9a-f]\{8,\} error=$" || fail "good login refused: $out"
for off in -1000 1000; do
	out=$("$RAW" login --port "$SP" --token e2e-secret --ts-offset $off) || fail "login: $out"
	echo "$out" | grep -q "error=.\+" || fail "login ${off}s off the clock accepted: $out"
done
wait_log frps "timestamp.*127\.0\.0\.1|127\.0\.0\.1.*timestamp" 5 || fail "no log line with the client address"
out=$("$RAW" login --port "$SP" --token wrong) || true
echo "$out" | grep -q "error=.*token" || fail "wrong token accepted: $out"
for what in oversized negative badjson badtype outoforder; do
	out=$("$RAW" abuse --port "$SP" --what $what) || fail "$out"
	log "$out"
done
write_frpc "$T/frpc.yaml" "$SP" "transport: {tcpMux: false}" "proxies:" \
	"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "start proxy success" 10 || fail "frps stopped serving after bad input"
"$NT" send --host 127.0.0.1 --port "$RP" --bytes 100000 --seed 5 --timeout 10 >/dev/null ||
	fail "proxy does not work after bad input"
stop frpc; stop frps

log "tcpMux on: garbage yamux, login over yamux, heartbeats"
SP=$(free_port); RP=$(free_port)
write_frps "$T/frps2.yaml" "$SP"
start frps2 "$FRPS" -c "$T/frps2.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps not listening"
out=$("$RAW" abuse --port "$SP" --what garbage-mux) || fail "$out"
out=$("$RAW" login --port "$SP" --token e2e-secret --mux) || fail "login over yamux: $out"
echo "$out" | grep -q "error=$" || fail "login over yamux refused: $out"
write_frpc "$T/frpc2.yaml" "$SP" "transport: {heartbeatInterval: 1, heartbeatTimeout: 3}" "proxies:" \
	"  - {name: echo2, type: tcp, localPort: $EP, remotePort: $RP}"
start frpc2 "$FRPC" -c "$T/frpc2.yaml" --transports-dir "$XDIR"
wait_log frpc2 "start proxy success" 10 || fail "proxy did not start"
kill -STOP "$(pid_of frps2)"
wait_log frpc2 "heartbeat timeout" 8 || { kill -CONT "$(pid_of frps2)"; fail "stalled server not noticed under tcpMux"; }
kill -CONT "$(pid_of frps2)"
wait_log frpc2 "login to server success.*" 10
for _ in $(seq 100); do
	[ "$(grep -c 'start proxy success' "$T/frpc2.log")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c 'start proxy success' "$T/frpc2.log")" -ge 2 ] || fail "frpc did not re-register after the stall"
"$NT" send --host 127.0.0.1 --port "$RP" --bytes 100000 --seed 6 --timeout 10 >/dev/null ||
	fail "proxy does not work after reconnecting"
log "ok"
