/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ftp-embryo: statistics, flow table and events of the nf_ftp_embryo FTP
 * conntrack helper, over its generic netlink family (include/uapi/linux/
 * nf_ftp_embryo.h, described in Documentation/netlink/specs/
 * nf_ftp_embryo.yaml).  Every answer is about one network namespace: the
 * caller's, or the one -n names.  See ftp-embryo(8).
 *
 * The files, on conntrack-tools' pattern:
 *   main.c     main(): the options checked, the command run
 *   commands.c the command table, --help and --version
 *   options.c  the command line into struct opts, checked before any I/O
 *   nl.c       the netlink socket, requests, attributes read into tb[]
 *   output.c   names, columns, tables (libsmartcols) and JSON (json-c)
 *   stats.c, flows.c, monitor.c   one file per command (flows.c: flows,
 *              flush and delete)
 */
#ifndef FTP_EMBRYO_CLI_H
#define FTP_EMBRYO_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <libsmartcols/libsmartcols.h>

/* The version of the JSON shapes (the schema's "version", a minimum). */
#define JSON_VERSION	3

/* Exit codes, documented in ftp-embryo(8). */
enum { EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOMODULE = 3, EXIT_PERM = 4 };

#define MODULE_NAME	"nf_ftp_embryo"
#define MODPROBE_HINT	" (modprobe " MODULE_NAME ", or see the admin guide)"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

extern const char *prog;

/* ---- what netlink brings ---- */

struct nlmsghdr;

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

/* ---- what the command line asked for ---- */

enum col {
	COL_AF, COL_CLIENT, COL_SERVER, COL_STATE, COL_MODE, COL_DATA,
	COL_REPLY, COL_AGE, COL_PINHOLE, COL_REFUSED, COL_ANNOUNCED,
	COL_EVENT, COL_REASON, COL_TIME, COL_COUNT
};

/* Options, as bits: which a command takes (struct cmd) and which were given. */
enum {
	O_JSON = 1 << 0,	/* -j, -J, -p */
	O_FORMAT = 1 << 1,
	O_WATCH = 1 << 2,
	O_COUNT = 1 << 3,
	O_OUTPUT = 1 << 4,
	O_NOHEADINGS = 1 << 5,
	O_FAMILY = 1 << 6,	/* -4, -6 */
	O_STATE = 1 << 7,
	O_SRC = 1 << 8,
	O_DST = 1 << 9,
	O_ADDR = 1 << 10,
	O_EVENT = 1 << 11,
};

struct opts {
	unsigned int given;	/* O_* */
	bool json, pretty, noheadings;
	const char *format;	/* stats: text, json, openmetrics, prometheus */
	const char *netns;	/* -n */
	int family;		/* -4/-6: AF_INET, AF_INET6, 0 */
	int state;		/* --state: enum ftpe_flow_state, or -1 */
	struct endpoint src, dst, addr;	/* -s, -d, -a: family 0 for none */
	unsigned int events;	/* -e: bit per enum ftpe_event_type; 0: all */
	unsigned int watch, count;
	/* -o: the columns; plus: "+COL" added them to the defaults */
	enum col cols[COL_COUNT];
	size_t ncols;
	bool cols_given, cols_plus;
};

struct cmd {
	const char *name;
	void (*run)(struct nl *nl, const struct opts *op);
	unsigned int takes;	/* O_* this command accepts */
	const enum col *cols;	/* its default columns, if it has a table */
	size_t ncols;
};

/* commands.c */
const struct cmd *cmd_find(const char *name);
void usage(void);
void version(void);

/* options.c */
const struct cmd *parse_options(int argc, char **argv, struct opts *op);

/* output.c: errors and output */
void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) warn(const char *fmt, ...);
void __attribute__((noreturn)) die_errno(const char *what, int err);
void *xrealloc(void *p, size_t n);
void flush_out(void);

/* output.c: names (nf_ftp_embryo/names.c), addresses */
const char *state_name(uint8_t s);
const char *mode_name(uint8_t m);
const char *event_name(uint8_t e);
const char *reason_name(uint8_t r);
const char *family_name(uint8_t family);
int state_parse(const char *name);
int event_parse(const char *name);
const char *state_list(char *out, size_t size);
const char *event_list(char *out, size_t size);
const char *addr_str(char *out, size_t size, const struct endpoint *ep);
const char *ep_str(char *out, size_t size, const struct endpoint *ep);
const char *stamp(char *out, size_t size);

/* output.c: columns, tables and JSON */
extern const struct col_def {
	const char *name;
	double width;		/* libsmartcols: a fraction of the terminal */
	int flags;
	const char *help;
	const char *json[2];	/* the JSON members the column stands for */
} cols[COL_COUNT];
size_t cols_for(const struct opts *op, const struct cmd *c, enum col *out);
struct libscols_table *table_new(const struct opts *op, const enum col *c,
				 size_t n);
void table_row(struct libscols_table *tb, const enum col *c, size_t n,
	       const struct flow *f, const char *when);
void table_print(struct libscols_table *tb);
json_object *json_top(const char *key, json_object *val);
void json_print(json_object *o, const struct opts *op);
json_object *json_flow(const struct flow *f, const struct opts *op);
json_object *json_event(const struct flow *f, const struct opts *op);
bool flow_wanted(const struct flow *f, const struct opts *op);
void stats_print(const struct stats *st, const struct opts *op);
void metrics_down(const struct opts *op);
const char *stat_help(const char *name);
void rates_print(const struct stats *old, const struct stats *now,
		 unsigned int secs, const struct opts *op);
void flows_print(const struct flows *fl, const struct opts *op,
		 const enum col *c, size_t n);
bool event_show(const struct flow *f, const struct opts *op,
		const enum col *c, size_t n, bool headings);

/* nl.c */
void enter_netns(const char *name);
const char *netns_label(const char *asked);
void nl_open(struct nl *nl);
void nl_close(struct nl *nl);
void stats_get(struct nl *nl, struct stats *st);
void stats_free(struct stats *st);
void flows_dump(struct nl *nl, struct flows *fl);
void flows_flush(struct nl *nl, const struct opts *filter);
void nl_subscribe(struct nl *nl);
int nl_event(struct nl *nl, const struct nlmsghdr *nlh, struct flow *f);

/* the commands: stats.c, flows.c, monitor.c */
void cmd_stats(struct nl *nl, const struct opts *op);
void cmd_flows(struct nl *nl, const struct opts *op);
void cmd_flush(struct nl *nl, const struct opts *op);
void cmd_delete(struct nl *nl, const struct opts *op);
void cmd_monitor(struct nl *nl, const struct opts *op);

#endif /* FTP_EMBRYO_CLI_H */
