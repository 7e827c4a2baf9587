// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests: whole FTP control-channel transcripts replayed through
 * the stream and the session core (session.c), the code the kernel helper
 * runs, in userspace under ASan/UBSan.  Each transcript names its server's
 * address; the client is 192.168.122.1 (2001:db8::1 for IPv6), and every
 * endpoint announced is vetted against them and min_port 1024.
 *
 * Each transcript is replayed with several segmentations (whole messages,
 * one byte per segment, every segment sent three times, random splits with
 * overlapping and stale retransmissions, bare LF line ends, the second
 * part of each message delivered before the first and again after it, or
 * never again, as to a receiver that kept it (SACK)).  The harness
 * models the one expectation the helper may hold and logs what the result
 * bits make it do:
 *
 *   +ADDR:PORT   CREATE (ADDR "*" when the reply named none: 229)
 *   -done        REMOVE of the live expectation with FTPE_EV_DONE
 *   -abort       ... with FTPE_EV_ABORTED
 *   -repl        ... with FTPE_EV_REPLACED
 *   unsol        FTPE_EV_UNSOLICITED
 *   tls          FTPE_EV_TLS (the streams carry TLS records from there)
 *
 * and compares the log with the expected one.  It also checks on every step
 * that no expectation outlives its flow-table row (state IDLE with a live
 * expectation), that CREATE never stacks a second expectation, that
 * EXEC_COMP is never left behind, and at the end that the state is IDLE and
 * no partial-line buffer is held.
 *
 * Output: one "ok - host: NAME" or "not ok - host: NAME" line per case, with
 * "#" diagnostics after a failure; exit status 1 if anything failed.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "parse.h"
#include "session.h"
#include "stream.h"

#define DIR_C	0	/* client -> server */
/* How much of a line a diagnostic shows. */
#define SHOWN(len)	((int)((len) > 60 ? 60 : (len)))
#define DIR_S	1	/* server -> client */

struct msg {
	int dir;
	const char *text;
};

struct transcript {
	const char *name;
	const struct msg *msgs;
	const char *expect;
	const char *server;	/* its address, IPv4 or IPv6 */
	bool strict;		/* strict_active: the founding timing */
	/*
	 * The log under SEG_SACK, if not @expect: after a lost line, the
	 * replies are matched to the newest command only (ftpe_fsm_resync()),
	 * which costs pipelined commands their negotiation.
	 */
	const char *expect_gap;
};

enum seg_mode {
	SEG_WHOLE,
	SEG_BYTE,
	SEG_RETRANS2,
	SEG_RANDOM,
	SEG_BARE_LF,
	SEG_REORDER,
	SEG_SACK,
	SEG_COUNT
};

static const char *const seg_mode_name[SEG_COUNT] = {
	[SEG_WHOLE] = "whole messages",
	[SEG_BYTE] = "one byte per segment",
	[SEG_RETRANS2] = "every segment retransmitted twice",
	[SEG_RANDOM] = "random segments, overlapping and stale retransmissions",
	[SEG_BARE_LF] = "bare LF line ends",
	[SEG_REORDER] = "later part first, then the earlier, then the later again",
	[SEG_SACK] = "a lost line after each message, passed early, never resent",
};

struct session {
	enum seg_mode mode;
	const struct transcript *t;
	struct ftpe_stream st[2];
	u32 isn[2];
	char *bytes[2];		/* everything sent in each direction */
	size_t len[2], cap[2];
	struct ftpe_session ss;
	bool tls;		/* a 234 to AUTH was read */
	struct ftpe_peers peers;
	bool live;
	unsigned int ev[2];	/* union of stream events */
	unsigned int lines[2];	/* lines handed on by each stream */
	size_t unsent[2];	/* trailing bytes never sent in order */
	bool jump_next[2];	/* SEG_SACK: the next message follows a jump */
	bool jump_due[2];	/* its first line must say so */
	unsigned int nseg;
	u32 rng;
	char log[1024];
	char err[2048];
	int nerr;
};

static void fail(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct session *s, const char *fmt, ...)
{
	size_t used = strlen(s->err);
	va_list ap;

	s->nerr++;
	if (s->nerr > 8 || used + 8 >= sizeof(s->err))
		return;
	memcpy(s->err + used, "#   ", 4);
	used += 4;
	va_start(ap, fmt);
	vsnprintf(s->err + used, sizeof(s->err) - used, fmt, ap);
	va_end(ap);
	used = strlen(s->err);
	if (used + 1 < sizeof(s->err)) {
		s->err[used] = '\n';
		s->err[used + 1] = '\0';
	}
}

static void logf_(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct session *s, const char *fmt, ...)
{
	size_t used = strlen(s->log);
	va_list ap;

	if (used && used + 1 < sizeof(s->log))
		s->log[used++] = ' ';
	va_start(ap, fmt);
	vsnprintf(s->log + used, sizeof(s->log) - used, fmt, ap);
	va_end(ap);
}

static void ep_str(const struct ftpe_endpoint *ep, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (ep->family == FTPE_AF_INET) {
		inet_ntop(AF_INET, ep->addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, ep->port);
	} else if (ep->family == FTPE_AF_INET6) {
		inet_ntop(AF_INET6, ep->addr, a, sizeof(a));
		snprintf(buf, size, "[%s]:%u", a, ep->port);
	} else if (ep->family == 0) {
		snprintf(buf, size, "[*]:%u", ep->port);
	} else {
		snprintf(buf, size, "family%u:%u", ep->family, ep->port);
	}
}

/* What the helper does with the result bits. */
static void apply(struct session *s, unsigned int r, const char *what,
		  const char *line, unsigned int len)
{
	char ep[80];

	if ((r & FTPE_DO_REMOVE) && s->live) {
		s->live = false;
		if (r & FTPE_EV_DONE)
			logf_(s, "-done");
		else if (r & FTPE_EV_ABORTED)
			logf_(s, "-abort");
		else if (r & FTPE_EV_REPLACED)
			logf_(s, "-repl");
		else
			logf_(s, "-?");
	}
	if (r & FTPE_DO_CREATE) {
		if (s->live)
			fail(s, "%s \"%.*s\": CREATE while an expectation is live",
			     what, SHOWN(len), line);
		ep_str(&s->ss.fsm.ep, ep, sizeof(ep));
		logf_(s, "+%s", ep);
		s->live = true;
	}
	if (r & FTPE_EV_UNSOLICITED)
		logf_(s, "unsol");
	if (r & FTPE_EV_TLS)
		logf_(s, "tls");
	if (s->ss.fsm.state >= FTPE_STATE_COUNT ||
	    s->ss.fsm.state == FTPE_EXEC_COMP)
		fail(s, "%s \"%.*s\": left in state %u", what, SHOWN(len), line,
		     s->ss.fsm.state);
	if (s->ss.fsm.state == FTPE_IDLE && s->live)
		fail(s, "%s \"%.*s\": IDLE but the expectation is still live",
		     what, SHOWN(len), line);
}

static void check_line_flags(struct session *s, int dir, const char *line,
			     unsigned int len, unsigned int flags)
{
	unsigned int want = s->mode == SEG_BARE_LF ? FTPE_LINE_BARE_LF : 0;

	if (s->jump_due[dir])
		want |= FTPE_LINE_AFTER_GAP;
	s->jump_due[dir] = false;

	if (flags != want)
		fail(s, "%s line \"%.*s\": flags %#x, expected %#x",
		     dir == DIR_C ? "client" : "server", SHOWN(len), line, flags,
		     want);
}

/*
 * NAT rewrites a line where the stream says it starts: line_seq must name
 * the line's first byte, whatever the segmentation.
 */
static void check_line_seq(struct session *s, int dir, const char *line,
			   unsigned int len)
{
	size_t at = (u32)(s->st[dir].line_seq - s->isn[dir]);

	if (at + len > s->len[dir] || memcmp(s->bytes[dir] + at, line, len))
		fail(s, "%s line \"%.*s\": line_seq points at offset %zu",
		     dir == DIR_C ? "client" : "server", SHOWN(len), line, at);
}

/* An endpoint's text lies inside its line. */
static void check_span(struct session *s, const struct ftpe_endpoint *ep,
		       const char *line, unsigned int len)
{
	if (!ep->span || ep->at + ep->span > len)
		fail(s, "\"%.*s\": endpoint at %u+%u outside the line",
		     SHOWN(len), line, ep->at, ep->span);
}

/* Parser input in a buffer of exactly @len bytes, for ASan. */
static char *exact(const char *line, unsigned int len)
{
	char *p = malloc(len ? len : 1);

	if (!p) {
		perror("malloc");
		exit(2);
	}
	memcpy(p, line, len);
	return p;
}

/*
 * SEG_SACK's line, whose bytes pass only while a hole is open before them:
 * never readable, and a line that would break the transcript if it were.
 */
#define SACK_LOST	"XLOST never resent\r\n"

/* Count a line; the one SEG_SACK loses must never be read. */
static void check_not_lost(struct session *s, int dir, const char *line,
			   unsigned int len)
{
	s->lines[dir]++;
	if (len >= 5 && !memcmp(line, SACK_LOST, 5))
		fail(s, "%s line \"%.*s\": read bytes that passed beyond a hole",
		     dir == DIR_C ? "client" : "server", SHOWN(len), line);
}

static enum ftpe_line_next client_line(void *ctx, const char *line,
				       unsigned int len, unsigned int flags)
{
	struct session *s = ctx;
	struct ftpe_decision d;
	struct ftpe_endpoint ep;
	enum ftpe_verb verb;
	char *p;

	check_not_lost(s, DIR_C, line, len);
	check_line_flags(s, DIR_C, line, len, flags);
	check_line_seq(s, DIR_C, line, len);
	p = exact(line, len);
	memset(&ep, 0, sizeof(ep));
	verb = ftpe_parse_command(p, len, &ep);
	if (verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT)
		check_span(s, &ep, line, len);
	ftpe_session_command(&s->ss, &s->peers, p, len, flags, &d);
	ftpe_session_commit(&s->ss, &d);
	apply(s, d.r, "command", line, len);
	free(p);
	return FTPE_LINE_NEXT;
}

static enum ftpe_line_next server_line(void *ctx, const char *line,
				       unsigned int len, unsigned int flags)
{
	struct session *s = ctx;
	struct ftpe_decision d;
	struct ftpe_endpoint ep;
	char *p;

	check_not_lost(s, DIR_S, line, len);
	check_line_flags(s, DIR_S, line, len, flags);
	check_line_seq(s, DIR_S, line, len);
	p = exact(line, len);
	ftpe_session_reply(&s->ss, &s->peers, p, len, flags, &d);
	if (d.code < 0)
		fail(s, "server line \"%.*s\" is not a reply", SHOWN(len), line);
	if (d.code > 0 && (d.code < 100 || d.code > 599))
		fail(s, "reply code %d out of range", d.code);
	memset(&ep, 0, sizeof(ep));
	if ((d.code == 227 && !ftpe_parse_227(p, len, &ep)) ||
	    (d.code == 229 && !ftpe_parse_229(p, len, &ep)))
		check_span(s, &ep, line, len);
	ftpe_session_commit(&s->ss, &d);
	if (d.code > 0)
		apply(s, d.r, "reply", line, len);
	free(p);
	/* As the kernel does: both directions carry TLS records now. */
	if (d.r & FTPE_EV_TLS) {
		s->tls = true;
		ftpe_stream_start_tls(&s->st[DIR_C], FTPE_TLS_COMMANDS);
		return FTPE_LINE_TLS;
	}
	return FTPE_LINE_NEXT;
}

/* The transcript's peers: its server, and the client of its family. */
static void set_peers(struct session *s, const struct transcript *t)
{
	struct ftpe_peers *p = &s->peers;

	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, t->server, p->addr[FTPE_SERVER]) == 1) {
		p->family = FTPE_AF_INET;
		inet_pton(AF_INET, "192.168.122.1", p->addr[FTPE_CLIENT]);
	} else if (inet_pton(AF_INET6, t->server, p->addr[FTPE_SERVER]) == 1) {
		p->family = FTPE_AF_INET6;
		inet_pton(AF_INET6, "2001:db8::1", p->addr[FTPE_CLIENT]);
	} else {
		fprintf(stderr, "%s: bad server address %s\n", t->name,
			t->server);
		exit(2);
	}
	p->min_port = 1024;
	p->strict_active = t->strict;
}

static const char *read_flat(const void *src, unsigned int off,
			     unsigned int len, char *buf)
{
	(void)len;
	(void)buf;
	return (const char *)src + off;
}

static const char *read_copy(const void *src, unsigned int off,
			     unsigned int len, char *buf)
{
	memcpy(buf, (const char *)src + off, len);
	return buf;
}

/* Send bytes [off, off + len) of direction @dir as one segment. */
static void segment(struct session *s, int dir, size_t off, size_t len)
{
	unsigned int hdr = s->nseg % 3 == 2 ? 20 : 0;
	char *pkt = malloc(hdr + len ? hdr + len : 1);

	if (!pkt) {
		perror("malloc");
		exit(2);
	}
	memset(pkt, '\n', hdr);
	memcpy(pkt + hdr, s->bytes[dir] + off, len);
	s->ev[dir] |= ftpe_stream_feed(&s->st[dir], s->isn[dir] + (u32)off,
				       pkt, hdr, len,
				       s->nseg % 2 ? read_copy : read_flat,
				       dir == DIR_C ? client_line :
						      server_line, s);
	s->nseg++;
	free(pkt);
}

static u32 rnd(struct session *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 17;
	s->rng ^= s->rng << 5;
	return s->rng;
}

static void append(struct session *s, int dir, const char *text)
{
	size_t n = strlen(text), i;

	if (s->len[dir] + n + 1 > s->cap[dir]) {
		s->cap[dir] = 2 * (s->len[dir] + n + 1);
		s->bytes[dir] = realloc(s->bytes[dir], s->cap[dir]);
		if (!s->bytes[dir]) {
			perror("realloc");
			exit(2);
		}
	}
	for (i = 0; i < n; i++) {
		if (s->mode == SEG_BARE_LF && text[i] == '\r' &&
		    text[i + 1] == '\n')
			continue;
		s->bytes[dir][s->len[dir]++] = text[i];
	}
}

static void send_msg(struct session *s, const struct msg *m)
{
	int dir = m->dir;
	size_t start = s->len[dir], end, off, n, back, cut;
	const char *nl;
	int i;

	append(s, dir, m->text);
	end = s->len[dir];

	switch (s->mode) {
	case SEG_WHOLE:
	case SEG_BARE_LF:
		segment(s, dir, start, end - start);
		break;
	case SEG_BYTE:
		for (off = start; off < end; off++)
			segment(s, dir, off, 1);
		break;
	case SEG_RETRANS2:
		for (i = 0; i < 3; i++)
			segment(s, dir, start, end - start);
		break;
	case SEG_RANDOM:
		for (off = start; off < end; off += n) {
			n = 1 + rnd(s) % 24;
			if (n > end - off)
				n = end - off;
			/* a stale copy of some older bytes */
			if (off && rnd(s) % 8 == 0) {
				back = 1 + rnd(s) % off;
				segment(s, dir, off - back,
					1 + rnd(s) % back);
			}
			/* resend some old bytes along with the new ones */
			if (off && rnd(s) % 4 == 0) {
				back = 1 + rnd(s) % (off < 16 ? off : 16);
				segment(s, dir, off - back, back + n);
			} else {
				segment(s, dir, off, n);
			}
			if (rnd(s) % 4 == 0)
				segment(s, dir, off, n);
		}
		break;
	case SEG_REORDER:
		/* Cut after the first line if another follows, else midway. */
		nl = memchr(s->bytes[dir] + start, '\n', end - start);
		cut = nl ? (size_t)(nl + 1 - s->bytes[dir]) : end;
		if (cut == end)
			cut = start + (end - start) / 2;
		if (cut == start) {
			segment(s, dir, start, end - start);
			break;
		}
		segment(s, dir, cut, end - cut);
		segment(s, dir, start, cut - start);
		segment(s, dir, cut, end - cut);
		break;
	case SEG_SACK:
		/*
		 * The message lost before this box, a line after it seen
		 * first and never sent again (the receiver has it), then the
		 * message.  The next message starts where that line ended
		 * and must be read: waiting for the line to come again, the
		 * stream would read nothing more.
		 */
		s->unsent[dir] = 0;
		s->jump_due[dir] = s->jump_next[dir];
		s->jump_next[dir] = false;
		if (end == start || s->bytes[dir][end - 1] != '\n') {
			segment(s, dir, start, end - start);
			break;
		}
		append(s, dir, SACK_LOST);
		s->unsent[dir] = s->len[dir] - end;
		segment(s, dir, end, s->unsent[dir]);
		segment(s, dir, start, end - start);
		s->jump_next[dir] = true;
		break;
	default:
		break;
	}
}

static bool run(const struct transcript *t, enum seg_mode mode)
{
	struct session *s = calloc(1, sizeof(*s));
	unsigned int want_lines[2] = { 0, 0 };
	const char *name, *p, *want;
	u32 want_seq;
	bool ok;
	int d;

	if (!s) {
		perror("calloc");
		exit(2);
	}
	s->mode = mode;
	s->t = t;
	s->rng = 0x9e3779b9u;
	for (name = t->name; *name; name++)
		s->rng = s->rng * 31 + (u8)*name;
	s->rng |= 1;
	/* both directions wrap their sequence numbers early on */
	s->isn[DIR_C] = 0xfffffff0u;
	s->isn[DIR_S] = 0xffffff00u;
	for (d = 0; d < 2; d++) {
		s->st[d].next_seq = s->isn[d];
		s->st[d].flags = FTPE_STREAM_SYNCED;
	}
	ftpe_session_init(&s->ss);
	set_peers(s, t);

	/* every line of the transcript, and nothing else */
	for (d = 0; t->msgs[d].text; d++)
		for (p = t->msgs[d].text; *p; p++)
			want_lines[t->msgs[d].dir] += *p == '\n';
	for (d = 0; t->msgs[d].text; d++)
		send_msg(s, &t->msgs[d]);

	want = mode == SEG_SACK && t->expect_gap ? t->expect_gap : t->expect;
	if (strcmp(s->log, want))
		fail(s, "log \"%s\", expected \"%s\"", s->log, want);
	if (s->ss.fsm.state != FTPE_IDLE)
		fail(s, "final state %s, expected IDLE",
		     ftpe_state_name(s->ss.fsm.state));
	if (s->live)
		fail(s, "an expectation is still live at the end");
	for (d = 0; d < 2; d++) {
		unsigned int bad = FTPE_STREAM_EV_GAP |
				   FTPE_STREAM_EV_OVERLONG |
				   FTPE_STREAM_EV_NOMEM;
		const char *dn = d == DIR_C ? "client" : "server";

		if (mode == SEG_REORDER || mode == SEG_SACK)
			bad &= ~FTPE_STREAM_EV_GAP;
		else if (mode != SEG_RETRANS2 && mode != SEG_RANDOM)
			bad |= FTPE_STREAM_EV_RETRANS;
		if (s->ev[d] & bad)
			fail(s, "%s stream events %#x", dn, s->ev[d]);
		if (mode == SEG_RETRANS2 &&
		    !(s->ev[d] & FTPE_STREAM_EV_RETRANS))
			fail(s, "%s stream never reported EV_RETRANS", dn);
		if ((mode == SEG_REORDER || mode == SEG_SACK) &&
		    !(s->ev[d] & FTPE_STREAM_EV_GAP))
			fail(s, "%s stream never reported EV_GAP", dn);
		if (mode == SEG_BYTE && !(s->ev[d] & FTPE_STREAM_EV_SPLIT))
			fail(s, "%s stream never reported EV_SPLIT", dn);
		if (s->st[d].partial && !s->tls)
			fail(s, "%s stream holds a partial line at the end",
			     dn);
		if (s->lines[d] != want_lines[d] && !s->tls)
			fail(s, "%s stream handed on %u lines, expected %u", dn,
			     s->lines[d], want_lines[d]);
		want_seq = s->isn[d] + (u32)(s->len[d] - s->unsent[d]);
		if (s->st[d].next_seq != want_seq && !s->tls)
			fail(s, "%s next_seq %#x, expected %#x", dn,
			     s->st[d].next_seq, want_seq);
		ftpe_stream_reset(&s->st[d]);
		if (s->st[d].partial)
			fail(s, "%s stream: partial buffer after reset", dn);
		free(s->bytes[d]);
	}

	ok = !s->nerr;
	printf("%s - host: %s (%s)\n", ok ? "ok" : "not ok", t->name,
	       seg_mode_name[mode]);
	if (!ok)
		fputs(s->err, stdout);
	free(s);
	return ok;
}

#define C(text)	{ DIR_C, text }
#define S(text)	{ DIR_S, text }
#define END	{ 0, NULL }

#define LOGIN_VSFTPD \
	S("220 (vsFTPd 3.0.3)\r\n"), \
	C("USER anonymous\r\n"), \
	S("331 Please specify the password.\r\n"), \
	C("PASS anonymous@example.org\r\n"), \
	S("230 Login successful.\r\n")

#define BYE \
	C("QUIT\r\n"), \
	S("221 Goodbye.\r\n")

static const struct msg t_vsftpd_pasv[] = {
	LOGIN_VSFTPD,
	C("SYST\r\n"),
	S("215 UNIX Type: L8\r\n"),
	C("FEAT\r\n"),
	S("211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n"
	  " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"),
	C("PWD\r\n"),
	S("257 \"/\" is the current directory\r\n"),
	C("TYPE I\r\n"),
	S("200 Switching to Binary mode.\r\n"),
	C("SIZE pub/file.bin\r\n"),
	S("213 1048576\r\n"),
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,49).\r\n"),
	C("RETR pub/file.bin\r\n"),
	S("150 Opening BINARY mode data connection for pub/file.bin "
	  "(1048576 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

static const struct msg t_vsftpd_port[] = {
	LOGIN_VSFTPD,
	C("TYPE A\r\n"),
	S("200 Switching to ASCII mode.\r\n"),
	C("PORT 192,168,122,1,195,80\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	C("LIST\r\n"),
	S("150 Here comes the directory listing.\r\n"),
	S("226 Directory send OK.\r\n"),
	C("TYPE I\r\n"),
	S("200 Switching to Binary mode.\r\n"),
	C("PORT 192,168,122,1,195,81\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	C("STOR upload.bin\r\n"),
	S("150 Ok to send data.\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

static const struct msg t_eprt_v6[] = {
	LOGIN_VSFTPD,
	C("EPRT |2|2001:db8::1|50002|\r\n"),
	S("200 EPRT command successful. Consider using EPSV.\r\n"),
	C("RETR a.txt\r\n"),
	S("150 Opening BINARY mode data connection for a.txt (6 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	C("EPSV\r\n"),
	S("229 Entering Extended Passive Mode (|||30002|)\r\n"),
	C("NLST\r\n"),
	S("150 Here comes the directory listing.\r\n"),
	S("226 Directory send OK.\r\n"),
	BYE,
	END
};

static const struct msg t_feat_227[] = {
	S("220-Welcome to the test server\r\n"
	  "220-227 Entering Passive Mode (6,6,6,6,4,1)\r\n"
	  "220 Ready\r\n"),
	C("USER anonymous\r\n"),
	S("331 Please specify the password.\r\n"),
	C("PASS x\r\n"),
	S("230-Message of the day:\r\n"
	  "227 Entering Passive Mode (6,6,6,6,4,2)\r\n"
	  "230 Login successful.\r\n"),
	C("FEAT\r\n"),
	S("211-Features:\r\n EPSV\r\n PASV\r\n"
	  "227 Entering Passive Mode (6,6,6,6,4,3)\r\n"
	  "229 Entering Extended Passive Mode (|||1027|)\r\n"
	  "200 Not the end\r\n"
	  "211 End\r\n"),
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,50)\r\n"),
	C("HELP\r\n"),
	S("214-The following commands are recognized.\r\n"
	  " ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST\r\n"
	  "227 Entering Passive Mode (6,6,6,6,4,4)\r\n"
	  "214 Help OK.\r\n"),
	C("RETR x\r\n"),
	S("150 Opening BINARY mode data connection for x (1 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

static const struct msg t_550[] = {
	LOGIN_VSFTPD,
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,51).\r\n"),
	C("RETR missing.txt\r\n"),
	S("550 Failed to open file.\r\n"),
	C("PORT 192,168,122,1,195,83\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	C("RETR missing.txt\r\n"),
	S("550 Failed to open file.\r\n"),
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,52).\r\n"),
	C("RETR big.iso\r\n"),
	S("150 Opening BINARY mode data connection for big.iso "
	  "(4294967296 bytes).\r\n"),
	S("426 Failure writing network stream.\r\n"),
	BYE,
	END
};

static const struct msg t_curl_epsv_missing[] = {
	LOGIN_VSFTPD,
	C("PWD\r\n"),
	S("257 \"/\" is the current directory\r\n"),
	C("EPSV\r\n"),
	S("229 Entering Extended Passive Mode (|||30010|)\r\n"),
	C("TYPE I\r\n"),
	S("200 Switching to Binary mode.\r\n"),
	C("SIZE missing.txt\r\n"),
	S("550 Could not get file size.\r\n"),
	C("RETR missing.txt\r\n"),
	S("550 Failed to open file.\r\n"),
	BYE,
	END
};

static const struct msg t_abor[] = {
	LOGIN_VSFTPD,
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,53).\r\n"),
	C("RETR big.iso\r\n"),
	S("150 Opening BINARY mode data connection for big.iso "
	  "(4294967296 bytes).\r\n"),
	C("ABOR\r\n"),
	S("426 Failure writing network stream.\r\n"),
	S("226 ABOR successful.\r\n"),
	BYE,
	END
};

static const struct msg t_pyftpdlib_mlsd[] = {
	S("220 pyftpdlib 1.5.7 ready.\r\n"),
	C("USER user\r\n"),
	S("331 Username ok, send password.\r\n"),
	C("PASS 12345\r\n"),
	S("230 Login successful.\r\n"),
	C("TYPE I\r\n"),
	S("200 Type set to: Binary.\r\n"),
	C("PASV\r\n"),
	S("227 Entering passive mode (127,0,0,1,170,37).\r\n"),
	C("MLSD\r\n"),
	S("125 Data connection already open. Transfer starting.\r\n"),
	S("226 Transfer complete.\r\n"),
	C("QUIT\r\n"),
	S("221 Goodbye.\r\n"),
	END
};

static const struct msg t_port_bounce[] = {
	LOGIN_VSFTPD,
	C("PORT 6,6,6,6,0,21\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	C("RETR x\r\n"),
	S("150 Opening BINARY mode data connection for x (1 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	C("PORT 192,168,122,1,195,84\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	C("RETR x\r\n"),
	S("150 Opening BINARY mode data connection for x (1 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

/* Lines of FTPE_LINE_MAX - 1 and FTPE_LINE_MAX bytes: kept whole. */
static const struct msg t_long_lines[] = {
	LOGIN_VSFTPD,
	C("PASV\r\n"),
	S("227 Entering Passive Mode (192,168,122,10,117,54). ........."
	  "............................................................"
	  "............................................................"
	  "............................................................"
	  "................"
	  "\r\n"),
	C("RETR very/long/path/very/long/path/very/long/path/very/long/"
	  "path/very/long/path/very/long/path/very/long/path/very/long/"
	  "path/very/long/path/very/long/path/very/long/path/very/long/"
	  "path/very/long/path/very/long/path/very/long/path/very/long/"
	  "path//xxxxxxxxxx"
	  "\r\n"),
	S("150 Opening BINARY mode data connection for very/long/path/v"
	  "ery/long/path/very/long/path/very/long/path/very/long/path/v"
	  "ery/long/path/very/long/path/very/long/path/very/long/path/v"
	  "ery/long/path/very/long/path/very/long/path/very/long/path/v"
	  " (99999 bytes)."
	  "\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

static const struct msg t_auth_tls[] = {
	S("220 (vsFTPd 3.0.3)\r\n"),
	C("AUTH TLS\r\n"),
	S("234 Proceed with negotiation.\r\n"),
	END
};

/* Commands pipelined in one segment; pyftpdlib answers NOOP mid-transfer. */
static const struct msg t_pipelined[] = {
	LOGIN_VSFTPD,
	C("TYPE I\r\nPASV\r\n"),
	S("200 Type set to: Binary.\r\n"),
	S("227 Entering passive mode (127,0,0,1,117,60).\r\n"),
	C("RETR f\r\n"),
	S("150 File status okay. About to open data connection.\r\n"),
	C("NOOP\r\n"),
	S("200 I successfully done nothin'.\r\n"),
	S("226 Transfer complete.\r\n"),
	C("PORT 192,168,122,1,195,90\r\nRETR g\r\n"),
	S("200 Active data connection established.\r\n"),
	S("125 Data connection already open. Transfer starting.\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

/*
 * PORT, TYPE I and RETR in one segment, as lftp and others send them: the
 * pinhole opens at the 200 to PORT, the RETR having gone already.
 */
static const struct msg t_pipelined_port_type_retr[] = {
	LOGIN_VSFTPD,
	C("PORT 192,168,122,1,195,91\r\nTYPE I\r\nRETR f\r\n"),
	S("200 PORT command successful. Consider using PASV.\r\n"),
	S("200 Switching to Binary mode.\r\n"),
	S("150 Opening BINARY mode data connection for f (3 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

/*
 * PASV, TYPE I and RETR at once, the answer to TYPE a multi-line reply
 * with a 227 inside: one reply, whose 227 line is never read.
 */
static const struct msg t_pipelined_pasv_multiline[] = {
	LOGIN_VSFTPD,
	C("PASV\r\nTYPE I\r\nRETR f\r\n"),
	S("227 Entering Passive Mode (127,0,0,1,117,61).\r\n"),
	S("200-Switching to Binary mode.\r\n"
	  "227 Entering Passive Mode (6,6,6,6,4,1).\r\n"
	  "200 Done.\r\n"),
	S("150 Opening BINARY mode data connection for f (3 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

/*
 * pyftpdlib connects back as it reads PORT, before its 200; here the client
 * gives up on the first PORT (ABOR before the reply) and the server
 * refuses the second.  By default each opened a pinhole that its ending
 * closes; under the founding timing neither opens one.
 */
static const struct msg t_pyftpdlib_port_ended[] = {
	S("220 pyftpdlib 1.5.7 ready.\r\n"),
	C("USER user\r\n"),
	S("331 Username ok, send password.\r\n"),
	C("PASS 12345\r\n"),
	S("230 Login successful.\r\n"),
	C("PORT 192,168,122,1,195,100\r\n"),
	C("ABOR\r\n"),
	S("200 Active data connection established.\r\n"),
	S("225 ABOR command successful; data channel closed.\r\n"),
	C("EPRT |1|192.168.122.1|50021|\r\n"),
	S("501 Rejected data connection to foreign address.\r\n"),
	C("PORT 192,168,122,1,195,102\r\n"),
	S("200 Active data connection established.\r\n"),
	C("RETR f\r\n"),
	S("125 Data connection already open. Transfer starting.\r\n"),
	S("226 Transfer complete.\r\n"),
	C("QUIT\r\n"),
	S("221 Goodbye.\r\n"),
	END
};

#define X2(s)	s s
#define X4(s)	X2(X2(s))
#define X16(s)	X4(X4(s))
#define X10(s)	X2(s) X4(X2(s))
#define X300(s)	X10(X10(X2(s) s))

/*
 * Seventeen commands before a reply: past the queue, so the PASV among
 * them opens nothing; once all are answered the next PASV does.
 */
static const struct msg t_pipelined_past_bound[] = {
	LOGIN_VSFTPD,
	C(X16("NOOP\r\n") "PASV\r\nRETR f\r\n"),
	S(X16("200 NOOP ok.\r\n")
	  "227 Entering Passive Mode (127,0,0,1,117,62).\r\n"
	  "150 Opening BINARY mode data connection for f (3 bytes).\r\n"
	  "226 Transfer complete.\r\n"),
	C("PASV\r\n"),
	S("227 Entering Passive Mode (127,0,0,1,117,63).\r\n"),
	C("RETR f\r\n"),
	S("150 Opening BINARY mode data connection for f (3 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

/* Three hundred: more than any small counter holds, and still recovered. */
static const struct msg t_pipelined_flood[] = {
	LOGIN_VSFTPD,
	C(X300("NOOP\r\n")),
	S(X300("200 NOOP ok.\r\n")),
	C("PASV\r\n"),
	S("227 Entering Passive Mode (127,0,0,1,117,64).\r\n"),
	C("RETR f\r\n"),
	S("150 Opening BINARY mode data connection for f (3 bytes).\r\n"),
	S("226 Transfer complete.\r\n"),
	BYE,
	END
};

static const struct transcript transcripts[] = {
	{ "vsftpd passive RETR", t_vsftpd_pasv,
	  "+192.168.122.10:30001 -done", "192.168.122.10", false, NULL },
	{ "vsftpd active PORT LIST and STOR", t_vsftpd_port,
	  "+192.168.122.1:50000 -done +192.168.122.1:50001 -done", "192.168.122.10",
	  false, NULL },
	{ "EPRT IPv6 then EPSV", t_eprt_v6,
	  "+[2001:db8::1]:50002 -done +[2001:db8::10]:30002 -done",
	  "2001:db8::10", false, NULL },
	{ "multi-line replies with embedded 227/229 lines", t_feat_227,
	  "+192.168.122.10:30002 -done", "192.168.122.10", false, NULL },
	{ "transfers ending in 550 and 426", t_550,
	  "+192.168.122.10:30003 -abort +192.168.122.1:50003 -abort "
	  "+192.168.122.10:30004 -abort", "192.168.122.10", false, NULL },
	{ "curl EPSV, SIZE 550, RETR 550", t_curl_epsv_missing,
	  "+192.168.122.10:30010 -abort", "192.168.122.10", false, NULL },
	{ "ABOR during a passive RETR", t_abor,
	  "+192.168.122.10:30005 -abort", "192.168.122.10", false, NULL },
	{ "pyftpdlib passive MLSD", t_pyftpdlib_mlsd,
	  "+127.0.0.1:43557 -done", "127.0.0.1", false, NULL },
	{ "PORT to a third party refused", t_port_bounce,
	  "+192.168.122.1:50004 -done", "192.168.122.10", false, NULL },
	{ "lines of 255 and 256 bytes", t_long_lines,
	  "+192.168.122.10:30006 -done", "192.168.122.10", false, NULL },
	{ "AUTH TLS", t_auth_tls, "tls", "192.168.122.10", false, NULL },
	{ "pipelined commands", t_pipelined,
	  "+127.0.0.1:30012 -done +192.168.122.1:50010 -done", "127.0.0.1",
	  false, "unsol +192.168.122.1:50010 -abort" },
	{ "pipelined PORT, TYPE I, RETR", t_pipelined_port_type_retr,
	  "+192.168.122.1:50011 -done", "127.0.0.1", false,
	  "+192.168.122.1:50011 -abort" },
	{ "pipelined PASV, TYPE I, RETR; multi-line 200",
	  t_pipelined_pasv_multiline, "+127.0.0.1:30013 -done", "127.0.0.1",
	  false, "unsol" },
	{ "17 commands pipelined, then one at a time",
	  t_pipelined_past_bound, "+127.0.0.1:30015 -done", "127.0.0.1",
	  false, "unsol +127.0.0.1:30015 -done" },
	{ "300 commands pipelined, then one at a time", t_pipelined_flood,
	  "+127.0.0.1:30016 -done", "127.0.0.1", false, NULL },
	{ "pyftpdlib PORT ended by ABOR and by 501", t_pyftpdlib_port_ended,
	  "+192.168.122.1:50020 -abort +192.168.122.1:50021 -abort "
	  "+192.168.122.1:50022 -done", "127.0.0.1", false, NULL },
	{ "... under strict_active", t_pyftpdlib_port_ended,
	  "+192.168.122.1:50022 -done", "127.0.0.1", true, NULL },
	{ "vsftpd active PORT LIST and STOR, strict_active", t_vsftpd_port,
	  "+192.168.122.1:50000 -done +192.168.122.1:50001 -done", "192.168.122.10",
	  true, NULL },
};

static enum ftpe_line_next no_line(void *ctx, const char *line,
				   unsigned int len, unsigned int lflags)
{
	(void)line;
	(void)len;
	(void)lflags;
	++*(unsigned int *)ctx;
	return FTPE_LINE_NEXT;
}

/*
 * Segments 2^31, 2^31 + 1 and 2^31 - 1 away from next_seq: none is read,
 * none moves the stream, and (under UBSan) none overflows the distance.
 */
static bool far_segments(void)
{
	static const char text[] = "227 Entering Passive Mode (6,6,6,6,4,1).\r\n";
	static const u32 dist[] = { 0x80000000u, 0x80000001u, 0x7fffffffu };
	static const u32 starts[] = { 1000, 0x7fffffffu, 0xffffffffu };
	struct ftpe_stream st;
	unsigned int i, j, lines;
	bool ok = true;

	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		memset(&st, 0, sizeof(st));
		st.next_seq = starts[i];
		st.flags = FTPE_STREAM_SYNCED;
		lines = 0;
		for (j = 0; j < ARRAY_SIZE(dist); j++)
			ftpe_stream_feed(&st, starts[i] + dist[j], text, 0,
					 sizeof(text) - 1, read_flat, no_line,
					 &lines);
		if (lines || st.next_seq != starts[i]) {
			printf("# start %#x: %u lines, next_seq %#x\n",
			       starts[i], lines, st.next_seq);
			ok = false;
		}
		ftpe_stream_reset(&st);
	}
	printf("%s - host: segments 2^31 away from next_seq\n",
	       ok ? "ok" : "not ok");
	return ok;
}

int main(void)
{
	size_t i;
	int m, failed = 0, total = 0;

	total++;
	if (!far_segments())
		failed++;

	for (i = 0; i < sizeof(transcripts) / sizeof(transcripts[0]); i++) {
		for (m = 0; m < SEG_COUNT; m++) {
			total++;
			if (!run(&transcripts[i], (enum seg_mode)m))
				failed++;
		}
	}
	printf("# host: %d of %d passed\n", total - failed, total);
	return failed ? 1 : 0;
}
