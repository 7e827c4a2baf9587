/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _NF_FTP_EMBRYO_HELPER_H
#define _NF_FTP_EMBRYO_HELPER_H

#include <linux/skbuff.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>

#define FTPE_HELPER_NAME	"ftp-embryo"
/* The same helper under a name tc can say (main.c). */
#define FTPE_HELPER_NAME_TC	"ftp_embryo"

int ftpe_help(struct sk_buff *skb, unsigned int protoff, struct nf_conn *ct,
	      enum ip_conntrack_info ctinfo);
void ftpe_destroy(struct nf_conn *ct);
/* A data connection matched one of our pinholes (the expect function). */
void ftpe_expect_used(struct nf_conn *ct, struct nf_conntrack_expect *exp);

#endif /* _NF_FTP_EMBRYO_HELPER_H */
