// SPDX-License-Identifier: GPL-2.0
/*
 * NAT for FTP: turn the endpoint a line announces into the one the other
 * side of the router can reach, hold a port there for the data connection,
 * and make that connection follow the control connection's translation.
 *
 * The announcer is the side that wrote the line: the client for PORT/EPRT
 * (original direction), the server for 227/229 (reply direction).  Its own
 * address is the source of its direction's tuple; the other side knows it
 * as the destination of the opposite tuple, and that is what the line must
 * say.  The data connection comes from the other side to that translated
 * endpoint, so the expectation is the opposite tuple with the chosen port;
 * nf_nat_follow_master() then maps it to the announced (real) endpoint and
 * gives it the source the announcer already knows.
 *
 * Active mode and the design: the pinhole opens at the transfer command, but
 * the PORT/EPRT line has passed long before, and the port it announces must
 * be chosen then and stay ours until the transfer.  So at PORT/EPRT the
 * expectation is registered INACTIVE: it holds its tuple against every other
 * expectation (the port search below relies on that), yet matches no packet
 * (nf_ct_find_expectation() skips it).  The transfer command activates it:
 * the pinhole opens exactly when it does without NAT, and is removed at the
 * same moments.  conntrack -L expect shows the reservation as INACTIVE.
 *
 * Rewrites change line lengths, so the conntrack needs a seqadj extension;
 * it can only be added before the conntrack is confirmed.  6.1 adds one when
 * NAT is set up on a helped conntrack (nf_nat_setup_info) or when nft
 * assigns a helper to a translated one, but not in every order of helper
 * assignment and NAT, so ftpe_nat_prepare() adds it on the first packet if
 * it is missing (counted as nat_seqadj_added).  A rewrite that needs seqadj
 * and finds none fails rather than corrupt the stream.
 *
 * Limits: only text inside the segment being read can be rewritten (a line
 * split so that its endpoint began in an earlier segment fails), at most
 * one rewrite per segment, and only the latest rewrite is repeated on a
 * retransmission.  Each failure leaves no pinhole and is counted in
 * nat_failed.
 */
#include <linux/random.h>
#include <linux/tcp.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_seqadj.h>

#include "fsm.h"
#include "kcompat.h"
#include "nat.h"
#include "netns.h"
#include "params.h"

/*
 * Random ports tried after the announced one before giving up: each try
 * takes the global expectation lock, so a line may cost only a few.
 */
#define FTPE_NAT_PORT_TRIES	16

void ftpe_nat_prepare(struct nf_conn *ct)
{
	if (!ftpe_nat_wanted(ct) || nfct_seqadj(ct))
		return;
	if (nfct_seqadj_ext_add(ct))
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_SEQADJ);
	else
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NOMEM);
}

/*
 * Register @exp on @port or, when another expectation holds it, on a
 * random port at or above min_port: the next one up would tell anybody
 * who can announce ports which one a pinhole will open.  Returns the
 * port, or 0.
 */
static u16 ftpe_nat_find_port(struct nf_conntrack_expect *exp, u16 port)
{
	u32 range = 65536 - ftpe_min_port;
	unsigned int tries;
	int ret;

	for (tries = 0; tries <= FTPE_NAT_PORT_TRIES; tries++) {
		exp->tuple.dst.u.tcp.port = htons(port);
		ret = nf_ct_expect_related(exp, 0);
		if (!ret)
			return port;
		/*
		 * EBUSY: another master's expectation covers the tuple;
		 * EALREADY: another master or class has the very same one.
		 */
		if (ret != -EBUSY && ret != -EALREADY)
			return 0;
		port = ftpe_min_port + get_random_u32_below(range);
	}
	return 0;
}

/* The endpoint as @mode's line writes it; returns its length. */
static u8 ftpe_nat_format(char *buf, u8 mode, char delim, u16 l3num,
			  const union nf_inet_addr *addr, u16 port)
{
	const u8 *a = (const u8 *)&addr->ip;

	switch (mode) {
	case FTPE_VERB_PORT:
	case FTPE_VERB_PASV:
		return scnprintf(buf, FTPE_NAT_TEXT_MAX, "%u,%u,%u,%u,%u,%u",
				 a[0], a[1], a[2], a[3], port >> 8,
				 port & 0xff);
	case FTPE_VERB_EPRT:
		if (l3num == NFPROTO_IPV6)
			return scnprintf(buf, FTPE_NAT_TEXT_MAX,
					 "%c2%c%pI6c%c%u%c", delim, delim,
					 &addr->in6, delim, port, delim);
		return scnprintf(buf, FTPE_NAT_TEXT_MAX, "%c1%c%pI4%c%u%c",
				 delim, delim, &addr->ip, delim, port, delim);
	default:
		/* A 229 names only the port. */
		return scnprintf(buf, FTPE_NAT_TEXT_MAX, "%u", port);
	}
}

struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_edit *edit)
{
	enum ip_conntrack_dir dir = ftpe_mode_active(mode) ?
				    IP_CT_DIR_ORIGINAL : IP_CT_DIR_REPLY;
	const struct nf_conntrack_tuple *own = &ct->tuplehash[dir].tuple;
	const struct nf_conntrack_tuple *seen = &ct->tuplehash[!dir].tuple;
	const struct net *net = nf_ct_net(ct);
	struct nf_conntrack_expect *exp;
	u32 at = line_seq + ep->at;
	__be16 port = htons(ep->port);
	u16 chosen;

	/*
	 * nf_nat_follow_master() leads only to the announcer; bytes of an
	 * earlier segment are gone; one rewrite per segment.
	 */
	if ((mode != FTPE_VERB_EPSV &&
	     memcmp(ep->addr, &own->src.u3,
		    nf_ct_l3num(ct) == NFPROTO_IPV6 ? 16 : 4)) ||
	    edit->len || (s32)(at - edit->seg_seq) < 0 ||
	    at - edit->seg_seq + ep->span > edit->seg_len) {
		ftpe_stat_inc(net, FTPE_STAT_NAT_FAILED);
		return ERR_PTR(-ERANGE);
	}

	exp = nf_ct_expect_alloc(ct);
	if (!exp) {
		ftpe_stat_inc(net, FTPE_STAT_NOMEM);
		return ERR_PTR(-ENOMEM);
	}
	nf_ct_expect_init(exp, NF_CT_EXPECT_CLASS_DEFAULT, nf_ct_l3num(ct),
			  &seen->src.u3, &seen->dst.u3, IPPROTO_TCP, NULL,
			  &port);
	exp->saved_addr = own->src.u3;
	exp->saved_proto.tcp.port = port;
	exp->dir = !dir;
	exp->expectfn = expectfn;
	/* Active mode: hold the port now, open the pinhole at the transfer. */
	if (dir == IP_CT_DIR_ORIGINAL)
		exp->flags |= NF_CT_EXPECT_INACTIVE;

	chosen = ftpe_nat_find_port(exp, ep->port);
	if (!chosen) {
		nf_ct_expect_put(exp);
		ftpe_stat_inc(net, FTPE_STAT_NAT_FAILED);
		return ERR_PTR(-EBUSY);
	}

	/* A 229 names no address: only a new port needs writing. */
	if (chosen != ep->port ||
	    (mode != FTPE_VERB_EPSV &&
	     !nf_inet_addr_cmp(&seen->dst.u3, &own->src.u3))) {
		edit->text_len = ftpe_nat_format(edit->text, mode,
						 line[ep->at], nf_ct_l3num(ct),
						 &seen->dst.u3, chosen);
		edit->seq = at;
		edit->len = ep->span;
	}
	return exp;
}

/* The reservation lapsed before the transfer: ask for its tuple again. */
static int ftpe_nat_renew(struct nf_conntrack_expect **expp)
{
	struct nf_conntrack_expect *old = *expp, *exp;

	exp = nf_ct_expect_alloc(old->master);
	if (!exp)
		return -ENOMEM;
	nf_ct_expect_init(exp, old->class, nf_ct_l3num(old->master),
			  &old->tuple.src.u3, &old->tuple.dst.u3, IPPROTO_TCP,
			  NULL, &old->tuple.dst.u.tcp.port);
	exp->saved_addr = old->saved_addr;
	exp->saved_proto = old->saved_proto;
	exp->dir = old->dir;
	exp->expectfn = old->expectfn;
	if (nf_ct_expect_related(exp, 0)) {
		nf_ct_expect_put(exp);
		return -EBUSY;
	}
	nf_ct_expect_put(old);
	*expp = exp;
	return 0;
}

int ftpe_nat_activate(struct nf_conntrack_expect **expp)
{
	struct nf_conntrack_expect *exp = *expp;
	bool live;
	int ret;

	spin_lock_bh(&nf_conntrack_expect_lock);
	/* The pinhole's lifetime starts now, as without NAT. */
	live = ftpe_exp_rearm(exp, ftpe_expect_timeout * HZ);
	if (live)
		WRITE_ONCE(exp->flags, exp->flags & ~NF_CT_EXPECT_INACTIVE);
	spin_unlock_bh(&nf_conntrack_expect_lock);
	if (live)
		return 0;
	ret = ftpe_nat_renew(expp);
	if (ret)
		ftpe_stat_inc(nf_ct_net(exp->master), FTPE_STAT_NAT_FAILED);
	return ret;
}

static bool ftpe_nat_mangle(struct sk_buff *skb, unsigned int protoff,
			    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
			    const struct ftpe_nat_edit *edit, u32 seg_seq)
{
	if ((edit->text_len != edit->len && !nfct_seqadj(ct)) ||
	    !nf_nat_mangle_tcp_packet(skb, ct, ctinfo, protoff,
				      edit->seq - seg_seq, edit->len,
				      edit->text, edit->text_len)) {
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
		return false;
	}
	return true;
}

/*
 * Retransmissions: the stream layer reads each byte once, but a segment
 * resent with the rewritten bytes in it must leave the router rewritten
 * alike, or the other side would read two versions of one stretch of the
 * stream (seqadj leaves a resent segment at its first offset).
 */
bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
		    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
		    const struct ftpe_nat_edit *edit,
		    struct ftpe_nat_edit **last)
{
	const struct ftpe_nat_edit *old = *last;
	u32 at;

	if (edit->len) {
		if (!ftpe_nat_mangle(skb, protoff, ct, ctinfo, edit,
				     edit->seg_seq))
			return false;
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_REWRITTEN);
		if (!old)
			*last = kmalloc(sizeof(*edit), GFP_ATOMIC);
		if (*last)
			**last = *edit;
		return true;
	}
	if (!old || old->dir != edit->dir)
		return true;
	at = old->seq - edit->seg_seq;
	if ((s32)at < 0 || at + old->len > edit->seg_len)
		return true;
	return ftpe_nat_mangle(skb, protoff, ct, ctinfo, old, edit->seg_seq);
}
