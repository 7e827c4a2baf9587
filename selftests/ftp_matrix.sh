#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The client matrix: curl, lftp, python ftplib and busybox, in every data
# channel mode each can use, over IPv4 and IPv6, downloading, uploading and
# listing, against vsftpd and then pyftpdlib. Each line of the TAP output
# is one combination: the transfer compared byte for byte (the listing
# checked for its two names) and then no expectation and no flow entry
# left on the router.
#
# The debug kernel runs the curl cells only (see below). Combinations left
# out, and why:
# - PASV and PORT over IPv6: not defined (RFC 2428), every client uses
#   EPSV/EPRT there.
# - lftp: no EPRT over IPv4 (it sends PORT; EPRT only for IPv6).
# - ftplib: PASV/PORT on IPv4 and EPSV/EPRT on IPv6, its own choice; it
#   has no switch for EPSV/EPRT over IPv4.
# - busybox ftpget/ftpput: passive only and no listing; it sends EPSV in
#   both families (PASV only if EPSV is refused).
# - pyftpdlib: "python3 -m pyftpdlib" listens on one address family, so
#   IPv4 only; and passive only: it connects back as soon as it gets
#   PORT/EPRT, before its 200, while the design opens the active pinhole at
#   the transfer command after the 200 (README, "Known limitations").
# Usage (in the guest, as root): ftp_matrix.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

# Many cells, each a new client process: a small file keeps the debug
# kernel's run short, and still spans many segments.
FILE_SIZE=$((64 * 1024))
REF=$NFE_TMP/ftp/file.bin
GOT=$NFE_TMP/got
LOG=$NFE_TMP/client.log
n=0

# host FAMILY: the server's address as a client names it.
host() {
	if [[ $1 == 4 ]]; then echo "$SRV4"; else echo "[$SRV6]"; fi
}

# client COMMAND...: run a client in cli; its output is shown on failure
# only (progress lines end without a newline).
client() {
	in_ns cli timeout 40 "$@" >"$LOG" 2>&1 && return 0
	tr '\r' '\n' <"$LOG" | sed 's/^/#   /'
	return 1
}

curl_mode() {
	case $1 in
	EPSV) ;;
	PASV) echo --disable-epsv ;;
	EPRT) echo --ftp-port - ;;
	PORT) echo --ftp-port - --disable-eprt ;;
	esac
}

# <client>_<op> FAMILY MODE NAME: one transfer; get and list write $GOT,
# put stores up/NAME.
# shellcheck disable=SC2046
curl_get() { client curl -gsS -m 30 $(curl_mode "$2") -o "$GOT" "ftp://$(host "$1")/file.bin"; }
# shellcheck disable=SC2046
curl_put() { client curl -gsS -m 30 $(curl_mode "$2") -T "$REF" "ftp://$(host "$1")/up/$3"; }
# shellcheck disable=SC2046
curl_list() { client curl -gsS -m 30 $(curl_mode "$2") -o "$GOT" "ftp://$(host "$1")/dir/"; }

lftp_mode() {
	case $1 in
	PASV) echo "set ftp:passive-mode on" ;;
	EPSV) echo "set ftp:passive-mode on; set ftp:prefer-epsv yes" ;;
	*) echo "set ftp:passive-mode off" ;;
	esac
}
lftp_run() {
	client lftp -c "set net:max-retries 1; set net:timeout 5; $(lftp_mode "$2");
		open ftp://$(host "$1"); $3"
}
lftp_get() { lftp_run "$1" "$2" "get file.bin -o $GOT"; }
lftp_put() { lftp_run "$1" "$2" "put $REF -o up/$3"; }
lftp_list() { lftp_run "$1" "$2" "ls dir/ >$GOT"; }

ftplib_mode() {
	case $1 in PASV | EPSV) echo passive ;; *) echo active ;; esac
}
ftplib_get() { client "$PY" "$here/ftp_oneshot.py" "${SRV[$1]}" "$(ftplib_mode "$2")" get "$GOT" file.bin; }
ftplib_put() { client "$PY" "$here/ftp_oneshot.py" "${SRV[$1]}" "$(ftplib_mode "$2")" put "$REF" "up/$3"; }
ftplib_list() { client "$PY" "$here/ftp_oneshot.py" "${SRV[$1]}" "$(ftplib_mode "$2")" list "$GOT" dir; }

busybox_get() { client busybox ftpget "${SRV[$1]}" "$GOT" file.bin; }
busybox_put() { client busybox ftpput "${SRV[$1]}" "up/$3" "$REF"; }

declare -A SRV=([4]=$SRV4 [6]=$SRV6)

# check OP NAME: what the transfer produced is right.
check() {
	case $1 in
	get) same "$GOT" "$REF" ;;
	put) same "$NFE_TMP/ftp/up/$2" "$REF" ;;
	list)
		grep -q 'a\.bin' "$GOT" && grep -q 'b\.txt' "$GOT" && return 0
		echo "# listing lacks a.bin or b.txt:"
		sed 's/^/#   /' "$GOT"
		return 1
		;;
	esac
}

# combo SERVER CLIENT FAMILY MODE OP: one cell of the matrix; the helper
# must also have seen exactly one MODE command, so the label is true.
combo() {
	local name="$2-$1-ipv$3-$4-$5.bin" seen before
	rm -f "$GOT"
	n=$((n + 1))
	before=$(counter "cmd_${4,,}")
	"$2_$5" "$3" "$4" "$name" && check "$5" "$name" && closed_after_transfer &&
		seen=$(($(counter "cmd_${4,,}") - before)) && ((seen == 1)) && return 0
	echo "# $4 commands seen: ${seen:-?}"
	return 1
}

# matrix SERVER CLIENT OPS FAMILY:MODE...
matrix() {
	local srv=$1 cl=$2 ops=$3 fm op
	shift 3
	for fm in "$@"; do
		for op in $ops; do
			tap "$srv: $cl ipv${fm%%:*} ${fm#*:} $op" \
				combo "$srv" "$cl" "${fm%%:*}" "${fm#*:}" "$op"
		done
	done
}

topo_setup "${1:?usage: $0 MODULE.ko}"
ftpd_rw_up
echo "# helper $HELPER on $(uname -r)"

ALL4="4:PASV 4:EPSV 4:PORT 4:EPRT"
ALL6="6:EPSV 6:EPRT"
matrix vsftpd curl "get put list" $ALL4 $ALL6
# The debug kernel (no module tree) checks the kernel side, for which
# curl's cells already cover every mode, family and verb; the other
# clients differ only in userspace and would double its long run.
if [[ ! -d /lib/modules/$(uname -r) ]]; then
	tap "vsftpd: one expectation per transfer" test "$(counter expect_created)" = "$n"
	echo "# $0: debug kernel: curl cells only, $n transfers, ${SECONDS}s"
	exit $((failed != 0))
fi
matrix vsftpd lftp "get put list" 4:PASV 4:EPSV 4:PORT $ALL6
matrix vsftpd ftplib "get put list" 4:PASV 4:PORT $ALL6
matrix vsftpd busybox "get put" 4:EPSV 6:EPSV
tap "vsftpd: one expectation per transfer" test "$(counter expect_created)" = "$n"
tap "vsftpd: every transfer completed" test "$(counter flows_completed)" = "$n"

ftpd_down vsftpd
in_ns srv "$PY" -m pyftpdlib -i "$SRV4" -p 21 -w -d "$NFE_TMP/ftp" \
	</dev/null >"$NFE_TMP/pyftpdlib.out" 2>&1 &
pyftpd_listening() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}
# Python starts slowly under TCG, most of all on the debug kernel.
if ! wait_for 60 pyftpd_listening; then
	echo "# FATAL: pyftpdlib did not start:" >&2
	sed 's/^/#   /' "$NFE_TMP/pyftpdlib.out" >&2
	exit 1
fi
matrix pyftpdlib curl "get put list" 4:PASV 4:EPSV
matrix pyftpdlib lftp "get put list" 4:PASV 4:EPSV
matrix pyftpdlib ftplib "get put list" 4:PASV
matrix pyftpdlib busybox "get put" 4:EPSV
tap "all: one expectation per transfer" test "$(counter expect_created)" = "$n"

echo "# $0: $n transfers, ${SECONDS}s"
((failed == 0))
