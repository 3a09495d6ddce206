/*
 * page.js - the live page of lbpeer.  Reads /api/peers, a page of the
 * cluster's tasks (/api/tasks?scope=cluster, filtered), /api/stats and
 * /api/history every POLL_MS, and for the chosen task
 * (?task=ID, or a click) /api/task?id=ID and, when the peer answers it,
 * /api/locate?id=ID.  Read-only: it only ever GETs.  Everything from the
 * peer is put in the page as text (textContent), never as HTML.
 */
"use strict";

(function () {
	const POLL_MS = 1500;		/* how often the page asks */
	const HIDDEN_MS = 10000;	/* the same while the tab is hidden */
	const FLASH_MS = 5000;		/* a task that moved stays lit */
	const MAX_ROWS = 200;		/* tasks listed at most */
	const PAGE = 50;		/* the cluster's tasks a page */
	const ID_MAX = 90;		/* a task id's length at most */
	const WINDOW = 150;		/* samples a chart spans (5 min) */

	const $ = (id) => document.getElementById(id);
	let chosen = "";		/* the chosen task's id */
	const lastHost = new Map();	/* task id -> host at the last poll */
	const flashUntil = new Map();	/* task id -> when its light goes */
	const seen = new Map();		/* task id -> {from, count}: moves
					   this page saw */
	let selfId = "";
	/* The cluster's tasks: the filter, and the ids after which each page
	 * starts ("" the first); the last answer's next page. */
	let filter = { state: "active", host: "", home: "", q: "" };
	let figures = "peer";		/* whose figures: "peer" or "cluster" */
	const cursors = [""];
	let nextAfter = null;

	/* An element with attributes and text or child nodes. */
	function el(tag, attrs, ...kids) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === "class") {
				if (v)
					e.className = v;
			}
			else if (v !== undefined && v !== null)
				e.setAttribute(k, String(v));
		}
		for (const k of kids)
			e.append(k instanceof Node ? k : String(k));
		return e;
	}

	function svg(tag, attrs) {
		const e = document.createElementNS("http://www.w3.org/2000/svg",
		    tag);
		for (const [k, v] of Object.entries(attrs || {}))
			e.setAttribute(k, String(v));
		return e;
	}

	function clock(ms) {
		if (!ms)
			return "-";
		const d = new Date(ms);
		return d.toLocaleTimeString([], { hour12: false }) + "." +
		    String(d.getMilliseconds()).padStart(3, "0");
	}

	function bytes(n) {
		if (n < 1024)
			return n + " B";
		const u = ["KiB", "MiB", "GiB", "TiB"];
		let i = -1;
		do {
			n /= 1024;
			i++;
		} while (n >= 1024 && i < u.length - 1);
		return n.toFixed(n < 10 ? 1 : 0) + " " + u[i];
	}

	async function getJSON(path) {
		const r = await fetch(path, { cache: "no-store" });
		let body = null;
		try {
			body = await r.json();
		} catch (e) {
			body = null;
		}
		return { status: r.status, body: body };
	}

	/* ---- peers ---- */

	/* A small chart of a peer's load: a line per run of samples, the
	 * newest at the right, the slots dashed; the scale is the larger of
	 * slots and the peak. */
	function spark(loads, slots) {
		const w = 150, h = 28, n = Math.min(loads.length, WINDOW);
		loads = loads.slice(-n);
		const s = svg("svg", { class: "spark", viewBox: `0 0 ${w} ${h}`,
		    preserveAspectRatio: "none", role: "img" });
		const vals = loads.filter((v) => v !== null);
		const top = Math.max(slots, 1, ...vals);
		const y = (v) => (h - 1 - (v / top) * (h - 2)).toFixed(1);
		const x = (i) => (w - ((n - 1 - i) * w) / (WINDOW - 1)).toFixed(1);
		const t = svg("title");
		t.textContent = vals.length ? `load over ${n} samples: ` +
		    `peak ${Math.max(...vals)}, slots ${slots}` : "no samples yet";
		s.append(t);
		if (slots > 0)
			s.append(svg("line", { x1: 0, x2: w, y1: y(slots),
			    y2: y(slots) }));
		let pts = [];
		const flush = () => {
			if (pts.length === 1)
				pts.push(pts[0].replace(/^[^,]*/, (a) =>
				    String(Math.max(0, Number(a) - 2))));
			if (pts.length)
				s.append(svg("polyline", { points: pts.join(" ") }));
			pts = [];
		};
		loads.forEach((v, i) => {
			if (v === null)
				flush();
			else
				pts.push(`${x(i)},${y(v)}`);
		});
		flush();
		return s;
	}

	function renderPeers(peers, hist) {
		const tb = $("peers").tBodies[0];
		const byId = new Map();
		for (const hp of (hist && hist.peers) || [])
			byId.set(hp.id, hp);
		const rows = peers.map((p) => {
			/* Its tasks as they are (an older peer says only its
			 * load: what balancing counts) */
			const run = p.running ?? p.load, wait = p.waiting ?? 0;
			const free = Math.max(0, p.slots - p.load);
			const frac = p.slots > 0 ? run / p.slots : (run ? 1 : 0);
			const bar = el("span", { class: "bar" + (frac > 1 ? " over" : "") },
			    el("span"));
			bar.firstChild.style.width = Math.min(100, frac * 100) + "%";
			const hp = byId.get(p.id);
			return el("tr", { class: "peer" + (p.self ? " self" : ""),
			    "data-id": p.id, "data-state": p.state,
			    "data-running": run, "data-waiting": wait },
			    el("td", {}, p.id),
			    el("td", {}, el("span", { class: "state state-" + p.state },
			    p.state)),
			    el("td", { class: "load", title: `balancing counts ` +
			    `${p.load} (${free} free: a slot whose task would ` +
			    `yield to a new one counts as free)` }, bar,
			    `${run} / ${p.slots}` + (wait ? ` +${wait} waiting` : ""),
			    el("span", { class: "free" }, ` \u00b7 ${free} free`)),
			    el("td", {}, spark(hp ? hp.load : [], p.slots)));
		});
		tb.replaceChildren(...rows);
		const alive = peers.filter((p) => p.state === "alive" ||
		    p.state === "draining").length;
		$("peer-count").textContent = `${alive} of ${peers.length} alive`;
		const me = peers.find((p) => p.self);
		if (me && me.id !== selfId) {
			selfId = me.id;
			$("self").textContent = selfId;
			document.title = "lbpeer " + selfId;
		}
	}

	/* ---- tasks ---- */

	const ORDER = { running: 0, queued: 1 };

	function moves(t) {
		return Math.max(0, (t.hosts || []).length - 1);
	}

	function taskLink(id) {
		const a = el("a", { href: "?task=" + encodeURIComponent(id) }, id);
		a.addEventListener("click", (ev) => {
			ev.preventDefault();
			choose(id);
		});
		return a;
	}

	function ran(t) {
		if (!t.started_at)
			return "-";
		const end = t.finished_at || Date.now();
		const s = Math.max(0, (end - t.started_at) / 1000);
		return s < 100 ? s.toFixed(1) + " s" : Math.round(s) + " s";
	}

	function home(t) {
		return t.home || t.id.slice(0, t.id.lastIndexOf("."));
	}

	/* The page of the cluster's tasks the filter and cursor say: asked
	 * again while the peers are asked (202), a few seconds at most. */
	async function getTasks() {
		const q = new URLSearchParams({ scope: "cluster",
		    state: filter.state, limit: String(PAGE) });
		for (const k of ["host", "home", "q"])
			if (filter[k])
				q.set(k, filter[k]);
		if (cursors[cursors.length - 1])
			q.set("after", cursors[cursors.length - 1]);
		let r;
		for (let i = 0; i < 40; i++) {
			r = await getJSON("api/tasks?" + q.toString());
			if (r.status !== 202)
				break;
			await new Promise((ok) => setTimeout(ok, 100));
		}
		return r;
	}

	function tasksError(why) {
		$("tasks").tBodies[0].replaceChildren();
		$("task-count").textContent = "";
		nextAfter = null;
		$("p-next").disabled = true;
		const more = $("tasks-more");
		more.hidden = false;
		more.textContent = "the cluster's tasks: " + why;
	}

	function renderTasks(body) {
		const tasks = body.tasks || [];
		const now = Date.now();
		for (const t of tasks) {
			const was = lastHost.get(t.id);
			if (was !== undefined && was !== t.host) {
				flashUntil.set(t.id, now + FLASH_MS);
				seen.set(t.id, { from: was,
				    count: ((seen.get(t.id) || {}).count || 0) + 1 });
			}
			lastHost.set(t.id, t.host);
		}
		const sorted = tasks.slice().sort((a, b) =>
		    (ORDER[a.state] ?? 2) - (ORDER[b.state] ?? 2) ||
		    (b.submitted_at || 0) - (a.submitted_at || 0));
		const rows = sorted.slice(0, MAX_ROWS).map((t) => {
			let cls = "task";
			if ((flashUntil.get(t.id) || 0) > now)
				cls += " moved";
			if (t.id === chosen)
				cls += " chosen";
			const sw = seen.get(t.id);
			return el("tr", { class: cls, "data-id": t.id,
			    "data-host": t.host, "data-moves": moves(t),
			    "data-seen-moves": sw ? sw.count : 0 },
			    el("td", {}, taskLink(t.id)),
			    el("td", {}, el("span", { class: "state state-" + t.state },
			    t.state)),
			    el("td", { class: "home" }, home(t)),
			    el("td", {}, t.host, sw ? el("span", { class: "from",
			    title: `moved while you watched (${sw.count}\u00d7)` },
			    ` \u2190 ${sw.from}`) : ""),
			    el("td", { class: "num" }, moves(t)),
			    el("td", { class: "num" }, ran(t)),
			    el("td", { class: "cmd", title: (t.argv || []).join(" ") },
			    (t.argv || []).join(" ")));
		});
		$("tasks").tBodies[0].replaceChildren(...rows);
		const c = body.counts || {};
		$("task-count").textContent = `${c.running || 0} running, ` +
		    `${c.queued || 0} queued, ${c.done || 0} done, ` +
		    `${(c.failed || 0) + (c.cancelled || 0)} failed or ` +
		    `cancelled; ${body.total || 0} shown by the filter`;
		nextAfter = body.next || null;
		$("p-next").disabled = !nextAfter;
		$("p-first").disabled = cursors.length <= 1;
		$("p-where").textContent = `page ${cursors.length}`;
		const more = $("tasks-more");
		const missing = body.missing || [];
		more.hidden = missing.length === 0;
		more.textContent = more.hidden ? "" : "no answer from " +
		    missing.join(", ") + ": their tasks are not listed";
		for (const id of flashUntil.keys())
			if (flashUntil.get(id) <= now)
				flashUntil.delete(id);
		/* Forget what no longer is listed: the maps stay bounded. */
		const listed = new Set(tasks.map((t) => t.id));
		for (const m of [lastHost, seen])
			for (const id of m.keys())
				if (!listed.has(id))
					m.delete(id);
	}

	/* ---- statistics ---- */

	function dl(node, title, pairs) {
		const kids = [el("div", { class: "head" }, title)];
		for (const [k, v] of pairs)
			kids.push(el("dt", {}, k), el("dd", {}, v));
		node.replaceChildren(...kids);
	}

	/* The figures of this peer, or (summed) the cluster's: their means
	 * and maxima are not summed, and shown as "-". */
	function renderStats(s, summed) {
		const m = s.migrations || {};
		const own = (v) => summed ? "-" : v;
		dl($("balancing"), "Balancing", [
			["policy", s.policy],
			["probes sent", s.probes_sent],
			["accepted / refused", `${s.probes_accepted} / ${s.probes_refused}`],
			["timed out", s.probes_timed_out],
			["backoffs", s.backoffs],
			["transfers in / out", `${s.transfers_in} / ${s.transfers_out}`],
			["aborted", s.transfers_aborted],
			["mean transfer", (s.mean_transfer_ms || 0).toFixed(1) + " ms"],
			["reruns", s.tasks_rerun],
			["results (as home)", s.results],
		]);
		dl($("migration"), "Migration", [
			["in / out", `${m.in} / ${m.out}`],
			["freeze mean", own((m.freeze_ms_mean || 0).toFixed(2) + " ms")],
			["freeze p95 / max", own((m.freeze_ms_p95 || 0).toFixed(2) +
			    " / " + (m.freeze_ms_max || 0).toFixed(2) + " ms")],
			["checkpoint mean", own((m.checkpoint_ms_mean || 0) + " ms")],
			["checkpoint timeouts", m.checkpoint_timeouts],
			["bytes in", bytes(m.bytes_in || 0)],
			["transfer bytes in / out", bytes(s.xfer_bytes_in || 0) + " / " +
			    bytes(s.xfer_bytes_out || 0)],
		]);
		const g = s.messages || {};
		const delivered = (g.hops || []).reduce((a, b) => a + b, 0);
		dl($("messages"), "Messages to tasks", [
			["sent / delivered", `${g.sent || 0} / ${g.acked || 0}`],
			["refused / timed out", `${g.refused || 0} / ${g.timed_out || 0}`],
			["delivered here", g.delivered || 0],
			["passed on (link / home)", `${g.forwarded || 0} / ${g.to_home || 0}`],
			["hops a message", delivered ?
			    (g.hops_sum / delivered).toFixed(2) : "-"],
			["links / mailboxes", `${g.links || 0} / ${g.mailboxes || 0}`],
		]);
	}

	/* ---- the chosen task ---- */

	function renderChain(body) {
		/* /api/locate: the peers a message from this peer passes on
		 * its way to the task, the holder last (none: it is here). */
		const ol = $("chain"), raw = $("chain-raw");
		const hops = body && Array.isArray(body.hops) ? body.hops : null;
		if (hops) {
			const items = hops.map((h) =>
			    el("li", { "data-node": String(h) }, String(h)));
			if (items.length === 0)
				items.push(el("li", { "data-node": body.host },
				    `${body.host} (here)`));
			ol.replaceChildren(...items);
			ol.dataset.epoch = String(body.epoch);
			ol.hidden = false;
			raw.hidden = true;
		} else {
			raw.textContent = JSON.stringify(body, null, 2);
			raw.hidden = false;
			ol.hidden = true;
		}
		$("chain-wrap").hidden = false;
	}

	function renderTask(t) {
		$("task-detail").hidden = false;
		$("task-note").textContent = "";
		const outcome = t.state === "done" ? (t.signal ?
		    `signal ${t.signal}` : `exit ${t.exit_code}`) :
		    t.state === "failed" || t.state === "cancelled" ? t.error : "";
		dl($("task-fields"), t.id, [
			["state", t.state + (outcome ? ": " + outcome : "")],
			["host", `${t.host} (epoch ${t.epoch})`],
			["command", (t.argv || []).join(" ")],
			["submitted", clock(t.submitted_at)],
			["started", clock(t.started_at)],
			["finished", clock(t.finished_at)],
			["starts / resumes", `${t.starts} / ${t.resumes}`],
			["checkpoints", t.checkpoints],
		]);
		const hosts = t.hosts || [];
		$("hosts").replaceChildren(...hosts.map((h, i) => el("li", {
		    "data-node": h.node, class: i === hosts.length - 1 &&
		    !h.left_ms ? "current" : "" }, h.node, " ",
		    el("span", { class: "note" }, `arrived ${clock(h.arrived_ms)}` +
		    (h.left_ms ? `, left ${clock(h.left_ms)}` : "")))));
		$("migrations").tBodies[0].replaceChildren(...(t.migrations || [])
		    .map((m) => el("tr", {}, el("td", {}, m.from), el("td", {}, m.to),
		    el("td", {}, clock(m.at)),
		    el("td", { class: "num" }, m.freeze_ms === null ? "-" :
		    m.freeze_ms.toFixed(2)),
		    el("td", { class: "num" }, m.checkpoint_ms),
		    el("td", { class: "num" }, bytes(m.bytes)))));
		const shown = "stdout" in t;
		$("output-note").textContent = shown ? (t.stdout_cut ||
		    t.stderr_cut ? "(cut to its first 64 KiB)" : "") :
		    `${t.stdout_bytes} bytes of stdout, ${t.stderr_bytes} of ` +
		    "stderr: not shown here (the peer's setting http_output " +
		    "is off).";
		$("stdout").hidden = !shown || !t.stdout;
		$("stderr").hidden = !shown || !t.stderr;
		$("stdout").textContent = shown ? t.stdout : "";
		$("stderr").textContent = shown ? t.stderr : "";
	}

	async function pollTask() {
		if (!chosen)
			return;
		const id = chosen;
		const q = "?id=" + encodeURIComponent(id);
		const [r, loc] = await Promise.all([getJSON("api/task" + q),
		    getJSON("api/locate" + q).catch(() => null)]);
		if (id !== chosen)
			return;
		if (r.status === 200 && r.body)
			renderTask(r.body);
		else if (r.status === 202)
			$("task-note").textContent = `asking ${id}'s home\u2026`;
		else {
			$("task-detail").hidden = true;
			$("task-note").textContent = (r.body && r.body.error) ||
			    `no answer for ${id} (status ${r.status})`;
		}
		if (loc && loc.status === 200)
			renderChain(loc.body);
		else
			$("chain-wrap").hidden = true;
	}

	function choose(id) {
		id = String(id || "").trim().slice(0, ID_MAX);
		chosen = id;
		$("task-input").value = id;
		$("task-id").textContent = id;
		$("task-detail").hidden = true;
		$("chain-wrap").hidden = true;
		$("task-note").textContent = id ? "\u2026" :
		    "Choose a task above, or give its id.";
		const u = new URL(location.href);
		if (id)
			u.searchParams.set("task", id);
		else
			u.searchParams.delete("task");
		history.replaceState(null, "", u);
		for (const tr of $("tasks").tBodies[0].rows)
			tr.classList.toggle("chosen", tr.dataset.id === id);
		pollTask().catch(() => {});
	}

	/* ---- the loop ---- */

	function setStatus(text, bad) {
		const s = $("status");
		s.textContent = text;
		s.classList.toggle("error", !!bad);
	}

	let pollTimer = null, pollGen = 0;

	/* One round of asking; a filter or a page chosen starts one at once
	 * (the one under way, older, renders nothing). */
	async function poll() {
		const gen = ++pollGen;
		clearTimeout(pollTimer);
		try {
			const [peers, tasks, stats, hist] = await Promise.all([
			    getJSON("api/peers"), getTasks(),
			    getJSON("api/stats"), getJSON("api/history")]);
			if (gen !== pollGen)
				return;
			for (const r of [peers, stats])
				if (r.status !== 200 || r.body === null)
					throw new Error("status " + r.status);
			renderPeers(peers.body, hist.status === 200 ? hist.body : null);
			/* (the cluster's: the sums the listing brought, over the
			 * peers that answered) */
			const sums = tasks.status === 200 && tasks.body &&
			    tasks.body.sums ? tasks.body.sums : null;
			renderStats(figures === "cluster" && sums ? sums : stats.body,
			    figures === "cluster" && sums !== null);
			$("figures-note").textContent = figures === "cluster" && sums ?
			    `(summed over ${tasks.body.peers_summed} peers; means and maxima left out)` : "";
			/* (a filter the peer refuses says why there, and the
			 * rest of the page goes on) */
			if (tasks.status === 200 && tasks.body !== null)
				renderTasks(tasks.body);
			else
				tasksError(tasks.body && tasks.body.error ?
				    tasks.body.error : "no answer (status " +
				    tasks.status + ")");
			await pollTask();
			setStatus("updated " + clock(Date.now()), false);
		} catch (e) {
			if (gen !== pollGen)
				return;
			setStatus("cannot reach the peer (" + e.message + "); " +
			    "trying again", true);
		}
		pollTimer = setTimeout(poll, document.hidden ? HIDDEN_MS : POLL_MS);
	}

	document.addEventListener("DOMContentLoaded", () => {
		$("task-form").addEventListener("submit", (ev) => {
			ev.preventDefault();
			choose($("task-input").value);
		});
		$("task-filter").addEventListener("submit", (ev) => {
			ev.preventDefault();
			filter = { state: $("f-state").value,
			    host: $("f-host").value.trim(),
			    home: $("f-home").value.trim(),
			    q: $("f-text").value };
			cursors.length = 1;
			nextAfter = null;
			poll();
		});
		$("p-next").addEventListener("click", () => {
			if (nextAfter) {
				/* (once: the next answer says what follows) */
				cursors.push(nextAfter);
				nextAfter = null;
				$("p-next").disabled = true;
				poll();
			}
		});
		$("p-first").addEventListener("click", () => {
			cursors.length = 1;
			poll();
		});
		const q = new URLSearchParams(location.search).get("task");
		if (q)
			choose(q);
		if (new URLSearchParams(location.search).get("figures") ===
		    "cluster") {
			figures = "cluster";
			$("figures").value = "cluster";
		}
		$("figures").addEventListener("change", () => {
			figures = $("figures").value;
			poll();
		});
		poll();
	});
})();
