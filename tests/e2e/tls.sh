#!/bin/bash
# TLS between our frpc and our frps: over tcp.so and kcp.so (64 MiB echoed,
# content compared), frp's custom first byte, tls.force against a plain
# client (a clear message on both sides), trustedCaFile with the right and a
# wrong CA, client certificates required by frps (with and without), and
# configuration errors (transport.<word> naming nothing, certFile alone).
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl is needed to make test certificates (tests/deps.sh)"

# ---- certificates: a CA, a server and a client cert from it, a stray CA ----
mkca() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
mkcert() { # NAME CA SAN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.crt" -CAkey "$T/$2.key" \
		-CAcreateserial -days 2 -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
}
mkca ca; mkca otherca
mkcert server ca "DNS:frps.test,IP:127.0.0.1"
mkcert client ca "DNS:client.test"
[ -s "$T/server.crt" ] && [ -s "$T/client.crt" ] || fail "openssl could not make the test certificates"

EP=$(free_port)
start echo "$NT" echo-server --bind 127.0.0.1 --port "$EP"

# run_pair NAME FRPS_EXTRA FRPC_EXTRA : start both, one tcp proxy to echo
run_pair() {
	local name=$1 sx=$2 cx=$3
	SP=$(free_port); RP=$(free_port)
	write_frps "$T/frps_$name.yaml" "$SP" "$sx"
	write_frpc "$T/frpc_$name.yaml" "$SP" "$cx" "loginFailExit: false" "proxies:" \
		"  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}"
	start frps_$name "$FRPS" -c "$T/frps_$name.yaml" --transports-dir "$XDIR"
	wait_port "$SP" || fail "$name: frps did not listen on $SP"
	start frpc_$name "$FRPC" -c "$T/frpc_$name.yaml" --transports-dir "$XDIR"
}
stop_pair() { stop "frpc_$1" || true; stop "frps_$1" || true; }

# ---- 64 MiB over TLS on tcp.so, then on kcp.so (custom first byte there) ----
run_pair tcp "" ""
# a client that starts a handshake and goes silent: frps gives it 10 s
exec 4<>"/dev/tcp/127.0.0.1/$SP" || fail "cannot connect to frps"
printf '\x16\x03\x01' >&4
wait_log frpc_tcp "\\[echo\\] start proxy success" 15 || fail "tcp: proxy did not start"
grep -q "server handshake done" "$T/frps_tcp.log" || fail "tcp: no TLS handshake on frps"
grep -q "NOT verified" "$T/frpc_tcp.log" || fail "tcp: frpc did not warn that the server is not verified"
grep -q "self-signed" "$T/frps_tcp.log" || fail "tcp: frps did not say it made a self-signed certificate"
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $((64 << 20)) --seed 11 --timeout 120) ||
	fail "tcp: 64 MiB through TLS: $out"
log "TLS over tcp: $out"
wait_log frps_tcp "TLS handshake timed out after 10 s" 15 || fail "no handshake timeout on frps"
exec 4<&-
log "a silent handshake: $(grep -o '\[tls\].*timed out.*' "$T/frps_tcp.log" | head -1)"
stop_pair tcp

KP=$(free_port --udp)
SP=$(free_port); RP=$(free_port)
write_frps "$T/frps_kcp.yaml" "$SP" "kcpBindPort: $KP"
write_frpc "$T/frpc_kcp.yaml" "$KP" "transport: {protocol: kcp, tls: {disableCustomTLSFirstByte: false}}" \
	"proxies:" "  - {name: echo, type: tcp, localPort: $EP, remotePort: $RP}"
start frps_kcp "$FRPS" -c "$T/frps_kcp.yaml" --transports-dir "$XDIR" --log-level trace
wait_port "$SP" || fail "kcp: frps did not listen"
start frpc_kcp "$FRPC" -c "$T/frpc_kcp.yaml" --transports-dir "$XDIR"
wait_log frpc_kcp "\\[echo\\] start proxy success" 15 || fail "kcp: proxy did not start"
grep -q "TLS client (frp's 0x17 byte)" "$T/frps_kcp.log" || fail "kcp: frps did not see the custom first byte"
grep -q "server handshake done" "$T/frps_kcp.log" || fail "kcp: no TLS handshake on frps"
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $((64 << 20)) --seed 12 --timeout 180) ||
	fail "kcp: 64 MiB through TLS: $out"
log "TLS over kcp: $out"
stop_pair kcp

# ---- tls.force: a plain client is told why, on both sides ----
run_pair force "transport: {tls: {force: true}}" "transport: {tls: {enable: false}}"
wait_log frpc_force "requires TLS \\(transport.tls.force\\)" 15 ||
	fail "force: frpc did not get the reason"
wait_log frps_force "plain \\(non-TLS\\) client refused" 5 || fail "force: frps did not log the refusal"
grep -q "start proxy success" "$T/frpc_force.log" && fail "force: a plain client got in"
log "tls.force refuses a plain client: $(grep -o 'login refused by server: .*' "$T/frpc_force.log" | head -1)"
stop_pair force

# ---- trustedCaFile: the right CA (by IP and by name) works, a wrong one fails ----
run_pair ca "transport: {tls: {certFile: $T/server.crt, keyFile: $T/server.key}}" \
	"transport: {tls: {trustedCaFile: $T/ca.crt}}"
wait_log frpc_ca "\\[echo\\] start proxy success" 15 || fail "ca: the right CA (IP name) was refused"
out=$("$NT" send --host 127.0.0.1 --port "$RP" --bytes $((1 << 20)) --seed 13 --timeout 30) || fail "ca: $out"
# a reload cannot swap TLS settings under a running link: it says so
sed -i "s|trustedCaFile: $T/ca.crt|trustedCaFile: $T/otherca.crt|" "$T/frpc_ca.yaml"
kill -HUP "$(pid_of frpc_ca)"
wait_log frpc_ca "reload: transport.tls.trustedCaFile changed; it applies after a restart" 10 ||
	fail "ca: a reload changing trustedCaFile was not reported"
stop_pair ca
run_pair caname "transport: {tls: {certFile: $T/server.crt, keyFile: $T/server.key}}" \
	"transport: {tls: {trustedCaFile: $T/ca.crt, serverName: frps.test}}"
wait_log frpc_caname "\\[echo\\] start proxy success" 15 || fail "ca: the right CA (DNS name) was refused"
stop_pair caname
run_pair wrongca "transport: {tls: {certFile: $T/server.crt, keyFile: $T/server.key}}" \
	"transport: {tls: {trustedCaFile: $T/otherca.crt}}"
wait_log frpc_wrongca "server certificate not trusted" 15 || fail "wrongca: no clear error"
# frpc's own line about the lost link carries the reason too
wait_log frpc_wrongca "TLS: handshake failed: server certificate not trusted.*reconnecting" 5 ||
	fail "wrongca: frpc's reconnect line does not say why"
grep -q "start proxy success" "$T/frpc_wrongca.log" && fail "wrongca: logged in anyway"
log "wrong CA: $(grep -o 'handshake failed.*' "$T/frpc_wrongca.log" | head -1)"
stop_pair wrongca
run_pair wrongname "transport: {tls: {certFile: $T/server.crt, keyFile: $T/server.key}}" \
	"transport: {tls: {trustedCaFile: $T/ca.crt, serverName: other.test}}"
wait_log frpc_wrongname "server certificate not trusted" 15 || fail "wrongname: no clear error"
stop_pair wrongname

# ---- client certificates required by frps ----
run_pair mtls "transport: {tls: {trustedCaFile: $T/ca.crt}}" \
	"transport: {tls: {certFile: $T/client.crt, keyFile: $T/client.key}}"
wait_log frpc_mtls "\\[echo\\] start proxy success" 15 || fail "mtls: a client with a good certificate was refused"
stop_pair mtls
run_pair nocert "transport: {tls: {trustedCaFile: $T/ca.crt}}" ""
wait_log frps_nocert "handshake failed" 15 || fail "nocert: frps did not refuse a client without a certificate"
grep -q "start proxy success" "$T/frpc_nocert.log" && fail "nocert: logged in without a certificate"
log "no client cert: $(grep -o 'handshake failed.*' "$T/frps_nocert.log" | head -1)"
stop_pair nocert
run_pair plainmtls "transport: {tls: {trustedCaFile: $T/ca.crt}}" "transport: {tls: {enable: false}}"
wait_log frpc_plainmtls "requires TLS" 15 || fail "plainmtls: trustedCaFile did not imply tls.force"
stop_pair plainmtls

# ---- configuration ----
printf 'bindPort: 7000\ntransport:\n  tls: {force: true}\n' >"$T/v1.yaml"
"$FRPS" verify -c "$T/v1.yaml" --transports-dir "$XDIR" >/dev/null 2>&1 || fail "verify: tls.force refused"
printf 'bindPort: 7000\ntransport:\n  tcpMux: true\n  tsl: {force: true}\n' >"$T/v2.yaml"
out=$("$FRPS" verify -c "$T/v2.yaml" --transports-dir "$XDIR" 2>&1) && fail "verify: transport.tsl accepted"
echo "$out" | grep -q "v2.yaml:4:3: transport.tsl: " || fail "verify: unexpected message: $out"
out=$("$FRPS" -c "$T/v2.yaml" --transports-dir "$XDIR" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "v2.yaml:4:3:" || fail "run: transport.tsl: rc=$rc $out"
printf 'serverPort: 7000\ntransport:\n  tls: {enable: true}\n  tsl: {}\n' >"$T/v5.yaml"
out=$("$FRPC" verify -c "$T/v5.yaml" --transports-dir "$XDIR" 2>&1) && fail "frpc verify: transport.tsl accepted"
echo "$out" | grep -q "v5.yaml:4:3: transport.tsl: " || fail "frpc verify: unexpected message: $out"
printf 'serverPort: 7000\ntransport:\n  tls: {certFile: a.crt}\n' >"$T/v3.yaml"
out=$("$FRPC" verify -c "$T/v3.yaml" --transports-dir "$XDIR" 2>&1) && fail "verify: certFile alone accepted"
echo "$out" | grep -q "v3.yaml:3:9: .*must be set together" || fail "verify: unexpected message: $out"
printf 'serverPort: 7000\ntransport:\n  tls: {enable: true, frobnicate: 1}\n' >"$T/v4.yaml"
out=$("$FRPC" verify -c "$T/v4.yaml" --transports-dir "$XDIR" 2>&1) && fail "verify: unknown tls key accepted"
echo "$out" | grep -q "unknown key \"transport.tls.frobnicate\"" || fail "verify: unexpected message: $out"
log "config errors: ok"
log "ok"
