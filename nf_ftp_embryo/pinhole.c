// SPDX-License-Identifier: GPL-2.0
/*
 * The pinhole's life (pinhole.h): created for a negotiation, held
 * inactive under NAT in active mode, used by the data connection or
 * closed when the negotiation ends; counted, and reported as events.
 *
 * Called under the record's flow->lock, in softirq (or with BH disabled on
 * local output), except ftpe_pinhole_used(), which takes it.  Creating and
 * removing an expectation takes nf_conntrack_expect_lock inside it.
 */
#include "flowtab.h"
#include "netns.h"
#include "params.h"
#include "pinhole.h"
#include "report.h"

static bool ftpe_ep_is(const struct ftpe_endpoint *ep,
		       const struct nf_conn *ct, const union nf_inet_addr *a)
{
	u8 family = ftpe_ct_family(ct);

	return ep->family == family &&
	       !memcmp(ep->addr, a, family == FTPE_AF_INET6 ? 16 : 4);
}

/*
 * Drop our reference to the record's expectation: removed early if it is
 * still waiting; or past its timeout: expired (kcompat.h); or used, but
 * left linked by the lookup that found it (ftpe_pinhole_used()), and
 * removed now that its transfer is over.  A used one counted as used only.
 */
static void ftpe_pinhole_drop(struct ftpe_flow *flow)
{
	const struct net *net = nf_ct_net(flow->ct);

	if (!flow->exp)
		return;
	if (flow->exp_used) {
		/* Harmless if something unlinked it meanwhile. */
		nf_ct_unexpect_related(flow->exp);
	} else if (ftpe_exp_expired(flow->exp)) {
		ftpe_stat_inc(net, FTPE_STAT_EXP_EXPIRED);
	} else {
		nf_ct_unexpect_related(flow->exp);
		ftpe_stat_inc(net, FTPE_STAT_EXP_REMOVED);
	}
	nf_ct_expect_put(flow->exp);
	flow->exp = NULL;
	flow->exp_used = 0;
}

void ftpe_pinhole_close(struct ftpe_flow *flow, const struct ftpe_fsm *f,
			u8 reason)
{
	if (flow->exp && !flow->exp_used)
		ftpe_report_event(flow, f, FTPE_EVENT_PINHOLE_CLOSE,
				  ftpe_exp_expired(flow->exp) ?
				  FTPE_REASON_EXPIRED : reason,
				  f->state, &f->ep);
	ftpe_pinhole_drop(flow);
}

/* One pinhole per segment (see the top of helper.c). */
static u8 ftpe_pinhole_may_create(struct ftpe_pinhole_seg *ps)
{
	if (!ps->created)
		return 0;
	ftpe_count(ps->fn, FTPE_STAT_EXP_FAILED);
	return FTPE_REASON_EXPECT_FAILED;
}

u8 ftpe_pinhole_announce(struct ftpe_pinhole_seg *ps, u8 mode,
			 const struct ftpe_endpoint *ep, const char *line,
			 u32 line_seq, struct ftpe_nat_seg *edit)
{
	struct ftpe_flow *flow = ps->flow;
	struct nf_conntrack_expect *exp;
	u8 reason = ftpe_pinhole_may_create(ps);

	if (reason)
		return reason;
	/* The line replaces the negotiation, and with it the pinhole. */
	ftpe_pinhole_close(flow, &flow->sess.fsm, FTPE_REASON_REPLACED);
	exp = ftpe_nat_expect(flow->ct, mode, ep, line, line_seq,
			      ftpe_pinhole_used, edit);
	/* A third host's endpoint (loose=1) is not translated: no pinhole. */
	if (PTR_ERR(exp) == -EXDEV)
		return 0;
	if (IS_ERR(exp))
		return FTPE_REASON_NAT_FAILED;
	ps->nat_exp = exp;
	return 0;
}

void ftpe_pinhole_take(struct ftpe_pinhole_seg *ps)
{
	if (!ps->nat_exp)
		return;
	ftpe_pinhole_drop(ps->flow);
	ps->flow->exp = ps->nat_exp;
	ps->nat_exp = NULL;
	ps->created = true;
	ftpe_count(ps->fn, FTPE_STAT_EXP_CREATED);
}

void ftpe_pinhole_give_up(struct ftpe_pinhole_seg *ps,
			  struct ftpe_nat_seg *edit, u32 line_seq)
{
	if (!ps->nat_exp)
		return;
	nf_ct_unexpect_related(ps->nat_exp);
	nf_ct_expect_put(ps->nat_exp);
	ps->nat_exp = NULL;
	ftpe_nat_unqueue(edit, line_seq);
}

u8 ftpe_pinhole_open(struct ftpe_pinhole_seg *ps, const struct ftpe_fsm *f)
{
	struct ftpe_flow *flow = ps->flow;
	struct nf_conn *ct = flow->ct;
	const struct nf_conntrack_tuple *orig =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	__be16 port = htons(f->ep.port);
	const union nf_inet_addr *src, *dst;
	struct nf_conntrack_expect *exp;
	union nf_inet_addr third;
	u8 reason = ftpe_pinhole_may_create(ps);

	if (reason)
		return reason;
	if (ftpe_nat_wanted(ct)) {
		/* Registered as its line, this one or PORT/EPRT, was read. */
		ftpe_pinhole_take(ps);
		if (!ftpe_mode_active(f->mode))
			return 0;
		/*
		 * Active: the port was held inactive.  A lapsed reservation
		 * not renewed is counted; nothing leaks.
		 */
		if (flow->exp && ftpe_nat_activate(&flow->exp))
			ftpe_pinhole_drop(flow);
		ps->created = true;
		return 0;
	}
	exp = nf_ct_expect_alloc(ct);
	if (!exp) {
		ftpe_count(ps->fn, FTPE_STAT_NOMEM);
		return FTPE_REASON_EXPECT_FAILED;
	}
	if (ftpe_mode_active(f->mode)) {
		src = &orig->dst.u3;
		dst = &orig->src.u3;
		/* Vetting let a third host through: the server goes there. */
		if (ftpe_loose && !ftpe_ep_is(&f->ep, ct, dst)) {
			memcpy(&third, f->ep.addr, sizeof(third));
			dst = &third;
		}
	} else {
		src = &orig->src.u3;
		dst = &orig->dst.u3;
	}
	nf_ct_expect_init(exp, NF_CT_EXPECT_CLASS_DEFAULT, nf_ct_l3num(ct),
			  src, dst, IPPROTO_TCP, NULL, &port);
	exp->expectfn = ftpe_pinhole_used;
	if (nf_ct_expect_related(exp, 0)) {
		ftpe_count(ps->fn, FTPE_STAT_EXP_FAILED);
		nf_ct_expect_put(exp);
		return FTPE_REASON_EXPECT_FAILED;
	}
	/* Keep our allocation reference: it is how we remove it early. */
	flow->exp = exp;
	ps->created = true;
	ftpe_count(ps->fn, FTPE_STAT_EXP_CREATED);
	return 0;
}

/*
 * Conntrack unlinks the expectation a new connection matched, and then
 * it is no pinhole of ours any more.  But a lookup from act_ct or Open
 * vSwitch with a template not yet committed (nf_ct_find_expectation()
 * with unlink false; 6.1, 6.12 and 7.2 alike) leaves it linked, so that
 * the commit that may follow still finds it: it keeps admitting connections
 * to its port, and nobody but us would remove it before its timeout.
 * So a used expectation that is still linked stays ours, marked used,
 * until the negotiation ends.  Called for every lookup that matches: the
 * first use of it is what is counted.
 */
static bool ftpe_pinhole_first_use(const struct nf_conn *master,
				   struct nf_conntrack_expect *exp)
{
	struct ftpe_flow *flow;
	bool first = true;

	flow = ftpe_flow_find(master);
	if (!flow)
		return first;
	spin_lock_bh(&flow->lock);
	if (!flow->dead && flow->exp == exp) {
		first = !flow->exp_used;
		if (first)
			ftpe_report_event(flow, &flow->sess.fsm,
					  FTPE_EVENT_PINHOLE_CLOSE,
					  FTPE_REASON_USED,
					  flow->sess.fsm.state,
					  &flow->sess.fsm.ep);
		/*
		 * Unlinked (or timed out: nobody unlinked it for us then,
		 * but it admits nothing more either).
		 */
		if (ftpe_exp_expired(exp)) {
			nf_ct_expect_put(exp);
			flow->exp = NULL;
			flow->exp_used = 0;
		} else {
			flow->exp_used = 1;
		}
		ftpe_flow_account(flow, ftpe_net(nf_ct_net(master)));
	}
	spin_unlock_bh(&flow->lock);
	return first;
}

/*
 * The kernel has unlinked the expectation, unless the lookup came from
 * act_ct or Open vSwitch with a template not yet committed, which leave
 * it linked and may find it again for another packet.
 */
void ftpe_pinhole_used(struct nf_conn *ct, struct nf_conntrack_expect *exp)
{
	bool first = false;

	rcu_read_lock();
	/*
	 * Only we set this function, on our own masters, but a master may
	 * have lost its helper since: then nothing of it is ours to read.
	 */
	if (ftpe_ct_is_ours(exp->master)) {
		/* Translated: the data connection follows its master's NAT. */
		if (ftpe_nat_wanted(exp->master))
			ftpe_nat_follow(ct, exp);
		first = ftpe_pinhole_first_use(exp->master, exp);
	}
	rcu_read_unlock();
	if (first)
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_EXP_USED);
}
