// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace's sysctls.  Each namespace registers its own copy of the
 * table, pointing at its own value in struct ftpe_net: a value in the
 * module's data would be shared by every namespace (and 6.1 would make the
 * copies read-only for that reason).  The net sysctl core lets root of the
 * user namespace that owns the network namespace write it, so a container's
 * root chooses for its own namespace and for no other.
 */
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "kcompat.h"
#include "netns.h"
#include "sysctl.h"

/*
 * The log's limit (report.h).  A value out of range is refused (EINVAL),
 * never clamped: an admin who asked for another limit learns it is not
 * the one in force.  An hour and ten thousand lines bound what one
 * setting can hold back or let through.
 */
static const int ftpe_log_burst_max = 10000;
static const int ftpe_log_interval_max = 3600;

static const struct ctl_table ftpe_sysctl_template[] = {
	{
		.procname	= "nf_ftp_embryo_strict_active",
		.maxlen		= sizeof(u8),
		.mode		= 0644,
		.proc_handler	= proc_dou8vec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "nf_ftp_embryo_log_burst",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= (void *)&ftpe_log_burst_max,
	},
	{
		.procname	= "nf_ftp_embryo_log_interval",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= (void *)&ftpe_log_interval_max,
	},
	{ }	/* the end, for kernels that look for it (kcompat.h) */
};

/* Entries before the terminator. */
#define FTPE_SYSCTL_ENTRIES	(ARRAY_SIZE(ftpe_sysctl_template) - 1)

/* The namespace's registration of its copy. */
struct ftpe_sysctl_net {
	struct ctl_table_header *header;
	struct ctl_table *table;
};

static unsigned int ftpe_sysctl_net_id __read_mostly;

static int __net_init ftpe_sysctl_net_init(struct net *net)
{
	struct ftpe_sysctl_net *sn = net_generic(net, ftpe_sysctl_net_id);
	struct ctl_table *table;

	table = kmemdup(ftpe_sysctl_template, sizeof(ftpe_sysctl_template),
			GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	table[0].data = &ftpe_net(net)->strict_active;
	table[1].data = &ftpe_net(net)->log_burst;
	table[2].data = &ftpe_net(net)->log_interval;
	sn->header = ftpe_register_net_sysctl(net, "net/netfilter", table,
					      FTPE_SYSCTL_ENTRIES);
	if (!sn->header) {
		kfree(table);
		return -ENOMEM;
	}
	sn->table = table;
	return 0;
}

static void __net_exit ftpe_sysctl_net_exit(struct net *net)
{
	struct ftpe_sysctl_net *sn = net_generic(net, ftpe_sysctl_net_id);

	unregister_net_sysctl_table(sn->header);
	kfree(sn->table);
}

static struct pernet_operations ftpe_sysctl_net_ops = {
	.init = ftpe_sysctl_net_init,
	.exit = ftpe_sysctl_net_exit,
	.id = &ftpe_sysctl_net_id,
	.size = sizeof(struct ftpe_sysctl_net),
};

int ftpe_sysctl_register(void)
{
	return register_pernet_subsys(&ftpe_sysctl_net_ops);
}

void ftpe_sysctl_unregister(void)
{
	unregister_pernet_subsys(&ftpe_sysctl_net_ops);
}
