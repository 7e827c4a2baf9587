// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo: statistics and flow table of the nf_ftp_embryo FTP conntrack
 * helper, over its generic netlink family (include/uapi/linux/
 * nf_ftp_embryo.h).  Every answer is about the caller's network namespace.
 * See ftp-embryo(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/nf_ftp_embryo.h>

#define CLI_VERSION	"1.0"

/* Exit codes, documented in ftp-embryo(8). */
enum { EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOMODULE = 3, EXIT_PERM = 4 };

/* A dump restarted by a table resize is retried this often. */
#define DUMP_TRIES	5

static const char *prog = "ftp-embryo";

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	uint32_t version;
	char buf[65536];
};

struct stat_val {
	char *name;
	uint64_t value;
	bool gauge;
};

struct stats {
	struct stat_val *v;
	size_t n, cap;
};

struct flow {
	uint8_t family, state, mode, dfamily, pinhole;
	uint8_t client[16], server[16], daddr[16];
	uint16_t cport, sport, dport, reply;
	uint32_t age_ms;
};

struct flows {
	struct flow *f;
	size_t n, cap;
	bool intr;		/* the kernel flagged the dump inconsistent */
};

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die(EXIT_ERR, "out of memory");
	return p;
}

/* Turn a failed request's errno into the one-line error the man page lists. */
static void __attribute__((noreturn)) die_errno(const char *what, int err)
{
	if (err == EPERM || err == EACCES)
		die(EXIT_PERM, "permission denied: %s needs CAP_NET_ADMIN", what);
	die(EXIT_ERR, "%s: %s", what, strerror(err));
}

static void nl_send(struct nl *nl, uint16_t type, uint16_t flags, uint8_t cmd,
		    const char *family_name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : FTPE_GENL_VERSION;
	if (family_name)
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family_name);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		die(EXIT_ERR, "netlink send: %s", strerror(errno));
}

/* Read replies to the last request until done; -1 with errno on error. */
static int nl_recv(struct nl *nl, mnl_cb_t cb, void *data)
{
	ssize_t n;
	int ret;

	do {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return -1;
		ret = mnl_cb_run(nl->buf, n, nl->seq, nl->portid, cb, data);
	} while (ret > 0);
	return ret;
}

static int family_attr(const struct nlattr *a, void *data)
{
	struct nl *nl = data;

	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			nl->family = mnl_attr_get_u16(a);
		break;
	case CTRL_ATTR_VERSION:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			nl->version = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr, data);
	return MNL_CB_OK;
}

static void nl_open(struct nl *nl)
{
	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		die(EXIT_ERR, "cannot open a generic netlink socket: %s",
		    strerror(errno));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die(EXIT_ERR, "netlink bind: %s", strerror(errno));
	nl->portid = mnl_socket_get_portid(nl->sock);

	nl_send(nl, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY,
		FTPE_GENL_NAME);
	if (nl_recv(nl, family_cb, nl) < 0) {
		if (errno == ENOENT)
			die(EXIT_NOMODULE,
			    "the nf_ftp_embryo module is not loaded (no generic netlink family \"%s\")",
			    FTPE_GENL_NAME);
		die(EXIT_ERR, "looking up family %s: %s", FTPE_GENL_NAME,
		    strerror(errno));
	}
	if (!nl->family)
		die(EXIT_NOMODULE, "generic netlink family \"%s\" not found",
		    FTPE_GENL_NAME);
	if (nl->version < FTPE_GENL_VERSION)
		die(EXIT_ERR, "the module speaks netlink version %u, this tool needs %u",
		    nl->version, FTPE_GENL_VERSION);
}

/* ---- stats ---- */

static int stat_attr(const struct nlattr *a, void *data)
{
	struct stat_val *v = data;

	switch (mnl_attr_get_type(a)) {
	case FTPE_STAT_A_NAME:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			v->name = strdup(mnl_attr_get_str(a));
		break;
	case FTPE_STAT_A_VALUE:
		if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
			v->value = mnl_attr_get_u64(a);
		break;
	case FTPE_STAT_A_GAUGE:
		v->gauge = true;
		break;
	}
	return MNL_CB_OK;
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	struct stats *st = data;
	struct nlattr *top, *a;

	mnl_attr_for_each(top, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(top) != FTPE_A_STATS)
			continue;
		mnl_attr_for_each_nested(a, top) {
			struct stat_val v = { 0 };

			if (mnl_attr_get_type(a) != FTPE_A_STAT)
				continue;
			mnl_attr_parse_nested(a, stat_attr, &v);
			if (!v.name)
				continue;
			if (st->n == st->cap) {
				st->cap = st->cap ? 2 * st->cap : 64;
				st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
			}
			st->v[st->n++] = v;
		}
	}
	return MNL_CB_OK;
}

static void stats_free(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].name);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

static void stats_get(struct nl *nl, struct stats *st)
{
	nl_send(nl, nl->family, NLM_F_ACK, FTPE_CMD_STATS_GET, NULL);
	if (nl_recv(nl, stats_cb, st) < 0)
		die_errno("stats", errno);
	if (!st->n)
		die(EXIT_ERR, "the module sent no statistics");
}

/* Names come from the kernel: escape them anyway. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_values(const struct stats *st, bool gauge)
{
	const char *sep = "";
	size_t i;

	putchar('{');
	for (i = 0; i < st->n; i++) {
		if (st->v[i].gauge != gauge)
			continue;
		printf("%s", sep);
		json_str(st->v[i].name);
		printf(":%" PRIu64, st->v[i].value);
		sep = ",";
	}
	putchar('}');
}

static void stats_print(const struct stats *st, bool json)
{
	size_t i;

	if (!json) {
		for (i = 0; i < st->n; i++)
			printf("%s: %" PRIu64 "\n", st->v[i].name,
			       st->v[i].value);
		return;
	}
	printf("{\"counters\":");
	json_values(st, false);
	printf(",\"gauges\":");
	json_values(st, true);
	printf("}\n");
}

static const struct stat_val *stat_find(const struct stats *st,
					const char *name)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].name, name))
			return &st->v[i];
	return NULL;
}

/* One watch report: counters as rates over @secs, gauges as they are. */
static void rates_print(const struct stats *old, const struct stats *now,
			unsigned int secs, bool json)
{
	const char *sep = "";
	char stamp[32];
	time_t t = time(NULL);
	size_t i;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime(&t));
	if (json)
		printf("{\"time\":\"%s\",\"interval_s\":%u,\"rates\":{",
		       stamp, secs);
	else
		printf("--- %s, per second over %u s\n", stamp, secs);
	for (i = 0; i < now->n; i++) {
		const struct stat_val *v = &now->v[i], *o;
		uint64_t d;

		if (v->gauge)
			continue;
		o = stat_find(old, v->name);
		d = o ? v->value - o->value : v->value;
		if (json) {
			printf("%s", sep);
			json_str(v->name);
			printf(":%.2f", (double)d / secs);
			sep = ",";
		} else if (d) {
			printf("%s: %.2f/s (+%" PRIu64 ", total %" PRIu64 ")\n",
			       v->name, (double)d / secs, d, v->value);
		}
	}
	if (json) {
		printf("},\"gauges\":");
		json_values(now, true);
		printf("}\n");
	} else {
		for (i = 0; i < now->n; i++)
			if (now->v[i].gauge)
				printf("%s: %" PRIu64 "\n", now->v[i].name,
				       now->v[i].value);
	}
	fflush(stdout);
}

static void cmd_stats(struct nl *nl, bool json, unsigned int watch,
		      unsigned int count)
{
	struct stats old = { 0 }, now = { 0 };
	unsigned int i;

	stats_get(nl, &now);
	if (!watch) {
		stats_print(&now, json);
		stats_free(&now);
		return;
	}
	for (i = 0; !count || i < count; i++) {
		stats_free(&old);
		old = now;
		memset(&now, 0, sizeof(now));
		sleep(watch);
		stats_get(nl, &now);
		rates_print(&old, &now, watch, json);
	}
	stats_free(&old);
	stats_free(&now);
}

/* ---- flows ---- */

static int flow_attr(const struct nlattr *a, void *data)
{
	struct flow *f = data;
	size_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case FTPE_FLOW_A_FAMILY:
		f->family = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_CLIENT:
		if (len <= sizeof(f->client))
			memcpy(f->client, mnl_attr_get_payload(a), len);
		break;
	case FTPE_FLOW_A_CLIENT_PORT:
		f->cport = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_SERVER:
		if (len <= sizeof(f->server))
			memcpy(f->server, mnl_attr_get_payload(a), len);
		break;
	case FTPE_FLOW_A_SERVER_PORT:
		f->sport = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_STATE:
		f->state = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_MODE:
		f->mode = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_DATA_FAMILY:
		f->dfamily = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_DATA_ADDR:
		if (len <= sizeof(f->daddr))
			memcpy(f->daddr, mnl_attr_get_payload(a), len);
		break;
	case FTPE_FLOW_A_DATA_PORT:
		f->dport = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_REPLY:
		f->reply = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_AGE_MS:
		f->age_ms = mnl_attr_get_u32(a);
		break;
	case FTPE_FLOW_A_PINHOLE:
		f->pinhole = mnl_attr_get_u8(a);
		break;
	}
	return MNL_CB_OK;
}

static int flows_cb(const struct nlmsghdr *nlh, void *data)
{
	struct flows *fl = data;
	struct nlattr *a;

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		fl->intr = true;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		struct flow f = { 0 };

		if (mnl_attr_get_type(a) != FTPE_A_FLOW)
			continue;
		if (mnl_attr_parse_nested(a, flow_attr, &f) < 0)
			continue;
		if (fl->n == fl->cap) {
			fl->cap = fl->cap ? 2 * fl->cap : 256;
			fl->f = xrealloc(fl->f, fl->cap * sizeof(*fl->f));
		}
		fl->f[fl->n++] = f;
	}
	return MNL_CB_OK;
}

static const char *state_name(uint8_t s)
{
	static const char * const names[] = {
		[FTPE_FLOW_IDLE] = "IDLE",
		[FTPE_FLOW_OPENING] = "OPENING",
		[FTPE_FLOW_OPENED] = "OPENED",
		[FTPE_FLOW_CMD_SENT] = "CMD_SENT",
		[FTPE_FLOW_EXEC_STARTED] = "EXEC_STARTED",
		[FTPE_FLOW_EXEC_COMP] = "EXEC_COMP",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static const char *mode_name(uint8_t m)
{
	static const char * const names[] = {
		[FTPE_FLOW_MODE_NONE] = "-",
		[FTPE_FLOW_MODE_PORT] = "PORT",
		[FTPE_FLOW_MODE_EPRT] = "EPRT",
		[FTPE_FLOW_MODE_PASV] = "PASV",
		[FTPE_FLOW_MODE_EPSV] = "EPSV",
	};

	return m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

/* "addr:port", with brackets for IPv6; "-" for no address. */
static const char *endpoint(char *out, size_t size, uint8_t family,
			    const uint8_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	if (family != AF_INET && family != AF_INET6) {
		snprintf(out, size, "-:%u", port);
		return out;
	}
	inet_ntop(family, addr, a, sizeof(a));
	snprintf(out, size, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return out;
}

static void flows_dump(struct nl *nl, struct flows *fl)
{
	int tries;

	for (tries = 0; tries < DUMP_TRIES; tries++) {
		fl->n = 0;
		fl->intr = false;
		nl_send(nl, nl->family, NLM_F_DUMP, FTPE_CMD_FLOWS_GET, NULL);
		if (nl_recv(nl, flows_cb, fl) < 0)
			die_errno("flows", errno);
		if (!fl->intr)
			return;
	}
	die(EXIT_ERR, "the flow table kept changing size: no consistent dump in %d tries",
	    DUMP_TRIES);
}

static void flows_print(const struct flows *fl, bool json)
{
	char c[64], s[64], d[64];
	size_t i;

	if (json)
		printf("{\"flows\":[");
	else
		printf("%-4s %-28s %-28s %-12s %-4s %-28s %5s %8s %s\n",
		       "AF", "CLIENT", "SERVER", "STATE", "MODE", "DATA",
		       "REPLY", "AGE_MS", "PINHOLE");
	for (i = 0; i < fl->n; i++) {
		const struct flow *f = &fl->f[i];

		endpoint(c, sizeof(c), f->family, f->client, f->cport);
		endpoint(s, sizeof(s), f->family, f->server, f->sport);
		endpoint(d, sizeof(d), f->dfamily, f->daddr, f->dport);
		if (json)
			printf("%s{\"family\":\"%s\",\"client\":\"%s\",\"server\":\"%s\","
			       "\"state\":\"%s\",\"mode\":\"%s\",\"data\":\"%s\","
			       "\"reply\":%u,\"age_ms\":%u,\"pinhole\":%s}",
			       i ? "," : "", f->family == AF_INET6 ? "ipv6" : "ipv4",
			       c, s, state_name(f->state), mode_name(f->mode), d,
			       f->reply, f->age_ms, f->pinhole ? "true" : "false");
		else
			printf("%-4s %-28s %-28s %-12s %-4s %-28s %5u %8u %s\n",
			       f->family == AF_INET6 ? "ipv6" : "ipv4", c, s,
			       state_name(f->state), mode_name(f->mode), d,
			       f->reply, f->age_ms, f->pinhole ? "open" : "-");
	}
	if (json)
		printf("]}\n");
	fflush(stdout);
}

static void cmd_flows(struct nl *nl, bool json, unsigned int watch,
		      unsigned int count)
{
	struct flows fl = { 0 };
	unsigned int i;

	for (i = 0; ; i++) {
		flows_dump(nl, &fl);
		if (watch && !json)
			printf("--- %zu flow(s)\n", fl.n);
		flows_print(&fl, json);
		if (!watch || (count && i + 1 >= count))
			break;
		sleep(watch);
	}
	free(fl.f);
}

static void cmd_flush(struct nl *nl)
{
	nl_send(nl, nl->family, NLM_F_ACK, FTPE_CMD_FLOWS_FLUSH, NULL);
	if (nl_recv(nl, NULL, NULL) < 0)
		die_errno("flush", errno);
}

/* ---- command line ---- */

static void usage(void)
{
	printf("Usage: %s [OPTIONS] stats|flows|flush\n"
	       "Statistics and flow table of the nf_ftp_embryo FTP conntrack helper\n"
	       "in the current network namespace.\n"
	       "\n"
	       "  stats              counters and gauges, one \"name: value\" per line\n"
	       "  flows              the flow table: one row per negotiation (CAP_NET_ADMIN)\n"
	       "  flush              end every negotiation and close its pinhole (CAP_NET_ADMIN)\n"
	       "\n"
	       "  -j, --json         print JSON instead of text\n"
	       "  -w, --watch SECS   repeat every SECS seconds; stats then shows rates\n"
	       "  -c, --count N      with --watch: stop after N reports\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      program and netlink ABI version\n"
	       "\n"
	       "Exit status: 0 ok, 1 error, 2 bad usage, 3 module not loaded,\n"
	       "4 permission denied.  See ftp-embryo(8).\n", prog);
}

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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int watch = 0, count = 0;
	bool json = false;
	const char *cmd;
	struct nl *nl;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jw:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'w':
			watch = number("--watch", optarg);
			break;
		case 'c':
			count = number("--count", optarg);
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("%s %s (netlink family %s, ABI version %d)\n",
			       prog, CLI_VERSION, FTPE_GENL_NAME,
			       FTPE_GENL_VERSION);
			return 0;
		case ':':
			die(EXIT_USAGE, "option '%s' needs a value (see --help)",
			    argv[optind - 1]);
		default:
			if (optopt)
				die(EXIT_USAGE, "unknown option '-%c' (see --help)",
				    optopt);
			die(EXIT_USAGE, "unknown option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, optind == argc ? "no command given (see --help)" :
			       "one command at a time (see --help)");
	cmd = argv[optind];
	if (strcmp(cmd, "stats") && strcmp(cmd, "flows") && strcmp(cmd, "flush"))
		die(EXIT_USAGE, "unknown command '%s' (see --help)", cmd);
	if (count && !watch)
		die(EXIT_USAGE, "--count needs --watch");
	if (watch && !strcmp(cmd, "flush"))
		die(EXIT_USAGE, "flush cannot be watched");

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		die(EXIT_ERR, "out of memory");
	nl_open(nl);
	if (!strcmp(cmd, "stats"))
		cmd_stats(nl, json, watch, count);
	else if (!strcmp(cmd, "flows"))
		cmd_flows(nl, json, watch, count);
	else
		cmd_flush(nl);
	mnl_socket_close(nl->sock);
	free(nl);
	return 0;
}
