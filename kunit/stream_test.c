// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for line reassembly on one direction of the control connection
 * (nf_ftp_embryo/stream.h).
 *
 * The code under test is compiled into this file so that the test module
 * links no object of the main module.  Each segment is handed over in a
 * buffer of exactly its size (plus a few header bytes in front when @off is
 * exercised), so KASAN reports reads outside the segment.
 *
 * The header does not say how a stream that is not yet FTPE_STREAM_SYNCED
 * adopts its first segment, so every test starts from a synced stream:
 * next_seq set, flags FTPE_STREAM_SYNCED, no partial line.
 */
#include <kunit/test.h>

#include "../nf_ftp_embryo/stream.c"

#define STEST_MAX_LINES	8
#define STEST_SEQ	1000u

struct stest_line {
	unsigned int len;
	unsigned int flags;
	char text[FTPE_LINE_MAX];
};

struct stest_ctx {
	struct ftpe_stream s;
	ftpe_read_fn read;
	unsigned int off;		/* header bytes before the payload */
	unsigned int n;			/* lines delivered */
	const char *stop;		/* refuse the next line starting so */
	const char *tls;		/* TLS records follow the line so */
	struct stest_line line[STEST_MAX_LINES];
};

struct stest_want {
	const char *text;
	unsigned int flags;
};

/* skb_header_pointer() on a linear skb: no copy. */
static const char *stest_flat_read(const void *src, unsigned int off,
				   unsigned int len, char *buf)
{
	return (const char *)src + off;
}

/* skb_header_pointer() on a paged skb: always copies into @buf. */
static const char *stest_copy_read(const void *src, unsigned int off,
				   unsigned int len, char *buf)
{
	memcpy(buf, (const char *)src + off, len);
	return buf;
}

static enum ftpe_line_next stest_line_cb(void *ctx, const char *line,
					 unsigned int len, unsigned int flags)
{
	struct stest_ctx *c = ctx;
	struct stest_line *l;

	if (c->n < STEST_MAX_LINES) {
		l = &c->line[c->n];
		l->len = len;
		l->flags = flags;
		memcpy(l->text, line, min_t(unsigned int, len, FTPE_LINE_MAX));
	}
	c->n++;
	if (c->stop && len >= strlen(c->stop) &&
	    !memcmp(line, c->stop, strlen(c->stop))) {
		c->stop = NULL;
		return FTPE_LINE_STOP;
	}
	if (c->tls && len >= strlen(c->tls) &&
	    !memcmp(line, c->tls, strlen(c->tls)))
		return FTPE_LINE_TLS;
	return FTPE_LINE_NEXT;
}

static int stest_init(struct kunit *test)
{
	struct stest_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	c->read = stest_flat_read;
	test->priv = c;
	return 0;
}

static void stest_exit(struct kunit *test)
{
	struct stest_ctx *c = test->priv;

	if (c)
		ftpe_stream_reset(&c->s);
}

/* A synced stream expecting @seq next, nothing delivered yet. */
static void stest_start(struct stest_ctx *c, u32 seq)
{
	ftpe_stream_reset(&c->s);
	memset(&c->s, 0, sizeof(c->s));
	c->s.next_seq = seq;
	c->s.flags = FTPE_STREAM_SYNCED;
	c->n = 0;
	c->stop = NULL;
	c->tls = NULL;
}

static unsigned int stest_feed(struct kunit *test, struct stest_ctx *c,
			       u32 seq, const char *data, unsigned int len)
{
	unsigned int size = c->off + len;
	unsigned int ev;
	char *buf;

	buf = kmalloc(size ? size : 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, '\n', c->off);
	memcpy(buf + c->off, data, len);
	ev = ftpe_stream_feed(&c->s, seq, buf, c->off, len, c->read,
			      stest_line_cb, c);
	kfree(buf);
	return ev;
}

static unsigned int stest_feed_str(struct kunit *test, struct stest_ctx *c,
				   u32 seq, const char *data)
{
	return stest_feed(test, c, seq, data, strlen(data));
}

/* NULL when the delivered lines are exactly @w[0..@nw - 1]. */
static const char *stest_diff(const struct stest_ctx *c,
			      const struct stest_want *w, unsigned int nw)
{
	const struct stest_line *l;
	unsigned int i;

	if (c->n != nw)
		return "wrong number of lines";
	for (i = 0; i < nw && i < STEST_MAX_LINES; i++) {
		l = &c->line[i];
		if (l->len != strlen(w[i].text))
			return "wrong line length";
		if (memcmp(l->text, w[i].text, l->len))
			return "wrong line text";
		if (l->flags != w[i].flags)
			return "wrong line flags";
	}
	return NULL;
}

static void stest_dump(struct kunit *test, const struct stest_ctx *c)
{
	const struct stest_line *l;
	unsigned int i;

	for (i = 0; i < c->n && i < STEST_MAX_LINES; i++) {
		l = &c->line[i];
		kunit_info(test, "  line %u: len %u flags %#x \"%.*s\"\n", i,
			   l->len, l->flags,
			   (int)min_t(unsigned int, l->len, FTPE_LINE_MAX),
			   l->text);
	}
}

static bool stest_expect(struct kunit *test, const struct stest_ctx *c,
			 const char *what, const struct stest_want *w,
			 unsigned int nw)
{
	const char *why = stest_diff(c, w, nw);

	if (!why)
		return true;
	KUNIT_FAIL(test, "%s: %s (%u delivered, %u expected)", what, why,
		   c->n, nw);
	stest_dump(test, c);
	return false;
}

/* The stream holds no buffer: no line is open. */
static void stest_expect_no_partial(struct kunit *test,
				    const struct stest_ctx *c,
				    const char *what)
{
	KUNIT_EXPECT_NULL_MSG(test, c->s.partial, "%s", what);
	KUNIT_EXPECT_EQ_MSG(test, c->s.held, 0, "%s", what);
}

static void stest_whole_line(struct kunit *test)
{
	static const struct stest_want w[] = { { "220 (vsFTPd 3.0.3)", 0 } };
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_start(c, STEST_SEQ);
	ev = stest_feed_str(test, c, STEST_SEQ, "220 (vsFTPd 3.0.3)\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	stest_expect(test, c, "one line", w, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 20);
	stest_expect_no_partial(test, c, "after a whole line");
}

static void stest_several_lines(struct kunit *test)
{
	static const char seg[] = "211-Features:\r\n EPSV\n211 End\r\n";
	static const struct stest_want w[] = {
		{ "211-Features:", 0 },
		{ " EPSV", FTPE_LINE_BARE_LF },
		{ "211 End", 0 },
	};
	static const ftpe_read_fn readers[] = {
		stest_flat_read, stest_copy_read,
	};
	struct stest_ctx *c = test->priv;
	unsigned int ev, i, off;

	for (i = 0; i < ARRAY_SIZE(readers); i++) {
		for (off = 0; off <= 40; off += 40) {
			c->read = readers[i];
			c->off = off;
			stest_start(c, STEST_SEQ);
			ev = stest_feed_str(test, c, STEST_SEQ, seg);
			KUNIT_EXPECT_EQ(test, ev, 0);
			stest_expect(test, c, "three lines", w, ARRAY_SIZE(w));
			KUNIT_EXPECT_EQ(test, c->s.next_seq,
					STEST_SEQ + sizeof(seg) - 1);
			stest_expect_no_partial(test, c, "segment ends on LF");
		}
	}
}

/* Two lines, split into two segments at every byte position. */
static void stest_split_everywhere(struct kunit *test)
{
	static const char text[] =
		"227 Entering Passive Mode (10,0,0,1,4,1).\r\n150 Here\n";
	static const struct stest_want w[] = {
		{ "227 Entering Passive Mode (10,0,0,1,4,1).", 0 },
		{ "150 Here", FTPE_LINE_BARE_LF },
	};
	const unsigned int n = sizeof(text) - 1;
	const unsigned int end1 = strlen(w[0].text) + 2;
	struct stest_ctx *c = test->priv;
	unsigned int k, ev1, ev2, r;
	bool at_boundary;
	u32 seq;

	for (r = 0; r < 2; r++) {
		c->read = r ? stest_copy_read : stest_flat_read;
		for (k = 1; k < n; k++) {
			seq = 0x10000000u + k * 1000;
			at_boundary = k == end1;
			stest_start(c, seq);
			ev1 = stest_feed(test, c, seq, text, k);
			/* no line before its LF; "...\r" is not a line yet */
			KUNIT_EXPECT_EQ_MSG(test, c->n, k < end1 ? 0u : 1u,
					    "split at %u: after part 1", k);
			if (at_boundary)
				stest_expect_no_partial(test, c, "boundary");
			else
				KUNIT_EXPECT_NOT_NULL_MSG(test, c->s.partial,
							  "split at %u", k);
			ev2 = stest_feed(test, c, seq + k, text + k, n - k);
			if (!stest_expect(test, c, "split", w, ARRAY_SIZE(w))) {
				kunit_info(test, "split at %u\n", k);
				break;
			}
			KUNIT_EXPECT_EQ_MSG(test, ev1 & ~FTPE_STREAM_EV_SPLIT,
					    0u, "split at %u", k);
			KUNIT_EXPECT_EQ_MSG(test, ev2 & ~FTPE_STREAM_EV_SPLIT,
					    0u, "split at %u", k);
			KUNIT_EXPECT_TRUE_MSG(test, at_boundary ||
					      (ev2 & FTPE_STREAM_EV_SPLIT),
					      "split at %u: no EV_SPLIT", k);
			KUNIT_EXPECT_EQ(test, c->s.next_seq, seq + n);
			stest_expect_no_partial(test, c, "after part 2");
		}
	}
}

static void stest_one_byte_segments(struct kunit *test)
{
	static const char text[] = "230-Hello\r\n230 Login successful.\r\n";
	static const struct stest_want w[] = {
		{ "230-Hello", 0 },
		{ "230 Login successful.", 0 },
	};
	struct stest_ctx *c = test->priv;
	unsigned int i, ev = 0;

	stest_start(c, STEST_SEQ);
	for (i = 0; i < sizeof(text) - 1; i++)
		ev |= stest_feed(test, c, STEST_SEQ + i, text + i, 1);
	stest_expect(test, c, "one byte per segment", w, ARRAY_SIZE(w));
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_SPLIT);
	stest_expect_no_partial(test, c, "end");
}

static void stest_retrans_exact(struct kunit *test)
{
	static const struct stest_want w[] = {
		{ "200 ok", 0 },
		{ "331 next", 0 },
	};
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	stest_start(c, s);
	stest_feed_str(test, c, s, "200 ok\r\n");
	ev = stest_feed_str(test, c, s, "200 ok\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_EQ(test, c->n, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 8);
	/* same bytes numbers, other text: still ignored */
	ev = stest_feed_str(test, c, s, "500 no\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_EQ(test, c->n, 1);
	/* a strict prefix of what was consumed */
	ev = stest_feed_str(test, c, s, "200");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	stest_feed_str(test, c, s + 8, "331 next\r\n");
	/* an old segment after newer data */
	ev = stest_feed_str(test, c, s, "200 ok\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	ev = stest_feed_str(test, c, s + 8, "331 next\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	stest_expect(test, c, "retransmissions", w, ARRAY_SIZE(w));
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 18);
	stest_expect_no_partial(test, c, "end");
}

/* Retransmission of the first half of a split line. */
static void stest_retrans_partial(struct kunit *test)
{
	static const struct stest_want w[] = { { "230 hello", 0 } };
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	stest_start(c, s);
	stest_feed_str(test, c, s, "230 hel");
	KUNIT_EXPECT_NOT_NULL(test, c->s.partial);
	KUNIT_EXPECT_EQ(test, c->s.held, 7);
	ev = stest_feed_str(test, c, s, "230 hel");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	ev = stest_feed_str(test, c, s, "530 HEL");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	stest_feed_str(test, c, s + 7, "lo\r\n");
	stest_expect(test, c, "joined once", w, 1);
	stest_expect_no_partial(test, c, "end");
}

static void stest_overlap(struct kunit *test)
{
	static const struct stest_want w1[] = {
		{ "220 a", 0 },
		{ "331 b", 0 },
	};
	static const struct stest_want w2[] = { { "230 hello world", 0 } };
	static const struct stest_want w3[] = { { "230 helLO", 0 } };
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	/* a retransmission that carries new bytes too */
	stest_start(c, s);
	stest_feed_str(test, c, s, "220 a\r\n");
	ev = stest_feed_str(test, c, s, "220 a\r\n331 b\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_FALSE(test, ev & FTPE_STREAM_EV_GAP);
	stest_expect(test, c, "overlap at a line boundary", w1, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 14);
	stest_expect_no_partial(test, c, "overlap at a line boundary");

	/* overlap inside an open line */
	stest_start(c, s);
	stest_feed_str(test, c, s, "230 hel");
	ev = stest_feed_str(test, c, s + 4, "hello world\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	stest_expect(test, c, "overlap inside a line", w2, 1);
	stest_expect_no_partial(test, c, "overlap inside a line");

	/* the overlapping bytes differ: the first copy wins */
	stest_start(c, s);
	stest_feed_str(test, c, s, "230 hel");
	stest_feed_str(test, c, s + 4, "HELLO\r\n");
	stest_expect(test, c, "overlap with other bytes", w3, 1);
}

/*
 * A segment beyond a hole is not read and moves nothing; the hole's bytes,
 * when they come, are read as if nothing had happened, and so is the later
 * segment when TCP sends it again.
 */
static void stest_gap(struct kunit *test)
{
	static const struct stest_want w1[] = {
		{ "220 a", 0 },
		{ "123 lost", 0 },
		{ "331 b", 0 },
	};
	static const struct stest_want w2[] = { { "220 abc tail", 0 } };
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	/* hole after a complete line */
	stest_start(c, s);
	stest_feed_str(test, c, s, "220 a\r\n");
	ev = stest_feed_str(test, c, s + 17, "331 b\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->n, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 7);
	ev = stest_feed_str(test, c, s + 7, "123 lost\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 17);
	ev = stest_feed_str(test, c, s + 17, "331 b\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	stest_expect(test, c, "hole after a line, filled", w1, 3);
	stest_expect_no_partial(test, c, "hole after a line");

	/* hole while a line is open: the held start is kept */
	stest_start(c, s);
	stest_feed_str(test, c, s, "220 abc");
	ev = stest_feed_str(test, c, s + 10, "ail\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->s.held, 7);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	/* the hole's bytes and the rest, resent as one segment */
	stest_feed_str(test, c, s + 7, " tail\r\n");
	stest_expect(test, c, "hole inside a line, filled", w2, 1);
	stest_expect_no_partial(test, c, "hole inside a line");

	/* a segment straddling next_seq is read from next_seq on */
	stest_start(c, s);
	stest_feed_str(test, c, s, "220 a\r\n");
	stest_feed_str(test, c, s + 17, "331 b\r\n");
	ev = stest_feed_str(test, c, s + 3, " a\r\n123 lost\r\n331 b\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_RETRANS);
	stest_expect(test, c, "straddling segment", w1, 3);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 24);
}

/*
 * The reordering of issue 13: the second command arrives first, then the
 * first, then TCP's retransmission of the second.  Both are read, in order.
 */
static void stest_reorder(struct kunit *test)
{
	static const struct stest_want w[] = {
		{ "PASV", 0 },
		{ "RETR f", 0 },
	};
	static const u32 starts[] = { STEST_SEQ, 0xfffffffdu, 0xfffffffau };
	struct stest_ctx *c = test->priv;
	unsigned int ev, i;
	u32 s;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		s = starts[i];
		stest_start(c, s);
		ev = stest_feed_str(test, c, s + 6, "RETR f\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, FTPE_STREAM_EV_GAP,
				    "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->n, 0, "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->s.next_seq, s, "start %#x", s);
		ev = stest_feed_str(test, c, s, "PASV\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, 0, "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->n, 1, "start %#x", s);
		ev = stest_feed_str(test, c, s + 6, "RETR f\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, 0, "start %#x", s);
		if (!stest_expect(test, c, "reordered commands", w, 2))
			kunit_info(test, "start %#x\n", s);
		KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 14);
		stest_expect_no_partial(test, c, "reordered commands");
	}
}

/*
 * A segment lost before this box, with a receiver that keeps out-of-order
 * data (SACK): B is seen first, beyond the hole; A fills the hole; B is
 * never sent again, since the receiver has it.  B's bytes passed while they
 * could not be read, so "RETR f" is lost for good; what the stream owes is
 * to read A, late but in order, and to carry on with C, which starts where
 * B ended in '\n'.  Waiting at next_seq for B would read nothing ever again.
 */
static void stest_sack(struct kunit *test)
{
	static const struct stest_want w[] = {
		{ "PASV", 0 },
		{ "QUIT", FTPE_LINE_AFTER_GAP },
	};
	static const u32 starts[] = { STEST_SEQ, 0xfffffffdu, 0xfffffff6u };
	struct stest_ctx *c = test->priv;
	unsigned int ev, i;
	u32 s;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		s = starts[i];
		stest_start(c, s);
		ev = stest_feed_str(test, c, s + 6, "RETR f\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, FTPE_STREAM_EV_GAP,
				    "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->s.next_seq, s, "start %#x", s);
		ev = stest_feed_str(test, c, s, "PASV\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, 0, "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->n, 1, "start %#x", s);
		ev = stest_feed_str(test, c, s + 14, "QUIT\r\n");
		KUNIT_EXPECT_EQ_MSG(test, ev, FTPE_STREAM_EV_GAP,
				    "start %#x", s);
		if (!stest_expect(test, c, "SACK: C after B never resent", w, 2))
			kunit_info(test, "start %#x\n", s);
		KUNIT_EXPECT_EQ_MSG(test, c->s.next_seq, s + 20, "start %#x", s);
		stest_expect_no_partial(test, c, "SACK");
	}
}

/*
 * Two segments pass, reordered, while the hole is open: both their ends are
 * known, so the next one is read; the held line is dropped, never joined to
 * text from beyond the hole.  (In order, the second would start at the end
 * of the first and be read itself.)
 */
static void stest_sack_two(struct kunit *test)
{
	static const struct stest_want w[] = {
		{ "200 ok", 0 },
		{ "QUIT", FTPE_LINE_AFTER_GAP },
	};
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	stest_start(c, s);
	stest_feed_str(test, c, s, "200 ok\r\nPAS");
	KUNIT_EXPECT_EQ(test, c->s.held, 3);
	ev = stest_feed_str(test, c, s + 22, "STOR g\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	ev = stest_feed_str(test, c, s + 14, "RETR f\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->n, 1);
	KUNIT_EXPECT_EQ(test, c->s.held, 3);
	ev = stest_feed_str(test, c, s + 30, "QUIT\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	stest_expect(test, c, "two segments in the hole", w, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 36);
	stest_expect_no_partial(test, c, "two segments in the hole");
	/* the hole's bytes, late: behind next_seq now, ignored */
	ev = stest_feed_str(test, c, s + 11, "V\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_EQ(test, c->n, 2);
}

/*
 * A segment beyond the hole that does not end in '\n' gives no line start:
 * the segment starting at its end may well continue a line, so it is not
 * read either, though its own end, after a '\n', is remembered.
 */
static void stest_gap_no_lf(struct kunit *test)
{
	static const struct stest_want w[] = {
		{ "220 a", 0 },
		{ "230 d", FTPE_LINE_AFTER_GAP },
	};
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int ev;

	stest_start(c, s);
	stest_feed_str(test, c, s, "220 a\r\n");
	ev = stest_feed_str(test, c, s + 17, "331 b\r\n200 ");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	ev = stest_feed_str(test, c, s + 28, "c\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->n, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 7);
	ev = stest_feed_str(test, c, s + 31, "230 d\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	stest_expect(test, c, "gap without LF", w, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 38);
}

/*
 * A blind guess inside the window: bytes at next_seq + 100 that look like
 * a whole line after a line end.  Nothing is read and the stream does not
 * move, so the real data that follows is read where it belongs.
 */
static void stest_blind(struct kunit *test)
{
	static const char guess[] = "x\r\n227 Passive (6,6,6,6,4,1).\r\n";
	static const struct stest_want w1[] = { { "200 ok", 0 } };
	static const struct stest_want w2[] = {
		{ "200 ok", 0 },
		{ "227 Entering Passive Mode (10,0,0,1,4,1).", 0 },
	};
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned char junk[64];
	unsigned int ev, i;

	stest_start(c, s);
	stest_feed_str(test, c, s, "200 ok\r\n");
	ev = stest_feed_str(test, c, s + 8 + 100, guess);
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (i * 151 + 7) ^ (i % 3 ? 0 : '\n');
	ev = stest_feed(test, c, s + 8 + 100, (const char *)junk,
			sizeof(junk));
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	stest_expect(test, c, "blind segments", w1, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + 8);
	KUNIT_EXPECT_FALSE(test, c->s.flags & FTPE_STREAM_SKIPPING);
	stest_expect_no_partial(test, c, "blind segments");

	ev = stest_feed_str(test, c, s + 8,
			    "227 Entering Passive Mode (10,0,0,1,4,1).\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	stest_expect(test, c, "real data after a guess", w2, 2);
	/* the guess again, now that its bytes are due: still not read */
	ev = stest_feed_str(test, c, s + 8 + 100, guess);
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->n, 2);
}

/*
 * A segment exactly 2^31 away from next_seq is neither clearly behind nor
 * ahead; it is ignored, and the distance is computed without overflow.
 */
static void stest_seq_int_min(struct kunit *test)
{
	static const struct stest_want w[] = { { "200 ok", 0 } };
	static const u32 starts[] = { STEST_SEQ, 0x80000000u, 0x7fffffffu,
				      0xffffffffu, 0 };
	struct stest_ctx *c = test->priv;
	unsigned int i;
	u32 s;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		s = starts[i];
		stest_start(c, s);
		stest_feed_str(test, c, s + 0x80000000u, "500 far\r\n");
		stest_feed_str(test, c, s + 0x80000001u, "500 far\r\n");
		stest_feed_str(test, c, s + 0x7fffffffu, "500 far\r\n");
		KUNIT_EXPECT_EQ_MSG(test, c->n, 0, "start %#x", s);
		KUNIT_EXPECT_EQ_MSG(test, c->s.next_seq, s, "start %#x", s);
		stest_feed_str(test, c, s, "200 ok\r\n");
		if (!stest_expect(test, c, "after far segments", w, 1))
			kunit_info(test, "start %#x\n", s);
	}
}

/* @n bytes of 'a'..'z', then "\r\n220 ok\r\n". */
static char *stest_long_line(struct kunit *test, unsigned int n,
			     unsigned int *total)
{
	static const char tail[] = "\r\n220 ok\r\n";
	char *buf = kunit_kmalloc(test, n + sizeof(tail), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < n; i++)
		buf[i] = 'a' + i % 26;
	memcpy(buf + n, tail, sizeof(tail));
	*total = n + sizeof(tail) - 1;
	return buf;
}

/* NULL when lines are: a truncated prefix of @text, then "220 ok". */
static const char *stest_diff_truncated(const struct stest_ctx *c,
					const char *text)
{
	const struct stest_line *l = &c->line[0];

	if (c->n != 2)
		return "wrong number of lines";
	if (!(l->flags & FTPE_LINE_TRUNCATED))
		return "first line not flagged TRUNCATED";
	if (!l->len || l->len > FTPE_LINE_MAX)
		return "truncated line has a bad length";
	if (memcmp(l->text, text, l->len))
		return "truncated line is not a prefix of the line";
	l = &c->line[1];
	if (l->len != 6 || memcmp(l->text, "220 ok", 6) || l->flags)
		return "line after the long line is wrong";
	return NULL;
}

static void stest_overlong(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int total, ev;
	const char *why;
	char *buf;

	buf = stest_long_line(test, 300, &total);
	stest_start(c, STEST_SEQ);
	ev = stest_feed(test, c, STEST_SEQ, buf, total);
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_OVERLONG);
	why = stest_diff_truncated(c, buf);
	KUNIT_EXPECT_NULL_MSG(test, why, "%s", why);
	if (why)
		stest_dump(test, c);
	stest_expect_no_partial(test, c, "after an overlong line");
	KUNIT_EXPECT_FALSE(test, c->s.flags & FTPE_STREAM_SKIPPING);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + total);
}

/*
 * FTPE_LINE_MAX bytes is the longest line kept whole, however split; the
 * "\r" of its CRLF is no part of it.
 */
static void stest_line_max(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int total, ev, k, n, bad;
	char *buf;

	for (n = FTPE_LINE_MAX - 1; n <= FTPE_LINE_MAX; n++) {
		buf = stest_long_line(test, n, &total);
		for (k = 0, bad = 0; k < n + 2; k++) {
			stest_start(c, STEST_SEQ);
			ev = stest_feed(test, c, STEST_SEQ, buf, k);
			ev |= stest_feed(test, c, STEST_SEQ + k, buf + k,
					 total - k);
			if (!(ev & FTPE_STREAM_EV_OVERLONG) && c->n == 2 &&
			    c->line[0].len == n && !c->line[0].flags &&
			    !memcmp(c->line[0].text, buf, n) &&
			    !c->s.partial)
				continue;
			if (!bad++) {
				KUNIT_FAIL(test, "%u bytes, split at %u: %s",
					   n, k, "not whole");
				stest_dump(test, c);
			}
		}
		KUNIT_EXPECT_EQ_MSG(test, bad, 0,
				    "%u-byte line: %u of %u splits fail", n,
				    bad, n + 2);
	}
}

/* One byte more is delivered once, truncated, wherever it is split. */
static void stest_line_max_plus_one(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int total, ev, k;
	const char *why;
	char *buf;

	buf = stest_long_line(test, FTPE_LINE_MAX + 1, &total);
	for (k = 0; k < total; k++) {
		stest_start(c, STEST_SEQ);
		ev = stest_feed(test, c, STEST_SEQ, buf, k);
		ev |= stest_feed(test, c, STEST_SEQ + k, buf + k, total - k);
		KUNIT_EXPECT_TRUE_MSG(test, ev & FTPE_STREAM_EV_OVERLONG,
				      "split at %u", k);
		why = stest_diff_truncated(c, buf);
		if (why) {
			KUNIT_FAIL(test, "split at %u: %s", k, why);
			stest_dump(test, c);
			break;
		}
		stest_expect_no_partial(test, c, "line of FTPE_LINE_MAX + 1");
	}
}

static void stest_overlong_segments(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;
	unsigned int total, ev;
	const char *why;
	char *buf;

	buf = stest_long_line(test, 500, &total);
	stest_start(c, s);
	ev = stest_feed(test, c, s, buf, 200);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	ev |= stest_feed(test, c, s + 200, buf + 200, 200);
	KUNIT_EXPECT_LE(test, c->n, 1);
	/* more of the long line: nothing more may come out of it */
	ev |= stest_feed(test, c, s + 400, buf + 400, 50);
	KUNIT_EXPECT_LE(test, c->n, 1);
	ev |= stest_feed(test, c, s + 450, buf + 450, total - 450);
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_OVERLONG);
	why = stest_diff_truncated(c, buf);
	KUNIT_EXPECT_NULL_MSG(test, why, "%s", why);
	if (why)
		stest_dump(test, c);
	stest_expect_no_partial(test, c, "after an overlong line");
	KUNIT_EXPECT_EQ(test, c->s.next_seq, s + total);
}

static void stest_partial_lifetime(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	const u32 s = STEST_SEQ;

	stest_start(c, s);
	stest_feed_str(test, c, s, "220 a\r\n331 b\r\n");
	stest_expect_no_partial(test, c, "lines never split");
	stest_feed_str(test, c, s + 14, "22");
	KUNIT_EXPECT_NOT_NULL(test, c->s.partial);
	KUNIT_EXPECT_EQ(test, c->s.held, 2);
	stest_feed_str(test, c, s + 16, "0 c\r\n");
	KUNIT_EXPECT_EQ(test, c->n, 3);
	stest_expect_no_partial(test, c, "split line completed");
	stest_feed_str(test, c, s + 21, "230 d\r\n230 e");
	KUNIT_EXPECT_NOT_NULL(test, c->s.partial);
	stest_feed_str(test, c, s + 33, "\r\n");
	KUNIT_EXPECT_EQ(test, c->n, 5);
	stest_expect_no_partial(test, c, "split line completed by CRLF");
}

static void stest_reset(struct kunit *test)
{
	struct stest_ctx *c = test->priv;

	stest_start(c, STEST_SEQ);
	stest_feed_str(test, c, STEST_SEQ, "220 partial line");
	KUNIT_EXPECT_NOT_NULL(test, c->s.partial);
	KUNIT_EXPECT_EQ(test, c->s.held, 16);
	ftpe_stream_reset(&c->s);
	KUNIT_EXPECT_NULL(test, c->s.partial);
	KUNIT_EXPECT_EQ(test, c->s.held, 0);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	/* twice is harmless */
	ftpe_stream_reset(&c->s);
	KUNIT_EXPECT_NULL(test, c->s.partial);
}

static void stest_zero_length(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_start(c, STEST_SEQ);
	ev = stest_feed(test, c, STEST_SEQ, "", 0);
	KUNIT_EXPECT_EQ(test, ev, 0);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ);
	stest_expect_no_partial(test, c, "empty segment");
}

static void stest_wraparound(struct kunit *test)
{
	static const struct stest_want w1[] = { { "220 hello", 0 } };
	static const struct stest_want w2[] = {
		{ "220 hello", 0 },
		{ "230 hello", 0 },
	};
	static const struct stest_want w3[] = {
		{ "230 across the wrap ..........", 0 },
		{ "331 b", 0 },
	};
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	/* one segment across the wrap */
	stest_start(c, 0xfffffffau);
	ev = stest_feed_str(test, c, 0xfffffffau, "220 hello\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	stest_expect(test, c, "segment across the wrap", w1, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, 5);

	/* a line split at the wrap, its first half retransmitted */
	stest_start(c, 0xfffffffbu);
	stest_feed_str(test, c, 0xfffffffbu, "220 h");
	ev = stest_feed_str(test, c, 0, "ello\r\n");
	KUNIT_EXPECT_FALSE(test, ev & FTPE_STREAM_EV_GAP);
	ev = stest_feed_str(test, c, 0xfffffffbu, "220 h");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_FALSE(test, ev & FTPE_STREAM_EV_GAP);
	/* overlap across the wrap */
	ev = stest_feed_str(test, c, 0xfffffffeu, " hello\r\n230 hel");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_FALSE(test, ev & FTPE_STREAM_EV_GAP);
	ev = stest_feed_str(test, c, 10, "hello\r\n");
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	stest_expect(test, c, "split and overlap at the wrap", w2, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, 17);
	stest_expect_no_partial(test, c, "wrap");

	/* a hole across the wrap: nothing read until it is filled */
	stest_start(c, 0xfffffff0u);
	ev = stest_feed_str(test, c, 0x10, "331 b\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_GAP);
	KUNIT_EXPECT_EQ(test, c->n, 0);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, 0xfffffff0u);
	ev = stest_feed_str(test, c, 0xfffffff0u,
			    "230 across the wrap ..........\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	ev = stest_feed_str(test, c, 0x10, "331 b\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0);
	stest_expect(test, c, "hole across the wrap", w3, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, 0x17);
	/* and a stale segment from before the wrap */
	ev = stest_feed_str(test, c, 0xfffffff0u, "500 old\r\n");
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_RETRANS);
	KUNIT_EXPECT_EQ(test, c->n, 2);
}

/*
 * A refused line is unread with everything after it; the lines before it
 * stay read, and the resent segment delivers it again.
 */
static void stest_stop_whole(struct kunit *test)
{
	static const char seg[] = "TYPE I\r\nPORT 1\r\nNOOP\r\n";
	static const struct stest_want w1[] = { { "TYPE I", 0 }, { "PORT 1", 0 } };
	static const struct stest_want w2[] = { { "PORT 1", 0 }, { "NOOP", 0 } };
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_start(c, STEST_SEQ);
	c->stop = "PORT";
	ev = stest_feed_str(test, c, STEST_SEQ, seg);
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_STOPPED);
	stest_expect(test, c, "up to the refused line", w1, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 8);
	KUNIT_EXPECT_EQ(test, c->s.flags, FTPE_STREAM_SYNCED);
	stest_expect_no_partial(test, c, "after a refused line");

	c->n = 0;
	ev = stest_feed_str(test, c, STEST_SEQ, seg);
	KUNIT_EXPECT_EQ(test, ev, FTPE_STREAM_EV_RETRANS);
	stest_expect(test, c, "the resend", w2, 2);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + sizeof(seg) - 1);
}

/* A refused line begun in an earlier segment keeps that start held. */
static void stest_stop_held(struct kunit *test)
{
	static const struct stest_want w[] = { { "PORT 1,2", 0 } };
	static const struct stest_want w2[] = { { "PORT 1,2", 0 },
						{ "NOOP", 0 } };
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_start(c, STEST_SEQ);
	stest_feed_str(test, c, STEST_SEQ, "PORT 1");
	c->stop = "PORT";
	ev = stest_feed_str(test, c, STEST_SEQ + 6, ",2\r\nNOOP\r\n");
	KUNIT_EXPECT_EQ(test, ev,
			FTPE_STREAM_EV_SPLIT | FTPE_STREAM_EV_STOPPED);
	stest_expect(test, c, "the joined line", w, 1);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 6);
	KUNIT_EXPECT_EQ(test, c->s.held, 6);
	KUNIT_ASSERT_NOT_NULL(test, c->s.partial);

	c->n = 0;
	stest_feed_str(test, c, STEST_SEQ + 6, ",2\r\nNOOP\r\n");
	stest_expect(test, c, "the resend", w2, 2);
	stest_expect_no_partial(test, c, "after the resend");
}

/* The line open at the end of a segment, unread by the caller. */
static void stest_unread_open(struct kunit *test)
{
	static const struct stest_want w[] = { { "NOOP", 0 } };
	static const struct stest_want w2[] = { { "PORT 1,2", 0 } };
	struct stest_ctx *c = test->priv;

	stest_start(c, STEST_SEQ);
	stest_feed_str(test, c, STEST_SEQ, "NOOP\r\nPORT 1");
	stest_expect(test, c, "the whole line", w, 1);
	ftpe_stream_unread(&c->s, STEST_SEQ);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 6);
	stest_expect_no_partial(test, c, "unread");

	c->n = 0;
	stest_feed_str(test, c, STEST_SEQ, "NOOP\r\nPORT 1,2\r\n");
	stest_expect(test, c, "the resend", w2, 1);

	/* Begun in an earlier segment: only this segment's part goes. */
	stest_start(c, STEST_SEQ);
	stest_feed_str(test, c, STEST_SEQ, "PORT ");
	stest_feed_str(test, c, STEST_SEQ + 5, "1,");
	ftpe_stream_unread(&c->s, STEST_SEQ + 5);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 5);
	KUNIT_EXPECT_EQ(test, c->s.held, 5);
	stest_feed_str(test, c, STEST_SEQ + 5, "1,2\r\n");
	stest_expect(test, c, "the resend of the second part", w2, 1);
	stest_expect_no_partial(test, c, "after it");
}

/* A stream whose first 13 bytes were a 234: TLS records follow. */
static void stest_tls_start(struct kunit *test, struct stest_ctx *c)
{
	stest_start(c, STEST_SEQ);
	c->tls = "234";
	stest_feed_str(test, c, STEST_SEQ, "234 Proceed\r\n");
}

/*
 * TLS after a 234, CCC, then lines again (RFC 4217): a handshake record
 * and a TLS 1.3 close_notify (19 bytes on the wire), then "200 ok".
 * Cut at every byte, the line start the tracker held across segments is
 * handed on whole.
 */
static const char stest_ccc[] =
	"234 Proceed\r\n\026\003\003\000\004abcd\027\003\003\000\0160123456789abcd200 ok\r\n";

static void stest_tls_ccc(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int len = sizeof(stest_ccc) - 1, cut, ev;

	for (cut = 1; cut < len; cut++) {
		stest_start(c, STEST_SEQ);
		c->tls = "234";
		ev = stest_feed(test, c, STEST_SEQ, stest_ccc, cut);
		ev |= stest_feed(test, c, STEST_SEQ + cut, stest_ccc + cut,
				 len - cut);
		KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_PLAIN);
		KUNIT_ASSERT_EQ(test, c->n, 2u);
		KUNIT_EXPECT_EQ(test, c->line[1].len, 6u);
		KUNIT_EXPECT_EQ(test, memcmp(c->line[1].text, "200 ok", 6), 0);
		KUNIT_EXPECT_FALSE(test, c->s.flags & FTPE_STREAM_TLS);
		KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + len);
	}
}

/* A hole in a TLS direction: dark for good, whatever comes after. */
static void stest_tls_gap(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_tls_start(test, c);
	ev = stest_feed(test, c, STEST_SEQ + 20, "\x17\x03\x03\x00\x01x", 6);
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_TLS_LOST);
	KUNIT_EXPECT_TRUE(test, ftpe_stream_dark(&c->s));
	ev = stest_feed_str(test, c, STEST_SEQ + 13, "200 ok\r\n");
	KUNIT_EXPECT_EQ(test, ev, 0u);
	KUNIT_EXPECT_EQ(test, c->n, 1u);
}

/*
 * Translated, a line start cut by a segment's end is given back (its
 * segment dropped), and read whole from the resend; the records before
 * it stay read.
 */
static void stest_tls_cut(struct kunit *test)
{
	static const char rec[] = "\027\003\003\000\002ab";
	struct stest_ctx *c = test->priv;
	u32 from = STEST_SEQ + 13;
	const char *p;
	unsigned int n;

	stest_tls_start(test, c);
	stest_feed(test, c, from, "\027\003\003\000\002ab22", 9);
	p = ftpe_stream_tls_line(&c->s, &n);
	KUNIT_ASSERT_EQ(test, n, 2u);
	KUNIT_EXPECT_EQ(test, memcmp(p, "22", 2), 0);
	ftpe_stream_tls_cut(&c->s, from);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, from + 7);
	ftpe_stream_tls_line(&c->s, &n);
	KUNIT_EXPECT_EQ(test, n, 0u);
	stest_feed(test, c, from, rec, 7);
	stest_feed_str(test, c, from + 7, "227 Entering (1,2,3,4,5,6)\r\n");
	KUNIT_ASSERT_EQ(test, c->n, 2u);
	KUNIT_EXPECT_EQ(test, c->line[1].len, 26u);
	KUNIT_EXPECT_EQ(test, memcmp(c->line[1].text, "227 ", 4), 0);
}

/*
 * A line start held by the tracker across a window of the same segment
 * (review, 2026-12): the rest of the segment completes it, no more.  And
 * translated, a segment that ends inside a record header is not held
 * back: only a line start may need rewriting.
 */
static void stest_tls_window(struct kunit *test)
{
	static const char line[] = "227 Entering (1,2,3,4,5,6)\r\n";
	struct stest_ctx *c = test->priv;
	unsigned int len = 5 + 251 + sizeof(line) - 1, n;
	u32 from = STEST_SEQ + 13;
	char *seg;

	seg = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seg);
	memcpy(seg, "\027\003\003\000\373", 5);
	memset(seg + 5, 'x', 251);
	memcpy(seg + 256, line, sizeof(line) - 1);
	stest_tls_start(test, c);
	stest_feed(test, c, from, seg, len);
	KUNIT_ASSERT_EQ(test, c->n, 2u);
	KUNIT_EXPECT_EQ(test, c->line[1].len, 26u);
	KUNIT_EXPECT_EQ(test, memcmp(c->line[1].text, line, 26), 0);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, from + len);

	stest_tls_start(test, c);
	stest_feed(test, c, from, "\027\003", 2);
	ftpe_stream_tls_line(&c->s, &n);
	KUNIT_EXPECT_EQ(test, n, 0u);
}

/* A line after CCC refused: read again from its resend, records not. */
static void stest_tls_stop(struct kunit *test)
{
	struct stest_ctx *c = test->priv;
	unsigned int ev;

	stest_tls_start(test, c);
	c->stop = "227";
	ev = stest_feed(test, c, STEST_SEQ + 13,
			"\x17\x03\x03\x00\x01x227 Entering (1,2,3,4,5,6)\r\n",
			35);
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_STOPPED);
	KUNIT_EXPECT_EQ(test, c->s.next_seq, STEST_SEQ + 19);
	ev = stest_feed(test, c, STEST_SEQ + 13,
			"\x17\x03\x03\x00\x01x227 Entering (1,2,3,4,5,6)\r\n",
			35);
	KUNIT_EXPECT_TRUE(test, ev & FTPE_STREAM_EV_RETRANS);
	KUNIT_ASSERT_EQ(test, c->n, 3u);
	KUNIT_EXPECT_EQ(test, memcmp(c->line[2].text, "227 ", 4), 0);
}

static struct kunit_case stest_cases[] = {
	KUNIT_CASE(stest_whole_line),
	KUNIT_CASE(stest_several_lines),
	KUNIT_CASE(stest_split_everywhere),
	KUNIT_CASE(stest_one_byte_segments),
	KUNIT_CASE(stest_retrans_exact),
	KUNIT_CASE(stest_retrans_partial),
	KUNIT_CASE(stest_overlap),
	KUNIT_CASE(stest_gap),
	KUNIT_CASE(stest_reorder),
	KUNIT_CASE(stest_sack),
	KUNIT_CASE(stest_sack_two),
	KUNIT_CASE(stest_gap_no_lf),
	KUNIT_CASE(stest_blind),
	KUNIT_CASE(stest_seq_int_min),
	KUNIT_CASE(stest_overlong),
	KUNIT_CASE(stest_line_max),
	KUNIT_CASE(stest_line_max_plus_one),
	KUNIT_CASE(stest_overlong_segments),
	KUNIT_CASE(stest_partial_lifetime),
	KUNIT_CASE(stest_reset),
	KUNIT_CASE(stest_zero_length),
	KUNIT_CASE(stest_wraparound),
	KUNIT_CASE(stest_stop_whole),
	KUNIT_CASE(stest_stop_held),
	KUNIT_CASE(stest_unread_open),
	KUNIT_CASE(stest_tls_ccc),
	KUNIT_CASE(stest_tls_gap),
	KUNIT_CASE(stest_tls_cut),
	KUNIT_CASE(stest_tls_stop),
	KUNIT_CASE(stest_tls_window),
	{}
};

static struct kunit_suite stest_suite = {
	.name = "nf_ftp_embryo_stream",
	.init = stest_init,
	.exit = stest_exit,
	.test_cases = stest_cases,
};

kunit_test_suites(&stest_suite);

MODULE_LICENSE("GPL");
