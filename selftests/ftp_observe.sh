#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# What an admin can see and act on (issue 16): refusals logged through the
# namespace's netfilter log backend (NFLOG here: nfnetlink_log is the one
# backend the debug kernel has), flow events through ftp-embryo monitor,
# the CLI's JSON against its schema, OpenMetrics through a real parser
# (ftp_observe.py); then the CLI's version report, its write errors, and
# its exit status 3 when the module goes away under --watch and monitor,
# and the module's messages carrying its name.
# Usage (in the guest, as root): ftp_observe.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
CLI=$here/../tools/cli/ftp-embryo
SCHEMA=$here/../tools/cli/ftp-embryo.schema.json
ko=${1:?usage: $0 MODULE.ko}
mod=nf_ftp_embryo

if [[ $ko == - || ! -x $CLI ]]; then
	echo "not ok - observe: needs nf_ftp_embryo.ko (got '$ko') and the CLI ($CLI: make cli)"
	exit 1
fi
restore() {
	topo_down
	rm -rf "$NFE_TMP"
	[[ -d /sys/module/$mod ]] || insmod "$ko"
}
trap restore EXIT
load_module "$ko"
topo_up
fw_up
echo "# helper $HELPER on $(uname -r)"

# rtr's IPv4 refusals go to nfnetlink_log (a module on stock, built in on
# the debug kernel), which the script reads on NFLOG group 0.
modprobe -q nfnetlink_log 2>/dev/null || true
in_ns rtr sysctl -q -w net.netfilter.nf_log.2=nfnetlink_log
tap "observe: rtr's IPv4 log backend is nfnetlink_log" \
	test "$(in_ns rtr cat /proc/sys/net/netfilter/nf_log/2)" = nfnetlink_log

rc=0
"$PY" "$here/ftp_observe.py" "$CLI" "$SCHEMA" || rc=$?
((rc == 0)) || failed=$((failed + 1))

# The version the module says it is, as -V reports it.
want=$(modinfo -F version "$ko")
echo "# modinfo version: $want; ftp-embryo -V: $("$CLI" -V | tr '\n' ' ')"
tap "observe: -V reports the loaded module's version ($want)" \
	eval '"$CLI" -V | grep -qx "module $mod $want loaded"'
tap "observe: the module's version is the CLI's" \
	eval '"$CLI" -V | grep -q "^ftp-embryo $want "'
tap "observe: stats >/dev/full fails (exit 1)" \
	test "$(in_ns rtr "$CLI" stats >/dev/full 2>/dev/null; echo $?)" = 1

# The module goes away under a watching stats and a monitor: both exit 3.
in_ns rtr "$CLI" -w 1 stats >/dev/null 2>"$NFE_TMP/watch.err" &
watch=$!
in_ns rtr "$CLI" monitor >/dev/null 2>"$NFE_TMP/monitor.err" &
mon=$!
sleep 2
ct_rules -D
wait_for 15 eval '[[ $(cat /sys/module/$mod/refcnt) == 0 ]]' || true
rmmod "$mod"
src=0
wait "$watch" || src=$?
mrc=0
wait "$mon" || mrc=$?
echo "# stats -w: exit $src: $(tail -n 1 "$NFE_TMP/watch.err")"
echo "# monitor: exit $mrc: $(tail -n 1 "$NFE_TMP/monitor.err")"
tap "observe: stats -w exits 3 when the module is unloaded" test "$src" = 3
tap "observe: monitor exits 3 when the module is unloaded" test "$mrc" = 3
out=$("$CLI" stats 2>&1) && rc=0 || rc=$?
echo "# not loaded: exit $rc: $out"
tap "observe: not loaded: exit 3 and a modprobe hint" \
	eval '((rc == 3)) && [[ $out == *"modprobe $mod"* ]]'

# The admin guide's nft layout, with the module missing: the helper's own
# file fails, the firewall's loads; in one file the firewall is lost too.
ip netns add nftchk
cat >"$NFE_TMP/filter.nft" <<-'NFT'
	table inet filter {
		chain forward {
			type filter hook forward priority filter; policy drop;
			ct state established,related accept
			tcp dport 21 ct state new accept
		}
	}
NFT
cat >"$NFE_TMP/helper.nft" <<-'NFT'
	table inet ftp_helper {
		ct helper ftp-embryo {
			type "ftp-embryo" protocol tcp
		}
		chain pre {
			type filter hook prerouting priority filter; policy accept;
			tcp dport 21 ct helper set "ftp-embryo"
		}
	}
NFT
tap "observe: module missing: the helper's own nft file is rejected" \
	eval '! in_ns nftchk nft -f "$NFE_TMP/helper.nft" 2>/dev/null'
# Not "nft list | grep -q": grep leaving early fails nft with SIGPIPE,
# and pipefail turns that into a failed check.
tap "observe: module missing: the firewall's file still loads, policy drop" \
	eval 'in_ns nftchk nft -f "$NFE_TMP/filter.nft" &&
		[[ $(in_ns nftchk nft list chain inet filter forward) == *"policy drop"* ]]'
in_ns nftchk nft flush ruleset
cat "$NFE_TMP/filter.nft" "$NFE_TMP/helper.nft" >"$NFE_TMP/both.nft"
tap "observe: module missing: in one file, the firewall is lost too (why the guide splits)" \
	eval '! in_ns nftchk nft -f "$NFE_TMP/both.nft" 2>/dev/null &&
		[[ -z $(in_ns nftchk nft list ruleset) ]]'
ip netns del nftchk

# Every message names the module (pr_fmt).
since=$(dmesg | wc -l)
! insmod "$ko" max_flows=0 2>/dev/null
dmesg | tail -n +$((since + 1)) | sed 's/^/# dmesg: /'
tap "observe: kernel messages carry the prefix '$mod: '" \
	eval 'dmesg | tail -n +$((since + 1)) | grep -q "$mod: invalid max_flows=0"'

echo "# $0: ${SECONDS}s"
((failed == 0))
