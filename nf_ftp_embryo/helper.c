// SPDX-License-Identifier: GPL-2.0
/*
 * The conntrack helper callback: reads the control connection, hands each
 * line to the session core (session.h) and carries out what it decides:
 * opens and closes the pinhole (pinhole.h), rewrites under NAT, counts
 * and reports.
 *
 * Runs in softirq (or with BH disabled on local output), inside the RCU
 * read-side section of the conntrack confirm hook: nothing here sleeps and
 * every allocation is GFP_ATOMIC.  All per-connection work happens under
 * that connection's flow->lock (see flowtab.h); there is no global lock.
 *
 * Who is believed, and what a line does, is the session core's: here is
 * only how it is carried out.
 *
 * Every refusal, and every line dropped because NAT or its pinhole failed,
 * is reported (report.h): logged, kept as the record's last refusal, and
 * sent as an event, as are the negotiation's steps (ftpe_apply()).
 *
 * On a translated connection the announcing line is rewritten (nat.c); the
 * rewrite is queued while the segment is read and applied once it has
 * been, because it may move the segment's bytes.
 *
 * Dropping: a segment is dropped, and read again when the sender resends
 * it, when a pinhole it asks for cannot be made (no memory, conntrack
 * refuses it, no free NAT port: the sender's retry may succeed), when a
 * translated endpoint could leave as it was written (nat.c), and when a
 * segment asks for a second pinhole: each segment may create at most one,
 * so that the work one segment costs under the global expectation lock is
 * bounded however many lines it carries.  No real client announces twice
 * before a reply.  The line's decision is then not committed, and the
 * stream unreads the line (stream.h), so the resent segment is read as
 * new.
 */
#include <linux/tcp.h>

#include "flowtab.h"
#include "genl.h"
#include "ha.h"
#include "helper.h"
#include "nat.h"
#include "netns.h"
#include "params.h"
#include "pinhole.h"
#include "report.h"
#include "session.h"

/* The session core names the two sides as conntrack names directions. */
static_assert(FTPE_CLIENT == (int)IP_CT_DIR_ORIGINAL);
static_assert(FTPE_SERVER == (int)IP_CT_DIR_REPLY);

/*
 * Everything a line callback needs about the segment being read.  Not
 * zeroed (it is on every segment's path): ftpe_read() sets each member, or
 * the flag that says it is not set yet.
 */
struct ftpe_pkt {
	struct ftpe_flow *flow;
	struct nf_conn *ct;
	struct ftpe_net *fn;		/* looked up once per packet */
	struct sk_buff *skb;
	enum ip_conntrack_dir dir;
	const char *line;		/* the line being read */
	bool nat;			/* translated: endpoints are rewritten */
	bool drop;			/* NF_DROP: it is to be read again */
	bool peered;			/* @peers is set */
	s8 listening;			/* genl events wanted; -1: not asked */
	struct ftpe_peers peers;	/* what the session core vets against */
	struct ftpe_nat_seg edit;	/* NAT rewrites of this segment */
	struct ftpe_pinhole_seg ph;	/* the pinhole it makes */
};

/* What the helper reads of a segment's TCP header. */
struct ftpe_tcp {
	unsigned int dataoff;		/* where its payload starts */
	unsigned int datalen;
	u32 seq;
	bool fin, rst;
};

/*
 * Read them, before a NAT rewrite may move the skb's head and the header
 * with it.  False: no header to read.
 */
static bool ftpe_tcp_read(const struct sk_buff *skb, unsigned int protoff,
			  struct ftpe_tcp *t)
{
	const struct tcphdr *th;
	struct tcphdr _th;

	th = skb_header_pointer(skb, protoff, sizeof(_th), &_th);
	if (!th)
		return false;
	t->dataoff = protoff + th->doff * 4;
	t->datalen = skb->len > t->dataoff ? skb->len - t->dataoff : 0;
	t->seq = ntohl(th->seq);
	t->fin = th->fin;
	t->rst = th->rst;
	return true;
}

static const char *ftpe_skb_read(const void *skb, unsigned int off,
				 unsigned int len, char *buf)
{
	return skb_header_pointer(skb, off, len, buf);
}

/* Report a refusal of the line being read. */
static void ftpe_refuse(struct ftpe_pkt *pk, u8 reason,
			const struct ftpe_endpoint *ep)
{
	ftpe_report_refusal(pk->flow, pk->skb, reason, ep);
}

/* NAT: room to keep a rewrite for a resend, before there is one. */
static bool ftpe_nat_keep(struct ftpe_pkt *pk, const struct ftpe_endpoint *ep)
{
	struct ftpe_flow *flow = pk->flow;

	if (flow->nat_edit)
		return true;
	flow->nat_edit = kzalloc(sizeof(*flow->nat_edit), GFP_ATOMIC);
	if (flow->nat_edit)
		return true;
	ftpe_count(pk->fn, FTPE_STAT_NOMEM);
	ftpe_refuse(pk, FTPE_REASON_NAT_FAILED, ep);
	return false;
}

/*
 * NAT: the line being read names its announcer's private endpoint @ep
 * (ftpe_nat_private()), so it must leave rewritten, whatever else becomes
 * of it.  Make sure it can be, before anything of the line is counted or
 * acted on: false refuses it, and it is read again from the resend.
 */
static bool ftpe_nat_reserve(struct ftpe_pkt *pk,
			     const struct ftpe_endpoint *ep)
{
	if (!ftpe_nat_keep(pk, ep))
		return false;
	if (ftpe_nat_room(pk->ct, &pk->edit, ep,
			  pk->flow->stream[pk->dir].line_seq))
		return true;
	ftpe_refuse(pk, FTPE_REASON_NAT_FAILED, ep);
	return false;
}

/*
 * ... and once the line has been read: unless its negotiation rewrote it
 * (and opened its pinhole), only the address is rewritten, to the one the
 * other side knows, with the port as it was and no pinhole.  A port the
 * helper refused stays refused; one it did not match to a command was
 * never its to open.
 */
static void ftpe_nat_conceal(struct ftpe_pkt *pk, u8 mode,
			     const struct ftpe_endpoint *ep)
{
	u32 line_seq = pk->flow->stream[pk->dir].line_seq;

	if (!ftpe_nat_queued(&pk->edit, line_seq))
		ftpe_nat_hide(pk->ct, mode, ep, pk->line, line_seq, &pk->edit);
}

/*
 * NAT: register the endpoint @mode's line announces and queue the line's
 * rewrite, before the state machine sees the line (pinhole.h), with room
 * to keep the rewrite.  False: refuse the line.
 */
static bool ftpe_nat_announce(struct ftpe_pkt *pk, u8 mode,
			      const struct ftpe_endpoint *ep)
{
	u8 reason;

	/* A second pinhole in the segment is refused before anything else. */
	if (!pk->ph.created && !ftpe_nat_keep(pk, ep))
		return false;
	reason = ftpe_pinhole_announce(&pk->ph, mode, ep, pk->line,
				       pk->flow->stream[pk->dir].line_seq,
				       &pk->edit);
	if (!reason)
		return true;
	/* A second pinhole in the segment names none. */
	ftpe_refuse(pk, reason, reason == FTPE_REASON_NAT_FAILED ? ep : NULL);
	return false;
}

/* ... or it is given up, with the line that asked for it. */
static void ftpe_nat_drop(struct ftpe_pkt *pk)
{
	ftpe_pinhole_give_up(&pk->ph, &pk->edit,
			     pk->flow->stream[pk->dir].line_seq);
}

/*
 * Open the pinhole of the negotiation @f; false if it could not be, so the
 * line is refused.
 */
static bool ftpe_expect(struct ftpe_pkt *pk, const struct ftpe_fsm *f)
{
	/* A second pinhole in the segment is refused whatever it names. */
	const struct ftpe_endpoint *ep = pk->ph.created ? NULL : &f->ep;
	u8 reason = ftpe_pinhole_open(&pk->ph, f);

	if (!reason)
		return true;
	ftpe_refuse(pk, reason, ep);
	return false;
}

/* How what the state machine ended (@r) ended; see ftpe_apply(). */
static u8 ftpe_end_reason(unsigned int r, enum ftpe_stat why)
{
	if (r & FTPE_EV_DONE)
		return FTPE_REASON_COMPLETED;
	if (r & FTPE_EV_REPLACED)
		return FTPE_REASON_REPLACED;
	return ftpe_reason_of(why);
}

/* The events of a decision carried out, in the order they happened. */
static void ftpe_apply_report(struct ftpe_pkt *pk,
			      const struct ftpe_decision *d)
{
	const struct ftpe_flow *flow = pk->flow;
	const struct ftpe_fsm *f = &d->fsm;
	const struct ftpe_endpoint *ep = f->ep.port ? &f->ep : NULL;
	unsigned int r = d->r;

	/* Asked once per segment: most have events nobody listens to. */
	if (!(r & (FTPE_EV_REPLACED | FTPE_EV_OPENED | FTPE_DO_CREATE |
		   FTPE_EV_MOVED)))
		return;
	if (pk->listening < 0)
		pk->listening = ftpe_genl_listening(nf_ct_net(flow->ct));
	if (!pk->listening)
		return;
	if (r & FTPE_EV_REPLACED)
		ftpe_report_event(flow, f, FTPE_EVENT_STATE,
				  FTPE_REASON_REPLACED, FTPE_IDLE, NULL);
	if (r & FTPE_EV_OPENED)
		ftpe_report_event(flow, f, FTPE_EVENT_STARTED, 0, f->state, ep);
	if ((r & FTPE_DO_CREATE) && flow->exp)
		ftpe_report_event(flow, f, FTPE_EVENT_PINHOLE_OPEN, 0,
				  f->state, ep);
	if ((r & FTPE_EV_MOVED) && !(r & FTPE_EV_OPENED))
		ftpe_report_event(flow, f, FTPE_EVENT_STATE,
				  f->state == FTPE_IDLE ?
				  ftpe_end_reason(r, d->why) : 0, f->state, ep);
}

/*
 * Carry out the pinhole side of what the session core decided.  False
 * when the pinhole it asked for could not be made: nothing is counted
 * then, as the line is refused and will be read again.
 */
static bool ftpe_apply(struct ftpe_pkt *pk, const struct ftpe_decision *d)
{
	/* The counter of each FTPE_EV_* bit that has one, by bit number. */
	static const u8 counted[] = {
		[ilog2(FTPE_EV_OPENED)] = FTPE_STAT_NEGOTIATIONS,
		[ilog2(FTPE_EV_DONE)] = FTPE_STAT_COMPLETED,
		[ilog2(FTPE_EV_REPLACED)] = FTPE_STAT_REPLACED,
		[ilog2(FTPE_EV_UNSOLICITED)] = FTPE_STAT_UNSOLICITED,
		[ilog2(FTPE_EV_TLS)] = FTPE_STAT_TLS,
		[ilog2(FTPE_EV_OVERFLOW)] = FTPE_STAT_PIPELINE_OVERFLOW,
		[ilog2(FTPE_EV_MOVED)] = FTPE_STAT_TRANSITIONS,
	};
	const unsigned int mask = FTPE_EV_OPENED | FTPE_EV_DONE |
		FTPE_EV_REPLACED | FTPE_EV_UNSOLICITED | FTPE_EV_TLS |
		FTPE_EV_OVERFLOW | FTPE_EV_MOVED;
	unsigned int r = d->r, m;

	if (r & FTPE_DO_REMOVE)
		ftpe_pinhole_close(pk->flow, &d->fsm,
				   ftpe_end_reason(r, d->why));
	if ((r & FTPE_DO_CREATE) && !ftpe_expect(pk, &d->fsm))
		return false;
	ftpe_apply_report(pk, d);
	if (r & FTPE_EV_OPENED)
		pk->flow->since = jiffies;
	for (m = r & mask; m; m &= m - 1)
		ftpe_count(pk->fn, counted[__ffs(m)]);
	if (r & FTPE_EV_ABORTED)
		ftpe_stat_abort(pk->fn, d->why);
	return true;
}

/* NAT: the line cannot be rewritten (the caller refuses it). */
static void ftpe_nat_unreadable(struct ftpe_pkt *pk)
{
	ftpe_count(pk->fn, FTPE_STAT_NAT_FAILED);
	ftpe_refuse(pk, FTPE_REASON_NAT_FAILED, NULL);
}

/*
 * A 234 to AUTH: both directions carry TLS records from here (session.h),
 * the client's from the next byte it sends; the 234's own direction from
 * after its line, which the stream sees to.  Said where an admin looks,
 * since the session's transfers get no pinhole unless it returns to
 * plaintext (CCC).
 */
static enum ftpe_line_next ftpe_encrypted(struct ftpe_pkt *pk)
{
	ftpe_stream_start_tls(&pk->flow->stream[IP_CT_DIR_ORIGINAL],
			      FTPE_TLS_COMMANDS);
	ftpe_ct_tls(pk->ct, true);
	ftpe_report_tls(pk->flow, pk->skb, FTPE_REASON_ENCRYPTED);
	return FTPE_LINE_TLS;
}

/* Count a line read for good (not refused, to be read again). */
static void ftpe_line_seen(struct ftpe_pkt *pk, unsigned int lflags)
{
	ftpe_count(pk->fn, FTPE_STAT_LINES);
	if (lflags & FTPE_LINE_BARE_LF)
		ftpe_count(pk->fn, FTPE_STAT_BARE_LF);
}

/* The connection's peers and policy, for the session core: once a packet. */
static const struct ftpe_peers *ftpe_peers(struct ftpe_pkt *pk)
{
	const struct nf_conntrack_tuple_hash *th = pk->ct->tuplehash;
	struct ftpe_peers *p = &pk->peers;

	if (pk->peered)
		return p;
	pk->peered = true;
	p->family = ftpe_ct_family(pk->ct);
	p->min_port = ftpe_min_port;
	p->loose = ftpe_loose;
	p->strict_active = READ_ONCE(pk->fn->strict_active);
	p->nat = pk->nat;
	/* Each end as the helper sees it: its tuple's source. */
	memcpy(p->addr[FTPE_CLIENT], &th[IP_CT_DIR_ORIGINAL].tuple.src.u3,
	       sizeof(p->addr[FTPE_CLIENT]));
	memcpy(p->addr[FTPE_SERVER], &th[IP_CT_DIR_REPLY].tuple.src.u3,
	       sizeof(p->addr[FTPE_SERVER]));
	/*
	 * Only a translated address is private: the client of a port forward
	 * is known to the server by its own.
	 */
	p->hidden[FTPE_CLIENT] = pk->nat &&
		!nf_inet_addr_cmp(&th[IP_CT_DIR_REPLY].tuple.dst.u3,
				  &th[IP_CT_DIR_ORIGINAL].tuple.src.u3);
	p->hidden[FTPE_SERVER] = pk->nat &&
		!nf_inet_addr_cmp(&th[IP_CT_DIR_ORIGINAL].tuple.dst.u3,
				  &th[IP_CT_DIR_REPLY].tuple.src.u3);
	return p;
}

/*
 * Carry out what the session core decided about the line being read, and
 * commit it; or refuse the line (the segment is dropped, the line read
 * again from the resend) if the kernel side fails, and the session stays
 * as it was.  Translated, an endpoint naming its announcer must be sure
 * to leave rewritten before anything of the line is acted on.
 */
static enum ftpe_line_next ftpe_carry_out(struct ftpe_pkt *pk,
					  const struct ftpe_decision *d,
					  unsigned int lflags)
{
	struct ftpe_flow *flow = pk->flow;
	bool command = pk->dir == IP_CT_DIR_ORIGINAL;
	int i;

	if (d->flags & FTPE_DEC_UNREADABLE) {
		ftpe_nat_unreadable(pk);
		goto refuse;
	}
	if ((d->flags & FTPE_DEC_HIDE) && !ftpe_nat_reserve(pk, &d->hidden))
		goto refuse;
	/* A refusal opens nothing, and says so whatever comes of the line. */
	if (d->refused && d->refused != FTPE_REASON_UNSOLICITED)
		ftpe_refuse(pk, d->refused, &d->ep);
	if ((d->flags & FTPE_DEC_ANNOUNCE) &&
	    !ftpe_nat_announce(pk, d->mode, &d->ep))
		goto refuse;
	if (!ftpe_apply(pk, d)) {
		ftpe_nat_drop(pk);
		goto refuse;
	}
	ftpe_session_commit(&flow->sess, d);
	if (d->refused == FTPE_REASON_UNSOLICITED)
		ftpe_refuse(pk, d->refused, d->ep.family ? &d->ep : NULL);
	if (unlikely(d->flags & FTPE_DEC_MALFORMED))
		ftpe_report_malformed(flow, pk->skb);
	if (unlikely(d->r & FTPE_EV_OVERFLOW))
		ftpe_refuse(pk, FTPE_REASON_PIPELINE_OVERFLOW, NULL);
	/*
	 * An active mode's port registered at PORT/EPRT is held until its
	 * pinhole opens; a passive one not taken by a DO_CREATE was not
	 * wanted after all.
	 */
	if (command)
		ftpe_pinhole_take(&pk->ph);
	else
		ftpe_nat_drop(pk);
	if (d->flags & FTPE_DEC_HIDE)
		ftpe_nat_conceal(pk, command ? d->mode : FTPE_VERB_PASV,
				 &d->hidden);
	ftpe_line_seen(pk, lflags);
	for (i = 0; i < d->ncounts; i++)
		ftpe_count(pk->fn, d->counts[i]);
	if (unlikely(d->r & FTPE_EV_TLS))
		return ftpe_encrypted(pk);
	return FTPE_LINE_NEXT;

refuse:
	ftpe_session_refused(&flow->sess, d);
	ftpe_nat_drop(pk);
	/* The segment is dropped, and the line read again from its resend. */
	pk->drop = true;
	return FTPE_LINE_STOP;
}

/* Each line of either direction, as the stream hands it on. */
static enum ftpe_line_next ftpe_line(void *ctx, const char *line,
				     unsigned int len, unsigned int lflags)
{
	struct ftpe_pkt *pk = ctx;
	/* The session core sets what is read of it (ftpe_decision_init()). */
	struct ftpe_decision d __uninitialized;

	pk->line = line;
	if (pk->dir == IP_CT_DIR_ORIGINAL)
		ftpe_session_command(&pk->flow->sess, ftpe_peers(pk), line,
				     len, lflags, &d);
	else
		ftpe_session_reply(&pk->flow->sess, ftpe_peers(pk), line, len,
				   lflags, &d);
	return ftpe_carry_out(pk, &d, lflags);
}

static void ftpe_count_stream(struct ftpe_net *fn, unsigned int ev)
{
	if (ev & FTPE_STREAM_EV_RETRANS)
		ftpe_count(fn, FTPE_STAT_RETRANS);
	if (ev & FTPE_STREAM_EV_GAP)
		ftpe_count(fn, FTPE_STAT_GAP);
	if (ev & FTPE_STREAM_EV_OVERLONG)
		ftpe_count(fn, FTPE_STAT_OVERLONG);
	if (ev & FTPE_STREAM_EV_NOMEM)
		ftpe_count(fn, FTPE_STAT_NOMEM);
	if (ev & FTPE_STREAM_EV_SPLIT)
		ftpe_count(fn, FTPE_STAT_SPLIT_LINES);
	if (ev & FTPE_STREAM_EV_PLAIN)
		ftpe_count(fn, FTPE_STAT_TLS_PLAINTEXT);
	if (ev & FTPE_STREAM_EV_TLS_LOST)
		ftpe_count(fn, FTPE_STAT_TLS_LOST);
}

/*
 * Translated: does the line still open at the end of the segment already
 * hold text of an endpoint that may need rewriting?  It cannot be
 * rewritten once it has left, so the segment waits for the resend, which
 * usually carries the whole line.  Text before the endpoint may leave.
 */
static bool ftpe_nat_cut(const struct ftpe_flow *flow,
			 enum ip_conntrack_dir dir)
{
	const struct ftpe_stream *s = &flow->stream[dir];
	const char *p = s->partial;
	unsigned int i, n = s->held;

	if (!n || !p)
		return false;
	if (dir == IP_CT_DIR_ORIGINAL) {
		if (!ftpe_line_announces((enum ftpe_side)dir, p, n, false))
			return false;
		for (i = 5; i < n; i++)
			if (p[i] != ' ')
				return true;
		return false;
	}
	/* Any 227 may name the server's address (session.c). */
	if (ftpe_line_announces((enum ftpe_side)dir, p, n, false))
		return true;
	/* A 229 names a port, rewritten only in the one answering EPSV. */
	return n >= 5 && p[3] == ' ' && !strncmp(p, "229", 3) &&
	       ftpe_fsm_wants_endpoint(&flow->sess.fsm, 229);
}

/* ... and the same for a line start after TLS the tracker still holds. */
static bool ftpe_nat_tls_cut(struct ftpe_stream *s, enum ip_conntrack_dir dir,
			     u32 from)
{
	unsigned int n;
	const char *p = ftpe_stream_tls_line(s, &n);

	if (!n || !ftpe_line_announces((enum ftpe_side)dir, p, n, true))
		return false;
	ftpe_stream_tls_cut(s, from);
	return true;
}

/*
 * Translated: may a segment that no record reads leave?  Nothing can be
 * rewritten without a record, so one that may carry an endpoint to
 * rewrite is dropped (counted in nat_failed) and read from the resend, by
 * a record with luck.  A cheap look at the lines that start in it, whole
 * or cut by its end: one cut in its first bytes may still become one.
 * Its first bytes may end a line begun before it, which passed only if
 * that line could not announce.
 */
static bool ftpe_nat_clean(const struct sk_buff *skb, unsigned int dataoff,
			   unsigned int datalen, const struct nf_conn *ct,
			   enum ip_conntrack_dir dir)
{
	char buf[FTPE_LINE_MAX + 2];
	unsigned int off = 0, n, len;
	struct ftpe_endpoint ep;
	const char *p, *nl;
	enum ftpe_verb verb;
	bool skip = false;

	while (off < datalen) {
		n = min_t(unsigned int, datalen - off, sizeof(buf));
		p = skb_header_pointer(skb, dataoff + off, n, buf);
		if (!p)
			break;
		nl = memchr(p, '\n', n);
		len = nl ? nl - p : n;
		off += nl ? len + 1 : n;
		/* The rest of an overlong line: it started in a window read. */
		if (skip) {
			skip = !nl;
			continue;
		}
		/* Overlong, or cut by the segment's end: not readable whole. */
		if (!nl) {
			if (ftpe_line_announces((enum ftpe_side)dir, p, n,
						off == datalen))
				return false;
			skip = true;
			continue;
		}
		if (dir == IP_CT_DIR_ORIGINAL) {
			verb = ftpe_parse_command(p, len, &ep);
			if ((verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT) &&
			    ftpe_nat_private(ct, verb, &ep))
				return false;
		} else if (!ftpe_parse_227(p, len, &ep) &&
			   ftpe_nat_private(ct, FTPE_VERB_PASV, &ep)) {
			return false;
		}
	}
	return true;
}

/*
 * Does a server segment that no record reads hold a line that starts with
 * 234?  Then TLS follows, and a record made later must not read records
 * as lines.  Its first byte is taken for a line start: a false 234 only
 * leaves the connection unread (fail closed).
 */
static bool ftpe_says_tls(const struct sk_buff *skb, unsigned int dataoff,
			  unsigned int datalen)
{
	char buf[FTPE_LINE_MAX];
	unsigned int off = 0, i, n;
	int at = 0;		/* "234" matched at a line start; -1: none */
	const char *p;

	while (off < datalen) {
		n = min_t(unsigned int, datalen - off, sizeof(buf));
		p = skb_header_pointer(skb, dataoff + off, n, buf);
		if (!p)
			return true;
		for (i = 0; i < n; i++) {
			if (p[i] == '\n')
				at = 0;
			else if (at >= 0 && p[i] == "234"[at])
				at++;
			else
				at = -1;
			if (at == 3)
				return true;
		}
		off += n;
	}
	return false;
}

/*
 * A segment that no record reads: the table is full (max_flows), memory
 * is short (@err, counted), or the record is going.  Where its direction
 * stands is kept in the conntrack (flowtab.h), for the next record and
 * so that, translated, a segment beyond a hole waits for the resend as
 * with a record: its first bytes could be the rest of a line in the hole.
 */
static unsigned int ftpe_unread(struct sk_buff *skb, struct nf_conn *ct,
				enum ip_conntrack_dir dir,
				const struct ftpe_tcp *t, long err)
{
	bool nat = ftpe_nat_wanted(ct), pass = true;
	u8 reason = 0;

	if (err == -ENOSPC) {
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_TABLE_FULL);
		reason = FTPE_REASON_TABLE_FULL;
	} else if (err == -ENOMEM) {
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NOMEM);
		reason = FTPE_REASON_NOMEM;
	}
	if (reason && ftpe_ct_may_tell(ct, FTPE_TELL_GAP))
		ftpe_report_unread(ct, skb, reason);
	if (!t->datalen)
		return NF_ACCEPT;
	if (dir == IP_CT_DIR_REPLY && ftpe_says_tls(skb, t->dataoff, t->datalen))
		ftpe_ct_tls(ct, true);
	spin_lock_bh(&ct->lock);
	if (!ftpe_ct_beyond(ct, dir, t->seq)) {
		if (nat)
			pass = ftpe_nat_clean(skb, t->dataoff, t->datalen, ct,
					      dir);
		if (pass)
			ftpe_ct_passed(ct, dir, t->seq + t->datalen);
	} else if (nat) {
		pass = false;
	}
	spin_unlock_bh(&ct->lock);
	if (pass)
		return NF_ACCEPT;
	ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_NAT_FAILED);
	return NF_DROP;
}

/*
 * Translated, a segment is dropped, but the lines it brought up to where
 * its stream now stands stay read: the receiver never got them, and their
 * resend must bring the same bytes (ftpe_nat_vow()).  With no memory to
 * keep that, the record goes, and the resend is read as by none.
 */
static void ftpe_nat_dropped(struct ftpe_pkt *pk, u32 from,
			     unsigned int dataoff)
{
	struct ftpe_flow *flow = pk->flow;
	u32 to = flow->stream[pk->dir].next_seq;

	if ((s32)(to - from) <= 0)
		return;
	if (!flow->nat_edit)
		flow->nat_edit = kzalloc(sizeof(*flow->nat_edit), GFP_ATOMIC);
	if (flow->nat_edit) {
		ftpe_nat_vow(flow->nat_edit, &pk->edit, from, to, pk->skb,
			     dataoff);
		return;
	}
	ftpe_count(pk->fn, FTPE_STAT_NOMEM);
	ftpe_refuse(pk, FTPE_REASON_NOMEM, NULL);
	ftpe_flow_kill(flow, FTPE_STAT_ABORTED_OTHER);
}

/*
 * Read the segment's payload (@t) into @flow, whose lock is held, and
 * rewrite it if translated.  NF_DROP: the segment is to be read again from
 * its resend.
 */
static __always_inline unsigned int
ftpe_read(struct ftpe_flow *flow, struct ftpe_net *fn, struct sk_buff *skb,
	  unsigned int protoff, enum ip_conntrack_info ctinfo,
	  const struct ftpe_tcp *t)
{
	unsigned int dataoff = t->dataoff, datalen = t->datalen;
	u32 seq = t->seq;
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	struct ftpe_stream *s = &flow->stream[dir];
	struct nf_conn *ct = flow->ct;
	bool nat = ftpe_nat_wanted(ct);
	struct ftpe_pkt pk __uninitialized;
	unsigned int ev;
	u32 from;

	/* Its first bytes: a router taking over may find a pinhole (ha.c). */
	if (!((flow->stream[IP_CT_DIR_ORIGINAL].flags |
	       flow->stream[IP_CT_DIR_REPLY].flags) & FTPE_STREAM_SYNCED))
		ftpe_ha_adopt(flow);
	/* TLS with its framing lost: nothing is read any more. */
	if (ftpe_stream_dark(s))
		return NF_ACCEPT;
	pk.fn = fn;
	/*
	 * Translated, a segment beyond a hole could hold the rest of an
	 * endpoint whose start is in the hole; the sender resends from the
	 * hole, as the receiver has neither.
	 */
	if (nat && ftpe_stream_beyond(s, seq)) {
		ftpe_count(pk.fn, FTPE_STAT_GAP);
		return NF_DROP;
	}
	from = ftpe_stream_first(s, seq);
	pk.flow = flow;
	pk.ct = ct;
	pk.skb = skb;
	pk.dir = dir;
	pk.nat = nat;
	ftpe_pinhole_seg_init(&pk.ph, flow, fn);
	pk.drop = false;
	pk.peered = false;
	pk.listening = -1;
	/* Untranslated, nothing reads @pk.edit (no NAT pinhole is queued). */
	if (nat)
		ftpe_nat_seg_init(&pk.edit, seq, datalen, dir);
	switch (nat ? ftpe_nat_begin(&pk.edit, flow->nat_edit, ct, skb,
				     dataoff) : FTPE_NAT_READ) {
	case FTPE_NAT_READ:
		break;
	case FTPE_NAT_PASS:
		return NF_ACCEPT;
	case FTPE_NAT_DROP:
		ftpe_refuse(&pk, FTPE_REASON_NAT_FAILED, NULL);
		return NF_DROP;
	}
	ev = ftpe_stream_feed(s, seq, skb, dataoff, datalen, ftpe_skb_read,
			      ftpe_line, &pk);
	if (unlikely(ev))
		ftpe_count_stream(pk.fn, ev);
	if (unlikely(ev & FTPE_STREAM_EV_NOMEM))
		ftpe_refuse(&pk, FTPE_REASON_NOMEM, NULL);
	if (unlikely(ev & FTPE_STREAM_EV_PLAIN)) {
		ftpe_report_tls(flow, skb, FTPE_REASON_PLAINTEXT);
		if (!((flow->stream[IP_CT_DIR_ORIGINAL].flags |
		       flow->stream[IP_CT_DIR_REPLY].flags) & FTPE_STREAM_TLS))
			ftpe_ct_tls(ct, false);
	}
	if (unlikely(ev & FTPE_STREAM_EV_TLS_LOST))
		ftpe_report_tls(flow, skb, FTPE_REASON_TLS_LOST);
	if (!nat)
		return pk.drop ? NF_DROP : NF_ACCEPT;
	/*
	 * After TLS, a line start the tracker holds that may begin an
	 * endpoint waits for the resend (as ftpe_nat_cut()'s lines do); a
	 * record header's bytes never need rewriting.
	 */
	if (!pk.drop && ftpe_nat_tls_cut(s, dir, from))
		pk.drop = true;
	/*
	 * A line cut by the segment's end that could not be held (no
	 * memory) would be skipped to its end, unread: its head must not
	 * leave either.
	 */
	if (!pk.drop &&
	    ((ev & FTPE_STREAM_EV_NOMEM) || ftpe_nat_cut(flow, dir))) {
		ftpe_stream_unread(s, from);
		ftpe_nat_unreadable(&pk);
		pk.drop = true;
	}
	if (!ftpe_nat_apply(skb, protoff, ct, ctinfo, &pk.edit,
			    flow->nat_edit, pk.drop)) {
		if (!pk.drop)
			ftpe_refuse(&pk, FTPE_REASON_NAT_FAILED, NULL);
		pk.drop = true;
	}
	if (!pk.drop)
		return NF_ACCEPT;
	ftpe_nat_dropped(&pk, from, dataoff);
	return NF_DROP;
}

/*
 * A segment that @flow reads, or whose FIN or RST ends it.  Apart from
 * ftpe_help(): its frame holds the segment's reading (struct ftpe_pkt and
 * the stream's window), which the segments no record reads never need.
 */
static noinline unsigned int ftpe_help_flow(struct ftpe_flow *flow,
					    struct sk_buff *skb,
					    unsigned int protoff,
					    enum ip_conntrack_info ctinfo,
					    const struct ftpe_tcp *t)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	struct nf_conn *ct = flow->ct;
	unsigned int verdict = NF_ACCEPT;
	struct ftpe_net *fn;

	fn = ftpe_net_rcu(nf_ct_net(ct));
	ftpe_count(fn, FTPE_STAT_PACKETS);
	spin_lock_bh(&flow->lock);
	/* Reclaimed idle after the lookup (flowtab.h): read on in a new one. */
	if (flow->dead && t->datalen) {
		spin_unlock_bh(&flow->lock);
		flow = ftpe_flow_get(ct);
		if (IS_ERR(flow))
			return ftpe_unread(skb, ct, dir, t, PTR_ERR(flow));
		spin_lock_bh(&flow->lock);
	}
	if (!flow->dead && t->datalen)
		verdict = ftpe_read(flow, fn, skb, protoff, ctinfo, t);
	/* Dropped, its FIN comes again with it. */
	if (!flow->dead && verdict == NF_ACCEPT) {
		if (t->fin && dir == IP_CT_DIR_ORIGINAL)
			flow->fin_orig = 1;
		else if (t->fin)
			flow->fin_reply = 1;
		/* The control connection is over: so is any negotiation. */
		if (t->rst || (flow->fin_orig && flow->fin_reply))
			ftpe_flow_kill(flow, FTPE_STAT_ABORTED_CLOSE);
	}
	ftpe_flow_account(flow, fn);
	spin_unlock_bh(&flow->lock);
	return verdict;
}

int ftpe_help(struct sk_buff *skb, unsigned int protoff, struct nf_conn *ct,
	      enum ip_conntrack_info ctinfo)
{
	struct ftpe_flow *flow;
	struct ftpe_tcp t;

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
	if (nf_is_loopback_packet(skb) || !ftpe_tcp_read(skb, protoff, &t))
		return NF_ACCEPT;
	/* Bare ACKs, the bulk of a control connection, cost no lookup. */
	if (!t.datalen && !t.fin && !t.rst)
		return NF_ACCEPT;
	flow = t.datalen ? ftpe_flow_get(ct) : ftpe_flow_find(ct);
	if (IS_ERR_OR_NULL(flow))
		return ftpe_unread(skb, ct, CTINFO2DIR(ctinfo), &t,
				   PTR_ERR(flow));
	return ftpe_help_flow(flow, skb, protoff, ctinfo, &t);
}

void ftpe_teardown(struct ftpe_flow *flow, enum ftpe_stat why)
{
	ftpe_pinhole_close(flow, &flow->sess.fsm, ftpe_reason_of(why));
	ftpe_report_kill(flow, why);
}

void ftpe_destroy(struct nf_conn *ct)
{
	ftpe_flow_destroy_ct(ct);
}
