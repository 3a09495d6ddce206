#!/bin/bash
# transfer.t - files of any size move with their task: attachments larger
# than a message (and than a control request) arrive intact where the task
# runs; the peers' memory stays bounded while hundreds of MiB move; a
# transfer whose source dies, or whose bytes are damaged on the way, is
# refused and leaves nothing staged, and the task is not lost.
. "$top_srcdir/t/lib.sh"

# (Homes without replicas: here each line "pulling" is a move's, not a
# replica's copy of the attachments: t/homegone-files.t has those.)
lbcluster up 2 --set gossip.interval_ms=100 --set balance.interval_ms=50 \
    --set task.home_replicas=1 >/dev/null || bail "no cluster"
C=$LBCLUSTER_DIR
staged() { find "$C/$1/state/tasks/.in" -mindepth 1 2>/dev/null | wc -l | tr -d ' '; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$(cat "$C/$1/pid")/status"; }
logged() { grep -q -- "$2" "$C/$1/log"; }

# -- a 4 MB and a 64 MB attachment, moved from n1 to n2 (--pin) --
mkdir "$TMP/in"
head -c 4000000 /dev/urandom >"$TMP/in/four.bin"
head -c 67108864 /dev/urandom >"$TMP/in/sixtyfour.bin"
(cd "$TMP/in" && sha256sum four.bin sixtyfour.bin >sums)
id=$(ctl n1 submit --pin n2 --file "$TMP/in/four.bin" --file "$TMP/in/sixtyfour.bin" \
    --file "$TMP/in/sums" -- sha256sum -c sums); ok $? "a submit with 4 MB and 64 MB attached is accepted ($id)"
out=$(ctl n1 wait --timeout 60 "$id"); rc=$?
is "$rc:$out" "0:four.bin: OK
sixtyfour.bin: OK" "both arrive intact at n2, checked by the task itself"
is "$(ctl n1 show --json "$id" | jq -r .host)" n2 "it ran at n2"
s=$(ctl n2 stats --json)
ok $(echo "$s" | jq -e '.xfer_bytes_in >= 71108864 and .xfer_done >= 1' >/dev/null; echo $?) \
    "n2 counts the bytes it pulled ($(echo "$s" | jq -c '[.xfer_bytes_in, .xfer_done]'))"
ok $(ctl n1 stats --json | jq -e '.xfer_bytes_out >= 71108864 and .upload_bytes >= 71108864' >/dev/null; echo $?) \
    "n1 counts the bytes uploaded to it and served"
is "$(staged n2)" 0 "nothing is left in n2's staging directory"

# -- a running task's checkpoint directory moves the same way --
id=$(ctl n1 submit --checkpointable -- lbwork --ms 8000 --state-kb 65536)
# Running for a second: lbwork has its checkpoint signal's handler by then
# (a signal before that ends it, as it would any program).
settled() {
	ctl n1 show --json "$id" | jq -e --argjson now "$(now_ms)" \
	    '.state == "running" and $now - .started_at > 1000' >/dev/null
}
wait_for 15 settled >/dev/null || diag "task $id is not running"
out=$(ctl n1 migrate "$id" --to n2 2>&1)
like "$out" "^$id: moved to n2 \(freeze [0-9.]+ ms" "a running task with a 64 MiB checkpoint migrates ($out)"
out=$(ctl n1 wait --timeout 60 "$id")
is "$out" "lbwork: done_ms=8000 resumes=1 checksum=ok" "its checkpoint arrived intact: it resumed at n2 with its work exact"
is "$(staged n2)" 0 "nothing is left staged"

# -- memory stays bounded while several hundred MiB move --
head -c $((320 * 1048576)) /dev/urandom >"$TMP/in/big.bin"
(cd "$TMP/in" && sha256sum big.bin >big.sum)
h1=$(hwm_kb n1) h2=$(hwm_kb n2)
start=$(now_ms)
id=$(ctl n1 submit --pin n2 --file "$TMP/in/big.bin" --file "$TMP/in/big.sum" -- sha256sum -c big.sum)
out=$(ctl n1 wait --timeout 120 "$id"); rc=$?
took=$(( $(now_ms) - start ))
is "$rc:$out" "0:big.bin: OK" "320 MiB attached: uploaded, moved, intact (${took} ms in all)"
g1=$(( $(hwm_kb n1) - h1 )) g2=$(( $(hwm_kb n2) - h2 ))
diag "VmHWM growth: n1 ${g1} KiB (from ${h1}), n2 ${g2} KiB (from ${h2})"
ok $([ $g1 -lt 65536 ] && [ $g2 -lt 65536 ]; echo $?) \
    "the peers' peak RSS grew by less than 64 MiB (n1 ${g1} KiB, n2 ${g2} KiB)"
grep -h 'pulled from' "$C/n2/log" | tail -1 | sed 's/^/# /'
rm -f "$TMP/in/big.bin"

# -- the source dies mid-way: the destination gives up and keeps nothing --
head -c $((256 * 1048576)) /dev/urandom >"$TMP/in/mid.bin"
(cd "$TMP/in" && sha256sum mid.bin >mid.sum)
n=$(grep -c 'pulling' "$C/n2/log")
id=$(ctl n1 submit --pin n2 --file "$TMP/in/mid.bin" --file "$TMP/in/mid.sum" -- sha256sum -c mid.sum)
pulling() { [ "$(grep -c 'pulling' "$C/n2/log")" -gt "$n" ]; }
ms=$(wait_for 20 pulling); ok $? "n2 starts pulling ($ms ms)"
lbcluster kill n1
ms=$(wait_for 20 logged n2 "task $id: transfer from n1 refused: no answer from the source")
ok $? "n2 gives up on a source that died, and says so ($ms ms)"
is "$(staged n2)" 0 "and leaves nothing staged"
is "$(ctl n2 list --all --json | jq --arg id "$id" '[.[] | select(.id == $id)] | length')" 0 \
    "it holds no copy of the task"
lbcluster start n1 >/dev/null
out=$(ctl n1 wait --timeout 60 "$id"); rc=$?
is "$rc:$out" "0:mid.bin: OK" "back, the home moves it again and it completes intact"
rm -f "$TMP/in/mid.bin"

# -- damaged on the way: refused by its hash, nothing kept, nothing lost --
lbcluster stop n1
LBPEER_TEST_CORRUPT_CHUNKS=1 lbcluster start n1 >/dev/null
sees_n2() { [ "$(state_of n1 n2)" = alive ]; }
wait_for 20 sees_n2 >/dev/null || bail "n1 does not see n2 after its restart"
head -c 3000000 /dev/urandom >"$TMP/in/bad.bin"
(cd "$TMP/in" && sha256sum bad.bin >bad.sum)
id=$(ctl n1 submit --pin n2 --file "$TMP/in/bad.bin" --file "$TMP/in/bad.sum" -- sha256sum -c bad.sum)
ms=$(wait_for 20 logged n2 "task $id: transfer from n1 refused: att/bad.bin: its hash does not match the source's")
ok $? "a damaged chunk is refused by the file's hash, with a clear log line ($ms ms)"
is "$(staged n2)" 0 "nothing of it is left staged"
ok $(ctl n2 stats --json | jq -e '.xfer_failed_hash >= 1' >/dev/null; echo $?) "lbctl stats counts it"
is "$(ctl n1 show --json "$id" | jq -r '.state')" queued "the task stays at its source, not run"
lbcluster stop n1
lbcluster start n1 >/dev/null
wait_for 20 sees_n2 >/dev/null || bail "n1 does not see n2 after its restart"
out=$(ctl n1 wait --timeout 60 "$id"); rc=$?
is "$rc:$out" "0:bad.bin: OK" "with an honest source again, it moves and completes intact"

# -- limits and bad input at submit --
lbcluster down >/dev/null
lbcluster up 1 --set task.attach_limit_mb=8 >/dev/null || bail "no cluster"
head -c 9000000 /dev/zero >"$TMP/in/nine.bin"
out=$(ctl n1 submit --file "$TMP/in/nine.bin" -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --file nine.bin: 9000000 bytes, over the limit of 8 MiB \(task.attach_limit_mb\)" \
    "an attachment over task.attach_limit_mb is refused before it is sent"
is "$(ls "$C/n1/state/tasks/.up" | wc -l | tr -d ' ')" 0 "and nothing is left of it"
done_testing
