// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo's netlink: the family looked up through nlctrl, one request
 * at a time, and every attribute checked against a policy table into a
 * tb[] before it is read (libmnl's examples' pattern).  An attribute this
 * reader does not know, or one of the wrong size, is skipped: the uapi
 * header promises only additions.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/nf_ftp_embryo.h>

#include "cli.h"

/* A dump restarted by a table resize is retried this often. */
#define DUMP_TRIES	5

/* ---- attribute policies ---- */

/* MNL_TYPE_UNSPEC: not read; MNL_TYPE_BINARY here: an address, 4 or 16. */
static const enum mnl_attr_data_type top_policy[FTPE_A_MAX + 1] = {
	[FTPE_A_STATS] = MNL_TYPE_NESTED,
	[FTPE_A_STAT] = MNL_TYPE_NESTED,
	[FTPE_A_FLOW] = MNL_TYPE_NESTED,
	[FTPE_A_EVENT] = MNL_TYPE_U8,
	[FTPE_A_REASON] = MNL_TYPE_U8,
};

static const enum mnl_attr_data_type stat_policy[FTPE_STAT_A_MAX + 1] = {
	[FTPE_STAT_A_NAME] = MNL_TYPE_NUL_STRING,
	[FTPE_STAT_A_VALUE] = MNL_TYPE_U64,
	[FTPE_STAT_A_GAUGE] = MNL_TYPE_FLAG,
};

static const enum mnl_attr_data_type flow_policy[FTPE_FLOW_A_MAX + 1] = {
	[FTPE_FLOW_A_FAMILY] = MNL_TYPE_U8,
	[FTPE_FLOW_A_CLIENT] = MNL_TYPE_BINARY,
	[FTPE_FLOW_A_CLIENT_PORT] = MNL_TYPE_U16,
	[FTPE_FLOW_A_SERVER] = MNL_TYPE_BINARY,
	[FTPE_FLOW_A_SERVER_PORT] = MNL_TYPE_U16,
	[FTPE_FLOW_A_STATE] = MNL_TYPE_U8,
	[FTPE_FLOW_A_MODE] = MNL_TYPE_U8,
	[FTPE_FLOW_A_DATA_FAMILY] = MNL_TYPE_U8,
	[FTPE_FLOW_A_DATA_ADDR] = MNL_TYPE_BINARY,
	[FTPE_FLOW_A_DATA_PORT] = MNL_TYPE_U16,
	[FTPE_FLOW_A_REPLY] = MNL_TYPE_U16,
	[FTPE_FLOW_A_AGE_MS] = MNL_TYPE_U32,
	[FTPE_FLOW_A_PINHOLE] = MNL_TYPE_U8,
	[FTPE_FLOW_A_REFUSED] = MNL_TYPE_U8,
	[FTPE_FLOW_A_REFUSED_FAMILY] = MNL_TYPE_U8,
	[FTPE_FLOW_A_REFUSED_ADDR] = MNL_TYPE_BINARY,
	[FTPE_FLOW_A_REFUSED_PORT] = MNL_TYPE_U16,
	[FTPE_FLOW_A_REFUSED_AGE_MS] = MNL_TYPE_U32,
};

struct tb {
	const enum mnl_attr_data_type *policy;
	unsigned int max;
	const struct nlattr **tb;
};

static int tb_attr(const struct nlattr *a, void *data)
{
	const struct tb *t = data;
	unsigned int type = mnl_attr_get_type(a);
	enum mnl_attr_data_type want;
	size_t len;

	if (mnl_attr_type_valid(a, t->max) < 0)
		return MNL_CB_OK;	/* newer than this reader: skip */
	want = t->policy[type];
	if (want == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (want == MNL_TYPE_BINARY) {
		len = mnl_attr_get_payload_len(a);
		if (len != 4 && len != 16)
			return MNL_CB_OK;
	} else if (mnl_attr_validate(a, want) < 0) {
		return MNL_CB_OK;
	}
	t->tb[type] = a;
	return MNL_CB_OK;
}

static void parse_nested(const struct nlattr *nest,
			 const enum mnl_attr_data_type *policy,
			 unsigned int max, const struct nlattr **tb)
{
	struct tb t = { policy, max, tb };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_parse_nested(nest, tb_attr, &t);
}

static void parse_top(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	struct tb t = { top_policy, FTPE_A_MAX, tb };

	memset(tb, 0, (FTPE_A_MAX + 1) * sizeof(*tb));
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), tb_attr, &t);
}

/* ---- requests ---- */

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags,
			       uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : FTPE_GENL_VERSION;
	return nlh;
}

static void nl_send(struct nl *nl, const struct nlmsghdr *nlh)
{
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

/* ---- the family ---- */

static int mcast_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type == CTRL_ATTR_MCAST_GRP_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		tb[type] = a;
	else if (type == CTRL_ATTR_MCAST_GRP_ID &&
		 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int family_attr(const struct nlattr *a, void *data)
{
	struct nl *nl = data;
	const struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1];
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
		mnl_attr_for_each_nested(g, a) {
			memset(tb, 0, sizeof(tb));
			mnl_attr_parse_nested(g, mcast_attr, tb);
			if (tb[CTRL_ATTR_MCAST_GRP_NAME] && tb[CTRL_ATTR_MCAST_GRP_ID] &&
			    !strcmp(mnl_attr_get_str(tb[CTRL_ATTR_MCAST_GRP_NAME]),
				    FTPE_GENL_MCGRP_EVENTS))
				nl->events_group =
					mnl_attr_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
		}
		break;
	}
	return MNL_CB_OK;
}

/* One family of nlctrl's dump: ours is read, the others are passed over. */
static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) != CTRL_ATTR_FAMILY_NAME ||
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
			continue;
		if (!strcmp(mnl_attr_get_str(a), FTPE_GENL_NAME))
			mnl_attr_parse(nlh, sizeof(struct genlmsghdr),
				       family_attr, data);
		break;
	}
	return MNL_CB_OK;
}

/* -n NAME: the namespace ip netns add NAME made, as ip -n does. */
void enter_netns(const char *name)
{
	char path[4096];
	int fd, n;

	if (strchr(name, '/'))
		n = snprintf(path, sizeof(path), "%s", name);
	else
		n = snprintf(path, sizeof(path), "/run/netns/%s", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		die(EXIT_ERR, "network namespace name too long");
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

static bool same_ns(const struct stat *a, const char *path)
{
	struct stat b;

	return stat(path, &b) == 0 && a->st_dev == b.st_dev &&
	       a->st_ino == b.st_ino;
}

/*
 * The netns label of -F prometheus and openmetrics: a name where the
 * namespace has one, so that a series outlives a reboot.  -n NAME is
 * NAME as given, entered or not, so that a failure is labelled with the
 * namespace asked for.  Otherwise, the namespace (-n PATH's, or this
 * process's) is looked for in /run/netns as ip netns identify does, the
 * first name in byte order if several; then PID 1's is "init" (seeing it
 * takes root, as the timer's service has); else the inode number, as
 * readlink /proc/self/ns/net shows it, not stable across boots.
 */
const char *netns_label(const char *asked)
{
	static char label[NAME_MAX + 1];
	const char *path = asked ? asked : "/proc/self/ns/net";
	struct dirent *de;
	struct stat ns;
	char at[4096];
	DIR *d;

	if (label[0])
		return label;
	if (asked && !strchr(asked, '/'))
		return asked;
	if (stat(path, &ns) < 0)
		return asked ? asked : "unknown";
	d = opendir("/run/netns");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (label[0] && strcmp(de->d_name, label) >= 0)
			continue;
		snprintf(at, sizeof(at), "/run/netns/%s", de->d_name);
		if (same_ns(&ns, at))
			snprintf(label, sizeof(label), "%s", de->d_name);
	}
	if (d)
		closedir(d);
	if (!label[0] && same_ns(&ns, "/proc/1/ns/net"))
		snprintf(label, sizeof(label), "init");
	if (!label[0])
		snprintf(label, sizeof(label), "%llu",
			 (unsigned long long)ns.st_ino);
	return label;
}

void nl_open(struct nl *nl)
{
	struct nlmsghdr *nlh;

	nl->sock = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sock)
		die(EXIT_ERR, "cannot open a generic netlink socket: %s",
		    strerror(errno));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		die(EXIT_ERR, "netlink bind: %s", strerror(errno));
	nl->portid = mnl_socket_get_portid(nl->sock);

	/*
	 * Every family, not ours by name: asked for a name it does not know,
	 * nlctrl has modprobe load the module of the family's alias, and a
	 * run of this tool must never load the module.
	 */
	nlh = nl_msg(nl, GENL_ID_CTRL, NLM_F_DUMP, CTRL_CMD_GETFAMILY);
	nl_send(nl, nlh);
	if (nl_recv(nl, family_cb, nl) < 0)
		die(EXIT_ERR, "looking up family %s: %s", FTPE_GENL_NAME,
		    strerror(errno));
	if (!nl->family)
		die(EXIT_NOMODULE, "the " MODULE_NAME " module is not loaded" MODPROBE_HINT);
	if (nl->version < FTPE_GENL_VERSION)
		die(EXIT_ERR, "the module speaks netlink version %u, this tool needs %u",
		    nl->version, FTPE_GENL_VERSION);
}

void nl_close(struct nl *nl)
{
	mnl_socket_close(nl->sock);
}

/* ---- stats ---- */

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[FTPE_A_MAX + 1], *st_tb[FTPE_STAT_A_MAX + 1];
	struct stats *st = data;
	struct nlattr *a;

	parse_top(nlh, tb);
	if (!tb[FTPE_A_STATS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(a, tb[FTPE_A_STATS]) {
		struct stat_val v = { 0 };

		if (mnl_attr_get_type(a) != FTPE_A_STAT ||
		    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
			continue;
		parse_nested(a, stat_policy, FTPE_STAT_A_MAX, st_tb);
		if (!st_tb[FTPE_STAT_A_NAME] || !st_tb[FTPE_STAT_A_VALUE])
			continue;
		v.name = strdup(mnl_attr_get_str(st_tb[FTPE_STAT_A_NAME]));
		if (!v.name)
			die(EXIT_ERR, "out of memory");
		v.value = mnl_attr_get_u64(st_tb[FTPE_STAT_A_VALUE]);
		v.gauge = st_tb[FTPE_STAT_A_GAUGE];
		if (st->n == st->cap) {
			st->cap = st->cap ? 2 * st->cap : 64;
			st->v = xrealloc(st->v, st->cap * sizeof(*st->v));
		}
		st->v[st->n++] = v;
	}
	return MNL_CB_OK;
}

void stats_free(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->v[i].name);
	free(st->v);
	memset(st, 0, sizeof(*st));
}

void stats_get(struct nl *nl, struct stats *st)
{
	nl_send(nl, nl_msg(nl, nl->family, NLM_F_ACK, FTPE_CMD_STATS_GET));
	if (nl_recv(nl, stats_cb, st) < 0)
		die_errno("stats", errno);
	if (!st->n)
		die(EXIT_ERR, "the module sent no statistics");
}

/* ---- flows and events ---- */

static void get_ep(const struct nlattr *const *tb, int addr, int port,
		   struct endpoint *ep)
{
	if (tb[addr])
		memcpy(ep->addr, mnl_attr_get_payload(tb[addr]),
		       mnl_attr_get_payload_len(tb[addr]));
	if (tb[port])
		ep->port = mnl_attr_get_u16(tb[port]);
}

static uint8_t get_u8(const struct nlattr *const *tb, int type)
{
	return tb[type] ? mnl_attr_get_u8(tb[type]) : 0;
}

/* An FTPE_A_FLOW nest into @f. */
static void parse_flow(const struct nlattr *nest, struct flow *f)
{
	const struct nlattr *tb[FTPE_FLOW_A_MAX + 1];

	parse_nested(nest, flow_policy, FTPE_FLOW_A_MAX, tb);
	f->family = get_u8(tb, FTPE_FLOW_A_FAMILY);
	f->client.family = f->server.family = f->family;
	get_ep(tb, FTPE_FLOW_A_CLIENT, FTPE_FLOW_A_CLIENT_PORT, &f->client);
	get_ep(tb, FTPE_FLOW_A_SERVER, FTPE_FLOW_A_SERVER_PORT, &f->server);
	f->has_state = tb[FTPE_FLOW_A_STATE];
	f->state = get_u8(tb, FTPE_FLOW_A_STATE);
	f->mode = get_u8(tb, FTPE_FLOW_A_MODE);
	f->data.family = get_u8(tb, FTPE_FLOW_A_DATA_FAMILY);
	get_ep(tb, FTPE_FLOW_A_DATA_ADDR, FTPE_FLOW_A_DATA_PORT, &f->data);
	f->has_reply = tb[FTPE_FLOW_A_REPLY];
	if (f->has_reply)
		f->reply = mnl_attr_get_u16(tb[FTPE_FLOW_A_REPLY]);
	f->has_age = tb[FTPE_FLOW_A_AGE_MS];
	if (f->has_age)
		f->age_ms = mnl_attr_get_u32(tb[FTPE_FLOW_A_AGE_MS]);
	f->pinhole = get_u8(tb, FTPE_FLOW_A_PINHOLE);
	f->refused = get_u8(tb, FTPE_FLOW_A_REFUSED);
	f->announced.family = get_u8(tb, FTPE_FLOW_A_REFUSED_FAMILY);
	get_ep(tb, FTPE_FLOW_A_REFUSED_ADDR, FTPE_FLOW_A_REFUSED_PORT,
	       &f->announced);
	if (tb[FTPE_FLOW_A_REFUSED_AGE_MS])
		f->refused_age_ms = mnl_attr_get_u32(tb[FTPE_FLOW_A_REFUSED_AGE_MS]);
}

static int flows_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[FTPE_A_MAX + 1];
	struct flows *fl = data;
	struct flow f = { 0 };

	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		fl->intr = true;
	parse_top(nlh, tb);
	if (!tb[FTPE_A_FLOW])
		return MNL_CB_OK;
	parse_flow(tb[FTPE_A_FLOW], &f);
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? 2 * fl->cap : 256;
		fl->f = xrealloc(fl->f, fl->cap * sizeof(*fl->f));
	}
	fl->f[fl->n++] = f;
	return MNL_CB_OK;
}

void flows_dump(struct nl *nl, struct flows *fl)
{
	int tries;

	for (tries = 0; tries < DUMP_TRIES; tries++) {
		fl->n = 0;
		fl->intr = false;
		nl_send(nl, nl_msg(nl, nl->family, NLM_F_DUMP, FTPE_CMD_FLOWS_GET));
		if (nl_recv(nl, flows_cb, fl) < 0)
			die_errno("flows", errno);
		if (!fl->intr)
			return;
	}
	die(EXIT_ERR, "the flow table kept changing size: no consistent dump in %d tries",
	    DUMP_TRIES);
}

static void put_addr(struct nlmsghdr *nlh, int type, const struct endpoint *ep)
{
	if (ep->family)
		mnl_attr_put(nlh, type, ep->family == AF_INET6 ? 16 : 4, ep->addr);
}

/*
 * FTPE_CMD_FLOWS_FLUSH; with @filter, an FTPE_A_FLOW nest naming what
 * must match (family, client, server, state).  A module that cannot
 * filter refuses the attribute (strict validation, EINVAL): it never
 * takes a filtered request for a flush of everything.
 */
void flows_flush(struct nl *nl, const struct opts *filter)
{
	struct nlmsghdr *nlh = nl_msg(nl, nl->family, NLM_F_ACK,
				      FTPE_CMD_FLOWS_FLUSH);
	struct nlattr *nest;

	if (filter) {
		nest = mnl_attr_nest_start(nlh, FTPE_A_FLOW);
		if (filter->family)
			mnl_attr_put_u8(nlh, FTPE_FLOW_A_FAMILY, filter->family);
		put_addr(nlh, FTPE_FLOW_A_CLIENT, &filter->src);
		put_addr(nlh, FTPE_FLOW_A_SERVER, &filter->dst);
		if (filter->state >= 0)
			mnl_attr_put_u8(nlh, FTPE_FLOW_A_STATE, filter->state);
		mnl_attr_nest_end(nlh, nest);
	}
	nl_send(nl, nlh);
	if (nl_recv(nl, NULL, NULL) == 0)
		return;
	if (filter && errno == EINVAL)
		die(EXIT_ERR, "the loaded module cannot delete by filter, only flush all "
		    "(its FTPE_CMD_FLOWS_FLUSH takes no FTPE_A_FLOW)");
	die_errno(filter ? "delete" : "flush", errno);
}

/* Flow events, and nlctrl's notice that the family went away. */
void nl_subscribe(struct nl *nl)
{
	unsigned int ctrl = GENL_ID_CTRL;	/* nlctrl's "notify" group */

	if (!nl->events_group)
		die(EXIT_ERR, "the loaded module sends no events (too old?)");
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP,
				  &nl->events_group, sizeof(nl->events_group)) < 0)
		die_errno("monitor", errno);
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &ctrl,
				  sizeof(ctrl)) < 0)
		die(EXIT_ERR, "netlink: %s", strerror(errno));
}

static int ctrl_attr(const struct nlattr *a, void *data)
{
	bool *ours = data;

	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_NAME &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
	    !strcmp(mnl_attr_get_str(a), FTPE_GENL_NAME))
		*ours = true;
	return MNL_CB_OK;
}

/*
 * One multicast message: 1 and @f filled for a flow event, -1 when it
 * says the family was unregistered, 0 for anything else.
 */
int nl_event(struct nl *nl, const struct nlmsghdr *nlh, struct flow *f)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FTPE_A_MAX + 1];
	bool ours = false;

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		if (g->cmd == CTRL_CMD_DELFAMILY)
			mnl_attr_parse(nlh, sizeof(*g), ctrl_attr, &ours);
		return ours ? -1 : 0;
	}
	if (nlh->nlmsg_type != nl->family || g->cmd != FTPE_CMD_EVENT)
		return 0;
	parse_top(nlh, tb);
	memset(f, 0, sizeof(*f));
	if (tb[FTPE_A_FLOW])
		parse_flow(tb[FTPE_A_FLOW], f);
	f->event = get_u8(tb, FTPE_A_EVENT);
	f->reason = get_u8(tb, FTPE_A_REASON);
	return 1;
}
