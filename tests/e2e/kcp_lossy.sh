#!/bin/bash
# frpc <-> frps over kcp.so through a seeded impairment relay (25 ms each
# way = 50 ms RTT, jitter, reordering, duplication) at 5 % and 20 % loss:
# 16 MiB through a tcp proxy and back (echo), content checked.
source "$(dirname "$0")/lib.sh"
EP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
for loss in 5 20; do
	SP=$(free_port); KP=$(free_port --udp); LP=$(free_port --udp); RP=$(free_port)
	start impair$loss "$BUILD/tools/udp_impair" --listen "127.0.0.1:$LP" --to "127.0.0.1:$KP" \
		--delay-ms 25 --jitter-ms 3 --loss "$loss" --dup 1 --reorder 2 --seed $((loss * 7))
	wait_log impair$loss "listening" 10 || fail "udp_impair did not start"
	write_frps "$T/frps$loss.yaml" "$SP" "kcpBindPort: $KP" \
		"transport: {kcp: {crypt: aes, key: lossy, mode: fast2}}"
	write_frpc "$T/frpc$loss.yaml" "$LP" \
		"transport: {protocol: kcp, heartbeatTimeout: 120, kcp: {crypt: aes, key: lossy, mode: fast2}}" \
		"proxies:" "  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}"
	sed -i 's/log: {level: debug}/log: {level: info}/' "$T/frps$loss.yaml" "$T/frpc$loss.yaml"
	start frps$loss "$FRPS" -c "$T/frps$loss.yaml" --transports-dir "$XDIR"
	wait_port "$SP" || fail "frps not listening"
	start frpc$loss "$FRPC" -c "$T/frpc$loss.yaml" --transports-dir "$XDIR"
	wait_log frpc$loss "start proxy success" 30 || fail "proxy over lossy KCP did not start"
	t0=$SECONDS
	out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $((16 << 20)) --seed $loss --timeout 240) ||
		fail "16 MiB over KCP at $loss% loss: $out"
	log "loss $loss%: 16 MiB each way intact in $((SECONDS - t0)) s ($out)"
	stop frpc$loss || true
	stop frps$loss || true
	stop impair$loss || true
done
log "ok"
