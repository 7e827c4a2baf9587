// SPDX-License-Identifier: GPL-2.0
/* ftp-embryo: the command line checked, then its command (commands.c) run. */
#include <stdlib.h>

#include "cli.h"

const char *prog = "ftp-embryo";

int main(int argc, char **argv)
{
	struct opts op;
	const struct cmd *cmd = parse_options(argc, argv, &op);
	struct nl *nl;

	if (!cmd->run) {
		usage();
		flush_out();
		return 0;
	}
	if (op.netns)
		enter_netns(op.netns);
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
