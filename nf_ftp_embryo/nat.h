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
#include <net/netfilter/nf_nat_helper.h>

#include "parse.h"

typedef void (*ftpe_expectfn_t)(struct nf_conn *ct,
				struct nf_conntrack_expect *exp);

/* Longest replacement: "|2|" an IPv6 address "|65535|". */
#define FTPE_NAT_TEXT_MAX	64

/*
 * The rewrite of one segment, applied once the whole segment has been read
 * (the segment's bytes must not move while lines are handed on).  The
 * caller sets seg_seq/seg_len and zeroes len before reading.
 */
struct ftpe_nat_edit {
	u32 seg_seq;		/* sequence number of the segment's first byte */
	u32 seg_len;		/* its payload length */
	u32 seq;		/* first byte to replace */
	u16 len;		/* bytes replaced; 0: no rewrite pending */
	u8 text_len;
	u8 dir;			/* enum ip_conntrack_dir of the segment */
	bool repeat;		/* the segment resends the latest rewrite */
	bool adjusted;		/* its length change is in seqadj */
	char text[FTPE_NAT_TEXT_MAX];
};

#if IS_ENABLED(CONFIG_NF_NAT)

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
 * the line's rewrite in @edit when the other side must see another endpoint.
 * Active modes register it inactive (see nat.c).  @expectfn must call
 * ftpe_nat_follow().  Returns the expectation, with the caller's
 * reference, or an ERR_PTR: -EXDEV for an endpoint that is not its
 * announcer's own (the loose parameter's third host), which is not
 * translated, or, counted: -ERANGE when the text is not in this segment or
 * the segment has a rewrite already, -EBUSY when no port is free, -ENOMEM.
 */
struct nf_conntrack_expect *
ftpe_nat_expect(struct nf_conn *ct, u8 mode, const struct ftpe_endpoint *ep,
		const char *line, u32 line_seq, ftpe_expectfn_t expectfn,
		struct ftpe_nat_edit *edit);

/*
 * Does @ep, announced by a line of @mode (PORT, EPRT; PASV for a 227),
 * name its announcer's own address where the other side knows it by
 * another: an endpoint that must not leave the router as it was written,
 * whatever the helper makes of the line?
 */
bool ftpe_nat_private(const struct nf_conn *ct, u8 mode,
		      const struct ftpe_endpoint *ep);

/*
 * Can @edit still take the rewrite of @ep's text, in the line whose first
 * byte has sequence number @line_seq?  Only text inside the segment can be
 * rewritten, and only once per segment.  False is counted (nat_failed).
 */
bool ftpe_nat_room(const struct nf_conn *ct, const struct ftpe_nat_edit *edit,
		   const struct ftpe_endpoint *ep, u32 line_seq);

/*
 * Queue in @edit, which has room for it (ftpe_nat_room()), the rewrite of
 * the private endpoint @ep of @mode's @line to the address the other side
 * knows, its port unchanged: for a line that opens no pinhole (refused,
 * unmatched, unsolicited) but must not leave as it was written.
 */
void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
		   const struct ftpe_endpoint *ep, const char *line,
		   u32 line_seq, struct ftpe_nat_edit *edit);

/* Set up a data connection's NAT from its expectation (in its expectfn). */
static inline void ftpe_nat_follow(struct nf_conn *ct,
				   struct nf_conntrack_expect *exp)
{
	nf_nat_follow_master(ct, exp);
}

/* Open an active mode's reserved pinhole; may replace *@expp.  0 or -errno. */
int ftpe_nat_activate(struct nf_conntrack_expect **expp);

/*
 * Before reading a segment (@edit's seg_seq, seg_len and dir set): does it
 * resend @last, the connection's latest rewrite (NULL: none yet)?  Then it
 * has no room for another.
 */
void ftpe_nat_begin(struct ftpe_nat_edit *edit,
		    const struct ftpe_nat_edit *last);

/*
 * After reading it: apply @edit, the rewrite queued while reading, if any;
 * else repeat @last on a retransmission that carries its bytes again.
 * @last (room the caller made before queuing a rewrite) keeps the latest
 * rewrite, also when the segment is dropped (@drop) or the rewrite fails.
 * Returns whether the segment may pass: false when it is to be dropped,
 * when a rewrite failed or when it carries only a part of @last.
 */
bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
		    struct nf_conn *ct, enum ip_conntrack_info ctinfo,
		    const struct ftpe_nat_edit *edit,
		    struct ftpe_nat_edit *last, bool drop);

#else

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
		struct ftpe_nat_edit *edit)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static inline bool ftpe_nat_private(const struct nf_conn *ct, u8 mode,
				    const struct ftpe_endpoint *ep)
{
	return false;
}

static inline bool ftpe_nat_room(const struct nf_conn *ct,
				 const struct ftpe_nat_edit *edit,
				 const struct ftpe_endpoint *ep, u32 line_seq)
{
	return false;
}

static inline void ftpe_nat_hide(const struct nf_conn *ct, u8 mode,
				 const struct ftpe_endpoint *ep,
				 const char *line, u32 line_seq,
				 struct ftpe_nat_edit *edit)
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

static inline void ftpe_nat_begin(struct ftpe_nat_edit *edit,
				  const struct ftpe_nat_edit *last)
{
}

static inline bool ftpe_nat_apply(struct sk_buff *skb, unsigned int protoff,
				  struct nf_conn *ct,
				  enum ip_conntrack_info ctinfo,
				  const struct ftpe_nat_edit *edit,
				  struct ftpe_nat_edit *last, bool drop)
{
	return !drop;
}

#endif /* CONFIG_NF_NAT */

#endif /* _NF_FTP_EMBRYO_NAT_H */
