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

# Debian builds unstable's kernel with a gcc newer than the host's, and the
# host's gcc rejects its flags: build in an unstable chroot that has the
# compiler the kernel names (Debian's headers call it by that name).
make=(make)
conf=$kdir/include/config/auto.conf
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^ ]*\).*/\1/p' "$conf" 2>/dev/null || true)
gcc_version=$(sed -n 's/^CONFIG_GCC_VERSION=//p' "$conf" 2>/dev/null || true)
cc_major=$((${gcc_version:-0} / 10000))
if ((cc_major)) && { ! command -v "$cc" >/dev/null ||
	[[ $("$cc" -dumpfullversion | cut -d. -f1) != "$cc_major" ]]; }; then
	chroot=$("$top/tools/kernels/chroot.sh" | tail -n 1)
	if ! chroot "$chroot" sh -c "command -v '$cc'" >/dev/null; then
		echo "build-module: $kdir needs $cc, $chroot lacks it: remove it to rebuild" >&2
		exit 1
	fi
	echo "build-module: $kdir wants $cc (gcc $cc_major), which the host lacks: building in $chroot" >&2
	kdir=$(realpath "$kdir")
	make=("$top/tools/kernels/in-chroot.sh" -b "$dir" -b "$kdir" "$chroot" make)
fi
"${make[@]}" -C "$kdir" M="$dir" W=1 modules 2>&1 | tee "$log"
if grep -q 'warning:' "$log"; then
	echo "build-module: compiler warnings in $dir (see $log)" >&2
	# Or make would take the next run's target as up to date.
	rm -f "$dir"/*.ko
	exit 1
fi
