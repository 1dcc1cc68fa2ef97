#!/bin/bash
# make demo: frps + frpc + a sample echo service on loopback, linked over KCP
# (kcp.so: FEC 10/3, aes). Prints how to reach the service; Ctrl-C stops all.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.."
D=$(mktemp -d /tmp/frp-c-demo.XXXXXX)
NT="$BUILD/tools/nettool"
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$D"
}
trap 'stop_all; exit 0' INT TERM EXIT
SERVICE=$("$NT" free-port); BIND=$("$NT" free-port); KCP=$("$NT" free-port --udp)
REMOTE=$("$NT" free-port); DASH=$("$NT" free-port); ADMIN=$("$NT" free-port)
cat >"$D/frps.yaml" <<YAML
bindAddr: 127.0.0.1
bindPort: $BIND
kcpBindPort: $KCP
auth: {token: "demo-token"}
webServer: {addr: 127.0.0.1, port: $DASH, user: admin, password: demo}
transport:
  kcp: {crypt: aes, key: "demo kcp key", mode: fast2}
YAML
cat >"$D/frpc.yaml" <<YAML
serverAddr: 127.0.0.1
serverPort: $KCP
auth: {token: "demo-token"}
webServer: {addr: 127.0.0.1, port: $ADMIN}
transport:
  protocol: kcp
  kcp: {crypt: aes, key: "demo kcp key", mode: fast2}
proxies:
  - {name: demo-echo, type: tcp, localIP: 127.0.0.1, localPort: $SERVICE, remotePort: $REMOTE}
YAML
"$NT" echo-server --bind 127.0.0.1 --port "$SERVICE" & pids+=($!)
"$BUILD/frps" -c "$D/frps.yaml" --transports-dir "$BUILD/transports" & pids+=($!)
"$NT" wait-port --port "$BIND" --timeout 10 >/dev/null
"$BUILD/frpc" -c "$D/frpc.yaml" --transports-dir "$BUILD/transports" & pids+=($!)
for _ in $(seq 100); do
	"$NT" wait-port --port "$REMOTE" --timeout 1 >/dev/null 2>&1 && break
done
echo
echo "================================================================"
echo " frps (tcp :$BIND, kcp udp :$KCP) and frpc (over KCP) are running."
echo " The echo service on 127.0.0.1:$SERVICE is exposed as 127.0.0.1:$REMOTE"
echo " Try it:   $NT send --host 127.0.0.1 --port $REMOTE --bytes 1000000 --seed 1"
echo "      or:  echo hello | nc 127.0.0.1 $REMOTE   (if nc is installed)"
echo " Dashboard: http://127.0.0.1:$DASH/  (user admin, password demo)"
echo " frpc admin: http://127.0.0.1:$ADMIN/  (switch the link: curl -X PUT -d '{\"protocol\":\"tcp\"}' 127.0.0.1:$ADMIN/api/transport)"
echo " Configs:  $D/frps.yaml  $D/frpc.yaml"
echo " Ctrl-C stops everything."
echo "================================================================"
"$NT" send --host 127.0.0.1 --port "$REMOTE" --bytes 1000000 --seed 1 --timeout 20 &&
	echo "demo check: 1 MB went through frps+frpc over KCP and came back intact"
if [ -n "${DEMO_ONESHOT:-}" ]; then exit 0; fi
wait
