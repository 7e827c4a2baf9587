#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# guest: matrix
# The client matrix: every server x client x data channel mode x address
# family that the peers can do, through the helper under test ($HELPER:
# ftp-embryo, or ftp for the kernel's own nf_conntrack_ftp as the
# reference).
#
# Servers: vsftpd, ProFTPD and Pure-FTPd (unpacked by tools/peers.sh, since
# Debian installs one FTP server package at a time) and pyftpdlib (one
# instance per family: "python3 -m pyftpdlib" listens on one address).
# Clients, one session (one process) per cell where the client can:
# - curl, lftp, tnftp: LIST dir/, RETR file.bin, STOR up/..., RETR again
# - wget: a recursive download of dir/: LIST, RETR a.bin, RETR b.txt
# - busybox ftpget + ftpput: one transfer each, two processes
# - python ftplib (ftp_verbs.py): the verbs clients send around transfers,
#   FEAT, OPTS UTF8, TYPE A/I, MODE S, STRU F, SIZE, MDTM, LIST, NLST,
#   MLSD, RETR, REST, STOR, APPE, STOU, in every mode either family has
# Each cell: every transfer compared byte for byte (a listing checked for
# its two names), and then no expectation and no flow entry left on the
# router; through ftp-embryo also that the cell used its mode and only it,
# once per transfer, with one expectation each.
#
# Combinations left out, and why (not defined, or the client cannot):
# - PASV and PORT over IPv6: not defined (RFC 2428), clients use EPSV/EPRT.
# - lftp: no EPRT over IPv4 (it sends PORT; EPRT only for IPv6).
# - wget: PASV/PORT on IPv4 and EPSV/EPRT on IPv6, no switch for others.
# - busybox ftpget/ftpput: passive only and no listing; it sends EPSV in
#   both families (PASV only if EPSV is refused).
# Cells that work through neither helper: none (Debian 12's packages,
# measured 2026-12-03 and again 2026-12-07: 116 cells, 116 ok through
# each).
# Cells whose result differs between the helpers: none, with the active
# pinhole opened as PORT/EPRT passes. With it opened only at the
# transfer command (the founding design's timing, sysctl
# net.netfilter.nf_ftp_embryo_strict_active=1), the 13 cells of
# pyftpdlib in active mode (PORT, EPRT) fail through ftp-embryo alone:
# pyftpdlib connects back as soon as it gets PORT/EPRT, before its 200,
# nf_conntrack_ftp has the pinhole open by then, ftp-embryo drops the
# connection, and pyftpdlib answers 425 or the client times out.
# NFE_STRICT_ACTIVE=1 runs the matrix with that timing, to see them.
# A server quirk the cells work around: Pure-FTPd lets no anonymous user
# change an existing file, so its ftplib cells APPE to a new file.
# Through nf_conntrack_ftp (HELPER=ftp, make check's matrix-reference)
# every cell must work too: a failure there is a harness or peer change.
#
# The last lines are a summary ("# cells: ftp-embryo N ok / M", per server
# and per client); tools/matrix-table.sh sets two runs side by side.
# NFE_MATRIX='vsftpd/* */tnftp/ipv6/*' runs only the cells whose
# SERVER/CLIENT/ipvF/MODE matches one of those globs.
# Usage (in the guest, as root): ftp_matrix.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

# Many cells: a small file keeps the run short, and still spans many
# segments.
FILE_SIZE=$((64 * 1024))
ROOT=$NFE_TMP/ftp
REF=$ROOT/file.bin
W=$NFE_TMP/cell
LOG=$NFE_TMP/client.log
declare -A SRV=([4]=$SRV4 [6]=$SRV6)
MODES4="PASV EPSV PORT EPRT"
MODES6="EPSV EPRT"

cells_ok=0 cells=0
declare -A srv_ok=() srv_n=() cl_ok=() cl_n=()

# wanted SERVER CLIENT FAMILY MODE: the cell is selected by NFE_MATRIX.
wanted() {
	local g globs
	read -ra globs <<<"${NFE_MATRIX:-*}"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $1/$2/ipv$3/$4 == $g ]] && return 0
	done
	return 1
}

# result SERVER CLIENT FAMILY MODE ok|FAIL TIME: one cell's TAP line, and
# its line for the table.
result() {
	local name="$1: $2 ipv$3 $4"
	echo "# cell: $1 $2 $3 $4 $5 $6"
	cells=$((cells + 1))
	srv_n[$1]=$((${srv_n[$1]:-0} + 1))
	cl_n[$2]=$((${cl_n[$2]:-0} + 1))
	if [[ $5 == ok ]]; then
		cells_ok=$((cells_ok + 1))
		srv_ok[$1]=$((${srv_ok[$1]:-0} + 1))
		cl_ok[$2]=$((${cl_ok[$2]:-0} + 1))
		echo "ok - $name"
	else
		echo "not ok - $name"
		failed=$((failed + 1))
	fi
}

# stats: the helper's counters as "name value" lines (none for another helper).
declare -A before=()
stats_before() {
	local k v
	before=()
	[[ $HELPER == ftp-embryo ]] || return 0
	while read -r k v; do before[${k%:}]=$v; done <"$NET/nf_ftp_embryo/stats"
}

# label_true MODE N: through ftp-embryo, the cell sent MODE and only MODE,
# N times, and opened N pinholes.
label_true() {
	local k v m want
	[[ $HELPER == ftp-embryo ]] || return 0
	while read -r k v; do
		k=${k%:}
		case $k in
		cmd_pasv | cmd_epsv | cmd_port | cmd_eprt | expect_created)
			m=${k#cmd_}
			want=0
			[[ $m != "${1,,}" && $k != expect_created ]] || want=$2
			if ((v - ${before[$k]} != want)); then
				echo "# $k: +$((v - ${before[$k]})), want +$want"
				return 1
			fi
			;;
		esac
	done <"$NET/nf_ftp_embryo/stats"
}

# client COMMAND...: run a client in cli; its output is shown on failure
# only (progress lines end without a newline).
client() {
	in_ns cli timeout 30 "$@" >"$LOG" 2>&1 && return 0
	echo "# exit $?: $*" | cut -c1-200
	tr '\r' '\n' <"$LOG" | tail -n 20 | sed 's/^/#   /'
	return 1
}

host() {
	if [[ $1 == 4 ]]; then echo "$SRV4"; else echo "[$SRV6]"; fi
}

curl_mode() {
	case $1 in
	EPSV) ;;
	PASV) echo --disable-epsv ;;
	EPRT) echo --ftp-port - ;;
	PORT) echo --ftp-port - --disable-eprt ;;
	esac
}
# <client>_session FAMILY MODE NAME: writes $W/list, $W/get1, $W/get2 and
# up/NAME on the server; prints the number of data transfers it makes.
# One curl process, one control connection: --next keeps it.
curl_session() {
	local u o
	u=ftp://$(host "$1")
	read -ra o <<<"-gsS -m 20 $(curl_mode "$2")"
	client curl "${o[@]}" -o "$W/list" "$u/dir/" --next "${o[@]}" -o "$W/get1" "$u/file.bin" \
		--next "${o[@]}" -T "$REF" "$u/up/$3" --next "${o[@]}" -o "$W/get2" "$u/file.bin"
}

lftp_mode() {
	case $1 in
	PASV) echo "set ftp:passive-mode on; set ftp:prefer-epsv no" ;;
	EPSV) echo "set ftp:passive-mode on; set ftp:prefer-epsv yes" ;;
	*) echo "set ftp:passive-mode off" ;;
	esac
}
lftp_session() {
	client lftp -c "set net:max-retries 1; set net:timeout 5; $(lftp_mode "$2");
		open ftp://$(host "$1"); ls dir/ >$W/list; get file.bin -o $W/get1;
		put $REF -o up/$3; get file.bin -o $W/get2"
}

# tnftp (NetBSD's ftp): "epsv4" switches EPSV and EPRT on IPv4; no
# fallback from passive to active.
tnftp_session() {
	local pasv=on ext=off
	case $2 in PORT | EPRT) pasv=off ;; esac
	case $2 in EPSV | EPRT) ext=on ;; esac
	printf '%s\n' "open ${SRV[$1]}" "user anonymous nfe@" binary \
		"passive $pasv" "epsv4 $ext" "epsv6 on" "ls dir/ $W/list" "get file.bin $W/get1" \
		"put $REF up/$3" "get file.bin $W/get2" bye >"$W/tnftp.in"
	client sh -c 'exec tnftp -n -i -v <"$1"' tnftp "$W/tnftp.in"
}

# wget: LIST of dir/, then each of its files, on one control connection.
wget_session() {
	local o=()
	case $2 in PORT | EPRT) o=(--no-passive-ftp) ;; esac
	client wget -nv -t 1 -T 10 -r -nH --no-remove-listing -P "$W/wget" "${o[@]}" "ftp://$(host "$1")/dir/"
}

busybox_session() {
	client busybox ftpget "${SRV[$1]}" "$W/get1" file.bin &&
		client busybox ftpput "${SRV[$1]}" "up/$3" "$REF"
}

# transfers CLIENT: how many data connections a session makes.
declare -A TRANSFERS=([curl]=4 [lftp]=4 [tnftp]=4 [wget]=3 [busybox]=2)

# outputs_right CLIENT NAME: what the session transferred is right.
outputs_right() {
	local list=$W/list
	case $1 in
	wget)
		list=$W/wget/dir/.listing
		same "$W/wget/dir/a.bin" "$ROOT/dir/a.bin" && same "$W/wget/dir/b.txt" "$ROOT/dir/b.txt" || return 1
		;;
	busybox)
		same "$W/get1" "$REF" && same "$ROOT/up/$2" "$REF"
		return
		;;
	*)
		same "$W/get1" "$REF" && same "$ROOT/up/$2" "$REF" && same "$W/get2" "$REF" || return 1
		;;
	esac
	grep -q 'a\.bin' "$list" && grep -q 'b\.txt' "$list" && return 0
	echo "# listing lacks a.bin or b.txt:"
	sed 's/^/#   /' "$list"
	return 1
}

# cell SERVER CLIENT FAMILY MODE: one session, checked.
cell() {
	local name="$2-$1-ipv$3-$4.bin" r=FAIL start=${EPOCHREALTIME/./}
	wanted "$@" || return 0
	rm -rf "$W"
	mkdir -p "$W"
	stats_before
	if "$2_session" "$3" "$4" "$name" && outputs_right "$2" "$name" &&
		closed && label_true "$4" "${TRANSFERS[$2]}"; then
		r=ok
	fi
	start=$(((${EPOCHREALTIME/./} - start) / 100000))
	result "$@" "$r" "$((start / 10)).$((start % 10))s"
}

# cells SERVER CLIENT FAMILY:MODE...
cells() {
	local fm
	for fm in "${@:3}"; do
		cell "$1" "$2" "${fm%%:*}" "${fm#*:}"
	done
}

# ftplib SERVER FAMILY MODE...: one python process for all the family's
# cells (python starts slowly under TCG).
ftplib() {
	local m modes=() line out=$NFE_TMP/verbs.out
	for m in "${@:3}"; do
		! wanted "$1" ftplib "$2" "$m" || modes+=("$m")
	done
	((${#modes[@]})) || return 0
	in_ns cli timeout 200 "$PY" "$here/ftp_verbs.py" "$1" "${SRV[$2]}" "$2" \
		"$ROOT" "$rtr_pid" "${modes[@]}" >"$out" 2>&1 || echo "# ftp_verbs.py: exit $?" >>"$out"
	while read -r line; do
		case $line in
		"# cell: "*)
			read -r _ _ s c f m r t <<<"$line"
			result "$s" "$c" "$f" "$m" "$r" "$t"
			;;
		*) echo "$line" ;;
		esac
	done <"$out"
	# Each mode has its cell line, even if python died.
	for m in "${modes[@]}"; do
		grep -q "^# cell: $1 ftplib $2 $m " "$out" || result "$1" ftplib "$2" "$m" FAIL -
	done
}

# every_client SERVER: the whole row of the matrix for one server.
every_client() {
	local m fm4=() fm6=()
	for m in $MODES4; do fm4+=("4:$m"); done
	for m in $MODES6; do fm6+=("6:$m"); done
	cells "$1" curl "${fm4[@]}" "${fm6[@]}"
	cells "$1" lftp 4:PASV 4:EPSV 4:PORT "${fm6[@]}"
	cells "$1" tnftp "${fm4[@]}" "${fm6[@]}"
	cells "$1" wget 4:PASV 4:PORT "${fm6[@]}"
	cells "$1" busybox 4:EPSV 6:EPSV
	ftplib "$1" 4 $MODES4
	ftplib "$1" 6 $MODES6
}

# listening ADDRESS_HEX: a TCP socket of srv listens on port 21 there
# (/proc/net/tcp6 also holds the v4 wildcard of a dual-stack socket).
srv_listening() {
	in_ns srv cat /proc/net/tcp /proc/net/tcp6 |
		awk -v a="$1" '$2 ~ ("^" a ":0015$") && $4 == "0A" { up = 1 } END { exit !up }'
}

# up NAME PATTERN COMMAND...: start a server in srv, wait until PATTERN
# (an address in /proc/net/tcp* notation) listens on port 21.
up() {
	local name=$1 pat=$2
	shift 2
	in_ns srv "$@" </dev/null >"$NFE_TMP/$name.out" 2>&1 &
	if ! wait_for 60 srv_listening "$pat"; then
		echo "# FATAL: $name did not start:" >&2
		sed 's/^/#   /' "$NFE_TMP/$name.out" >&2
		exit 1
	fi
}

# down NAME: stop the server whose command line holds NAME; wait for port
# 21 to be free.
down() {
	ftpd_down "$1"
	wait_for 10 eval '! srv_listening "[0-9A-F]*"'
}

# The servers not installed as Debian packages (tools/peers.sh).
peer() {
	local bin=${NFE_PEERS:-}/$1
	if [[ -z ${NFE_PEERS:-} || ! -x $bin ]]; then
		echo "# FATAL: $bin missing: run tools/peers.sh (make deps)" >&2
		exit 1
	fi
	echo "$bin"
}

proftpd_up() {
	local conf=$NFE_TMP/proftpd.conf
	cat >"$conf" <<-CONF
		ServerName "nfe"
		ServerType standalone
		DefaultServer on
		Port 21
		UseIPv6 on
		User ftp
		Group nogroup
		Umask 022
		PidFile $NFE_TMP/proftpd.pid
		ScoreboardFile $NFE_TMP/proftpd.scoreboard
		UseReverseDNS off
		DefaultAddress $SRV4 $SRV6
		DelayEngine off
		WtmpLog off
		TransferLog none
		<Anonymous $ROOT>
			User ftp
			Group nogroup
			UserAlias anonymous ftp
			RequireValidShell off
			# APPE; STOU creates its file, then opens it to write
			AllowStoreRestart on
			AllowOverwrite on
		</Anonymous>
	CONF
	up proftpd "0*" "$(peer proftpd/usr/sbin/proftpd)" -n -q -c "$conf"
}

# Pure-FTPd serves anonymous users ftp's home: this namespace's own
# /etc/passwd (ip netns exec runs in a mount namespace of its own) names
# ROOT.
pureftpd_up() {
	local bin
	bin=$(peer pure-ftpd/usr/sbin/pure-ftpd)
	awk -F: -v OFS=: -v root="$ROOT" '$1 == "ftp" { $6 = root } 1' /etc/passwd >"$NFE_TMP/passwd"
	up pure-ftpd "0*" sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' sh \
		"$NFE_TMP/passwd" "$bin" --dontresolve --anonymousonly
}

pyftpdlib_up() {
	# Both at once: python starts slowly under TCG.
	in_ns srv "$PY" -m pyftpdlib -i "$SRV4" -p 21 -w -d "$ROOT" \
		</dev/null >"$NFE_TMP/pyftpdlib4.out" 2>&1 &
	# fd00:2::2 in /proc/net/tcp6's notation.
	up pyftpdlib6 020000FD000000000000000002000000 "$PY" -m pyftpdlib -i "$SRV6" -p 21 -w -d "$ROOT"
	# 10.0.2.2 in /proc/net/tcp's byte order.
	if ! wait_for 60 srv_listening 0202000A; then
		echo "# FATAL: pyftpdlib on $SRV4 did not start:" >&2
		sed 's/^/#   /' "$NFE_TMP/pyftpdlib4.out" >&2
		exit 1
	fi
}

# APPE: vsftpd allows anonymous users uploads only without it.
FTPD_EXTRA_CONF=anon_other_write_enable=YES
topo_setup "${1:?usage: $0 MODULE.ko}"
ftpd_rw_up
printf 'line one\nline two\n\nthe last line\n' >"$ROOT/text.txt"
chmod 644 "$ROOT/text.txt"
rtr_watch
echo "# helper $HELPER on $(uname -r)"
if [[ -n ${NFE_STRICT_ACTIVE:-} ]]; then
	if [[ $HELPER != ftp-embryo ]] ||
		! in_ns rtr sysctl -q -w net.netfilter.nf_ftp_embryo_strict_active=1; then
		echo "not ok - NFE_STRICT_ACTIVE=1: cannot set strict_active through $HELPER"
		exit 1
	fi
	echo "# strict_active=1: active pinholes open at the transfer command"
fi

# The debug kernel (no module tree) checks the kernel side, for which
# curl's cells already cover every mode, family and verb; the other
# clients and servers differ only in userspace and would double its long
# run.
if [[ ! -d /lib/modules/$(uname -r) ]]; then
	cells vsftpd curl 4:PASV 4:EPSV 4:PORT 4:EPRT 6:EPSV 6:EPRT
	echo "# $0: debug kernel: curl cells only, ${SECONDS}s"
	exit $((failed != 0))
fi

every_client vsftpd
down vsftpd
proftpd_up
every_client proftpd
down proftpd
pureftpd_up
every_client pure-ftpd
down pure-ftpd
pyftpdlib_up
every_client pyftpdlib
down pyftpdlib

tap "the router's conntrack tables hold no expectation" pinhole_closed
name=$HELPER
[[ $name != ftp ]] || name=nf_conntrack_ftp
echo "# cells: $name $cells_ok ok / $cells"
for s in "${!srv_n[@]}"; do
	echo "# cells: $name $s ${srv_ok[$s]:-0} ok / ${srv_n[$s]}"
done | sort
for c in "${!cl_n[@]}"; do
	echo "# cells: $name $c ${cl_ok[$c]:-0} ok / ${cl_n[$c]}"
done | sort
echo "# $0: $cells cells, ${SECONDS}s"
((failed == 0))
