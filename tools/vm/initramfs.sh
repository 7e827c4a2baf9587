#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or find cached) the initramfs for a Debian stock kernel KVER whose
# modules are in MODDIR (default /lib/modules/KVER; a kernel fetched by
# tools/kernels/fetch.sh has them in its cache).
# Last stdout line: the path of the uncompressed cpio.
set -euo pipefail

kver=${1:?usage: initramfs.sh KVER [MODDIR]}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
moddir=$(realpath "${2:-/lib/modules/$kver}")
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}
# Only what the guest needs before the host's root is mounted; the rest of
# the stock modules are then reachable through modprobe on that root.
want=(virtio_pci 9pnet_virtio 9p)

key=$( (cat "${BASH_SOURCE[0]}" "$here/initramfs-init.sh"
	echo "$kver $moddir ${want[*]}"
	stat -c '%s %Y' /bin/busybox /bin/bash "$moddir/modules.dep") | sha256sum | cut -c1-16)
img=$cache/initramfs-$kver-$key.cpio
if [[ -f $img ]]; then
	echo "$img"
	exit 0
fi

mkdir -p "$cache"
stage=$(mktemp -d "$cache/.initramfs.XXXXXX")
trap 'rm -rf "$stage" "$stage.cpio"' EXIT

# modules.dep lists paths relative to $moddir; depth-first gives load order.
# A module the kernel has built in (newer kernels build virtio in) is skipped.
declare -A deps=() seen=()
if [[ -f $moddir/modules.builtin ]]; then
	while read -r path; do
		name=${path##*/}
		name=${name%%.ko*}
		seen[${name//-/_}]=1
	done <"$moddir/modules.builtin"
fi
while IFS=: read -r path rest; do
	name=${path##*/}
	name=${name%%.ko*}
	deps[${name//-/_}]="$path:$rest"
done <"$moddir/modules.dep"
order=()
visit() {
	local n=${1//-/_} entry dep
	[[ -n ${seen[$n]:-} ]] && return 0
	seen[$n]=1
	entry=${deps[$n]:?module $n not in $moddir/modules.dep}
	for dep in ${entry#*:}; do
		dep=${dep##*/}
		visit "${dep%%.ko*}"
	done
	order+=("${entry%%:*}")
}
for m in "${want[@]}"; do
	visit "$m"
done

mkdir -p "$stage"/{bin,dev,proc,modules,lib64,lib/x86_64-linux-gnu}
# Debian compresses the modules of its newer kernels; busybox insmod takes
# only plain ones.
for p in "${order[@]}"; do
	ko=${p##*/}
	ko=${ko%.ko*}.ko
	case $p in
	*.ko) cp "$moddir/$p" "$stage/modules/$ko" ;;
	*.ko.xz) xz -dc "$moddir/$p" >"$stage/modules/$ko" ;;
	*.ko.zst) zstd -q -dc "$moddir/$p" >"$stage/modules/$ko" ;;
	*.ko.gz) gzip -dc "$moddir/$p" >"$stage/modules/$ko" ;;
	*) echo "initramfs: module $p: unknown compression" >&2; exit 1 ;;
	esac
	echo "$ko" >>"$stage/modules.order"
done
cp /bin/busybox "$stage/bin/busybox"
# The init script is bash like every other script here, so ship bash and its libraries.
cp /bin/bash "$stage/bin/bash"
for lib in $(ldd /bin/bash | grep -o '/[^ ]*'); do
	cp "$lib" "$stage$lib"
done
install -m 0755 "$here/initramfs-init.sh" "$stage/init"

(cd "$stage" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) >"$stage.cpio"
mv -f "$stage.cpio" "$img"
echo "$img"
