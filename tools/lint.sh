#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make lint: checkpatch --strict, the W=1 builds and sparse over all kernel C
# (nf_ftp_embryo/ and kunit/). One TAP line per check.
# sparse runs against the stock 6.1 headers (the module) and the debug tree
# (the module and the KUnit suites, which need CONFIG_KUNIT).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
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

# The debug kernel's tree is a whole linux-source-6.12: its checkpatch.
checkpatch() {
	perl "$debug_kdir/scripts/checkpatch.pl" --no-tree --strict --terse --show-types \
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

debug_kdir=$(tools/vm/build-kernel.sh | tail -n1)
checkpatch
tap "checkpatch --strict (nf_ftp_embryo/, kunit/)" $?

# Own build directories: make check runs this beside guests that load
# build/stock and build/debug.
stock_kdir=$(find /lib/modules -maxdepth 2 -path '/lib/modules/6.1.*/build' | sort -V | tail -n1)
tools/build-module.sh build/lint/stock "$stock_kdir"
tap "W=1 build against Debian 6.1 headers" $?
sparse_check "$stock_kdir" build/lint/stock
tap "sparse against Debian 6.1 headers" $?

tools/build-module.sh build/lint/debug "$debug_kdir"
tap "W=1 build of module and KUnit suites against the debug tree" $?
sparse_check "$debug_kdir" build/lint/debug
tap "sparse of module and KUnit suites against the debug tree" $?

exit "$failed"
