// SPDX-License-Identifier: GPL-2.0
/* ftp-embryo monitor: flow events as they happen (as conntrack -E). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "cli.h"

struct monitor {
	struct nl *nl;
	const struct opts *op;
	enum col c[COL_COUNT];
	size_t n;
	unsigned int seen;
	bool gone;		/* the family was unregistered */
};

/* One event, if the filters want it; @headings: the first one shown. */
bool event_show(const struct flow *f, const struct opts *op,
		const enum col *c, size_t n, bool headings)
{
	struct libscols_table *tb;
	char t[40];

	if (!flow_wanted(f, op))
		return false;
	if (op->json) {
		json_print(json_event(f, op), op);
		return true;
	}
	/* A table per event, so each line leaves at once: fixed widths. */
	tb = table_new(op, c, n);
	scols_table_enable_noheadings(tb, op->noheadings || !headings);
	table_row(tb, c, n, f, stamp(t, sizeof(t)));
	table_print(tb);
	return true;
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor *m = data;
	struct flow f;

	switch (nl_event(m->nl, nlh, &f)) {
	case -1:
		m->gone = true;
		break;
	case 1:
		if (event_show(&f, m->op, m->c, m->n, !m->seen))
			m->seen++;
		break;
	}
	return MNL_CB_OK;
}

void cmd_monitor(struct nl *nl, const struct opts *op)
{
	struct monitor m = { .nl = nl, .op = op };
	ssize_t len;

	m.n = cols_for(op, cmd_find("monitor"), m.c);
	nl_subscribe(nl);
	/* Subscribed: a script may start its traffic once it reads this. */
	fprintf(stderr, "%s: monitoring flow events\n", prog);
	for (;;) {
		len = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (len < 0) {
			if (errno == ENOBUFS) {
				fprintf(stderr, "%s: events lost (receive buffer full)\n",
					prog);
				continue;
			}
			die(EXIT_ERR, "netlink receive: %s", strerror(errno));
		}
		if (mnl_cb_run(nl->buf, len, 0, 0, monitor_cb, &m) < 0)
			die(EXIT_ERR, "netlink: %s", strerror(errno));
		if (m.gone)
			die(EXIT_NOMODULE, "the " MODULE_NAME " module was unloaded");
		if (op->count && m.seen >= op->count)
			return;
	}
}
