#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of a guest that boots systemd (run.sh --init): the host's read-only
# root gets a tmpfs overlay, so that a test can install units and files the
# way packages do, and then systemd runs the guest's boot for real.
# run.sh's command runs twice: before systemd, chrooted into the new root
# with NFE_SYSTEMD=prepare (install, enable, configure: nothing runs yet),
# and as nfe-command.service once multi-user.target is up, with
# NFE_SYSTEMD=command. Its status and the dmesg check end the guest as
# guest-init.sh ends its own; the boot's journal is left beside dmesg.txt.
# "--command OUT FLAVOUR" is that service's side.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 TERM=dumb
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# -no-reboot turns a reboot into QEMU exiting; that works without ACPI,
# which the debug kernel does not have. Straight to the kernel: systemd's
# own shutdown would take seconds of TCG for nothing.
halt() {
	sync
	umount "$out" 2>/dev/null || true
	/bin/busybox reboot -f
	echo b >/proc/sysrq-trigger
	sleep 10
}

if [[ ${1:-} == --command ]]; then
	out=$2 flavour=$3
	ctl=$out/.nfe
	trap 'echo "systemd-init: failed at line $LINENO"; halt' ERR
	: >"$ctl/started"
	export HOME=/root
	cd "$(<"$ctl/cwd")" 2>/dev/null || cd /
	rc=0
	env NFE_SYSTEMD=command bash "$ctl/cmd" </dev/null || rc=$?
	journalctl -b -o short-monotonic --no-pager >"$ctl/journal.txt" 2>&1 || true
	dm=0
	"$here/dmesg-check.sh" "$flavour" "$ctl/dmesg.txt" || dm=$?
	echo "$rc $dm" >"$ctl/status"
	halt
fi

out=${nfe_out:?nfe_out= missing on the kernel command line}
repo=${nfe_repo:?nfe_repo= missing on the kernel command line}
flavour=${nfe_kernel:-unknown}
ctl=$out/.nfe
trap 'echo "systemd-init: failed at line $LINENO"; halt' ERR

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Every program started here costs a good part of a second of TCG (exec
# and dynamic linking over 9p): few of them, builtins where they do.
# /tmp is a directory of the read-only root that nothing here needs: the
# overlay's writable layer lives there, out of the new root's sight.
mount -t tmpfs -o mode=755 nfe /tmp
mkdir -p /tmp/upper /tmp/work /tmp/root
if [[ -n ${nfe_modules:-} ]]; then
	# A fetched kernel's modules live in the cache (run.sh): its
	# .../lib/modules/KVER, whose root modprobe -d takes.
	modprobe -d "${nfe_modules%/lib/modules/*}" overlay
else
	modprobe overlay
fi
new=/tmp/root
mount -t overlay -o lowerdir=/,upperdir=/tmp/upper,workdir=/tmp/work root "$new"
etc=$new/etc/systemd/system
# The host's boot, cut to what a router's firewall needs: its own enabled
# units (databases, exporters, the daemons the tests start themselves) go,
# and the generators, since nothing here has an fstab entry, a console
# login, an init script or a disk for them to make units of. The host is a
# container; the guest is not, and must not boot as one.
rm -rf "$etc"/*.wants "$new/usr/lib/systemd/system-generators" "$new/.dockerenv"
mkdir -p "$new$repo" "$new$out" "$new/etc/systemd/system.conf.d" "$etc/multi-user.target.wants"
# The host's /tmp is the host's: an empty one, as after a boot.
mount -t tmpfs -o mode=1777 tmp "$new/tmp"
# The repository and the out dir may sit under a path the host shares
# differently (a clone in /tmp): their own shares, in place.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro repo "$new$repo"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out "$new$out"
if [[ -n ${nfe_modules:-} ]]; then
	ln -sfn "$nfe_modules" "$new/lib/modules/$(uname -r)"
fi

echo nfe-guest >"$new/etc/hostname"
printf '%s\n' '[Manager]' '# Failures only: what the console transcript is for.' \
	'ShowStatus=error' 'DefaultTimeoutStartSec=120s' >"$new/etc/systemd/system.conf.d/nfe.conf"
printf '%s\n' '[Unit]' "Description=run.sh's command (tools/vm/systemd-init.sh)" \
	'After=multi-user.target' '[Service]' 'Type=oneshot' \
	"ExecStart=$here/systemd-init.sh --command $out $flavour" \
	'StandardInput=null' 'StandardOutput=tty' 'StandardError=tty' \
	'TTYPath=/dev/console' 'TimeoutStartSec=infinity' \
	'# Killed before its halt: end the guest anyway, not at the timeout.' \
	'FailureAction=reboot-immediate' \
	'[Install]' 'WantedBy=multi-user.target' >"$etc/nfe-command.service"
# Masked: the gettys (the serial one would take the console the TAP lines
# go to), D-Bus and logind (systemctl and journalctl work without them),
# udev, and what only a machine with disks, clocks, users or a first boot
# needs. Each costs seconds of TCG.
systemctl --root="$new" --quiet mask getty.target console-getty.service \
	dbus.service dbus.socket systemd-logind.service systemd-user-sessions.service \
	systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
	systemd-udevd-kernel.socket systemd-udev-settle.service \
	systemd-timesyncd.service systemd-random-seed.service systemd-pstore.service \
	systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
	systemd-ask-password-wall.path systemd-ask-password-console.path \
	systemd-update-utmp.service systemd-update-utmp-runlevel.service \
	systemd-journal-flush.service systemd-tmpfiles-clean.timer \
	dev-hugepages.mount dev-mqueue.mount sys-fs-fuse-connections.mount \
	sys-kernel-config.mount sys-kernel-tracing.mount \
	modprobe@dm_mod.service modprobe@loop.service modprobe@fuse.service \
	modprobe@efi_pstore.service modprobe@configfs.service modprobe@drm.service \
	kmod-static-nodes.service systemd-tmpfiles-setup-dev.service \
	systemd-sysusers.service systemd-modules-load.service systemd-remount-fs.service \
	systemd-firstboot.service systemd-machine-id-commit.service systemd-repart.service \
	systemd-pcrphase.service systemd-pcrphase-sysinit.service \
	systemd-initctl.socket systemd-journald-audit.socket
ln -s ../nfe-command.service "$etc/multi-user.target.wants/"

cwd=$(<"$ctl/cwd")
rc=0
# shellcheck disable=SC2016 # expanded by the chrooted bash
chroot "$new" /bin/bash -c 'cd "$1" 2>/dev/null || cd /; exec env NFE_SYSTEMD=prepare HOME=/root bash "$2"' \
	- "$cwd" "$ctl/cmd" </dev/null || rc=$?
if ((rc != 0)); then
	echo "systemd-init: the command's prepare step failed (exit $rc)"
	echo "$rc 0" >"$ctl/status"
	halt
fi

umount /sys /proc
cd "$new"
mount -n --move . /
exec chroot . /lib/systemd/systemd --unit=multi-user.target
