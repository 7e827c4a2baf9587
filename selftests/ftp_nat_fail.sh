#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# NAT that cannot rewrite fails closed, and costs bounded work
# (ftp_nat_fail.py): a PORT split so that its digits start in an earlier
# segment, a rewritten PORT lost after the router, a PORT whose port another
# pinhole holds, a PORT when no port is free, one segment of hundreds
# of PORT lines, and two announcements in one segment (PORT, PORT from the
# masqueraded client; 227, 227 from the port-forwarded server; a resend
# that joins a PORT rewritten before and an EPRT never read), which must
# pass, all rewritten; a PORT whose address crosses the sequence numbers'
# 2^32 wrap (a connection made with TCP_REPAIR), passing and resent; and
# more unacknowledged PORT lines than the router keeps rewrites for. The
# private address never reaches the outside, in a packet or in the
# reassembled stream.
#
#   cli c0 ---------- r0 rtr r1 ---------- s0 srv
#   192.168.124.10      .1   198.51.100.1     198.51.100.2
#
# rtr masquerades cli and forwards its port 2121 to cli:21 (ftp_nat.sh's
# iptables rules, IPv4 only). The module is reloaded with min_port=65535
# for the case without a free port, and restored at exit.
# Usage (in the guest, as root): ftp_nat_fail.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

ko=${1:?usage: $0 MODULE.ko}

if [[ $ko == - ]]; then
	echo "not ok - nat fail: the test needs nf_ftp_embryo.ko (got '-')"
	exit 1
fi

rules() {
	rtr_rule iptables -P FORWARD DROP
	rtr_rule iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	rtr_rule iptables -A FORWARD -i r0 -o r1 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
	rtr_rule iptables -A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW \
		-m conntrack --ctstate DNAT -j ACCEPT
	rtr_rule iptables -t nat -A POSTROUTING -o r1 -s 192.168.124.0/24 -j MASQUERADE
	rtr_rule iptables -t nat -A PREROUTING -i r1 -d $PUB4 -p tcp --dport 2121 \
		-j DNAT --to-destination $LAN4:21
}

# helper_rule -A|-D: the CT rule holds the module; it goes before a reload.
helper_rule() {
	rtr_rule iptables -t raw "$1" PREROUTING -p tcp -m multiport --dports 21,2121 \
		-j CT --helper "$HELPER"
}

reload() {
	helper_rule -D
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
	unload_module
	insmod "$ko" "$@"
	helper_rule -A
	echo "# helper $HELPER on $(uname -r), $*"
}

restore() {
	topo_down
	rm -rf "$NFE_TMP"
	unload_module && insmod "$ko"
}

# cases CASE...: run ftp_nat_fail.py, counting a crash as a failure.
cases() {
	local rc=0
	NFE_TMP=$NFE_TMP "$PY" "$here/ftp_nat_fail.py" "$@" || rc=$?
	if ((rc != 0)) && ((rc != 1)); then
		echo "not ok - nat fail: ftp_nat_fail.py $* ran to completion (exit $rc)"
	fi
	((rc == 0)) || failed=$((failed + 1))
}

load_module "$ko"
trap restore EXIT
topo_nat4
rules
helper_rule -A
echo "# helper $HELPER on $(uname -r)"

cases split resend random burst twoport two227 rejoin rejoin_tlp wrap evict
reload min_port=65535
cases nofree

echo "# $0: ${SECONDS}s"
((failed == 0))
