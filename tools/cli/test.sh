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
	if [[ $rc == 1 && $pat == "write error" ]]; then
		err=$(./ftp-embryo "$@" 2>&1 >/dev/full)
	else
		err=$(./ftp-embryo "$@" 2>&1 >/dev/null)
	fi
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
	eval './ftp-embryo --help | grep -q "stats|flows|flush|monitor|help"'
tap "help (the command) is --help" eval 'cmp -s <(./ftp-embryo help) <(./ftp-embryo --help)'
tap "--version names the ABI version" \
	eval './ftp-embryo --version | grep -q "ABI version 1"'
# One version: nf_ftp_embryo/version.h, dkms.conf and the CLI agree.
ver=$(sed -n 's/^#define FTPE_VERSION[[:space:]]*"\(.*\)"/\1/p' ../../nf_ftp_embryo/version.h)
tap "version.h, dkms.conf and -V say the same version ($ver)" \
	eval '[[ -n $ver ]] && grep -qx "PACKAGE_VERSION=\"$ver\"" ../../dkms.conf &&
		./ftp-embryo -V | grep -q "^ftp-embryo $ver "'
tap "-V without the module says so, exit 0" \
	eval './ftp-embryo -V | grep -qx "module nf_ftp_embryo not loaded"'
tap "module not loaded: exit 3, one line" expect 3 "module is not loaded" stats
tap "module not loaded: the line names modprobe" expect 3 "modprobe nf_ftp_embryo" stats
tap "module not loaded (monitor): exit 3" expect 3 "module is not loaded" monitor
tap "--help to a full disk: exit 1" expect 1 "write error" --help
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
tap "--json=1: names --json, takes no value" expect 2 "option '--json' takes no value" --json=1 stats
tap "unknown long option with a value: exit 2" expect 2 "unknown option '--bogus'" --bogus=1 stats
tap "unknown short option in a bundle: exit 2" expect 2 "unknown option '-x'" -jx stats
tap "unknown column: exit 2" expect 2 "unknown column 'FOO'" -o AF,FOO flows
tap "bad --format: exit 2" expect 2 "text, json or openmetrics" --format xml stats
tap "--format for flows: exit 2" expect 2 "--format is for stats" --format json flows
tap "openmetrics cannot be watched: exit 2" expect 2 "cannot be watched" --format openmetrics -w 1 stats
tap "bad --address: exit 2" expect 2 "IPv4 or IPv6 address" -a 10.0.0.300 flows
tap "monitor cannot be watched: exit 2" expect 2 "cannot be watched" -w 1 monitor
tap "missing netns: exit 1, named" expect 1 "network namespace 'nfe-no-such-ns'" -N nfe-no-such-ns stats
tap "the JSON Schema names the states, modes, reasons and events names.c names" \
	python3 names-vs-schema.py ../../nf_ftp_embryo/names.c ftp-embryo.schema.json
# The man page: groff breaks no identifier (con‐ntrack, nf_ftp_em‐bryo)
# at a line end, at any width.
for w in 50 60 80; do
	tap "man page at $w columns: nothing hyphenated at a line end" \
		eval '! LC_ALL=C.UTF-8 MANWIDTH=$w man -l ftp-embryo.8 2>/dev/null | grep -E "[[:alnum:]_](-|‐)$"'
done
tap "man page renders without warnings" \
	eval '[[ -z $(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l ftp-embryo.8 2>&1 >/dev/null) ]]'
exit "$failed"
