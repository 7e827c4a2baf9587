// SPDX-License-Identifier: GPL-2.0
/* ftp-embryo stats: counters and gauges, once or every --watch seconds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static json_object *json_values(const struct stats *st, bool gauge)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->v[i].gauge == gauge)
			json_object_object_add(o, st->v[i].name,
					       json_object_new_uint64(st->v[i].value));
	return o;
}

/*
 * OpenMetrics text: counters as NAME_total of a counter family, gauges as
 * they are, and the # EOF the format ends with.
 */
static void stats_openmetrics(const struct stats *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		const struct stat_val *v = &st->v[i];

		printf("# TYPE nf_ftp_embryo_%s %s\n", v->name,
		       v->gauge ? "gauge" : "counter");
		printf("nf_ftp_embryo_%s%s %" PRIu64 "\n", v->name,
		       v->gauge ? "" : "_total", v->value);
	}
	printf("# EOF\n");
}

void stats_print(const struct stats *st, const struct opts *op)
{
	json_object *o;
	size_t i;

	if (!strcmp(op->format, "openmetrics")) {
		stats_openmetrics(st);
	} else if (op->json) {
		o = json_top("counters", json_values(st, false));
		json_object_object_add(o, "gauges", json_values(st, true));
		json_print(o, op);
	} else {
		for (i = 0; i < st->n; i++)
			printf("%s: %" PRIu64 "\n", st->v[i].name,
			       st->v[i].value);
	}
	flush_out();
}

static const struct stat_val *stat_find(const struct stats *st,
					const char *name)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].name, name))
			return &st->v[i];
	return NULL;
}

/*
 * One watch report: each counter's total, increase and rate over @secs.
 * JSON: counters and gauges as stats --json has them, and the increases
 * and rates beside them under keys of their own (JSON version 3).
 */
void rates_print(const struct stats *old, const struct stats *now,
		 unsigned int secs, const struct opts *op)
{
	json_object *o = NULL, *deltas = NULL, *rates = NULL;
	char t[40];
	size_t i;

	if (op->json) {
		o = json_top("interval_s", json_object_new_int(secs));
		deltas = json_object_new_object();
		rates = json_object_new_object();
	} else if (!op->noheadings) {
		printf("--- %s, per second over %u s\n", stamp(t, sizeof(t)),
		       secs);
	}
	for (i = 0; i < now->n; i++) {
		const struct stat_val *v = &now->v[i], *p;
		uint64_t d;

		if (v->gauge)
			continue;
		p = stat_find(old, v->name);
		d = p ? v->value - p->value : v->value;
		if (op->json) {
			json_object_object_add(deltas, v->name,
					       json_object_new_uint64(d));
			json_object_object_add(rates, v->name,
					       json_object_new_double((double)d / secs));
		} else if (d) {
			printf("%s: %g/s (+%" PRIu64 ", total %" PRIu64 ")\n",
			       v->name, (double)d / secs, d, v->value);
		}
	}
	if (op->json) {
		json_object_object_add(o, "counters", json_values(now, false));
		json_object_object_add(o, "gauges", json_values(now, true));
		json_object_object_add(o, "deltas", deltas);
		json_object_object_add(o, "rates", rates);
		json_print(o, op);
		return;
	}
	for (i = 0; i < now->n; i++)
		if (now->v[i].gauge)
			printf("%s: %" PRIu64 "\n", now->v[i].name,
			       now->v[i].value);
	flush_out();
}

void cmd_stats(struct nl *nl, const struct opts *op)
{
	struct stats old = { 0 }, now = { 0 };
	unsigned int i;

	stats_get(nl, &now);
	if (!op->watch) {
		stats_print(&now, op);
		stats_free(&now);
		return;
	}
	for (i = 0; !op->count || i < op->count; i++) {
		stats_free(&old);
		old = now;
		memset(&now, 0, sizeof(now));
		sleep(op->watch);
		stats_get(nl, &now);
		rates_print(&old, &now, op->watch, op);
	}
	stats_free(&old);
	stats_free(&now);
}
