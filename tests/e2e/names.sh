#!/bin/bash
# Host names in the configuration are resolved without blocking the loop
# (evdns): `serverAddr: localhost` and `localIP: localhost` for tcp and udp
# proxies, with tcpMux on and off, over tcp.so and kcp.so.
source "$(dirname "$0")/lib.sh"

EP=$(free_port); UP=$(free_port --udp)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start uecho "$NT" udp-echo --bind 127.0.0.1 --port "$UP"
for run in "tcp true" "tcp false" "kcp true" "kcp false"; do
	set -- $run
	proto=$1 mux=$2 n="$1_$2"
	SP=$(free_port); RP=$(free_port); URP=$(free_port --udp)
	write_frps "$T/frps_$n.yaml" "$SP" "kcpBindPort: $SP" "transport: {tcpMux: $mux}"
	write_frpc "$T/frpc_$n.yaml" "$SP" "transport: {protocol: $proto, tcpMux: $mux}" \
		"proxies:" \
		"  - {name: echo, type: tcp, localIP: localhost, localPort: $EP, remotePort: $RP}" \
		"  - {name: uecho, type: udp, localIP: localhost, localPort: $UP, remotePort: $URP}"
	sed -i 's/^serverAddr: 127.0.0.1$/serverAddr: localhost/' "$T/frpc_$n.yaml"
	grep -q "^serverAddr: localhost$" "$T/frpc_$n.yaml" || fail "test setup: serverAddr not a name"
	start frps_$n "$FRPS" -c "$T/frps_$n.yaml" --transports-dir "$XDIR"
	wait_port "$SP" || fail "frps did not listen"
	start frpc_$n "$FRPC" -c "$T/frpc_$n.yaml" --transports-dir "$XDIR"
	wait_log frpc_$n "\\[uecho\\] start proxy success" 10 || fail "$n: proxies did not start with serverAddr: localhost"
	wait_port "$RP" || fail "$n: remote port not open"
	out=$("$NT" send --port "$RP" --bytes 1M --seed 4 --timeout 30) || fail "$n: tcp proxy to localIP localhost: $out"
	sleep 0.6 # frps asks for the udp work connection 500 ms after start
	out=$("$NT" udp-ping --port "$URP" --count 50 --interval-ms 5 --wait-ms 2000) || fail "$n: udp: $out"
	grep -q "recv=50 " <<<"$out" || fail "$n: udp proxy to localIP localhost lost datagrams: $out"
	grep -q "connect to local service" "$T/frpc_$n.log" && fail "$n: local dial errors logged"
	log "$n: tcp and udp proxies to localhost through serverAddr localhost ok"
	stop frpc_$n || true
	stop frps_$n || true
done
log "ok"
