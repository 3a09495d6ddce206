#!/bin/bash
# config.t - every bad configuration is refused with FILE:LINE: message.
. "$top_srcdir/t/lib.sh"

D=$TMP
# check NAME CONTENT EXPECTED-REGEX: lbpeer -n must fail, print the regex.
check() {
	local name=$1 content=$2 want=$3 out rc
	printf '%s\n' "$content" >"$D/$name.conf"
	out=$(lbpeer -n -c "$D/$name.conf" 2>&1); rc=$?
	if [ $rc -eq 1 ] && [[ $out == *"$D/$name.conf:"* ]] && [[ $out =~ $want ]]; then
		pass "$name: $want"
	else
		fail "$name: expected exit 1 and '$want'"
		diag "  exit $rc, output: $out"
	fi
}

good='id = "n1";
state_dir = "'$D'/state";
control = "'$D'/ctl.sock";'

printf '%s\n' "$good" >"$D/good.conf"
out=$(lbpeer -n -c "$D/good.conf" 2>&1); rc=$?
is "$rc:$out" "0:configuration OK" "a minimal file (only id) is OK"
out=$(lbpeer -n -c "$top_srcdir/conf/peer.conf" 2>&1); rc=$?
is "$rc:$out" "0:configuration OK" "the commented example conf/peer.conf is OK"
printf '%s\n' "$good" 'listen = "tcp://10.1.2.3:7000";' >"$D/routable.conf"
out=$(lbpeer -n -c "$D/routable.conf" 2>&1); rc=$?
is "$rc:$out" "0:configuration OK" \
    "a routable address without secret_file is OK (the peer's own key guards it)"

check missing-id 'cluster = "x";' ':1: missing setting "id"'
check syntax "$good"'
slots = 4;
gossip = { interval_ms = = 5; };' ':5: syntax error'
check unknown-key "$good"'
colour = "blue";' ':4: unknown setting "colour"'
check unknown-nested "$good"'
gossip = {
  interval_ms = 100;
  fanout = 3;
};' ':6: unknown setting "gossip.fanout"'
check wrong-type "$good"'
slots = "four";' ':4: slots must be an integer, not a string'
check insecure-gone "$good"'
insecure = false;' ':4: insecure no longer exists: every message is authenticated now'
check out-of-range "$good"'
slots = 100000;' ':4: slots = 100000 is out of range \(0\.\.4096\)'
check out-of-range-nested "$good"'
gossip = { interval_ms = 0; };' ':4: gossip.interval_ms = 0 is out of range'
check bad-id 'id = "n1.x";' ':1: id "n1.x": use letters'
check bad-listen "$good"'
listen = "127.0.0.1:7000";' ':4: listen: address "127.0.0.1:7000" is not tcp://HOST:PORT'
check bad-port "$good"'
listen = "tcp://127.0.0.1:99999";' ':4: listen: .*port must be 1\.\.65535'
check bad-seed "$good"'
seeds = ("tcp://127.0.0.1:7000",
         42);' ':5: seeds\[1\] must be a string'
check mixed-array "$good"'
seeds = ["tcp://127.0.0.1:7000",
         42];' ':5: mismatched element type'
check not-a-group "$good"'
gossip = 5;' ':4: gossip must be a group'
check timing-order "$good"'
gossip = {
  suspect_ms = 3000;
  dead_ms = 2000;
};' ':6: gossip.dead_ms \(2000\) must be larger than gossip.suspect_ms'
check wildcard-no-advertise "$good"'
listen = "tcp://0.0.0.0:7000";' ':4: listen on 0.0.0.0 needs "advertise"'
check bad-log-level "$good"'
log = { level = "loud"; };' ':4: log.level = "loud": expected'
check bad-attribute "$good"'
attributes = ["gpu", "has space"];' ':4: attributes\[1\] "has space"'
check bad-policy "$good"'
balance = { policy = "fastest"; };' ':4: balance.policy = "fastest": expected "none", "sender", "receiver" or "symmetric"'
check bad-location "$good"'
balance = {
  location = "nearest";
};' ':5: balance.location = "nearest": expected'
check thresholds "$good"'
balance = {
  lower_threshold = 4;
  upper_threshold = 2;
};' ':5: balance.lower_threshold \(4\) must not be above balance.upper_threshold'
check key-missing "$good"'
secret_file = "'$D'/nope.key";' ':4: secret_file: .*nope.key: No such file'
printf 'not a key\n' >"$D/bad.key"
check key-bad "$good"'
secret_file = "'$D'/bad.key";' ':4: secret_file: .*not a key'

# Several problems: all are reported, each with its line.
printf '%s\n' 'id = "n1";' 'slots = -1;' 'bogus = 1;' >"$D/many.conf"
out=$(lbpeer -n -c "$D/many.conf" 2>&1)
is "$(echo "$out" | wc -l | tr -d ' ')" 2 "every problem is reported, not just the first"
like "$out" "many.conf:2: .*many.conf:3: " "in order, each with its own line"

out=$(lbpeer -n -c "$D/absent.conf" 2>&1); rc=$?
like "$rc:$out" "^1:.*absent.conf: cannot read: No such file" "a missing file is reported"
out=$(lbpeer -x 2>&1); rc=$?
is "$rc" 2 "an unknown option exits 2"
out=$(lbpeer --help); rc=$?
like "$rc:$out" "^0:usage: lbpeer" "--help prints usage and exits 0"

# Start-up failures: a clear message and exit 1, within a few seconds.
start_fails() { # name content want
	local name=$1 content=$2 want=$3 out rc
	printf '%s\n' "$content" >"$D/$name.conf"
	out=$(timeout 10 lbpeer -f -c "$D/$name.conf" 2>&1); rc=$?
	if [ $rc -eq 1 ] && [[ $out =~ $want ]]; then pass "start: $name: $want"
	else fail "start: $name: expected exit 1 and '$want'"; diag "  exit $rc: $out"; fi
}
start_fails state-dir-unwritable 'id = "n1";
state_dir = "/dev/null/state";
control = "'$D'/c1.sock";' 'cannot create /dev/null/state'
start_fails control-unwritable 'id = "n1";
state_dir = "'$D'/s2";
control = "/dev/null/x/ctl.sock";' 'control /dev/null/x/ctl.sock'
# A listen address already in use (by a peer we start here).
port=$(( 30000 + RANDOM % 20000 ))
printf '%s\n' 'id = "n1";' "listen = \"tcp://127.0.0.1:$port\";" \
    "state_dir = \"$D/s3\";" "control = \"$D/c3.sock\";" >"$D/first.conf"
lbpeer -f -c "$D/first.conf" 2>"$D/first.log" &
first=$!
for _ in $(seq 50); do lbctl -s "$D/c3.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
start_fails listen-in-use 'id = "n2";
listen = "tcp://127.0.0.1:'$port'";
state_dir = "'$D'/s4";
control = "'$D'/c4.sock";' "listen tcp://127.0.0.1:$port: Address already in use"
start_fails control-in-use 'id = "n2";
listen = "tcp://127.0.0.1:'$((port + 1))'";
state_dir = "'$D'/s5";
control = "'$D'/c3.sock";' "another lbpeer is running there"
kill $first; wait $first 2>/dev/null

done_testing
