#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of the test guest (every kernel): make the read-only host root usable,
# run the command run.sh left in the out dir, judge dmesg, power off.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/root LANG=C.UTF-8 TERM=dumb

out=${nfe_out:?nfe_out= missing on the kernel command line}
flavour=${nfe_kernel:-unknown}
ctl=$out/.nfe

# -no-reboot turns a reboot into QEMU exiting; that works without ACPI,
# which the debug kernel does not have.
halt() {
	sync
	umount "$out" 2>/dev/null || true
	/bin/busybox reboot -f
	echo b >/proc/sysrq-trigger
	sleep 10
}
trap 'echo "guest-init: failed at line $LINENO"; halt' ERR

# Not mountpoint(1): over 9p every host mount point already looks like one.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
grep -q '^[^ ]* /dev devtmpfs' /proc/mounts || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=755 run /run
mount -t tmpfs -o mode=755 var /var
if [[ -d /sys/kernel/debug ]]; then
	mount -t debugfs debugfs /sys/kernel/debug
fi

# /var is empty now: recreate what daemons and tools expect (Debian layout).
mkdir -p /run/lock /run/vsftpd/empty /var/log /var/lib /var/tmp /var/cache /var/spool "$HOME"
chmod 1777 /var/tmp
ln -s /run /var/run
ln -s /run/lock /var/lock

# A kernel fetched by tools/kernels/fetch.sh has its modules in the cache,
# not in the read-only host root: give modprobe a /lib/modules that holds
# the host's kernels and this one. A symlink, so the modules' build link
# still leads into the kernel's own headers.
if [[ -n ${nfe_modules:-} ]]; then
	mkdir -p /run/nfe/host-modules
	mount --bind /lib/modules /run/nfe/host-modules
	mount -t tmpfs -o mode=755 modules /lib/modules
	for d in /run/nfe/host-modules/*; do
		ln -s "$d" "/lib/modules/${d##*/}"
	done
	ln -sfn "$nfe_modules" "/lib/modules/$(uname -r)"
fi

# The repository and the out dir may sit under a path the tmpfs mounts just
# hid (a clone in /tmp): mount their own shares back in place.
repo=${nfe_repo:?nfe_repo= missing on the kernel command line}
mkdir -p "$repo"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro repo "$repo"
mkdir -p "$out"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "$out"
hostname nfe-guest
ip link set lo up

cwd=$(cat "$ctl/cwd")
cd "$cwd" 2>/dev/null || { echo "guest-init: $cwd not visible in the guest, using /"; cd /; }

# Boot noise stays hidden, but splats during the command reach the console:
# with oops=panic they would otherwise die with the guest's dmesg.
read -r level _ </proc/sys/kernel/printk
((level >= 5)) || dmesg -n 5

# run.sh retries a boot that died before this line, and only such a boot.
: >"$ctl/started"
rc=0
bash "$ctl/cmd" </dev/null || rc=$?

dm=0
"$(dirname "${BASH_SOURCE[0]}")/dmesg-check.sh" "$flavour" "$ctl/dmesg.txt" || dm=$?
echo "$rc $dm" >"$ctl/status"
halt
