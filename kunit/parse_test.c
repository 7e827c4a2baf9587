// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the FTP line grammar (nf_ftp_embryo/parse.h).
 *
 * The code under test is compiled into this file so that the test module
 * links no object of the main module.  Every line is copied into a buffer of
 * exactly its length, so KASAN reports a parser that reads past @len; a few
 * cases also pass a @len shorter than the text to catch the same bug by
 * value.
 */
#include <kunit/test.h>

#include "../nf_ftp_embryo/parse.c"

#define PT_MAL	FTPE_VERB_MALFORMED

/* The header leaves it open whether such a line is accepted or MALFORMED. */
#define PT_LENIENT	true

struct ptest_cmd {
	const char *line;
	unsigned int len;	/* 0: strlen(line) */
	enum ftpe_verb verb;
	bool lenient;		/* MALFORMED is accepted as well */
	u8 family;		/* checked when verb is PORT or EPRT */
	u8 addr[16];
	u16 port;
};

/* Parser input: an exact-size copy of @s; @len bytes of it are passed on. */
static const char *ptest_copy(struct kunit *test, const char *s)
{
	size_t n = strlen(s);
	char *buf = kunit_kmalloc(test, n ? n : 1, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	memcpy(buf, s, n);
	return buf;
}

static unsigned int ptest_len(const char *line, unsigned int len)
{
	return len ? len : strlen(line);
}

static void ptest_check_ep(struct kunit *test, const char *line,
			   const struct ftpe_endpoint *ep, u8 family,
			   const u8 *addr, u16 port)
{
	int alen = family == FTPE_AF_INET6 ? 16 : 4;

	KUNIT_EXPECT_EQ_MSG(test, ep->family, family, "\"%s\"", line);
	KUNIT_EXPECT_EQ_MSG(test, ep->port, port, "\"%s\"", line);
	KUNIT_EXPECT_TRUE_MSG(test, !memcmp(ep->addr, addr, alen),
			      "\"%s\": address %*phC", line, alen, ep->addr);
}

static void ptest_run_cmds(struct kunit *test, const struct ptest_cmd *c,
			   size_t n)
{
	struct ftpe_endpoint ep;
	enum ftpe_verb v;
	size_t i;

	for (i = 0; i < n; i++, c++) {
		memset(&ep, 0xa5, sizeof(ep));
		v = ftpe_parse_command(ptest_copy(test, c->line),
				       ptest_len(c->line, c->len), &ep);
		if (c->lenient && v == FTPE_VERB_MALFORMED)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, v, c->verb, "\"%s\" (len %u)",
				    c->line, ptest_len(c->line, c->len));
		if (v == c->verb && (v == FTPE_VERB_PORT ||
				     v == FTPE_VERB_EPRT))
			ptest_check_ep(test, c->line, &ep, c->family, c->addr,
				       c->port);
	}
}

#define PT_V4	FTPE_AF_INET
#define PT_V6	FTPE_AF_INET6

static const struct ptest_cmd ptest_port_cases[] = {
	{ "PORT 10,0,0,1,4,1", 0, FTPE_VERB_PORT, 0, PT_V4, { 10, 0, 0, 1 },
	  1025 },
	{ "PORT 192,168,122,1,195,80", 0, FTPE_VERB_PORT, 0, PT_V4,
	  { 192, 168, 122, 1 }, 50000 },
	{ "PORT 255,255,255,255,255,255", 0, FTPE_VERB_PORT, 0, PT_V4,
	  { 255, 255, 255, 255 }, 65535 },
	{ "PORT 1,2,3,4,0,1", 0, FTPE_VERB_PORT, 0, PT_V4, { 1, 2, 3, 4 }, 1 },
	{ "PORT 1,2,3,4,1,0", 0, FTPE_VERB_PORT, 0, PT_V4, { 1, 2, 3, 4 },
	  256 },
	{ "port 10,0,0,1,4,1", 0, FTPE_VERB_PORT, 0, PT_V4, { 10, 0, 0, 1 },
	  1025 },
	{ "Port 10,0,0,1,4,1", 0, FTPE_VERB_PORT, 0, PT_V4, { 10, 0, 0, 1 },
	  1025 },
	{ "PORT 0,0,0,0,4,1", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 0, 0, 0, 0 }, 1025 },
	/* @len ends before the last digit: must not see the "9" */
	{ "PORT 10,0,0,1,4,19", 17, FTPE_VERB_PORT, 0, PT_V4, { 10, 0, 0, 1 },
	  1025 },
	/* overlong numbers: either the plain value or MALFORMED */
	{ "PORT 0000000010,0,0,1,4,1", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "PORT 10,0,0,1,4,0000000001", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "PORT 10,0,0,1,00000000000000000004,1", 0, FTPE_VERB_PORT, PT_LENIENT,
	  PT_V4, { 10, 0, 0, 1 }, 1025 },
	/* extra spaces: either the right endpoint or MALFORMED */
	{ "PORT  10,0,0,1,4,1", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "PORT 10, 0, 0, 1, 4, 1", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "PORT 10,0,0,1,4,1 ", 0, FTPE_VERB_PORT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	/* out of range */
	{ "PORT 10,0,0,256,4,1", 0, PT_MAL },
	{ "PORT 300,0,0,1,4,1", 0, PT_MAL },
	{ "PORT 10,0,0,1,256,1", 0, PT_MAL },	/* port > 65535 */
	{ "PORT 10,0,0,1,4,256", 0, PT_MAL },
	{ "PORT 10,0,0,1,0,0", 0, PT_MAL },		/* port 0 */
	{ "PORT 4294967306,0,0,1,4,1", 0, PT_MAL },	/* 2^32 + 10 */
	{ "PORT 10,0,0,1,4294967297,1", 0, PT_MAL },	/* 2^32 + 1 */
	{ "PORT 10,0,0,1,4,4294967297", 0, PT_MAL },
	{ "PORT 10,0,0,1,65540,1", 0, PT_MAL },	/* 65536 + 4 */
	{ "PORT 10,0,0,1,4,65537", 0, PT_MAL },
	{ "PORT 99999999999999999999,0,0,1,4,1", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,18446744073709551617", 0, PT_MAL },
	/* missing fields */
	{ "PORT", 0, PT_MAL },
	{ "PORT ", 0, PT_MAL },
	{ "PORT 10", 0, PT_MAL },
	{ "PORT 10,0,0,1", 0, PT_MAL },
	{ "PORT 10,0,0,1,4", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,", 0, PT_MAL },
	{ "PORT 10,,0,1,4,1", 0, PT_MAL },
	{ "PORT ,10,0,0,1,4", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,19", 16, PT_MAL },	/* "PORT 10,0,0,1,4," */
	/* trailing garbage and junk */
	{ "PORT 10,0,0,1,4,1,7", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,1x", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,1 x", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,1)", 0, PT_MAL },
	{ "PORT 10.0.0.1,4,1", 0, PT_MAL },
	{ "PORT 10,0,0,1,4,-1", 0, PT_MAL },
	{ "PORT -10,0,0,1,4,1", 0, PT_MAL },
	{ "PORT +10,0,0,1,4,1", 0, PT_MAL },
	{ "PORT a,b,c,d,e,f", 0, PT_MAL },
	{ "PORT 0x0a,0,0,1,4,1", 0, PT_MAL },
	/* other verbs that merely start with PORT */
	{ "PORTX 10,0,0,1,4,1", 0, FTPE_VERB_OTHER, PT_LENIENT },
	{ "PORT10,0,0,1,4,1", 0, FTPE_VERB_OTHER, PT_LENIENT },
};

static void ptest_port(struct kunit *test)
{
	ptest_run_cmds(test, ptest_port_cases, ARRAY_SIZE(ptest_port_cases));
}

static const struct ptest_cmd ptest_eprt_cases[] = {
	{ "EPRT |1|132.235.1.2|6275|", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 132, 235, 1, 2 }, 6275 },
	{ "eprt |1|10.0.0.1|1025|", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "EPRT |1|10.0.0.1|65535|", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 10, 0, 0, 1 }, 65535 },
	{ "EPRT |1|10.0.0.1|1|", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 10, 0, 0, 1 }, 1 },
	{ "EPRT !1!10.0.0.1!1025!", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	{ "EPRT #1#255.255.255.255#2048#", 0, FTPE_VERB_EPRT, 0, PT_V4,
	  { 255, 255, 255, 255 }, 2048 },
	{ "EPRT |2|1080::8:800:200C:417A|5282|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0x10, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x08, 0x00, 0x20, 0x0c,
	    0x41, 0x7a }, 5282 },
	{ "EPRT |2|1080::8:800:200c:417a|5282|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0x10, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x08, 0x00, 0x20, 0x0c,
	    0x41, 0x7a }, 5282 },
	{ "EPRT ~2~::1~1025~", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 1025 },
	{ "EPRT |2|fe80::1|65535|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 65535 },
	{ "EPRT |2|2001:db8::|1025|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0x20, 0x01, 0x0d, 0xb8 }, 1025 },
	{ "EPRT |2|2001:db8:0:0:0:0:0:1|40001|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	  40001 },
	{ "EPRT |2|1:2:3:4:5:6:7:8|8|", 0, FTPE_VERB_EPRT, 0, PT_V6,
	  { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8 }, 8 },
	{ "EPRT |2|ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff|9|", 0,
	  FTPE_VERB_EPRT, 0, PT_V6,
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff }, 9 },
	{ "EPRT |2|::ffff:10.0.0.1|1025|", 0, FTPE_VERB_EPRT, PT_LENIENT, PT_V6,
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 }, 1025 },
	{ "EPRT |1|10.0.0.1|1025| ", 0, FTPE_VERB_EPRT, PT_LENIENT, PT_V4,
	  { 10, 0, 0, 1 }, 1025 },
	/* @len cut inside the port: must not see the rest */
	{ "EPRT |1|10.0.0.1|10259|", 21, PT_MAL },
	/* unknown or missing family */
	{ "EPRT |3|10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |0|10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT ||10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |12|10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |x|10.0.0.1|1025|", 0, PT_MAL },
	/* bad IPv4 addresses */
	{ "EPRT |1|10.0.0|1025|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.256|1025|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1.5|1025|", 0, PT_MAL },
	{ "EPRT |1|10..0.1|1025|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.|1025|", 0, PT_MAL },
	{ "EPRT |1||1025|", 0, PT_MAL },
	{ "EPRT |1|4294967306.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |1|::1|1025|", 0, PT_MAL },
	{ "EPRT |1|host.example|1025|", 0, PT_MAL },
	/* bad IPv6 addresses */
	{ "EPRT |2|10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |2|1:2:3:4:5:6:7:8:9|1025|", 0, PT_MAL },
	{ "EPRT |2|1:2:3:4:5:6:7|1025|", 0, PT_MAL },
	{ "EPRT |2|1::2::3|1025|", 0, PT_MAL },
	{ "EPRT |2|12345::1|1025|", 0, PT_MAL },
	{ "EPRT |2|g::1|1025|", 0, PT_MAL },
	{ "EPRT |2|:1:2:3:4:5:6:7|1025|", 0, PT_MAL },
	{ "EPRT |2|1:2:3:4:5:6:7:|1025|", 0, PT_MAL },
	{ "EPRT |2|:::1|1025|", 0, PT_MAL },
	{ "EPRT |2||1025|", 0, PT_MAL },
	/* bad ports */
	{ "EPRT |1|10.0.0.1|0|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|65536|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|4294968321|", 0, PT_MAL },	/* 2^32 + 1025 */
	{ "EPRT |1|10.0.0.1||", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|10a5|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|-1|", 0, PT_MAL },
	/* delimiters */
	{ "EPRT |1|10.0.0.1|1025", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|1025|x", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|1025||", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1!1025|", 0, PT_MAL },
	{ "EPRT !1|10.0.0.1|1025|", 0, PT_MAL },
	{ "EPRT |1|10.0.0.1|", 0, PT_MAL },
	{ "EPRT |1|", 0, PT_MAL },
	{ "EPRT |", 0, PT_MAL },
	{ "EPRT ", 0, PT_MAL },
	{ "EPRT", 0, PT_MAL },
	{ "EPRTX |1|10.0.0.1|1025|", 0, FTPE_VERB_OTHER, PT_LENIENT },
};

static void ptest_eprt(struct kunit *test)
{
	ptest_run_cmds(test, ptest_eprt_cases, ARRAY_SIZE(ptest_eprt_cases));
}

static const struct ptest_cmd ptest_passive_cases[] = {
	{ "PASV", 0, FTPE_VERB_PASV },
	{ "pasv", 0, FTPE_VERB_PASV },
	{ "PaSv", 0, FTPE_VERB_PASV },
	{ "PASVX", 4, FTPE_VERB_PASV },		/* @len stops at "PASV" */
	{ "PASVX", 0, FTPE_VERB_OTHER },
	{ "PASSIVE", 0, FTPE_VERB_OTHER },
	{ "EPSV", 0, FTPE_VERB_EPSV },
	{ "epsv", 0, FTPE_VERB_EPSV },
	{ "EPSV ALL", 0, FTPE_VERB_EPSV },
	{ "epsv all", 0, FTPE_VERB_EPSV },
	{ "EPSV 1", 0, FTPE_VERB_EPSV },
	{ "EPSV 2", 0, FTPE_VERB_EPSV },
	{ "EPSV foo", 0, PT_MAL },
	{ "EPSVALL", 0, FTPE_VERB_OTHER, PT_LENIENT },
	{ "EPSVX", 0, FTPE_VERB_OTHER, PT_LENIENT },
};

static void ptest_passive(struct kunit *test)
{
	ptest_run_cmds(test, ptest_passive_cases,
		       ARRAY_SIZE(ptest_passive_cases));
}

static const struct ptest_cmd ptest_verb_cases[] = {
	/* transfer verbs, with and without arguments, any case */
	{ "RETR file.bin", 0, FTPE_VERB_XFER },
	{ "retr file.bin", 0, FTPE_VERB_XFER },
	{ "Retr /pub/a b c.txt", 0, FTPE_VERB_XFER },
	{ "RETR", 0, FTPE_VERB_XFER },
	{ "STOR upload.bin", 0, FTPE_VERB_XFER },
	{ "stor upload.bin", 0, FTPE_VERB_XFER },
	{ "STOR", 0, FTPE_VERB_XFER },
	{ "STOU", 0, FTPE_VERB_XFER },
	{ "stou", 0, FTPE_VERB_XFER },
	{ "STOU name", 0, FTPE_VERB_XFER },
	{ "APPE log.txt", 0, FTPE_VERB_XFER },
	{ "appe log.txt", 0, FTPE_VERB_XFER },
	{ "APPE", 0, FTPE_VERB_XFER },
	{ "LIST", 0, FTPE_VERB_XFER },
	{ "list", 0, FTPE_VERB_XFER },
	{ "LIST -la", 0, FTPE_VERB_XFER },
	{ "LIST /pub", 0, FTPE_VERB_XFER },
	{ "NLST", 0, FTPE_VERB_XFER },
	{ "nlst", 0, FTPE_VERB_XFER },
	{ "NLST *.txt", 0, FTPE_VERB_XFER },
	{ "MLSD", 0, FTPE_VERB_XFER },
	{ "mlsd", 0, FTPE_VERB_XFER },
	{ "MLSD /pub", 0, FTPE_VERB_XFER },
	{ "RETRIEVE file", 4, FTPE_VERB_XFER },	/* @len stops at "RETR" */
	/* verbs that merely start with a known verb */
	{ "RETRIEVE file", 0, FTPE_VERB_OTHER },
	{ "RETRX", 0, FTPE_VERB_OTHER },
	{ "STORE file", 0, FTPE_VERB_OTHER },
	{ "STOUX", 0, FTPE_VERB_OTHER },
	{ "APPEND file", 0, FTPE_VERB_OTHER },
	{ "LISTEN", 0, FTPE_VERB_OTHER },
	{ "NLSTX", 0, FTPE_VERB_OTHER },
	{ "MLSDX", 0, FTPE_VERB_OTHER },
	{ "ABORT", 0, FTPE_VERB_OTHER },
	{ "QUITE", 0, FTPE_VERB_OTHER },
	{ "AUTHX TLS", 0, FTPE_VERB_OTHER },
	{ "RET", 0, FTPE_VERB_OTHER },
	{ "LIS", 0, FTPE_VERB_OTHER },
	/* control */
	{ "ABOR", 0, FTPE_VERB_ABOR },
	{ "abor", 0, FTPE_VERB_ABOR },
	{ "QUIT", 0, FTPE_VERB_QUIT },
	{ "quit", 0, FTPE_VERB_QUIT },
	{ "AUTH TLS", 0, FTPE_VERB_AUTH },
	{ "auth tls", 0, FTPE_VERB_AUTH },
	{ "AUTH SSL", 0, FTPE_VERB_AUTH },
	/* commands that open no data connection */
	{ "CWD /pub", 0, FTPE_VERB_OTHER },
	{ "CWD PORT", 0, FTPE_VERB_OTHER },
	{ "TYPE I", 0, FTPE_VERB_OTHER },
	{ "TYPE A", 0, FTPE_VERB_OTHER },
	{ "SIZE file.bin", 0, FTPE_VERB_OTHER },
	{ "MDTM file.bin", 0, FTPE_VERB_OTHER },
	{ "FEAT", 0, FTPE_VERB_OTHER },
	{ "NOOP", 0, FTPE_VERB_OTHER },
	{ "REST 100", 0, FTPE_VERB_OTHER },
	{ "USER anonymous", 0, FTPE_VERB_OTHER },
	{ "PASS PORT 1,2,3,4,5,6", 0, FTPE_VERB_OTHER },
	{ "SYST", 0, FTPE_VERB_OTHER },
	{ "PWD", 0, FTPE_VERB_OTHER },
	{ "STAT", 0, FTPE_VERB_OTHER },
	{ "MLST file.bin", 0, FTPE_VERB_OTHER },
	{ "SITE EPRT |1|10.0.0.1|1025|", 0, FTPE_VERB_OTHER },
	{ "OPTS UTF8 ON", 0, FTPE_VERB_OTHER },
	{ "HELP", 0, FTPE_VERB_OTHER },
	{ "", 0, FTPE_VERB_OTHER },
	/* a reply sent by the client */
	{ "227 Entering Passive Mode (10,0,0,1,4,1)", 0, PT_MAL },
	{ "200 PORT command successful", 0, PT_MAL },
	{ "150", 0, PT_MAL },
};

static void ptest_verbs(struct kunit *test)
{
	ptest_run_cmds(test, ptest_verb_cases, ARRAY_SIZE(ptest_verb_cases));
}

/* A zero-length line must not be read at all. */
static void ptest_empty_len(struct kunit *test)
{
	struct ftpe_reply_state st = { 0 };
	struct ftpe_endpoint ep;

	KUNIT_EXPECT_EQ(test, ftpe_parse_command("PORT 10,0,0,1,4,1", 0, &ep),
			FTPE_VERB_OTHER);
	KUNIT_EXPECT_EQ(test, ftpe_reply_feed(&st, "200 ok", 0), -1);
	KUNIT_EXPECT_EQ(test, ftpe_parse_227("227 =10,0,0,1,4,1", 0, &ep), -1);
	KUNIT_EXPECT_EQ(test, ftpe_parse_229("229 (|||6446|)", 0, &ep), -1);
}

/* Replies: a sequence of lines fed to one ftpe_reply_state. */
struct ptest_reply_step {
	const char *line;
	unsigned int len;	/* 0: strlen(line) */
	int ret;
	u16 ml_code;		/* st.ml_code after the line */
};

static void ptest_run_replies(struct kunit *test, const char *name,
			      const struct ptest_reply_step *s)
{
	struct ftpe_reply_state st = { 0 };
	unsigned int len;
	int i, r;

	for (i = 0; s[i].line; i++) {
		len = ptest_len(s[i].line, s[i].len);
		r = ftpe_reply_feed(&st, ptest_copy(test, s[i].line), len);
		KUNIT_EXPECT_EQ_MSG(test, r, s[i].ret, "%s: line %d \"%s\"",
				    name, i, s[i].line);
		KUNIT_EXPECT_EQ_MSG(test, st.ml_code, s[i].ml_code,
				    "%s: ml_code after line %d \"%s\"",
				    name, i, s[i].line);
	}
}

static const struct ptest_reply_step ptest_replies_single[] = {
	{ "220 (vsFTPd 3.0.3)", 0, 220, 0 },
	{ "200", 0, 200, 0 },
	{ "226 Transfer complete.", 0, 226, 0 },
	{ "227 Entering Passive Mode (10,0,0,1,4,1).", 0, 227, 0 },
	{ "100 lowest", 0, 100, 0 },
	{ "599 highest", 0, 599, 0 },
	{ "550 ", 0, 550, 0 },
	/* @len stops at the code: "211" alone, no multi-line reply opened */
	{ "211-Features:", 3, 211, 0 },
	{ NULL }
};

static const struct ptest_reply_step ptest_replies_invalid[] = {
	{ "abc", 0, -1, 0 },
	{ "2x0 foo", 0, -1, 0 },
	{ "099 foo", 0, -1, 0 },
	{ "000 foo", 0, -1, 0 },
	{ "600 foo", 0, -1, 0 },
	{ "999 foo", 0, -1, 0 },
	{ "20", 0, -1, 0 },
	{ "2", 0, -1, 0 },
	{ "", 0, -1, 0 },
	{ "2000 foo", 0, -1, 0 },
	{ "200x", 0, -1, 0 },
	{ " 200 foo", 0, -1, 0 },
	{ "-200 foo", 0, -1, 0 },
	{ "099-foo", 0, -1, 0 },	/* opens nothing */
	{ "600-foo", 0, -1, 0 },
	{ "200 ok", 0, 200, 0 },
	{ NULL }
};

static const struct ptest_reply_step ptest_replies_multi[] = {
	{ "211-Features:", 0, 0, 211 },
	{ " EPRT", 0, 0, 211 },
	{ " EPSV", 0, 0, 211 },
	{ "227 Entering Passive Mode (10,0,0,1,4,1)", 0, 0, 211 },
	{ "229 Entering Extended Passive Mode (|||6446|)", 0, 0, 211 },
	{ "200 OK", 0, 0, 211 },
	{ "211-more", 0, 0, 211 },
	{ "abc", 0, 0, 211 },
	{ "099 foo", 0, 0, 211 },
	{ "", 0, 0, 211 },
	{ " 211 End", 0, 0, 211 },
	{ "211 End", 0, 211, 0 },
	{ "220 next", 0, 220, 0 },
	{ "230-Welcome", 0, 0, 230 },
	{ "230-", 0, 0, 230 },
	{ "230 ", 0, 230, 0 },
	{ NULL }
};

static const struct ptest_reply_step ptest_replies_nested[] = {
	{ "211-a", 0, 0, 211 },
	{ "212-b", 0, 0, 211 },
	{ "212 end", 0, 0, 211 },
	{ "150 Opening", 0, 0, 211 },
	{ "211 End", 0, 211, 0 },
	{ "227-Entering Passive Mode", 0, 0, 227 },
	{ "227 Entering Passive Mode (10,0,0,1,4,1)", 0, 227, 0 },
	{ NULL }
};

static void ptest_reply_single(struct kunit *test)
{
	ptest_run_replies(test, "single", ptest_replies_single);
}

static void ptest_reply_invalid(struct kunit *test)
{
	ptest_run_replies(test, "invalid", ptest_replies_invalid);
}

static void ptest_reply_multi(struct kunit *test)
{
	ptest_run_replies(test, "multi", ptest_replies_multi);
	ptest_run_replies(test, "nested", ptest_replies_nested);
}

struct ptest_pasv {
	const char *line;
	unsigned int len;	/* 0: strlen(line) */
	int ret;
	u8 addr[4];
	u16 port;
};

static const struct ptest_pasv ptest_227_cases[] = {
	{ "227 Entering Passive Mode (10,0,0,1,4,1).", 0, 0, { 10, 0, 0, 1 },
	  1025 },
	{ "227 Entering Passive Mode (10,0,0,1,4,1)", 0, 0, { 10, 0, 0, 1 },
	  1025 },
	{ "227 =10,0,0,1,4,1", 0, 0, { 10, 0, 0, 1 }, 1025 },
	{ "227 10,0,0,1,4,1", 0, 0, { 10, 0, 0, 1 }, 1025 },
	{ "227 Entering Passive Mode 192,168,122,10,117,49", 0, 0,
	  { 192, 168, 122, 10 }, 30001 },
	{ "227 Passive (255,255,255,255,255,255)", 0, 0,
	  { 255, 255, 255, 255 }, 65535 },
	{ "227 Entering Passive Mode (1,2,3,4,0,1)", 0, 0, { 1, 2, 3, 4 }, 1 },
	{ "227 =10,0,0,1,4,19", 17, 0, { 10, 0, 0, 1 }, 1025 },
	{ "227 =10,0,0,1,4,1", 15, -1 },		/* "227 =10,0,0,1,4" */
	{ "227 Entering Passive Mode (10,0,0,1,4)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,256,4,1)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,256,1)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,4,256)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,0,0)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,,1)", 0, -1 },
	{ "227 Entering Passive Mode (a,b,c,d,e,f)", 0, -1 },
	{ "227 Entering Passive Mode (10.0.0.1:1025)", 0, -1 },
	{ "227 Entering Passive Mode (4294967306,0,0,1,4,1)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,4,4294967297)", 0, -1 },
	{ "227 Entering Passive Mode (10,0,0,1,-4,1)", 0, -1 },
	{ "227 Entering Passive Mode", 0, -1 },
	{ "227 ", 0, -1 },
	{ "227", 0, -1 },
};

static void ptest_227(struct kunit *test)
{
	const struct ptest_pasv *c;
	struct ftpe_endpoint ep;
	unsigned int len;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(ptest_227_cases); i++) {
		c = &ptest_227_cases[i];
		len = ptest_len(c->line, c->len);
		memset(&ep, 0, sizeof(ep));
		r = ftpe_parse_227(ptest_copy(test, c->line), len, &ep);
		KUNIT_EXPECT_EQ_MSG(test, r, c->ret, "\"%s\" (len %u)",
				    c->line, len);
		if (r || c->ret)
			continue;
		ptest_check_ep(test, c->line, &ep, FTPE_AF_INET, c->addr,
			       c->port);
	}
}

static const struct ptest_pasv ptest_229_cases[] = {
	{ "229 Entering Extended Passive Mode (|||6446|)", 0, 0, {}, 6446 },
	{ "229 Entering Extended Passive Mode (|||6446|).", 0, 0, {}, 6446 },
	{ "229 (!!!6446!)", 0, 0, {}, 6446 },
	{ "229 Extended (###1#)", 0, 0, {}, 1 },
	{ "229 (|||65535|)", 0, 0, {}, 65535 },
	{ "229 (|||6446|)", 12, -1 },			/* "229 (|||6446" */
	{ "229 (|||0|)", 0, -1 },
	{ "229 (|||65536|)", 0, -1 },
	{ "229 (|||4294973742|)", 0, -1 },		/* 2^32 + 6446 */
	{ "229 (||6446|)", 0, -1 },
	{ "229 (|6446|)", 0, -1 },
	{ "229 (||||6446|)", 0, -1 },
	{ "229 (|||6446)", 0, -1 },
	{ "229 (|||6446||)", 0, -1 },
	{ "229 (|||abc|)", 0, -1 },
	{ "229 (|||64a6|)", 0, -1 },
	{ "229 (|||-1|)", 0, -1 },
	{ "229 (|||)", 0, -1 },
	{ "229 (||||)", 0, -1 },
	{ "229 (|!|6446|)", 0, -1 },
	{ "229 (|||6446!)", 0, -1 },
	{ "229 Entering Extended Passive Mode", 0, -1 },
	{ "229 ", 0, -1 },
	{ "229", 0, -1 },
};

static void ptest_229(struct kunit *test)
{
	const struct ptest_pasv *c;
	struct ftpe_endpoint ep;
	unsigned int len;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(ptest_229_cases); i++) {
		c = &ptest_229_cases[i];
		len = ptest_len(c->line, c->len);
		memset(&ep, 0x5a, sizeof(ep));
		r = ftpe_parse_229(ptest_copy(test, c->line), len, &ep);
		KUNIT_EXPECT_EQ_MSG(test, r, c->ret, "\"%s\" (len %u)",
				    c->line, len);
		if (r || c->ret)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, ep.family, 0, "\"%s\"", c->line);
		KUNIT_EXPECT_EQ_MSG(test, ep.port, c->port, "\"%s\"", c->line);
	}
}

/* Where the endpoint is written: what NAT rewrites. */
static const struct {
	const char *line;
	const char *span;
} ptest_span_cases[] = {
	{ "PORT 10,0,0,1,4,1", "10,0,0,1,4,1" },
	{ "port 192,168,124,10,195,80", "192,168,124,10,195,80" },
	{ "EPRT |1|10.0.0.1|2000|", "|1|10.0.0.1|2000|" },
	{ "EPRT !2!fd00:124::10!50000! ", "!2!fd00:124::10!50000!" },
	{ "227 Entering Passive Mode (10,0,2,2,195,80).", "10,0,2,2,195,80" },
	{ "227 =192,168,124,10,4,1", "192,168,124,10,4,1" },
	{ "229 Entering Extended Passive Mode (|||50000|)", "50000" },
	{ "229 (!!!1025!) ok", "1025" },
};

static void ptest_span(struct kunit *test)
{
	const char *src, *line, *want;
	struct ftpe_endpoint ep;
	unsigned int len;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(ptest_span_cases); i++) {
		/* The copy has no NUL, so the parser cannot read past it. */
		src = ptest_span_cases[i].line;
		line = ptest_copy(test, src);
		want = ptest_span_cases[i].span;
		len = strlen(src);
		memset(&ep, 0x5a, sizeof(ep));
		if (line[0] == '2')
			r = line[2] == '7' ? ftpe_parse_227(line, len, &ep) :
					     ftpe_parse_229(line, len, &ep);
		else
			r = ftpe_parse_command(line, len, &ep) ==
			    FTPE_VERB_MALFORMED;
		KUNIT_ASSERT_EQ_MSG(test, r, 0, "\"%s\"", src);
		KUNIT_EXPECT_EQ_MSG(test, ep.span, strlen(want), "\"%s\"",
				    src);
		KUNIT_EXPECT_LE_MSG(test, ep.at + ep.span, len, "\"%s\"",
				    src);
		KUNIT_EXPECT_TRUE_MSG(test, ep.at + ep.span <= len &&
				      !memcmp(line + ep.at, want, strlen(want)),
				      "\"%s\": span at %u", src, ep.at);
	}
}

static struct kunit_case ptest_cases[] = {
	KUNIT_CASE(ptest_port),
	KUNIT_CASE(ptest_eprt),
	KUNIT_CASE(ptest_passive),
	KUNIT_CASE(ptest_verbs),
	KUNIT_CASE(ptest_empty_len),
	KUNIT_CASE(ptest_reply_single),
	KUNIT_CASE(ptest_reply_invalid),
	KUNIT_CASE(ptest_reply_multi),
	KUNIT_CASE(ptest_227),
	KUNIT_CASE(ptest_229),
	KUNIT_CASE(ptest_span),
	{}
};

static struct kunit_suite ptest_suite = {
	.name = "nf_ftp_embryo_parse",
	.test_cases = ptest_cases,
};

kunit_test_suites(&ptest_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suites of nf_ftp_embryo: parser, stream reassembly, state machine");
