#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# prepare.sh [LINE...]: fetch each kernel LINE (fetch.sh; by default every
# line tools/kernels/lines has installed or fetched) and, where its
# compiler is not the host's, the chroot that has it; one TAP line each,
# naming the exact kernel, so a log says which unstable kernel ran.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
. "$top/tools/kernels/lib.sh"
(($#)) || set -- $(kernel_lines host fetch)
rc=0
for line in "$@"; do
	if kernel_line "$line" && kernel_cc "$kdir"; then
		cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT=//p' "$kdir/include/config/auto.conf" | tr -d '"')
		echo "ok - kernel $line: $kver, built with $cc${cc_wrap[*]:+, which ${cc_wrap[-1]##*/} has}"
	else
		echo "not ok - kernel $line: fetched, with its compiler"
		rc=1
	fi
done
exit "$rc"
