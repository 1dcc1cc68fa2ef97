#!/bin/bash
# Fallback when UDP is blocked: the relay in front of frps's KCP port drops
# every datagram, so frpc (transport.protocol kcp, fallbackProtocol tcp)
# serves over TCP within fallbackTimeout + 2 s; a switch asked for meanwhile
# fails with its reason and leaves the TCP link serving. The relay heals; at the next
# retry frpc moves back to KCP, make before break, and a download running
# through the proxy across the move completes intact.
source "$(dirname "$0")/lib.sh"

SP=$(free_port); KP=$(free_port --udp); WP=$(free_port); SRC=$(free_port); RP=$(free_port)
API="http://127.0.0.1:$WP"
relay() { # LOSS
	start "impair$1" "$BUILD/tools/udp_impair" --listen "127.0.0.1:$SP" --to "127.0.0.1:$KP" \
		--loss "$1" --seed 3 --timeout 120
}
relay 100
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 24M --seed 9 --rate 4M
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $KP"
write_frpc "$T/frpc.yaml" "$SP" \
	"transport: {protocol: kcp, fallbackProtocol: tcp, fallbackTimeout: 2, fallbackRetryInterval: 6}" \
	"webServer: {port: $WP}" \
	"proxies:" "  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RP}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps did not listen"
sleep 0.3
t0=$(date +%s.%N)
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[dl\\] start proxy success" 10 || fail "no proxy with UDP blocked"
t1=$(date +%s.%N)
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
log "serving over the fallback after $took s"
awk -v t="$took" 'BEGIN { exit !(t < 4.0) }' || fail "fallback took $took s (fallbackTimeout 2 + 2)"
grep -q "login over kcp failed .*falling back to tcp" "$T/frpc.log" || fail "frpc did not log why it fell back"
tr=$(curl -s "$API/api/transport")
grep -q '^{"protocol": *"tcp"' <<<"$tr" || fail "not on tcp: $tr"
grep -q '"fallback_active": *true' <<<"$tr" || fail "fallback not reported: $tr"
# A switch asked for while UDP is still blocked fails after its login
# deadline and says so; the TCP link keeps serving.
code=$(curl -s -o "$T/put.out" -w '%{http_code}' --max-time 20 -X PUT -d '{"protocol": "kcp"}' "$API/api/transport")
[ "$code" = 502 ] || fail "failed switch answered $code: $(cat "$T/put.out")"
grep -q "old link keeps serving" "$T/put.out" || fail "failed switch reason: $(cat "$T/put.out")"
grep -q '^{"protocol": *"tcp"' <<<"$(curl -s "$API/api/transport")" || fail "link changed after a failed switch"

start dl "$NT" recv --port "$RP" --bytes 24M --seed 9 --timeout 40
sleep 1
stop impair100
relay 0
wait_log frpc "fallback over: back on kcp" 15 || fail "frpc did not move back to kcp after the relay healed"
wait_log frps "client moved links: from tcp .* to kcp" 5 || fail "frps did not see the move"
tr=$(curl -s "$API/api/transport")
grep -q '^{"protocol": *"kcp"' <<<"$tr" || fail "not back on kcp: $tr"
grep -q '"fallback_active": *false' <<<"$tr" || fail "fallback still reported: $tr"
wait "$(pid_of dl)" || fail "download across the move back failed: $(cat "$T/dl.log")"
eval "PID_dl="
log "$(cat "$T/dl.log")"
log "ok"
