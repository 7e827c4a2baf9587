// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a whole control connection, both directions, through
 * stream -> parse -> fsm wired the way helper.c wires them (commands only
 * from the client, replies only from the server, announced endpoints vetted
 * against the peers' own addresses and min_port).
 *
 * Input: a transcript, one message per line, '>' for client -> server and
 * '<' for server -> client (the rest of the line and its '\n' are the bytes
 * sent; a line with any other first byte is sent by the client).  An
 * optional first line "#..." seeds how the messages are cut into segments:
 * whole, one byte each, random pieces, retransmissions carrying different
 * bytes, holes, and whether the connection is IPv4 or IPv6.
 *
 * Invariants, checked after every step (abort() on violation):
 *  - at most one expectation is live, and none while the state is IDLE;
 *  - an expectation only ever names the client (PORT/EPRT) or the server
 *    (227/229), on a port >= MIN_PORT;
 *  - the state is one of the five, EXEC_COMP is never left behind;
 *  - no line handed on is longer than FTPE_LINE_MAX, no partial buffer is
 *    held at rest beyond FTPE_LINE_MAX + 2 bytes;
 *  - when no byte was lost or cut, the lines handed on are exactly the
 *    bytes sent the first time (a retransmission cannot swap in text).
 */
#include <stdint.h>
#include <stdio.h>

#include "parse.h"
#include "stream.h"
#include "fsm.h"

#define MIN_PORT	1024
#define MAX_STREAM	8192	/* -max_len is 4096 */

#define check(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "invariant failed: %s (line %d)\n",	\
			#cond, __LINE__);				\
		abort();						\
	}								\
} while (0)

enum { DIR_C, DIR_S };

struct dirstate {
	struct ftpe_stream st;
	u32 isn;
	char *sent;		/* bytes sent the first time, in order */
	size_t len;
	char *seen;		/* lines handed on, terminators restored */
	size_t seen_len;
	unsigned int ev;
	bool cut;		/* a line was truncated: no exact replay */
	bool lost;		/* a segment was dropped: no exact replay */
};

struct sess {
	struct dirstate d[2];
	struct ftpe_reply_state rs;
	struct ftpe_fsm f;
	u8 family;
	u8 client[16], server[16];
	bool live;
	bool dark;
	u32 rng;
};

static u32 rnd(struct sess *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static bool ep_is(const struct sess *s, const struct ftpe_endpoint *ep,
		  const u8 *addr)
{
	return ep->family == s->family &&
	       !memcmp(ep->addr, addr, s->family == FTPE_AF_INET6 ? 16 : 4);
}

static bool vet(const struct sess *s, const struct ftpe_endpoint *ep,
		const u8 *peer)
{
	return ep_is(s, ep, peer) && ep->port >= MIN_PORT;
}

static void apply(struct sess *s, unsigned int r)
{
	if (r & FTPE_DO_REMOVE)
		s->live = false;
	if (r & FTPE_DO_CREATE) {
		check(!s->live);
		check(s->f.ep.port >= MIN_PORT);
		if (ftpe_mode_active(s->f.mode))
			check(ep_is(s, &s->f.ep, s->client));
		else
			check(ep_is(s, &s->f.ep, s->server));
		s->live = true;
	}
	if (r & FTPE_EV_TLS)
		s->dark = true;
	check(s->f.state < FTPE_STATE_COUNT);
	check(s->f.state != FTPE_EXEC_COMP);
	check(!(s->f.state == FTPE_IDLE && s->live));
	check(s->f.state == FTPE_IDLE || s->f.mode == FTPE_VERB_PORT ||
	      s->f.mode == FTPE_VERB_EPRT || s->f.mode == FTPE_VERB_PASV ||
	      s->f.mode == FTPE_VERB_EPSV);
}

/* Record a handed-on line for the replay check. */
static void record(struct dirstate *d, const char *line, unsigned int len,
		   unsigned int flags)
{
	check(len <= FTPE_LINE_MAX);
	if (flags & FTPE_LINE_TRUNCATED) {
		d->cut = true;
		return;
	}
	if (d->seen_len + len + 2 > MAX_STREAM) {
		d->cut = true;
		return;
	}
	memcpy(d->seen + d->seen_len, line, len);
	d->seen_len += len;
	if (!(flags & FTPE_LINE_BARE_LF))
		d->seen[d->seen_len++] = '\r';
	d->seen[d->seen_len++] = '\n';
}

/* Parser input in a buffer of exactly @len bytes, so ASan sees overreads. */
static char *exact(const char *line, unsigned int len)
{
	char *p = malloc(len ? len : 1);

	check(p);
	memcpy(p, line, len);
	return p;
}

static void client_line(void *ctx, const char *line, unsigned int len,
			unsigned int flags)
{
	struct sess *s = ctx;
	struct ftpe_endpoint ep;
	enum ftpe_verb verb;
	char *p;

	record(&s->d[DIR_C], line, len, flags);
	if (s->dark)
		return;
	p = exact(line, len);
	memset(&ep, 0xa5, sizeof(ep));
	verb = ftpe_parse_command(p, len, &ep);
	check(verb < FTPE_VERB_COUNT && verb != FTPE_VERB_REFUSED);
	if ((flags & FTPE_LINE_TRUNCATED) &&
	    (verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT))
		verb = FTPE_VERB_MALFORMED;
	if (verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT) {
		check(ep.port);
		check(ep.family == FTPE_AF_INET ||
		      (verb == FTPE_VERB_EPRT && ep.family == FTPE_AF_INET6));
		if (!vet(s, &ep, s->client))
			verb = FTPE_VERB_REFUSED;
	}
	apply(s, ftpe_fsm_command(&s->f, verb, &ep));
	free(p);
}

static void server_line(void *ctx, const char *line, unsigned int len,
			unsigned int flags)
{
	struct sess *s = ctx;
	const struct ftpe_endpoint *vetted = NULL;
	struct ftpe_endpoint ep;
	int code, rc;
	char *p;

	record(&s->d[DIR_S], line, len, flags);
	if (s->dark)
		return;
	p = exact(line, len);
	code = ftpe_reply_feed(&s->rs, p, len);
	check(code == -1 || code == 0 || (code >= 100 && code <= 599));
	check(!s->rs.ml_code ||
	      (s->rs.ml_code >= 100 && s->rs.ml_code <= 599));
	if (code <= 0)
		goto out;
	if (ftpe_fsm_wants_endpoint(&s->f, (u16)code) &&
	    !(flags & FTPE_LINE_TRUNCATED)) {
		memset(&ep, 0x5a, sizeof(ep));
		rc = code == 227 ? ftpe_parse_227(p, len, &ep) :
				   ftpe_parse_229(p, len, &ep);
		if (!rc) {
			check(ep.port);
			if (code == 229) {
				check(ep.family == 0);
				ep.family = s->family;
				memcpy(ep.addr, s->server, 16);
			} else {
				check(ep.family == FTPE_AF_INET);
			}
			if (vet(s, &ep, s->server))
				vetted = &ep;
		}
	}
	apply(s, ftpe_fsm_reply(&s->f, (u16)code, vetted));
out:
	free(p);
}

/* A segment's bytes; the read functions check every access against it. */
struct seg {
	const char *p;
	unsigned int len;
};

static const char *read_copy(const void *src, unsigned int off,
			     unsigned int len, char *buf)
{
	const struct seg *sg = src;

	check(off <= sg->len && len <= sg->len - off);
	memcpy(buf, sg->p + off, len);
	return buf;
}

static const char *read_flat(const void *src, unsigned int off,
			     unsigned int len, char *buf)
{
	const struct seg *sg = src;

	(void)buf;
	check(off <= sg->len && len <= sg->len - off);
	return sg->p + off;
}

/* Feed @len bytes at stream offset @off; @junk replaces them with noise. */
static void segment(struct sess *s, int dir, size_t off, size_t len,
		    bool junk)
{
	static char noise[MAX_STREAM];
	struct dirstate *d = &s->d[dir];
	struct seg sg = { d->sent + off, (unsigned int)len };
	size_t i;

	if (junk) {
		for (i = 0; i < len; i++)
			noise[i] = "227 (6,6,6,6,4,1)\r\n"[rnd(s) % 19];
		sg.p = noise;
	}
	d->ev |= ftpe_stream_feed(&d->st, d->isn + (u32)off, &sg, 0,
				  (unsigned int)len,
				  rnd(s) & 1 ? read_copy : read_flat,
				  dir == DIR_C ? client_line : server_line, s);
	check(d->st.held <= FTPE_LINE_MAX + 2);
	check(!d->st.held || d->st.partial);
}

/* Send the bytes [start, end) of @dir the way the seed says. */
static void send_bytes(struct sess *s, int dir, size_t start, size_t end,
		       u8 mode)
{
	size_t off, n, back;

	switch (mode % 4) {
	case 0:
		segment(s, dir, start, end - start, false);
		return;
	case 1:
		for (off = start; off < end; off++)
			segment(s, dir, off, 1, false);
		return;
	default:
		break;
	}
	for (off = start; off < end; off += n) {
		n = 1 + rnd(s) % 40;
		if (n > end - off)
			n = end - off;
		/* An old segment again, with different bytes in it. */
		if (off && rnd(s) % 6 == 0) {
			back = 1 + rnd(s) % off;
			segment(s, dir, off - back, 1 + rnd(s) % back,
				rnd(s) & 1);
		}
		/* Mode 3 loses a segment now and then. */
		if (mode % 4 == 3 && rnd(s) % 16 == 0) {
			s->d[dir].lost = true;
			continue;
		}
		segment(s, dir, off, n, false);
	}
}

static void finish(struct sess *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct dirstate *d = &s->d[i];
		size_t rest;

		if (!(d->ev & (FTPE_STREAM_EV_GAP | FTPE_STREAM_EV_NOMEM)) &&
		    !d->cut && !d->lost && !s->dark) {
			/* What was handed on is what was sent, up to a line
			 * still open at the end.
			 */
			check(d->seen_len <= d->len);
			check(!memcmp(d->seen, d->sent, d->seen_len));
			rest = d->len - d->seen_len;
			check(!memchr(d->sent + d->seen_len, '\n', rest));
			check(rest == d->st.held ||
			      (d->st.flags & FTPE_STREAM_SKIPPING));
		}
		ftpe_stream_reset(&d->st);
		check(!d->st.partial && !d->st.held);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not cleared per run: only [0, len) of each is ever read. */
	static char sent[2][MAX_STREAM], seen[2][MAX_STREAM];
	static struct sess sess;
	struct sess *s = &sess;
	const char *p = (const char *)data, *end = p + size, *nl;
	u8 mode = 0;
	size_t n, start;
	int dir, i;

	memset(s, 0, sizeof(*s));
	s->rng = 0x9e3779b9u;
	if (p < end && *p == '#') {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		for (; p < nl; p++)
			s->rng = s->rng * 31 + (u8)*p;
		mode = (u8)(s->rng >> 8);
	}
	s->rng |= 1;
	s->family = (mode & 0x10) ? FTPE_AF_INET6 : FTPE_AF_INET;
	if (s->family == FTPE_AF_INET) {
		memcpy(s->client, "\x0a\x00\x01\x02", 4);
		memcpy(s->server, "\x0a\x00\x02\x02", 4);
	} else {
		memcpy(s->client, "\x20\x01\x0d\xb8\0\x01\0\0\0\0\0\0\0\0\0\x02",
		       16);
		memcpy(s->server, "\x20\x01\x0d\xb8\0\x02\0\0\0\0\0\0\0\0\0\x02",
		       16);
	}
	/* Sequence numbers that wrap early on. */
	s->d[DIR_C].isn = 0xfffffff0u - (mode & 0x0f);
	s->d[DIR_S].isn = 0xffffff00u + (mode & 0x0f);
	for (i = 0; i < 2; i++) {
		s->d[i].sent = sent[i];
		s->d[i].seen = seen[i];
		s->d[i].st.next_seq = s->d[i].isn;
		s->d[i].st.flags = FTPE_STREAM_SYNCED;
	}
	ftpe_fsm_init(&s->f);
	/* Both timings of the active pinhole; the invariants hold for each. */
	s->f.strict_active = (mode & 0x20) != 0;

	while (p < end) {
		nl = memchr(p, '\n', end - p);
		n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
		dir = *p == '<' ? DIR_S : DIR_C;
		if (*p == '<' || *p == '>') {
			p++;
			n--;
		}
		if (s->d[dir].len + n > MAX_STREAM)
			break;
		start = s->d[dir].len;
		memcpy(s->d[dir].sent + start, p, n);
		s->d[dir].len += n;
		send_bytes(s, dir, start, start + n, mode);
		p += n;
	}
	finish(s);
	return 0;
}
