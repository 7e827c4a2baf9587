#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# Idle control connections cannot take the table away from others
# (ftp_idle.py): with max_flows=16 and one client holding 16 idle
# connections, another client's transfers work in every mode once the
# idle records are reclaimed.  The module is reloaded with max_flows=16
# and restored with its defaults at exit.
# Usage (in the guest, as root): ftp_idle.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
FILE_SIZE=65536
MAX_FLOWS=16

ko=${1:?usage: $0 MODULE.ko}
if [[ $ko == - ]]; then
	echo "not ok - idle: the test needs nf_ftp_embryo.ko (got '-')"
	exit 1
fi

trap 'topo_down; rm -rf "$NFE_TMP"; unload_module && insmod "$ko"' EXIT
load_module -
unload_module
insmod "$ko" max_flows=$MAX_FLOWS
topo_up
fw_up
ftpd_up
echo "# helper $HELPER on $(uname -r), max_flows=$MAX_FLOWS"

rc=0
in_ns cli timeout 120 "$PY" "$here/ftp_idle.py" $MAX_FLOWS "$NFE_TMP/ftp/file.bin" || rc=$?
((rc == 0)) || failed=$((failed + 1))
tap "idle: no pinhole left" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
