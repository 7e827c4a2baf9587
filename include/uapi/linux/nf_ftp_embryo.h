/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The nf_ftp_embryo generic netlink family: statistics and the flow table
 * of the FTP helper, per network namespace.  Documentation/netlink.md
 * describes the messages; this header is the ABI.
 *
 * Versioning: FTPE_GENL_VERSION goes into every message's genlmsghdr.
 * Commands and attributes are only ever appended; a change a reader of
 * version N could misread gets a new version number.  Readers skip
 * attributes they do not know.  Counters are carried by name, so new
 * counters appear without a version change.
 */
#ifndef _UAPI_LINUX_NF_FTP_EMBRYO_H
#define _UAPI_LINUX_NF_FTP_EMBRYO_H

#define FTPE_GENL_NAME		"nf_ftp_embryo"
#define FTPE_GENL_VERSION	1

enum ftpe_genl_cmd {
	FTPE_CMD_UNSPEC,
	FTPE_CMD_STATS_GET,	/* do: one reply with FTPE_A_STATS */
	FTPE_CMD_FLOWS_GET,	/* dump, CAP_NET_ADMIN: FTPE_A_FLOW per row */
	FTPE_CMD_FLOWS_FLUSH,	/* do, CAP_NET_ADMIN: end every negotiation,
				 * or those an FTPE_A_FLOW filter names
				 */
	FTPE_CMD_EVENT,		/* notification on FTPE_GENL_MCGRP_EVENTS */
	__FTPE_CMD_MAX
};

#define FTPE_CMD_MAX (__FTPE_CMD_MAX - 1)

/*
 * Multicast group of flow events (FTPE_CMD_EVENT), per namespace; joining
 * it needs CAP_NET_ADMIN over the namespace, as reading the flows does.
 */
#define FTPE_GENL_MCGRP_EVENTS	"events"

/* Top-level attributes. */
enum ftpe_genl_attr {
	FTPE_A_UNSPEC,
	FTPE_A_PAD,
	FTPE_A_STATS,		/* nested: FTPE_A_STAT, repeated */
	FTPE_A_STAT,		/* nested: FTPE_STAT_A_* */
	FTPE_A_FLOW,		/* nested: FTPE_FLOW_A_* */
	FTPE_A_EVENT,		/* u8: enum ftpe_event_type (FTPE_CMD_EVENT) */
	FTPE_A_REASON,		/* u8: enum ftpe_reason (FTPE_CMD_EVENT) */
	__FTPE_A_MAX
};

#define FTPE_A_MAX (__FTPE_A_MAX - 1)

/* One counter or gauge, inside FTPE_A_STAT. */
enum ftpe_genl_stat_attr {
	FTPE_STAT_A_UNSPEC,
	FTPE_STAT_A_PAD,
	FTPE_STAT_A_NAME,	/* NUL-terminated string, as in /proc */
	FTPE_STAT_A_VALUE,	/* u64 */
	FTPE_STAT_A_GAUGE,	/* flag: a current amount, not an event count */
	__FTPE_STAT_A_MAX
};

#define FTPE_STAT_A_MAX (__FTPE_STAT_A_MAX - 1)

/* One flow-table row, inside FTPE_A_FLOW.  Ports in host byte order. */
enum ftpe_genl_flow_attr {
	FTPE_FLOW_A_UNSPEC,
	FTPE_FLOW_A_FAMILY,	/* u8: AF_INET or AF_INET6 (control conn.) */
	FTPE_FLOW_A_CLIENT,	/* binary, 4 or 16 bytes, network order */
	FTPE_FLOW_A_CLIENT_PORT, /* u16 */
	FTPE_FLOW_A_SERVER,	/* binary, 4 or 16 bytes, network order */
	FTPE_FLOW_A_SERVER_PORT, /* u16 */
	FTPE_FLOW_A_STATE,	/* u8: enum ftpe_flow_state */
	FTPE_FLOW_A_MODE,	/* u8: enum ftpe_flow_mode */
	FTPE_FLOW_A_DATA_FAMILY, /* u8: AF_INET, AF_INET6, or 0: not known yet */
	FTPE_FLOW_A_DATA_ADDR,	/* binary, 4 or 16 bytes, network order */
	FTPE_FLOW_A_DATA_PORT,	/* u16 */
	FTPE_FLOW_A_REPLY,	/* u16: last reply code, 0 if none yet */
	FTPE_FLOW_A_AGE_MS,	/* u32: since the negotiation started */
	FTPE_FLOW_A_PINHOLE,	/* u8: 1 while the expectation waits */
	/* The connection's last refusal, if any (then the row stays shown). */
	FTPE_FLOW_A_REFUSED,	/* u8: enum ftpe_reason */
	FTPE_FLOW_A_REFUSED_FAMILY, /* u8: AF_INET, AF_INET6, or 0: none read */
	FTPE_FLOW_A_REFUSED_ADDR, /* binary, 4 or 16 bytes: what was announced */
	FTPE_FLOW_A_REFUSED_PORT, /* u16: the port announced */
	FTPE_FLOW_A_REFUSED_AGE_MS, /* u32: since the refusal */
	__FTPE_FLOW_A_MAX
};

#define FTPE_FLOW_A_MAX (__FTPE_FLOW_A_MAX - 1)

enum ftpe_flow_state {
	FTPE_FLOW_IDLE,		/* never dumped */
	FTPE_FLOW_OPENING,
	FTPE_FLOW_OPENED,
	FTPE_FLOW_CMD_SENT,
	FTPE_FLOW_EXEC_STARTED,
	FTPE_FLOW_EXEC_COMP,
};

enum ftpe_flow_mode {
	FTPE_FLOW_MODE_NONE,
	FTPE_FLOW_MODE_PORT,
	FTPE_FLOW_MODE_EPRT,
	FTPE_FLOW_MODE_PASV,
	FTPE_FLOW_MODE_EPSV,
};

/*
 * What an FTPE_CMD_EVENT reports; its FTPE_A_FLOW names the control
 * connection (family, client, server and ports), the state after the event
 * where known, the mode, and the data endpoint the event is about
 * (FTPE_FLOW_A_DATA_*: the pinhole's, or for a refusal the one announced).
 */
enum ftpe_event_type {
	FTPE_EVENT_NONE,
	FTPE_EVENT_STARTED,	/* a negotiation started (PORT/EPRT/PASV/EPSV) */
	FTPE_EVENT_STATE,	/* its state changed; IDLE: ended, A_REASON why */
	FTPE_EVENT_PINHOLE_OPEN, /* the expectation was created */
	FTPE_EVENT_PINHOLE_CLOSE, /* it admits no more: A_REASON why */
	FTPE_EVENT_REFUSED,	/* a line was refused: A_REASON why */
	FTPE_EVENT_TLS,		/* TLS began or ended: A_REASON which */
};

/* Why a negotiation or pinhole ended, or why a line was refused. */
enum ftpe_reason {
	FTPE_REASON_NONE,
	/* refusals: nothing opens */
	FTPE_REASON_BOUNCE,	/* PORT/EPRT naming a host not the client */
	FTPE_REASON_THIRD_PARTY, /* 227/229 naming a host not the server */
	FTPE_REASON_LOW_PORT,	/* a data port below min_port */
	FTPE_REASON_UNSOLICITED, /* 227/229 answering no PASV/EPSV */
	/* refusals that drop the segment (the sender resends it) */
	FTPE_REASON_NAT_FAILED,	/* the endpoint could not be translated */
	FTPE_REASON_EXPECT_FAILED, /* the pinhole could not be made */
	/* ends */
	FTPE_REASON_USED,	/* the data connection came */
	FTPE_REASON_COMPLETED,	/* the transfer's final reply */
	FTPE_REASON_NEGATIVE,	/* a 4xx/5xx reply */
	FTPE_REASON_REFUSED,	/* the negotiation was refused */
	FTPE_REASON_ABOR_QUIT,	/* ABOR or QUIT */
	FTPE_REASON_CLOSED,	/* RST or FIN on the control connection */
	FTPE_REASON_DESTROYED,	/* its conntrack went away */
	FTPE_REASON_FLUSHED,	/* FTPE_CMD_FLOWS_FLUSH */
	FTPE_REASON_REPLACED,	/* a new negotiation replaced it */
	FTPE_REASON_EXPIRED,	/* expect_timeout passed unused */
	FTPE_REASON_OTHER,	/* TLS, too many commands in flight, ... */
	/* the control connection's TLS (FTPE_EVENT_TLS) */
	FTPE_REASON_ENCRYPTED,	/* a 234 to AUTH: its lines cannot be read */
	FTPE_REASON_PLAINTEXT,	/* a direction's TLS ended in lines (CCC) */
	FTPE_REASON_TLS_LOST,	/* a direction's TLS framing was lost */
	/* more reasons a negotiation cannot proceed (FTPE_EVENT_REFUSED) */
	FTPE_REASON_MALFORMED,	/* a line that does not parse */
	FTPE_REASON_TABLE_FULL,	/* max_flows reached: the connection is not read */
	FTPE_REASON_PIPELINE_OVERFLOW, /* too many commands in flight: not read */
	FTPE_REASON_NOMEM,	/* no memory: a line or the connection not read */
};

#endif /* _UAPI_LINUX_NF_FTP_EMBRYO_H */
