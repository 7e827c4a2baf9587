/* SPDX-License-Identifier: GPL-2.0 */
/* Module parameters: validated once at load, read-only afterwards. */
#ifndef _NF_FTP_EMBRYO_PARAMS_H
#define _NF_FTP_EMBRYO_PARAMS_H

extern unsigned int ftpe_max_flows;
extern unsigned int ftpe_min_port;
extern bool ftpe_loose;
extern unsigned int ftpe_expect_timeout;

#endif /* _NF_FTP_EMBRYO_PARAMS_H */
