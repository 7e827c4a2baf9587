#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# NAT over loopback: a locally originated control connection meets the
# helper twice, on its way out (POSTROUTING) and on its way in (LOCAL_IN),
# as one skb.  Only the first pass may read and rewrite it.
#
# In one namespace vsftpd listens on 127.0.0.2 only; the nat OUTPUT chain
# translates 127.100.100.100:21 to it, so the server's 227 names 127,0,0,2
# and must reach the client as 127,100,100,100 (6 bytes longer), once.
# curl uses the address the 227 names and compares the file byte for byte.
# Usage (in the guest, as root): ftp_nat_lo.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

NS=nfe-lo
VIP=127.100.100.100
REF=$NFE_TMP/ftp/file.bin
GOT=$NFE_TMP/got
FILE_SIZE=$((256 * 1024))

lo_down() {
	ip netns pids $NS 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del $NS 2>/dev/null || true
	rm -rf "$NFE_TMP"
}

lo_listening() {
	in_ns $NS awk '$2 == "0200007F:0015" && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}

lo_rule() {
	in_ns $NS "$@" || { echo "# FATAL: rule did not load: $*" >&2; exit 1; }
}

# lo_get MODE 227|229|-: curl through the DNAT, compare; with a code, the
# reply curl read must name VIP (227) or a port only (229).
lo_get() {
	local log=$NFE_TMP/curl.log opts=()
	case $1 in
	PASV) opts=(--disable-epsv --no-ftp-skip-pasv-ip) ;;
	EPSV) ;;
	PORT) opts=(--ftp-port - --disable-eprt) ;;
	esac
	rm -f "$GOT"
	if ! in_ns $NS curl -gsSv --connect-timeout 10 -m 60 "${opts[@]}" \
		-o "$GOT" "ftp://$VIP/file.bin" 2>"$log"; then
		grep -E '^[<>*]' "$log" | tail -n 12 | sed 's/^/#   /'
		return 1
	fi
	grep -E '^< (227|229)' "$log" | sed 's/^/#   /'
	case $2 in
	227) grep -q "^< 227 .*(127,100,100,100,[0-9]*,[0-9]*)" "$log" || return 1 ;;
	229) grep -q "^< 229 .*(|||[0-9]*|)" "$log" || return 1 ;;
	esac
	same "$GOT" "$REF"
}

lo_counter() {
	in_ns $NS awk -v k="$1:" '$1 == k { print $2 }' /proc/net/nf_ftp_embryo/stats
}

load_module "${1:?usage: $0 MODULE.ko}"
trap lo_down EXIT
ip netns add $NS
in_ns $NS ip link set lo up

mkdir -p "$NFE_TMP/ftp" "$NFE_TMP/empty"
head -c "$FILE_SIZE" /dev/urandom >"$REF"
chmod 644 "$REF"
cat >"$NFE_TMP/vsftpd-lo.conf" <<-CONF
	listen=YES
	listen_ipv6=NO
	listen_address=127.0.0.2
	background=NO
	anonymous_enable=YES
	no_anon_password=YES
	local_enable=NO
	write_enable=NO
	anon_root=$NFE_TMP/ftp
	pasv_enable=YES
	port_enable=YES
	connect_from_port_20=NO
	seccomp_sandbox=NO
	isolate=NO
	isolate_network=NO
	secure_chroot_dir=$NFE_TMP/empty
	dirmessage_enable=NO
CONF
in_ns $NS vsftpd "$NFE_TMP/vsftpd-lo.conf" </dev/null >"$NFE_TMP/vsftpd-lo.out" 2>&1 &
if ! wait_for 30 lo_listening; then
	echo "# FATAL: vsftpd on 127.0.0.2 did not start:" >&2
	sed 's/^/#   /' "$NFE_TMP/vsftpd-lo.out" >&2
	exit 1
fi

# Locally originated: attach and translate in OUTPUT.
lo_rule iptables -t raw -A OUTPUT -p tcp --dport 21 -j CT --helper "$HELPER"
lo_rule iptables -t nat -A OUTPUT -d $VIP -p tcp --dport 21 -j DNAT --to-destination 127.0.0.2
echo "# helper $HELPER on $(uname -r)"

tap "loopback DNAT: PASV, the 227 arrives rewritten once" lo_get PASV 227
tap "loopback DNAT: PASV again on a fresh connection" lo_get PASV 227
tap "loopback DNAT: EPSV" lo_get EPSV 229
tap "loopback DNAT: PORT" lo_get PORT -
tap "loopback DNAT: no expectation left" \
	wait_for 5 eval '[[ -z $(in_ns $NS cat /proc/net/nf_conntrack_expect) ]]'
echo "# nat_rewritten $(lo_counter nat_rewritten), nat_failed $(lo_counter nat_failed)"
tap "loopback DNAT: two rewrites, none failed" \
	eval '[[ $(lo_counter nat_rewritten) == 2 && $(lo_counter nat_failed) == 0 ]]'

echo "# $0: ${SECONDS}s"
((failed == 0))
