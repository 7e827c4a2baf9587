#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# /init of a Debian stock kernel's initramfs: load the 9p/virtio modules Debian
# builds as modules, mount the host's root and hand over to guest-init.sh.
set -euo pipefail
bb=/bin/busybox
trap 'echo "initramfs: failed at line $LINENO" >&2; $bb sleep 1' ERR

# The cpio has no /dev/console node (it is built without root), so open it here.
$bb mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

while read -r mod; do
	$bb insmod "/modules/$mod"
done </modules.order

$bb mkdir -p /newroot
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro root /newroot
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot "${nfe_init:?nfe_init= missing on the kernel command line}"
