#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: run every stage, count the TAP lines they print ("ok - x" /
# "not ok - x" at the start of a line), and end with "N passed, N failed".
# A stage that fails without reporting a failure of its own (it could not
# build, boot or run) is counted as one failure: nothing is ever skipped.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logdir=${NFE_LOGDIR:-$top/build/check}
rm -rf "$logdir"
mkdir -p "$logdir"
passed=0
failed=0

stage() {
	local name=$1; shift
	local log="$logdir/$name.log" rc ok bad
	echo "=== $name: $*"
	"$@" 2>&1 | tr -d '\r' | tee "$log"
	rc=${PIPESTATUS[0]}
	ok=$(grep -c '^ok - ' "$log")
	bad=$(grep -c '^not ok - ' "$log")
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $name (exit $rc, see $log)"
		bad=1
	fi
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $name reported no result"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
}

# A build stage reports one result of its own.
build() {
	local what=$1; shift
	if "$@"; then echo "ok - build: $what"; else echo "not ok - build: $what"; fi
}

stage build-stock build "module against Debian 6.1 headers, W=1" \
	make -s build/stock/nf_ftp_embryo.ko
stage host-test make -s -C tools/host-test check
stage fuzz make -s -C tools/fuzz smoke
stage build-debug build "debug kernel, module and KUnit module, W=1" \
	make -s build/debug/nf_ftp_embryo.ko
stage lint tools/lint.sh
stage install tools/install-test.sh
stage dkms tools/dkms-test.sh
stage kunit tools/vm/run.sh --kernel debug -- \
	kunit/run-guest.sh build/debug/nf_ftp_embryo_kunit.ko
stage selftest-stock selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
stage selftest-debug selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
# A few seconds of each part of make bench, so it keeps working.
stage bench-smoke tools/bench/run.sh --smoke

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
