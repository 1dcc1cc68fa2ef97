#!/bin/bash
# Switching the link at run time, make before break: a 64 MiB download
# through a tcp proxy starts over TCP, moves to KCP by PUT /api/transport,
# then back to TCP by a reload (SIGHUP) of an edited file. The download
# completes with its content checked, connections opened after a switch
# ride the new transport, the old link goes away after its last connection;
# with drainTimeout 2 a longer download on the old link is cut.
source "$(dirname "$0")/lib.sh"

SP=$(free_port); RP=$(free_port); WP=$(free_port)
SRC=$(free_port); EP=$(free_port); ERP=$(free_port)
API="http://127.0.0.1:$WP"
AUTH=(-u admin:pw)
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 64M --seed 11 --rate 8M
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $SP" "transport: {heartbeatTimeout: -1}"
frpc_conf() { # PROTOCOL [DRAIN_TIMEOUT]
	write_frpc "$T/frpc.yaml" "$SP" "transport: {protocol: $1, drainTimeout: ${2:-60}}" \
		"webServer: {port: $WP, user: admin, password: pw}" \
		"proxies:" \
		"  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RP}" \
		"  - {name: echo, type: tcp, localPort: $EP, remotePort: $ERP}"
}
frpc_conf tcp
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[dl\\] start proxy success" 10 || fail "proxy dl did not start"
wait_port "$RP" || fail "remote port $RP not open"

api() { curl -s -S --max-time 20 "${AUTH[@]}" "$@"; }
field() { # JSON KEY -> value of the first such string key (top level first)
	grep -o "\"$2\": *\"[^\"]*\"" <<<"$1" | head -1 | sed 's/.*: *"\(.*\)"/\1/'
}

download() { # NAME
	start "$1" "$NT" recv --port "$RP" --bytes 64M --seed 11 --timeout 60
}
wait_done() { # NAME
	local pid rc
	pid=$(pid_of "$1")
	wait "$pid"; rc=$?
	eval "PID_$1="
	grep -q "^ok " "$T/$1.log" || fail "download $1 failed (rc=$rc): $(cat "$T/$1.log")"
	log "$1: $(cat "$T/$1.log")"
}

t=$(api "$API/api/transport") || fail "GET /api/transport: $t"
[ "$(field "$t" protocol)" = tcp ] || fail "not on tcp at start: $t"

# ---- TCP -> KCP by the admin API, in the middle of a download.
download dl1
sleep 2
grep -q "^ok " "$T/dl1.log" && fail "download finished before the switch; the source is not rate limited"
r=$(api -X PUT -d '{"protocol": "kcp"}' "$API/api/transport") || fail "PUT /api/transport: $r"
[ "$(field "$r" protocol)" = kcp ] || fail "PUT /api/transport did not move to kcp: $r"
t=$(api "$API/api/transport")
[ "$(field "$t" protocol)" = kcp ] || fail "/api/transport after the switch: $t"
grep -q '"draining": *\[{"protocol": *"tcp"' <<<"$t" || fail "the old tcp link is not listed as draining: $t"
grep -q '"draining": *\[{[^]]*"connections": *[1-9]' <<<"$t" || fail "no live connection on the draining link: $t"
wait_log frps "client moved links: from tcp .* to kcp" 5 || fail "frps did not log the move"
wait_log frps "proxy \\[dl\\] kept open on port $RP" 5 || fail "frps did not keep proxy dl open"
grep -q "proxy \\[dl\\] closed" "$T/frps.log" && fail "frps closed proxy dl during the move"
# A connection opened now rides KCP.
out=$("$NT" send --port "$ERP" --bytes 64k --seed 2 --timeout 20) || fail "echo after the switch: $out"
grep -q "new user connection .* over kcp" "$T/frpc.log" || fail "new connection did not ride kcp"
wait_done dl1
wait_log frpc "old link over tcp .* drained, closed" 10 || fail "old tcp link not closed after its last connection"
t=$(api "$API/api/transport")
grep -q '"draining": *\[\]' <<<"$t" || fail "draining link still listed: $t"

# ---- KCP -> TCP by reload (SIGHUP after editing the file).
download dl2
sleep 2
frpc_conf tcp
kill -HUP "$(pid_of frpc)"
wait_log frpc "switched link: now over tcp" 15 || fail "reload did not switch back to tcp"
wait_log frps "client moved links: from kcp .* to tcp" 5 || fail "frps did not log the move back"
t=$(api "$API/api/transport")
[ "$(field "$t" protocol)" = tcp ] || fail "/api/transport after the reload: $t"
wait_done dl2
wait_log frpc "old link over kcp .* drained, closed" 10 || fail "old kcp link not closed after its last connection"

# transport.drainTimeout bounds the old link: a download still running on it
# 2 s after a switch is cut, and the old link closes.
frpc_conf tcp 2
n=$(grep -c "success reload conf" "$T/frpc.log")
kill -HUP "$(pid_of frpc)"
for _ in $(seq 50); do
	[ "$(grep -c "success reload conf" "$T/frpc.log")" -gt "$n" ] && break
	sleep 0.1
done
[ "$(grep -c "success reload conf" "$T/frpc.log")" -gt "$n" ] || fail "reload with drainTimeout 2"
download dl3
sleep 1
r=$(api -X PUT -d '{"protocol": "kcp"}' "$API/api/transport")
[ "$(field "$r" protocol)" = kcp ] || fail "switch for the drain test: $r"
wait "$(pid_of dl3)" && fail "a download 4 s longer than drainTimeout survived it"
eval "PID_dl3="
wait_log frpc "drainTimeout \\(2 s\\) reached with [1-9][0-9]* connections live" 5 || fail "no drainTimeout log"
wait_log frpc "old link over tcp .* drained, closed" 5 || fail "old link not closed at drainTimeout"
r=$(api -X PUT -d '{"protocol": "tcp"}' "$API/api/transport")
[ "$(field "$r" protocol)" = tcp ] || fail "switch back to tcp: $r"

# A switch to a transport that is not loaded is refused; the link stays.
r=$(curl -s "${AUTH[@]}" -o /dev/null -w '%{http_code}' -X PUT -d '{"protocol": "quic"}' "$API/api/transport")
[ "$r" = 400 ] || fail "switch to an unknown transport answered $r"
t=$(api "$API/api/transport")
[ "$(field "$t" protocol)" = tcp ] || fail "link changed after a refused switch: $t"
log "ok"
