// SPDX-License-Identifier: GPL-2.0
/* The names every view shows (names.h). */
#include "names.h"

const char * const ftpe_state_names[FTPE_FLOW_EXEC_COMP + 1] = {
	[FTPE_FLOW_IDLE] = "IDLE",
	[FTPE_FLOW_OPENING] = "OPENING",
	[FTPE_FLOW_OPENED] = "OPENED",
	[FTPE_FLOW_CMD_SENT] = "CMD_SENT",
	[FTPE_FLOW_EXEC_STARTED] = "EXEC_STARTED",
	[FTPE_FLOW_EXEC_COMP] = "EXEC_COMP",
};

const char * const ftpe_mode_names[FTPE_FLOW_MODE_EPSV + 1] = {
	[FTPE_FLOW_MODE_PORT] = "PORT",
	[FTPE_FLOW_MODE_EPRT] = "EPRT",
	[FTPE_FLOW_MODE_PASV] = "PASV",
	[FTPE_FLOW_MODE_EPSV] = "EPSV",
};

const char * const ftpe_reason_names[FTPE_REASON_NOMEM + 1] = {
	[FTPE_REASON_BOUNCE] = "bounce",
	[FTPE_REASON_THIRD_PARTY] = "third_party",
	[FTPE_REASON_LOW_PORT] = "low_port",
	[FTPE_REASON_UNSOLICITED] = "unsolicited",
	[FTPE_REASON_NAT_FAILED] = "nat_failed",
	[FTPE_REASON_EXPECT_FAILED] = "expect_failed",
	[FTPE_REASON_USED] = "used",
	[FTPE_REASON_COMPLETED] = "completed",
	[FTPE_REASON_NEGATIVE] = "negative_reply",
	[FTPE_REASON_REFUSED] = "refused",
	[FTPE_REASON_ABOR_QUIT] = "abor_quit",
	[FTPE_REASON_CLOSED] = "rst_fin",
	[FTPE_REASON_DESTROYED] = "conntrack_destroy",
	[FTPE_REASON_FLUSHED] = "flush",
	[FTPE_REASON_REPLACED] = "replaced",
	[FTPE_REASON_EXPIRED] = "expired",
	[FTPE_REASON_OTHER] = "other",
	[FTPE_REASON_ENCRYPTED] = "encrypted",
	[FTPE_REASON_PLAINTEXT] = "plaintext",
	[FTPE_REASON_TLS_LOST] = "tls_lost",
	[FTPE_REASON_MALFORMED] = "malformed",
	[FTPE_REASON_TABLE_FULL] = "table_full",
	[FTPE_REASON_PIPELINE_OVERFLOW] = "pipeline_overflow",
	[FTPE_REASON_NOMEM] = "nomem",
};

const char * const ftpe_event_names[FTPE_EVENT_TLS + 1] = {
	[FTPE_EVENT_NONE] = "none",
	[FTPE_EVENT_STARTED] = "started",
	[FTPE_EVENT_STATE] = "state",
	[FTPE_EVENT_PINHOLE_OPEN] = "pinhole_open",
	[FTPE_EVENT_PINHOLE_CLOSE] = "pinhole_close",
	[FTPE_EVENT_REFUSED] = "refused",
	[FTPE_EVENT_TLS] = "tls",
};
