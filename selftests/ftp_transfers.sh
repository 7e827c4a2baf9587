#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Uploads (STOR) and directory listings (LIST, NLST) through the router, in
# every passive and active mode: each opens one pinhole for its data
# connection, closed again at the 226.
# Usage (in the guest, as root): ftp_transfers.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

url() {
	if [[ $1 == 4 ]]; then echo "ftp://$SRV4/$2"; else echo "ftp://[$SRV6]/$2"; fi
}

# curl_mode MODE: the curl options selecting one data-channel negotiation.
curl_mode() {
	case $1 in
	EPSV) ;;
	PASV) echo --disable-epsv ;;
	EPRT) echo --ftp-port - ;;
	PORT) echo --ftp-port - --disable-eprt ;;
	esac
}

ftp_curl() {
	in_ns cli curl -gsS --connect-timeout 5 -m 30 "$@"
}

# upload FAMILY MODE: STOR a new file, compare what the server stored.
upload() {
	local name="up/$1-$2.bin"
	# shellcheck disable=SC2046
	ftp_curl $(curl_mode "$2") -T "$NFE_TMP/ftp/file.bin" "$(url "$1" "$name")" &&
		same "$NFE_TMP/ftp/$name" "$NFE_TMP/ftp/file.bin"
}

# list FAMILY MODE [--list-only]: LIST (NLST) dir/; both names must be there.
list() {
	local out=$NFE_TMP/list
	# shellcheck disable=SC2046
	ftp_curl $(curl_mode "$2") "${@:3}" -o "$out.raw" "$(url "$1" dir/)" || return 1
	tr -d '\r' <"$out.raw" | sort >"$out"
	if [[ ${3:-} == --list-only ]]; then
		# NLST: exactly the names, one per line.
		[[ $(cat "$out") == $'a.bin\nb.txt' ]] && return 0
	else
		# LIST: ls -l style, the size then the name at each line's end.
		grep -q " $FILE_SIZE .* a\.bin$" "$out" &&
			grep -q " 1000 .* b\.txt$" "$out" &&
			[[ $(wc -l <"$out") == 2 ]] && return 0
	fi
	echo "# unexpected listing:"
	sed 's/^/#   /' "$out"
	return 1
}

topo_setup "${1:?usage: $0 MODULE.ko}"
ftpd_rw_up
echo "# helper $HELPER on $(uname -r)"

# Passive and active, both families, for uploads and for each listing verb;
# every mode at least once (kept short: each step is slow under TCG).
for fm in 4:PASV 6:EPRT; do
	f=${fm%:*} m=${fm#*:}
	tap "ipv$f $m upload" upload "$f" "$m"
	tap "ipv$f $m upload pinhole closed" closed_after_transfer
done
for fm in 4:EPRT 6:EPSV; do
	f=${fm%:*} m=${fm#*:}
	tap "ipv$f $m LIST" list "$f" "$m"
	tap "ipv$f $m LIST pinhole closed" closed_after_transfer
done
for fm in 4:PORT 4:EPSV; do
	f=${fm%:*} m=${fm#*:}
	tap "ipv$f $m NLST" list "$f" "$m" --list-only
	tap "ipv$f $m NLST pinhole closed" closed_after_transfer
done
tap "one expectation per transfer" test "$(counter expect_created)" = 6
tap "every transfer completed" test "$(counter flows_completed)" = 6

echo "# $0: ${SECONDS}s"
((failed == 0))
