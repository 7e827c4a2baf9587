// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/nf_ftp_embryo/stats: "name: value" lines, counters summed over
 * CPUs, then the current gauges (ftpe_stats_read(), shared with netlink).
 * /proc/net/nf_ftp_embryo/flows: the seed's flow table, one row per control
 * connection with a negotiation in progress, readable by the namespace's
 * root only (0440, as /proc/net/nf_conntrack):
 *   <family> <client>:<port> -> <server>:<port> <state> <command>
 *   <data address>:<data port> <last reply> <age in ms> <pinhole 0|1>
 *   <last refusal> <endpoint it announced>
 * A connection whose last line was refused stays a row (state IDLE) until
 * it ends, or, the table being full, its idle record is reclaimed.  "-"
 * stands for what is not known, IPv6 addresses are in brackets.
 */
#include <linux/jiffies.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "flowtab.h"
#include "names.h"
#include "netns.h"
#include "proc.h"
#include "report.h"
#include "stats.h"

#define FTPE_PROC_DIR	"nf_ftp_embryo"

/* The negotiating verbs are numbered as the uapi's modes: one set of names. */
static_assert(FTPE_VERB_PORT == (int)FTPE_FLOW_MODE_PORT);
static_assert(FTPE_VERB_EPRT == (int)FTPE_FLOW_MODE_EPRT);
static_assert(FTPE_VERB_PASV == (int)FTPE_FLOW_MODE_PASV);
static_assert(FTPE_VERB_EPSV == (int)FTPE_FLOW_MODE_EPSV);

static const char *ftpe_mode_name(u8 mode)
{
	return mode < ARRAY_SIZE(ftpe_mode_names) ? ftpe_mode_names[mode] :
						      NULL;
}

static int ftpe_stat_show(const struct ftpe_stat_value *v, void *arg)
{
	seq_printf(arg, "%s: %llu\n", v->name, v->value);
	return 0;
}

static int ftpe_stats_show(struct seq_file *seq, void *v)
{
	return ftpe_stats_read(seq_file_single_net(seq), ftpe_stat_show, seq);
}

static void ftpe_show_addr(struct seq_file *seq, u8 family, const void *addr,
			   u16 port)
{
	if (family == NFPROTO_IPV6)
		seq_printf(seq, "[%pI6c]:%u", addr, port);
	else
		seq_printf(seq, "%pI4:%u", addr, port);
}

/* An announced endpoint: "-" when none was read. */
static void ftpe_show_ep(struct seq_file *seq, const struct ftpe_endpoint *ep)
{
	if (ep->family)
		ftpe_show_addr(seq, ep->family == FTPE_AF_INET6 ?
			       NFPROTO_IPV6 : NFPROTO_IPV4, ep->addr, ep->port);
	else if (ep->port)
		seq_printf(seq, "-:%u", ep->port);
	else
		seq_putc(seq, '-');
}

static int ftpe_flow_show(struct ftpe_flow *flow, void *arg)
{
	const struct nf_conntrack_tuple *t =
		&flow->ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct ftpe_fsm *f = &flow->sess.fsm;
	struct seq_file *seq = arg;
	u8 family = nf_ct_l3num(flow->ct);

	if (!ftpe_flow_shown(flow))
		return 0;
	seq_printf(seq, "%s ", family == NFPROTO_IPV6 ? "ipv6" : "ipv4");
	ftpe_show_addr(seq, family, &t->src.u3, ntohs(t->src.u.tcp.port));
	seq_puts(seq, " -> ");
	ftpe_show_addr(seq, family, &t->dst.u3, ntohs(t->dst.u.tcp.port));
	seq_printf(seq, " %s %s ", ftpe_state_name(f->state),
		   ftpe_mode_name(f->mode) ?: "-");
	ftpe_show_ep(seq, &f->ep);
	seq_printf(seq, " %u %u %d %s ", f->reply,
		   f->state == FTPE_IDLE ? 0 :
		   jiffies_to_msecs((u32)jiffies - flow->since),
		   ftpe_flow_pinhole_open(flow),
		   flow->refused ? ftpe_reason_name(flow->refused) : "-");
	ftpe_show_ep(seq, ftpe_flow_refused_ep(flow));
	seq_putc(seq, '\n');
	return 0;
}

/* Room for a row: two IPv6 endpoints and two announced ones, the rest. */
#define FTPE_ROW_ROOM		256
/* Refusal rows, which no gauge counts, and rows that come meanwhile. */
#define FTPE_ROWS_SLACK		64
#define FTPE_ROWS_ROOM_MAX	(16 << 20)

static int ftpe_flows_show(struct seq_file *seq, void *v)
{
	struct ftpe_stat_value g[FTPE_GAUGE_COUNT];
	struct net *net = seq_file_single_net(seq);
	size_t room;

	/*
	 * seq_file runs this again with a buffer twice the size each time
	 * it overflows, and each run walks the table, locking every record.
	 * So ask for the room the rows take before walking, by overflowing
	 * at once (the overflow state is count == size): the doublings cost
	 * no walk, and the one walk fits, unless rows came meanwhile.
	 */
	ftpe_stats_gauges(net, g);
	room = min_t(u64, (g[FTPE_GAUGE_ROWS].value + FTPE_ROWS_SLACK) *
			  FTPE_ROW_ROOM, FTPE_ROWS_ROOM_MAX);
	if (seq->size < room) {
		seq->count = seq->size;
		return 0;
	}
	ftpe_flowtab_walk(net, ftpe_flow_show, seq);
	return 0;
}

static int __net_init ftpe_proc_net_init(struct net *net)
{
	struct proc_dir_entry *dir;

	dir = proc_net_mkdir(net, FTPE_PROC_DIR, net->proc_net);
	if (!dir)
		return -ENOMEM;
	if (!proc_create_net_single("stats", 0444, dir, ftpe_stats_show,
				    NULL) ||
	    !proc_create_net_single("flows", 0440, dir, ftpe_flows_show,
				    NULL)) {
		remove_proc_subtree(FTPE_PROC_DIR, net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit ftpe_proc_net_exit(struct net *net)
{
	remove_proc_subtree(FTPE_PROC_DIR, net->proc_net);
}

static struct pernet_operations ftpe_proc_net_ops = {
	.init = ftpe_proc_net_init,
	.exit = ftpe_proc_net_exit,
};

int ftpe_proc_register(void)
{
	return register_pernet_subsys(&ftpe_proc_net_ops);
}

void ftpe_proc_unregister(void)
{
	unregister_pernet_subsys(&ftpe_proc_net_ops);
}
