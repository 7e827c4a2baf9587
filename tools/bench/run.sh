#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: the parser benchmark on the host, then every router benchmark
# in ONE stock-kernel QEMU boot (configurations alternated A B C A B C ...),
# then medians, ratios and targets into build/bench/results.json and a table.
# Usage: tools/bench/run.sh [--smoke] [--wallclock]
#   --smoke: a few seconds of each part, checked for sanity and reported as
#   TAP lines (what make check runs).
#   --wallclock: two vCPUs on the host's clock instead of one vCPU in
#   instruction time; only for what several CPUs change (the multi-connection
#   rate), and its absolute numbers are host noise.
# By default the guest runs under QEMU's -icount shift=0,sleep=off: a guest
# nanosecond is one instruction, whatever else the host is doing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$top"
smoke=() clock=icount
for a in "$@"; do
	case $a in
	--smoke) smoke=(--smoke) ;;
	--wallclock) clock=wallclock ;;
	*) echo "usage: $0 [--smoke] [--wallclock]" >&2; exit 2 ;;
	esac
done
vm=(--icount)
[[ $clock == icount ]] || vm=(--cpus 2)
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
# BENCH_LEVELS (idle flows for A, B and C, default "1 1000 10000"),
# BENCH_C_LEVELS (for C alone, "100000"), BENCH_ROUNDS (2), BENCH_DUR and
# BENCH_TRACE_DUR (guest seconds per rate and per traced run, 0.3) trade
# coverage for time; BENCH_ONLY (the parts, e.g. "callbacks profile") and
# BENCH_CB_MODES and BENCH_PROF_MODES (the traced and the profiled
# modes; with --smoke too) pick what runs.  BENCH_STEADY (45 s; 0
# in --smoke, where it is skipped) is how long the idle connections stay
# quiet before memory is read again for the steady state, after the
# helper's park delay.
# The profile's instruction counts (tools/bench/insncount.c).
NFE_QEMU_ARGS="-plugin $out/insncount.so,arg=out=$out/guest/insn" \
	tools/vm/run.sh --kernel stock "${vm[@]}" --mem "$mem" --timeout "$limit" --out "$out/guest" -- \
	env BENCH_CLOCK=$clock BENCH_LEVELS="${BENCH_LEVELS:-}" BENCH_C_LEVELS="${BENCH_C_LEVELS:-}" \
	BENCH_ROUNDS="${BENCH_ROUNDS:-}" BENCH_ONLY="${BENCH_ONLY:-}" BENCH_CB_MODES="${BENCH_CB_MODES:-}" BENCH_PROF_MODES="${BENCH_PROF_MODES:-}" \
	BENCH_DUR="${BENCH_DUR:-}" BENCH_TRACE_DUR="${BENCH_TRACE_DUR:-}" \
	BENCH_STEADY="${BENCH_STEADY:-}" \
	bash tools/bench/guest.sh "${smoke[@]}" "$top/build/stock/nf_ftp_embryo.ko" "$out/guest/raw.txt"

python3 tools/bench/report.py "${smoke[@]}" --raw "$out/guest/raw.txt" --parse "$parse" \
	--json "$out/results.json"
