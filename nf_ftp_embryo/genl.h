/* SPDX-License-Identifier: GPL-2.0 */
/* The generic netlink family: include/uapi/linux/nf_ftp_embryo.h. */
#ifndef _NF_FTP_EMBRYO_GENL_H
#define _NF_FTP_EMBRYO_GENL_H

int ftpe_genl_register(void);
void ftpe_genl_unregister(void);

#endif /* _NF_FTP_EMBRYO_GENL_H */
