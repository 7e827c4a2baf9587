#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make -C tools/cli check: build ftp-embryo warning-free (-Wall -Wextra
# -Werror), then check on the host what needs no module: usage errors and
# the "module not loaded" error (the host never has the module: only QEMU
# guests load it).  The guest side is selftests/ftp_stats.sh.  TAP lines.
set -uo pipefail
cd "$(dirname "$0")"
failed=0
tap() {
	local name=$1
	shift
	if "$@"; then
		echo "ok - cli: $name"
	else
		echo "not ok - cli: $name"
		failed=1
	fi
}

# expect RC PATTERN ARGS...: exit status RC and, when it fails, exactly one
# line on stderr matching PATTERN.
expect() {
	local rc=$1 pat=$2 err got
	shift 2
	err=$(./ftp-embryo "$@" 2>&1 >/dev/null)
	got=$?
	if ((got != rc)); then
		echo "# ftp-embryo $*: exit $got, want $rc: $err"
		return 1
	fi
	((rc == 0)) && return 0
	if [[ $(wc -l <<<"$err") != 1 || $err != *$pat* ]]; then
		echo "# ftp-embryo $*: stderr '$err', want one line with '$pat'"
		return 1
	fi
}

rm -f ftp-embryo
tap "builds with -Wall -Wextra -Werror" make -s WERROR=-Werror
[[ -x ftp-embryo ]] || exit 1

tap "--help exits 0 and names every command" \
	eval './ftp-embryo --help | grep -q "stats|flows|flush"'
tap "--version names the ABI version" \
	eval './ftp-embryo --version | grep -q "ABI version 1"'
tap "module not loaded: exit 3, one line" expect 3 "module is not loaded" stats
tap "module not loaded (flows): exit 3" expect 3 "module is not loaded" flows --json
tap "unknown long option: exit 2" expect 2 "unknown option '--bogus'" --bogus stats
tap "unknown short option: exit 2" expect 2 "unknown option '-x'" -x stats
tap "option without its value: exit 2" expect 2 "needs a value" stats -w
tap "bad watch interval: exit 2" expect 2 "whole number" -w 0 stats
tap "non-numeric count: exit 2" expect 2 "whole number" -w 1 -c x stats
tap "--count without --watch: exit 2" expect 2 "--count needs --watch" -c 2 stats
tap "no command: exit 2" expect 2 "no command" --json
tap "unknown command: exit 2" expect 2 "unknown command 'stat'" stat
tap "two commands: exit 2" expect 2 "one command" stats flows
tap "flush cannot be watched: exit 2" expect 2 "cannot be watched" -w 1 flush
exit "$failed"
