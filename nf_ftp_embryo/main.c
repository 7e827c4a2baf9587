// SPDX-License-Identifier: GPL-2.0
/*
 * nf_ftp_embryo: an FTP conntrack helper that opens a data connection's
 * pinhole exactly when it is needed and closes it when the transfer ends.
 *
 * Registration: the helper is named "ftp-embryo" for IPv4 and IPv6 over TCP
 * with source port 0 in its tuple.  6.1 refuses a second kernel helper on a
 * tuple already taken (nf_conntrack_ftp holds TCP/21), and the tuple's port
 * no longer selects anything since automatic helper assignment is gone:
 * users attach the helper explicitly (iptables CT --helper, nft ct helper)
 * on whatever port their servers use.  So both helpers load side by side.
 *
 * NAT: the NAT half is in this module too (nat.c), registered with the
 * helpers.
 *
 * A second name, "ftp_embryo": iproute2 reads act_ct's "helper
 * FAMILY-PROTO-NAME" by splitting at every dash, so "ipv4-tcp-ftp-embryo"
 * names the kernel's "ftp" helper there.  Under the dash-free name the
 * same helper can be named by tc; it is registered alongside, with its own
 * NAT half, and behaves identically.  Its tuple's source port is 1: two
 * kernel helpers may not share a tuple, and as above the port selects
 * nothing (no kernel helper claims TCP port 1).
 */
#include <linux/module.h>
#include <net/genetlink.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <linux/nf_ftp_embryo.h>

#include "flowtab.h"
#include "genl.h"
#include "helper.h"
#include "kcompat.h"
#include "nat.h"
#include "netns.h"
#include "params.h"
#include "pinhole.h"
#include "proc.h"
#include "report.h"
#include "sysctl.h"
#include "version.h"

unsigned int ftpe_max_flows = 65536;
module_param_named(max_flows, ftpe_max_flows, uint, 0444);
MODULE_PARM_DESC(max_flows,
		 "control connections tracked per namespace (1..16777216, default 65536)");

unsigned int ftpe_expect_timeout = 60;
module_param_named(expect_timeout, ftpe_expect_timeout, uint, 0444);
MODULE_PARM_DESC(expect_timeout,
		 "seconds an unused pinhole may live, a backstop to its removal at transfer end (1..3600, default 60)");

unsigned int ftpe_min_port = 1024;
module_param_named(min_port, ftpe_min_port, uint, 0444);
MODULE_PARM_DESC(min_port,
		 "lowest data port a pinhole may open (1..65535, default 1024)");

bool ftpe_loose;
module_param_named(loose, ftpe_loose, bool, 0444);
MODULE_PARM_DESC(loose,
		 "UNSAFE: honour PORT/EPRT naming an address other than the client's (FTP bounce); default off");

static struct nf_conntrack_expect_policy ftpe_expect_policy = {
	/* One live pinhole per control connection. */
	.max_expected = 1,
	.name = FTPE_HELPER_NAME,
};

/* IPv4 and IPv6 under FTPE_HELPER_NAME, then under FTPE_HELPER_NAME_TC. */
static struct nf_conntrack_helper ftpe_helpers[4] __read_mostly;
/* What is registered: the templates above, or copies of them (kcompat.h). */
static struct nf_conntrack_helper *ftpe_helpers_reg[4] __read_mostly;

static bool ftpe_expect_calls_us(struct nf_conntrack_expect *exp, void *data)
{
	return READ_ONCE(exp->expectfn) == ftpe_pinhole_used;
}

static int ftpe_check_param(const char *name, unsigned int val,
			    unsigned int min, unsigned int max)
{
	if (val >= min && val <= max)
		return 0;
	pr_err("invalid %s=%u: must be %u..%u; not loading\n",
	       name, val, min, max);
	return -EINVAL;
}

/*
 * Each part keeps its own share of a namespace.  Registered in this order
 * and torn down in the reverse (pernet exits run last-registered first):
 * the counters and policy, the rate limits, the table (whose teardown
 * counts and reports), then the views of them.
 */
static int ftpe_parts_register(void)
{
	int ret;

	ret = ftpe_netns_register();
	if (ret)
		return ret;
	ret = ftpe_report_register();
	if (ret)
		goto err_netns;
	ret = ftpe_flowtab_register(ftpe_teardown);
	if (ret)
		goto err_report;
	ret = ftpe_proc_register();
	if (ret)
		goto err_flowtab;
	ret = ftpe_sysctl_register();
	if (ret)
		goto err_proc;
	return 0;

err_proc:
	ftpe_proc_unregister();
err_flowtab:
	ftpe_flowtab_unregister();
err_report:
	ftpe_report_unregister();
err_netns:
	ftpe_netns_unregister();
	return ret;
}

static void ftpe_parts_unregister(void)
{
	ftpe_sysctl_unregister();
	ftpe_proc_unregister();
	ftpe_flowtab_unregister();
	ftpe_report_unregister();
	ftpe_netns_unregister();
}

static int __init ftpe_init(void)
{
	int i, ret;

	ret = ftpe_check_param("max_flows", ftpe_max_flows, 1, 1 << 24) ?:
	      ftpe_check_param("expect_timeout", ftpe_expect_timeout, 1,
			       3600) ?:
	      ftpe_check_param("min_port", ftpe_min_port, 1, 65535);
	if (ret)
		return ret;
	ftpe_expect_policy.timeout = ftpe_expect_timeout;
	if (ftpe_loose)
		pr_warn("loose=1: PORT/EPRT may open pinholes to third hosts\n");

	ret = ftpe_parts_register();
	if (ret)
		return ret;
	ret = ftpe_genl_register();
	if (ret)
		goto err_parts;

	for (i = 0; i < ARRAY_SIZE(ftpe_helpers); i++) {
		bool tc = i >= 2;

		nf_ct_helper_init(&ftpe_helpers[i], i & 1 ? AF_INET6 : AF_INET,
				  IPPROTO_TCP,
				  tc ? FTPE_HELPER_NAME_TC : FTPE_HELPER_NAME,
				  tc, tc, 0, &ftpe_expect_policy, 0, ftpe_help,
				  NULL, THIS_MODULE);
		ftpe_helpers[i].destroy = ftpe_destroy;
		ftpe_helpers[i].data_len = sizeof(struct ftpe_ct_data);
	}
	/*
	 * The NAT half first: whoever finds the helper may look for it at
	 * once, and would ask modprobe for the module still loading.
	 */
	ftpe_nat_helper_register(ftpe_helpers);
	ret = ftpe_helpers_register(ftpe_helpers, ftpe_helpers_reg,
				    ARRAY_SIZE(ftpe_helpers));
	if (ret) {
		pr_err("cannot register helper \"%s\": %d\n",
		       FTPE_HELPER_NAME, ret);
		goto err_nat;
	}
	return 0;

err_nat:
	/* As at unload: nothing may be left to call into us (ftpe_exit()). */
	nf_ct_expect_iterate_destroy(ftpe_expect_calls_us, NULL);
	ftpe_nat_helper_unregister();
	synchronize_rcu();
	ftpe_genl_unregister();
err_parts:
	ftpe_parts_unregister();
	return ret;
}

static void __exit ftpe_exit(void)
{
	/*
	 * Our expectations are gone and no conntrack names our helper any
	 * more; after a grace period no callback of ours is running.
	 */
	ftpe_helpers_unregister(ftpe_helpers, ftpe_helpers_reg,
				ARRAY_SIZE(ftpe_helpers));
	/*
	 * The kernel removed the expectations whose helper is ours.  Any
	 * other that names our expect function would call into freed text
	 * once we are gone: none should exist, so make sure.
	 */
	nf_ct_expect_iterate_destroy(ftpe_expect_calls_us, NULL);
	/*
	 * Whoever took the NAT half holds a reference to this module, so
	 * nobody holds it now; the grace period covers lookups still walking
	 * the list, and data connections still in our expect function.
	 */
	ftpe_nat_helper_unregister();
	synchronize_rcu();
	ftpe_genl_unregister();
	ftpe_parts_unregister();
}

module_init(ftpe_init);
module_exit(ftpe_exit);

MODULE_DESCRIPTION("FTP conntrack helper with per-transfer pinholes");
MODULE_LICENSE("GPL");
MODULE_VERSION(FTPE_VERSION);
/* A request to the family loads the module (genl asks modprobe). */
MODULE_ALIAS_GENL_FAMILY(FTPE_GENL_NAME);
MODULE_ALIAS_NFCT_HELPER(FTPE_HELPER_NAME);
MODULE_ALIAS_NFCT_HELPER(FTPE_HELPER_NAME_TC);
