#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make lint: checkpatch --strict, the W=1 builds and sparse over all kernel C
# (nf_ftp_embryo/ and kunit/). One TAP line per check.
# checkpatch comes from Debian's linux-source-6.1, unpacked once into the cache;
# sparse runs against the stock 6.1 headers (the module) and the debug tree
# (the module and the KUnit suites, which need CONFIG_KUNIT).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
src=${NFE_KERNEL_SRC:-/usr/src/linux-source-6.1.tar.xz}
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}
failed=0

tap() {
	local name=$1 rc=$2
	if ((rc == 0)); then
		echo "ok - $name"
	else
		echo "not ok - $name"
		failed=1
	fi
}

# Only the three files checkpatch reads; the rest of the tarball stays packed.
checkpatch() {
	local dir=$cache/linux-source-6.1 tmp
	if [[ ! -f $dir/scripts/checkpatch.pl ]]; then
		mkdir -p "$cache" || return 1
		tmp=$(mktemp -d "$cache/.linux-source.XXXXXX") || return 1
		if ! tar -xJf "$src" -C "$tmp" linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch; then
			rm -rf "$tmp"
			return 1
		fi
		rm -rf "$dir"
		mv "$tmp/linux-source-6.1" "$dir" && rm -rf "$tmp"
	fi
	perl "$dir/scripts/checkpatch.pl" --no-tree --strict --terse --show-types \
		-f nf_ftp_embryo/*.[ch] kunit/*.[ch] include/uapi/linux/*.h | grep . && return 1
	# grep's "nothing printed" is checkpatch's "clean", unless perl failed.
	[[ ${PIPESTATUS[0]} == 0 ]]
}

# C=2 checks every file whether or not it is rebuilt; W=1 keeps the flags
# of the build before it, so nothing is recompiled.
sparse_check() {
	local kdir=$1 dir=$2 log
	log=$dir/sparse.log
	make -C "$kdir" M="$top/$dir" W=1 C=2 modules >"$log" 2>&1 || { cat "$log"; return 1; }
	grep -E '(warning|error):' "$log" && return 1
	grep -c '^  CHECK ' "$log" | sed 's/^/# sparse checked /; s/$/ files/'
	return 0
}

checkpatch
tap "checkpatch --strict (nf_ftp_embryo/, kunit/)" $?

# Own build directories: make check runs this beside guests that load
# build/stock and build/debug.
stock_kdir=$(find /lib/modules -maxdepth 2 -path '/lib/modules/6.1.*/build' | sort -V | tail -n1)
tools/build-module.sh build/lint/stock "$stock_kdir"
tap "W=1 build against Debian 6.1 headers" $?
sparse_check "$stock_kdir" build/lint/stock
tap "sparse against Debian 6.1 headers" $?

debug_kdir=$(tools/vm/build-kernel.sh | tail -n1)
tools/build-module.sh build/lint/debug "$debug_kdir"
tap "W=1 build of module and KUnit suites against the debug tree" $?
sparse_check "$debug_kdir" build/lint/debug
tap "sparse of module and KUnit suites against the debug tree" $?

exit "$failed"
