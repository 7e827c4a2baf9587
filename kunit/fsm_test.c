// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the per-control-connection state machine
 * (nf_ftp_embryo/fsm.h).
 *
 * The code under test is compiled into this file so that the test module
 * links no object of the main module.  Each scenario is a list of client
 * commands and server replies with, after each, the expected state, the
 * result bits that must be set and those that must not.  "ALL" as the
 * forbidden set means the result must be exactly the required bits.
 *
 * Scenarios run under the founding timing (strict_active) unless marked
 * early: most were written for it, and under it the transfer command is
 * what opens an active pinhole.  The default timing has its own table and
 * the loops over every state run both.
 */
#include <kunit/test.h>

#include "../nf_ftp_embryo/fsm.c"
#include "../nf_ftp_embryo/names.c"

/* Step kinds */
#define FT_END		0
#define FT_CMD		1
#define FT_RPL		2

#define FT_ANY		0xff	/* state not checked */
#define FT_ALL		(~0u)	/* forbid every bit not required */

#define FT_CR		FTPE_DO_CREATE
#define FT_RM		FTPE_DO_REMOVE
#define FT_OP		FTPE_EV_OPENED
#define FT_DN		FTPE_EV_DONE
#define FT_AB		FTPE_EV_ABORTED
#define FT_RP		FTPE_EV_REPLACED
#define FT_UN		FTPE_EV_UNSOLICITED
#define FT_TL		FTPE_EV_TLS
#define FT_MV		FTPE_EV_MOVED
#define FT_OV		FTPE_EV_OVERFLOW

/* Bits an unrelated command or reply must never produce. */
#define FT_QUIET	(FT_CR | FT_RM | FT_OP | FT_DN | FT_AB | FT_RP | FT_MV)

#define FT_PORT		FTPE_VERB_PORT
#define FT_EPRT		FTPE_VERB_EPRT
#define FT_PASV		FTPE_VERB_PASV
#define FT_EPSV		FTPE_VERB_EPSV
#define FT_XFER		FTPE_VERB_XFER
#define FT_OTHER	FTPE_VERB_OTHER

#define FT_IDLE		FTPE_IDLE
#define FT_OPENING	FTPE_OPENING
#define FT_OPENED	FTPE_OPENED
#define FT_SENT		FTPE_CMD_SENT
#define FT_STARTED	FTPE_EXEC_STARTED

struct ftest_step {
	u8 kind;
	u16 arg;			/* verb or reply code */
	const struct ftpe_endpoint *ep;	/* passed with the command/reply */
	u8 state;			/* state afterwards, or FT_ANY */
	unsigned int must;		/* result bits that must be set */
	unsigned int mustnot;		/* and those that must not */
	const struct ftpe_endpoint *want;	/* f->ep when CREATE is set */
	u8 mode;			/* f->mode afterwards, 0: unchecked */
};

struct ftest_scenario {
	const char *name;
	const struct ftest_step *steps;
	bool early;		/* the default timing, not strict_active */
};

static const struct ftpe_endpoint ftest_ep_port = {
	.family = FTPE_AF_INET, .addr = { 192, 168, 122, 1 }, .port = 50000,
};

static const struct ftpe_endpoint ftest_ep_port2 = {
	.family = FTPE_AF_INET, .addr = { 192, 168, 122, 1 }, .port = 50001,
};

static const struct ftpe_endpoint ftest_ep_eprt = {
	.family = FTPE_AF_INET6,
	.addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	.port = 50002,
};

static const struct ftpe_endpoint ftest_ep_227 = {
	.family = FTPE_AF_INET, .addr = { 192, 168, 122, 10 }, .port = 30001,
};

static const struct ftpe_endpoint ftest_ep_229 = {
	.family = 0, .port = 30002,
};

static bool ftest_ep_equal(const struct ftpe_endpoint *a,
			   const struct ftpe_endpoint *b)
{
	size_t alen = 0;

	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == FTPE_AF_INET)
		alen = 4;
	else if (a->family == FTPE_AF_INET6)
		alen = 16;
	return !memcmp(a->addr, b->addr, alen);
}

/* Apply one step and check it; false when something did not match. */
static bool ftest_do(struct kunit *test, struct ftpe_fsm *f,
		     const struct ftest_step *s, const char *name, int i)
{
	const char *kind = s->kind == FT_CMD ? "verb" : "reply";
	unsigned int r, bad, missing;
	bool ok = true;

	if (s->kind == FT_CMD)
		r = ftpe_fsm_command(f, s->arg, s->ep);
	else
		r = ftpe_fsm_reply(f, s->arg, s->ep);

	missing = s->must & ~r;
	bad = r & s->mustnot & ~s->must;
	if (missing || bad) {
		KUNIT_FAIL(test, "%s, step %d (%s %u): %#x, lacks %#x, has %#x",
			   name, i, kind, s->arg, r, missing, bad);
		ok = false;
	}
	if (s->state != FT_ANY && f->state != s->state) {
		KUNIT_FAIL(test, "%s, step %d (%s %u): state %s, expected %s",
			   name, i, kind, s->arg, ftpe_state_name(f->state),
			   ftpe_state_name(s->state));
		ok = false;
	}
	if (f->state == FTPE_EXEC_COMP || f->state >= FTPE_STATE_COUNT) {
		KUNIT_FAIL(test, "%s, step %d: left in state %u", name, i,
			   f->state);
		ok = false;
	}
	if (s->mode && f->mode != s->mode) {
		KUNIT_FAIL(test, "%s, step %d: mode %u, expected %u", name, i,
			   f->mode, s->mode);
		ok = false;
	}
	if ((r & FTPE_DO_CREATE) && s->want &&
	    !ftest_ep_equal(&f->ep, s->want)) {
		KUNIT_FAIL(test, "%s, step %d: CREATE %u/%u, expected %u/%u",
			   name, i, f->ep.family, f->ep.port, s->want->family,
			   s->want->port);
		ok = false;
	}
	return ok;
}

static void ftest_run(struct kunit *test, const struct ftest_scenario *sc)
{
	struct ftpe_fsm f;
	int i;

	memset(&f, 0xa5, sizeof(f));
	ftpe_fsm_init(&f);
	KUNIT_EXPECT_EQ_MSG(test, f.state, FTPE_IDLE, "%s: init", sc->name);
	f.strict_active = !sc->early;
	for (i = 0; sc->steps[i].kind != FT_END; i++)
		if (!ftest_do(test, &f, &sc->steps[i], sc->name, i))
			break;
}

static void ftest_run_all(struct kunit *test,
			  const struct ftest_scenario *sc, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ftest_run(test, &sc[i]);
}

/* The rows of the founding table, one negotiation each. */
static const struct ftest_step ftest_pasv_retr[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL, NULL,
	  FT_PASV },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227, FT_PASV },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_port_retr[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL,
	  NULL, FT_PORT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_port, FT_PORT },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_eprt_stor[] = {
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_MV, FT_ALL,
	  NULL, FT_EPRT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_eprt, FT_EPRT },
	{ FT_RPL, 125, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 250, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_epsv_list[] = {
	{ FT_CMD, FT_EPSV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL, NULL,
	  FT_EPSV },
	{ FT_RPL, 229, &ftest_ep_229, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_229, FT_EPSV },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* 2xx straight after the transfer command, no 1xx. */
static const struct ftest_step ftest_pasv_no_1xx[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* One negotiation serves one transfer only. */
static const struct ftest_step ftest_second_xfer[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_DN | FT_MV },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_CR | FT_DN | FT_MV },
	{ FT_END }
};

static const struct ftest_scenario ftest_table[] = {
	{ "PASV RETR", ftest_pasv_retr },
	{ "PORT RETR", ftest_port_retr },
	{ "EPRT STOR", ftest_eprt_stor },
	{ "EPSV LIST", ftest_epsv_list },
	{ "PASV, 226 without 1xx", ftest_pasv_no_1xx },
	{ "second transfer without negotiation", ftest_second_xfer },
};

static void ftest_table_rows(struct kunit *test)
{
	ftest_run_all(test, ftest_table, ARRAY_SIZE(ftest_table));
}

/* Commands that open no data connection, and their replies. */
static const struct ftest_step ftest_port_unrelated[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* TYPE I */
	{ FT_RPL, 200, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* REST 100 */
	{ FT_RPL, 350, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* SIZE f */
	{ FT_RPL, 550, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* MDTM f */
	{ FT_RPL, 500, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_port },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_pasv_unrelated[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* TYPE I */
	{ FT_RPL, 200, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* SIZE f */
	{ FT_RPL, 550, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },	/* REST 5 */
	{ FT_RPL, 350, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* With no negotiation nothing happens at all. */
static const struct ftest_step ftest_idle_traffic[] = {
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_QUIET },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_QUIET },
	{ FT_RPL, 550, NULL, FT_IDLE, 0, FT_CR | FT_OP | FT_DN | FT_MV },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_OP | FT_DN | FT_MV },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_CR | FT_OP | FT_DN | FT_MV },
	{ FT_END }
};

/*
 * NOOP and SIZE while the transfer runs, answered at once (pyftpdlib) or
 * after the transfer (vsftpd): their replies end nothing.
 */
static const struct ftest_step ftest_noop_in_transfer[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_STARTED, 0, FT_QUIET },	/* NOOP */
	{ FT_RPL, 200, NULL, FT_STARTED, 0, FT_QUIET },
	{ FT_CMD, FT_OTHER, NULL, FT_STARTED, 0, FT_QUIET },	/* SIZE f */
	{ FT_RPL, 550, NULL, FT_STARTED, 0, FT_QUIET },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_noop_after_transfer[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_STARTED, 0, FT_QUIET },	/* NOOP */
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_scenario ftest_unrelated_table[] = {
	{ "PORT with TYPE/REST/SIZE/MDTM", ftest_port_unrelated },
	{ "PASV with TYPE/SIZE/REST", ftest_pasv_unrelated },
	{ "NOOP and SIZE during a transfer", ftest_noop_in_transfer },
	{ "NOOP answered after the transfer", ftest_noop_after_transfer },
	{ "traffic without negotiation", ftest_idle_traffic },
};

static void ftest_unrelated(struct kunit *test)
{
	ftest_run_all(test, ftest_unrelated_table,
		      ARRAY_SIZE(ftest_unrelated_table));
}

/* 227/229 the caller found malformed or refused: no expectation. */
static const struct ftest_step ftest_227_null[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_END }
};

static const struct ftest_step ftest_229_null[] = {
	{ FT_CMD, FT_EPSV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 229, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

/* 227/229 with no PASV/EPSV pending. */
static const struct ftest_step ftest_unsol_idle[] = {
	{ FT_RPL, 227, &ftest_ep_227, FT_IDLE, FT_UN, FT_CR | FT_OP },
	{ FT_RPL, 229, &ftest_ep_229, FT_IDLE, FT_UN, FT_CR | FT_OP },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_unsol_after_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_ANY, FT_UN, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_unsol_second_227[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_ANY, FT_UN, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_unsol_after_type[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENED, 0, FT_QUIET },
	{ FT_RPL, 227, &ftest_ep_227, FT_ANY, FT_UN, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_229_to_pasv[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 229, &ftest_ep_229, FT_ANY, 0, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_227_to_epsv[] = {
	{ FT_CMD, FT_EPSV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_ANY, 0, FT_CR },
	{ FT_END }
};

static const struct ftest_scenario ftest_pasv_reply_table[] = {
	{ "227 with NULL endpoint", ftest_227_null },
	{ "229 with NULL endpoint", ftest_229_null },
	{ "unsolicited 227/229 in IDLE", ftest_unsol_idle },
	{ "227 after PORT/200", ftest_unsol_after_port },
	{ "second 227 to one PASV", ftest_unsol_second_227 },
	{ "227 answering TYPE", ftest_unsol_after_type },
	{ "229 answering PASV", ftest_229_to_pasv },
	{ "227 answering EPSV", ftest_227_to_epsv },
};

static void ftest_passive_replies(struct kunit *test)
{
	ftest_run_all(test, ftest_pasv_reply_table,
		      ARRAY_SIZE(ftest_pasv_reply_table));
}

/* Replacement: a new negotiation while one is under way. */
static const struct ftest_step ftest_pasv_after_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_RP | FT_RM, FT_CR, NULL,
	  FT_PASV },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_port_after_pasv[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FT_PORT, &ftest_ep_port2, FT_OPENING, FT_RP | FT_RM, FT_CR,
	  NULL, FT_PORT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_port2 },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_port_after_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_PORT, &ftest_ep_port2, FT_OPENING, FT_RP | FT_RM, FT_CR,
	  NULL, FT_PORT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_port2 },
	{ FT_END }
};

static const struct ftest_step ftest_epsv_in_transfer[] = {
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_CMD, FT_EPSV, NULL, FT_OPENING, FT_RP | FT_RM, FT_CR, NULL,
	  FT_EPSV },
	/* the server finishes the transfer, then answers EPSV */
	{ FT_RPL, 226, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 229, &ftest_ep_229, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_229 },
	{ FT_END }
};

static const struct ftest_scenario ftest_replace_table[] = {
	{ "PASV after PORT/200", ftest_pasv_after_port },
	{ "PORT after PASV/227", ftest_port_after_pasv },
	{ "PORT after PORT/200", ftest_port_after_port },
	{ "EPSV during an EPRT transfer", ftest_epsv_in_transfer },
};

static void ftest_replacement(struct kunit *test)
{
	ftest_run_all(test, ftest_replace_table,
		      ARRAY_SIZE(ftest_replace_table));
}

/* AUTH TLS */
static const struct ftest_step ftest_auth_tls[] = {
	{ FT_CMD, FTPE_VERB_AUTH, NULL, FT_IDLE, 0, FT_CR | FT_OP | FT_TL },
	{ FT_RPL, 234, NULL, FT_ANY, FT_TL, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_234_alone[] = {
	{ FT_RPL, 234, NULL, FT_IDLE, FT_TL, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_auth_refused[] = {
	{ FT_CMD, FTPE_VERB_AUTH, NULL, FT_IDLE, 0, FT_CR | FT_OP | FT_TL },
	{ FT_RPL, 504, NULL, FT_IDLE, 0, FT_TL | FT_CR },
	{ FT_RPL, 234, NULL, FT_IDLE, FT_TL, FT_CR },
	{ FT_END }
};

static const struct ftest_scenario ftest_tls_table[] = {
	{ "AUTH TLS, 234", ftest_auth_tls },
	{ "234 without AUTH", ftest_234_alone },
};

static void ftest_tls(struct kunit *test)
{
	ftest_run_all(test, ftest_tls_table, ARRAY_SIZE(ftest_tls_table));
}

/*
 * Any 234 means TLS follows, even one that answers nothing pending: a
 * 234 passed over would have records read as lines (fail closed).
 */
static void ftest_tls_refused(struct kunit *test)
{
	static const struct ftest_scenario sc = {
		"AUTH TLS, 504, 234", ftest_auth_refused
	};

	ftest_run(test, &sc);
}

/* REFUSED and MALFORMED never lead to an expectation. */
static const struct ftest_step ftest_refused_idle[] = {
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, 0, FT_CR | FT_OP },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_CR | FT_OP },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_CR | FT_OP },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_END }
};

static const struct ftest_step ftest_refused_after_pasv[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, FT_RM, FT_CR },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_CR },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_refused_after_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, 0, FT_CR },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_CR },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_CR },
	{ FT_END }
};

static const struct ftest_step ftest_refused_in_transfer[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL },
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, FT_RM, FT_CR },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_END }
};

static const struct ftest_step ftest_malformed_idle[] = {
	{ FT_CMD, FTPE_VERB_MALFORMED, NULL, FT_IDLE, 0, FT_CR | FT_OP },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_CR },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_CR },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_CR | FT_DN },
	{ FT_END }
};

static const struct ftest_scenario ftest_refused_table[] = {
	{ "REFUSED in IDLE", ftest_refused_idle },
	{ "REFUSED after PASV/227", ftest_refused_after_pasv },
	{ "REFUSED after PORT/200", ftest_refused_after_port },
	{ "REFUSED during a PORT transfer", ftest_refused_in_transfer },
	{ "MALFORMED in IDLE", ftest_malformed_idle },
};

static void ftest_refused(struct kunit *test)
{
	ftest_run_all(test, ftest_refused_table,
		      ARRAY_SIZE(ftest_refused_table));
}

/*
 * Drive a fresh machine along the happy path of @mode up to @depth, with
 * checks; false when that already failed.
 */
static bool ftest_drive(struct kunit *test, struct ftpe_fsm *f, u8 mode,
			u8 depth, bool early, const char *name)
{
	bool at_xfer = ftpe_mode_active(mode) && !early;
	struct ftest_step s[4] = {};
	int i, n = 0;

	s[n].kind = FT_CMD;
	s[n].arg = mode;
	s[n].state = FT_OPENING;
	s[n].must = FT_OP | FT_MV;
	s[n].mustnot = FT_ALL;
	s[n].mode = mode;
	if (ftpe_mode_active(mode)) {
		s[n].ep = mode == FT_PORT ? &ftest_ep_port : &ftest_ep_eprt;
		if (early) {
			s[n].must |= FT_CR;
			s[n].want = s[n].ep;
		}
	}
	n++;
	if (depth >= FT_OPENED) {
		s[n].kind = FT_RPL;
		s[n].state = FT_OPENED;
		s[n].mustnot = FT_ALL;
		if (ftpe_mode_active(mode)) {
			s[n].arg = 200;
			s[n].must = FT_MV;
		} else {
			s[n].arg = mode == FT_PASV ? 227 : 229;
			s[n].ep = mode == FT_PASV ? &ftest_ep_227 :
						    &ftest_ep_229;
			s[n].want = s[n].ep;
			s[n].must = FT_CR | FT_MV;
		}
		n++;
	}
	if (depth >= FT_SENT) {
		s[n].kind = FT_CMD;
		s[n].arg = FT_XFER;
		s[n].state = FT_SENT;
		s[n].must = FT_MV;
		if (at_xfer) {
			s[n].must |= FT_CR;
			s[n].want = s[0].ep;
		}
		s[n].mustnot = FT_ALL;
		n++;
	}
	if (depth >= FT_STARTED) {
		s[n].kind = FT_RPL;
		s[n].arg = 150;
		s[n].state = FT_STARTED;
		s[n].must = FT_MV;
		s[n].mustnot = FT_ALL;
		n++;
	}
	ftpe_fsm_init(f);
	f->strict_active = !early;
	for (i = 0; i < n; i++)
		if (!ftest_do(test, f, &s[i], name, i))
			return false;
	return true;
}

static const char *ftest_timing(bool early)
{
	return early ? "early" : "strict";
}

static const u8 ftest_modes[] = { FT_PORT, FT_EPRT, FT_PASV, FT_EPSV };

static const char *ftest_mode_name(u8 mode)
{
	switch (mode) {
	case FT_PORT:
		return "PORT";
	case FT_EPRT:
		return "EPRT";
	case FT_PASV:
		return "PASV";
	default:
		return "EPSV";
	}
}

static const u16 ftest_negative[] = {
	421, 425, 426, 450, 451, 452, 500, 501, 502, 504, 530, 550, 552, 553,
};

/* A negative reply to the negotiation or to the transfer ends it all. */
static void ftest_negative_exits_in(struct kunit *test, bool early)
{
	static const u8 depths[] = { FT_OPENING, FT_SENT, FT_STARTED };
	struct ftest_step s = { .kind = FT_RPL, .state = FT_IDLE };
	struct ftpe_fsm f;
	size_t m, d, c;
	char name[64];

	for (m = 0; m < ARRAY_SIZE(ftest_modes); m++) {
		for (d = 0; d < ARRAY_SIZE(depths); d++) {
			for (c = 0; c < ARRAY_SIZE(ftest_negative); c++) {
				snprintf(name, sizeof(name), "%s, %s, %u, %s",
					 ftest_mode_name(ftest_modes[m]),
					 ftpe_state_name(depths[d]),
					 ftest_negative[c], ftest_timing(early));
				if (!ftest_drive(test, &f, ftest_modes[m],
						 depths[d], early, name))
					return;
				s.arg = ftest_negative[c];
				s.must = FT_RM | FT_AB | FT_MV;
				s.mustnot = FT_CR | FT_DN | FT_OP;
				if (!ftest_do(test, &f, &s, name, 10))
					return;
				/* late replies change nothing */
				s.arg = 226;
				s.must = 0;
				s.mustnot = FT_CR | FT_DN | FT_OP;
				if (!ftest_do(test, &f, &s, name, 11))
					return;
			}
		}
	}
}

static void ftest_negative_exits(struct kunit *test)
{
	ftest_negative_exits_in(test, false);
	ftest_negative_exits_in(test, true);
}

/* ABOR and QUIT end the negotiation from every state. */
static void ftest_abor_quit_in(struct kunit *test, bool early)
{
	static const u8 depths[] = {
		FT_OPENING, FT_OPENED, FT_SENT, FT_STARTED,
	};
	static const u8 verbs[] = { FTPE_VERB_ABOR, FTPE_VERB_QUIT };
	struct ftest_step s = { .state = FT_IDLE };
	struct ftpe_fsm f;
	size_t m, d, v;
	char name[64];

	for (v = 0; v < ARRAY_SIZE(verbs); v++) {
		/* in IDLE: nothing to end */
		snprintf(name, sizeof(name), "%s in IDLE",
			 verbs[v] == FTPE_VERB_ABOR ? "ABOR" : "QUIT");
		ftpe_fsm_init(&f);
		s.kind = FT_CMD;
		s.arg = verbs[v];
		s.must = 0;
		s.mustnot = FT_CR | FT_OP | FT_DN | FT_MV;
		ftest_do(test, &f, &s, name, 0);

		for (m = 0; m < ARRAY_SIZE(ftest_modes); m++) {
			for (d = 0; d < ARRAY_SIZE(depths); d++) {
				snprintf(name, sizeof(name), "%s in %s, %s, %s",
					 verbs[v] == FTPE_VERB_ABOR ?
					 "ABOR" : "QUIT",
					 ftpe_state_name(depths[d]),
					 ftest_mode_name(ftest_modes[m]),
					 ftest_timing(early));
				if (!ftest_drive(test, &f, ftest_modes[m],
						 depths[d], early, name))
					return;
				s.kind = FT_CMD;
				s.arg = verbs[v];
				s.must = FT_RM | FT_AB | FT_MV;
				s.mustnot = FT_CR | FT_DN | FT_OP;
				if (!ftest_do(test, &f, &s, name, 10))
					return;
				/* the server's 426 and 226 to ABOR */
				s.kind = FT_RPL;
				s.arg = 426;
				s.must = 0;
				s.mustnot = FT_CR | FT_DN | FT_OP;
				ftest_do(test, &f, &s, name, 11);
				s.arg = 226;
				ftest_do(test, &f, &s, name, 12);
			}
		}
	}
}

static void ftest_abor_quit(struct kunit *test)
{
	ftest_abor_quit_in(test, false);
	ftest_abor_quit_in(test, true);
}

/* A new negotiation from each state and mode replaces the old one. */
static void ftest_replace_everywhere_in(struct kunit *test, bool early)
{
	static const u8 depths[] = {
		FT_OPENING, FT_OPENED, FT_SENT, FT_STARTED,
	};
	struct ftest_step s = {};
	struct ftpe_fsm f;
	size_t m, d, n;
	char name[64];
	bool opens;
	u8 nm;

	for (m = 0; m < ARRAY_SIZE(ftest_modes); m++) {
		for (d = 0; d < ARRAY_SIZE(depths); d++) {
			for (n = 0; n < ARRAY_SIZE(ftest_modes); n++) {
				nm = ftest_modes[n];
				snprintf(name, sizeof(name), "%s in %s of %s, %s",
					 ftest_mode_name(nm),
					 ftpe_state_name(depths[d]),
					 ftest_mode_name(ftest_modes[m]),
					 ftest_timing(early));
				if (!ftest_drive(test, &f, ftest_modes[m],
						 depths[d], early, name))
					return;
				/* early: the new PORT/EPRT opens its own */
				opens = early && ftpe_mode_active(nm);
				memset(&s, 0, sizeof(s));
				s.kind = FT_CMD;
				s.arg = nm;
				s.ep = nm == FT_PORT ? &ftest_ep_port2 :
				       nm == FT_EPRT ? &ftest_ep_eprt : NULL;
				s.state = FT_OPENING;
				s.must = FT_RP | FT_RM | (opens ? FT_CR : 0);
				s.mustnot = FT_DN | (opens ? 0 : FT_CR);
				s.want = opens ? s.ep : NULL;
				s.mode = nm;
				if (!ftest_do(test, &f, &s, name, 10))
					return;
				if (s.ep && !ftest_ep_equal(&f.ep, s.ep))
					KUNIT_FAIL(test, "%s: old endpoint",
						   name);
			}
		}
	}
}

static void ftest_replace_everywhere(struct kunit *test)
{
	ftest_replace_everywhere_in(test, false);
	ftest_replace_everywhere_in(test, true);
}

/*
 * Pipelining: several commands leave before the first reply comes back.
 * Each final reply answers the oldest unanswered command.
 */
static const struct ftest_step ftest_pipe_type_pasv[] = {
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },		/* TYPE I */
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },		/* to TYPE */
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* A 550 to a SIZE pipelined behind PASV belongs to SIZE. */
static const struct ftest_step ftest_pipe_pasv_size[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* SIZE */
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_RPL, 550, NULL, FT_OPENED, 0, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* PORT and RETR in one segment: the 200 answers PORT, the 150 RETR. */
static const struct ftest_step ftest_pipe_port_retr[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE I */
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, 0, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_port },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* PORT and RETR in one segment: the 200 lets the transfer go ahead. */
static const struct ftest_step ftest_pipe_port_and_retr[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL, &ftest_ep_port },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_pipe_pasv_and_retr[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* A refused PORT with RETR pipelined behind it opens nothing. */
static const struct ftest_step ftest_pipe_port_refused[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 501, NULL, FT_IDLE, FT_AB, FT_CR },
	{ FT_RPL, 425, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

/* Five commands in flight are well within the queue: all attributed. */
static const struct ftest_step ftest_pipe_five[] = {
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_END }
};

/* The greeting answers no command. */
static const struct ftest_step ftest_pipe_greeting[] = {
	{ FT_RPL, 220, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_scenario ftest_pipe_table[] = {
	{ "TYPE+PASV pipelined", ftest_pipe_type_pasv },
	{ "PASV+SIZE pipelined, 550 to SIZE", ftest_pipe_pasv_size },
	{ "PORT+TYPE pipelined", ftest_pipe_port_retr },
	{ "PORT+RETR pipelined", ftest_pipe_port_and_retr },
	{ "PASV+RETR pipelined", ftest_pipe_pasv_and_retr },
	{ "PORT+RETR pipelined, PORT refused", ftest_pipe_port_refused },
	{ "five commands pipelined", ftest_pipe_five },
	{ "greeting before any command", ftest_pipe_greeting },
};

static void ftest_pipelined(struct kunit *test)
{
	ftest_run_all(test, ftest_pipe_table, ARRAY_SIZE(ftest_pipe_table));
}

static const struct ftpe_endpoint ftest_ep_227b = {
	.family = FTPE_AF_INET, .addr = { 192, 168, 122, 10 }, .port = 30003,
};

/*
 * PORT, TYPE I and RETR in one segment: the 200 to PORT comes back with
 * RETR already sent, the moment the pinhole would have opened unpipelined.
 */
static const struct ftest_step ftest_order_port_type_retr[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL,
	  NULL, FT_PORT },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE I */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL, &ftest_ep_port },
	{ FT_RPL, 200, NULL, FT_SENT, 0, FT_ALL },		/* to TYPE */
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* The same with a 1xx to a command it does not belong to: ignored. */
static const struct ftest_step ftest_order_eprt_rest_stor[] = {
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_MV, FT_ALL,
	  NULL, FT_EPRT },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE I */
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* REST 100 */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },	/* STOR */
	{ FT_RPL, 150, NULL, FT_OPENING, 0, FT_ALL },		/* stray */
	{ FT_RPL, 200, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL, &ftest_ep_eprt },
	{ FT_RPL, 125, NULL, FT_SENT, 0, FT_ALL },		/* stray */
	{ FT_RPL, 200, NULL, FT_SENT, 0, FT_ALL },
	{ FT_RPL, 350, NULL, FT_SENT, 0, FT_ALL },
	{ FT_RPL, 125, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 250, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_order_pasv_type_retr[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE I */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_RPL, 200, NULL, FT_SENT, 0, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* A 250 to CWD is not the end of the LIST pipelined behind it. */
static const struct ftest_step ftest_order_epsv_cwd_list[] = {
	{ FT_CMD, FT_EPSV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* CWD d */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },	/* LIST */
	{ FT_RPL, 229, &ftest_ep_229, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_229 },
	{ FT_RPL, 250, NULL, FT_SENT, 0, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* A negative reply to TYPE leaves the transfer; one to RETR ends it. */
static const struct ftest_step ftest_order_port_type_550[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE X */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_SENT, FT_CR | FT_MV, FT_ALL, &ftest_ep_port },
	{ FT_RPL, 504, NULL, FT_SENT, 0, FT_ALL },
	{ FT_RPL, 550, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_ALL },
	{ FT_END }
};

/*
 * Two negotiations in flight: the first was replaced when the second was
 * sent, so its 227 answers a negotiation that is over and opens nothing.
 */
static const struct ftest_step ftest_order_two_pasv[] = {
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_RP | FT_MV, FT_CR },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENING, FT_UN, FT_CR | FT_MV },
	{ FT_RPL, 425, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227b, FT_SENT, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227b },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* A 227 answering the TYPE pipelined before PASV is no answer to PASV. */
static const struct ftest_step ftest_order_227_to_type[] = {
	{ FT_CMD, FT_OTHER, NULL, FT_IDLE, 0, FT_ALL },		/* TYPE I */
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENING, FT_UN, FT_CR | FT_MV },
	{ FT_RPL, 200, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_CR },
	{ FT_END }
};

/* ... nor one answering the PORT pipelined before PASV. */
static const struct ftest_step ftest_order_227_to_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_MV, FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_RP | FT_MV, FT_CR },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENING, FT_UN, FT_CR | FT_MV },
	{ FT_RPL, 200, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_CR },
	{ FT_RPL, 150, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

static const struct ftest_scenario ftest_order_table[] = {
	{ "PORT+TYPE+RETR pipelined", ftest_order_port_type_retr },
	{ "EPRT+TYPE+REST+STOR pipelined, stray 1xx",
	  ftest_order_eprt_rest_stor },
	{ "PASV+TYPE+RETR pipelined", ftest_order_pasv_type_retr },
	{ "EPSV+CWD+LIST pipelined, 250 to CWD", ftest_order_epsv_cwd_list },
	{ "PORT+TYPE+RETR pipelined, 504 then 550", ftest_order_port_type_550 },
	{ "PASV+RETR twice pipelined", ftest_order_two_pasv },
	{ "TYPE+PASV pipelined, 227 to TYPE", ftest_order_227_to_type },
	{ "PORT+PASV+RETR pipelined, 227 to PORT", ftest_order_227_to_port },
};

/* Replies are matched to pipelined commands in the order they were sent. */
static void ftest_pipeline_order(struct kunit *test)
{
	ftest_run_all(test, ftest_order_table, ARRAY_SIZE(ftest_order_table));
}

/* A client the queue still follows: this many commands before a reply. */
#define FTEST_DEPTH	16

static void ftest_commands(struct ftpe_fsm *f, int n)
{
	while (n--)
		ftpe_fsm_command(f, FT_OTHER, NULL);
}

static void ftest_replies(struct ftpe_fsm *f, int n, u16 code)
{
	while (n--)
		ftpe_fsm_reply(f, code, NULL);
}

/* After everything pipelined so far is answered, PASV opens again. */
static void ftest_inspected(struct kunit *test, struct ftpe_fsm *f,
			    const char *what)
{
	unsigned int r;

	r = ftpe_fsm_command(f, FT_PASV, NULL);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_OP, "%s: PASV %#x", what, r);
	r = ftpe_fsm_reply(f, 227, &ftest_ep_227);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_CR, "%s: 227 %#x", what, r);
	KUNIT_EXPECT_EQ_MSG(test, f->state, FT_OPENED, "%s", what);
	ftpe_fsm_command(f, FTPE_VERB_QUIT, NULL);
	ftpe_fsm_reply(f, 221, NULL);
}

/*
 * The queue is bounded.  Past the bound nothing is attributed and nothing
 * opens until every command sent has been answered; then the connection
 * is followed again, however long the flood was.
 */
static void ftest_pipeline_bound(struct kunit *test)
{
	struct ftpe_fsm f;
	unsigned int r;

	/* The deepest pipeline still followed: its PASV opens. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, FTEST_DEPTH - 1);
	r = ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_OP, "PASV %#x", r);
	ftest_replies(&f, FTEST_DEPTH - 1, 200);
	r = ftpe_fsm_reply(&f, 227, &ftest_ep_227);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_CR, "227 %#x", r);
	ftpe_fsm_command(&f, FTPE_VERB_QUIT, NULL);
	ftpe_fsm_reply(&f, 221, NULL);
	ftest_inspected(test, &f, "after the deepest pipeline");

	/* One more: no negotiation starts, none of the replies opens one. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, FTEST_DEPTH);
	r = ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_EQ_MSG(test, r, FT_OV, "PASV %#x", r);
	KUNIT_EXPECT_EQ(test, f.state, FT_IDLE);
	r = ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_EQ_MSG(test, r, 0, "PASV counted once %#x", r);
	ftest_replies(&f, FTEST_DEPTH + 1, 200);
	KUNIT_EXPECT_FALSE(test, ftpe_fsm_wants_endpoint(&f, 227));
	r = ftpe_fsm_reply(&f, 227, &ftest_ep_227);
	KUNIT_EXPECT_FALSE_MSG(test, r & FT_CR, "227 past the bound %#x", r);
	ftest_inspected(test, &f, "past the bound");

	/* A negotiation open when the queue overflows ends. */
	ftpe_fsm_init(&f);
	ftpe_fsm_command(&f, FT_PASV, NULL);
	ftpe_fsm_reply(&f, 227, &ftest_ep_227);
	ftest_commands(&f, FTEST_DEPTH);
	r = ftpe_fsm_command(&f, FT_XFER, NULL);
	KUNIT_EXPECT_EQ_MSG(test, r, FT_OV | FT_RM | FT_AB | FT_MV,
			    "overflowing RETR %#x", r);
	KUNIT_EXPECT_EQ(test, f.state, FT_IDLE);
	ftest_replies(&f, FTEST_DEPTH, 200);
	r = ftpe_fsm_reply(&f, 150, NULL);
	r |= ftpe_fsm_reply(&f, 226, NULL);
	KUNIT_EXPECT_FALSE_MSG(test, r & (FT_CR | FT_DN), "RETR's %#x", r);
	ftest_inspected(test, &f, "after an open negotiation overflowed");

	/* 1xx answer nothing: they do not drain the queue. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, FTEST_DEPTH + 1);
	ftest_replies(&f, FTEST_DEPTH, 200);
	ftest_replies(&f, 5, 150);
	r = ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_FALSE_MSG(test, r & FT_OP, "PASV, one unanswered %#x",
			       r);
	r = ftpe_fsm_reply(&f, 200, NULL);
	r |= ftpe_fsm_reply(&f, 227, &ftest_ep_227);
	KUNIT_EXPECT_FALSE_MSG(test, r & FT_CR, "227, one unanswered %#x", r);
	ftest_inspected(test, &f, "after 1xx in the flood");

	/* Commands keep coming while the first replies drain. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, 3 * FTEST_DEPTH);
	ftest_replies(&f, 2 * FTEST_DEPTH, 500);
	ftest_commands(&f, 3 * FTEST_DEPTH);
	ftest_replies(&f, 4 * FTEST_DEPTH, 500);
	ftest_inspected(test, &f, "after replies and commands interleaved");

	/* Today's floods: past any small counter, and far past. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, 300);
	ftest_replies(&f, 300, 200);
	ftest_inspected(test, &f, "after 300 commands");
	ftpe_fsm_init(&f);
	ftest_commands(&f, 70000);
	ftest_replies(&f, 70000, 500);
	ftest_inspected(test, &f, "after 70000 commands");

	/* Replies nobody asked for (a greeting, a 421) do not hold it up. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, 2 * FTEST_DEPTH);
	ftest_replies(&f, 3 * FTEST_DEPTH, 200);
	ftest_inspected(test, &f, "after more replies than commands");
}

/*
 * The default timing: an active pinhole opens as soon as PORT/EPRT has
 * passed the caller's checks, because some servers (pyftpdlib) connect
 * before they answer 200.  It closes at the same moments as the founding
 * timing's, and the transfer command opens nothing more.
 */
static const struct ftest_step ftest_early_port_retr[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_port, FT_PORT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

static const struct ftest_step ftest_early_eprt_stor[] = {
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_eprt, FT_EPRT },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 125, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 250, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* The server refuses the PORT: the pinhole it got closes with the 5xx. */
static const struct ftest_step ftest_early_port_500[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_port },
	{ FT_RPL, 500, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 425, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

/* The transfer fails (425 after the server could not connect). */
static const struct ftest_step ftest_early_port_425[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 425, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_ALL },
	{ FT_END }
};

/* A second PORT replaces the first pinhole with its own at once. */
static const struct ftest_step ftest_early_port_port[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_port },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_PORT, &ftest_ep_port2, FT_OPENING,
	  FT_OP | FT_RP | FT_RM | FT_CR | FT_MV, FT_ALL, &ftest_ep_port2 },
	{ FT_RPL, 200, NULL, FT_OPENED, FT_MV, FT_ALL },
	{ FT_CMD, FT_XFER, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* PASV after PORT: the active pinhole goes, the passive one opens at 227. */
static const struct ftest_step ftest_early_port_pasv[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL },
	{ FT_CMD, FT_PASV, NULL, FT_OPENING, FT_OP | FT_RP | FT_RM | FT_MV,
	  FT_ALL, NULL, FT_PASV },
	{ FT_RPL, 200, NULL, FT_OPENING, 0, FT_ALL },	/* to PORT */
	{ FT_RPL, 227, &ftest_ep_227, FT_OPENED, FT_CR | FT_MV, FT_ALL,
	  &ftest_ep_227 },
	{ FT_END }
};

/* A PORT that failed the caller's checks opens nothing, ends the old. */
static const struct ftest_step ftest_early_refused[] = {
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL },
	{ FT_CMD, FTPE_VERB_REFUSED, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV,
	  FT_ALL },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

/* Pipelined PORT, TYPE I, RETR: open at PORT, nothing more at the 200. */
static const struct ftest_step ftest_early_pipelined[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_port },
	{ FT_CMD, FT_OTHER, NULL, FT_OPENING, 0, FT_ALL },	/* TYPE I */
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 200, NULL, FT_SENT, FT_MV, FT_ALL },
	{ FT_RPL, 200, NULL, FT_SENT, 0, FT_ALL },		/* to TYPE */
	{ FT_RPL, 150, NULL, FT_STARTED, FT_MV, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, FT_RM | FT_DN | FT_MV, FT_ALL },
	{ FT_END }
};

/* The same with the PORT refused: its pinhole closes, RETR opens none. */
static const struct ftest_step ftest_early_pipelined_501[] = {
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL, &ftest_ep_eprt },
	{ FT_CMD, FT_XFER, NULL, FT_OPENING, 0, FT_ALL },
	{ FT_RPL, 501, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV, FT_ALL },
	{ FT_RPL, 425, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_END }
};

/* ABOR and QUIT before the 200: the open pinhole goes. */
static const struct ftest_step ftest_early_abor[] = {
	{ FT_CMD, FT_PORT, &ftest_ep_port, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL },
	{ FT_CMD, FTPE_VERB_ABOR, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV,
	  FT_ALL },
	{ FT_RPL, 200, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_RPL, 226, NULL, FT_IDLE, 0, FT_ALL },
	{ FT_CMD, FT_EPRT, &ftest_ep_eprt, FT_OPENING, FT_OP | FT_CR | FT_MV,
	  FT_ALL },
	{ FT_CMD, FTPE_VERB_QUIT, NULL, FT_IDLE, FT_RM | FT_AB | FT_MV,
	  FT_ALL },
	{ FT_END }
};

static const struct ftest_scenario ftest_early_table[] = {
	{ "early: PORT RETR", ftest_early_port_retr, true },
	{ "early: EPRT STOR", ftest_early_eprt_stor, true },
	{ "early: PORT answered 500", ftest_early_port_500, true },
	{ "early: RETR answered 425", ftest_early_port_425, true },
	{ "early: PORT after PORT/200", ftest_early_port_port, true },
	{ "early: PASV after PORT", ftest_early_port_pasv, true },
	{ "early: PORT refused by the caller", ftest_early_refused, true },
	{ "early: PORT+TYPE+RETR pipelined", ftest_early_pipelined, true },
	{ "early: EPRT+RETR pipelined, 501", ftest_early_pipelined_501, true },
	{ "early: ABOR, QUIT before the 200", ftest_early_abor, true },
};

/* A machine fresh from ftpe_fsm_init() uses the default timing. */
static void ftest_early_active(struct kunit *test)
{
	struct ftpe_fsm f;

	ftest_run_all(test, ftest_early_table, ARRAY_SIZE(ftest_early_table));

	memset(&f, 0xa5, sizeof(f));
	ftpe_fsm_init(&f);
	KUNIT_EXPECT_EQ(test, f.strict_active, 0);
	KUNIT_EXPECT_EQ(test, ftpe_fsm_command(&f, FT_PORT, &ftest_ep_port),
			(unsigned int)(FT_OP | FT_CR | FT_MV));
}

/*
 * The namespace's timing may change between a PORT and its transfer
 * command: the pinhole is still asked for exactly once, by whichever
 * moment comes first under the timing in force then.
 */
static void ftest_timing_switch(struct kunit *test)
{
	struct ftpe_fsm f;
	unsigned int r;

	/* opened at PORT; strict from then on: RETR opens no second one */
	ftpe_fsm_init(&f);
	r = ftpe_fsm_command(&f, FT_PORT, &ftest_ep_port);
	KUNIT_EXPECT_TRUE(test, r & FT_CR);
	f.strict_active = 1;
	r = ftpe_fsm_reply(&f, 200, NULL);
	r |= ftpe_fsm_command(&f, FT_XFER, NULL);
	KUNIT_EXPECT_FALSE(test, r & FT_CR);
	KUNIT_EXPECT_EQ(test, f.state, FT_SENT);

	/* strict at PORT, default by RETR: RETR opens it, once */
	ftpe_fsm_init(&f);
	f.strict_active = 1;
	r = ftpe_fsm_command(&f, FT_EPRT, &ftest_ep_eprt);
	KUNIT_EXPECT_FALSE(test, r & FT_CR);
	f.strict_active = 0;
	r = ftpe_fsm_reply(&f, 200, NULL);
	KUNIT_EXPECT_FALSE(test, r & FT_CR);
	r = ftpe_fsm_command(&f, FT_XFER, NULL);
	KUNIT_EXPECT_TRUE(test, r & FT_CR);
	KUNIT_EXPECT_TRUE(test, ftest_ep_equal(&f.ep, &ftest_ep_eprt));
	r = ftpe_fsm_command(&f, FT_XFER, NULL);
	KUNIT_EXPECT_FALSE(test, r & FT_CR);

	/* a new negotiation asks again, under the timing now in force */
	r = ftpe_fsm_command(&f, FT_PORT, &ftest_ep_port2);
	KUNIT_EXPECT_EQ(test, r & (FT_CR | FT_RM), (unsigned int)(FT_CR | FT_RM));
	r = ftpe_fsm_reply(&f, 200, NULL);
	r |= ftpe_fsm_command(&f, FT_XFER, NULL);
	KUNIT_EXPECT_FALSE(test, r & FT_CR);
}

/*
 * A router taking over a negotiation from the pinhole conntrackd copied
 * (ha.c): OPENED, its pinhole counted as asked for, and from there the
 * machine closes it as if it had read the negotiation itself.
 */
static void ftest_adopt(struct kunit *test)
{
	static const u8 modes[] = { FT_PASV, FT_PORT };
	struct ftpe_fsm f;
	unsigned int i, r;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		/* the transfer: RETR, 150, 226 removes it, opens nothing */
		ftpe_fsm_init(&f);
		r = ftpe_fsm_adopt(&f, modes[i], &ftest_ep_227);
		KUNIT_EXPECT_EQ(test, r, (unsigned int)(FT_OP | FT_MV));
		KUNIT_EXPECT_EQ(test, f.state, FT_OPENED);
		KUNIT_EXPECT_EQ(test, f.mode, modes[i]);
		KUNIT_EXPECT_TRUE(test, ftest_ep_equal(&f.ep, &ftest_ep_227));
		f.strict_active = 1;
		r = ftpe_fsm_command(&f, FT_XFER, NULL);
		KUNIT_EXPECT_FALSE(test, r & FT_CR);
		KUNIT_EXPECT_EQ(test, f.state, FT_SENT);
		r = ftpe_fsm_reply(&f, 150, NULL);
		KUNIT_EXPECT_EQ(test, f.state, FT_STARTED);
		r = ftpe_fsm_reply(&f, 226, NULL);
		KUNIT_EXPECT_EQ(test, r & (FT_RM | FT_DN),
				(unsigned int)(FT_RM | FT_DN));
		KUNIT_EXPECT_EQ(test, f.state, FT_IDLE);

		/* a 550 to the transfer command removes it at once */
		ftpe_fsm_init(&f);
		ftpe_fsm_adopt(&f, modes[i], &ftest_ep_227);
		ftpe_fsm_command(&f, FT_XFER, NULL);
		r = ftpe_fsm_reply(&f, 550, NULL);
		KUNIT_EXPECT_EQ(test, r & (FT_RM | FT_AB),
				(unsigned int)(FT_RM | FT_AB));
		KUNIT_EXPECT_EQ(test, f.state, FT_IDLE);

		/* so do ABOR and a new negotiation */
		ftpe_fsm_init(&f);
		ftpe_fsm_adopt(&f, modes[i], &ftest_ep_227);
		r = ftpe_fsm_command(&f, FTPE_VERB_ABOR, NULL);
		KUNIT_EXPECT_TRUE(test, r & FT_RM);
		ftpe_fsm_init(&f);
		ftpe_fsm_adopt(&f, modes[i], &ftest_ep_227);
		r = ftpe_fsm_command(&f, FT_PASV, NULL);
		KUNIT_EXPECT_EQ(test, r & (FT_RM | FT_RP),
				(unsigned int)(FT_RM | FT_RP));
	}

	/* only from IDLE, and only a negotiating mode */
	ftpe_fsm_init(&f);
	ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_EQ(test, ftpe_fsm_adopt(&f, FT_PORT, &ftest_ep_port), 0);
	KUNIT_EXPECT_EQ(test, f.state, FT_OPENING);
	KUNIT_EXPECT_EQ(test, f.mode, FT_PASV);
	ftpe_fsm_init(&f);
	KUNIT_EXPECT_EQ(test, ftpe_fsm_adopt(&f, FT_XFER, &ftest_ep_port), 0);
	KUNIT_EXPECT_EQ(test, ftpe_fsm_adopt(&f, FT_OTHER, &ftest_ep_port), 0);
	KUNIT_EXPECT_EQ(test, f.state, FT_IDLE);
}

/*
 * A reply lost for good (the server's stream jumped a hole) leaves its
 * command pending.  Without a resync every later reply answers the
 * command before its own, and the next 227 is taken for the answer to
 * TYPE and refused; after one, the connection is followed again.  Also
 * past the queue's bound, whose count would otherwise never drain.
 */
static void ftest_lost_reply(struct kunit *test)
{
	struct ftpe_fsm f;
	unsigned int r;

	/* TYPE's 200 lost: the stale TYPE answers the 227 ... */
	ftpe_fsm_init(&f);
	ftest_commands(&f, 1);
	r = ftpe_fsm_command(&f, FT_PASV, NULL);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_OP, "PASV %#x", r);
	KUNIT_EXPECT_FALSE(test, ftpe_fsm_wants_endpoint(&f, 227));

	/* ... unless the first reply after the hole resyncs the queue. */
	ftpe_fsm_resync(&f);
	KUNIT_EXPECT_TRUE(test, ftpe_fsm_wants_endpoint(&f, 227));
	r = ftpe_fsm_reply(&f, 227, &ftest_ep_227);
	KUNIT_EXPECT_TRUE_MSG(test, r & FT_CR, "227 %#x", r);
	KUNIT_EXPECT_EQ(test, f.npending, 0);
	ftpe_fsm_command(&f, FTPE_VERB_QUIT, NULL);
	ftpe_fsm_reply(&f, 221, NULL);
	ftest_inspected(test, &f, "after a lost reply");

	/* A resync with nothing or one thing pending changes nothing. */
	ftpe_fsm_init(&f);
	ftpe_fsm_resync(&f);
	KUNIT_EXPECT_EQ(test, f.npending, 0);
	ftpe_fsm_command(&f, FT_PASV, NULL);
	ftpe_fsm_resync(&f);
	KUNIT_EXPECT_TRUE(test, ftpe_fsm_wants_endpoint(&f, 227));

	/* Past the bound, one lost reply would keep it blind for good. */
	ftpe_fsm_init(&f);
	ftest_commands(&f, FTEST_DEPTH + 3);
	ftest_replies(&f, FTEST_DEPTH + 2, 200);
	KUNIT_EXPECT_NE(test, f.blind, 0);
	ftpe_fsm_resync(&f);
	KUNIT_EXPECT_EQ(test, f.blind, 0);
	ftest_inspected(test, &f, "after a lost reply past the bound");

	/*
	 * AUTH beyond the bound (review, 2026-12): its 234 came while the
	 * queue was not inspected and was passed over, so the records that
	 * followed were read as lines.  Any 234 says TLS follows.
	 */
	ftpe_fsm_init(&f);
	ftest_commands(&f, FTEST_DEPTH);
	ftpe_fsm_command(&f, FTPE_VERB_AUTH, NULL);
	KUNIT_EXPECT_NE(test, f.blind, 0);
	r = ftpe_fsm_reply(&f, 234, NULL);
	KUNIT_EXPECT_TRUE_MSG(test, r & FTPE_EV_TLS, "234 %#x", r);
	KUNIT_EXPECT_EQ(test, f.blind, 0);
	KUNIT_EXPECT_EQ(test, f.npending, 0);
}

static void ftest_state_names(struct kunit *test)
{
	const char *names[FTPE_STATE_COUNT];
	unsigned int i, j;

	for (i = 0; i < FTPE_STATE_COUNT; i++) {
		names[i] = ftpe_state_name(i);
		KUNIT_ASSERT_NOT_NULL_MSG(test, names[i], "state %u", i);
		KUNIT_EXPECT_GT_MSG(test, strlen(names[i]), 0, "state %u", i);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_STRNEQ_MSG(test, names[i], names[j],
						"states %u and %u", i, j);
	}
	/* out of range: must not crash (nor read past a table) */
	for (i = FTPE_STATE_COUNT; i <= 0xff; i++) {
		names[0] = ftpe_state_name(i);
		KUNIT_EXPECT_TRUE(test, !names[0] || strlen(names[0]) < 64);
	}
}

static void ftest_init(struct kunit *test)
{
	struct ftpe_fsm f;

	memset(&f, 0xa5, sizeof(f));
	ftpe_fsm_init(&f);
	KUNIT_EXPECT_EQ(test, f.state, FTPE_IDLE);
	/* a machine fresh from init does nothing on a transfer verb */
	KUNIT_EXPECT_EQ(test, ftpe_fsm_command(&f, FT_XFER, NULL), 0);
	KUNIT_EXPECT_EQ(test, f.state, FTPE_IDLE);

	KUNIT_EXPECT_TRUE(test, ftpe_mode_active(FT_PORT));
	KUNIT_EXPECT_TRUE(test, ftpe_mode_active(FT_EPRT));
	KUNIT_EXPECT_FALSE(test, ftpe_mode_active(FT_PASV));
	KUNIT_EXPECT_FALSE(test, ftpe_mode_active(FT_EPSV));
}

static struct kunit_case ftest_cases[] = {
	KUNIT_CASE(ftest_init),
	KUNIT_CASE(ftest_table_rows),
	KUNIT_CASE(ftest_unrelated),
	KUNIT_CASE(ftest_passive_replies),
	KUNIT_CASE(ftest_replacement),
	KUNIT_CASE(ftest_tls),
	KUNIT_CASE(ftest_tls_refused),
	KUNIT_CASE(ftest_refused),
	KUNIT_CASE(ftest_negative_exits),
	KUNIT_CASE(ftest_abor_quit),
	KUNIT_CASE(ftest_replace_everywhere),
	KUNIT_CASE(ftest_pipelined),
	KUNIT_CASE(ftest_pipeline_order),
	KUNIT_CASE(ftest_pipeline_bound),
	KUNIT_CASE(ftest_early_active),
	KUNIT_CASE(ftest_timing_switch),
	KUNIT_CASE(ftest_adopt),
	KUNIT_CASE(ftest_lost_reply),
	KUNIT_CASE(ftest_state_names),
	{}
};

static struct kunit_suite ftest_suite = {
	.name = "nf_ftp_embryo_fsm",
	.test_cases = ftest_cases,
};

kunit_test_suites(&ftest_suite);

MODULE_LICENSE("GPL");
