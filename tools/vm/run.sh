#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a throwaway QEMU guest whose root is the host's root (read-only over
# virtio-9p) and run one command in it as root.
# Exit: the command's status; 1 if it passed but dmesg showed a splat or leak;
# 124 on timeout; 125 if the guest never reported (panic, broken init).
# NFE_QEMU_ARGS: more QEMU options, split at spaces (make bench's plugin).
# --init FILE: PID 1 in place of guest-init.sh (systemd-init.sh: a guest
# that boots systemd).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The repository gets its own share: a clone under /tmp or /var would be
# hidden by the guest's tmpfs mounts otherwise.
repo=$(cd "$here/../.." && pwd -P)
# shellcheck source=../kernels/lib.sh
. "$repo/tools/kernels/lib.sh"
usage() {
	echo "usage: $0 [--kernel $(kernel_lines | paste -sd '|')] [--cpus N] [--icount] [--mem MiB] [--timeout SECONDS] [--out DIR] [--init FILE] -- COMMAND [ARGS...]" >&2
	exit 2
}

flavour=stock cpus=2 mem= limit=900 out= icount=0 topo=
init=$here/guest-init.sh
while (($#)); do
	case $1 in
	--kernel) flavour=${2:?}; shift 2 ;;
	--cpus) cpus=${2:?}; shift 2 ;;
	--icount) icount=1; shift ;;
	--mem) mem=${2:?}; shift 2 ;;
	--timeout) limit=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	--init) init=$(realpath "${2:?}"); shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
(($#)) || usage
# The guest mounts tmpfs over /tmp, /run and /var: a file argument there,
# outside the repository's own share, would not exist in the guest.
for a in "$@"; do
	case $a in "$repo"/*) ;; /tmp/* | /run/* | /var/*)
		[[ ! -e $a ]] || {
			echo "$0: $a is hidden in the guest (tmpfs there); put it elsewhere" >&2
			exit 2
		}
		;;
	esac
done

own_out=
if [[ -z $out ]]; then
	out=$(mktemp -d)
	own_out=1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
# Both paths travel on the kernel command line or in -virtfs options.
for p in "$out" "$here" "$repo" "$init"; do
	if [[ $p == *[[:space:],]* ]]; then
		echo "run.sh: path '$p' must not contain spaces or commas" >&2
		exit 2
	fi
done

# How the kernel is had (tools/kernels/lines) says how it boots.
case $(kernel_from "$flavour") in
host)
	kver=$(cd /lib/modules && ls -d 6.1.* | sort -V | tail -n1)
	kernel=/boot/vmlinuz-$kver
	initrd=(-initrd "$("$here/initramfs.sh" "$kver" | tail -n1)")
	# qboot starts much faster than SeaBIOS; Debian's kernel routes PCI
	# interrupts through ACPI, so qboot's bare MP table is enough.
	bios=(-bios qboot.rom)
	boot="rdinit=/init nfe_init=$init"
	: "${mem:=1024}"
	;;
fetch)
	# One of Debian's other stock kernels, fetched into the cache: the same
	# boot as stock, with the modules taken from there.
	kdir=$("$repo/tools/kernels/fetch.sh" "$flavour" | tail -n1)
	kver=$(cat "$kdir/kver")
	mods=$(realpath "$kdir/modules")
	case $mods in /tmp/* | /run/* | /var/* | *[[:space:],]*)
		echo "run.sh: $mods is hidden in the guest or has spaces or commas; set NFE_CACHE elsewhere" >&2
		exit 2
		;;
	esac
	kernel=$kdir/vmlinuz
	initrd=(-initrd "$("$here/initramfs.sh" "$kver" "$mods" | tail -n1)")
	bios=(-bios qboot.rom)
	boot="rdinit=/init nfe_init=$init nfe_modules=$mods"
	# 7.2 under TCG died twice in boot with an int3 oops in
	# sched_clock_cpu(): a vCPU ran the breakpoint of a static key that
	# sched_clock_init_late() was patching on another.  An unstable TSC
	# from the start leaves that key alone.
	boot+=" tsc=unstable"
	: "${mem:=1024}"
	;;
build)
	tree=$("$here/build-kernel.sh" | tail -n1)
	kernel=$tree/arch/x86/boot/bzImage
	initrd=()
	# SeaBIOS: its MP table routes PCI INTx, which this ACPI-less kernel needs.
	bios=()
	# No initramfs: since 6.4 a root= that names no block device is mounted
	# as is, by rootfstype, so 9p gets "root" as its mount tag.
	boot="root=root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro"
	boot+=" init=$init"
	# TCG's TSC drifts; without this the clocksource watchdog warns mid-test.
	boot+=" tsc=unstable"
	# 6.1's /sys/kernel/slab/*/failslab is read-only: the caches the fault
	# tests target get the flag at creation.  Harmless while
	# /sys/kernel/debug/failslab/probability is 0.
	boot+=" slub_debug=A,ftpe_flow,nf_conntrack_expect"
	# KASAN's shadow and kmemleak's metadata need the extra room.
	: "${mem:=2048}"
	# Without ACPI the kernel finds CPUs in SeaBIOS's MP table, which
	# lists one core per socket only: as two cores of one socket the
	# second vCPU stays unseen, and races need two.
	topo=1
	;;
*) usage ;;
esac

if ((icount)); then
	# Instruction time (make bench): one guest nanosecond per instruction
	# and no host clock, so guest time measures work, not host load.
	# sleep=off jumps over idle time instead of waiting it out.  One vCPU:
	# the guest hangs bringing up a second one in this mode.
	accel=(-accel tcg -cpu max -icount shift=0,sleep=off)
	cpus=1
elif [[ ${NFE_KVM:-0} == 1 ]]; then
	accel=(-accel kvm -cpu host)
else
	accel=(-accel tcg -cpu max)
fi

ctl=$out/.nfe
rm -rf "$ctl"
mkdir -p "$ctl"
{
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$ctl/cmd"
pwd >"$ctl/cwd"

cleanup() {
	local rc=$?
	if [[ -n $own_out ]] && ((rc == 0)); then
		rm -rf "$out"
	elif ((rc != 0)); then
		echo "run.sh: guest artifacts (dmesg.txt, status) in $ctl" >&2
	fi
}
trap cleanup EXIT

# oops=panic: after an oops the guest tends to hang on whatever lock the dead
# task held; rebooting at once reports it in seconds rather than at the timeout.
# no_timer_check: on a starved host TCG can miss the boot-time IO-APIC
# timer test and panic ("IO-APIC + timer doesn't work!").
cmdline="console=ttyS0 loglevel=${NFE_LOGLEVEL:-3} edd=off no_timer_check oops=panic panic=-1 $boot nfe_out=$out nfe_repo=$repo nfe_kernel=$flavour"
start=$(date +%s.%N)
boot_qemu() {
	# In the background so a signal to run.sh can reach QEMU: bash runs
	# traps only between commands, and a foreground pipeline would hold
	# them back.
	(
		timeout -k 10 "$limit" qemu-system-x86_64 -nodefaults -no-user-config -nographic \
			"${accel[@]}" -smp "$cpus${topo:+,sockets=$cpus,cores=1}" -m "$mem" -no-reboot \
			-monitor none -serial stdio "${bios[@]}" \
			-kernel "$kernel" "${initrd[@]}" -append "$cmdline" \
			${NFE_QEMU_ARGS:-} \
			-virtfs local,path=/,mount_tag=root,id=root,security_model=none,readonly=on,multidevs=remap \
			-virtfs "local,path=$repo,mount_tag=repo,id=repo,security_model=none,readonly=on,multidevs=remap" \
			-virtfs "local,path=$out,mount_tag=out,id=out,security_model=none,multidevs=remap" \
			</dev/null | sed -u -E -e 's/\r//g' -e 's/\x1b(c|\[[0-9;?]*[a-zA-Z])//g' \
				-e '/^SeaBIOS \(version/d' -e 's/^Booting from ROM\.*//' \
				-e '/^(\[[ 0-9.]*\] )?reboot: /d'
		exit "${PIPESTATUS[0]}"
	) &
	qpid=$!
	# timeout(1) passes the signal on to QEMU.
	trap 'pkill -TERM -P "$qpid" -x timeout; wait "$qpid"; exit 143' TERM INT HUP
	qrc=0
	wait "$qpid" || qrc=$?
	trap - TERM INT HUP
}
boot_qemu
# A guest that died before guest-init reached the command never ran any of
# this project's code (no module loaded, nothing tested): that is TCG or the
# kernel's boot, so boot once more and say so.  Anything later counts.
if [[ ! -e $ctl/started && ! -s $ctl/status ]] && ((qrc != 124 && qrc != 137 && qrc != 143)); then
	echo "# run.sh: the $flavour guest died in boot, before the command (QEMU exit $qrc); booting it once more" >&2
	boot_qemu
fi
secs=$(echo "$(date +%s.%N) - $start" | bc)
printf 'run.sh: %s guest ran %.1f s\n' "$flavour" "$secs" >&2

# The guest could not judge its own dmesg: say so in the same TAP line.
if ((qrc == 124 || qrc == 137)); then
	echo "not ok - guest dmesg clean ($flavour)"
	echo "# timeout after $limit s, QEMU killed"
	exit 124
fi
if [[ ! -s $ctl/status ]]; then
	echo "not ok - guest dmesg clean ($flavour)"
	echo "# the guest reported no status (panic? QEMU exit $qrc); see the console above"
	exit 125
fi
read -r rc dm <"$ctl/status"
if ((rc != 0)); then
	exit "$rc"
fi
if ((dm != 0)); then
	exit 1
fi
exit 0
