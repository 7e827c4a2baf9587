#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot the stock kernel in QEMU and show the helper at work.
# Usage: tools/demo.sh MODULE.ko   (HELPER=ftp with "-" shows the kernel's helper)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ko=${1:?usage: $0 MODULE.ko}
[[ $ko == - ]] || ko=$(realpath "$ko")
# The guest mounts tmpfs over these, hiding the host's files there
# (the repository alone gets its own share).
repo_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
case $ko in "$repo_top"/*) ;; /tmp/* | /run/* | /var/*)
	echo "$0: $ko is hidden in the guest (tmpfs there); put it elsewhere" >&2
	exit 2
	;;
esac
exec "$here/vm/run.sh" --kernel stock --timeout 300 -- \
	env HELPER="${HELPER:-ftp-embryo}" bash "$here/demo-guest.sh" "$ko"
