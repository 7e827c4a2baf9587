#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# guest: systemd
# Boots and reloads that never open the router and never lose the helper
# (issue 25), with systemd as PID 1 and the units the packages ship, in the
# order their dependencies give: the firewall of README.md loaded by
# Debian's nftables.service (/etc/nftables.conf, "flush ruleset" first) or
# by netfilter-persistent (iptables-persistent's rules.v4 and rules.v6),
# then nf-ftp-embryo-rules.service. Four boots: each firewall with the
# module findable (through modprobe.d, as modprobe finds a DKMS-built one)
# and with it missing. ftp_boot.sh runs the units' commands without systemd.
#
# On the host: ftp_boot_systemd.sh LINE MODULE.ko boots the four guests
# (tools/vm/run.sh --init tools/vm/systemd-init.sh), TAP on stdout, logs in
# build/selftests/systemd-LINE (NFE_SELFTEST_OUT overrides); exit 0 only if
# every boot passed; NFE_BOOTS="nft-present ipt-missing" boots only those.
# systemd-init.sh runs the guest's side twice, as
# "--guest nft|ipt present|missing MODULE.ko": before systemd starts
# (NFE_SYSTEMD=prepare: install, enable, configure) and once
# multi-user.target is up (NFE_SYSTEMD=command: the checks).
# shellcheck disable=SC2016 # tap's eval expands its single-quoted checks
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$here/${BASH_SOURCE[0]##*/}

host() {
	local line=${1:?usage: $0 LINE MODULE.ko} ko=${2:?usage: $0 LINE MODULE.ko}
	local root out fw mod log rc failed=0 start=$SECONDS
	ko=$(realpath "$ko")
	root=$(cd "$here/.." && pwd)
	out=${NFE_SELFTEST_OUT:-$root/build/selftests/systemd-$line}
	mkdir -p "$out"
	: >"$out/tap.log"
	for fw in nft ipt; do
		for mod in present missing; do
			[[ " ${NFE_BOOTS:-nft-present nft-missing ipt-present ipt-missing} " == *" $fw-$mod "* ]] ||
				continue
			echo "# boot: the $fw firewall, the module $mod" | tee -a "$out/tap.log"
			log=$out/$fw-$mod.log
			rc=0
			"$root/tools/vm/run.sh" --kernel "$line" --init "$root/tools/vm/systemd-init.sh" \
				--out "$out/$fw-$mod" --timeout "${NFE_TIMEOUT:-600}" -- \
				bash "$self" --guest "$fw" "$mod" "$ko" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
			# A boot that died before its first "not ok" must still count.
			if ((rc != 0)) && ! grep -q '^not ok' "$log"; then
				echo "not ok - systemd boot ($fw, module $mod) ran to completion (exit $rc)" | tee -a "$log"
			fi
			cat "$log" >>"$out/tap.log"
		done
	done
	pass=$(grep -c '^ok' "$out/tap.log" || true)
	failed=$(grep -c '^not ok' "$out/tap.log" || true)
	echo "# $line systemd guests: $pass ok, $failed not ok, $((SECONDS - start)) s (log: $out/tap.log)"
	((failed == 0 && pass > 0))
}

# prepare FW MOD KO: what installing the packages and configuring the
# router leave on disk. Chrooted into the guest's new root; nothing runs.
prepare() {
	local fw=$1 mod=$2 ko=$3 sysd=$here/../tools/systemd t unit files p=/etc/nf-ftp-embryo/
	# Where debian/rules installs them (nf-ftp-embryo-dkms), and the rule
	# files as shipped: commented.
	mkdir -p /usr/libexec/nf-ftp-embryo /lib/systemd/system/nftables.service.d \
		/etc/nf-ftp-embryo /etc/iptables
	cp "$sysd/nf-ftp-embryo-rules" /usr/libexec/nf-ftp-embryo/
	cp "$sysd/nf-ftp-embryo-rules.service" /lib/systemd/system/
	cp "$sysd/nftables.service.d/nf-ftp-embryo.conf" /lib/systemd/system/nftables.service.d/
	cp "$sysd/etc/iptables" "$sysd/etc/ip6tables" "$sysd/etc/nft" /etc/nf-ftp-embryo/
	# The admin's part: the firewall of README.md, and its example of the
	# helper's rules uncommented ("#x" becomes "x", "# text" stays).
	source "$here/firewall.inc"
	t=$(mktemp -d)
	readme_firewall "$t"
	case $fw in
	nft)
		unit=nftables.service files=(nft)
		cp "$t/nftables.conf" /etc/
		;;
	ipt)
		unit=netfilter-persistent.service files=(iptables ip6tables)
		cp "$t/rules.v4" "$t/rules.v6" /etc/iptables/
		;;
	esac
	rm -rf "$t"
	sed -i 's/^#\([^ ]\)/\1/' "${files[@]/#/$p}"
	# As the packages' maintainer scripts do: nf-ftp-embryo-dkms enables its
	# unit, iptables-persistent netfilter-persistent; nftables is enabled by
	# the admin.
	systemctl --root=/ --quiet enable nf-ftp-embryo-rules.service "$unit"
	if [[ $mod == present ]]; then
		# Installed, not loaded: modprobe finds it by the aliases it
		# declares, as it finds a DKMS-built module through depmod.
		cat >/etc/modprobe.d/nf-ftp-embryo-test.conf <<-EOF
			alias nfct-helper-ftp-embryo nf_ftp_embryo
			install nf_ftp_embryo /sbin/modprobe -a nf_conntrack nf_nat && /sbin/insmod $ko
		EOF
	fi
}

# The checks, once the guest is up. Every program started costs a part of
# a second of TCG: the ruleset is listed once per state, not per check.
# (tap, wait_for, download and the FTP server: xfer.inc and lib.sh.)
has() { [[ $1 == *"$2"* ]]; }
loaded() { [[ -d /sys/module/nf_ftp_embryo ]]; }
# started_after A B: unit B started only once unit A had finished starting.
started_after() {
	local a b
	a=$(systemctl show -P ActiveEnterTimestampMonotonic "$1")
	b=$(systemctl show -P InactiveExitTimestampMonotonic "$2")
	echo "# $1 up at $((a / 1000)) ms, $2 started at $((b / 1000)) ms"
	((a > 0 && b >= a))
}
journal() { journalctl -b -o cat --no-pager -u "$1"; }
# Journal lines are indexed a moment after they are written.
journal_has() { has "$(journal "$1")" "$2"; }
said() { wait_for 10 journal_has "$1" "$2"; }
failed_units() { systemctl list-units --failed --plain --no-legend --no-pager | cut -d' ' -f1 | paste -sd' '; }

# nft: the firewall (policy drop and its per-helper RELATED rule) and the
# helper's table, in one listing.
nft_firewall() { has "$1" 'policy drop;' && has "$1" 'ct state related ct helper "ftp-embryo" accept'; }
nft_helper() { has "$1" 'table inet nf_ftp_embryo' && has "$1" 'tcp dport 21 ct helper set "ftp-embryo"'; }
# ipt: FORWARD's policy and rules, both families; the helper's raw chain.
ipt_firewall() {
	has "$1" '-P FORWARD DROP' &&
		has "$1" '-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp-embryo -j ACCEPT' &&
		has "$2" '-P FORWARD DROP' &&
		has "$2" '-A FORWARD -m conntrack --ctstate RELATED -m helper --helper ftp-embryo -j ACCEPT'
}
ipt_helper() {
	local v
	for v in "$1" "$2"; do
		has "$v" '-A PREROUTING -j NF_FTP_EMBRYO' && has "$v" '-A OUTPUT -j NF_FTP_EMBRYO' &&
			has "$v" '-A NF_FTP_EMBRYO -p tcp -m tcp --dport 21 -j CT --helper ftp-embryo' || return 1
	done
}
ipt_none() { ! has "$1$2" NF_FTP_EMBRYO; }
# ipt_same: the listing is the one taken as $before.
ipt_same() { [[ $v4$v6 == "$before" ]]; }
ipt_list() {
	v4=$(iptables -S FORWARD; iptables -t raw -S)
	v6=$(ip6tables -S FORWARD; ip6tables -t raw -S)
}

command_nft() {
	local mod=$1 rs
	rs=$(nft list ruleset)
	tap "nft: nftables.service is active" systemctl -q is-active nftables.service
	tap "nft: the firewall is in force (policy drop, RELATED per helper)" nft_firewall "$rs"
	tap "nft: nf-ftp-embryo-rules.service started after nftables.service" \
		started_after nftables.service nf-ftp-embryo-rules.service
	if [[ $mod == present ]]; then
		tap "nft: nf-ftp-embryo-rules.service is active" systemctl -q is-active nf-ftp-embryo-rules.service
		tap "nft: no unit failed" eval '[[ -z $(failed_units) ]]'
		tap "nft: the rule naming the helper loaded the module" loaded
		tap "nft: the helper's table is attached after boot" nft_helper "$rs"
		tap "nft: nftables.service's drop-in loaded it (journal)" \
			said nftables.service "nf-ftp-embryo-rules: /etc/nf-ftp-embryo/nft loaded"
		# What nftables.service's own ExecReload does, alone: the helper
		# goes with the flush. The drop-in is what brings it back.
		nft -f /etc/nftables.conf
		tap "nft: /etc/nftables.conf alone flushes the helper's table" eval '! nft_helper "$(nft list ruleset)"'
		tap "nft: systemctl reload nftables" systemctl reload nftables.service
		rs=$(nft list ruleset)
		tap "nft: after the reload the helper's table is attached" nft_helper "$rs"
		tap "nft: after the reload the firewall is in force" nft_firewall "$rs"
		tap "nft: systemctl restart nftables" systemctl restart nftables.service
		tap "nft: after the restart the helper's table is attached" nft_helper "$(nft list ruleset)"
		transfer nft present
		tap "nft: systemctl stop nf-ftp-embryo-rules" systemctl stop nf-ftp-embryo-rules.service
		rs=$(nft list ruleset)
		tap "nft: stopped: the helper's table is gone, the firewall stays" \
			eval '! nft_helper "$rs" && nft_firewall "$rs"'
	else
		tap "nft: nf-ftp-embryo-rules.service failed, and no other unit" \
			eval '[[ $(failed_units) == nf-ftp-embryo-rules.service ]]'
		tap "nft: the module is not loaded" eval '! loaded'
		tap "nft: no helper table" eval '! nft_helper "$rs" && ! has "$rs" nf_ftp_embryo'
		tap "nft: the journal says why (journalctl -u nf-ftp-embryo-rules)" \
			said nf-ftp-embryo-rules.service "nf-ftp-embryo-rules: /etc/nf-ftp-embryo/nft did not load"
		tap "nft: nftables.service's drop-in said so too, and the service stayed up" \
			eval 'said nftables.service "/etc/nf-ftp-embryo/nft did not load" &&
				systemctl -q is-active nftables.service'
		tap "nft: systemctl reload nftables succeeds without the module" systemctl reload nftables.service
		rs=$(nft list ruleset)
		tap "nft: after the reload the firewall is in force, no helper table" \
			eval 'nft_firewall "$rs" && ! nft_helper "$rs"'
		transfer nft missing
		journal nf-ftp-embryo-rules.service | sed 's/^/# journal: /'
	fi
}

command_ipt() {
	local mod=$1 v4 v6 before
	ipt_list
	tap "ipt: netfilter-persistent.service is active" systemctl -q is-active netfilter-persistent.service
	tap "ipt: the firewall is in force (policy DROP, RELATED per helper), v4 and v6" \
		ipt_firewall "$v4" "$v6"
	tap "ipt: nf-ftp-embryo-rules.service started after netfilter-persistent.service" \
		started_after netfilter-persistent.service nf-ftp-embryo-rules.service
	if [[ $mod == present ]]; then
		tap "ipt: nf-ftp-embryo-rules.service is active" systemctl -q is-active nf-ftp-embryo-rules.service
		tap "ipt: no unit failed" eval '[[ -z $(failed_units) ]]'
		tap "ipt: the rule naming the helper loaded the module" loaded
		tap "ipt: the helper's raw rules are attached after boot, v4 and v6" ipt_helper "$v4" "$v6"
		before=$v4$v6
		# Restoring rules.v4 replaces the filter table only: the raw
		# table, the helper's, stays as it was.
		tap "ipt: systemctl restart netfilter-persistent" systemctl restart netfilter-persistent.service
		ipt_list
		tap "ipt: after the restart the helper's rules are the same, the firewall in force" \
			eval 'ipt_same && ipt_firewall "$v4" "$v6"'
		tap "ipt: systemctl reload nf-ftp-embryo-rules replaces them, adds nothing" \
			eval 'systemctl reload nf-ftp-embryo-rules.service && ipt_list && ipt_same'
		transfer ipt present
		tap "ipt: systemctl stop nf-ftp-embryo-rules" systemctl stop nf-ftp-embryo-rules.service
		ipt_list
		tap "ipt: stopped: the helper's rules are gone, the firewall stays" \
			eval 'ipt_none "$v4" "$v6" && ipt_firewall "$v4" "$v6"'
	else
		tap "ipt: nf-ftp-embryo-rules.service failed, and no other unit" \
			eval '[[ $(failed_units) == nf-ftp-embryo-rules.service ]]'
		tap "ipt: the module is not loaded" eval '! loaded'
		tap "ipt: nothing of the helper's rules is loaded" ipt_none "$v4" "$v6"
		tap "ipt: the journal says why (journalctl -u nf-ftp-embryo-rules)" \
			eval 'said nf-ftp-embryo-rules.service "nf-ftp-embryo-rules: /etc/nf-ftp-embryo/iptables did not load" &&
				said nf-ftp-embryo-rules.service "nf-ftp-embryo-rules: /etc/nf-ftp-embryo/ip6tables did not load"'
		tap "ipt: systemctl restart netfilter-persistent succeeds without the module" \
			systemctl restart netfilter-persistent.service
		ipt_list
		tap "ipt: after the restart the firewall is in force" ipt_firewall "$v4" "$v6"
		transfer ipt missing
		journal nf-ftp-embryo-rules.service | sed 's/^/# journal: /'
	fi
}

# The guest's own namespace is the router the units firewalled: lib.sh's
# rtr becomes a name for it, its cli and srv hang off it.
router_up() {
	ip netns attach rtr 1
	ip netns add cli
	ip netns add srv
	ip -b - <<-EOF
		link add r0 type veth peer name c0 netns cli
		link add r1 type veth peer name s0 netns srv
		addr add 10.0.1.1/24 dev r0
		addr add 10.0.2.1/24 dev r1
		link set r0 up
		link set r1 up
	EOF
	ip -n cli -b - <<-EOF
		link set lo up
		addr add 10.0.1.2/24 dev c0
		link set c0 up
		route add default via 10.0.1.1
	EOF
	ip -n srv -b - <<-EOF
		link set lo up
		addr add $SRV4/24 dev s0
		link set s0 up
		route add default via 10.0.2.1
	EOF
	echo 1 >/proc/sys/net/ipv4/ip_forward
	ftpd_up
}

# control_only: a SIZE on the control connection, no data connection.
control_only() { in_ns cli curl -sS -I --connect-timeout 5 -m 30 -o /dev/null "ftp://$SRV4/file.bin"; }

# transfer FW present|missing: FTP through the router as the boot left it.
transfer() {
	router_up
	if [[ $2 == present ]]; then
		tap "$1: a passive FTP download through the router's firewall and helper" download 4
		tap "$1: its pinhole closed" closed_after_transfer
	else
		tap "$1: FTP's control connection passes the firewall" control_only
		tap "$1: FTP's data connection is dropped (the download fails)" \
			blocked_without_helper 4 --connect-timeout 3
	fi
}

guest() {
	local fw=$1 mod=$2 ko=$3
	if [[ $NFE_SYSTEMD == prepare ]]; then
		prepare "$fw" "$mod" "$ko"
		return
	fi
	echo "# $(uname -r), PID 1: $(</proc/1/comm); the $fw firewall, the module $mod"
	tap "systemd is PID 1" eval '[[ $(</proc/1/comm) == systemd ]]'
	if [[ $mod == present ]]; then
		tap "the module is findable (modprobe -n)" modprobe -q -n nf_ftp_embryo
	else
		tap "the module is missing (modprobe -n fails)" eval '! modprobe -q -n nf_ftp_embryo'
	fi
	"command_$fw" "$mod"
	((failed == 0))
}

case ${1:-} in
--guest)
	if [[ $NFE_SYSTEMD == command ]]; then
		source "$here/lib.sh"
		source "$here/xfer.inc"
		# Not lib.sh's topo_down: rtr is the guest's own namespace,
		# and its processes are systemd's. vsftpd ends with the guest.
		trap 'rm -rf "$NFE_TMP"' EXIT
	fi
	guest "${2:?}" "${3:?}" "${4:?}"
	;;
*) host "$@" ;;
esac
