# Helpers shared by the benchmarks (sourced after tests/e2e/lib.sh).
# proc_cpu PID: user+system CPU seconds so far; proc_hwm PID: peak RSS in KiB.
proc_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}
proc_hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
proc_rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
# udp_rcvbuf_errors: datagrams the kernel dropped for full socket buffers so far
udp_rcvbuf_errors() {
	awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# ---- the bottleneck link of the rate-limited rows (kcp_rated.sh,
# kcp_share.sh): udp_impair in IP mode between two namespaces over TUN
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | tail -n 1; }

# The link model runs at real-time priority when it can (root): on a small
# box shared by six busy processes a normal-priority relay wakes late and
# adds a random millisecond or two to every round trip, for every tunnel.
# RELAY_RT=0 turns that off.
RELAY=("$BUILD/tools/udp_impair")
if [ "${RELAY_RT:-1}" = 1 ] && command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null; then
	RELAY=(chrt -f 10 "$BUILD/tools/udp_impair")
fi

# tun_netns A B DEV_A DEV_B NET: namespaces A and B (removed on exit), the
# TUN device DEV_A in A as NET.1 and DEV_B in B as NET.2, all up
tun_netns() {
	ip netns add "$1" && NETNS+=("$1") && ip netns add "$2" && NETNS+=("$2") || return 1
	ip link set "$3" netns "$1" && ip link set "$4" netns "$2" &&
		ip -n "$1" addr add "$5.1/24" dev "$3" && ip -n "$2" addr add "$5.2/24" dev "$4" &&
		ip -n "$1" link set "$3" up && ip -n "$2" link set "$4" up &&
		ip -n "$1" link set lo up && ip -n "$2" link set lo up
}

# rlink N RATE DELAY LOSS [BYTES]: namespaces A=kr$$aN (10.98.N.1) and
# B=kr$$bN (10.98.N.2) joined through the bottleneck; in A a data source
# (5001, BYTES per connection, default SECS of the rate), a TCP echo (5002),
# a UDP echo (5003) and a sink (5004) on all addresses.
rlink() {
	local n=$1 rate=$2 d=$3 loss=$4
	A="kr$$a$n" B="kr$$b$n"
	start rimp$n "${RELAY[@]}" --tun "krta$n,krtb$n" --delay-ms "$d" --loss "$loss" \
		--rate "$rate" --queue "${RQUEUE:-1000}" --seed 42 --queue-bytes 268435456 --timeout 0 \
		${RJIT:+--jitter-ms "$RJIT"}
	wait_log rimp$n "tun ready" 5 || return 1
	tun_netns "$A" "$B" "krta$n" "krtb$n" "10.98.$n" || return 1
	BYTES=${5:-$((rate / 8 * SECS))}
	start rsrc$n ip netns exec "$A" "$NT" source-server --bind 0.0.0.0 --port 5001 --bytes "$BYTES" --seed 9
	start recho$n ip netns exec "$A" "$NT" echo-server --bind 0.0.0.0 --port 5002
	start rudp$n ip netns exec "$A" "$NT" udp-echo --bind 0.0.0.0 --port 5003
	start rsink$n ip netns exec "$A" "$NT" sink-server --bind 0.0.0.0 --port 5004
	wait_log rsrc$n listening 10 && wait_log recho$n listening 10 && wait_log rudp$n listening 10 &&
		wait_log rsink$n listening 10
}

# wait_proxy_port NS PORT: a proxy's remote port answers in NS, then a
# second for the tunnel to settle
wait_proxy_port() {
	for _ in $(seq 60); do
		ip netns exec "$1" "$NT" wait-port --port "$2" --timeout 1 >/dev/null 2>&1 && break
	done
	sleep 1
}

# up_bytes N [DIR]: IP bytes that entered the bottleneck so far, A->B (up)
# or B->A (down)
up_bytes() { link_pkts "$1" "${2:-up}" | cut -d' ' -f2; }

# link_pkts N DIR: "packets bytes" that entered the bottleneck so far, A->B
# (up) or B->A (down)
link_pkts() {
	kill -USR1 "$(pid_of rimp$1)"
	sleep 0.2
	grep "dir=$2" "$T/rimp$1.log" | tail -n 1 | sed -n 's/.* rx=\([0-9]*\) rx_bytes=\([0-9]*\).*/\1 \2/p'
}
