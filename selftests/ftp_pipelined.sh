#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# A client that pipelines (ftp_pipelined.py) against vsftpd: PORT/PASV,
# TYPE I and RETR sent before any reply open the pinhole as they do one by
# one, and nothing is left afterwards; more commands in flight than the
# helper follows open nothing until they are answered, and then the
# connection is inspected again, also after 300 of them.
# Usage (in the guest, as root): ftp_pipelined.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

pipelined() {
	in_ns cli timeout 300 "$PY" "$here/ftp_pipelined.py" "$1" "$2" \
		"$NFE_TMP/ftp/file.bin" "$rtr_pid"
}

topo_setup "${1:?usage: $0 MODULE.ko}"
# A process in rtr, for the script to read rtr's /proc/net through.
ip netns exec rtr sleep 600 &
rtr_pid=$!
wait_for 30 eval '[[ $(ip netns identify "$rtr_pid") == rtr ]]'
echo "# helper $HELPER on $(uname -r)"

tap "ipv4 pipelining client ran to completion" pipelined "$SRV4" 4
tap "ipv4 pinholes closed" closed_after_transfer
tap "ipv6 pipelining client ran to completion" pipelined "$SRV6" 6
tap "ipv6 pinholes closed" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
