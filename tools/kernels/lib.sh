# SPDX-License-Identifier: GPL-2.0
# Sourced by the scripts that build, install or load the module for one of
# the kernel lines this project supports, which tools/kernels/lines lists.

kernels_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# kernel_lines [FROM...]: the lines of tools/kernels/lines, in its order,
# one a line; with FROM (host, build, fetch) only the lines had that way.
kernel_lines() {
	awk -v from=" $* " '!/^#/ && NF && (from == "  " || index(from, " " $2 " ")) { print $1 }' \
		"$kernels_top/tools/kernels/lines"
}

# kernel_from LINE: how the rig gets LINE's kernel (host, build or fetch);
# fails for a line the file does not list.
kernel_from() {
	awk -v line="$1" '!/^#/ && $1 == line { print $2; found = 1 } END { exit !found }' \
		"$kernels_top/tools/kernels/lines"
}

# kernel_has LINE: what LINE's kernel has of what selftests may need, one
# a line; fails for a line the file does not list.
kernel_has() {
	awk -v line="$1" '!/^#/ && $1 == line { gsub(",", "\n", $3); if ($3 != "") print $3; found = 1 }
		END { exit !found }' "$kernels_top/tools/kernels/lines"
}

# kernel_line LINE: set kver (the release), kdir (a KDIR for it) and kmods
# (its /lib/modules/<kver> as fetched; empty for the host's own).
kernel_line() {
	local dir
	case $(kernel_from "$1") in
	host)
		kdir=$(find /lib/modules -maxdepth 2 -path '/lib/modules/6.1.*/build' | sort -V | tail -n1)
		[[ -n $kdir ]] || { echo "no Debian 6.1 headers: run 'make deps'" >&2; return 1; }
		kver=$(basename "$(dirname "$kdir")")
		kmods=
		;;
	fetch)
		dir=$("$kernels_top/tools/kernels/fetch.sh" "$1" | tail -n1) || return 1
		kver=$(cat "$dir/kver")
		kdir=$(realpath "$dir/build")
		kmods=$(realpath "$dir/modules")
		;;
	*)
		echo "$1: no line of tools/kernels/lines that is installed or fetched" >&2
		return 1
		;;
	esac
}

# kernel_cc KDIR [PATH...]: set cc_wrap to the command prefix that runs a
# build with the compiler KDIR's kernel was built with, where KDIR, the
# repository, the cache and each PATH are at their own paths.  Debian
# builds unstable's kernel with a gcc newer than the host's, whose flags
# the host's gcc rejects: then the prefix enters an unstable chroot that
# has it (Debian's headers call the compiler by the name the kernel's
# config records).
kernel_cc() {
	local conf=$1/include/config/auto.conf cc major chroot p
	cc_wrap=()
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^ ]*\).*/\1/p' "$conf" 2>/dev/null)
	# No CONFIG_GCC_VERSION (a clang-built kernel): nothing to match.
	major=$(sed -n 's/^CONFIG_GCC_VERSION=//p' "$conf" 2>/dev/null)
	major=$((${major:-0} / 10000))
	if ((major == 0)) || { command -v "$cc" >/dev/null &&
		[[ $("$cc" -dumpfullversion | cut -d. -f1) == "$major" ]]; }; then
		return 0
	fi
	chroot=$("$kernels_top/tools/kernels/chroot.sh" "$cc" | tail -n 1) || return 1
	if ! chroot "$chroot" sh -c "command -v '$cc'" >/dev/null; then
		echo "$1 needs $cc, which unstable's headers no longer bring into $chroot" >&2
		return 1
	fi
	cc_wrap=("$kernels_top/tools/kernels/in-chroot.sh")
	for p in "$@"; do
		cc_wrap+=(-b "$(realpath "$p")")
	done
	cc_wrap+=("$chroot")
}
