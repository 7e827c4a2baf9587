/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FTP control-channel line grammar (RFC 959, RFC 2428).
 *
 * Every function takes one line without its terminator ("\r\n" or "\n") and
 * never reads past @len.  Nothing here allocates or keeps state between
 * calls except struct ftpe_reply_state, which the caller owns.
 */
#ifndef _NF_FTP_EMBRYO_PARSE_H
#define _NF_FTP_EMBRYO_PARSE_H

#include "compat.h"

/* What a client command means to the data-connection state machine. */
enum ftpe_verb {
	FTPE_VERB_OTHER,	/* any command that opens no data connection */
	FTPE_VERB_PORT,
	FTPE_VERB_EPRT,
	FTPE_VERB_PASV,
	FTPE_VERB_EPSV,
	FTPE_VERB_XFER,		/* RETR STOR STOU APPE LIST NLST MLSD */
	FTPE_VERB_ABOR,
	FTPE_VERB_QUIT,
	FTPE_VERB_AUTH,		/* AUTH TLS/SSL: a 234 ends readability */
	FTPE_VERB_MALFORMED,	/* PORT/EPRT/EPSV whose arguments do not parse */
	FTPE_VERB_REFUSED,	/* well-formed but not allowed (set by caller) */
	FTPE_VERB_COUNT
};

#define FTPE_AF_INET	4
#define FTPE_AF_INET6	6

/* A data-connection endpoint as announced on the control channel. */
struct ftpe_endpoint {
	u8 family;		/* FTPE_AF_INET, FTPE_AF_INET6, or 0: none given */
	u8 addr[16];		/* network byte order; IPv4 uses addr[0..3] */
	u16 port;		/* host byte order, 1..65535 when valid */
	u16 at;			/* where the endpoint is written in the line */
	u16 span;		/* and how many bytes (for NAT rewriting) */
};

/*
 * Classify a client command.  For PORT and EPRT the announced endpoint is
 * stored in @ep, its text being @ep->span bytes at @ep->at (PORT: the six
 * numbers; EPRT: the argument from its first delimiter to its last); a
 * missing or out-of-range field, trailing garbage or an unknown EPRT family
 * gives FTPE_VERB_MALFORMED, and so does a line that
 * starts like a reply ("227 ..."): clients send none.  "EPSV ALL" and
 * "EPSV <n>" are still FTPE_VERB_EPSV.  Verbs are case-insensitive.
 */
enum ftpe_verb ftpe_parse_command(const char *line, unsigned int len,
				  struct ftpe_endpoint *ep);

/* Multi-line reply tracking for one server->client stream. */
struct ftpe_reply_state {
	u16 ml_code;		/* code of an open "NNN-" reply, 0 if none */
};

/*
 * Feed one server line.  Returns the reply code (100..599) when this line
 * completes a reply: a single-line reply "NNN text" / "NNN", or the closing
 * "NNN " line of a multi-line reply opened by "NNN-".  Returns 0 for a line
 * inside a multi-line reply (its text is never interpreted, so a "227 ..."
 * there cannot count) and -1 for a line that is not a reply at all.
 */
int ftpe_reply_feed(struct ftpe_reply_state *st, const char *line,
		    unsigned int len);

/*
 * Extract the endpoint of a "227 ... h1,h2,h3,h4,p1,p2 ..." reply line (the
 * numbers may be wrapped in parentheses or not, with any text around them).
 * Returns 0 and fills @ep (family FTPE_AF_INET), or -1 when malformed.
 */
int ftpe_parse_227(const char *line, unsigned int len,
		   struct ftpe_endpoint *ep);

/*
 * Extract the port of a "229 ... (<d><d><d>port<d>)" reply line; @ep gets the
 * port and family 0 (EPSV never names an address).  Returns 0 or -1.
 */
int ftpe_parse_229(const char *line, unsigned int len,
		   struct ftpe_endpoint *ep);

#endif /* _NF_FTP_EMBRYO_PARSE_H */
