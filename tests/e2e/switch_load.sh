#!/bin/bash
# Switching under load: 2,000 short requests (40 rounds of 50 concurrent
# echo connections) run while the link moves 10 times between TCP and KCP,
# and every one succeeds (tcpMux off: 500 across 4 moves); a udp proxy serves 50
# concurrent peers x 200 datagrams (10,000) over TCP, over KCP and across a
# switch (tcpMux on), every datagram back (clean loopback).
source "$(dirname "$0")/lib.sh"

EP=$(free_port); UP=$(free_port --udp)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start uecho "$NT" udp-echo --bind 127.0.0.1 --port "$UP"

udp_round() { # MUX LABEL: 50 peers x 200 datagrams, all back
	local i pids=() bad=0
	for i in $(seq 50); do
		"$NT" udp-ping --port "$URP" --count 200 --interval-ms 20 --wait-ms 5000 \
			>"$T/udp_$1_$2_$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=1; done
	for i in $(seq 50); do
		grep -q "recv=200 " "$T/udp_$1_$2_$i.out" || {
			bad=1
			log "udp peer $i ($2): $(cat "$T/udp_$1_$2_$i.out")"
		}
	done
	[ "$bad" = 0 ] || fail "udp over $2 (tcpMux $1) lost datagrams"
	log "udp $2 (tcpMux $1): 50 peers x 200 datagrams all back"
}

switch_to() { # PROTO
	local r
	r=$(curl -s -S --max-time 20 -X PUT -d "{\"protocol\": \"$1\"}" "$API/api/transport") ||
		fail "PUT /api/transport $1: $r"
	grep -q "\"protocol\": *\"$1\"" <<<"$r" || fail "switch to $1: $r"
}

for mux in true false; do
	SP=$(free_port); WP=$(free_port); RP=$(free_port); URP=$(free_port --udp)
	API="http://127.0.0.1:$WP"
	write_frps "$T/frps_$mux.yaml" "$SP" "kcpBindPort: $SP" "transport: {tcpMux: $mux}"
	write_frpc "$T/frpc_$mux.yaml" "$SP" "transport: {protocol: tcp, tcpMux: $mux, drainTimeout: 30}" \
		"webServer: {port: $WP}" "proxies:" \
		"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}" \
		"  - {name: uecho, type: udp, localPort: $UP, remotePort: $URP}"
	sed -i 's/log: {level: debug}/log: {level: info}/' "$T/frps_$mux.yaml" "$T/frpc_$mux.yaml"
	start frps_$mux "$FRPS" -c "$T/frps_$mux.yaml" --transports-dir "$XDIR"
	wait_port "$SP" || fail "frps did not listen"
	start frpc_$mux "$FRPC" -c "$T/frpc_$mux.yaml" --transports-dir "$XDIR"
	wait_log frpc_$mux "\\[uecho\\] start proxy success" 10 || fail "proxies did not start"
	wait_port "$RP" || fail "remote port not open"
	sleep 0.6 # frps asks for the udp work connection 500 ms after start

	if [ $mux = true ]; then
		udp_round $mux tcp
		switch_to kcp
		sleep 0.6
		udp_round $mux kcp
		# Across a switch: the pings run while the link moves back.
		(sleep 1; switch_to tcp) &
		sw=$!
		udp_round $mux kcp-to-tcp
		wait $sw || fail "switch during the udp round"
		# The udp proxy's work connection moved too: the old link goes.
		wait_log frps_$mux "\\[uecho\\] udp proxy moved to the client's new link" 5 ||
			fail "udp work connection did not move to the new link"
		wait_log frpc_$mux "old link over kcp .* drained, closed" 10 ||
			fail "old kcp link still open after the udp proxy moved"
	fi

	# 2,000 short requests across 10 switches (tcpMux off: 500 across 4).
	rounds=40 switches=10
	[ $mux = true ] || { rounds=10 switches=4; }
	(
		for r in $(seq $rounds); do
			"$NT" conc --port "$RP" --conns 50 --bytes 4k --seed "$r" --timeout 30 ||
				{ echo "round $r failed"; exit 1; }
		done
	) >"$T/load_$mux.out" 2>&1 &
	load=$!
	for s in $(seq $switches); do
		sleep 0.3
		if [ $((s % 2)) = 1 ]; then switch_to kcp; else switch_to tcp; fi
	done
	moves=$(grep -c "switched link: now over" "$T/frpc_$mux.log")
	[ "$moves" -ge "$switches" ] || fail "only $moves switches happened"
	wait $load || fail "requests failed across switches (tcpMux $mux): $(grep -v '^ok' "$T/load_$mux.out" | head -5)"
	n=$(grep -c "^ok conns=50 okcount=50" "$T/load_$mux.out")
	[ "$n" = $rounds ] || fail "only $n of $rounds rounds succeeded"
	log "tcpMux $mux: $((rounds * 50)) requests ok across $switches switches ($moves moves in all)"
	stop frpc_$mux || true
	stop frps_$mux || true
done
log "ok"
