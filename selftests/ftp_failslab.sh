#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: debug
# needs: failslab
# guest: faults
# Exhaustion: allocation failure at every allocation site (failslab; the
# debug kernel only, Debian's kernels have no fault injection).
#
# rtr handles forwarded packets in softirq, and neither fault injection's
# task filter (make-it-fail) nor fail-nth ever applies there: fail_task()
# and should_fail_ex() ask in_task() first, whatever task the softirq
# borrowed (a sender's, at its local_bh_enable()).  "premise" below shows
# it: every packet sent by a make-it-fail process, nothing fails.  So rtr's
# veths get GRO and threaded NAPI: what cli sends is then handled in the
# kthread napi/r0-N, what srv sends in napi/r1-N, in task context (bottom
# halves off, as in softirq), and fail-nth on one of them fails the n-th
# slab allocation of the router's handling of that direction: the module's
# (flow record, split-line buffer, NAT rewrite record, expectation, event
# skbs) and the kernel's (conntrack and its extensions, skbs).  The
# module's contract, checked at every failure: no crash, leak or splat
# (run.sh judges dmesg and kmemleak), no pinhole but the negotiated one,
# no private address leaving a translated connection, and once the
# failures stop, transfers work and nothing is left.
#
# The kernel lets a new connection through without its helper when the
# helper extension cannot be allocated: init_conntrack() ignores the
# -ENOMEM of __nf_ct_try_assign_helper() (raw's CT target), and nft's
# "ct helper set" does nothing when nf_ct_helper_ext_add() fails.  Such a
# control connection passes uninspected: routed, it gets no pinhole and
# fails closed; translated, the inside address in its PORT or 227 leaves
# rtr as it is.  No ruleset can refuse it (nft's "ct helper" and xt_helper
# read the master's helper), and the module never sees it: the sweeps say
# so ("helper not attached") and leave it out of the module's checks.
#
#   namespaces  fail-nth 1, 2, 3, ... on unshare(CLONE_NEWNET): every
#               allocation of namespace creation fails once, the module's
#               pernet init's among them; then "ip netns add" in a
#               make-it-fail ip, at random.
#   premise     the make-it-fail sender, before NAPI is threaded; then the
#               same injection on napi/r1 fails the flow record.
#   sweeps      ftp_failslab.py: PASV, PORT, masqueraded PORT and PASV
#               through a port forward, each announcing line split in two
#               segments, each transfer swept once per direction, with a
#               listener on the module's events group.
#   soak        curl and vsftpd (EPSV, PASV, EPRT, PORT; routed, since a
#               translated one could meet the kernel's hole above at
#               random) with a few random failures (probability, times)
#               in both threads.
#   after       no failures: those and masqueraded ones work, nothing is
#               left on rtr, and srv's link never carried 192.168.124.x
#               but from a connection the helper was not attached to.
# Not failed: page allocations (no CONFIG_FAIL_PAGE_ALLOC) such as
# alloc_percpu's, and kmemleak's own objects (cache-filter), whose failure
# only costs kmemleak a pool entry.  Not reached: the module's own seqadj
# extension (ftpe_nat_prepare()): on 6.12 whatever attaches a helper to a
# translated conntrack (nf_nat, nft's ct helper set, act_ct) adds it first.
#
#   cli c0 ------------- r0 rtr r1 ------------- s0 srv
#   10.0.1.2             .1      10.0.2.1        10.0.2.2
#   192.168.124.10       .1      198.51.100.1    198.51.100.2
#
# Usage (in the guest, as root): ftp_failslab.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
ko=${1:?usage: $0 MODULE.ko}
mod=nf_ftp_embryo
fs=/sys/kernel/debug/failslab
FILE_SIZE=$((256 * 1024))
fsl=("$PY" "$here/ftp_failslab.py")

missing=()
[[ -d $fs ]] || missing+=("$fs (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS, debugfs mounted)")
[[ -e /proc/self/fail-nth ]] || missing+=("/proc/PID/fail-nth (CONFIG_FAULT_INJECTION)")
[[ $ko != - ]] || missing+=("nf_ftp_embryo.ko (got '-')")
if ((${#missing[@]})); then
	printf -v what '%s; ' "${missing[@]}"
	echo "not ok - failslab: missing ${what%; }"
	rm -rf "$NFE_TMP"
	exit 1
fi

# Everything changed is put back for the tests after this one: they share
# the guest (ftp_faults.sh counts on only its two caches being flagged).
knobs=(probability interval times space verbose task-filter ignore-gfp-wait cache-filter)
declare -A saved
for k in "${knobs[@]}"; do
	saved[$k]=$(<"$fs/$k")
done
flagged=()
cap=
restore() {
	local f k
	echo 0 >$fs/probability
	for f in "${flagged[@]}"; do
		echo 0 >"$f" 2>/dev/null || true
	done
	for k in "${knobs[@]}"; do
		echo "${saved[$k]}" >"$fs/$k" || true
	done
	[[ -z $cap ]] || kill "$cap" 2>/dev/null || true
	topo_down
	rm -rf "$NFE_TMP"
	[[ -d /sys/module/$mod ]] || insmod "$ko" || true
}
trap restore EXIT

# With cache-filter, only flagged caches fail: all of them but kmemleak's.
flag_all() {
	local f
	for f in /sys/kernel/slab/*/failslab; do
		case $f in */kmemleak*) continue ;; esac
		[[ $(<"$f") == 1 ]] && continue
		# A cache merged with others (refcount > 1) refuses; none is
		# when slab merging is off, as in the debug kernel.
		echo 1 >"$f" 2>/dev/null || continue
		flagged+=("$f")
	done
}
unflag() {
	local f
	for f in "${flagged[@]}"; do
		echo 0 >"$f"
	done
	flagged=()
}

# verbose 0: else each failure dumps a stack, which dmesg-check.sh (rightly)
# takes for a splat.  ignore-gfp-wait N: namespace creation allocates with
# GFP_KERNEL.  probability 0: nothing fails but what fail-nth asks for.
echo 0 >$fs/probability
echo 0 >$fs/verbose
echo N >$fs/ignore-gfp-wait
echo N >$fs/task-filter
echo Y >$fs/cache-filter
echo 1 >$fs/interval
echo 0 >$fs/space
echo 1 >$fs/times
flag_all

# --- namespaces: first, with no namespace of the test's around ---------------

t0=0
# shellcheck disable=SC2016 # eval expands it, each time
if [[ -d /sys/module/$mod ]] &&
	wait_for 30 eval '[[ $(</sys/module/$mod/refcnt) == 0 ]]'; then
	rmmod $mod || true
fi
[[ -d /sys/module/$mod ]] || t0=$("${fsl[@]}" count)
load_module "$ko"
"${fsl[@]}" netns "$t0" || failed=$((failed + 1))

# made_ok NAME: a namespace "ip netns add" made has the module's view.
made_ok() {
	in_ns "$1" grep -qx 'nomem: 0' /proc/net/nf_ftp_embryo/stats &&
		in_ns "$1" sysctl -q net.netfilter.nf_ftp_embryo_strict_active >/dev/null
}

# "ip netns add" in a make-it-fail ip: flagged once it has made fsl0 (its
# exec and its netlink socket would take every failure otherwise), it
# reads its commands from a FIFO. A failure that lands in ip's own setns()
# back to its namespace fails every later command of that ip, so a batch
# that made nothing is tried again, at most 3 times.  ip and its libraries
# run from tmpfs: a failure injected into a page fault of theirs on the
# guest's 9p root could leave that root unreadable for every process after
# it (CI, 1462678: "rm: command not found" in this script, then the next
# script's dirname "Invalid argument").
used=0 made=0 bad=0
ipcopy=$NFE_TMP/ipcopy
mkdir -p "$ipcopy"
for f in "$(command -v ip)" $(ldd "$(command -v ip)" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	cp "$f" "$ipcopy/"
done
ip_netns_batch() {
	local i ipb budget=4
	mkfifo "$NFE_TMP/ipb"
	LC_ALL=C "$ipcopy"/ld-linux-*.so.* --library-path "$ipcopy" "$ipcopy/ip" \
		-force -batch "$NFE_TMP/ipb" >"$NFE_TMP/ipb.log" 2>&1 &
	ipb=$!
	exec 7>"$NFE_TMP/ipb"
	echo "netns add fsl0" >&7
	if ! wait_for 30 test -e /run/netns/fsl0; then
		echo "# ip -batch made no fsl0:" && sed 's/^/#   /' "$NFE_TMP/ipb.log"
	fi
	echo 1 >"/proc/$ipb/make-it-fail"
	echo Y >$fs/task-filter
	echo $budget >$fs/times
	echo 1 >$fs/probability
	for ((i = 1; i <= 10; i++)); do
		echo "netns add fsl$i" >&7
	done
	exec 7>&-
	wait "$ipb" || true
	echo 0 >$fs/probability
	echo N >$fs/task-filter
	rm -f "$NFE_TMP/ipb"
	used=$((used + budget - $(<$fs/times)))
	ip netns del fsl0 2>/dev/null || true
	for ((i = 1; i <= 10; i++)); do
		[[ -e /run/netns/fsl$i ]] || continue
		# ip failed after naming it, before mounting it: not made.
		if ! mountpoint -q "/run/netns/fsl$i"; then
			rm -f "/run/netns/fsl$i"
			continue
		fi
		made=$((made + 1))
		made_ok "fsl$i" || bad=$((bad + 1))
		ip netns del "fsl$i"
	done
	sort "$NFE_TMP/ipb.log" | uniq -c | sed 's/^/#   ip: /'
}
ip_netns_add() {
	local try
	for ((try = 1; try <= 3 && made == 0; try++)); do
		ip_netns_batch
	done
	tap "failslab: netns: ip netns add in a make-it-fail ip (1 %, at most 4 failures a batch, $((try - 1)) batches): $used failures, $made of $((10 * (try - 1))) namespaces made, each with the module's stats and sysctl" \
		test "$used" -gt 0 -a "$made" -gt 0 -a "$bad" = 0
	tap "failslab: netns: none of them left" eval '! ls /run/netns | grep -q "^fsl"'
}
ip_netns_add

# --- rtr, cli, srv -------------------------------------------------------------

# neigh NS DEV PEER_NS PEER_DEV ADDR...: ADDR... at PEER_DEV's address, for good.
neigh() {
	local mac a
	mac=$(in_ns "$3" cat "/sys/class/net/$4/address")
	for a in "${@:5}"; do
		in_ns "$1" ip neigh replace "$a" lladdr "$mac" dev "$2" nud permanent
	done
}

# lib.sh's routed topology and topo_nat4's addresses on the same links,
# IPv4 alone and no ARP: while a thread is armed, only the test's own
# packets reach it.  srv has no route to 192.168.124.0/24.
failslab_topo() {
	local ns
	topo_links
	for ns in cli rtr srv; do
		in_ns $ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
	done
	in_ns cli ip addr add 10.0.1.2/24 dev c0
	in_ns cli ip addr add $LAN4/24 dev c0
	in_ns rtr ip addr add 10.0.1.1/24 dev r0
	in_ns rtr ip addr add 192.168.124.1/24 dev r0
	in_ns rtr ip addr add 10.0.2.1/24 dev r1
	in_ns rtr ip addr add $PUB4/24 dev r1
	in_ns srv ip addr add $SRV4/24 dev s0
	in_ns srv ip addr add $WAN4/24 dev s0
	in_ns cli ip route add default via 10.0.1.1
	in_ns srv ip route add 10.0.1.0/24 via 10.0.2.1
	neigh cli c0 rtr r0 10.0.1.1 192.168.124.1
	neigh rtr r0 cli c0 10.0.1.2 $LAN4
	neigh rtr r1 srv s0 $SRV4 $WAN4
	neigh srv s0 rtr r1 10.0.2.1 $PUB4
}

# lib.sh's firewall and helper on port 21; cli masqueraded; rtr:2121
# forwarded to cli:21, its helper attached by nft after the DNAT (as the
# README's nft rules do).
failslab_fw() {
	fw_up
	rtr_rule iptables -t nat -A POSTROUTING -o r1 -s 192.168.124.0/24 -j MASQUERADE
	rtr_rule iptables -t nat -A PREROUTING -i r1 -d $PUB4 -p tcp --dport 2121 \
		-j DNAT --to-destination $LAN4:21
	rtr_rule nft -f - <<-NFT
		table ip failslab {
			ct helper ftpe {
				type "$HELPER" protocol tcp
			}
			chain pre {
				type filter hook prerouting priority filter; policy accept;
				iifname "r1" ip daddr $LAN4 tcp dport 21 ct helper set "ftpe"
			}
		}
	NFT
}

# napi_pid DEV: the kthread polling DEV's NAPI (rtr's r0 or r1).
napi_pid() {
	local d comm
	for d in /proc/[0-9]*; do
		read -r comm <"$d/comm" 2>/dev/null || continue
		[[ $comm == "napi/$1-"* ]] && echo "${d#/proc/}" && return 0
	done
	return 1
}

# The premise wants the module's two caches alone flagged (run.sh flags
# them at boot, ftpe_flow again whenever the module makes it).
unflag
failslab_topo
failslab_fw
echo "# helper $HELPER on $(uname -r)"

# make-it-fail on the process that sends every packet, rtr's softirq
# handling them; then GRO on rtr's veths, and their NAPI in threads.
"${fsl[@]}" premise || failed=$((failed + 1))
in_ns rtr sh -c 'echo 1 >/sys/class/net/r0/threaded && echo 1 >/sys/class/net/r1/threaded'
p0=$(napi_pid r0) || true
p1=$(napi_pid r1) || true
if ! tap "failslab: rtr's packets from cli and srv are handled in kthreads napi/r0 (${p0:-none}) and napi/r1 (${p1:-none})" \
	test -n "$p0" -a -n "$p1"; then
	exit 1
fi
"${fsl[@]}" thread "$p0" "$p1" || failed=$((failed + 1))

# srv's side of rtr, from here to the end.
pcap=$NFE_TMP/s0.pcap
ip netns exec srv timeout 900 tcpdump -Z root -U -n -s 0 -i s0 -w "$pcap" tcp 2>"$pcap.err" &
cap=$!
if ! wait_for 30 grep -q "listening on" "$pcap.err"; then
	echo "# FATAL: tcpdump on s0 did not start:" && sed 's/^/#   /' "$pcap.err"
	exit 1
fi

flag_all
echo N >$fs/task-filter
start=$SECONDS
"${fsl[@]}" sweep "$p0" "$p1" "$NFE_TMP/unhelped" || failed=$((failed + 1))
echo "# sweeps: $((SECONDS - start)) s"

# --- soak: real clients, random failures -------------------------------------

# get SECONDS HOST CURL_OPTIONS...: file.bin from vsftpd on srv, whole.
get() {
	local rc=0
	rm -f "$NFE_TMP/got"
	# shellcheck disable=SC2048,SC2086 # options split on purpose
	in_ns cli curl -gsS --connect-timeout 4 -m "$1" ${*:3} -o "$NFE_TMP/got" \
		"ftp://$2/file.bin" 2>/dev/null || rc=$?
	((rc == 0)) && cmp -s "$NFE_TMP/got" "$NFE_TMP/ftp/file.bin"
}
routed=(
	"routed EPSV|$SRV4|"
	"routed PASV|$SRV4|--disable-epsv"
	"routed EPRT|$SRV4|--ftp-port -"
	"routed PORT|$SRV4|--ftp-port - --disable-eprt"
)
masqueraded=(
	"masqueraded PASV|$WAN4|--interface $LAN4 --disable-epsv"
	"masqueraded EPRT|$WAN4|--interface $LAN4 --ftp-port -"
	"masqueraded PORT|$WAN4|--interface $LAN4 --ftp-port - --disable-eprt"
)

ftpd_up
start=$SECONDS
budget=8
whole=0
echo 1 >"/proc/$p0/make-it-fail"
echo 1 >"/proc/$p1/make-it-fail"
echo Y >$fs/task-filter
echo $budget >$fs/times
echo 10 >$fs/probability
for m in "${routed[@]}"; do
	IFS='|' read -r name host opts <<<"$m"
	if get 20 "$host" "$opts"; then
		whole=$((whole + 1))
	fi
done
echo 0 >$fs/probability
echo 0 >"/proc/$p0/make-it-fail"
echo 0 >"/proc/$p1/make-it-fail"
used=$((budget - $(<$fs/times)))
tap "failslab: soak: $used of $budget random failures (10 %) hit rtr's threads in ${#routed[@]} curl downloads ($whole whole), $((SECONDS - start)) s" \
	test "$used" -gt 0
tap "failslab: soak: then nothing is left on rtr" wait_for 10 pinhole_closed

# --- after ------------------------------------------------------------------------

for m in "${routed[@]}" "${masqueraded[@]}"; do
	IFS='|' read -r name host opts <<<"$m"
	tap "failslab: after: $name download works" get 30 "$host" "$opts"
	tap "failslab: after: $name: no flow row, no expectation left" closed_after_transfer
done
echo "# rtr: $(in_ns rtr grep -E '^(nomem|nat_failed|nat_seqadj_added|expect_failed|expect_created|flows_created|events_suppressed):' \
	/proc/net/nf_ftp_embryo/stats | tr '\n' ' ')"

kill "$cap" 2>/dev/null || true
wait "$cap" 2>/dev/null || true
cap=
"${fsl[@]}" pcap "$pcap" "$NFE_TMP/unhelped" || failed=$((failed + 1))

echo "# $0: ${SECONDS}s"
((failed == 0))
