// SPDX-License-Identifier: GPL-2.0
/*
 * FTP control-channel line grammar.  See parse.h.
 *
 * Strict by design: anything that would open a pinhole (PORT, EPRT, 227,
 * 229) must match its grammar exactly, with every number in range and
 * nothing unexpected after it.  Leniency here is a firewall hole.
 */
#include "parse.h"

/* Longest decimal field we accept ("00000000001" is not a port). */
#define FTPE_NUM_DIGITS	5

static bool ftpe_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char ftpe_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Parse 1..FTPE_NUM_DIGITS digits at *pos; returns -1 if none or too many. */
static long ftpe_number(const char *s, unsigned int len, unsigned int *pos)
{
	unsigned int i = *pos;
	long v = 0;

	while (i < len && ftpe_is_digit(s[i])) {
		if (i - *pos == FTPE_NUM_DIGITS)
			return -1;
		v = v * 10 + (s[i] - '0');
		i++;
	}
	if (i == *pos)
		return -1;
	*pos = i;
	return v;
}

static void ftpe_skip_spaces(const char *s, unsigned int len,
			     unsigned int *pos)
{
	while (*pos < len && s[*pos] == ' ')
		(*pos)++;
}

/*
 * "h1,h2,h3,h4,p1,p2" at *pos: six numbers 0..255 separated by commas.  The
 * resulting port must be non-zero.  One pass: a 227 is read on every
 * passive negotiation.
 */
static int ftpe_parse_hostport(const char *s, unsigned int len,
			       unsigned int *pos, struct ftpe_endpoint *ep)
{
	unsigned int i, start = *pos, n = 0, digits = 0, v = 0;
	u8 b[6];

	for (i = start; i < len; i++) {
		unsigned int d = (u8)s[i] - '0';

		if (d <= 9) {
			if (++digits > FTPE_NUM_DIGITS)
				return -1;
			v = v * 10 + d;
			continue;
		}
		/* A sixth number ends at whatever follows it. */
		if (s[i] != ',' || n == 5)
			break;
		if (!digits || v > 255)
			return -1;
		b[n++] = (u8)v;
		v = 0;
		digits = 0;
	}
	if (n != 5 || !digits || v > 255)
		return -1;
	b[5] = (u8)v;
	memset(ep, 0, sizeof(*ep));
	ep->family = FTPE_AF_INET;
	memcpy(ep->addr, b, 4);
	ep->port = (u16)(b[4] << 8 | b[5]);
	ep->at = (u16)start;
	ep->span = (u16)(i - start);
	*pos = i;
	return ep->port ? 0 : -1;
}

static int ftpe_parse_port_number(const char *s, unsigned int len,
				  unsigned int *pos, u16 *port)
{
	long v = ftpe_number(s, len, pos);

	if (v <= 0 || v > 65535)
		return -1;
	*port = (u16)v;
	return 0;
}

/* Dotted quad, exactly four numbers 0..255. */
static int ftpe_parse_ipv4(const char *s, unsigned int len, u8 *addr)
{
	unsigned int pos = 0;
	long v;
	int i;

	for (i = 0; i < 4; i++) {
		if (i && (pos >= len || s[pos++] != '.'))
			return -1;
		v = ftpe_number(s, len, &pos);
		if (v < 0 || v > 255)
			return -1;
		addr[i] = (u8)v;
	}
	return pos == len ? 0 : -1;
}

static int ftpe_hexval(char c)
{
	if (ftpe_is_digit(c))
		return c - '0';
	c = ftpe_upper(c);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 4291 text form: up to eight groups of 1..4 hex digits, at most one
 * "::", optionally ending in a dotted quad.
 */
static int ftpe_parse_ipv6(const char *s, unsigned int len, u8 *addr)
{
	u16 groups[8];
	unsigned int pos = 0;
	int n = 0, gap = -1, i, digits, d;
	u16 g;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		pos = 2;
	}
	while (pos < len) {
		if (n == 8)
			return -1;
		/* An embedded IPv4 tail takes the last two groups. */
		if (n <= 6 && memchr(s + pos, '.', len - pos) &&
		    !memchr(s + pos, ':', len - pos)) {
			u8 v4[4];

			if (ftpe_parse_ipv4(s + pos, len - pos, v4))
				return -1;
			groups[n++] = (u16)(v4[0] << 8 | v4[1]);
			groups[n++] = (u16)(v4[2] << 8 | v4[3]);
			pos = len;
			break;
		}
		g = 0;
		digits = 0;
		while (pos < len && (d = ftpe_hexval(s[pos])) >= 0) {
			if (++digits > 4)
				return -1;
			g = (u16)(g << 4 | d);
			pos++;
		}
		if (!digits)
			return -1;
		groups[n++] = g;
		if (pos == len)
			break;
		if (s[pos++] != ':')
			return -1;
		if (pos < len && s[pos] == ':') {
			if (gap >= 0)
				return -1;
			gap = n;
			pos++;
		} else if (pos == len) {
			return -1;	/* trailing single ':' */
		}
	}
	if (gap < 0 && n != 8)
		return -1;
	if (gap >= 0 && n == 8)
		return -1;

	memset(addr, 0, 16);
	for (i = 0; i < n; i++) {
		int slot = (gap >= 0 && i >= gap) ? i + 8 - n : i;

		addr[2 * slot] = (u8)(groups[i] >> 8);
		addr[2 * slot + 1] = (u8)groups[i];
	}
	return 0;
}

/* "<d><af><d><addr><d><port><d>" (RFC 2428) at *pos, nothing after it. */
static int ftpe_parse_eprt(const char *s, unsigned int len, unsigned int pos,
			   struct ftpe_endpoint *ep)
{
	unsigned int start, at = pos;
	char delim;
	long af;

	if (pos >= len)
		return -1;
	delim = s[pos++];
	/* Any printable non-digit ASCII character may delimit (RFC 2428). */
	if (delim < 33 || delim > 126 || ftpe_is_digit(delim))
		return -1;

	memset(ep, 0, sizeof(*ep));
	af = ftpe_number(s, len, &pos);
	if (pos >= len || s[pos++] != delim)
		return -1;

	start = pos;
	while (pos < len && s[pos] != delim)
		pos++;
	if (pos >= len)
		return -1;
	if (af == 1) {
		ep->family = FTPE_AF_INET;
		if (ftpe_parse_ipv4(s + start, pos - start, ep->addr))
			return -1;
	} else if (af == 2) {
		ep->family = FTPE_AF_INET6;
		if (ftpe_parse_ipv6(s + start, pos - start, ep->addr))
			return -1;
	} else {
		return -1;
	}
	pos++;

	if (ftpe_parse_port_number(s, len, &pos, &ep->port))
		return -1;
	if (pos >= len || s[pos++] != delim)
		return -1;
	ep->at = (u16)at;
	ep->span = (u16)(pos - at);
	ftpe_skip_spaces(s, len, &pos);
	return pos == len ? 0 : -1;
}

/* Four letters as one word, to recognise a verb in one comparison. */
#define FTPE_WORD(a, b, c, d) \
	((u32)(u8)(a) << 24 | (u32)(u8)(b) << 16 | (u32)(u8)(c) << 8 | \
	 (u32)(u8)(d))

static u8 ftpe_verb_of(u32 w)
{
	switch (w) {
	case FTPE_WORD('P', 'O', 'R', 'T'):
		return FTPE_VERB_PORT;
	case FTPE_WORD('E', 'P', 'R', 'T'):
		return FTPE_VERB_EPRT;
	case FTPE_WORD('P', 'A', 'S', 'V'):
		return FTPE_VERB_PASV;
	case FTPE_WORD('E', 'P', 'S', 'V'):
		return FTPE_VERB_EPSV;
	case FTPE_WORD('R', 'E', 'T', 'R'):
	case FTPE_WORD('S', 'T', 'O', 'R'):
	case FTPE_WORD('S', 'T', 'O', 'U'):
	case FTPE_WORD('A', 'P', 'P', 'E'):
	case FTPE_WORD('L', 'I', 'S', 'T'):
	case FTPE_WORD('N', 'L', 'S', 'T'):
	case FTPE_WORD('M', 'L', 'S', 'D'):
		return FTPE_VERB_XFER;
	case FTPE_WORD('A', 'B', 'O', 'R'):
		return FTPE_VERB_ABOR;
	case FTPE_WORD('Q', 'U', 'I', 'T'):
		return FTPE_VERB_QUIT;
	case FTPE_WORD('A', 'U', 'T', 'H'):
		return FTPE_VERB_AUTH;
	}
	return FTPE_VERB_OTHER;
}

/* Trailing blanks that some clients send before CRLF. */
static unsigned int ftpe_trim(const char *s, unsigned int len)
{
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\r'))
		len--;
	return len;
}

/*
 * The first digit at or after @pos in @s, or @len.  A word at a time: the
 * text before a 227's numbers is read on every passive negotiation.  Per
 * byte b, with y = b & 0x7f, ((127 + ':' - y) & ~b & (y + 127 - '/'))
 * has its high bit set exactly when b is below 128 and between '/' and
 * ':', and no byte's sum or difference reaches into the next: exact, and,
 * little-endian, the first such byte is the lowest one flagged.
 */
static unsigned int ftpe_first_digit(const char *s, unsigned int pos,
				     unsigned int len)
{
	const u64 ones = 0x0101010101010101ULL, low7 = ones * 0x7f;
	u64 x, y, v;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; len - pos >= 8; pos += 8) {
		memcpy(&x, s + pos, sizeof(x));
		y = x & low7;
		v = (ones * (127 + ':') - y) & ~x & (y + ones * (127 - '/'));
		v &= ones << 7;
		if (v)
			return pos + (__builtin_ctzll(v) >> 3);
	}
#endif
	while (pos < len && !ftpe_is_digit(s[pos]))
		pos++;
	return pos;
}

/* "NNN" at the start of @line as a code 100..599, or -1. */
static int ftpe_reply_code(const char *line, unsigned int len)
{
	int code;

	if (len < 3 || !ftpe_is_digit(line[0]) || !ftpe_is_digit(line[1]) ||
	    !ftpe_is_digit(line[2]))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 100 || code > 599)
		return -1;
	return code;
}

enum ftpe_verb ftpe_parse_command(const char *line, unsigned int len,
				  struct ftpe_endpoint *ep)
{
	unsigned int pos;
	u8 verb;

	len = ftpe_trim(line, len);
	/* A reply on the client's side is an attack or garbage, never a verb. */
	if (ftpe_reply_code(line, len) >= 0)
		return FTPE_VERB_MALFORMED;
	/* Every verb we act on has four letters and ends there. */
	if (len < 4 || (len > 4 && line[4] != ' '))
		return FTPE_VERB_OTHER;
	verb = ftpe_verb_of(FTPE_WORD(ftpe_upper(line[0]), ftpe_upper(line[1]),
				      ftpe_upper(line[2]), ftpe_upper(line[3])));

	pos = 4;
	ftpe_skip_spaces(line, len, &pos);
	switch (verb) {
	case FTPE_VERB_PORT:
		if (ftpe_parse_hostport(line, len, &pos, ep) || pos != len)
			return FTPE_VERB_MALFORMED;
		break;
	case FTPE_VERB_EPRT:
		if (ftpe_parse_eprt(line, len, pos, ep))
			return FTPE_VERB_MALFORMED;
		break;
	case FTPE_VERB_PASV:
		if (pos != len)
			return FTPE_VERB_MALFORMED;
		break;
	case FTPE_VERB_EPSV:
		/* "EPSV", "EPSV ALL" or "EPSV <protocol number>". */
		if (pos == len)
			break;
		if (len - pos == 3 && ftpe_upper(line[pos]) == 'A' &&
		    ftpe_upper(line[pos + 1]) == 'L' &&
		    ftpe_upper(line[pos + 2]) == 'L')
			break;
		if ((line[pos] == '1' || line[pos] == '2') && pos + 1 == len)
			break;
		return FTPE_VERB_MALFORMED;
	default:
		break;
	}
	return (enum ftpe_verb)verb;
}

int ftpe_reply_feed(struct ftpe_reply_state *st, const char *line,
		    unsigned int len)
{
	int code = ftpe_reply_code(line, len);

	if (st->ml_code) {
		/* Only "NNN " with the opening code closes a multi-line reply. */
		if (code == st->ml_code && (len == 3 || line[3] == ' ')) {
			st->ml_code = 0;
			return code;
		}
		return 0;
	}
	if (code < 0)
		return -1;
	if (len == 3 || line[3] == ' ')
		return code;
	if (line[3] == '-') {
		st->ml_code = (u16)code;
		return 0;
	}
	return -1;
}

int ftpe_parse_227(const char *line, unsigned int len,
		   struct ftpe_endpoint *ep)
{
	unsigned int pos = 3, end;

	len = ftpe_trim(line, len);
	if (ftpe_reply_code(line, len) != 227)
		return -1;
	/* The six numbers start at the first digit after the code. */
	pos = ftpe_first_digit(line, pos, len);
	if (ftpe_parse_hostport(line, len, &pos, ep))
		return -1;
	/* A seventh number or a longer run means this was not the tuple. */
	end = pos;
	if (end < len && (ftpe_is_digit(line[end]) || line[end] == ','))
		return -1;
	return 0;
}

int ftpe_parse_229(const char *line, unsigned int len,
		   struct ftpe_endpoint *ep)
{
	unsigned int pos = 3;
	char d;

	len = ftpe_trim(line, len);
	if (ftpe_reply_code(line, len) != 229)
		return -1;
	while (pos < len && line[pos] != '(')
		pos++;
	/* "(" d d d port d ")" with one delimiter repeated four times. */
	if (pos + 5 >= len)
		return -1;
	pos++;
	d = line[pos];
	if (d < 33 || d > 126 || ftpe_is_digit(d) ||
	    line[pos + 1] != d || line[pos + 2] != d)
		return -1;
	pos += 3;
	memset(ep, 0, sizeof(*ep));
	ep->at = (u16)pos;
	if (ftpe_parse_port_number(line, len, &pos, &ep->port))
		return -1;
	ep->span = (u16)(pos - ep->at);
	if (pos + 1 >= len || line[pos] != d || line[pos + 1] != ')')
		return -1;
	return 0;
}
