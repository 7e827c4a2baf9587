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
 * Resends: the stream layer reads each byte once, but a segment resent
 * with rewritten bytes in it must leave the router rewritten alike, or
 * the other side would read two versions of one stretch of the stream.
 * So the connection keeps its latest rewrites (FTPE_NAT_EDITS of them,
 * both directions, the oldest making room), also those queued in a
 * segment that was dropped: their lines have been read and will not be
 * read again.  A segment that carries a kept rewrite whole gets it again,
 * once the bytes there hash as those it replaced; other bytes there, or a
 * part of a kept rewrite, drop the segment.  It may take new rewrites as
 * well, FTPE_NAT_EDITS in all.  So "PORT a\r\nPORT b\r\n" in one segment
 * passes on its first resend: PORT a was read and its rewrite kept in the
 * dropped first pass, and PORT b, refused there as a second pinhole, is
 * read from the resend.  Each pass reads at least one more endpoint, so a
 * segment naming up to FTPE_NAT_EDITS of them passes in as many passes;
 * one naming more never does, and its connection stalls until the sender
 * gives up.  It fails closed.
 *
 * seqadj keeps one correction per direction, at the start of the segment
 * that made it, and nf_ct_seqadj_set() ignores a second one there.  The
 * length changes of a segment's rewrites go in as one correction, each
 * only the first time a segment carries it out (ftpe_nat_rw.sent), and a
 * correction already inside the segment (its earlier pass, or a segment
 * its resend joins) takes the new ones as well (ftpe_nat_seqadj()).  As
 * with nf_nat_ftp, what lies before the latest correction is moved by all
 * the length changes before it, also those of rewrites it precedes: when
 * a later segment's rewrite passed while an earlier rewritten one was
 * lost beyond the router (a tail loss probe does that), the other side's
 * acknowledgment and the earlier one's resend are moved wrongly, and the
 * line arrives cut.  Its rewrites are kept, so it arrives rewritten.
 *
 * A packet may meet the helper twice: tc act_ct runs it, and nf_confirm()
 * again as the packet leaves, when conntrack's netfilter hooks are on as
 * well; Open vSwitch may recirculate a packet.  The second time its
 * rewrites are in place: ftpe_nat_begin() sees that, and the segment
 * passes unread and untouched, never mangled twice, if it brings no byte
 * the stream has not read (one that does was not sent by this box).  (The kernel then
 * adjusts its sequence numbers twice, which no helper can undo: such a
 * connection breaks after the first rewrite that changes a length.)  A
 * loopback skb meets the helper on its way in as well as out; only the
 * way out reads it (helper.c).
 */
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/tcp.h>
#include <net/tcp.h>
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

/*
 * @v in decimal at @p; returns the byte after it.  Not vsnprintf(): about
 * 700 instructions a call where this takes a few dozen, and each rewrite
 * is formatted twice (its length when queued, its bytes when applied).
 */
static char *ftpe_nat_put_u(char *p, u16 v)
{
	unsigned int n = v >= 10000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 :
			 v >= 10 ? 2 : 1;
	char *q = p + n;

	do {
		*--q = '0' + v % 10;
		v /= 10;
	} while (q > p);
	return p + n;
}

/* The endpoint as @mode's line writes it; returns its length. */
static u8 ftpe_nat_format(char *buf, u8 mode, char delim, u16 l3num,
			  const union nf_inet_addr *addr, u16 port)
{
	const u8 *a = (const u8 *)&addr->ip;
	char *p = buf;
	int i;

	switch (mode) {
	case FTPE_VERB_PORT:
	case FTPE_VERB_PASV:
		for (i = 0; i < 4; i++) {
			p = ftpe_nat_put_u(p, a[i]);
			*p++ = ',';
		}
		p = ftpe_nat_put_u(p, port >> 8);
		*p++ = ',';
		p = ftpe_nat_put_u(p, port & 0xff);
		break;
	case FTPE_VERB_EPRT:
		if (l3num == NFPROTO_IPV6)
			return scnprintf(buf, FTPE_NAT_TEXT_MAX,
					 "%c2%c%pI6c%c%u%c", delim, delim,
					 &addr->in6, delim, port, delim);
		*p++ = delim;
		*p++ = '1';
		*p++ = delim;
		for (i = 0; i < 4; i++) {
			p = ftpe_nat_put_u(p, a[i]);
			*p++ = i < 3 ? '.' : delim;
		}
		p = ftpe_nat_put_u(p, port);
		*p++ = delim;
		break;
	default:
		/* A 229 names only the port. */
		p = ftpe_nat_put_u(p, port);
		break;
	}
	return p - buf;
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

/* The text @rw writes on @ct; returns its length. */
static u8 ftpe_nat_text(const struct nf_conn *ct, const struct ftpe_nat_rw *rw,
			char *buf)
{
	enum ip_conntrack_dir dir = ftpe_nat_dir(rw->mode);

	/* The address the other side sends the control connection to. */
	return ftpe_nat_format(buf, rw->mode, rw->delim, nf_ct_l3num(ct),
			       &ct->tuplehash[!dir].tuple.dst.u3, rw->port);
}

bool ftpe_nat_room(const struct nf_conn *ct, const struct ftpe_nat_seg *seg,
		   const struct ftpe_endpoint *ep, u32 line_seq)
{
	u32 at = line_seq + ep->at - seg->seg_seq;

	/*
	 * Bytes of an earlier segment are gone; a segment that cuts a kept
	 * rewrite is dropped, whatever else it holds.
	 */
	if (!seg->partial && seg->repeats + seg->n < FTPE_NAT_EDITS &&
	    (s32)at >= 0 && at + ep->span <= seg->seg_len)
		return true;
	ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
	return false;
}

/* Queue the rewrite of @ep's text in @mode's @line to @port. */
static void ftpe_nat_queue(const struct nf_conn *ct, struct ftpe_nat_seg *seg,
			   u8 mode, const struct ftpe_endpoint *ep,
			   const char *line, u32 line_seq, u16 port)
{
	char text[FTPE_NAT_TEXT_MAX] __uninitialized;
	struct ftpe_nat_rw *rw;

	/* ftpe_nat_room() said yes; if not, the segment must not pass. */
	if (WARN_ON_ONCE(seg->n >= FTPE_NAT_EDITS)) {
		seg->partial = true;
		return;
	}
	rw = &seg->rw[seg->n++];
	rw->seq = line_seq + ep->at;
	rw->hash = jhash(line + ep->at, ep->span, 0);
	rw->len = ep->span;
	rw->port = port;
	rw->mode = mode;
	rw->delim = line[ep->at];
	rw->sent = false;
	rw->text_len = ftpe_nat_text(ct, rw, text);
}

void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
		   const struct ftpe_endpoint *ep, const char *line,
		   u32 line_seq, struct ftpe_nat_seg *seg)
{
	ftpe_nat_queue(ct, seg, mode, ep, line, line_seq, ep->port);
}

struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_seg *seg)
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
	if (!ftpe_nat_room(ct, seg, ep, line_seq))
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
		ftpe_nat_queue(ct, seg, mode, ep, line, line_seq, chosen);
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
 * Where @rw lies in @seg's stretch of the stream: 2 whole inside it, 1 in
 * part, 0 outside it or in the other direction.
 */
static int ftpe_nat_covers(const struct ftpe_nat_seg *seg,
			   const struct ftpe_nat_rw *rw)
{
	u32 at = rw->seq - seg->seg_seq;

	if (ftpe_nat_dir(rw->mode) != seg->dir)
		return 0;
	if ((s32)at >= 0 && at + rw->len <= seg->seg_len)
		return 2;
	/* Any byte of it in the segment, at either end? */
	if ((s32)(rw->seq + rw->len - seg->seg_seq) > 0 &&
	    (s32)(seg->seg_seq + seg->seg_len - rw->seq) > 0)
		return 1;
	return 0;
}

/*
 * Could any rewrite @kept holds lie in @seg, in whole or in part?  Not if
 * it starts where the latest of its direction ends, or after.
 */
static bool ftpe_nat_behind(const struct ftpe_nat_edit *kept,
			    const struct ftpe_nat_seg *seg)
{
	return (kept->reached & BIT(seg->dir)) &&
	       (s32)(kept->reach[seg->dir] - seg->seg_seq) > 0;
}

/*
 * A hash of the @len payload bytes at @off of @skb, linear or not; the
 * same bytes give the same hash whichever way they are laid out.  Seeded
 * with a secret, so that a sender cannot pick other bytes that hash alike.
 */
static u32 ftpe_nat_hash(const struct sk_buff *skb, unsigned int off,
			 unsigned int len)
{
	static u32 seed __read_mostly;
	char buf[64];
	unsigned int n;
	const char *p;
	u32 h;

	net_get_random_once(&seed, sizeof(seed));
	h = seed;

	for (; len; off += n, len -= n) {
		n = min_t(unsigned int, len, sizeof(buf));
		p = skb_header_pointer(skb, off, n, buf);
		if (!p)
			return ~h;
		h = jhash(p, n, h);
	}
	return h;
}

/* Is @skb's segment @seg the one @mark describes? */
static bool ftpe_nat_is(const struct ftpe_nat_mark *mark,
			const struct ftpe_nat_seg *seg,
			const struct sk_buff *skb, unsigned int dataoff)
{
	return mark->len == seg->seg_len && mark->seq == seg->seg_seq &&
	       ftpe_nat_hash(skb, dataoff, seg->seg_len) == mark->hash;
}

/* Does @seg start before the end of a rewrite @kept made room by dropping? */
static bool ftpe_nat_lost(struct ftpe_nat_edit *kept,
			  const struct ftpe_nat_seg *seg)
{
	u8 bit = BIT(seg->dir);
	s32 d;

	if (!(kept->lost & bit))
		return false;
	d = seg->seg_seq - kept->lost_to[seg->dir];
	/* Far behind the stream: forgotten before the numbers come round. */
	if (d > SZ_1G)
		kept->lost &= ~bit;
	return d < 0;
}

/*
 * Does @seg touch the stretch a dropped segment had read (kept->vow),
 * other than by bringing it again byte for byte?  One that does bring it
 * so is marked (seg->vowed).
 */
static bool ftpe_nat_broken(const struct ftpe_nat_edit *kept,
			    struct ftpe_nat_seg *seg,
			    const struct sk_buff *skb, unsigned int dataoff)
{
	const struct ftpe_nat_mark *vow = &kept->vow[seg->dir];
	u32 at = vow->seq - seg->seg_seq;

	if (!vow->len ||
	    (s32)(seg->seg_seq + seg->seg_len - vow->seq) <= 0)
		return false;
	if ((s32)at < 0 || at > seg->seg_len ||
	    vow->len > seg->seg_len - at ||
	    ftpe_nat_hash(skb, dataoff + at, vow->len) != vow->hash)
		return true;
	seg->vowed = true;
	return false;
}

enum ftpe_nat_start ftpe_nat_begin(struct ftpe_nat_seg *seg,
				   struct ftpe_nat_edit *kept,
				   const struct nf_conn *ct,
				   const struct sk_buff *skb,
				   unsigned int dataoff)
{
	unsigned int i;

	if (!kept)
		return FTPE_NAT_READ;
	if (ftpe_nat_is(&kept->out[seg->dir], seg, skb, dataoff))
		return FTPE_NAT_PASS;
	if (ftpe_nat_lost(kept, seg) ||
	    ftpe_nat_broken(kept, seg, skb, dataoff)) {
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
		return FTPE_NAT_DROP;
	}
	if (!ftpe_nat_behind(kept, seg))
		return FTPE_NAT_READ;
	for (i = 0; i < kept->n; i++) {
		switch (ftpe_nat_covers(seg, &kept->rw[i])) {
		case 2:
			seg->repeats++;
			break;
		case 1:
			seg->partial = true;
			break;
		}
	}
	return FTPE_NAT_READ;
}

void ftpe_nat_vow(struct ftpe_nat_edit *kept, const struct ftpe_nat_seg *seg,
		  u32 from, u32 to, const struct sk_buff *skb,
		  unsigned int dataoff)
{
	struct ftpe_nat_mark *vow = &kept->vow[seg->dir];
	u32 at;

	/* It brought the last vow's stretch again: the two make one. */
	if (seg->vowed)
		from = vow->seq;
	at = from - seg->seg_seq;
	if ((s32)(to - from) <= 0 || at > seg->seg_len ||
	    to - from > seg->seg_len - at)
		return;
	vow->seq = from;
	vow->len = to - from;
	vow->hash = ftpe_nat_hash(skb, dataoff + at, vow->len);
}

/*
 * Add @off, the length change of rewrites carried out for the first time
 * in @seg, to the sequence adjustment of its direction @dir.  As
 * nf_ct_seqadj_set(), which keeps one correction per direction, at the
 * first byte of the segment that made it; but where that one already lies
 * inside @seg (the segment's earlier pass, or one its resend now joins),
 * nf_ct_seqadj_set() would ignore @off, and here it is added to it: what
 * follows the segment is moved by both.  False if it cannot be placed.
 */
static bool ftpe_nat_seqadj(struct nf_conn *ct, enum ip_conntrack_dir dir,
			    const struct ftpe_nat_seg *seg, s32 off)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	struct nf_ct_seqadj *way;
	bool ok = true;

	if (!off)
		return true;
	if (!seqadj)
		return false;
	spin_lock_bh(&ct->lock);
	way = &seqadj->seq[dir];
	if (way->offset_before == way->offset_after ||
	    before(way->correction_pos, seg->seg_seq)) {
		way->correction_pos = seg->seg_seq;
		way->offset_before = way->offset_after;
		way->offset_after += off;
	} else if (before(way->correction_pos, seg->seg_seq + seg->seg_len)) {
		way->offset_after += off;
	} else {
		/* A correction past the segment: this one cannot go first. */
		ok = false;
	}
	spin_unlock_bh(&ct->lock);
	if (ok)
		set_bit(IPS_SEQ_ADJUST_BIT, &ct->status);
	return ok;
}

/*
 * Carry out @n rewrites in the segment: each once the bytes it replaces
 * are found where it lies, the last first, so that none moves the bytes
 * of another still to be done.  Length changes not yet in seqadj go there
 * as one correction.  False: the segment is to be dropped.
 */
static bool ftpe_nat_rewrite(struct sk_buff *skb, unsigned int protoff,
			     struct nf_conn *ct, enum ip_conntrack_info ctinfo,
			     const struct ftpe_nat_seg *seg,
			     struct ftpe_nat_rw *rws, unsigned int n)
{
	char text[FTPE_NAT_TEXT_MAX] __uninitialized;
	const struct tcphdr *th;
	struct ftpe_nat_rw tmp;
	unsigned int i, j;
	const u8 *data;
	s32 off = 0;
	u8 len;

	for (i = 1; i < n; i++) {
		tmp = rws[i];
		for (j = i; j && (s32)(rws[j - 1].seq - tmp.seq) > 0; j--)
			rws[j] = rws[j - 1];
		rws[j] = tmp;
	}
	/* Mangling wants the whole packet linear and writable anyway. */
	if (skb_ensure_writable(skb, skb->len))
		goto fail;
	th = (const struct tcphdr *)(skb->data + protoff);
	data = skb->data + protoff + th->doff * 4;
	for (i = 0; i < n; i++) {
		/* In u32: the segment may cross the sequence numbers' wrap. */
		u32 at = rws[i].seq - seg->seg_seq;

		if (at > seg->seg_len || rws[i].len > seg->seg_len - at ||
		    jhash(data + at, rws[i].len, 0) != rws[i].hash)
			goto fail;
		if (rws[i].text_len != rws[i].len && !nfct_seqadj(ct))
			goto fail;
		if (!rws[i].sent)
			off += rws[i].text_len - rws[i].len;
	}
	for (i = n; i--; ) {
		len = ftpe_nat_text(ct, &rws[i], text);
		if (!__nf_nat_mangle_tcp_packet(skb, ct, ctinfo, protoff,
						rws[i].seq - seg->seg_seq,
						rws[i].len, text, len, false))
			goto fail;
	}
	if (!ftpe_nat_seqadj(ct, CTINFO2DIR(ctinfo), seg, off))
		goto fail;
	/* Each line once, when a segment first carries its rewrite out. */
	for (i = 0; i < n; i++)
		if (!rws[i].sent)
			ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_REWRITTEN);
	return true;
fail:
	ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
	return false;
}

/* @rw makes room: a resend of its bytes can no longer be rewritten. */
static void ftpe_nat_forget(struct ftpe_nat_edit *kept,
			    const struct ftpe_nat_rw *rw)
{
	enum ip_conntrack_dir dir = ftpe_nat_dir(rw->mode);
	u32 end = rw->seq + rw->len;

	if (!(kept->lost & BIT(dir)) || after(end, kept->lost_to[dir]))
		kept->lost_to[dir] = end;
	kept->lost |= BIT(dir);
}

/*
 * Keep what the segment just handled leaves for its resends: the kept
 * rewrites it carried whole, now @sent if it passed, and @seg's new ones
 * after them all.  The oldest of the others make room: not one the
 * segment carries, which its next resend must carry out again.
 */
static void ftpe_nat_remember(struct ftpe_nat_edit *kept,
			      const struct ftpe_nat_seg *seg, bool sent)
{
	unsigned int i, j = 0, evict, dir;
	struct ftpe_nat_rw *rw;

	evict = kept->n + seg->n > FTPE_NAT_EDITS ?
		kept->n + seg->n - FTPE_NAT_EDITS : 0;
	for (i = 0; i < kept->n; i++) {
		rw = &kept->rw[i];
		if (ftpe_nat_covers(seg, rw) == 2) {
			rw->sent |= sent;
		} else if (evict) {
			evict--;
			ftpe_nat_forget(kept, rw);
			continue;
		}
		kept->rw[j++] = *rw;
	}
	for (i = 0; i < seg->n; i++) {
		kept->rw[j] = seg->rw[i];
		kept->rw[j++].sent = sent;
	}
	kept->n = j;
	/*
	 * In stream order: kept ones read before, then the segment's new
	 * ones, read for the first time.  So each direction's last ends
	 * latest, which a comparison could not tell once they lie 2 GiB
	 * apart.
	 */
	kept->reached = 0;
	for (i = 0; i < j; i++) {
		rw = &kept->rw[i];
		dir = ftpe_nat_dir(rw->mode);
		kept->reach[dir] = rw->seq + rw->len;
		kept->reached |= BIT(dir);
	}
}

/* Mark the rewritten segment @skb as it leaves (kept->out). */
static void ftpe_nat_sent(struct ftpe_nat_edit *kept, enum ip_conntrack_dir dir,
			  const struct sk_buff *skb, unsigned int protoff)
{
	const struct tcphdr *th = (const struct tcphdr *)(skb->data + protoff);
	unsigned int dataoff = protoff + th->doff * 4;
	struct ftpe_nat_mark *out = &kept->out[dir];

	/* Mangling left the whole packet linear. */
	out->seq = ntohl(th->seq);
	out->len = skb->len - dataoff;
	out->hash = ftpe_nat_hash(skb, dataoff, out->len);
}

bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
		    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
		    const struct ftpe_nat_seg *seg, struct ftpe_nat_edit *kept,
		    bool drop)
{
	struct ftpe_nat_rw rws[FTPE_NAT_EDITS] __uninitialized;
	unsigned int i, n = 0;
	bool ok;

	if (seg->partial) {
		/* Part of a rewritten endpoint cannot be rewritten alike. */
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
		drop = true;
	}
	if (kept && ftpe_nat_behind(kept, seg))
		for (i = 0; i < kept->n; i++)
			if (ftpe_nat_covers(seg, &kept->rw[i]) == 2)
				rws[n++] = kept->rw[i];
	/* ftpe_nat_room() kept the two within FTPE_NAT_EDITS. */
	if (WARN_ON_ONCE(n + seg->n > FTPE_NAT_EDITS))
		return false;
	memcpy(&rws[n], seg->rw, seg->n * sizeof(*rws));
	n += seg->n;
	/* The caller made room before it queued a rewrite. */
	if (WARN_ON_ONCE(n && !kept))
		return false;
	if (!n) {
		ok = !drop;
	} else {
		ok = !drop &&
		     ftpe_nat_rewrite(skb, protoff, ct, ctinfo, seg, rws, n);
		ftpe_nat_remember(kept, seg, ok);
	}
	if (ok && seg->vowed)
		kept->vow[seg->dir].len = 0;
	if (ok && n)
		ftpe_nat_sent(kept, seg->dir, skb, protoff);
	return ok;
}

/*
 * The NAT half, as nf_nat_ftp is nf_conntrack_ftp's.  tc's act_ct and Open
 * vSwitch, attaching a helper to a connection they translate, take a
 * reference to it: they look it up by the helper's nat_mod_name and, when
 * nobody registered that name, ask modprobe for a module of that name and
 * fail if none comes.  So this module registers itself under that name,
 * and answers to it.
 *
 * nf_ct_helper_init() derives nat_mod_name as NF_NAT_HELPER_PREFIX and the
 * name, cut to fit NF_CT_HELPER_NAME_LEN: "ip_nat_ftp-embryo" does not, and
 * the kernel looks for "ip_nat_ftp-embr" (and "ip_nat_ftp_embr").  The
 * module aliases need the names when we are built; the registrations take
 * them from the helpers themselves.
 */
#define FTPE_NAT_MOD_NAME	NF_NAT_HELPER_PREFIX "ftp-embr"
#define FTPE_NAT_MOD_NAME_TC	NF_NAT_HELPER_PREFIX "ftp_embr"
static_assert(sizeof(FTPE_NAT_MOD_NAME) == NF_CT_HELPER_NAME_LEN);
static_assert(sizeof(FTPE_NAT_MOD_NAME_TC) == NF_CT_HELPER_NAME_LEN);

/* One NAT half for each name (ftpe_helpers[0] and [2]). */
static struct nf_conntrack_nat_helper ftpe_nat_helpers[2] = {
	{ .module = THIS_MODULE },
	{ .module = THIS_MODULE },
};

void ftpe_nat_helper_register(const struct nf_conntrack_helper *h)
{
	static const char * const alias[] = {
		FTPE_NAT_MOD_NAME, FTPE_NAT_MOD_NAME_TC
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(ftpe_nat_helpers); i++) {
		struct nf_conntrack_nat_helper *nat = &ftpe_nat_helpers[i];

		strscpy(nat->mod_name, h[2 * i].nat_mod_name,
			sizeof(nat->mod_name));
		if (strcmp(nat->mod_name, alias[i]))
			pr_warn("NAT half registered as \"%s\", not as our alias \"%s\"\n",
				nat->mod_name, alias[i]);
		nf_nat_helper_register(nat);
	}
}

void ftpe_nat_helper_unregister(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ftpe_nat_helpers); i++)
		nf_nat_helper_unregister(&ftpe_nat_helpers[i]);
}

MODULE_ALIAS(FTPE_NAT_MOD_NAME);
MODULE_ALIAS(FTPE_NAT_MOD_NAME_TC);
