/* SPDX-License-Identifier: GPL-2.0 */
/* Reading a namespace's statistics (stats.c). */
#ifndef _NF_FTP_EMBRYO_STATS_H
#define _NF_FTP_EMBRYO_STATS_H

#include "netns.h"

extern const char * const ftpe_stat_names[FTPE_STAT_COUNT];

/*
 * One reading for /proc and netlink alike: every counter (monotonic), then
 * every gauge (a current amount).  @fn returns non-zero to stop early, and
 * that value is returned.  Process context.
 */
#define FTPE_GAUGE_COUNT 3	/* connections, flow rows, live pinholes */
#define FTPE_GAUGE_ROWS	1

struct ftpe_stat_value {
	const char *name;
	u64 value;
	bool gauge;
};

/* The gauges alone, in that order: cheap, no walk and no lock. */
void ftpe_stats_gauges(const struct net *net, struct ftpe_stat_value *g);

int ftpe_stats_read(struct net *net,
		    int (*fn)(const struct ftpe_stat_value *v, void *arg),
		    void *arg);

#endif /* _NF_FTP_EMBRYO_STATS_H */
