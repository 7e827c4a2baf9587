#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# Boots and reloads that never open the router and never lose the helper
# (issue 25). The guest's PID 1 is tools/vm/guest-init.sh, not systemd, so
# this runs what the packages' units run, in the order systemd would: the
# firewall (README's recipe: policy DROP, RELATED accepted per helper) as
# netfilter-persistent or nftables.service loads it, then
# nf-ftp-embryo-rules.service's ExecStart, and the commands nftables.service's
# drop-in adds to its start and reload; with the module missing (no module
# modprobe can find) and with it installable (found through /run/modprobe.d,
# as a DKMS-installed one is). Also: an unprivileged `ftp-embryo stats`
# does not load the module, and the textfile timer's script writes
# nf_ftp_embryo.prom, with nf_ftp_embryo_up 0 alone when the module is
# gone. The units themselves: tools/deb-build.sh (systemd-analyze verify).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"
source "$here/firewall.inc"

ko=$(realpath "${1:?usage: $0 MODULE.ko}")
sysd=$here/../tools/systemd
RULES=$sysd/nf-ftp-embryo-rules
DROPIN=$sysd/nftables.service.d/nf-ftp-embryo.conf
CLI=$here/../tools/cli/ftp-embryo
MODCONF=/run/modprobe.d/nfe-boot.conf
ETC=$NFE_TMP/etc
trap 'topo_down; rm -f "$MODCONF"; rm -rf "$NFE_TMP"' EXIT

# The rule files as shipped (tools/systemd/etc), their examples uncommented:
# "#x" becomes "x", "# text" stays a comment.
mkdir -p "$ETC"
for f in iptables ip6tables nft; do
	sed 's/^#\([^ ]\)/\1/' "$sysd/etc/$f" >"$ETC/$f"
done

# The firewall, as README.md has it.
readme_firewall "$NFE_TMP"

# dropin KEY: the commands the drop-in adds as KEY=, one a line.
dropin() { sed -n "s/^$1=//p" "$DROPIN"; }
# run_dropin KEY: run them as systemd would in rtr: a leading "-" means
# that a failure does not fail nftables.service. Exit 0 if all succeeded.
run_dropin() {
	local line ok=0
	while read -r line; do
		[[ $line == -* ]] || { echo "# $DROPIN: $1=$line fails nftables.service" >&2; ok=1; }
		read -ra cmd <<<"${line#-}"
		cmd[0]=$RULES	# the installed path, /usr/libexec/..., is not here
		in_ns rtr env NF_FTP_EMBRYO_ETC="$ETC" "${cmd[@]}" 2>>"$NFE_TMP/journal" || ok=1
	done <<<"$(dropin "$1")"
	return "$ok"
}
unit_start() { in_ns rtr env NF_FTP_EMBRYO_ETC="$ETC" "$RULES" start 2>>"$NFE_TMP/journal"; }
unit_stop() { in_ns rtr env NF_FTP_EMBRYO_ETC="$ETC" "$RULES" stop 2>>"$NFE_TMP/journal"; }

ipt_firewall() { in_ns rtr iptables-restore <"$NFE_TMP/rules.v4" && in_ns rtr ip6tables-restore <"$NFE_TMP/rules.v6"; }
# The firewall as loaded: FORWARD's policy DROP and its four rules, both families.
ipt_up() {
	local v cmd=iptables
	for v in 4 6; do
		[[ $v == 4 ]] || cmd=ip6tables
		[[ $(in_ns rtr "$cmd" -S FORWARD | sed 's/ -m [a-z]* / /g') == \
			"$(grep -E '^(:FORWARD|-A FORWARD)' "$NFE_TMP/rules.v$v" | sed -e 's/^:FORWARD DROP.*/-P FORWARD DROP/' -e 's/ -m [a-z]* / /g')" ]] ||
			{ in_ns rtr "$cmd" -S FORWARD | sed 's/^/# /'; return 1; }
	done
}
ipt_helper_rules() { in_ns rtr iptables -t raw -S; in_ns rtr ip6tables -t raw -S; }
ipt_attached() {
	[[ $(ipt_helper_rules | grep -c -- '-j NF_FTP_EMBRYO$') == 4 &&
		$(ipt_helper_rules | grep -c -- '-A NF_FTP_EMBRYO -p tcp -m tcp --dport 21 -j CT --helper ftp-embryo') == 2 ]]
}
ipt_detached() { [[ $(ipt_helper_rules) != *NF_FTP_EMBRYO* ]]; }
nft_firewall() { in_ns rtr nft -f "$NFE_TMP/nftables.conf"; }
# No "| grep -q" under pipefail: the lister may die of the closed pipe.
nft_up() { [[ $(in_ns rtr nft list chain inet filter forward) == *"policy drop;"* ]]; }
nft_attached() { [[ $(in_ns rtr nft list table inet nf_ftp_embryo 2>&1) == *'ct helper set "ftp-embryo"'* ]]; }
nft_detached() { ! in_ns rtr nft list table inet nf_ftp_embryo >/dev/null 2>&1; }
said() { grep -q "$1" "$NFE_TMP/journal"; }
loaded() { [[ -d /sys/module/nf_ftp_embryo ]]; }

load_module -	# nf_conntrack and nf_nat only
unload_module	# an earlier test's
topo_up
echo "# $(uname -r); the module missing: nothing modprobe can find"

tap "iptables: the firewall restores without the module" ipt_firewall
tap "iptables: the helper's rules fail to load (the unit fails)" eval '! unit_start'
tap "iptables: the failure names its file in the journal" said "$ETC/iptables did not load"
tap "iptables: the firewall is still up (policy DROP, its rules)" ipt_up
tap "iptables: nothing of the helper's is left half-loaded" ipt_detached

tap "nftables: the firewall loads without the module (nftables.service)" nft_firewall
tap "nftables: the drop-in's ExecStartPost fails, its '-' keeps nftables.service up" eval '! run_dropin ExecStartPost'
tap "nftables: the drop-in's ExecReload fails too" eval '! run_dropin ExecReload'
tap "nftables: the firewall is still up (policy drop)" nft_up
tap "nftables: no helper table" nft_detached

# Installed, not loaded: modprobe finds it as it finds a DKMS-built module
# (the aliases it declares, an install command for this build).
mkdir -p "${MODCONF%/*}"
cat >"$MODCONF" <<EOF2
alias net-pf-16-proto-16-family-nf_ftp_embryo nf_ftp_embryo
alias nfct-helper-ftp-embryo nf_ftp_embryo
install nf_ftp_embryo /sbin/modprobe -a nf_conntrack nf_nat && /sbin/insmod $ko
EOF2
echo "# the module installed, not loaded"
stats_nobody() {
	local rc=0
	as_nobody "$CLI" stats >/dev/null 2>&1 || rc=$?
	((rc == 3)) && ! loaded
}
tap "an unprivileged ftp-embryo stats: exit 3, and the module stays unloaded" stats_nobody
# What ftp-embryo no longer does: ask nlctrl for the family (this loads it).
family_lookup() {
	as_nobody "$PY" -c '
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
name = b"nf_ftp_embryo\0"
attr = struct.pack("HH", 4 + len(name), 2) + name  # CTRL_ATTR_FAMILY_NAME
attr += b"\0" * (-len(attr) % 4)
msg = struct.pack("BBH", 3, 1, 0) + attr  # CTRL_CMD_GETFAMILY
s.send(struct.pack("IHHII", 16 + len(msg), 16, 1, 1, 0) + msg)  # GENL_ID_CTRL, NLM_F_REQUEST
s.recv(65536)'
	loaded
}
tap "(the family lookup it skips loads the module, even for nobody)" family_lookup
unload_module

prom=$NFE_TMP/textfile/nf_ftp_embryo.prom
mkdir -p "$NFE_TMP/textfile"
textfile() { FTP_EMBRYO=$CLI "$sysd/ftp-embryo-textfile" "$NFE_TMP/textfile"; }
echo "nf_ftp_embryo_expect_created_total 99" >"$prom"
# Replaced by up 0 alone (selftests/ftp_textfile.sh reads it through node_exporter).
down_only() { [[ $(grep -v '^#' "$prom") == "nf_ftp_embryo_up{netns=\"init\"} 0" ]]; }
tap "textfile: module not loaded: the stale .prom replaced by up 0, exit 0" eval 'textfile && down_only && ! loaded'

in_ns rtr nft flush ruleset
tap "iptables: the firewall restores" ipt_firewall
tap "iptables: the helper's rules load (the module loaded on demand)" eval 'unit_start && loaded && ipt_attached'
tap "iptables: the firewall is up" ipt_up
before=$(ipt_helper_rules)
tap "iptables: a second start (a reload) replaces, adds nothing" \
	eval 'unit_start && [[ $(ipt_helper_rules) == "$before" ]]'
ftpd_up
tap "iptables: a passive download through the README's rules" download 4
tap "iptables: its pinhole closed" closed_after_transfer
tap "iptables: an IPv6 passive download" download 6
tap "textfile: nf_ftp_embryo.prom, mode 0644, counters typed" \
	eval 'textfile && [[ $(stat -c %a "$prom") == 644 ]] &&
		grep -q "^# TYPE nf_ftp_embryo_expect_created_total counter$" "$prom" &&
		grep -q "^# HELP nf_ftp_embryo_expect_live " "$prom" &&
		! compgen -G "$NFE_TMP/textfile/.nf_ftp_embryo.*" >/dev/null'
if command -v promtool >/dev/null; then
	tap "textfile: promtool check metrics finds nothing" eval '[[ -z $(promtool check metrics <"$prom" 2>&1) ]]'
fi
tap "iptables: stop removes the helper's rules only" eval 'unit_stop && ipt_detached && ipt_up'

tap "nftables: the firewall loads (nftables.service start)" nft_firewall
tap "nftables: the drop-in's ExecStartPost attaches the helper" eval 'run_dropin ExecStartPost && nft_attached'
tap "nftables: the unit's start after it replaces the table" eval 'unit_start && nft_attached'
# systemctl reload nftables: its own ExecReload (flush ruleset), then the drop-in's.
tap "nftables: its ExecReload alone loses the helper (flush ruleset)" eval 'nft_firewall && nft_detached'
tap "nftables: the drop-in's ExecReload brings it back" eval 'run_dropin ExecReload && nft_attached && nft_up'
tap "nftables: a passive download after the reload" download 4
tap "nftables: its pinhole closed" closed_after_transfer
tap "nftables: stop removes the helper's table only" eval 'unit_stop && nft_detached && nft_up'
grep "^nf-ftp-embryo-rules: " "$NFE_TMP/journal" | sort | uniq -c | sed "s/^/# journal: /"
# run-guest.sh unloads the module after the last test.
load_module "$ko"

((failed == 0))
