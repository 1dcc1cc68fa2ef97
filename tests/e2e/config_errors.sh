#!/bin/bash
# Bad configuration: exit status 2 and one FILE:LINE:COL message; `verify`.
source "$(dirname "$0")/lib.sh"

expect_err() { # expect_err PROG FILE REGEX
	local prog=$1 file=$2 re=$3 out rc
	out=$("$prog" -c "$file" --transports-dir "$XDIR" 2>&1); rc=$?
	[ $rc = 2 ] || fail "$(basename "$prog") $file: exit $rc, want 2 ($out)"
	[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "want one line, got: $out"
	printf '%s\n' "$out" | grep -q -E "$re" || fail "message '$out' does not match '$re'"
	log "$(basename "$prog"): $out"
}

printf 'bindPort: 7000\nbindPrt: 1\n' >"$T/a.yaml"
expect_err "$FRPS" "$T/a.yaml" "^$T/a.yaml:2:1: .*bindPrt"
printf 'serverPort: 70000\n' >"$T/b.yaml"
expect_err "$FRPC" "$T/b.yaml" "^$T/b.yaml:1:13: .*(range|70000)"
printf 'proxies:\n  - {name: a, type: tcp, localPort: 1}\n  - {name: a, type: tcp, localPort: 2}\n' >"$T/c.yaml"
expect_err "$FRPC" "$T/c.yaml" "^$T/c.yaml:3:.*duplicate"
printf 'serverPort: [1]\n' >"$T/d.yaml"
expect_err "$FRPC" "$T/d.yaml" "^$T/d.yaml:1:13: "
expect_err "$FRPC" "$T/missing.yaml" "missing.yaml.*No such file"

out=$("$FRPS" verify -c conf/frps.yaml 2>&1) || fail "verify frps.yaml: $out"
out=$("$FRPC" verify -c conf/frpc_full.yaml 2>&1) || fail "verify frpc_full.yaml: $out"
"$FRPC" verify -c "$T/a.yaml" >/dev/null 2>&1; [ $? = 2 ] || fail "verify of a bad file must exit 2"

# log.to: log lines go to the file, not the console; --log-level overrides.
P=$(free_port)
printf 'bindAddr: 127.0.0.1\nbindPort: %s\nlog: {to: "%s", level: warn}\n' "$P" "$T/frps-file.log" >"$T/logto.yaml"
start frps_logto "$FRPS" -c "$T/logto.yaml" --log-level debug --transports-dir "$XDIR"
wait_port "$P" || fail "frps with log.to did not start"
stop frps_logto
grep -q "\[D\]" "$T/frps-file.log" || fail "--log-level debug lines missing from the log.to file"
grep -q "\[D\]\|\[I\]" "$T/frps_logto.log" && fail "log lines went to the console despite log.to"
log "ok"
