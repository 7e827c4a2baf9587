#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# plan.sh LINE GUEST...: the selftests make check runs on kernel LINE
# (tools/kernels/lines) in the guests named, one a line, as each test's
# head declares them (README.md).  NFE_CHECK_ALL=1: those of make
# check-all, every test whose needs LINE has; for each one it cannot run,
# a TAP comment on stderr names the need LINE lacks.
# A test whose head says "# pending: WHY" (written before the code it
# tests) is in no plan yet: a TAP comment on stderr says why.
# A declaration that cannot hold is a "not ok" on stderr and exit 1: no
# test may go missing silently.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tools/kernels/lib.sh
. "$here/../tools/kernels/lib.sh"
# The guests check.sh gives a lane (README.md).
GUESTS="selftest matrix faults systemd"

line=${1:?usage: $0 LINE GUEST...}
shift
# among WORD LIST: WORD is one of the words (or lines) of LIST.
among() {
	[[ " ${2//$'\n'/ } " == *" $1 "* ]]
}

bad() {
	echo "not ok - selftests: $*" >&2
	failed=1
}

# decl TEST KEY: the words of TEST's "# KEY:" line, in its head comment;
# fails if it has none.
decl() {
	sed -n -e '/^#/!q' -e "s/^# $2: */:/p" "$1" | grep '^:' | cut -c2-
}

failed=0
among "$line" "$(kernel_lines)" || bad "no kernel line $line in tools/kernels/lines"
for g in "$@"; do
	among "$g" "$GUESTS" || bad "no guest $g (one of: $GUESTS)"
done
has=$(kernel_has "$line" 2>/dev/null) || true
known=$(for l in $(kernel_lines); do kernel_has "$l"; done)
for t in "$here"/ftp_*.sh; do
	name=${t##*/}
	lines=$(decl "$t" lines) || bad "$name declares no '# lines:'"
	needs=$(decl "$t" needs) || true
	guest=$(decl "$t" guest) || guest=selftest
	for l in $lines; do
		among "$l" "$(kernel_lines)" || bad "$name: no kernel line $l in tools/kernels/lines"
	done
	for n in $needs; do
		among "$n" "$known" || bad "$name needs $n, which no kernel line has"
	done
	among "$guest" "$GUESTS" || bad "$name: no guest $guest (one of: $GUESTS)"
	among "$guest" "$*" || continue
	lacks=
	for n in $needs; do
		among "$n" "$has" || lacks+=" $n"
	done
	if among "$line" "$lines" && [[ -n $lacks ]]; then
		bad "$name is declared for $line, which lacks$lacks"
	elif among "$line" "$lines" || [[ -n ${NFE_CHECK_ALL:-} ]]; then
		if pending=$(decl "$t" pending); then
			echo "# skip $name on $line: pending: $pending" >&2
		elif [[ -n $lacks ]]; then
			echo "# skip $name on $line: needs${lacks}" >&2
		else
			echo "$name"
			planned=1
		fi
	fi
done
# An empty plan would be run-guest.sh's default: every test.
[[ -n ${planned:-} ]] || bad "no test runs on $line in: $*"
exit "$failed"
