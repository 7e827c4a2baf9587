#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install / make uninstall into a staging DESTDIR, from a copy of the
# sources (so the build litters neither this tree nor the host): the module
# lands in lib/modules/KVER/extra with a module index that lists it, the CLI
# (when tools/cli exists) under PREFIX, and uninstall takes it all away again.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$(find /lib/modules -maxdepth 2 -path '/lib/modules/6.1.*/build' | sort -V | tail -n1)
kver=$(basename "$(dirname "$kdir")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src root=$tmp/root
ko=$root/lib/modules/$kver/extra/nf_ftp_embryo.ko

t() {
	local name=$1
	shift
	if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fi
}

mkdir -p "$src"
(cd "$top" && tar --exclude=./build --exclude=./.git --exclude='*.o' \
	--exclude='*.ko' --exclude='.*.cmd' -cf - .) | tar -xf - -C "$src"
host_dep=$(stat -c %Y "/lib/modules/$kver/modules.dep" 2>/dev/null)

make -s -C "$src" install DESTDIR="$root" KVER="$kver" >"$tmp/install.log" 2>&1
rc=$?
((rc == 0)) || sed 's/^/# /' "$tmp/install.log"
t "make install DESTDIR KVER=$kver exits 0" test "$rc" -eq 0
t "install: module in lib/modules/$kver/extra" test -f "$ko"
t "install: module built for $kver" \
	bash -c '[[ $(modinfo -F vermagic "$1") == "$2 "* ]]' _ "$ko" "$kver"
t "install: depmod indexed the module" \
	grep -q '^extra/nf_ftp_embryo.ko:' "$root/lib/modules/$kver/modules.dep"
t "install: the host's /lib/modules untouched" \
	bash -c '[[ ! -e /lib/modules/$1/extra/nf_ftp_embryo.ko &&
		$(stat -c %Y "/lib/modules/$1/modules.dep" 2>/dev/null) == "$2" ]]' _ "$kver" "$host_dep"
if [[ -f $top/tools/cli/Makefile ]]; then
	t "install: CLI in /usr/local/sbin" test -x "$root/usr/local/sbin/ftp-embryo"
	t "install: CLI man page" \
		bash -c 'compgen -G "$1/usr/local/share/man/man8/ftp-embryo.8*" >/dev/null' _ "$root"
fi

# The other way to name the kernel: by its headers.
make -s -C "$src" uninstall DESTDIR="$root" KDIR="$kdir" >"$tmp/uninstall.log" 2>&1
rc=$?
((rc == 0)) || sed 's/^/# /' "$tmp/uninstall.log"
t "make uninstall DESTDIR KDIR=... exits 0" test "$rc" -eq 0
t "uninstall: module gone" test ! -e "$ko"
t "uninstall: module index no longer lists it" \
	bash -c '! grep -q nf_ftp_embryo "$1"' _ "$root/lib/modules/$kver/modules.dep"
t "uninstall: no file left but the module index" \
	bash -c '[[ -z $(find "$1" -type f ! -path "$1/lib/modules/*/modules.*") ]]' _ "$root"
