#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# Active mode with a server that connects back before it answers PORT/EPRT
# (issue 14).  python's pyftpdlib does: through the founding timing, which
# opened the pinhole only at the transfer command, `wget --no-passive-ftp`
# failed against it.  By default the pinhole now opens at the PORT/EPRT
# that passes the helper's checks; net.netfilter.nf_ftp_embryo_strict_active
# brings the founding timing back, per network namespace.
#
#   cli c0 ---- r0 rtr r1 ---- s0 srv      (lib.sh; 10.0.1.3 and fd00:1::3
#   10.0.1.2      .1   10.0.2.1      10.0.2.2  are third hosts beside cli)
#
# 1. pyftpdlib on srv, wget --no-passive-ftp on cli: IPv4 (PORT), IPv6 (EPRT).
# 2. scripted peers (ftp_early_active.py): the pinhole's moments.
# 3. strict_active=1 on rtr: the old timing; pyftpdlib fails (expected),
#    vsftpd still works.
# 4. the sysctl is per namespace, and a namespace's owner may set it.
# Usage (in the guest, as root): ftp_early_active.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
FILE_SIZE=$((256 * 1024))
KEY=net.netfilter.nf_ftp_embryo_strict_active
PROCKEY=/proc/sys/net/netfilter/nf_ftp_embryo_strict_active

topo_setup "${1:?usage: $0 MODULE.ko}"
echo "# helper $HELPER on $(uname -r)"
in_ns cli ip addr add 10.0.1.3/24 dev c0
in_ns cli ip addr add fd00:1::3/64 dev c0 nodad

# strict NS VALUE: set the sysctl in NS; fails loudly if it cannot be set.
strict() {
	if ! in_ns "$1" sysctl -q -w "$KEY=$2"; then
		echo "# $KEY cannot be set in $1"
		return 1
	fi
}

# listening4: something listens on srv's IPv4 port 21 (ftpd_listening: IPv6).
listening4() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}

pyftpd_listening() {
	listening4 && ftpd_listening
}

pyftpd_down() {
	ftpd_down ftp_early_active.py
	wait_for 5 eval '! listening4'
}

pyftpd_up() {
	ftpd_down vsftpd
	"$PY" "$here/ftp_early_active.py" pyftpd "$NFE_TMP/ftp" $SRV4 $SRV6 \
		</dev/null >"$NFE_TMP/pyftpd.log" 2>&1 &
	# Python starts slowly under TCG, most of all on the debug kernel.
	if ! wait_for 120 pyftpd_listening; then
		echo "# FATAL: pyftpdlib did not start:" >&2
		sed 's/^/#   /' "$NFE_TMP/pyftpd.log" >&2
		exit 1
	fi
}

# wget_active FAMILY: an active-mode download from srv, byte for byte.
wget_active() {
	local host=$SRV4 dest=$NFE_TMP/got rc=0
	[[ $1 == 4 ]] || host="[$SRV6]"
	rm -f "$dest"
	in_ns cli wget -nv --no-passive-ftp --tries=1 --timeout=20 \
		-O "$dest" "ftp://$host/file.bin" >"$NFE_TMP/wget.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		sed 's/^/#   wget: /' "$NFE_TMP/wget.log"
		tail -n 6 "$NFE_TMP/pyftpd.log" | sed 's/^/#   pyftpdlib: /'
		return 1
	fi
	same "$dest" "$NFE_TMP/ftp/file.bin"
}

# grew NAME COMMAND...: COMMAND succeeds and counter NAME grew.
grew() {
	local name=$1 before
	shift
	before=$(counter "$name")
	"$@" || return 1
	(($(counter "$name") > before)) && return 0
	echo "# $name did not grow from $before"
	return 1
}

# 1. The user's report.
tap "default: $KEY is 0" test "$(in_ns rtr cat $PROCKEY)" = 0
pyftpd_up
tap "pyftpdlib: ipv4 wget --no-passive-ftp (PORT)" grew cmd_port wget_active 4
tap "pyftpdlib: ipv4 pinhole closed" closed_after_transfer
tap "pyftpdlib: ipv6 wget --no-passive-ftp (EPRT)" grew cmd_eprt wget_active 6
tap "pyftpdlib: ipv6 pinhole closed" closed_after_transfer

# 3a. The founding timing, chosen: pyftpdlib's early connection is dropped.
strict rtr 1 || failed=$((failed + 1))
tap "strict_active=1: pyftpdlib ipv4 active fails, as before (expected)" \
	eval '! wget_active 4 >/dev/null'
tap "strict_active=1: nothing left behind" closed_after_transfer
strict rtr 0 || failed=$((failed + 1))
tap "strict_active=0 again: pyftpdlib ipv4 active works" wget_active 4
pyftpd_down

# 2. The pinhole's moments, scripted.
rc=0
"$PY" "$here/ftp_early_active.py" scripted || rc=$?
((rc == 0)) || failed=$((failed + 1))

# 3b. The founding timing, scripted, and with vsftpd, which connects only
# after the transfer command.
strict rtr 1 || failed=$((failed + 1))
rc=0
"$PY" "$here/ftp_early_active.py" strict || rc=$?
((rc == 0)) || failed=$((failed + 1))
ftpd_up
tap "strict_active=1: vsftpd ipv4 PORT download" download 4 --ftp-port - --disable-eprt
tap "strict_active=1: vsftpd ipv6 EPRT download" download 6 --ftp-port -
tap "strict_active=1: pinhole closed" closed_after_transfer
strict rtr 0 || failed=$((failed + 1))

# 4. One value per namespace.
ftpd_down vsftpd
ip netns add other
trap 'ip netns del other 2>/dev/null; topo_down; rm -rf "$NFE_TMP"' EXIT
strict rtr 1 || failed=$((failed + 1))
tap "per netns: rtr's 1 leaves another namespace at 0" \
	test "$(in_ns other cat $PROCKEY)" = 0
tap "per netns: ... and the initial namespace at 0" test "$(cat $PROCKEY)" = 0
strict other 1 && strict rtr 0 || failed=$((failed + 1))
tap "per netns: another's 1 leaves rtr at 0" test "$(in_ns rtr cat $PROCKEY)" = 0
tap "per netns: rtr at 0 opens at PORT again" \
	"$PY" "$here/ftp_early_active.py" scripted-one
tap "per netns: out of range refused" eval "! in_ns rtr sysctl -q -w $KEY=2 2>/dev/null"
tap "per netns: still 0 after the refused write" test "$(in_ns rtr cat $PROCKEY)" = 0
# The root of a user namespace owns the network namespace it creates.
tap "per netns: root of a namespace's owning user namespace sets it" \
	unshare --user --map-root-user --net sh -c \
	"echo 1 >$PROCKEY && test \"\$(cat $PROCKEY)\" = 1"
tap "per netns: ... and that changed nothing here" test "$(cat $PROCKEY)" = 0

echo "# $0: ${SECONDS}s"
((failed == 0))
