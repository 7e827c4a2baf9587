/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-control-connection state machine of the founding design:
 *
 *   IDLE --PORT/EPRT/PASV/EPSV--> OPENING --200 | 227 | 229--> OPENED
 *   OPENED --transfer verb--> CMD_SENT --1xx--> EXEC_STARTED
 *   CMD_SENT | EXEC_STARTED --2xx--> EXEC_COMP (entry cleared: IDLE)
 *
 * A negative reply (4xx/5xx) to the negotiating or transfer command, ABOR,
 * QUIT, or a refused negotiation clears the entry from any state.  A new
 * negotiation replaces the current one.  The machine only decides; the
 * caller creates and removes the expectation as told by the result bits.
 *
 * When the pinhole opens: passive, at the 227/229; active, at the PORT/EPRT
 * itself, unless the caller asks for the founding timing (strict_active),
 * which opens it at the transfer command.  Either way it closes at the same
 * moments and serves one transfer.
 *
 * Pure: no locking, no allocation.  The caller serialises calls.
 */
#ifndef _NF_FTP_EMBRYO_FSM_H
#define _NF_FTP_EMBRYO_FSM_H

#include "compat.h"
#include "parse.h"

enum ftpe_state {
	FTPE_IDLE,		/* no negotiation: no flow-table row */
	FTPE_OPENING,
	FTPE_OPENED,
	FTPE_CMD_SENT,
	FTPE_EXEC_STARTED,
	FTPE_EXEC_COMP,		/* transient: reported, then IDLE */
	FTPE_STATE_COUNT
};

/*
 * Commands sent and not yet answered.  FTP answers in order, so the oldest
 * is the one the next final reply answers.  Real clients pipeline a few
 * commands (PORT, TYPE I, RETR); one that sends more than this before a
 * reply is not inspected until every command it sent has been answered.
 */
#define FTPE_PENDING_MAX	16

/*
 * A verb takes FTPE_PENDING_BITS in the queue, two to a byte: the machine
 * is in every flow record (flowtab.h), so it is kept small.
 */
#define FTPE_PENDING_BITS	4

struct ftpe_fsm {
	u8 state;		/* enum ftpe_state */
	u8 mode;		/* negotiating verb: PORT, EPRT, PASV or EPSV */
	u8 npending;
	/*
	 * Set by the caller, read at each PORT/EPRT: open an active pinhole
	 * at the transfer command, not at once.
	 */
	u8 strict_active;
	u8 asked;		/* this negotiation's pinhole was asked for */
	/* enum ftpe_verb, oldest first: entry i in bits 4*(i%2) of [i/2] */
	u8 pending[FTPE_PENDING_MAX * FTPE_PENDING_BITS / 8];
	u16 reply;		/* last reply code seen in this negotiation */
	u32 blind;		/* unanswered commands past the queue's bound */
	struct ftpe_endpoint ep;	/* negotiated data endpoint */
};

/* Result bits of ftpe_fsm_command() and ftpe_fsm_reply(). */
#define FTPE_DO_CREATE	0x01	/* create the expectation for fsm->ep */
#define FTPE_DO_REMOVE	0x02	/* remove the live expectation, if any */
#define FTPE_EV_OPENED	0x04	/* a negotiation started (row created) */
#define FTPE_EV_DONE	0x08	/* completed: EXEC_COMP reached */
#define FTPE_EV_ABORTED	0x10	/* ended early: negative, ABOR, QUIT... */
#define FTPE_EV_REPLACED 0x20	/* a new negotiation replaced the old one */
#define FTPE_EV_UNSOLICITED 0x40 /* 227/229 with no PASV/EPSV pending */
#define FTPE_EV_TLS	0x80	/* 234 to AUTH: TLS records follow */
#define FTPE_EV_MOVED	0x100	/* the state changed */
#define FTPE_EV_OVERFLOW 0x200	/* past FTPE_PENDING_MAX: not inspected */

/* Negotiating modes in which the server connects to the client. */
static inline bool ftpe_mode_active(u8 mode)
{
	return mode == FTPE_VERB_PORT || mode == FTPE_VERB_EPRT;
}

/* A machine in IDLE, with the default timing (strict_active 0). */
void ftpe_fsm_init(struct ftpe_fsm *f);

/*
 * A client command.  @ep is the endpoint of PORT/EPRT (ignored otherwise).
 * The caller turns a PORT/EPRT it will not honour into FTPE_VERB_REFUSED.
 */
unsigned int ftpe_fsm_command(struct ftpe_fsm *f, enum ftpe_verb verb,
			      const struct ftpe_endpoint *ep);

/*
 * A complete server reply.  For 227/229 answering PASV/EPSV, @ep is the
 * validated endpoint, or NULL when the caller found it malformed or refused
 * it; the negotiation then ends without an expectation.
 */
unsigned int ftpe_fsm_reply(struct ftpe_fsm *f, u16 code,
			    const struct ftpe_endpoint *ep);

/*
 * Replies were lost (the server's stream jumped a hole): which command the
 * next one answers is unknown.  Keep only the newest command pending, the
 * one a client that waits for each reply is waiting for; the negotiation
 * itself stays where it is.
 */
void ftpe_fsm_resync(struct ftpe_fsm *f);

/*
 * Take over a negotiation another router carried, from the pinhole it left
 * (ha.c): OPENED in @mode towards @ep, its pinhole open already.  Only from
 * IDLE; returns FTPE_EV_OPENED | FTPE_EV_MOVED, or 0 when not IDLE.
 */
unsigned int ftpe_fsm_adopt(struct ftpe_fsm *f, u8 mode,
			    const struct ftpe_endpoint *ep);

/*
 * Whether reply @code is the 227/229 answering the pending PASV/EPSV: the
 * only reply whose numbers the caller may parse and vet.
 */
bool ftpe_fsm_wants_endpoint(const struct ftpe_fsm *f, u16 code);

const char *ftpe_state_name(u8 state);

#endif /* _NF_FTP_EMBRYO_FSM_H */
