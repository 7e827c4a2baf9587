#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared netns topology for the selftests and the demo. Sourced, in the guest, as root.
#
#   cli c0 ---- r0 rtr r1 ---- s0 srv
#   10.0.1.2      .1   10.0.2.1      10.0.2.2
#   fd00:1::2    ::1   fd00:2::1     fd00:2::2
#
# rtr forwards and firewalls; the FTP helper under test is attached there.
set -euo pipefail

: "${HELPER:=ftp-embryo}"
SRV4=10.0.2.2
SRV6=fd00:2::2
FLOWS=/proc/net/nf_ftp_embryo/flows
FILE_SIZE=$((1024 * 1024))
NFE_TMP=$(mktemp -d /tmp/nfe-test.XXXXXX)
# vsftpd reaches its anon_root as user ftp, through this directory.
chmod 755 "$NFE_TMP"

in_ns() {
	ip netns exec "$@"
}

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; fails on timeout.
wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	until "$@"; do
		((${EPOCHREALTIME/./} < end)) || return 1
		sleep 0.1
	done
}

# Load nf_conntrack (stock kernel: modules; debug kernel: built in) and the
# helper module KO, unless it is already loaded or KO is "-".
load_module() {
	local ko=$1 name
	if [[ -d /lib/modules/$(uname -r) ]]; then
		modprobe -a nf_conntrack nf_nat
	fi
	[[ $ko != - ]] || return 0
	name=$(basename "$ko" .ko)
	[[ -d /sys/module/${name//-/_} ]] || insmod "$ko"
}

# Unload nf_ftp_embryo, if loaded, once nothing holds it (a rule that names
# its helper does; conntracks it helps let go within seconds).
unload_module() {
	local mod=nf_ftp_embryo
	wait_for 15 eval '[[ ! -d /sys/module/$mod || $(cat /sys/module/$mod/refcnt) == 0 ]]' || true
	[[ ! -d /sys/module/$mod ]] || rmmod "$mod"
}

# cli c0 -- r0 rtr r1 -- s0 srv, links up, rtr forwarding; no addresses.
topo_links() {
	local ns
	for ns in cli rtr srv; do
		ip netns add "$ns"
		in_ns "$ns" ip link set lo up
	done
	ip link add c0 netns cli type veth peer name r0 netns rtr
	ip link add s0 netns srv type veth peer name r1 netns rtr
	in_ns cli ip link set c0 up
	in_ns rtr ip link set r0 up
	in_ns rtr ip link set r1 up
	in_ns srv ip link set s0 up
	in_ns rtr sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

# The NAT topology, IPv4: cli LAN4 on a private LAN behind rtr, whose
# public address PUB4 faces srv WAN4; srv has no route back to the LAN.
LAN4=192.168.124.10
PUB4=198.51.100.1
WAN4=198.51.100.2
topo_nat4() {
	topo_links
	in_ns cli ip addr add $LAN4/24 dev c0
	in_ns rtr ip addr add 192.168.124.1/24 dev r0
	in_ns rtr ip addr add $PUB4/24 dev r1
	in_ns srv ip addr add $WAN4/24 dev s0
	in_ns cli ip route add default via 192.168.124.1
}

topo_up() {
	topo_links
	# nodad: tentative addresses would make the first IPv6 connect fail.
	in_ns cli ip addr add 10.0.1.2/24 dev c0
	in_ns cli ip addr add fd00:1::2/64 dev c0 nodad
	in_ns rtr ip addr add 10.0.1.1/24 dev r0
	in_ns rtr ip addr add fd00:1::1/64 dev r0 nodad
	in_ns rtr ip addr add 10.0.2.1/24 dev r1
	in_ns rtr ip addr add fd00:2::1/64 dev r1 nodad
	in_ns srv ip addr add 10.0.2.2/24 dev s0
	in_ns srv ip addr add fd00:2::2/64 dev s0 nodad
	in_ns cli ip route add default via 10.0.1.1
	in_ns cli ip -6 route add default via fd00:1::1
	in_ns srv ip route add default via 10.0.2.1
	in_ns srv ip -6 route add default via fd00:2::1
}

topo_down() {
	local ns
	for ns in cli rtr srv; do
		in_ns "$ns" true 2>/dev/null || continue
		ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
		ip netns del "$ns"
	done
}

# A rule that does not load (a kernel option missing, say) would otherwise
# show up as a mysterious transfer timeout much later.
rtr_rule() {
	if ! in_ns rtr "$@"; then
		echo "# FATAL: firewall rule did not load: $*" >&2
		exit 1
	fi
}

fw_up() {
	local ipt
	for ipt in iptables ip6tables; do
		rtr_rule "$ipt" -P FORWARD DROP
		rtr_rule "$ipt" -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		rtr_rule "$ipt" -A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
	done
	ct_rules -A
}

# ct_rules -A|-D: attach or detach $HELPER on the control connections.
ct_rules() {
	local ipt
	for ipt in iptables ip6tables; do
		rtr_rule "$ipt" -t raw "$1" PREROUTING -p tcp --dport 21 -j CT --helper "$HELPER"
	done
}

ftpd_listening() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp6
}

# vsftpd on srv: anonymous, read-only, one random file, v4 and v6 on one socket.
ftpd_up() {
	local root=$NFE_TMP/ftp conf=$NFE_TMP/vsftpd.conf
	mkdir -p "$root" "$NFE_TMP/empty"
	head -c "$FILE_SIZE" /dev/urandom >"$root/file.bin"
	chmod 644 "$root/file.bin"
	# listen_ipv6 on :: also takes v4 (bindv6only=0); listen=YES would be v4 only.
	# isolate*=NO: no namespace per session, which is slow under TCG.
	cat >"$conf" <<-CONF
		listen=NO
		listen_ipv6=YES
		background=NO
		anonymous_enable=YES
		no_anon_password=YES
		local_enable=NO
		write_enable=NO
		anon_root=$root
		pasv_enable=YES
		anon_max_rate=${FTPD_MAX_RATE:-0}
		port_enable=YES
		seccomp_sandbox=NO
		isolate=NO
		isolate_network=NO
		secure_chroot_dir=$NFE_TMP/empty
		dirmessage_enable=NO
		xferlog_enable=YES
		xferlog_std_format=NO
		log_ftp_protocol=YES
		vsftpd_log_file=$NFE_TMP/vsftpd.log
	CONF
	# A test's own settings (lines of name=value) come last and win.
	[[ -z ${FTPD_EXTRA_CONF:-} ]] || printf '%s\n' "$FTPD_EXTRA_CONF" >>"$conf"
	in_ns srv vsftpd "$conf" </dev/null >"$NFE_TMP/vsftpd.out" 2>&1 &
	# Under a loaded TCG host the debug kernel needs more than 10 s.
	if ! wait_for 30 ftpd_listening; then
		echo "# FATAL: vsftpd did not start:" >&2
		sed 's/^/#   /' "$NFE_TMP/vsftpd.out" >&2
		exit 1
	fi
}

# fetch FAMILY DEST [CURL_OPTIONS...]: download file.bin from srv through rtr.
fetch() {
	local host=$SRV4
	[[ $1 == 4 ]] || host="[$SRV6]"
	in_ns cli curl -gsS --connect-timeout 5 -m 30 -o "$2" "${@:3}" "ftp://$host/file.bin"
}

# Prints the expectations on rtr; a failed listing prints a line too, so it
# can never pass for "no expectations".
expectations() {
	in_ns rtr conntrack -L expect 2>/dev/null || echo "conntrack -L expect failed"
	in_ns rtr conntrack -L expect -f ipv6 2>/dev/null || echo "conntrack -L expect -f ipv6 failed"
}

# The module's flow table may only be absent when another helper is attached.
flows() {
	if in_ns rtr test -e "$FLOWS"; then
		in_ns rtr cat "$FLOWS" || echo "cat $FLOWS failed"
	elif [[ $HELPER == ftp-embryo ]]; then
		echo "$FLOWS missing"
	fi
}

pinhole_closed() {
	[[ -z $(expectations) && -z $(flows) ]]
}

# rtr_watch: a process in rtr, whose /proc/PID/net ($NET) is rtr's, so that
# a look at the router costs no process of its own (a test of many cells).
rtr_watch() {
	ip netns exec rtr sleep 3600 &
	rtr_pid=$!
	if ! wait_for 30 eval '[[ $(ip netns identify "$rtr_pid") == rtr ]]'; then
		echo "not ok - a process in rtr to read its /proc/net"
		exit 1
	fi
	NET=/proc/$rtr_pid/net
}

# left: the expectations and flow rows rtr still holds (after rtr_watch).
left() {
	local l
	l=$(<"$NET/nf_conntrack_expect")
	[[ $HELPER != ftp-embryo ]] || l+=$(<"$NET/nf_ftp_embryo/flows")
	[[ -z $l ]] || echo "$l"
}

# closed: nothing left on rtr (a FIN may still be crossing it); if
# something is, say what and flush, so that the next cell starts clean
# (nf_conntrack_ftp keeps an unused pinhole until its master goes).
closed() {
	wait_for 5 eval '[[ -z $(left) ]]' && return 0
	echo "# left on the router:"
	left | sed 's/^/#   /'
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
	in_ns rtr conntrack -F -f ipv6 >/dev/null 2>&1 || true
	in_ns rtr conntrack -F expect >/dev/null 2>&1 || true
	in_ns rtr conntrack -F expect -f ipv6 >/dev/null 2>&1 || true
	return 1
}

# topo_setup KO: the whole scenario, torn down again at exit.
topo_setup() {
	trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
	load_module "$1"
	topo_up
	fw_up
	ftpd_up
}

# as_nobody CMD...: CMD as the unprivileged nobody (uid and gid 65534,
# no supplementary groups).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
