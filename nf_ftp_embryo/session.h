/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control connection as the helper follows it, a line at a time: parse
 * the line, vet what it announces against the peers and the policy, and
 * step the state machine.  Pure (compat.h): the module, KUnit, the host
 * tests, both fuzzers and the parser benchmark build this one file, so
 * what they test is what runs.
 *
 * Deciding changes nothing.  ftpe_session_command() and
 * ftpe_session_reply() fill a decision from a const session; the caller
 * carries out what it asks for (the pinhole, a NAT rewrite, counting and
 * reporting) and then commits it with ftpe_session_commit().  A line whose
 * kernel side fails is refused (ftpe_session_refused()): the session stays
 * as it was but for a resync after lost replies, and there is nothing to
 * save and restore.
 *
 * A 234 to AUTH (FTPE_EV_TLS in the step) ends both directions' lines:
 * the caller's streams carry TLS records from there (stream.h), its own
 * direction's from the byte after the 234's line (FTPE_LINE_TLS), the
 * client's from the next it sends.  The session sees lines again only
 * where a direction's framing ends in one (RFC 4217's CCC).
 */
#ifndef _NF_FTP_EMBRYO_SESSION_H
#define _NF_FTP_EMBRYO_SESSION_H

#include <linux/nf_ftp_embryo.h>

#include "compat.h"
#include "counters.h"
#include "fsm.h"
#include "parse.h"
#include "stream.h"

/* Who sent a line: the values of enum ip_conntrack_dir. */
enum ftpe_side {
	FTPE_CLIENT,		/* commands, the connection's original direction */
	FTPE_SERVER,		/* replies */
};

struct ftpe_session {
	struct ftpe_fsm fsm;
	struct ftpe_reply_state replies;
};

/* The connection's ends as the helper sees them, and the policy. */
struct ftpe_peers {
	u8 family;		/* FTPE_AF_INET or FTPE_AF_INET6 */
	u8 addr[2][16];		/* [enum ftpe_side], network byte order */
	u16 min_port;
	u8 loose;		/* unsafe: PORT/EPRT may name any host */
	u8 strict_active;	/* active pinholes open at the transfer */
	u8 nat;			/* the connection is translated */
	/*
	 * [side]: that end is known on the other side of the router by
	 * another address, so an endpoint naming its own must not leave as
	 * it was written.
	 */
	u8 hidden[2];
};

/* Decision flags. */
#define FTPE_DEC_UNREADABLE	0x02	/* NAT: cut off, it may announce: refuse */
#define FTPE_DEC_HIDE		0x04	/* NAT: @hidden names its announcer */
#define FTPE_DEC_ANNOUNCE	0x08	/* NAT: register @ep's pinhole first */
#define FTPE_DEC_STEP		0x10	/* the state machine took a step (@r) */
#define FTPE_DEC_RESYNC		0x20	/* a reply after lost ones: resynced */
#define FTPE_DEC_MALFORMED	0x40	/* the line does not parse: report it */

/* Counters a decision asks for, at most. */
#define FTPE_DEC_COUNTS		3

/* What a line asks of the caller, and what it makes of the session. */
struct ftpe_decision {
	struct ftpe_fsm fsm;		/* the machine, once committed */
	struct ftpe_reply_state replies;
	unsigned int r;			/* the step's FTPE_DO_* and FTPE_EV_* */
	/*
	 * What the line announces, vetted or not: set for a well-formed
	 * PORT/EPRT, a refusal (family 0 if unreadable) and
	 * FTPE_DEC_ANNOUNCE only.
	 */
	struct ftpe_endpoint ep;
	struct ftpe_endpoint hidden;	/* FTPE_DEC_HIDE: the private endpoint */
	u8 flags;			/* FTPE_DEC_* */
	u8 verb;			/* commands: enum ftpe_verb as stepped */
	u8 mode;			/* the endpoint's: PORT, EPRT, PASV, EPSV */
	u8 refused;			/* enum ftpe_reason to report, or 0 */
	u8 why;				/* enum ftpe_stat: cause, if r ends it early */
	u8 ncounts;
	u8 counts[FTPE_DEC_COUNTS];	/* enum ftpe_stat, once committed */
	int code;			/* replies: as ftpe_reply_feed() */
};

void ftpe_session_init(struct ftpe_session *s);

/* Decide on a client line (FTPE_LINE_* @lflags from the stream). */
void ftpe_session_command(const struct ftpe_session *s,
			  const struct ftpe_peers *p, const char *line,
			  unsigned int len, unsigned int lflags,
			  struct ftpe_decision *d);

/* Decide on a server line. */
void ftpe_session_reply(const struct ftpe_session *s,
			const struct ftpe_peers *p, const char *line,
			unsigned int len, unsigned int lflags,
			struct ftpe_decision *d);

/* The caller carried the decision out: the session takes it. */
static inline void ftpe_session_commit(struct ftpe_session *s,
				       const struct ftpe_decision *d)
{
	if (d->flags & FTPE_DEC_UNREADABLE)
		return;
	s->fsm = d->fsm;
	s->replies = d->replies;
}

/*
 * The caller could not carry @d out: the line is refused, to be read
 * again from the resend.  What must stand anyway does: a resync after lost
 * replies (the resend no longer follows the gap, and commands sent
 * meanwhile must not be thrown away by a resync then).
 */
void ftpe_session_refused(struct ftpe_session *s,
			  const struct ftpe_decision *d);

/*
 * Could a line from @side whose first @n bytes are at @p announce an
 * endpoint NAT must rewrite: PORT or EPRT from the client, 227 from the
 * server?  @cut: the line goes on beyond @n, so a start of the verb counts.
 */
bool ftpe_line_announces(enum ftpe_side side, const char *p, unsigned int n,
			 bool cut);

/*
 * Does @ep, announced by @side, name that end's own address where the
 * other side of the router knows it by another?  Then it must not leave
 * as it was written, whatever becomes of the line.
 */
bool ftpe_session_private(const struct ftpe_peers *p, enum ftpe_side side,
			  const struct ftpe_endpoint *ep);

#endif /* _NF_FTP_EMBRYO_SESSION_H */
