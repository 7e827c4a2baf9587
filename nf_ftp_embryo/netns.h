/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-network-namespace state: statistics and the flow-table quota.
 *
 * Counters are per CPU so the packet path never writes a shared cache
 * line; readers sum them.  They are unsigned long: monotonic event counts
 * that readers turn into rates.
 */
#ifndef _NF_FTP_EMBRYO_NETNS_H
#define _NF_FTP_EMBRYO_NETNS_H

#include <linux/atomic.h>
#include <linux/percpu.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

/* One place names every counter: the enum and the /proc names. */
#define FTPE_STATS(X)						\
	X(PACKETS, "packets")					\
	X(LINES, "lines")					\
	X(SPLIT_LINES, "lines_split")				\
	X(BARE_LF, "lines_bare_lf")				\
	X(OVERLONG, "lines_overlong")				\
	X(RETRANS, "segments_retransmitted")			\
	X(GAP, "segments_gap")					\
	X(CMD_PORT, "cmd_port")					\
	X(CMD_EPRT, "cmd_eprt")					\
	X(CMD_PASV, "cmd_pasv")					\
	X(CMD_EPSV, "cmd_epsv")					\
	X(CMD_XFER, "cmd_transfer")				\
	X(CMD_ABOR, "cmd_abor")					\
	X(CMD_QUIT, "cmd_quit")					\
	X(CMD_OTHER, "cmd_other")				\
	X(MALFORMED, "malformed")				\
	X(REPLY_1XX, "replies_1xx")				\
	X(REPLY_2XX, "replies_2xx")				\
	X(REPLY_3XX, "replies_3xx")				\
	X(REPLY_4XX, "replies_4xx")				\
	X(REPLY_5XX, "replies_5xx")				\
	X(TRANSITIONS, "transitions")				\
	X(NEGOTIATIONS, "flows_created")			\
	X(COMPLETED, "flows_completed")				\
	X(ABORTED, "flows_aborted")				\
	X(REPLACED, "flows_replaced")				\
	X(EXP_CREATED, "expect_created")			\
	X(EXP_REMOVED, "expect_removed")			\
	X(EXP_FAILED, "expect_failed")				\
	X(REFUSED_BOUNCE, "refused_bounce")			\
	X(REFUSED_THIRD_PARTY, "refused_third_party")		\
	X(REFUSED_PORT, "refused_privileged_port")		\
	X(UNSOLICITED, "refused_unsolicited")			\
	X(TABLE_FULL, "refused_table_full")			\
	X(TLS, "tls_sessions")					\
	X(NOMEM, "nomem")

enum ftpe_stat {
#define FTPE_STAT_ENUM(id, name) FTPE_STAT_##id,
	FTPE_STATS(FTPE_STAT_ENUM)
#undef FTPE_STAT_ENUM
	FTPE_STAT_COUNT
};

struct ftpe_stats {
	unsigned long c[FTPE_STAT_COUNT];
};

struct ftpe_net {
	struct ftpe_stats __percpu *stats;
	atomic_t records;		/* flow-table records of this netns */
};

extern unsigned int ftpe_net_id;
extern const char * const ftpe_stat_names[FTPE_STAT_COUNT];

static inline struct ftpe_net *ftpe_net(const struct net *net)
{
	return net_generic(net, ftpe_net_id);
}

static inline void ftpe_stat_inc(const struct net *net, enum ftpe_stat s)
{
	this_cpu_inc(ftpe_net(net)->stats->c[s]);
}

int ftpe_netns_register(void);
void ftpe_netns_unregister(void);

#endif /* _NF_FTP_EMBRYO_NETNS_H */
