#!/bin/bash
# metrics.t - the http setting: /metrics parses as Prometheus text (a parser
# here, strict about what the format allows) and says what the cluster
# knows; /api/* is the JSON of lbctl --json; bad requests get a plain error
# status and leave the peer answering.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=2 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=1500 >/dev/null || bail "no cluster"
for n in n2 n3; do
	wait_for 10 eval 'test "$(state_of n1 $n)" = alive' >/dev/null || bail "n1 never saw $n"
done

H1=$(lbcluster http n1); H2=$(lbcluster http n2); H3=$(lbcluster http n3)
get() { curl -s --max-time 5 "$@"; }
code() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }

# prom_check: read the exposition on stdin; print "error: ..." for every
# breach of the text format 0.0.4, then "name{labels} value" for every
# sample (labels as written), for the tests below to look values up in.
prom_check() {
	awk '
	function err(m) { print "error: line " NR ": " m; bad = 1 }
	function family(n) {	# the family a sample of a histogram belongs to
		if (n ~ /_bucket$/ && type[substr(n, 1, length(n) - 7)] == "histogram")
			return substr(n, 1, length(n) - 7)
		if (n ~ /_sum$/ && type[substr(n, 1, length(n) - 4)] == "histogram")
			return substr(n, 1, length(n) - 4)
		if (n ~ /_count$/ && type[substr(n, 1, length(n) - 6)] == "histogram")
			return substr(n, 1, length(n) - 6)
		return n
	}
	BEGIN { NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$" }
	/^# HELP / {
		if ($3 !~ NAME) err("bad name in HELP: " $3)
		if ($3 in help) err("second HELP for " $3)
		if ($3 in seen) err("HELP for " $3 " after its samples")
		help[$3] = 1; next
	}
	/^# TYPE / {
		if ($3 !~ NAME) err("bad name in TYPE: " $3)
		if ($3 in type) err("second TYPE for " $3)
		if ($3 in seen) err("TYPE for " $3 " after its samples")
		if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/ || NF != 4)
			err("bad TYPE line: " $0)
		type[$3] = $4; next
	}
	/^#/ { next }
	/^$/ { err("empty line"); next }
	{
		line = $0
		if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { err("bad sample: " line); next }
		name = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1)
		labels = ""
		if (substr(rest, 1, 1) == "{") {
			if (!match(rest, /^\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*,?)?\}/)) {
				err("bad labels: " line); next
			}
			labels = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1)
		}
		if (rest !~ /^ ([-+]?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)( -?[0-9]+)?$/) {
			err("bad value: " line); next
		}
		split(substr(rest, 2), v, " ")
		f = family(name)
		if (!(f in type)) err("no TYPE before " name)
		if (!(f in help)) err("no HELP before " name)
		if (type[f] == "counter" && name !~ /_total$/) err("counter " name " without _total")
		if ((name labels) in series) err("duplicate series " name labels)
		series[name labels] = 1; seen[f] = 1
		if (type[f] == "histogram" && name ~ /_bucket$/) {
			if (labels !~ /le="/) err("bucket without le: " line)
			if (v[1] + 0 < last[f]) err("buckets of " f " not cumulative")
			last[f] = v[1] + 0
			if (labels ~ /le="\+Inf"/) inf[f] = v[1]
		}
		if (type[f] == "histogram" && name ~ /_count$/ && inf[f] != v[1])
			err(f "_count " v[1] " is not its +Inf bucket " inf[f])
		print name labels " " v[1]
	}
	END { exit bad }'
}
# metric TEXT SERIES: the value of one series ("" if absent).
metric() { awk -v s="$2" '$1 == s { print $2 }' <<<"$1"; }

for h in "$H1" "$H2" "$H3"; do
	text=$(get "http://$h/metrics")
	out=$(prom_check <<<"$text"); rc=$?
	is "$rc:$(grep '^error' <<<"$out" | head -3)" "0:" "$h/metrics parses as Prometheus text"
	is "$(metric "$out" 'lbpeer_members{state="alive"}')" 3 "$h: 3 members alive"
done
# promtool's own check (Debian's prometheus package; ./bootstrap installs
# it): every metric with HELP and TYPE, names as Prometheus wants them.
if command -v promtool >/dev/null; then
	out=$(get "http://$H1/metrics" | promtool check metrics 2>&1); rc=$?
	is "$rc:$out" "0:" "promtool check metrics: no complaint"
else
	skip "no promtool here (the prometheus package)"
fi
text=$(get "http://$H1/metrics" | prom_check)
for m in lbpeer_swim_probes_total lbpeer_swim_probes_failed_total \
    lbpeer_swim_suspicions_total lbpeer_swim_refutes_total \
    lbpeer_swim_health_score lbpeer_swim_dead_declared_total; do
	like "$(metric "$text" "$m")" '^[0-9]+$' "the failure detector's $m"
done
probed() { [ "$(metric "$(get "http://$H1/metrics" | prom_check)" lbpeer_swim_probes_total)" -gt 0 ]; }
wait_for 10 probed >/dev/null
ok $? "n1 probes its peers (lbpeer_swim_probes_total grows)"
ctype=$(curl -s --max-time 5 -o /dev/null -w '%{content_type}' "http://$H1/metrics")
is "$ctype" "text/plain; version=0.0.4; charset=utf-8" "the content type names format 0.0.4"
is "$(lbcluster ctl n1 --json status | jq -r .http)" "$H1" "lbctl status --json names http"

# The parser itself refuses what is wrong (it would pass anything else).
bad=$(printf '# HELP x_total a\n# TYPE x_total counter\nx_total 1\nx_total 2\n9y 1\n' | prom_check)
like "$bad" "duplicate series x_total.*bad sample: 9y" "the parser catches a duplicate and a bad name"

# Tasks: N submitted at n1, all run; n1 (their home) counts them.
N=4
ids=()
for i in $(seq $N); do ids+=("$(ctl n1 submit -- lbwork --ms 50)"); done
for id in "${ids[@]}"; do ctl n1 wait "$id" >/dev/null; done
out=$(get "http://$H1/metrics" | prom_check)
is "$(metric "$out" lbpeer_submissions_total)" $N "n1: lbpeer_submissions_total = $N"
is "$(metric "$out" lbpeer_results_total)" $N "n1: lbpeer_results_total = $N (the home)"
is "$(metric "$out" 'lbpeer_tasks_homed_by_state{state="done"}')" $N \
    "n1: lbpeer_tasks_homed_by_state{state=\"done\"} = $N"
is "$(metric "$out" lbpeer_tasks_homed)" "$(ctl n1 --json status | jq .tasks_homed)" \
    "n1: lbpeer_tasks_homed is what lbctl status says"
out=$(get "http://$H2/metrics" | prom_check)
is "$(metric "$out" lbpeer_results_total)" 0 "n2: no results (not a home)"

# A running task moved n1 -> n2: one freeze in n2's histogram.
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }
id=$(ctl n1 submit --checkpointable -- lbwork --ms 2000 --state-kb 64)
wait_for 10 running_at "$id" n1 >/dev/null
sleep 0.3
out=$(ctl n1 migrate "$id" --to n2); rc=$?
like "$rc:$out" "^0:$id: moved to n2" "a running task moves n1 -> n2"
out=$(get "http://$H2/metrics" | prom_check)
is "$(metric "$out" lbpeer_migration_freeze_seconds_count)" 1 "n2: the freeze histogram counts the move"
is "$(metric "$out" lbpeer_migrations_in_total)" 1 "n2: lbpeer_migrations_in_total = 1"
like "$(metric "$out" lbpeer_migration_freeze_seconds_sum)" '^0\.[0-9]*[1-9]' "n2: with its freeze time"
is "$(metric "$(get "http://$H1/metrics" | prom_check)" lbpeer_migrations_out_total)" 1 \
    "n1: lbpeer_migrations_out_total = 1"
ctl n1 wait "$id" >/dev/null

# /api/*: the JSON lbctl --json prints.
a=$(get "http://$H1/api/peers"); b=$(ctl n1 --json peers)
is "$(jq -c '[.[] | .id, (keys | join(","))]' <<<"$a")" "$(jq -c '[.[] | .id, (keys | join(","))]' <<<"$b")" \
    "/api/peers: the peers of lbctl --json peers, same ids and fields"
a=$(get "http://$H1/api/tasks"); b=$(ctl n1 --json list --all)
is "$(jq -c '[.[] | .id + " " + .state]' <<<"$a")" "$(jq -c '[.[] | .id + " " + .state]' <<<"$b")" \
    "/api/tasks: the tasks of lbctl --json list --all"
is "$(jq length <<<"$a")" $((N + 1)) "/api/tasks: every task homed at n1"
a=$(get "http://$H2/api/stats"); b=$(ctl n2 --json stats)
is "$(jq -c '[keys, .migrations.in, .results]' <<<"$a")" "$(jq -c '[keys, .migrations.in, .results]' <<<"$b")" \
    "/api/stats: lbctl --json stats"

# Bad input: a plain error status, and the peer goes on.
is "$(code "http://$H1/nope")" 404 "an unknown path: 404"
is "$(code -X POST "http://$H1/metrics")" 405 "POST: 405"
is "$(code -X DELETE "http://$H1/api/tasks")" 405 "DELETE: 405"
allow=$(curl -s --max-time 5 -D - -o /dev/null -X PUT "http://$H1/metrics" | tr -d '\r' | sed -n 's/^Allow: //p')
is "$allow" "GET, HEAD" "405 says what is allowed"
hd=$(curl -s --max-time 5 -I "http://$H1/metrics" | head -1 | tr -d '\r')
like "$hd" "^HTTP/1.1 200" "HEAD: 200"
big=$(head -c 20000 /dev/zero | tr '\0' a)
like "$(code -H "X-Big: $big" "http://$H1/metrics")" '^4[0-9][0-9]$' "a header over the limit: refused (4xx)"
is "$(head -c 200000 /dev/zero | code -X POST --data-binary @- "http://$H1/metrics")" 413 \
    "a body over the limit: 413"
exec 3<>"/dev/tcp/${H1%:*}/${H1#*:}"
printf 'GARBAGE\r\n\r\n' >&3
IFS= read -r -t 5 line <&3
exec 3<&-
like "${line%$'\r'}" "^HTTP/1.1 400" "a malformed request: 400"
is "$(code "http://$H1/metrics")" 200 "after all that, n1 still serves /metrics"
ctl n1 status >/dev/null
ok $? "and answers lbctl"

# A peer killed: n1 sees it dead, and counts one failure detection.
lbcluster kill n3
dead_seen() { [ "$(metric "$(get "http://$H1/metrics" | prom_check)" 'lbpeer_members{state="dead"}')" = 1 ]; }
wait_for 15 dead_seen >/dev/null
ok $? "n3 killed: n1's lbpeer_members{state=\"dead\"} = 1"
is "$(metric "$(get "http://$H1/metrics" | prom_check)" lbpeer_failure_detections_total)" 1 \
    "n1: lbpeer_failure_detections_total = 1"

# Off: a peer without http has no listener and says so.
lbcluster up 1 --dir "$TMP/cluster2" --set 'http=""' >/dev/null || bail "no cluster2"
is "$(lbcluster --dir "$TMP/cluster2" ctl n1 --json status | jq -r .http)" "" "http = \"\": off"

# The Grafana dashboard (conf/grafana/lbpeer.json): every metric its
# queries use is one a peer serves; with promtool, each query parses as
# PromQL.  And the scrape config (conf/prometheus/lbpeer.yml) is valid,
# and lbcluster wrote the file it discovers the peers in.
dash="$top_srcdir/conf/grafana/lbpeer.json"
jq -r '.panels[].targets[].expr' "$dash" | sed 's/\$job/lbpeer/g; s/\$peer/.*/g' >"$TMP/exprs"
text=$(get "http://$H1/metrics")
missing=""
for m in $(grep -o 'lbpeer_[a-z_]*' "$TMP/exprs" | sed 's/_bucket$//' | sort -u); do
	grep -q "^# TYPE $m " <<<"$text" || missing+=" $m"
done
is "$(wc -l <"$TMP/exprs" | tr -d ' '):${missing:-none}" "$(jq '[.panels[].targets[]] | length' "$dash"):none" \
    "the dashboard's queries use only metrics a peer serves"
is "$(jq -r '.panels | length' "$dash")" 13 "the dashboard has its 13 panels"
if command -v promtool >/dev/null; then
	{
		echo "groups:"
		echo "  - name: dashboard"
		echo "    rules:"
		k=0
		while IFS= read -r e; do
			k=$((k + 1))
			printf '      - record: lbpeer:dashboard_%d\n        expr: %s\n' "$k" "$(jq -Rn --arg e "$e" '$e')"
		done <"$TMP/exprs"
	} >"$TMP/rules.yml"
	out=$(promtool check rules "$TMP/rules.yml" 2>&1); rc=$?
	like "$rc:$out" "^0:.*SUCCESS" "promtool: each of the dashboard's queries parses"
	out=$(promtool check config "$top_srcdir/conf/prometheus/lbpeer.yml" 2>&1); rc=$?
	like "$rc:$out" "^0:.*SUCCESS" "promtool: conf/prometheus/lbpeer.yml is a valid config"
else
	skip "no promtool here: the queries and the config are not checked"
fi
targets="$LBCLUSTER_DIR/prometheus-targets.json"
is "$(jq -r '[.[] | .labels.peer + "=" + .targets[0]] | join(" ")' "$targets")" \
    "n1=$H1 n2=$H2 n3=$H3" "lbcluster up wrote DIR/prometheus-targets.json: each peer's /metrics"

done_testing
