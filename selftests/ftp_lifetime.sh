#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock 6.12 7.2
# A record lives exactly as long as its conntrack is ours (issue 13, finding
# 1).  Root of a user namespace owns a network namespace (U), negotiates a
# PORT through the helper over lo, detaches the helper from that control
# connection over ctnetlink (which calls no destroy callback) and deletes
# the conntrack.  Then another namespace (B) churns new control connections
# that send only LIST: conntracks are SLAB_TYPESAFE_BY_RCU, so one of them
# likely reuses the freed conntrack's memory, and must not inherit the old
# negotiation (a pinhole at LIST without any PORT).  U's record must go,
# and so must the record of a detached conntrack that lives on.
# Usage (in the guest, as root): ftp_lifetime.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
LT=$here/ftp_lifetime.py
CHURN=300
failed=0

# The helper on every local control connection of a namespace.
RULES='table ip ftpe {
	ct helper ftp { type "ftp-embryo" protocol tcp; }
	chain out {
		type filter hook output priority filter;
		tcp dport 21 ct helper set "ftp"
	}
}'

holder=
cleanup() {
	local ns p
	# Every process in U, so that it goes away and its rules with it.
	if [[ -n $holder ]]; then
		ns=$(readlink "/proc/$holder/ns/net")
		for p in /proc/[0-9]*; do
			[[ $(readlink "$p/ns/net" 2>/dev/null) != "$ns" ]] || kill "${p#/proc/}" 2>/dev/null || true
		done
	fi
	if in_ns b true 2>/dev/null; then
		ip netns pids b | xargs -r kill 2>/dev/null || true
		ip netns del b
	fi
	rm -rf "$NFE_TMP"
}
trap cleanup EXIT

in_u() { nsenter -t "$holder" -U -n -- "$@"; }
u_stat() { in_u awk -v k="$1:" '$1 == k { print $2 }' /proc/net/nf_ftp_embryo/stats; }
b_stat() { in_ns b awk -v k="$1:" '$1 == k { print $2 }' /proc/net/nf_ftp_embryo/stats; }
is() { [[ $("${@:2}") == "$1" ]]; }

# negotiate N: a control connection in U that sent PORT and holds; prints
# its client port.
negotiate() {
	local out=$NFE_TMP/negotiate.$1
	in_u "$PY" "$LT" negotiate 127.0.0.1 21 >"$out" 2>&1 &
	wait_for 30 test -s "$out"
	cat "$out"
}

load_module "${1:?usage: $0 MODULE.ko}"
echo "# helper $HELPER on $(uname -r)"

# U: a network namespace owned by a user namespace; root there is not root
# of the machine.
unshare --user --map-root-user --net sleep 3600 &
holder=$!
if ! wait_for 10 in_u true 2>/dev/null; then
	echo "not ok - U: a network namespace owned by a user namespace (CONFIG_USER_NS?)"
	exit 1
fi
in_u ip link set lo up
in_u nft -f - <<<"$RULES"
# Backgrounded with their output elsewhere: run-guest.sh reads ours to EOF.
in_u "$PY" "$LT" server 127.0.0.1 21 >/dev/null 2>&1 &
wait_for 10 in_u "$PY" "$LT" up 127.0.0.1 21
sport=$(negotiate 1)
tap "U: PORT negotiated from client port $sport, one OPENED row" \
	wait_for 10 is 1 u_stat flows_current
in_u cat /proc/net/nf_ftp_embryo/flows | sed 's/^/#   /'

# Newer kernels refuse to detach a helper (EOPNOTSUPP, seen on 7.2): then
# the orphan cannot be made, and the rest checks the ordinary teardown.
detach() {
	local rc=0
	in_u "$PY" "$LT" detach 127.0.0.1 "$1" 127.0.0.1 21 || rc=$?
	if ((rc == 95)); then
		echo "ok - U: this kernel refuses to detach a helper over ctnetlink (EOPNOTSUPP)"
		return 0
	fi
	tap "U: its root detaches the helper over ctnetlink" test "$rc" = 0
	tap "U: the control connection's conntrack names no helper any more" \
		bash -c "! nsenter -t $holder -U -n -- conntrack -L -p tcp --sport $1 2>/dev/null | grep -q helper="
	detached=1
}
detached=0
detach "$sport"
in_u conntrack -D -p tcp --sport "$sport" >/dev/null 2>&1 || true
tap "U: the control connection's conntrack is deleted" \
	bash -c "! nsenter -t $holder -U -n -- conntrack -L -p tcp --sport $sport 2>/dev/null | grep -q ."

# B: new control connections; one likely takes the freed conntrack's slot.
ip netns add b
in_ns b ip link set lo up
in_ns b nft -f - <<<"$RULES"
in_ns b "$PY" "$LT" server 127.0.0.1 21 >/dev/null 2>&1 &
wait_for 10 in_ns b "$PY" "$LT" up 127.0.0.1 21
in_ns b "$PY" "$LT" churn 127.0.0.1 21 "$CHURN"
# An inherited record would also have carried U's stream position along.
tap "B: the helper read all $CHURN LISTs" is "$CHURN" b_stat cmd_transfer
tap "B: no LIST opened a pinhole (nothing inherited a PORT)" is 0 b_stat expect_created
tap "B: no flow row" is 0 b_stat flows_current
tap "U: connections_tracked back to 0" wait_for 15 is 0 u_stat connections_tracked
tap "U: no flow row" is 0 u_stat flows_current

# Detached but alive: no destroy callback will ever come for it either.
sport=$(negotiate 2)
tap "U: a second negotiation, from client port $sport" \
	wait_for 10 is 1 u_stat flows_current
detached=0
detach "$sport"
if ((detached)); then
	tap "U: its record goes with the helper, the conntrack still alive" \
		wait_for 15 is 0 u_stat connections_tracked
	tap "U: ... and its conntrack is still there" \
		bash -c "nsenter -t $holder -U -n -- conntrack -L -p tcp --sport $sport 2>/dev/null | grep -q ESTABLISHED"
fi

echo "# $0: ${SECONDS}s"
((failed == 0))
