#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest side of `make bench`: in one boot, measure three router
# configurations, alternating A B C A B C ... so drift hits all three alike:
#   A  no helper; data connections allowed by a permissive rule (the ceiling)
#   B  the kernel's nf_conntrack_ftp, attached with the CT target
#   C  nf_ftp_embryo, attached the same way
# each plain and behind MASQUERADE ("nat-" modes).  In instruction time
# (run.sh's default: QEMU -icount, one vCPU) a guest nanosecond is one
# instruction; the callbacks' own instructions come from the function_graph
# tracer and the locks they take from kprobes (tools/bench/trace.py).
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
	ROUNDS=1 DUR=0.1 WARM=0.02 LEVELS="20" C_LEVELS="40" PROBE_WINDOW=0.2 PROBES=1
	STEADY=${BENCH_STEADY:-0}
	MP_CONNS=8 TRACE_DUR=0.05 LOCK_CONNS=2 LOCK_DUR=0.05
	# The traced parts once each, in one plain and one NAT'd mode.
	CB_MODES=${BENCH_CB_MODES:-pasv nat-port}
	PROF_MODES=${BENCH_PROF_MODES:-pasv} LOCK_MODES="pasv"
else
	ROUNDS=${BENCH_ROUNDS:-2} DUR=${BENCH_DUR:-0.3} WARM=${BENCH_WARM:-0.1}
	# Opening 100,000 idle connections costs about 5e10 instructions per
	# configuration, a quarter of an hour of TCG: that level is measured
	# for C alone, which is what its target is about.
	LEVELS=${BENCH_LEVELS:-1 1000 10000} C_LEVELS=${BENCH_C_LEVELS:-100000}
	# The steady state's reading: after the helper's park delay (30 s)
	# and a gc interval (10 s) have passed.
	STEADY=${BENCH_STEADY:-45}
	PROBE_WINDOW=2 PROBES=3 MP_CONNS=64 TRACE_DUR=${BENCH_TRACE_DUR:-0.3}
	LOCK_CONNS=4 LOCK_DUR=0.3
	CB_MODES=${BENCH_CB_MODES:-pasv epsv port eprt nat-pasv nat-port}
	PROF_MODES=${BENCH_PROF_MODES:-pasv port nat-pasv nat-port}
	LOCK_MODES="pasv port nat-pasv nat-port"
fi
CONFIGS="A B C"
MODES="pasv epsv port eprt nat-pasv nat-port"
# Each helper's callbacks (function_graph filter syntax).
CALLBACKS_B="help:mod:nf_conntrack_ftp nf_nat_follow_master"
CALLBACKS_C="ftpe_help ftpe_pinhole_used ftpe_destroy"
# The same as the graph prints them.
GRAPH_ROOTS="help nf_nat_follow_master ftpe_help ftpe_pinhole_used ftpe_destroy"
T=/sys/kernel/tracing
SRC_ADDRS=10.0.1.2,10.0.1.3,10.0.1.4,10.0.1.5

source "$repo/selftests/lib.sh"
trap 'topo_down; rm -rf "$NFE_TMP"' EXIT

log() { echo "# bench: $*" >&2; }
rec() { echo "$*" >>"$raw"; }
: >"$raw"

# ---- setup -----------------------------------------------------------------

setup() {
	local max
	max=$(($(echo "$LEVELS $C_LEVELS" | tr ' ' '\n' | sort -n | tail -n1) * 2 + 100000))
	if [[ -d /lib/modules/$(uname -r) ]]; then
		modprobe -a nf_conntrack nf_nat nf_conntrack_ftp nf_nat_ftp \
			iptable_nat
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
			net.ipv4.tcp_max_syn_backlog=4096 \
			net.ipv4.tcp_max_tw_buckets=0
	done
	in_ns srv "$FB" server -l 10.0.2.2 -p 21 -T 2 </dev/null &
	fb_pid=$!
	# Under -icount the guest's clock runs on while it waits for the host
	# (reading the binary over 9p on a loaded host): wait while the
	# server runs; the bound is for one that hangs.
	wait_for 600 eval 'ftpd_listening_v4 || ! kill -0 $fb_pid 2>/dev/null' &&
		ftpd_listening_v4 || { log "FATAL: ftpbench server did not start"; exit 1; }
	# A process in rtr whose /proc/PID/net the probes read (not through
	# in_ns: a backgrounded function would leave $! in this namespace).
	ip netns exec rtr sleep infinity </dev/null &
	rtr_pid=$!
	local x
	for x in $CONFIGS; do
		rules "$x" >"$NFE_TMP/rules.$x"
		rules "$x" nat >"$NFE_TMP/rules.$x.nat"
	done
	rec "info kernel $(uname -r)"
	rec "info cpus $(nproc)"
	rec "info smoke $smoke"
	rec "info clock $(clock)"
	rec "info mp_conns $MP_CONNS"
	[[ -e $T/trace ]] || mount -t tracefs tracefs "$T"
	echo 65536 >"$T/buffer_size_kb"
}

# icount: guest time is instructions (one vCPU, as run.sh boots it for
# instruction time); wallclock otherwise.
clock() {
	if [[ ${BENCH_CLOCK:-icount} == icount ]]; then
		echo icount
	else
		echo wallclock
	fi
}

ftpd_listening_v4() {
	in_ns srv awk '$2 ~ /:0015$/ && $4 == "0A" { up = 1 } END { exit !up }' /proc/net/tcp
}

# rules A|B|C [nat]: the router's rule set for that configuration
# (iptables-restore); with nat, the client network leaves behind MASQUERADE.
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
	# Always the nat table, so switching from NAT to none empties it.
	printf '%s\n' '*nat' ':PREROUTING ACCEPT [0:0]' ':INPUT ACCEPT [0:0]' \
		':OUTPUT ACCEPT [0:0]' ':POSTROUTING ACCEPT [0:0]'
	[[ ${2:-} != nat ]] || echo "-A POSTROUTING -s 10.0.1.0/24 -o r1 -j MASQUERADE"
	echo COMMIT
}

# config A|B|C [MODE]: load that rule set (one process: TCG makes each one
# expensive), then start from an empty conntrack table.
config() {
	local f=$NFE_TMP/rules.$1
	[[ ${2:-} != nat-* ]] || f+=.nat
	if ! in_ns rtr iptables-restore <"$f"; then
		log "FATAL: rules for $1 ${2:-} did not load"
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

# Each round measures every mode in A, B and C back to back, so a ratio
# within a round compares neighbours.
bench_rate() {
	local r x m
	for ((r = 1; r <= ROUNDS; r++)); do
		for m in $MODES; do
			for x in $CONFIGS; do
				config "$x" "$m"
				rec "rate $m $x $r $(rate 1 1 "${m#nat-}")"
			done
		done
		# Several connections on several CPUs: only the wall clock
		# with more than one vCPU says anything about that.
		if [[ $(clock) == wallclock ]]; then
			for x in $CONFIGS; do
				config "$x"
				rec "mp pasv $x $r $(rate "$MP_CONNS" 2 pasv)"
			done
		fi
		log "rate round $r done"
	done
}

# ---- the callbacks' own instructions, and the locks they take ---------------

trace_off() {
	echo 0 >"$T/tracing_on"
	echo nop >"$T/current_tracer"
	echo 0 >"$T/events/enable"
	: >"$T/set_ftrace_filter"
	: >"$T/set_graph_function"
	: >"$T/kprobe_events"
	: >"$T/trace"
}

# trace_calls FUNC...: function_graph on FUNC only, from now on.
trace_calls() {
	local fn
	trace_off
	for fn in "$@"; do
		echo "$fn" >>"$T/set_ftrace_filter"
	done
	echo 1 >"$T/options/funcgraph-tail"
	echo function_graph >"$T/current_tracer"
	echo 1 >"$T/tracing_on"
}

# traced_run MODE CONNS: one client run with -w 0, so every negotiation it
# counts happened while tracing; prints the negotiations.
traced_run() {
	local out
	if ! out=$(in_ns cli "$FB" client -s 10.0.2.2 -c "$2" -T 1 -m "${1#nat-}" \
		-d "$TRACE_DUR" -w 0 -B "$SRC_ADDRS" 2>&1); then
		log "client failed: $out"
		echo 0
		return
	fi
	awk '/^rate/ { print $4 }' <<<"$out"
}

# The tracer's own share of a traced call, measured on getppid(), which
# does almost nothing (about 20 instructions) but call __task_pid_nr_ns():
# LEAF is what one traced call adds inside its own time, NESTED what a
# traced call adds to the one around it.
getppid_calls() {
	trace_calls "$@"
	python3 -c 'import os
for _ in range(20000): os.getppid()'
	echo 0 >"$T/tracing_on"
	python3 "$here/trace.py" calls "$T/trace" 0 0 __do_sys_getppid |
		awk '$1 == "__do_sys_getppid" { printf "%d", $3 / $2 }'
}

bench_calibrate() {
	local alone around
	alone=$(getppid_calls __do_sys_getppid)
	around=$(getppid_calls __do_sys_getppid __task_pid_nr_ns)
	LEAF=$alone NESTED=$((around - alone))
	rec "calib $LEAF $NESTED"
	trace_off
}

# callbacks X: the function names X's helper is called through.
callbacks() {
	local v=CALLBACKS_$1
	echo "${!v}"
}

# cb KIND LEVEL MODE X [FUNC...]: one traced run of X with LEVEL idle flows
# around; per callback (and FUNC) its calls and instructions, with and
# without the traced calls inside ("KIND LEVEL MODE X FUNC CALLS INCL SELF
# NEGOTIATIONS").
cb() {
	local kind=$1 level=$2 m=$3 x=$4 n fns
	shift 4
	read -ra fns <<<"$(callbacks "$x")"
	trace_calls "${fns[@]}" "$@"
	n=$(traced_run "$m" 1)
	echo 0 >"$T/tracing_on"
	python3 "$here/trace.py" calls "$T/trace" "$LEAF" "$NESTED" $GRAPH_ROOTS |
		sed "s/\$/ $n/; s/^/$kind $level $m $x /" >>"$raw"
	trace_off
}

bench_callbacks() {
	local m x
	[[ -n ${LEAF:-} ]] || bench_calibrate
	for m in $CB_MODES; do
		for x in B C; do
			config "$x" "$m"
			cb cb 0 "$m" "$x"
		done
	done
}

# What the callbacks cost, by function and exactly: the insncount QEMU
# plugin counts each kernel instruction run, and snapshots its counts each
# time insnmark runs (run.sh loads it).  Each measured run lies between two
# marks, its snapshots numbered in order; the addresses are read with the
# guest's kallsyms.
MARK=$repo/build/bench/insnmark
snaps=0

bench_profile() {
	local m x n
	for m in $PROF_MODES; do
		for x in B C; do
			config "$x" "$m"
			"$MARK"
			n=$(traced_run "$m" 1)
			"$MARK"
			snaps=$((snaps + 2))
			rec "insn $m $x $n $((snaps - 1)) $snaps"
		done
	done
	cat /proc/kallsyms >"$(dirname "$raw")/kallsyms"
}

# Every lock the callbacks take, from kprobes on the lock functions while
# function_graph follows the callbacks into everything they call; with
# several control connections, so that one lock per connection shows as
# several addresses.
LOCK_FUNCS="_raw_spin_lock _raw_spin_lock_bh _raw_spin_lock_irq _raw_spin_lock_irqsave _raw_read_lock _raw_read_lock_bh _raw_write_lock _raw_write_lock_bh"

bench_locks() {
	local m x fn n fns
	for m in $LOCK_MODES; do
		for x in B C; do
			config "$x" "$m"
			trace_off
			read -ra fns <<<"$(callbacks "$x")"
			# set_graph_function takes no ":mod:"; only
			# nf_conntrack_ftp has a function named help here.
			for fn in "${fns[@]}"; do
				echo "${fn%%:*}" >>"$T/set_graph_function"
			done
			echo 1 >"$T/options/funcgraph-tail"
			for fn in $LOCK_FUNCS; do
				echo "p:bench/$fn $fn lock=%di:x64" >>"$T/kprobe_events"
			done
			echo 1 >"$T/events/bench/enable"
			echo function_graph >"$T/current_tracer"
			echo 1 >"$T/tracing_on"
			n=$(TRACE_DUR=$LOCK_DUR traced_run "$m" "$LOCK_CONNS")
			echo 0 >"$T/tracing_on"
			# Events lost to a full buffer would undercount.
			rec "lockinfo $m $x overrun $(awk '$1 == "overrun:" { print $2 }' "$T/per_cpu/cpu0/stats")"
			# Callback names as the graph prints them.
			python3 "$here/trace.py" locks "$T/trace" /proc/kallsyms $GRAPH_ROOTS |
				sed "s/\$/ $n/; s/^/lock $m $x /" >>"$raw"
			trace_off
		done
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
	local n x before after mbefore mafter fifo ready open_s pid configs
	# The traced runs below subtract the tracer's own cost.
	[[ -n ${LEAF:-} ]] || bench_calibrate
	fifo=$(mktemp -u /tmp/bench-idle.XXXXXX)
	mkfifo "$fifo"
	for n in $LEVELS $C_LEVELS; do
		configs=$CONFIGS
		[[ " $C_LEVELS " != *" $n "* ]] || configs=C
		for x in $configs; do
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
			# And once the connections have been quiet for STEADY s
			# (memsteady: the same fields), the idle ones still open.
			if ((STEADY > 0)); then
				sleep "$STEADY"
				rec "memsteady $x $n $before $(slab_bytes) $mbefore $(meminfo) $STEADY"
			fi
			rec "scale $x $n $(rate 1 1 pasv) $open_s"
			[[ $x == A ]] || cb cb "$n" pasv "$x"
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
for part in ${BENCH_ONLY:-rate callbacks profile locks pinhole scale}; do
	"bench_$part"
done
in_ns rtr cat /proc/net/nf_ftp_embryo/stats | sed 's/^/stat /; s/://' >>"$raw"
kill "$rtr_pid" 2>/dev/null || true
wait "$rtr_pid" 2>/dev/null || true
log "done"
