#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug
# Lines split across TCP segments, and refused active negotiations, with a
# scripted client and server (ftp_scripted.py) through the router:
# - PASV, EPSV, PORT and EPRT commands and 227/229 replies split at every
#   byte position still get their data connection through (the kernel's own
#   helper drops such lines), and the router counts the split lines;
# - a PORT/EPRT the server refuses (500, 501, 522) opens nothing, even when
#   the server then tries to connect.
# Each case ends with no expectation and no flow entry left.
# Usage (in the guest, as root): ftp_segments.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

# scripted FAMILY CASE: run one client case, all its transfers must pass;
# sets $splits to the number of lines it split.
scripted() {
	local srv=$SRV4 out
	[[ $1 == 4 ]] || srv=$SRV6
	out=$(in_ns cli timeout 300 "$PY" "$here/ftp_scripted.py" client "$srv" "$2" 2>&1) &&
		! grep -qv '^ok \|^splits ' <<<"$out" && grep -q '^ok ' <<<"$out" && {
		splits=$(awk '$1 == "splits" { print $2 }' <<<"$out")
		echo "# $(grep -c '^ok ' <<<"$out") transfers, $splits split lines"
		return 0
	}
	sed 's/^/#   /' <<<"$out"
	return 1
}

# split_case FAMILY CASE: the transfers work and the router reassembled
# exactly the lines that were split.
split_case() {
	local before after
	before=$(counter lines_split)
	scripted "$@" || return 1
	after=$(counter lines_split)
	echo "# lines_split +$((after - before))"
	((splits > 0 && after - before == splits))
}

topo_setup "${1:?usage: $0 MODULE.ko}"
ftpd_down vsftpd
for addr in "$SRV4" "$SRV6"; do
	in_ns srv "$PY" "$here/ftp_scripted.py" server "$addr" \
		</dev/null >>"$NFE_TMP/scripted.out" 2>&1 &
done
both_listening() {
	[[ $(in_ns srv ss -Hltn 'sport = :21' | wc -l) == 2 ]]
}
# Python starts slowly under TCG, most of all on the debug kernel.
if ! wait_for 60 both_listening; then
	echo "# FATAL: scripted server did not start" >&2
	exit 1
fi
echo "# helper $HELPER on $(uname -r)"

for fam in 4 6; do
	# IPv6 has only the extended commands; IPv4 EPSV/EPRT are in the
	# other tests, with lines that the helper parses the same way.
	cases="pasv-split 227-split port-split port-refused"
	[[ $fam == 4 ]] || cases="epsv-split 229-split eprt-split eprt-refused"
	for c in $cases; do
		case $c in
		*-split) tap "ipv$fam $c: every split position transfers" split_case $fam $c ;;
		*) tap "ipv$fam $c: no data connection" scripted $fam $c ;;
		esac
		tap "ipv$fam $c: no pinhole left" closed_after_transfer
	done
done
# Every reply the helper failed to parse would show here.
tap "no malformed lines counted" test "$(counter malformed)" = 0

echo "# $0: ${SECONDS}s"
((failed == 0))
