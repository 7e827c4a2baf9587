// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace set-up and teardown.
 *
 * Our exit runs before nf_conntrack's (pernet exits run in reverse order of
 * registration), so the namespace's conntracks still exist: we tear down
 * every record of the namespace here, before its counters go away, and the
 * destroy callbacks that follow find nothing.
 */
#include <linux/module.h>

#include "flowtab.h"
#include "netns.h"
#include "proc.h"

unsigned int ftpe_net_id __read_mostly;

const char * const ftpe_stat_names[FTPE_STAT_COUNT] = {
#define FTPE_STAT_NAME(id, name) [FTPE_STAT_##id] = name,
	FTPE_STATS(FTPE_STAT_NAME)
#undef FTPE_STAT_NAME
};

static int __net_init ftpe_net_init(struct net *net)
{
	struct ftpe_net *fn = ftpe_net(net);
	int ret;

	fn->stats = alloc_percpu(struct ftpe_stats);
	if (!fn->stats)
		return -ENOMEM;
	atomic_set(&fn->records, 0);
	ret = ftpe_proc_init(net);
	if (ret)
		free_percpu(fn->stats);
	return ret;
}

static void __net_exit ftpe_net_exit(struct net *net)
{
	struct ftpe_net *fn = ftpe_net(net);

	ftpe_proc_exit(net);
	ftpe_flowtab_flush(net);
	/* Records are freed after a grace period; none touches the stats. */
	free_percpu(fn->stats);
}

static struct pernet_operations ftpe_net_ops = {
	.init = ftpe_net_init,
	.exit = ftpe_net_exit,
	.id = &ftpe_net_id,
	.size = sizeof(struct ftpe_net),
};

int ftpe_netns_register(void)
{
	return register_pernet_subsys(&ftpe_net_ops);
}

void ftpe_netns_unregister(void)
{
	unregister_pernet_subsys(&ftpe_net_ops);
}
