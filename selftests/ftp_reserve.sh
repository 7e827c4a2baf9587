#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Active mode through MASQUERADE holds the announced port as an INACTIVE
# expectation from PORT until the transfer command opens it (nat.c).  If
# that reservation disappears meanwhile (conntrack -F expect, eviction), the
# transfer command must ask for the port again, not "open" an expectation
# that is no longer in the kernel's table (issue 13, minor).
#
#   cli c0 ---------- r0 rtr r1 ---------- s0 srv
#   192.168.124.10      .1   198.51.100.1     198.51.100.2
# Usage (in the guest, as root): ftp_reserve.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
FILE_SIZE=$((64 * 1024))
LAN4=192.168.124.10
WAN4=198.51.100.2
failed=0

trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
load_module "${1:?usage: $0 MODULE.ko}"
echo "# helper $HELPER on $(uname -r)"
topo_links
in_ns cli ip addr add $LAN4/24 dev c0
in_ns rtr ip addr add 192.168.124.1/24 dev r0
in_ns rtr ip addr add 198.51.100.1/24 dev r1
in_ns srv ip addr add $WAN4/24 dev s0
in_ns cli ip route add default via 192.168.124.1
rtr_rule iptables -P FORWARD DROP
rtr_rule iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
rtr_rule iptables -A FORWARD -i r0 -o r1 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
rtr_rule iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper "$HELPER"
rtr_rule iptables -t nat -A POSTROUTING -o r1 -s 192.168.124.0/24 -j MASQUERADE
ftpd_up

n_expect() { in_ns rtr conntrack -L expect 2>/dev/null | grep -c . || true; }
is() { [[ $("${@:2}") == "$1" ]]; }

coproc XFER { in_ns cli "$PY" "$here/ftp_reserve.py" $WAN4 $LAN4 "$NFE_TMP/ftp/file.bin" 2>&1; }
xfer=$XFER_PID
read -r -t 60 line <&"${XFER[0]}" || line=
tap "PORT through MASQUERADE answered 200 ($line)" test "$line" = ready
tap "the announced port is held: one expectation" is 1 n_expect
in_ns rtr conntrack -L expect 2>&1 | sed 's/^/#   /'
in_ns rtr conntrack -F expect >/dev/null 2>&1
tap "conntrack -F expect removed it" is 0 n_expect
echo go >&"${XFER[1]}"
rc=0
while read -r -t 60 line <&"${XFER[0]}"; do echo "#   $line"; done
wait "$xfer" || rc=$?
tap "RETR after the reservation was flushed: the file arrives intact" test "$rc" = 0
tap "no expectation left" wait_for 5 is 0 n_expect

echo "# $0: ${SECONDS}s"
((failed == 0))
