// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace life: set-up, and teardown in two steps.
 *
 * Our exit runs before nf_conntrack's (pernet exits run in reverse order of
 * registration), so the namespace's conntracks still exist: ->exit tears
 * down every record of the namespace.  A conntrack destroy callback that
 * found a record just before may still be tearing it down, touching the
 * table and the counters, inside an RCU read-side section; ->exit_batch
 * waits for those once per batch of namespaces before freeing either.
 * The destroy callbacks that follow find no record.
 */
#include <linux/module.h>
#include <linux/ratelimit.h>

#include "flowtab.h"
#include "netns.h"
#include "proc.h"
#include "report.h"
#include "sysctl.h"

unsigned int ftpe_net_id __read_mostly;

static int __net_init ftpe_net_init(struct net *net)
{
	struct ftpe_net *fn = ftpe_net(net);
	int ret;

	fn->stats = alloc_percpu(struct ftpe_stats);
	if (!fn->stats)
		return -ENOMEM;
	/* Nothing is printed of the lines it suppresses. */
	ratelimit_state_init(&fn->log_rs, FTPE_LOG_INTERVAL, FTPE_LOG_BURST);
	ratelimit_set_flags(&fn->log_rs, RATELIMIT_MSG_ON_RELEASE);
	ratelimit_state_init(&fn->event_rs, FTPE_EVENT_INTERVAL,
			     FTPE_EVENT_BURST);
	ratelimit_set_flags(&fn->event_rs, RATELIMIT_MSG_ON_RELEASE);
	ret = ftpe_flowtab_net_init(net);
	if (ret)
		goto err_stats;
	ret = ftpe_proc_init(net);
	if (ret)
		goto err_flowtab;
	ret = ftpe_sysctl_init(net);
	if (ret)
		goto err_proc;
	return 0;

err_proc:
	ftpe_proc_exit(net);
err_flowtab:
	ftpe_flowtab_net_free(net);
err_stats:
	free_percpu(fn->stats);
	return ret;
}

static void __net_exit ftpe_net_exit(struct net *net)
{
	ftpe_sysctl_exit(net);
	ftpe_proc_exit(net);
	ftpe_flowtab_net_exit(net);
}

static void __net_exit ftpe_net_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	synchronize_rcu();
	list_for_each_entry(net, net_exit_list, exit_list) {
		ftpe_flowtab_net_free(net);
		free_percpu(ftpe_net(net)->stats);
	}
}

static struct pernet_operations ftpe_net_ops = {
	.init = ftpe_net_init,
	.exit = ftpe_net_exit,
	.exit_batch = ftpe_net_exit_batch,
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
