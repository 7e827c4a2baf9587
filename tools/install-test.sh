#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install-test.sh [LINE...]: make install / make uninstall for each kernel
# LINE (by default every one tools/kernels/lines has installed or fetched)
# into a staging DESTDIR, from a copy of the
# sources (so the build litters neither this tree nor the host): the module
# lands in lib/modules/KVER/extra with a module index that lists it, the CLI
# (when tools/cli exists) under PREFIX, and uninstall takes it all away
# again.  A kernel built by a compiler the host lacks is installed for from
# the chroot that has it, as its users would on their own system.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=kernels/lib.sh
. "$top/tools/kernels/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

t() {
	local name=$1
	shift
	if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
}

# check_line LINE: the install and uninstall of one kernel line.
check_line() {
	local line=$1 src=$tmp/$1/src root=$tmp/$1/root ko host_dep rc by named
	if ! kernel_line "$line" || ! kernel_cc "$kdir" "$tmp"; then
		echo "not ok - install ($line): kernel and its compiler at hand"
		return
	fi
	ko=$root/lib/modules/$kver/extra/nf_ftp_embryo.ko
	mkdir -p "$src"
	(cd "$top" && tar --exclude=./build --exclude=./.git --exclude='*.o' \
		--exclude='*.ko' --exclude='.*.cmd' -cf - .) | tar -xf - -C "$src"
	host_dep=$(stat -c %Y "/lib/modules/$kver/modules.dep" 2>/dev/null)

	# The host's own kernel by its release, the others by their headers.
	by=(KVER="$kver") named="KVER=$kver"
	[[ -z $kmods ]] || by=(KDIR="$kdir") named="KDIR=<$kver headers>"
	"${cc_wrap[@]}" make -s -C "$src" install DESTDIR="$root" "${by[@]}" >"$tmp/install.log" 2>&1
	rc=$?
	((rc == 0)) || sed 's/^/# /' "$tmp/install.log"
	t "make install DESTDIR $named exits 0" test "$rc" -eq 0
	t "install: module in lib/modules/$kver/extra" test -f "$ko"
	t "install: module built for $kver" \
		bash -c '[[ $(modinfo -F vermagic "$1") == "$2 "* ]]' _ "$ko" "$kver"
	t "install: depmod indexed the module ($kver)" \
		grep -q '^extra/nf_ftp_embryo.ko:' "$root/lib/modules/$kver/modules.dep"
	t "install: the host's /lib/modules untouched ($kver)" \
		bash -c '[[ ! -e /lib/modules/$1/extra/nf_ftp_embryo.ko &&
			$(stat -c %Y "/lib/modules/$1/modules.dep" 2>/dev/null) == "$2" ]]' _ "$kver" "$host_dep"
	if [[ -f $top/tools/cli/Makefile ]]; then
		t "install: CLI in /usr/local/sbin ($kver)" test -x "$root/usr/local/sbin/ftp-embryo"
		t "install: CLI man page ($kver)" \
			bash -c 'compgen -G "$1/usr/local/share/man/man8/ftp-embryo.8*" >/dev/null' _ "$root"
	fi

	# The other way to name the kernel: by its headers.
	"${cc_wrap[@]}" make -s -C "$src" uninstall DESTDIR="$root" KDIR="$kdir" >"$tmp/uninstall.log" 2>&1
	rc=$?
	((rc == 0)) || sed 's/^/# /' "$tmp/uninstall.log"
	t "make uninstall DESTDIR KDIR=... exits 0 ($kver)" test "$rc" -eq 0
	t "uninstall: module gone ($kver)" test ! -e "$ko"
	t "uninstall: module index no longer lists it ($kver)" \
		bash -c '! grep -q nf_ftp_embryo "$1"' _ "$root/lib/modules/$kver/modules.dep"
	t "uninstall: no file left but the module index ($kver)" \
		bash -c '[[ -z $(find "$1" -type f ! -path "$1/lib/modules/*/modules.*") ]]' _ "$root"
}

(($#)) || set -- $(kernel_lines host fetch)
for line in "$@"; do
	check_line "$line"
done
