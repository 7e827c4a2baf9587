#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Other FTP clients and another server through the router: lftp, busybox
# ftpget/ftpput and python ftplib against vsftpd and pyftpdlib. Each
# transfer compares the file byte for byte and leaves no pinhole.
# (curl is in the other tests, ftplib in ftp_session.sh.)
#
# Combinations left out, and why:
# - busybox ftpget/ftpput: passive only, it has no active mode; run over
#   IPv4 only here.
# - active mode (PORT/EPRT) against pyftpdlib: pyftpdlib connects back to
#   the client as soon as it gets PORT, before answering 200, while the
#   design opens the active pinhole only at the transfer command after the
#   200, so the server's SYN is dropped and PORT fails (README, "Known
#   limitations").
# - pyftpdlib over IPv6: "python3 -m pyftpdlib" listens on one address
#   family; IPv6 is covered with vsftpd, which listens on both.
# - PASV/PORT over IPv6: not defined (RFC 2428), every client uses EPSV/EPRT.
# Usage (in the guest, as root): ftp_clients.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

REF=$NFE_TMP/ftp/file.bin
GOT=$NFE_TMP/got

# lftp HOST PASSIVE(on|off) COMMAND: one lftp session. Its progress line
# ends without a newline, so its output stays out of the TAP stream.
lftp() {
	local log=$NFE_TMP/lftp.log
	in_ns cli timeout 30 lftp -c "set net:max-retries 1; set net:timeout 5;
		set ftp:passive-mode $2; open ftp://$1; $3" >"$log" 2>&1 && return 0
	tr '\r' '\n' <"$log" | sed 's/^/#   /'
	return 1
}

# lftp_get HOST PASSIVE(on|off): fetch file.bin with lftp.
lftp_get() {
	rm -f "$GOT"
	lftp "$1" "$2" "get file.bin -o $GOT" && same "$GOT" "$REF"
}

# lftp_put HOST PASSIVE NAME: upload file.bin as up/NAME with lftp.
lftp_put() {
	lftp "$1" "$2" "put $REF -o up/$3" && same "$NFE_TMP/ftp/up/$3" "$REF"
}

bb_get() {
	rm -f "$GOT"
	in_ns cli timeout 30 busybox ftpget "$1" "$GOT" file.bin && same "$GOT" "$REF"
}

bb_put() {
	in_ns cli timeout 30 busybox ftpput "$1" "up/$2" "$REF" &&
		same "$NFE_TMP/ftp/up/$2" "$REF"
}

pyftpd_listening() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}

topo_setup "${1:?usage: $0 MODULE.ko}"
ftpd_rw_up
echo "# helper $HELPER on $(uname -r)"

tap "vsftpd: lftp ipv4 active put" lftp_put "$SRV4" off lftp4.bin
tap "vsftpd: lftp ipv4 active put pinhole closed" closed_after_transfer
tap "vsftpd: lftp ipv6 active get" lftp_get "[$SRV6]" off
tap "vsftpd: lftp ipv6 active get pinhole closed" closed_after_transfer
tap "vsftpd: busybox ftpget ipv4" bb_get "$SRV4"
tap "vsftpd: busybox ftpget ipv4 pinhole closed" closed_after_transfer

# The same clients against pyftpdlib, which words its replies differently.
ftpd_down vsftpd
in_ns srv "$PY" -m pyftpdlib -i "$SRV4" -p 21 -w -d "$NFE_TMP/ftp" \
	</dev/null >"$NFE_TMP/pyftpdlib.out" 2>&1 &
# Python starts slowly under TCG, most of all on the debug kernel.
if ! wait_for 60 pyftpd_listening; then
	echo "# FATAL: pyftpdlib did not start:" >&2
	sed 's/^/#   /' "$NFE_TMP/pyftpdlib.out" >&2
	exit 1
fi
tap "pyftpdlib: lftp ipv4 passive get" lftp_get "$SRV4" on
tap "pyftpdlib: lftp ipv4 passive get pinhole closed" closed_after_transfer
tap "pyftpdlib: busybox ftpput ipv4" bb_put "$SRV4" bb4-py.bin
tap "pyftpdlib: busybox ftpput ipv4 pinhole closed" closed_after_transfer

echo "# $0: ${SECONDS}s"
((failed == 0))
