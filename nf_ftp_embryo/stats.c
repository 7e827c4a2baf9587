// SPDX-License-Identifier: GPL-2.0
/*
 * One reading of a namespace's statistics for /proc and netlink alike:
 * every counter summed over CPUs, then the gauges.  Anybody may read them,
 * so a reading walks no table and takes no lock: the gauges are kept up
 * to date by the records themselves (ftpe_flow_account()).
 */
#include "flowtab.h"
#include "netns.h"
#include "stats.h"

const char * const ftpe_stat_names[FTPE_STAT_COUNT] = {
	[FTPE_STAT_PACKETS] = "packets",
	[FTPE_STAT_LINES] = "lines",
	[FTPE_STAT_SPLIT_LINES] = "lines_split",
	[FTPE_STAT_BARE_LF] = "lines_bare_lf",
	[FTPE_STAT_OVERLONG] = "lines_overlong",
	[FTPE_STAT_RETRANS] = "segments_retransmitted",
	[FTPE_STAT_GAP] = "segments_gap",
	[FTPE_STAT_CMD_PORT] = "cmd_port",
	[FTPE_STAT_CMD_EPRT] = "cmd_eprt",
	[FTPE_STAT_CMD_PASV] = "cmd_pasv",
	[FTPE_STAT_CMD_EPSV] = "cmd_epsv",
	[FTPE_STAT_CMD_XFER] = "cmd_transfer",
	[FTPE_STAT_CMD_ABOR] = "cmd_abor",
	[FTPE_STAT_CMD_QUIT] = "cmd_quit",
	[FTPE_STAT_CMD_OTHER] = "cmd_other",
	[FTPE_STAT_MALFORMED] = "malformed",
	[FTPE_STAT_REPLY_1XX] = "replies_1xx",
	[FTPE_STAT_REPLY_2XX] = "replies_2xx",
	[FTPE_STAT_REPLY_3XX] = "replies_3xx",
	[FTPE_STAT_REPLY_4XX] = "replies_4xx",
	[FTPE_STAT_REPLY_5XX] = "replies_5xx",
	[FTPE_STAT_TRANSITIONS] = "transitions",
	[FTPE_STAT_NEGOTIATIONS] = "flows_created",
	[FTPE_STAT_COMPLETED] = "flows_completed",
	[FTPE_STAT_ABORTED] = "flows_aborted",
	[FTPE_STAT_ABORTED_NEGATIVE] = "flows_aborted_negative_reply",
	[FTPE_STAT_ABORTED_REFUSED] = "flows_aborted_refused",
	[FTPE_STAT_ABORTED_ABOR_QUIT] = "flows_aborted_abor_quit",
	[FTPE_STAT_ABORTED_CLOSE] = "flows_aborted_rst_fin",
	[FTPE_STAT_ABORTED_DESTROY] = "flows_aborted_conntrack_destroy",
	[FTPE_STAT_ABORTED_FLUSH] = "flows_aborted_flush",
	[FTPE_STAT_ABORTED_OTHER] = "flows_aborted_other",
	[FTPE_STAT_REPLACED] = "flows_replaced",
	[FTPE_STAT_EXP_CREATED] = "expect_created",
	[FTPE_STAT_EXP_USED] = "expect_used",
	[FTPE_STAT_EXP_REMOVED] = "expect_removed_early",
	[FTPE_STAT_EXP_EXPIRED] = "expect_expired",
	[FTPE_STAT_EXP_FAILED] = "expect_failed",
	[FTPE_STAT_REFUSED_BOUNCE] = "refused_bounce",
	[FTPE_STAT_REFUSED_THIRD_PARTY] = "refused_third_party",
	[FTPE_STAT_REFUSED_PORT] = "refused_privileged_port",
	[FTPE_STAT_UNSOLICITED] = "refused_unsolicited",
	[FTPE_STAT_PIPELINE_OVERFLOW] = "pipeline_overflow",
	[FTPE_STAT_TABLE_FULL] = "refused_table_full",
	[FTPE_STAT_TLS] = "tls_sessions",
	[FTPE_STAT_NOMEM] = "nomem",
	[FTPE_STAT_NAT_REWRITTEN] = "nat_rewritten",
	[FTPE_STAT_NAT_FAILED] = "nat_failed",
	[FTPE_STAT_NAT_SEQADJ] = "nat_seqadj_added",
	[FTPE_STAT_RECLAIMED] = "records_reclaimed",
	[FTPE_STAT_EVENTS_SUPPRESSED] = "events_suppressed",
	[FTPE_STAT_TLS_PLAINTEXT] = "tls_plaintext",
	[FTPE_STAT_TLS_LOST] = "tls_lost",
	[FTPE_STAT_LOG_SUPPRESSED] = "log_suppressed",
	[FTPE_STAT_PARKED] = "records_parked",
};

/*
 * The gauges: records from the table's own count; rows and pinholes as
 * the changes each CPU made, summed, never below zero however read.
 */
void ftpe_stats_gauges(const struct net *net, struct ftpe_stat_value *g)
{
	const struct ftpe_net *fn = ftpe_net(net);
	long rows = 0, pinholes = 0;
	const struct ftpe_stats *st;
	int cpu;

	for_each_possible_cpu(cpu) {
		st = per_cpu_ptr(fn->stats, cpu);
		rows += (long)READ_ONCE(st->rows);
		pinholes += (long)READ_ONCE(st->pinholes);
	}
	g[0] = (struct ftpe_stat_value){ "connections_tracked",
					 ftpe_flowtab_records(net), true };
	g[1] = (struct ftpe_stat_value){ "flows_current", max(rows, 0L),
					 true };
	g[2] = (struct ftpe_stat_value){ "expect_live", max(pinholes, 0L),
					 true };
}

int ftpe_stats_read(struct net *net,
		    int (*fn)(const struct ftpe_stat_value *v, void *arg),
		    void *arg)
{
	struct ftpe_net *fn_net = ftpe_net(net);
	struct ftpe_stat_value v = { .gauge = false };
	struct ftpe_stat_value g[FTPE_GAUGE_COUNT];
	int i, cpu, ret;

	for (i = 0; i < FTPE_STAT_COUNT; i++) {
		v.name = ftpe_stat_names[i];
		v.value = 0;
		for_each_possible_cpu(cpu)
			v.value += per_cpu_ptr(fn_net->stats, cpu)->c[i];
		ret = fn(&v, arg);
		if (ret)
			return ret;
	}
	ftpe_stats_gauges(net, g);
	for (i = 0; i < FTPE_GAUGE_COUNT; i++) {
		ret = fn(&g[i], arg);
		if (ret)
			return ret;
	}
	return 0;
}
