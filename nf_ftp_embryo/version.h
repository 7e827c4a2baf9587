/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The release, for modinfo and the CLI alike; dkms.conf's PACKAGE_VERSION
 * must say the same (tools/cli/test.sh checks it).
 */
#ifndef _NF_FTP_EMBRYO_VERSION_H
#define _NF_FTP_EMBRYO_VERSION_H

#define FTPE_VERSION	"1.2.0"

#endif /* _NF_FTP_EMBRYO_VERSION_H */
