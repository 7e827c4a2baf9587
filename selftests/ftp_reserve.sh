#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock 6.12
# Active mode through MASQUERADE.  The PORT line is rewritten as it passes,
# so its port is chosen and held then (nat.c).  By default the pinhole opens
# there and then (issue 14: pyftpdlib connects before its 200); with
# net.netfilter.nf_ftp_embryo_strict_active=1 the port is held by an
# INACTIVE expectation until the transfer command opens it.  If that
# reservation disappears meanwhile (conntrack -F expect, eviction), the
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
KEY=net.netfilter.nf_ftp_embryo_strict_active
failed=0

trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
load_module "${1:?usage: $0 MODULE.ko}"
echo "# helper $HELPER on $(uname -r)"
topo_nat4
rtr_rule iptables -P FORWARD DROP
rtr_rule iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
rtr_rule iptables -A FORWARD -i r0 -o r1 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
rtr_rule iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper "$HELPER"
rtr_rule iptables -t nat -A POSTROUTING -o r1 -s 192.168.124.0/24 -j MASQUERADE
ftpd_up

n_expect() { in_ns rtr conntrack -L expect 2>/dev/null | grep -c . || true; }
n_inactive() { in_ns rtr conntrack -L expect 2>/dev/null | grep -c INACTIVE || true; }
is() { [[ $("${@:2}") == "$1" ]]; }

# reserve_start: ftp_reserve.py logged in, PORT answered 200, RETR not yet.
reserve_start() {
	coproc XFER { in_ns cli "$PY" "$here/ftp_reserve.py" $WAN4 $LAN4 "$NFE_TMP/ftp/file.bin" 2>&1; }
	xfer=$XFER_PID
	read -r -t 60 line <&"${XFER[0]}" || line=
	tap "$1: PORT through MASQUERADE answered 200 ($line)" test "$line" = ready
}

# reserve_finish: RETR; the file must arrive intact.
reserve_finish() {
	local rc=0
	echo go >&"${XFER[1]}"
	while read -r -t 60 line <&"${XFER[0]}"; do echo "#   $line"; done
	wait "$xfer" || rc=$?
	tap "$1: the file arrives intact" test "$rc" = 0
	tap "$1: no expectation left" wait_for 5 is 0 n_expect
}

# Default: the pinhole is open from the PORT on, not merely reserved.
reserve_start "default"
tap "default: one expectation after PORT/200" is 1 n_expect
tap "default: ... open, not INACTIVE" is 0 n_inactive
in_ns rtr conntrack -L expect 2>&1 | sed 's/^/#   /'
reserve_finish "default: RETR"

# pyftpdlib connects before its 200, through MASQUERADE to the router's
# address that the rewritten PORT names.
pyftpd_listening() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}
ftpd_down vsftpd
"$PY" "$here/ftp_early_active.py" pyftpd "$NFE_TMP/ftp" $WAN4 \
	</dev/null >"$NFE_TMP/pyftpd.log" 2>&1 &
if ! wait_for 30 pyftpd_listening; then
	echo "# FATAL: pyftpdlib did not start:" >&2
	sed 's/^/#   /' "$NFE_TMP/pyftpd.log" >&2
	exit 1
fi
rm -f "$NFE_TMP/got"
rc=0
in_ns cli wget -nv --no-passive-ftp --tries=1 --timeout=20 -O "$NFE_TMP/got" \
	"ftp://$WAN4/file.bin" >"$NFE_TMP/wget.log" 2>&1 || rc=$?
sed 's/^/#   wget: /' "$NFE_TMP/wget.log"
tap "default: pyftpdlib, wget --no-passive-ftp through MASQUERADE" \
	eval '((rc == 0)) && same "$NFE_TMP/got" "$NFE_TMP/ftp/file.bin"'
tap "default: ... no expectation left" wait_for 5 is 0 n_expect
ftpd_down ftp_early_active.py
wait_for 5 eval '! pyftpd_listening'
ftpd_up

# strict_active=1: the port is held INACTIVE until RETR; flushed, renewed.
if ! in_ns rtr sysctl -q -w $KEY=1; then
	echo "not ok - strict: $KEY cannot be set"
	failed=$((failed + 1))
fi
reserve_start "strict"
tap "strict: the announced port is held: one expectation" is 1 n_expect
tap "strict: ... INACTIVE" is 1 n_inactive
in_ns rtr conntrack -L expect 2>&1 | sed 's/^/#   /'
in_ns rtr conntrack -F expect >/dev/null 2>&1
tap "strict: conntrack -F expect removed it" is 0 n_expect
reserve_finish "strict: RETR after the reservation was flushed"

echo "# $0: ${SECONDS}s"
((failed == 0))
