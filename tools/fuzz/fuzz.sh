#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fuzz.sh BINARY SECONDS: run one libFuzzer target for SECONDS over the
# committed seeds plus its growing corpus in build/fuzz, and print one TAP
# line "ok - fuzz: NAME N runs (R/s)" or "not ok - fuzz: NAME ...".  A
# finding is saved in build/fuzz/ as crash-*/leak-*/timeout-*.
set -uo pipefail
bin=$1 secs=$2
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$bin")
out=$(dirname "$bin")
work=$out/corpus-$name
log=$out/$name.log
mkdir -p "$work"
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
	-max_len=4096 -dict="$here/ftp.dict" -print_final_stats=1 \
	-artifact_prefix="$out/" "$work" "$here/corpus" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -n 1)
if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
	set -- $runs
	echo "ok - fuzz: $name $1 runs in $2 s ($(($1 / ($2 ? $2 : 1)))/s)"
else
	echo "not ok - fuzz: $name (exit $rc, log $log)"
	grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -n 20 | sed 's/^/# /'
	exit 1
fi
