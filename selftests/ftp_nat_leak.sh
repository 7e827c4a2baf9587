#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# Attacker's view of a translating router (ftp_nat_leak.py): a PORT, EPRT
# or 227 naming its sender's inside address that the helper refuses, does
# not match to a command, cannot read whole, or has no record for, must
# leave rewritten or not at all; what reaches the public side is searched
# for the inside address.  Cases: a 227 to a superseded PASV, in
# pipeline-overflow mode, over 256 bytes (address before and after the
# cut), with a low port, unsolicited, in a multi-line reply, split inside
# its address; PORT/EPRT with a low port, superseded in one segment, in
# overflow mode, over 256 bytes; a forged resend that starts with the
# router's own rewrite and goes on with a new PORT; PORT, EPRT and 227 on
# connections without a record, whole and cut after their first 2 bytes
# (the module reloaded with max_flows=1, one connection holding the
# record).
#
#   cli c0 ---------- r0 rtr r1 ---------- s0 srv
#   192.168.124.10      .1   198.51.100.1     198.51.100.2
#
# rtr masquerades cli and forwards its port 2121 to cli:21 (ftp_nat.sh's
# iptables rules, IPv4 only).  With MODULE "-" and HELPER=ftp the cases
# but the record ones run through nf_conntrack_ftp and nf_nat_ftp, to
# compare; the module's defaults are restored at exit.
# Usage (in the guest, as root): ftp_nat_leak.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

ko=${1:?usage: $0 MODULE.ko}

nat_rules() {
	rtr_rule iptables -P FORWARD DROP
	rtr_rule iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	rtr_rule iptables -A FORWARD -i r0 -o r1 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
	rtr_rule iptables -A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW \
		-m conntrack --ctstate DNAT -j ACCEPT
	rtr_rule iptables -t nat -A POSTROUTING -o r1 -s 192.168.124.0/24 -j MASQUERADE
	rtr_rule iptables -t nat -A PREROUTING -i r1 -d "$PUB4" -p tcp --dport 2121 \
		-j DNAT --to-destination "$LAN4:21"
}

# attach -A|-D: raw PREROUTING sees the forwarded port before DNAT.
attach() {
	rtr_rule iptables -t raw "$1" PREROUTING -p tcp -m multiport --dports 21,2121 \
		-j CT --helper "$HELPER"
}

# reload PARAMS...: the CT rule holds the module, so it goes first.
reload() {
	attach -D
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
	unload_module
	insmod "$ko" "$@"
	attach -A
	echo "# helper $HELPER on $(uname -r), $*"
}

restore() {
	topo_down
	rm -rf "$NFE_TMP"
	[[ $ko == - ]] || { unload_module && insmod "$ko"; }
}

# leak CASES: ftp_nat_leak.py, a crash counted as a failure.
leak() {
	local rc=0
	NFE_TMP=$NFE_TMP "$PY" "$here/ftp_nat_leak.py" "$1" || rc=$?
	if ((rc > 1)); then
		echo "not ok - nat leak: ftp_nat_leak.py $1 ran to completion (exit $rc)"
	fi
	((rc == 0)) || failed=$((failed + 1))
}

load_module "$ko"
[[ $ko != - ]] || modprobe -a nf_conntrack_ftp nf_nat_ftp
trap restore EXIT
topo_nat4
nat_rules
attach -A
echo "# helper $HELPER on $(uname -r)"

leak all
if [[ $ko != - ]]; then
	reload max_flows=1
	leak norecord
fi

echo "# $0: ${SECONDS}s"
((failed == 0))
