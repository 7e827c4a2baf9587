/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels this module builds for (Linux 6.1
 * to 7.2, see kcompat.mk) is bridged here, so that the other files read as
 * if written for one kernel.  Feature flags come from kcompat.mk's probes
 * of the kernel's headers; each block names the change it bridges.
 */
#ifndef _NF_FTP_EMBRYO_KCOMPAT_H
#define _NF_FTP_EMBRYO_KCOMPAT_H

#include <linux/poison.h>
#include <linux/sysctl.h>
#include <linux/timer.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

/*
 * "netfilter: nf_conntrack_expect: use conntrack GC to reap expectations"
 * (stable 6.12.115, Debian 6.1.0-57) replaced the expectation's timer with
 * a time stamp: an expectation past it stays listed, inert, until GC.
 * Before it, the timer unlinked the expectation when it fired, and one
 * that was used or removed has no pending timer either.
 */
#ifdef FTPE_HAVE_EXP_GC
/*
 * Past its timeout, used or removed (conntrack -D/-F expect): it admits
 * nothing more.  Only the timeout leaves a mark of its own; unlinking
 * leaves the link hlist_del_rcu() poisoned.
 */
static inline bool ftpe_exp_expired(const struct nf_conntrack_expect *exp)
{
	return nf_ct_exp_is_expired(exp) ||
	       READ_ONCE(exp->hnode.pprev) == LIST_POISON2;
}

/*
 * Give a live expectation @timeout jiffies from now; false if it already
 * expired or is no longer linked.  Caller holds nf_conntrack_expect_lock.
 */
static inline bool ftpe_exp_rearm(struct nf_conntrack_expect *exp,
				  unsigned long timeout)
{
	if (ftpe_exp_expired(exp))
		return false;
	WRITE_ONCE(exp->timeout, nfct_time_stamp + timeout);
	return true;
}
#else
/* Timed out, used or removed: it admits nothing more. */
static inline bool ftpe_exp_expired(const struct nf_conntrack_expect *exp)
{
	return !timer_pending(&exp->timeout);
}

static inline bool ftpe_exp_rearm(struct nf_conntrack_expect *exp,
				  unsigned long timeout)
{
	/* A timer already fired (or firing) is left alone: it unlinks. */
	return mod_timer_pending(&exp->timeout, jiffies + timeout);
}
#endif

/*
 * "netfilter: nf_conntrack_helper: dynamically allocate struct
 * nf_conntrack_helper" (7.2): registering copies the @n templates @tmpl
 * into helpers of the core's own, returned in @reg, and unregistering
 * takes those.  Before it the templates themselves were registered.
 */
#ifdef FTPE_HAVE_HELPER_COPIES
static inline int ftpe_helpers_register(struct nf_conntrack_helper *tmpl,
					struct nf_conntrack_helper **reg,
					unsigned int n)
{
	return nf_conntrack_helpers_register(tmpl, n, reg);
}

static inline void ftpe_helpers_unregister(struct nf_conntrack_helper *tmpl,
					   struct nf_conntrack_helper **reg,
					   unsigned int n)
{
	nf_conntrack_helpers_unregister(reg, n);
}
#else
static inline int ftpe_helpers_register(struct nf_conntrack_helper *tmpl,
					struct nf_conntrack_helper **reg,
					unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		reg[i] = &tmpl[i];
	return nf_conntrack_helpers_register(tmpl, n);
}

static inline void ftpe_helpers_unregister(struct nf_conntrack_helper *tmpl,
					   struct nf_conntrack_helper **reg,
					   unsigned int n)
{
	nf_conntrack_helpers_unregister(tmpl, n);
}
#endif

/*
 * 6.6 added register_net_sysctl_sz(), which is told how many entries the
 * table has; since 6.11 tables no longer end in an empty entry.  Before it,
 * register_net_sysctl() found the end at that empty entry.  @table has
 * @n entries and an empty one after them, so both ways read it alike.
 */
#ifdef FTPE_HAVE_SYSCTL_SZ
static inline struct ctl_table_header *
ftpe_register_net_sysctl(struct net *net, const char *path,
			 struct ctl_table *table, size_t n)
{
	return register_net_sysctl_sz(net, path, table, n);
}
#else
static inline struct ctl_table_header *
ftpe_register_net_sysctl(struct net *net, const char *path,
			 struct ctl_table *table, size_t n)
{
	return register_net_sysctl(net, path, table);
}
#endif

/*
 * "genetlink: add CAP_NET_ADMIN test for multicast bind" (6.7, and in
 * later 6.1.y): before it any user could join a generic netlink group.
 * Flow events name who talks to whom, so without it none is sent.
 */
#ifdef FTPE_HAVE_GENL_MCAST_CAP
#define FTPE_GENL_EVENTS	true
#else
#define FTPE_GENL_EVENTS	false
#define GENL_MCAST_CAP_NET_ADMIN	0
#endif

#endif /* _NF_FTP_EMBRYO_KCOMPAT_H */
