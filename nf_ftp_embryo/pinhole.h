/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pinhole: the expectation a negotiation opens for its data
 * connection, from creation to use or close, counted and reported in one
 * place (pinhole.c).
 *
 * flow->exp is our reference to it, under flow->lock (flowtab.h).  It is
 * dropped when the negotiation ends, and also when a data connection uses
 * the expectation and the kernel unlinked it.  A used one the kernel left
 * linked (act_ct, Open vSwitch) is kept, marked exp_used, and removed when
 * the negotiation ends.  Each segment may create at most one pinhole
 * (helper.c says why): struct ftpe_pinhole_seg keeps count.
 */
#ifndef _NF_FTP_EMBRYO_PINHOLE_H
#define _NF_FTP_EMBRYO_PINHOLE_H

#include <net/netfilter/nf_conntrack_expect.h>

#include "fsm.h"
#include "nat.h"

struct ftpe_flow;
struct ftpe_net;

/* One segment's pinhole work: the helper sets it up per segment. */
struct ftpe_pinhole_seg {
	struct ftpe_flow *flow;		/* locked */
	struct ftpe_net *fn;
	/* NAT: registered for the line being read, not yet the pinhole. */
	struct nf_conntrack_expect *nat_exp;
	bool created;			/* a pinhole was made for the segment */
};

static inline void ftpe_pinhole_seg_init(struct ftpe_pinhole_seg *ps,
					 struct ftpe_flow *flow,
					 struct ftpe_net *fn)
{
	ps->flow = flow;
	ps->fn = fn;
	ps->nat_exp = NULL;
	ps->created = false;
}

/*
 * Open the pinhole of the negotiation @f.  Returns 0, or the reason the
 * line that asked for it is refused (counted here).
 */
u8 ftpe_pinhole_open(struct ftpe_pinhole_seg *ps, const struct ftpe_fsm *f);

/*
 * NAT: register the endpoint @ep that a line of @mode announces, and
 * queue the line's rewrite in @edit, before the state machine sees the
 * line; the negotiation it replaces loses its pinhole.  The registration
 * becomes the pinhole at ftpe_pinhole_open() (passive: the 227 itself;
 * active: PORT/EPRT hold the port, ftpe_pinhole_take()), or is given up
 * (ftpe_pinhole_give_up()).  Returns 0 or the reason to refuse the line.
 */
u8 ftpe_pinhole_announce(struct ftpe_pinhole_seg *ps, u8 mode,
			 const struct ftpe_endpoint *ep, const char *line,
			 u32 line_seq, struct ftpe_nat_seg *edit);
void ftpe_pinhole_take(struct ftpe_pinhole_seg *ps);
void ftpe_pinhole_give_up(struct ftpe_pinhole_seg *ps,
			  struct ftpe_nat_seg *edit, u32 line_seq);

/*
 * The negotiation @f (as the line being carried out leaves it) no longer
 * wants its pinhole: closed for @reason if still waiting, reported, and
 * our reference dropped.  Under flow->lock; also at teardown.
 */
void ftpe_pinhole_close(struct ftpe_flow *flow, const struct ftpe_fsm *f,
			u8 reason);

/*
 * The expect function of every pinhole: a data connection @ct matched
 * @exp.  Runs in its softirq, outside nf_conntrack_expect_lock.
 */
void ftpe_pinhole_used(struct nf_conn *ct, struct nf_conntrack_expect *exp);

#endif /* _NF_FTP_EMBRYO_PINHOLE_H */
