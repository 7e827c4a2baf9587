/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/net/nf_ftp_embryo/{stats,flows}, one directory per namespace. */
#ifndef _NF_FTP_EMBRYO_PROC_H
#define _NF_FTP_EMBRYO_PROC_H

struct net;

int ftpe_proc_init(struct net *net);
void ftpe_proc_exit(struct net *net);

#endif /* _NF_FTP_EMBRYO_PROC_H */
