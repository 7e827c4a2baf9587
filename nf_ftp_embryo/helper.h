/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _NF_FTP_EMBRYO_HELPER_H
#define _NF_FTP_EMBRYO_HELPER_H

#include <linux/skbuff.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "counters.h"

#define FTPE_HELPER_NAME	"ftp-embryo"
/* The same helper under a name tc can say (main.c). */
#define FTPE_HELPER_NAME_TC	"ftp_embryo"

int ftpe_help(struct sk_buff *skb, unsigned int protoff, struct nf_conn *ct,
	      enum ip_conntrack_info ctinfo);
void ftpe_destroy(struct nf_conn *ct);

struct ftpe_flow;
/*
 * A record is torn down (ftpe_flowtab_register()): its pinhole closes and
 * its end is reported.
 */
void ftpe_teardown(struct ftpe_flow *flow, enum ftpe_stat why);

#endif /* _NF_FTP_EMBRYO_HELPER_H */
