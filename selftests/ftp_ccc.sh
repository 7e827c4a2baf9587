#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# FTPS with CCC (RFC 4217, issue 27): the client logs in under TLS (AUTH
# TLS), sends CCC, both ends leave TLS, and the commands that negotiate
# the data connection are plaintext again, so a helper on the router can
# open their pinholes and NAT can rewrite them.  The kernel's
# nf_conntrack_ftp carries such sessions (it picks the stream up again at
# the first line start it sees); ftp-embryo must too.
#
# Written failing first: through ftp-embryo at ef32893 none of the 32
# cells worked (the active ones behind MASQUERADE got "500 Illegal
# PORT/EPRT command" for the unrewritten address); through
# nf_conntrack_ftp all 32 do, and through ftp-embryo since f12131d too.
# In make check's stock selftest guest (about 4 minutes).  By hand:
#   NFE_ONLY=ftp_ccc.sh selftests/run-guest.sh stock build/stock/nf_ftp_embryo.ko
#   HELPER=ftp NFE_ONLY=ftp_ccc.sh selftests/run-guest.sh stock -   (reference)
#
# Server: ProFTPD with mod_tls (proftpd-core + proftpd-mod-crypto,
# unpacked by tools/peers.sh), a self-signed EC certificate made at test
# time, TLSProtocol TLSv1.2, then TLSv1.3.  Clients: lftp (GnuTLS) with
# ftp:ssl-force, ftp:ssl-use-ccc, and curl (OpenSSL) with --ftp-ssl-ccc.
# Router: lib.sh's, FORWARD policy drop, the helper attached by the raw
# table's CT rule; "masq" adds MASQUERADE towards srv for both families
# and takes srv's default routes away, so only translation reaches cli.
#
# Cells, one session each (one RETR of a file compared byte for byte),
# then nothing left on the router (expectations, flow rows):
#   client x ipv4/ipv6 x passive/active x routed/masq x TLS 1.2/1.3,
#   the command each uses:
#     lftp: PASV and PORT on IPv4, EPSV and EPRT on IPv6
#     curl: EPSV and EPRT on both (so every one of the four is sent)
# Every cell of that product can work: all 32 run.  Adjustments to the
# peers, not to the router:
# - srv paces its control connection's packets (tc netem, 32 kbit/s, the
#   data connections unpaced): lftp 4.9.2 (GnuTLS) reads the CCC's 200
#   and ProFTPD's close_notify right behind it in one go when both have
#   arrived, takes the alert for the end of the connection, and hangs up
#   ("Peer closed connection"; over TLS 1.2 it also sends a second
#   close_notify, which ProFTPD answers with "500 \x15\x03\x03 not
#   understood").  Unpaced, under TCG most lftp sessions end so (on a fast
#   host 1 in 20 over TLS 1.3, 3 in 4 over TLS 1.2, with no router at
#   all); spaced, the 200 comes alone, as over a real network.
# - Should lftp still lose the race, the session is run again (at most
#   three times more, each said in a comment), only when it ended between the
#   CCC's 200 and its first plaintext command: nothing a helper reads has
#   crossed the router by then.
# - curl's active cells protect the data connection with PROT C
#   (--ftp-ssl-control instead of --ssl-reqd): curl 7.88.1's active FTPS
#   data connection hangs after the accept, with or without a router
#   (curl issue #10666, fixed in 8.x).  The control connection, the part
#   the helper reads, is the same: TLS until CCC, then plaintext.
# Also one FTPS session per client without CCC: the negotiation stays
# encrypted, so the transfer must fail through any helper (bounded by a
# timeout), leave no pinhole, and through ftp-embryo count as a TLS
# session (tls_sessions), and any flow row left (the server may still hold
# the control connection open) say "encrypted".
#
# The wire around CCC (Debian 12's peers, seen in captures): ProFTPD ends
# TLS with one close_notify right after the 200, a 26-byte record of type
# 21 over TLS 1.2, a 19-byte record of type 23 over TLS 1.3; lftp answers
# with its own the same way; curl sends none at all (its default
# --ftp-ssl-ccc-mode passive): the client's side is plaintext right after
# the record that carried "CCC".
#
# The last lines summarise ("# cells: HELPER N ok / M"), and "# cell:"
# lines give one line per cell for a table.  NFE_CCC='curl/* */ipv6/*'
# runs only the cells whose CLIENT/ipvF/MODE/routed|masq/TLSv1.x matches
# one of those globs; NFE_CCC_PCAP=DIR (a directory the guest can write,
# such as run-guest.sh's log directory) records the router's side towards
# srv, port 21, in DIR/ftp_ccc-HELPER.pcap.
# Usage (in the guest, as root): ftp_ccc.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

FILE_SIZE=$((384 * 1024))
ROOT=$NFE_TMP/ftp
REF=$ROOT/file.bin
W=$NFE_TMP/cell
TLSLOG=$NFE_TMP/tls.log

cells_ok=0 cells=0

# need PROGRAM...: a tool missing fails the test, it is never skipped.
need() {
	local p rc=0
	for p in "$@"; do
		if ! command -v "$p" >/dev/null; then
			echo "not ok - $p is installed (make deps)"
			rc=1
		fi
	done
	return "$rc"
}

# no_expectation: rtr holds no expectation (a session without CCC may
# still be open: in active mode ProFTPD keeps the control connection until
# its connect to the client, dropped by the router, gives up).
no_expectation() {
	wait_for 5 eval '[[ -z $(<"$NET/nf_conntrack_expect") ]]' && return 0
	echo "# expectations left on the router:"
	sed 's/^/#   /' "$NET/nf_conntrack_expect"
	return 1
}

# rows_encrypted: every flow row still on rtr says its session is
# encrypted (the one of a session the server has not closed yet).
rows_encrypted() {
	local row rc=0
	while read -r row; do
		[[ -z $row || $row == *" encrypted "* ]] && continue
		echo "# a flow row that does not say encrypted: $row"
		rc=1
	done <"$NET/nf_ftp_embryo/flows"
	return "$rc"
}

# nfe_stat NAME: one of ftp-embryo's counters on rtr.
nfe_stat() {
	local k v
	while read -r k v; do
		[[ $k == "$1:" ]] && echo "$v" && return 0
	done <"$NET/nf_ftp_embryo/stats"
	echo "# no counter $1" >&2
	return 1
}

# nat on|off: MASQUERADE cli's networks towards srv, and leave srv no
# route back to them; or route plainly.
nat() {
	local ipt a=-A r=del
	[[ $1 == on ]] || a=-D r=add
	for ipt in iptables ip6tables; do
		rtr_rule "$ipt" -t nat "$a" POSTROUTING -o r1 -j MASQUERADE
	done
	in_ns srv ip route "$r" default via 10.0.2.1
	in_ns srv ip -6 route "$r" default via fd00:2::1
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
	in_ns rtr conntrack -F -f ipv6 >/dev/null 2>&1 || true
}

# The server: ProFTPD with mod_tls from the peers' cache.
peer() {
	local bin=${NFE_PEERS:-}/$1
	if [[ -z ${NFE_PEERS:-} || ! -e $bin ]]; then
		echo "not ok - $bin exists (tools/peers.sh, make deps)"
		exit 1
	fi
	echo "$bin"
}

# srv_listening: a socket of srv listens on port 21 (the dual-stack
# wildcard shows in /proc/net/tcp6).
srv_listening() {
	in_ns srv cat /proc/net/tcp /proc/net/tcp6 |
		awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }'
}

cert_up() {
	# EC: cheap to make and to sign with under TCG.
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$NFE_TMP/key.pem" -out "$NFE_TMP/cert.pem" -days 2 -subj /CN=srv \
		>"$NFE_TMP/openssl.out" 2>&1; then
		echo "not ok - openssl makes a self-signed certificate"
		sed 's/^/#   /' "$NFE_TMP/openssl.out"
		exit 1
	fi
	# ProFTPD's session processes run as ftp.
	chmod 644 "$NFE_TMP/key.pem" "$NFE_TMP/cert.pem"
}

# proftpd_up TLSv1.2|TLSv1.3: anonymous, read-only, that TLS version only.
# TLSRequired auth: no login without TLS, and the client may then clear
# the control channel (CCC) and choose the data channel's protection.
proftpd_up() {
	local conf=$NFE_TMP/proftpd.conf bin mods
	bin=$(peer proftpd/usr/sbin/proftpd)
	mods=$(peer proftpd/usr/lib/proftpd/mod_tls.so)
	cat >"$conf" <<-CONF
		ServerName "nfe"
		ServerType standalone
		DefaultServer on
		Port 21
		UseIPv6 on
		User ftp
		Group nogroup
		PidFile $NFE_TMP/proftpd.pid
		ScoreboardFile $NFE_TMP/proftpd.scoreboard
		UseReverseDNS off
		DefaultAddress $SRV4 $SRV6
		DelayEngine off
		WtmpLog off
		TransferLog none
		UseFtpUsers off
		ModulePath ${mods%/*}
		LoadModule mod_tls.c
		TLSEngine on
		TLSLog $TLSLOG
		TLSProtocol $1
		TLSECCertificateFile $NFE_TMP/cert.pem
		TLSECCertificateKeyFile $NFE_TMP/key.pem
		TLSRequired auth
		# lftp opens each data connection with a new TLS session.
		TLSOptions NoSessionReuseRequired
		<Anonymous $ROOT>
			User ftp
			Group nogroup
			UserAlias anonymous ftp
			RequireValidShell off
		</Anonymous>
	CONF
	in_ns srv "$bin" -n -q -c "$conf" </dev/null >"$NFE_TMP/proftpd.out" 2>&1 &
	if ! wait_for 60 srv_listening; then
		echo "not ok - ProFTPD with mod_tls ($1) starts:"
		sed 's/^/#   /' "$NFE_TMP/proftpd.out"
		exit 1
	fi
	TLS=$1
}

# srv_pace: srv sends its control connections' packets at most 32 kbit/s
# apart (a 90-byte packet every 22 ms), its data connections unpaced, so
# that lftp reads the CCC's 200 before ProFTPD's close_notify (see the head).
srv_pace() {
	local f
	if ! in_ns srv tc qdisc add dev s0 root handle 1: prio ||
		! in_ns srv tc qdisc add dev s0 parent 1:1 handle 10: netem rate 32kbit; then
		echo "not ok - srv paces its control connection (tc prio, netem)"
		exit 1
	fi
	for f in "ip u32 match ip sport 21 0xffff" "ipv6 u32 match ip6 sport 21 0xffff"; do
		# shellcheck disable=SC2086 # the words of a filter
		if ! in_ns srv tc filter add dev s0 parent 1: protocol $f flowid 1:1; then
			echo "not ok - srv paces its control connection (tc filter $f)"
			exit 1
		fi
	done
}

proftpd_down() {
	ftpd_down proftpd
	wait_for 10 eval '! srv_listening'
}

host() {
	if [[ $1 == 4 ]]; then echo "$SRV4"; else echo "[$SRV6]"; fi
}

# lftp_run FAMILY MODE CCC(yes|no): one session, one RETR; its debug
# output (every line each way) in $W/log.  The timeouts are for a loaded
# host: with curl's connect timeout at 8 s, under a load of 10 on two
# cores, 3 of 32 cells through ftp-embryo timed out in the greeting, the
# login or a data connection's TLS handshake.  TMO: the connect and idle
# timeout, shorter for a session that must fail.
lftp_run() {
	local pasv=on
	case $2 in PORT | EPRT) pasv=off ;; esac
	in_ns cli timeout 60 lftp -c "set net:max-retries 1; set net:timeout ${TMO:-20};
		set ftp:passive-mode $pasv; set ftp:prefer-epsv no; set ftp:fix-pasv-address no;
		set ftp:ssl-force yes; set ftp:ssl-allow-anonymous yes; set ftp:ssl-protect-data yes;
		set ftp:ssl-use-ccc $3; set ssl:verify-certificate no; debug 5;
		open ftp://$(host "$1"); get file.bin -o $W/got" >"$W/log" 2>&1
}

# curl_run FAMILY MODE CCC(yes|no): the same with curl; active: PROT C
# (see the head).
curl_run() {
	local o=(--ssl-reqd)
	case $2 in EPRT) o=(--ftp-ssl-control --ftp-port -) ;; esac
	[[ $3 == no ]] || o+=(--ftp-ssl-ccc)
	in_ns cli curl -gsSv -k --connect-timeout "${TMO:-20}" -m 60 "${o[@]}" -o "$W/got" \
		"ftp://$(host "$1")/file.bin" >"$W/log" 2>&1
}

# server_saw CCC(yes|no): ProFTPD's TLS log holds this cell's session in
# the server's TLS version, with CCC or without.
server_saw() {
	local l
	l=$(<"$TLSLOG")
	if [[ $l != *"$TLS connection accepted"* ]]; then
		echo "# ProFTPD's TLS log has no $TLS session:"
		sed 's/^/#   /' "$TLSLOG" | tail -n 5
		return 1
	fi
	if [[ $1 == yes && $l != *"received CCC"* ]]; then
		echo "# ProFTPD's TLS log has no CCC"
		return 1
	fi
	if [[ $1 == no && $l == *"received CCC"* ]]; then
		echo "# ProFTPD's TLS log has a CCC"
		return 1
	fi
}

# peer_race: lftp's session ended between the CCC's 200 and its first
# plaintext command, lftp or ProFTPD having hung up, or ProFTPD having
# answered 500 to an alert (see the head).
peer_race() {
	local last
	last=$(grep -a '^---> ' "$W/log" | tail -n 1)
	[[ $last == "---> CCC"* ]] || return 1
	grep -aq '^<--- 200 Clearing control channel' "$W/log" || return 1
	grep -aqE '^\*\*\*\* Peer closed connection|^<--- 500 ' "$W/log"
}

# show_log: the client's last lines, for a cell that failed.
show_log() {
	tr '\r' '\n' <"$W/log" | grep -av '^<---  ' | tail -n 14 | cut -c1-160 | sed 's/^/#   /'
}

# wanted CLIENT FAMILY MODE NAT: the cell is selected by NFE_CCC.
wanted() {
	local g globs
	read -ra globs <<<"${NFE_CCC:-*}"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $1/ipv$2/$3/$4/$TLS == $g ]] && return 0
	done
	return 1
}

# cell CLIENT FAMILY MODE NAT: one CCC session, checked.
cell() {
	local name="$1 ipv$2 $3 $4 $TLS" r=FAIL try start=${EPOCHREALTIME/./} t
	wanted "$@" || return 0
	cells=$((cells + 1))
	for try in 1 2 3 4; do
		rm -rf "$W"
		mkdir -p "$W"
		: >"$TLSLOG"
		if "$1_run" "$2" "$3" yes && same "$W/got" "$REF"; then
			r=ok
			break
		fi
		if [[ $1 != lftp ]] || ! peer_race; then
			break
		fi
		echo "# $name: lftp and ProFTPD lost each other at CCC (try $try), once more"
		closed >/dev/null || true
	done
	[[ $r == ok ]] || show_log
	t=$(((${EPOCHREALTIME/./} - start) / 100000))
	echo "# cell: $1 $2 $3 $4 ${TLS#TLSv} $r $((t / 10)).$((t % 10))s"
	if [[ $r == ok ]]; then
		cells_ok=$((cells_ok + 1))
	else
		failed=$((failed + 1))
	fi
	echo "$([[ $r == ok ]] || echo "not ")ok - $name: CCC session, file byte for byte"
	tap "$name: the server saw $TLS and CCC" server_saw yes
	tap "$name: no pinhole, no flow left" closed
}

# no_ccc CLIENT FAMILY MODE: an FTPS session without CCC; the router
# cannot read its negotiation, so the transfer must not get through.
no_ccc() {
	local name="$1 ipv$2 $3 routed $TLS without CCC" tls0=0 rc=0 TMO=8
	rm -rf "$W"
	mkdir -p "$W"
	: >"$TLSLOG"
	[[ $HELPER != ftp-embryo ]] || tls0=$(nfe_stat tls_sessions)
	"$1_run" "$2" "$3" no || rc=$?
	if ((rc == 0)) || same "$W/got" "$REF" 2>/dev/null; then
		echo "not ok - $name: the transfer does not get through"
		show_log
		failed=$((failed + 1))
	else
		echo "ok - $name: the transfer does not get through (exit $rc)"
	fi
	tap "$name: the server saw $TLS and no CCC" server_saw no
	tap "$name: no pinhole left" no_expectation
	if [[ $HELPER == ftp-embryo ]]; then
		tap "$name: counted in tls_sessions" test "$(nfe_stat tls_sessions)" -gt "$tls0"
		tap "$name: a flow row left says encrypted" rows_encrypted
	fi
	# The next cells start clean.
	closed >/dev/null || true
}

# every_cell: the cells of the running ProFTPD's TLS version.
every_cell() {
	local n c
	for n in routed masq; do
		[[ $n == routed ]] || nat on
		cell lftp 4 PASV "$n"
		cell lftp 4 PORT "$n"
		cell lftp 6 EPSV "$n"
		cell lftp 6 EPRT "$n"
		for c in 4 6; do
			cell curl "$c" EPSV "$n"
			cell curl "$c" EPRT "$n"
		done
	done
	nat off
}

need lftp curl openssl conntrack || exit 1
load_module "${1:?usage: $0 MODULE.ko}"
# xt_CT attaches nf_conntrack_ftp by name; its NAT half is a module of
# its own.
[[ $HELPER != ftp ]] || modprobe -a nf_conntrack_ftp nf_nat_ftp
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT
topo_up
fw_up
mkdir -p "$ROOT"
head -c "$FILE_SIZE" /dev/urandom >"$REF"
chmod 755 "$ROOT"
chmod 644 "$REF"
rtr_watch
srv_pace
if [[ -n ${NFE_CCC_PCAP:-} ]]; then
	# Not in_ns: a function in the background is a subshell; topo_down
	# ends it with the namespace's other processes.
	ip netns exec rtr tcpdump -Z root -U -n -s 0 -i r1 -w "$NFE_CCC_PCAP/ftp_ccc-$HELPER.pcap" \
		'tcp port 21' 2>"$NFE_TMP/tcpdump.err" &
	wait_for 30 grep -q "listening on" "$NFE_TMP/tcpdump.err" ||
		echo "# tcpdump did not start: $(<"$NFE_TMP/tcpdump.err")"
fi
cert_up
echo "# helper $HELPER on $(uname -r)"
echo "# srv paces its control connections (32 kbit/s): lftp takes a close_notify read" \
	"with the CCC's 200 for the end of the connection (see the head)"
echo "# curl's active cells: PROT C, curl 7.88.1's active FTPS data connection hangs" \
	"with or without a router (curl issue #10666); the control connection is the same"

proftpd_up TLSv1.2
every_cell
no_ccc curl 4 EPSV
proftpd_down
proftpd_up TLSv1.3
every_cell
no_ccc lftp 6 EPRT
proftpd_down

name=$HELPER
[[ $name != ftp ]] || name=nf_conntrack_ftp
echo "# cells: $name $cells_ok ok / $cells"
echo "# $0: ${SECONDS}s"
((failed == 0))
