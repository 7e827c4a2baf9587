#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock 7.2
# needs: act_ct
# FTP through a router whose firewall is tc's act_ct, as Open vSwitch
# offload setups track connections, instead of netfilter rules: no
# iptables or nft rule in rtr at all.  On both interfaces' ingress:
#
#   chain 0: every IP packet          -> ct [nat]           (lookup only)
#   chain 1: +trk+new tcp dport 21    -> ct commit [nat ...] helper ftp-embryo
#            +trk+est                 -> pass
#            +trk+rel                 -> ct commit [nat]    (the pinhole)
#            anything else            -> drop
#
# The lookup in chain 0 uses an uncommitted template, so conntrack finds
# the pinhole's expectation without unlinking it (nf_ct_find_expectation()
# with unlink false): the helper must remove it at the transfer's end
# itself, or it stays open until expect_timeout.
#
# Part 1, lib.sh's routed topology (IPv4 and IPv6): active and passive
# downloads, the pinhole there during the transfer and gone after it, a
# data connection that nothing negotiated dropped, and nothing opens
# without the helper.  Part 2, ftp_nat.sh's topology (IPv4): act_ct's own
# NAT, cli masqueraded behind rtr (PORT/EPRT rewritten) and a port forward
# rtr:2121 -> cli:21 (227 rewritten), and a PORT met twice, by act_ct
# and again by conntrack's netfilter hooks, rewritten only once.
#
# act_ct attaches helpers since Linux 6.2 (TCA_CT_HELPER_*): on 6.1 only
# the refusal and what needs no helper are checked.  Debian 12's tc cannot
# say "helper" either, so ftp_act_ct.py makes the ct actions over
# rtnetlink and the filters bind them by index; one case makes its action
# with a newer tc (tools/newer-tc.sh, $NFE_TC) in iproute2's own syntax,
# which can name only the helper's dash-free alias, ftp_embryo.
# Usage (in the guest, as root): ftp_act_ct.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

# Slow enough to look at the pinhole while the transfer runs.
FILE_SIZE=$((128 * 1024))
FTPD_MAX_RATE=$((64 * 1024))
REF=$NFE_TMP/ftp/file.bin
GOT=$NFE_TMP/got

# act INDEX WORDS...: a ct action in rtr's action table (ftp_act_ct.py).
act() {
	in_ns rtr "$PY" "$here/ftp_act_ct.py" "$@"
}

# rtr_tc ARGS...: a tc command on rtr that must work.
rtr_tc() {
	rtr_rule tc "$@"
}

# Action indices: lookups, commits with and without the helper.
A_CT=1 A_CT_NAT=2 A_COMMIT=3 A_COMMIT_NAT=4 A_NOHELPER4=5 A_NOHELPER6=6
A_HELPER4=7 A_HELPER6=8 A_SNAT=9 A_DNAT=10 A_TC4=11 A_TC_SNAT=12

# chain0 DEV LOOKUP: every IP packet through action LOOKUP, then chain 1;
# neighbour discovery passes untracked.
chain0() {
	rtr_tc qdisc add dev "$1" clsact
	rtr_tc filter add dev "$1" ingress chain 0 prio 1 protocol ip flower \
		action ct index "$2" pipe action goto chain 1
	rtr_tc filter add dev "$1" ingress chain 0 prio 2 protocol ipv6 flower \
		ip_proto icmpv6 action gact ok
	rtr_tc filter add dev "$1" ingress chain 0 prio 3 protocol ipv6 flower \
		action ct index "$2" pipe action goto chain 1
}

# chain1_tail DEV COMMIT: established passes, related is committed with
# action COMMIT, the rest is dropped.
chain1_tail() {
	local proto prio=10
	for proto in ip ipv6; do
		rtr_tc filter add dev "$1" ingress chain 1 prio $prio protocol $proto \
			flower ct_state +trk+est action gact ok
		rtr_tc filter add dev "$1" ingress chain 1 prio $((prio + 1)) protocol $proto \
			flower ct_state +trk+rel action ct index "$2" pipe action gact ok
		rtr_tc filter add dev "$1" ingress chain 1 prio $((prio + 10)) protocol $proto \
			flower action drop
		prio=$((prio + 2))
	done
}

# plain_rules ACT4 ACT6: part 1's rule set; new control connections from
# cli are committed with ACT4 (IPv4) or ACT6 (IPv6).
plain_rules() {
	chain0 r0 $A_CT
	chain0 r1 $A_CT
	rtr_tc filter add dev r0 ingress chain 1 prio 1 protocol ip flower \
		ip_proto tcp dst_port 21 ct_state +trk+new action ct index "$1" pipe action gact ok
	rtr_tc filter add dev r0 ingress chain 1 prio 2 protocol ipv6 flower \
		ip_proto tcp dst_port 21 ct_state +trk+new action ct index "$2" pipe action gact ok
	chain1_tail r0 $A_COMMIT
	chain1_tail r1 $A_COMMIT
}

rules_down() {
	in_ns rtr tc qdisc del dev r0 clsact
	in_ns rtr tc qdisc del dev r1 clsact
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
}

# probe NS ADDR PORT: what a connection attempt meets; prints
# "connected", "refused" or "timeout".
probe() {
	in_ns "$1" "$PY" -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("timeout")' "$2" "$3"
}

# probe_is WANT NS ADDR PORT
probe_is() {
	local got
	got=$(probe "$2" "$3" "$4")
	[[ $got == "$1" ]] && return 0
	echo "# connection to $3 port $4 from $2: $got, wanted $1"
	return 1
}

# A process in rtr, whose /proc/net is rtr's: polling through it costs
# no exec, which under a loaded TCG host can outlast a whole transfer.
rtr_proc_up() {
	ip netns exec rtr sleep infinity &
	RTR_PID=$!
	disown "$RTR_PID"
	RTR_NET=/proc/$RTR_PID/net
	if ! wait_for 30 in_rtr; then
		echo "# FATAL: cannot see rtr's /proc/net" >&2
		exit 1
	fi
}

in_rtr() {
	[[ $(stat -L -c %i "/proc/$RTR_PID/ns/net") == $(stat -L -c %i /run/netns/rtr) ]]
}

# Keep the pinhole in $NFE_TMP/exp once there is exactly one, and it is
# open: a NAT reservation for active mode admits nothing until the
# transfer command (INACTIVE).
caught_pinhole() {
	local e
	e=$(<"$RTR_NET/nf_conntrack_expect")
	[[ -n $e && $e != *$'\n'* && $e != *INACTIVE* ]] || return 1
	echo "$e" >"$NFE_TMP/exp"
}

# watched NS URL CURL_OPTIONS...: download URL in NS, byte for byte, and
# while it runs find the one pinhole on rtr; its line goes to $NFE_TMP/exp.
watched() {
	local ns=$1 url=$2 pid rc=0 log=$NFE_TMP/curl.log
	shift 2
	rm -f "$GOT" "$NFE_TMP/exp"
	ip netns exec "$ns" curl -gsS --connect-timeout 10 -m 120 "$@" -o "$GOT" "$url" 2>"$log" &
	pid=$!
	if ! wait_for 30 caught_pinhole; then
		echo "# no pinhole seen during the transfer"
		dump_state
		rc=1
	fi
	if ! wait "$pid"; then
		sed 's/^/#   curl: /' "$log"
		rc=1
	fi
	((rc == 0)) && same "$GOT" "$REF"
}

# The port the pinhole seen during the transfer opened.
pinhole_port() {
	grep -o 'dport=[0-9]*' "$NFE_TMP/exp" | head -n1 | cut -d= -f2
}

# After the transfer, the pinhole's port is closed again: a connection to
# it from NS to ADDR is dropped by rtr, not refused by the peer whose
# listener is gone.
reuse_dropped() {
	local port
	port=$(pinhole_port)
	[[ -n $port ]] || { echo "# no pinhole port"; return 1; }
	probe_is timeout "$1" "$2" "$port"
}

# case_xfer NAME NS URL PEER_NS PEER_ADDR CURL_OPTIONS...: one transfer and
# what it leaves: TAP lines for the transfer, the pinhole during it, the
# pinhole and flow gone after it, and its port closed again.
case_xfer() {
	local name=$1 ns=$2 url=$3 pns=$4 paddr=$5
	shift 5
	tap "$name: byte for byte, pinhole open during the transfer" \
		watched "$ns" "$url" "$@"
	tap "$name: no expectation, no flow left" closed_after_transfer
	tap "$name: its port closed again after the transfer" reuse_dropped "$pns" "$paddr"
	echo "# ${SECONDS}s"
}

stray_listening() {
	in_ns srv awk '$2 ~ /:9C40$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp6
}

# A listener on srv port 40000 that no negotiation announced, which srv
# itself reaches.
stray_listener() {
	in_ns srv "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(("::", 40000))
s.listen(8)
time.sleep(600)' &
	disown $!
	# Under a loaded TCG host python takes seconds to start.
	wait_for 30 stray_listening && probe_is connected srv 10.0.2.2 40000
}

# helper_support: does this kernel's act_ct attach helpers?  Makes the
# helper actions if it does.  6.1 (no TCA_CT_HELPER_*) refuses the
# attribute; a refusal anywhere else, or for another reason, fails.
helper_support() {
	local err
	if err=$(act $A_HELPER4 commit helper ftp-embryo inet 2>&1); then
		act $A_HELPER6 commit helper ftp-embryo inet6
		HELPERS=1
		return 0
	fi
	echo "# $err"
	HELPERS=0
	if [[ $err == *"Unknown attribute type"* ]] &&
		printf '%s\n' "$(uname -r | cut -d- -f1)" 6.2 | sort -V -C; then
		echo "# act_ct before Linux 6.2 cannot attach a helper: only the"
		echo "# cases that need none run on $(uname -r)"
		return 0
	fi
	return 1
}

# tc_named: the helper's dash-free name, as an admin types it with a tc
# that knows act_ct's helpers (tools/newer-tc.sh): iproute2 reads
# FAMILY-PROTO-NAME by splitting at every dash, so "ipv4-tcp-ftp-embryo"
# would name the kernel's "ftp".
tc_named() {
	local out
	[[ -x ${NFE_TC:-} ]] || { echo "# no tc that can name a helper (NFE_TC='${NFE_TC:-}')"; return 1; }
	in_ns rtr "$NFE_TC" actions add action ct commit helper ipv4-tcp-ftp_embryo \
		index $A_TC4 || return 1
	out=$(in_ns rtr "$NFE_TC" actions get action ct index $A_TC4) || return 1
	[[ $out == *"helper ipv4-tcp-ftp_embryo"* ]] && return 0
	echo "# tc reads the action back as:"
	echo "$out" | sed 's/^/#   /'
	return 1
}

load_module "${1:?usage: $0 MODULE.ko}"
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
if ! modprobe -a act_ct cls_flower sch_ingress act_gact; then
	echo "# FATAL: this kernel has no act_ct, flower or clsact" >&2
	exit 1
fi
topo_up
rtr_proc_up
ftpd_up
echo "# helper $HELPER on $(uname -r)"

# ---- part 1: routed ----
act $A_CT
act $A_COMMIT commit
act $A_NOHELPER4 commit
act $A_NOHELPER6 commit
tap "act_ct attaches ftp-embryo, or cannot on this kernel (6.1)" helper_support

tap "setup: an unannounced listener on srv is reachable from srv" stray_listener
plain_rules $A_NOHELPER4 $A_NOHELPER6
tap "ipv4 EPSV without helper: data connection dropped" \
	blocked_without_helper 4 -m 8
tap "a data connection no negotiation announced is dropped" \
	probe_is timeout cli $SRV4 40000
rules_down

if ((HELPERS)); then
	plain_rules $A_HELPER4 $A_HELPER6
	tap "a data connection no negotiation announced is dropped, helper attached" \
		probe_is timeout cli $SRV4 40000
	case_xfer "ipv4 PASV" cli "ftp://$SRV4/file.bin" cli $SRV4 \
		--disable-epsv --no-ftp-skip-pasv-ip
	case_xfer "ipv4 EPSV" cli "ftp://$SRV4/file.bin" cli $SRV4
	case_xfer "ipv4 PORT" cli "ftp://$SRV4/file.bin" srv 10.0.1.2 \
		--ftp-port - --disable-eprt
	case_xfer "ipv6 EPSV" cli "ftp://[$SRV6]/file.bin" cli $SRV6
	case_xfer "ipv6 EPRT" cli "ftp://[$SRV6]/file.bin" srv fd00:1::2 \
		--ftp-port -
	tap "each transfer's pinhole was used once and removed at its end" \
		test "$(counter expect_created) $(counter expect_used)" = "5 5"
	rules_down
	tap "tc's own syntax names the helper ftp_embryo" tc_named
	plain_rules $A_TC4 $A_HELPER6
	case_xfer "tc-named ipv4 PASV" cli "ftp://$SRV4/file.bin" cli $SRV4 \
		--disable-epsv --no-ftp-skip-pasv-ip
	rules_down
fi

# ---- part 2: act_ct's NAT ----
((HELPERS)) || { echo "# $0: ${SECONDS}s"; exit $((failed != 0)); }
topo_down
topo_nat4
rtr_proc_up
# act_ct translates on ingress, before routing: a masqueraded packet
# enters from r0 with rtr's own public address as its source (so does
# the port-forwarded server's reply), which routing drops as a martian
# unless it is accepted.
in_ns rtr sysctl -q -w net.ipv4.conf.r0.accept_local=1 \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.r0.rp_filter=0
ftpd_up
in_ns cli vsftpd "$NFE_TMP/vsftpd.conf" </dev/null >"$NFE_TMP/vsftpd-cli.out" 2>&1 &
cli_ftpd_listening() {
	in_ns cli awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp6
}
wait_for 30 cli_ftpd_listening || { echo "# FATAL: vsftpd on cli did not start" >&2; exit 1; }

act $A_CT_NAT nat
act $A_COMMIT_NAT commit nat
# The NAT half of the helper: refused before nf_nat_helper_register().
tap "act_ct attaches ftp-embryo to a masqueraded connection" \
	act $A_SNAT commit snat $PUB4 helper ftp-embryo inet
tap "act_ct attaches ftp-embryo to a port-forwarded connection" \
	act $A_DNAT commit dnat $LAN4 21 helper ftp-embryo inet
# The dash-free name has a NAT half of its own (ip_nat_ftp_embr).
tap "act_ct attaches ftp_embryo (tc's name) to a masqueraded connection" \
	act $A_TC_SNAT commit snat $PUB4 helper ftp_embryo inet
chain0 r0 $A_CT_NAT
chain0 r1 $A_CT_NAT
rtr_tc filter add dev r0 ingress chain 1 prio 1 protocol ip flower \
	ip_proto tcp dst_port 21 ct_state +trk+new action ct index $A_SNAT pipe action gact ok
rtr_tc filter add dev r1 ingress chain 1 prio 1 protocol ip flower \
	ip_proto tcp dst_ip $PUB4 dst_port 2121 ct_state +trk+new \
	action ct index $A_DNAT pipe action gact ok
chain1_tail r0 $A_COMMIT_NAT
chain1_tail r1 $A_COMMIT_NAT

# rewritten N CASE...: case_xfer, and the helper rewrote N lines.
rewritten() {
	local want=$1 before after
	shift
	before=$(counter nat_rewritten)
	case_xfer "$@"
	after=$(counter nat_rewritten)
	tap "$1: $want line(s) rewritten" test $((after - before)) = "$want"
}

# vsftpd (port_promiscuous=NO) refuses a PORT naming another address than
# the control connection's peer: PORT/EPRT must name rtr's public one.
rewritten 1 "masq ipv4 PORT" cli "ftp://$WAN4/file.bin" srv $PUB4 \
	--ftp-port - --disable-eprt
rewritten 1 "masq ipv4 EPRT" cli "ftp://$WAN4/file.bin" srv $PUB4 --ftp-port -
rewritten 0 "masq ipv4 PASV" cli "ftp://$WAN4/file.bin" cli $WAN4 \
	--disable-epsv --no-ftp-skip-pasv-ip
# srv has no route to 192.168.124.0/24: only a rewritten 227 leads back.
rewritten 1 "forward ipv4 PASV" srv "ftp://$PUB4:2121/file.bin" srv $PUB4 \
	--disable-epsv --no-ftp-skip-pasv-ip
rewritten 0 "forward ipv4 EPSV" srv "ftp://$PUB4:2121/file.bin" srv $PUB4
tap "nothing failed to rewrite" test "$(counter nat_failed)" = 0

# twice LINE: what srv's end of a control connection from cli reads of
# LINE, with "\r\n" spelled out; srv's FTP server is down by then.
twice() {
	"$PY" -c '
import socket, struct, sys
sys.path.insert(0, sys.argv[1])
from nsutil import enter
enter("srv")
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((sys.argv[2], 21))
lst.listen(1)
lst.settimeout(10)
enter("cli")
c = socket.create_connection((sys.argv[2], 21), 10)
s, _ = lst.accept()
c.sendall(sys.argv[3].encode() + b"\r\n")
s.settimeout(5)
got = b""
try:
    while b"\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
except OSError:
    pass
print(got.decode(errors="replace").replace("\r", "\\r").replace("\n", "\\n"))
for end in (c, s):
    end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    end.close()' "$here" "$WAN4" "$1"
}

# Conntrack's netfilter hooks on in rtr as well, as any nft rule on ct
# state turns them on: a packet act_ct has shown the helper meets it again
# in nf_confirm() on its way out of rtr, rewritten already.  The PORT must
# reach srv rewritten once, not mangled again at the same offset.  The
# kernel adjusts such a packet's sequence numbers twice as well, so the
# connection cannot go on after a rewrite that changes a length: only the
# line is checked.
ftpd_down vsftpd
rtr_rule nft -f - <<-'NFT'
	table ip twice {
		chain forward {
			type filter hook forward priority filter; policy accept;
			ct state established counter
		}
	}
NFT
before=$(counter packets)
got=$(twice "PORT 192,168,124,10,195,80")
echo "# srv read '$got'; the helper met $(($(counter packets) - before)) packet(s) with data"
tap "conntrack hooks on too: the PORT reaches srv rewritten once" \
	test "$got" = 'PORT 198,51,100,1,195,80\r\n'
tap "conntrack hooks on too: nothing failed to rewrite" \
	test "$(counter nat_failed)" = 0
in_ns rtr nft delete table ip twice
rules_down

echo "# $0: ${SECONDS}s"
((failed == 0))
