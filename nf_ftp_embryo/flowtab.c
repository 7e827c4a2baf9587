// SPDX-License-Identifier: GPL-2.0
/*
 * The flow table.  Locking and lifetime rules are in flowtab.h.
 */
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "flowtab.h"
#include "netns.h"
#include "params.h"

static struct rhashtable ftpe_flows;

static const struct rhashtable_params ftpe_flow_params = {
	.head_offset = offsetof(struct ftpe_flow, node),
	.key_offset = offsetof(struct ftpe_flow, ct),
	.key_len = sizeof_field(struct ftpe_flow, ct),
	.automatic_shrinking = true,
};

static struct kmem_cache *ftpe_flow_cache;

static void ftpe_flow_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(ftpe_flow_cache, container_of(head, struct ftpe_flow,
						      rcu));
}

struct ftpe_flow *ftpe_flow_find(const struct nf_conn *ct)
{
	return rhashtable_lookup(&ftpe_flows, &ct, ftpe_flow_params);
}

struct ftpe_flow *ftpe_flow_get(struct nf_conn *ct)
{
	struct ftpe_net *fn = ftpe_net(nf_ct_net(ct));
	struct ftpe_flow *flow, *old;

	flow = ftpe_flow_find(ct);
	if (flow)
		return flow;
	if (nf_ct_is_dying(ct))
		return ERR_PTR(-ESRCH);
	if (atomic_inc_return(&fn->records) > ftpe_max_flows) {
		atomic_dec(&fn->records);
		return ERR_PTR(-ENOSPC);
	}
	flow = kmem_cache_zalloc(ftpe_flow_cache, GFP_ATOMIC);
	if (!flow) {
		atomic_dec(&fn->records);
		return ERR_PTR(-ENOMEM);
	}
	flow->ct = ct;
	spin_lock_init(&flow->lock);
	ftpe_fsm_init(&flow->fsm);

	old = rhashtable_lookup_get_insert_fast(&ftpe_flows, &flow->node,
						ftpe_flow_params);
	if (old) {
		/* Lost a race with the other direction, or out of memory. */
		atomic_dec(&fn->records);
		kmem_cache_free(ftpe_flow_cache, flow);
		return IS_ERR(old) ? ERR_PTR(-ENOMEM) : old;
	}

	/*
	 * nf_ct_delete() sets DYING before it calls our destroy callback: if
	 * it was set before our insert became visible, that callback may have
	 * missed the record, so remove it ourselves.
	 */
	smp_mb();
	if (nf_ct_is_dying(ct)) {
		spin_lock_bh(&flow->lock);
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_DESTROY);
		spin_unlock_bh(&flow->lock);
		return ERR_PTR(-ESRCH);
	}
	return flow;
}

/*
 * An expectation we still hold (a used one was let go of by
 * ftpe_flow_expect_used()) is either waiting, and removed early now, or
 * past its timeout: expired (kcompat.h).
 */
void ftpe_flow_unexpect(struct ftpe_flow *flow)
{
	const struct net *net = nf_ct_net(flow->ct);

	if (!flow->exp)
		return;
	if (ftpe_exp_expired(flow->exp)) {
		ftpe_stat_inc(net, FTPE_STAT_EXP_EXPIRED);
	} else {
		nf_ct_unexpect_related(flow->exp);
		ftpe_stat_inc(net, FTPE_STAT_EXP_REMOVED);
	}
	nf_ct_expect_put(flow->exp);
	flow->exp = NULL;
}

void ftpe_flow_expect_used(const struct nf_conn *master,
			   struct nf_conntrack_expect *exp)
{
	struct ftpe_flow *flow;

	rcu_read_lock();
	flow = ftpe_flow_find(master);
	if (flow) {
		spin_lock_bh(&flow->lock);
		if (!flow->dead && flow->exp == exp) {
			nf_ct_expect_put(exp);
			flow->exp = NULL;
		}
		spin_unlock_bh(&flow->lock);
	}
	rcu_read_unlock();
}

bool ftpe_flow_kill(struct ftpe_flow *flow, enum ftpe_stat why)
{
	const struct net *net = nf_ct_net(flow->ct);
	int dir;

	if (flow->dead)
		return false;
	flow->dead = 1;
	if (flow->fsm.state != FTPE_IDLE)
		ftpe_stat_abort(net, why);
	ftpe_flow_unexpect(flow);
	for (dir = 0; dir < IP_CT_DIR_MAX; dir++)
		ftpe_stream_reset(&flow->stream[dir]);
	kfree(flow->nat_edit);
	flow->nat_edit = NULL;
	rhashtable_remove_fast(&ftpe_flows, &flow->node, ftpe_flow_params);
	atomic_dec(&ftpe_net(net)->records);
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

int ftpe_flowtab_walk(const struct net *net,
		      int (*fn)(struct ftpe_flow *flow, void *arg), void *arg)
{
	struct rhashtable_iter iter;
	struct ftpe_flow *flow;
	int ret = 0;

	rhashtable_walk_enter(&ftpe_flows, &iter);
	rhashtable_walk_start(&iter);
	while (!ret && (flow = rhashtable_walk_next(&iter)) != NULL) {
		if (IS_ERR(flow))
			continue;	/* -EAGAIN: a resize; keep walking */
		if (net && !net_eq(nf_ct_net(flow->ct), net))
			continue;
		spin_lock_bh(&flow->lock);
		if (!flow->dead)
			ret = fn(flow, arg);
		spin_unlock_bh(&flow->lock);
	}
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

void ftpe_flow_cursor_init(struct ftpe_flow_cursor *c)
{
	memset(c, 0, sizeof(*c));
	rhashtable_walk_enter(&ftpe_flows, &c->iter);
}

void ftpe_flow_cursor_done(struct ftpe_flow_cursor *c)
{
	rhashtable_walk_exit(&c->iter);
}

int ftpe_flow_cursor_walk(struct ftpe_flow_cursor *c, const struct net *net,
			  int (*fn)(struct ftpe_flow *flow, void *arg),
			  void *arg)
{
	struct ftpe_flow *flow;
	int ret = 0;

	/* -EAGAIN after the first call: a resize sent us back to the start. */
	if (rhashtable_walk_start_check(&c->iter) && c->started)
		c->restarts++;
	c->started = true;
	/* peek gives the record the walker last returned: the one @fn refused. */
	flow = c->again ? rhashtable_walk_peek(&c->iter) :
			  rhashtable_walk_next(&c->iter);
	c->again = false;
	for (; flow; flow = rhashtable_walk_next(&c->iter)) {
		if (IS_ERR(flow)) {
			c->restarts++;
			continue;
		}
		if (!net_eq(nf_ct_net(flow->ct), net))
			continue;
		spin_lock_bh(&flow->lock);
		if (!flow->dead)
			ret = fn(flow, arg);
		spin_unlock_bh(&flow->lock);
		if (ret) {
			c->again = true;
			break;
		}
	}
	rhashtable_walk_stop(&c->iter);
	return ret;
}

int ftpe_flowtab_init(void)
{
	int ret;

	ftpe_flow_cache = KMEM_CACHE(ftpe_flow, 0);
	if (!ftpe_flow_cache)
		return -ENOMEM;
	ret = rhashtable_init(&ftpe_flows, &ftpe_flow_params);
	if (ret)
		kmem_cache_destroy(ftpe_flow_cache);
	return ret;
}

/* Every record is gone by now (namespace exits flushed them). */
void ftpe_flowtab_exit(void)
{
	rhashtable_destroy(&ftpe_flows);
	rcu_barrier();
	kmem_cache_destroy(ftpe_flow_cache);
}
