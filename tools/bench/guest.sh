#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make bench`: in one boot, measure three router
# configurations, alternating A B C A B C ... so drift hits all three alike:
#   A  no helper; data connections allowed by a permissive rule (the ceiling)
#   B  the kernel's nf_conntrack_ftp, attached with the CT target
#   C  nf_ftp_embryo, attached the same way
# Usage (in the guest, as root): guest.sh [--smoke] MODULE.ko RAW_OUT
# Writes one measurement per line to RAW_OUT ("section key... value...");
# tools/bench/report.py turns them into medians, ratios and JSON.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

smoke=0
if [[ ${1:-} == --smoke ]]; then
	smoke=1
	shift
fi
ko=${1:?usage: $0 [--smoke] MODULE.ko RAW_OUT}
raw=${2:?usage: $0 [--smoke] MODULE.ko RAW_OUT}
FB=$repo/build/bench/ftpbench

if ((smoke)); then
	ROUNDS=1 DUR=0.5 WARM=0.2 LEVELS="20" PROBE_WINDOW=0.2 PROBES=1
	MP_CONNS=8
else
	ROUNDS=${BENCH_ROUNDS:-5} DUR=${BENCH_DUR:-4} WARM=${BENCH_WARM:-1}
	LEVELS=${BENCH_LEVELS:-1 1000 10000 100000}
	PROBE_WINDOW=2 PROBES=3 MP_CONNS=64
fi
CONFIGS="A B C"
SRC_ADDRS=10.0.1.2,10.0.1.3,10.0.1.4,10.0.1.5

source "$repo/selftests/lib.sh"
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT

log() { echo "# bench: $*" >&2; }
rec() { echo "$*" >>"$raw"; }
: >"$raw"

# ---- setup -----------------------------------------------------------------

setup() {
	local max
	max=$(($(echo "$LEVELS" | tr ' ' '\n' | sort -n | tail -n1) * 2 + 100000))
	if [[ -d /lib/modules/$(uname -r) ]]; then
		modprobe -a nf_conntrack nf_nat nf_conntrack_ftp
	fi
	[[ -d /sys/module/nf_conntrack_ftp ]] || { log "FATAL: no nf_conntrack_ftp"; exit 1; }
	if [[ ! -d /sys/module/nf_ftp_embryo ]]; then
		insmod "$ko" max_flows=$((max > 65536 ? max : 65536))
	fi
	# Room for the idle flows: the table, its hash, file descriptors.
	sysctl -q -w net.netfilter.nf_conntrack_max=$((max * 2))
	echo $((max > 65536 ? max : 65536)) >/sys/module/nf_conntrack/parameters/hashsize
	ulimit -n 1048576
	topo_up
	local a ns
	for a in 3 4 5; do
		in_ns cli ip addr add "10.0.1.$a/24" dev c0
	done
	for ns in cli srv; do
		in_ns "$ns" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" \
			net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096 \
			net.ipv4.tcp_max_syn_backlog=4096
	done
	in_ns srv "$FB" server -l 10.0.2.2 -p 21 -T 2 </dev/null &
	wait_for 10 ftpd_listening_v4 || { log "FATAL: ftpbench server did not start"; exit 1; }
	# A process in rtr whose /proc/PID/net the probes read (not through
	# in_ns: a backgrounded function would leave $! in this namespace).
	ip netns exec rtr sleep infinity </dev/null &
	rtr_pid=$!
	local x
	for x in $CONFIGS; do
		rules "$x" >"$NFE_TMP/rules.$x"
	done
	rec "info kernel $(uname -r)"
	rec "info cpus $(nproc)"
	rec "info smoke $smoke"
}

ftpd_listening_v4() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}

# rules A|B|C: the router's rule set for that configuration (iptables-restore).
rules() {
	local raw
	case $1 in
	# A: the same number of rules in raw, doing nothing.
	A) raw="-A PREROUTING -p tcp --dport 21 -j ACCEPT" ;;
	B) raw="-A PREROUTING -p tcp --dport 21 -j CT --helper ftp" ;;
	C) raw="-A PREROUTING -p tcp --dport 21 -j CT --helper ftp-embryo" ;;
	esac
	cat <<-RULES
		*raw
		:PREROUTING ACCEPT [0:0]
		:OUTPUT ACCEPT [0:0]
		$raw
		COMMIT
		*filter
		:INPUT ACCEPT [0:0]
		:FORWARD DROP [0:0]
		:OUTPUT ACCEPT [0:0]
		-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
		-A FORWARD -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
	RULES
	# A: data connections pass by a permissive rule instead of a helper.
	[[ $1 != A ]] || echo "-A FORWARD -p tcp -m conntrack --ctstate NEW -j ACCEPT"
	echo COMMIT
}

# config A|B|C: load that rule set (one process: TCG makes each one
# expensive), then start from an empty conntrack table.
config() {
	if ! in_ns rtr iptables-restore <"$NFE_TMP/rules.$1"; then
		log "FATAL: rules for $1 did not load"
		exit 1
	fi
	settle
}

# Let closing connections finish; flushing the conntracks also removes
# their expectations.
settle() {
	sleep 0.2
	in_ns rtr conntrack -F >/dev/null 2>&1 || true
}

# rate CONNS THREADS MODE: negotiations per second through rtr.
rate() {
	local out
	if ! out=$(in_ns cli "$FB" client -s 10.0.2.2 -c "$1" -T "$2" -m "$3" \
		-d "$DUR" -w "$WARM" -B "$SRC_ADDRS" 2>&1); then
		log "client failed: $out"
		echo 0
		return
	fi
	awk '/^rate/ { print $2 }' <<<"$out"
}

# ---- (1) and (3): negotiation rate -----------------------------------------

bench_rate() {
	local r x
	for ((r = 1; r <= ROUNDS; r++)); do
		for x in $CONFIGS; do
			config "$x"
			rec "rate pasv $x $r $(rate 1 1 pasv)"
			settle
			rec "rate port $x $r $(rate 1 1 port)"
			settle
			rec "mp pasv $x $r $(rate "$MP_CONNS" 2 pasv)"
		done
		log "rate round $r done"
	done
}

# ---- (2) and (4): flow-table scaling and memory per flow -------------------

# Kernel memory in slab caches: object bytes in use, and slab pages.
slab_bytes() {
	awk 'NR > 2 { obj += $2 * $4; pages += $15 * $6 * 4096 }
	     END { printf "%.0f %.0f", obj, pages }' /proc/slabinfo
}

meminfo() {
	awk '$1 == "MemFree:" { f = $2 } $1 == "VmallocUsed:" { v = $2 }
	     END { printf "%.0f %.0f", f * 1024, v * 1024 }' /proc/meminfo
}

# release PID: the idle client PID was told to go (its stdin closed) and
# exits at once; its server ends close as fast as the FINs get through the
# router, which under TCG takes a while for 100,000.  Wait (bounded) so the
# next measurement does not start with them still being freed.
release() {
	local i est
	wait "$1" || true
	for ((i = 0; i < 120; i++)); do
		est=$(in_ns srv ss -Htn state established | wc -l)
		((est < 10)) && return
		sleep 1
	done
	log "server still has $est connections after 120 s"
}

bench_scale() {
	local n x before after mbefore mafter fifo ready open_s pid
	fifo=$(mktemp -u /tmp/bench-idle.XXXXXX)
	mkfifo "$fifo"
	for n in $LEVELS; do
		for x in $CONFIGS; do
			config "$x"
			sync
			echo 2 >/proc/sys/vm/drop_caches
			before=$(slab_bytes)
			mbefore=$(meminfo)
			# The idle client holds its connections until its stdin closes.
			in_ns cli "$FB" idle -s 10.0.2.2 -n "$n" -T 2 -B "$SRC_ADDRS" \
				<"$fifo" >"$fifo.out" 2>&1 &
			pid=$!
			exec 9>"$fifo"
			ready=
			for ((i = 0; i < 6000; i++)); do
				ready=$(awk '/^ready/ { print $4 }' "$fifo.out")
				[[ -z $ready ]] || break
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			if [[ -z $ready ]]; then
				log "idle $n ($x) failed: $(head -c 300 "$fifo.out")"
				exec 9>&-
				wait "$pid" || true
				rec "scale $x $n 0 0"
				continue
			fi
			open_s=$ready
			sleep 1
			after=$(slab_bytes)
			mafter=$(meminfo)
			rec "mem $x $n $before $after $mbefore $mafter"
			rec "scale $x $n $(rate 1 1 pasv) $open_s"
			if [[ $x == C ]]; then
				rec "info ftpe_records_$n $(in_ns rtr awk '$1 == "flows_created:" { print $2 }' /proc/net/nf_ftp_embryo/stats)"
			fi
			exec 9>&-
			release "$pid"
			log "scale $n $x done (opened in ${open_s}s)"
		done
	done
	rm -f "$fifo" "$fifo.out"
	for f in object_size slab_size; do
		rec "info ftpe_flow_$f $(cat /sys/kernel/slab/ftpe_flow/$f 2>/dev/null || echo 0)"
		rec "info nf_conntrack_$f $(cat /sys/kernel/slab/nf_conntrack/$f 2>/dev/null || echo 0)"
	done
}

# ---- (6): pinhole lifetime after the final reply ---------------------------

bench_pinhole() {
	local x k r out
	for ((r = 1; r <= PROBES; r++)); do
		for x in B C; do
			for k in pasv-ok pasv-fail port-fail; do
				config "$x"
				if ! out=$(in_ns cli "$FB" probe -s 10.0.2.2 -k "$k" \
					-e "/proc/$rtr_pid/net/nf_conntrack_expect" \
					-w "$PROBE_WINDOW" 2>&1); then
					log "probe $k ($x) failed: $out"
					rec "pinhole $x $k $r -1 -1 -1"
					continue
				fi
				rec "pinhole $x $k $r $(awk '/^lifetime_ms/ { print $2, $4, $6 }' <<<"$out")"
			done
		done
	done
}

setup
bench_rate
bench_pinhole
bench_scale
in_ns rtr cat /proc/net/nf_ftp_embryo/stats | sed 's/^/stat /; s/://' >>"$raw"
kill "$rtr_pid" 2>/dev/null || true
wait "$rtr_pid" 2>/dev/null || true
log "done"
