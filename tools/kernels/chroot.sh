#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Create (or find cached) a minimal Debian unstable chroot that can build
# out-of-tree modules against unstable's kernel: Debian builds that kernel
# with a gcc newer than the host has, and the host's gcc rejects its flags.
# Usage: chroot.sh [CC]: CC, the compiler a kernel names, keys the cache, so
# an unstable kernel built by a newer gcc gets a chroot made anew, with it.
# Last stdout line: the chroot path. Run commands in it with in-chroot.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}
mirror=${NFE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
key=$( (cat "${BASH_SOURCE[0]}"; echo "${1:-}") | sha256sum | cut -c1-16)
root=$cache/chroot-sid-$key

say() { echo "chroot: $*" >&2; }

# The rename below is the last step, so an existing directory is complete.
if [[ -x $root/usr/bin/make ]]; then
	echo "$root"
	exit 0
fi

((EUID == 0)) || { say "needs root (debootstrap, chroot)"; exit 1; }
command -v debootstrap >/dev/null || { say "debootstrap missing (make deps)"; exit 1; }

mkdir -p "$cache"
log=$cache/chroot-sid-$key.log
# Same filesystem as $root, so the final mv is an atomic rename.
tmp=$(mktemp -d "$cache/.chroot-sid-$key.XXXXXX")
# --one-file-system: should a mount outlive its namespace, rm must not
# descend into the host's /dev or /proc through it.
trap 'rm -rf --one-file-system "$tmp"' EXIT
chmod 755 "$tmp"
run() {
	if ! "$@" >>"$log" 2>&1; then
		say "FAILED: $*"
		tail -n 40 "$log" >&2
		exit 1
	fi
}
inroot() { run "$here/in-chroot.sh" "$tmp" env DEBIAN_FRONTEND=noninteractive "$@"; }

: >"$log"
start=$(date +%s)
say "debootstrap sid into $tmp (log: $log)"
# debootstrap mounts /proc and /sys in the target; a namespace of its own
# takes them away even when it is interrupted.
run unshare -m -- debootstrap --variant=minbase sid "$tmp" "$mirror"

# The archive this machine reaches may serve a Release file past its
# Valid-Until, as the host's own apt configuration already allows for.
cat >"$tmp/etc/apt/apt.conf.d/99nfe" <<'EOF'
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
EOF
# Nobody reads documentation or translations in a build chroot: a sixth of
# its size.
cat >"$tmp/etc/dpkg/dpkg.cfg.d/99nfe" <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
rm -rf "$tmp"/usr/share/{doc,man,info,locale}/*
inroot apt-get update
# The compiler and kbuild tools come from what unstable's amd64 headers
# declare, so a kernel built with a newer gcc brings that gcc along. The
# headers themselves stay out: each kernel brings its own KDIR.
hdr=$(chroot "$tmp" apt-cache depends linux-headers-amd64 |
	sed -n 's/^ *Depends: \(linux-headers-[^ ]*-amd64\)$/\1/p' | head -n1)
[[ -n $hdr ]] || { say "no linux-headers-*-amd64 in unstable"; exit 1; }
mapfile -t deps < <(chroot "$tmp" apt-cache show --no-all-versions "$hdr" |
	sed -n 's/^Depends: //p' | tr ',' '\n' |
	sed -E 's/\|.*//; s/\(.*//; s/:any//; s/[[:space:]]//g' |
	grep -v -e '^$' -e '^linux-headers-')
say "$hdr depends on: ${deps[*]}"
# kmod and dkms: the DKMS test builds for unstable's kernel in here too,
# make install the CLI (libmnl, pkg-config) as on an unstable system, and
# make lint runs sparse against that kernel.
inroot apt-get install -y --no-install-recommends \
	"${deps[@]}" make libc6-dev libelf-dev bc kmod dkms libmnl-dev pkg-config sparse
mkdir -p "$tmp/lib/modules"
inroot apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/*

if ! mv -T "$tmp" "$root" 2>/dev/null; then
	# Another run won the race; its chroot is just as good.
	test -x "$root/usr/bin/make"
fi
trap - EXIT
rm -rf --one-file-system "$tmp"
say "done in $(($(date +%s) - start)) s, $(du -sh --one-file-system "$root" | cut -f1)"
echo "$root"
