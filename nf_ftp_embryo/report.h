/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the helper tells the admin about a control connection: refusals to
 * the netfilter log backend, and flow events to the netlink group (genl.c).
 * Callers hold the record's flow->lock, in softirq or process context.
 */
#ifndef _NF_FTP_EMBRYO_REPORT_H
#define _NF_FTP_EMBRYO_REPORT_H

#include <linux/skbuff.h>
#include <linux/nf_ftp_embryo.h>

#include "flowtab.h"

/* The name of an enum ftpe_reason, as /proc and the log show it. */
const char *ftpe_reason_name(u8 reason);

/* The enum ftpe_reason of an FTPE_STAT_ABORTED_* cause. */
u8 ftpe_reason_of(enum ftpe_stat why);

/*
 * @flow refused what @skb carries for @reason, announcing @ep (NULL: none
 * readable), or cannot go on reading it (pipeline_overflow, nomem): kept
 * as the record's last refusal, sent as an event, and logged.  The log
 * takes at most net.netfilter.nf_ftp_embryo_log_burst lines per
 * _log_interval seconds and namespace (sysctl.c; 10 per 5 s by default),
 * counts the lines it suppresses (log_suppressed) and tells their number
 * in the next line it lets through.  The NAT and pinhole failures, which
 * drop the segment, are logged as kernel helpers log their drops
 * (nf_ct_helper_log()).
 */
void ftpe_report_refusal(struct ftpe_flow *flow, struct sk_buff *skb,
			 u8 reason, const struct ftpe_endpoint *ep);

/*
 * @flow read a line that does not parse: reported as a refusal
 * (malformed), but at most once per FTPE_TELL_GAP and connection, so
 * that one client sending garbage neither spends the namespace's log and
 * event budget alone nor hides its other refusals from the row (a recent
 * one stays there).  Every such line is still counted (malformed).  The
 * segments no record reads are told as rarely (ftpe_ct_may_tell()).
 */
#define FTPE_TELL_GAP	(10 * HZ)
void ftpe_report_malformed(struct ftpe_flow *flow, struct sk_buff *skb);

/*
 * @ct's segment @skb is not read, with no record to keep it in: the table
 * is full (table_full) or memory short (nomem).  Sent as an event (with
 * no state) and logged, within the same limits; there is no row to show
 * it.
 */
void ftpe_report_unread(struct nf_conn *ct, struct sk_buff *skb, u8 reason);

/*
 * The control connection's TLS began or ended (@reason one of
 * FTPE_REASON_ENCRYPTED, _PLAINTEXT, _TLS_LOST): kept, sent and logged as a
 * refusal is, since an encrypted session's transfers hang unless a rule
 * lets them through.
 */
void ftpe_report_tls(struct ftpe_flow *flow, struct sk_buff *skb, u8 reason);

/*
 * Refusals are the events a peer can send as fast as it likes (a 64 KB
 * segment of bounce PORTs is thousands): at most FTPE_EVENT_BURST per
 * FTPE_EVENT_INTERVAL and namespace are sent, the rest counted
 * (events_suppressed).  Other events follow negotiations, which the
 * pending queue's bound and one pinhole per segment already limit.
 */
#define FTPE_EVENT_BURST	200
#define FTPE_EVENT_INTERVAL	HZ

/*
 * Event @type about @flow's negotiation @f (its mode is reported), now in
 * @state (FTPE_STATE_COUNT: not known), with @reason (or 0) and the data
 * endpoint @ep (or NULL).  @f is the machine as the line being carried out
 * leaves it, which is committed only after the events (helper.c).
 */
void ftpe_report_event(const struct ftpe_flow *flow, const struct ftpe_fsm *f,
		       u8 type, u8 reason, u8 state,
		       const struct ftpe_endpoint *ep);

/* The record is torn down for @why: its negotiation ends. */
void ftpe_report_kill(const struct ftpe_flow *flow, enum ftpe_stat why);

/* The namespaces' rate limits (main.c: before the flow table's). */
int ftpe_report_register(void);
void ftpe_report_unregister(void);

#endif /* _NF_FTP_EMBRYO_REPORT_H */
