// SPDX-License-Identifier: GPL-2.0
/*
 * Refusals and flow events, for admins.
 *
 * The log goes wherever the admin pointed the namespace's netfilter log
 * backend for the family (net.netfilter.nf_log.2 and .10: nf_log_syslog,
 * which is what LOG prints through, or nfnetlink_log, NFLOG's and ulogd's),
 * and nowhere if none is bound.  The backend adds the packet's addresses
 * and ports, which name the control connection; the prefix names the
 * helper, the reason and the endpoint announced.  Neither backend limits
 * its rate, and a client can repeat a refused line as fast as it likes: a
 * per-namespace ratelimit does.
 */
#include <linux/ratelimit.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_log.h>
#include <net/netns/generic.h>

#include "genl.h"
#include "names.h"
#include "report.h"

/* The log's limit (ftpe_log_pass()); its burst and interval are sysctls. */
struct ftpe_log_limit {
	spinlock_t lock;		/* @begin and @printed */
	unsigned long begin;		/* jiffies: this interval's start */
	unsigned int printed;		/* lines logged in this interval */
	atomic_t missed;		/* suppressed since the last logged */
};

/* The namespace's limits on what a peer can make it report. */
struct ftpe_report_net {
	struct ftpe_log_limit log;		/* lines logged */
	struct ratelimit_state event_rs;	/* refusals sent as events */
};

static unsigned int ftpe_report_net_id __read_mostly;

static struct ftpe_report_net *ftpe_report_net(const struct net *net)
{
	return net_generic(net, ftpe_report_net_id);
}

const char *ftpe_reason_name(u8 reason)
{
	if (reason == FTPE_REASON_NONE)
		return "none";
	return reason < ARRAY_SIZE(ftpe_reason_names) ?
	       ftpe_reason_names[reason] : "?";
}

u8 ftpe_reason_of(enum ftpe_stat why)
{
	switch (why) {
	case FTPE_STAT_ABORTED_NEGATIVE:
		return FTPE_REASON_NEGATIVE;
	case FTPE_STAT_ABORTED_REFUSED:
		return FTPE_REASON_REFUSED;
	case FTPE_STAT_ABORTED_ABOR_QUIT:
		return FTPE_REASON_ABOR_QUIT;
	case FTPE_STAT_ABORTED_CLOSE:
		return FTPE_REASON_CLOSED;
	case FTPE_STAT_ABORTED_DESTROY:
		return FTPE_REASON_DESTROYED;
	case FTPE_STAT_ABORTED_FLUSH:
		return FTPE_REASON_FLUSHED;
	default:
		return FTPE_REASON_OTHER;
	}
}

/*
 * May the namespace log a line now?  At most log_burst lines per
 * log_interval (sysctl.c); one suppressed is counted (log_suppressed) and
 * told in the next line that passes, in *@missed.  A limiter busy on
 * another CPU suppresses, as the kernel's own ratelimit does: a flood of
 * refusals must not queue CPUs on a namespace's lock.
 */
static bool ftpe_log_pass(const struct net *net, unsigned int *missed)
{
	struct ftpe_log_limit *ll = &ftpe_report_net(net)->log;
	struct ftpe_net *fn = ftpe_net(net);
	unsigned long interval = READ_ONCE(fn->log_interval) * HZ;
	unsigned int burst = READ_ONCE(fn->log_burst);
	bool pass = false;

	/* Spent: no lock, as most of a flood's lines are. */
	if (READ_ONCE(ll->printed) >= burst &&
	    time_before(jiffies, READ_ONCE(ll->begin) + interval))
		goto suppressed;
	if (spin_trylock_bh(&ll->lock)) {
		if (time_after_eq(jiffies, ll->begin + interval)) {
			WRITE_ONCE(ll->begin, jiffies);
			WRITE_ONCE(ll->printed, 0);
		}
		if (ll->printed < burst) {
			WRITE_ONCE(ll->printed, ll->printed + 1);
			pass = true;
		}
		spin_unlock_bh(&ll->lock);
	}
	if (!pass) {
suppressed:
		atomic_inc(&ll->missed);
		ftpe_count(fn, FTPE_STAT_LOG_SUPPRESSED);
		return false;
	}
	*missed = atomic_xchg(&ll->missed, 0);
	return true;
}

/*
 * Log why @ct's negotiation cannot proceed (@reason), announcing @ep (NULL:
 * none readable), through the namespace's log backend, worded as the
 * reason is named everywhere else (names.c).
 */
static void ftpe_log(struct sk_buff *skb, const struct nf_conn *ct,
		     u8 reason, const struct ftpe_endpoint *ep)
{
	/*
	 * TLS, and a connection left unread, are no refusals: said as what
	 * the admin has to do about them.
	 */
	static const char * const says[] = {
		[FTPE_REASON_TABLE_FULL] = "not inspected: max_flows reached",
		[FTPE_REASON_NOMEM] = "not inspected: out of memory",
		[FTPE_REASON_ENCRYPTED] =
			"encrypted (AUTH TLS): transfers need a passive port range rule",
		[FTPE_REASON_PLAINTEXT] = "plaintext again (CCC): transfers followed",
		[FTPE_REASON_TLS_LOST] =
			"TLS framing lost: transfers need a passive port range rule",
	};
	const struct nf_conntrack_helper *helper;
	const char *what = ftpe_reason_name(reason);
	struct net *net = nf_ct_net(ct);
	char at[48], more[40] = "";
	unsigned int missed;

	/* No backend bound: nothing to spend the namespace's budget on. */
	if (!rcu_access_pointer(net->nf.nf_loggers[nf_ct_l3num(ct)]))
		return;
	helper = rcu_dereference(nfct_help(ct)->helper);
	if (!helper || !ftpe_log_pass(net, &missed))
		return;
	/* As the kernel's ratelimit says "N callbacks suppressed". */
	if (missed)
		snprintf(more, sizeof(more), " (%u lines suppressed)", missed);
	if (reason < ARRAY_SIZE(says) && says[reason]) {
		nf_log_packet(net, nf_ct_l3num(ct), 0, skb, NULL, NULL, NULL,
			      "nf_ct_%s: %s%s ", helper->name, says[reason],
			      more);
		return;
	}
	if (ep && ep->family == FTPE_AF_INET6)
		snprintf(at, sizeof(at), "[%pI6c]:%u", ep->addr, ep->port);
	else if (ep && ep->family == FTPE_AF_INET)
		snprintf(at, sizeof(at), "%pI4:%u", ep->addr, ep->port);
	else if (ep)
		snprintf(at, sizeof(at), "port %u", ep->port);
	else
		strscpy(at, "-", sizeof(at));
	/* The segment is dropped: say it the way kernel helpers do. */
	if (reason == FTPE_REASON_NAT_FAILED ||
	    reason == FTPE_REASON_EXPECT_FAILED) {
		nf_ct_helper_log(skb, ct, "%s %s%s", what, at, more);
		return;
	}
	nf_log_packet(net, nf_ct_l3num(ct), 0, skb, NULL, NULL, NULL,
		      "nf_ct_%s: refused %s %s%s ", helper->name, what, at,
		      more);
}

/* Sent as an event @type, within the namespace's event limit. */
static void ftpe_report_send(const struct ftpe_event *ev)
{
	struct net *net = nf_ct_net(ev->ct);

	if (!ftpe_genl_listening(net))
		return;
	if (__ratelimit(&ftpe_report_net(net)->event_rs))
		ftpe_genl_event(ev);
	else
		ftpe_stat_inc(net, FTPE_STAT_EVENTS_SUPPRESSED);
}

/* Kept as the record's last refusal, and sent as an event @type. */
static void ftpe_report_keep(struct ftpe_flow *flow, u8 type, u8 reason,
			     const struct ftpe_endpoint *ep)
{
	const struct ftpe_fsm *f = &flow->sess.fsm;
	struct ftpe_event ev = {
		.ct = flow->ct,
		.type = type,
		.reason = reason,
		.state = f->state,
		.mode = f->mode,
		.ep = ep,
	};
	struct ftpe_flow_refusal *rf;

	/* Without its detail (no memory), the row still tells the reason. */
	rf = ftpe_flow_refusal(flow);
	flow->refused = reason;
	if (rf) {
		if (ep)
			rf->ep = *ep;
		else
			memset(&rf->ep, 0, sizeof(rf->ep));
		rf->at = (u32)jiffies;
	}
	ftpe_report_send(&ev);
}

void ftpe_report_refusal(struct ftpe_flow *flow, struct sk_buff *skb,
			 u8 reason, const struct ftpe_endpoint *ep)
{
	ftpe_report_keep(flow, FTPE_EVENT_REFUSED, reason, ep);
	ftpe_log(skb, flow->ct, reason, ep);
}

void ftpe_report_malformed(struct ftpe_flow *flow, struct sk_buff *skb)
{
	u32 now = (u32)jiffies;
	struct ftpe_event ev = {
		.ct = flow->ct,
		.type = FTPE_EVENT_REFUSED,
		.reason = FTPE_REASON_MALFORMED,
		.state = flow->sess.fsm.state,
		.mode = flow->sess.fsm.mode,
	};
	struct ftpe_flow_refusal *rf;

	/* With no detail to time it by, once per connection (no memory). */
	rf = ftpe_flow_refusal(flow);
	if (flow->malformed_told &&
	    (!rf || time_before32(now, rf->malformed_at + FTPE_TELL_GAP)))
		return;
	flow->malformed_told = 1;
	if (rf)
		rf->malformed_at = now;
	/* Garbage after a refusal must not hide it from the row. */
	if (flow->refused && flow->refused <= FTPE_REASON_EXPECT_FAILED &&
	    rf && rf->at && time_before32(now, rf->at + FTPE_TELL_GAP)) {
		ftpe_report_send(&ev);
		ftpe_log(skb, flow->ct, FTPE_REASON_MALFORMED, NULL);
		return;
	}
	ftpe_report_refusal(flow, skb, FTPE_REASON_MALFORMED, NULL);
}

void ftpe_report_unread(struct nf_conn *ct, struct sk_buff *skb, u8 reason)
{
	struct ftpe_event ev = {
		.ct = ct,
		.type = FTPE_EVENT_REFUSED,
		.reason = reason,
		.state = FTPE_STATE_COUNT,
	};

	ftpe_report_send(&ev);
	ftpe_log(skb, ct, reason, NULL);
}

void ftpe_report_tls(struct ftpe_flow *flow, struct sk_buff *skb, u8 reason)
{
	ftpe_report_keep(flow, FTPE_EVENT_TLS, reason, NULL);
	ftpe_log(skb, flow->ct, reason, NULL);
}

void ftpe_report_event(const struct ftpe_flow *flow, const struct ftpe_fsm *f,
		       u8 type, u8 reason, u8 state,
		       const struct ftpe_endpoint *ep)
{
	struct ftpe_event ev = {
		.ct = flow->ct,
		.type = type,
		.reason = reason,
		.state = state,
		.mode = f->mode,
		.ep = ep,
	};

	ftpe_genl_event(&ev);
}

void ftpe_report_kill(const struct ftpe_flow *flow, enum ftpe_stat why)
{
	if (flow->sess.fsm.state != FTPE_IDLE)
		ftpe_report_event(flow, &flow->sess.fsm, FTPE_EVENT_STATE,
				  ftpe_reason_of(why), FTPE_IDLE,
				  &flow->sess.fsm.ep);
}

static int __net_init ftpe_report_net_init(struct net *net)
{
	struct ftpe_report_net *rn = ftpe_report_net(net);

	spin_lock_init(&rn->log.lock);
	rn->log.begin = jiffies;
	rn->log.printed = 0;
	atomic_set(&rn->log.missed, 0);
	/* Nothing is printed of the events it suppresses: they are counted. */
	ratelimit_state_init(&rn->event_rs, FTPE_EVENT_INTERVAL,
			     FTPE_EVENT_BURST);
	ratelimit_set_flags(&rn->event_rs, RATELIMIT_MSG_ON_RELEASE);
	return 0;
}

static struct pernet_operations ftpe_report_net_ops = {
	.init = ftpe_report_net_init,
	.id = &ftpe_report_net_id,
	.size = sizeof(struct ftpe_report_net),
};

int ftpe_report_register(void)
{
	return register_pernet_subsys(&ftpe_report_net_ops);
}

void ftpe_report_unregister(void)
{
	unregister_pernet_subsys(&ftpe_report_net_ops);
}
