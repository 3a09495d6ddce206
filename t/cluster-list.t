#!/bin/bash
# cluster-list.t - the cluster's tasks from any peer: lbctl list --cluster
# and /api/tasks?scope=cluster at a peer that is neither a task's home nor
# its host show it with its true host; filters; pages that walk every task
# once, in order (5,000 of them through the API); a peer that does not
# answer is named and the rest shown; bad input refused.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=2 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=3000 >/dev/null || bail "no cluster"
lbcluster wait 4 >/dev/null || bail "the cluster did not form"
H2=$(lbcluster http n2)
get() { curl -s --max-time 5 "$@"; }

# A page of the API, asked again while it is pending (202): CODE BODY.
api() {
	local i code
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s --max-time 5 -o "$TMP/api.json" -w '%{http_code}' "http://$H2/api/tasks?$1")
		[ "$code" = 202 ] || break
		sleep 0.05
	done
	echo "$code $(cat "$TMP/api.json")"
}

# 1. A task of n1's moved to n3 while it runs; n2 lists it.
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }
id=$(ctl n1 submit --checkpointable -- lbwork --ms 60000 --state-kb 16) || bail "submit"
wait_for 10 running_at "$id" n1 >/dev/null || bail "$id never ran at n1"
ctl n1 migrate "$id" --to n3 >/dev/null || bail "$id did not move"
wait_for 10 running_at "$id" n3 >/dev/null || bail "$id never ran at n3"
for n in n1 n2 n3 n4; do
	ctl $n submit -- lbwork --ms 60000 >/dev/null || bail "submit at $n"
done
out=$(ctl n2 list --cluster --json); rc=$?
is "$rc" 0 "list --cluster at n2 exits 0"
is "$(echo "$out" | jq -r --arg id "$id" '.tasks[] | select(.id == $id) | .home + " " + .host + " " + .state')" \
    "n1 n3 running" "at n2, neither its home nor its host: $id, home n1, runs at n3"
is "$(echo "$out" | jq -r '[.tasks[] | has("id") and has("home") and has("host") and has("state")] | all')" \
    true "each task has id, home, host and state"
is "$(echo "$out" | jq -r '.total, (.tasks | length), (.missing | length)' | tr '\n' ' ')" \
    "5 5 0 " "every peer answered: 5 tasks, all listed"
is "$(echo "$out" | jq -r '[.tasks[].id] | join(" ")')" "n1.1 n1.2 n2.1 n3.1 n4.1" \
    "in order: by node, then number"
out=$(ctl n2 list --cluster)
like "$out" "n1\\.1 +n1 +running +n3 " "the text listing shows the home and the host too"

r=$(api 'scope=cluster')
is "$(echo "${r#* }" | jq -c '[.peers_summed, .sums.migrations.in, .sums.migrations.out]')" "[4,1,1]" \
    "/api/tasks?scope=cluster: the figures of the 4 peers summed (the one migration: in 1, out 1)"

# 2. Filters.
is "$(ctl n4 list --cluster --home n1 --json | jq -r '[.tasks[].id] | join(" ")')" "n1.1 n1.2" \
    "--home n1: n1's tasks only"
is "$(ctl n4 list --cluster --host n3 --json | jq -r '[.tasks[].host] | unique | join(" ")')" "n3" \
    "--host n3: those at n3"
is "$(ctl n4 list --cluster --state done --json | jq -r '.tasks | length')" 0 "--state done: none yet"
is "$(ctl n4 list --cluster --grep state-kb --json | jq -r '[.tasks[].id] | join(" ")')" "$id" \
    "--grep: a part of the command line"

# 3. Pages: --limit 2 walks every task once, in order.
ids="" after="" pages=0
while :; do
	if [ -n "$after" ]; then p=$(ctl n2 list --cluster --limit 2 --after "$after" --json)
	else p=$(ctl n2 list --cluster --limit 2 --json); fi
	ids+="$(echo "$p" | jq -r '[.tasks[].id] | join(" ")') "
	after=$(echo "$p" | jq -r '.next // empty')
	pages=$((pages + 1))
	[ -n "$after" ] && [ $pages -lt 10 ] || break
done
is "$(echo $ids)" "n1.1 n1.2 n2.1 n3.1 n4.1" "pages of 2 ($pages of them) give each task once, in order"

# 4. Bad input: exit 2 (lbctl), 400 (the API); the peer unaffected.
for bad in "--limit 0" "--limit 501" "--state sleeping" "--after n1" "--host a.b" "--grep $(printf 'x%.0s' {1..300})"; do
	# shellcheck disable=SC2086
	out=$(ctl n2 list --cluster $bad 2>&1); rc=$?
	is "$rc" 2 "list --cluster ${bad:0:20}: exit 2 ($out)"
done
out=$(ctl n2 list --state queued 2>&1); rc=$?
like "$rc:$out" "^2:.*go with --cluster" "--state without --cluster: exit 2, said"
long=$(printf 'x%.0s' {1..300})
for q in "scope=cluster&limit=0" "scope=cluster&state=sleeping" "scope=cluster&after=zz" \
    "scope=cluster&host=a.b" "scope=cluster&home=a.b" "scope=cluster&q=$long" "scope=everywhere"; do
	r=$(api "$q")
	like "$r" '^400 .*"error"' "/api/tasks?${q:0:40}: 400 with a message"
done
r=$(api 'scope=cluster')
is "${r%% *}" 200 "and the peer still answers"

is "$(ctl n2 list --cluster --home n9 --json | jq -c '[.missing, (.tasks | length)]')" '[["n9"],0]' \
    "--home of a peer not in the cluster: named as missing, nothing listed"

# 5. A peer that does not answer: named, the rest shown.
kill -STOP "$(cat "$LBCLUSTER_DIR/n4/pid")"
out=$(ctl n2 list --cluster --json); rc=$?
kill -CONT "$(cat "$LBCLUSTER_DIR/n4/pid")"
is "$rc:$(echo "$out" | jq -r '.missing | join(" ")')" "0:n4" "n4 stopped: it is named as missing"
is "$(echo "$out" | jq -r '[.tasks[].id] | join(" ")')" "n1.1 n1.2 n2.1 n3.1" "and the others' tasks are listed"

# 6. 5,000 tasks through the API, 500 a page: each once, in order, and
# the figures add up.
for n in n1 n2 n3 n4; do ctl $n cancel "$n.1" >/dev/null 2>&1; done
ctl n1 cancel n1.2 >/dev/null 2>&1
lbtaskbench peer "$LBCLUSTER_DIR/n1/control.sock" 2500 true >/dev/null 2>&1 || bail "lbtaskbench at n1"
lbtaskbench peer "$LBCLUSTER_DIR/n3/control.sock" 2500 true >/dev/null 2>&1 || bail "lbtaskbench at n3"
all_done() { [ "$(api 'scope=cluster&state=done&limit=1' | cut -d' ' -f2- | jq -r .total)" = 5000 ]; }
wait_for 120 all_done >/dev/null
r=$(api 'scope=cluster&state=done&limit=1')
is "$(echo "${r#* }" | jq -r '.total, .counts.done' | tr '\n' ' ')" "5000 5000 " \
    "5,000 tasks done: the total and the count by state say so"
: >"$TMP/ids"
after="" pages=0 t0=$(now_ms)
while :; do
	r=$(api "scope=cluster&state=done&limit=500${after:+&after=$after}")
	[ "${r%% *}" = 200 ] || break
	echo "${r#* }" | jq -r '.tasks[].id' >>"$TMP/ids"
	after=$(echo "${r#* }" | jq -r '.next // empty')
	pages=$((pages + 1))
	[ -n "$after" ] && [ $pages -lt 20 ] || break
done
t1=$(now_ms)
is "$pages:$(wc -l <"$TMP/ids"):$(sort -u "$TMP/ids" | wc -l)" "10:5000:5000" \
    "10 pages of 500 give the 5,000 once each ($((t1 - t0)) ms)"
# (n1.1 and n1.2 were the first tasks; lbtaskbench's at n1 start at n1.3)
# (n1.1, n1.2 and n3.1 came first: lbtaskbench's are n1.3.. and n3.2..)
(seq 3 2502 | sed 's/^/n1./'; seq 2 2501 | sed 's/^/n3./') >"$TMP/want"
ok "$(cmp -s "$TMP/ids" "$TMP/want"; echo $?)" \
    "in order: n1.3 to n1.2502, then n3.2 to n3.2501"

done_testing
