// SPDX-License-Identifier: GPL-2.0
/*
 * The flow table.  Binding, locking and lifetime rules are in flowtab.h.
 */
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "flowtab.h"
#include "netns.h"
#include "params.h"

static_assert(sizeof(struct ftpe_ct_data) <=
	      sizeof_field(struct nf_conn_help, data));

static const struct rhashtable_params ftpe_flow_params = {
	.head_offset = offsetof(struct ftpe_flow, node),
	.key_offset = offsetof(struct ftpe_flow, ct),
	.key_len = sizeof_field(struct ftpe_flow, ct),
	.automatic_shrinking = true,
};

static struct kmem_cache *ftpe_flow_cache;
/* What a teardown does beyond the table (ftpe_flowtab_register()). */
static void (*ftpe_flow_teardown)(struct ftpe_flow *flow,
				  enum ftpe_stat why) __ro_after_init;

/* A namespace's table: the flow table's own share of the namespace. */
struct ftpe_tab {
	struct rhashtable flows;
	atomic_t records;		/* records in @flows */
	unsigned long full;		/* bit 0: max_flows reached since gc */
	unsigned long reclaimed_at;	/* jiffies: the last reclaiming walk */
	struct delayed_work gc;		/* reaps records of detached conntracks */
	struct net *net;
};

static unsigned int ftpe_tab_id __read_mostly;

static struct ftpe_tab *ftpe_tab(const struct net *net)
{
	return net_generic(net, ftpe_tab_id);
}

/* What @ct keeps for us; NULL if it has no helper extension. */
static struct ftpe_ct_data *ftpe_ct_data(const struct nf_conn *ct)
{
	struct nf_conn_help *help = nfct_help(ct);

	return help ? (struct ftpe_ct_data *)help->data : NULL;
}

/* Where @ct keeps its record; NULL if it has no helper extension. */
static struct ftpe_flow __rcu **ftpe_ct_slot(const struct nf_conn *ct)
{
	struct ftpe_ct_data *d = ftpe_ct_data(ct);

	return d ? &d->flow : NULL;
}

bool ftpe_ct_beyond(const struct nf_conn *ct, enum ip_conntrack_dir dir,
		    u32 seq)
{
	struct ftpe_ct_data *d = ftpe_ct_data(ct);

	if (!d)
		return false;
	/*
	 * A record took the connection over meanwhile, and read on from
	 * where it stood before this segment: to it, this one is new.
	 */
	if (rcu_access_pointer(d->flow))
		return true;
	if (d->known & BIT(dir))
		return (s32)(seq - d->next_seq[dir]) > 0;
	/* The first segment seen starts the direction, as for a stream. */
	d->next_seq[dir] = seq;
	d->known |= BIT(dir);
	return false;
}

void ftpe_ct_passed(const struct nf_conn *ct, enum ip_conntrack_dir dir,
		    u32 end)
{
	struct ftpe_ct_data *d = ftpe_ct_data(ct);

	if (!d)
		return;
	if (!(d->known & BIT(dir)) || (s32)(end - d->next_seq[dir]) > 0)
		d->next_seq[dir] = end;
	d->known |= BIT(dir);
}

void ftpe_ct_tls(struct nf_conn *ct, bool on)
{
	struct ftpe_ct_data *d = ftpe_ct_data(ct);

	if (!d)
		return;
	spin_lock_bh(&ct->lock);
	d->tls = on;
	spin_unlock_bh(&ct->lock);
}

bool ftpe_ct_may_tell(struct nf_conn *ct, unsigned long gap)
{
	struct ftpe_ct_data *d = ftpe_ct_data(ct);
	u32 now = (u32)jiffies;
	bool tell;

	if (!d)
		return false;
	spin_lock_bh(&ct->lock);
	/* 0: never told (jiffies is 0 now and then: once more, no harm). */
	tell = !d->told || !time_before32(now, d->told + (u32)gap);
	if (tell)
		d->told = now;
	spin_unlock_bh(&ct->lock);
	return tell;
}

/* A new record reads on where its connection stands, if that is known. */
static void ftpe_flow_resume(struct ftpe_flow *flow)
{
	struct nf_conn *ct = flow->ct;
	struct ftpe_ct_data *d = ftpe_ct_data(ct);
	int dir;

	spin_lock_bh(&ct->lock);
	for (dir = 0; dir < IP_CT_DIR_MAX; dir++) {
		if (!(d->known & BIT(dir)))
			continue;
		flow->stream[dir].next_seq = d->next_seq[dir];
		flow->stream[dir].flags |= FTPE_STREAM_SYNCED;
	}
	d->known = 0;
	/* Unsynced, a stream starting TLS is dark at once (stream.h). */
	if (d->tls)
		for (dir = 0; dir < IP_CT_DIR_MAX; dir++) {
			flow->stream[dir].flags &= ~FTPE_STREAM_SYNCED;
			ftpe_stream_start_tls(&flow->stream[dir],
					      (enum ftpe_tls_lines)dir);
		}
	spin_unlock_bh(&ct->lock);
}

static void ftpe_flow_free_rcu(struct rcu_head *head)
{
	struct ftpe_flow *flow = container_of(head, struct ftpe_flow, rcu);

	nf_ct_put(flow->ct);
	/* Here, not at the kill: a report on a dying record may make one. */
	kfree(flow->refusal);
	kmem_cache_free(ftpe_flow_cache, flow);
}

struct ftpe_flow_refusal *ftpe_flow_refusal(struct ftpe_flow *flow)
{
	if (!flow->refusal) {
		flow->refusal = kzalloc(sizeof(*flow->refusal), GFP_ATOMIC);
		if (!flow->refusal)
			ftpe_stat_inc(nf_ct_net(flow->ct), FTPE_STAT_NOMEM);
	}
	return flow->refusal;
}

struct ftpe_flow *ftpe_flow_find(const struct nf_conn *ct)
{
	struct ftpe_flow __rcu **slot = ftpe_ct_slot(ct);

	return slot ? rcu_dereference(*slot) : NULL;
}

/* How long until the next reclaiming walk may run. */
static unsigned long ftpe_reclaim_delay(const struct ftpe_tab *tab)
{
	unsigned long next = READ_ONCE(tab->reclaimed_at) + FTPE_RECLAIM_GAP;

	return time_before(jiffies, next) ? next - jiffies : 0;
}

struct ftpe_flow *ftpe_flow_get(struct nf_conn *ct)
{
	struct ftpe_flow __rcu **slot = ftpe_ct_slot(ct);
	struct ftpe_flow *flow, *old;
	struct ftpe_tab *tab;

	if (!slot)
		return ERR_PTR(-ESRCH);
	flow = rcu_dereference(*slot);
	if (flow) {
		WRITE_ONCE(flow->last_seen, (u32)jiffies);
		return flow;
	}
	tab = ftpe_tab(nf_ct_net(ct));
	if (nf_ct_is_dying(ct))
		return ERR_PTR(-ESRCH);
	if (atomic_inc_return(&tab->records) > ftpe_max_flows) {
		atomic_dec(&tab->records);
		/* Reclaim idle records soon (ftpe_flowtab_gc), once a walk. */
		if (!test_and_set_bit(0, &tab->full))
			mod_delayed_work(system_power_efficient_wq, &tab->gc,
					 ftpe_reclaim_delay(tab));
		return ERR_PTR(-ENOSPC);
	}
	flow = kmem_cache_zalloc(ftpe_flow_cache, GFP_ATOMIC);
	if (!flow) {
		atomic_dec(&tab->records);
		return ERR_PTR(-ENOMEM);
	}
	/* The packet being helped holds a reference: ours cannot fail. */
	nf_conntrack_get(&ct->ct_general);
	flow->ct = ct;
	flow->last_seen = (u32)jiffies;
	spin_lock_init(&flow->lock);
	ftpe_session_init(&flow->sess);

	/*
	 * Published locked: whoever finds the record through the conntrack
	 * (the other direction, an RST, the destroy callback) waits for the
	 * lock, and gets it only once the record is in the table, or dead.
	 * So a kill never meets a record that is not linked yet, and no
	 * record is linked after its kill.
	 */
	spin_lock_bh(&flow->lock);
	old = unrcu_pointer(cmpxchg(slot, NULL, RCU_INITIALIZER(flow)));
	if (old) {
		/* The other direction was first; nobody has seen ours. */
		spin_unlock_bh(&flow->lock);
		atomic_dec(&tab->records);
		nf_ct_put(ct);
		kmem_cache_free(ftpe_flow_cache, flow);
		return old;
	}
	if (rhashtable_insert_fast(&tab->flows, &flow->node, ftpe_flow_params)) {
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_OTHER);
		spin_unlock_bh(&flow->lock);
		return ERR_PTR(-ENOMEM);
	}
	/* After the cmpxchg: it saw the reclaim's clearing of the slot. */
	ftpe_flow_resume(flow);
	if (!delayed_work_pending(&tab->gc))
		queue_delayed_work(system_power_efficient_wq, &tab->gc,
				   FTPE_GC_INTERVAL);

	/*
	 * nf_ct_delete() sets DYING before it calls our destroy callback: if
	 * it was set before our record became visible (the cmpxchg above is a
	 * full barrier), that callback may have missed the record.
	 */
	if (nf_ct_is_dying(ct)) {
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_DESTROY);
		spin_unlock_bh(&flow->lock);
		return ERR_PTR(-ESRCH);
	}
	spin_unlock_bh(&flow->lock);
	return flow;
}

void __ftpe_flow_account(struct ftpe_flow *flow, struct ftpe_net *fn)
{
	bool row = !flow->dead && flow->sess.fsm.state != FTPE_IDLE;
	bool pinhole = !flow->dead && flow->exp && !flow->exp_used &&
		       !ftpe_exp_expired(flow->exp);
	struct ftpe_stats __percpu *st;

	if (row == flow->counted_row && pinhole == flow->counted_pinhole)
		return;
	st = fn->stats;
	/* Unsigned: a decrement wraps, and the sum over CPUs wraps back. */
	this_cpu_add(st->rows, (unsigned long)((long)row - flow->counted_row));
	this_cpu_add(st->pinholes,
		     (unsigned long)((long)pinhole - flow->counted_pinhole));
	flow->counted_row = row;
	flow->counted_pinhole = pinhole;
}

bool ftpe_flow_kill(struct ftpe_flow *flow, enum ftpe_stat why)
{
	struct ftpe_net *fn = ftpe_net(nf_ct_net(flow->ct));
	struct ftpe_tab *tab = ftpe_tab(nf_ct_net(flow->ct));
	int dir;

	if (flow->dead)
		return false;
	flow->dead = 1;
	ftpe_flow_teardown(flow, why);
	if (flow->sess.fsm.state != FTPE_IDLE)
		ftpe_stat_abort(fn, why);
	for (dir = 0; dir < IP_CT_DIR_MAX; dir++)
		ftpe_stream_reset(&flow->stream[dir]);
	kfree(flow->nat_edit);
	flow->nat_edit = NULL;
	ftpe_flow_account(flow, fn);
	/*
	 * Out of the table before the slot is cleared: a successor, made by
	 * whoever finds the slot empty, must not meet this one under the same
	 * key.  Only a published record is ever killed: the slot names it.
	 */
	rhashtable_remove_fast(&tab->flows, &flow->node, ftpe_flow_params);
	RCU_INIT_POINTER(*ftpe_ct_slot(flow->ct), NULL);
	atomic_dec(&tab->records);
	call_rcu(&flow->rcu, ftpe_flow_free_rcu);
	return true;
}

void ftpe_flow_destroy_ct(struct nf_conn *ct)
{
	struct ftpe_flow *flow;

	rcu_read_lock();
	flow = ftpe_flow_find(ct);
	if (flow) {
		spin_lock_bh(&flow->lock);
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_DESTROY);
		spin_unlock_bh(&flow->lock);
	}
	rcu_read_unlock();
}

/*
 * Is the record dead, or its conntrack gone or no longer ours (so that no
 * destroy callback will come)?  Orphans are torn down here.  Caller holds
 * flow->lock and rcu_read_lock().
 */
static bool ftpe_flow_reap(struct ftpe_flow *flow)
{
	if (flow->dead)
		return true;
	if (!nf_ct_is_dying(flow->ct) && ftpe_ct_is_ours(flow->ct))
		return false;
	ftpe_flow_kill(flow, FTPE_STAT_ABORTED_DESTROY);
	return true;
}

/*
 * The next record of @iter, or NULL at the end; with @peek, starting at the
 * record the walker returned last.  Gives the CPU up first when asked to:
 * the walker resumes where it was.
 */
static struct ftpe_flow *ftpe_flow_next(struct rhashtable_iter *iter,
					bool peek, bool *restarted)
{
	struct ftpe_flow *flow;

	if (need_resched()) {
		rhashtable_walk_stop(iter);
		cond_resched();
		rhashtable_walk_start(iter);
	}
	flow = peek ? rhashtable_walk_peek(iter) : rhashtable_walk_next(iter);
	/* -EAGAIN: a resize; the walk goes on from the start. */
	while (IS_ERR(flow)) {
		*restarted = true;
		flow = rhashtable_walk_next(iter);
	}
	return flow;
}

/* @fn's value for @flow, or 0 if it is dead or an orphan (reaped now). */
static int ftpe_flow_visit(struct ftpe_flow *flow,
			   int (*fn)(struct ftpe_flow *flow, void *arg),
			   void *arg)
{
	int ret = 0;

	spin_lock_bh(&flow->lock);
	if (!ftpe_flow_reap(flow))
		ret = fn(flow, arg);
	spin_unlock_bh(&flow->lock);
	return ret;
}

int ftpe_flowtab_walk(const struct net *net,
		      int (*fn)(struct ftpe_flow *flow, void *arg), void *arg)
{
	struct rhashtable_iter iter;
	struct ftpe_flow *flow;
	bool restarted = false;
	int ret = 0;

	rhashtable_walk_enter(&ftpe_tab(net)->flows, &iter);
	rhashtable_walk_start(&iter);
	while (!ret &&
	       (flow = ftpe_flow_next(&iter, false, &restarted)) != NULL)
		ret = ftpe_flow_visit(flow, fn, arg);
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	return ret;
}

static int ftpe_flow_kill_one(struct ftpe_flow *flow, void *arg)
{
	const enum ftpe_stat *why = arg;

	ftpe_flow_kill(flow, *why);
	return 0;
}

void ftpe_flowtab_flush(const struct net *net, enum ftpe_stat why)
{
	ftpe_flowtab_walk(net, ftpe_flow_kill_one, &why);
}

/*
 * The longest age a record's u32 times keep (struct ftpe_flow): older ones
 * are moved up to it, so they never wrap into looking recent.
 */
#define FTPE_AGE_MAX	((u32)BIT(30))

/* Every walk of the gc work, on every record. */
static void ftpe_age(u32 *t, u32 now)
{
	if ((s32)(now - *t) > (s32)FTPE_AGE_MAX)
		*t = now - FTPE_AGE_MAX;
}

static void ftpe_flow_age(struct ftpe_flow *flow)
{
	struct ftpe_flow_refusal *rf = flow->refusal;
	u32 now = (u32)jiffies;

	/* Signed: a packet may have just made last_seen newer than @now. */
	if ((s32)(now - READ_ONCE(flow->last_seen)) > (s32)FTPE_AGE_MAX)
		WRITE_ONCE(flow->last_seen, now - FTPE_AGE_MAX);
	if (flow->sess.fsm.state != FTPE_IDLE)
		ftpe_age(&flow->since, now);
	if (rf) {
		if (rf->at)
			ftpe_age(&rf->at, now);
		ftpe_age(&rf->malformed_at, now);
	}
}

/*
 * Does the record hold nothing its connection's later segments need: no
 * negotiation, command unanswered, pinhole, line, skipped line or
 * multi-line reply begun, jump not yet read past or line start known
 * beyond a hole, NAT rewrite a resend may repeat, FIN, nor TLS?  Then a
 * new record, made at its next payload and given the streams' positions
 * (ftpe_flow_park()), reads on as this one would: what this one read is
 * old to it, and the next byte starts a line.  Caller holds flow->lock.
 */
static bool ftpe_flow_idle(const struct ftpe_flow *flow)
{
	const struct ftpe_stream *s = flow->stream;
	/* A successor would read records as lines: TLS is never idle. */
	const u8 busy = FTPE_STREAM_SKIPPING | FTPE_STREAM_JUMPED |
			FTPE_STREAM_TLS;

	return flow->sess.fsm.state == FTPE_IDLE && !flow->sess.fsm.npending &&
	       !flow->sess.fsm.blind && !flow->exp && !flow->nat_edit &&
	       !flow->sess.replies.ml_code && !flow->fin_orig &&
	       !flow->fin_reply && !s[0].held && !s[1].held &&
	       !s[0].nknown && !s[1].nknown &&
	       !(s[0].flags & busy) && !(s[1].flags & busy);
}

/* Leave where the streams stand to the connection's next record. */
static void ftpe_flow_park(struct ftpe_flow *flow)
{
	struct nf_conn *ct = flow->ct;
	struct ftpe_ct_data *d = ftpe_ct_data(ct);
	int dir;

	spin_lock_bh(&ct->lock);
	for (dir = 0; dir < IP_CT_DIR_MAX; dir++) {
		if (!(flow->stream[dir].flags & FTPE_STREAM_SYNCED))
			continue;
		d->next_seq[dir] = flow->stream[dir].next_seq;
		d->known |= BIT(dir);
	}
	spin_unlock_bh(&ct->lock);
	/* Seen by whoever finds the slot cleared (ftpe_flow_get()). */
	smp_wmb();
}

/* What a gc walk does besides reaping: parks, and reclaims if @full. */
struct ftpe_gc_walk {
	struct ftpe_net *fn;
	bool full;
};

static int ftpe_flow_gc_one(struct ftpe_flow *flow, void *arg)
{
	const struct ftpe_gc_walk *w = arg;
	enum ftpe_stat why;
	s32 idle;

	ftpe_flow_age(flow);
	if (!ftpe_flow_idle(flow))
		return 0;
	/*
	 * At most FTPE_AGE_MAX, so a difference that means what it says;
	 * negative if a packet has just found the record.
	 */
	idle = (s32)((u32)jiffies - READ_ONCE(flow->last_seen));
	if (idle >= (s32)(flow->refused ? FTPE_PARK_REFUSED : FTPE_PARK_DELAY))
		why = FTPE_STAT_PARKED;
	else if (w->full && idle > FTPE_IDLE_RECLAIM)
		why = FTPE_STAT_RECLAIMED;
	else
		return 0;
	ftpe_flow_park(flow);
	if (ftpe_flow_kill(flow, FTPE_STAT_ABORTED_OTHER))
		ftpe_count(w->fn, why);
	return 0;
}

/*
 * Walking is what reaps orphans and parks idle records; go on while there
 * are records.  A table found full since the last walk also gives up the
 * records idle for FTPE_IDLE_RECLAIM.
 */
static void ftpe_flowtab_gc(struct work_struct *work)
{
	struct ftpe_tab *tab = container_of(to_delayed_work(work),
					    struct ftpe_tab, gc);
	struct ftpe_gc_walk w = { .fn = ftpe_net(tab->net) };

	if (test_and_clear_bit(0, &tab->full)) {
		WRITE_ONCE(tab->reclaimed_at, jiffies);
		w.full = true;
	}
	ftpe_flowtab_walk(tab->net, ftpe_flow_gc_one, &w);
	if (atomic_read(&tab->records))
		queue_delayed_work(system_power_efficient_wq, &tab->gc,
				   FTPE_GC_INTERVAL);
}

void ftpe_flow_cursor_init(struct ftpe_flow_cursor *c, const struct net *net)
{
	memset(c, 0, sizeof(*c));
	rhashtable_walk_enter(&ftpe_tab(net)->flows, &c->iter);
}

void ftpe_flow_cursor_done(struct ftpe_flow_cursor *c)
{
	rhashtable_walk_exit(&c->iter);
}

int ftpe_flow_cursor_walk(struct ftpe_flow_cursor *c,
			  int (*fn)(struct ftpe_flow *flow, void *arg),
			  void *arg)
{
	struct ftpe_flow *flow;
	bool restarted = false;
	int ret = 0;

	/* -EAGAIN after the first call: a resize sent us back to the start. */
	if (rhashtable_walk_start_check(&c->iter) && c->started)
		c->restarts++;
	c->started = true;
	/* peek gives the record the walker last returned: the one @fn refused. */
	flow = ftpe_flow_next(&c->iter, c->again, &restarted);
	c->again = false;
	while (flow) {
		ret = ftpe_flow_visit(flow, fn, arg);
		if (ret) {
			c->again = true;
			break;
		}
		flow = ftpe_flow_next(&c->iter, false, &restarted);
	}
	if (restarted)
		c->restarts++;
	rhashtable_walk_stop(&c->iter);
	return ret;
}

static int __net_init ftpe_tab_init(struct net *net)
{
	struct ftpe_tab *tab = ftpe_tab(net);

	tab->net = net;
	atomic_set(&tab->records, 0);
	tab->full = 0;
	tab->reclaimed_at = jiffies - FTPE_RECLAIM_GAP;
	INIT_DELAYED_WORK(&tab->gc, ftpe_flowtab_gc);
	return rhashtable_init(&tab->flows, &ftpe_flow_params);
}

/*
 * No record is added meanwhile: no packet reaches a namespace that is going
 * away, and at module unload the helper is already unregistered.  But
 * destroy callbacks may remove records under our feet, which can make the
 * walker skip one: walk again while that makes progress.
 */
static void __net_exit ftpe_tab_exit(struct net *net)
{
	struct ftpe_tab *tab = ftpe_tab(net);
	int left = atomic_read(&tab->records), before;

	cancel_delayed_work_sync(&tab->gc);
	do {
		before = left;
		ftpe_flowtab_flush(net, FTPE_STAT_ABORTED_DESTROY);
		left = atomic_read(&tab->records);
	} while (left && left < before);
	WARN_ON_ONCE(left);
}

/*
 * A conntrack destroy callback that found a record just before ->exit may
 * still be tearing it down, touching the table and the counters, inside an
 * RCU read-side section: wait for those once per batch of namespaces
 * before freeing the table.  The destroy callbacks that follow find no
 * record.  The counters go after this (netns.c).
 */
static void __net_exit ftpe_tab_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	synchronize_rcu();
	list_for_each_entry(net, net_exit_list, exit_list)
		rhashtable_destroy(&ftpe_tab(net)->flows);
}

static struct pernet_operations ftpe_tab_ops = {
	.init = ftpe_tab_init,
	.exit = ftpe_tab_exit,
	.exit_batch = ftpe_tab_exit_batch,
	.id = &ftpe_tab_id,
	.size = sizeof(struct ftpe_tab),
};

unsigned int ftpe_flowtab_records(const struct net *net)
{
	return atomic_read(&ftpe_tab(net)->records);
}

int ftpe_flowtab_register(void (*teardown)(struct ftpe_flow *flow,
					   enum ftpe_stat why))
{
	int ret;

	ftpe_flow_teardown = teardown;
	ftpe_flow_cache = KMEM_CACHE(ftpe_flow, 0);
	if (!ftpe_flow_cache)
		return -ENOMEM;
	ret = register_pernet_subsys(&ftpe_tab_ops);
	if (ret)
		kmem_cache_destroy(ftpe_flow_cache);
	return ret;
}

/* Every namespace's records are gone; wait for their last grace period. */
void ftpe_flowtab_unregister(void)
{
	unregister_pernet_subsys(&ftpe_tab_ops);
	rcu_barrier();
	kmem_cache_destroy(ftpe_flow_cache);
}
