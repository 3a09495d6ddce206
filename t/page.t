#!/bin/bash
# page.t - the live page at / of the http listener: its files served with
# their types and cache headers, /api/history and /api/task?id=ID (pending
# while a remote home answers; no output unless http_output), bad requests
# refused with the peer unaffected; then the page itself, loaded in
# headless Chromium against a live 4-peer cluster, lists every peer with its
# state and a task that moved with its hosts in order.  A screenshot is kept
# in t/page.png (of the build directory).
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=4 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=3000 >/dev/null || bail "no cluster"
for n in n2 n3 n4; do
	wait_for 10 eval 'test "$(state_of n1 $n)" = alive' >/dev/null || bail "n1 never saw $n"
done
wait_for 10 eval 'test "$(state_of n2 n1)" = alive' >/dev/null || bail "n2 never saw n1"

H1=$(lbcluster http n1); H2=$(lbcluster http n2); H4=$(lbcluster http n4)
get() { curl -s --max-time 5 "$@"; }
code() { curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
# header URL NAME [curl args]: one response header's value.
header() {
	local url=$1 name=$2; shift 2
	curl -s --max-time 5 -D - -o /dev/null "$@" "$url" | tr -d '\r' |
	    awk -v n="$name" 'tolower($0) ~ "^" tolower(n) ": " { sub(/^[^:]*: /, ""); print; exit }'
}

# Work (with a slot left for each): two tasks that stay at n1, one at n2,
# and a checkpointable one moved n1 -> n3 while it runs.
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }
for i in 1 2; do ctl n1 submit -- lbwork --ms 30000 >/dev/null; done
ctl n2 submit -- lbwork --ms 30000 >/dev/null
# (300 s: it runs at n3 until the test ends, however slow the machine)
id=$(ctl n1 submit --checkpointable -- lbwork --ms 300000 --state-kb 64)
wait_for 10 running_at "$id" n1 >/dev/null
sleep 0.3
out=$(ctl n1 migrate "$id" --to n3); rc=$?
like "$rc:$out" "^0:$id: moved to n3" "a running task $id moves n1 -> n3"
short=$(ctl n1 submit -- sh -c 'echo $((6 * 7))-secret; echo $((6 * 7))-err >&2')
ctl n1 wait "$short" >/dev/null 2>&1

# The page's files.
is "$(code "http://$H1/")" 200 "GET /: 200"
is "$(header "http://$H1/" Content-Type)" "text/html; charset=utf-8" "/ is text/html"
is "$(header "http://$H1/page.js" Content-Type)" "text/javascript; charset=utf-8" "/page.js is JavaScript"
is "$(header "http://$H1/page.css" Content-Type)" "text/css; charset=utf-8" "/page.css is CSS"
is "$(header "http://$H1/" Cache-Control)" "no-cache" "the page: Cache-Control no-cache (asked again, 304 if unchanged)"
etag=$(header "http://$H1/page.js" ETag)
like "$etag" '^"[0-9a-f]{16}"$' "an ETag"
is "$(code -H "If-None-Match: $etag" "http://$H1/page.js")" 304 "If-None-Match with it: 304"
like "$(header "http://$H1/" Content-Security-Policy)" "^default-src 'none'; script-src 'self'" \
    "a policy that admits nothing from elsewhere"
is "$(header "http://$H1/api/peers" Cache-Control)" "no-store" "/api/*: Cache-Control no-store"
html=$(get "http://$H1/")
like "$html" '<meta name="viewport" content="width=device-width' "a viewport for phones"
if grep -Eq '(src|href)="(https?:)?//' <<<"$html$(get "http://$H1/page.js")$(get "http://$H1/page.css")"; then
	fail "the page names no other site"
else
	pass "the page names no other site"
fi

# /api/history: a sample every 2 s of every member.
hist_full() { [ "$(get "http://$H1/api/history" | jq '[.peers[] | select(.load | length > 0)] | length')" = 4 ]; }
wait_for 6 hist_full >/dev/null
ok $? "/api/history: the load of all 4 members"
h=$(get "http://$H1/api/history")
is "$(jq -c '[.interval_ms, (.at | length) == .samples, ([.peers[].load | length] | unique | length)]' <<<"$h")" \
    "[2000,true,1]" "/api/history: one time and one value per member for each sample"
is "$(jq -r '[.peers[].id] | join(" ")' <<<"$h")" "n1 n2 n3 n4" "/api/history: the members in id order"

# /api/task?id=ID: what lbctl --json show prints.
t=$(get "http://$H1/api/task?id=$id")
is "$(jq -c '[.id, .host, [.hosts[].node], (.migrations | length)]' <<<"$t")" \
    "[\"$id\",\"n3\",[\"n1\",\"n3\"],1]" "/api/task at the home: host n3, hosts n1 n3, one migration"
is "$(jq -c '[.hosts[].node]' <<<"$t")" "$(ctl n1 --json show "$id" | jq -c '[.hosts[].node]')" \
    "/api/task: the hosts lbctl --json show prints"
# (the answer itself: a later request may find a new round pending, 202)
remote() {
	rbody=$(get -w '\n%{http_code}' "http://$H2/api/task?id=$id")
	[ "${rbody##*$'\n'}" = 200 ]
}
first=$(code "http://$H2/api/task?id=$id")
like "$first" '^(200|202)$' "/api/task at n2 (not the home): 202 pending, or 200"
wait_for 10 remote >/dev/null
ok $? "/api/task at n2: 200 once the home has answered"
is "$(printf '%s' "${rbody%$'\n'*}" | jq -r .host)" n3 "n2 tells the same host"
t=$(get "http://$H1/api/task?id=$short")
is "$(jq -c '[.state, has("stdout"), has("stderr"), .stdout_bytes > 0]' <<<"$t")" '["done",false,false,true]' \
    "http_output off: no stdout or stderr, only their sizes"
if grep -q 42- <<<"$t"; then fail "the output is nowhere in the answer"; else pass "the output is nowhere in the answer"; fi
is "$(code "http://$H1/api/task")" 400 "/api/task without an id: 400"
is "$(code "http://$H1/api/task?id=../../etc/passwd")" 400 "/api/task?id=../../etc/passwd: 400"
is "$(code "http://$H1/api/task?id=n1.0")" 400 "/api/task?id=n1.0 (not an id): 400"
is "$(code "http://$H1/api/task?id=%zz")" 400 "a malformed query: 400"
is "$(code "http://$H1/api/task?id=n1.99999")" 404 "an unknown task of this home: 404"

# Bad input: a plain error status, and the peer goes on.
is "$(code "http://$H1/nope")" 404 "an unknown path: 404"
is "$(code "http://$H1/index.htm")" 404 "a near miss: 404"
is "$(code -X POST "http://$H1/")" 405 "POST /: 405"
is "$(code -X POST -d x=1 "http://$H1/api/task?id=$id")" 405 "POST /api/task: 405"
is "$(header "http://$H1/" Allow -X PUT)" "GET, HEAD" "405 says what is allowed"
like "$(curl -s --max-time 5 -I "http://$H1/" | head -1 | tr -d '\r')" "^HTTP/1.1 200" "HEAD /: 200"
big=$(head -c 20000 /dev/zero | tr '\0' a)
like "$(code -H "X-Big: $big" "http://$H1/")" '^4[0-9][0-9]$' "a request over the limit: refused (4xx)"
like "$(code "http://$H1/api/task?id=${big:0:6000}")" '^4[0-9][0-9]$' "a long id: refused (4xx)"
is "$(code "http://$H1/")" 200 "after all that, n1 still serves /"
ctl n1 status >/dev/null
ok $? "and answers lbctl"

# The page in a browser.
browser=""
for b in chromium chromium-browser google-chrome; do
	command -v "$b" >/dev/null && { browser=$b; break; }
done
# --no-sandbox: the tests may run as root, where Chromium's sandbox will
# not start; the page is our own.
chrome() {
	timeout 60 "$browser" --headless=new --no-sandbox --disable-gpu \
	    --no-first-run --disable-extensions --hide-scrollbars \
	    --user-data-dir="$TMP/chrome" \
	    --virtual-time-budget="${BUDGET_MS:-6000}" "$@" \
	    2>>"$TMP/chrome.log"
}
if [ -z "$browser" ] || ! chrome --dump-dom "about:blank" >/dev/null; then
	skip "no Chromium that runs here (./bootstrap installs it): the page is not loaded"
else
	dom=$(chrome --dump-dom "http://$H1/?task=$id")
	for n in n1 n2 n3 n4; do
		like "$dom" "<tr class=\"peer[^\"]*\" data-id=\"$n\" data-state=\"alive\"[^>]*>" \
		    "the page lists $n, alive"
	done
	like "$dom" "<tr class=\"peer self\" data-id=\"n1\"" "it names n1 as the peer it asks"
	like "$dom" "<svg class=\"spark\"[^>]*>.*<polyline" "with a chart of load"
	like "$dom" "<tr class=\"task[^\"]*\" data-id=\"$id\" data-host=\"n3\" data-moves=\"1\"" \
	    "the task list shows $id at n3, moved once"
	like "$dom" "<ol id=\"hosts\"><li data-node=\"n1\">n1 .*</li><li data-node=\"n3\" class=\"current\">n3 " \
	    "?task=$id: its hosts in order, n1 then n3 (current)"
	like "$dom" "<td>n1</td><td>n3</td>" "and its migration n1 -> n3"
	like "$dom" "<ol id=\"chain\" class=\"chain\" data-epoch=\"[0-9]+\"><li data-node=\"n3\">n3</li></ol>" \
	    "and the forwarding chain from n1 (its home): one hop, n3"
	like "$dom" "id=\"balancing\"><div class=\"head\">Balancing</div><dt>policy</dt><dd>none</dd>" \
	    "the balancing figures"
	like "$dom" "<dt>in / out</dt><dd>0 / 1</dd>" "the migration figures (one out)"
	like "$dom" "id=\"messages\"><div class=\"head\">Messages to tasks</div><dt>sent / delivered</dt>" \
	    "and the message figures"
	like "$dom" "<p id=\"status\" class=\"status\">updated " "the page says when it was updated"
	# The page of n4, neither the home (n1) nor the host (n3) of $id:
	# the cluster's tasks, with its true host; n3's row counts it.
	dom=$(chrome --dump-dom "http://$H4/")
	like "$dom" "<tr class=\"task[^\"]*\" data-id=\"$id\" data-host=\"n3\" data-moves=\"1\"" \
	    "the page at n4 (neither home nor host) lists $id at n3, moved once"
	like "$dom" "<td class=\"home\">n1</td><td>n3</td>" "with its home n1 and its host n3"
	like "$dom" "<tr class=\"peer\" data-id=\"n3\" data-state=\"alive\" data-running=\"[1-9][0-9]*\"" \
	    "and n3's row shows the task it runs (running >= 1)"
	like "$dom" "<span id=\"task-count\" class=\"count\">[0-9]+ running" \
	    "and the cluster's tasks counted by state"
	dom=$(chrome --dump-dom "http://$H4/?figures=cluster")
	like "$dom" "<dt>in / out</dt><dd>1 / 1</dd>" \
	    "?figures=cluster at n4: the migrations of all peers summed (1 in at n3, 1 out at n1)"
	like "$dom" "<small id=\"figures-note\">\(summed over 4 peers" "and it says over how many peers"
	shot4="$top_builddir/t/page-n4.png"
	rm -f "$shot4"
	chrome --window-size=1280,1100 --screenshot="$shot4" "http://$H4/" >/dev/null
	[ -s "$shot4" ]
	ok $? "a screenshot of n4's page"
	# (the answer is pending at first; on a loaded machine it may come
	# after the browser's budget: looked at again, three times at most)
	hosts_re="<ol id=\"hosts\"><li data-node=\"n1\">n1 .*</li><li data-node=\"n3\" class=\"current\">n3 "
	for try in 1 2 3; do
		dom=$(chrome --dump-dom "http://$H2/?task=$id")
		[[ $dom =~ $hosts_re ]] && break
	done
	like "$dom" "$hosts_re" \
	    "the page at n2 (the answer pending first): the same hosts"
	shot="$top_builddir/t/page.png"
	rm -f "$shot"
	chrome --window-size=1280,1100 --screenshot="$shot" "http://$H1/?task=$id" >/dev/null
	[ -s "$shot" ]
	ok $? "a screenshot of the page"
	diag "screenshot: $shot"

	# A task that moves while the page watches: the page sees its host
	# change.  Virtual time runs the page's polls back to back (a hundred
	# or so a second of real time), so the moves (n2 <-> n4) go on until
	# the browser is done (the task outlives that however slow the machine;
	# the cluster's end stops it).
	w=$(ctl n2 submit --checkpointable -- lbwork --ms 300000 --state-kb 16)
	wait_for 10 eval '[ "$(ctl n2 show --json "$w" | jq -r ".state + \" \" + .host")" = "running n2" ]' >/dev/null
	BUDGET_MS=400000 chrome --dump-dom "http://$H2/" >"$TMP/live.html" &
	cpid=$!
	to=n4 moved=0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$cpid" 2>/dev/null || break
		if ctl n2 migrate "$w" --to "$to" >/dev/null 2>&1; then
			moved=$((moved + 1))
			if [ "$to" = n4 ]; then to=n2; else to=n4; fi
		fi
		sleep 0.3
	done
	wait "$cpid"
	diag "$moved moves while the browser watched"
	like "$(tr -d '\n' <"$TMP/live.html")" "<tr class=\"task[^\"]*\" data-id=\"$w\" data-host=\"n[24]\" data-moves=\"[1-9][0-9]*\" data-seen-moves=\"[1-9][0-9]*\"><td>.*</td><td>n[24]<span class=\"from\"" \
	    "the page at n2 saw $w move while it watched, and says where from"
fi

# http_output on: the output is shown.
lbcluster up 1 --dir "$TMP/cluster2" --set http_output=true >/dev/null || bail "no cluster2"
o=$(lbcluster --dir "$TMP/cluster2" ctl n1 submit -- sh -c 'echo page-out; echo page-err >&2')
lbcluster --dir "$TMP/cluster2" ctl n1 wait "$o" >/dev/null 2>&1
t=$(get "http://$(lbcluster --dir "$TMP/cluster2" http n1)/api/task?id=$o")
is "$(jq -c '[.stdout, .stderr, .stdout_cut]' <<<"$t")" '["page-out\n","page-err\n",false]' \
    "http_output = true: /api/task shows stdout and stderr"

done_testing
