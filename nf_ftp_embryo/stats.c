// SPDX-License-Identifier: GPL-2.0
/*
 * One reading of a namespace's statistics for /proc and netlink alike:
 * every counter summed over CPUs, then the gauges, counted from the flow
 * table itself so they cannot drift.
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
};

enum { FTPE_G_RECORDS, FTPE_G_ROWS, FTPE_G_PINHOLES, FTPE_G_COUNT };
static_assert(FTPE_G_COUNT == FTPE_GAUGE_COUNT);

static int ftpe_gauge_one(struct ftpe_flow *flow, void *arg)
{
	struct ftpe_stat_value *g = arg;

	g[FTPE_G_RECORDS].value++;
	if (flow->fsm.state != FTPE_IDLE)
		g[FTPE_G_ROWS].value++;
	if (ftpe_flow_pinhole_open(flow))
		g[FTPE_G_PINHOLES].value++;
	return 0;
}

static int ftpe_gauges_read(struct net *net,
			    int (*fn)(const struct ftpe_stat_value *v,
				      void *arg),
			    void *arg)
{
	struct ftpe_stat_value g[FTPE_G_COUNT] = {
		[FTPE_G_RECORDS] = { "connections_tracked", 0, true },
		[FTPE_G_ROWS] = { "flows_current", 0, true },
		[FTPE_G_PINHOLES] = { "expect_live", 0, true },
	};
	int i, ret;

	ftpe_flowtab_walk(net, ftpe_gauge_one, g);
	for (i = 0; i < FTPE_G_COUNT; i++) {
		ret = fn(&g[i], arg);
		if (ret)
			return ret;
	}
	return 0;
}

int ftpe_stats_read(struct net *net,
		    int (*fn)(const struct ftpe_stat_value *v, void *arg),
		    void *arg)
{
	struct ftpe_net *fn_net = ftpe_net(net);
	struct ftpe_stat_value v = { .gauge = false };
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
	return ftpe_gauges_read(net, fn, arg);
}
