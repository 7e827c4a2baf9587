#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# Quiet control connections cost no record (ftp_park.py): one that carried
# nothing for the park delay loses its record to the gc walk, counted in
# records_parked, and its next transfer on the same control connection
# works and closes its pinhole; one whose row shows a refusal keeps it.
# Usage (in the guest, as root): ftp_park.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
FILE_SIZE=65536

ko=${1:?usage: $0 MODULE.ko}
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
load_module "$ko"
topo_up
fw_up
ftpd_up
echo "# helper $HELPER on $(uname -r)"

rc=0
in_ns cli timeout 150 "$PY" "$here/ftp_park.py" "$NFE_TMP/ftp/file.bin" || rc=$?
((rc == 0)) || failed=$((failed + 1))
tap "park: no pinhole left" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
