#!/bin/bash
# One 1 GiB stream through frps+frpc over tcp.so on loopback vs the same
# stream direct, in the same run. Prints MB/s of both and the ratio, plus
# frpc/frps peak RSS and CPU seconds (of the TLS run). Target ratio >= 0.3
# (frp: ~0.1).
# The TLS row: the same stream through a second frpc with TLS off (same
# frps), so TLS on (the default) vs off is measured in the same run.
#   bench/tcp_proxy.sh [BUILD] [BYTES]      (tcpMux via TCPMUX=true|false)
source "$(dirname "$0")/../tests/e2e/lib.sh"
source "$ROOT/bench/lib.sh"
BYTES=${2:-$((1 << 30))}
MUX=${TCPMUX:-true}
SP=$(free_port); RP=$(free_port); KP=$(free_port)
start sink "$NT" sink-server --bind 127.0.0.1 --port "$KP"
wait_port "$KP" || fail "sink not up"
write_frps "$T/frps.yaml" "$SP" "transport: {tcpMux: $MUX}" "log: {level: warn}"
sed -i '/log: {level: debug}/d' "$T/frps.yaml"
write_frpc "$T/frpc.yaml" "$SP" "transport: {tcpMux: $MUX}" "log: {level: info}" "proxies:" \
	"  - {name: sink, type: tcp, localPort: $KP, remotePort: $RP}"
sed -i '/log: {level: debug}/d' "$T/frpc.yaml"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps not up"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "start proxy success" 10 || fail "proxy not up"
RP2=$(free_port)
write_frpc "$T/frpc_plain.yaml" "$SP" "transport: {tcpMux: $MUX, tls: {enable: false}}" \
	"log: {level: info}" "proxies:" \
	"  - {name: sink_plain, type: tcp, localPort: $KP, remotePort: $RP2}"
sed -i '/log: {level: debug}/d' "$T/frpc_plain.yaml"
start frpc_plain "$FRPC" -c "$T/frpc_plain.yaml" --transports-dir "$XDIR"
wait_log frpc_plain "start proxy success" 10 || fail "plain proxy not up"

direct=$("$NT" stream --host 127.0.0.1 --port "$KP" --bytes "$BYTES" --mode up | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
c0s=$(proc_cpu "$(pid_of frps)"); c0c=$(proc_cpu "$(pid_of frpc)")
proxied=$("$NT" stream --host 127.0.0.1 --port "$RP" --bytes "$BYTES" --mode up | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
c1s=$(proc_cpu "$(pid_of frps)"); c1c=$(proc_cpu "$(pid_of frpc)")
plain=$("$NT" stream --host 127.0.0.1 --port "$RP2" --bytes "$BYTES" --mode up | sed -n 's/.*MBps=\([0-9.]*\).*/\1/p')
printf 'bench tcp_proxy (tcpMux=%s, %d MiB)\n' "$MUX" $((BYTES >> 20))
printf '  direct   %8.1f MB/s\n' "$direct"
printf '  proxied  %8.1f MB/s   TLS off\n' "$plain"
printf '  ratio    %8s   (TLS off / direct; target >= 0.30; frp ~0.10)\n' "$(ratio "$plain" "$direct")"
printf '  proxied  %8.1f MB/s   TLS on (the default): %s of direct, TLS on/off %s\n' \
	"$proxied" "$(ratio "$proxied" "$direct")" "$(ratio "$proxied" "$plain")"
printf '  frps     peak RSS %6d KiB  CPU %5.2f s\n' "$(proc_hwm "$(pid_of frps)")" "$(awk -v a="$c1s" -v b="$c0s" 'BEGIN{print a-b}')"
printf '  frpc     peak RSS %6d KiB  CPU %5.2f s\n' "$(proc_hwm "$(pid_of frpc)")" "$(awk -v a="$c1c" -v b="$c0c" 'BEGIN{print a-b}')"
