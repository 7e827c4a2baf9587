#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In the guest, after the command: fail on any kernel splat or kmemleak report.
# Usage: dmesg-check.sh FLAVOUR DUMP_FILE   (the full dmesg is saved to DUMP_FILE)
set -euo pipefail

flavour=$1
dump=$2
splat='BUG:|WARNING:|Oops|KASAN|UBSAN|possible recursive locking|circular locking'
splat+='|suspicious RCU usage|inconsistent lock state|sleeping function called from invalid context'
splat+='|refcount_t|general protection|Call Trace'

# kmemleak only reports an object unreferenced in a scan and older than 5 s,
# and skips objects whose contents changed since the previous scan: scan twice.
leak=/sys/kernel/debug/kmemleak
leaks=
if [[ -w $leak ]]; then
	echo scan >"$leak"
	sleep 5
	echo scan >"$leak"
	leaks=$(cat "$leak")
fi

dmesg >"$dump" 2>&1 || true
bad=$(grep -E -A 25 -- "$splat" "$dump" | head -n 300 || true)
if [[ -z $bad && -z $leaks ]]; then
	echo "ok - guest dmesg clean ($flavour)"
	exit 0
fi
echo "not ok - guest dmesg clean ($flavour)"
{
	[[ -z $bad ]] || printf '%s\n' "$bad"
	[[ -z $leaks ]] || printf 'kmemleak:\n%s\n' "$leaks" | head -n 200
} | sed 's/^/# /'
exit 1
