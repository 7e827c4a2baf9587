#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every selftest in one QEMU guest and fail if any printed "not ok" or died.
# Usage: selftests/run-guest.sh FLAVOUR MODULE.ko   (FLAVOUR: a kernel line of
#        tools/kernels/lines; "-": no module; with
#        HELPER=ftp this checks the harness against the kernel's own helper;
#        NFE_ONLY='ftp_a* ftp_n*' runs only the tests matching one of
#        those globs, NFE_SKIP='ftp_f*' all but those; NFE_MATRIX selects
#        cells of ftp_matrix.sh, NFE_STRICT_ACTIVE=1 runs them with the
#        founding timing of the active pinhole; NFE_CCC and NFE_CCC_PCAP
#        are ftp_ccc.sh's)
# Logs: build/selftests/<flavour>/ (NFE_SELFTEST_OUT overrides).
# The guest side of this script is the --in-guest mode.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# matches NAME GLOBS: NAME matches one of the space-separated GLOBS.
matches() {
	local g globs
	read -ra globs <<<"$2"
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $1 == $g ]] && return 0
	done
	return 1
}

in_guest() {
	local ko=$1 t name log rc start failed=0
	for t in "$here"/ftp_*.sh; do
		name=${t##*/}
		matches "$name" "${NFE_ONLY:-*}" || continue
		! matches "$name" "${NFE_SKIP:-}" || continue
		# A test that boots systemd boots its own guests, from the host.
		[[ $(<"$t") != *$'\n# guest: systemd\n'* ]] || continue
		echo "# $name"
		log=/tmp/$name.log
		rc=0
		start=$SECONDS
		bash "$t" "$ko" 2>&1 | tee "$log" || rc=$?
		echo "# $name took $((SECONDS - start)) s"
		# A test that dies before its first "not ok" must still be counted.
		if ((rc != 0)) && ! grep -q '^not ok' "$log"; then
			echo "not ok - $name ran to completion (exit $rc)"
		fi
		((rc == 0)) || failed=1
	done
	if [[ $ko != - ]]; then
		unload "$ko" || failed=1
	fi
	return "$failed"
}

# The CT rules hold a module reference until their namespaces are gone, and
# netns cleanup is asynchronous: wait for the count to drop, then unload.
unload() {
	local mod end
	mod=$(basename "$1" .ko)
	mod=${mod//-/_}
	end=$((SECONDS + 15))
	while [[ -d /sys/module/$mod && $(cat "/sys/module/$mod/refcnt") != 0 ]]; do
		((SECONDS < end)) || break
		sleep 0.2
	done
	if rmmod "$mod"; then
		echo "ok - $mod unloads"
	else
		echo "not ok - $mod unloads"
		return 1
	fi
}

if [[ ${1:-} == --in-guest ]]; then
	in_guest "${2:?}"
	exit
fi

flavour=${1:?usage: $0 LINE MODULE.ko   (LINE: tools/kernels/lines)}
ko=${2:?usage: $0 LINE MODULE.ko   (LINE: tools/kernels/lines)}
[[ $ko == - ]] || ko=$(realpath "$ko")
root=$(cd "$here/.." && pwd)
out=${NFE_SELFTEST_OUT:-$root/build/selftests/$flavour}
mkdir -p "$out"
rc=0
# Under TCG the debug kernel is about 3x slower than the stock ones; make
# check runs two at once, and a shared machine may be slower still.
limit=1800
[[ $flavour != debug ]] || limit=3600
# Test sizes (make stress sets them) reach the guest only when given.
sizes=()
for v in NFE_LOAD_SESSIONS NFE_LOAD_TRANSFERS NFE_LOAD_PARALLEL NFE_FAULT_ROUNDS NFE_FAULT_XFERS NFE_MATRIX NFE_CCC NFE_CCC_PCAP NFE_STRICT_ACTIVE NFE_HA_ALL NFE_HA_ONLY NFE_RACE_ROUNDS NFE_RACE_BATCH NFE_RACE_KIND NFE_TEXTFILE_SCRIPT; do
	[[ -z ${!v:-} ]] || sizes+=("$v=${!v}")
done
# The FTP servers Debian cannot install beside vsftpd, unpacked in the
# cache (tools/peers.sh); a test that needs them fails without them.
peers=$("$root/tools/peers.sh" | tail -n 1) || peers=
sizes+=("NFE_PEERS=$peers")
# A tc that can name an act_ct helper (ftp_act_ct.sh); likewise.
newtc=$("$root/tools/newer-tc.sh" | tail -n 1) || newtc=
sizes+=("NFE_TC=$newtc")
"$root/tools/vm/run.sh" --kernel "$flavour" --out "$out" --timeout "${NFE_TIMEOUT:-$limit}" -- \
	env "${sizes[@]}" HELPER="${HELPER:-ftp-embryo}" NFE_ONLY="${NFE_ONLY:-*}" NFE_SKIP="${NFE_SKIP:-}" bash "$here/run-guest.sh" --in-guest "$ko" |
	tee "$out/tap.log" || rc=${PIPESTATUS[0]}
pass=$(grep -c '^ok' "$out/tap.log" || true)
fail=$(grep -c '^not ok' "$out/tap.log" || true)
echo "# $flavour: $pass ok, $fail not ok, guest exit $rc (log: $out/tap.log)"
((rc == 0 && fail == 0 && pass > 0))
