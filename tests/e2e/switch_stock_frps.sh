#!/bin/bash
# Our frpc switching links against a stock frp 0.54 frps. frps 0.54 treats a
# login with an online run_id as a replacement: it closes the old control
# and its proxies, then our frpc re-registers them over the new link (a
# brief window in which the public port is closed). What the README says,
# checked: PUT /api/transport succeeds, the proxy serves again over the new
# link, and a transfer that was running on the old link completes
# (stock frps leaves running user connections alone when a proxy closes).
source "$(dirname "$0")/lib.sh"

PEERS="$ROOT/../shared/peers/frp-0.54"
if [ ! -x "$PEERS/frps" ]; then
	echo "SKIP: stock frp 0.54 not found at $PEERS (interop peers absent)"
	exit 0
fi
SP=$(free_port); WP=$(free_port); SRC=$(free_port); RP=$(free_port); EP=$(free_port); ERP=$(free_port)
API="http://127.0.0.1:$WP"
start src "$NT" source-server --bind 127.0.0.1 --port "$SRC" --bytes 16M --seed 17 --rate 4M
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"
# Our frpc speaks TLS by default; a stock frps's own self-signed certificate
# has an empty subject that mbedTLS 2.28 cannot parse (README, TLS), so the
# stock frps gets a certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=frps.test" -keyout "$T/frps.key" -out "$T/frps.crt" 2>/dev/null ||
	fail "openssl could not make a certificate (tests/deps.sh)"
cat >"$T/frps.yaml" <<EOT
bindAddr: 127.0.0.1
bindPort: $SP
kcpBindPort: $SP
auth: {token: "e2e-secret"}
log: {level: debug}
transport: {tls: {certFile: $T/frps.crt, keyFile: $T/frps.key}}
EOT
write_frpc "$T/frpc.yaml" "$SP" "transport: {protocol: tcp}" "webServer: {port: $WP}" \
	"proxies:" "  - {name: dl, type: tcp, localPort: $SRC, remotePort: $RP}" \
	"  - {name: echo, type: tcp, localPort: $EP, remotePort: $ERP}"
start frps "$PEERS/frps" -c "$T/frps.yaml"
wait_port "$SP" || fail "stock frps did not listen"
start frpc "$FRPC" -c "$T/frpc.yaml" --transports-dir "$XDIR"
wait_log frpc "\\[echo\\] start proxy success" 10 || fail "proxies did not start on stock frps"
wait_port "$RP" || fail "remote port not open"

start dl "$NT" recv --port "$RP" --bytes 16M --seed 17 --timeout 40
sleep 1
r=$(curl -s -S --max-time 20 -X PUT -d '{"protocol": "kcp"}' "$API/api/transport") || fail "PUT: $r"
grep -q '"protocol": *"kcp"' <<<"$r" || fail "switch to kcp against stock frps: $r"
wait_log frps "[Rr]eplaced by client" 5 && log "stock frps: old control replaced (as documented)"
wait_log frpc "\\[echo\\] start proxy success.*" 10 || fail "echo not re-registered"
ok=0
for _ in $(seq 50); do
	if out=$("$NT" send --port "$ERP" --bytes 64k --seed 1 --timeout 10); then ok=1; break; fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "proxy does not serve over kcp after the switch: $out"
grep -q '"protocol": *"kcp"' <<<"$(curl -s "$API/api/transport")" || fail "not on kcp"
if wait "$(pid_of dl)"; then
	log "running transfer survived the switch: $(cat "$T/dl.log")"
else
	fail "transfer running on the old link broke: $(cat "$T/dl.log")"
fi
eval "PID_dl="
log "ok"
