#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: debug
# needs: kasan
# A bounded concurrency stress for the record a control connection gets on
# its first payload byte (ftpe_flow_get()): many fresh connections through
# rtr whose banner races, on the other CPU, the connection's end - an RST
# from the client, or a ctnetlink delete (conntrack -D) in rtr - see
# ftp_race.py.  A record killed before it is in the flow table and linked
# after it is freed memory in the table, which the next walk of the table
# touches (the GC's, the flow view's, or an insert or removal in its
# bucket), and KASAN reports; run.sh fails on that.  The race walks the
# table after every round, as a freed record is soon reused.  Afterwards
# the GC work walks it, kmemleak scans on the debug kernel, and nothing may
# be left: no flow row, no expectation, every gauge of the stats at 0; and
# real transfers still work.
# Without the fix (38a3c76), on the debug kernel under TCG, KASAN reported
# in 4 of 6 runs of this size (in 10-40 s of racing), and in every one of
# 15 longer runs, within 10-150 s: how often the two CPUs meet the window
# depends on how the host schedules the guest's two vCPUs.
# Two CPUs are needed, and the guest must see them (the debug kernel has no
# ACPI: only a QEMU topology of one core per socket puts both in SeaBIOS's
# MP table).  NFE_RACE_ROUNDS x NFE_RACE_BATCH sizes it: 200 x 24 on the
# debug kernel (60-90 s in all under TCG), 300 x 32 on the stock one;
# NFE_RACE_KIND=rst or del races only that end.
# Usage (in the guest, as root): ftp_race.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
# The closing transfers only prove the helper still works: keep them short.
FILE_SIZE=65536
ko=${1:?usage: $0 MODULE.ko}

debug=0
grep -q 'nfe_kernel=debug' /proc/cmdline && debug=1
if ((debug)); then
	rounds=${NFE_RACE_ROUNDS:-200} batch=${NFE_RACE_BATCH:-24}
else
	rounds=${NFE_RACE_ROUNDS:-300} batch=${NFE_RACE_BATCH:-32}
fi
kind=${NFE_RACE_KIND:-both}
# A record is reaped by the GC work this long after it was made (flowtab.h).
GC_SECS=10
KMEMLEAK=/sys/kernel/debug/kmemleak

# As ftp_load.sh: only kmemleak reports new since the test began are this
# test's, and one scan may miss an object whose contents just changed.
# Objects younger than 5 s are never reported: the race's are older, as
# the GC wait comes first.
leaked_objects() {
	grep -o '^unreferenced object 0x[0-9a-f]*' "$KMEMLEAK" | sort || true
}
no_new_leak() {
	local new
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	new=$(leaked_objects | grep -vxF -e "$leaks0" -e '' || true)
	[[ -z $new ]] && return 0
	echo "# new kmemleak reports: $(grep -c . <<<"$new")"
	sed 's/^/#   /' "$KMEMLEAK" | head -n 60
	return 1
}

# net_rx: NET_RX softirqs per CPU, space-separated.
net_rx() {
	awk '$1 == "NET_RX:" { $1 = ""; print }' /proc/softirqs
}

# gauges_zero: every gauge of rtr's stats at 0.
gauges_zero() {
	local g v rc=0
	for g in connections_tracked flows_current expect_live; do
		v=$(counter "$g") || v=missing
		[[ $v == 0 ]] || { echo "# $g: $v"; rc=1; }
	done
	return $rc
}

# The race leaves its conntracks in CLOSE for 10 s; records of any that
# missed their RST go with them (the destroy callback, or the GC's reaping).
settled() {
	wait_for 60 eval 'gauges_zero >/dev/null && pinhole_closed' && return 0
	gauges_zero || true
	dump_state
	return 1
}

load_module "$ko"
if (($(nproc) < 2)); then
	echo "not ok - race: two CPUs to race on (the guest has $(nproc))"
	exit 1
fi
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
topo_up
fw_up
echo "# helper $HELPER on $(uname -r), $rounds rounds x $batch connections ($kind), $(nproc) CPUs"
if ((debug)) && tap "race: kmemleak present" test -w "$KMEMLEAK"; then
	leaks0=$(leaked_objects)
fi

echo "# set up in $SECONDS s"
rx0=$(net_rx)
rc=0
# Straight to the console: a hit may panic the guest (oops=panic) mid-race.
in_ns cli timeout $((300 + 2 * rounds)) "$PY" "$here/ftp_race.py" "$rounds" "$batch" "$kind" 2>&1 |
	tee "$NFE_TMP/race.out" || rc=$?
race_end=$SECONDS
declare -A res=()
read -ra kvs <<<"$(sed -n 's/^# result //p' "$NFE_TMP/race.out")"
for kv in "${kvs[@]}"; do
	res[${kv%%=*}]=${kv#*=}
done
echo "# NET_RX softirqs per CPU: before $rx0, after $(net_rx)"
echo "# ${res[secs]:-?} s (${res[connect_secs]:-?} s connecting), operations of ${res[op_us]:-?} us;" \
	"${res[rst]:-?} RSTs, ${res[deleted]:-?} deletes (${res[delete_missed]:-?} found nothing);" \
	"one side began while the other's part was under way: ${res[together_rst]:-?} times" \
	"with an RST, ${res[together_del]:-?} with a delete"
tap "race: $((rounds * batch)) banners raced their connection's end on another CPU" \
	test "$rc:${res[connections]:-}" = "0:$((rounds * batch))"
# Without both sides ever in flight at once the run proved nothing.
tap "race: banner and its RST or delete under way together at least once" \
	test "$((${res[together_rst]:-0} + ${res[together_del]:-0}))" -gt 0

# The helper still does its job; meanwhile the GC work comes due.
ftpd_up
tap "race: afterwards a passive IPv4 transfer works" download 4
tap "race: afterwards an EPSV IPv6 transfer works" download 6

# The GC work walks the table 10 s after a record is made, and again while
# any is left: a freed record the race linked would be touched by then.
while ((SECONDS < race_end + GC_SECS + 2)); do
	sleep 1
done
echo "# race done at $race_end s, GC walked by $SECONDS s"
tap "race: nothing left once the connections are gone" settled
# A walk of our own (the flow view), over what the GC saw.
in_ns rtr cat "$FLOWS" >/dev/null
tap "race: no flow rows, no expectations" pinhole_closed
tap "race: connections_tracked, flows_current, expect_live all 0" gauges_zero
if ((debug)) && [[ -w $KMEMLEAK ]]; then
	tap "race: kmemleak: nothing new unreferenced" no_new_leak
fi

echo "# $0: ${SECONDS}s"
((failed == 0))
