#!/bin/bash
# Interop with the real kcp-go 5.6.1 (Debian's source, built offline into
# $BUILD/tools/kcppeer): our kcp.so as client and as server, for each cipher,
# with FEC 10/3 and with FEC off. Bytes must come back equal both ways.
source "$(dirname "$0")/lib.sh"
PEER="$BUILD/tools/kcppeer"
KCPCAT="$BUILD/kcpcat"
[ -x "$PEER" ] || fail "kcp-go peer not built ($PEER): is golang-go installed?"
head -c 1500000 /dev/urandom >"$T/data"
n=0
for crypt in none aes aes-128 salsa20 3des; do
	for fec in "10 3" "0 0"; do
		set -- $fec
		ds=$1 ps=$2
		opts=(--crypt "$crypt" --key "interop key" --datashard "$ds" --parityshard "$ps" --mode fast2)
		n=$((n + 1))

		# our client -> kcp-go echo server
		P=$(free_port --udp)
		start peer$n "$PEER" -l "127.0.0.1:$P" -crypt "$crypt" -key "interop key" -ds "$ds" -ps "$ps" -t 60
		wait_log peer$n "listening" 10 || fail "kcp-go peer did not start"
		timeout 60 "$KCPCAT" "127.0.0.1:$P" "${opts[@]}" -w 2 --transports-dir "$XDIR" \
			<"$T/data" >"$T/out" 2>"$T/kcpcat$n.log" || fail "kcpcat client ($crypt, FEC $ds/$ps) failed"
		cmp -s "$T/data" "$T/out" || fail "our client -> kcp-go ($crypt, FEC $ds/$ps): bytes differ"
		stop peer$n || true

		# kcp-go client -> our echo server
		P=$(free_port --udp)
		start cat$n "$KCPCAT" -l "127.0.0.1:$P" --echo "${opts[@]}" -w 3 --transports-dir "$XDIR"
		sleep 0.3
		out=$(timeout 60 "$PEER" -c "127.0.0.1:$P" -n 1500000 -crypt "$crypt" -key "interop key" \
			-ds "$ds" -ps "$ps" -t 50 2>&1) || fail "kcp-go client -> our server ($crypt, FEC $ds/$ps): $out"
		stop cat$n || true
		log "crypt=$crypt FEC=$ds/$ps: both directions equal"
	done
done
log "ok"
