// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the session core (nf_ftp_embryo/session.h): what a line
 * is decided to be against the peers and the policy, and that deciding
 * changes nothing until the decision is committed.
 *
 * The core is compiled into this file; the parser and the state machine
 * it calls come from the other suites' files in this module.
 */
#include <kunit/test.h>

#include "../nf_ftp_embryo/session.c"

static void cmd(const struct ftpe_session *s, const struct ftpe_peers *p,
		const char *line, unsigned int lflags, struct ftpe_decision *d)
{
	ftpe_session_command(s, p, line, strlen(line), lflags, d);
}

static void rpl(const struct ftpe_session *s, const struct ftpe_peers *p,
		const char *line, unsigned int lflags, struct ftpe_decision *d)
{
	ftpe_session_reply(s, p, line, strlen(line), lflags, d);
}

static bool ann(enum ftpe_side side, const char *line, bool cut)
{
	return ftpe_line_announces(side, line, strlen(line), cut);
}

/* Client 10.0.1.2, server 10.0.2.2, min_port 1024. */
static void stest_peers(struct ftpe_peers *p, bool nat)
{
	memset(p, 0, sizeof(*p));
	p->family = FTPE_AF_INET;
	memcpy(p->addr[FTPE_CLIENT], "\x0a\x00\x01\x02", 4);
	memcpy(p->addr[FTPE_SERVER], "\x0a\x00\x02\x02", 4);
	p->min_port = 1024;
	p->nat = nat;
	p->hidden[FTPE_CLIENT] = nat;
	p->hidden[FTPE_SERVER] = nat;
}

static bool stest_counted(const struct ftpe_decision *d, enum ftpe_stat stat)
{
	int i;

	for (i = 0; i < d->ncounts; i++)
		if (d->counts[i] == stat)
			return true;
	return false;
}

static void stest_port(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	cmd(&s, &p, "PORT 10,0,1,2,4,1", 0, &d);
	KUNIT_EXPECT_EQ(test, d.verb, FTPE_VERB_PORT);
	KUNIT_EXPECT_EQ(test, d.refused, 0);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_TRUE(test, stest_counted(&d, FTPE_STAT_CMD_PORT));
	KUNIT_EXPECT_FALSE(test, d.flags & (FTPE_DEC_HIDE | FTPE_DEC_ANNOUNCE));
	/* Nothing changed before the commit. */
	KUNIT_EXPECT_EQ(test, s.fsm.state, FTPE_IDLE);
	KUNIT_EXPECT_EQ(test, s.fsm.npending, 0);
	ftpe_session_commit(&s, &d);
	KUNIT_EXPECT_EQ(test, s.fsm.state, FTPE_OPENING);
	KUNIT_EXPECT_EQ(test, s.fsm.ep.port, 1025);
}

static void stest_refusals(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	cmd(&s, &p, "PORT 6,6,6,6,4,1", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_BOUNCE);
	KUNIT_EXPECT_EQ(test, d.verb, FTPE_VERB_REFUSED);
	KUNIT_EXPECT_EQ(test, d.mode, FTPE_VERB_PORT);
	KUNIT_EXPECT_FALSE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_TRUE(test, stest_counted(&d, FTPE_STAT_REFUSED_BOUNCE));
	KUNIT_EXPECT_TRUE(test, stest_counted(&d, FTPE_STAT_CMD_PORT));

	cmd(&s, &p, "PORT 10,0,1,2,0,21", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_LOW_PORT);

	/* loose lets the client name any host of its family. */
	p.loose = 1;
	cmd(&s, &p, "PORT 6,6,6,6,4,1", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, 0);
	cmd(&s, &p, "EPRT |2|::1|1025|", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_BOUNCE);
}

static void stest_passive(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	/* Nobody asked: read for the report only. */
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_UNSOLICITED);
	KUNIT_EXPECT_EQ(test, d.ep.port, 1025);
	KUNIT_EXPECT_FALSE(test, d.r & FTPE_DO_CREATE);

	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "227 Entering (6,6,6,6,4,1)", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_THIRD_PARTY);
	KUNIT_EXPECT_EQ(test, d.why, FTPE_STAT_ABORTED_REFUSED);
	KUNIT_EXPECT_FALSE(test, d.r & FTPE_DO_CREATE);

	/* The same session, the refusal not committed: a good 227 opens. */
	rpl(&s, &p, "227 Entering (10,0,2,2,4,2)", 0, &d);
	KUNIT_EXPECT_EQ(test, d.refused, 0);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_EQ(test, d.fsm.ep.port, 1026);
	KUNIT_EXPECT_TRUE(test, stest_counted(&d, FTPE_STAT_REPLY_2XX));

	/* EPSV: the endpoint is the server's address. */
	ftpe_session_init(&s);
	cmd(&s, &p, "EPSV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "229 Entering (|||1027|)", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_EQ(test, d.fsm.ep.family, FTPE_AF_INET);
	KUNIT_EXPECT_EQ(test, memcmp(d.fsm.ep.addr, p.addr[FTPE_SERVER], 4),
			0);
}

static void stest_nat(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, true);
	cmd(&s, &p, "PORT 10,0,1,2,4,1", 0, &d);
	KUNIT_ASSERT_TRUE(test, d.flags & FTPE_DEC_HIDE);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_ANNOUNCE);
	KUNIT_EXPECT_EQ(test, d.hidden.port, 1025);
	/* Refused, it is still hidden, and announces nothing. */
	cmd(&s, &p, "PORT 10,0,1,2,0,21", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_HIDE);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_ANNOUNCE);
	/* Cut off as overlong: refused whole, the session untouched. */
	cmd(&s, &p, "PORT 10,0,1,2,4", FTPE_LINE_TRUNCATED, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_UNREADABLE);
	ftpe_session_commit(&s, &d);
	KUNIT_EXPECT_EQ(test, s.fsm.npending, 0);
	/* Any 227 naming the server is hidden, asked for or not. */
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_HIDE);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_ANNOUNCE);
	/* The client of a port forward is known by its own address. */
	p.hidden[FTPE_CLIENT] = 0;
	cmd(&s, &p, "PORT 10,0,1,2,4,1", 0, &d);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_HIDE);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_ANNOUNCE);
}

static void stest_announces(struct kunit *test)
{
	KUNIT_EXPECT_TRUE(test, ann(FTPE_CLIENT, "port 1", false));
	KUNIT_EXPECT_FALSE(test, ann(FTPE_CLIENT, "PO", false));
	KUNIT_EXPECT_TRUE(test, ann(FTPE_CLIENT, "EP", true));
	KUNIT_EXPECT_FALSE(test, ann(FTPE_CLIENT, "PASV", true));
	KUNIT_EXPECT_TRUE(test, ann(FTPE_SERVER, "22", true));
	KUNIT_EXPECT_FALSE(test, ann(FTPE_SERVER, "229 x", true));
}

static void stest_gap_and_tls(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	cmd(&s, &p, "NOOP", 0, &d);
	ftpe_session_commit(&s, &d);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	/* After a gap the reply answers the newest command: the PASV. */
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", FTPE_LINE_AFTER_GAP, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_EQ(test, s.fsm.npending, 2);

	/*
	 * AUTH pipelined with a PASV: the 234 says TLS follows, and what is
	 * pending goes, since its answers will not be seen.  Lines read
	 * again after CCC start from there.
	 */
	ftpe_session_init(&s);
	cmd(&s, &p, "AUTH TLS", 0, &d);
	ftpe_session_commit(&s, &d);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "234 Go ahead", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_EV_TLS);
	ftpe_session_commit(&s, &d);
	KUNIT_EXPECT_EQ(test, s.fsm.npending, 0);
	KUNIT_EXPECT_EQ(test, s.fsm.state, FTPE_IDLE);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
}

/*
 * The first reply after lost ones is refused (its pinhole could not be
 * made): the resync stands, and the client's next PASV is not thrown away
 * when the reply comes again.  Its port, given up on, opens nothing; the
 * next PASV's does.
 */
static void stest_refused_after_gap(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	cmd(&s, &p, "TYPE I", 0, &d);
	ftpe_session_commit(&s, &d);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	/* The 200 to TYPE I was lost. */
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", FTPE_LINE_AFTER_GAP, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	ftpe_session_refused(&s, &d);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "227 Entering (10,0,2,2,4,1)", 0, &d);
	KUNIT_EXPECT_FALSE(test, d.r & FTPE_DO_CREATE);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "227 Entering (10,0,2,2,4,2)", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.r & FTPE_DO_CREATE);
	KUNIT_EXPECT_EQ(test, d.fsm.ep.port, 1026);
}

/* A line that does not parse is flagged to be reported, as well as counted. */
static void stest_malformed(struct kunit *test)
{
	struct ftpe_session s;
	struct ftpe_peers p;
	struct ftpe_decision d;

	ftpe_session_init(&s);
	stest_peers(&p, false);
	cmd(&s, &p, "PORT 10,0,1,2,39", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_MALFORMED);
	KUNIT_EXPECT_TRUE(test, stest_counted(&d, FTPE_STAT_MALFORMED));
	cmd(&s, &p, "PORT 10,0,1,2,4,1", 0, &d);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_MALFORMED);
	/* A bounce is refused, not malformed. */
	cmd(&s, &p, "PORT 10,0,2,2,4,1", 0, &d);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_MALFORMED);
	KUNIT_EXPECT_EQ(test, d.refused, FTPE_REASON_BOUNCE);
	/* A server line that is no reply, and a 227 whose numbers do not parse. */
	rpl(&s, &p, "hello", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_MALFORMED);
	cmd(&s, &p, "PASV", 0, &d);
	ftpe_session_commit(&s, &d);
	rpl(&s, &p, "227 Entering Passive Mode (10,0,2,2,4)", 0, &d);
	KUNIT_EXPECT_TRUE(test, d.flags & FTPE_DEC_MALFORMED);
	rpl(&s, &p, "227 Entering Passive Mode (10,0,2,2,4,1)", 0, &d);
	KUNIT_EXPECT_FALSE(test, d.flags & FTPE_DEC_MALFORMED);
}

static struct kunit_case stest_cases[] = {
	KUNIT_CASE(stest_port),
	KUNIT_CASE(stest_malformed),
	KUNIT_CASE(stest_refusals),
	KUNIT_CASE(stest_passive),
	KUNIT_CASE(stest_nat),
	KUNIT_CASE(stest_announces),
	KUNIT_CASE(stest_gap_and_tls),
	KUNIT_CASE(stest_refused_after_gap),
	{}
};

static struct kunit_suite stest_suite = {
	.name = "nf_ftp_embryo_session",
	.test_cases = stest_cases,
};

kunit_test_suites(&stest_suite);
