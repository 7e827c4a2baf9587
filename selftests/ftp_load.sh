#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# Load (issue 8): NFE_LOAD_SESSIONS FTP sessions at once through the router
# with the helper attached, from one client process (ftp_load.py): all
# logged in together, then each does NFE_LOAD_TRANSFERS downloads (at most
# NFE_LOAD_PARALLEL in flight, over all sessions), mixed
# PASV/PORT/EPSV/EPRT over IPv4 and IPv6, half of them from client
# addresses the router masquerades (so PORT/EPRT go through the module's
# NAT rewrite).  Every file must arrive whole; afterwards no flow entry, no
# expectation, counters that add up, and on the debug kernel no new
# kmemleak report.  Prints sessions, wall time and memory as TAP comments.
# Sizes: 100 sessions on the stock kernel, 40 on the debug one (about 3x
# slower under TCG, and kmemleak's scans take long); make stress runs 1000.
# Usage (in the guest, as root): ftp_load.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
ko=${1:?usage: $0 MODULE.ko}

debug=0
grep -q 'nfe_kernel=debug' /proc/cmdline && debug=1
if ((debug)); then
	sessions=${NFE_LOAD_SESSIONS:-40}
else
	sessions=${NFE_LOAD_SESSIONS:-100}
fi
xfers=${NFE_LOAD_TRANSFERS:-2}
# Transfers in flight at most: the single client process must read each
# 227/229 well within the pinhole's 60 s (expect_timeout); a thousand at
# once starve it that long on the debug kernel.
parallel=${NFE_LOAD_PARALLEL:-100}
# Client addresses masqueraded to rtr's own on the way to srv; one
# character longer than those (10.0.2.1, fd00:2::1), so every rewritten
# PORT/EPRT shifts the control connection's sequence numbers.
NAT4=10.0.1.33
NAT6=fd00:1::33
# Files of different sizes: a data connection delivering another
# session's file would show.
FILES=(a.bin b.bin c.bin d.bin)
SIZES=(1000 10000 50000 150000)
# lib.sh's own file.bin goes unused.
# shellcheck disable=SC2034 # FILE_SIZE and FTPD_EXTRA_CONF: for lib.sh
FILE_SIZE=1024
# vsftpd: no limit on clients, none per address (the masqueraded ones all
# come from rtr); sessions that logged in first wait idle for the last
# ones; under TCG a data connection can take long.  One process per session
# instead of two: a thousand sessions must fit in the guest's memory.
# shellcheck disable=SC2034
FTPD_EXTRA_CONF="max_clients=0
max_per_ip=0
idle_session_timeout=1800
data_connection_timeout=600
accept_timeout=600
connect_timeout=600
one_process_model=YES
log_ftp_protocol=NO"
# The client holds up to three sockets per session; vsftpd's listener
# inherits this too.
ulimit -n 65536

# mem: the numbers the issue asks for, on one line.
mem() {
	local line
	line=$(awk '/^(Slab|SUnreclaim|MemAvailable):/ { printf "%s %d MiB  ", $1, $2 / 1024 }' /proc/meminfo)
	# SLUB may merge a cache into another of the same shape: say so.
	# "objects" counts what a CPU holds cached as in use, like slabinfo.
	for c in ftpe_flow nf_conntrack nf_conntrack_expect; do
		local d=/sys/kernel/slab/$c n size
		if [[ -L $d ]]; then
			line+=" $c: merged"
		elif [[ -r $d/objects ]]; then
			read -r n _ <"$d/objects"
			read -r size <"$d/object_size"
			line+=" $c: $n x $size B"
		fi
	done
	echo "# memory $1: $line"
}

# stats: every counter of rtr into the associative array named $1.
stats() {
	local -n into=$1
	local k v
	while read -r k v; do
		# shellcheck disable=SC2034 # a name reference: the caller's array
		into[${k%:}]=$v
	done <<<"$(in_ns rtr cat /proc/net/nf_ftp_embryo/stats)"
}

# kmemleak reports anything unreferenced; only what is new since the test
# began is this test's (an earlier test's leak fails the run anyway, in
# dmesg-check.sh).  Objects younger than 5 s are never reported, and one
# scan may miss an object whose contents just changed: wait, scan twice.
KMEMLEAK=/sys/kernel/debug/kmemleak
leaked_objects() {
	grep -o '^unreferenced object 0x[0-9a-f]*' "$KMEMLEAK" | sort || true
}
no_new_leak() {
	local new
	sleep 6
	echo scan >"$KMEMLEAK"
	echo scan >"$KMEMLEAK"
	# No <(...): the guest has no /dev/fd.
	new=$(leaked_objects | grep -vxF -e "$leaks0" -e '' || true)
	[[ -z $new ]] && return 0
	echo "# new kmemleak reports: $(grep -c . <<<"$new")"
	sed 's/^/#   /' "$KMEMLEAK" | head -n 60
	return 1
}

# Where packets were lost (for a failure's post-mortem): rtr's conntrack
# statistics, the TCP ends' drop counters, the receive backlogs' drops.
net_diag() {
	local ns d drops=0
	# conntrack -S: per CPU "cpu=N k=v ...", then the expectation line.
	echo "# rtr conntrack -S (non-zero): $({ in_ns rtr conntrack -S; in_ns rtr conntrack -S expect; } |
		awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
		END { for (k in s) if (s[k] && k !~ /^(cpu|found|search_restart)$/)
			printf "%s=%d ", k, s[k] }')"
	for ns in cli srv; do
		echo "# $ns: $(in_ns $ns nstat -asz TcpExtListenDrops TcpExtListenOverflows \
			TcpExtTCPSynRetrans TcpAttemptFails TcpRetransSegs TcpExtTCPTimeouts |
			awk 'NR > 1 && $2 { printf "%s=%s ", $1, $2 }')"
	done
	while read -r _ d _; do
		drops=$((drops + 16#$d))
	done </proc/net/softnet_stat
	echo "# softnet drops: $drops"
}

settled() {
	wait_for 30 pinhole_closed && return 0
	echo "# left: $(expectations | grep -c .) expectation lines, $(flows | grep -c .) flow rows; the first:"
	{ expectations; flows; } | head -n 20 | sed 's/^/#   /'
	return 1
}

untracked() {
	[[ $(counter connections_tracked) == 0 ]]
}

# delta NAME: how much counter NAME grew during the load.
delta() {
	echo $((${after[$1]:-0} - ${before[$1]:-0}))
}

# is_delta NAME WANT: counter NAME grew by exactly WANT.
is_delta() {
	local d
	d=$(delta "$1")
	[[ $d == "$2" ]] && return 0
	echo "# $1 +$d, want +$2"
	return 1
}

# counters_add_up: every transfer the client asked for is one negotiation,
# one pinhole used, one completed flow; nothing failed or was refused.
counters_add_up() {
	local rc=0 k
	is_delta cmd_pasv "${res[pasv]}" || rc=1
	is_delta cmd_epsv "${res[epsv]}" || rc=1
	is_delta cmd_port "${res[port]}" || rc=1
	is_delta cmd_eprt "${res[eprt]}" || rc=1
	is_delta cmd_transfer "${res[transfers]}" || rc=1
	is_delta flows_created "${res[transfers]}" || rc=1
	is_delta expect_created "${res[transfers]}" || rc=1
	is_delta expect_used "${res[transfers]}" || rc=1
	is_delta flows_completed "${res[transfers]}" || rc=1
	is_delta nat_rewritten "${res[nat_active]}" || rc=1
	for k in flows_aborted expect_failed expect_expired nomem malformed \
		refused_table_full refused_bounce refused_third_party \
		refused_privileged_port refused_unsolicited nat_failed; do
		is_delta "$k" 0 || rc=1
	done
	return $rc
}

topo_setup "$ko"
echo "# helper $HELPER on $(uname -r), $sessions sessions x $xfers transfers, at most $parallel at once"
for i in "${!FILES[@]}"; do
	head -c "${SIZES[i]}" /dev/urandom >"$NFE_TMP/ftp/${FILES[i]}"
	chmod 644 "$NFE_TMP/ftp/${FILES[i]}"
done
in_ns cli ip addr add $NAT4/24 dev c0
in_ns cli ip addr add $NAT6/64 dev c0 nodad
rtr_rule iptables -t nat -A POSTROUTING -o r1 -s $NAT4 -j MASQUERADE
rtr_rule ip6tables -t nat -A POSTROUTING -o r1 -s $NAT6 -j MASQUERADE

# Conntrack sizes itself by memory: a 1 GiB guest allows 128 expectations
# in all, fewer than the sessions negotiating at once.  Both limits are
# global (init_net only) and must be raised by the admin of a busy router
# too; every session's control and data connections stay counted until
# their TIME_WAIT ends.
need=$((sessions * (xfers + 1) + 64))
limits0=$(sysctl net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_expect_max |
	tr -d ' ' | paste -sd ' ')
# The later tests in this guest get the defaults back.
# shellcheck disable=SC2064 # now: the values to restore
trap "topo_down; rm -rf '$NFE_TMP'; sysctl -q -w $limits0" EXIT
sysctl -q -w net.netfilter.nf_conntrack_expect_max=$((sessions + 64))
(($(sysctl -n net.netfilter.nf_conntrack_max) >= need)) ||
	sysctl -q -w net.netfilter.nf_conntrack_max=$need
echo "# nf_conntrack_max $(sysctl -n net.netfilter.nf_conntrack_max)," \
	"nf_conntrack_expect_max $(sysctl -n net.netfilter.nf_conntrack_expect_max)"

if ((debug)) && tap "kmemleak present" test -w "$KMEMLEAK"; then
	leaks0=$(leaked_objects)
fi
declare -A before after res
stats before
mem before
echo "# set up in $SECONDS s"
start=$SECONDS

coproc LOAD {
	in_ns cli "$PY" "$here/ftp_load.py" "$sessions" "$xfers" "$NFE_TMP/ftp" "${FILES[@]}" \
		--srv4 "$SRV4" --srv6 "$SRV6" --cli4 10.0.1.2 --cli6 fd00:1::2 \
		--nat4 $NAT4 --nat6 $NAT6 --parallel "$parallel" 2>&1
}
# Bash drops a coprocess's descriptors when it exits: keep copies, so its
# last lines can still be read.
exec {from}<&"${LOAD[0]}" {to}>&"${LOAD[1]}"
load_pid=${LOAD_PID:?}
# Only a guard against a hung client, which keeps time itself: it is
# silent while a phase runs, and a thousand logins take over ten minutes
# on a loaded debug guest.
ready=
while read -r -t 7200 line <&$from; do
	[[ $line == ready* ]] && ready=${line#ready } && break
	echo "$line"
done
tap "all $sessions sessions logged in at once" test "$ready" = "$sessions"
tap "all $sessions control connections tracked at once" \
	test "$(counter connections_tracked)" = "$sessions"
mem "with $sessions sessions open"
echo go >&$to || true
result=
while read -r -t 7200 line <&$from; do
	if [[ $line == result* ]]; then
		result=${line#result }
	else
		echo "$line"
	fi
done
rc=0
wait "$load_pid" || rc=$?
for kv in $result; do
	res[${kv%%=*}]=${kv#*=}
done
echo "# load: $sessions sessions, ${res[transfers]:-?} transfers, ${res[bytes]:-?} bytes" \
	"in ${res[secs]:-?} s of transfers, $((SECONDS - start)) s in all"
tap "every file of every session arrived whole" \
	test "$rc:${res[whole]:-}:${res[failed]:-}" = "0:$sessions:0"
net_diag

# The last FINs may still be on their way through rtr.
tap "no flow entry, no expectation left" settled
tap "no control connection tracked any more" wait_for 30 untracked
stats after
echo "# settled at $SECONDS s"
tap "counters add up: $sessions sessions, ${res[transfers]:-?} transfers" counters_add_up
echo "# nat_rewritten +$(delta nat_rewritten), nat_seqadj_added +$(delta nat_seqadj_added)"
mem after
if ((debug)) && [[ -w $KMEMLEAK ]]; then
	t=$SECONDS
	tap "kmemleak: nothing new unreferenced after the load" no_new_leak
	echo "# kmemleak scans: $((SECONDS - t)) s"
fi

echo "# $0: ${SECONDS}s"
((failed == 0))
