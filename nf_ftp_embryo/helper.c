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
 * before a reply.  The line is refused before the state machine sees it
 * (or with its state put back), and the stream unreads it (stream.h), so
 * the resent segment is read as new.
 */
#include <linux/tcp.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "flowtab.h"
#include "genl.h"
#include "ha.h"
#include "helper.h"
#include "nat.h"
#include "netns.h"
#include "params.h"
#include "report.h"

/* Everything a line callback needs about the segment being read. */
struct ftpe_pkt {
	struct ftpe_flow *flow;
	struct nf_conn *ct;
	struct ftpe_net *fn;		/* looked up once per packet */
	struct sk_buff *skb;
	enum ip_conntrack_dir dir;
	const char *line;		/* the line being read */
	unsigned int len;		/* its length */
	struct nf_conntrack_expect *nat_exp;	/* registered for this line */
	bool nat;			/* translated: endpoints are rewritten */
	bool created;			/* a pinhole was made for the segment */
	bool drop;			/* NF_DROP: it is to be read again */
	struct ftpe_nat_seg edit;	/* NAT rewrites of this segment */
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
 * A data connection matched our expectation.  The one place that acts on a
 * used pinhole.  Runs in the data connection's softirq, outside
 * nf_conntrack_expect_lock; the kernel has unlinked the expectation,
 * unless the lookup came from act_ct or Open vSwitch with a template not
 * yet committed, which leave it linked and may find it again for another
 * packet (flowtab.c).
 */
void ftpe_expect_used(struct nf_conn *ct, struct nf_conntrack_expect *exp)
{
	bool ours;

	/*
	 * Only we set this function, on our own masters, but a master may
	 * have lost its helper since: then nothing of it is ours to read.
	 */
	rcu_read_lock();
	ours = ftpe_ct_is_ours(exp->master);
	rcu_read_unlock();
	if (!ours)
		return;
	/* Translated: the data connection follows its master's NAT. */
	if (ftpe_nat_wanted(exp->master))
		ftpe_nat_follow(ct, exp);
	if (ftpe_flow_expect_used(exp->master, exp))
		ftpe_stat_inc(nf_ct_net(ct), FTPE_STAT_EXP_USED);
}

/* Report a refusal of the line being read. */
static void ftpe_refuse(struct ftpe_pkt *pk, u8 reason,
			const struct ftpe_endpoint *ep)
{
	ftpe_report_refusal(pk->flow, pk->skb, reason, ep);
}

/* The pinhole is closed for @reason, if it is still open. */
static void ftpe_unexpect(struct ftpe_pkt *pk, u8 reason)
{
	struct ftpe_flow *flow = pk->flow;

	if (flow->exp && !flow->exp_used)
		ftpe_report_event(flow, FTPE_EVENT_PINHOLE_CLOSE,
				  ftpe_exp_expired(flow->exp) ?
				  FTPE_REASON_EXPIRED : reason,
				  flow->fsm.state, &flow->fsm.ep);
	ftpe_flow_unexpect(flow);
}

/* Refuse the line being read: the segment is dropped and read again. */
static void ftpe_stop(struct ftpe_pkt *pk)
{
	pk->flow->stream[pk->dir].flags |= FTPE_STREAM_STOP;
	pk->drop = true;
}

/* One pinhole per segment (see the top of the file). */
static bool ftpe_may_create(struct ftpe_pkt *pk)
{
	if (!pk->created)
		return true;
	ftpe_count(pk->fn, FTPE_STAT_EXP_FAILED);
	ftpe_refuse(pk, FTPE_REASON_EXPECT_FAILED, NULL);
	return false;
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
 * rewrite, before the state machine sees the line, which is refused if
 * this fails.  Active modes get here at PORT/EPRT, as the line passes, and
 * hold the port inactive until the state machine opens the pinhole: at
 * once by default, at the transfer command under strict_active.  False:
 * refuse it.
 */
static bool ftpe_nat_announce(struct ftpe_pkt *pk, u8 mode,
			      const struct ftpe_endpoint *ep)
{
	struct ftpe_flow *flow = pk->flow;
	struct nf_conntrack_expect *exp;

	if (!ftpe_may_create(pk) || !ftpe_nat_keep(pk, ep))
		return false;
	/* The line replaces the negotiation, and with it the pinhole. */
	ftpe_unexpect(pk, FTPE_REASON_REPLACED);
	exp = ftpe_nat_expect(pk->ct, mode, ep, pk->line,
			      flow->stream[pk->dir].line_seq, ftpe_expect_used,
			      &pk->edit);
	/* A third host's endpoint (loose=1) is not translated: no pinhole. */
	if (PTR_ERR(exp) == -EXDEV)
		return true;
	if (IS_ERR(exp)) {
		ftpe_refuse(pk, FTPE_REASON_NAT_FAILED, ep);
		return false;
	}
	pk->nat_exp = exp;
	return true;
}

/* The expectation ftpe_nat_announce() made becomes the pinhole. */
static void ftpe_nat_take(struct ftpe_pkt *pk)
{
	if (!pk->nat_exp)
		return;
	ftpe_flow_unexpect(pk->flow);
	pk->flow->exp = pk->nat_exp;
	pk->nat_exp = NULL;
	pk->created = true;
	ftpe_count(pk->fn, FTPE_STAT_EXP_CREATED);
}

/* ... or is given up, with the line that asked for it. */
static void ftpe_nat_drop(struct ftpe_pkt *pk)
{
	if (!pk->nat_exp)
		return;
	nf_ct_unexpect_related(pk->nat_exp);
	nf_ct_expect_put(pk->nat_exp);
	pk->nat_exp = NULL;
	ftpe_nat_unqueue(&pk->edit, pk->flow->stream[pk->dir].line_seq);
}

/* Open the pinhole; false if it could not be, so the line is refused. */
static bool ftpe_expect(struct ftpe_pkt *pk)
{
	const struct nf_conntrack_tuple *orig =
		&pk->ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	struct ftpe_flow *flow = pk->flow;
	__be16 port = htons(flow->fsm.ep.port);
	const union nf_inet_addr *src, *dst;
	struct nf_conntrack_expect *exp;
	union nf_inet_addr third;

	if (!ftpe_may_create(pk))
		return false;
	if (ftpe_nat_wanted(pk->ct)) {
		/* Registered as its line, this one or PORT/EPRT, was read. */
		ftpe_nat_take(pk);
		if (!ftpe_mode_active(flow->fsm.mode))
			return true;
		/*
		 * Active: the port was held inactive.  A lapsed reservation
		 * not renewed is counted; nothing leaks.
		 */
		if (flow->exp && ftpe_nat_activate(&flow->exp))
			ftpe_flow_unexpect(flow);
		pk->created = true;
		return true;
	}
	exp = nf_ct_expect_alloc(pk->ct);
	if (!exp) {
		ftpe_count(pk->fn, FTPE_STAT_NOMEM);
		ftpe_refuse(pk, FTPE_REASON_EXPECT_FAILED, &flow->fsm.ep);
		return false;
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
		ftpe_count(pk->fn, FTPE_STAT_EXP_FAILED);
		ftpe_refuse(pk, FTPE_REASON_EXPECT_FAILED, &flow->fsm.ep);
		nf_ct_expect_put(exp);
		return false;
	}
	/* Keep our allocation reference: it is how we remove it early. */
	flow->exp = exp;
	pk->created = true;
	ftpe_count(pk->fn, FTPE_STAT_EXP_CREATED);
	return true;
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
static void ftpe_apply_report(struct ftpe_pkt *pk, unsigned int r,
			      enum ftpe_stat why)
{
	const struct ftpe_flow *flow = pk->flow;
	const struct ftpe_fsm *f = &flow->fsm;
	const struct ftpe_endpoint *ep = f->ep.port ? &f->ep : NULL;

	/* Asked once per line: most lines have events nobody listens to. */
	if (!(r & (FTPE_EV_REPLACED | FTPE_EV_OPENED | FTPE_DO_CREATE |
		   FTPE_EV_MOVED)) || !ftpe_genl_listening(nf_ct_net(flow->ct)))
		return;
	if (r & FTPE_EV_REPLACED)
		ftpe_report_event(flow, FTPE_EVENT_STATE, FTPE_REASON_REPLACED,
				  FTPE_IDLE, NULL);
	if (r & FTPE_EV_OPENED)
		ftpe_report_event(flow, FTPE_EVENT_STARTED, 0, f->state, ep);
	if ((r & FTPE_DO_CREATE) && flow->exp)
		ftpe_report_event(flow, FTPE_EVENT_PINHOLE_OPEN, 0, f->state,
				  ep);
	if ((r & FTPE_EV_MOVED) && !(r & FTPE_EV_OPENED))
		ftpe_report_event(flow, FTPE_EVENT_STATE,
				  f->state == FTPE_IDLE ?
				  ftpe_end_reason(r, why) : 0, f->state, ep);
}

/*
 * Carry out what the state machine decided; @why is the FTPE_STAT_ABORTED_*
 * cause to count should it have ended the negotiation early.  False when
 * the pinhole it asked for could not be made: nothing is counted then, as
 * the line is refused and will be read again.
 */
static bool ftpe_apply(struct ftpe_pkt *pk, unsigned int r,
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
		{ FTPE_EV_OVERFLOW, FTPE_STAT_PIPELINE_OVERFLOW },
		{ FTPE_EV_MOVED, FTPE_STAT_TRANSITIONS },
	};
	int i;

	if (r & FTPE_DO_REMOVE)
		ftpe_unexpect(pk, ftpe_end_reason(r, why));
	if ((r & FTPE_DO_CREATE) && !ftpe_expect(pk))
		return false;
	ftpe_apply_report(pk, r, why);
	if (r & FTPE_EV_OPENED)
		pk->flow->since = jiffies;
	if (r & FTPE_EV_TLS)
		pk->flow->dark = 1;
	for (i = 0; i < ARRAY_SIZE(events); i++)
		if (r & events[i].bit)
			ftpe_count(pk->fn, events[i].stat);
	if (r & FTPE_EV_ABORTED)
		ftpe_stat_abort(pk->fn, why);
	return true;
}

/* Is @ep @peer's own address, on a port a pinhole may open? */
static bool ftpe_vet(struct ftpe_pkt *pk, const struct ftpe_endpoint *ep,
		     const union nf_inet_addr *peer, enum ftpe_stat refusal)
{
	/* loose relaxes the bounce check only, never the passive one. */
	if (!ftpe_ep_is(ep, pk->ct, peer) &&
	    !(ftpe_loose && refusal == FTPE_STAT_REFUSED_BOUNCE &&
	      ep->family == ftpe_family(pk->ct))) {
		ftpe_count(pk->fn, refusal);
		ftpe_refuse(pk, refusal == FTPE_STAT_REFUSED_BOUNCE ?
			    FTPE_REASON_BOUNCE : FTPE_REASON_THIRD_PARTY, ep);
		return false;
	}
	if (ep->port < ftpe_min_port) {
		ftpe_count(pk->fn, FTPE_STAT_REFUSED_PORT);
		ftpe_refuse(pk, FTPE_REASON_LOW_PORT, ep);
		return false;
	}
	return true;
}

/*
 * NAT: could a line that starts with @n bytes at @p announce an endpoint
 * to rewrite: PORT or EPRT from the client, 227 from the server?  Asked of
 * a line that cannot be read whole, which then never leaves as it is.
 */
static bool ftpe_nat_announces(enum ip_conntrack_dir dir, const char *p,
			       unsigned int n, bool cut)
{
	/* Cut in its first bytes, it may still become one. */
	if (dir == IP_CT_DIR_REPLY)
		return (n >= 3 || cut) && !strncmp(p, "227", min(n, 3U));
	return (n >= 5 || cut) && (!strncasecmp(p, "PORT ", min(n, 5U)) ||
				   !strncasecmp(p, "EPRT ", min(n, 5U)));
}

/* NAT: the line cannot be rewritten (the caller refuses it). */
static void ftpe_nat_unreadable(struct ftpe_pkt *pk)
{
	ftpe_count(pk->fn, FTPE_STAT_NAT_FAILED);
	ftpe_refuse(pk, FTPE_REASON_NAT_FAILED, NULL);
}

/* Count a line read for good (not refused, to be read again). */
static void ftpe_line_seen(struct ftpe_pkt *pk, unsigned int lflags)
{
	ftpe_count(pk->fn, FTPE_STAT_LINES);
	if (lflags & FTPE_LINE_BARE_LF)
		ftpe_count(pk->fn, FTPE_STAT_BARE_LF);
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
	struct ftpe_flow *flow = pk->flow;
	struct ftpe_endpoint ep;
	enum ftpe_stat counted;
	struct ftpe_fsm saved;
	enum ftpe_verb verb;
	enum ftpe_stat why;
	bool active, hide;
	unsigned int r;
	u8 mode;

	/* TLS made the channel unreadable. */
	if (flow->dark)
		return;

	pk->line = line;
	pk->len = len;
	verb = ftpe_parse_command(line, len, &ep);
	active = verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT;
	/* A cut-off line may have lost digits: never act on its numbers. */
	if (lflags & FTPE_LINE_TRUNCATED) {
		/*
		 * Translated, its endpoint cannot leave as it is either,
		 * wherever in the line it is, parsed or not.
		 */
		if (pk->nat && ftpe_nat_announces(pk->dir, line, len, false)) {
			ftpe_nat_unreadable(pk);
			ftpe_stop(pk);
			return;
		}
		if (active)
			verb = FTPE_VERB_MALFORMED;
		active = false;
	}
	mode = verb;
	hide = pk->nat && active && ftpe_nat_private(pk->ct, mode, &ep);
	if (hide && !ftpe_nat_reserve(pk, &ep)) {
		ftpe_stop(pk);
		return;
	}
	/* Counted as what it says, refused or not. */
	counted = verb_stat[verb];

	if (active &&
	    !ftpe_vet(pk, &ep, ftpe_client(pk->ct), FTPE_STAT_REFUSED_BOUNCE))
		verb = FTPE_VERB_REFUSED;
	else if (active && pk->nat && !ftpe_nat_announce(pk, verb, &ep)) {
		ftpe_stop(pk);
		return;
	}
	saved = flow->fsm;
	/* The namespace's choice of timing, for the negotiation it starts. */
	flow->fsm.strict_active = READ_ONCE(pk->fn->strict_active);
	r = ftpe_fsm_command(&flow->fsm, verb, &ep);
	if (r & FTPE_EV_OVERFLOW)
		why = FTPE_STAT_ABORTED_OTHER;
	else if (verb == FTPE_VERB_REFUSED)
		why = FTPE_STAT_ABORTED_REFUSED;
	else
		why = FTPE_STAT_ABORTED_ABOR_QUIT;
	if (!ftpe_apply(pk, r, why)) {
		flow->fsm = saved;
		ftpe_nat_drop(pk);
		ftpe_stop(pk);
		return;
	}
	ftpe_nat_take(pk);
	if (hide)
		ftpe_nat_conceal(pk, mode, &ep);
	ftpe_line_seen(pk, lflags);
	ftpe_count(pk->fn, counted);
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
		ftpe_count(pk->fn, FTPE_STAT_MALFORMED);
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

/*
 * A 227/229 nobody asked for opens nothing; what it announced is read for
 * the report only (NULL if unreadable).
 */
static void ftpe_refuse_unsolicited(struct ftpe_pkt *pk, int code)
{
	struct ftpe_endpoint ep;
	int bad;

	bad = code == 227 ? ftpe_parse_227(pk->line, pk->len, &ep) :
			    ftpe_parse_229(pk->line, pk->len, &ep);
	if (!bad && code == 229) {
		ep.family = ftpe_family(pk->ct);
		memcpy(ep.addr, ftpe_server(pk->ct), sizeof(ep.addr));
	}
	ftpe_refuse(pk, FTPE_REASON_UNSOLICITED, bad ? NULL : &ep);
}

static void ftpe_reply(void *ctx, const char *line, unsigned int len,
		       unsigned int lflags)
{
	struct ftpe_pkt *pk = ctx;
	struct ftpe_fsm *f = &pk->flow->fsm;
	const struct ftpe_endpoint *vetted = NULL;
	enum ftpe_stat why = FTPE_STAT_ABORTED_OTHER;
	struct ftpe_reply_state replies;
	struct ftpe_endpoint ep, own;
	struct ftpe_fsm saved;
	bool hide = false;
	unsigned int r;
	int code;

	if (pk->flow->dark)
		return;
	/* A multi-line reply's end may have been lost as well. */
	if (lflags & FTPE_LINE_AFTER_GAP) {
		ftpe_fsm_resync(f);
		pk->flow->replies.ml_code = 0;
	}
	replies = pk->flow->replies;

	pk->line = line;
	pk->len = len;
	code = ftpe_reply_feed(&pk->flow->replies, line, len);
	/*
	 * Translated: any 227 naming the server's own address leaves
	 * rewritten, whether or not it answers a PASV, even inside a
	 * multi-line reply (nf_nat_ftp rewrites every 227 it reads); one
	 * cut off as overlong does not leave at all.
	 */
	if (pk->nat) {
		if (lflags & FTPE_LINE_TRUNCATED) {
			if (ftpe_nat_announces(pk->dir, line, len, false)) {
				ftpe_nat_unreadable(pk);
				goto refuse;
			}
		} else if (!ftpe_parse_227(line, len, &own) &&
			   ftpe_nat_private(pk->ct, FTPE_VERB_PASV, &own)) {
			if (!ftpe_nat_reserve(pk, &own))
				goto refuse;
			hide = true;
		}
	}
	if (code <= 0) {
		ftpe_line_seen(pk, lflags);
		if (code < 0)
			ftpe_count(pk->fn, FTPE_STAT_MALFORMED);
		goto out;
	}

	/* Only the reply that answers our PASV/EPSV is read for numbers. */
	if (ftpe_fsm_wants_endpoint(f, code)) {
		if (lflags & FTPE_LINE_TRUNCATED)
			ftpe_count(pk->fn, FTPE_STAT_MALFORMED);
		else
			vetted = ftpe_vet_passive(pk, code, line, len, &ep);
		if (!vetted)
			why = FTPE_STAT_ABORTED_REFUSED;
		else if (pk->nat && !ftpe_nat_announce(pk, f->mode, vetted))
			goto refuse;
	}
	if (code >= 400)
		why = FTPE_STAT_ABORTED_NEGATIVE;
	saved = *f;
	r = ftpe_fsm_reply(f, code, vetted);
	if (!ftpe_apply(pk, r, why)) {
		*f = saved;
		goto refuse;
	}
	if (r & FTPE_EV_UNSOLICITED)
		ftpe_refuse_unsolicited(pk, code);
	/* Not taken by a DO_CREATE: not wanted after all. */
	ftpe_nat_drop(pk);
	ftpe_line_seen(pk, lflags);
	ftpe_count(pk->fn, FTPE_STAT_REPLY_1XX + code / 100 - 1);
out:
	if (hide)
		ftpe_nat_conceal(pk, FTPE_VERB_PASV, &own);
	return;

refuse:
	pk->flow->replies = replies;
	ftpe_nat_drop(pk);
	ftpe_stop(pk);
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
		if (!ftpe_nat_announces(dir, p, n, false))
			return false;
		for (i = 5; i < n; i++)
			if (p[i] != ' ')
				return true;
		return false;
	}
	/* Any 227 may name the server's address (ftpe_reply()). */
	if (ftpe_nat_announces(dir, p, n, false))
		return true;
	/* A 229 names a port, rewritten only in the one answering EPSV. */
	return n >= 5 && p[3] == ' ' && !strncmp(p, "229", 3) &&
	       ftpe_fsm_wants_endpoint(&flow->fsm, 229);
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
			if (ftpe_nat_announces(dir, p, n, off == datalen))
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
 * A segment that no record reads: the table is full (max_flows), memory
 * is short, or the record is going.  Where its direction stands is kept
 * in the conntrack (flowtab.h), for the next record and so that,
 * translated, a segment beyond a hole waits for the resend as with a
 * record: its first bytes could be the rest of a line in the hole.
 */
static unsigned int ftpe_unread(const struct sk_buff *skb,
				unsigned int dataoff, unsigned int datalen,
				struct nf_conn *ct, enum ip_conntrack_dir dir,
				u32 seq)
{
	bool nat = ftpe_nat_wanted(ct), pass = true;

	if (!datalen)
		return NF_ACCEPT;
	spin_lock_bh(&ct->lock);
	if (!ftpe_ct_beyond(ct, dir, seq)) {
		if (nat)
			pass = ftpe_nat_clean(skb, dataoff, datalen, ct, dir);
		if (pass)
			ftpe_ct_passed(ct, dir, seq + datalen);
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
	ftpe_flow_kill(flow, FTPE_STAT_ABORTED_OTHER);
}

int ftpe_help(struct sk_buff *skb, unsigned int protoff, struct nf_conn *ct,
	      enum ip_conntrack_info ctinfo)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	const struct net *net = nf_ct_net(ct);
	unsigned int dataoff, datalen;
	const struct tcphdr *th;
	unsigned int verdict = NF_ACCEPT;
	struct ftpe_net *fnet;
	struct ftpe_flow *flow;
	struct tcphdr _th;
	bool fin, rst;
	u32 seq;
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
	/* A NAT rewrite may move the skb's head, and @th with it. */
	fin = th->fin;
	rst = th->rst;
	seq = ntohl(th->seq);
	datalen = skb->len > dataoff ? skb->len - dataoff : 0;

	/* Bare ACKs, the bulk of a control connection, cost no lookup. */
	if (!datalen && !fin && !rst)
		return NF_ACCEPT;
	flow = datalen ? ftpe_flow_get(ct) : ftpe_flow_find(ct);
	if (IS_ERR_OR_NULL(flow)) {
		if (PTR_ERR(flow) == -ENOSPC)
			ftpe_stat_inc(net, FTPE_STAT_TABLE_FULL);
		else if (PTR_ERR(flow) == -ENOMEM)
			ftpe_stat_inc(net, FTPE_STAT_NOMEM);
		return ftpe_unread(skb, dataoff, datalen, ct, dir, seq);
	}
	fnet = ftpe_net(net);
	ftpe_count(fnet, FTPE_STAT_PACKETS);

	spin_lock_bh(&flow->lock);
	/* Reclaimed idle after the lookup (flowtab.h): read on in a new one. */
	if (flow->dead && datalen) {
		spin_unlock_bh(&flow->lock);
		flow = ftpe_flow_get(ct);
		if (IS_ERR(flow))
			return ftpe_unread(skb, dataoff, datalen, ct, dir, seq);
		spin_lock_bh(&flow->lock);
	}
	if (flow->dead)
		goto out;
	/* Its first bytes: a router taking over may find a pinhole (ha.c). */
	if (datalen && !((flow->stream[IP_CT_DIR_ORIGINAL].flags |
			  flow->stream[IP_CT_DIR_REPLY].flags) &
			 FTPE_STREAM_SYNCED))
		ftpe_ha_adopt(flow);
	if (datalen && !flow->dark) {
		ftpe_line_fn fn = dir == IP_CT_DIR_ORIGINAL ? ftpe_command :
							      ftpe_reply;
		struct ftpe_stream *s = &flow->stream[dir];
		bool nat = ftpe_nat_wanted(ct);
		unsigned int ev;
		u32 from;

		/*
		 * Translated, a segment beyond a hole could hold the rest of
		 * an endpoint whose start is in the hole; the sender resends
		 * from the hole, as the receiver has neither.
		 */
		if (nat && ftpe_stream_beyond(s, seq)) {
			ftpe_count(fnet, FTPE_STAT_GAP);
			verdict = NF_DROP;
			goto out;
		}
		from = ftpe_stream_first(s, seq);
		pk.flow = flow;
		pk.ct = ct;
		pk.fn = fnet;
		pk.skb = skb;
		pk.dir = dir;
		pk.nat_exp = NULL;
		pk.nat = nat;
		pk.created = false;
		pk.drop = false;
		ftpe_nat_seg_init(&pk.edit, seq, datalen, dir);
		switch (nat ? ftpe_nat_begin(&pk.edit, flow->nat_edit, ct, skb,
					     dataoff) : FTPE_NAT_READ) {
		case FTPE_NAT_READ:
			break;
		case FTPE_NAT_PASS:
			goto passed;
		case FTPE_NAT_DROP:
			ftpe_refuse(&pk, FTPE_REASON_NAT_FAILED, NULL);
			verdict = NF_DROP;
			goto out;
		}
		ev = ftpe_stream_feed(s, seq, skb, dataoff, datalen,
				      ftpe_skb_read, fn, &pk);
		ftpe_count_stream(fnet, ev);
		/*
		 * A line cut by the segment's end that could not be held
		 * (no memory) would be skipped to its end, unread: its
		 * head must not leave either.
		 */
		if (nat && !pk.drop &&
		    ((ev & FTPE_STREAM_EV_NOMEM) || ftpe_nat_cut(flow, dir))) {
			ftpe_stream_unread(s, from);
			ftpe_count(fnet, FTPE_STAT_NAT_FAILED);
			ftpe_refuse(&pk, FTPE_REASON_NAT_FAILED, NULL);
			pk.drop = true;
		}
		if (nat && !ftpe_nat_apply(skb, protoff, ct, ctinfo, &pk.edit,
					   flow->nat_edit, pk.drop)) {
			if (!pk.drop)
				ftpe_refuse(&pk, FTPE_REASON_NAT_FAILED, NULL);
			pk.drop = true;
		}
		/* Its FIN, if any, comes again with it. */
		if (pk.drop) {
			if (nat)
				ftpe_nat_dropped(&pk, from, dataoff);
			verdict = NF_DROP;
			goto out;
		}
	}
passed:
	if (fin) {
		if (dir == IP_CT_DIR_ORIGINAL)
			flow->fin_orig = 1;
		else
			flow->fin_reply = 1;
	}
	/* The control connection is over: so is any negotiation on it. */
	if (rst || (flow->fin_orig && flow->fin_reply))
		ftpe_flow_kill(flow, FTPE_STAT_ABORTED_CLOSE);
out:
	ftpe_flow_account(flow);
	spin_unlock_bh(&flow->lock);
	return verdict;
}

void ftpe_destroy(struct nf_conn *ct)
{
	ftpe_flow_destroy_ct(ct);
}
