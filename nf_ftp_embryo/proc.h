/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/net/nf_ftp_embryo/{stats,flows}, one directory per namespace. */
#ifndef _NF_FTP_EMBRYO_PROC_H
#define _NF_FTP_EMBRYO_PROC_H

/* Every namespace's files (main.c: after what they read). */
int ftpe_proc_register(void);
void ftpe_proc_unregister(void);

#endif /* _NF_FTP_EMBRYO_PROC_H */
