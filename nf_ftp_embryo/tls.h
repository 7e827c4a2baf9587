/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One direction of a control connection under TLS (after the 234 to AUTH),
 * followed by its record framing alone, to see where it returns to
 * plaintext: RFC 4217's CCC.  Nothing is decrypted, and nothing could be:
 * TLS 1.3 hides the alert type, so its close_notify is one more type 23
 * record.  What is visible is where the framing ends: at a record
 * boundary, a byte that starts no record.  Pure (compat.h).
 *
 * Each record header is judged whole: content type 20..24, version 3.1 to
 * 3.4 (3.0 too in the direction's first record, the ClientHello's record
 * version RFC 5246 E.1 lets a client set to its lowest, while SSL 3.0
 * itself is forbidden by RFC 7568), length 1 .. 2^14 + 2048 (RFC 5246's
 * bound for a ciphertext; no record is empty: handshakes and alerts may
 * not be, and an encrypted one carries its MAC or tag).  The body is
 * skipped by counting, never read, so a segment costs a few steps per
 * header in it and no more.
 *
 * Plaintext is believed only where a line of its direction starts, judged
 * strictly, as a header is, before anything is said: three or four ASCII
 * letters and a space, CR or LF for a command (RFC 959: "four or fewer
 * alphabetic characters"); a digit 1..5, two digits and a space, '-', CR or
 * LF for a reply.  At most five bytes decide, and a start cut by the end of
 * a segment is held here until they have come, so the line reader can be
 * given the whole of it.  A line start can never be a header's first byte
 * (a control character), so the two cannot be mistaken for each other.
 *
 * Anything else is the framing lost: a header that makes no sense, a byte
 * that starts neither a record nor a line (ciphertext, once a length lied),
 * bytes the caller could not see.  Resynchronising on ciphertext would be
 * guessing from bytes any peer can choose, so a lost direction stays dark
 * for good; so does one that uses TLS to its end.  Plaintext is final too:
 * from there on its bytes are the line reader's.
 *
 * The caller feeds each byte once, in order (the stream's sequence
 * tracking sorts out retransmissions), and says when bytes were lost.
 * Not thread-safe: the caller serialises calls for one direction.
 */
#ifndef _NF_FTP_EMBRYO_TLS_H
#define _NF_FTP_EMBRYO_TLS_H

#include "compat.h"

/* Record content types (RFC 8446 5.1, RFC 6520). */
#define FTPE_TLS_CHANGE_CIPHER_SPEC	20
#define FTPE_TLS_ALERT			21
#define FTPE_TLS_HANDSHAKE		22
#define FTPE_TLS_APPLICATION_DATA	23
#define FTPE_TLS_HEARTBEAT		24

#define FTPE_TLS_HEADER_LEN	5
#define FTPE_TLS_RECORD_MAX	(16384 + 2048)	/* a body, at most */
/* Bytes that decide what starts at a boundary, less the deciding one. */
#define FTPE_TLS_HELD_MAX	4

/* What a direction carries, in the order of enum ftpe_side. */
enum ftpe_tls_lines {
	FTPE_TLS_COMMANDS,	/* the client's */
	FTPE_TLS_REPLIES,	/* the server's */
};

/* Why the framing was lost. */
enum ftpe_tls_why {
	FTPE_TLS_WHY_NONE,
	FTPE_TLS_WHY_GAP,	/* bytes were lost (ftpe_tls_gap()) */
	FTPE_TLS_WHY_VERSION,	/* a header's version is not TLS */
	FTPE_TLS_WHY_LENGTH,	/* a header's length is 0 or too long */
	FTPE_TLS_WHY_START,	/* at a boundary: neither a record nor a line */
};

/* What ftpe_tls_feed() makes of the direction. */
enum ftpe_tls_verdict {
	FTPE_TLS_RECORDS,	/* still TLS, or a start still to be judged */
	FTPE_TLS_PLAINTEXT,	/* final: lines from the reported offset on */
	FTPE_TLS_LOST,		/* final: dark for good */
};

/* 8 bytes, kept with the connection (bit-fields: no typeof() on them). */
struct ftpe_tls {
	u16 left;		/* body bytes of the current record to skip */
	u8 flags;		/* FTPE_TLS_F_* */
	u8 why:3;		/* enum ftpe_tls_why: lost when non-zero */
	u8 n:3;			/* bytes of the start at a boundary judged */
	u8 start[FTPE_TLS_HELD_MAX];	/* and the first of them */
};

#define FTPE_TLS_F_REPLIES	0x01	/* FTPE_TLS_REPLIES */
#define FTPE_TLS_F_SEEN		0x02	/* a whole header was seen */
#define FTPE_TLS_F_PLAINTEXT	0x04	/* the framing ended in a line */

/* What one feed saw. */
struct ftpe_tls_result {
	unsigned int records;	/* record headers completed in it */
	/*
	 * FTPE_TLS_PLAINTEXT: where the plaintext starts in it.  0 also when
	 * it began in an earlier feed: then ftpe_tls_held() has its first
	 * bytes, which come before this feed's.
	 */
	unsigned int off;
	u8 types;		/* 1 << (type - 20) of each record's type */
};

/* Start at the first byte after the 234 (server) or AUTH's line (client). */
void ftpe_tls_init(struct ftpe_tls *t, enum ftpe_tls_lines lines);

/*
 * Take the next @len bytes of the direction.  After FTPE_TLS_PLAINTEXT or
 * FTPE_TLS_LOST the bytes are not looked at and the verdict stands
 * (PLAINTEXT again with offset 0: all of them are lines).
 */
enum ftpe_tls_verdict ftpe_tls_feed(struct ftpe_tls *t, const char *p,
				    unsigned int len,
				    struct ftpe_tls_result *r);

/*
 * Take up to @n of the next bytes without looking at them, as far as they
 * are the current record's body: what the caller need not read (a paged
 * segment is copied to be read).  Returns how many were taken.
 */
static inline unsigned int ftpe_tls_skip(struct ftpe_tls *t, unsigned int n)
{
	if (n > t->left)
		n = t->left;
	t->left -= (u16)n;
	return n;
}

/*
 * Bytes of the direction will never be fed (a hole the stream jumped, no
 * memory): the framing is lost, unless it had ended already.
 */
void ftpe_tls_gap(struct ftpe_tls *t);

/*
 * The bytes held at a boundary.  After FTPE_TLS_PLAINTEXT: the start of
 * the first line, when it came before the feed (the line goes on at its
 * offset 0).  After FTPE_TLS_RECORDS: the bytes the feed ended in that are
 * still to be judged, a line's start or a header's.  None after
 * FTPE_TLS_LOST.  Valid until the next call.
 */
static inline const char *ftpe_tls_held(const struct ftpe_tls *t,
					unsigned int *n)
{
	*n = t->why ? 0 : t->n;
	return (const char *)t->start;
}

/*
 * Give back the last @n held bytes (at most ftpe_tls_held()'s count, all
 * from the last feed): the caller drops the segment that brought them and
 * feeds them again from its resend, as ftpe_stream_unread() does for a
 * line.  Nothing else can be given back.
 */
void ftpe_tls_unread(struct ftpe_tls *t, unsigned int n);

#endif /* _NF_FTP_EMBRYO_TLS_H */
