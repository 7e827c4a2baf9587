#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: run every stage, count the TAP lines they print ("ok - x" /
# "not ok - x" at the start of a line), and end with "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logdir=${NFE_LOGDIR:-$top/build/check}
rm -rf "$logdir"
mkdir -p "$logdir"
# stage NAME COMMAND...: run COMMAND, its output to the terminal and to
# NAME.log, its exit status to NAME.rc.  QUIET=1: to the log only.
stage() {
	local name=$1; shift
	local log="$logdir/$name.log" start=$SECONDS
	echo "=== $name: $*" >"$log"
	[ -n "${QUIET:-}" ] || echo "=== $name: $*"
	if [ -n "${QUIET:-}" ]; then
		"$@" 2>&1 | tr -d '\r' >>"$log"
	else
		"$@" 2>&1 | tr -d '\r' | tee -a "$log"
	fi
	echo "${PIPESTATUS[0]}" >"$logdir/$name.rc"
	local took="# $name took $((SECONDS - start)) s"
	echo "$took" >>"$log"
	[ -n "${QUIET:-}" ] || echo "$took"
}

# A build stage reports one result of its own.
build() {
	local what=$1; shift
	if "$@"; then echo "ok - build: $what"; else echo "not ok - build: $what"; fi
}

# Two lanes, so two guests run side by side on the two cores: the stock
# lane in the background, the debug lane in the foreground.  The debug
# kernel is about 3x slower under TCG, so its selftests are split: these
# run in the debug lane, every other one and the fault tests in debug
# guests at the end of the stock lane (a new test lands there by default).
DEBUG_LANE_TESTS="ftp_matrix.sh ftp_nat.sh ftp_segments.sh ftp_session.sh"

stock_lane() {
	stage build-stock build "module against Debian 6.1 headers, W=1" \
		make -s build/stock/nf_ftp_embryo.ko
	stage host-test make -s -C tools/host-test check
	stage fuzz make -s -C tools/fuzz smoke
	stage install tools/install-test.sh
	# The fault tests get guests of their own: they alone take minutes.
	stage selftest-stock env NFE_SKIP=ftp_faults.sh \
		selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
	stage faults-stock env NFE_ONLY=ftp_faults.sh NFE_SELFTEST_OUT=build/selftests/faults-stock \
		selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
	stage dkms tools/dkms-test.sh
	# A few seconds of each part of make bench, so it keeps working.
	stage bench-smoke tools/bench/run.sh --smoke
	# The debug lane builds the debug kernel and module.
	while [ ! -e "$logdir/build-debug.rc" ]; do sleep 5; done
	stage selftest-debug2 env NFE_SKIP="$DEBUG_LANE_TESTS ftp_faults.sh" \
		NFE_SELFTEST_OUT=build/selftests/debug2 \
		selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
	stage faults-debug env NFE_ONLY=ftp_faults.sh NFE_SELFTEST_OUT=build/selftests/faults-debug \
		selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
}
stock_stages="build-stock host-test fuzz install selftest-stock faults-stock dkms bench-smoke selftest-debug2 faults-debug"

# Before the lanes: both lanes' selftests run the CLI this builds.  A
# -Werror build, then its usage errors on the host.
stage cli make -s -C tools/cli check
QUIET=1 stock_lane &
stock_pid=$!
stage build-debug build "debug kernel, module and KUnit module, W=1" \
	make -s build/debug/nf_ftp_embryo.ko
# After build-debug: it needs the debug kernel tree.
stage lint tools/lint.sh
stage kunit tools/vm/run.sh --kernel debug -- \
	kunit/run-guest.sh build/debug/nf_ftp_embryo_kunit.ko
stage selftest-debug env NFE_ONLY="$DEBUG_LANE_TESTS" \
	selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
echo "=== waiting for the stock lane"
wait "$stock_pid"
for name in $stock_stages; do
	cat "$logdir/$name.log"
done

tools/tap-summary.sh "$logdir" cli $stock_stages build-debug lint kunit selftest-debug
