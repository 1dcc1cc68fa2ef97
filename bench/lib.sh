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
