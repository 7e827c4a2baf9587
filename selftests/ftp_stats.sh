#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock debug 7.2
# Observability: the counters after a scripted session, exactly, in /proc and
# over netlink (ftp_stats.py); two routers counting independently; the flow
# table during and after a transfer; a 10,000-row flow table dumped
# completely through the CLI; the CLI's permission error; the kernel's ynl
# tool, through the YNL spec, reads what the CLI reads.
# Usage (in the guest, as root): ftp_stats.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
CLI=$here/../tools/cli/ftp-embryo
# The dump's size: 10,000 rows, the issue's; on the debug kernel (3x
# slower under TCG) 1,000, still several netlink messages, so still resumed.
ROWS=10000
! grep -q nfe_kernel=debug /proc/cmdline || ROWS=1000

# A second router with its own client, in front of the same server:
#   cli2 c2 ---- r20 rtr2 r21 ---- s2 srv
#   10.0.3.2       .1   10.0.4.1     10.0.4.2
topo2_up() {
	local ipt=iptables
	ip netns add cli2
	ip netns add rtr2
	ip link add c2 netns cli2 type veth peer name r20 netns rtr2
	ip link add s2 netns srv type veth peer name r21 netns rtr2
	in_ns cli2 ip addr add 10.0.3.2/24 dev c2
	in_ns rtr2 ip addr add 10.0.3.1/24 dev r20
	in_ns rtr2 ip addr add 10.0.4.1/24 dev r21
	in_ns srv ip addr add 10.0.4.2/24 dev s2
	in_ns cli2 ip link set lo up
	in_ns rtr2 ip link set lo up
	in_ns cli2 ip link set c2 up
	in_ns rtr2 ip link set r20 up
	in_ns rtr2 ip link set r21 up
	in_ns srv ip link set s2 up
	in_ns cli2 ip route add default via 10.0.3.1
	in_ns srv ip route add 10.0.3.0/24 via 10.0.4.1
	in_ns rtr2 sysctl -q -w net.ipv4.ip_forward=1
	in_ns rtr2 $ipt -P FORWARD DROP
	in_ns rtr2 $ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	in_ns rtr2 $ipt -A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
	in_ns rtr2 $ipt -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper "$HELPER"
}

topo2_down() {
	local ns
	for ns in cli2 rtr2; do
		in_ns "$ns" true 2>/dev/null || continue
		ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
		ip netns del "$ns"
	done
}

# stats_json NETNS|-: the CLI's counters and gauges as one flat JSON object.
stats_json() {
	local run=(in_ns "$1")
	[[ $1 != - ]] || run=()
	"${run[@]}" "$CLI" stats --json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
print(json.dumps({**j["counters"], **j["gauges"]}, sort_keys=True))'
}

# proc_json NETNS: /proc/net/nf_ftp_embryo/stats of NETNS, the same way.
proc_json() {
	in_ns "$1" cat /proc/net/nf_ftp_embryo/stats | "$PY" -c '
import json, sys
print(json.dumps({k: int(v) for k, _, v in
                  (l.partition(": ") for l in sys.stdin.read().splitlines())},
                 sort_keys=True))'
}

# field JSON NAME: one value of a flat JSON object.
field() {
	"$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

# untracked NETNS: no control connection has a record any more.
untracked() {
	local n
	n=$(in_ns "$1" awk '$1 == "connections_tracked:" { print $2 }' \
		/proc/net/nf_ftp_embryo/stats)
	[[ $n == 0 ]] && return 0
	echo "# $1: $n connections still tracked"
	sleep 2
	return 1
}

# want JSON NAME=VALUE...: every NAME has exactly VALUE.
want() {
	"$PY" -c '
import json, sys
j = json.loads(sys.argv[1])
bad = [(k, j.get(k), v) for k, _, v in (a.partition("=") for a in sys.argv[2:])
       if str(j.get(k)) != v]
for k, got, v in bad:
    print("# %s is %s, want %s" % (k, got, v))
sys.exit(bool(bad))' "$@"
}

if [[ ! -x $CLI ]]; then
	echo "not ok - ftp-embryo CLI built ($CLI missing: make cli)"
	exit 1
fi
topo_setup "${1:?usage: $0 MODULE.ko}"
trap 'topo2_down; topo_down; rm -rf "$NFE_TMP"' EXIT
echo "# helper $HELPER on $(uname -r)"
# A process in rtr, for the script to read rtr's /proc/net through.
ip netns exec rtr sleep 3600 &
rtr_pid=$!
wait_for 30 eval '[[ $(ip netns identify "$rtr_pid") == rtr ]]'

# 1. The scripted session and every counter (about 70 s: one pinhole must
#    outlive expect_timeout).
tap "scripted session: every counter exact, /proc and netlink agree" \
	in_ns cli timeout 300 "$PY" "$here/ftp_stats.py" "$SRV4" 10.0.1.2 "$rtr_pid" "$CLI"

# The family validates every request strictly (ftp_genl.py prints TAP).
in_ns rtr "$PY" "$here/ftp_genl.py" || failed=$((failed + 1))

# The YNL spec: the kernel's own ynl tool, knowing the family only from
# Documentation/netlink/specs/nf_ftp_embryo.yaml, reads the statistics and
# flows the CLI reads (a linux-source tree's tools/net/ynl; about 10 s).
ynl=$(ls -d /root/.cache/nf_ftp_embryo/kernel-*/tools/net/ynl 2>/dev/null | sort | tail -n 1)
if [[ -n $ynl ]]; then
	tap "ynl --do stats-get and --dump flows-get equal ftp-embryo stats and flows" \
		in_ns rtr "$PY" "$here/../tools/cli/ynl-vs-cli.py" "$CLI" \
		"$here/../Documentation/netlink/specs/nf_ftp_embryo.yaml" "$ynl"
else
	echo "ok - ynl agrees with ftp-embryo # SKIP no tools/net/ynl"
fi

# 2. Two routers, each with its own traffic and its own numbers.
topo2_up
before=$(stats_json rtr)
for i in 1 2; do
	tap "rtr2: PASV download $i" in_ns cli2 curl -gsS --connect-timeout 5 -m 60 \
		--disable-epsv -o "$NFE_TMP/got2" ftp://10.0.4.2/file.bin
done
wait_for 10 untracked rtr2 || true
rtr2=$(stats_json rtr2)
tap "rtr2: its own counters (2 created, 2 completed, 2 pinholes used)" \
	want "$rtr2" flows_created=2 flows_completed=2 flows_aborted=0 cmd_pasv=2 \
	cmd_transfer=2 expect_created=2 expect_used=2 expect_removed_early=0 \
	refused_bounce=0 flows_current=0 expect_live=0
tap "rtr2: /proc and netlink agree" test "$rtr2" = "$(proc_json rtr2)"
tap "rtr: unchanged by rtr2's traffic" test "$before" = "$(stats_json rtr)"
tap "rtr: still its own numbers (9 created, 1 refused bounce)" \
	want "$(stats_json rtr)" flows_created=9 refused_bounce=1 cmd_pasv=5
tap "initial namespace: no traffic, no counts" \
	want "$(stats_json -)" packets=0 flows_created=0 expect_created=0
topo2_down

# 3. A big flow table: ROWS control connections each sent PASV to a server
#    that never answers, so each holds one OPENING row.
sysctl -q -w net.netfilter.nf_conntrack_max=$((4 * ROWS + 65536))
in_ns srv sysctl -q -w net.core.somaxconn=$((ROWS + 1000)) \
	net.ipv4.tcp_max_syn_backlog=$((ROWS + 1000))
rtr_rule iptables -A FORWARD -p tcp --dport 2121 -m conntrack --ctstate NEW -j ACCEPT
rtr_rule iptables -t raw -A PREROUTING -p tcp --dport 2121 -j CT --helper "$HELPER"
# Not in_ns: $! must be the process itself, to stop it later.
ip netns exec srv "$PY" -c '
import socket, sys, time
s = socket.create_server(("10.0.2.2", 2121), backlog=int(sys.argv[1]))
time.sleep(3600)' $((ROWS + 1000)) &
mute=$!
# Python starts slowly on the debug kernel under load.
# Read /proc directly, as ftpd_listening does.
if ! wait_for 120 eval "in_ns srv awk '\$2 ~ /:0849\$/ && \$4 == \"0A\" { up = 1 } END { exit !up }' /proc/net/tcp"; then
	echo "not ok - a silent server for the $ROWS-row table started"
	exit 1
fi
# Connects pipelined, a few dozen in flight: one at a time is slow under TCG.
ip netns exec cli "$PY" -c '
import os, resource, selectors, socket, sys, time
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
sel = selectors.DefaultSelector()
socks, started, done = [], 0, 0
while done < n:
    while started < n and started - done < 64:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("10.0.2.2", 2121))
        sel.register(s, selectors.EVENT_WRITE)
        socks.append(s)
        started += 1
    ready = sel.select(timeout=30)
    if not ready:
        sys.exit("# client: connects stalled at %d" % done)
    for key, _ in ready:
        s = key.fileobj
        sel.unregister(s)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sys.exit("# client: connect: " + os.strerror(err))
        s.send(b"PASV\r\n")
        done += 1
print("# client: %d connections sent PASV" % n, flush=True)
time.sleep(3600)' "$ROWS" &
many=$!
# in_ns on the reader: /proc/net is the reading process's namespace.
proc_rows() {
	in_ns rtr cat "$FLOWS" | wc -l
}
rows_in_proc() {
	[[ $(proc_rows) == "$ROWS" ]]
}
t0=$SECONDS
tap "$ROWS flow rows in /proc" wait_for 300 rows_in_proc
echo "# $ROWS connections up in $((SECONDS - t0)) s"
proc_rows=$(proc_rows)
dump=$NFE_TMP/flows.json
in_ns rtr "$CLI" flows --json >"$dump"
tap "ftp-embryo flows --json: $ROWS rows, all distinct, all OPENING PASV, as many as /proc ($proc_rows)" \
	"$PY" -c '
import json, sys
rows = json.load(open(sys.argv[1]))["flows"]
want = int(sys.argv[2])
ok = (len(rows) == want == int(sys.argv[3]) and
      len({(r["client_address"], r["client_port"]) for r in rows}) == want and
      all(r["state"] == "OPENING" and r["mode"] == "PASV" for r in rows))
print("# dump: %d rows, %d distinct" %
      (len(rows), len({(r["client_address"], r["client_port"]) for r in rows})))
sys.exit(not ok)' "$dump" "$ROWS" "$proc_rows"
tap "ftp-embryo flows (text): $ROWS rows" \
	test "$(in_ns rtr "$CLI" flows | tail -n +2 | wc -l)" = "$ROWS"
tap "ftp-embryo stats: flows_current $ROWS" \
	want "$(stats_json rtr)" flows_current="$ROWS" connections_tracked="$ROWS"
[[ -z $ynl ]] ||
	tap "ynl --dump flows-get: the same $ROWS rows as ftp-embryo flows" \
		in_ns rtr "$PY" "$here/../tools/cli/ynl-vs-cli.py" "$CLI" \
		"$here/../Documentation/netlink/specs/nf_ftp_embryo.yaml" "$ynl"
# Stop the server first: its listener's close resets every connection.
# Stragglers (a reset conntrack judged out of window) would wait for their
# conntrack timeouts: deleting the entries must take their rows along.
kill "$mute"
wait "$mute" 2>/dev/null || true
kill "$many"
wait_for 30 untracked rtr >/dev/null || true
in_ns rtr conntrack -F 2>/dev/null || true
tap "the rows go with their connections" wait_for 120 untracked rtr

echo "# $0: ${SECONDS}s"
((failed == 0))
