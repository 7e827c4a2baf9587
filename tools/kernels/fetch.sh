#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch (or find cached) one of Debian's stock kernels besides the host's own
# 6.1: image, modules and headers, unpacked into a private root.
# Usage: fetch.sh 6.12|7.2
# Last stdout line: the kernel's directory, holding
#   kver      the kernel release (one line)
#   vmlinuz   the kernel image
#   modules/  its /lib/modules/<kver>, depmod'ed
#   build     a KDIR for out-of-tree modules (make -C build M=...)
#   root/     every package unpacked with dpkg -x
set -euo pipefail

line=${1:-}
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}/kernels
mirror=${NFE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${NFE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Bump when the layout of a kernel directory changes: older ones are fetched anew.
layout=1

say() { echo "fetch: $*" >&2; }

case $line in
6.12)
	# Pinned: later 6.12 point releases dropped the conntrack expectation
	# timer, and the runtime tests need a kernel that still has it.
	source="$security bookworm-security"
	pinned_kver=6.12.111+deb12-amd64
	pinned_version=6.12.111-1~deb12u1
	;;
7.2)
	# Unstable keeps only its newest upload: resolved from the metapackage.
	source="$mirror sid"
	pinned_kver='' pinned_version=''
	;;
*)
	echo "usage: $0 6.12|7.2" >&2
	exit 2
	;;
esac

# complete DIR VERSION: DIR is a finished fetch of VERSION in this layout.
complete() {
	[[ -f $1/.complete && $(cat "$1/.complete") == "$layout $2" ]]
}

if [[ -n $pinned_kver ]] && complete "$cache/$pinned_kver" "$pinned_version"; then
	echo "$cache/$pinned_kver"
	exit 0
fi

if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
	say "needs apt-get and dpkg (Debian)"
	exit 1
fi
[[ -r $keyring ]] || { say "$keyring missing (package debian-archive-keyring)"; exit 1; }

# apt state of our own: the machine's sources, lists and dpkg status stay
# untouched, and nothing here can be installed by accident.
apt=$cache/.apt-$line
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
: >"$apt/status"
echo "deb [signed-by=$keyring] $source main" >"$apt/sources.list"
opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
	-o "Dir::State::status=$apt/status" -o Acquire::Languages=none
	# A mirror may serve a Release file past its Valid-Until (the host's own
	# apt configuration allows for it); the signature is still checked.
	-o Acquire::Check-Valid-Until=false
	# The downloads land in a directory of ours, not readable by _apt.
	-o APT::Sandbox::User=root)

# Two fetches of one line (make check runs guests side by side) share the lists.
exec 9>"$apt/lock"
flock 9

update() {
	say "updating the package list of $source"
	apt-get -q "${opts[@]}" update >"$apt/update.log" 2>&1 || {
		cat "$apt/update.log" >&2
		return 1
	}
	# A list that is not signed by the keyring is a warning to apt-get
	# update; here it must stop the fetch.
	if grep -E '^(W|E): ' "$apt/update.log" >&2; then
		return 1
	fi
	touch "$apt/updated"
	updated=1
}

# resolve: set kver and version for this line from the package lists.
resolve() {
	if [[ -n $pinned_kver ]]; then
		kver=$pinned_kver version=$pinned_version
		return 0
	fi
	local dep
	dep=$(apt-cache "${opts[@]}" show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends: //p' | tr ',' '\n' |
		sed -n 's/^ *linux-image-\([^ ]*\) *(= *\([^)]*\)).*/\1 \2/p' | head -n1)
	read -r kver version <<<"$dep"
	[[ $kver == "$line".* && -n $version ]] || {
		say "linux-image-amd64 in $source is ${kver:-missing}, not $line"
		return 1
	}
}

updated=
lists_age=$(($(date +%s) - $(stat -c %Y "$apt/updated" 2>/dev/null || echo 0)))
# Unstable's cached kernel is good as long as the (at most a day old) list
# still has it; a pinned one is good once fetched (checked above).
if ((lists_age > 86400)) || ! resolve 2>/dev/null; then
	if ! update || ! resolve; then
		# Offline: unstable falls back to its newest kernel fetched before.
		last=
		if [[ -z $pinned_kver ]]; then
			last=$(find "$cache" -mindepth 1 -maxdepth 1 -name "$line.*" -printf '%f\n' | sort -V | tail -n1)
		fi
		if [[ -n $last && $(cat "$cache/$last/.complete" 2>/dev/null) == "$layout "* ]]; then
			say "cannot reach $source; using the cached $last"
			echo "$cache/$last"
			exit 0
		fi
		exit 1
	fi
fi
out=$cache/$kver
if complete "$out" "$version"; then
	[[ -n $pinned_kver ]] || say "$line is $kver (Debian $version), cached"
	echo "$out"
	exit 0
fi
# About to download: an older list may name files the archive has dropped.
((lists_age < 3600)) || [[ -n $updated ]] || { update && resolve && out=$cache/$kver; }
[[ -n $pinned_kver ]] || say "$line is $kver (Debian $version)"

# The image and headers with whatever they pull in of this kernel's own
# packages (headers-common, kbuild; in 7.2 also base, binary and modules):
# only the first alternative of each dependency, only names with the ABI.
abi=${kver%-amd64}
declare -A want=()
todo=("linux-image-$kver" "linux-headers-$kver")
while ((${#todo[@]})); do
	pkg=${todo[0]}
	todo=("${todo[@]:1}")
	[[ -z ${want[$pkg]:-} ]] || continue
	want[$pkg]=1
	deps=$(apt-cache "${opts[@]}" show "$pkg=$version" | sed -n 's/^Depends: //p' | head -n1) || {
		say "$pkg=$version is not in $source"
		exit 1
	}
	while read -r dep; do
		dep=${dep%%|*}
		dep=${dep%%(*}
		dep=${dep// /}
		dep=${dep%:any}
		[[ $dep != *"$abi"* ]] || todo+=("$dep")
	done < <(tr ',' '\n' <<<"$deps")
done
pkgs=()
for pkg in "${!want[@]}"; do
	pkgs+=("$pkg=$version")
done

mkdir -p "$cache"
# Same filesystem as $out, so the final mv is an atomic rename.
tmp=$(mktemp -d "$cache/.$kver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
say "downloading ${pkgs[*]}"
(cd "$tmp" && apt-get -q "${opts[@]}" download "${pkgs[@]}" >"$tmp/download.log" 2>&1) || {
	cat "$tmp/download.log" >&2
	exit 1
}
for deb in "$tmp"/*.deb; do
	dpkg -x "$deb" "$tmp/root"
	rm -f "$deb"
done
rm -f "$tmp/download.log"

r=$tmp/root
# 6.12 ships /boot/vmlinuz-<kver> and /lib/modules; unstable's packages
# only /usr/lib/modules/<kver>/, vmlinuz included, for a merged /usr.
[[ -e $r/lib ]] || ln -s usr/lib "$r/lib"
moddir=lib/modules/$kver
vmlinuz=boot/vmlinuz-$kver
[[ -f $r/$vmlinuz ]] || vmlinuz=$moddir/vmlinuz
[[ -f $r/$vmlinuz ]] || { say "no vmlinuz in ${pkgs[*]}"; exit 1; }
[[ -d $r/$moddir/kernel ]] || { say "no modules in ${pkgs[*]}"; exit 1; }

# Debian's headers point at themselves by absolute paths (/usr/src/...,
# /lib/modules/<kver>/build): make them relative so the tree works wherever
# it is, including a chroot that bind-mounts the cache at the same path.
while IFS= read -r -d '' link; do
	target=$(readlink "$link")
	[[ $target == /* ]] || continue
	rel=$(realpath -m --relative-to="$(dirname "$link")" "$r$target")
	ln -sfn "$rel" "$link"
done < <(find "$r" -type l -lname '/*' -print0)
# The flavour's Makefile names the common one (and in 7.2 itself, as
# KBUILD_OUTPUT) by absolute path too: make those paths relative to the
# Makefile. The common Makefile takes the source tree from the path it was
# included by. ":=" because MAKEFILE_LIST changes as make reads on.
# shellcheck disable=SC2016 # make's $(...), not the shell's
for mk in "$r"/usr/src/linux-headers-*/Makefile; do
	sed -i -E -e 's|^(KBUILD_OUTPUT) *=|\1 :=|' \
		-e 's|/usr/src/([^/ ]+)|$(realpath $(dir $(lastword $(MAKEFILE_LIST)))../\1)|g' "$mk"
done
if left=$(grep -E -l '(^| |=)/usr/' "$r"/usr/src/linux-headers-*/Makefile); then
	say "absolute paths left in $left"
	exit 1
fi

# The packages leave modules.dep to their postinst. The host's kmod 30
# reads xz and zstd modules, so they stay compressed as shipped.
depmod -b "$r" "$kver"

echo "$kver" >"$tmp/kver"
ln -s "root/$vmlinuz" "$tmp/vmlinuz"
ln -s "root/$moddir" "$tmp/modules"
ln -s "root/usr/src/linux-headers-$kver" "$tmp/build"
echo "$layout $version" >"$tmp/.complete"
chmod 755 "$tmp"

# A stale copy of the same release (an older sid upload of this ABI) goes;
# a guest still booted from it keeps its open files.
if [[ -e $out ]]; then
	mv "$out" "$tmp.old"
	rm -rf "$tmp.old"
fi
mv "$tmp" "$out"
trap - EXIT
say "$kver unpacked in $(($(date +%s) - start)) s"
echo "$out"
