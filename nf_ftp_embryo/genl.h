/* SPDX-License-Identifier: GPL-2.0 */
/* The generic netlink family: include/uapi/linux/nf_ftp_embryo.h. */
#ifndef _NF_FTP_EMBRYO_GENL_H
#define _NF_FTP_EMBRYO_GENL_H

#include <net/netfilter/nf_conntrack.h>

#include "parse.h"

int ftpe_genl_register(void);
void ftpe_genl_unregister(void);

/* One flow event (report.c builds them). */
struct ftpe_event {
	const struct nf_conn *ct;	/* the control connection */
	u8 type;			/* enum ftpe_event_type */
	u8 reason;			/* enum ftpe_reason, or 0 */
	u8 state;			/* enum ftpe_state; FTPE_STATE_COUNT: unknown */
	u8 mode;			/* enum ftpe_verb, or 0 */
	const struct ftpe_endpoint *ep;	/* the data endpoint, or NULL */
};

/*
 * Multicast @ev to the listeners of its connection's namespace, if any.
 * Any context: GFP_ATOMIC, and nothing at all without a listener.
 */
/* Does anyone in @net listen to events?  Then build them. */
bool ftpe_genl_listening(const struct net *net);
void ftpe_genl_event(const struct ftpe_event *ev);

#endif /* _NF_FTP_EMBRYO_GENL_H */
