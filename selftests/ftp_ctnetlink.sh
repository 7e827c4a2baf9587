#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# An attacker on the ctnetlink input path (ftp_ctnetlink.py).  Root of any
# user namespace has CAP_NET_ADMIN over the conntrack table of a network
# namespace it owns, so an unprivileged user can hang expectations on its
# own connections, naming helpers and expect functions, through ctnetlink
# and through NFQUEUE verdicts: the review's reproduction (our expect
# function on a master of the kernel's ftp helper), expectations on masters
# of ours, helper detach and swap, conntrack delete and flush
# mid-negotiation, a hostile conntrackd's replays, and rmmod with all of
# that in place.  The attacker runs as
# nobody; this script, root of the machine, loads the kernel's ftp helper
# and the module, and does what the attacker asks of root (rmmod, insmod,
# reading the flows file).  A crash fails the run (the rig reads dmesg).
# Usage (in the guest, as root): ftp_ctnetlink.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

ko=${1:?usage: $0 MODULE.ko}
mod=nf_ftp_embryo
NOBODY=65534

if [[ $ko == - ]]; then
	echo "not ok - ctnetlink: the test needs nf_ftp_embryo.ko (got '-')"
	exit 1
fi
for tool in setpriv unshare nsenter iptables conntrack ip; do
	if ! command -v "$tool" >/dev/null; then
		echo "not ok - ctnetlink: $tool is missing"
		exit 1
	fi
done

att_pid=
loaded_ftp=0
restore() {
	[[ -z $att_pid ]] || kill "$att_pid" 2>/dev/null || true
	rm -rf "$NFE_TMP"
	[[ -d /sys/module/$mod ]] || insmod "$ko"
	# The attacker's namespace, whose rules hold nf_conntrack_ftp, goes
	# away asynchronously.
	if ((loaded_ftp)); then
		wait_for 15 eval '[[ $(cat /sys/module/nf_conntrack_ftp/refcnt) == 0 ]]' || true
		modprobe -r nf_conntrack_ftp || true
	fi
}
trap restore EXIT

load_module "$ko"
# The kernel's own FTP helper: a module on Debian's kernels, built into the
# debug kernel; ctnetlink and NFQUEUE, which would load on demand.
if [[ -d /lib/modules/$(uname -r) ]]; then
	if [[ ! -d /sys/module/nf_conntrack_ftp ]]; then
		modprobe nf_conntrack_ftp
		loaded_ftp=1
	fi
	modprobe -a nf_conntrack_netlink nfnetlink_queue xt_NFQUEUE
fi
# Whether NFQUEUE verdicts can make expectations: Debian's kernels carry
# their config, the debug kernel is built from our fragment.
glue=no
for conf in "/boot/config-$(uname -r)" "/lib/modules/$(uname -r)/build/.config" \
	"$here/../tools/vm/kernel.config"; do
	[[ -e $conf ]] || continue
	! grep -q '^CONFIG_NETFILTER_NETLINK_GLUE_CT=y' "$conf" || glue=yes
	break
done
echo "# helper $HELPER on $(uname -r); the attacker is uid $NOBODY, root of its own user namespace"
# The network namespace is made once the user namespace maps its root,
# as container runtimes do: then the kernel gives that root the
# namespace's /proc/net (made before the mapping, it would stay nobody's).
attacker=(setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups
	unshare --user --map-root-user unshare --net)
if ! "${attacker[@]}" true; then
	echo "not ok - ctnetlink: uid $NOBODY makes a user namespace owning a network namespace"
	exit 1
fi

# answer WHAT: do what the attacker asked of root (rmmod, insmod, flows:
# the attacker's flows file, sync: nothing); output as "| " lines, then
# "= STATUS".
answer() {
	local rc=0
	case $1 in
	rmmod) unload_module >&2 || rc=$? ;;
	insmod) insmod "$ko" >&2 || rc=$? ;;
	flows) nsenter -t "$att_pid" -n cat "$FLOWS" | sed 's/^/| /' || rc=$? ;;
	sync) ;; # what it printed before has been passed on
	*) rc=22 ;;
	esac
	echo "= $rc"
}

# Its stdout is TAP and requests ("@ WHAT"); answers go to its stdin.
# exec: its pid is the attacker's, whose namespace nsenter enters.
coproc ATTACKER { exec "${attacker[@]}" "$PY" "$here/ftp_ctnetlink.py" "$glue"; }
att_pid=$ATTACKER_PID
# Our own copies: bash closes the coprocess's when it is reaped.
exec {from_att}<&"${ATTACKER[0]}" {to_att}>&"${ATTACKER[1]}"
while IFS= read -r line <&"$from_att"; do
	case $line in
	"@ "*) answer "${line#@ }" >&"$to_att" ;;
	*) echo "$line" ;;
	esac
done
rc=0
wait "$att_pid" || rc=$?
att_pid=
((rc == 0)) || failed=$((failed + 1))
# 1: it printed its "not ok" lines; anything else killed it.
if ((rc != 0 && rc != 1)); then
	echo "not ok - ctnetlink: the attacker exited with $rc"
fi

echo "# $0: ${SECONDS}s"
((failed == 0))
