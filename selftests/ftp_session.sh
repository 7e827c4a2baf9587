#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# One control connection, many data connections (ftp_session.py): every
# transfer opens exactly one pinhole and none is left between transfers; a
# 550 to the transfer command and a QUIT in mid-negotiation close the pinhole
# at once, not at the expectation timeout.
# Usage (in the guest, as root): ftp_session.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

session() {
	in_ns cli timeout 60 "$PY" "$here/ftp_session.py" "$1" "$2" \
		"$NFE_TMP/ftp/file.bin" "$rtr_pid"
}

topo_setup "${1:?usage: $0 MODULE.ko}"
# A process in rtr, for the script to read rtr's /proc/net through.
ip netns exec rtr sleep 600 &
rtr_pid=$!
wait_for 30 eval '[[ $(ip netns identify "$rtr_pid") == rtr ]]'
echo "# helper $HELPER on $(uname -r)"

tap "ipv4 ftplib session ran to completion" session "$SRV4" 4
tap "ipv4 session pinhole closed" closed_after_transfer
tap "ipv6 ftplib session ran to completion" session "$SRV6" 6
tap "ipv6 session pinhole closed" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
