/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table: one record per helped FTP control connection.  A record
 * carries the seed's flow-table row (state machine, negotiated endpoint,
 * last reply, last refusal) plus the stream state both directions need
 * between segments.  A connection with no negotiation in progress has
 * state IDLE and is shown as a row only if something was refused on it.
 *
 * Binding and lifetime rules (the only place they are written down):
 *  - A record is reached from its conntrack only: the pointer to it lives in
 *    the conntrack's helper data (struct ftpe_ct_data), and the record holds
 *    a reference to the conntrack until the record is freed.  So a freed
 *    conntrack slot (conntracks are SLAB_TYPESAFE_BY_RCU) can never be
 *    reused while a record still names it, and a new conntrack starts with
 *    zeroed helper data: nothing is inherited.
 *  - Helper data is ours only while the conntrack's helper is one of ours:
 *    another helper's data (nf_conntrack_ftp's, say) has the same place.
 *    Our helper callbacks are only called for our conntracks; anything that
 *    reaches a conntrack another way (an expect function, reached through
 *    any expectation ctnetlink lets root in a user namespace make) checks
 *    the helper first (ftpe_ct_is_ours()).  A conntrack's helper never
 *    changes to another one after it is confirmed; it can only go (NULL).
 *  - A record is published in its conntrack with its lock held, and
 *    unlocked once it is in its table (or dead): whoever finds it waits
 *    until then, so a kill never meets a record half linked.
 *  - Each namespace has its own rhashtable of its records, keyed by the
 *    conntrack; it serves the walks (views, flush, reaping), which thereby
 *    see only their namespace.
 *  - Our destroy callback is called only while the conntrack's helper is
 *    ours.  A conntrack whose helper was detached (ctnetlink, module unload)
 *    or that is dying is an orphan: every walk reaps the orphans it meets,
 *    and a per-namespace work walks the table every FTPE_GC_INTERVAL while
 *    it holds records.
 *  - Lookups are lockless under RCU (the helper callbacks run in an RCU
 *    read-side section).
 *  - flow->lock serialises everything in a record: both directions of one
 *    control connection may be processed on two CPUs at once.  It is taken
 *    with spin_lock_bh() because teardown also runs in process context
 *    (conntrack -D/-F, namespace exit, module unload, walks).  Under it we
 *    may take nf_conntrack_expect_lock (creating or removing an expectation)
 *    and the conntrack's ct->lock (sequence adjustment of a NAT rewrite, the
 *    positions in struct ftpe_ct_data); nothing takes them in the other
 *    order.
 *  - A record is torn down once, under its lock: it is marked dead, its
 *    expectation and buffers are released, it is unlinked from its
 *    conntrack and its table, and after a grace period (call_rcu) the
 *    conntrack reference is dropped and the record freed.  A packet that
 *    finds a dead record leaves it alone.
 *  - Teardown happens on conntrack destroy, on RST or the second FIN, when
 *    reaped as an orphan, on namespace exit, on module unload and on a
 *    netlink flush; and, when the table is full, to a record that holds
 *    nothing a later segment needs (ftpe_flow_idle()) and has carried no
 *    payload for FTPE_IDLE_RECLAIM: so no client can keep the others'
 *    sessions from being inspected by holding idle connections.  Such a
 *    walk runs at most once per FTPE_RECLAIM_GAP.
 *  - Whether the table is full or not, the gc walk parks a record that
 *    holds nothing a later segment needs and has carried no payload for
 *    FTPE_PARK_DELAY (counted in records_parked, where a reclaim under
 *    pressure counts in records_reclaimed): so an idle control connection
 *    costs no record.  One whose row shows a refusal (an IDLE row, for
 *    the views and `ftp-embryo flows`) is kept until its connection has
 *    been quiet for FTPE_PARK_REFUSED, so that the reason stays to be
 *    read while the session goes on; after that the reason is in the
 *    counters, the events and the log only.
 *  - A reclaimed or parked record's connection gets a new record with its
 *    next payload, whose streams go on where the old one's stood, or the
 *    segments that passed with no record left them (struct ftpe_ct_data).
 *    Nothing else of it is kept: it held no negotiation, pinhole, NAT
 *    rewrite, TLS, FIN nor unanswered command (ftpe_flow_idle()), and
 *    its malformed-line limiter starts afresh.
 *  - flow->exp is our reference to the expectation (pinhole.h).
 *  - Walks run in process context and give the CPU up between records when
 *    asked to (leaving and re-entering their RCU section).  A cursor walk
 *    (netlink dumps) also leaves its RCU section between calls; the
 *    rhashtable walker resumes after the last record it returned, and a
 *    resize in between restarts it from the beginning (counted in
 *    cursor->restarts, so the dump can flag itself inconsistent).  Records
 *    may come and go meanwhile; every record handed to @fn is alive and
 *    locked during the call.
 */
#ifndef _NF_FTP_EMBRYO_FLOWTAB_H
#define _NF_FTP_EMBRYO_FLOWTAB_H

#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "fsm.h"
#include "kcompat.h"
#include "netns.h"
#include "parse.h"
#include "session.h"
#include "stream.h"

struct ftpe_nat_edit;

/*
 * The last refusal's detail, for the views (report.c): allocated with the
 * record's first refusal and freed with the record.  Without it (no memory)
 * a row shows the reason (flow->refused) with neither endpoint nor age.
 */
struct ftpe_flow_refusal {
	struct ftpe_endpoint ep;	/* what was announced */
	u32 at;				/* jiffies: refused */
	u32 malformed_at;		/* jiffies: last malformed reported */
};

/*
 * Times are u32 jiffies, compared with time_*32(): they wrap after 49 days
 * (HZ 1000), and a difference is only meaningful under half of that.
 * The table's walks (ftpe_flowtab_gc()) keep last_seen, since and the
 * refusal's times within that; since only dates a negotiation, shown in
 * the views.
 */
struct ftpe_flow {
	struct rhash_head node;
	struct nf_conn *ct;		/* key; we hold a reference */
	spinlock_t lock;
	u8 dead:1,
	   fin_orig:1,
	   fin_reply:1,
	   exp_used:1,			/* exp: used, still linked */
	   counted_row:1,		/* in the rows gauge */
	   counted_pinhole:1,		/* in the pinholes gauge */
	   malformed_told:1;		/* a malformed line was reported */
	u8 refused;			/* the last refusal: enum ftpe_reason, 0: none */
	struct ftpe_session sess;		/* what the lines made of it */
	u32 since;			/* jiffies: negotiation start */
	u32 last_seen;			/* jiffies: its last payload */
	struct nf_conntrack_expect *exp;	/* live pinhole, our reference */
	struct ftpe_nat_edit *nat_edit;	/* last NAT rewrite (nat.c) */
	struct ftpe_flow_refusal *refusal;	/* @refused's detail, or NULL */
	struct ftpe_stream stream[IP_CT_DIR_MAX];
	struct rcu_head rcu;
};

/* What the helper keeps in each conntrack's helper data. */
struct ftpe_ct_data {
	struct ftpe_flow __rcu *flow;
	/*
	 * Where each direction's stream stands while no record reads it
	 * (bit per direction in @known): left by a reclaimed record, moved on
	 * by the segments that pass unread (ftpe_ct_passed()), and taken up
	 * by the connection's next record.  So bytes read or passed before
	 * are retransmissions to it, never new line starts.  Under ct->lock.
	 */
	u32 next_seq[IP_CT_DIR_MAX];
	u32 told;		/* jiffies: an unread segment last reported */
	u8 known;
	/*
	 * TLS began (a 234) and has not ended in lines on both sides: a
	 * record made now could tell records from lines in neither
	 * direction, and reads nothing (dark).  Under ct->lock.
	 */
	u8 tls;
};

/* How often a namespace holding records looks for orphans. */
#define FTPE_GC_INTERVAL	(10 * HZ)
/* When full: how long a record must have been idle to be reclaimed. */
#define FTPE_IDLE_RECLAIM	(5 * HZ)
#define FTPE_RECLAIM_GAP	HZ
/* At any time: how long a record must have been idle to be parked... */
#define FTPE_PARK_DELAY		(30 * HZ)
/* ...and how long if it is a row for its refusal (ftpe_flow_shown()). */
#define FTPE_PARK_REFUSED	(600 * HZ)

/*
 * The records' cache and every namespace's table (main.c: after the
 * counters and the rate limits that teardown uses).  @teardown is what a
 * record's teardown does beyond the table (its pinhole and its report),
 * called under flow->lock by ftpe_flow_kill(): the table calls nothing
 * above it.
 */
int ftpe_flowtab_register(void (*teardown)(struct ftpe_flow *flow,
					   enum ftpe_stat why));
void ftpe_flowtab_unregister(void);

/* Records in @net's table. */
unsigned int ftpe_flowtab_records(const struct net *net);

/* @ct's family as the session core names it. */
static inline u8 ftpe_ct_family(const struct nf_conn *ct)
{
	return nf_ct_l3num(ct) == NFPROTO_IPV6 ? FTPE_AF_INET6 : FTPE_AF_INET;
}

/*
 * Is @ct's helper one of ours, so that its helper data is a struct
 * ftpe_ct_data?  Caller holds rcu_read_lock().
 */
static inline bool ftpe_ct_is_ours(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);
	const struct nf_conntrack_helper *helper;

	if (!help)
		return false;
	helper = rcu_dereference(help->helper);
	return helper && helper->me == THIS_MODULE;
}

/*
 * A segment of @ct's direction @dir from @seq that no record reads: does
 * it start beyond where the direction stands, with bytes never seen
 * before it, or has a record taken the connection over since it was
 * looked for?  Where the direction stands is learnt from the first such
 * segment if not known.  Caller holds ct->lock.
 */
bool ftpe_ct_beyond(const struct nf_conn *ct, enum ip_conntrack_dir dir,
		    u32 seq);

/* ... it passed: the direction stands at @end, if not further.  Same lock. */
void ftpe_ct_passed(const struct nf_conn *ct, enum ip_conntrack_dir dir,
		    u32 end);

/*
 * TLS began on @ct (@on), or ended in lines on both sides: what a record
 * made after this one starts from (struct ftpe_ct_data).  Takes ct->lock.
 */
void ftpe_ct_tls(struct nf_conn *ct, bool on);

/*
 * May a segment of @ct that no record reads be reported (table full, no
 * memory)?  At most once per @gap and connection, so that one connection
 * cannot spend the namespace's log and event budgets.  Takes ct->lock.
 */
bool ftpe_ct_may_tell(struct nf_conn *ct, unsigned long gap);

/*
 * @ct's record, if any.  Only for a conntrack known to be ours (a helper
 * callback's, or ftpe_ct_is_ours()).  Caller holds rcu_read_lock().
 */
struct ftpe_flow *ftpe_flow_find(const struct nf_conn *ct);

/*
 * Find or add the record of @ct.  Returns an ERR_PTR: -ENOSPC when the
 * namespace is at max_flows, -ENOMEM, or -ESRCH when @ct is dying.
 * Caller holds rcu_read_lock().
 */
struct ftpe_flow *ftpe_flow_get(struct nf_conn *ct);

/*
 * Bring the namespace's gauges (a negotiation under way, a pinhole held
 * and not used yet) up to date with the record: called under flow->lock
 * once the record has been changed, at the end of the helper callback and
 * wherever else a record changes; a dead record counts for neither.  So an
 * unprivileged reading of the statistics sums per-CPU numbers and never
 * walks the table or takes a record's lock.
 */
void __ftpe_flow_account(struct ftpe_flow *flow, struct ftpe_net *fn);

static inline void ftpe_flow_account(struct ftpe_flow *flow,
				     struct ftpe_net *fn)
{
	bool row = flow->sess.fsm.state != FTPE_IDLE;

	/* Most packets: no pinhole counted or to count, the row as it was. */
	if (!flow->exp && !flow->counted_pinhole && !flow->dead &&
	    row == flow->counted_row)
		return;
	__ftpe_flow_account(flow, fn);
}

/* Is the record's expectation still waiting for its data connection? */
static inline bool ftpe_flow_pinhole_open(const struct ftpe_flow *flow)
{
	/* A port held for NAT in active mode admits nothing yet. */
	return flow->exp && !ftpe_exp_expired(flow->exp) &&
	       !(READ_ONCE(flow->exp->flags) & NF_CT_EXPECT_INACTIVE);
}

/*
 * Is the record a row of the views: a negotiation in progress, or a
 * refusal to show?
 */
static inline bool ftpe_flow_shown(const struct ftpe_flow *flow)
{
	return flow->sess.fsm.state != FTPE_IDLE || flow->refused;
}

/* What the last refusal announced: none if its detail was lost. */
static inline const struct ftpe_endpoint *
ftpe_flow_refused_ep(const struct ftpe_flow *flow)
{
	static const struct ftpe_endpoint none;

	return flow->refusal ? &flow->refusal->ep : &none;
}

/*
 * The record's refusal detail, allocated now if it has none (GFP_ATOMIC);
 * NULL when there is no memory, counted in nomem.  Caller holds
 * flow->lock.
 */
struct ftpe_flow_refusal *ftpe_flow_refusal(struct ftpe_flow *flow);

/*
 * Tear the record down; @why (an FTPE_STAT_ABORTED_* cause) is counted if
 * a negotiation was open.  Caller holds flow->lock; returns false if dead.
 */
bool ftpe_flow_kill(struct ftpe_flow *flow, enum ftpe_stat why);

/* Look up @ct's record and tear it down (conntrack destroy callback). */
void ftpe_flow_destroy_ct(struct nf_conn *ct);

/* Tear down every record of @net. */
void ftpe_flowtab_flush(const struct net *net, enum ftpe_stat why);

/*
 * Call @fn for every record of @net, with flow->lock held and the record
 * alive; stops early when @fn returns non-zero.  Process context.
 */
int ftpe_flowtab_walk(const struct net *net,
		      int (*fn)(struct ftpe_flow *flow, void *arg), void *arg);

/* A walk over several calls, each in its own RCU section (see above). */
struct ftpe_flow_cursor {
	struct rhashtable_iter iter;
	bool started;
	bool again;		/* offer the record @fn stopped at once more */
	unsigned int restarts;
};

void ftpe_flow_cursor_init(struct ftpe_flow_cursor *c, const struct net *net);
void ftpe_flow_cursor_done(struct ftpe_flow_cursor *c);

/*
 * Call @fn for the next records of the cursor's namespace, as
 * ftpe_flowtab_walk() does.  When
 * @fn returns non-zero the walk pauses and the next call starts with that
 * same record (if it still exists); returns @fn's value, or 0 at the end.
 * Process context.
 */
int ftpe_flow_cursor_walk(struct ftpe_flow_cursor *c,
			  int (*fn)(struct ftpe_flow *flow, void *arg),
			  void *arg);

#endif /* _NF_FTP_EMBRYO_FLOWTAB_H */
