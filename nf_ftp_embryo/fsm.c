// SPDX-License-Identifier: GPL-2.0
/*
 * The founding state machine.  See fsm.h for the transitions.
 *
 * Replies are attributed to the command they answer through the pending
 * queue: FTP answers commands in order, so a final reply belongs to the
 * oldest unanswered command, even when the client pipelines several in one
 * segment.  That keeps a 550 to SIZE or a 504 to TYPE, sent while a
 * negotiation is open, from tearing the negotiation down, and keeps a 227
 * from counting unless it answers PASV.
 *
 * The queue is bounded so that a client cannot make the machine's work or
 * memory grow.  Past the bound only a count is kept, not what was sent,
 * so nothing can be attributed: the connection is left uninspected until
 * the count has drained, and a count that cannot stick keeps that window
 * from lasting for good.
 *
 * Active mode's timing: the founding design opens the pinhole at the
 * transfer command, as vsftpd, ProFTPD and Pure-FTPd connect only after it.
 * pyftpdlib connects as soon as it has read PORT/EPRT, before it answers
 * 200, and that connection would find nothing open.  So by default the
 * pinhole opens at the PORT/EPRT the caller let through, to the server's
 * address only, and a negative reply to it closes it again; strict_active
 * keeps the founding timing.  A negotiation asks for its pinhole once,
 * whichever way (asked), so the pipelined 200 or the transfer command that
 * would open it under the founding timing opens nothing more.
 */
#include "fsm.h"
#include "names.h"

/* The uapi numbers the states as the machine does: one set of names. */
static_assert(FTPE_IDLE == (int)FTPE_FLOW_IDLE &&
	      FTPE_OPENING == (int)FTPE_FLOW_OPENING &&
	      FTPE_OPENED == (int)FTPE_FLOW_OPENED &&
	      FTPE_CMD_SENT == (int)FTPE_FLOW_CMD_SENT &&
	      FTPE_EXEC_STARTED == (int)FTPE_FLOW_EXEC_STARTED &&
	      FTPE_EXEC_COMP == (int)FTPE_FLOW_EXEC_COMP &&
	      FTPE_STATE_COUNT == (int)FTPE_FLOW_EXEC_COMP + 1,
	      "the states' names are the uapi's");

const char *ftpe_state_name(u8 state)
{
	return state < FTPE_STATE_COUNT ? ftpe_state_names[state] : "?";
}

void ftpe_fsm_init(struct ftpe_fsm *f)
{
	memset(f, 0, sizeof(*f));
	f->state = FTPE_IDLE;
}

static_assert(FTPE_VERB_COUNT <= 1 << FTPE_PENDING_BITS &&
	      FTPE_PENDING_BITS == 4, "a pending verb fits in a nibble");

/* The @i-th command of the pending queue (0: the oldest). */
static u8 ftpe_pending(const struct ftpe_fsm *f, int i)
{
	return (f->pending[i / 2] >> (i % 2 * FTPE_PENDING_BITS)) & 0xf;
}

static void ftpe_pending_set(struct ftpe_fsm *f, int i, u8 verb)
{
	unsigned int shift = i % 2 * FTPE_PENDING_BITS;
	u8 *b = &f->pending[i / 2];

	*b = (*b & ~(0xf << shift)) | (verb & 0xf) << shift;
}

/* Final replies that end a running transfer (after its 1xx). */
static bool ftpe_ends_transfer(u16 code)
{
	switch (code) {
	case 226: case 250: case 425: case 426: case 451: case 452: case 552:
		return true;
	default:
		return false;
	}
}

/*
 * Index in pending[] of the command a reply with @code answers, -1 when
 * unknown.  Normally the oldest; but some servers answer a command sent
 * during a transfer (NOOP, SIZE) before the transfer's own final reply, so
 * a reply that cannot end the running transfer goes to the next in line.
 */
static int ftpe_fsm_answers(const struct ftpe_fsm *f, u16 code)
{
	if (!f->npending)
		return -1;
	if (code >= 200 && ftpe_pending(f, 0) == FTPE_VERB_XFER &&
	    f->state == FTPE_EXEC_STARTED && f->npending > 1 &&
	    !ftpe_ends_transfer(code))
		return 1;
	return 0;
}

static u8 ftpe_fsm_answered(const struct ftpe_fsm *f, u16 code)
{
	int i = ftpe_fsm_answers(f, code);

	return i < 0 ? FTPE_VERB_OTHER : ftpe_pending(f, i);
}

static bool ftpe_verb_negotiates(u8 verb)
{
	return verb == FTPE_VERB_PORT || verb == FTPE_VERB_EPRT ||
	       verb == FTPE_VERB_PASV || verb == FTPE_VERB_EPSV;
}

/*
 * Does reply @code answer the command that started the negotiation under
 * way?  A negotiation sent later replaced it (see ftpe_fsm_command), so a
 * reply to an earlier PASV pipelined before it must not count: its 227
 * names a port the client has given up on.
 */
static bool ftpe_fsm_answers_mode(const struct ftpe_fsm *f, u16 code)
{
	int i = ftpe_fsm_answers(f, code), j;

	if (i < 0 || f->state != FTPE_OPENING || ftpe_pending(f, i) != f->mode)
		return false;
	for (j = i + 1; j < f->npending; j++)
		if (ftpe_verb_negotiates(ftpe_pending(f, j)))
			return false;
	return true;
}

/* A final reply: the command it answers is no longer pending. */
static void ftpe_fsm_pop(struct ftpe_fsm *f, int i)
{
	if (i < 0)
		return;		/* unprompted: the greeting, a 421 */
	f->npending--;
	for (; i < f->npending; i++)
		ftpe_pending_set(f, i, ftpe_pending(f, i + 1));
}

bool ftpe_fsm_wants_endpoint(const struct ftpe_fsm *f, u16 code)
{
	return ftpe_fsm_answers_mode(f, code) &&
	       ((code == 227 && f->mode == FTPE_VERB_PASV) ||
		(code == 229 && f->mode == FTPE_VERB_EPSV));
}

/* End the negotiation, whatever its state; @why says how it ended. */
static unsigned int ftpe_fsm_clear(struct ftpe_fsm *f, unsigned int why)
{
	if (f->state == FTPE_IDLE)
		return 0;
	f->state = FTPE_IDLE;
	f->mode = 0;
	f->asked = 0;
	memset(&f->ep, 0, sizeof(f->ep));
	return FTPE_DO_REMOVE | FTPE_EV_MOVED | why;
}

/* The negotiation's pinhole, unless it was asked for already. */
static unsigned int ftpe_fsm_create(struct ftpe_fsm *f)
{
	if (f->asked)
		return 0;
	f->asked = 1;
	return FTPE_DO_CREATE;
}

unsigned int ftpe_fsm_command(struct ftpe_fsm *f, enum ftpe_verb verb,
			      const struct ftpe_endpoint *ep)
{
	unsigned int r;

	if (f->blind) {
		/* Saturated, it still drains: early, never stuck. */
		if (f->blind < U32_MAX)
			f->blind++;
		return 0;
	}
	if (f->npending == FTPE_PENDING_MAX) {
		/*
		 * Until every command sent is answered, no reply can be
		 * matched to its command: nothing may open meanwhile.
		 */
		f->blind = f->npending + 1;
		f->npending = 0;
		return ftpe_fsm_clear(f, FTPE_EV_ABORTED) | FTPE_EV_OVERFLOW;
	}
	ftpe_pending_set(f, f->npending++, verb);
	switch (verb) {
	case FTPE_VERB_PORT:
	case FTPE_VERB_EPRT:
	case FTPE_VERB_PASV:
	case FTPE_VERB_EPSV:
		r = ftpe_fsm_clear(f, FTPE_EV_REPLACED);
		f->state = FTPE_OPENING;
		f->mode = verb;
		f->reply = 0;
		if (ftpe_mode_active(verb)) {
			f->ep = *ep;
			/* The server may connect before its 200 (pyftpdlib). */
			if (!f->strict_active)
				r |= ftpe_fsm_create(f);
		}
		return r | FTPE_EV_OPENED | FTPE_EV_MOVED;
	case FTPE_VERB_XFER:
		if (f->state != FTPE_OPENED)
			return 0;
		/* Active, founding timing: the server connects after it. */
		f->state = FTPE_CMD_SENT;
		r = FTPE_EV_MOVED;
		if (ftpe_mode_active(f->mode))
			r |= ftpe_fsm_create(f);
		return r;
	case FTPE_VERB_ABOR:
	case FTPE_VERB_QUIT:
	case FTPE_VERB_REFUSED:
		return ftpe_fsm_clear(f, FTPE_EV_ABORTED);
	default:
		return 0;
	}
}

/*
 * A reply lost with its line would leave its command in the queue for good,
 * and every later reply would be taken for the answer to the command
 * before its own: a 227 refused as the answer to TYPE, say.  Past the
 * queue's bound, the count of unanswered commands would never drain, and
 * the connection would stay uninspected.  A client that waits for each
 * reply has one command unanswered at a time, its newest, whatever was
 * lost: keep that one.  A client that pipelines may see a reply taken for
 * the wrong command once; that can only end a negotiation early or leave
 * it open to its timeout, never open anything its vetting would not.
 * Commands lost on their way (the client's stream jumped) need nothing:
 * their replies find no command to answer, and change nothing.
 */
void ftpe_fsm_resync(struct ftpe_fsm *f)
{
	if (f->blind) {
		f->blind = 0;
		f->npending = 0;
	} else if (f->npending > 1) {
		ftpe_pending_set(f, 0, ftpe_pending(f, f->npending - 1));
		f->npending = 1;
	}
}

unsigned int ftpe_fsm_adopt(struct ftpe_fsm *f, u8 mode,
			    const struct ftpe_endpoint *ep)
{
	if (f->state != FTPE_IDLE || !ftpe_verb_negotiates(mode))
		return 0;
	f->state = FTPE_OPENED;
	f->mode = mode;
	f->ep = *ep;
	f->reply = 0;
	/* It is open: the transfer command must not ask for another. */
	f->asked = 1;
	return FTPE_EV_OPENED | FTPE_EV_MOVED;
}

/*
 * OPENED; but when the client pipelined the transfer command behind the
 * negotiation (PORT, TYPE I, RETR), it has been sent already: on to
 * CMD_SENT, as if it had been sent now.  Anything between them that could
 * end the negotiation (ABOR, QUIT, a refused PORT, another negotiation)
 * ended it when it was sent.
 */
static unsigned int ftpe_fsm_opened(struct ftpe_fsm *f)
{
	int i;

	for (i = 1; i < f->npending; i++) {
		if (ftpe_pending(f, i) != FTPE_VERB_XFER)
			continue;
		f->state = FTPE_CMD_SENT;
		/* Active, founding timing: the server connects after it. */
		return ftpe_mode_active(f->mode) ? ftpe_fsm_create(f) : 0;
	}
	f->state = FTPE_OPENED;
	return 0;
}

/* The reply to PORT/EPRT/PASV/EPSV itself. */
static unsigned int ftpe_fsm_negotiated(struct ftpe_fsm *f, u16 code,
					const struct ftpe_endpoint *ep)
{
	unsigned int cls = code / 100;

	if (cls == 4 || cls == 5)
		return ftpe_fsm_clear(f, FTPE_EV_ABORTED);
	if (ftpe_mode_active(f->mode)) {
		if (cls != 2)
			return 0;
		return ftpe_fsm_opened(f) | FTPE_EV_MOVED;
	}
	if ((f->mode == FTPE_VERB_PASV && code == 227) ||
	    (f->mode == FTPE_VERB_EPSV && code == 229)) {
		if (!ep)
			return ftpe_fsm_clear(f, FTPE_EV_ABORTED);
		f->ep = *ep;
		/* Passive mode: the client connects right after this reply. */
		return ftpe_fsm_create(f) | ftpe_fsm_opened(f) | FTPE_EV_MOVED;
	}
	/* Any other completion means the server did not enter passive mode. */
	if (cls == 2)
		return ftpe_fsm_clear(f, FTPE_EV_ABORTED);
	return 0;
}

/*
 * A reply while the transfer command is outstanding or running.  Only the
 * transfer's own replies move it on: a 250 to a CWD pipelined before RETR
 * ends nothing.  226, 425 and 426 only ever answer a transfer (or the ABOR
 * of one), so they end it whichever command they seem to answer.
 */
static unsigned int ftpe_fsm_transfer(struct ftpe_fsm *f, u16 code)
{
	bool ours = ftpe_fsm_answered(f, code) == FTPE_VERB_XFER;
	unsigned int cls = code / 100;

	switch (cls) {
	case 1:
		if (!ours || f->state != FTPE_CMD_SENT)
			return 0;
		f->state = FTPE_EXEC_STARTED;
		return FTPE_EV_MOVED;
	case 2:
		if (!ours && code != 226)
			return 0;
		f->state = FTPE_EXEC_COMP;
		return ftpe_fsm_clear(f, FTPE_EV_DONE);
	case 4:
	case 5:
		if (!ours && code != 425 && code != 426)
			return 0;
		return ftpe_fsm_clear(f, FTPE_EV_ABORTED);
	default:
		return 0;
	}
}

static unsigned int ftpe_fsm_reply_to(struct ftpe_fsm *f, u16 code,
				      const struct ftpe_endpoint *ep,
				      bool answers)
{
	unsigned int r = 0;

	if ((code == 227 && !(answers && f->mode == FTPE_VERB_PASV)) ||
	    (code == 229 && !(answers && f->mode == FTPE_VERB_EPSV)))
		r |= FTPE_EV_UNSOLICITED;

	if (f->state == FTPE_IDLE)
		return r;
	f->reply = code;

	if (answers)
		return r | ftpe_fsm_negotiated(f, code, ep);
	if (f->state == FTPE_CMD_SENT || f->state == FTPE_EXEC_STARTED)
		return r | ftpe_fsm_transfer(f, code);
	return r;
}

unsigned int ftpe_fsm_reply(struct ftpe_fsm *f, u16 code,
			    const struct ftpe_endpoint *ep)
{
	int i = ftpe_fsm_answers(f, code);
	unsigned int r;

	/*
	 * TLS records follow any 234 (RFC 4217 sends it only to AUTH),
	 * whatever is pending or not inspected: one missed would have
	 * records read as lines.  What is sent under TLS, and answered, is
	 * never seen: lines read again after CCC start with nothing pending.
	 */
	if (code == 234) {
		f->npending = 0;
		f->blind = 0;
		return FTPE_EV_TLS | ftpe_fsm_clear(f, FTPE_EV_ABORTED);
	}
	/* 1xx is preliminary: the command stays pending. */
	if (f->blind) {
		if (code >= 200)
			f->blind--;
		return 0;
	}
	r = ftpe_fsm_reply_to(f, code, ep, ftpe_fsm_answers_mode(f, code));
	if (code >= 200)
		ftpe_fsm_pop(f, i);
	return r;
}
