/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The names of states, modes, reasons and events as every view shows them
 * (/proc, the log, the CLI's tables and JSON), written once (names.c),
 * indexed by the enums of include/uapi/linux/nf_ftp_embryo.h.  Plain C:
 * the module and the CLI build the same file, and tools/cli/test.sh checks
 * the CLI's JSON Schema against it.  NULL: the value has no name (none).
 */
#ifndef _NF_FTP_EMBRYO_NAMES_H
#define _NF_FTP_EMBRYO_NAMES_H

#include <linux/nf_ftp_embryo.h>

extern const char * const ftpe_state_names[FTPE_FLOW_EXEC_COMP + 1];
extern const char * const ftpe_mode_names[FTPE_FLOW_MODE_EPSV + 1];
extern const char * const ftpe_reason_names[FTPE_REASON_NOMEM + 1];
extern const char * const ftpe_event_names[FTPE_EVENT_TLS + 1];

#endif /* _NF_FTP_EMBRYO_NAMES_H */
