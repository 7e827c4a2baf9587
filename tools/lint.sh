#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make lint: checkpatch --strict, the W=1 builds and sparse over all kernel C
# (nf_ftp_embryo/ and kunit/), and the module's files in layers. One TAP
# line per check.
# The W=1 builds and sparse run against every kernel line (LINES; by
# default those tools/kernels/lines has installed or fetched), so every
# branch of kcompat.h is checked: the stock 6.1 and fetched headers (the
# module), the debug tree (the module and the KUnit suites, which need
# CONFIG_KUNIT).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=kernels/lib.sh
. tools/kernels/lib.sh
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
# of the build before it, so nothing is recompiled.  7.x asks
# scripts/checker-valid.sh first, which Debian's headers lack: naming
# KBUILD_CHECKSRC on the command line keeps its "no" from switching
# sparse off, and a run that checked nothing fails.
sparse_check() {
	local kdir=$1 dir=$2 log n
	log=$dir/sparse.log
	kernel_cc "$kdir" || return 1
	"${cc_wrap[@]}" make -C "$kdir" M="$top/$dir" W=1 C=2 KBUILD_CHECKSRC=2 modules >"$log" 2>&1 ||
		{ cat "$log"; return 1; }
	grep -E '(warning|error):' "$log" && return 1
	n=$(grep -c '^  CHECK ' "$log")
	echo "# sparse checked $n files"
	((n > 0))
}

debug_kdir=$(tools/vm/build-kernel.sh | tail -n1)
checkpatch
tap "checkpatch --strict (nf_ftp_embryo/, kunit/)" $?
python3 tools/layers.py nf_ftp_embryo
tap "no circle among nf_ftp_embryo/'s files (tools/layers.py)" $?

# Own build directories: make check runs this beside guests that load
# build/<line>.
for line in ${LINES:-$(kernel_lines host fetch)}; do
	kernel_line "$line" || { tap "kernel $line at hand" 1; continue; }
	tools/build-module.sh "build/lint/$line" "$kdir"
	tap "W=1 build against $kver headers" $?
	sparse_check "$kdir" "build/lint/$line"
	tap "sparse against $kver headers" $?
done

tools/build-module.sh build/lint/debug "$debug_kdir"
tap "W=1 build of module and KUnit suites against the debug tree" $?
sparse_check "$debug_kdir" build/lint/debug
tap "sparse of module and KUnit suites against the debug tree" $?

exit "$failed"
