#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: run every stage, count the TAP lines they print ("ok - x" /
# "not ok - x" at the start of a line), and end with "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=kernels/lib.sh
. tools/kernels/lib.sh
# --plan: only say which selftests each guest stage would run (and, for
# make check-all, which it skips and why), and run nothing.
dry_run=
[[ ${1:-} != --plan ]] || dry_run=1
logdir=${NFE_LOGDIR:-$top/build/check}
if [[ -z $dry_run ]]; then
	rm -rf "$logdir"
	mkdir -p "$logdir"
fi
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

# Which selftests run on which kernel line their heads declare ("# lines:",
# selftests/README.md says why); make check-all runs each on every line
# that has what it needs.  Sizes differ, not which tests run:
if [[ -n ${NFE_CHECK_ALL:-} ]]; then
	# The router pair's every case, the fault tests at the stock size.
	export NFE_HA_ALL=1
	LINE_FAULTS=()
else
	# On the fetched lines the fault tests unload the module under 2 x 5
	# transfers, as on the debug kernel.
	LINE_FAULTS=(NFE_FAULT_ROUNDS=2 NFE_FAULT_XFERS=5)
fi
# The fetched lines, the longer first (tools/kernels/lines): the lane that
# is free first takes it.
LINES=$(kernel_lines fetch | paste -sd ' ')

# selftests_on LINE GUESTS KO [VAR=VALUE...]: one guest of LINE runs the
# selftests declared for LINE in the guests GUESTS (selftests/plan.sh),
# with KO and the VARs; a plan that cannot hold fails the stage.
selftests_on() {
	local line=$1 guests=$2 ko=$3 only
	shift 3
	# shellcheck disable=SC2086 # one guest a word
	only=$(selftests/plan.sh "$line" $guests | paste -sd ' ') || return 1
	if [[ -n $dry_run ]]; then
		echo "$only"
		return
	fi
	if [[ $guests == systemd ]]; then
		# Each boots its own guests, systemd as PID 1, from the host.
		local t rc=0
		for t in $only; do
			env "$@" "selftests/$t" "$line" "$ko" || rc=1
		done
		return "$rc"
	fi
	env "$@" NFE_ONLY="$only" selftests/run-guest.sh "$line" "$ko"
}

# The fault tests get a guest of their own on the stock and debug lanes:
# they alone take minutes.  So does the stock kernel's client matrix, which
# is as long as the rest together.
stock_guests() {
	local ko=build/stock/nf_ftp_embryo.ko
	stage selftest-stock selftests_on stock selftest "$ko"
	stage matrix-stock selftests_on stock matrix "$ko" NFE_SELFTEST_OUT=build/selftests/matrix-stock
	stage faults-stock selftests_on stock faults "$ko" NFE_SELFTEST_OUT=build/selftests/faults-stock
	stage systemd-stock selftests_on stock systemd "$ko" NFE_SELFTEST_OUT=build/selftests/systemd-stock
	# The client matrix cell by cell against the kernel's own
	# nf_conntrack_ftp: what works through it must work through
	# ftp-embryo.  make check compares with the recorded reference run,
	# make check-all runs the reference again (six minutes more).
	if [[ -n ${NFE_CHECK_ALL:-} ]]; then
		stage matrix-reference selftests_on stock matrix - HELPER=ftp \
			NFE_SELFTEST_OUT=build/selftests/matrix-reference
	fi
}

# On the debug lane only the fault tests get a guest of their own; the
# client matrix (there in make check-all only) runs with the rest.
debug_guests() {
	local ko=build/debug/nf_ftp_embryo.ko
	stage selftest-debug selftests_on debug "selftest matrix" "$ko"
	stage faults-debug selftests_on debug faults "$ko" NFE_SELFTEST_OUT=build/selftests/faults-debug
}

# One guest for all of a fetched LINE's selftests.
line_guests() {
	stage "selftest-$1" selftests_on "$1" "selftest matrix faults" "build/$1/nf_ftp_embryo.ko" \
		"${LINE_FAULTS[@]}" NFE_SELFTEST_OUT="build/selftests/$1"
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
		line_guests "$line"
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
	# The Debian packages: built, their contents, their units
	# (systemd-analyze verify) and lintian; about 40 s.
	stage deb tools/deb-build.sh
	stock_guests
	local ref=selftests/matrix-reference.cells
	[[ -z ${NFE_CHECK_ALL:-} ]] || ref=build/selftests/matrix-reference/tap.log
	stage matrix-table tools/matrix-table.sh build/selftests/matrix-stock/tap.log "$ref"
	# The other stock lines' kernels come from the debug lane's first stage.
	wait_for kernels
	stage install tools/install-test.sh $(kernel_lines host fetch)
	stage dkms tools/dkms-test.sh $(kernel_lines host fetch)
	# A few seconds of each part of make bench, so it keeps working.
	stage bench-smoke tools/bench/run.sh --smoke
	other_lines
}
stock_stages="build-stock host-test fuzz deb selftest-stock faults-stock systemd-stock matrix-stock matrix-table install dkms bench-smoke"
[[ -z ${NFE_CHECK_ALL:-} ]] || stock_stages+=" matrix-reference"
line_stages=
for line in $LINES; do
	line_stages+=" build-$line selftest-$line"
done

if [[ -n $dry_run ]]; then
	stage() {
		local name=$1 out
		shift
		out=$("$@" 2>&1)
		echo "$name: $(grep -v '^#' <<<"$out" | paste -sd ' ')"
		grep '^#' <<<"$out" | sed 's/^/  /'
	}
	stock_guests
	debug_guests
	for line in $LINES; do
		line_guests "$line"
	done
	exit
fi

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
debug_guests
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
