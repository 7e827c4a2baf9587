/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One direction of the control connection as a byte stream: TCP sequence
 * tracking and reassembly of lines that span segments.
 *
 * Bytes are consumed exactly once, in sequence order, and only from the
 * next expected byte on, which is always a line start or the continuation
 * of the held line.  A segment that only repeats consumed bytes is ignored,
 * so a retransmission can neither advance the state machine twice nor swap
 * in different text; one that also carries new bytes contributes only
 * those.
 *
 * A segment that starts beyond the next expected byte (an earlier one lost
 * or reordered) is read only if it starts where an earlier segment, also
 * beyond the hole, ended in '\n': that is known to be a line start, and the
 * stream jumps there, losing what lies between.  It cannot wait for the
 * hole to be filled and the bytes after it resent: a receiver that keeps
 * out-of-order data (SACK) is never sent them again.  Any other segment
 * beyond the hole is not read and moves nothing, but if it ends in '\n' its
 * end is remembered as such a line start (the last FTPE_KNOWN_STARTS of
 * them).  So one line lost ahead of this box costs at most the lines of the
 * segments that passed while the hole was open, as with nf_conntrack_ftp.
 * The first line read after a jump says so (FTPE_LINE_AFTER_GAP).
 * A blind segment in the window is never read itself; it can move the
 * stream only if a later segment starts exactly where it ended, the same
 * exposure nf_conntrack_ftp has with its recorded after-newline sequence
 * numbers.  Conntrack's TCP window check bounds where either may lie.
 *
 * A line callback that cannot take its line now (its caller is going to
 * drop the segment, so that the sender's retransmission is read afresh)
 * returns FTPE_LINE_STOP.  Reading stops there, and
 * the stream is left as if nothing from the start of that line on had been
 * read: ftpe_stream_feed() returns FTPE_STREAM_EV_STOPPED.  A line begun in
 * an earlier segment keeps the start held from there, since only this
 * segment's bytes come again.  The lines before it stay read.
 *
 * A line still open at the end of a segment is kept in a buffer allocated
 * only then and freed once the line completes, so a stream holds no buffer
 * unless a line is actually split.
 *
 * A stream not yet FTPE_STREAM_SYNCED takes the first segment it is given
 * to start a line.  The helper is attached as the conntrack is created, so
 * that is the first byte of the direction, unless the first segments of a
 * direction arrive reordered or the module picks the connection up midway
 * (its flow row could not be made at first); the stream cannot tell.
 *
 * After a 234 to AUTH TLS the direction carries TLS records instead of
 * lines (FTPE_STREAM_TLS): its bytes go to the record framing tracker
 * (tls.h) in the same sequence order, and only where the framing ends in
 * a line (RFC 4217's CCC) are lines read again, from that byte on.  A
 * hole in a TLS direction loses the framing: it is never guessed again,
 * and the direction stays dark at no cost per segment.
 *
 * Not thread-safe: the caller serialises calls for one stream.
 */
#ifndef _NF_FTP_EMBRYO_STREAM_H
#define _NF_FTP_EMBRYO_STREAM_H

#include "compat.h"
#include "tls.h"

/* Longest line kept whole; longer lines are passed on truncated, once. */
#define FTPE_LINE_MAX	256

/*
 * Line starts remembered beyond a hole.  Two cover a segment lost before
 * this box while the next one or two pass, and keep the per-flow cost at
 * 8 bytes; a third segment in the hole only means one more line is lost.
 */
#define FTPE_KNOWN_STARTS	2

struct ftpe_stream {
	u32 next_seq;		/* sequence number of the next unread byte */
	u32 line_seq;		/* of the first byte of the line handed on */
	union {
		u32 known_seq[FTPE_KNOWN_STARTS]; /* line starts beyond a hole */
		struct ftpe_tls tls;	/* FTPE_STREAM_TLS: the records */
	};
	u16 held;		/* bytes of an unfinished line in @partial */
	u8 flags;		/* FTPE_STREAM_* */
	u8 nknown;		/* of known_seq in use, oldest first */
	char *partial;		/* a line and its CRLF, while split */
};

#define FTPE_STREAM_SYNCED	0x01	/* next_seq is valid */
#define FTPE_STREAM_SKIPPING	0x02	/* discarding up to the next '\n' */
#define FTPE_STREAM_JUMPED	0x04	/* jumped a hole; no line since */
#define FTPE_STREAM_TLS		0x08	/* TLS records, not lines */

/* Flags passed with each line. */
#define FTPE_LINE_TRUNCATED	0x01	/* longer than FTPE_LINE_MAX */
#define FTPE_LINE_BARE_LF	0x02	/* ended in "\n" without "\r" */
/*
 * The first line after the stream jumped a hole: lines were lost before
 * it, so whatever pairs lines up across the two directions (replies with
 * their commands) cannot be trusted any more.
 */
#define FTPE_LINE_AFTER_GAP	0x04

/* Events reported by ftpe_stream_feed(), for statistics. */
#define FTPE_STREAM_EV_RETRANS	0x01	/* some bytes were seen before */
#define FTPE_STREAM_EV_GAP	0x02	/* beyond a hole: skipped or resync */
#define FTPE_STREAM_EV_OVERLONG	0x04	/* a line exceeded FTPE_LINE_MAX */
#define FTPE_STREAM_EV_NOMEM	0x08	/* split line lost: no memory */
#define FTPE_STREAM_EV_SPLIT	0x10	/* a line was joined across segments */
#define FTPE_STREAM_EV_STOPPED	0x20	/* a line callback stopped reading */
#define FTPE_STREAM_EV_PLAIN	0x40	/* TLS ended in a line: lines again */
#define FTPE_STREAM_EV_TLS_LOST	0x80	/* TLS framing lost: dark for good */

/*
 * Copy @len bytes at @off of @src into @buf, or return a pointer to them
 * directly when they are contiguous (skb_header_pointer() semantics).
 */
typedef const char *(*ftpe_read_fn)(const void *src, unsigned int off,
				    unsigned int len, char *buf);

/* What a line callback wants of the stream. */
enum ftpe_line_next {
	FTPE_LINE_NEXT,		/* the line is taken: read on */
	FTPE_LINE_STOP,		/* unread it and stop (see above) */
	FTPE_LINE_TLS,		/* the line (a 234) is taken: TLS records follow */
};

/* Called for each complete line, without its terminator. */
typedef enum ftpe_line_next (*ftpe_line_fn)(void *ctx, const char *line,
					    unsigned int len,
					    unsigned int line_flags);

/* A longest line and its "\r\n": how much is read at a time. */
#define FTPE_WINDOW	(FTPE_LINE_MAX + 2)

/* Every segment but the common one (ftpe_stream_feed()). */
unsigned int __ftpe_stream_feed(struct ftpe_stream *s, u32 seq,
				const void *src, unsigned int off,
				unsigned int len, ftpe_read_fn read,
				ftpe_line_fn line, void *ctx);

/* Forget any unfinished line and free its buffer. */
void ftpe_stream_reset(struct ftpe_stream *s);

/*
 * TLS records follow what the stream has read (the other direction's
 * 234; a line callback returns FTPE_LINE_TLS for its own): an unfinished
 * line is dropped.  A stream that has read nothing cannot tell where its
 * records start: it is dark at once.
 */
void ftpe_stream_start_tls(struct ftpe_stream *s, enum ftpe_tls_lines lines);

/* Is the direction dark for good (TLS, its framing lost)? */
static inline bool ftpe_stream_dark(const struct ftpe_stream *s)
{
	return (s->flags & FTPE_STREAM_TLS) && s->tls.why;
}

/*
 * The start of a line that the last segment of a TLS direction ended in,
 * still to be judged by the tracker (@n bytes, 0: none; a record header's
 * first bytes are not one).
 */
const char *ftpe_stream_tls_line(const struct ftpe_stream *s,
				 unsigned int *n);

/*
 * Translated, that start may begin an endpoint, which would leave
 * unrewritten if it were let through: give back what of it the last
 * segment (its new bytes from @from) brought, and the caller drops the
 * segment, to read the line whole from the resend.
 */
void ftpe_stream_tls_cut(struct ftpe_stream *s, u32 from);

/*
 * Would a segment starting at @seq lie beyond a hole?  (It would not be
 * read, and its caller may want to drop it instead.)
 */
static inline bool ftpe_stream_beyond(const struct ftpe_stream *s, u32 seq)
{
	return (s->flags & FTPE_STREAM_SYNCED) && (s32)(seq - s->next_seq) > 0;
}

/* The first byte a segment starting at @seq (not beyond a hole) adds. */
static inline u32 ftpe_stream_first(const struct ftpe_stream *s, u32 seq)
{
	return (s->flags & FTPE_STREAM_SYNCED) &&
	       (s32)(seq - s->next_seq) < 0 ? s->next_seq : seq;
}

/*
 * Unread the line still open after the segment whose first new byte was
 * @from (see ftpe_stream_first()), as FTPE_LINE_STOP does for a whole
 * line.  The line's start, s->partial[0 .. s->held), may be inspected
 * before.  After FTPE_STREAM_EV_NOMEM it unreads the line that could not
 * be held, rather than skip the rest of it.
 */
void ftpe_stream_unread(struct ftpe_stream *s, u32 from);

/*
 * memchr(p, '\n', n), a word at a time: the kernel's memchr() reads a
 * byte at a time, and every byte of the control connection passes here.
 * A word is tested for a '\n' byte with the has-zero-byte trick on the
 * word XORed with "\n\n\n\n\n\n\n\n", which is exact about whether
 * there is one and, little-endian, about where the first one is; a
 * big-endian word is searched a byte at a time.
 */
static inline const char *ftpe_find_nl(const char *p, unsigned int n)
{
	const u64 ones = 0x0101010101010101ULL;
	const char *end = p + n;
	u64 v;

	for (; end - p >= 8; p += 8) {
		memcpy(&v, p, sizeof(v));
		v ^= ones * '\n';
		v = (v - ones) & ~v & (ones << 7);
		if (!v)
			continue;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* Only bytes above the first '\n' can be flagged wrongly. */
		return p + (__builtin_ctzll(v) >> 3);
#else
		break;
#endif
	}
	for (; p < end; p++)
		if (*p == '\n')
			return p;
	return NULL;
}

/* FTPE_LINE_AFTER_GAP for the first line after a jump, once. */
static inline unsigned int ftpe_after_gap(struct ftpe_stream *s)
{
	if (!(s->flags & FTPE_STREAM_JUMPED))
		return 0;
	s->flags &= ~FTPE_STREAM_JUMPED;
	return FTPE_LINE_AFTER_GAP;
}

/* Hand on a line of @n bytes that ended in '\n' (not included). */
static __always_inline enum ftpe_line_next
ftpe_emit(struct ftpe_stream *s, ftpe_line_fn fn, void *ctx, const char *p,
	  unsigned int n, unsigned int *ev)
{
	unsigned int flags = 0;

	if (n && p[n - 1] == '\r')
		n--;
	else
		flags |= FTPE_LINE_BARE_LF;
	if (n > FTPE_LINE_MAX) {
		*ev |= FTPE_STREAM_EV_OVERLONG;
		n = FTPE_LINE_MAX;
		flags = FTPE_LINE_TRUNCATED;
	}
	return fn(ctx, p, n, flags | ftpe_after_gap(s));
}

/*
 * Consume one segment: @len payload bytes starting at sequence number @seq,
 * readable through @read at offsets @off .. @off + @len - 1 of @src.
 * Returns a mask of FTPE_STREAM_EV_*.
 *
 * The common segment (in order, nothing held, skipped or jumped, one whole
 * line) is read here, inline, so that the caller's @read and @line are
 * direct calls; it is read as __ftpe_stream_feed() would read it.
 */
static __always_inline unsigned int
ftpe_stream_feed(struct ftpe_stream *s, u32 seq, const void *src,
		 unsigned int off, unsigned int len, ftpe_read_fn read,
		 ftpe_line_fn line, void *ctx)
{
	char buf[FTPE_WINDOW] __uninitialized;
	enum ftpe_line_next next;
	unsigned int ev = 0;
	const char *p;

	if (seq != s->next_seq || s->flags != FTPE_STREAM_SYNCED ||
	    s->held || s->nknown || !len || len > FTPE_WINDOW)
		goto slow;
	p = read(src, off, len, buf);
	if (!p || p[len - 1] != '\n' || ftpe_find_nl(p, len - 1))
		goto slow;
	s->line_seq = seq;
	s->next_seq = seq + len;
	next = ftpe_emit(s, line, ctx, p, len - 1, &ev);
	if (next == FTPE_LINE_TLS)
		ftpe_stream_start_tls(s, FTPE_TLS_REPLIES);
	if (next != FTPE_LINE_STOP)
		return ev;
	ftpe_stream_unread(s, seq);
	return ev | FTPE_STREAM_EV_STOPPED;
slow:
	return __ftpe_stream_feed(s, seq, src, off, len, read, line, ctx);
}

#endif /* _NF_FTP_EMBRYO_STREAM_H */
