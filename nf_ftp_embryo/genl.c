// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "nf_ftp_embryo" (ABI: include/uapi/linux/
 * nf_ftp_embryo.h, Documentation/netlink.md).
 *
 * Each namespace answers for itself: a request reads or changes only the
 * namespace of the socket it came on.  Counters are open to every user, as
 * /proc/net/nf_ftp_embryo/stats is; the flows name who talks to whom, so
 * reading them, like changing anything, needs CAP_NET_ADMIN over the
 * namespace (as conntrack's own tables do).
 *
 * Flow events go to the multicast group "events" of the namespace the
 * control connection lives in, built with GFP_ATOMIC where they happen
 * (softirq, under the record's lock) and only while someone listens.
 * After the family is unregistered (module unload) none is sent: records
 * torn down then have no family left to speak for them.  An event is
 * sent inside an RCU read-side section that saw the family up, and the
 * family goes away a grace period after it was marked down, so no event
 * can reach a family being unregistered (whose groups another family may
 * already have).
 *
 * The flow dump keeps a flow-table cursor between recvmsg() batches, so a
 * table of any size comes out complete; see flowtab.h for what a resize in
 * between does (the dump is then flagged NLM_F_DUMP_INTR).
 */
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <linux/nf_ftp_embryo.h>

#include "flowtab.h"
#include "genl.h"
#include "kcompat.h"
#include "netns.h"
#include "stats.h"

/* Room for one counter: its nest, a name under 64 bytes, value, flag. */
#define FTPE_STAT_ROOM	(4 * NLA_HDRLEN + 64 + 8 + 8)

static struct genl_family ftpe_genl_family;
static bool ftpe_genl_up;

/* Room for one event: its headers and a flow nest with every attribute. */
#define FTPE_EVENT_ROOM	256

static int ftpe_genl_put_stat(const struct ftpe_stat_value *v, void *arg)
{
	struct sk_buff *skb = arg;
	struct nlattr *nest;

	nest = nla_nest_start(skb, FTPE_A_STAT);
	if (!nest ||
	    nla_put_string(skb, FTPE_STAT_A_NAME, v->name) ||
	    nla_put_u64_64bit(skb, FTPE_STAT_A_VALUE, v->value,
			      FTPE_STAT_A_PAD) ||
	    (v->gauge && nla_put_flag(skb, FTPE_STAT_A_GAUGE)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int ftpe_genl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;
	int ret = -EMSGSIZE;

	msg = genlmsg_new((FTPE_STAT_COUNT + FTPE_GAUGE_COUNT) *
			  FTPE_STAT_ROOM, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ftpe_genl_family, 0,
				FTPE_CMD_STATS_GET);
	if (!hdr)
		goto err;
	nest = nla_nest_start(msg, FTPE_A_STATS);
	if (!nest)
		goto err;
	ret = ftpe_stats_read(genl_info_net(info), ftpe_genl_put_stat, msg);
	if (ret)
		goto err;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/* The UAPI names its own numbers: no dependence on internal enums. */
static const u8 ftpe_genl_states[FTPE_STATE_COUNT] = {
	[FTPE_IDLE] = FTPE_FLOW_IDLE,
	[FTPE_OPENING] = FTPE_FLOW_OPENING,
	[FTPE_OPENED] = FTPE_FLOW_OPENED,
	[FTPE_CMD_SENT] = FTPE_FLOW_CMD_SENT,
	[FTPE_EXEC_STARTED] = FTPE_FLOW_EXEC_STARTED,
	[FTPE_EXEC_COMP] = FTPE_FLOW_EXEC_COMP,
};

static const u8 ftpe_genl_modes[FTPE_VERB_COUNT] = {
	[FTPE_VERB_PORT] = FTPE_FLOW_MODE_PORT,
	[FTPE_VERB_EPRT] = FTPE_FLOW_MODE_EPRT,
	[FTPE_VERB_PASV] = FTPE_FLOW_MODE_PASV,
	[FTPE_VERB_EPSV] = FTPE_FLOW_MODE_EPSV,
};

struct ftpe_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	struct ftpe_flow_cursor *cursor;
};

static int ftpe_genl_put_addr(struct sk_buff *skb, int type, u8 family,
			      const void *addr)
{
	return nla_put(skb, type, family == AF_INET6 ? 16 : 4, addr);
}

static u8 ftpe_genl_family_of(u8 ftpe_af)
{
	return ftpe_af == FTPE_AF_INET6 ? AF_INET6 :
	       ftpe_af == FTPE_AF_INET ? AF_INET : 0;
}

/* The control connection: who talks to whom. */
static int ftpe_genl_put_conn(struct sk_buff *skb, const struct nf_conn *ct)
{
	const struct nf_conntrack_tuple *t =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	u8 family = nf_ct_l3num(ct) == NFPROTO_IPV6 ? AF_INET6 : AF_INET;

	if (nla_put_u8(skb, FTPE_FLOW_A_FAMILY, family) ||
	    ftpe_genl_put_addr(skb, FTPE_FLOW_A_CLIENT, family, &t->src.u3) ||
	    nla_put_u16(skb, FTPE_FLOW_A_CLIENT_PORT,
			ntohs(t->src.u.tcp.port)) ||
	    ftpe_genl_put_addr(skb, FTPE_FLOW_A_SERVER, family, &t->dst.u3) ||
	    nla_put_u16(skb, FTPE_FLOW_A_SERVER_PORT,
			ntohs(t->dst.u.tcp.port)))
		return -EMSGSIZE;
	return 0;
}

/* Where an endpoint goes: the data one or the one a refused line named. */
static const int ftpe_genl_data_attrs[] = {
	FTPE_FLOW_A_DATA_FAMILY, FTPE_FLOW_A_DATA_ADDR, FTPE_FLOW_A_DATA_PORT
};

static const int ftpe_genl_refused_attrs[] = {
	FTPE_FLOW_A_REFUSED_FAMILY, FTPE_FLOW_A_REFUSED_ADDR,
	FTPE_FLOW_A_REFUSED_PORT
};

/* @ep as family, address (if any) and port, in the attributes @at names. */
static int ftpe_genl_put_ep(struct sk_buff *skb, const int *at,
			    const struct ftpe_endpoint *ep)
{
	u8 family = ftpe_genl_family_of(ep->family);

	if (nla_put_u8(skb, at[0], family) ||
	    (family && ftpe_genl_put_addr(skb, at[1], family, ep->addr)) ||
	    nla_put_u16(skb, at[2], ep->port))
		return -EMSGSIZE;
	return 0;
}

static int ftpe_genl_put_row(struct sk_buff *skb, const struct ftpe_flow *flow)
{
	const struct ftpe_fsm *f = &flow->sess.fsm;

	if (ftpe_genl_put_conn(skb, flow->ct) ||
	    nla_put_u8(skb, FTPE_FLOW_A_STATE, ftpe_genl_states[f->state]) ||
	    nla_put_u8(skb, FTPE_FLOW_A_MODE, ftpe_genl_modes[f->mode]) ||
	    ftpe_genl_put_ep(skb, ftpe_genl_data_attrs, &f->ep) ||
	    nla_put_u16(skb, FTPE_FLOW_A_REPLY, f->reply) ||
	    nla_put_u32(skb, FTPE_FLOW_A_AGE_MS, f->state == FTPE_IDLE ? 0 :
			jiffies_to_msecs((u32)jiffies - flow->since)) ||
	    nla_put_u8(skb, FTPE_FLOW_A_PINHOLE, ftpe_flow_pinhole_open(flow)))
		return -EMSGSIZE;
	if (!flow->refused)
		return 0;
	if (nla_put_u8(skb, FTPE_FLOW_A_REFUSED, flow->refused) ||
	    ftpe_genl_put_ep(skb, ftpe_genl_refused_attrs,
			     ftpe_flow_refused_ep(flow)))
		return -EMSGSIZE;
	/* The detail was lost (no memory): no age to tell. */
	if (flow->refusal &&
	    nla_put_u32(skb, FTPE_FLOW_A_REFUSED_AGE_MS,
			jiffies_to_msecs((u32)jiffies - flow->refusal->at)))
		return -EMSGSIZE;
	return 0;
}

/* One message per row; -EMSGSIZE pauses the walk at this record. */
static int ftpe_genl_put_flow(struct ftpe_flow *flow, void *arg)
{
	struct ftpe_dump *d = arg;
	struct nlattr *nest;
	void *hdr;

	if (!ftpe_flow_shown(flow))
		return 0;
	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid,
			  d->cb->nlh->nlmsg_seq, &ftpe_genl_family,
			  NLM_F_MULTI, FTPE_CMD_FLOWS_GET);
	if (!hdr)
		return -EMSGSIZE;
	/* A restarted walk may repeat rows: tell the reader. */
	d->cb->seq = d->cursor->restarts + 1;
	genl_dump_check_consistent(d->cb, hdr);
	nest = nla_nest_start(d->skb, FTPE_A_FLOW);
	if (!nest || ftpe_genl_put_row(d->skb, flow)) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	nla_nest_end(d->skb, nest);
	genlmsg_end(d->skb, hdr);
	return 0;
}

/* cb->args[0]: the cursor; cb->args[1]: set once the walk has ended. */
static int ftpe_genl_flows_start(struct netlink_callback *cb)
{
	struct ftpe_flow_cursor *c;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	ftpe_flow_cursor_init(c, sock_net(cb->skb->sk));
	cb->args[0] = (long)c;
	cb->args[1] = 0;
	return 0;
}

static int ftpe_genl_flows_dump(struct sk_buff *skb,
				struct netlink_callback *cb)
{
	struct ftpe_dump d = {
		.skb = skb,
		.cb = cb,
		.cursor = (struct ftpe_flow_cursor *)cb->args[0],
	};

	if (cb->args[1])
		return 0;
	if (!ftpe_flow_cursor_walk(d.cursor, ftpe_genl_put_flow, &d))
		cb->args[1] = 1;
	return skb->len;
}

static int ftpe_genl_flows_done(struct netlink_callback *cb)
{
	struct ftpe_flow_cursor *c = (struct ftpe_flow_cursor *)cb->args[0];

	if (c) {
		ftpe_flow_cursor_done(c);
		kfree(c);
	}
	return 0;
}

/*
 * What a filtered flush ends (FTPE_A_FLOW in FTPE_CMD_FLOWS_FLUSH): the
 * control connections whose family, client and server addresses and
 * state are those named; a member not named matches any.
 */
struct ftpe_filter {
	u8 family;			/* AF_INET, AF_INET6; 0: any */
	u8 state;			/* enum ftpe_flow_state, if @has_state */
	bool has_state;
	const void *addr[2];		/* [0] client, [1] server, or NULL */
};

static bool ftpe_filter_match(const struct ftpe_flow *flow,
			      const struct ftpe_filter *flt)
{
	const struct nf_conntrack_tuple *t =
		&flow->ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	u8 family = nf_ct_l3num(flow->ct) == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
	unsigned int len = family == AF_INET6 ? 16 : 4;

	if (flt->family && flt->family != family)
		return false;
	if (flt->addr[0] && memcmp(flt->addr[0], &t->src.u3, len))
		return false;
	if (flt->addr[1] && memcmp(flt->addr[1], &t->dst.u3, len))
		return false;
	return !flt->has_state ||
	       flt->state == ftpe_genl_states[flow->sess.fsm.state];
}

static int ftpe_filter_kill(struct ftpe_flow *flow, void *arg)
{
	if (ftpe_filter_match(flow, arg))
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_FLUSH);
	return 0;
}

/*
 * What a filter may name; anything else in it is refused (strict).  The
 * values are checked by ftpe_filter_parse(), not here: a range in the
 * policy would answer ERANGE, and a bad filter is EINVAL like any other
 * bad request of the family.
 */
static const struct nla_policy ftpe_genl_filter_policy[FTPE_FLOW_A_MAX + 1] = {
	[FTPE_FLOW_A_FAMILY] = { .type = NLA_U8 },
	[FTPE_FLOW_A_CLIENT] = { .type = NLA_BINARY },
	[FTPE_FLOW_A_SERVER] = { .type = NLA_BINARY },
	[FTPE_FLOW_A_STATE] = { .type = NLA_U8 },
};

/*
 * Read the filter the policy let through into @flt, checking its values.
 * An address names its family by its length; family and addresses must
 * agree.
 */
static int ftpe_filter_parse(struct nlattr **tb, struct ftpe_filter *flt,
			     struct netlink_ext_ack *extack)
{
	static const int at[2] = { FTPE_FLOW_A_CLIENT, FTPE_FLOW_A_SERVER };
	u8 family = 0;
	int i, len;

	memset(flt, 0, sizeof(*flt));
	if (tb[FTPE_FLOW_A_FAMILY]) {
		family = nla_get_u8(tb[FTPE_FLOW_A_FAMILY]);
		if (family != AF_INET && family != AF_INET6) {
			NL_SET_ERR_MSG_ATTR(extack, tb[FTPE_FLOW_A_FAMILY],
					    "family must be AF_INET or AF_INET6");
			return -EINVAL;
		}
	}
	for (i = 0; i < 2; i++) {
		if (!tb[at[i]])
			continue;
		len = nla_len(tb[at[i]]);
		if (len != 4 && len != 16) {
			NL_SET_ERR_MSG_ATTR(extack, tb[at[i]],
					    "an address is 4 or 16 bytes");
			return -EINVAL;
		}
		if (family && len != (family == AF_INET6 ? 16 : 4)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[at[i]],
					    "address and family disagree");
			return -EINVAL;
		}
		family = len == 16 ? AF_INET6 : AF_INET;
		flt->addr[i] = nla_data(tb[at[i]]);
	}
	flt->family = family;
	if (tb[FTPE_FLOW_A_STATE]) {
		flt->state = nla_get_u8(tb[FTPE_FLOW_A_STATE]);
		if (flt->state > FTPE_FLOW_EXEC_COMP) {
			NL_SET_ERR_MSG_ATTR(extack, tb[FTPE_FLOW_A_STATE],
					    "no such state");
			return -EINVAL;
		}
		flt->has_state = true;
	}
	/* An empty filter is no filter: never a flush of all by mistake. */
	if (!flt->family && !flt->has_state) {
		NL_SET_ERR_MSG(extack, "an empty filter names no flow");
		return -EINVAL;
	}
	return 0;
}

/*
 * End every negotiation of the request's namespace (and only of it), or
 * with FTPE_A_FLOW those of the connections it names.
 */
static int ftpe_genl_flows_flush(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[FTPE_FLOW_A_MAX + 1];
	struct net *net = genl_info_net(info);
	struct ftpe_filter flt;
	int ret;

	if (!info->attrs[FTPE_A_FLOW]) {
		ftpe_flowtab_flush(net, FTPE_STAT_ABORTED_FLUSH);
		return 0;
	}
	ret = nla_parse_nested(tb, FTPE_FLOW_A_MAX, info->attrs[FTPE_A_FLOW],
			       ftpe_genl_filter_policy, info->extack);
	if (ret)
		return ret;
	ret = ftpe_filter_parse(tb, &flt, info->extack);
	if (ret)
		return ret;
	ftpe_flowtab_walk(net, ftpe_filter_kill, &flt);
	return 0;
}

/*
 * No other request carries an attribute: with strict validation (every
 * command, resv_start_op 0) a policy that names none rejects any.
 */
static const struct nla_policy ftpe_genl_no_attrs[FTPE_A_MAX + 1] = {};

/* A flush carries at most a filter, validated again when it is read. */
static const struct nla_policy ftpe_genl_flush_policy[FTPE_A_MAX + 1] = {
	[FTPE_A_FLOW] = NLA_POLICY_NESTED(ftpe_genl_filter_policy),
};

static const struct genl_ops ftpe_genl_ops[] = {
	{
		.cmd = FTPE_CMD_STATS_GET,
		.doit = ftpe_genl_stats_get,
		.policy = ftpe_genl_no_attrs,
		.maxattr = FTPE_A_MAX,
	},
	{
		.cmd = FTPE_CMD_FLOWS_GET,
		.start = ftpe_genl_flows_start,
		.dumpit = ftpe_genl_flows_dump,
		.done = ftpe_genl_flows_done,
		.policy = ftpe_genl_no_attrs,
		.maxattr = FTPE_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd = FTPE_CMD_FLOWS_FLUSH,
		.doit = ftpe_genl_flows_flush,
		.policy = ftpe_genl_flush_policy,
		.maxattr = FTPE_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group ftpe_genl_mcgrps[] = {
	/* Events name who talks to whom, as the flows do. */
	{ .name = FTPE_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family ftpe_genl_family __ro_after_init = {
	.name = FTPE_GENL_NAME,
	.version = FTPE_GENL_VERSION,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = ftpe_genl_ops,
	.n_ops = ARRAY_SIZE(ftpe_genl_ops),
	.mcgrps = ftpe_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ftpe_genl_mcgrps),
	.resv_start_op = 0,
};

bool ftpe_genl_listening(const struct net *net)
{
	return FTPE_GENL_EVENTS && READ_ONCE(ftpe_genl_up) &&
	       genl_has_listeners(&ftpe_genl_family, (struct net *)net, 0);
}

void ftpe_genl_event(const struct ftpe_event *ev)
{
	struct net *net = nf_ct_net(ev->ct);
	struct sk_buff *msg;
	struct nlattr *nest;
	void *hdr;

	rcu_read_lock();
	if (!ftpe_genl_listening(net))
		goto out;
	msg = genlmsg_new(FTPE_EVENT_ROOM, GFP_ATOMIC);
	if (!msg)
		goto out;
	hdr = genlmsg_put(msg, 0, 0, &ftpe_genl_family, 0, FTPE_CMD_EVENT);
	if (!hdr)
		goto err;
	if (nla_put_u8(msg, FTPE_A_EVENT, ev->type) ||
	    (ev->reason && nla_put_u8(msg, FTPE_A_REASON, ev->reason)))
		goto err;
	nest = nla_nest_start(msg, FTPE_A_FLOW);
	if (!nest || ftpe_genl_put_conn(msg, ev->ct) ||
	    (ev->state < FTPE_STATE_COUNT &&
	     nla_put_u8(msg, FTPE_FLOW_A_STATE,
			ftpe_genl_states[ev->state])) ||
	    nla_put_u8(msg, FTPE_FLOW_A_MODE, ftpe_genl_modes[ev->mode]) ||
	    (ev->ep && ftpe_genl_put_ep(msg, ftpe_genl_data_attrs, ev->ep)))
		goto err;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&ftpe_genl_family, net, msg, 0, 0, GFP_ATOMIC);
	goto out;
err:
	nlmsg_free(msg);
out:
	rcu_read_unlock();
}

int ftpe_genl_register(void)
{
	int ret = genl_register_family(&ftpe_genl_family);

	if (!ret)
		WRITE_ONCE(ftpe_genl_up, true);
	return ret;
}

void ftpe_genl_unregister(void)
{
	WRITE_ONCE(ftpe_genl_up, false);
	synchronize_rcu();
	genl_unregister_family(&ftpe_genl_family);
}
