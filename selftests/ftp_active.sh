#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug 6.12 7.2
# Active FTP (PORT, EPRT) through a DROP-by-default router: the server
# connects back to the client, so the helper must open the pinhole from the
# server to the client's announced port at the transfer command, and close
# it at the 226.
# Usage (in the guest, as root): ftp_active.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

# active FAMILY [CURL_OPTIONS...]: an active-mode download.
active() {
	download "$1" --ftp-port - "${@:2}"
}

# counted NAME DELTA COMMAND...: COMMAND succeeds and stats NAME grew by DELTA.
counted() {
	local name=$1 delta=$2 before after
	shift 2
	before=$(counter "$name")
	"$@" || return 1
	after=$(counter "$name")
	((after - before == delta)) && return 0
	echo "# $name went from $before to $after, expected +$delta"
	return 1
}

topo_setup "${1:?usage: $0 MODULE.ko}"
# lib.sh's vsftpd: port_enable=YES; connect_from_port_20 unset (vsftpd's
# default NO), so the server connects back from an ephemeral port.
echo "# helper $HELPER on $(uname -r)"

tap "ipv4 PORT download" counted cmd_port 1 active 4 --disable-eprt
tap "ipv4 PORT pinhole closed" closed_after_transfer
tap "ipv4 EPRT download" counted cmd_eprt 1 active 4
tap "ipv4 EPRT pinhole closed" closed_after_transfer
tap "ipv6 EPRT download" counted cmd_eprt 1 active 6
tap "ipv6 EPRT pinhole closed" closed_after_transfer
tap "active transfers each created one expectation" \
	test "$(counter expect_created)" = 3

ct_rules -D
tap "ipv4 PORT blocked without helper" blocked_without_helper 4 --ftp-port - --disable-eprt -m 4

echo "# $0: ${SECONDS}s"
((failed == 0))
