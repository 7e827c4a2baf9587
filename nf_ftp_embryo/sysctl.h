/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net.netfilter.nf_ftp_embryo_strict_active, one value per namespace: 0
 * (the default) opens an active-mode pinhole at the PORT/EPRT that passed
 * every check, 1 at the transfer command, as the founding design does.
 */
#ifndef _NF_FTP_EMBRYO_SYSCTL_H
#define _NF_FTP_EMBRYO_SYSCTL_H

/* Every namespace's copy (main.c: after the counters it points into). */
int ftpe_sysctl_register(void);
void ftpe_sysctl_unregister(void);

#endif /* _NF_FTP_EMBRYO_SYSCTL_H */
