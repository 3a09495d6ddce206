#!/bin/bash
# cli.t - lbctl and lbcluster: help, usage errors, exit codes, keygen.
. "$top_srcdir/t/lib.sh"

out=$(lbctl --help); rc=$?
like "$rc:$out" "^0:usage: lbctl" "lbctl --help exits 0 with usage"
lbctl >/dev/null 2>&1; is $? 2 "lbctl without a command exits 2"
out=$(lbctl frobnicate 2>&1); rc=$?
like "$rc:$out" '^2:lbctl: unknown command "frobnicate"' "an unknown command exits 2 and says so"
out=$(lbctl --bogus status 2>&1); rc=$?
like "$rc:$out" '^2:lbctl: unknown option' "an unknown option exits 2"
out=$(lbctl --timeout abc status 2>&1); rc=$?
like "$rc:$out" '^2:lbctl: --timeout' "a bad --timeout exits 2"

start=$(now_ms)
out=$(lbctl -s "$TMP/nobody.sock" status 2>&1); rc=$?
like "$rc:$out" "^3:lbctl: cannot reach the peer at $TMP/nobody.sock" \
    "no socket: exit 3 with a clear message"
# A socket file with no peer behind it (a crashed peer leaves one).
printf '%s\n' 'id = "d1";' "state_dir = \"$TMP/dstate\";" \
    "control = \"$TMP/dead.sock\";" "listen = \"tcp://127.0.0.1:$((30000 + RANDOM % 20000))\";" \
    >"$TMP/dead.conf"
lbpeer -f -c "$TMP/dead.conf" 2>/dev/null &
pid=$!
for _ in $(seq 50); do lbctl -s "$TMP/dead.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
kill -KILL $pid; wait $pid 2>/dev/null
[ -S "$TMP/dead.sock" ]; ok $? "a SIGKILLed peer leaves its socket file behind"
start=$(now_ms)
out=$(lbctl -s "$TMP/dead.sock" --timeout 1000 peers 2>&1); rc=$?
took=$(( $(now_ms) - start ))
like "$rc:$out" "^3:lbctl: .*dead.sock" "a dead socket: exit 3 with a clear message"
ok $([ $took -lt 3000 ]; echo $?) "and within the timeout, not a hang (${took} ms)"
out=$(lbctl -c "$TMP/none.conf" status 2>&1); rc=$?
like "$rc:$out" "^2:.*none.conf: cannot read" "-c with a missing config exits 2"

lbctl keygen "$TMP/k" >/dev/null; rc=$?
is "$rc" 0 "keygen writes a key"
is "$(stat -c %a "$TMP/k")" 600 "with mode 0600"
like "$(cat "$TMP/k")" '^[0-9a-f]{64}$' "as 64 hex digits"
lbctl keygen "$TMP/k2" >/dev/null
[ "$(cat "$TMP/k")" != "$(cat "$TMP/k2")" ]; ok $? "two keys differ"
out=$(lbctl keygen "$TMP/k" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: keygen: .*File exists" "keygen never overwrites a key"

out=$(lbcluster --help); rc=$?
like "$rc:$out" "^0:usage: lbcluster" "lbcluster --help exits 0"
out=$(lbcluster up 0 2>&1); rc=$?
like "$rc:$out" "^2:lbcluster: up: N must be" "lbcluster up 0 exits 2"
out=$(lbcluster up 2 --set nokeyvalue 2>&1); rc=$?
like "$rc:$out" "^2:lbcluster: --set needs KEY=VALUE" "a bad --set exits 2"
out=$(lbcluster up 2 --set gossip.colour=1 2>&1); rc=$?
like "$rc:$out" '^1:.*unknown setting "gossip.colour"' \
    "a --set the daemon does not know is refused before anything starts"
out=$(lbcluster --dir "$TMP/nothing" status 2>&1); rc=$?
like "$rc:$out" "^1:lbcluster: no cluster in" "status without a cluster exits 1"

# --set puts values where they belong, creating what the template lacks.
lbcluster up 1 --no-wait --set gossip.interval_ms=150 --set slots=3 \
    --set 'attributes=["gpu", "ssd"]' --set cluster=blue >/dev/null
conf="$LBCLUSTER_DIR/n1/peer.conf"
out=$(lbctl -s "$LBCLUSTER_DIR/n1/control.sock" --json status)
is "$(echo "$out" | jq -r '[.cluster, .slots, .gossip_interval_ms] | join(" ")')" \
    "blue 3 150" "--set reaches the running peer (cluster, slots, gossip.interval_ms)"
is "$(lbctl -s "$LBCLUSTER_DIR/n1/control.sock" --json peers | jq -c '.[0].attributes')" \
    '["gpu","ssd"]' "and list values"
# The control socket takes requests up to control_max_kb (by default
# 1024 KiB of inline attachments + 2048 for the command line); a larger
# attachment is uploaded in pieces first, so a submit never exceeds it.
sock="$LBCLUSTER_DIR/n1/control.sock"
is "$(lbctl -s "$sock" --json status | jq .control_max_kb)" 3072 \
    "control_max_kb defaults to 1024 + 2048"
head -c 3300000 /dev/zero >"$TMP/big.bin"
out=$(lbctl -s "$sock" submit --wait --file "$TMP/big.bin" -- stat -c %s big.bin 2>&1); rc=$?
is "$rc:$out" "0:3300000" "a file larger than a control request is uploaded in pieces, whole"
# A request over the limit (a peer that takes little): lbctl asks first,
# since nanomsg drops it without a word.
lbcluster --dir "$TMP/cluster2" up 1 --no-wait --set control_max_kb=64 >/dev/null
sock2="$TMP/cluster2/n1/control.sock"
head -c 200000 /dev/urandom >"$TMP/mid.bin"
out=$(lbctl -s "$sock2" submit --wait --file "$TMP/mid.bin" -- stat -c %s mid.bin 2>&1); rc=$?
is "$rc:$out" "0:200000" "inline files that would not fit in its limit are uploaded instead"
start=$(now_ms)
out=$(lbctl -s "$sock2" submit --env "BIG=$(head -c 100000 /dev/zero | tr '\0' x)" -- true 2>&1); rc=$?
took=$(( $(now_ms) - start ))
like "$rc:$out" "^1:lbctl: the request takes 98 KiB, more than the peer at $sock2 takes \(control_max_kb = 64\)" \
    "a request over control_max_kb: lbctl says so and exits 1"
ok $([ $took -lt 1500 ]; echo $?) "at once, not after a timeout (${took} ms)"
lbctl -s "$sock2" status >/dev/null; ok $? "and the peer still answers"
lbcluster --dir "$TMP/cluster2" down >/dev/null
# The socket admits only the peer's user (no control_group here): another
# user is told so at once, not after a timeout.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 711 "$TMP"
	start=$(now_ms)
	out=$(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    "$(command -v lbctl)" -s "$sock" status 2>&1); rc=$?
	took=$(( $(now_ms) - start ))
	chmod 700 "$TMP"
	like "$rc:$out" "^3:lbctl: cannot use the peer's socket $sock: Permission denied" \
	    "another user may not use the socket, and is told so"
	ok $([ $took -lt 1500 ]; echo $?) "at once (${took} ms)"
else
	skip "needs root, setpriv and a user nobody to act as another user"
	skip "needs root, setpriv and a user nobody to act as another user"
fi
lbcluster down >/dev/null
ok $? "down stops it"
out=$(lbcluster ctl n1 status 2>&1); rc=$?
is "$rc" 3 "after down, lbctl reports the peer unreachable (3)"

done_testing
