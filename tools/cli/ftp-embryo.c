// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo: statistics, flow table and events of the nf_ftp_embryo FTP
 * conntrack helper, over its generic netlink family (include/uapi/linux/
 * nf_ftp_embryo.h).  Every answer is about one network namespace: the
 * caller's, or the one -N names.  See ftp-embryo(8).
 *
 * Output: tables through libsmartcols (sized to their content, -o, -n),
 * JSON through json-c, in the shapes ftp-embryo.schema.json describes
 * (JSON_VERSION); nothing here escapes a string by hand.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libmnl/libmnl.h>
#include <libsmartcols/libsmartcols.h>
#include <linux/genetlink.h>
#include <linux/nf_ftp_embryo.h>

#include "names.h"

#ifndef CLI_VERSION
#error "CLI_VERSION comes from nf_ftp_embryo/version.h (see the Makefile)"
#endif

/* The version of the JSON shapes (the schema's "version"). */
#define JSON_VERSION	2

/* Exit codes, documented in ftp-embryo(8). */
enum { EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOMODULE = 3, EXIT_PERM = 4 };

/* A dump restarted by a table resize is retried this often. */
#define DUMP_TRIES	5

#define MODULE_NAME	"nf_ftp_embryo"
#define MODPROBE_HINT	" (modprobe nf_ftp_embryo, or see the admin guide)"

static const char *prog = "ftp-embryo";

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	uint32_t version;
	uint32_t events_group;	/* 0: the module has none */
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

struct endpoint {
	uint8_t family;		/* AF_INET, AF_INET6, or 0: none */
	uint8_t addr[16];
	uint16_t port;
};

struct flow {
	uint8_t family, state, mode, pinhole, refused;
	bool has_state, has_reply, has_age;
	struct endpoint client, server, data, announced;
	uint16_t reply;
	uint32_t age_ms, refused_age_ms;
	/* events only */
	uint8_t event, reason;
};

struct flows {
	struct flow *f;
	size_t n, cap;
	bool intr;		/* the kernel flagged the dump inconsistent */
};

/* What the command line asked for. */
struct opts {
	bool json, noheadings;
	const char *format;	/* stats: text, json, openmetrics */
	const char *columns;	/* -o */
	int family;		/* -4/-6: AF_INET, AF_INET6, 0 */
	const char *state;	/* --state */
	struct endpoint addr;	/* --address: family 0 for none */
	unsigned int watch, count;
};

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
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

/* Output that could not be written is an error, as for any tool. */
static void flush_out(void)
{
	if (fflush(stdout) || ferror(stdout))
		die(EXIT_ERR, "write error: %s", strerror(errno ? errno : EIO));
}

/*
 * A failed request's errno as the one-line error the man page lists.  The
 * family vanishing between requests (rmmod during --watch) is ENOENT.
 */
static void __attribute__((noreturn)) die_errno(const char *what, int err)
{
	if (err == EPERM || err == EACCES)
		die(EXIT_PERM, "permission denied: %s needs CAP_NET_ADMIN", what);
	if (err == ENOENT || err == EOPNOTSUPP)
		die(EXIT_NOMODULE, "the " MODULE_NAME " module is gone (unloaded?)");
	die(EXIT_ERR, "%s: %s", what, strerror(err));
}

/* ---- netlink ---- */

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

static void mcast_group(struct nl *nl, const struct nlattr *grp)
{
	const char *name = NULL;
	uint32_t id = 0;
	struct nlattr *a;

	mnl_attr_for_each_nested(a, grp) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			id = mnl_attr_get_u32(a);
	}
	if (name && !strcmp(name, FTPE_GENL_MCGRP_EVENTS))
		nl->events_group = id;
}

static int family_attr(const struct nlattr *a, void *data)
{
	struct nl *nl = data;
	struct nlattr *g;

	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_FAMILY_ID:
		if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			nl->family = mnl_attr_get_u16(a);
		break;
	case CTRL_ATTR_VERSION:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			nl->version = mnl_attr_get_u32(a);
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		mnl_attr_for_each_nested(g, a)
			mcast_group(nl, g);
		break;
	}
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr, data);
	return MNL_CB_OK;
}

/* -N NAME: the namespace ip netns add NAME made, as ip -n does. */
static void enter_netns(const char *name)
{
	char path[4096];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(EXIT_ERR, "network namespace '%s': %s", name,
		    strerror(errno));
	if (setns(fd, CLONE_NEWNET) < 0)
		die(errno == EPERM ? EXIT_PERM : EXIT_ERR,
		    "cannot enter network namespace '%s': %s", name,
		    strerror(errno));
	close(fd);
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
			    "the " MODULE_NAME " module is not loaded" MODPROBE_HINT);
		die(EXIT_ERR, "looking up family %s: %s", FTPE_GENL_NAME,
		    strerror(errno));
	}
	if (!nl->family)
		die(EXIT_NOMODULE, "the " MODULE_NAME " module is not loaded" MODPROBE_HINT);
	if (nl->version < FTPE_GENL_VERSION)
		die(EXIT_ERR, "the module speaks netlink version %u, this tool needs %u",
		    nl->version, FTPE_GENL_VERSION);
}

/* ---- shared output pieces ---- */

/* Now, RFC 3339 in UTC with milliseconds. */
static const char *stamp(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03uZ",
		 (unsigned int)(tv.tv_usec / 1000) % 1000);
	return out;
}

static json_object *json_top(const char *key, json_object *val)
{
	json_object *o = json_object_new_object();
	char t[40];

	json_object_object_add(o, "version", json_object_new_int(JSON_VERSION));
	json_object_object_add(o, "time",
			       json_object_new_string(stamp(t, sizeof(t))));
	if (key)
		json_object_object_add(o, key, val);
	return o;
}

/* One JSON document on its own line, and the object freed. */
static void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	flush_out();
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

static json_object *json_values(const struct stats *st, bool gauge)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < st->n; i++)
		if (st->v[i].gauge == gauge)
			json_object_object_add(o, st->v[i].name,
					       json_object_new_uint64(st->v[i].value));
	return o;
}

/*
 * OpenMetrics text: counters as NAME_total of a counter family, gauges as
 * they are, and the # EOF the format ends with.
 */
static void stats_openmetrics(const struct stats *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		const struct stat_val *v = &st->v[i];

		printf("# TYPE nf_ftp_embryo_%s %s\n", v->name,
		       v->gauge ? "gauge" : "counter");
		printf("nf_ftp_embryo_%s%s %" PRIu64 "\n", v->name,
		       v->gauge ? "" : "_total", v->value);
	}
	printf("# EOF\n");
}

static void stats_print(const struct stats *st, const char *format)
{
	json_object *o;
	size_t i;

	if (!strcmp(format, "openmetrics")) {
		stats_openmetrics(st);
	} else if (!strcmp(format, "json")) {
		o = json_top("counters", json_values(st, false));
		json_object_object_add(o, "gauges", json_values(st, true));
		json_print(o);
	} else {
		for (i = 0; i < st->n; i++)
			printf("%s: %" PRIu64 "\n", st->v[i].name,
			       st->v[i].value);
	}
	flush_out();
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

/* One watch report: each counter's total, increase and rate over @secs. */
static void rates_print(const struct stats *old, const struct stats *now,
			unsigned int secs, bool json)
{
	json_object *o = NULL, *counters = NULL;
	char t[40];
	size_t i;

	if (json) {
		counters = json_object_new_object();
		o = json_top("interval_s", json_object_new_int(secs));
	} else {
		printf("--- %s, per second over %u s\n", stamp(t, sizeof(t)),
		       secs);
	}
	for (i = 0; i < now->n; i++) {
		const struct stat_val *v = &now->v[i], *p;
		json_object *c;
		uint64_t d;

		if (v->gauge)
			continue;
		p = stat_find(old, v->name);
		d = p ? v->value - p->value : v->value;
		if (json) {
			c = json_object_new_object();
			json_object_object_add(c, "total",
					       json_object_new_uint64(v->value));
			json_object_object_add(c, "delta",
					       json_object_new_uint64(d));
			json_object_object_add(c, "rate",
					       json_object_new_double((double)d / secs));
			json_object_object_add(counters, v->name, c);
		} else if (d) {
			printf("%s: %g/s (+%" PRIu64 ", total %" PRIu64 ")\n",
			       v->name, (double)d / secs, d, v->value);
		}
	}
	if (json) {
		json_object_object_add(o, "counters", counters);
		json_object_object_add(o, "gauges", json_values(now, true));
		json_print(o);
		return;
	}
	for (i = 0; i < now->n; i++)
		if (now->v[i].gauge)
			printf("%s: %" PRIu64 "\n", now->v[i].name,
			       now->v[i].value);
	flush_out();
}

static void cmd_stats(struct nl *nl, const struct opts *op)
{
	struct stats old = { 0 }, now = { 0 };
	unsigned int i;

	stats_get(nl, &now);
	if (!op->watch) {
		stats_print(&now, op->format);
		stats_free(&now);
		return;
	}
	for (i = 0; !op->count || i < op->count; i++) {
		stats_free(&old);
		old = now;
		memset(&now, 0, sizeof(now));
		sleep(op->watch);
		stats_get(nl, &now);
		rates_print(&old, &now, op->watch, op->json);
	}
	stats_free(&old);
	stats_free(&now);
}

/* ---- flows and events: parsing ---- */

static void get_addr(const struct nlattr *a, struct endpoint *ep)
{
	size_t len = mnl_attr_get_payload_len(a);

	if (len == 4 || len == 16)
		memcpy(ep->addr, mnl_attr_get_payload(a), len);
}

static int flow_attr(const struct nlattr *a, void *data)
{
	struct flow *f = data;
	int type = mnl_attr_get_type(a);

	/* Fixed-size integers: a short one would be read past its end. */
	switch (type) {
	case FTPE_FLOW_A_FAMILY: case FTPE_FLOW_A_STATE: case FTPE_FLOW_A_MODE:
	case FTPE_FLOW_A_DATA_FAMILY: case FTPE_FLOW_A_PINHOLE:
	case FTPE_FLOW_A_REFUSED: case FTPE_FLOW_A_REFUSED_FAMILY:
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_OK;
		break;
	case FTPE_FLOW_A_CLIENT_PORT: case FTPE_FLOW_A_SERVER_PORT:
	case FTPE_FLOW_A_DATA_PORT: case FTPE_FLOW_A_REPLY:
	case FTPE_FLOW_A_REFUSED_PORT:
		if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
			return MNL_CB_OK;
		break;
	case FTPE_FLOW_A_AGE_MS: case FTPE_FLOW_A_REFUSED_AGE_MS:
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return MNL_CB_OK;
		break;
	}
	switch (type) {
	case FTPE_FLOW_A_FAMILY:
		f->family = mnl_attr_get_u8(a);
		f->client.family = f->server.family = f->family;
		break;
	case FTPE_FLOW_A_CLIENT:
		get_addr(a, &f->client);
		break;
	case FTPE_FLOW_A_CLIENT_PORT:
		f->client.port = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_SERVER:
		get_addr(a, &f->server);
		break;
	case FTPE_FLOW_A_SERVER_PORT:
		f->server.port = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_STATE:
		f->state = mnl_attr_get_u8(a);
		f->has_state = true;
		break;
	case FTPE_FLOW_A_MODE:
		f->mode = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_DATA_FAMILY:
		f->data.family = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_DATA_ADDR:
		get_addr(a, &f->data);
		break;
	case FTPE_FLOW_A_DATA_PORT:
		f->data.port = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_REPLY:
		f->reply = mnl_attr_get_u16(a);
		f->has_reply = true;
		break;
	case FTPE_FLOW_A_AGE_MS:
		f->age_ms = mnl_attr_get_u32(a);
		f->has_age = true;
		break;
	case FTPE_FLOW_A_PINHOLE:
		f->pinhole = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_REFUSED:
		f->refused = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_REFUSED_FAMILY:
		f->announced.family = mnl_attr_get_u8(a);
		break;
	case FTPE_FLOW_A_REFUSED_ADDR:
		get_addr(a, &f->announced);
		break;
	case FTPE_FLOW_A_REFUSED_PORT:
		f->announced.port = mnl_attr_get_u16(a);
		break;
	case FTPE_FLOW_A_REFUSED_AGE_MS:
		f->refused_age_ms = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static void flows_add(struct flows *fl, const struct flow *f)
{
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? 2 * fl->cap : 256;
		fl->f = xrealloc(fl->f, fl->cap * sizeof(*fl->f));
	}
	fl->f[fl->n++] = *f;
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
		flows_add(fl, &f);
	}
	return MNL_CB_OK;
}

/* ---- flows and events: names ---- */

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* NULL: none (JSON null); a number this CLI does not know: "?". */
static const char *state_name(uint8_t s)
{
	return s < ARRAY_LEN(ftpe_state_names) ? ftpe_state_names[s] : "?";
}

static const char *mode_name(uint8_t m)
{
	return m < ARRAY_LEN(ftpe_mode_names) ? ftpe_mode_names[m] : "?";
}

static const char *event_name(uint8_t e)
{
	return e < ARRAY_LEN(ftpe_event_names) ? ftpe_event_names[e] :
						 "unknown";
}

/* The names /proc/net/nf_ftp_embryo/flows and the kernel log use. */
static const char *reason_name(uint8_t r)
{
	return r < ARRAY_LEN(ftpe_reason_names) ? ftpe_reason_names[r] :
						  "unknown";
}

static const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

/* The address alone; NULL when none is known. */
static const char *addr_str(char *out, size_t size, const struct endpoint *ep)
{
	if (ep->family != AF_INET && ep->family != AF_INET6)
		return NULL;
	return inet_ntop(ep->family, ep->addr, out, size);
}

/* "addr:port" with brackets for IPv6, "-:port", or "-" for nothing. */
static const char *ep_str(char *out, size_t size, const struct endpoint *ep)
{
	char a[INET6_ADDRSTRLEN];

	if (!addr_str(a, sizeof(a), ep))
		snprintf(out, size, ep->port ? "-:%u" : "-", ep->port);
	else
		snprintf(out, size, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 a, ep->port);
	return out;
}

/* ---- flows and events: filters ---- */

static bool ep_is(const struct endpoint *ep, const struct endpoint *want)
{
	return ep->family == want->family &&
	       !memcmp(ep->addr, want->addr, want->family == AF_INET6 ? 16 : 4);
}

static bool flow_wanted(const struct flow *f, const struct opts *op)
{
	if (op->family && f->family != op->family)
		return false;
	if (op->state && (!f->has_state ||
			  strcasecmp(op->state, state_name(f->state))))
		return false;
	if (op->addr.family && !ep_is(&f->client, &op->addr) &&
	    !ep_is(&f->server, &op->addr) && !ep_is(&f->data, &op->addr) &&
	    !ep_is(&f->announced, &op->addr))
		return false;
	return true;
}

/* ---- flows and events: JSON ---- */

static json_object *json_str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* NAME_address and NAME_port, null when not known. */
static void json_ep(json_object *o, const char *name, const struct endpoint *ep,
		    bool known)
{
	char key[32], a[INET6_ADDRSTRLEN];

	snprintf(key, sizeof(key), "%s_address", name);
	json_object_object_add(o, key, known ?
			       json_str_or_null(addr_str(a, sizeof(a), ep)) : NULL);
	snprintf(key, sizeof(key), "%s_port", name);
	json_object_object_add(o, key, known && ep->port ?
			       json_object_new_int(ep->port) : NULL);
}

/* The fields rows and events share. */
static void json_conn(json_object *o, const struct flow *f)
{
	json_object_object_add(o, "family",
			       json_object_new_string(family_name(f->family)));
	json_ep(o, "client", &f->client, true);
	json_ep(o, "server", &f->server, true);
	json_object_object_add(o, "state", f->has_state ?
			       json_object_new_string(state_name(f->state)) : NULL);
	json_object_object_add(o, "mode", json_str_or_null(mode_name(f->mode)));
}

static json_object *json_flow(const struct flow *f)
{
	json_object *o = json_object_new_object();

	json_conn(o, f);
	json_ep(o, "data", &f->data, true);
	json_object_object_add(o, "reply", f->reply ?
			       json_object_new_int(f->reply) : NULL);
	json_object_object_add(o, "age_ms", json_object_new_int64(f->age_ms));
	json_object_object_add(o, "pinhole",
			       json_object_new_boolean(f->pinhole));
	json_object_object_add(o, "refused",
			       json_str_or_null(reason_name(f->refused)));
	json_ep(o, "refused", &f->announced, f->refused);
	json_object_object_add(o, "refused_age_ms", f->refused ?
			       json_object_new_int64(f->refused_age_ms) : NULL);
	return o;
}

static json_object *json_event(const struct flow *f)
{
	json_object *o = json_top(NULL, NULL);

	json_object_object_add(o, "event",
			       json_object_new_string(event_name(f->event)));
	json_object_object_add(o, "reason",
			       json_str_or_null(reason_name(f->reason)));
	json_conn(o, f);
	json_ep(o, "data", &f->data, true);
	return o;
}

/* ---- flows and events: tables ---- */

enum col {
	COL_AF, COL_CLIENT, COL_SERVER, COL_STATE, COL_MODE, COL_DATA,
	COL_REPLY, COL_AGE, COL_PINHOLE, COL_REFUSED, COL_ANNOUNCED,
	COL_EVENT, COL_REASON, COL_TIME, COL_COUNT
};

static const struct {
	const char *name;
	double width;		/* libsmartcols: a fraction of the terminal */
	int flags;
	const char *help;
} cols[COL_COUNT] = {
	[COL_AF] = { "AF", 4, 0, "address family of the control connection" },
	[COL_CLIENT] = { "CLIENT", 0.2, 0, "client address:port" },
	[COL_SERVER] = { "SERVER", 0.2, 0, "server address:port" },
	[COL_STATE] = { "STATE", 0.1, 0, "negotiation state" },
	[COL_MODE] = { "MODE", 4, 0, "negotiating command" },
	[COL_DATA] = { "DATA", 0.2, 0, "negotiated data address:port" },
	[COL_REPLY] = { "REPLY", 5, SCOLS_FL_RIGHT, "last reply code" },
	[COL_AGE] = { "AGE_MS", 6, SCOLS_FL_RIGHT, "age of the negotiation" },
	[COL_PINHOLE] = { "PINHOLE", 4, 0, "open: the expectation waits" },
	[COL_REFUSED] = { "REFUSED", 0.1, 0, "last refusal's reason" },
	[COL_ANNOUNCED] = { "ANNOUNCED", 0.2, 0, "endpoint the refused line named" },
	[COL_EVENT] = { "EVENT", 0.1, 0, "event" },
	[COL_REASON] = { "REASON", 0.1, 0, "why" },
	[COL_TIME] = { "TIME", 0.2, 0, "when (UTC)" },
};

static const enum col flow_cols[] = {
	COL_AF, COL_CLIENT, COL_SERVER, COL_STATE, COL_MODE, COL_DATA,
	COL_REPLY, COL_AGE, COL_PINHOLE, COL_REFUSED, COL_ANNOUNCED,
};

static const enum col event_cols[] = {
	COL_TIME, COL_EVENT, COL_REASON, COL_AF, COL_CLIENT, COL_SERVER,
	COL_STATE, COL_MODE, COL_DATA,
};

/* -o NAME,...: the columns in the order given; else @def. */
static size_t pick_cols(const struct opts *op, const enum col *def,
			size_t ndef, enum col *out)
{
	char *list, *tok, *save = NULL;
	size_t n = 0, i;

	if (!op->columns) {
		memcpy(out, def, ndef * sizeof(*def));
		return ndef;
	}
	list = strdup(op->columns);
	if (!list)
		die(EXIT_ERR, "out of memory");
	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < COL_COUNT; i++)
			if (!strcasecmp(tok, cols[i].name))
				break;
		if (i == COL_COUNT)
			die(EXIT_USAGE, "unknown column '%s' (see --help)", tok);
		if (n == COL_COUNT)
			die(EXIT_USAGE, "too many columns in '%s'", op->columns);
		out[n++] = i;
	}
	free(list);
	if (!n)
		die(EXIT_USAGE, "--output names no column");
	return n;
}

static struct libscols_table *table_new(const struct opts *op,
					const enum col *c, size_t n)
{
	struct libscols_table *tb = scols_new_table();
	size_t i;

	if (!tb)
		die(EXIT_ERR, "out of memory");
	scols_table_enable_noheadings(tb, op->noheadings);
	for (i = 0; i < n; i++)
		if (!scols_table_new_column(tb, cols[c[i]].name,
					    cols[c[i]].width, cols[c[i]].flags))
			die(EXIT_ERR, "out of memory");
	return tb;
}

static void cell(struct libscols_line *ln, size_t i, const char *s)
{
	if (scols_line_set_data(ln, i, s ? s : "-"))
		die(EXIT_ERR, "out of memory");
}

static void table_row(struct libscols_table *tb, const enum col *c, size_t n,
		      const struct flow *f, const char *when)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	char s[64];
	size_t i;

	if (!ln)
		die(EXIT_ERR, "out of memory");
	for (i = 0; i < n; i++) {
		switch (c[i]) {
		case COL_AF:
			cell(ln, i, family_name(f->family));
			break;
		case COL_CLIENT:
			cell(ln, i, ep_str(s, sizeof(s), &f->client));
			break;
		case COL_SERVER:
			cell(ln, i, ep_str(s, sizeof(s), &f->server));
			break;
		case COL_STATE:
			cell(ln, i, f->has_state ? state_name(f->state) : NULL);
			break;
		case COL_MODE:
			cell(ln, i, mode_name(f->mode));
			break;
		case COL_DATA:
			cell(ln, i, ep_str(s, sizeof(s), &f->data));
			break;
		case COL_REPLY:
			snprintf(s, sizeof(s), "%u", f->reply);
			cell(ln, i, f->reply ? s : NULL);
			break;
		case COL_AGE:
			snprintf(s, sizeof(s), "%u", f->age_ms);
			cell(ln, i, f->has_age ? s : NULL);
			break;
		case COL_PINHOLE:
			cell(ln, i, f->pinhole ? "open" : NULL);
			break;
		case COL_REFUSED:
			cell(ln, i, reason_name(f->refused));
			break;
		case COL_ANNOUNCED:
			cell(ln, i, f->refused ?
			     ep_str(s, sizeof(s), &f->announced) : NULL);
			break;
		case COL_EVENT:
			cell(ln, i, event_name(f->event));
			break;
		case COL_REASON:
			cell(ln, i, reason_name(f->reason));
			break;
		case COL_TIME:
			cell(ln, i, when);
			break;
		case COL_COUNT:
			break;
		}
	}
}

/* ---- flows ---- */

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

static void flows_print(const struct flows *fl, const struct opts *op)
{
	enum col c[COL_COUNT];
	size_t n = pick_cols(op, flow_cols, sizeof(flow_cols) / sizeof(*flow_cols), c);
	struct libscols_table *tb;
	json_object *rows;
	size_t i;

	if (op->json) {
		rows = json_object_new_array();
		for (i = 0; i < fl->n; i++)
			if (flow_wanted(&fl->f[i], op))
				json_object_array_add(rows, json_flow(&fl->f[i]));
		json_print(json_top("flows", rows));
		return;
	}
	tb = table_new(op, c, n);
	for (i = 0; i < fl->n; i++)
		if (flow_wanted(&fl->f[i], op))
			table_row(tb, c, n, &fl->f[i], NULL);
	scols_print_table(tb);
	scols_unref_table(tb);
	flush_out();
}

static void cmd_flows(struct nl *nl, const struct opts *op)
{
	struct flows fl = { 0 };
	unsigned int i;
	char t[40];

	for (i = 0; ; i++) {
		flows_dump(nl, &fl);
		if (op->watch && !op->json)
			printf("--- %s, %zu flow(s)\n", stamp(t, sizeof(t)), fl.n);
		flows_print(&fl, op);
		if (!op->watch || (op->count && i + 1 >= op->count))
			break;
		sleep(op->watch);
	}
	free(fl.f);
}

static void cmd_flush(struct nl *nl)
{
	nl_send(nl, nl->family, NLM_F_ACK, FTPE_CMD_FLOWS_FLUSH, NULL);
	if (nl_recv(nl, NULL, NULL) < 0)
		die_errno("flush", errno);
}

/* ---- monitor ---- */

struct monitor {
	struct nl *nl;
	const struct opts *op;
	enum col c[COL_COUNT];
	size_t n;
	unsigned int seen;
	bool gone;		/* the family was unregistered */
};

static int event_attr(const struct nlattr *a, void *data)
{
	struct flow *f = data;

	switch (mnl_attr_get_type(a)) {
	case FTPE_A_EVENT:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			f->event = mnl_attr_get_u8(a);
		break;
	case FTPE_A_REASON:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			f->reason = mnl_attr_get_u8(a);
		break;
	case FTPE_A_FLOW:
		mnl_attr_parse_nested(a, flow_attr, f);
		break;
	}
	return MNL_CB_OK;
}

static void event_print(struct monitor *m, const struct flow *f)
{
	struct libscols_table *tb;
	char t[40];

	if (m->op->json) {
		json_print(json_event(f));
		return;
	}
	/* A table per event, so each line leaves at once: fixed widths. */
	tb = table_new(m->op, m->c, m->n);
	scols_table_enable_noheadings(tb, m->op->noheadings || m->seen);
	table_row(tb, m->c, m->n, f, stamp(t, sizeof(t)));
	scols_print_table(tb);
	scols_unref_table(tb);
	flush_out();
}

/* Whether a control message says our family went away. */
static int ctrl_attr(const struct nlattr *a, void *data)
{
	bool *ours = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
	    !strcmp(mnl_attr_get_str(a), FTPE_GENL_NAME))
		*ours = true;
	return MNL_CB_OK;
}

static int monitor_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	struct monitor *m = data;
	struct flow f = { 0 };
	bool ours = false;

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		if (g->cmd == CTRL_CMD_DELFAMILY) {
			mnl_attr_parse(nlh, sizeof(*g), ctrl_attr, &ours);
			m->gone |= ours;
		}
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_type != m->nl->family || g->cmd != FTPE_CMD_EVENT)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*g), event_attr, &f);
	if (!flow_wanted(&f, m->op))
		return MNL_CB_OK;
	event_print(m, &f);
	m->seen++;
	return MNL_CB_OK;
}

static void cmd_monitor(struct nl *nl, const struct opts *op)
{
	struct monitor m = { .nl = nl, .op = op };
	unsigned int ctrl = GENL_ID_CTRL;	/* nlctrl's "notify" group */
	ssize_t len;

	m.n = pick_cols(op, event_cols, sizeof(event_cols) / sizeof(*event_cols),
			m.c);
	if (!nl->events_group)
		die(EXIT_ERR, "the loaded module sends no events (too old?)");
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP,
				  &nl->events_group, sizeof(nl->events_group)) < 0)
		die_errno("monitor", errno);
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &ctrl,
				  sizeof(ctrl)) < 0)
		die(EXIT_ERR, "netlink: %s", strerror(errno));
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

/* ---- command line ---- */

static void usage(void)
{
	size_t i;

	printf("Usage: %s [OPTIONS] stats|flows|flush|monitor|help\n"
	       "Statistics, flow table and events of the nf_ftp_embryo FTP conntrack\n"
	       "helper in one network namespace.\n"
	       "\n"
	       "  stats              counters and gauges, one \"name: value\" per line\n"
	       "  flows              one row per negotiation or refusal (CAP_NET_ADMIN)\n"
	       "  flush              end every negotiation and close its pinhole (CAP_NET_ADMIN)\n"
	       "  monitor            print flow events as they happen (CAP_NET_ADMIN)\n"
	       "  help               this help\n"
	       "\n"
	       "  -j, --json         JSON (ftp-embryo.schema.json); monitor: one object a line\n"
	       "  -F, --format FMT   stats: text, json or openmetrics\n"
	       "  -w, --watch SECS   repeat every SECS seconds; stats then shows rates\n"
	       "  -c, --count N      with --watch: stop after N reports; monitor: N events\n"
	       "  -o, --output COLS  flows/monitor: the columns to show, comma-separated\n"
	       "  -n, --noheadings   flows/monitor: no header line\n"
	       "  -4, -6             flows/monitor: IPv4 or IPv6 control connections only\n"
	       "  -s, --state STATE  flows/monitor: rows in STATE only (OPENED, IDLE, ...)\n"
	       "  -a, --address ADDR flows/monitor: rows naming ADDR (client, server, data)\n"
	       "  -N, --netns NAME   in network namespace NAME (ip netns), as ip -n\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      program, netlink ABI and loaded module versions\n"
	       "\n"
	       "Columns:\n", prog);
	for (i = 0; i < COL_COUNT; i++)
		printf("  %-10s %s\n", cols[i].name, cols[i].help);
	printf("\nExit status: 0 ok, 1 error, 2 bad usage, 3 module not loaded,\n"
	       "4 permission denied.  See ftp-embryo(8).\n");
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

static void version(void)
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

static void parse_addr(const char *arg, struct endpoint *ep)
{
	if (inet_pton(AF_INET, arg, ep->addr) == 1)
		ep->family = AF_INET;
	else if (inet_pton(AF_INET6, arg, ep->addr) == 1)
		ep->family = AF_INET6;
	else
		die(EXIT_USAGE, "--address needs an IPv4 or IPv6 address, not '%s'",
		    arg);
}

/*
 * getopt_long's error, said right: the option as it was written (it
 * reports a long option's short name otherwise), and whether it was
 * unknown or given a value it takes none of.
 */
static void __attribute__((noreturn))
bad_option(const struct option *opts, char **argv, int at)
{
	const char *arg = argv[at];
	const struct option *o;
	size_t len;

	if (strncmp(arg, "--", 2)) {
		die(EXIT_USAGE, "unknown option '-%c' (see --help)", optopt);
	}
	len = strcspn(arg + 2, "=");
	for (o = opts; o->name; o++)
		if (!strncmp(o->name, arg + 2, len) && arg[2 + len] == '=' &&
		    o->has_arg == no_argument)
			die(EXIT_USAGE, "option '--%s' takes no value (see --help)",
			    o->name);
	die(EXIT_USAGE, "unknown option '%.*s' (see --help)", (int)(len + 2),
	    arg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'F' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 's' },
		{ "address", required_argument, NULL, 'a' },
		{ "netns", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts op = { .format = NULL };
	const char *cmd, *netns = NULL;
	struct nl *nl;
	int c, last;

	opterr = 0;
	for (;;) {
		last = optind;
		c = getopt_long(argc, argv, ":jF:w:c:o:ns:a:N:46hV", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'j':
			op.json = true;
			break;
		case 'F':
			if (strcmp(optarg, "text") && strcmp(optarg, "json") &&
			    strcmp(optarg, "openmetrics"))
				die(EXIT_USAGE, "--format is text, json or openmetrics, not '%s'",
				    optarg);
			op.format = optarg;
			break;
		case 'w':
			op.watch = number("--watch", optarg);
			break;
		case 'c':
			op.count = number("--count", optarg);
			break;
		case 'o':
			op.columns = optarg;
			break;
		case 'n':
			op.noheadings = true;
			break;
		case 's':
			op.state = optarg;
			break;
		case 'a':
			parse_addr(optarg, &op.addr);
			break;
		case 'N':
			netns = optarg;
			break;
		case '4':
			op.family = AF_INET;
			break;
		case '6':
			op.family = AF_INET6;
			break;
		case 'h':
			usage();
			flush_out();
			return 0;
		case 'V':
			version();
			return 0;
		case ':':
			die(EXIT_USAGE, "option '%s' needs a value (see --help)",
			    argv[optind - 1]);
		default:
			/* A bundle like -jx is still argv[last]. */
			bad_option(opts, argv, optind > last ? optind - 1 : last);
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, optind == argc ? "no command given (see --help)" :
			       "one command at a time (see --help)");
	cmd = argv[optind];
	if (!strcmp(cmd, "help")) {
		usage();
		flush_out();
		return 0;
	}
	if (strcmp(cmd, "stats") && strcmp(cmd, "flows") &&
	    strcmp(cmd, "flush") && strcmp(cmd, "monitor"))
		die(EXIT_USAGE, "unknown command '%s' (see --help)", cmd);
	if (op.count && !op.watch && strcmp(cmd, "monitor"))
		die(EXIT_USAGE, "--count needs --watch");
	if (op.watch && (!strcmp(cmd, "flush") || !strcmp(cmd, "monitor")))
		die(EXIT_USAGE, "%s cannot be watched", cmd);
	if (op.format && strcmp(cmd, "stats"))
		die(EXIT_USAGE, "--format is for stats");
	if (op.format && op.json && strcmp(op.format, "json"))
		die(EXIT_USAGE, "--json and --format %s disagree", op.format);
	if (op.format && !strcmp(op.format, "openmetrics") && op.watch)
		die(EXIT_USAGE, "openmetrics cannot be watched");
	if (op.columns) {
		enum col c[COL_COUNT];

		pick_cols(&op, flow_cols, 1, c);
	}
	if (!op.format)
		op.format = op.json ? "json" : "text";
	op.json = !strcmp(op.format, "json") || op.json;

	if (netns)
		enter_netns(netns);
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		die(EXIT_ERR, "out of memory");
	nl_open(nl);
	if (!strcmp(cmd, "stats"))
		cmd_stats(nl, &op);
	else if (!strcmp(cmd, "flows"))
		cmd_flows(nl, &op);
	else if (!strcmp(cmd, "monitor"))
		cmd_monitor(nl, &op);
	else
		cmd_flush(nl);
	mnl_socket_close(nl->sock);
	free(nl);
	flush_out();
	return 0;
}
