#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: run every stage, count the TAP lines they print ("ok - x" /
# "not ok - x" at the start of a line), and end with "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=kernels/lib.sh
. tools/kernels/lib.sh
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

# Which selftests run where; make check-all runs every one everywhere.
#  - Debian 12's stock 6.1: every one, the client matrix in full, compared
#    cell by cell with its run through the kernel's own nf_conntrack_ftp
#    (matrix-table; the recorded selftests/matrix-reference.cells, or with
#    make check-all a live run, matrix-reference).
#  - The debug 6.12 (KASAN, lockdep, PROVE_RCU, kmemleak, KUnit): every one
#    but the client matrix and the multi-transfer sessions, whose cells
#    drive the module's code paths again with other clients, and seven
#    whose paths others there take too: the load test (make stress runs
#    it there at full size), NAT over loopback, the NAT reservation,
#    pipelining (KUnit has the pipeline's queue), the early active
#    pinhole, NAT (the NAT leak and failure suites drive its paths) and
#    the lifetime of pinholes (the 6.12.111 and 7.2 lines run it).  Every attacker suite
#    runs there (packets, NAT leaks, idle connections, ctnetlink, races,
#    allocation failure), and on the stock kernel too but for the two
#    that need the debug kernel's KASAN and failslab (ftp_race.sh,
#    ftp_failslab.sh).
#  - Debian's 6.12.111, the point release whose expectations still have
#    their timer (kcompat.h): what creates, rearms and removes them.
#  - Unstable's newest kernel: the core set, the statistics over its
#    netlink, act_ct, and the unload test, since 7.2 allocates the
#    registered helpers itself.
#  - On 6.12.111 and 7.2 the fault tests unload the module under 2 x 5
#    transfers, as on the debug kernel; make check-all at the stock size.
#  - The router pair (ftp_ha.sh: keepalived, conntrackd), its core cases,
#    on the debug kernel, so that taking over a copied pinhole runs under
#    KASAN and lockdep; make check-all runs every case (NFE_HA_ALL) on
#    every kernel.
#  - tc act_ct (ftp_act_ct.sh) on 6.1, where it checks that act_ct refuses
#    helpers, and on 7.2; make check-all adds 6.12.111 (the same act_ct
#    API), not the debug kernel, whose config has no traffic control
#    (tools/vm/kernel.config).
DEBUG_TESTS="ftp_active.sh ftp_passive.sh ftp_nat_fail.sh ftp_attacks.sh ftp_stats.sh ftp_observe.sh ftp_segments.sh ftp_gap.sh ftp_idle.sh ftp_nat_leak.sh ftp_ctnetlink.sh ftp_race.sh ftp_ha.sh"
# Only the debug kernel can run these; make check-all too.
DEBUG_ONLY="ftp_race.sh ftp_failslab.sh"
TESTS_6_12="ftp_active.sh ftp_passive.sh ftp_nat.sh ftp_faults.sh ftp_lifetime.sh ftp_reserve.sh"
TESTS_7_2="ftp_active.sh ftp_passive.sh ftp_nat.sh ftp_stats.sh ftp_faults.sh ftp_lifetime.sh ftp_act_ct.sh"
if [[ -n ${NFE_CHECK_ALL:-} ]]; then
	DEBUG_TESTS="*" TESTS_6_12="*" TESTS_7_2="*"
	export NFE_HA_ALL=1
	LINE_FAULTS=()
	STOCK_SKIP="ftp_faults.sh ftp_matrix.sh $DEBUG_ONLY"
else
	LINE_FAULTS=(NFE_FAULT_ROUNDS=2 NFE_FAULT_XFERS=5)
	STOCK_SKIP="ftp_faults.sh ftp_matrix.sh ftp_ha.sh $DEBUG_ONLY"
fi
# The fetched lines, the longer first (tools/kernels/lines): the lane that
# is free first takes it.
LINES=$(kernel_lines fetch | paste -sd ' ')

# line_tests LINE: the selftests LINE runs.
line_tests() {
	local var=TESTS_${1//./_}
	echo "${!var}"
}

# other_lines: build for and test the kernel lines no lane has taken yet.
# Whichever lane gets here first takes the next line, so with the debug
# kernel cached (no 19-minute build) the debug lane shares them; mkdir is
# the atomic claim.
other_lines() {
	local line
	for line in $LINES; do
		mkdir "$logdir/claim-$line" 2>/dev/null || continue
		echo "${QUIET:+stock}" >"$logdir/claim-$line/lane"
		stage "build-$line" build "module against Debian $line headers, W=1" \
			make -s "build/$line/nf_ftp_embryo.ko"
		stage "selftest-$line" env "${LINE_FAULTS[@]}" NFE_ONLY="$(line_tests "$line")" NFE_SKIP="$DEBUG_ONLY" \
			NFE_SELFTEST_OUT="build/selftests/$line" \
			selftests/run-guest.sh "$line" "build/$line/nf_ftp_embryo.ko"
	done
}

# wait_for STAGE: until the other lane's STAGE has finished.
wait_for() {
	while [ ! -e "$logdir/$1.rc" ]; do sleep 5; done
}

# Two lanes, so two guests run side by side on the two cores: the stock
# lane in the background, the debug lane in the foreground.
stock_lane() {
	stage build-stock build "module against Debian 6.1 headers, W=1" \
		make -s build/stock/nf_ftp_embryo.ko
	stage host-test make -s -C tools/host-test check
	stage fuzz make -s -C tools/fuzz smoke
	# The fault tests get a guest of their own: they alone take minutes.
	stage selftest-stock env NFE_SKIP="$STOCK_SKIP" \
		selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
	# So does the client matrix, which is as long as the rest together.
	stage matrix-stock env NFE_ONLY=ftp_matrix.sh NFE_SELFTEST_OUT=build/selftests/matrix-stock \
		selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
	stage faults-stock env NFE_ONLY=ftp_faults.sh NFE_SELFTEST_OUT=build/selftests/faults-stock \
		selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
	# The client matrix cell by cell against the kernel's own
	# nf_conntrack_ftp: what works through it must work through
	# ftp-embryo.  make check compares with the recorded reference run,
	# make check-all runs the reference again (six minutes more).
	local ref=selftests/matrix-reference.cells
	if [[ -n ${NFE_CHECK_ALL:-} ]]; then
		stage matrix-reference env HELPER=ftp NFE_ONLY=ftp_matrix.sh \
			NFE_SELFTEST_OUT=build/selftests/matrix-reference selftests/run-guest.sh stock -
		ref=build/selftests/matrix-reference/tap.log
	fi
	stage matrix-table tools/matrix-table.sh build/selftests/matrix-stock/tap.log "$ref"
	# The other stock lines' kernels come from the debug lane's first stage.
	wait_for kernels
	stage install tools/install-test.sh $(kernel_lines host fetch)
	stage dkms tools/dkms-test.sh $(kernel_lines host fetch)
	# A few seconds of each part of make bench, so it keeps working.
	stage bench-smoke tools/bench/run.sh --smoke
	other_lines
}
stock_stages="build-stock host-test fuzz selftest-stock faults-stock matrix-stock matrix-table install dkms bench-smoke"
[[ -z ${NFE_CHECK_ALL:-} ]] || stock_stages+=" matrix-reference"
line_stages=
for line in $LINES; do
	line_stages+=" build-$line selftest-$line"
done

# Before the lanes: both lanes' selftests run the CLI this builds.  A
# -Werror build, then its usage errors on the host.
stage cli make -s -C tools/cli check
QUIET=1 stock_lane &
stock_pid=$!
# Downloads and the unstable chroot first: the stock lane needs them.
stage kernels tools/kernels/prepare.sh $(kernel_lines host fetch)
stage build-debug build "debug kernel, module and KUnit module, W=1" \
	make -s build/debug/nf_ftp_embryo.ko
# After build-debug: it needs the debug kernel tree.
stage lint tools/lint.sh
stage kunit tools/vm/run.sh --kernel debug -- \
	kunit/run-guest.sh build/debug/nf_ftp_embryo_kunit.ko
stage selftest-debug env NFE_ONLY="$DEBUG_TESTS" NFE_SKIP="ftp_faults.sh ftp_failslab.sh ftp_act_ct.sh" \
	selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
stage faults-debug env NFE_ONLY="ftp_faults.sh ftp_failslab.sh" NFE_SELFTEST_OUT=build/selftests/faults-debug \
	selftests/run-guest.sh debug build/debug/nf_ftp_embryo.ko
other_lines
echo "=== waiting for the stock lane"
wait "$stock_pid"
for name in $stock_stages; do
	cat "$logdir/$name.log"
done
# The lines the stock lane took; the debug lane's were shown as they ran.
for line in $LINES; do
	if [[ $(cat "$logdir/claim-$line/lane" 2>/dev/null) == stock ]]; then
		cat "$logdir/build-$line.log" "$logdir/selftest-$line.log"
	fi
done

tools/tap-summary.sh "$logdir" cli $stock_stages $line_stages kernels build-debug lint \
	kunit selftest-debug faults-debug
