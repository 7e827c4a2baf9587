#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# The attack suite (ftp_attacks.py): hostile control channels open nothing,
# are counted, and leave the helper healthy.  The module is reloaded with a
# small max_flows for the connection flood, then with loose=1 to show what
# that gives away, and restored with its defaults at exit.  Real vsftpd
# transfers after the attacks prove the helper still works.
# Usage (in the guest, as root): ftp_attacks.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
# The closing transfers only prove the helper still works: keep them short.
FILE_SIZE=65536

ko=${1:?usage: $0 MODULE.ko}
MAX_FLOWS=16

restore() {
	topo_down
	rm -rf "$NFE_TMP"
	unload_module && insmod "$ko"
}

if [[ $ko == - ]]; then
	echo "not ok - attack: the suite needs nf_ftp_embryo.ko (got '-')"
	exit 1
fi
# reload PARAMS...: the module again with PARAMS; the CT rules hold it, so
# they go first (and the namespaces can stay).
reload() {
	ct_rules -D
	unload_module
	insmod "$ko" "$@"
	ct_rules -A
	echo "# helper $HELPER on $(uname -r), $*"
}

# refuses PARAM=VALUE: the load fails with a message naming PARAM.
refuses() {
	local since
	since=$(dmesg | wc -l)
	! insmod "$ko" "$1" 2>/dev/null &&
		dmesg | tail -n +$((since + 1)) | grep -q "invalid ${1%%=*}="
}

load_module -
unload_module
trap restore EXIT
for p in max_flows=0 expect_timeout=3601 min_port=0; do
	tap "attack: parameter $p refused at load" refuses "$p"
done
insmod "$ko" max_flows=$MAX_FLOWS
echo "# helper $HELPER on $(uname -r), max_flows=$MAX_FLOWS"
topo_up
fw_up
# Third hosts next to the client and next to the server.
in_ns cli ip addr add 10.0.1.3/24 dev c0
in_ns cli ip addr add fd00:1::3/64 dev c0 nodad
in_ns srv ip addr add 10.0.2.3/24 dev s0

rc=0
"$PY" "$here/ftp_attacks.py" "$MAX_FLOWS" || rc=$?
((rc == 0)) || failed=$((failed + 1))

# After all of it, real FTP still works through the helper.
ftpd_up
tap "attack: afterwards a passive IPv4 transfer works" \
	fetch 4 "$NFE_TMP/after4.bin"
tap "attack: afterwards an EPSV IPv6 transfer works" \
	fetch 6 "$NFE_TMP/after6.bin"
tap "attack: afterwards no pinhole left" closed_after_transfer
tap "attack: afterwards the files are intact" \
	eval 'same "$NFE_TMP/ftp/file.bin" "$NFE_TMP/after4.bin" &&
		same "$NFE_TMP/ftp/file.bin" "$NFE_TMP/after6.bin"'

# What loose=1 gives away, and what it keeps.
ftpd_down vsftpd
reload loose=1
rc=0
"$PY" "$here/ftp_attacks.py" --loose || rc=$?
((rc == 0)) || failed=$((failed + 1))

echo "# $0: ${SECONDS}s"
((failed == 0))
