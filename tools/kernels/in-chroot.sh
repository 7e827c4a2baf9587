#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# in-chroot.sh [-b PATH]... CHROOT CMD...
# Run CMD in CHROOT with /dev, /proc, /sys, the repository, the kernel cache
# and each PATH mounted at the same paths as on the host, so KDIR and M=
# paths mean the same inside and out. The mounts live in a private mount
# namespace: they vanish when CMD exits, however it exits, and nothing
# ever holds the cached chroot busy.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}
extra=()
while [[ ${1:-} == -b ]]; do
	extra+=(-b "$2")
	shift 2
done
(($# >= 2)) || { echo "usage: $0 [-b PATH]... CHROOT CMD..." >&2; exit 2; }
root=$(realpath "$1")
shift
[[ -x $root/bin/sh ]] || { echo "in-chroot: no chroot at '$root'" >&2; exit 1; }
((EUID == 0)) || { echo "in-chroot: needs root (chroot, mounts)" >&2; exit 1; }

if [[ ${NFE_IN_NS:-} != 1 ]]; then
	# util-linux makes the new namespace's mounts private, so none of the
	# binds below propagates back to the host.
	exec env NFE_IN_NS=1 unshare -m -- "$0" "${extra[@]}" "$root" "$@"
fi

mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
# Compiler temporaries and whatever else CMD leaves in /tmp stay out of the
# cached chroot.
mount -t tmpfs nfe-tmp "$root/tmp"

# After the tmpfs, so that binds under /tmp show through it.
binds=("$top" "$cache")
for ((i = 1; i < ${#extra[@]}; i += 2)); do binds+=("${extra[i]}"); done
for b in "${binds[@]}"; do
	[[ -e $b ]] || continue
	# The real path, so a symlinked KDIR does not end up pointing at
	# nothing inside.
	b=$(realpath "$b")
	[[ $b == "$root" || $b == "$root"/* ]] && continue
	mkdir -p "$root$b"
	mount --bind "$b" "$root$b"
done
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

cwd=/
[[ -d $root$PWD ]] && cwd=$PWD
exec chroot "$root" /usr/bin/env -u NFE_IN_NS -C "$cwd" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	"$@"
