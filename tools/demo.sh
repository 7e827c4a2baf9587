#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot the stock kernel in QEMU and show the helper at work.
# Usage: tools/demo.sh MODULE.ko   (HELPER=ftp with "-" shows the kernel's helper)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ko=${1:?usage: $0 MODULE.ko}
[[ $ko == - ]] || ko=$(realpath "$ko")
exec "$here/vm/run.sh" --kernel stock --timeout 300 -- \
	env HELPER="${HELPER:-ftp-embryo}" bash "$here/demo-guest.sh" "$ko"
