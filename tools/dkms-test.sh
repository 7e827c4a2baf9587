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
#  4. make dkms-install again (a reinstall) and from a copy of the tree with
#     a higher version (an upgrade: the older version leaves DKMS and
#     /usr/src); make dkms-uninstall removes every version DKMS has and
#     leaves nothing behind;
#  5. the Debian packages (tools/deb-build.sh, of this tree and of that
#     copy), in a namespace whose /lib/modules holds only that kernel and
#     whose dpkg database is an overlay too: dpkg -i has DKMS build the
#     module, the higher version's packages replace it, and a purge leaves
#     nothing in /lib/modules, /usr/src or dkms status. The command-line
#     tool's package is installed too where its libraries are the host's
#     (not in the unstable chroot);
#  6. both modules, the one make dkms-install and the one the upgraded
#     package built, load in a guest of that kernel: the first by insmod,
#     the second as a rule naming the helper loads it, from the module
#     index the package left.
set -uo pipefail

# The guest's side: the module DKMS built loads and registers its helper
# (the CT target refuses an unknown helper name), then unloads.
if [[ ${1:-} == --in-guest ]]; then
	shift
	rc=0
	t() {
		local name=$1
		shift
		if "$@"; then echo "ok - $name"; else echo "not ok - $name"; rc=1; fi
	}
	modprobe -a nf_conntrack nf_nat
	for ko; do
		# build/dkms/LINE/make/... or .../deb/...: which way it was installed
		by=$(basename "$(dirname "$ko")")
		signer=$(modinfo -F signer "$ko")
		want=$(modinfo -F version "$ko")
		root=$(dirname "$ko")/root
		if [[ -d $root ]]; then
			# The kernel asks modprobe for the helper's alias
			# (nfct-helper-ftp-embryo) when a rule names it.
			printf '#!/bin/sh\nexec /sbin/modprobe -d %s "$@"\n' "$root" >/tmp/nfe-modprobe
			chmod 755 /tmp/nfe-modprobe
			saved=$(cat /proc/sys/kernel/modprobe)
			echo /tmp/nfe-modprobe >/proc/sys/kernel/modprobe
			t "$by: a rule naming the helper loads it (signed by ${signer:-nobody})" \
				iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp-embryo
			echo "$saved" >/proc/sys/kernel/modprobe
			iptables -t raw -F
		else
			t "$by: loads (signed by ${signer:-nobody})" insmod "$ko"
		fi
		t "$by: version $want loaded" \
			bash -c '[[ $(cat /sys/module/nf_ftp_embryo/version) == "$1" ]]' _ "$want"
		t "$by: ftp-embryo helper registered" iptables -t raw -A PREROUTING -p tcp --dport 21 \
			-j CT --helper ftp-embryo
		t "$by: /proc/net/nf_ftp_embryo/stats lists counters" grep -q . /proc/net/nf_ftp_embryo/stats
		iptables -t raw -F
		t "$by: unloads" rmmod nf_ftp_embryo
	done
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

mod=nf_ftp_embryo
# version TREE: its dkms.conf's PACKAGE_VERSION.
version() { sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$1/dkms.conf"; }

# ns_mounts TMP ONLY: a tmpfs on TMP for the overlays' upper layers;
# /lib/modules, /usr/src, /usr/share, /usr/sbin, the dpkg database, and
# what the packages' systemd units and rule files touch (/etc,
# /lib/systemd, /usr/libexec, /var/lib/systemd) become overlays on it, /var/lib/dkms a directory of it. The line's kernel
# is laid into /lib/modules; with ONLY, over an empty /lib/modules, so
# that a package's postinst finds no other kernel to build for.
ns_mounts() {
	local tmp=$1 only=$2 d
	set -e
	mount -t tmpfs nfe-dkms "$tmp"
	mkdir -p "$tmp/dkms"
	for d in /lib/modules /usr/src /usr/share /usr/sbin /var/lib/dpkg /var/cache/man \
		/etc /lib/systemd /usr/libexec /var/lib/systemd; do
		[[ -d $d ]] || continue
		mkdir -p "$tmp/up$d" "$tmp/work$d"
		# The overlay's top directory is the upper one: owned as the
		# lower (man-db's trigger writes /var/cache/man as user man).
		chown --reference="$d" "$tmp/up$d"
		chmod --reference="$d" "$tmp/up$d"
		mount -t overlay "nfe-${d##*/}" -o "lowerdir=$d,upperdir=$tmp/up$d,workdir=$tmp/work$d" "$d"
	done
	mount --bind "$tmp/dkms" /var/lib/dkms
	if [[ -n $kmods ]]; then
		if [[ -n $only ]]; then
			mkdir -p "$tmp/only"
			mount --bind "$tmp/only" /lib/modules
		fi
		mkdir -p "$tmp/km/up" "$tmp/km/work" "/lib/modules/$kver"
		mount -t overlay nfe-km -o "lowerdir=$kmods,upperdir=$tmp/km/up,workdir=$tmp/km/work" \
			"/lib/modules/$kver"
		ln -sfn "$kdir" "/lib/modules/$kver/build"
	fi
	set +e
}

# For the namespace's sides below, which set $what, $kver and $ko.
# t NAME CMD...: one TAP line, "ok - $what: NAME" if CMD succeeds.
t() {
	local name=$1
	shift
	if "$@"; then echo "ok - $what: $name"; else echo "not ok - $what: $name"; return 1; fi
}

# installed VER: VER is installed for $kver, and it is what modprobe finds.
installed() {
	[[ $(dkms status -m $mod -v "$1" -k "$kver" 2>/dev/null) == *": installed"* ]] &&
		[[ $(modinfo -k "$kver" -n $mod) == "$ko"* ]] &&
		[[ $(modinfo -F vermagic "$ko"*) == "$kver "* ]] &&
		[[ $(modinfo -F version "$ko"*) == "$1" ]]
}

# only VER: dkms status lists VER and no other version.
only() {
	[[ -z $(dkms status -m $mod 2>/dev/null | grep -v "^$mod/$1[,:]") ]]
}

# The namespace's side, for make dkms-install: prints TAP lines, leaves
# the module in $out/make.
in_ns() {
	local tmp=$1 ver new ko
	ns_mounts "$tmp" ""
	ver=$(version "$top") new=$(version "$bumped")
	# DKMS compresses the module as the kernel's own are (.ko.xz on 6.12).
	ko=/lib/modules/$kver/updates/dkms/$mod.ko

	local what=dkms
	# once VER: VER is installed, and the only line of dkms status.
	once() {
		installed "$1" && only "$1" && (($(dkms status -m $mod 2>/dev/null | wc -l) == 1))
	}

	make -s -C "$top" dkms-install KVER="$kver" >"$out/install.log" 2>&1
	t "make dkms-install KVER=$kver" test $? -eq 0 || {
		sed 's/^/# /' "$out/install.log"
		tail -n 30 "/var/lib/dkms/$mod/$ver/build/make.log" 2>/dev/null | sed 's/^/# make.log: /'
	}
	t "installed for $kver, found by modprobe's index" installed "$ver"
	mkdir -p "$out/make"
	cp "$ko"* "$out/make/" || true

	# A second make dkms-install: the same version leaves DKMS before its
	# sources are replaced.
	make -s -C "$top" dkms-install KVER="$kver" >"$out/reinstall.log" 2>&1
	t "make dkms-install again (a reinstall)" test $? -eq 0 || sed 's/^/# /' "$out/reinstall.log"
	t "reinstalled: $ver installed for $kver, listed once" once "$ver"

	# What a kernel upgrade does: the kernel's postinst runs DKMS's hook
	# for the new release; here the module is first taken away from it.
	dkms uninstall -m $mod -v "$ver" -k "$kver" >"$out/upgrade.log" 2>&1
	t "uninstalled before the upgrade" bash -c '! compgen -G "$1*"' _ "$ko"
	/etc/kernel/postinst.d/dkms "$kver" >>"$out/upgrade.log" 2>&1
	t "kernel postinst hook rebuilds and installs it" installed "$ver" ||
		sed 's/^/# /' "$out/upgrade.log"

	# An upgrade of the module: make dkms-install from a tree of a higher
	# version removes the older one from DKMS and /usr/src.
	make -s -C "$bumped" dkms-install KVER="$kver" >"$out/bump.log" 2>&1
	t "make dkms-install of $new over $ver" test $? -eq 0 || sed 's/^/# /' "$out/bump.log"
	t "upgraded: $new installed for $kver" installed "$new"
	t "upgraded: dkms status lists no $ver" only "$new" || dkms status -m $mod | sed 's/^/# /'
	t "upgraded: /usr/src/$mod-$ver removed" test ! -e "/usr/src/$mod-$ver"

	# What the Makefile before issue 25 left behind: the older version
	# still added (and rebuilt at the next kernel). dkms-uninstall from the
	# newer tree removes it too.
	cp -r "/usr/src/$mod-$new" "/usr/src/$mod-$ver"
	sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "/usr/src/$mod-$ver/dkms.conf"
	dkms add -m $mod -v "$ver" >>"$out/bump.log" 2>&1
	make -s -C "$bumped" dkms-uninstall >"$out/uninstall.log" 2>&1
	t "make dkms-uninstall (with $ver and $new in DKMS)" test $? -eq 0 ||
		sed 's/^/# /' "$out/uninstall.log"
	t "dkms status lists no version" test -z "$(dkms status -m $mod)"
	t "nothing left in /lib/modules, /usr/src, /var/lib/dkms" \
		test -z "$(find "$tmp"/up/{lib,usr/src} "$tmp"/km/up "$tmp/dkms" -name "$mod*" ! -type c \
			-print -quit 2>/dev/null)"
	t "modprobe's index no longer has it" bash -c "! modinfo -k '$kver' $mod >/dev/null 2>&1"
}

# The namespace's side, for the Debian packages: prints TAP lines, leaves
# the module the upgraded package built in $out/deb.
in_ns_deb() {
	local tmp=$1 ver new ko cli=1 p d
	ns_mounts "$tmp" only
	ver=$(version "$top") new=$(version "$bumped")
	ko=/lib/modules/$kver/updates/dkms/$mod.ko
	# The tool's libraries are the host's; the unstable chroot lacks some.
	[[ -z $chrooted ]] || cli=

	local what=deb
	# debs DIR: the packages of DIR to install here.
	debs() {
		compgen -G "$1/nf-ftp-embryo-dkms_*_all.deb"
		[[ -z $cli ]] || compgen -G "$1/ftp-embryo_*_$(dpkg --print-architecture).deb"
	}

	mapfile -t d < <(debs "$debs_old")
	dpkg --log=/dev/null -i "${d[@]}" >"$out/deb-install.log" 2>&1
	t "dpkg -i nf-ftp-embryo-dkms $ver${cli:+ ftp-embryo $ver}" test $? -eq 0 ||
		sed 's/^/# /' "$out/deb-install.log"
	t "its postinst had DKMS build and install $ver for $kver" installed "$ver"
	if [[ -n $cli ]]; then
		t "ftp-embryo -V says $ver" bash -c '[[ $(ftp-embryo -V 2>&1) == *"$1"* ]]' _ "$ver"
	else
		echo "# deb: ftp-embryo not installed here: its libraries are the host's, not the unstable chroot's"
	fi

	mapfile -t d < <(debs "$debs_new")
	dpkg --log=/dev/null -i "${d[@]}" >"$out/deb-upgrade.log" 2>&1
	t "dpkg -i of the $new packages (an upgrade)" test $? -eq 0 ||
		sed 's/^/# /' "$out/deb-upgrade.log"
	t "upgraded: $new installed for $kver" installed "$new"
	t "upgraded: dkms status lists no $ver" only "$new" || dkms status -m $mod | sed 's/^/# /'
	t "upgraded: /usr/src/$mod-$ver gone" test ! -e "/usr/src/$mod-$ver"
	mkdir -p "$out/deb"
	cp "$ko"* "$out/deb/" || true
	# The guest's modprobe gets this kernel's module index as the package
	# left it, in a tree of its own (modprobe -d), beside the kernel's
	# own modules: a rule that names the helper loads it from there.
	p=$out/deb/root/lib/modules/$kver
	mkdir -p "$p/updates/dkms"
	cp "$ko"* "$p/updates/dkms/" && cp /lib/modules/"$kver"/modules.* "$p/" &&
		ln -s "${kmods:-/lib/modules/$kver}/kernel" "$p/kernel" || true
	# make dkms-install and -uninstall keep off what the package owns.
	refused() {
		! make -s -C "$bumped" dkms-uninstall >"$out/deb-make.log" 2>&1 &&
			grep -q "apt-get remove nf-ftp-embryo-dkms" "$out/deb-make.log" && installed "$new"
	}
	t "make dkms-uninstall refuses the package's module" refused || sed 's/^/# /' "$out/deb-make.log"

	p=(nf-ftp-embryo-dkms)
	[[ -z $cli ]] || p+=(ftp-embryo)
	dpkg --log=/dev/null --purge "${p[@]}" >"$out/deb-purge.log" 2>&1
	t "dpkg --purge ${p[*]}" test $? -eq 0 || sed 's/^/# /' "$out/deb-purge.log"
	t "purged: dkms status lists nothing" test -z "$(dkms status -m $mod)"
	t "purged: no module in /lib/modules/*/updates/dkms" \
		bash -c '! compgen -G "/lib/modules/*/updates/dkms/$1*"' _ "$mod"
	t "purged: nothing left in /lib/modules, /usr, /var/lib/dkms or dpkg's database" \
		test -z "$(find "$tmp"/up "$tmp"/km/up "$tmp/dkms" \( -name "$mod*" -o -name "*ftp-embryo*" \) \
			! -type c -print -quit 2>/dev/null)"
	t "purged: modprobe's index no longer has it" bash -c "! modinfo -k '$kver' $mod >/dev/null 2>&1"
	t "purged: dpkg knows neither package" \
		bash -c '! dpkg-query -W -f="\${db:Status-Status}\n" "$@" 2>/dev/null | grep -qv "^not-installed$"' _ "${p[@]}"
}

# check_line LINE: steps 1-6 for one kernel line.
check_line() {
	local line=$1 tmp start kos
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
	chrooted=${cc_wrap[*]}
	export top kver kdir kmods out bumped debs_old debs_new chrooted mod
	export -f in_ns in_ns_deb ns_mounts version t installed only
	# in-chroot.sh has a private mount namespace of its own.
	((${#cc_wrap[@]})) || cc_wrap=(unshare -m --propagation private)
	start=$SECONDS
	"${cc_wrap[@]}" bash -c 'in_ns "$1"' _ "$tmp"
	echo "# dkms add/build/install/reinstall/rebuild/upgrade/remove for $kver took $((SECONDS - start)) s"
	start=$SECONDS
	if [[ -n $debs_new ]]; then
		"${cc_wrap[@]}" bash -c 'in_ns_deb "$1"' _ "$tmp"
		echo "# the packages' install/upgrade/purge for $kver took $((SECONDS - start)) s"
	fi
	rmdir "$tmp"

	kos=$(compgen -G "$out/make/$mod.ko*"; compgen -G "$out/deb/$mod.ko*")
	if [[ -z $kos ]]; then
		echo "not ok - dkms: built module loads in a $kver guest (none built)"
		return
	fi
	start=$SECONDS
	# shellcheck disable=SC2086 # one path a line, none with spaces
	"$top/tools/vm/run.sh" --kernel "$line" --timeout 300 -- \
		bash "$top/tools/dkms-test.sh" --in-guest $kos |
		sed "s/^\(not \)\?ok - /&dkms-built module ($kver) /"
	echo "# $kver guest with the DKMS-built modules took $((SECONDS - start)) s"
}

# The upgrade's other side: a copy of this tree, one version higher
# (dkms.conf, version.h and debian/changelog); and the packages of both.
work=$top/build/dkms
rm -rf "$work/bumped" "$work/deb-old" "$work/deb-new"
mkdir -p "$work/bumped"
(cd "$top" && tar --warning=no-file-changed --warning=no-file-removed --exclude=./build \
	--exclude=./.git --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude=./tools/cli/ftp-embryo -cf - .) | tar -xf - -C "$work/bumped"
bumped=$work/bumped
old=$(version "$top")
new=$(awk -F. -v OFS=. '{ $NF = $NF + 1; print }' <<<"$old")
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$new\"/" "$bumped/dkms.conf"
sed -i "s/^\(#define FTPE_VERSION[[:space:]]*\)\".*\"/\1\"$new\"/" "$bumped/nf_ftp_embryo/version.h"
{
	printf 'nf-ftp-embryo (%s) unstable; urgency=medium\n\n  * A test upgrade (tools/dkms-test.sh).\n\n' "$new"
	printf ' -- dkms-test <root@localhost>  %s\n\n' "$(date -R)"
	cat "$top/debian/changelog"
} >"$bumped/debian/changelog.new"
mv "$bumped/debian/changelog.new" "$bumped/debian/changelog"
debs_old='' debs_new=''
if [[ -d $top/debian ]]; then
	# Lintian is tools/deb-build.sh's own test, not this one's.
	if "$top/tools/deb-build.sh" --no-lintian --out "$work/deb-old" >"$work/deb-old.tap" &&
		"$top/tools/deb-build.sh" --no-lintian --out "$work/deb-new" "$bumped" >"$work/deb-new.tap"; then
		echo "ok - dkms: packages of $old and $new built (tools/deb-build.sh)"
		debs_old=$work/deb-old debs_new=$work/deb-new
	else
		echo "not ok - dkms: packages of $old and $new built (tools/deb-build.sh)"
		sed 's/^/# /' "$work"/deb-*.tap
	fi
fi

(($#)) || set -- $(kernel_lines host fetch)
for line in "$@"; do
	check_line "$line"
done
