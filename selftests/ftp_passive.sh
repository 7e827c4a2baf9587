#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug 6.12 7.2
# Passive FTP through a DROP-by-default router: the helper must open the data
# connection's pinhole for the transfer and close it right after.
# Usage (in the guest, as root): ftp_passive.sh MODULE.ko   ("-" loads nothing,
# e.g. with HELPER=ftp to check the harness against the kernel's own helper)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

topo_setup "${1:?usage: $0 MODULE.ko}"
echo "# helper $HELPER on $(uname -r)"

tap "ipv4 EPSV download" download 4
tap "ipv4 EPSV pinhole closed" closed_after_transfer
tap "ipv4 PASV download" download 4 --disable-epsv
tap "ipv4 PASV pinhole closed" closed_after_transfer
# IPv6 is EPSV only: PASV's 227 reply can only carry an IPv4 address
# (RFC 2428), so there is no IPv6 PASV case to test.
tap "ipv6 EPSV download" download 6
tap "ipv6 EPSV pinhole closed" closed_after_transfer

ct_rules -D
tap "ipv4 EPSV blocked without helper" blocked_without_helper 4
tap "ipv6 EPSV blocked without helper" blocked_without_helper 6

((failed == 0))
