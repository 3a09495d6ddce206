/*
 * workload.c - lbsim's workload: Poisson arrivals at a load rho of the
 * cluster's slots, at peers at random or all at n1, with exponential,
 * bounded-Pareto or bimodal service times; or the tasks of a CSV trace.
 * Its own generator: every policy gets the same tasks.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "balance/balance.h"
#include "gossip/gossip.h"
#include "sim/sim.h"
#include "sim/work.h"

static double
uniform(struct lb_rng *r)
{
	return ((double)(lb_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* The mean of a bounded Pareto from 1 to `span`, shape `a`. */
double
wl_pareto_mean(double a, double span)
{
	return a / (a - 1) * (1 - pow(span, 1 - a)) / (1 - pow(span, -a));
}

uint64_t
wl_service(struct sim *s)
{
	struct work	*w = s->work;
	double		 u = uniform(&w->rng), x, m = s->wc.mean_ms;

	switch (s->wc.service) {
	case SERVICE_PARETO:
		x = w->pareto_k / pow(1 - u * (1 - pow(PARETO_SPAN,
		    -PARETO_ALPHA)), 1 / PARETO_ALPHA);
		break;
	case SERVICE_BIMODAL:
		/* 90% short (S/2), 10% long (5.5 S): mean S. */
		x = u < 0.9 ? m / 2 : m * 5.5;
		break;
	default:
		x = -m * log(u);
		break;
	}
	return x < 1 ? 1 : (uint64_t)(x + 0.5);
}

/* Read a trace: "submit_ms,duration_ms,peer,checkpointable,size_bytes"
 * a line, '#' comments and one header line allowed. */
int
wl_read_trace(struct sim *s, const char *file, char **err)
{
	struct work	*w = s->work;
	FILE		*f = fopen(file, "r");
	char		 line[512];
	size_t		 cap = 0, lineno = 0;
	uint64_t	 last = 0;

	if (f == NULL) {
		*err = lb_printf("%s: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long at, dur, size;
		char peer[64], extra;
		int ck, p;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			*err = lb_printf("%s:%zu: line too long", file, lineno);
			goto fail;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
			continue;
		if (lineno == 1 && strncmp(line, "submit", 6) == 0)
			continue;	/* a header */
		if (sscanf(line, "%llu,%llu,%63[^,],%d,%llu%c", &at, &dur, peer,
		    &ck, &size, &extra) != 5) {
			*err = lb_printf("%s:%zu: not submit_ms,duration_ms,"
			    "peer,checkpointable,size_bytes: '%s'", file,
			    lineno, line);
			goto fail;
		}
		p = peer[0] == 'n' ? sim_peer_of_id(s, peer) : -1;
		if (p < 0 && peer[0] != 'n') {
			char *end;
			long v = strtol(peer, &end, 10);
			p = *end == '\0' && v >= 1 && v <= s->n ? (int)v - 1 :
			    -1;
		}
		if (p < 0) {
			*err = lb_printf("%s:%zu: peer '%s' is not one of n1 to "
			    "n%d", file, lineno, peer, s->n);
			goto fail;
		}
		if (dur == 0 || dur > 86400000ULL) {
			*err = lb_printf("%s:%zu: duration %llu ms is not from "
			    "1 to 86400000", file, lineno, dur);
			goto fail;
		}
		if (at < last) {
			*err = lb_printf("%s:%zu: submit time %llu goes back "
			    "(the lines are in submit order)", file, lineno,
			    at);
			goto fail;
		}
		if (ck != 0 && ck != 1) {
			*err = lb_printf("%s:%zu: checkpointable is %d, not 0 "
			    "or 1", file, lineno, ck);
			goto fail;
		}
		if (w->nrows >= TRACE_MAX) {
			*err = lb_printf("%s:%zu: more than %u tasks", file,
			    lineno, TRACE_MAX);
			goto fail;
		}
		if (w->nrows == cap) {
			cap = cap ? 2 * cap : 1024;
			w->rows = lb_reallocarray(w->rows, cap,
			    sizeof(*w->rows));
		}
		w->rows[w->nrows++] = (struct trace_row){ .at = at,
		    .service_ms = dur, .peer = p };
		last = at;
	}
	if (ferror(f)) {
		*err = lb_printf("%s: %s", file, strerror(errno));
		goto fail;
	}
	fclose(f);
	if (w->nrows == 0) {
		*err = lb_printf("%s: no tasks in it", file);
		return -1;
	}
	return 0;
fail:
	fclose(f);
	return -1;
}

/* The next arrival, unless past the end. */
void
wl_next_arrival(struct sim *s)
{
	struct work	*w = s->work;
	uint64_t	 t;
	int		 to;

	if (s->wc.trace != NULL) {
		if (w->row >= w->nrows)
			return;
		/* (its time 0 is the warm-up's end: the cluster formed) */
		t = s->warm + w->rows[w->row].at;
		to = w->rows[w->row].peer;
		w->row++;
	} else {
		if (w->at < (double)s->now)
			w->at = (double)s->now;
		w->at += -log(uniform(&w->rng)) / w->rate;
		t = (uint64_t)w->at;
		to = s->wc.one ? 0 : (int)lb_rng_below(&w->rng,
		    (uint32_t)s->n);
	}
	if (t < s->now)
		t = s->now;
	if (t >= s->end) {
		if (s->wc.trace != NULL) {
			s->ws.left_out = w->nrows - w->row + 1;
			w->row = w->nrows;	/* past the run */
		}
		return;
	}
	push(s, (struct ev){ .t = t, .type = EV_ARRIVE, .to = to });
}

/* M/M/c's mean response over the mean service, at load rho (Erlang C,
 * by the stable recursion of Erlang B). */
double
work_mmc(unsigned c, double rho)
{
	double	a = rho * c, b = 1;

	for (unsigned k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	return 1 + b / (1 - rho * (1 - b)) / (c * (1 - rho));
}
