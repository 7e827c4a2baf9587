#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or find cached) the debug test kernel. Last stdout line: the tree path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
frag=$here/kernel.config
# The 6.12 LTS line (linux-source-6.12, pinned in tools/deps.sh): Debian 12's
# stock 6.1 and unstable's newest run in guests of their own, so the debug
# kernel covers the line in between.
src=${NFE_KERNEL_SRC:-/usr/src/linux-source-6.12.tar.xz}
cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}
# The key covers this script and the source too, so changing how or what we
# build invalidates the cache.
key=$( (cat "$frag" "${BASH_SOURCE[0]}"; stat -L -c '%n %s %Y' "$src") | sha256sum | cut -c1-16)
tree=$cache/kernel-$key

if [[ -f $tree/arch/x86/boot/bzImage ]]; then
	echo "$tree"
	exit 0
fi

mkdir -p "$cache"
log=$cache/kernel-$key.log
# Same filesystem as $tree, so the final mv is an atomic rename.
tmp=$(mktemp -d "$cache/.kernel-$key.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say() { echo "build-kernel: $*" >&2; }
run() {
	if ! "$@" >>"$log" 2>&1; then
		say "FAILED: $*"
		tail -n 40 "$log" >&2
		exit 1
	fi
}

: >"$log"
start=$(date +%s)
say "extracting $src (log: $log)"
run tar -xJf "$src" --strip-components=1 -C "$tmp"
kmake() { run make -C "$tmp" ARCH=x86_64 "$@"; }

say "configuring"
kmake allnoconfig
run "$tmp/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "$frag"
kmake olddefconfig

# A dependency we did not satisfy silently drops an option; that shows up much
# later as a test timeout, so refuse to build instead.
missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$tmp/.config" || missing+=("$line")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#"# "}
		opt=${opt%% *}
		if grep -q "^$opt=" "$tmp/.config"; then
			missing+=("$line")
		fi
		;;
	esac
done <"$frag"
if ((${#missing[@]})); then
	say "options from $frag that did not survive olddefconfig:"
	for m in "${missing[@]}"; do
		opt=$(sed -E 's/^# //; s/[= ].*//' <<<"$m")
		got=$(grep -E "(^|# )$opt[= ]" "$tmp/.config" || echo "(absent)")
		echo "  want: $m    got: $got" >&2
	done
	exit 1
fi

say "building with -j$(nproc)"
# 'all' gives bzImage plus Module.symvers, which external module builds need.
kmake -j"$(nproc)" all
test -f "$tmp/arch/x86/boot/bzImage"

if ! mv -T "$tmp" "$tree" 2>/dev/null; then
	# Another build won the race; its tree is just as good.
	test -f "$tree/arch/x86/boot/bzImage"
fi
trap - EXIT
rm -rf "$tmp"
say "done in $(($(date +%s) - start)) s"
echo "$tree"
