// SPDX-License-Identifier: GPL-2.0
/*
 * The session core (session.h): who is believed, and what a line does.
 *
 * Commands are believed only from the client, replies only from the
 * server.  An endpoint in PORT/EPRT must be the client's own address
 * (unless the unsafe loose), one in 227 the server's own, and a data port
 * at least min_port; anything else opens nothing, is counted and is
 * reported.  Only the 227/229 answering the pending PASV/EPSV is read for
 * its numbers (ftpe_fsm_wants_endpoint()).
 */
#include "session.h"

void ftpe_session_init(struct ftpe_session *s)
{
	memset(s, 0, sizeof(*s));
	ftpe_fsm_init(&s->fsm);
}

/* Only what every line sets: @ep and @hidden are filled where they count. */
static void ftpe_decision_init(const struct ftpe_session *s,
			       struct ftpe_decision *d)
{
	d->fsm = s->fsm;
	d->replies = s->replies;
	d->r = 0;
	d->flags = 0;
	d->verb = 0;
	d->mode = 0;
	d->refused = 0;
	d->why = 0;
	d->ncounts = 0;
	d->code = 0;
}

static void ftpe_decision_count(struct ftpe_decision *d, enum ftpe_stat stat)
{
	if (d->ncounts < FTPE_DEC_COUNTS)
		d->counts[d->ncounts++] = stat;
}

/*
 * A line that does not parse: counted, and flagged for the caller to
 * report, since a negotiation it was part of cannot proceed.
 */
static void ftpe_decision_malformed(struct ftpe_decision *d)
{
	ftpe_decision_count(d, FTPE_STAT_MALFORMED);
	d->flags |= FTPE_DEC_MALFORMED;
}

static bool ftpe_is_addr(const struct ftpe_peers *p, enum ftpe_side side,
			 const struct ftpe_endpoint *ep)
{
	return ep->family == p->family &&
	       !memcmp(ep->addr, p->addr[side],
		       p->family == FTPE_AF_INET6 ? 16 : 4);
}

bool ftpe_session_private(const struct ftpe_peers *p, enum ftpe_side side,
			  const struct ftpe_endpoint *ep)
{
	return p->nat && p->hidden[side] && ftpe_is_addr(p, side, ep);
}

bool ftpe_line_announces(enum ftpe_side side, const char *p, unsigned int n,
			 bool cut)
{
	unsigned int k = side == FTPE_SERVER ? 3 : 5;

	if (n < k && !cut)
		return false;
	if (n > k)
		n = k;
	if (side == FTPE_SERVER)
		return !strncmp(p, "227", n);
	return !strncasecmp(p, "PORT ", n) || !strncasecmp(p, "EPRT ", n);
}

/*
 * Is @ep, announced by @side, that end's own address on a port a pinhole
 * may open?  Returns 0, or the reason it is refused, with its counter.
 */
static u8 ftpe_session_vet(const struct ftpe_peers *p, enum ftpe_side side,
			   const struct ftpe_endpoint *ep, struct ftpe_decision *d)
{
	/* loose relaxes the bounce check only, never the passive one. */
	if (!ftpe_is_addr(p, side, ep) &&
	    !(p->loose && side == FTPE_CLIENT && ep->family == p->family)) {
		if (side == FTPE_CLIENT) {
			ftpe_decision_count(d, FTPE_STAT_REFUSED_BOUNCE);
			return FTPE_REASON_BOUNCE;
		}
		ftpe_decision_count(d, FTPE_STAT_REFUSED_THIRD_PARTY);
		return FTPE_REASON_THIRD_PARTY;
	}
	if (ep->port < p->min_port) {
		ftpe_decision_count(d, FTPE_STAT_REFUSED_PORT);
		return FTPE_REASON_LOW_PORT;
	}
	return 0;
}

void ftpe_session_command(const struct ftpe_session *s,
			  const struct ftpe_peers *p, const char *line,
			  unsigned int len, unsigned int lflags,
			  struct ftpe_decision *d)
{
	static const u8 verb_stat[FTPE_VERB_COUNT] = {
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
	enum ftpe_verb verb;
	bool active;

	ftpe_decision_init(s, d);
	verb = ftpe_parse_command(line, len, &d->ep);
	active = verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT;
	/* A cut-off line may have lost digits: never act on its numbers. */
	if (lflags & FTPE_LINE_TRUNCATED) {
		/* Translated, it cannot leave as it is either. */
		if (p->nat && ftpe_line_announces(FTPE_CLIENT, line, len, false)) {
			d->flags |= FTPE_DEC_UNREADABLE;
			return;
		}
		if (active)
			verb = FTPE_VERB_MALFORMED;
		active = false;
	}
	d->mode = verb;
	/* Counted as what it says, refused or not. */
	ftpe_decision_count(d, verb_stat[verb]);
	if (verb == FTPE_VERB_MALFORMED)
		d->flags |= FTPE_DEC_MALFORMED;
	if (active && ftpe_session_private(p, FTPE_CLIENT, &d->ep)) {
		d->flags |= FTPE_DEC_HIDE;
		d->hidden = d->ep;
	}
	if (active) {
		d->refused = ftpe_session_vet(p, FTPE_CLIENT, &d->ep, d);
		if (d->refused)
			verb = FTPE_VERB_REFUSED;
		else if (p->nat)
			d->flags |= FTPE_DEC_ANNOUNCE;
	}
	/* The policy's choice of timing, for the negotiation it starts. */
	d->fsm.strict_active = p->strict_active;
	d->verb = verb;
	d->r = ftpe_fsm_command(&d->fsm, verb, &d->ep);
	d->flags |= FTPE_DEC_STEP;
	if (d->r & FTPE_EV_OVERFLOW)
		d->why = FTPE_STAT_ABORTED_OTHER;
	else if (verb == FTPE_VERB_REFUSED)
		d->why = FTPE_STAT_ABORTED_REFUSED;
	else
		d->why = FTPE_STAT_ABORTED_ABOR_QUIT;
}

/* Replies were lost: which command the next answers is unknown. */
static void ftpe_session_resync(struct ftpe_fsm *f,
				struct ftpe_reply_state *replies)
{
	ftpe_fsm_resync(f);
	replies->ml_code = 0;
}

void ftpe_session_refused(struct ftpe_session *s,
			  const struct ftpe_decision *d)
{
	if (d->flags & FTPE_DEC_RESYNC)
		ftpe_session_resync(&s->fsm, &s->replies);
}

/*
 * The endpoint a 227/229 names, completed with the server's address for a
 * 229; -1 if it does not parse.
 */
static int ftpe_session_passive(const struct ftpe_peers *p, int code,
				const char *line, unsigned int len,
				struct ftpe_endpoint *ep)
{
	if (code == 227 ? ftpe_parse_227(line, len, ep) :
			  ftpe_parse_229(line, len, ep))
		return -1;
	/* EPSV names only a port: the server is the one already talked to. */
	if (code == 229) {
		ep->family = p->family;
		memcpy(ep->addr, p->addr[FTPE_SERVER], sizeof(ep->addr));
	}
	return 0;
}

void ftpe_session_reply(const struct ftpe_session *s,
			const struct ftpe_peers *p, const char *line,
			unsigned int len, unsigned int lflags,
			struct ftpe_decision *d)
{
	const struct ftpe_endpoint *vetted = NULL;
	bool cut = lflags & FTPE_LINE_TRUNCATED;
	struct ftpe_endpoint own;
	int code;

	ftpe_decision_init(s, d);
	if (lflags & FTPE_LINE_AFTER_GAP) {
		ftpe_session_resync(&d->fsm, &d->replies);
		d->flags |= FTPE_DEC_RESYNC;
	}
	code = ftpe_reply_feed(&d->replies, line, len);
	d->code = code;
	/*
	 * Translated: any 227 naming the server's own address leaves
	 * rewritten, whether or not it answers a PASV, even inside a
	 * multi-line reply (nf_nat_ftp rewrites every 227 it reads); one
	 * cut off as overlong does not leave at all.
	 */
	if (p->nat) {
		if (cut) {
			if (ftpe_line_announces(FTPE_SERVER, line, len, false)) {
				d->flags |= FTPE_DEC_UNREADABLE;
				return;
			}
		} else if (!ftpe_parse_227(line, len, &own) &&
			   ftpe_session_private(p, FTPE_SERVER, &own)) {
			d->flags |= FTPE_DEC_HIDE;
			d->hidden = own;
		}
	}
	if (code <= 0) {
		if (code < 0)
			ftpe_decision_malformed(d);
		return;
	}
	d->why = FTPE_STAT_ABORTED_OTHER;
	d->mode = d->fsm.mode;
	if (ftpe_fsm_wants_endpoint(&d->fsm, code)) {
		if (cut || ftpe_session_passive(p, code, line, len, &d->ep)) {
			ftpe_decision_malformed(d);
		} else {
			d->refused = ftpe_session_vet(p, FTPE_SERVER, &d->ep, d);
			if (!d->refused)
				vetted = &d->ep;
		}
		if (!vetted)
			d->why = FTPE_STAT_ABORTED_REFUSED;
		else if (p->nat)
			d->flags |= FTPE_DEC_ANNOUNCE;
	}
	if (code >= 400)
		d->why = FTPE_STAT_ABORTED_NEGATIVE;
	d->r = ftpe_fsm_reply(&d->fsm, code, vetted);
	d->flags |= FTPE_DEC_STEP;
	/* Nobody asked: what it announced is read for the report only. */
	if (d->r & FTPE_EV_UNSOLICITED) {
		d->refused = FTPE_REASON_UNSOLICITED;
		if (ftpe_session_passive(p, code, line, len, &d->ep))
			memset(&d->ep, 0, sizeof(d->ep));
	}
	ftpe_decision_count(d, FTPE_STAT_REPLY_1XX + code / 100 - 1);
}
