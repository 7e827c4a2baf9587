#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the module (and the KUnit module, where the kernel has KUnit) in
# DIR against the kernel tree KDIR, from a private copy of the sources.
# Fails on any compiler warning: the build must be W=1 clean.
set -euo pipefail
dir=$1
kdir=$2
top=$(cd "$(dirname "$0")/.." && pwd)

[ -d "$kdir" ] || { echo "build-module: no kernel tree at '$kdir'" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cp "$top/Kbuild" "$dir/"
rm -rf "$dir/nf_ftp_embryo" "$dir/kunit" "$dir/include"
cp -r "$top/nf_ftp_embryo" "$top/include" "$dir/"
[ -d "$top/kunit" ] && cp -r "$top/kunit" "$dir/"
log="$dir/build.log"

# shellcheck source=kernels/lib.sh
. "$top/tools/kernels/lib.sh"
kernel_cc "$kdir" "$dir"
[[ ${#cc_wrap[@]} == 0 ]] || echo "build-module: building in ${cc_wrap[-1]}, which has $kdir's compiler" >&2
"${cc_wrap[@]}" make -C "$kdir" M="$dir" W=1 modules 2>&1 | tee "$log"
# modpost says WARNING: in capitals.
if grep -qi 'warning:' "$log"; then
	echo "build-module: compiler warnings in $dir (see $log)" >&2
	# Or make would take the next run's target as up to date.
	rm -f "$dir"/*.ko
	exit 1
fi
