#!/bin/bash
# frps stats file: daily traffic survives a restart (saved at shutdown and
# every few seconds), a truncated file is reported and replaced without
# stopping frps, DELETE /api/proxies?status=offline prunes what was
# restored, and the default path sits beside the config file.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ROOT/tests/e2e"
py() { /usr/bin/python3 -c "from dashlib import *
import sys
args = sys.argv[1:]
$1" "${@:2}"; }

SP=$(free_port); WP=$(free_port); EP=$(free_port); RP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
write_frps "$T/frps.yaml" "$SP" "webServer: {port: $WP, user: admin, password: pw}"
write_frpc "$T/frpc.yaml" "$SP" "proxies:" \
	"  - {name: web, type: tcp, localPort: $EP, remotePort: $RP}"
STATS="$T/frps.yaml.stats.json" # the default: beside the config
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[web\\] start proxy success" 10 || fail "proxy did not start"
N=123457
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $N --seed 5 --timeout 30) ||
	fail "transfer: $out"
# Saved while running (at most every 5 s), without a restart.
py "wait_for('the stats file with the transfer', lambda: '\"in\":$N' in slurp('$STATS'), 10)" ||
	fail "stats file not written while running"
stop frpc
stop frps || fail "frps did not exit cleanly"

log "restart: the counters come back"
start frps2 "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not come back"
wait_log frps2 "traffic counters restored" 5 || fail "no 'restored' line"
py "
wp = int(args[0]); n = int(args[1])
t = get_json(wp, '/api/traffic/web')
check(t['trafficIn'][0] == n and t['trafficOut'][0] == n, 'traffic after restart %r' % t)
p = get_json(wp, '/api/proxy/tcp/web')
check(p['status'] == 'offline' and p['todayTrafficIn'] == n and p['conf'] is None, 'proxy %r' % p)
si = get_json(wp, '/api/serverinfo')
check(si['totalTrafficIn'] == n and si['lifetimeTrafficOut'] == n, 'serverinfo %r' % si)
" "$WP" "$N" || fail "counters after a restart"
# The client comes back: the proxy continues its counts.
start frpc2 "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc2 "\\[web\\] start proxy success" 10 || fail "proxy did not start again"
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes 1000 --seed 6 --timeout 30) ||
	fail "transfer 2: $out"
py "
wp = int(args[0]); n = int(args[1])
wait_for('counts continuing', lambda: get_json(wp, '/api/traffic/web')['trafficIn'][0] == n + 1000)
" "$WP" "$N" || fail "counts after the client came back"
stop frpc2
py "
wp = int(args[0])
wait_for('web offline', lambda: get_json(wp, '/api/proxy/tcp/web')['status'] == 'offline')
check(get_json(wp, '/api/proxies?status=offline', method='DELETE')['cleared'] == 1, 'DELETE')
get_json(wp, '/api/proxy/tcp/web', want=404)
check(get_json(wp, '/api/proxy/tcp')['proxies'] == [], 'list after DELETE')
" "$WP" || fail "DELETE /api/proxies?status=offline"
stop frps2 || fail "frps did not exit cleanly"

log "truncated file: reported and replaced"
printf '{"format":"frps-stats","version":1,"total":{"in":12' >"$STATS"
start frps3 "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "frps did not start with a truncated stats file"
wait_log frps3 "stats file .* is unusable \\(not JSON.*it will be replaced" 5 ||
	fail "truncated stats file not reported"
py "
wp = int(args[0])
check(get_json(wp, '/api/proxy/tcp')['proxies'] == [], 'proxies from a bad file')
def replaced():
    try:
        return json.loads(slurp(args[1]))['format'] == 'frps-stats'
    except ValueError:
        return False
wait_for('the file replaced', replaced, 8)
" "$WP" "$STATS" || fail "bad stats file not replaced"
ls "$T" | grep -q "stats.json.tmp" && fail "temporary file left behind"
stop frps3 || fail "frps did not exit cleanly"
log "ok"
