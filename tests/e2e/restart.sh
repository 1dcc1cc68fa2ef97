#!/bin/bash
# kill -9 frps, start it again: frpc reconnects, re-registers, and the proxy
# works again within 5 s of the restart.
source "$(dirname "$0")/lib.sh"
SP=$(free_port); RP=$(free_port); EP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
write_frps "$T/frps.yaml" "$SP"
write_frpc "$T/frpc.yaml" "$SP" "proxies:" \
	"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps not listening"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "start proxy success" 10 || fail "proxy did not start"
"$NT" send --host 127.0.0.1 --port "$RP" --bytes 100000 --seed 1 --timeout 10 >/dev/null ||
	fail "proxy does not work before the restart"

for round in 1 2; do
	stop frps KILL || true
	sleep 0.5
	start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
	t0=$(date +%s%N)
	ok=0
	for _ in $(seq 50); do
		if "$NT" send --host 127.0.0.1 --port "$RP" --bytes 100000 --seed 2 --timeout 2 >/dev/null 2>&1; then
			ok=1; break
		fi
		sleep 0.1
	done
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $ok = 1 ] || fail "round $round: proxy not back within 5 s of the restart"
	log "round $round: proxy back ${ms} ms after frps restart"
done
log "ok"
