#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make stress: issue 8's load and fault tests at their full sizes, on the
# debug kernel (KASAN, lockdep, PROVE_RCU, kmemleak), each in a guest of
# its own: ftp_load.sh with 1000 concurrent sessions, ftp_faults.sh with 20
# unload rounds of 50 transfers in flight.  make check runs the same tests
# scaled down.  Prints their TAP lines and ends with "N passed, N failed".
# Sizes and the guest time limit can be overridden: NFE_LOAD_SESSIONS,
# NFE_LOAD_TRANSFERS, NFE_LOAD_PARALLEL, NFE_FAULT_ROUNDS, NFE_FAULT_XFERS, NFE_TIMEOUT (s).
# Not part of make check: hours under TCG.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logdir=build/stress
rm -rf "$logdir"
mkdir -p "$logdir"
ko=build/debug/nf_ftp_embryo.ko
export NFE_TIMEOUT=${NFE_TIMEOUT:-14400}

# guest NAME ENV...: one selftest run in its own debug guest, logged.
guest() {
	local name=$1 rc=0 start=$SECONDS
	shift
	env "$@" NFE_SELFTEST_OUT="$logdir/$name" \
		selftests/run-guest.sh debug "$ko" >"$logdir/$name.log" 2>&1 || rc=$?
	echo "# $name took $((SECONDS - start)) s" >>"$logdir/$name.log"
	echo "$rc" >"$logdir/$name.rc"
}

echo 0 >"$logdir/build.rc"
if make -s "$ko" >"$logdir/build.log" 2>&1; then
	echo "ok - build: debug kernel and module" | tee -a "$logdir/build.log"
	# Side by side, a guest per core; their logs follow when both end.
	guest load NFE_ONLY=ftp_load.sh \
		NFE_LOAD_SESSIONS="${NFE_LOAD_SESSIONS:-1000}" \
		NFE_LOAD_TRANSFERS="${NFE_LOAD_TRANSFERS:-2}" &
	guest faults NFE_ONLY=ftp_faults.sh \
		NFE_FAULT_ROUNDS="${NFE_FAULT_ROUNDS:-20}" \
		NFE_FAULT_XFERS="${NFE_FAULT_XFERS:-50}" &
	wait
	cat "$logdir/load.log" "$logdir/faults.log"
else
	cat "$logdir/build.log"
	echo "not ok - build: debug kernel and module" | tee -a "$logdir/build.log"
fi

tools/tap-summary.sh "$logdir" build load faults
