/* SPDX-License-Identifier: GPL-2.0 */
/* Router pairs: taking over what conntrackd copied (ha.c). */
#ifndef _NF_FTP_EMBRYO_HA_H
#define _NF_FTP_EMBRYO_HA_H

struct ftpe_flow;

/*
 * A record not yet reading its connection: take over the pinhole another
 * router left on the conntrack, if any.  Caller holds flow->lock.
 */
void ftpe_ha_adopt(struct ftpe_flow *flow);

#endif /* _NF_FTP_EMBRYO_HA_H */
