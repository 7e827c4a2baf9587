#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# In the debug guest: load the KUnit module (its suites run at load) and
# turn each test case's KTAP result into one "ok - ..." / "not ok - ..."
# line. A suite that did not run at all is a failure.
set -euo pipefail
ko=${1:?usage: run-guest.sh nf_ftp_embryo_kunit.ko}
suites="nf_ftp_embryo_parse nf_ftp_embryo_stream nf_ftp_embryo_fsm nf_ftp_embryo_session nf_ftp_embryo_tls"
dbg=/sys/kernel/debug/kunit

insmod "$ko"
rc=0
for s in $suites; do
	f=$dbg/$s/results
	if [ ! -r "$f" ]; then
		echo "not ok - kunit: suite $s did not run"
		rc=1
		continue
	fi
	# Test cases are the results one level in ("    ok N name");
	# parameterised cases nest deeper and are summed up at this level.
	# A skipped case is a failure: every case must be able to run.
	sed -n -E -e 's/^    ok [0-9]+ ([^ #]+) # SKIP.*/not ok - kunit: '"$s"'.\1 (skipped)/p' \
		-e '/# SKIP/d' \
		-e 's/^    (not )?ok [0-9]+ ([^ #]+).*/\1ok - kunit: '"$s"'.\2/p' "$f"
	if grep -qE '^    not ok |# SKIP' "$f"; then
		sed -n '/not ok/,+0p' "$f" >&2
		rc=1
	fi
done
rmmod "$(basename "$ko" .ko)"
exit $rc
