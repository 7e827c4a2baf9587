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
 * Active mode: the port the PORT/EPRT line announces must be chosen as the
 * line passes, but the pinhole opens when the state machine says: at that
 * same line by default, at the transfer command under strict_active, when
 * the line has passed long before.  So at PORT/EPRT the expectation is
 * registered INACTIVE: it holds its tuple against every other expectation
 * (the port search below relies on that), yet matches no packet
 * (nf_ct_find_expectation() skips it).  ftpe_nat_activate() opens it when
 * the state machine creates the pinhole: it opens exactly when it does
 * without NAT, and is removed at the same moments.  conntrack -L expect
 * shows a reservation waiting for the transfer command as INACTIVE.
 *
 * Rewrites change line lengths, so the conntrack needs a seqadj extension;
 * it can only be added before the conntrack is confirmed.  6.1 adds one when
 * NAT is set up on a helped conntrack (nf_nat_setup_info) or when nft
 * assigns a helper to a translated one, but not in every order of helper
 * assignment and NAT, so ftpe_nat_prepare() adds it on the first packet if
 * it is missing (counted as nat_seqadj_added).  A rewrite that needs seqadj
 * and finds none fails rather than corrupt the stream.
 *
 * Fail closed: an endpoint that cannot be rewritten must not leave the
 * router as it was written, so the segment carrying it is dropped (counted
 * in nat_failed) and read again when the sender resends it, as the stream
 * layer unreads the line (stream.h).  That covers no free port, a rewrite
 * that could not be applied, a PORT/EPRT cut off as overlong, and text
 * that cannot be reached in place: only text inside the segment being read
 * can be rewritten, so the segment that ends inside an announcing line
 * already holding endpoint text is dropped too (the sender's resend
 * usually carries the whole line; Linux joins the two segments), and on a
 * translated connection so is every segment beyond a hole, which could
 * hold the rest of such a line.  A sender that resends the same cut for
 * ever stalls, as with nf_nat_ftp.
 *
 * Not only the lines that negotiate: any well-formed PORT, EPRT or 227
 * naming its announcer's own, translated address is rewritten, also one
 * the helper refuses (a low port), does not match to a command (a 227 to
 * a superseded PASV, in pipeline overflow, unsolicited, inside a
 * multi-line reply) or reads nothing of: there ftpe_nat_hide() writes the
 * translated address with the port as it was, and no pinhole opens.  The
 * other side learns nothing it could not see anyway.  Where that cannot
 * be done the segment is dropped as above, and so is one carrying such a
 * line cut off as overlong, or, on a connection that has no record
 * (max_flows, no memory), any such line (helper.c).
 *
 * Limits: one rewrite per segment (seqadj keeps one correction per
 * sequence number), so a second announcement in a segment is dropped and
 * read from the resend.  A resent segment gets the connection's latest
 * rewrite again (its length change counted once); one that carries only a
 * part of it is dropped.  A loopback skb meets the helper on its way in as well
 * as out; only the way out reads it (helper.c).
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

/* The side that writes @mode's lines: the client's for PORT/EPRT. */
static enum ip_conntrack_dir ftpe_nat_dir(u8 mode)
{
	return ftpe_mode_active(mode) ? IP_CT_DIR_ORIGINAL : IP_CT_DIR_REPLY;
}

static bool ftpe_nat_is_own(const struct nf_conn *ct,
			    const struct ftpe_endpoint *ep,
			    const union nf_inet_addr *own)
{
	return !memcmp(ep->addr, own,
		       nf_ct_l3num(ct) == NFPROTO_IPV6 ? 16 : 4);
}

bool ftpe_nat_private(const struct nf_conn *ct, u8 mode,
		      const struct ftpe_endpoint *ep)
{
	enum ip_conntrack_dir dir = ftpe_nat_dir(mode);
	const union nf_inet_addr *own = &ct->tuplehash[dir].tuple.src.u3;
	u8 family = nf_ct_l3num(ct) == NFPROTO_IPV6 ? FTPE_AF_INET6 :
						       FTPE_AF_INET;

	/*
	 * Only a translated address is private: the client of a port
	 * forward is known to the server by its own.
	 */
	return ep->family == family && ftpe_nat_is_own(ct, ep, own) &&
	       !nf_inet_addr_cmp(&ct->tuplehash[!dir].tuple.dst.u3, own);
}

bool ftpe_nat_room(const struct nf_conn *ct, const struct ftpe_nat_edit *edit,
		   const struct ftpe_endpoint *ep, u32 line_seq)
{
	u32 at = line_seq + ep->at;

	/* Bytes of an earlier segment are gone; one rewrite per segment. */
	if (!edit->len && !edit->repeat && (s32)(at - edit->seg_seq) >= 0 &&
	    at - edit->seg_seq + ep->span <= edit->seg_len)
		return true;
	ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
	return false;
}

/* Queue the rewrite of @ep's text in @line to @addr and @port. */
static void ftpe_nat_queue(struct ftpe_nat_edit *edit, u8 mode, u16 l3num,
			   const struct ftpe_endpoint *ep, const char *line,
			   u32 line_seq, const union nf_inet_addr *addr,
			   u16 port)
{
	edit->text_len = ftpe_nat_format(edit->text, mode, line[ep->at], l3num,
					 addr, port);
	edit->seq = line_seq + ep->at;
	edit->len = ep->span;
}

void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
		   const struct ftpe_endpoint *ep, const char *line,
		   u32 line_seq, struct ftpe_nat_edit *edit)
{
	enum ip_conntrack_dir dir = ftpe_nat_dir(mode);

	/* The address the other side sends the control connection to. */
	ftpe_nat_queue(edit, mode, nf_ct_l3num(ct), ep, line, line_seq,
		       &ct->tuplehash[!dir].tuple.dst.u3, ep->port);
}

struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_edit *edit)
{
	enum ip_conntrack_dir dir = ftpe_nat_dir(mode);
	const struct nf_conntrack_tuple *own = &ct->tuplehash[dir].tuple;
	const struct nf_conntrack_tuple *seen = &ct->tuplehash[!dir].tuple;
	const struct net *net = nf_ct_net(ct);
	struct nf_conntrack_expect *exp;
	__be16 port = htons(ep->port);
	u16 chosen;

	/* nf_nat_follow_master() leads only to the announcer. */
	if (mode != FTPE_VERB_EPSV && !ftpe_nat_is_own(ct, ep, &own->src.u3))
		return ERR_PTR(-EXDEV);
	if (!ftpe_nat_room(ct, edit, ep, line_seq))
		return ERR_PTR(-ERANGE);

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
	     !nf_inet_addr_cmp(&seen->dst.u3, &own->src.u3)))
		ftpe_nat_queue(edit, mode, nf_ct_l3num(ct), ep, line, line_seq,
			       &seen->dst.u3, chosen);
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

/*
 * Rewrite @edit in this skb; its length change goes to seqadj only the
 * first time.  seqadj keeps one correction per sequence number, and a
 * resend that starts later than the segment first rewritten would add it
 * a second time.
 */
static bool ftpe_nat_mangle(struct sk_buff *skb, unsigned int protoff,
			    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
			    struct ftpe_nat_edit *edit, u32 seg_seq)
{
	if ((edit->text_len != edit->len && !nfct_seqadj(ct)) ||
	    !__nf_nat_mangle_tcp_packet(skb, ct, ctinfo, protoff,
					edit->seq - seg_seq, edit->len,
					edit->text, edit->text_len,
					!edit->adjusted)) {
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
		return false;
	}
	edit->adjusted = true;
	return true;
}

/* How much of this segment's stretch of the stream @old covers. */
static int ftpe_nat_overlap(const struct ftpe_nat_edit *old,
			    const struct ftpe_nat_edit *edit)
{
	u32 at;

	if (!old || !old->len || old->dir != edit->dir)
		return 0;
	at = old->seq - edit->seg_seq;
	if ((s32)at >= 0 && at + old->len <= edit->seg_len)
		return 2;
	/* Any byte of it in the segment, at either end? */
	if ((s32)(old->seq + old->len - edit->seg_seq) > 0 &&
	    (s32)(edit->seg_seq + edit->seg_len - old->seq) > 0)
		return 1;
	return 0;
}

void ftpe_nat_begin(struct ftpe_nat_edit *edit,
		    const struct ftpe_nat_edit *last)
{
	edit->repeat = ftpe_nat_overlap(last, edit) != 0;
}

/*
 * Retransmissions: the stream layer reads each byte once, but a segment
 * resent with the rewritten bytes in it must leave the router rewritten
 * alike, or the other side would read two versions of one stretch of the
 * stream.  A rewrite queued in a segment that is dropped is kept as the
 * latest, for the resend: its line has been read and will not be read
 * again.
 */
bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
		    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
		    const struct ftpe_nat_edit *edit,
		    struct ftpe_nat_edit *last, bool drop)
{
	if (edit->len) {
		/* The caller made room before it queued a rewrite. */
		if (WARN_ON_ONCE(!last))
			return false;
		*last = *edit;
		last->adjusted = false;
		if (drop || !ftpe_nat_mangle(skb, protoff, ct, ctinfo, last,
					     edit->seg_seq))
			return false;
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_REWRITTEN);
		return true;
	}
	switch (ftpe_nat_overlap(last, edit)) {
	case 0:
		return !drop;
	case 1:
		/* Part of a rewritten endpoint cannot be rewritten alike. */
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
		return false;
	default:
		return !drop && ftpe_nat_mangle(skb, protoff, ct, ctinfo, last,
						edit->seg_seq);
	}
}
