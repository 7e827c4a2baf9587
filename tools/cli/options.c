// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo's command line, checked whole before any netlink: every bad
 * option is one line on stderr and exit 2.  Flags agree with conntrack(8)
 * and ip(8) where they overlap (-s/-d addresses, -n namespace, -e events,
 * -j/-p JSON); the spellings of version 1.1 that now mean something else
 * still work for one release, with a warning naming the new spelling.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "names.h"

/* -e keeps its events as bits of an unsigned int. */
_Static_assert(ARRAY_LEN(ftpe_event_names) <= 32, "too many events for -e");

enum { LONG_NOHEADINGS = 256, LONG_STATE, LONG_SRC, LONG_DST };

static const struct option longopts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "format", required_argument, NULL, 'F' },
	{ "watch", required_argument, NULL, 'w' },
	{ "count", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "noheadings", no_argument, NULL, LONG_NOHEADINGS },
	{ "netns", required_argument, NULL, 'n' },
	{ "state", required_argument, NULL, LONG_STATE },
	{ "src", required_argument, NULL, LONG_SRC },
	{ "dst", required_argument, NULL, LONG_DST },
	{ "address", required_argument, NULL, 'a' },
	{ "event", required_argument, NULL, 'e' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define SHORTOPTS ":jJpF:w:c:o:n:N:s:d:a:e:46hV"

/* How an option is named in "does not apply" errors. */
static const struct {
	unsigned int bit;
	const char *name;
} optnames[] = {
	{ O_JSON, "--json" }, { O_OUTPUT, "--output" },
	{ O_NOHEADINGS, "--noheadings" }, { O_FAMILY, "-4/-6" },
	{ O_STATE, "--state" }, { O_SRC, "-s/--src" }, { O_DST, "-d/--dst" },
	{ O_ADDR, "--address" }, { O_EVENT, "--event" },
};

static unsigned int number(const char *opt, const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || !v || v > 86400 || arg[0] == '-')
		die(EXIT_USAGE, "%s needs a whole number from 1 to 86400, not '%s'",
		    opt, arg);
	return v;
}

static bool addr_parse(const char *arg, struct endpoint *ep)
{
	if (inet_pton(AF_INET, arg, ep->addr) == 1)
		ep->family = AF_INET;
	else if (inet_pton(AF_INET6, arg, ep->addr) == 1)
		ep->family = AF_INET6;
	else
		return false;
	return true;
}

static void addr_opt(const char *opt, const char *arg, struct endpoint *ep)
{
	if (!addr_parse(arg, ep))
		die(EXIT_USAGE, "%s needs an IPv4 or IPv6 address, not '%s'",
		    opt, arg);
}

static void state_opt(const char *arg, struct opts *op)
{
	char names[256];

	op->state = state_parse(arg);
	if (op->state < 0)
		die(EXIT_USAGE, "unknown state '%s' (%s)", arg,
		    state_list(names, sizeof(names)));
	op->given |= O_STATE;
}

/*
 * -s: the source address, as conntrack -s.  Until 1.1 it was the state;
 * an argument that is no address but a state's name is read the old way,
 * with a warning.  No state name is an address, so nothing is guessed.
 */
static void src_opt(const char *arg, struct opts *op)
{
	if (addr_parse(arg, &op->src)) {
		op->given |= O_SRC;
		return;
	}
	if (state_parse(arg) >= 0) {
		warn("-s STATE is now --state STATE (-s is the source address, "
		     "as in conntrack): read as --state %s", arg);
		state_opt(arg, op);
		return;
	}
	die(EXIT_USAGE, "-s needs an IPv4 or IPv6 address (the source, as conntrack -s), "
	    "not '%s'", arg);
}

/* -e EVENT[,EVENT]: the events monitor prints, as conntrack -E -e. */
static void event_opt(const char *arg, struct opts *op)
{
	char *list = strdup(arg), *tok, *save = NULL, names[256];
	int e;

	if (!list)
		die(EXIT_ERR, "out of memory");
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		e = event_parse(tok);
		if (e < 0)
			die(EXIT_USAGE, "unknown event '%s' (%s)", tok,
			    event_list(names, sizeof(names)));
		op->events |= 1u << e;
	}
	free(list);
	if (!op->events)
		die(EXIT_USAGE, "--event names no event");
	op->given |= O_EVENT;
}

/* -o COL,... or -o +COL,... (added to the command's defaults, as lsblk). */
static void output_opt(const char *arg, struct opts *op)
{
	char *list, *tok, *save = NULL;
	size_t i;

	op->cols_plus = arg[0] == '+';
	list = strdup(arg + op->cols_plus);
	if (!list)
		die(EXIT_ERR, "out of memory");
	op->ncols = 0;
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < COL_COUNT; i++)
			if (!strcasecmp(tok, cols[i].name))
				break;
		if (i == COL_COUNT)
			die(EXIT_USAGE, "unknown column '%s' (see --help)", tok);
		if (op->ncols == COL_COUNT)
			die(EXIT_USAGE, "too many columns in '%s'", arg);
		op->cols[op->ncols++] = i;
	}
	free(list);
	if (!op->ncols)
		die(EXIT_USAGE, "--output names no column");
	op->cols_given = true;
	op->given |= O_OUTPUT;
}

/*
 * -n: the namespace, as ip -n.  Until 1.1 it was "no headings" and took
 * no value: a value that is an option or a command, or none at all, is
 * the old -n (with a warning); the value is then given back to getopt.
 * A namespace named like a command needs --netns.
 */
static bool old_n(char **argv, const char *arg)
{
	if (arg != argv[optind - 1])
		return false;	/* -nNAME: attached, a namespace */
	return arg[0] == '-' || cmd_find(arg);
}

static void warn_old_n(struct opts *op)
{
	warn("-n (no headings) is now --noheadings; -n NAME is the network "
	     "namespace, as ip -n");
	op->noheadings = true;
	op->given |= O_NOHEADINGS;
}

/*
 * getopt_long's error, said right: the option as it was written (it
 * reports a long option's short name otherwise), and whether it was
 * unknown or given a value it takes none of.
 */
static void __attribute__((noreturn)) bad_option(char **argv, int at)
{
	const char *arg = argv[at];
	const struct option *o;
	size_t len;

	if (strncmp(arg, "--", 2))
		die(EXIT_USAGE, "unknown option '-%c' (see --help)", optopt);
	len = strcspn(arg + 2, "=");
	for (o = longopts; o->name; o++)
		if (!strncmp(o->name, arg + 2, len) && arg[2 + len] == '=' &&
		    o->has_arg == no_argument)
			die(EXIT_USAGE, "option '--%s' takes no value (see --help)",
			    o->name);
	die(EXIT_USAGE, "unknown option '%.*s' (see --help)", (int)(len + 2),
	    arg);
}

static void one_option(int c, char **argv, int last, struct opts *op)
{
	switch (c) {
	case 'J':
		op->pretty = true;
		/* fall through */
	case 'j':
		op->json = true;
		op->given |= O_JSON;
		break;
	case 'p':
		op->pretty = true;
		break;
	case 'F':
		if (strcmp(optarg, "text") && strcmp(optarg, "json") &&
		    strcmp(optarg, "openmetrics") && strcmp(optarg, "prometheus"))
			die(EXIT_USAGE, "--format is text, json, openmetrics or prometheus, not '%s'",
			    optarg);
		op->format = optarg;
		op->given |= O_FORMAT;
		break;
	case 'w':
		op->watch = number("--watch", optarg);
		op->given |= O_WATCH;
		break;
	case 'c':
		op->count = number("--count", optarg);
		op->given |= O_COUNT;
		break;
	case 'o':
		output_opt(optarg, op);
		break;
	case LONG_NOHEADINGS:
		op->noheadings = true;
		op->given |= O_NOHEADINGS;
		break;
	case 'n':
		if (old_n(argv, optarg)) {
			warn_old_n(op);
			optind--;
		} else {
			op->netns = optarg;
		}
		break;
	case 'N':
		warn("-N NAME is now -n NAME (the network namespace, as ip -n)");
		op->netns = optarg;
		break;
	case LONG_STATE:
		state_opt(optarg, op);
		break;
	case 's':
		src_opt(optarg, op);
		break;
	case LONG_SRC:
		addr_opt("--src", optarg, &op->src);
		op->given |= O_SRC;
		break;
	case 'd':
	case LONG_DST:
		addr_opt(c == 'd' ? "-d" : "--dst", optarg, &op->dst);
		op->given |= O_DST;
		break;
	case 'a':
		addr_opt("--address", optarg, &op->addr);
		op->given |= O_ADDR;
		break;
	case 'e':
		event_opt(optarg, op);
		break;
	case '4':
	case '6':
		op->family = c == '4' ? AF_INET : AF_INET6;
		op->given |= O_FAMILY;
		break;
	case 'h':
		usage();
		flush_out();
		exit(0);
	case 'V':
		version();
		exit(0);
	case ':':
		if (optopt == 'n') {
			warn_old_n(op);
			break;
		}
		die(EXIT_USAGE, "option '%s' needs a value (see --help)",
		    argv[optind - 1]);
	default:
		/* A bundle like -jx is still argv[last]. */
		bad_option(argv, optind > last ? optind - 1 : last);
	}
}

/* What the command takes, and options that must agree with each other. */
static void check(const struct cmd *cmd, struct opts *op)
{
	unsigned int extra = op->given & ~cmd->takes;
	const struct endpoint *ep[] = { &op->src, &op->dst, &op->addr };
	size_t i;

	if (extra & O_WATCH)
		die(EXIT_USAGE, "%s cannot be watched", cmd->name);
	if (extra & O_FORMAT)
		die(EXIT_USAGE, "--format is for stats");
	if ((extra & O_COUNT) || (op->count && !op->watch && (cmd->takes & O_WATCH)))
		die(EXIT_USAGE, "--count needs --watch");
	for (i = 0; i < ARRAY_LEN(optnames); i++)
		if (extra & optnames[i].bit)
			die(EXIT_USAGE, "%s does not apply to %s (see --help)",
			    optnames[i].name, cmd->name);
	if (!strcmp(cmd->name, "delete") && !op->given)
		die(EXIT_USAGE, "delete needs a filter: -s, -d, --state, -4 or -6 "
		    "(flush ends every negotiation)");
	for (i = 0; i < ARRAY_LEN(ep); i++) {
		if (!ep[i]->family)
			continue;
		if (op->family && op->family != ep[i]->family)
			die(EXIT_USAGE, "-4/-6 and an address of the other family: "
			    "nothing could match");
	}
	if (op->src.family && op->dst.family && op->src.family != op->dst.family)
		die(EXIT_USAGE, "-s and -d are of different address families: "
		    "nothing could match");
	/* The kernel's filter names the family with the addresses. */
	if (cmd->run == cmd_delete && !op->family)
		op->family = op->src.family ? op->src.family : op->dst.family;
	if (op->format && op->json && strcmp(op->format, "json"))
		die(EXIT_USAGE, "--json and --format %s disagree", op->format);
	if (op->format && (!strcmp(op->format, "openmetrics") ||
			   !strcmp(op->format, "prometheus")) && op->watch)
		die(EXIT_USAGE, "%s cannot be watched", op->format);
	if (!op->format)
		op->format = op->json ? "json" : "text";
	op->json = op->json || !strcmp(op->format, "json");
	if (op->pretty && !op->json && cmd->run)
		die(EXIT_USAGE, "--pretty is for JSON (-j, or -J for both)");
}

/* The command the line names, with @op filled; exits on any error. */
const struct cmd *parse_options(int argc, char **argv, struct opts *op)
{
	const struct cmd *cmd;
	int c, last;

	memset(op, 0, sizeof(*op));
	op->state = -1;
	opterr = 0;
	for (;;) {
		last = optind;
		c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL);
		if (c == -1)
			break;
		one_option(c, argv, last, op);
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, optind == argc ? "no command given (see --help)" :
			       "one command at a time (see --help)");
	cmd = cmd_find(argv[optind]);
	if (!cmd)
		die(EXIT_USAGE, "unknown command '%s' (see --help)", argv[optind]);
	check(cmd, op);
	return cmd;
}
