#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tap-summary.sh DIR NAME...: count the TAP lines ("ok - x" / "not ok - x"
# at the start of a line) of each DIR/NAME.log and end with "N passed,
# N failed"; exit 1 on any failure.  A run that exited non-zero, or left
# no DIR/NAME.rc (it was cut off), without a failure of its own (it could
# not build, boot or run), or that reported nothing at all (never ran),
# counts as one failure: nothing is ever skipped.
set -uo pipefail
dir=$1
shift
passed=0
failed=0
for name in "$@"; do
	log=$dir/$name.log
	rc=$(cat "$dir/$name.rc" 2>/dev/null || echo 255)
	ok=$(grep -c '^ok - ' "$log" 2>/dev/null)
	bad=$(grep -c '^not ok - ' "$log" 2>/dev/null)
	ok=${ok:-0} bad=${bad:-0}
	if ((rc != 0 && bad == 0)); then
		echo "not ok - $name (exit $rc, see $log)"
		bad=1
	fi
	if ((ok == 0 && bad == 0)); then
		echo "not ok - $name reported no result"
		bad=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
done
echo "$passed passed, $failed failed"
((failed == 0))
