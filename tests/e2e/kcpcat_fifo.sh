#!/bin/bash
# kcpcat's stdin/stdout are non-blocking members of its event loop: the
# classic netcat echo through a fifo, `kcpcat -l H:P <>fifo >fifo`, must
# send back far more than a pipe holds (4 MiB through a 64 KiB fifo) where
# a blocking stdout deadlocked after 64 KiB; then a stdout that stalls for
# a while (a reader that sleeps) must not stall the session.
source "$(dirname "$0")/lib.sh"
KCPCAT="$BUILD/kcpcat"
head -c $((4 << 20)) /dev/urandom >"$T/data"
mkfifo "$T/fifo"
P=$(free_port --udp)
# the echo is the fifo: what arrives goes to stdout = the fifo, comes back
# on stdin and is sent to the peer again
start echo bash -c "exec '$KCPCAT' -l 127.0.0.1:$P --transports-dir '$XDIR' -w 600 <>'$T/fifo' >'$T/fifo' 2>'$T/echo.err'"
sleep 0.3
timeout 60 "$KCPCAT" "127.0.0.1:$P" -w 2 --transports-dir "$XDIR" \
	<"$T/data" >"$T/out" 2>"$T/client.log" || fail "client through the fifo echo failed or hung"
cmp -s "$T/data" "$T/out" || fail "fifo echo: $(stat -c %s "$T/out") of $(stat -c %s "$T/data") bytes came back equal"
log "4 MiB echoed through a fifo"
stop echo || true

# A slow stdout consumer: the receiver's output pipe is read by a process
# that pauses 3 s before reading; everything must still arrive intact.
P=$(free_port --udp)
start sink bash -c "'$KCPCAT' -l 127.0.0.1:$P --transports-dir '$XDIR' -w 3 </dev/null 2>'$T/sink.err' | (sleep 3; cat >'$T/slow')"
sleep 0.3
timeout 60 "$KCPCAT" "127.0.0.1:$P" -w 1 --transports-dir "$XDIR" <"$T/data" >/dev/null 2>"$T/client2.log" ||
	fail "sender towards a stalled stdout failed or hung"
for _ in $(seq 100); do
	[ "$(stat -c %s "$T/slow" 2>/dev/null || echo 0)" -ge $((4 << 20)) ] && break
	sleep 0.2
done
cmp -s "$T/data" "$T/slow" || fail "slow stdout: $(stat -c %s "$T/slow" 2>/dev/null) of 4 MiB arrived equal"
stop sink || true
log "ok"
