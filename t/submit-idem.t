#!/bin/bash
# submit-idem.t - a submit runs once however often it is sent (issue 18):
# the same --request-id gives the same task, before and after its home was
# killed and restarted, with an attachment uploaded in pieces too (the
# upload sent again is dropped); a request id reused for another program
# is refused; a cancel sent again is no failure; a bad --request-id is a
# usage error.
. "$top_srcdir/t/lib.sh"

lbcluster up 1 --set slots=4 --set balance.policy=none >/dev/null || bail "no cluster"
hex() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
count() { ctl n1 list --all --json | jq length; }

rid=$(hex)
id1=$(ctl n1 submit --request-id "$rid" -- lbwork --ms 600000); rc=$?
like "$rc:$id1" '^0:n1\.[0-9]+$' "a submit with --request-id prints an id"
id2=$(ctl n1 submit --request-id "$rid" -- lbwork --ms 600000); rc=$?
is "$rc:$id2" "0:$id1" "the same submit again (same request id): the same id"
is "$(count)" 1 "and one task"
is "$(ctl n1 show --json "$id1" | jq -r .request_id)" "$rid" "show --json names its request id"

running() { [ "$(ctl n1 show --json "$id1" | jq -r .state)" = running ]; }
wait_for 20 running >/dev/null
lbcluster kill n1
lbcluster start n1 >/dev/null || bail "n1 did not restart"
id3=$(ctl n1 submit --request-id "$rid" -- lbwork --ms 600000); rc=$?
is "$rc:$id3" "0:$id1" "its home killed (SIGKILL) and restarted: the same submit again, the same id"
is "$(count)" 1 "still one task"
id4=$(ctl n1 submit --request-id "${rid^^}" -- lbwork --ms 600000); rc=$?
is "$rc:$id4" "0:$id1" "the request id in upper case is the same"
out=$(ctl n1 submit --request-id "$rid" -- lbwork --ms 1 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: the request id of this submit is task $id1's, which runs another program" \
    "the request id with another program: refused (exit 1), the task named"
is "$(count)" 1 "and nothing made"

a=$(ctl n1 submit -- true)
b=$(ctl n1 submit -- true)
ok $([ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; echo $?) \
    "without --request-id each submit is its own task ($a, $b)"

# An attachment over 256 KiB is uploaded in pieces before the submit.
head -c 400000 /dev/urandom >"$TMP/big.bin"
sum=$(sha256sum <"$TMP/big.bin" | cut -d' ' -f1)
rid2=$(hex)
u1=$(ctl n1 submit --request-id "$rid2" --file "$TMP/big.bin" -- sha256sum big.bin); rc=$?
like "$rc:$u1" '^0:n1\.[0-9]+$' "a submit with an uploaded attachment"
u2=$(ctl n1 submit --request-id "$rid2" --file "$TMP/big.bin" -- sha256sum big.bin); rc=$?
is "$rc:$u2" "0:$u1" "the same again: the same id"
is "$(ls -A "$LBCLUSTER_DIR/n1/state/tasks/.up" | wc -l)" 0 \
    "and what it uploaded again is dropped, not kept"
out=$(ctl n1 wait "$u1"); rc=$?
is "$rc:${out%% *}" "0:$sum" "the task ran once, with its file"
is "$(ctl n1 show --json "$u1" | jq .starts)" 1 "once"

# Cancel: a cancel sent again is no failure.
out=$(ctl n1 cancel "$id1"); rc=$?
is "$rc:$out" "0:$id1: cancelled" "cancel"
out=$(ctl n1 cancel "$id1" 2>&1); rc=$?
is "$rc:$out" "0:$id1: already cancelled" "a cancel sent again: exit 0, already cancelled"

# A bad request id: a usage error, nothing submitted.
before=$(count)
for bad in "" 0123 "${rid}0" "${rid:1}" "g${rid:1}" "${rid:0:30} 1"; do
	out=$(ctl n1 submit --request-id "$bad" -- true 2>&1); rc=$?
	like "$rc:$out" '^2:lbctl: --request-id: expected 32 hex digits, got "' \
	    "--request-id \"$bad\": a usage error (exit 2)"
done
is "$(count)" "$before" "and nothing was submitted"

done_testing
