#!/bin/bash
# config.t - every bad configuration is refused with FILE:LINE: message.
. "$top_srcdir/t/lib.sh"

D=$TMP
# check NAME CONTENT EXPECTED-REGEX: lbpeer -n must fail, print the regex.
check() {
	local name=$1 content=$2 want=$3 out rc
	printf '%s\n' "$content" >"$D/$name.conf"
	out=$(timeout 10 lbpeer -n -c "$D/$name.conf" 2>&1); rc=$?
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
check hint-ms-range "$good"'
balance = { hint_ms = 0; };' ':4: balance.hint_ms = 0 is out of range'
check idle-notify-range "$good"'
balance = { idle_notify = 101; };' ':4: balance.idle_notify = 101 is out of range'
check idle-hints-type "$good"'
balance = { idle_hints = 1; };' ':4: balance.idle_hints must be true or false, not an integer'
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
check lease-short "$good"'
task = {
  lease_ms = 100;
};' ':5: task.lease_ms \(100\) must be 0 \(no leases\) or at least 400'
check lease-margin "$good"'
task = {
  lease_ms = 2000;
  lease_margin_ms = 50;
};' ':6: task.lease_margin_ms \(50\) must be at least 200'
check takeover-short "$good"'
task = {
  lease_ms = 2000;
  home_takeover_ms = 3000;
};' ':6: task.home_takeover_ms \(3000\) must be above task.lease_ms and 3 percent, plus task.lease_margin_ms \(3060\)'
check preempt-slice "$good"'
balance = { preempt = true; preempt_slice_ms = 5; };' ':4: balance.preempt_slice_ms = 5 is out of range \(10\.\.3600000\)'
check checkpoint-grace "$good"'
task = { checkpoint_grace_ms = -1; };' ':4: task.checkpoint_grace_ms = -1 is out of range'
check start-failures "$good"'
task = { max_start_failures = 0; };' ':4: task.max_start_failures = 0 is out of range \(1\.\.16\)'
check start-failures-big "$good"'
task = { max_start_failures = 17; };' ':4: task.max_start_failures = 17 is out of range \(1\.\.16\)'
check probe-timeout "$good"'
gossip = {
  probe_interval_ms = 1000;
  probe_timeout_ms = 1000;
};' ':6: gossip.probe_timeout_ms \(1000\) must be smaller than gossip.probe_interval_ms \(1000\)'
check suspicion-order "$good"'
gossip = {
  suspicion_min_ms = 5000;
  suspicion_max_ms = 2000;
};' ':6: gossip.suspicion_max_ms \(2000\) must be at least gossip.suspicion_min_ms \(5000\)'
check awareness-range "$good"'
gossip = { awareness_max = 0; };' ':4: gossip.awareness_max = 0 is out of range'
check wildcard-no-advertise "$good"'
listen = "tcp://0.0.0.0:7000";' ':4: listen on 0.0.0.0 needs "advertise"'
check http-scheme "$good"'
http = "http://127.0.0.1:7947";' ':4: http: "http://127.0.0.1:7947" is HOST:PORT, without a scheme'
check http-no-port "$good"'
slots = 2;
http = "127.0.0.1";' ':5: http: "127.0.0.1" is not HOST:PORT'
check http-bad-port "$good"'
http = "127.0.0.1:0";' ':4: http: "127.0.0.1:0" is not HOST:PORT'
check http-routable-loopback-listen "$good"'
http = "10.1.2.3:7947";' ':4: http on 10.1.2.3 is reachable from other hosts while listen is on loopback'
printf '%s\n' "$good" 'listen = "tcp://10.1.2.3:7000";' 'http = "10.1.2.3:7947";' \
    'http2 = 1;' >"$D/http-routable.conf"
out=$(lbpeer -n -c "$D/http-routable.conf" 2>&1)
like "$out" ':6: unknown setting "http2"$' \
    "http on a routable address is OK when listen is routable too"
check http-output-not-bool "$good"'
http_output = "yes";' ':4: http_output must be true or false'
printf '%s\n' "$good" 'http = "";' >"$D/http-off.conf"
out=$(lbpeer -n -c "$D/http-off.conf" 2>&1); rc=$?
is "$rc:$out" "0:configuration OK" 'http = "" (off) is OK'
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
check attach-limit-twice "$good"'
task = {
  attach_limit_mb = 512;
  attach_limit_kb = 512;
};' ':6: task.attach_limit_kb and task.attach_limit_mb are the same limit: keep only task.attach_limit_mb'
check control-max-range "$good"'
control_max_kb = 10;' ':4: control_max_kb = 10 is out of range \(64\.\.2097151\)'
check key-missing "$good"'
secret_file = "'$D'/nope.key";' ':4: secret_file: .*nope.key: No such file'
printf 'not a key\n' >"$D/bad.key"
chmod 600 "$D/bad.key"
check key-bad "$good"'
secret_file = "'$D'/bad.key";' ':4: secret_file: .*not a key'
printf '%064d\n' 0 >"$D/zero.key"
chmod 600 "$D/zero.key"
check key-zero "$good"'
secret_file = "'$D'/zero.key";' ':4: secret_file: .*the all-zero key authenticates nothing'
# A key others may read or write: anyone who reads it can forge messages.
for m in 644 640 604 620; do
	lbctl keygen "$D/k$m.key" >/dev/null && chmod $m "$D/k$m.key"
done
check key-mode-644 "$good"'
slots = 2;
secret_file = "'$D'/k644.key";' ":5: secret_file: $D/k644.key is readable by others \\(mode 0644\\); chmod 600 it"
check key-mode-640 "$good"'
secret_file = "'$D'/k640.key";' ":4: secret_file: .*k640.key is readable by its group \\(mode 0640\\); chmod 600 it"
check key-mode-604 "$good"'
secret_file = "'$D'/k604.key";' ':4: secret_file: .*k604.key is readable by others \(mode 0604\)'
check key-mode-620 "$good"'
secret_file = "'$D'/k620.key";' ':4: secret_file: .*k620.key is writable by its group \(mode 0620\)'
check key-directory "$good"'
secret_file = "'$D'";' ":4: secret_file: $D is not a regular file"
mkfifo "$D/fifo.key"
check key-fifo "$good"'
secret_file = "'$D'/fifo.key";' ':4: secret_file: .*fifo.key is not a regular file'
# The key a peer made itself in state_dir is held to the same rules.
mkdir -p "$D/state" && lbctl keygen "$D/state/cluster.key" >/dev/null
chmod 644 "$D/state/cluster.key"
out=$(lbpeer -n -c "$D/good.conf" 2>&1); rc=$?
like "$rc:$out" "^1:lbpeer: $D/state/cluster.key is readable by others \\(mode 0644\\); chmod 600 it \\(this peer's own" \
    "the peer's own key in state_dir, readable by others, is refused"
rm -rf "$D/state"

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
# An http port already in use: the setting's FILE:LINE.
printf '%s\n' 'id = "n1";' "listen = \"tcp://127.0.0.1:$((port + 2))\";" \
    "http = \"127.0.0.1:$((port + 3))\";" "state_dir = \"$D/s6\";" \
    "control = \"$D/c6.sock\";" >"$D/second.conf"
lbpeer -f -c "$D/second.conf" 2>"$D/second.log" &
second=$!
for _ in $(seq 50); do lbctl -s "$D/c6.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
out=$(lbctl -s "$D/c6.sock" --json status | jq -r .http)
is "$out" "127.0.0.1:$((port + 3))" "lbctl status --json names the http address"
start_fails http-in-use 'id = "n2";
listen = "tcp://127.0.0.1:'$((port + 4))'";
state_dir = "'$D'/s7";
http = "127.0.0.1:'$((port + 3))'";
control = "'$D'/c7.sock";' "http-in-use.conf:4: http 127.0.0.1:$((port + 3)): Address already in use"
kill $second; wait $second 2>/dev/null
kill $first; wait $first 2>/dev/null

done_testing
