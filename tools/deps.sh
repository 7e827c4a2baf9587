#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the build, the QEMU rig and the tests need.
# Idempotent and quick when everything is already there.
set -euo pipefail

# NAME=VERSION pins a version: the debug kernel's source, which its cache
# key and the tested point release depend on.
pkgs=(
	linux-headers-amd64 linux-image-amd64 linux-source-6.12=6.12.118-1~deb12u1
	build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils pahole
	debootstrap zstd
	qemu-system-x86 busybox-static
	iproute2 iptables nftables conntrack
	# selftests/ftp_ha.sh: a router pair
	conntrackd keepalived
	vsftpd python3-pyftpdlib python3-scapy lftp curl wget tcpdump
	tnftp
	# selftests/ftp_ccc.sh: the FTPS server's self-signed certificate
	openssl
	# What tools/peers.sh's unpacked proftpd-core and pure-ftpd link with
	libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libsodium23
	sparse libmnl-dev pkg-config dkms
	# The CLI: tables and JSON; the tests: its JSON Schema and OpenMetrics
	libsmartcols-dev libjson-c-dev python3-jsonschema python3-prometheus-client man-db
	# tools/deb-build.sh: systemd-analyze verify of the packages' units;
	# tools/cli/test.sh: promtool check metrics, and strace
	systemd prometheus strace
	# selftests/ftp_boot_systemd.sh: the iptables firewall as Debian boots it
	iptables-persistent
	# selftests/ftp_textfile.sh: the textfile collector that reads the .prom
	prometheus-node-exporter
	clang libclang-rt-14-dev
	valgrind
)

# One dpkg-query for all: unknown packages print nothing, so they stay missing.
declare -A have=()
while read -r name version status; do
	if [[ $status == installed ]]; then have[$name]=$version; fi
done < <(dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}\n' "${pkgs[@]%%=*}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	case $p in
	*=*) [[ ${have[${p%%=*}]:-} == "${p#*=}" ]] || missing+=("$p") ;;
	*) [[ -n ${have[$p]:-} ]] || missing+=("$p") ;;
	esac
done
((${#missing[@]})) || exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
((EUID == 0)) || sudo=(sudo)
# vsftpd's postinst would start a daemon listening on the host's port 21;
# the tests start their own in the guest's namespaces. A policy-rc.d that
# refuses every start, unless the machine has one.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# nf_ftp_embryo tools/deps.sh: start no daemons\nexit 101\n' |
		"${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get update
# iptables-persistent would save the host's own rules as the rules every
# boot loads (the systemd guest boots the host's root): save none.
printf 'iptables-persistent iptables-persistent/autosave_v%s boolean false\n' 4 6 |
	"${sudo[@]}" debconf-set-selections
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
