#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-test.sh [LINE...]: DKMS, as an administrator would use it, for each
# kernel LINE (by default every one tools/kernels/lines has installed or
# fetched), without touching the host: in a
# private mount namespace /lib/modules and /usr/src are overlays on a tmpfs
# and /var/lib/dkms is a tmpfs, so Debian's dkms runs with its defaults.
# A fetched kernel is laid into that /lib/modules as its packages would
# install it; one built by a compiler the host lacks is served from the
# unstable chroot that has it, with that system's own dkms.
#  1. make dkms-install: add, build and install for the kernel;
#  2. a kernel upgrade: the kernel package's postinst hook rebuilds it;
#  3. the DKMS-built module loads in a guest of that kernel and registers
#     its helper;
#  4. make dkms-uninstall leaves nothing behind.
set -uo pipefail

# The guest's side: the module DKMS built loads and registers its helper
# (the CT target refuses an unknown helper name), then unloads.
if [[ ${1:-} == --in-guest ]]; then
	ko=$2 rc=0
	t() {
		local name=$1
		shift
		if "$@"; then echo "ok - $name"; else echo "not ok - $name"; rc=1; fi
	}
	modprobe -a nf_conntrack nf_nat
	signer=$(modinfo -F signer "$ko")
	t "loads (signed by ${signer:-nobody})" insmod "$ko"
	t "ftp-embryo helper registered" iptables -t raw -A PREROUTING -p tcp --dport 21 \
		-j CT --helper ftp-embryo
	t "/proc/net/nf_ftp_embryo/stats lists counters" grep -q . /proc/net/nf_ftp_embryo/stats
	iptables -t raw -F
	t "unloads" rmmod nf_ftp_embryo
	exit "$rc"
fi

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=kernels/lib.sh
. "$top/tools/kernels/lib.sh"

if [[ $EUID != 0 ]]; then
	echo "not ok - dkms test needs root (a private mount namespace)"
	exit 1
fi
command -v dkms >/dev/null || { echo "not ok - dkms installed (make deps)"; exit 1; }

# The namespace's side: prints TAP lines, leaves the module in $out.
in_ns() {
	local tmp=$1 mod ver ko
	set -e
	mount -t tmpfs nfe-dkms "$tmp"
	mkdir -p "$tmp"/{lm,src}/{up,work} "$tmp/dkms"
	mount -t overlay nfe-lm -o "lowerdir=/lib/modules,upperdir=$tmp/lm/up,workdir=$tmp/lm/work" /lib/modules
	mount -t overlay nfe-src -o "lowerdir=/usr/src,upperdir=$tmp/src/up,workdir=$tmp/src/work" /usr/src
	mount --bind "$tmp/dkms" /var/lib/dkms
	if [[ -n $kmods ]]; then
		mkdir -p "$tmp/km/up" "$tmp/km/work" "/lib/modules/$kver"
		mount -t overlay nfe-km -o "lowerdir=$kmods,upperdir=$tmp/km/up,workdir=$tmp/km/work" \
			"/lib/modules/$kver"
		ln -sfn "$kdir" "/lib/modules/$kver/build"
	fi
	set +e
	mod=nf_ftp_embryo
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
	# DKMS compresses the module as the kernel's own are (.ko.xz on 6.12).
	ko=/lib/modules/$kver/updates/dkms/$mod.ko

	t() {
		local name=$1
		shift
		if "$@"; then echo "ok - dkms: $name"; else echo "not ok - dkms: $name"; fi
	}
	installed() {
		[[ $(dkms status -m $mod -v "$ver" -k "$kver") == *": installed"* ]] &&
			[[ $(modinfo -k "$kver" -n $mod) == "$ko"* ]] &&
			[[ $(modinfo -F vermagic "$ko"*) == "$kver "* ]]
	}

	make -s -C "$top" dkms-install KVER="$kver" >"$out/install.log" 2>&1
	t "make dkms-install KVER=$kver" test $? -eq 0 || sed 's/^/# /' "$out/install.log"
	t "installed for $kver, found by modprobe's index" installed
	cp "$ko"* "$out/" || true

	# What a kernel upgrade does: the kernel's postinst runs DKMS's hook
	# for the new release; here the module is first taken away from it.
	dkms uninstall -m $mod -v "$ver" -k "$kver" >"$out/upgrade.log" 2>&1
	t "uninstalled before the upgrade" bash -c '! compgen -G "$1*"' _ "$ko"
	/etc/kernel/postinst.d/dkms "$kver" >>"$out/upgrade.log" 2>&1
	t "kernel postinst hook rebuilds and installs it" installed ||
		sed 's/^/# /' "$out/upgrade.log"

	make -s -C "$top" dkms-uninstall >"$out/uninstall.log" 2>&1
	t "make dkms-uninstall" test $? -eq 0 || sed 's/^/# /' "$out/uninstall.log"
	t "nothing left in /lib/modules, /usr/src, /var/lib/dkms" \
		test -z "$(find "$tmp"/{lm,src,km}/up "$tmp/dkms" -name "$mod*" -print -quit 2>/dev/null)"
	t "modprobe's index no longer has it" bash -c "! modinfo -k '$kver' $mod >/dev/null 2>&1"
}

# check_line LINE: steps 1-4 for one kernel line.
check_line() {
	local line=$1 tmp start ko
	if ! kernel_line "$line"; then
		echo "not ok - dkms ($line): kernel at hand"
		return
	fi
	out=$top/build/dkms/$line
	rm -rf "$out"
	mkdir -p "$out"
	tmp=$(mktemp -d)
	if ! kernel_cc "$kdir" "$tmp"; then
		echo "not ok - dkms ($line): the compiler of $kver at hand"
		return
	fi
	export top kver kdir kmods out
	export -f in_ns
	start=$SECONDS
	# in-chroot.sh has a private mount namespace of its own.
	((${#cc_wrap[@]})) || cc_wrap=(unshare -m --propagation private)
	"${cc_wrap[@]}" bash -c 'in_ns "$1"' _ "$tmp"
	rmdir "$tmp"
	echo "# dkms add/build/install/rebuild/remove for $kver took $((SECONDS - start)) s"

	ko=$(compgen -G "$out/nf_ftp_embryo.ko*")
	if [[ -z $ko ]]; then
		echo "not ok - dkms: built module loads in a $kver guest (none built)"
		return
	fi
	start=$SECONDS
	"$top/tools/vm/run.sh" --kernel "$line" --timeout 300 -- \
		bash "$top/tools/dkms-test.sh" --in-guest "$ko" |
		sed "s/^\(not \)\?ok - /&dkms-built module ($kver): /"
	echo "# $kver guest with the DKMS-built module took $((SECONDS - start)) s"
}

(($#)) || set -- $(kernel_lines host fetch)
for line in "$@"; do
	check_line "$line"
done
