// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the TLS record framing of one direction
 * (nf_ftp_embryo/tls.h): where it ends in plaintext, and that anything
 * else leaves it lost for good.
 *
 * The code under test is compiled into this file, as in the other suites.
 * Each feed is handed over in a buffer of exactly its size, so KASAN
 * reports a read outside it.  Bytes are written in octal, which unlike \x
 * never swallows the letters and digits after them.  Record bodies are filled with bytes that
 * would look like headers and lines if they were read.
 */
#include <kunit/test.h>

#include "../nf_ftp_embryo/tls.c"

#define TTEST_MAX	(70 * 1024)

/* What a direction came to, over all its feeds. */
struct ttest_run {
	enum ftpe_tls_verdict v;
	unsigned int records;
	unsigned int at;		/* PLAINTEXT: its first byte overall */
	u8 types;
	u8 why;
};

/* A body that would fool a reader: headers and lines, over and over. */
static const char ttest_decoy[] =
	"\027\003\003\000\023TYPE I\r\n200 ok\r\n\025\003\001\000\002";

/* Append a record of @len body bytes at @b + *@n. */
static void ttest_rec(char *b, unsigned int *n, u8 type, u8 minor,
		      unsigned int len)
{
	unsigned int i;

	b[(*n)++] = type;
	b[(*n)++] = 3;
	b[(*n)++] = minor;
	b[(*n)++] = len >> 8;
	b[(*n)++] = len & 0xff;
	for (i = 0; i < len; i++)
		b[(*n)++] = ttest_decoy[i % (sizeof(ttest_decoy) - 1)];
}

static void ttest_text(char *b, unsigned int *n, const char *s)
{
	memcpy(b + *n, s, strlen(s));
	*n += strlen(s);
}

/* Feed @len bytes from a buffer of exactly that size. */
static enum ftpe_tls_verdict ttest_feed(struct kunit *test, struct ftpe_tls *t,
					const char *p, unsigned int len,
					struct ftpe_tls_result *r)
{
	enum ftpe_tls_verdict v;
	char *buf;

	buf = kmalloc(len ? len : 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, p, len);
	v = ftpe_tls_feed(t, buf, len, r);
	kfree(buf);
	return v;
}

/*
 * Feed @b[0 .. @len) cut before each of @cuts (ascending, inside it) and
 * sum up what the feeds said.  A plaintext start is checked against the
 * bytes: what is held must be what was fed.
 */
static struct ttest_run ttest_cut(struct kunit *test, enum ftpe_tls_lines l,
				  const char *b, unsigned int len,
				  const unsigned int *cuts, unsigned int ncuts)
{
	struct ftpe_tls_result r;
	struct ttest_run run = { FTPE_TLS_RECORDS };
	unsigned int i, from = 0, to, nheld;
	struct ftpe_tls t;
	const char *held;

	ftpe_tls_init(&t, l);
	for (i = 0; i <= ncuts && run.v == FTPE_TLS_RECORDS; i++) {
		to = i < ncuts ? cuts[i] : len;
		run.v = ttest_feed(test, &t, b + from, to - from, &r);
		run.records += r.records;
		run.types |= r.types;
		if (run.v == FTPE_TLS_PLAINTEXT) {
			held = ftpe_tls_held(&t, &nheld);
			KUNIT_EXPECT_TRUE(test, !nheld || !r.off);
			KUNIT_ASSERT_LE(test, nheld, from);
			run.at = from + r.off - nheld;
			KUNIT_EXPECT_EQ(test, memcmp(held, b + run.at, nheld),
					0);
			KUNIT_EXPECT_LT(test, r.off, to - from);
		}
		from = to;
	}
	run.why = t.why;
	return run;
}

static struct ttest_run ttest_whole(struct kunit *test, enum ftpe_tls_lines l,
				    const char *b, unsigned int len)
{
	return ttest_cut(test, l, b, len, NULL, 0);
}

/* A bit-field, which KUnit's typeof() cannot take. */
static unsigned int ttest_why(const struct ftpe_tls *t)
{
	return t->why;
}

static char *ttest_buf(struct kunit *test)
{
	char *b = kunit_kzalloc(test, TTEST_MAX, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, b);
	return b;
}

#define TTEST_BIT(type)	(1 << ((type) - FTPE_TLS_CHANGE_CIPHER_SPEC))

/*
 * TLS 1.2 as lftp and ProFTPD speak it, then CCC: the handshake in the
 * clear, the encrypted exchange, one close_notify alert each way, and the
 * plaintext the session goes on with.
 */
static void ttest_tls12_ccc(struct kunit *test)
{
	const u8 hs = FTPE_TLS_HANDSHAKE, ad = FTPE_TLS_APPLICATION_DATA;
	char *b = ttest_buf(test);
	struct ttest_run run;
	unsigned int n = 0, end;

	/* client: ClientHello (record version 3.1), key exchange, ... */
	ttest_rec(b, &n, hs, 1, 512);
	ttest_rec(b, &n, hs, 3, 70);
	ttest_rec(b, &n, FTPE_TLS_CHANGE_CIPHER_SPEC, 3, 1);
	ttest_rec(b, &n, hs, 3, 40);
	ttest_rec(b, &n, ad, 3, 30);	/* PBSZ 0 */
	ttest_rec(b, &n, ad, 3, 30);	/* PROT P */
	ttest_rec(b, &n, ad, 3, 45);	/* USER, PASS */
	ttest_rec(b, &n, ad, 3, 27);	/* CCC */
	ttest_rec(b, &n, FTPE_TLS_ALERT, 3, 26);
	end = n;
	ttest_text(b, &n, "TYPE I\r\nPASV\r\n");
	run = ttest_whole(test, FTPE_TLS_COMMANDS, b, n);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 9);
	KUNIT_EXPECT_EQ(test, run.at, end);
	KUNIT_EXPECT_EQ(test, run.types,
			TTEST_BIT(20) | TTEST_BIT(21) | TTEST_BIT(22) |
			TTEST_BIT(23));

	/* server: hello to done, 16 KiB records, finished, the replies */
	n = 0;
	ttest_rec(b, &n, hs, 3, FTPE_TLS_RECORD_MAX - 2048);
	ttest_rec(b, &n, hs, 3, 1200);
	ttest_rec(b, &n, FTPE_TLS_CHANGE_CIPHER_SPEC, 3, 1);
	ttest_rec(b, &n, hs, 3, 40);
	ttest_rec(b, &n, ad, 3, 50);
	ttest_rec(b, &n, ad, 3, 60);	/* 200 Clearing control channel */
	ttest_rec(b, &n, FTPE_TLS_ALERT, 3, 26);
	end = n;
	ttest_text(b, &n, "200 Type set to I\r\n");
	run = ttest_whole(test, FTPE_TLS_REPLIES, b, n);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 7);
	KUNIT_EXPECT_EQ(test, run.at, end);
}

/* TLS 1.3: the close is one 19-byte record of type 23 (AES-128-GCM). */
static void ttest_tls13_close(struct kunit *test)
{
	static const char cmd[] = "\027\003\003\000\023abcdefghijklmnopqrsPASV\r\n";
	static const char rpl[] =
		"\027\003\003\000\023abcdefghijklmnopqrs227 Entering Passive Mode\r\n";
	struct ttest_run run;

	run = ttest_whole(test, FTPE_TLS_COMMANDS, cmd, sizeof(cmd) - 1);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 1);
	KUNIT_EXPECT_EQ(test, run.at, 24);
	KUNIT_EXPECT_EQ(test, run.types, TTEST_BIT(23));

	run = ttest_whole(test, FTPE_TLS_REPLIES, rpl, sizeof(rpl) - 1);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 1);
	KUNIT_EXPECT_EQ(test, run.at, 24);
}

/*
 * Two records and the plaintext after them, cut once and twice at every
 * point: inside each header (1..4 of its bytes), each body, the line's
 * start; and one byte per feed.
 */
static void ttest_every_split(struct kunit *test)
{
	unsigned int n = 0, i, j, end, bad = 0, cuts[64];
	char *b = ttest_buf(test);
	struct ttest_run run;

	ttest_rec(b, &n, FTPE_TLS_APPLICATION_DATA, 3, 19);
	ttest_rec(b, &n, FTPE_TLS_ALERT, 3, 2);
	end = n;
	ttest_text(b, &n, "TYPE I\r\n");
	KUNIT_ASSERT_LE(test, n, ARRAY_SIZE(cuts));

	for (i = 1; i < n; i++) {
		for (j = i; j < n; j++) {
			cuts[0] = i;
			cuts[1] = j;
			/* j == i: one cut only */
			run = ttest_cut(test, FTPE_TLS_COMMANDS, b, n, cuts,
					j == i ? 1 : 2);
			if (run.v == FTPE_TLS_PLAINTEXT && run.records == 2 &&
			    run.at == end && !run.why)
				continue;
			if (!bad++)
				KUNIT_FAIL(test, "cut at %u, %u: verdict %d, %u records, at %u",
					   i, j, run.v, run.records, run.at);
		}
	}
	KUNIT_EXPECT_EQ(test, bad, 0);

	for (i = 0; i < n - 1; i++)
		cuts[i] = i + 1;
	run = ttest_cut(test, FTPE_TLS_COMMANDS, b, n, cuts, n - 1);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 2);
	KUNIT_EXPECT_EQ(test, run.at, end);
}

/* The last record's tail and the plaintext in one feed. */
static void ttest_tail_and_line(struct kunit *test)
{
	static const char part1[] = "\027\003\003\000\023abcdefghij";
	static const char part2[] = "klmnopqrs200 Type set to I\r\n";
	struct ftpe_tls_result r;
	struct ftpe_tls t;
	unsigned int n;

	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, part1, sizeof(part1) - 1, &r),
			FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, r.records, 1);
	KUNIT_EXPECT_EQ(test, t.left, 9);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, part2, sizeof(part2) - 1, &r),
			FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.records, 0);
	KUNIT_EXPECT_EQ(test, r.off, 9);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 0);
}

/* A line's start cut by the end of a feed is held, then handed on. */
static void ttest_line_cut(struct kunit *test)
{
	static const char rec[] = "\027\003\003\000\023abcdefghijklmnopqrs";
	struct ftpe_tls_result r;
	struct ftpe_tls t;
	const char *held;
	unsigned int n;

	ftpe_tls_init(&t, FTPE_TLS_COMMANDS);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, rec, sizeof(rec) - 1, &r),
			FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "TY", 2, &r),
			FTPE_TLS_RECORDS);
	held = ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 2);
	KUNIT_EXPECT_EQ(test, memcmp(held, "TY", 2), 0);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "P", 1, &r),
			FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "E I\r\n", 5, &r),
			FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.off, 0);
	held = ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, memcmp(held, "TYP", 3), 0);

	/* a reply decided by its fourth byte, alone in its feed */
	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	ttest_feed(test, &t, rec, sizeof(rec) - 1, &r);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "\027\003\003\000\001x226",
					 9, &r), FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, r.records, 1);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, " ", 1, &r),
			FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.off, 0);
	held = ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 3);
	KUNIT_EXPECT_EQ(test, memcmp(held, "226", 3), 0);
}

/* Held bytes given back are judged again from the resend. */
static void ttest_unread(struct kunit *test)
{
	static const char seg[] = "\027\003\003\000\001xPO";
	static const char resend[] = "\027\003\003\000\001xPORT 10,0,1,2,4,1\r\n";
	struct ftpe_tls_result r;
	struct ftpe_tls t;
	unsigned int n;

	ftpe_tls_init(&t, FTPE_TLS_COMMANDS);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, seg, sizeof(seg) - 1, &r),
			FTPE_TLS_RECORDS);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 2);
	ftpe_tls_unread(&t, 1);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 1);
	ftpe_tls_unread(&t, 1);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 0);
	/* the resend's new bytes: its records were fed already */
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, resend + 6,
					 sizeof(resend) - 7, &r),
			FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.off, 0);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 0);
	/* after the verdict there is nothing to give back */
	ftpe_tls_unread(&t, 4);
	KUNIT_EXPECT_TRUE(test, t.flags & FTPE_TLS_F_PLAINTEXT);
}

struct ttest_bad {
	const char *what;
	const char *bytes;
	unsigned int len;
	enum ftpe_tls_lines lines;
	u8 why;
};

#define TTEST_BAD(w, b, l, y)	{ w, b, sizeof(b) - 1, l, y }

/*
 * Each after a sound record, at its boundary, and at the direction's very
 * start.  None is cut short: every one has the bytes that decide it.
 */
static const struct ttest_bad ttest_bads[] = {
	TTEST_BAD("type 19", "\023\003\003\000\020", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("type 25", "\031\003\003\000\020", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("SSLv2 hello", "\200\056\001\003\001", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("version 2.3", "\027\002\003\000\020", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_VERSION),
	TTEST_BAD("version 3.5", "\027\003\005\000\020", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_VERSION),
	TTEST_BAD("version 3.0 later", "\027\003\000\000\020",
		  FTPE_TLS_REPLIES, FTPE_TLS_WHY_VERSION),
	TTEST_BAD("length 0", "\027\003\003\000\000", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_LENGTH),
	TTEST_BAD("length 2^14 + 2049", "\027\003\003\110\001",
		  FTPE_TLS_COMMANDS, FTPE_TLS_WHY_LENGTH),
	TTEST_BAD("length 0xffff", "\026\003\001\377\377", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_LENGTH),
	TTEST_BAD("NUL", "\0TYPE", FTPE_TLS_COMMANDS, FTPE_TLS_WHY_START),
	TTEST_BAD("0xff", "\377", FTPE_TLS_REPLIES, FTPE_TLS_WHY_START),
	TTEST_BAD("telnet IP before ABOR", "\377\364\377\362ABOR\r\n",
		  FTPE_TLS_COMMANDS, FTPE_TLS_WHY_START),
	TTEST_BAD("space", " TYPE I\r\n", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("CRLF", "\r\n", FTPE_TLS_COMMANDS, FTPE_TLS_WHY_START),
	TTEST_BAD("five letters", "TYPEX I\r\n", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("two letters", "TY I\r\n", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("a digit in a verb", "TY1E I\r\n", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("a reply from the client", "200 ok\r\n", FTPE_TLS_COMMANDS,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("a command from the server", "PORT 6,6,6,6,0,21\r\n",
		  FTPE_TLS_REPLIES, FTPE_TLS_WHY_START),
	TTEST_BAD("reply 600", "600 x\r\n", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("reply 099", "099 x\r\n", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("two digits", "20 x\r\n", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("four digits", "2000 x\r\n", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
	TTEST_BAD("a letter in a code", "2a0 x\r\n", FTPE_TLS_REPLIES,
		  FTPE_TLS_WHY_START),
};

static void ttest_bad_start(struct kunit *test)
{
	static const char rec[] = "\026\003\003\000\002ab";
	const struct ttest_bad *x;
	struct ttest_run run;
	unsigned int i, k, n;
	char *b = ttest_buf(test);

	for (i = 0; i < ARRAY_SIZE(ttest_bads); i++) {
		x = &ttest_bads[i];
		for (k = 0; k < 2; k++) {
			n = 0;
			if (k) {
				memcpy(b, rec, sizeof(rec) - 1);
				n = sizeof(rec) - 1;
			}
			memcpy(b + n, x->bytes, x->len);
			n += x->len;
			run = ttest_whole(test, x->lines, b, n);
			/* 3.0 is only for a first record */
			if (x->why == FTPE_TLS_WHY_VERSION && !k &&
			    !x->bytes[2]) {
				KUNIT_EXPECT_EQ_MSG(test, run.v, FTPE_TLS_RECORDS,
						    "%s first", x->what);
				continue;
			}
			KUNIT_EXPECT_EQ_MSG(test, run.v, FTPE_TLS_LOST,
					    "%s (%s)", x->what,
					    k ? "after a record" : "first");
			KUNIT_EXPECT_EQ_MSG(test, run.why, x->why, "%s",
					    x->what);
			KUNIT_EXPECT_EQ_MSG(test, run.records, k, "%s",
					    x->what);
		}
	}
}

/* The limits of a header, just inside. */
static void ttest_good_headers(struct kunit *test)
{
	char *b = ttest_buf(test);
	struct ttest_run run;
	unsigned int n = 0, end;

	/* a ClientHello's record may say 3.0, and 3.4 passes */
	ttest_rec(b, &n, FTPE_TLS_HANDSHAKE, 0, 1);
	ttest_rec(b, &n, FTPE_TLS_HANDSHAKE, 4, FTPE_TLS_RECORD_MAX);
	ttest_rec(b, &n, FTPE_TLS_HEARTBEAT, 1, 1);
	ttest_rec(b, &n, FTPE_TLS_CHANGE_CIPHER_SPEC, 2, 1);
	end = n;
	ttest_text(b, &n, "CCC\r\n");
	run = ttest_whole(test, FTPE_TLS_COMMANDS, b, n);
	KUNIT_EXPECT_EQ(test, run.v, FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, run.records, 4);
	KUNIT_EXPECT_EQ(test, run.at, end);
	KUNIT_EXPECT_EQ(test, run.types,
			TTEST_BIT(20) | TTEST_BIT(22) | TTEST_BIT(24));
}

/* What starts a line: every one of these is plaintext. */
static void ttest_good_lines(struct kunit *test)
{
	static const char * const cmds[] = {
		"TYPE I\r\n", "PWD\r\n", "CCC\n", "quit\r\n", "Pasv\r",
		"EPRT |2|fd00::1|1025|\r\n", "ABOR\n",
	};
	static const char * const rpls[] = {
		"200 ok\r\n", "211-Features:\r\n", "226\r\n", "550\n",
		"150 Here comes the directory listing.\r\n", "599 x",
	};
	static const char rec[] = "\027\003\003\000\001x";
	char *b = ttest_buf(test);
	struct ttest_run run;
	unsigned int i, n;

	for (i = 0; i < ARRAY_SIZE(cmds) + ARRAY_SIZE(rpls); i++) {
		bool c = i < ARRAY_SIZE(cmds);
		const char *s = c ? cmds[i] : rpls[i - ARRAY_SIZE(cmds)];

		memcpy(b, rec, sizeof(rec) - 1);
		n = sizeof(rec) - 1;
		ttest_text(b, &n, s);
		run = ttest_whole(test, c ? FTPE_TLS_COMMANDS :
				  FTPE_TLS_REPLIES, b, n);
		KUNIT_EXPECT_EQ_MSG(test, run.v, FTPE_TLS_PLAINTEXT, "%s", s);
		KUNIT_EXPECT_EQ_MSG(test, run.at, 6, "%s", s);
	}
}

/* Bytes lost: given up for good, wherever it happens. */
static void ttest_gap(struct kunit *test)
{
	static const char rec[] = "\027\003\003\000\023abcdefghijklmnopqrs";
	static const unsigned int at[] = { 0, 3, 5, 12, 24 };
	struct ftpe_tls_result r;
	struct ftpe_tls t;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(at); i++) {
		ftpe_tls_init(&t, FTPE_TLS_COMMANDS);
		ttest_feed(test, &t, rec, at[i], &r);
		ftpe_tls_gap(&t);
		KUNIT_EXPECT_EQ_MSG(test, ttest_why(&t), FTPE_TLS_WHY_GAP, "at %u",
				    at[i]);
		KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "PASV\r\n", 6, &r),
				FTPE_TLS_LOST);
		KUNIT_EXPECT_EQ(test, r.records, 0);
	}

	/* once plaintext, a hole is the line reader's business */
	ftpe_tls_init(&t, FTPE_TLS_COMMANDS);
	ttest_feed(test, &t, "PASV\r\n", 6, &r);
	ftpe_tls_gap(&t);
	KUNIT_EXPECT_EQ(test, ttest_why(&t), FTPE_TLS_WHY_NONE);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "PASV\r\n", 6, &r),
			FTPE_TLS_PLAINTEXT);
}

/* After LOST nothing is looked at and nothing changes. */
static void ttest_after_lost(struct kunit *test)
{
	static const char recs[] = "\027\003\003\000\001x\027\003\003\000\001x";
	struct ftpe_tls_result r;
	struct ftpe_tls t, was;
	unsigned int n;

	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "\027\003\003\000\000", 5,
					 &r), FTPE_TLS_LOST);
	was = t;
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, recs, sizeof(recs) - 1,
					 &r), FTPE_TLS_LOST);
	KUNIT_EXPECT_EQ(test, r.records, 0);
	KUNIT_EXPECT_EQ(test, r.types, 0);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "200 ok\r\n", 8, &r),
			FTPE_TLS_LOST);
	ftpe_tls_gap(&t);
	ftpe_tls_unread(&t, 1);
	KUNIT_EXPECT_EQ(test, memcmp(&t, &was, sizeof(t)), 0);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 0);
}

/* After PLAINTEXT every byte is a line's. */
static void ttest_after_plaintext(struct kunit *test)
{
	static const char recs[] = "\027\003\003\000\001x";
	struct ftpe_tls_result r;
	struct ftpe_tls t;
	unsigned int n;

	ftpe_tls_init(&t, FTPE_TLS_COMMANDS);
	ttest_feed(test, &t, "NO", 2, &r);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "OP\r\n", 4, &r),
			FTPE_TLS_PLAINTEXT);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 2);
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, recs, sizeof(recs) - 1,
					 &r), FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.off, 0);
	KUNIT_EXPECT_EQ(test, r.records, 0);
	ftpe_tls_held(&t, &n);
	KUNIT_EXPECT_EQ(test, n, 0);
}

static void ttest_empty_feed(struct kunit *test)
{
	struct ftpe_tls_result r;
	struct ftpe_tls t, was;

	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	ttest_feed(test, &t, "\027\003", 2, &r);
	was = t;
	KUNIT_EXPECT_EQ(test, ttest_feed(test, &t, "", 0, &r),
			FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, memcmp(&t, &was, sizeof(t)), 0);
}

/*
 * 64 KiB of records, whole and in segments: the work is the headers'
 * (body bytes are skipped by counting; a body read byte by byte would
 * find the decoy headers in it and count them).
 */
static void ttest_64k(struct kunit *test)
{
	unsigned int n = 0, i, seg, sum, len;
	struct ftpe_tls_result r;
	char *b = ttest_buf(test);
	struct ftpe_tls t;

	for (i = 0; i < 64; i++)
		ttest_rec(b, &n, FTPE_TLS_APPLICATION_DATA, 3, 1019);
	KUNIT_ASSERT_EQ(test, n, 65536);

	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	KUNIT_EXPECT_EQ(test, ftpe_tls_feed(&t, b, n, &r), FTPE_TLS_RECORDS);
	KUNIT_EXPECT_EQ(test, r.records, 64);
	KUNIT_EXPECT_EQ(test, t.left, 0);
	ftpe_tls_held(&t, &i);
	KUNIT_EXPECT_EQ(test, i, 0);

	for (seg = 1; seg <= 1448; seg += 1447) {
		ftpe_tls_init(&t, FTPE_TLS_REPLIES);
		for (i = 0, sum = 0; i < n; i += len) {
			len = n - i < seg ? n - i : seg;
			KUNIT_ASSERT_EQ(test, ftpe_tls_feed(&t, b + i, len, &r),
					FTPE_TLS_RECORDS);
			sum += r.records;
		}
		KUNIT_EXPECT_EQ_MSG(test, sum, 64, "segments of %u", seg);
	}

	/* records of the largest size, and a line after them */
	n = 0;
	for (i = 0; i < 3; i++)
		ttest_rec(b, &n, FTPE_TLS_APPLICATION_DATA, 3,
			  FTPE_TLS_RECORD_MAX);
	ttest_text(b, &n, "421 bye\r\n");
	ftpe_tls_init(&t, FTPE_TLS_REPLIES);
	KUNIT_EXPECT_EQ(test, ftpe_tls_feed(&t, b, n, &r), FTPE_TLS_PLAINTEXT);
	KUNIT_EXPECT_EQ(test, r.records, 3);
	KUNIT_EXPECT_EQ(test, r.off, n - 9);
}

/*
 * It lives in the connection's record, twice, where a plaintext stream
 * keeps two sequence numbers.
 */
static void ttest_size(struct kunit *test)
{
	KUNIT_EXPECT_LE(test, sizeof(struct ftpe_tls), 2 * sizeof(u32));
}

static struct kunit_case ttest_cases[] = {
	KUNIT_CASE(ttest_tls12_ccc),
	KUNIT_CASE(ttest_tls13_close),
	KUNIT_CASE(ttest_every_split),
	KUNIT_CASE(ttest_tail_and_line),
	KUNIT_CASE(ttest_line_cut),
	KUNIT_CASE(ttest_unread),
	KUNIT_CASE(ttest_bad_start),
	KUNIT_CASE(ttest_good_headers),
	KUNIT_CASE(ttest_good_lines),
	KUNIT_CASE(ttest_gap),
	KUNIT_CASE(ttest_after_lost),
	KUNIT_CASE(ttest_after_plaintext),
	KUNIT_CASE(ttest_empty_feed),
	KUNIT_CASE(ttest_64k),
	KUNIT_CASE(ttest_size),
	{}
};

static struct kunit_suite ttest_suite = {
	.name = "nf_ftp_embryo_tls",
	.test_cases = ttest_cases,
};

kunit_test_suites(&ttest_suite);

MODULE_LICENSE("GPL");
