// SPDX-License-Identifier: GPL-2.0
/*
 * The conntrack helper callback: reads the control connection, drives the
 * state machine and opens and closes the pinhole (the expectation).
 *
 * Runs in softirq (or with BH disabled on local output), inside the RCU
 * read-side section of the conntrack confirm hook: nothing here sleeps and
 * every allocation is GFP_ATOMIC.  All per-connection work happens under
 * that connection's flow->lock (see flowtab.h); there is no global lock.
 *
 * Who is believed: commands only from the client (the original direction),
 * replies only from the server.  Addresses announced in PORT/EPRT must be
 * the client's own (unless the unsafe loose=1), those in 227 the server's
 * own, and data ports must be at least min_port; anything else opens
 * nothing and is counted.
 *
 * On a translated connection the announcing line is rewritten (nat.c); the
 * rewrite is queued while the segment is read and applied once it has
 * been, because it may move the segment's bytes.
 */
#include <linux/tcp.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "flowtab.h"
#include "helper.h"
#include "nat.h"
#include "netns.h"
#include "params.h"

/* Everything a line callback needs about the segment being read. */
struct ftpe_pkt {
	struct ftpe_flow *flow;
	struct nf_conn *ct;
	const struct net *net;
	enum ip_conntrack_dir dir;
	const char *line;		/* the line being read */
	struct ftpe_nat_edit edit;	/* NAT rewrite of this segment */
};

static const char *ftpe_skb_read(const void *skb, unsigned int off,
				 unsigned int len, char *buf)
{
	return skb_header_pointer(skb, off, len, buf);
}

static const union nf_inet_addr *ftpe_client(const struct nf_conn *ct)
{
	return &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3;
}

static const union nf_inet_addr *ftpe_server(const struct nf_conn *ct)
{
	return &ct->tuplehash[IP_CT_DIR_REPLY].tuple.src.u3;
}

static u8 ftpe_family(const struct nf_conn *ct)
{
	return nf_ct_l3num(ct) == NFPROTO_IPV6 ? FTPE_AF_INET6 : FTPE_AF_INET;
}

static bool ftpe_ep_is(const struct ftpe_endpoint *ep,
		       const struct nf_conn *ct, const union nf_inet_addr *a)
{
	u8 family = ftpe_family(ct);

	return ep->family == family &&
	       !memcmp(ep->addr, a, family == FTPE_AF_INET6 ? 16 : 4);
}

/*
 * A data connection matched our expectation; the kernel has unlinked it.
 * The one place that acts on a used pinhole.  Runs in the data
 * connection's softirq, outside nf_conntrack_expect_lock.
 */
static void ftpe_expect_used(struct nf_conn *ct,
			     struct nf_conntrack_expect *exp)
{
	/* Translated: the data connection follows its master's NAT. */
	if (ftpe_nat_wanted(exp->master))
		ftpe_nat_follow(ct, exp);
	ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_EXP_USED);
	ftpe_flow_expect_used(exp->master, exp);
}

/*
 * NAT: register the negotiated endpoint's expectation and queue the rewrite
 * of the line announcing it.  Active modes get here at PORT/EPRT, as the
 * line passes, and hold the port inactive until the transfer command.
 */
static void ftpe_nat_announce(struct ftpe_pkt *pk)
{
	struct ftpe_flow *flow = pk->flow;
	struct nf_conntrack_expect *exp;

	exp = ftpe_nat_expect(pk->ct, flow->fsm.mode, &flow->fsm.ep, pk->line,
			      flow->stream[pk->dir].line_seq, ftpe_expect_used,
			      &pk->edit);
	if (IS_ERR(exp))
		return;
	flow->exp = exp;
	ftpe_stat_inc(pk->net, FTPE_STAT_EXP_CREATED);
}

static void ftpe_expect(struct ftpe_pkt *pk)
{
	const struct nf_conntrack_tuple *orig =
		&pk->ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	struct ftpe_flow *flow = pk->flow;
	__be16 port = htons(flow->fsm.ep.port);
	const union nf_inet_addr *src, *dst;
	struct nf_conntrack_expect *exp;
	union nf_inet_addr third;

	if (ftpe_nat_wanted(pk->ct)) {
		if (!ftpe_mode_active(flow->fsm.mode))
			ftpe_nat_announce(pk);
		else if (flow->exp && ftpe_nat_activate(&flow->exp))
			ftpe_flow_unexpect(flow);
		return;
	}
	exp = nf_ct_expect_alloc(pk->ct);
	if (!exp) {
		ftpe_stat_inc(pk->net, FTPE_STAT_NOMEM);
		return;
	}
	if (ftpe_mode_active(flow->fsm.mode)) {
		src = &orig->dst.u3;
		dst = &orig->src.u3;
		/* Vetting let a third host through: the server goes there. */
		if (ftpe_loose && !ftpe_ep_is(&flow->fsm.ep, pk->ct, dst)) {
			memcpy(&third, flow->fsm.ep.addr, sizeof(third));
			dst = &third;
		}
	} else {
		src = &orig->src.u3;
		dst = &orig->dst.u3;
	}
	nf_ct_expect_init(exp, NF_CT_EXPECT_CLASS_DEFAULT, nf_ct_l3num(pk->ct),
			  src, dst, IPPROTO_TCP, NULL, &port);
	exp->expectfn = ftpe_expect_used;
	if (nf_ct_expect_related(exp, 0)) {
		ftpe_stat_inc(pk->net, FTPE_STAT_EXP_FAILED);
		nf_ct_expect_put(exp);
		return;
	}
	/* Keep our allocation reference: it is how we remove it early. */
	flow->exp = exp;
	ftpe_stat_inc(pk->net, FTPE_STAT_EXP_CREATED);
}

/*
 * Carry out what the state machine decided; @why is the FTPE_STAT_ABORTED_*
 * cause to count should it have ended the negotiation early.
 */
static void ftpe_apply(struct ftpe_pkt *pk, unsigned int r,
		       enum ftpe_stat why)
{
	static const struct {
		unsigned int bit;
		enum ftpe_stat stat;
	} events[] = {
		{ FTPE_EV_OPENED, FTPE_STAT_NEGOTIATIONS },
		{ FTPE_EV_DONE, FTPE_STAT_COMPLETED },
		{ FTPE_EV_REPLACED, FTPE_STAT_REPLACED },
		{ FTPE_EV_UNSOLICITED, FTPE_STAT_UNSOLICITED },
		{ FTPE_EV_TLS, FTPE_STAT_TLS },
		{ FTPE_EV_MOVED, FTPE_STAT_TRANSITIONS },
	};
	int i;

	if (r & FTPE_DO_REMOVE)
		ftpe_flow_unexpect(pk->flow);
	if (r & FTPE_DO_CREATE)
		ftpe_expect(pk);
	if (r & FTPE_EV_OPENED)
		pk->flow->since = jiffies;
	if (r & FTPE_EV_TLS)
		pk->flow->dark = 1;
	for (i = 0; i < ARRAY_SIZE(events); i++)
		if (r & events[i].bit)
			ftpe_stat_inc(pk->net, events[i].stat);
	if (r & FTPE_EV_ABORTED)
		ftpe_stat_abort(pk->net, why);
}

/* Is @ep @peer's own address, on a port a pinhole may open? */
static bool ftpe_vet(struct ftpe_pkt *pk, const struct ftpe_endpoint *ep,
		     const union nf_inet_addr *peer, enum ftpe_stat refusal)
{
	/* loose relaxes the bounce check only, never the passive one. */
	if (!ftpe_ep_is(ep, pk->ct, peer) &&
	    !(ftpe_loose && refusal == FTPE_STAT_REFUSED_BOUNCE &&
	      ep->family == ftpe_family(pk->ct))) {
		ftpe_stat_inc(pk->net, refusal);
		return false;
	}
	if (ep->port < ftpe_min_port) {
		ftpe_stat_inc(pk->net, FTPE_STAT_REFUSED_PORT);
		return false;
	}
	return true;
}

/* Count a line; false once TLS made the channel unreadable. */
static bool ftpe_line_seen(struct ftpe_pkt *pk, unsigned int lflags)
{
	if (pk->flow->dark)
		return false;
	ftpe_stat_inc(pk->net, FTPE_STAT_LINES);
	if (lflags & FTPE_LINE_BARE_LF)
		ftpe_stat_inc(pk->net, FTPE_STAT_BARE_LF);
	return true;
}

static void ftpe_command(void *ctx, const char *line, unsigned int len,
			 unsigned int lflags)
{
	static const enum ftpe_stat verb_stat[FTPE_VERB_COUNT] = {
		[FTPE_VERB_OTHER] = FTPE_STAT_CMD_OTHER,
		[FTPE_VERB_PORT] = FTPE_STAT_CMD_PORT,
		[FTPE_VERB_EPRT] = FTPE_STAT_CMD_EPRT,
		[FTPE_VERB_PASV] = FTPE_STAT_CMD_PASV,
		[FTPE_VERB_EPSV] = FTPE_STAT_CMD_EPSV,
		[FTPE_VERB_XFER] = FTPE_STAT_CMD_XFER,
		[FTPE_VERB_ABOR] = FTPE_STAT_CMD_ABOR,
		[FTPE_VERB_QUIT] = FTPE_STAT_CMD_QUIT,
		[FTPE_VERB_AUTH] = FTPE_STAT_CMD_OTHER,
		[FTPE_VERB_MALFORMED] = FTPE_STAT_MALFORMED,
	};
	struct ftpe_pkt *pk = ctx;
	struct ftpe_endpoint ep;
	enum ftpe_verb verb;

	if (!ftpe_line_seen(pk, lflags))
		return;

	verb = ftpe_parse_command(line, len, &ep);
	/* A cut-off line may have lost digits: never act on its numbers. */
	if ((lflags & FTPE_LINE_TRUNCATED) &&
	    (verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT))
		verb = FTPE_VERB_MALFORMED;
	ftpe_stat_inc(pk->net, verb_stat[verb]);

	if ((verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT) &&
	    !ftpe_vet(pk, &ep, ftpe_client(pk->ct), FTPE_STAT_REFUSED_BOUNCE))
		verb = FTPE_VERB_REFUSED;
	pk->line = line;
	ftpe_apply(pk, ftpe_fsm_command(&pk->flow->fsm, verb, &ep),
		   verb == FTPE_VERB_REFUSED ? FTPE_STAT_ABORTED_REFUSED :
					       FTPE_STAT_ABORTED_ABOR_QUIT);
	if ((verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT) &&
	    ftpe_nat_wanted(pk->ct))
		ftpe_nat_announce(pk);
}

/*
 * Vet the endpoint of a 227/229 answering our PASV/EPSV.  Returns @ep
 * completed with the server's address, or NULL to open nothing.
 */
static const struct ftpe_endpoint *
ftpe_vet_passive(struct ftpe_pkt *pk, u16 code, const char *line,
		 unsigned int len, struct ftpe_endpoint *ep)
{
	const union nf_inet_addr *server = ftpe_server(pk->ct);

	if (code == 227 ? ftpe_parse_227(line, len, ep) :
			  ftpe_parse_229(line, len, ep)) {
		ftpe_stat_inc(pk->net, FTPE_STAT_MALFORMED);
		return NULL;
	}
	/* EPSV names only a port: the server is the one already talked to. */
	if (code == 229) {
		ep->family = ftpe_family(pk->ct);
		memcpy(ep->addr, server, sizeof(ep->addr));
	}
	if (!ftpe_vet(pk, ep, server, FTPE_STAT_REFUSED_THIRD_PARTY))
		return NULL;
	return ep;
}

static void ftpe_reply(void *ctx, const char *line, unsigned int len,
		       unsigned int lflags)
{
	struct ftpe_pkt *pk = ctx;
	struct ftpe_fsm *f = &pk->flow->fsm;
	const struct ftpe_endpoint *vetted = NULL;
	enum ftpe_stat why = FTPE_STAT_ABORTED_OTHER;
	struct ftpe_endpoint ep;
	int code;

	if (!ftpe_line_seen(pk, lflags))
		return;

	code = ftpe_reply_feed(&pk->flow->replies, line, len);
	if (code < 0)
		ftpe_stat_inc(pk->net, FTPE_STAT_MALFORMED);
	if (code <= 0)
		return;
	ftpe_stat_inc(pk->net, FTPE_STAT_REPLY_1XX + code / 100 - 1);

	/* Only the reply that answers our PASV/EPSV is read for numbers. */
	if (ftpe_fsm_wants_endpoint(f, code)) {
		if (lflags & FTPE_LINE_TRUNCATED)
			ftpe_stat_inc(pk->net, FTPE_STAT_MALFORMED);
		else
			vetted = ftpe_vet_passive(pk, code, line, len, &ep);
		if (!vetted)
			why = FTPE_STAT_ABORTED_REFUSED;
	}
	if (code >= 400)
		why = FTPE_STAT_ABORTED_NEGATIVE;
	pk->line = line;
	ftpe_apply(pk, ftpe_fsm_reply(f, code, vetted), why);
}

static void ftpe_count_stream(const struct net *net, unsigned int ev)
{
	if (ev & FTPE_STREAM_EV_RETRANS)
		ftpe_stat_inc(net, FTPE_STAT_RETRANS);
	if (ev & FTPE_STREAM_EV_GAP)
		ftpe_stat_inc(net, FTPE_STAT_GAP);
	if (ev & FTPE_STREAM_EV_OVERLONG)
		ftpe_stat_inc(net, FTPE_STAT_OVERLONG);
	if (ev & FTPE_STREAM_EV_NOMEM)
		ftpe_stat_inc(net, FTPE_STAT_NOMEM);
	if (ev & FTPE_STREAM_EV_SPLIT)
		ftpe_stat_inc(net, FTPE_STAT_SPLIT_LINES);
}

int ftpe_help(struct sk_buff *skb, unsigned int protoff, struct nf_conn *ct,
	      enum ip_conntrack_info ctinfo)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const struct net *net = nf_ct_net(ct);
	unsigned int dataoff, datalen;
	const struct tcphdr *th;
	struct ftpe_flow *flow;
	struct tcphdr _th;
	struct ftpe_pkt pk;

	/* Extensions can only be added before the conntrack is confirmed. */
	if (!nf_ct_is_confirmed(ct))
		ftpe_nat_prepare(ct);
	if (ctinfo != IP_CT_ESTABLISHED && ctinfo != IP_CT_ESTABLISHED_REPLY)
		return NF_ACCEPT;
	/*
	 * Looped back: this skb was read (and rewritten) on its way out, and
	 * its sequence number may already be adjusted.  nf_confirm() asks
	 * the same question before it adjusts sequence numbers.
	 */
	if (nf_is_loopback_packet(skb))
		return NF_ACCEPT;
	th = skb_header_pointer(skb, protoff, sizeof(_th), &_th);
	if (!th)
		return NF_ACCEPT;
	dataoff = protoff + th->doff * 4;
	datalen = skb->len > dataoff ? skb->len - dataoff : 0;

	/* Bare ACKs, the bulk of a control connection, cost no lookup. */
	if (!datalen && !th->fin && !th->rst)
		return NF_ACCEPT;
	flow = datalen ? ftpe_flow_get(ct) : ftpe_flow_find(ct);
	if (IS_ERR_OR_NULL(flow)) {
		if (PTR_ERR(flow) == -ENOSPC)
			ftpe_stat_inc(net, FTPE_STAT_TABLE_FULL);
		else if (PTR_ERR(flow) == -ENOMEM)
			ftpe_stat_inc(net, FTPE_STAT_NOMEM);
		return NF_ACCEPT;
	}
	ftpe_stat_inc(net, FTPE_STAT_PACKETS);

	spin_lock_bh(&flow->lock);
	if (flow->dead)
		goto out;
	if (datalen && !flow->dark) {
		ftpe_line_fn fn = dir == IP_CT_DIR_ORIGINAL ? ftpe_command :
							      ftpe_reply;
		unsigned int ev;

		pk.flow = flow;
		pk.ct = ct;
		pk.net = net;
		pk.dir = dir;
		pk.edit.seg_seq = ntohl(th->seq);
		pk.edit.seg_len = datalen;
		pk.edit.len = 0;
		pk.edit.dir = dir;
		ev = ftpe_stream_feed(&flow->stream[dir], ntohl(th->seq), skb,
				      dataoff, datalen, ftpe_skb_read, fn, &pk);
		ftpe_count_stream(net, ev);
		/* A line the other side cannot use must open nothing. */
		if (ftpe_nat_wanted(ct) &&
		    !ftpe_nat_apply(skb, protoff, ct, ctinfo, &pk.edit,
				    &flow->nat_edit))
			ftpe_flow_unexpect(flow);
	}
	if (th->fin) {
		if (dir == IP_CT_DIR_ORIGINAL)
			flow->fin_orig = 1;
		else
			flow->fin_reply = 1;
	}
	/* The control connection is over: so is any negotiation on it. */
	if (th->rst || (flow->fin_orig && flow->fin_reply))
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_CLOSE);
out:
	spin_unlock_bh(&flow->lock);
	return NF_ACCEPT;
}

void ftpe_destroy(struct nf_conn *ct)
{
	ftpe_flow_destroy_ct(ct);
}
