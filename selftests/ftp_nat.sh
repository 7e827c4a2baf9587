#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock 6.12 7.2
# FTP through NAT: the helper rewrites PORT/EPRT/227/229 and the data
# connection follows the control connection's translation.
#
#   cli c0 ---------- r0 rtr r1 ---------- s0 srv
#   192.168.124.10      .1   198.51.100.1     198.51.100.2
#   fd00:124::10       ::1   2001:db8:100::1  2001:db8:100::2
#
# cli is a libvirt guest on a natted bridge, srv a host outside that has no
# route back to 192.168.124.0/24 or fd00:124::/64: only translation reaches
# cli. Both run vsftpd. Scenarios, each with iptables and with nft rules:
#   masq:    cli's clients go out through MASQUERADE to srv's server.
#   forward: srv's clients reach cli's server through the port forward
#            rtr:2121 -> cli:21 (DNAT).
#   both:    the port forward also masquerades the client towards cli
#            (SNAT + DNAT on one connection).
# vsftpd's defaults (port_promiscuous=NO, pasv_promiscuous=NO) refuse a
# PORT whose address is not the control connection's peer and a data
# connection from another address, and curl and lftp are told to use the
# address a 227 names: every rewrite and translation must be right.
# Usage (in the guest, as root): ftp_nat.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

FILE_SIZE=$((256 * 1024))
LAN6=fd00:124::10
PUB6=2001:db8:100::1
WAN6=2001:db8:100::2
REF=$NFE_TMP/ftp/file.bin
GOT=$NFE_TMP/got

# lib.sh's NAT topology (topo_nat4) and its IPv6 twin; srv has no route
# back to cli's networks.
nat_topo_up() {
	topo_nat4
	in_ns cli ip addr add $LAN6/64 dev c0 nodad
	in_ns rtr ip addr add fd00:124::1/64 dev r0 nodad
	in_ns rtr ip addr add $PUB6/64 dev r1 nodad
	in_ns srv ip addr add $WAN6/64 dev s0 nodad
	in_ns cli ip -6 route add default via fd00:124::1
}

# The iptables rule set (Debian's iptables is iptables-nft, on xt targets).
ipt_rules() {
	local ipt lan=192.168.124.0/24 pub=$PUB4 to=$LAN4:21
	for ipt in iptables ip6tables; do
		if [[ $ipt == ip6tables ]]; then
			lan=fd00:124::/64 pub=$PUB6 to=[$LAN6]:21
		fi
		rtr_rule $ipt -P FORWARD DROP
		rtr_rule $ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		rtr_rule $ipt -A FORWARD -i r0 -o r1 -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
		rtr_rule $ipt -A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW \
			-m conntrack --ctstate DNAT -j ACCEPT
		# raw PREROUTING runs before DNAT: both control ports.
		rtr_rule $ipt -t raw -A PREROUTING -p tcp -m multiport --dports 21,2121 -j CT --helper "$HELPER"
		rtr_rule $ipt -t nat -A POSTROUTING -o r1 -s $lan -j MASQUERADE
		rtr_rule $ipt -t nat -A PREROUTING -i r1 -d $pub -p tcp --dport 2121 -j DNAT --to-destination "$to"
	done
}

# ... and the extra SNAT of port-forwarded clients for "both".
ipt_both() {
	local ipt
	for ipt in iptables ip6tables; do
		rtr_rule $ipt -t nat -A POSTROUTING -o r0 -m conntrack --ctstate DNAT -j MASQUERADE
	done
}

nft_rules() {
	in_ns rtr nft -f - <<-NFT || { echo "# FATAL: nft rule set did not load" >&2; exit 1; }
		table inet nfe {
			ct helper ftpe {
				type "$HELPER" protocol tcp
				l3proto inet
			}
			chain helpers {
				# after dstnat: a forwarded connection already has port 21
				type filter hook prerouting priority filter; policy accept;
				tcp dport 21 ct helper set "ftpe"
			}
			chain nat_pre {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "r1" ip daddr $PUB4 tcp dport 2121 dnat ip to $LAN4:21
				iifname "r1" ip6 daddr $PUB6 tcp dport 2121 dnat ip6 to [$LAN6]:21
			}
			chain nat_post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "r1" ip saddr 192.168.124.0/24 masquerade
				oifname "r1" ip6 saddr fd00:124::/64 masquerade
			}
			chain forward {
				type filter hook forward priority filter; policy drop;
				ct state established,related accept
				iifname "r0" oifname "r1" tcp dport 21 ct state new accept
				ct status dnat tcp dport 21 ct state new accept
			}
		}
	NFT
}

nft_both() {
	rtr_rule nft add rule inet nfe nat_post oifname "r0" ct status dnat masquerade
}

rules_down() {
	in_ns rtr nft flush ruleset
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
}

cli_ftpd_listening() {
	in_ns cli awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp6
}

# lib.sh's vsftpd runs on srv; the same configuration serves cli.
cli_ftpd_up() {
	in_ns cli vsftpd "$NFE_TMP/vsftpd.conf" </dev/null >"$NFE_TMP/vsftpd-cli.out" 2>&1 &
	if ! wait_for 30 cli_ftpd_listening; then
		echo "# FATAL: vsftpd on cli did not start" >&2
		exit 1
	fi
}

# curl_mode MODE: the curl options selecting one data-channel negotiation.
# PASV: use the address the 227 names (curl's default skips it).
curl_mode() {
	case $1 in
	EPSV) ;;
	PASV) echo --disable-epsv --no-ftp-skip-pasv-ip ;;
	EPRT) echo --ftp-port - ;;
	PORT) echo --ftp-port - --disable-eprt ;;
	esac
}

# curl_get NS URL MODE: download, compare byte for byte.
curl_get() {
	local log=$NFE_TMP/curl.log
	rm -f "$GOT"
	# shellcheck disable=SC2046
	if ! in_ns "$1" curl -gsSv --connect-timeout 30 -m 120 $(curl_mode "$3") \
		-o "$GOT" "$2" 2>"$log"; then
		grep -E '^[<>*]' "$log" | tail -n 12 | sed 's/^/#   /'
		nat_state
		return 1
	fi
	same "$GOT" "$REF"
}

# What the router knew when a transfer failed.
nat_state() {
	echo "# rtr: $(in_ns rtr grep -E '^(nat_|expect_)' /proc/net/nf_ftp_embryo/stats | tr '\n' ' ')"
	in_ns rtr conntrack -L 2>/dev/null | grep -v 'dport=22 ' | sed 's/^/#   /'
}

# lftp_get NS URL PASSIVE(on|off) COUNT: COUNT downloads on one control
# connection. fix-pasv-address off: lftp must not repair a bad 227.
lftp_get() {
	local i cmds="" log=$NFE_TMP/lftp.log
	rm -f "$GOT".*
	for ((i = 1; i <= $4; i++)); do
		cmds+="get file.bin -o $GOT.$i; "
	done
	if ! in_ns "$1" timeout 300 lftp -c "set net:max-retries 1; set net:timeout 30;
		set ftp:passive-mode $3; set ftp:fix-pasv-address no;
		set ftp:prefer-epsv no; open $2; $cmds" >"$log" 2>&1; then
		tr '\r' '\n' <"$log" | tail -n 12 | sed 's/^/#   /'
		nat_state
		return 1
	fi
	for ((i = 1; i <= $4; i++)); do
		same "$GOT.$i" "$REF" || return 1
	done
}

# Under TCG every exec over the 9p root costs dearly; the per-transfer
# checks read rtr's /proc/net through a process living there instead.
in_rtr() {
	[[ $(stat -L -c %i "/proc/$1/ns/net") == $(stat -L -c %i /run/netns/rtr) ]]
}

rtr_proc_up() {
	local pid
	# Not in_ns: a function in the background is a subshell left outside.
	ip netns exec rtr sleep infinity &
	pid=$!
	disown "$pid"
	RTR_NET=/proc/$pid/net
	if ! wait_for 30 in_rtr "$pid"; then
		echo "# FATAL: cannot see rtr's /proc/net" >&2
		exit 1
	fi
}

# nat_counter NAME: one of rtr's counters, without a process.
nat_counter() {
	local k v
	while read -r k v; do
		[[ $k == "$1:" ]] && echo "$v" && return 0
	done <"$RTR_NET/nf_ftp_embryo/stats"
	echo "# no counter $1" >&2
	return 1
}

# Neither an expectation (of either family) nor a flow entry on rtr.
nat_closed() {
	[[ -z $(<"$RTR_NET/nf_conntrack_expect") && -z $(<"$RTR_NET/nf_ftp_embryo/flows") ]]
}

nat_closed_after_transfer() {
	wait_for 5 nat_closed && return 0
	dump_state
	return 1
}

# rewrites N COMMAND...: COMMAND succeeds, the helper rewrote N lines and
# failed none.
rewrites() {
	local want=$1 r0 f0 r1 f1
	shift
	r0=$(nat_counter nat_rewritten)
	f0=$(nat_counter nat_failed)
	"$@" || { echo "# failed: $*"; return 1; }
	r1=$(nat_counter nat_rewritten)
	f1=$(nat_counter nat_failed)
	((r1 - r0 == want && f1 == f0)) && return 0
	echo "# nat_rewritten +$((r1 - r0)) (want +$want), nat_failed +$((f1 - f0))"
	return 1
}

# xfer NAME REWRITES COMMAND...: one TAP line for the transfer, one for the
# pinhole and flow entry being gone after it.
xfer() {
	local name=$1
	shift
	tap "$name" rewrites "$@"
	tap "$name: no expectation, no flow left" nat_closed_after_transfer
	echo "# ${SECONDS}s"
}

# capture NS FILE COMMAND...: COMMAND while tcpdump records the control
# connection in NS; FILE gets the decoded payloads.
capture() {
	local ns=$1 out=$2 pcap=$2.pcap pid rc=0
	shift 2
	# Not through in_ns: a function in the background is a subshell, and
	# a background subshell ignores SIGINT, so the kill would not reach
	# tcpdump.  -U writes every packet as it comes; timeout bounds it.
	ip netns exec "$ns" timeout 300 tcpdump -Z root -U -n -s 0 -i s0 \
		-w "$pcap" 'tcp port 21 or tcp port 2121' 2>"$pcap.err" &
	pid=$!
	if ! wait_for 30 grep -q "listening on" "$pcap.err"; then
		kill "$pid" 2>/dev/null || true
		echo "# tcpdump did not start:" && sed 's/^/#   /' "$pcap.err"
		return 1
	fi
	"$@" || rc=$?
	# Under load the last packets may still be on their way to tcpdump.
	sleep 1
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	tcpdump -r "$pcap" -n -A 2>/dev/null >"$out"
	return $rc
}

# seen FILE REGEX: the capture holds REGEX. unseen: it does not.
seen() {
	grep -Eq "$2" "$1" && return 0
	echo "# capture lacks /$2/; control lines seen:"
	grep -Eo '(PORT|EPRT|227|229) [^.]*' "$1" | sed 's/^/#   /'
	return 1
}

unseen() {
	! grep -Eq "$2" "$1" || { echo "# capture holds /$2/"; return 1; }
}

# matrix RULESET ALL: the cases under the rule set "ipt" or "nft"; ALL=0
# leaves out those that exercise nothing the other rule set has not.
matrix() {
	local rs=$1 all=$2 m4=ftp://$WAN4/file.bin m6="ftp://[$WAN6]/file.bin"
	local f4=ftp://$PUB4:2121/file.bin f6="ftp://[$PUB6]:2121/file.bin"

	"${rs}_rules"
	# masq: the client's PORT/EPRT must name the router; a 227/229 from
	# the server outside needs no rewrite.
	xfer "$rs masq: ipv4 PASV curl" 0 curl_get cli "$m4" PASV
	xfer "$rs masq: ipv4 PORT curl" 1 curl_get cli "$m4" PORT
	xfer "$rs masq: ipv6 EPRT curl" 1 curl_get cli "$m6" EPRT
	if ((all)); then
		xfer "$rs masq: ipv6 EPSV curl" 0 curl_get cli "$m6" EPSV
		xfer "$rs masq: ipv4 passive lftp" 0 lftp_get cli "ftp://$WAN4" on 1
		xfer "$rs masq: ipv4 active lftp" 1 lftp_get cli "ftp://$WAN4" off 1
	fi

	# forward: the server's 227 must name the public address; its 229
	# and the outside client's PORT/EPRT stay as they are.
	xfer "$rs forward: ipv4 PASV curl" 1 curl_get srv "$f4" PASV
	xfer "$rs forward: ipv4 PORT curl" 0 curl_get srv "$f4" PORT
	if ((all)); then
		xfer "$rs forward: ipv6 EPSV curl" 0 curl_get srv "$f6" EPSV
		xfer "$rs forward: ipv6 EPRT curl" 0 curl_get srv "$f6" EPRT
	fi

	# both: now the server sees the router's inside address as client.
	"${rs}_both"
	xfer "$rs both: ipv4 PASV curl" 1 curl_get srv "$f4" PASV
	xfer "$rs both: ipv4 PORT curl" 1 curl_get srv "$f4" PORT
	xfer "$rs both: ipv6 EPSV curl" 0 curl_get srv "$f6" EPSV
	xfer "$rs both: ipv6 EPRT curl" 1 curl_get srv "$f6" EPRT
	rules_down
}

load_module "${1:?usage: $0 MODULE.ko}"
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
nat_topo_up
rtr_proc_up
ftpd_up
cli_ftpd_up
echo "# helper $HELPER on $(uname -r)"

matrix ipt 1
matrix nft 0

# Ten transfers on one control connection, every line rewritten to a
# different length: sequence adjustment must keep the session in step.
ipt_rules
xfer "ten PORT downloads on one connection (masq: 14 -> 12 bytes)" 10 \
	lftp_get cli "ftp://$WAN4" off 10
xfer "ten PASV downloads on one connection (forward: 14 -> 12 bytes)" 10 \
	lftp_get srv "ftp://$PUB4:2121" on 10
ipt_both
xfer "ten PORT downloads on one connection (both: 12 -> 13 bytes)" 10 \
	lftp_get srv "ftp://$PUB4:2121" off 10

# What each side really sees on the wire.
tap "capture: the server sees the router's address in PORT" \
	capture srv "$NFE_TMP/port.txt" curl_get cli "ftp://$WAN4/file.bin" PORT
tap "capture: PORT names 198,51,100,1" seen "$NFE_TMP/port.txt" 'PORT 198,51,100,1,[0-9]+,[0-9]+'
tap "capture: no private address reaches the server" unseen "$NFE_TMP/port.txt" '192,168,124'
tap "capture: the client sees the public address in 227" \
	capture srv "$NFE_TMP/pasv.txt" curl_get srv "ftp://$PUB4:2121/file.bin" PASV
tap "capture: 227 names 198,51,100,1" seen "$NFE_TMP/pasv.txt" '227 .*198,51,100,1,[0-9]+,[0-9]+'
tap "capture: no private address reaches the client" unseen "$NFE_TMP/pasv.txt" '192,168,124'
tap "capture: no expectation, no flow left" nat_closed_after_transfer
rules_down

tap "no NAT rewrite failed" test "$(nat_counter nat_failed)" = 0
echo "# nat_rewritten $(nat_counter nat_rewritten), nat_seqadj_added $(nat_counter nat_seqadj_added)"
echo "# $0: ${SECONDS}s"
((failed == 0))
