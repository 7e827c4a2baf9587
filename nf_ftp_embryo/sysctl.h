/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net.netfilter.nf_ftp_embryo_strict_active, one value per namespace: 0
 * (the default) opens an active-mode pinhole at the PORT/EPRT that passed
 * every check, 1 at the transfer command, as the founding design does.
 */
#ifndef _NF_FTP_EMBRYO_SYSCTL_H
#define _NF_FTP_EMBRYO_SYSCTL_H

struct net;

int ftpe_sysctl_init(struct net *net);
void ftpe_sysctl_exit(struct net *net);

#endif /* _NF_FTP_EMBRYO_SYSCTL_H */
