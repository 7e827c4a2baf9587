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
 * What each counter and gauge counts, for the HELP lines of -F prometheus:
 * one line each, from Documentation/netlink.md's tables (test.sh checks
 * that every name the module has is here).  A name the module added later
 * gets a HELP line that sends the reader to the documentation.
 */
static const struct {
	const char *name, *help;
} stat_helps[] = {
	{ "packets", "Control-connection segments inspected (with data, FIN or RST)." },
	{ "lines", "Lines read on control connections." },
	{ "lines_split", "Lines reassembled across segments." },
	{ "lines_bare_lf", "Lines ended by a bare LF." },
	{ "lines_overlong", "Lines cut at the line limit." },
	{ "segments_retransmitted", "Segments already seen (retransmissions)." },
	{ "segments_gap", "Segments beyond a hole in the stream." },
	{ "cmd_port", "PORT commands." },
	{ "cmd_eprt", "EPRT commands." },
	{ "cmd_pasv", "PASV commands." },
	{ "cmd_epsv", "EPSV commands." },
	{ "cmd_transfer", "Transfer commands (RETR STOR STOU APPE LIST NLST MLSD)." },
	{ "cmd_abor", "ABOR commands." },
	{ "cmd_quit", "QUIT commands." },
	{ "cmd_other", "Other client commands." },
	{ "malformed", "Commands or replies whose arguments do not parse." },
	{ "replies_1xx", "Complete server replies of class 1xx." },
	{ "replies_2xx", "Complete server replies of class 2xx." },
	{ "replies_3xx", "Complete server replies of class 3xx." },
	{ "replies_4xx", "Complete server replies of class 4xx." },
	{ "replies_5xx", "Complete server replies of class 5xx." },
	{ "transitions", "State changes of the per-connection state machine." },
	{ "flows_created", "Negotiations started (flow-table rows created)." },
	{ "flows_completed", "Transfers that reached EXEC_COMP (226/250)." },
	{ "flows_aborted", "Negotiations ended early: the sum of the flows_aborted_* causes." },
	{ "flows_aborted_negative_reply", "Negotiations ended by a 4xx/5xx to the negotiating or transfer command." },
	{ "flows_aborted_refused", "Negotiations ended by a PORT/EPRT/227/229 the helper refused." },
	{ "flows_aborted_abor_quit", "Negotiations ended by ABOR or QUIT." },
	{ "flows_aborted_rst_fin", "Negotiations ended by the control connection closing (RST, or FIN both ways)." },
	{ "flows_aborted_conntrack_destroy", "Negotiations ended by the control connection's conntrack entry being destroyed." },
	{ "flows_aborted_flush", "Negotiations ended by a flush (ftp-embryo flush)." },
	{ "flows_aborted_other", "Negotiations ended for any other reason." },
	{ "flows_replaced", "Open negotiations replaced by a new one." },
	{ "expect_created", "Expectations (pinholes) created." },
	{ "expect_used", "Expectations a data connection matched." },
	{ "expect_removed_early", "Expectations removed unused when their negotiation ended." },
	{ "expect_expired", "Expectations found past expect_timeout when their negotiation ended." },
	{ "expect_failed", "Expectations conntrack refused to insert, or a second one asked for in one segment (segment dropped)." },
	{ "refused_bounce", "PORT/EPRT refused: an address other than the client's." },
	{ "refused_third_party", "227/229 refused: an address other than the server's." },
	{ "refused_privileged_port", "Announcements refused: a data port below min_port." },
	{ "refused_unsolicited", "227/229 refused: no PASV/EPSV pending." },
	{ "pipeline_overflow", "Connections left uninspected: more than 16 commands unanswered." },
	{ "refused_table_full", "Control connections not inspected: max_flows reached." },
	{ "events_suppressed", "Refusal events not sent: more than 200 a second." },
	{ "log_suppressed", "Log lines not written, beyond the namespace's log limit." },
	{ "records_parked", "Records of connections quiet for 30 s given up; their next command gets a new one." },
	{ "records_reclaimed", "Records of idle connections given up when the table was full." },
	{ "tls_sessions", "Control connections that switched to TLS after AUTH TLS." },
	{ "tls_plaintext", "Directions that returned to plaintext after TLS (CCC)." },
	{ "tls_lost", "Directions whose TLS record framing was lost: read no more." },
	{ "nomem", "Allocation failures." },
	{ "nat_rewritten", "PORT/EPRT/227/229 lines rewritten on translated connections." },
	{ "nat_failed", "Segments dropped because an endpoint in them could not be rewritten." },
	{ "nat_seqadj_added", "Translated connections given the seqadj extension by the helper." },
	{ "connections_tracked", "Control connections with a flow-table record now." },
	{ "flows_current", "Records with a negotiation in progress now." },
	{ "expect_live", "Expectations waiting for their data connection now." },
};

const char *stat_help(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(stat_helps); i++)
		if (!strcmp(stat_helps[i].name, name))
			return stat_helps[i].help;
	return NULL;
}

/* The label value's escapes, the same in both text formats. */
static void label_value(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

/*
 * One metric: its HELP, TYPE and sample.  Classic text (node_exporter's
 * textfile collector) names a counter's family NAME_total, OpenMetrics
 * names it NAME and its sample NAME_total.  The module's names are
 * [a-z0-9_] and the HELP texts have no backslash or newline: nothing to
 * escape but the label.
 */
static void metric(const char *name, bool gauge, const char *help,
		   uint64_t value, const struct opts *op, bool om)
{
	const char *sfx = gauge ? "" : "_total", *fsfx = om ? "" : sfx;

	if (help)
		printf("# HELP nf_ftp_embryo_%s%s %s\n", name, fsfx, help);
	else
		printf("# HELP nf_ftp_embryo_%s%s nf_ftp_embryo %s %s (see Documentation/netlink.md).\n",
		       name, fsfx, gauge ? "gauge" : "counter", name);
	printf("# TYPE nf_ftp_embryo_%s%s %s\n", name, fsfx,
	       gauge ? "gauge" : "counter");
	printf("nf_ftp_embryo_%s%s{netns=\"", name, sfx);
	label_value(netns_label(op->netns));
	printf("\"} %" PRIu64 "\n", value);
}

#define UP_HELP	"1: the module answered; 0: it is not loaded or could not be read."

/*
 * -F prometheus and openmetrics: nf_ftp_embryo_up first, then every
 * counter and gauge; every sample labelled with its namespace (the
 * module counts per namespace, and one node may report several).  @st
 * NULL: the module did not answer, so up 0 alone, and no number that
 * could pass for current.
 */
static bool metrics_printed;

static void metrics_print(const struct stats *st, const struct opts *op)
{
	bool om = !strcmp(op->format, "openmetrics");
	size_t i;

	metrics_printed = true;
	metric("up", true, UP_HELP, !!st, op, om);
	for (i = 0; st && i < st->n; i++)
		metric(st->v[i].name, st->v[i].gauge, stat_help(st->v[i].name),
		       st->v[i].value, op, om);
	if (om)
		printf("# EOF\n");
}

/*
 * At the exit of a stats -F prometheus or openmetrics: if it printed
 * nothing, whatever the error (exit 1, 3 or 4, said on stderr), up 0 on
 * stdout, so that the textfile written from it says the helper is down
 * instead of losing its series.
 */
void metrics_down(const struct opts *op)
{
	if (metrics_printed)
		return;
	metrics_print(NULL, op);
	fflush(stdout);
}

void stats_print(const struct stats *st, const struct opts *op)
{
	json_object *o;
	size_t i;

	if (!strcmp(op->format, "openmetrics") ||
	    !strcmp(op->format, "prometheus")) {
		metrics_print(st, op);
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
