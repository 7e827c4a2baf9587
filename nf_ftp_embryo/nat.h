/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT: the endpoint a PORT, EPRT, 227 or 229 line announces is rewritten to
 * the one the other side of the router can reach, and the data connection
 * is translated back to the real one.  Without CONFIG_NF_NAT nothing here
 * exists and no connection is ever treated as translated.
 */
#ifndef _NF_FTP_EMBRYO_NAT_H
#define _NF_FTP_EMBRYO_NAT_H

#include <linux/skbuff.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_nat_helper.h>

#include "parse.h"

typedef void (*ftpe_expectfn_t)(struct nf_conn *ct,
				struct nf_conntrack_expect *exp);

/* Longest replacement: "|2|" an IPv6 address "|65535|". */
#define FTPE_NAT_TEXT_MAX	64

/*
 * Rewrites a connection keeps for resends, and rewrites one segment may
 * carry: a segment that names several private endpoints passes once its
 * resend carries them all, as each pass reads one more (one new pinhole
 * per segment, helper.c).  One with more never passes (nat.c).
 */
#define FTPE_NAT_EDITS		8

/*
 * The rewrite of one endpoint's text.  The text is made again each time
 * it is applied (ftpe_nat_format()), from the address the other side
 * knows, which is the connection's for its life; what it replaces is
 * kept as a hash, to tell a resend of those bytes from anything else.
 */
struct ftpe_nat_rw {
	u32 seq;		/* first byte replaced */
	u32 hash;		/* jhash of the bytes replaced */
	u16 len;		/* bytes replaced */
	u16 port;		/* the port written */
	u8 mode;		/* enum ftpe_verb: how it is written, and by whom */
	char delim;		/* EPRT's delimiter */
	u8 text_len;		/* bytes written */
	bool sent;		/* a segment carried it out: seqadj has it */
};

/* A stretch of one direction's payload, known by its bytes' hash. */
struct ftpe_nat_mark {
	u32 seq;
	u32 len;		/* 0: none */
	u32 hash;
};

/*
 * A connection's rewrites that a resend may carry again (flow->nat_edit),
 * oldest first, and per direction: the last segment a rewrite changed, as
 * it left, which may meet the helper again unchanged (@out); the bytes a
 * dropped segment had read, which the receiver never got and the stream
 * will not read again, so that its resend must bring them unchanged
 * (@vow, ftpe_nat_vow()).
 */
struct ftpe_nat_edit {
	struct ftpe_nat_mark out[IP_CT_DIR_MAX];
	struct ftpe_nat_mark vow[IP_CT_DIR_MAX];
	u8 n;
	/*
	 * Bit per direction: a rewrite had to make room, and lost_to[] is
	 * where the newest one so dropped ended.  A resend from before it
	 * would carry its bytes unrewritten (ftpe_nat_begin()).
	 */
	u8 lost;
	u32 lost_to[IP_CT_DIR_MAX];
	/*
	 * Per direction, where the last rewrite in @rw ends: a
	 * segment from there on (most: only resends come earlier) holds
	 * none of them, and @rw is not walked (ftpe_nat_behind()).  Set
	 * for the directions in the bits of @reached.
	 */
	u32 reach[IP_CT_DIR_MAX];
	u8 reached;
	struct ftpe_nat_rw rw[FTPE_NAT_EDITS];
};

/*
 * The rewrites of one segment, applied once the whole segment has been
 * read (the segment's bytes must not move while lines are handed on):
 * the kept ones it resends whole, and those queued while reading it.
 */
struct ftpe_nat_seg {
	u32 seg_seq;		/* sequence number of the segment's first byte */
	u32 seg_len;		/* its payload length */
	u8 dir;			/* enum ip_conntrack_dir of the segment */
	u8 repeats;		/* kept rewrites it resends whole */
	u8 n;			/* rewrites queued in rw[] */
	bool partial;		/* it resends a part of a kept one */
	bool vowed;		/* it brings a vow's stretch again */
	struct ftpe_nat_rw rw[FTPE_NAT_EDITS];
};

/* Before reading a segment: @len bytes from @seq, in direction @dir. */
static inline void ftpe_nat_seg_init(struct ftpe_nat_seg *seg, u32 seq,
				     u32 len, u8 dir)
{
	seg->seg_seq = seq;
	seg->seg_len = len;
	seg->dir = dir;
	seg->repeats = 0;
	seg->n = 0;
	seg->partial = false;
	seg->vowed = false;
}

/* Has the line whose first byte is @line_seq a rewrite queued in @seg? */
static inline bool ftpe_nat_queued(const struct ftpe_nat_seg *seg,
				   u32 line_seq)
{
	return seg->n && (s32)(seg->rw[seg->n - 1].seq - line_seq) >= 0;
}

/* Forget the rewrite queued for that line, if any: it is refused. */
static inline void ftpe_nat_unqueue(struct ftpe_nat_seg *seg, u32 line_seq)
{
	if (ftpe_nat_queued(seg, line_seq))
		seg->n--;
}

#if IS_ENABLED(CONFIG_NF_NAT)

/*
 * Register the NAT half under the name the kernel derives from each of the
 * registered helpers @h[0] and @h[2] (nat.c); unregister both.
 */
void ftpe_nat_helper_register(const struct nf_conntrack_helper *h);
void ftpe_nat_helper_unregister(void);

/* Is @ct translated, so that announced endpoints need rewriting? */
static inline bool ftpe_nat_wanted(const struct nf_conn *ct)
{
	return ct->status & IPS_NAT_MASK;
}

/* Give an unconfirmed, translated @ct the seqadj extension rewrites need. */
void ftpe_nat_prepare(struct nf_conn *ct);

/*
 * Register the expectation for endpoint @ep that @mode's @line (whose first
 * byte has sequence number @line_seq) announces, on a free port, and queue
 * the line's rewrite in @seg when the other side must see another endpoint.
 * Active modes register it inactive (see nat.c).  @expectfn must call
 * ftpe_nat_follow().  Returns the expectation, with the caller's
 * reference, or an ERR_PTR: -EXDEV for an endpoint that is not its
 * announcer's own (the loose parameter's third host), which is not
 * translated, or, counted: -ERANGE when the segment cannot take the
 * rewrite (ftpe_nat_room()), -EBUSY when no port is free, -ENOMEM.
 */
struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_seg *seg);

/*
 * Does @ep, announced by a line of @mode (PORT, EPRT; PASV for a 227),
 * name its announcer's own address where the other side knows it by
 * another: an endpoint that must not leave the router as it was written,
 * whatever the helper makes of the line?
 */
bool ftpe_nat_private(const struct nf_conn *ct, u8 mode,
		      const struct ftpe_endpoint *ep);

/*
 * Can @seg still take the rewrite of @ep's text, in the line whose first
 * byte has sequence number @line_seq?  Only text inside the segment can be
 * rewritten, FTPE_NAT_EDITS rewrites at most, kept ones it resends
 * included, and none in a segment that resends a part of one.  False is
 * counted (nat_failed).
 */
bool ftpe_nat_room(const struct nf_conn *ct, const struct ftpe_nat_seg *seg,
		   const struct ftpe_endpoint *ep, u32 line_seq);

/*
 * Queue in @seg, which has room for it (ftpe_nat_room()), the rewrite of
 * the private endpoint @ep of @mode's @line to the address the other side
 * knows, its port unchanged: for a line that opens no pinhole (refused,
 * unmatched, unsolicited) but must not leave as it was written.
 */
void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
		   const struct ftpe_endpoint *ep, const char *line,
		   u32 line_seq, struct ftpe_nat_seg *seg);

/* Set up a data connection's NAT from its expectation (in its expectfn). */
static inline void ftpe_nat_follow(struct nf_conn *ct,
				   struct nf_conntrack_expect *exp)
{
	nf_nat_follow_master(ct, exp);
}

/* Open an active mode's reserved pinhole; may replace *@expp.  0 or -errno. */
int ftpe_nat_activate(struct nf_conntrack_expect **expp);

/* What ftpe_nat_begin() makes of a segment. */
enum ftpe_nat_start {
	FTPE_NAT_READ,		/* read it, then ftpe_nat_apply() */
	FTPE_NAT_PASS,		/* this box's own output met again: pass it */
	FTPE_NAT_DROP,		/* drop it unread (counted in nat_failed) */
};

/*
 * Before reading a segment of @skb (@seg set up by ftpe_nat_seg_init(),
 * its payload at @dataoff): which of @kept, the connection's rewrites
 * (NULL: none yet), does it resend, whole or in part?  The last rewritten
 * segment met again as it left passes, neither read nor rewritten again.
 * One that resends the bytes of a rewrite no longer kept, or touches a
 * vow's stretch other than by bringing it whole and unchanged, is dropped.
 */
enum ftpe_nat_start ftpe_nat_begin(struct ftpe_nat_seg *seg,
				   struct ftpe_nat_edit *kept,
				   const struct nf_conn *ct,
				   const struct sk_buff *skb,
				   unsigned int dataoff);

/*
 * The segment @seg, which is being dropped, had read its bytes from @from
 * to @to: keep them as @kept's vow in its direction, so that only a
 * segment bringing them unchanged passes until one has.
 */
void ftpe_nat_vow(struct ftpe_nat_edit *kept, const struct ftpe_nat_seg *seg,
		  u32 from, u32 to, const struct sk_buff *skb,
		  unsigned int dataoff);

/*
 * After reading it: apply the rewrites queued in @seg and repeat those of
 * @kept it resends, once the bytes there are found to be what they
 * replace.  @kept (room the caller made before queuing a rewrite) keeps
 * them all, for the next resend, also when the segment is dropped (@drop)
 * or a rewrite fails.  Returns whether the segment may pass: false when
 * it is to be dropped, when a rewrite failed, or when it carries only a
 * part of a kept one or other bytes where one belongs.
 */
bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
		    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
		    const struct ftpe_nat_seg *seg, struct ftpe_nat_edit *kept,
		    bool drop);

#else

static inline void
ftpe_nat_helper_register(const struct nf_conntrack_helper *h)
{
}

static inline void ftpe_nat_helper_unregister(void)
{
}

static inline bool ftpe_nat_wanted(const struct nf_conn *ct)
{
	return false;
}

static inline void ftpe_nat_prepare(struct nf_conn *ct)
{
}

static inline struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_seg *seg)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline bool ftpe_nat_private(const struct nf_conn *ct, u8 mode,
				    const struct ftpe_endpoint *ep)
{
	return false;
}

static inline bool ftpe_nat_room(const struct nf_conn *ct,
				 const struct ftpe_nat_seg *seg,
				 const struct ftpe_endpoint *ep, u32 line_seq)
{
	return false;
}

static inline void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
				 const struct ftpe_endpoint *ep,
				 const char *line, u32 line_seq,
				 struct ftpe_nat_seg *seg)
{
}

static inline void ftpe_nat_follow(struct nf_conn *ct,
				   struct nf_conntrack_expect *exp)
{
}

static inline int ftpe_nat_activate(struct nf_conntrack_expect **expp)
{
	return -EOPNOTSUPP;
}

static inline enum ftpe_nat_start
ftpe_nat_begin(struct ftpe_nat_seg *seg, struct ftpe_nat_edit *kept,
	       const struct nf_conn *ct, const struct sk_buff *skb,
	       unsigned int dataoff)
{
	return FTPE_NAT_READ;
}

static inline void ftpe_nat_vow(struct ftpe_nat_edit *kept,
				const struct ftpe_nat_seg *seg, u32 from,
				u32 to, const struct sk_buff *skb,
				unsigned int dataoff)
{
}

static inline bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
				  struct nf_conn *ct,
				  enum ip_conntrack_info ctinfo,
				  const struct ftpe_nat_seg *seg,
				  struct ftpe_nat_edit *kept, bool drop)
{
	return !drop;
}

#endif /* CONFIG_NF_NAT */

#endif /* _NF_FTP_EMBRYO_NAT_H */
