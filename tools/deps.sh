#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages the build, the QEMU rig and the tests need.
# Idempotent and quick when everything is already there.
set -euo pipefail

pkgs=(
	linux-headers-amd64 linux-image-amd64 linux-source-6.1
	build-essential bc bison flex libelf-dev libssl-dev kmod cpio xz-utils
	qemu-system-x86 busybox-static
	iproute2 iptables nftables conntrack
	vsftpd python3-pyftpdlib python3-scapy lftp curl tcpdump
	sparse libmnl-dev pkg-config dkms
	clang libclang-rt-14-dev
	valgrind
)

# One dpkg-query for all: unknown packages print nothing, so they stay missing.
declare -A have=()
while read -r name status; do
	if [[ $status == installed ]]; then have[$name]=1; fi
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	[[ -n ${have[$p]:-} ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
((EUID == 0)) || sudo=(sudo)
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
