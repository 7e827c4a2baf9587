#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deb-build.sh [--out DIR] [--no-lintian] [TREE]: build the Debian packages
# (debian/: nf-ftp-embryo-dkms and ftp-embryo) from TREE (this tree by
# default) with dpkg-buildpackage -us -uc -b, in a copy under DIR
# (build/deb by default), so neither the tree nor its parent gets the
# build's litter; then lintian on the .changes. Installs the build
# dependencies with apt-get when some are missing. Prints TAP lines; the
# packages are left in DIR.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb lint=1
while (($#)); do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--no-lintian) lint=; shift ;;
	-*) echo "usage: $0 [--out DIR] [--no-lintian] [TREE]" >&2; exit 2 ;;
	*) break ;;
	esac
done
tree=$(cd "${1:-$top}" && pwd) || exit 2
rc=0
t() {
	local name=$1
	shift
	if "$@"; then echo "ok - deb: $name"; else echo "not ok - deb: $name"; rc=1; return 1; fi
}
# comment FILE: FILE's lines as TAP comments.
comment() { sed 's/^/# /' "$1"; }

# One version: dkms.conf's PACKAGE_VERSION; version.h and debian/changelog
# repeat it.
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$tree/dkms.conf")
hver=$(sed -n 's/^#define FTPE_VERSION[[:space:]]*"\(.*\)"/\1/p' "$tree/nf_ftp_embryo/version.h")
# dpkg-parsechangelog needs dpkg-dev, which may not be here yet.
cver=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$tree/debian/changelog")
t "dkms.conf, version.h and debian/changelog say ${ver:-?}" \
	test -n "$ver" -a "$ver" = "$hver" -a "$ver" = "${cver%-*}" ||
	echo "# dkms.conf: ${ver:-none}, version.h: ${hver:-none}, debian/changelog: ${cver:-none}"

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out"/nf-ftp-embryo-* "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
src=$out/nf-ftp-embryo-$ver
mkdir -p "$src"
# What git would hold: no build outputs, no objects.
(cd "$tree" && tar --warning=no-file-changed --warning=no-file-removed --exclude=./build \
	--exclude=./.git --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude=./tools/cli/ftp-embryo -cf - .) | tar -xf - -C "$src"

# The build dependencies (debian/control) and the tools, when missing.
sudo=()
((EUID == 0)) || sudo=(sudo)
need=()
for p in dpkg-dev debhelper ${lint:+lintian}; do
	dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
done
if ((${#need[@]})) || ! (cd "$src" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
	echo "# deb: installing the build dependencies${need[*]:+ and ${need[*]}}" >&2
	"${sudo[@]}" apt-get update -qq >"$out/apt.log" 2>&1 &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends ${need[@]+"${need[@]}"} >>"$out/apt.log" 2>&1 &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q \
			--no-install-recommends "$src" >>"$out/apt.log" 2>&1
	t "build dependencies installed (apt-get build-dep)" test $? -eq 0 || comment "$out/apt.log"
fi

start=$SECONDS
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1
t "dpkg-buildpackage -us -uc -b ($ver, $((SECONDS - start)) s)" test $? -eq 0 ||
	tail -n 40 "$out/build.log" | sed 's/^/# /'
arch=$(dpkg --print-architecture)
dkms_deb=$out/nf-ftp-embryo-dkms_${ver}_all.deb
cli_deb=$out/ftp-embryo_${ver}_$arch.deb
changes=$out/nf-ftp-embryo_${ver}_$arch.changes
t "both packages built" test -f "$dkms_deb" -a -f "$cli_deb" -a -f "$changes"

# has DEB PATH...: the package holds every PATH.
has() {
	local deb=$1 list p
	shift
	list=$(dpkg-deb -c "$deb" 2>/dev/null | awk '{ print $6 }') || return 1
	for p in "$@"; do
		grep -qx "\./$p" <<<"$list" || { echo "# $(basename "$deb") lacks $p"; return 1; }
	done
}
usrsrc=usr/src/nf_ftp_embryo-$ver
t "nf-ftp-embryo-dkms holds the sources and dkms.conf" has "$dkms_deb" \
	"$usrsrc/dkms.conf" "$usrsrc/Kbuild" "$usrsrc/nf_ftp_embryo/kcompat.mk" \
	"$usrsrc/nf_ftp_embryo/helper.c" "$usrsrc/include/uapi/linux/nf_ftp_embryo.h"
t "its dkms.conf has BUILD_EXCLUSIVE_KERNEL_MIN" bash -c \
	'dpkg-deb --fsys-tarfile "$1" 2>/dev/null | tar -xOf - "./$2/dkms.conf" 2>/dev/null | grep -q "^BUILD_EXCLUSIVE_KERNEL_MIN="' \
	_ "$dkms_deb" "$usrsrc"
t "its postinst and prerm register it with DKMS" bash -c \
	'dpkg-deb --ctrl-tarfile "$1" 2>/dev/null | tar -xOf - ./postinst ./prerm 2>/dev/null | grep -q "dkms"' _ "$dkms_deb"
t "ftp-embryo holds the tool, its man page and JSON Schema" has "$cli_deb" \
	usr/sbin/ftp-embryo usr/share/man/man8/ftp-embryo.8.gz \
	usr/share/ftp-embryo/ftp-embryo.schema.json
t "ftp-embryo holds nothing of the module's" bash -c \
	'dpkg-deb -c "$1" >/dev/null 2>&1 && ! dpkg-deb -c "$1" | grep -q "/usr/src\|/lib/modules"' _ "$cli_deb"
t "ftp-embryo depends on the libraries it links" bash -c \
	'd=$(dpkg-deb -f "$1" Depends 2>/dev/null); [[ $d == *libmnl0* && $d == *libsmartcols1* && $d == *libjson-c* ]]' \
	_ "$cli_deb"

t "nf-ftp-embryo-dkms holds the rules unit, nftables' drop-in and the rule files" has "$dkms_deb" \
	lib/systemd/system/nf-ftp-embryo-rules.service \
	lib/systemd/system/nftables.service.d/nf-ftp-embryo.conf \
	usr/libexec/nf-ftp-embryo/nf-ftp-embryo-rules \
	etc/nf-ftp-embryo/iptables etc/nf-ftp-embryo/ip6tables etc/nf-ftp-embryo/nft
t "the rule files are conffiles" bash -c \
	'[[ $(dpkg-deb --ctrl-tarfile "$1" 2>/dev/null | tar -xOf - ./conffiles 2>/dev/null | sort | paste -sd " ") == \
		"/etc/nf-ftp-embryo/ip6tables /etc/nf-ftp-embryo/iptables /etc/nf-ftp-embryo/nft" ]]' _ "$dkms_deb"
t "ftp-embryo holds the textfile timer, its service and script" has "$cli_deb" \
	lib/systemd/system/ftp-embryo-textfile.service lib/systemd/system/ftp-embryo-textfile.timer \
	usr/libexec/ftp-embryo/ftp-embryo-textfile

# systemd-analyze verify, of the packages' units as installed: a root of
# this machine's units (for the targets they name, and nftables.service
# for the drop-in), both packages unpacked over it, and nft.
verify_units() {
	local root err
	root=$(mktemp -d) || return 1
	mkdir -p "$root/lib/systemd" "$root/usr/sbin"
	cp -a /lib/systemd/system "$root/lib/systemd/" &&
		dpkg-deb -x "$dkms_deb" "$root" && dpkg-deb -x "$cli_deb" "$root" &&
		cp /usr/sbin/nft "$root/usr/sbin/" || { rm -rf "$root"; return 1; }
	[[ -f $root/lib/systemd/system/nftables.service ]] || { echo "# no nftables.service here"; rm -rf "$root"; return 1; }
	# Warnings (an unknown key) print but do not fail verify: any output fails.
	err=$(systemd-analyze verify --man=no --root="$root" nf-ftp-embryo-rules.service \
		ftp-embryo-textfile.service ftp-embryo-textfile.timer nftables.service 2>&1)
	local vrc=$?
	rm -rf "$root"
	[[ -z $err ]] || echo "$err" | sed 's/^/# /'
	((vrc == 0)) && [[ -z $err ]]
}
if command -v systemd-analyze >/dev/null && command -v nft >/dev/null; then
	t "systemd-analyze verify: the units and nftables.service with its drop-in" verify_units
else
	echo "not ok - deb: systemd-analyze verify (no systemd-analyze or nft: tools/deps.sh installs them)"
	rc=1
fi

if [[ -n $lint ]]; then
	# Informational tags too (-I), so that the report can say which remain.
	lintian -I --tag-display-limit 0 "$changes" >"$out/lintian.log" 2>&1
	lrc=$?
	comment "$out/lintian.log"
	t "lintian: no errors or warnings (exit $lrc)" \
		bash -c '(($1 == 0)) && ! grep -q "^[EW]: " "$2"' _ "$lrc" "$out/lintian.log"
fi
exit "$rc"
