// SPDX-License-Identifier: GPL-2.0
/*
 * A namespace's counters and policy (netns.h), the first share of a
 * namespace to be set up and the last to go: pernet exits run in reverse
 * order of registration, and main.c registers this one first, so every
 * part that counts (the flow table's teardown, which waits for the last
 * destroy callbacks of a namespace before it goes) is gone before the
 * counters are freed.
 */
#include <linux/module.h>

#include "netns.h"

unsigned int ftpe_net_id __read_mostly;

static int __net_init ftpe_net_init(struct net *net)
{
	struct ftpe_net *fn = ftpe_net(net);

	fn->log_burst = FTPE_LOG_BURST;
	fn->log_interval = FTPE_LOG_INTERVAL;
	fn->stats = alloc_percpu(struct ftpe_stats);
	return fn->stats ? 0 : -ENOMEM;
}

static void __net_exit ftpe_net_exit(struct net *net)
{
	free_percpu(ftpe_net(net)->stats);
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
