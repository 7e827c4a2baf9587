#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# A line lost for good ahead of the helper (ftp_gap.py): one server reply
# bypasses conntrack on rtr, so the helper never reads it, as with a
# segment that was SACKed and never resent.  The negotiation after it
# must still open its pinhole, and the next one too.
# Usage (in the guest, as root): ftp_gap.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
load_module "${1:?usage: $0 MODULE.ko}"
topo_up
fw_up
# The lost reply is the only IPv4 packet from port 21 this long (ftp_gap.py:
# 100 bytes of payload); untracked, it passes the FORWARD chain by a rule of
# its own.  Conntrack, never having seen those bytes, would take the
# client's ACK of them for out of window: be liberal.
rtr_rule nft -f - <<-NFT
	table ip gap {
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			tcp sport 21 ip length 140-200 notrack
		}
	}
NFT
rtr_rule iptables -I FORWARD -m conntrack --ctstate UNTRACKED -j ACCEPT
rtr_rule sysctl -q -w net.netfilter.nf_conntrack_tcp_be_liberal=1
echo "# helper $HELPER on $(uname -r)"

rc=0
in_ns cli timeout 60 "$PY" "$here/ftp_gap.py" || rc=$?
((rc == 0)) || failed=$((failed + 1))
tap "gap: no pinhole or flow row left" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
