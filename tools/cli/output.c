// SPDX-License-Identifier: GPL-2.0
/*
 * ftp-embryo's output: errors, the names every view shares (names.c),
 * columns and tables through libsmartcols (sized to their content, -o,
 * --noheadings), JSON through json-c in the shapes ftp-embryo.schema.json
 * describes; nothing here escapes a string by hand.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <linux/nf_ftp_embryo.h>

#include "cli.h"
#include "names.h"

/* ---- errors ---- */

void die(int code, const char *fmt, ...)
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

void warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die(EXIT_ERR, "out of memory");
	return p;
}

/* Output that could not be written is an error, as for any tool. */
void flush_out(void)
{
	if (fflush(stdout) || ferror(stdout))
		die(EXIT_ERR, "write error: %s", strerror(errno ? errno : EIO));
}

/*
 * A failed request's errno as the one-line error the man page lists.  The
 * family vanishing between requests (rmmod during --watch) is ENOENT.
 */
void die_errno(const char *what, int err)
{
	if (err == EPERM || err == EACCES)
		die(EXIT_PERM, "permission denied: %s needs CAP_NET_ADMIN", what);
	if (err == ENOENT || err == EOPNOTSUPP)
		die(EXIT_NOMODULE, "the " MODULE_NAME " module is gone (unloaded?)");
	die(EXIT_ERR, "%s: %s", what, strerror(err));
}

/* ---- names ---- */

/* NULL: none (JSON null); a number this CLI does not know: "?". */
const char *state_name(uint8_t s)
{
	return s < ARRAY_LEN(ftpe_state_names) ? ftpe_state_names[s] : "?";
}

const char *mode_name(uint8_t m)
{
	return m < ARRAY_LEN(ftpe_mode_names) ? ftpe_mode_names[m] : "?";
}

const char *event_name(uint8_t e)
{
	return e < ARRAY_LEN(ftpe_event_names) ? ftpe_event_names[e] :
						 "unknown";
}

/* The names /proc/net/nf_ftp_embryo/flows and the kernel log use. */
const char *reason_name(uint8_t r)
{
	return r < ARRAY_LEN(ftpe_reason_names) ? ftpe_reason_names[r] :
						  "unknown";
}

const char *family_name(uint8_t family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

/* A state's number from its name, any case; -1 if none has it. */
int state_parse(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(ftpe_state_names); i++)
		if (ftpe_state_names[i] && !strcasecmp(name, ftpe_state_names[i]))
			return i;
	return -1;
}

/* "a, b or c": a table's names from @from on, for an error message. */
static const char *names_list(char *out, size_t size, const char *const *names,
			      size_t n, size_t from)
{
	size_t i, len = 0, last = n;

	while (last > from && !names[last - 1])
		last--;
	out[0] = '\0';
	for (i = from; i < last && len < size; i++) {
		if (!names[i])
			continue;
		len += snprintf(out + len, size - len, "%s%s",
				len ? (i == last - 1 ? " or " : ", ") : "",
				names[i]);
	}
	return out;
}

const char *state_list(char *out, size_t size)
{
	return names_list(out, size, ftpe_state_names,
			  ARRAY_LEN(ftpe_state_names), 0);
}

const char *event_list(char *out, size_t size)
{
	return names_list(out, size, ftpe_event_names,
			  ARRAY_LEN(ftpe_event_names), FTPE_EVENT_NONE + 1);
}

/* An event's number from its name (not "none"); -1 if none has it. */
int event_parse(const char *name)
{
	size_t i;

	for (i = FTPE_EVENT_NONE + 1; i < ARRAY_LEN(ftpe_event_names); i++)
		if (ftpe_event_names[i] && !strcasecmp(name, ftpe_event_names[i]))
			return i;
	return -1;
}

/* The address alone; NULL when none is known. */
const char *addr_str(char *out, size_t size, const struct endpoint *ep)
{
	if (ep->family != AF_INET && ep->family != AF_INET6)
		return NULL;
	return inet_ntop(ep->family, ep->addr, out, size);
}

/* "addr:port" with brackets for IPv6, "-:port", or "-" for nothing. */
const char *ep_str(char *out, size_t size, const struct endpoint *ep)
{
	char a[INET6_ADDRSTRLEN];

	if (!addr_str(a, sizeof(a), ep))
		snprintf(out, size, ep->port ? "-:%u" : "-", ep->port);
	else
		snprintf(out, size, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
			 a, ep->port);
	return out;
}

/* Now, RFC 3339 in UTC with milliseconds. */
const char *stamp(char *out, size_t size)
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

/* ---- filters ---- */

static bool ep_is(const struct endpoint *ep, const struct endpoint *want)
{
	return ep->family == want->family &&
	       !memcmp(ep->addr, want->addr, want->family == AF_INET6 ? 16 : 4);
}

bool flow_wanted(const struct flow *f, const struct opts *op)
{
	if (op->family && f->family != op->family)
		return false;
	if (op->state >= 0 && (!f->has_state || f->state != op->state))
		return false;
	if (op->src.family && !ep_is(&f->client, &op->src))
		return false;
	if (op->dst.family && !ep_is(&f->server, &op->dst))
		return false;
	if (op->addr.family && !ep_is(&f->client, &op->addr) &&
	    !ep_is(&f->server, &op->addr) && !ep_is(&f->data, &op->addr) &&
	    !ep_is(&f->announced, &op->addr))
		return false;
	if (op->events && !(op->events & (1u << f->event)))
		return false;
	return true;
}

/* ---- columns ---- */

const struct col_def cols[COL_COUNT] = {
	[COL_AF] = { "AF", 4, 0, "address family of the control connection",
		     { "family" } },
	[COL_CLIENT] = { "CLIENT", 0.2, 0, "client address:port",
			 { "client_address", "client_port" } },
	[COL_SERVER] = { "SERVER", 0.2, 0, "server address:port",
			 { "server_address", "server_port" } },
	[COL_STATE] = { "STATE", 0.1, 0, "negotiation state", { "state" } },
	[COL_MODE] = { "MODE", 4, 0, "negotiating command", { "mode" } },
	[COL_DATA] = { "DATA", 0.2, 0, "negotiated data address:port",
		       { "data_address", "data_port" } },
	[COL_REPLY] = { "REPLY", 5, SCOLS_FL_RIGHT, "last reply code",
			{ "reply" } },
	[COL_AGE] = { "AGE_MS", 6, SCOLS_FL_RIGHT, "age of the negotiation",
		      { "age_ms" } },
	[COL_PINHOLE] = { "PINHOLE", 4, 0, "open: the expectation waits",
			  { "pinhole" } },
	[COL_REFUSED] = { "REFUSED", 0.1, 0, "last refusal's reason",
			  { "refused", "refused_age_ms" } },
	[COL_ANNOUNCED] = { "ANNOUNCED", 0.2, 0, "endpoint the refused line named",
			    { "refused_address", "refused_port" } },
	[COL_EVENT] = { "EVENT", 0.1, 0, "event", { "event" } },
	[COL_REASON] = { "REASON", 0.1, 0, "why", { "reason" } },
	[COL_TIME] = { "TIME", 0.2, 0, "when (UTC)", { "time" } },
};

/* The command's columns: -o's, its defaults, or both for -o +COL. */
size_t cols_for(const struct opts *op, const struct cmd *c, enum col *out)
{
	size_t n = 0, i, j;

	if (!op->cols_given || op->cols_plus) {
		memcpy(out, c->cols, c->ncols * sizeof(*out));
		n = c->ncols;
	}
	for (i = 0; op->cols_given && i < op->ncols; i++) {
		for (j = 0; j < n && out[j] != op->cols[i]; j++)
			;
		if (j == n)
			out[n++] = op->cols[i];
	}
	return n;
}

struct libscols_table *table_new(const struct opts *op, const enum col *c,
				 size_t n)
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

void table_row(struct libscols_table *tb, const enum col *c, size_t n,
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

void table_print(struct libscols_table *tb)
{
	scols_print_table(tb);
	scols_unref_table(tb);
	flush_out();
}

/* ---- JSON ---- */

json_object *json_top(const char *key, json_object *val)
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

/* One JSON document, on one line unless --pretty; the object freed. */
void json_print(json_object *o, const struct opts *op)
{
	int flags = op->pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
				 JSON_C_TO_STRING_PLAIN;

	puts(json_object_to_json_string_ext(o, flags));
	json_object_put(o);
	flush_out();
}

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
	json_ep(o, "data", &f->data, true);
}

/*
 * -o without "+": only the members of the columns named (as lsblk -J -o),
 * in their order, after @keep (the document's header members).
 */
static json_object *json_only(json_object *all, const struct opts *op,
			      const char *const *keep)
{
	json_object *o, *v;
	const char *k;
	size_t i, j;

	if (!op->cols_given || op->cols_plus)
		return all;
	o = json_object_new_object();
	for (; *keep; keep++)
		if (json_object_object_get_ex(all, *keep, &v))
			json_object_object_add(o, *keep, json_object_get(v));
	for (i = 0; i < op->ncols; i++)
		for (j = 0; j < ARRAY_LEN(cols[0].json); j++) {
			k = cols[op->cols[i]].json[j];
			if (k && !json_object_object_get_ex(o, k, NULL) &&
			    json_object_object_get_ex(all, k, &v))
				json_object_object_add(o, k, json_object_get(v));
		}
	json_object_put(all);
	return o;
}

json_object *json_flow(const struct flow *f, const struct opts *op)
{
	static const char *const keep[] = { NULL };
	json_object *o = json_object_new_object();

	json_conn(o, f);
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
	return json_only(o, op, keep);
}

json_object *json_event(const struct flow *f, const struct opts *op)
{
	static const char *const keep[] = { "version", "time", NULL };
	json_object *o = json_top(NULL, NULL);

	json_object_object_add(o, "event",
			       json_object_new_string(event_name(f->event)));
	json_object_object_add(o, "reason",
			       json_str_or_null(reason_name(f->reason)));
	json_conn(o, f);
	return json_only(o, op, keep);
}
