#!/bin/bash
# Our dashboard API against stock frps 0.54's, same stock frpc, same
# transfer: every key frp returns is there with a value of the same JSON
# type (ours may add keys), the same numbers for the same bytes, and the
# same status codes for a missing proxy and missing credentials. Skips with
# one line when the stock binaries are absent.
source "$(dirname "$0")/lib.sh"
PEER="$ROOT/../shared/peers/frp-0.54"
if [ ! -x "$PEER/frps" ] || [ ! -x "$PEER/frpc" ]; then
	echo "SKIP: stock frp 0.54 not found at $PEER"
	exit 0
fi
export PYTHONPATH="$ROOT/tests/e2e"
EP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"

# run_pair NAME FRPS_CMD... : frps (ours or stock) + stock frpc, a known
# transfer, then the API answers saved as $T/NAME.*.json
run_pair() {
	local name=$1; shift
	local sp wp rp
	sp=$(free_port); wp=$(free_port); rp=$(free_port)
	cat >"$T/$name.frps.toml" <<-EOF
	bindAddr = "127.0.0.1"
	bindPort = $sp
	auth.token = "e2e-secret"
	webServer.addr = "127.0.0.1"
	webServer.port = $wp
	webServer.user = "admin"
	webServer.password = "pw"
	EOF
	cat >"$T/$name.frpc.toml" <<-EOF
	serverAddr = "127.0.0.1"
	serverPort = $sp
	auth.token = "e2e-secret"
	transport.tls.enable = false
	[[proxies]]
	name = "web"
	type = "tcp"
	localIP = "127.0.0.1"
	localPort = $EP
	remotePort = $rp
	EOF
	# our frps reads TOML too (conf_formats); flags differ
	start "${name}_frps" "$@" -c "$T/$name.frps.toml"
	# stock frps opens its dashboard before its bindPort: wait for both
	wait_port "$wp" || fail "$name frps dashboard did not listen"
	wait_port "$sp" || fail "$name frps did not listen on $sp"
	start "${name}_frpc" "$PEER/frpc" -c "$T/$name.frpc.toml"
	wait_port "$rp" 10 || fail "$name: remote port not open"
	out=$("$NT" send --host 127.0.0.1 --port "$rp" --bytes 54321 --seed 2 --timeout 30) ||
		fail "$name transfer: $out"
	sleep 2 # frp folds traffic in as connections close; ours every second
	/usr/bin/python3 -c "
import json, sys
from dashlib import request
wp, pre = int(sys.argv[1]), sys.argv[2]
for key, path in (('serverinfo', '/api/serverinfo'), ('list', '/api/proxy/tcp'),
                  ('one', '/api/proxy/tcp/web'), ('traffic', '/api/traffic/web')):
    st, _, body = request(wp, path)
    open(pre + '.' + key + '.json', 'wb').write(body if st == 200 else b'null')
codes = [request(wp, '/api/proxy/tcp/nope')[0], request(wp, '/api/traffic/nope')[0],
         request(wp, '/api/serverinfo', auth=None)[0], request(wp, '/healthz', auth=None)[0]]
open(pre + '.codes.json', 'w').write(json.dumps(codes))
" "$wp" "$T/$name" || fail "$name: API calls"
	stop "${name}_frpc"
	stop "${name}_frps"
}

run_pair stock "$PEER/frps"
run_pair ours "$FRPS" --transports-dir "$XDIR"

/usr/bin/python3 - "$T" <<'EOF' || fail "our API differs from frp's"
import json, sys
t = sys.argv[1]
def load(who, key):
    return json.load(open("%s/%s.%s.json" % (t, who, key)))
def jtype(v):
    return {bool: "bool", int: "number", float: "number", str: "string",
            list: "array", dict: "object", type(None): "null"}[type(v)]
bad = []
def same_keys(a, b, where):
    for k, v in a.items():
        if k not in b:
            bad.append("%s: key %r missing" % (where, k))
        elif jtype(v) != jtype(b[k]) and not (k == "conf" and b[k] is not None):
            bad.append("%s: %r is %s in frp, %s in ours" % (where, k, jtype(v), jtype(b[k])))
for key in ("serverinfo", "one", "traffic"):
    s, o = load("stock", key), load("ours", key)
    if s is None or o is None:
        bad.append("%s: no answer (stock %r, ours %r)" % (key, s is not None, o is not None))
        continue
    same_keys(s, o, key)
s, o = load("stock", "list"), load("ours", "list")
same_keys(s, o, "list")
same_keys(s["proxies"][0], o["proxies"][0], "list.proxies[0]")
# The same bytes give the same numbers.
for key, fields in (("one", ("todayTrafficIn", "todayTrafficOut", "curConns", "status")),
                    ("traffic", ("trafficIn", "trafficOut")),
                    ("serverinfo", ("totalTrafficIn", "totalTrafficOut", "clientCounts",
                                    "proxyTypeCount", "curConns"))):
    for f in fields:
        if load("stock", key)[f] != load("ours", key)[f]:
            bad.append("%s.%s: frp %r, ours %r" % (key, f, load("stock", key)[f], load("ours", key)[f]))
if load("stock", "codes") != load("ours", "codes"):
    bad.append("status codes (missing proxy, missing traffic, no auth, healthz): frp %r, ours %r"
               % (load("stock", "codes"), load("ours", "codes")))
for b in bad:
    print("DIFF:", b)
one = load("stock", "one")
if one["todayTrafficIn"] != 54321:
    bad.append("stock frps did not count the transfer: %r" % one)
print("compared serverinfo, proxy list, one proxy, traffic (in %r / out %r), status codes %r: "
      "%d differences" % (one["todayTrafficIn"], one["todayTrafficOut"], load("stock", "codes"), len(bad)))
sys.exit(1 if bad else 0)
EOF
log "ok"
