#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: debug
# needs: bridge
# A router pair: keepalived (VRRP) moves the gateway addresses between rtra
# and rtrb, conntrackd (FTFW, expectations of ftp-embryo) keeps their
# conntrack tables in step over a link of their own.  FTP sessions fail
# over from one router to the other at the moments that matter
# (ftp_ha.py), each checked byte for byte, with no pinhole left on either
# router afterwards.
#
#                 .2 lan  rtra  wan .1(VIP)  sync 10.99.0.1
#   cli br0 -----<                          >----- br0 srv
#   192.168.124.10  .3 lan  rtrb  wan          198.51.100.2
#                   .1 = VIP      sync 10.99.0.2
#
# The routers' own WAN addresses are in 203.0.113.0/24, so that the VIP is
# the only address MASQUERADE can pick towards srv.  Routed cases first
# (srv routes the LAN back through the VIP), then SNAT to the VIP and
# MASQUERADE (no route back).  keepalived runs conntrack-tools'
# primary-backup.sh steps on each change (notify below), as
# Documentation/admin-guide.md ("HA router pair") shows.
# make check runs the core cases (routed: between, pasv, refused; snat:
# pasv); NFE_HA_ALL=1 (make check-all) adds routed port, mid and failback,
# snat between and MASQUERADE.
# Usage (in the guest, as root): ftp_ha.sh MODULE.ko
# Also: ftp_ha.sh --failover DIR (from ftp_ha.py): move the VIPs to the
# router that does not hold them, and wait until they are there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

LAN_VIP=192.168.124.1
WAN_VIP=198.51.100.1

# holds ROUTER: ROUTER has both virtual addresses.
holds() {
	ip -n "$1" -4 addr show dev lan | grep -q " $LAN_VIP/" &&
		ip -n "$1" -4 addr show dev wan | grep -q " $WAN_VIP/"
}

# lacks ROUTER: ROUTER has neither.
lacks() {
	! ip -n "$1" -4 addr show dev lan | grep -q " $LAN_VIP/" &&
		! ip -n "$1" -4 addr show dev wan | grep -q " $WAN_VIP/"
}

# ka_start DIR ROUTER: keepalived for ROUTER, VRRP only, in the foreground
# of a background job, with its own pid files.
ka_start() {
	local d=$1/$2
	ip netns exec "$2" keepalived -n -G -P -f "$d/keepalived.conf" \
		-p "$d/ka.pid" -r "$d/vrrp.pid" </dev/null >>"$d/keepalived.out" 2>&1 &
	echo $! >"$d/ka.job"
}

poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

failover() {
	local dir=$1 from to pid
	if holds rtra; then from=rtra to=rtrb; else from=rtrb to=rtra; fi
	# The backup has purged and has the table again.
	poll 20 grep -qx backup "$dir/$to/state" ||
		{ echo "# $to is not ready" >&2; return 1; }
	pid=$(cat "$dir/$from/ka.job")
	# SIGTERM: the master leaves with a priority-0 advert, so the backup
	# takes over at once rather than after three missed adverts.
	kill "$pid"
	poll 20 eval "! kill -0 $pid 2>/dev/null" ||
		{ echo "# keepalived on $from did not stop" >&2; return 1; }
	poll 20 holds "$to" || { echo "# $to did not take the VIPs" >&2; return 1; }
	poll 5 lacks "$from" || { echo "# $from kept a VIP" >&2; return 1; }
	poll 20 grep -qx master "$dir/$to/state" ||
		{ echo "# $to did not take the table over" >&2; return 1; }
	# Back as the backup (nopreempt), ready for the next failover.
	ka_start "$dir" "$from"
	echo "$to"
}

# keepalived's notify: conntrack-tools' primary-backup.sh, step by step.
# The router that takes over commits the copies it holds into its kernel
# (pinholes after their conntracks), empties its caches, reads its
# kernel's table into them and sends it all to the peer.  The one that
# leaves purges its kernel's table (-t: in PurgeTimeout): records and
# pinholes of ours for sessions the other router now carries go with
# their conntracks, so nothing stale stays behind or comes back into use
# at a failback.  Then it asks the peer for its table.
notify() {
	local d=$1/$2 ctd
	ctd=(conntrackd -C "$1/$2/conntrackd.conf")
	# keepalived does not wait for one notify before the next: the last
	# change wins the state file.
	echo "$3" >"$d/want"
	rm -f "$d/state"
	case $3 in
	master)
		"${ctd[@]}" -c && "${ctd[@]}" -f && "${ctd[@]}" -R &&
			"${ctd[@]}" -B
		;;
	*) "${ctd[@]}" -t && "${ctd[@]}" -n ;;
	esac >>"$d/notify.log" 2>&1
	if [[ $(cat "$d/want") == "$3" ]]; then
		echo "$3" >"$d/state"
	fi
}

if [[ ${1:-} == --failover ]]; then
	failover "${2:?}"
	exit
elif [[ ${1:-} == --notify ]]; then
	notify "${2:?}" "${3:?}" "${4:?}"
	exit
fi

source "$here/lib.sh"
source "$here/xfer.inc"
# shellcheck disable=SC2034 # lib.sh's ftpd_up writes a file this long
FILE_SIZE=$((512 * 1024))
HA=$NFE_TMP/ha
NSES="cli rtra rtrb srv"

ha_down() {
	local ns pid
	for ns in $NSES; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	# The daemons end with their adverts and sockets.
	for pid in $(cat "$HA"/*/ka.job "$HA"/*/ctd.job 2>/dev/null); do
		poll 10 eval "! kill -0 $pid 2>/dev/null" || true
	done
	for ns in $NSES; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# A bridge in cli and in srv stands for each LAN; every router has a port
# on both, and a veth of their own joins the routers (the sync link).
ha_topo() {
	local ns r
	for ns in $NSES; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
	done
	for ns in cli srv; do
		ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
		ip -n "$ns" link set br0 up
	done
	for r in a b; do
		ip link add "l$r" netns cli type veth peer name lan netns "rtr$r"
		ip link add "w$r" netns srv type veth peer name wan netns "rtr$r"
		ip -n cli link set "l$r" master br0 up
		ip -n srv link set "w$r" master br0 up
		ip -n "rtr$r" link set lan up
		ip -n "rtr$r" link set wan up
		ip netns exec "rtr$r" sysctl -q -w net.ipv4.ip_forward=1
	done
	ip link add sync netns rtra type veth peer name sync netns rtrb
	ip -n rtra addr add 10.99.0.1/30 dev sync
	ip -n rtrb addr add 10.99.0.2/30 dev sync
	ip -n rtra link set sync up
	ip -n rtrb link set sync up
	ip -n rtra addr add 192.168.124.2/24 dev lan
	ip -n rtrb addr add 192.168.124.3/24 dev lan
	ip -n rtra addr add 203.0.113.2/24 dev wan
	ip -n rtrb addr add 203.0.113.3/24 dev wan
	ip -n cli addr add $LAN4/24 dev br0
	ip -n cli route add default via $LAN_VIP
	ip -n srv addr add $WAN4/24 dev br0
	# Routed phase: srv reaches the LAN through the pair.
	ip -n srv route add 192.168.124.0/24 via $WAN_VIP
}

# The same rules on both routers (lib.sh's, IPv4, by interface).
ha_rules() {
	local r
	for r in rtra rtrb; do
		ip netns exec "$r" sh -e -c "
			iptables -P FORWARD DROP
			iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
			iptables -A FORWARD -i lan -o wan -p tcp --dport 21 -m conntrack --ctstate NEW -j ACCEPT
			iptables -t raw -A PREROUTING -i lan -p tcp --dport 21 -j CT --helper $HELPER
		" || { echo "# FATAL: rules did not load on $r" >&2; exit 1; }
	done
}

# nat SNAT|MASQUERADE: translate the LAN on both routers, and take srv's
# route back away.  SNAT names the WAN VIP; MASQUERADE picks it (the only
# address of the routers in srv's subnet).
ha_nat() {
	local r to=
	[[ $1 == MASQUERADE ]] || to="--to-source $WAN_VIP"
	for r in rtra rtrb; do
		ip netns exec "$r" iptables -t nat -F POSTROUTING
		# shellcheck disable=SC2086 # $to: none or two words
		ip netns exec "$r" iptables -t nat -A POSTROUTING -o wan -s 192.168.124.0/24 -j "$1" $to ||
			{ echo "# FATAL: $1 did not load on $r" >&2; exit 1; }
	done
	ip -n srv route del 192.168.124.0/24 2>/dev/null || true
}

# The fragments Documentation/admin-guide.md shows ("HA router pair").
ha_conf() {
	local r=$1 me=$2 peer=$3 prio=$4 d=$HA/$1
	mkdir -p "$d"
	cat >"$d/conntrackd.conf" <<-CONF
		Sync {
			Mode FTFW {
				PurgeTimeout 2
			}
			UDP {
				IPv4_address $me
				IPv4_Destination_Address $peer
				Port 3780
				Interface sync
				Checksum on
			}
			Options {
				ExpectationSync {
					ftp-embryo
				}
			}
		}
		General {
			# More buckets than one commit step (8192) takes: with
			# fewer, 1.4.7's -c commits no expectation and its -f
			# is refused ("commit still in progress").
			HashSize 32768
			HashLimit 65536
			Syslog off
			LogFile $d/conntrackd.log
			LockFile $d/conntrackd.lock
			UNIX {
				Path $d/conntrackd.ctl
			}
			NetlinkBufferSize 2097152
			NetlinkBufferSizeMaxGrowth 8388608
			Filter From Userspace {
				Protocol Accept {
					TCP
				}
				Address Ignore {
					IPv4_address 127.0.0.1
					IPv4_address 10.99.0.0/30
				}
			}
		}
	CONF
	cat >"$d/keepalived.conf" <<-CONF
		global_defs {
			router_id $r
			vrrp_garp_master_repeat 1
		}
		vrrp_sync_group gw {
			group {
				lan
				wan
			}
			notify_master "$here/ftp_ha.sh --notify $HA $r master"
			notify_backup "$here/ftp_ha.sh --notify $HA $r backup"
			notify_fault "$here/ftp_ha.sh --notify $HA $r fault"
		}
		vrrp_instance lan {
			state BACKUP
			nopreempt
			interface lan
			virtual_router_id 51
			priority $prio
			advert_int 1
			virtual_ipaddress {
				$LAN_VIP/24 dev lan
			}
		}
		vrrp_instance wan {
			state BACKUP
			nopreempt
			interface wan
			virtual_router_id 52
			priority $prio
			advert_int 1
			virtual_ipaddress {
				$WAN_VIP/24 dev wan
			}
		}
	CONF
}

ctd_start() {
	local d=$HA/$1
	ip netns exec "$1" conntrackd -C "$d/conntrackd.conf" </dev/null >"$d/conntrackd.out" 2>&1 &
	echo $! >"$d/ctd.job"
	if ! poll 30 test -S "$d/conntrackd.ctl"; then
		echo "# FATAL: conntrackd did not start on $1:" >&2
		sed 's/^/#   /' "$d/conntrackd.out" "$d/conntrackd.log" >&2 || true
		exit 1
	fi
}

ha_logs() {
	local f
	for f in "$HA"/*/conntrackd.log "$HA"/*/conntrackd.out "$HA"/*/keepalived.out "$HA"/*/notify.log; do
		[[ -s $f ]] || continue
		echo "# $f:"
		tail -n 20 "$f" | sed 's/^/#   /'
	done
}

trap 'ha_down; rm -rf "$NFE_TMP"' EXIT
load_module "${1:?usage: $0 MODULE.ko}"
modprobe -a nf_conntrack_netlink 2>/dev/null || true
ha_topo
ha_rules
mkdir -p "$HA"
ha_conf rtra 10.99.0.1 10.99.0.2 100
ha_conf rtrb 10.99.0.2 10.99.0.1 100
ctd_start rtra
ctd_start rtrb
# rtra first, alone for a moment, so that it starts as the master.  It
# waits three adverts first, and on a loaded host its start takes longer
# still: wait while it runs (the bound is for a daemon that hangs).
ka_start "$HA" rtra
ka_master() { holds rtra && grep -qx master "$HA/rtra/state"; }
ka_gone() { ! kill -0 "$(cat "$HA/rtra/ka.job")" 2>/dev/null; }
poll 180 eval 'ka_master || ka_gone' && ka_master ||
	{ echo "# FATAL: rtra never held the VIPs (${SECONDS}s)" >&2; ha_logs; exit 1; }
ka_start "$HA" rtrb

# vsftpd on srv, on the bridge (lib.sh's ftpd_up uses the namespace srv).
ftpd_up
echo "# helper $HELPER on $(uname -r); $(conntrackd -v 2>&1 | head -n 1); $(keepalived -v 2>&1 | head -n 1)"

# phase TAG CASE...: ftp_ha.py's cases, in cli.
phase() {
	HA_DIR=$HA FAILOVER="$here/ftp_ha.sh" in_ns cli timeout 300 "$PY" "$here/ftp_ha.py" \
		"$NFE_TMP/ftp/file.bin" "$@" || failed=$((failed + 1))
}

all="routed: port mid failback; snat: between; masquerade: masq_between"
if [[ -n ${NFE_HA_ONLY:-} ]]; then
	# shellcheck disable=SC2086 # a list of cases
	phase routed $NFE_HA_ONLY
	exit $((failed != 0))
fi
phase routed between pasv refused
[[ -z ${NFE_HA_ALL:-} ]] || phase routed port mid failback
ha_nat SNAT
if [[ -n ${NFE_HA_ALL:-} ]]; then
	phase snat between pasv
	ha_nat MASQUERADE
	phase masquerade masq_between
else
	phase snat pasv
fi
((failed == 0)) || ha_logs
[[ -n ${NFE_HA_ALL:-} ]] || echo "# not run here (NFE_HA_ALL=1 runs them): $all"
echo "# $0: ${SECONDS}s"
((failed == 0))
