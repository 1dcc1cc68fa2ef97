#!/bin/bash
# Two sessions sharing one bottleneck, and one session carrying bulk data
# both ways at once (issue 7's open points: how fast a second session gets
# its share, and what an echo gets each way), on the link model of
# bench/kcp_rated.sh: a serializer at RATE with a 1,000-packet tail-drop
# queue, DELAY each way, random LOSS, both directions.
#
# share rows, per tunnel, in one run:
#   tcp     two TCP connections, no tunnel (the kernel's congestion control)
#   kcptun  two kcptun client/server pairs (fast2, wnd 1024, FEC 10/3, aes):
#           two KCP sessions
#   ours    two frpc (each its own KCP session over kcp.so, our defaults,
#           crypt aes) to one frps
# The first flow starts at 0, the second JOIN s later; both run until
# SECS. Printed: each flow's goodput over every WIN s after the join and
# Jain's index of the two, the pair's share of the link, ping p50 across
# the link while both run (+queue over the base RTT), and link bytes per
# goodput byte over the run.
# echo rows (ECHO=1, default on): bulk data both ways at once through one
# session (an echo, as tests/e2e/kcp_lossy.sh): each direction's share.
# Needs root, /dev/net/tun, ip netns, kcptun. Noisy on a shared machine.
#   bench/kcp_share.sh [BUILD]
#   env: SLINKS="50:25:1 20:100:2" (Mbit/s:one-way ms:loss %), SECS=25,
#        JOIN=5, WIN=5, TUNNELS="tcp kcptun ours", ECHO=1, SHARE=1 (0: the
#        echo rows only)
source "$(dirname "$0")/../tests/e2e/lib.sh"
source "$ROOT/bench/lib.sh"
SECS=${SECS:-25}
JOIN=${JOIN:-5}
WIN=${WIN:-5}
command -v kcptun-client >/dev/null || fail "kcptun not installed (apt-get install kcptun)"
KT=(--crypt aes --key bench --mode fast2 --sndwnd 1024 --rcvwnd 1024 --datashard 10 --parityshard 3 --mtu 1350 --nocomp --quiet)
KOPT="{crypt: aes, key: bench}"

# flows N PORT1 PORT2 [HOST]: the first recv from PORT1 at once, the second
# from PORT2 JOIN s later (in B), progress every 100 ms into $T/flowN.{1,2};
# the ping across the link from JOIN + 1 s on; returns when both are done
flows() {
	local n=$1 p1=$2 p2=$3 host=${4:-127.0.0.1} b0 b1
	b0=$(up_bytes "$n")
	ip netns exec "$B" "$NT" recv --host "$host" --port "$p1" --bytes "$BYTES" --seed 9 \
		--timeout "$SECS" --progress-ms 100 >"$T/flow$n.1" 2>&1 &
	local f1=$!
	sleep "$JOIN"
	ip netns exec "$B" "$NT" recv --host "$host" --port "$p2" --bytes "$BYTES" --seed 9 \
		--timeout "$((SECS - JOIN))" --progress-ms 100 >"$T/flow$n.2" 2>&1 &
	local f2=$!
	sleep 1
	ip netns exec "$B" "$NT" udp-ping --host "10.98.$n.1" --port 5003 \
		--count $(((SECS - JOIN - 2) * 50)) --interval-ms 20 --wait-ms 2000 >"$T/ping$n" 2>&1 &
	local pp=$!
	wait "$f1" "$f2" "$pp" 2>/dev/null
	b1=$(up_bytes "$n")
	R_LB=$(lb_of "$n" "$b0" "$b1")
	R_PING=$(field rtt_p50_us <"$T/ping$n")
}

# lb_of N B0 B1: link bytes A->B over the run per byte the two flows got
lb_of() {
	awk -v a="$2" -v b="$3" '/^progress/ { split($3, g, "="); got[FILENAME] = g[2] }
		END { s = 0; for (f in got) s += got[f]; if (s > 0) printf "%.2f", (b - a) / s; else print "-" }' \
		"$T/flow$1.1" "$T/flow$1.2"
}

# windows N RATE DELAY NAME TUNNEL: a line per WIN s window after the join
windows() {
	local n=$1 rate=$2 d=$3
	awk -v join="$JOIN" -v win="$WIN" -v secs="$SECS" -v r="$rate" -v name="$4" -v tun="$5" \
		-v ping="${R_PING:-0}" -v d="$d" -v lb="$R_LB" '
		/^progress/ {
			split($2, u, "="); split($3, g, "=")
			if (FNR == 1) f++
			if (!t0) t0 = u[2]
			i = n[f]++; T[f, i] = (u[2] - t0) / 1e6; G[f, i] = g[2]
		}
		# bytes flow f had at time t (the last progress line at or before t)
		function at(f, t,   i, v) { v = 0; for (i = 0; i < n[f]; i++) if (T[f, i] <= t) v = G[f, i]; return v }
		END {
			line = sprintf("%-14s %-7s", name, tun)
			tot = 0; k = 0
			for (a = join; a + win <= secs + 0.01; a += win) {
				x1 = (at(1, a + win) - at(1, a)) * 8 / win / 1e6
				x2 = (at(2, a + win) - at(2, a)) * 8 / win / 1e6
				j = (x1 + x2 > 0) ? (x1 + x2) ^ 2 / (2 * (x1 ^ 2 + x2 ^ 2)) : 0
				line = line sprintf(" %5.1f/%-5.1f %4.2f", x1, x2, j)
				tot += x1 + x2; k++
			}
			printf "%s %6.1f%% %7.1f %7.1f %6s\n", line, k ? 100 * tot / k / (r / 1e6) : 0,
				ping / 1000, ping / 1000 - 2 * d, lb
		}' "$T/flow$n.1" "$T/flow$n.2"
}

# echo_row N PORT_ECHO HOST RATE NAME TUNNEL: bulk both ways at once
# through one session: an echo of half the link's SECS worth; each way
# carries it all, so bytes / secs is each direction's goodput
echo_row() {
	local n=$1 pe=$2 host=$3 rate=$4 out u0 d0 u1 d1
	u0=$(link_pkts "$n" up) d0=$(link_pkts "$n" down)
	out=$(ip netns exec "$B" "$NT" stream --mode echo --host "$host" --port "$pe" \
		--bytes $((rate / 16 * SECS)) --seed 9 --timeout $((4 * SECS)))
	u1=$(link_pkts "$n" up) d1=$(link_pkts "$n" down)
	echo "$out" | awk -v r="$rate" -v name="$5" -v tun="$6" -v u0="$u0" -v u1="$u1" -v d0="$d0" -v d1="$d1" '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { split(u0, a, " "); split(u1, b, " "); split(d0, c, " "); split(d1, d, " ")
		      if (v["secs"] > 0 && $1 == "ok") { m = v["bytes"] * 8 / v["secs"] / 1e6
			pu = b[1] > a[1] ? (b[2] - a[2]) / (b[1] - a[1]) : 0; pd = d[1] > c[1] ? (d[2] - c[2]) / (d[1] - c[1]) : 0
			fmt = "%-14s %-7s echo: %5.1f Mbit/s each way, %5.1f%% of the link each way; lnk/gp %.2f / %.2f, %.0f / %.0f bytes per IP packet\n"
			printf fmt, name, tun, m, 100 * m / (r / 1e6), (b[2] - a[2]) / v["bytes"], (d[2] - c[2]) / v["bytes"], pu, pd }
		      else printf "%-14s %-7s echo: failed (%s)\n", name, tun, $0 }'
}

hdr="link           tunnel "
for ((a = JOIN; a + WIN <= SECS; a += WIN)); do hdr+=$(printf ' %-16s' "+$((a - JOIN))-$((a - JOIN + WIN))s Jain"); done
printf '%s %7s %7s %7s %6s\n' "$hdr" share "ping" "+queue" "lnk/gp"
n=0
for l in ${SLINKS:-50:25:1 20:100:2}; do
	IFS=: read -r mb d loss <<<"$l"
	rate=$((mb * 1000000))
	n=$((n + 1))
	name="${mb}M/$((2 * d))ms/${loss}%"
	# every connection may take the whole run at the full rate
	rlink "$n" "$rate" "$d" "$loss" $((rate / 8 * (SECS + 5))) ||
		{ echo "$name: no TUN link (root, /dev/net/tun, ip netns)"; continue; }
	TUN=" ${TUNNELS:-tcp kcptun ours} "
	if [[ $TUN == *" tcp "* ]]; then
		if [ "${SHARE:-1}" != 0 ]; then
			flows "$n" 5001 5001 "10.98.$n.1"
			windows "$n" "$rate" "$d" "$name" tcp
		fi
		[ "${ECHO:-1}" = 0 ] || echo_row "$n" 5002 "10.98.$n.1" "$rate" "$name" tcp
	fi
	if [[ $TUN == *" kcptun "* ]]; then
		for i in 1 2; do
			start kts$i$n ip netns exec "$A" kcptun-server -l "10.98.$n.1:400$i" -t 127.0.0.1:5001 "${KT[@]}"
			start ktc$i$n ip netns exec "$B" kcptun-client -l "127.0.0.1:600$i" -r "10.98.$n.1:400$i" "${KT[@]}"
		done
		start kte$n ip netns exec "$A" kcptun-server -l "10.98.$n.1:4004" -t 127.0.0.1:5002 "${KT[@]}"
		start kcte$n ip netns exec "$B" kcptun-client -l 127.0.0.1:6004 -r "10.98.$n.1:4004" "${KT[@]}"
		sleep 1
		if [ "${SHARE:-1}" != 0 ]; then
			flows "$n" 6001 6002
			windows "$n" "$rate" "$d" "$name" kcptun
		fi
		[ "${ECHO:-1}" = 0 ] || echo_row "$n" 6004 127.0.0.1 "$rate" "$name" kcptun
		for i in 1 2; do stop ktc$i$n; stop kts$i$n; done
		stop kcte$n; stop kte$n
	fi
	if [[ $TUN == *" ours "* ]]; then
		printf 'bindAddr: 0.0.0.0\nbindPort: 7000\nkcpBindPort: 7000\nauth: {token: b}\nlog: {level: warn}\ntransport: {kcp: %s}\n' \
			"$KOPT" >"$T/sfrps$n.yaml"
		for i in 1 2; do
			printf 'serverAddr: 10.98.%s.2\nserverPort: 7000\nauth: {token: b}\nlog: {level: warn}\ntransport: {protocol: kcp, kcp: %s}\nproxies:\n  - {name: s%s, type: tcp, localPort: 5001, remotePort: 700%s}\n  - {name: e%s, type: tcp, localPort: 5002, remotePort: 710%s}\n' \
				"$n" "$KOPT" "$i" "$i" "$i" "$i" >"$T/sfrpc$i$n.yaml"
		done
		start sfrps$n ip netns exec "$B" "$FRPS" -c "$T/sfrps$n.yaml" --transports-dir "$XDIR"
		sleep 0.5
		for i in 1 2; do
			start sfrpc$i$n ip netns exec "$A" "$FRPC" -c "$T/sfrpc$i$n.yaml" --transports-dir "$XDIR"
		done
		wait_proxy_port "$B" 7001
		wait_proxy_port "$B" 7002
		if [ "${SHARE:-1}" != 0 ]; then
			flows "$n" 7001 7002
			windows "$n" "$rate" "$d" "$name" ours
		fi
		[ "${ECHO:-1}" = 0 ] || echo_row "$n" 7101 127.0.0.1 "$rate" "$name" ours
		for i in 1 2; do stop sfrpc$i$n; done
		stop sfrps$n
	fi
	stop rsrc$n; stop recho$n; stop rudp$n; stop rsink$n; stop rimp$n
done
echo "link: serializer at the rate (IP packets), 1000-packet tail-drop queue, delay each way, random loss both ways"
echo "columns +a-bs: goodput of the first / second flow (Mbit/s) over that window after the second joined (at ${JOIN} s), Jain's index"
echo "share: both flows together over the windows, of the link rate; ping p50 across the link while both run; +queue = ping p50 - base RTT"
echo "lnk/gp: IP bytes into the A->B bottleneck per goodput byte of both flows"
echo "tcp: two connections, the kernel's $(sysctl -n net.ipv4.tcp_congestion_control), no tunnel; kcptun: two client/server pairs; ours: two frpc, one frps"
echo "echo: an echo of rate/16 x SECS bytes through one session (tcp: one connection; ours: one frpc), so each way carries it all; lnk/gp and bytes per IP packet: A->B / B->A"
[ -z "${KEEP:-}" ] || cp -r "$T" "$KEEP"
