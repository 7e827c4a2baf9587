// SPDX-License-Identifier: GPL-2.0
/* ftp-embryo: the command table, --help and --version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/nf_ftp_embryo.h>

#include "cli.h"

#ifndef CLI_VERSION
#error "CLI_VERSION comes from nf_ftp_embryo/version.h (see the Makefile)"
#endif

static const enum col flow_cols[] = {
	COL_AF, COL_CLIENT, COL_SERVER, COL_STATE, COL_MODE, COL_DATA,
	COL_REPLY, COL_AGE, COL_PINHOLE, COL_REFUSED, COL_ANNOUNCED,
};

static const enum col event_cols[] = {
	COL_TIME, COL_EVENT, COL_REASON, COL_AF, COL_CLIENT, COL_SERVER,
	COL_STATE, COL_MODE, COL_DATA,
};

#define FILTERS		(O_FAMILY | O_STATE | O_SRC | O_DST | O_ADDR)

static const struct cmd cmds[] = {
	{ "stats", cmd_stats, O_JSON | O_FORMAT | O_WATCH | O_COUNT | O_NOHEADINGS,
	  NULL, 0 },
	{ "flows", cmd_flows, O_JSON | O_WATCH | O_COUNT | O_OUTPUT | O_NOHEADINGS |
			      FILTERS, flow_cols, ARRAY_LEN(flow_cols) },
	{ "flush", cmd_flush, 0, NULL, 0 },
	{ "delete", cmd_delete, O_FAMILY | O_STATE | O_SRC | O_DST, NULL, 0 },
	{ "monitor", cmd_monitor, O_JSON | O_COUNT | O_OUTPUT | O_NOHEADINGS |
				  FILTERS | O_EVENT, event_cols, ARRAY_LEN(event_cols) },
	{ "help", NULL, ~0u, NULL, 0 },
};

const struct cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(cmds); i++)
		if (!strcmp(name, cmds[i].name))
			return &cmds[i];
	return NULL;
}

void usage(void)
{
	char states[256], events[256];
	size_t i;

	printf("Usage: %s [OPTIONS] stats|flows|flush|delete|monitor|help\n"
	       "Statistics, flow table and events of the nf_ftp_embryo FTP conntrack\n"
	       "helper in one network namespace.\n"
	       "\n"
	       "  stats              counters and gauges, one \"name: value\" per line\n"
	       "  flows              one row per negotiation or refusal (CAP_NET_ADMIN)\n"
	       "  flush              end every negotiation and close its pinhole (CAP_NET_ADMIN)\n"
	       "  delete             end the negotiations a filter names (CAP_NET_ADMIN)\n"
	       "  monitor            print flow events as they happen (CAP_NET_ADMIN)\n"
	       "  help               this help\n"
	       "\n"
	       "  -n, --netns NAME   in network namespace NAME (ip netns), as ip -n\n"
	       "  -j, --json         JSON (ftp-embryo.schema.json); monitor: one object a line\n"
	       "  -p, --pretty       JSON indented, as ip -j -p; -J is -j -p\n"
	       "  -F, --format FMT   stats: text, json, openmetrics or prometheus (the\n"
	       "                     classic text format node_exporter's textfile reads)\n"
	       "  -w, --watch SECS   repeat every SECS seconds; stats then shows rates\n"
	       "  -c, --count N      with --watch: stop after N reports; monitor: N events\n"
	       "  -o, --output COLS  flows/monitor: the columns, comma-separated; +COLS adds\n"
	       "                     to the default ones; with -j, the members to print\n"
	       "      --noheadings   no header line (--watch: no \"---\" line)\n"
	       "\n"
	       "Filters (flows, monitor; delete takes -s, -d, --state, -4, -6):\n"
	       "  -s, --src ADDR     control connections from ADDR (client), as conntrack -s\n"
	       "  -d, --dst ADDR     control connections to ADDR (server), as conntrack -d\n"
	       "  -a, --address ADDR rows naming ADDR anywhere (client, server, data, refused)\n"
	       "  -4, -6             IPv4 or IPv6 control connections only\n"
	       "      --state STATE  rows in STATE only, one of\n"
	       "                     %s\n"
	       "  -e, --event EVENTS monitor: these events only, comma-separated (conntrack -e)\n"
	       "                     %s\n"
	       "\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      program, netlink ABI and loaded module versions\n"
	       "\n"
	       "Columns:\n", prog, state_list(states, sizeof(states)),
	       event_list(events, sizeof(events)));
	for (i = 0; i < COL_COUNT; i++)
		printf("  %-10s %s\n", cols[i].name, cols[i].help);
	printf("\nUntil 1.1, -s was the state, -n no headings and -N the namespace: they\n"
	       "still work, with a warning.  Exit status: 0 ok, 1 error, 2 bad usage,\n"
	       "3 module not loaded, 4 permission denied.  See ftp-embryo(8).\n");
}

/* The version the loaded module reports in sysfs; NULL if not loaded. */
static char *module_version(char *out, size_t size)
{
	FILE *f = fopen("/sys/module/" MODULE_NAME "/version", "r");
	char *nl;

	if (!f)
		return NULL;
	if (!fgets(out, size, f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	return out;
}

void version(void)
{
	char v[64];

	printf("%s %s (netlink family %s, ABI version %d, JSON version %d)\n",
	       prog, CLI_VERSION, FTPE_GENL_NAME, FTPE_GENL_VERSION,
	       JSON_VERSION);
	if (module_version(v, sizeof(v)))
		printf("module %s %s loaded\n", MODULE_NAME, v);
	else
		printf("module %s not loaded\n", MODULE_NAME);
	flush_out();
}
