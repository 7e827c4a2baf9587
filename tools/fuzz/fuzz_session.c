// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a whole control connection, both directions, through
 * the stream and the session core (session.c), the same code the helper
 * runs: commands only from the client, replies only from the server,
 * announced endpoints vetted against the peers' own addresses and
 * min_port.
 *
 * Input: a transcript, one message per line, '>' for client -> server and
 * '<' for server -> client (the rest of the line and its '\n' are the bytes
 * sent; a line with any other first byte is sent by the client).  An
 * optional first line "#..." seeds how the messages are cut into segments:
 * whole, one byte each, random pieces, retransmissions carrying different
 * bytes, holes; whether the connection is IPv4 or IPv6; which active
 * timing; and whether it is translated (NAT).
 *
 * Invariants, checked after every step (abort() on violation):
 *  - at most one expectation is live, and none while the state is IDLE;
 *  - an expectation only ever names the client (PORT/EPRT) or the server
 *    (227/229), on a port >= MIN_PORT;
 *  - the state is one of the five, EXEC_COMP is never left behind;
 *  - translated, a well-formed PORT/EPRT naming the client or 227 naming
 *    the server is never let through as written: the decision hides it
 *    (rewrite) or refuses the line; one cut off as overlong is refused;
 *  - no line handed on is longer than FTPE_LINE_MAX, no partial buffer is
 *    held at rest beyond FTPE_LINE_MAX + 2 bytes;
 *  - when no byte was lost or cut, the lines handed on are exactly the
 *    bytes sent the first time (a retransmission cannot swap in text);
 *  - a line the kernel side fails to carry out (a pinhole or a rewrite,
 *    failed at random) leaves the session as it was but for a resync, and
 *    is read again from the segment's resend.
 */
#include <stdint.h>
#include <stdio.h>

#include "parse.h"
#include "session.h"
#include "stream.h"

#define MIN_PORT	1024
#define MAX_STREAM	8192	/* -max_len is 4096 */

#include "check.h"

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
	struct ftpe_session ss;
	struct ftpe_peers peers;
	bool live;
	bool must_take;		/* the kernel side succeeds: the last resend */
	bool tls;		/* a 234 to AUTH was read: records follow */
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
		  enum ftpe_side side)
{
	return ep->family == s->peers.family &&
	       !memcmp(ep->addr, s->peers.addr[side],
		       s->peers.family == FTPE_AF_INET6 ? 16 : 4);
}

/* The decision @d was carried out: commit it, and check what it did. */
static void apply(struct sess *s, const struct ftpe_decision *d)
{
	const struct ftpe_fsm *f = &s->ss.fsm;
	unsigned int r = d->r;

	check(d->ncounts <= FTPE_DEC_COUNTS);
	ftpe_session_commit(&s->ss, d);
	if (r & FTPE_DO_REMOVE)
		s->live = false;
	if (r & FTPE_DO_CREATE) {
		check(!s->live);
		check(f->ep.port >= MIN_PORT);
		check(ep_is(s, &f->ep, ftpe_mode_active(f->mode) ?
				       FTPE_CLIENT : FTPE_SERVER));
		s->live = true;
	}
	check(f->state < FTPE_STATE_COUNT);
	check(f->state != FTPE_EXEC_COMP);
	check(!(f->state == FTPE_IDLE && s->live));
	check(f->state == FTPE_IDLE || f->mode == FTPE_VERB_PORT ||
	      f->mode == FTPE_VERB_EPRT || f->mode == FTPE_VERB_PASV ||
	      f->mode == FTPE_VERB_EPSV);
}

/*
 * Translated, where the announcer is known beyond the router by another
 * address: a line naming its own address as an endpoint (read here with
 * the parser, independently of the decision) must be hidden or refused.
 */
static void check_nat(struct sess *s, enum ftpe_side side, const char *p,
		      unsigned int len, unsigned int flags,
		      const struct ftpe_decision *d)
{
	struct ftpe_endpoint ep;
	enum ftpe_verb verb;
	bool names;

	if (!s->peers.nat || !s->peers.hidden[side])
		return;
	if (flags & FTPE_LINE_TRUNCATED) {
		if (ftpe_line_announces(side, p, len, false))
			check(d->flags & FTPE_DEC_UNREADABLE);
		return;
	}
	if (side == FTPE_CLIENT) {
		verb = ftpe_parse_command(p, len, &ep);
		names = (verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT) &&
			ep_is(s, &ep, FTPE_CLIENT);
	} else {
		names = !ftpe_parse_227(p, len, &ep) &&
			ep_is(s, &ep, FTPE_SERVER);
	}
	if (names) {
		check(d->flags & FTPE_DEC_HIDE);
		check(ep_is(s, &d->hidden, side));
	}
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

/*
 * A decision that needs the kernel (a pinhole, a NAT rewrite) fails now
 * and then, as the kernel's may (no memory, conntrack refuses): the line is
 * refused, the stream unreads it, and the segment comes again.
 */
static bool kernel_fails(struct sess *s, const struct ftpe_decision *d)
{
	/* Translated and cut off: the kernel never lets it pass. */
	if (d->flags & FTPE_DEC_UNREADABLE)
		return true;
	if (!(d->flags & (FTPE_DEC_ANNOUNCE | FTPE_DEC_HIDE)) &&
	    !(d->r & FTPE_DO_CREATE))
		return false;
	return !s->must_take && rnd(s) % 4 == 0;
}

static enum ftpe_line_next on_line(struct sess *s, enum ftpe_side side,
				   const char *line, unsigned int len,
				   unsigned int flags)
{
	struct ftpe_fsm before = s->ss.fsm;
	struct ftpe_decision d;
	char *p;

	p = exact(line, len);
	if (side == FTPE_CLIENT)
		ftpe_session_command(&s->ss, &s->peers, p, len, flags, &d);
	else
		ftpe_session_reply(&s->ss, &s->peers, p, len, flags, &d);
	check(d.mode < FTPE_VERB_COUNT && d.mode != FTPE_VERB_REFUSED);
	check(!d.refused || d.refused < FTPE_REASON_NAT_FAILED);
	check(!(d.flags & FTPE_DEC_ANNOUNCE) || s->peers.nat);
	check_nat(s, side, p, len, flags, &d);
	free(p);
	if (kernel_fails(s, &d)) {
		ftpe_session_refused(&s->ss, &d);
		/* Refused: nothing of the line stays but a resync. */
		if (d.flags & FTPE_DEC_RESYNC)
			ftpe_fsm_resync(&before);
		check(!memcmp(&before, &s->ss.fsm, sizeof(before)));
		return FTPE_LINE_STOP;
	}
	record(&s->d[side], line, len, flags);
	apply(s, &d);
	/* As the kernel does: both directions carry TLS records now. */
	if (d.r & FTPE_EV_TLS) {
		check(side == FTPE_SERVER);
		s->tls = true;
		ftpe_stream_start_tls(&s->d[DIR_C].st, FTPE_TLS_COMMANDS);
		return FTPE_LINE_TLS;
	}
	return FTPE_LINE_NEXT;
}

static enum ftpe_line_next client_line(void *ctx, const char *line,
				       unsigned int len, unsigned int flags)
{
	return on_line(ctx, FTPE_CLIENT, line, len, flags);
}

static enum ftpe_line_next server_line(void *ctx, const char *line,
				       unsigned int len, unsigned int flags)
{
	return on_line(ctx, FTPE_SERVER, line, len, flags);
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
	unsigned int ev, tries;
	size_t i;

	if (junk) {
		for (i = 0; i < len; i++)
			noise[i] = "227 (6,6,6,6,4,1)\r\n"[rnd(s) % 19];
		sg.p = noise;
	}
	/*
	 * A segment whose line was refused is dropped: the sender resends,
	 * and the fifth resend finds the kernel side working.  Only a line
	 * the kernel never lets pass (translated, cut off) stalls the
	 * connection: what follows lies beyond a hole.
	 */
	for (tries = 0;; tries++) {
		s->must_take = tries == 5;
		ev = ftpe_stream_feed(&d->st, d->isn + (u32)off, &sg, 0,
				      (unsigned int)len,
				      rnd(s) & 1 ? read_copy : read_flat,
				      dir == DIR_C ? client_line : server_line,
				      s);
		d->ev |= ev & ~FTPE_STREAM_EV_STOPPED;
		if (!(ev & FTPE_STREAM_EV_STOPPED))
			break;
		if (tries == 5) {
			d->lost = true;
			break;
		}
	}
	s->must_take = false;
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
		    !d->cut && !d->lost && !s->tls) {
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
	s->peers.family = (mode & 0x10) ? FTPE_AF_INET6 : FTPE_AF_INET;
	if (s->peers.family == FTPE_AF_INET) {
		memcpy(s->peers.addr[FTPE_CLIENT], "\x0a\x00\x01\x02", 4);
		memcpy(s->peers.addr[FTPE_SERVER], "\x0a\x00\x02\x02", 4);
	} else {
		memcpy(s->peers.addr[FTPE_CLIENT],
		       "\x20\x01\x0d\xb8\0\x01\0\0\0\0\0\0\0\0\0\x02", 16);
		memcpy(s->peers.addr[FTPE_SERVER],
		       "\x20\x01\x0d\xb8\0\x02\0\0\0\0\0\0\0\0\0\x02", 16);
	}
	s->peers.min_port = MIN_PORT;
	/* Both timings of the active pinhole; the invariants hold for each. */
	s->peers.strict_active = (mode & 0x20) != 0;
	/* Translated: SNAT, DNAT, or both. */
	s->peers.nat = (mode & 0x40) != 0;
	s->peers.hidden[FTPE_CLIENT] = s->peers.nat && (s->rng & 0x100);
	s->peers.hidden[FTPE_SERVER] = s->peers.nat && (s->rng & 0x200);
	/* Sequence numbers that wrap early on. */
	s->d[DIR_C].isn = 0xfffffff0u - (mode & 0x0f);
	s->d[DIR_S].isn = 0xffffff00u + (mode & 0x0f);
	for (i = 0; i < 2; i++) {
		s->d[i].sent = sent[i];
		s->d[i].seen = seen[i];
		s->d[i].st.next_seq = s->d[i].isn;
		s->d[i].st.flags = FTPE_STREAM_SYNCED;
	}
	ftpe_session_init(&s->ss);

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
