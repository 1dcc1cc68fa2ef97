# Shared helpers for end-to-end tests (sourced). Every process a test starts
# goes through `start`, is recorded by PID and stopped by PID on exit; under
# a sanitizer build the logs are checked for sanitizer reports afterwards.
set -u
BUILD=${1:-${BUILD:-build}}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
T=$(mktemp -d "/tmp/e2e.$(basename "$0" .sh).XXXXXX")
NT="$BUILD/tools/nettool"
PIDS=()
NAMES=()
FAILED=0

log() { echo "[$(date +%T)] $*"; }
fail() { echo "FAIL: $*"; FAILED=1; dump_logs; exit 1; }

dump_logs() {
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "---- $(basename "$f") (last 25 lines)"
		tail -n 25 "$f"
	done
}

# start NAME CMD... : run in the background, output to $T/NAME.log
start() {
	local name=$1; shift
	"$@" >"$T/$name.log" 2>&1 &
	PIDS+=($!)
	NAMES+=("$name")
	eval "PID_$name=$!"
}

pid_of() { eval "echo \${PID_$1}"; }

# stop NAME [SIGNAL]: signal one process by PID and wait for it (max 10 s)
stop() {
	local name=$1 sig=${2:-TERM} pid
	pid=$(pid_of "$name")
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -s KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null
	local rc=$?
	eval "PID_$name="
	return $rc
}

NETNS=()
cleanup() {
	local i
	for i in "${!PIDS[@]}"; do
		kill -s TERM "${PIDS[$i]}" 2>/dev/null || true
	done
	sleep 0.3
	for i in "${!PIDS[@]}"; do
		kill -s KILL "${PIDS[$i]}" 2>/dev/null || true
		wait "${PIDS[$i]}" 2>/dev/null || true
	done
	for i in "${NETNS[@]}"; do ip netns del "$i" 2>/dev/null || true; done
	if grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/*.log >/dev/null 2>&1; then
		echo "FAIL: sanitizer report in:"
		grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/*.log
		grep -h -A 30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T"/*.log | head -80
		FAILED=1
	fi
	if [ "$FAILED" = 0 ]; then rm -rf "$T"; else echo "(logs kept in $T)"; fi
	[ "$FAILED" = 0 ] || exit 1
}
trap cleanup EXIT
trap 'FAILED=1; exit 1' INT TERM

free_port() { "$NT" free-port "$@"; }

# wait_port PORT [SECONDS]
wait_port() { "$NT" wait-port --port "$1" --timeout "${2:-10}" >/dev/null 2>&1; }

# wait_log NAME REGEX [SECONDS]
wait_log() {
	local name=$1 re=$2 secs=${3:-10} i
	for i in $(seq $((secs * 10))); do
		grep -q -E "$re" "$T/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# write_frps FILE PORT [extra yaml lines...]
write_frps() {
	local f=$1 port=$2; shift 2
	{
		echo "bindAddr: 127.0.0.1"
		echo "bindPort: $port"
		echo "auth: {token: \"e2e-secret\"}"
		echo "log: {level: debug}"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

# write_frpc FILE SERVER_PORT [extra yaml lines...] (proxies appended by caller)
write_frpc() {
	local f=$1 port=$2; shift 2
	{
		echo "serverAddr: 127.0.0.1"
		echo "serverPort: $port"
		echo "auth: {token: \"e2e-secret\"}"
		echo "log: {level: debug}"
		for l in "$@"; do echo "$l"; done
	} >"$f"
}

FRPS="$BUILD/frps"
FRPC="$BUILD/frpc"
XDIR="$BUILD/transports"
