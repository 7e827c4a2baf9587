// SPDX-License-Identifier: GPL-2.0
/*
 * test-render: ftp-embryo's options and output without a module.  Takes
 * ftp-embryo's command line, checks it as ftp-embryo does (options.c),
 * then shows three counters and a gauge (stats; with -w, as two readings
 * -w seconds apart), three flows (flows) or four events (monitor) through
 * the CLI's own filters, tables and JSON, so test.sh can check -o, +COL,
 * -j -o, -p, --noheadings, -s/-d/-a/--state/-4/-6 and -e on the host.  Built by make check only; never installed.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <linux/nf_ftp_embryo.h>

#include "cli.h"

const char *prog = "ftp-embryo";

static void ep(struct endpoint *e, const char *addr, uint16_t port)
{
	e->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	inet_pton(e->family, addr, e->addr);
	e->port = port;
}

static void fake(struct flow *f)
{
	memset(f, 0, 3 * sizeof(*f));
	/* a passive negotiation with its pinhole open */
	f[0].family = AF_INET;
	ep(&f[0].client, "10.0.1.2", 40000);
	ep(&f[0].server, "10.0.2.2", 21);
	ep(&f[0].data, "10.0.2.2", 50000);
	f[0].has_state = f[0].has_reply = f[0].has_age = true;
	f[0].state = FTPE_FLOW_OPENED;
	f[0].mode = FTPE_FLOW_MODE_PASV;
	f[0].reply = 227;
	f[0].age_ms = 12;
	f[0].pinhole = 1;
	/* an IPv6 bounce, kept as a refusal */
	f[1].family = AF_INET6;
	ep(&f[1].client, "fd00:1::2", 40001);
	ep(&f[1].server, "fd00:2::2", 21);
	f[1].has_state = true;
	f[1].state = FTPE_FLOW_IDLE;
	f[1].refused = FTPE_REASON_BOUNCE;
	ep(&f[1].announced, "fd00:9::9", 10000);
	f[1].refused_age_ms = 5;
	/* an active transfer under way */
	f[2].family = AF_INET;
	ep(&f[2].client, "10.0.1.3", 40002);
	ep(&f[2].server, "10.0.2.2", 21);
	ep(&f[2].data, "10.0.1.3", 20000);
	f[2].has_state = f[2].has_reply = f[2].has_age = true;
	f[2].state = FTPE_FLOW_EXEC_STARTED;
	f[2].mode = FTPE_FLOW_MODE_PORT;
	f[2].reply = 150;
	f[2].age_ms = 340;
}

static void show_stats(const struct opts *op)
{
	struct stat_val v0[] = {
		{ "flows_created", 10, false }, { "refused_bounce", 1, false },
		{ "expect_created", 7, false }, { "flows_current", 2, true },
	}, v1[] = {
		{ "flows_created", 16, false }, { "refused_bounce", 1, false },
		{ "expect_created", 10, false }, { "flows_current", 3, true },
	};
	struct stats old = { v0, 4, 4 }, now = { v1, 4, 4 };

	if (op->watch)
		rates_print(&old, &now, op->watch, op);
	else
		stats_print(&now, op);
}

int main(int argc, char **argv)
{
	struct flow rows[3], ev[4];
	struct flows fl = { .f = rows, .n = 3, .cap = 3 };
	const struct cmd *cmd;
	struct opts op;
	enum col c[COL_COUNT];
	size_t n, i, seen = 0;

	cmd = parse_options(argc, argv, &op);
	fake(rows);
	if (!strcmp(cmd->name, "stats")) {
		show_stats(&op);
		return 0;
	}
	if (!strcmp(cmd->name, "flows")) {
		n = cols_for(&op, cmd, c);
		flows_print(&fl, &op, c, n);
		return 0;
	}
	if (strcmp(cmd->name, "monitor"))
		die(EXIT_USAGE, "test-render shows stats, flows or monitor only");
	n = cols_for(&op, cmd, c);
	ev[0] = rows[0];
	ev[0].event = FTPE_EVENT_STARTED;
	ev[1] = rows[0];
	ev[1].event = FTPE_EVENT_PINHOLE_OPEN;
	ev[2] = rows[1];
	ev[2].event = FTPE_EVENT_REFUSED;
	ev[2].reason = FTPE_REASON_BOUNCE;
	ev[2].data = rows[1].announced;
	ev[3] = rows[2];
	ev[3].state = FTPE_FLOW_IDLE;
	ev[3].event = FTPE_EVENT_STATE;
	ev[3].reason = FTPE_REASON_COMPLETED;
	for (i = 0; i < 4 && (!op.count || seen < op.count); i++)
		seen += event_show(&ev[i], &op, c, n, !seen);
	return 0;
}
