// SPDX-License-Identifier: GPL-2.0
/* ftp-embryo: the command line checked, then its command (commands.c) run. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *prog = "ftp-embryo";

/*
 * Asking nlctrl for the family of a module that is not loaded makes the
 * kernel run modprobe (the module's MODULE_ALIAS_GENL_FAMILY), for any
 * user: a cron job would load a module its admin removed.  So sysfs is
 * asked first.  Without a sysfs (/sys/module absent) netlink decides.
 */
static void need_module(void)
{
	if (access("/sys/module", F_OK) == 0 &&
	    access("/sys/module/" MODULE_NAME, F_OK) != 0)
		die(EXIT_NOMODULE, "the " MODULE_NAME " module is not loaded" MODPROBE_HINT);
}

/* Static: read at exit, after main has returned. */
static struct opts op;

static void down_at_exit(void)
{
	metrics_down(&op);
}

int main(int argc, char **argv)
{
	const struct cmd *cmd = parse_options(argc, argv, &op);
	struct nl *nl;

	if (!cmd->run) {
		usage();
		flush_out();
		return 0;
	}
	/*
	 * A scraper's format says "down" rather than nothing when the module
	 * cannot be read: exits past here (die()) are the module's or the
	 * system's failures, never bad usage.
	 */
	if (cmd->run == cmd_stats && (!strcmp(op.format, "prometheus") ||
				      !strcmp(op.format, "openmetrics")))
		atexit(down_at_exit);
	if (op.netns)
		enter_netns(op.netns);
	need_module();
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		die(EXIT_ERR, "out of memory");
	nl_open(nl);
	cmd->run(nl, &op);
	nl_close(nl);
	free(nl);
	flush_out();
	return 0;
}
