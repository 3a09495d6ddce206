/* report.c - lbsim's figures of the tasks: from the response times, as a
 * table and in --json. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "balance/balance.h"
#include "gossip/gossip.h"
#include "sim/sim.h"
#include "sim/work.h"

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}


void
work_figures(struct sim *s, struct wfig *f)
{
	const struct work_stats	*ws = &s->ws;
	uint32_t		*v;
	double			 sum = 0, bm[20], bmean = 0, var = 0;
	size_t			 n = ws->nresp, per;

	memset(f, 0, sizeof(*f));
	if (s->work == NULL)
		return;
	f->on = 1;
	f->S = s->wc.trace != NULL ? ws->mean_service_ms : s->wc.mean_ms;
	f->results = n;
	f->unfinished = ws->submitted - ws->done;
	/* (the tasks submitted in the measured window) */
	f->tasks = n + f->unfinished;
	if (f->tasks > 0) {
		f->probes = (double)ws->probes / (double)f->tasks;
		f->transfers = (double)ws->transfers / (double)f->tasks;
		f->idle = (double)ws->idle_msgs / (double)f->tasks;
	}
	if (s->end > s->warm) {
		f->lost = ws->lost_slot_ms / ((double)(s->end - s->warm) *
		    (double)(s->n * s->conf.slots));
	}
	if (s->wc.rho > 0) {
		f->mmc = work_mmc((unsigned)(s->n * s->conf.slots), s->wc.rho);
		f->mm1 = work_mmc((unsigned)s->conf.slots, s->wc.rho);
	}
	if (n == 0)
		return;
	/* 20 batch means, in the order the tasks ended: the 95% interval
	 * of the mean, as lbtaskbench gives it live. */
	per = n / 20;
	for (size_t b = 0; per > 0 && b < 20; b++) {
		double x = 0;
		for (size_t k = 0; k < per; k++)
			x += ws->resp[b * per + k];
		bm[b] = x / (double)per;
		bmean += bm[b] / 20;
	}
	for (size_t b = 0; per > 0 && b < 20; b++)
		var += (bm[b] - bmean) * (bm[b] - bmean) / 19;
	f->ci = per > 0 ? 2.093 * sqrt(var / 20) / f->S : 0;
	v = lb_calloc(n, sizeof(*v));
	memcpy(v, ws->resp, n * sizeof(*v));
	for (size_t k = 0; k < n; k++)
		sum += v[k];
	qsort(v, n, sizeof(*v), cmp_u32);
	f->mean = sum / (double)n / f->S;
	f->p95 = v[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1] / f->S;
	free(v);
}

static json_t *
real3(double x)
{
	return json_real(round(x * 1000) / 1000);
}

/* The balancing cores' counts, summed over the peers (the whole run). */
static json_t *
json_balancers(const struct sim *s)
{
	struct balance_stats	 t = { 0 };

	for (int i = 0; i < s->n; i++) {
		const struct balance_stats *b;

		if (s->p[i].w == NULL || s->p[i].w->core == NULL)
			continue;
		b = balance_stats(s->p[i].w->core);
		t.probes_sent += b->probes_sent;
		t.probes_accepted += b->probes_accepted;
		t.probes_refused += b->probes_refused;
		t.probes_timed_out += b->probes_timed_out;
		t.backoffs += b->backoffs;
		t.offers_taken += b->offers_taken;
		t.requests_served += b->requests_served;
		t.idle_sent += b->idle_sent;
		t.hint_offers += b->hint_offers;
		t.hint_taken += b->hint_taken;
		t.redirects += b->redirects;
		t.released += b->released;
	}
	return json_pack("{sI sI sI sI sI sI sI sI sI sI sI sI}",
	    "released", (json_int_t)t.released,
	    "redirects", (json_int_t)t.redirects,
	    "probes_sent", (json_int_t)t.probes_sent,
	    "probes_accepted", (json_int_t)t.probes_accepted,
	    "probes_refused", (json_int_t)t.probes_refused,
	    "probes_timed_out", (json_int_t)t.probes_timed_out,
	    "backoffs", (json_int_t)t.backoffs,
	    "offers_taken", (json_int_t)t.offers_taken,
	    "requests_served", (json_int_t)t.requests_served,
	    "idle_sent", (json_int_t)t.idle_sent,
	    "hinted_probes", (json_int_t)t.hint_offers,
	    "hinted_accepted", (json_int_t)t.hint_taken);
}

void
json_tasks(json_t *o, const struct sim *s, const struct wfig *f)
{
	static const char *const pol[] = { "none", "sender", "receiver",
	    "symmetric" }, *const loc[] = { "random", "vector", "mixed" },
	    *const svc[] = { "exp", "pareto", "bimodal" };

	if (!f->on) {
		/* (no tasks asked for) */
		json_object_set_new(o, "tasks", json_null());
		json_object_set_new(o, "results", json_null());
		json_object_set_new(o, "mean_response_S", json_null());
		json_object_set_new(o, "probes_per_task", json_null());
		return;
	}
	json_object_set_new(o, "policy", json_string(s->wc.oracle ?
	    "oracle-jsq" : pol[s->conf.balance.policy]));
	json_object_set_new(o, "location", json_string(loc[s->conf.balance.
	    location]));
	json_object_set_new(o, "probe_limit", json_integer(s->conf.balance.
	    probe_limit));
	json_object_set_new(o, "slots", json_integer(s->conf.slots));
	json_object_set_new(o, "rho", s->wc.rho > 0 ? real3(s->wc.rho) :
	    json_null());
	json_object_set_new(o, "service", s->wc.trace ? json_string("trace") :
	    json_string(svc[s->wc.service]));
	json_object_set_new(o, "mean_service_ms", real3(f->S));
	json_object_set_new(o, "tasks", json_integer((json_int_t)f->tasks));
	json_object_set_new(o, "results", json_integer((json_int_t)
	    f->results));
	json_object_set_new(o, "tasks_unfinished", json_integer((json_int_t)
	    f->unfinished));
	json_object_set_new(o, "mean_response_S", f->results ? real3(f->mean) :
	    json_null());
	json_object_set_new(o, "mean_response_ci95_S", f->results ?
	    real3(f->ci) : json_null());
	json_object_set_new(o, "p95_response_S", f->results ? real3(f->p95) :
	    json_null());
	json_object_set_new(o, "probes_per_task", real3(f->probes));
	json_object_set_new(o, "transfers_per_task", real3(f->transfers));
	json_object_set_new(o, "idle_notices_per_task", real3(f->idle));
	json_object_set_new(o, "idle_while_waiting", real3(f->lost));
	json_object_set_new(o, "mmc_mean_S", s->wc.rho > 0 ? real3(f->mmc) :
	    json_null());
	json_object_set_new(o, "mm1_mean_S", s->wc.rho > 0 ? real3(f->mm1) :
	    json_null());
	if (s->wc.trace != NULL)
		json_object_set_new(o, "trace_tasks_left_out", json_integer(
		    (json_int_t)s->ws.left_out));
	json_object_set_new(o, "task_violations", json_integer((json_int_t)
	    s->ws.violations));
	json_object_set_new(o, "balancers", json_balancers(s));
}

void
print_tasks(const struct sim *s, const struct wfig *f)
{
	if (!f->on)
		return;
	printf("%-34s %" PRIu64 " measured (%" PRIu64 " ended, %" PRIu64
	    " not), S = %.1f ms\n", "tasks", f->tasks, f->results,
	    f->unfinished, f->S);
	if (f->results)
		printf("%-34s mean %.3f S (+-%.3f), p95 %.3f S\n",
		    "response", f->mean, f->ci, f->p95);
	if (s->ws.left_out)
		printf("%-34s %" PRIu64 " (past the run's end)\n",
		    "trace tasks left out", s->ws.left_out);
	if (s->wc.rho > 0)
		printf("%-34s M/M/%d %.3f S, M/M/%d %.3f S\n",
		    "bounds (mean)", s->n * s->conf.slots, f->mmc,
		    s->conf.slots, f->mm1);
	printf("%-34s %.3f probes, %.3f idle notices, %.3f moves\n",
	    "a task", f->probes, f->idle, f->transfers);
	printf("%-34s %.1f%% of the slots' time\n",
	    "idle while tasks waited", 100 * f->lost);
}

/* ---- messages to tasks that moved (--moves) ---- */

static const char *const phase_name[4] = { "first", "again", "other",
    "link" };

json_t *
json_msgs(const struct sim *s)
{
	struct mrow	*r;
	size_t		 n;
	json_t		*a = json_array();

	msgs_rows(s, &r, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		size_t ok = 0;

		json_object_set_new(o, "moves", json_integer(r[i].k));
		json_object_set_new(o, "home", json_string(r[i].home_dead ?
		    "dead" : "alive"));
		json_object_set_new(o, "tasks", json_integer((json_int_t)
		    r[i].tasks));
		for (int p = 0; p < 4; p++) {
			char key[64];

			ok += r[i].ok[p];
			if (r[i].ok[p] == 0)
				continue;
			snprintf(key, sizeof(key), "%s_hops_mean",
			    phase_name[p]);
			json_object_set_new(o, key, json_real(r[i].hops[p]));
			snprintf(key, sizeof(key), "%s_hops_max",
			    phase_name[p]);
			json_object_set_new(o, key,
			    json_integer(r[i].hops_max[p]));
			snprintf(key, sizeof(key), "%s_messages_mean",
			    phase_name[p]);
			json_object_set_new(o, key, json_real(r[i].msgs[p]));
			snprintf(key, sizeof(key), "%s_ms_mean",
			    phase_name[p]);
			json_object_set_new(o, key, json_real(r[i].ms[p]));
		}
		json_object_set_new(o, "sends", json_integer((json_int_t)
		    r[i].sends));
		json_object_set_new(o, "delivered", json_integer((json_int_t)
		    ok));
		json_array_append_new(a, o);
	}
	free(r);
	return a;
}

void
print_msgs(const struct sim *s)
{
	struct mrow	*r;
	size_t		 n;

	msgs_rows(s, &r, &n);
	if (n == 0) {
		printf("%-34s none (not begun: all never knew all%s)\n",
		    "messages to tasks", s->f_crash ?
		    ", or no crash was known to all" : "");
		free(r);
		return;
	}
	printf("\nmessages to tasks moved k times: hops (mean,max), messages "
	    "and ms a send\n(first: from a peer that knows nothing; again: "
	    "the same peer; other: another;\nlink: from its first host after "
	    "the home, k >= 2; home dead: a replica acts for it)\n");
	printf("%3s %5s %7s %-18s %-18s %-18s %-18s\n", "k", "home",
	    "sent", "first", "again", "other", "link");
	for (size_t i = 0; i < n; i++) {
		size_t ok = r[i].ok[0] + r[i].ok[1] + r[i].ok[2] + r[i].ok[3];

		printf("%3d %5s %3zu/%-3zu", r[i].k, r[i].home_dead ? "dead" :
		    "alive", ok, r[i].sends);
		for (int p = 0; p < 4; p++) {
			char cell[64];

			if (r[i].ok[p] == 0) {
				printf(" %-18s", "-");
				continue;
			}
			snprintf(cell, sizeof(cell), "%.1f,%u %.0f %.0fms",
			    r[i].hops[p], r[i].hops_max[p], r[i].msgs[p],
			    r[i].ms[p]);
			printf(" %-18s", cell);
		}
		putchar('\n');
	}
	free(r);
}
