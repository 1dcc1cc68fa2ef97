#!/bin/bash
# Rate-limited rows (issue 7): a bottleneck link like a home uplink, modelled
# by udp_impair in IP mode between two network namespaces over TUN devices:
# a serializer at RATE with a 1,000-packet tail-drop queue, DELAY each way,
# random LOSS, both directions. Through the same link, one after the other:
# plain TCP (the kernel's congestion control, no tunnel), kcptun (fast2,
# wnd 1024, FEC 10/3, aes: the issue's settings) and ours (frpc/frps over
# kcp.so with our defaults: congestion bbr, FEC 10/3; crypt aes to match).
# Bulk data flows from namespace A (the service, frpc, kcptun-server) to B
# (the user), i.e. frpc -> frps, the direction a service's replies take.
# Per row: goodput, share of the link rate, UDP ping p50 across the same
# link during the transfer (outside the tunnel) and what it adds to the
# base RTT, link bytes (IP packets entering the bottleneck A->B) per
# goodput byte, small-message p50/p99 inside the tunnel during the transfer.
# Needs root, /dev/net/tun, ip netns, kcptun. Noisy on a shared machine.
#   bench/kcp_rated.sh [BUILD] [SECONDS per transfer, default 8]
#   env: RLINKS="50:25:1 50:25:5 20:100:2" (Mbit/s:one-way ms:loss %)
#        TUNNELS="tcp frp ourtcp kcptun ours oursnf", UPLOAD=0 / DOWNLOAD=0,
#        RJIT=5 (udp_impair --jitter-ms: each datagram's delay +- 5 ms),
#        RQUEUE=100 (the tail-drop queue in packets, 1000 by default),
#        NFCRYPT=null (oursnf without KCP's crypt layer, our default; aes by
#        default, as kcptun's and ours' rows)
source "$(dirname "$0")/../tests/e2e/lib.sh"
source "$ROOT/bench/lib.sh"
SECS=${2:-8}
command -v kcptun-client >/dev/null || fail "kcptun not installed (apt-get install kcptun)"
KOPT="{crypt: aes, key: bench}"
PEERS="$ROOT/../shared/peers/frp-0.54"
[ -x "$PEERS/frps" ] || echo "stock frp 0.54 not found at $PEERS: no frp row"
KT=(--crypt aes --key bench --mode fast2 --sndwnd 1024 --rcvwnd 1024 --datashard 10 --parityshard 3 --mtu 1350 --nocomp --quiet)

# run N PORT_BULK PORT_ECHO [HOST] [PORT_SINK] (in B, 127.0.0.1 or
# 10.98.N.1) -> R_* values. Bulk A->B (the service's replies, frpc ->
# frps) from PORT_BULK; with PORT_SINK, B->A (a user's upload) into it.
run() {
	local n=$1 pb=$2 pe=$3 host=${4:-127.0.0.1} ps=${5:-} b0 b1 out dir=up
	[ -z "$ps" ] || dir=down
	# small messages: one every 50 ms on their own connection through the
	# tunnel, not waiting for the previous answer (an interactive user
	# does not), for the first SECS - 1 s of the transfer (which lasts at
	# least SECS s), so every probe runs while the bulk does
	local cnt=$(((SECS * 1000 - 1000) / 50))
	b0=$(up_bytes "$n" "$dir")
	# the ping across the link spans the same SECS - 1 s (it spanned the
	# first half, of which the tunnels' set-up and STARTUP were most)
	ip netns exec "$B" "$NT" udp-ping --host "10.98.$n.1" --port 5003 --count $(((SECS * 1000 - 1000) / 20)) \
		--interval-ms 20 --wait-ms 3000 >"$T/ping$n" 2>&1 &
	local pp=$!
	ip netns exec "$B" "$NT" rtt-paced --host "$host" --port "$pe" --count "$cnt" --size 64 \
		--interval-ms 50 --wait-ms 5000 --timeout 120 >"$T/rtt$n" 2>&1 &
	local rp=$!
	if [ -z "$ps" ]; then
		out=$(ip netns exec "$B" "$NT" recv --host "$host" --port "$pb" --bytes "$BYTES" --seed 9 --timeout 300) ||
			out="MBps=0"
	else
		# the sink's own count (a TCP tunnel may end the client's side
		# before the bytes crossed the link): its conn_done line
		local nd
		nd=$(grep -c conn_done "$T/rsink$n.log")
		out=$(ip netns exec "$B" "$NT" stream --mode up --host "$host" --port "$ps" --bytes "$BYTES" \
			--seed 9 --timeout 300) || out="MBps=0"
		for _ in $(seq 300); do
			[ "$(grep -c conn_done "$T/rsink$n.log")" -gt "$nd" ] && break
			sleep 0.1
		done
		out=$(grep conn_done "$T/rsink$n.log" | tail -n 1)
		[ "$(echo "$out" | field bytes)" = "$BYTES" ] || out="MBps=0 (sink got $(echo "$out" | field bytes))"
	fi
	wait "$pp" "$rp" 2>/dev/null
	b1=$(up_bytes "$n" "$dir")
	# goodput from the first byte received (as iperf3 times a transfer:
	# the download's clock starts before the connect, and through frp's
	# tunnels that includes asking frpc for a work connection, 2 RTTs);
	# R_MBITC from the connect. An upload's sink counts from its accept.
	R_MBITC=$(echo "$out" | sed 's/half2_MBps=[0-9.]*//; s/first_MBps=[0-9.]*//' | field MBps |
		awk '{printf "%.1f", $1 * 8 * 1.048576}')
	R_MBIT=$(echo "$out" | field first_MBps | awk '{printf "%.1f", $1 * 8 * 1.048576}')
	[ -n "$R_MBIT" ] || { R_MBIT=$R_MBITC; R_MBITC=; }
	R_MBIT2=$(echo "$out" | field half2_MBps | awk '{printf "%.1f", $1 * 8 * 1.048576}')
	R_PING=$(field rtt_p50_us <"$T/ping$n")
	R_P50=$(field p50_us <"$T/rtt$n")
	R_P99=$(field p99_us <"$T/rtt$n")
	R_LOST=$(field lost <"$T/rtt$n")
	R_LB=$(awk -v a="$b0" -v b="$b1" -v g="$BYTES" 'BEGIN{printf "%.2f", (b - a) / g}')
}

# both NAME N PB PE HOST PS RATE DELAY: the row A->B, then B->A (UPLOAD=0
# skips the upload, DOWNLOAD=0 the download)
both() {
	local name=$1
	shift
	if [ "${DOWNLOAD:-1}" != 0 ]; then
		run "$1" "$2" "$3" "$4"
		row "$LNAME" "$name" "$6" "$7"
	fi
	[ "${UPLOAD:-1}" = 0 ] && return
	run "$1" "$2" "$3" "$4" "$5"
	row "$LNAME" "$name^" "$6" "$7"
}

row() { # name tunnel rate delay
	awk -v n="$1" -v t="$2" -v m="$R_MBIT" -v m2="${R_MBIT2:-0}" -v r="$3" -v d="$4" -v p="$R_PING" \
		-v lb="$R_LB" -v p50="$R_P50" -v p99="$R_P99" -v lost="${R_LOST:-0}" -v mc="${R_MBITC:-0}" 'BEGIN {
		h2 = m2 > 0 ? sprintf("%7.0f%%", 100 * m2 / (r / 1e6)) : sprintf("%8s", "-")
		hc = mc > 0 ? sprintf("%8.1f%%", 100 * mc / (r / 1e6)) : sprintf("%9s", "-")
		printf "%-16s %-7s %8.1f %6.1f%% %s %s %9.1f %9.1f %6s %9.1f %9.1f %4s\n", n, t, m,
			100 * m / (r / 1e6), hc, h2, p / 1000, p / 1000 - 2 * d, lb,
			p50 / 1000, p99 / 1000, lost }'
}

printf '%-16s %-7s %8s %7s %9s %8s %9s %9s %6s %9s %9s %4s\n' link tunnel "Mbit/s" "share" "w/ setup" "2nd half" \
	"ping p50" "+queue" "lnk/gp" "msg p50" "msg p99" lost
n=0
for l in ${RLINKS:-50:25:1 50:25:5 20:100:2}; do
	IFS=: read -r mb d loss <<<"$l"
	D=$d
	rate=$((mb * 1000000))
	n=$((n + 1))
	name="${mb}M/$((2 * d))ms/${loss}%"
	LNAME=$name
	rlink "$n" "$rate" "$d" "$loss" || { echo "$name: no TUN link (root, /dev/net/tun, ip netns)"; continue; }
	TUN=" ${TUNNELS:-tcp frp ourtcp kcptun ours oursnf} "
	# ---- plain TCP
	if [[ $TUN == *" tcp "* ]]; then
	both tcp "$n" 5001 5002 "10.98.$n.1" 5004 "$rate" "$d"
	fi
	# ---- kcptun: server next to the service (A), client next to the user
	if [[ $TUN == *" kcptun "* ]]; then
	start kts$n ip netns exec "$A" kcptun-server -l "10.98.$n.1:4000" -t 127.0.0.1:5001 "${KT[@]}"
	start ktc$n ip netns exec "$B" kcptun-client -l 127.0.0.1:6001 -r "10.98.$n.1:4000" "${KT[@]}"
	start kts2$n ip netns exec "$A" kcptun-server -l "10.98.$n.1:4001" -t 127.0.0.1:5002 "${KT[@]}"
	start ktc2$n ip netns exec "$B" kcptun-client -l 127.0.0.1:6002 -r "10.98.$n.1:4001" "${KT[@]}"
	start kts3$n ip netns exec "$A" kcptun-server -l "10.98.$n.1:4002" -t 127.0.0.1:5004 "${KT[@]}"
	start ktc3$n ip netns exec "$B" kcptun-client -l 127.0.0.1:6004 -r "10.98.$n.1:4002" "${KT[@]}"
	sleep 1
	both kcptun "$n" 6001 6002 127.0.0.1 6004 "$rate" "$d"
	stop ktc$n; stop kts$n; stop ktc2$n; stop kts2$n; stop ktc3$n; stop kts3$n
	fi
	# ---- TCP tunnels, frp-style: bulk and small messages share one
	# multiplexed TCP connection (what "the same through TCP" means for the
	# in-tunnel probe): ours over tcp.so with its defaults (TLS on), and
	# stock frp 0.54 with its defaults (TLS on, tcpMux on) when present
	if [[ $TUN == *" ourtcp "* ]]; then
	printf 'bindAddr: 0.0.0.0\nbindPort: 7000\nauth: {token: b}\nlog: {level: warn}\n' >"$T/tfrps$n.yaml"
	printf 'serverAddr: 10.98.%s.2\nserverPort: 7000\nauth: {token: b}\nlog: {level: warn}\nproxies:\n  - {name: s, type: tcp, localPort: 5001, remotePort: 7001}\n  - {name: e, type: tcp, localPort: 5002, remotePort: 7002}\n  - {name: k, type: tcp, localPort: 5004, remotePort: 7004}\n' \
		"$n" >"$T/tfrpc$n.yaml"
	start tfrps$n ip netns exec "$B" "$FRPS" -c "$T/tfrps$n.yaml" --transports-dir "$XDIR"
	sleep 0.5
	start tfrpc$n ip netns exec "$A" "$FRPC" -c "$T/tfrpc$n.yaml" --transports-dir "$XDIR"
	wait_proxy_port "$B" 7002
	both ourtcp "$n" 7001 7002 127.0.0.1 7004 "$rate" "$d"
	stop tfrpc$n; stop tfrps$n
	fi
	if [[ $TUN == *" frp "* ]] && [ -x "$PEERS/frps" ]; then
	printf 'bindAddr = "0.0.0.0"\nbindPort = 7000\nauth.token = "b"\nlog.level = "warn"\n' >"$T/sfrps$n.toml"
	printf 'serverAddr = "10.98.%s.2"\nserverPort = 7000\nauth.token = "b"\nlog.level = "warn"\n[[proxies]]\nname = "s"\ntype = "tcp"\nlocalPort = 5001\nremotePort = 7001\n[[proxies]]\nname = "e"\ntype = "tcp"\nlocalPort = 5002\nremotePort = 7002\n[[proxies]]\nname = "k"\ntype = "tcp"\nlocalPort = 5004\nremotePort = 7004\n' \
		"$n" >"$T/sfrpc$n.toml"
	start sfrps$n ip netns exec "$B" "$PEERS/frps" -c "$T/sfrps$n.toml"
	sleep 0.5
	start sfrpc$n ip netns exec "$A" "$PEERS/frpc" -c "$T/sfrpc$n.toml"
	wait_proxy_port "$B" 7002
	both frp "$n" 7001 7002 127.0.0.1 7004 "$rate" "$d"
	stop sfrpc$n; stop sfrps$n
	fi
	# ---- ours: frps in B (the public side), frpc in A next to the service;
	# "oursnf" the same with FEC off (dataShards/parityShards 0)
	for t in ours oursnf; do
	[[ $TUN == *" $t "* ]] || continue
	KOPT="{crypt: aes, key: bench}"
	[ "$t" = ours ] || KOPT="{crypt: ${NFCRYPT:-aes}, key: bench, dataShards: 0, parityShards: 0}"
	printf 'bindAddr: 0.0.0.0\nbindPort: 7000\nkcpBindPort: 7000\nauth: {token: b}\nlog: {level: '"${LOGLEVEL:-warn}"'}\ntransport: {kcp: %s}\n' \
		"$KOPT" >"$T/rfrps$n.yaml"
	printf 'serverAddr: 10.98.%s.2\nserverPort: 7000\nauth: {token: b}\nlog: {level: '"${LOGLEVEL:-warn}"'}\ntransport: {protocol: kcp, kcp: %s}\nproxies:\n  - {name: s, type: tcp, localPort: 5001, remotePort: 7001}\n  - {name: e, type: tcp, localPort: 5002, remotePort: 7002}\n  - {name: k, type: tcp, localPort: 5004, remotePort: 7004}\n' \
		"$n" "$KOPT" >"$T/rfrpc$n.yaml"
	start rfrps$n ip netns exec "$B" "$FRPS" -c "$T/rfrps$n.yaml" --transports-dir "$XDIR"
	sleep 0.5
	start rfrpc$n ip netns exec "$A" "$FRPC" -c "$T/rfrpc$n.yaml" --transports-dir "$XDIR"
	wait_proxy_port "$B" 7002
	both "$t" "$n" 7001 7002 127.0.0.1 7004 "$rate" "$d"
	stop rfrpc$n; stop rfrps$n
	done
	stop rsrc$n; stop recho$n; stop rudp$n; stop rsink$n; stop rimp$n
done
echo "link: serializer at the rate (IP packets), ${RQUEUE:-1000}-packet tail-drop queue, delay each way, random loss both ways"
echo "ping p50: UDP probe across the same link during the transfer; +queue = ping p50 - base RTT"
echo "lnk/gp: IP bytes into the A->B bottleneck per goodput byte; msg: 64-byte echo inside the tunnel during the transfer"
echo "tunnel^: bulk B->A (a user's upload, frps -> frpc), the same probes; lnk/gp counts the B->A bottleneck"
echo "Mbit/s, share: goodput from the first byte received (downloads; an upload's sink counts from its accept); w/ setup: a download's from before the connect"
echo "2nd half: goodput over the second half of the bytes (the steady state, without the start)"
echo "msg: a 64-byte message every 50 ms through the tunnel during the transfer (not waiting for answers); lost = not back 5 s after the last"
echo "tcp: the kernel's $(sysctl -n net.ipv4.tcp_congestion_control), no tunnel (its msg probe has a connection of its own)"
echo "oursnf: ours with FEC off (dataShards 0), crypt ${NFCRYPT:-aes}"
echo "ourtcp / frp: ours over tcp.so / stock frp 0.54 over TCP, defaults (TLS, tcpMux): bulk and msg share the tunnel"
[ -z "${KEEP:-}" ] || cp -r "$T" "$KEEP"
