// SPDX-License-Identifier: GPL-2.0
/*
 * Sequence tracking and line reassembly for one direction of the control
 * connection.  See stream.h.
 *
 * Bytes are read in windows of at most FTPE_WINDOW (a longest line and its
 * "\r\n") that always start at a line boundary, so a line wholly inside a
 * segment is handed on in place (or from a small stack copy when the segment
 * is paged) and only a line cut by the end of a segment is copied into the
 * stream's own buffer.
 */
#include "stream.h"

/* A window filled without a '\n': pass the start on, skip the rest. */
static enum ftpe_line_next ftpe_overlong(struct ftpe_stream *s,
					 ftpe_line_fn fn, void *ctx,
					 const char *p, unsigned int *ev)
{
	*ev |= FTPE_STREAM_EV_OVERLONG;
	s->flags |= FTPE_STREAM_SKIPPING;
	return fn(ctx, p, FTPE_LINE_MAX,
		  ftpe_after_gap(s) | FTPE_LINE_TRUNCATED);
}

void ftpe_stream_reset(struct ftpe_stream *s)
{
	ftpe_free(s->partial);
	s->partial = NULL;
	s->held = 0;
}

/*
 * Complete a line held from an earlier segment with the bytes at @off.
 * Returns how many bytes it consumed, and in @next what the callback
 * wants.  The bytes are read straight into the held buffer: no second
 * window on the softirq stack.
 */
static unsigned int ftpe_finish_held(struct ftpe_stream *s, const void *src,
				     unsigned int off, unsigned int avail,
				     ftpe_read_fn read, ftpe_line_fn line,
				     void *ctx, unsigned int *ev,
				     enum ftpe_line_next *next)
{
	unsigned int n = FTPE_WINDOW - s->held;
	char *dst = s->partial + s->held;
	const char *p, *nl;

	if (n > avail)
		n = avail;
	p = read(src, off, n, dst);
	if (!p)
		return avail;
	nl = ftpe_find_nl(p, n);
	if (nl)
		n = nl - p + 1;
	if (p != dst)
		memcpy(dst, p, n);
	s->held += n;

	if (nl) {
		*ev |= FTPE_STREAM_EV_SPLIT;
		*next = ftpe_emit(s, line, ctx, s->partial, s->held - 1, ev);
	} else if (s->held == FTPE_WINDOW) {
		*next = ftpe_overlong(s, line, ctx, s->partial, ev);
	} else {
		return n;
	}
	/* A refused line keeps its start for the resent segment. */
	if (*next != FTPE_LINE_STOP)
		ftpe_stream_reset(s);
	return n;
}

void ftpe_stream_start_tls(struct ftpe_stream *s, enum ftpe_tls_lines lines)
{
	ftpe_stream_reset(s);
	s->flags &= ~(FTPE_STREAM_SKIPPING | FTPE_STREAM_JUMPED);
	s->flags |= FTPE_STREAM_TLS;
	s->nknown = 0;
	ftpe_tls_init(&s->tls, lines);
	if (!(s->flags & FTPE_STREAM_SYNCED))
		ftpe_tls_gap(&s->tls);
}

/*
 * The bytes at @off .. @end of a TLS direction go to the framing tracker.
 * Returns where lines start again, or @end.  A line start the tracker
 * held from earlier segments becomes the held line.
 */
static unsigned int ftpe_records(struct ftpe_stream *s, const void *src,
				 unsigned int off, unsigned int end,
				 ftpe_read_fn read, char *buf, unsigned int *ev)
{
	struct ftpe_tls_result r;
	unsigned int n, nheld;
	const char *p, *held;

	while (off < end) {
		/* Bodies are counted, never read: a few steps per header. */
		off += ftpe_tls_skip(&s->tls, end - off);
		if (off == end)
			break;
		n = end - off;
		if (n > FTPE_WINDOW)
			n = FTPE_WINDOW;
		p = read(src, off, n, buf);
		if (!p) {
			ftpe_tls_gap(&s->tls);
			*ev |= FTPE_STREAM_EV_TLS_LOST;
			return end;
		}
		switch (ftpe_tls_feed(&s->tls, p, n, &r)) {
		case FTPE_TLS_RECORDS:
			off += n;
			continue;
		case FTPE_TLS_LOST:
			*ev |= FTPE_STREAM_EV_TLS_LOST;
			return end;
		case FTPE_TLS_PLAINTEXT:
			break;
		}
		/*
		 * CCC ends a TLS session that began: lines where no record
		 * came are a peer ignoring its own 234, read as nothing.
		 */
		if (!(s->tls.flags & FTPE_TLS_F_SEEN)) {
			/* Lost, as a tracker that has not ended can be. */
			ftpe_tls_init(&s->tls, FTPE_TLS_COMMANDS);
			ftpe_tls_gap(&s->tls);
			*ev |= FTPE_STREAM_EV_TLS_LOST;
			return end;
		}
		held = ftpe_tls_held(&s->tls, &nheld);
		if (!r.off && nheld) {
			s->partial = ftpe_alloc(FTPE_WINDOW);
			if (s->partial) {
				memcpy(s->partial, held, nheld);
				s->held = (u16)nheld;
			} else {
				/* Its start is gone: read from the next line. */
				*ev |= FTPE_STREAM_EV_NOMEM;
				s->flags |= FTPE_STREAM_SKIPPING;
			}
		}
		s->flags &= ~FTPE_STREAM_TLS;
		s->nknown = 0;
		*ev |= FTPE_STREAM_EV_PLAIN;
		return off + r.off;
	}
	return end;
}

const char *ftpe_stream_tls_line(const struct ftpe_stream *s,
				 unsigned int *n)
{
	const char *p;

	*n = 0;
	if (!(s->flags & FTPE_STREAM_TLS))
		return NULL;
	p = ftpe_tls_held(&s->tls, n);
	/* A header's first byte is a control character, a line's never. */
	if (*n && (u8)p[0] < ' ')
		*n = 0;
	return p;
}

void ftpe_stream_tls_cut(struct ftpe_stream *s, u32 from)
{
	unsigned int n, mine = s->next_seq - from;

	ftpe_tls_held(&s->tls, &n);
	if (n > mine)
		n = mine;
	ftpe_tls_unread(&s->tls, n);
	s->next_seq -= n;
}

void ftpe_stream_unread(struct ftpe_stream *s, u32 from)
{
	if (s->held && (s32)(s->line_seq - from) < 0) {
		/* Begun in an earlier segment: its start stays held. */
		s->held = (u16)(from - s->line_seq);
		s->next_seq = from;
	} else {
		ftpe_stream_reset(s);
		s->next_seq = s->line_seq;
	}
	s->flags &= ~FTPE_STREAM_SKIPPING;
}

/* Sequence numbers wrap: compare them as distances, never as values. */
static bool ftpe_seq_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

static bool ftpe_seq_after(u32 a, u32 b)
{
	return ftpe_seq_before(b, a);
}

/* Forget the known line starts that next_seq has reached or passed. */
static void ftpe_known_prune(struct ftpe_stream *s)
{
	unsigned int i, n = 0;

	for (i = 0; i < s->nknown; i++)
		if (ftpe_seq_after(s->known_seq[i], s->next_seq))
			s->known_seq[n++] = s->known_seq[i];
	s->nknown = n;
}

static bool ftpe_known_has(const struct ftpe_stream *s, u32 seq)
{
	unsigned int i;

	for (i = 0; i < s->nknown; i++)
		if (s->known_seq[i] == seq)
			return true;
	return false;
}

/*
 * A segment beyond the hole that ends in '\n' ends where a line starts:
 * remember that, dropping the oldest such start when all are in use, so
 * that stale or forged ones cannot keep out the newest.
 */
static void ftpe_known_note(struct ftpe_stream *s, u32 seq, const void *src,
			    unsigned int off, unsigned int len,
			    ftpe_read_fn read)
{
	u32 end = seq + len;
	const char *p;
	char c;

	p = read(src, off + len - 1, 1, &c);
	if (!p || *p != '\n' || !ftpe_seq_after(end, s->next_seq) ||
	    ftpe_known_has(s, end))
		return;
	if (s->nknown == FTPE_KNOWN_STARTS) {
		memmove(s->known_seq, s->known_seq + 1,
			sizeof(s->known_seq) - sizeof(s->known_seq[0]));
		s->nknown--;
	}
	s->known_seq[s->nknown++] = end;
}

unsigned int __ftpe_stream_feed(struct ftpe_stream *s, u32 seq,
				const void *src, unsigned int off,
				unsigned int len, ftpe_read_fn read,
				ftpe_line_fn line, void *ctx)
{
	/*
	 * Filled by @read before each use; left as it is rather than zeroed
	 * on each call (CONFIG_INIT_STACK_ALL_ZERO), once per segment.
	 */
	char buf[FTPE_WINDOW] __uninitialized;
	enum ftpe_line_next next = FTPE_LINE_NEXT;
	unsigned int ev = 0, end, n;
	const char *p, *nl;
	u32 seen, first;

	if (!len || ftpe_stream_dark(s))
		return 0;
	if (!(s->flags & FTPE_STREAM_SYNCED)) {
		s->next_seq = seq;
		s->flags |= FTPE_STREAM_SYNCED;
	}

	/*
	 * Beyond a hole, read only from a line start seen to end a segment:
	 * anywhere else would mean guessing where a line starts, from bytes
	 * anybody in the window may have forged.  Waiting for the hole to
	 * be filled is no answer either, as the bytes after it may never
	 * pass again (the receiver has them already).  Jumping loses the
	 * held line and whatever lay in the hole.
	 */
	if (ftpe_seq_after(seq, s->next_seq)) {
		/* Records cannot be picked up midway (tls.h). */
		if (s->flags & FTPE_STREAM_TLS) {
			ftpe_tls_gap(&s->tls);
			return FTPE_STREAM_EV_GAP | FTPE_STREAM_EV_TLS_LOST;
		}
		if (!ftpe_known_has(s, seq)) {
			ftpe_known_note(s, seq, src, off, len, read);
			return FTPE_STREAM_EV_GAP;
		}
		ev |= FTPE_STREAM_EV_GAP;
		ftpe_stream_reset(s);
		s->flags &= ~FTPE_STREAM_SKIPPING;
		s->flags |= FTPE_STREAM_JUMPED;
		s->next_seq = seq;
	}

	seen = s->next_seq - seq;
	if (seen) {
		/* Already consumed: only what lies from next_seq on is new. */
		ev |= FTPE_STREAM_EV_RETRANS;
		if (seen >= len)
			return ev;
		off += seen;
		len -= seen;
		seq = s->next_seq;
	}
	first = seq;
	s->next_seq = seq + len;
	ftpe_known_prune(s);
	end = off + len;
	/* From here on, the byte at @off has sequence number seq + off. */
	seq -= off;

again:
	if (s->flags & FTPE_STREAM_TLS) {
		off = ftpe_records(s, src, off, end, read, buf, &ev);
		/* Only lines are given back, never records. */
		first = seq + off;
	}
	if (s->held) {
		s->line_seq = seq + off - s->held;
		off += ftpe_finish_held(s, src, off, end - off, read, line, ctx,
					&ev, &next);
		if (next == FTPE_LINE_STOP)
			goto stop;
		if (next == FTPE_LINE_TLS)
			goto tls;
	}

	while (off < end) {
		s->line_seq = seq + off;
		n = end - off;
		if (n > FTPE_WINDOW)
			n = FTPE_WINDOW;
		p = read(src, off, n, buf);
		if (!p)
			break;
		nl = ftpe_find_nl(p, n);

		if (s->flags & FTPE_STREAM_SKIPPING) {
			if (nl) {
				s->flags &= ~FTPE_STREAM_SKIPPING;
				n = nl - p + 1;
			}
			off += n;
			continue;
		}
		if (nl) {
			next = ftpe_emit(s, line, ctx, p, nl - p, &ev);
			if (next == FTPE_LINE_STOP)
				goto stop;
			off += nl - p + 1;
			if (next == FTPE_LINE_TLS)
				goto tls;
			continue;
		}
		if (n == FTPE_WINDOW) {
			if (ftpe_overlong(s, line, ctx, p, &ev) == FTPE_LINE_STOP)
				goto stop;
			off += n;
			continue;
		}
		/* The segment ends inside a line: keep it for the next one. */
		s->partial = ftpe_alloc(FTPE_WINDOW);
		if (!s->partial) {
			ev |= FTPE_STREAM_EV_NOMEM;
			s->flags |= FTPE_STREAM_SKIPPING;
			break;
		}
		memcpy(s->partial, p, n);
		s->held = (u16)n;
		break;
	}
	return ev;

tls:
	/* Only a reply, the 234 to AUTH, ends its own direction's lines. */
	ftpe_stream_start_tls(s, FTPE_TLS_REPLIES);
	goto again;

stop:
	ftpe_stream_unread(s, first);
	return ev | FTPE_STREAM_EV_STOPPED;
}
