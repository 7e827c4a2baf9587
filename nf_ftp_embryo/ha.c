// SPDX-License-Identifier: GPL-2.0
/*
 * Router pairs: a control connection another router carried until it
 * failed over, with the conntrack and the pinhole conntrackd copied here.
 *
 * What conntrackd (1.4.7, FTFW, ExpectationSync) copies, and how:
 *  - the conntrack, with its helper's name (CTA_HELP_NAME) when it creates
 *    it here, so this router attaches the helper too; its updates leave the
 *    helper out.  Nothing of a helper's own data (CTA_HELP_INFO) travels:
 *    our flow record (state machine, negotiated endpoint, stream
 *    positions) stays on the router that read the connection.
 *  - each expectation of a helper it is told to sync: tuple, mask, master,
 *    timeout, flags, class, the NAT part (CTA_EXPECT_NAT: saved address,
 *    port, direction) and, when the expect function is registered under a
 *    name, that name (CTA_EXPECT_FN).  ctnetlink creates it here only if
 *    the master conntrack exists and has a helper (it becomes the
 *    expectation's helper): the module must be loaded on both routers.
 *    Its removal travels as a destroy event, for entries in conntrackd's
 *    own cache only.
 *
 * So a negotiation travels as its pinhole.  Our expect function has no
 * name: with one, root in any user namespace could hang it, through
 * ctnetlink, on an expectation whose master has another helper, whose data
 * it would then read as ours.  So the copy arrives without it, and a
 * record made for a conntrack that has a pinhole already takes it over,
 * expect function included: here a record begins with the first bytes of
 * its connection, before anything can be expected, so that pinhole was
 * copied from the router that read the negotiation.  A pinhole the client
 * will connect from is a passive negotiation, one the server will connect
 * from an active one; either is taken as OPENED, and the machine goes on as
 * if it had read it, so the transfer's reply (226, 550, ABOR...) closes the
 * pinhole on this router as it would have on the other.  A data connection
 * that arrives before any byte of its control connection has (a client
 * connecting right after the failover to the 227 it read before) uses the
 * copy as it came: admitted, and translated by the router's NAT rules as
 * any new connection, not by its master's mapping; its use is not
 * reported, and the record that comes later finds no pinhole to take.
 *
 * What a pinhole cannot tell is lost, and the router that took over opens
 * nothing for it: a PASV/EPSV not yet answered when it took over (the 227
 * is then unsolicited here), a PORT without a pinhole (strict_active).  Its
 * stream starts at the first segment it sees, taken as the start of a
 * line; a segment that begins inside a line makes a line that parses as
 * nothing.  Either way the next command is read afresh.  A conntrack with
 * more than one pinhole (none of ours ever has) is not guessed at: they are
 * removed.
 *
 * Called under flow->lock; takes nf_conntrack_expect_lock inside it, the
 * order flowtab.h allows.
 */
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "flowtab.h"
#include "ha.h"
#include "nat.h"
#include "params.h"
#include "pinhole.h"

/*
 * Is @a all ones: an expectation that names one source address, not a
 * range of them?
 */
static bool ftpe_ha_one_source(const union nf_inet_addr *a, bool v6)
{
	return a->all[0] == ~0U &&
	       (!v6 || (a->all[1] == ~0U && a->all[2] == ~0U &&
			a->all[3] == ~0U));
}

/*
 * What a copied pinhole says about its negotiation: 0, or the refusal to
 * count.  Whoever has CAP_NET_ADMIN over the namespace can put any
 * expectation there (root in a user namespace, a hostile conntrackd peer),
 * so only one shaped as this helper makes them is taken (helper.c,
 * nat.c): passive from the client to the server as the client addressed
 * it, active from the server to the client as the server sees it, from
 * one address, to a port of at least min_port, of the default class,
 * not permanent, and on a translated connection sent on to the announcer
 * itself.
 */
static enum ftpe_stat ftpe_ha_read(const struct nf_conn *ct,
				   const struct nf_conntrack_expect *exp,
				   u8 *mode, struct ftpe_endpoint *ep)
{
	const struct nf_conntrack_tuple *orig =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct nf_conntrack_tuple *reply =
		&ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	bool v6 = nf_ct_l3num(ct) == NFPROTO_IPV6;
	const struct nf_conntrack_tuple *t = &exp->tuple;

	if (t->dst.protonum != IPPROTO_TCP || t->src.l3num != nf_ct_l3num(ct) ||
	    (exp->flags & NF_CT_EXPECT_PERMANENT) ||
	    !ftpe_ha_one_source(&exp->mask.src.u3, v6))
		return FTPE_STAT_EXP_FAILED;
	if (nf_inet_addr_cmp(&t->src.u3, &orig->src.u3) &&
	    nf_inet_addr_cmp(&t->dst.u3, &orig->dst.u3))
		*mode = FTPE_VERB_PASV;
	else if (nf_inet_addr_cmp(&t->src.u3, &reply->src.u3) &&
		 nf_inet_addr_cmp(&t->dst.u3, &reply->dst.u3))
		*mode = FTPE_VERB_PORT;
	else
		return FTPE_STAT_REFUSED_THIRD_PARTY;
	if (ntohs(t->dst.u.tcp.port) < ftpe_min_port)
		return FTPE_STAT_REFUSED_PORT;
	if (exp->class != NF_CT_EXPECT_CLASS_DEFAULT)
		return FTPE_STAT_EXP_FAILED;
	/* Translated, it must lead to the announcer, as nat.c's do. */
	if (ftpe_nat_wanted(ct) &&
	    (*mode == FTPE_VERB_PASV ?
	     exp->dir != IP_CT_DIR_ORIGINAL ||
	     !nf_inet_addr_cmp(&exp->saved_addr, &reply->src.u3) :
	     exp->dir != IP_CT_DIR_REPLY ||
	     !nf_inet_addr_cmp(&exp->saved_addr, &orig->src.u3)))
		return FTPE_STAT_REFUSED_THIRD_PARTY;
	memset(ep, 0, sizeof(*ep));
	ep->family = v6 ? FTPE_AF_INET6 : FTPE_AF_INET;
	memcpy(ep->addr, &t->dst.u3, v6 ? 16 : 4);
	ep->port = ntohs(t->dst.u.tcp.port);
	return 0;
}

void ftpe_ha_adopt(struct ftpe_flow *flow)
{
	struct nf_conn_help *help = nfct_help(flow->ct);
	const struct net *net = nf_ct_net(flow->ct);
	struct nf_conntrack_expect *exp, *one = NULL;
	enum ftpe_stat refused = 0;
	struct ftpe_endpoint ep;
	unsigned int n = 0;
	u8 mode = 0;

	/* The common case, a connection's first bytes: nothing expected. */
	if (!help || hlist_empty(&help->expectations) || flow->exp ||
	    flow->sess.fsm.state != FTPE_IDLE)
		return;
	spin_lock_bh(&nf_conntrack_expect_lock);
	hlist_for_each_entry(exp, &help->expectations, lnode) {
		one = exp;
		n++;
	}
	if (n == 1)
		refused = ftpe_ha_read(flow->ct, one, &mode, &ep);
	if (n == 1 && !refused && !ftpe_exp_expired(one)) {
		refcount_inc(&one->use);
		/* Never NULL again: a lookup may be reading it meanwhile. */
		WRITE_ONCE(one->expectfn, ftpe_pinhole_used);
	} else {
		one = NULL;
	}
	spin_unlock_bh(&nf_conntrack_expect_lock);

	if (!one) {
		if (n)
			nf_ct_remove_expectations(flow->ct);
		if (refused)
			ftpe_stat_inc(net, refused);
		return;
	}
	flow->exp = one;
	flow->since = jiffies;
	/* Counted as made here, as its use or removal will be. */
	if (ftpe_fsm_adopt(&flow->sess.fsm, mode, &ep) & FTPE_EV_OPENED) {
		ftpe_stat_inc(net, FTPE_STAT_NEGOTIATIONS);
		ftpe_stat_inc(net, FTPE_STAT_EXP_CREATED);
	}
}
