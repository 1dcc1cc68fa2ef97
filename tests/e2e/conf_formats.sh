#!/bin/bash
# frp's configuration forms end to end: frpc from a TOML file that includes
# two proxy files (TOML and JSON) and takes its token from
# {{ .Envs.FRP_TOKEN }}; the `frpc tcp` / `frpc udp` quick commands; and a
# stock frp 0.54 frpc reading the same TOML file against our frps.
source "$(dirname "$0")/lib.sh"

SP=$(free_port); EP=$(free_port); UP=$(free_port)
RP1=$(free_port); RP2=$(free_port); QRP=$(free_port); QURP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
start uecho "$NT" udp-echo --bind 127.0.0.1 --port "$UP"
write_frps "$T/frps.yaml" "$SP"
start frps "$FRPS" -c "$T/frps.yaml" --transports-dir "$XDIR"
wait_port "$SP" || fail "frps did not listen on $SP"

mkdir -p "$T/site/confd"
cat >"$T/site/frpc.toml" <<EOT
# frpc.toml as an frp user writes it
serverAddr = "127.0.0.1"
serverPort = $SP
auth.token = "{{ .Envs.FRP_TOKEN }}"
loginFailExit = true
log.level = "debug"
log.disablePrintColor = true
includes = ["./confd/*.toml", "./confd/*.json"]
EOT
cat >"$T/site/confd/echo.toml" <<EOT
[[proxies]]
name = "inc-echo"
type = "tcp"
localIP = "127.0.0.1"
localPort = $EP
remotePort = $RP1
EOT
cat >"$T/site/confd/uecho.json" <<EOT
{"proxies": [{"name": "inc-uecho", "type": "udp", "localIP": "127.0.0.1",
  "localPort": $UP, "remotePort": $RP2}]}
EOT

# serve_checks LOGNAME: both included proxies carry traffic
serve_checks() {
	local name=$1 out
	for p in inc-echo inc-uecho; do
		wait_log "$name" "\\[$p\\] start proxy success" 15 || fail "$name: proxy $p did not start"
	done
	wait_port "$RP1" || fail "$name: remote port $RP1 not open"
	out=$("$NT" send --host 127.0.0.1 --port "$RP1" --bytes $((1 << 20)) --seed 3 --timeout 30) ||
		fail "$name: 1 MiB echo through the included tcp proxy: $out"
	log "$name tcp: $out"
	sleep 0.6 # frps asks for the udp work connection 500 ms after start
	out=$("$NT" udp-ping --port "$RP2" --count 20 --interval-ms 5 --wait-ms 2000) ||
		fail "$name: included udp proxy: $out"
	echo "$out" | grep -q "recv=20 " || fail "$name: udp proxy lost datagrams on loopback: $out"
	log "$name udp: $out"
}

# An unset variable is an error naming it (frp would render it empty).
(unset FRP_TOKEN; "$FRPC" verify -c "$T/site/frpc.toml") >"$T/unset.out" 2>&1 &&
	fail "verify passed without FRP_TOKEN"
grep -q "frpc.toml:4:15: environment variable FRP_TOKEN is not set" "$T/unset.out" ||
	fail "unset variable message: $(cat "$T/unset.out")"
FRP_TOKEN=e2e-secret "$FRPC" verify -c "$T/site/frpc.toml" >/dev/null ||
	fail "verify of the TOML file failed"
# A wrong token from the environment is refused by frps: the template is used.
FRP_TOKEN=wrong timeout 20 "$FRPC" -c "$T/site/frpc.toml" --transports-dir "$XDIR" >"$T/wrong.log" 2>&1 &&
	fail "frpc with a wrong token kept running"
grep -qi "token" "$T/wrong.log" || fail "wrong token: $(tail -3 "$T/wrong.log")"

log "frpc -c frpc.toml (includes + env template)"
# Started from another directory: includes are relative to the file.
(cd / && FRP_TOKEN=e2e-secret exec "$FRPC" -c "$T/site/frpc.toml" --transports-dir "$XDIR") \
	>"$T/frpc.log" 2>&1 &
PIDS+=($!); NAMES+=(frpc); PID_frpc=$!
serve_checks frpc
stop frpc || true

log "quick commands"
start qtcp "$FRPC" tcp -s 127.0.0.1 -P "$SP" -t e2e-secret -n quick-tcp -i 127.0.0.1 \
	-l "$EP" -r "$QRP" --ue --transports-dir "$XDIR"
start qudp "$FRPC" udp --server-addr 127.0.0.1 --server-port "$SP" --token e2e-secret \
	--proxy-name quick-udp --local-port "$UP" --remote-port "$QURP" --transports-dir "$XDIR"
wait_log qtcp "\\[quick-tcp\\] start proxy success" 15 || fail "frpc tcp: proxy did not start"
wait_log qudp "\\[quick-udp\\] start proxy success" 15 || fail "frpc udp: proxy did not start"
wait_port "$QRP" || fail "frpc tcp: remote port $QRP not open"
out=$("$NT" send --host 127.0.0.1 --port "$QRP" --bytes $((1 << 20)) --seed 4 --timeout 30) ||
	fail "frpc tcp: 1 MiB echo: $out"
log "frpc tcp: $out"
sleep 0.6
out=$("$NT" udp-ping --port "$QURP" --count 20 --interval-ms 5 --wait-ms 2000) ||
	fail "frpc udp: $out"
echo "$out" | grep -q "recv=20 " || fail "frpc udp lost datagrams on loopback: $out"
log "frpc udp: $out"
stop qtcp || true
stop qudp || true
timeout 10 "$FRPC" tcp -n x >"$T/q.out" 2>&1 && fail "frpc tcp without -l succeeded"
grep -q "local-port (-l) is required" "$T/q.out" || fail "frpc tcp -n x: $(cat "$T/q.out")"
timeout 10 "$FRPC" http -n x -l 80 >"$T/q.out" 2>&1 && fail "frpc http succeeded"
grep -q "only the tcp and udp quick commands are supported" "$T/q.out" || fail "frpc http: $(cat "$T/q.out")"
timeout 10 "$FRPC" tcp -n x -l 1 --bandwidth-limit 1MB >"$T/q.out" 2>&1 && fail "frpc tcp --bandwidth-limit succeeded"
grep -q "unsupported flag --bandwidth-limit" "$T/q.out" || fail "frpc tcp --bandwidth-limit: $(cat "$T/q.out")"

PEER="$ROOT/../shared/peers/frp-0.54"
if [ ! -x "$PEER/frpc" ]; then
	log "skip: stock frpc not found at $PEER (the rest of this test ran)"
	log "ok"
	exit 0
fi
log "stock frp 0.54 frpc -c frpc.toml against our frps"
# frp 0.54 resolves relative include patterns against the working
# directory, so it runs from the file's directory.
run_stock() {
	(cd "$T/site" && FRP_TOKEN=e2e-secret exec "$PEER/frpc" -c "$1") >"$T/stock.log" 2>&1 &
	PIDS+=($!); NAMES+=(stock); PID_stock=$!
}
run_stock "$T/site/frpc.toml"
# frp's clients default to TLS. While this frps has no TLS it refuses them
# (and says so in its log); then the stock client gets a copy of the file
# with transport.tls.enable = false. With TLS it reads the very same file.
for _ in $(seq 50); do
	grep -q "start proxy success\|login to the server failed" "$T/stock.log" && break
	sleep 0.1
done
if grep -q "login to the server failed" "$T/stock.log" &&
	grep -q "speaks plain frp" "$T/frps.log"; then
	stop stock || true
	sed 's/^includes = /transport.tls.enable = false\nincludes = /' \
		"$T/site/frpc.toml" >"$T/site/frpc_stock.toml"
	log "(this frps has no TLS yet: the stock client reads a copy with transport.tls.enable = false)"
	run_stock "$T/site/frpc_stock.toml"
fi
serve_checks stock
stop stock || true
log "ok"
