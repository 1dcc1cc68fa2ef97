#!/bin/bash
# README's first command: `make demo` must bring up frps + frpc + the sample
# service over KCP and pass its own 1 MB check (one-shot mode stops by itself).
source "$(dirname "$0")/lib.sh"
out=$(DEMO_ONESHOT=1 timeout 60 bash tests/demo.sh "$BUILD" 2>&1) ||
	{ echo "$out" | tail -20; fail "demo exited with an error"; }
echo "$out" | grep -q "demo check: 1 MB went through frps+frpc over KCP" ||
	{ echo "$out" | tail -20; fail "demo did not pass its own check"; }
echo "$out" | grep -q "Dashboard: http://127.0.0.1:" || fail "demo did not print the dashboard address"
log "ok"
