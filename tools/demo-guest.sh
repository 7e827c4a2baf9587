#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo scenario, run inside the guest by tools/demo.sh: one passive
# download through the router, watching the pinhole open and close.
set -euo pipefail
trap 'echo "demo: failed at line $LINENO" >&2' ERR
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/selftests/lib.sh"
CLI=$root/tools/cli/ftp-embryo

section() {
	printf '\n== %s ==\n' "$*"
}
has_socket() {
	[[ $(ls -l "/proc/$1/fd" 2>/dev/null) == *socket:* ]]
}
# One process reading with a builtin: a cat per poll is too slow under TCG
# to catch entries that live for a fraction of a second.
watch_flows() {
	if ! in_ns rtr test -e "$FLOWS"; then
		echo "(no $FLOWS: helper $HELPER)"
		return
	fi
	in_ns rtr bash -c '
		last=unset
		while kill -0 "$1" 2>/dev/null; do
			now=$(<"$2")
			# Digits out: a ticking counter is not a change worth a line.
			[[ ${now//[0-9]/} == "$last" ]] && continue
			printf "+%.2f s  %s\n" "$(bc <<<"$EPOCHREALTIME - $3")" "${now:-(empty)}"
			last=${now//[0-9]/}
		done' _ "$1" "$FLOWS" "$t0"
}

# Rate-limit the sender: a client-side limit only slows the reader, and the
# server's 226 would pass the router as soon as the socket buffers took the file.
FTPD_MAX_RATE=$((512 * 1024))
topo_setup "${1:?usage: $0 MODULE.ko}"

section "Topology"
echo "cli 10.0.1.2 -- 10.0.1.1 rtr 10.0.2.1 -- 10.0.2.2 srv (vsftpd)"
echo "rtr forwards with policy DROP; helper '$HELPER' attached to tcp/21 by the CT target:"
in_ns rtr iptables -S FORWARD | sed 's/^/  /'
in_ns rtr iptables -t raw -S PREROUTING | sed 's/^/  /'

# conntrack 1.4.7 refuses -e (event mask) for expectations; they only have
# NEW and DESTROY events anyway.
# Not in_ns: a backgrounded function is a subshell, and $! must be conntrack itself.
ip netns exec rtr conntrack -E expect -o timestamp >"$NFE_TMP/events" 2>"$NFE_TMP/events.err" &
events=$!
# The listener is subscribed once its netlink socket exists.
if ! wait_for 5 has_socket "$events"; then
	echo "conntrack -E failed:" >&2
	cat "$NFE_TMP/events.err" >&2
	exit 1
fi

section "Passive download (PASV) of 1 MiB, server sending at 512 KiB/s"
got=$NFE_TMP/got
t0=$EPOCHREALTIME
fetch 4 "$got" --disable-epsv -v 2>"$NFE_TMP/curl.log" &
curl=$!
# The CLI's view of the same table, once it has a row (printed below).
ip netns exec rtr bash -c '
	while kill -0 "$1" 2>/dev/null; do
		out=$("$2" flows 2>&1) || break
		(($(wc -l <<<"$out") > 1)) && break
		sleep 0.2
	done
	echo "$out"' _ "$curl" "$CLI" >"$NFE_TMP/cli-flows" &
cli_flows=$!
echo "flow table on rtr, each change while the transfer runs:"
watch_flows "$curl" | sed 's/^/  /'
rc=0
wait "$curl" || rc=$?
took=$(echo "$EPOCHREALTIME - $t0" | bc)

wait "$cli_flows" || true
section "ftp-embryo flows on rtr during the transfer (netlink)"
sed 's/^/  /' "$NFE_TMP/cli-flows"

section "Control connection (as curl saw it)"
grep -E '^[<>] (PASV|EPSV|227|229|RETR|150|125|226|QUIT|221)' "$NFE_TMP/curl.log" | sed 's/^/  /' || true

section "Transfer result"
if ((rc == 0)) && cmp -s "$got" "$NFE_TMP/ftp/file.bin"; then
	printf 'curl exit 0, %d bytes in %.1f s, cmp OK\n' "$(stat -c %s "$got")" "$took"
else
	echo "FAILED: curl exit $rc"
	sed 's/^/  /' "$NFE_TMP/curl.log" | tail -n 5
fi

wait_for 3 pinhole_closed || true
kill "$events"
wait "$events" 2>/dev/null || true

section "Expectation events on rtr (pinhole opened at 227, closed after)"
# Timestamps relative to the start of the download, like the flow table above.
awk -v t0="$t0" 'match($0, /^\[[0-9.]+\]/) {
	$0 = sprintf("+%.2f s ", substr($0, 2, RLENGTH - 2) - t0) substr($0, RLENGTH + 1)
} { print "  " $0 }' "$NFE_TMP/events"

section "conntrack -L expect on rtr afterwards"
left=$(expectations)
echo "${left:-  (none)}"

section "ftp-embryo stats on rtr (netlink; the same numbers as /proc/net/nf_ftp_embryo/stats)"
{ in_ns rtr "$CLI" stats 2>&1 || true; } | sed 's/^/  /'

section "ftp-embryo flows on rtr afterwards"
{ in_ns rtr "$CLI" flows 2>&1 || true; } | sed 's/^/  /'
