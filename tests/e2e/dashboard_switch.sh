#!/bin/bash
# frps's view of a client moving links (tcpMux): during a rate-limited
# download the client switches TCP -> KCP through frpc's admin API; frps's
# /api/clients then shows the KCP link as current, the TCP one under
# drainingLinks with its open stream, the link history tcp -> kcp, and the
# metrics agree; once the download ends the draining link goes away.
source "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ROOT/tests/e2e"
py() { /usr/bin/python3 -c "from dashlib import *
import sys
args = sys.argv[1:]
$1" "${@:2}"; }

SP=$(free_port); RP=$(free_port); WP=$(free_port); FWP=$(free_port); SRC=$(free_port)
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 24M --seed 4 --rate 3M
write_frps "$T/frps.yaml" "$SP" "kcpBindPort: $SP" \
	"webServer: {port: $WP, user: admin, password: pw, statsFile: $T/s.json}" \
	"enablePrometheus: true"
write_frpc "$T/frpc.yaml" "$SP" "transport: {protocol: tcp, drainTimeout: 60}" \
	"webServer: {port: $FWP, user: admin, password: pw}" "proxies:" \
	"  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RP}"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$WP" || fail "dashboard did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[dl\\] start proxy success" 10 || fail "proxy did not start"
wait_port "$RP" || fail "remote port not open"
start dl "$NT" recv --port "$RP" --bytes 24M --seed 4 --timeout 60
sleep 1
py "
wp, fwp = int(args[0]), int(args[1])
c = get_json(wp, '/api/clients')['clients'][0]
check(c['link']['transport'] == 'tcp' and c['drainingLinks'] == [], 'before: %r' % c)
st, _, body = request(fwp, '/api/transport', method='PUT', body=b'{\"protocol\": \"kcp\"}')
check(st == 200, 'PUT /api/transport: %d %r' % (st, body))
c = wait_for('frps to see the move', lambda: (lambda c: c if c['link']['transport'] == 'kcp' else None)(
    get_json(wp, '/api/clients')['clients'][0]))
check([h['transport'] for h in c['linkHistory']] == ['tcp', 'kcp'], 'history %r' % c['linkHistory'])
check(c['linkHistory'][0]['until'] > 0 and c['linkHistory'][1]['until'] == 0, 'history times')
d = c['drainingLinks']
check(len(d) == 1 and d[0]['transport'] == 'tcp' and d[0]['draining'], 'draining %r' % d)
check(d[0]['streams'] >= 1, 'the download rides the old link: %r' % d)
m, _ = prom_parse(request(wp, '/metrics')[2].decode())
rid = c['runID']
check(m[('frps_link_draining', (('client', rid), ('transport', 'tcp')))] == 1, 'metric draining')
check(m[('frps_link_draining', (('client', rid), ('transport', 'kcp')))] == 0, 'metric current')
check(m[('frps_client_links_total', (('client', rid), ('user', '')))] == 2, 'links total')
check(m[('frps_transport_links', (('transport', 'kcp'),))] == 1, 'transport links')
" "$WP" "$FWP" || fail "frps's view during the move"
pid=$(pid_of dl); wait "$pid"; eval "PID_dl="
grep -q "^ok " "$T/dl.log" || fail "download failed: $(cat "$T/dl.log")"
py "
wp = int(args[0])
wait_for('the draining link gone', lambda: get_json(wp, '/api/clients')['clients'][0]['drainingLinks'] == [], 15)
" "$WP" || fail "draining link still listed after the download"
log "ok"
