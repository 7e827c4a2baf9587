// SPDX-License-Identifier: GPL-2.0
/*
 * The record framing of one direction under TLS.  See tls.h.
 *
 * What starts at a record boundary is judged a byte at a time, each byte
 * against the ones before it, so a start cut anywhere by the segments is
 * judged exactly as a whole one, and no byte is read twice.  Bodies are
 * skipped by subtraction: the loop turns once per body and once per byte
 * of a header.
 */
#include "tls.h"

/* What the byte at position @n of a start makes of it. */
enum ftpe_tls_step {
	FTPE_TLS_MORE,		/* still possible: the next byte decides */
	FTPE_TLS_HEADER,	/* a whole and sound record header */
	FTPE_TLS_LINE,		/* the start of a line */
	FTPE_TLS_BAD,		/* neither: the reason is in @why */
};

static bool ftpe_tls_is_type(u8 c)
{
	return c >= FTPE_TLS_CHANGE_CIPHER_SPEC && c <= FTPE_TLS_HEARTBEAT;
}

static bool ftpe_tls_is_letter(u8 c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool ftpe_tls_is_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

/* A command: "USER ", "PWD\r", "CCC\n"; never more than four letters. */
static enum ftpe_tls_step ftpe_tls_command(unsigned int n, u8 c)
{
	bool end = c == ' ' || c == '\r' || c == '\n';

	if (n < 3)
		return ftpe_tls_is_letter(c) ? FTPE_TLS_MORE : FTPE_TLS_BAD;
	if (end)
		return FTPE_TLS_LINE;
	return n == 3 && ftpe_tls_is_letter(c) ? FTPE_TLS_MORE : FTPE_TLS_BAD;
}

/* A reply: "200 ", "211-", "200\r", "200\n". */
static enum ftpe_tls_step ftpe_tls_reply(unsigned int n, u8 c)
{
	if (n == 0)
		return c >= '1' && c <= '5' ? FTPE_TLS_MORE : FTPE_TLS_BAD;
	if (n < 3)
		return ftpe_tls_is_digit(c) ? FTPE_TLS_MORE : FTPE_TLS_BAD;
	return c == ' ' || c == '-' || c == '\r' || c == '\n' ?
	       FTPE_TLS_LINE : FTPE_TLS_BAD;
}

/* A header: type (checked by the caller), version, length. */
static enum ftpe_tls_step ftpe_tls_header(const struct ftpe_tls *t,
					  unsigned int n, u8 c, u8 *why)
{
	unsigned int len;

	switch (n) {
	case 0:
		return FTPE_TLS_MORE;
	case 1:
		*why = FTPE_TLS_WHY_VERSION;
		return c == 3 ? FTPE_TLS_MORE : FTPE_TLS_BAD;
	case 2:
		*why = FTPE_TLS_WHY_VERSION;
		if (c >= 1 && c <= 4)
			return FTPE_TLS_MORE;
		/* A ClientHello's record may say 3.0 (see tls.h). */
		return !c && !(t->flags & FTPE_TLS_F_SEEN) ?
		       FTPE_TLS_MORE : FTPE_TLS_BAD;
	case 3:
		*why = FTPE_TLS_WHY_LENGTH;
		return c <= FTPE_TLS_RECORD_MAX >> 8 ? FTPE_TLS_MORE :
		       FTPE_TLS_BAD;
	default:
		*why = FTPE_TLS_WHY_LENGTH;
		len = (unsigned int)t->start[3] << 8 | c;
		return len && len <= FTPE_TLS_RECORD_MAX ? FTPE_TLS_HEADER :
		       FTPE_TLS_BAD;
	}
}

/* Judge @c, the next byte at a boundary. */
static enum ftpe_tls_step ftpe_tls_step(const struct ftpe_tls *t, u8 c,
					u8 *why)
{
	u8 first = t->n ? t->start[0] : c;

	if (ftpe_tls_is_type(first))
		return ftpe_tls_header(t, t->n, c, why);
	*why = FTPE_TLS_WHY_START;
	if (t->flags & FTPE_TLS_F_REPLIES)
		return ftpe_tls_reply(t->n, c);
	return ftpe_tls_command(t->n, c);
}

void ftpe_tls_init(struct ftpe_tls *t, enum ftpe_tls_lines lines)
{
	memset(t, 0, sizeof(*t));
	if (lines == FTPE_TLS_REPLIES)
		t->flags = FTPE_TLS_F_REPLIES;
}

static void ftpe_tls_lose(struct ftpe_tls *t, u8 why)
{
	t->why = why;
	t->left = 0;
	t->n = 0;
}

void ftpe_tls_gap(struct ftpe_tls *t)
{
	if (!t->why && !(t->flags & FTPE_TLS_F_PLAINTEXT))
		ftpe_tls_lose(t, FTPE_TLS_WHY_GAP);
}

void ftpe_tls_unread(struct ftpe_tls *t, unsigned int n)
{
	if (t->why || (t->flags & FTPE_TLS_F_PLAINTEXT))
		return;
	t->n = n < t->n ? t->n - n : 0;
}

enum ftpe_tls_verdict ftpe_tls_feed(struct ftpe_tls *t, const char *p,
				    unsigned int len,
				    struct ftpe_tls_result *r)
{
	/* Bytes of the start at the boundary that came in earlier feeds. */
	unsigned int held = t->n, off = 0, skip;
	u8 c, why = FTPE_TLS_WHY_NONE;

	r->records = 0;
	r->off = 0;
	r->types = 0;
	if (t->why)
		return FTPE_TLS_LOST;
	if (t->flags & FTPE_TLS_F_PLAINTEXT) {
		t->n = 0;
		return FTPE_TLS_PLAINTEXT;
	}

	while (off < len) {
		if (t->left) {
			skip = len - off < t->left ? len - off : t->left;
			t->left -= skip;
			off += skip;
			continue;
		}
		c = (u8)p[off++];
		switch (ftpe_tls_step(t, c, &why)) {
		case FTPE_TLS_MORE:
			t->start[t->n++] = c;
			break;
		case FTPE_TLS_HEADER:
			r->records++;
			r->types |= 1 << (t->start[0] -
					  FTPE_TLS_CHANGE_CIPHER_SPEC);
			t->left = (u16)((unsigned int)t->start[3] << 8 | c);
			t->flags |= FTPE_TLS_F_SEEN;
			t->n = 0;
			held = 0;
			break;
		case FTPE_TLS_LINE:
			/*
			 * Of the t->n + 1 bytes judged, those from earlier
			 * feeds are held; the rest end at @off.
			 */
			r->off = held ? 0 : off - t->n - 1;
			t->n = held;
			t->flags |= FTPE_TLS_F_PLAINTEXT;
			return FTPE_TLS_PLAINTEXT;
		case FTPE_TLS_BAD:
			ftpe_tls_lose(t, why);
			return FTPE_TLS_LOST;
		}
	}
	return FTPE_TLS_RECORDS;
}
