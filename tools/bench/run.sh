#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the parser benchmark on the host, then every router benchmark
# in ONE stock-kernel QEMU boot (configurations alternated A B C A B C ...),
# then medians, ratios and targets into build/bench/results.json and a table.
# Usage: tools/bench/run.sh [--smoke]   (--smoke: a few seconds of each part,
# checked for sanity and reported as TAP lines; what make check runs)
# Absolute numbers under TCG on a shared machine are noise: compare the
# ratios, which come from the same boot.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$top"
smoke=()
if [[ ${1:-} == --smoke ]]; then
	smoke=(--smoke)
fi
out=$top/build/bench
mkdir -p "$out"

make -s -C tools/bench
make -s build/stock/nf_ftp_embryo.ko

# (5) the parser, on the host: wall clock (best of several runs) and
# instruction counts (repeatable on a shared machine).
parse=$out/parse.txt
if ((${#smoke[@]})); then
	"$out/parsebench" -i 100 -r 2 >"$parse"
else
	"$out/parsebench" -i 5000 -r 9 >"$parse"
	if command -v valgrind >/dev/null; then
		for m in none parse memchr; do
			valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$m" \
				"$out/parsebench" -m "$m" -i 200 >/dev/null 2>&1
			echo "callgrind_ir_$m $(awk '/^summary:/ { print $2 }' "$out/callgrind.$m")"
		done >>"$parse"
	fi
fi

# (1)-(4), (6) in the guest.  The idle-flow test needs memory for 100,000
# connections at both ends.
rm -rf "$out/guest"
mkdir -p "$out/guest"
# Opening 100,000 idle connections three times takes most of it: about 150
# connections/s under TCG while other guests share the two cores.
mem=3072 limit=5400
if ((${#smoke[@]})); then
	# Mostly boot and process start-up, which other guests slow down.
	mem=1024 limit=900
fi
# BENCH_LEVELS (idle flows, default "1 1000 10000 100000"), BENCH_ROUNDS (5)
# and BENCH_DUR (seconds per rate, 4) trade coverage for time.
tools/vm/run.sh --kernel stock --cpus 2 --mem "$mem" --timeout "$limit" --out "$out/guest" -- \
	env BENCH_LEVELS="${BENCH_LEVELS:-}" BENCH_ROUNDS="${BENCH_ROUNDS:-}" BENCH_DUR="${BENCH_DUR:-}" \
	bash tools/bench/guest.sh "${smoke[@]}" "$top/build/stock/nf_ftp_embryo.ko" "$out/guest/raw.txt"

python3 tools/bench/report.py "${smoke[@]}" --raw "$out/guest/raw.txt" --parse "$parse" \
	--json "$out/results.json"
