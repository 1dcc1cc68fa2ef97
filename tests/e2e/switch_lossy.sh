#!/bin/bash
# Switching with KCP on a lossy link (udp_impair: 10 ms each way, 2 % loss,
# reordering): a 64 MiB download starts over lossy KCP and moves to TCP by
# PUT /api/transport; a second one starts over TCP and moves to lossy KCP by
# a reload (SIGHUP). Both complete with their content checked, connections
# opened after a switch ride the new transport, and the old link goes away
# after its last connection.
source "$(dirname "$0")/lib.sh"

SP=$(free_port); KP=$(free_port --udp); WP=$(free_port); SRC=$(free_port); RP=$(free_port)
API="http://127.0.0.1:$WP"
start impair "$BUILD/tools/udp_impair" --listen "127.0.0.1:$SP" --to "127.0.0.1:$KP" \
	--delay-ms 10 --jitter-ms 2 --loss 2 --reorder 1 --seed 21 --timeout 150
wait_log impair "listening" 10 || fail "udp_impair did not start"
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 64M --seed 13 --rate 8M
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $KP" "transport: {kcp: {mode: fast2}}"
frpc_conf() { # PROTOCOL
	write_frpc "$T/frpc.yaml" "$SP" \
		"transport: {protocol: $1, heartbeatTimeout: 120, kcp: {mode: fast2}}" \
		"webServer: {port: $WP}" \
		"proxies:" "  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RP}"
}
frpc_conf kcp
sed -i 's/log: {level: debug}/log: {level: info}/' "$T/frps.yaml"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[dl\\] start proxy success" 20 || fail "proxy over lossy KCP did not start"
wait_port "$RP" || fail "remote port not open"

download() { start "$1" "$NT" recv --port "$RP" --bytes 64M --seed 13 --timeout 60; }
wait_done() {
	wait "$(pid_of "$1")" || fail "download $1 failed: $(cat "$T/$1.log")"
	eval "PID_$1="
	log "$1: $(cat "$T/$1.log")"
}

# lossy KCP -> TCP by the admin API.
download dl1
sleep 2
r=$(curl -s -S --max-time 30 -X PUT -d '{"protocol": "tcp"}' "$API/api/transport") || fail "PUT: $r"
grep -q '"protocol": *"tcp"' <<<"$r" || fail "switch to tcp: $r"
wait_log frps "client moved links: from kcp .* to tcp" 5 || fail "frps did not log the move"
tr=$(curl -s "$API/api/transport")
grep -q '"draining": *\[{"protocol": *"kcp"' <<<"$tr" || fail "old kcp link not draining: $tr"
wait_done dl1
wait_log frpc "old link over kcp .* drained, closed" 15 || fail "old kcp link not closed"

# TCP -> lossy KCP by reload.
download dl2
sleep 2
frpc_conf kcp
kill -HUP "$(pid_of frpc)"
wait_log frpc "switched link: now over kcp" 20 || fail "reload did not switch to kcp"
wait_log frps "client moved links: from tcp .* to kcp" 5 || fail "frps did not log the move back"
tr=$(curl -s "$API/api/transport")
grep -q '^{"protocol": *"kcp"' <<<"$tr" || fail "not on kcp after the reload: $tr"
# A connection opened now rides the lossy KCP link.
n0=$(grep -c "new user connection .* over kcp" "$T/frpc.log")
out=$("$NT" recv --port "$RP" --bytes 1M --seed 13 --timeout 30)
grep -q "^ok" <<<"$out" || fail "new download over kcp: $out"
n1=$(grep -c "new user connection .* over kcp" "$T/frpc.log")
[ "$n1" -gt "$n0" ] || fail "the connection opened after the reload did not ride kcp"
wait_done dl2
wait_log frpc "old link over tcp .* drained, closed" 15 || fail "old tcp link not closed"
log "ok"
