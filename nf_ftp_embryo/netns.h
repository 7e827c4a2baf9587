/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-network-namespace state: statistics and policy.
 *
 * Counters are per CPU so the packet path never writes a shared cache
 * line; readers sum them.  They are unsigned long: monotonic event counts
 * that readers turn into rates.  This header is a leaf: counting calls
 * nothing else of ours.
 */
#ifndef _NF_FTP_EMBRYO_NETNS_H
#define _NF_FTP_EMBRYO_NETNS_H

#include <linux/percpu.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "counters.h"

struct ftpe_stats {
	unsigned long c[FTPE_STAT_COUNT];
	/*
	 * Gauges, as the changes each CPU made: a CPU's share may wrap
	 * below zero, the sum over CPUs is the amount (flowtab.h).
	 */
	unsigned long rows;		/* records with a negotiation */
	unsigned long pinholes;		/* records holding an unused pinhole */
};

/* The log's limit unless set (report.h): as it was before it could be. */
#define FTPE_LOG_BURST		10
#define FTPE_LOG_INTERVAL	5	/* seconds */

/*
 * What the packet path reads of a namespace, looked up once per packet:
 * its counters and its policy.  Each other part keeps its own share of a
 * namespace under its own net_generic() id (flowtab.c, report.c,
 * sysctl.c); main.c registers the parts in order.
 */
struct ftpe_net {
	struct ftpe_stats __percpu *stats;
	/* net.netfilter.nf_ftp_embryo_strict_active (sysctl.h) */
	u8 strict_active;
	/* net.netfilter.nf_ftp_embryo_log_burst and _log_interval (s) */
	int log_burst;
	int log_interval;
};

extern unsigned int ftpe_net_id;

static inline struct ftpe_net *ftpe_net(const struct net *net)
{
	return net_generic(net, ftpe_net_id);
}

/*
 * The same from inside an RCU read-side section, as the helper callback
 * always is (conntrack's hooks hold one): net_generic()'s own section is
 * two calls with preemptible RCU on every packet.
 */
static inline struct ftpe_net *ftpe_net_rcu(const struct net *net)
{
	return rcu_dereference(net->gen)->ptr[ftpe_net_id];
}

/*
 * net_generic() is an RCU read-side section of its own, two calls with
 * preemptible RCU: the packet path looks @fn up once and counts with
 * ftpe_count().
 */
static inline void ftpe_count(struct ftpe_net *fn, enum ftpe_stat s)
{
	this_cpu_inc(fn->stats->c[s]);
}

static inline void ftpe_stat_inc(const struct net *net, enum ftpe_stat s)
{
	ftpe_count(ftpe_net(net), s);
}

/* A negotiation ended early; @why is one of the FTPE_STAT_ABORTED_* causes. */
static inline void ftpe_stat_abort(struct ftpe_net *fn, enum ftpe_stat why)
{
	ftpe_count(fn, FTPE_STAT_ABORTED);
	ftpe_count(fn, why);
}

int ftpe_netns_register(void);
void ftpe_netns_unregister(void);

#endif /* _NF_FTP_EMBRYO_NETNS_H */
