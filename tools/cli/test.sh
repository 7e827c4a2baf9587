#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make -C tools/cli check: build ftp-embryo warning-free (-Wall -Wextra
# -Werror), then check on the host what needs no module: usage errors, the
# "module not loaded" error (the host never has the module: only QEMU
# guests load it), the options' effect on fixed rows (test-render: the
# CLI's own option parsing, filters, tables and JSON without netlink), the
# JSON Schema, and the YNL spec against the uapi header.  The guest side
# is selftests/ftp_stats.sh and ftp_observe.sh.  TAP lines.
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

# warns RC WARNING ARGS...: exit status RC, and WARNING as the first of
# stderr's lines (the old spelling's warning, then any error).
warns() {
	local rc=$1 pat=$2 err got
	shift 2
	err=$(./test-render "$@" 2>&1 >/dev/null)
	got=$?
	if ((got != rc)) || [[ $(head -n 1 <<<"$err") != *"$pat"* ]]; then
		echo "# test-render $*: exit $got (want $rc), stderr '$err', want '$pat'"
		return 1
	fi
}

# render ARGS...: test-render's stdout; any stderr fails the test.
render() {
	local out err
	err=$(mktemp)
	out=$(./test-render "$@" 2>"$err")
	if [[ -s $err ]]; then
		echo "# test-render $*: stderr $(cat "$err")" >&2
		rm -f "$err"
		return 1
	fi
	rm -f "$err"
	printf '%s\n' "$out"
}

# same WANT ARGS...: test-render's output is WANT.
same() {
	local want=$1 got
	shift
	got=$(render "$@") || return 1
	[[ $got == "$want" ]] && return 0
	echo "# test-render $*: got"
	sed 's/^/#   /' <<<"$got"
	echo "# want"
	sed 's/^/#   /' <<<"$want"
	return 1
}

# pyj EXPR ARGS...: the Python EXPR of the JSON document test-render
# prints (d).
pyj() {
	local expr=$1
	shift
	render "$@" | python3 -c "import json, sys; d = json.load(sys.stdin); print($expr)"
}

# valid [--pretty] ARGS...: each JSON document test-render prints (one a
# line, or one in all with --pretty) validates against the schema.
valid() {
	local whole=0
	[[ $1 == --pretty ]] && { whole=1; shift; }
	render "$@" | python3 -c '
import json, sys, jsonschema
schema = json.load(open("ftp-embryo.schema.json"))
text = sys.stdin.read()
docs = [json.loads(text)] if sys.argv[1] == "1" else [json.loads(l) for l in text.splitlines()]
assert docs, "no document"
for d in docs:
    jsonschema.validate(d, schema)
' "$whole"
}

rm -f ftp-embryo test-render
tap "builds with -Wall -Wextra -Werror" make -s WERROR=-Werror ftp-embryo test-render
[[ -x ftp-embryo && -x test-render ]] || exit 1

tap "--help exits 0 and names every command" \
	eval './ftp-embryo --help | grep -q "stats|flows|flush|delete|monitor|help"'
tap "--help fits 80 columns" eval '! ./ftp-embryo --help | grep -q ".\{81\}"'
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
tap "bad --format: exit 2" expect 2 "text, json, openmetrics or prometheus" --format xml stats
tap "--format for flows: exit 2" expect 2 "--format is for stats" --format json flows
tap "openmetrics cannot be watched: exit 2" expect 2 "cannot be watched" --format openmetrics -w 1 stats
tap "prometheus cannot be watched: exit 2" expect 2 "prometheus cannot be watched" -F prometheus -w 1 stats
tap "bad --address: exit 2" expect 2 "IPv4 or IPv6 address" -a 10.0.0.300 flows
tap "monitor cannot be watched: exit 2" expect 2 "cannot be watched" -w 1 monitor
tap "missing netns (-n, as ip -n): exit 1, named" expect 1 "network namespace 'nfe-no-such-ns'" -n nfe-no-such-ns stats
tap "missing netns (--netns): exit 1, named" expect 1 "network namespace 'nfe-no-such-ns'" --netns nfe-no-such-ns stats

# The kernel loads a module whose generic netlink family is asked for
# (MODULE_ALIAS_GENL_FAMILY), for any user: with sysfs saying the module
# is not there, nothing reaches netlink.
no_netlink() {
	local log
	log=$(mktemp)
	strace -f -qq -e trace=socket -o "$log" ./ftp-embryo stats >/dev/null 2>&1
	if grep -q 'AF_NETLINK' "$log"; then
		sed 's/^/# /' "$log"
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
}
if [[ -d /sys/module && ! -e /sys/module/nf_ftp_embryo ]] && command -v strace >/dev/null; then
	tap "module not loaded: no netlink socket, so no modprobe by family alias" no_netlink
else
	echo "ok - cli: module not loaded: no netlink socket # SKIP no strace, or the module is loaded"
fi

# -F prometheus: the classic text format (node_exporter's textfile
# collector), read by promtool (Debian's prometheus) and by Debian's
# python3-prometheus-client (/usr/bin/python3: not a pyenv one).
prom_parse() {
	render -n r1 -F prometheus stats | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
want = {"nf_ftp_embryo_flows_created": ("counter", 16), "nf_ftp_embryo_refused_bounce": ("counter", 1),
        "nf_ftp_embryo_expect_created": ("counter", 10), "nf_ftp_embryo_flows_current": ("gauge", 3),
        "nf_ftp_embryo_up": ("gauge", 1)}
got = {n: (f.type, f.samples[0].value) for n, f in fams.items()}
assert got == want, got
assert all(f.documentation for f in fams.values()), fams
names = [s.name for f in fams.values() for s in f.samples]
assert names.count("nf_ftp_embryo_flows_created_total") == 1, names
labels = [s.labels for f in fams.values() for s in f.samples]
assert labels == [{"netns": "r1"}] * 5, labels'
}
prom_shape() {
	local out
	out=$(render -F prometheus stats) || return 1
	# Per metric: HELP, TYPE, the sample; counters _total; no # EOF.
	[[ $(grep -c '^# HELP ' <<<"$out") == 5 && $(grep -c '^# TYPE ' <<<"$out") == 5 &&
		$(grep -c '^# TYPE nf_ftp_embryo_[a-z_]*_total counter$' <<<"$out") == 3 &&
		$(grep -c '^# TYPE nf_ftp_embryo_flows_current gauge$' <<<"$out") == 1 &&
		$(sed -n 3p <<<"$out") == 'nf_ftp_embryo_up{netns="'"$(ns_label)"'"} 1' &&
		$(grep -vc '^#\|{netns="[^"]*"} [0-9]*$' <<<"$out") == 0 ]] &&
		! grep -q '# EOF' <<<"$out"
}
# ns_label: what -F prometheus labels this namespace with, unnamed (the
# man page): ip netns identify's name, init for PID 1's, else the inode.
ns_label() {
	local me
	me=$(stat -L -c %d:%i /proc/self/ns/net)
	for f in /run/netns/*; do
		[[ -e $f && $(stat -L -c %d:%i "$f") == "$me" ]] && { echo "${f##*/}"; return; }
	done
	if [[ $(stat -L -c %d:%i /proc/1/ns/net 2>/dev/null) == "$me" ]]; then
		echo init
	else
		stat -L -c %i /proc/self/ns/net
	fi
}
# down RC ARGS...: ftp-embryo ARGS exits RC, one line on stderr, and on
# stdout only up 0 (HELP, TYPE, the sample) labelled with the namespace
# asked for, so that the textfile says down rather than nothing.
down() {
	local rc=$1 label=$2 out err got want
	shift 2
	out=$(./ftp-embryo "$@" 2>/dev/null)
	got=$?
	err=$(./ftp-embryo "$@" 2>&1 >/dev/null)
	want=$(printf '%s\n' "# HELP nf_ftp_embryo_up 1: the module answered; 0: it is not loaded or could not be read." \
		"# TYPE nf_ftp_embryo_up gauge" "nf_ftp_embryo_up{netns=\"$label\"} 0")
	[[ " $* " == *" openmetrics "* ]] && want+=$'\n# EOF'
	if ((got != rc)) || [[ $out != "$want" || $(wc -l <<<"$err") != 1 ]]; then
		echo "# ftp-embryo $*: exit $got (want $rc), stderr '$err', stdout:"
		sed 's/^/#   /' <<<"$out"
		return 1
	fi
}
tap "-F prometheus: HELP and TYPE each, counters NAME_total, no # EOF" prom_shape
tap "-F prometheus parses (prometheus_client's classic parser), types kept" prom_parse
tap "-F openmetrics: up and the netns label too, parsed (prometheus_client's OpenMetrics parser)" \
	eval 'render -n r1 -F openmetrics stats | /usr/bin/python3 -c "
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
assert fams[\"nf_ftp_embryo_up\"].type == \"gauge\", fams
assert fams[\"nf_ftp_embryo_refused_bounce\"].samples[0].name == \"nf_ftp_embryo_refused_bounce_total\"
assert all(s.labels == {\"netns\": \"r1\"} for f in fams.values() for s in f.samples), fams
assert all(f.documentation for f in fams.values()), fams"'
prom_escape() {
	local out
	out=$(render -n 'a"b\c' -F prometheus stats) || return 1
	[[ $(sed -n 3p <<<"$out") == 'nf_ftp_embryo_up{netns="a\"b\\c"} 1' ]] || { echo "# $out" | head -3; return 1; }
	! command -v promtool >/dev/null || [[ -z $(promtool check metrics <<<"$out" 2>&1) ]]
}
tap "-F prometheus: a netns name's quote and backslash escaped, promtool reads it" prom_escape
if [[ -d /sys/module && ! -e /sys/module/nf_ftp_embryo ]]; then
	tap "-F prometheus, module not loaded: exit 3, stdout up 0 only, labelled" down 3 "$(ns_label)" -F prometheus stats
	tap "-F openmetrics, module not loaded: exit 3, up 0 and # EOF" down 3 "$(ns_label)" -F openmetrics stats
else
	echo "ok - cli: -F prometheus, module not loaded: up 0 # SKIP the module is loaded"
fi
tap "-F prometheus, no such namespace: exit 1, up 0 labelled with the name asked for" \
	down 1 nfe-no-such-ns -n nfe-no-such-ns -F prometheus stats
tap "-F prometheus, bad usage: exit 2, nothing on stdout" \
	eval '[[ -z $(./ftp-embryo -F prometheus -w 1 stats 2>/dev/null) ]]'
tap "text stats, module not loaded or no namespace: nothing on stdout" \
	eval '[[ -z $(./ftp-embryo stats 2>/dev/null; ./ftp-embryo -n nfe-no-such-ns -j stats 2>/dev/null) ]]'
if command -v promtool >/dev/null; then
	tap "-F prometheus: promtool check metrics finds nothing" \
		eval 'out=$(render -F prometheus stats | promtool check metrics 2>&1) || { echo "# $out"; false; }; [[ -z $out ]] || { echo "# $out"; false; }'
else
	echo "ok - cli: -F prometheus: promtool check metrics # SKIP no promtool (Debian: prometheus)"
fi
# Every name the module counts under has a HELP text, and each HELP text
# stands for a name documented in Documentation/netlink.md.
tap "every counter and gauge of the module has a HELP text, documented" python3 -c '
import re, sys
kern = open("../../nf_ftp_embryo/stats.c").read()
names = set(re.findall(r"\] = \"([a-z0-9_]+)\"", kern)) | set(re.findall(r"struct ftpe_stat_value\)\{ \"([a-z0-9_]+)\"", kern))
cli = set(re.findall(r"\{ \"([a-z0-9_]+)\", \"", open("stats.c").read()))
doc = set(re.findall(r"`([a-z0-9_]+)`", open("../../Documentation/netlink.md").read().split("## Counters")[1]))
assert len(names) > 50, names
assert names <= cli, sorted(names - cli)
assert cli <= names, sorted(cli - names)
assert names <= doc, sorted(names - doc)'

# Flags as conntrack(8) and ip(8) spell them; bad ones are one line, exit 2.
tap "-s ADDR (source, as conntrack): accepted" expect 3 "module is not loaded" -s 10.0.0.1 flows
tap "-s IPv6 ADDR: accepted" expect 3 "module is not loaded" -s fd00::1 flows
tap "-d ADDR (destination): accepted" expect 3 "module is not loaded" -d 10.0.0.2 flows
tap "-s neither address nor state: exit 2" expect 2 "-s needs an IPv4 or IPv6 address" -s 10.0.0.300 flows
tap "--src takes no state name: exit 2" expect 2 "--src needs an IPv4 or IPv6 address, not 'idle'" --src idle flows
tap "-d not an address: exit 2" expect 2 "-d needs an IPv4 or IPv6 address, not 'x'" -d x flows
tap "--state unknown name: exit 2, names the states" expect 2 "unknown state 'OPEN' (IDLE, OPENING" --state OPEN flows
tap "-e unknown event: exit 2, names the events" expect 2 "unknown event 'opened' (started, state" -e started,opened monitor
tap "-e empty list: exit 2" expect 2 "--event names no event" -e , monitor
tap "-e is for monitor: exit 2" expect 2 "--event does not apply to flows" -e started flows
tap "-o is for flows and monitor: exit 2" expect 2 "--output does not apply to stats" -o af stats
tap "filters are not for stats: exit 2" expect 2 "-s/--src does not apply to stats" -s 10.0.0.1 stats
tap "-o + alone: exit 2" expect 2 "--output names no column" -o + flows
tap "-o +COL unknown: exit 2" expect 2 "unknown column 'NOPE'" -o +STATE,NOPE flows
tap "--pretty without JSON: exit 2" expect 2 "--pretty is for JSON" -p flows
tap "--pretty with openmetrics: exit 2" expect 2 "--pretty is for JSON" -p --format openmetrics stats
tap "-J (JSON, pretty): accepted" expect 3 "module is not loaded" -J stats
tap "-j -p: accepted" expect 3 "module is not loaded" -j -p flows
tap "--count for flows needs --watch: exit 2" expect 2 "--count needs --watch" -c 3 flows
tap "monitor -c N -e EVENT: accepted" expect 3 "module is not loaded" -c 2 -e refused monitor
tap "-4 with an IPv6 address: exit 2" expect 2 "nothing could match" -4 -s fd00::1 flows
tap "flush takes no filter: exit 2" expect 2 "-s/--src does not apply to flush" -s 10.0.0.1 flush
tap "flush takes no --json: exit 2" expect 2 "--json does not apply to flush" -j flush
tap "delete without a filter: exit 2" expect 2 "delete needs a filter" delete
tap "delete -s and -d of two families: exit 2" expect 2 "different address families" -s 10.0.0.1 -d ::1 delete
tap "delete takes no --address: exit 2" expect 2 "--address does not apply to delete" -a 10.0.0.1 delete
tap "delete -s ADDR: accepted (reaches netlink)" expect 3 "module is not loaded" -s 10.0.0.1 delete
tap "delete --state: accepted (reaches netlink)" expect 3 "module is not loaded" --state opened delete

# The spellings of 1.1 that now mean something else: they work, and warn.
tap "old -s STATE: warns with the new spelling, still filters" \
	eval '[[ $(./test-render -s idle --noheadings -o client flows 2>/dev/null) == "[fd00:1::2]:40001" ]] &&
		warns 0 "ftp-embryo: -s STATE is now --state STATE" -s idle flows'
tap "old -s STATE warns once, on one line" \
	eval '[[ $(./test-render -s OPENED flows 2>&1 >/dev/null | wc -l) == 1 ]]'
tap "old -N NAME: warns with the new spelling, still the namespace" \
	eval 'err=$(./ftp-embryo -N nfe-no-such-ns stats 2>&1 >/dev/null); [[ $? == 1 &&
		$(head -n 1 <<<"$err") == "ftp-embryo: -N NAME is now -n NAME"* &&
		$(tail -n 1 <<<"$err") == *"network namespace '"'"'nfe-no-such-ns'"'"'"* ]]'
tap "old -n before the command: warns, no headings" \
	eval 'warns 0 "-n (no headings) is now --noheadings" -n flows &&
		[[ $(./test-render -n flows 2>/dev/null | wc -l) == 3 ]]'
tap "old -n before another option: warns, that option kept" \
	eval 'warns 0 "is now --noheadings" flows -n -o client &&
		[[ $(./test-render flows -n -o client 2>/dev/null | head -n 1) == 10.0.1.2:40000 ]]'
tap "old -n last on the line: warns, no headings" \
	eval 'warns 0 "is now --noheadings" flows -n &&
		[[ $(./test-render flows -n 2>/dev/null | wc -l) == 3 ]]'
tap "old -n in a bundle (-jn flows): warns" warns 0 "is now --noheadings" -jn flows
tap "new -n NAME: no warning" \
	eval '[[ -z $(./ftp-embryo -n nfe-no-such-ns stats 2>&1 | grep "is now") ]]'
tap "new --state and -s ADDR: no warning" \
	eval '[[ -z $(./test-render --state idle -s fd00:1::2 flows 2>&1 >/dev/null) ]]'

# The options' effect, on test-render's fixed rows (three flows: IPv4
# OPENED PASV, IPv6 IDLE bounce, IPv4 EXEC_STARTED PORT; four events).
hdr="AF   CLIENT            SERVER         STATE        MODE DATA           REPLY AGE_MS PINHOLE REFUSED ANNOUNCED"
tap "flows: the default columns" eval '[[ $(render flows | head -n 1) == "$hdr" ]]'
tap "-o +COL adds to the default columns (as lsblk)" \
	eval '[[ $(render -o +reason,state flows | head -n 1) == "$hdr         REASON" ]]'
tap "-o COLS: only those, in that order" \
	same "STATE        CLIENT
OPENED       10.0.1.2:40000
IDLE         [fd00:1::2]:40001
EXEC_STARTED 10.0.1.3:40002" -o state,client flows
tap "--noheadings: rows only" eval '[[ $(render --noheadings flows | wc -l) == 3 && $(render --noheadings flows) != AF* ]]'
tap "-s ADDR: the client's rows" same "10.0.1.2:40000" --noheadings -o client -s 10.0.1.2 flows
tap "-s IPv6 ADDR: the client's rows" same "[fd00:1::2]:40001" --noheadings -o client -s fd00:1::2 flows
tap "-d ADDR: the server's rows" same "10.0.1.2:40000
10.0.1.3:40002" --noheadings -o client -d 10.0.2.2 flows
tap "-s and -d together: both must match" same "" --noheadings -o client -s 10.0.1.2 -d 10.0.2.9 flows
tap "-a ADDR: any endpoint (the data address here)" same "10.0.1.3:40002" --noheadings -o client -a 10.0.1.3 flows
tap "-a ADDR: the refused announcement too" same "[fd00:1::2]:40001" --noheadings -o client -a fd00:9::9 flows
tap "--state, any case" same "10.0.1.3:40002" --noheadings -o client --state exec_started flows
tap "-6: IPv6 rows" same "ipv6" --noheadings -o af -6 flows
tap "flows -w --noheadings: no '---' line" \
	eval '[[ $(./test-render -w 2 --noheadings stats) != *---* && $(./test-render -w 2 stats) == ---* ]]'
tap "monitor -e EVENT,EVENT: those events only" \
	same "refused bounce
state completed" --noheadings -o event,reason -e refused,state monitor
tap "monitor -e with -s: both filter" same "pinhole_open" --noheadings -o event -e pinhole_open,refused -s 10.0.1.2 monitor
tap "monitor -c N: N events" eval '[[ $(render --noheadings -c 2 monitor | wc -l) == 2 ]]'
tap "monitor: one header, then rows" eval '[[ $(render monitor | grep -c "^TIME ") == 1 && $(render monitor | wc -l) == 5 ]]'
json_o() {
	[[ $(pyj 'sorted(d["flows"][1])' -j -o client,refused flows) == \
		"['client_address', 'client_port', 'refused', 'refused_age_ms']" ]]
}
json_plus() { [[ $(pyj 'len(d["flows"][0])' -j -o +reason flows) == 16 ]]; }
json_event_o() {
	[[ $(pyj 'list(d)' -j -o event,client -c 1 monitor) == \
		"['version', 'time', 'event', 'client_address', 'client_port']" ]]
}
untimed='json.dumps({k: v for k, v in d.items() if k != "time"})'
json_noheadings() { [[ $(pyj "$untimed" -j --noheadings flows) == "$(pyj "$untimed" -j flows)" ]]; }
json_pretty() {
	(($(render -J flows | wc -l) > 3)) && [[ $(pyj "$untimed" -J flows) == "$(pyj "$untimed" -j flows)" ]]
}
tap "-j -o COLS: only those columns' members (as lsblk -J -o)" json_o
tap "-j -o +COL: every member" json_plus
tap "monitor -j -o COLS: version, time and those members" json_event_o
tap "-j --noheadings: the same JSON (as lsblk -J -n)" json_noheadings
tap "-J: indented, the same document as -j" json_pretty
tap "-j -p is -J" eval 'cmp -s <(render -j -p -s 10.0.1.2 flows | grep -v "\"time\"") <(render -J -s 10.0.1.2 flows | grep -v "\"time\"")'
watch_json() {
	[[ $(pyj 'd["counters"]["flows_created"], d["deltas"]["flows_created"], d["rates"]["flows_created"]' \
		-w 3 -j stats) == "16 6 2.0" ]]
}
tap "stats -w -j: counters are numbers, deltas and rates beside them" watch_json

# The JSON Schema: every shape validates, and it keeps its promise that
# additions do not break validation.
tap "schema: stats --json validates" valid -j stats
tap "schema: stats -J validates" valid --pretty -J stats
tap "schema: stats -w -j validates" valid -w 3 -j stats
tap "schema: flows --json validates" valid -j flows
tap "schema: flows -j -o COLS validates" valid -j -o client,refused flows
tap "schema: monitor --json validates (4 events)" valid -j monitor
tap "schema: monitor -j -o COLS validates" valid -j -o event,reason monitor
tap "schema: no object forbids unknown members, version is a minimum" \
	python3 -c '
import json, sys
s = json.load(open("ftp-embryo.schema.json"))
def walk(o):
    if isinstance(o, dict):
        assert o.get("additionalProperties") is not False, o.get("description", o)
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(s)
v = s["definitions"]["header"]["properties"]["version"]
assert "const" not in v and v["minimum"] == 3, v'
tap "schema: a later version with new members still validates" \
	eval 'render -j flows | python3 -c "
import json, sys, jsonschema
d = json.load(sys.stdin)
d[\"version\"] = 4; d[\"extra\"] = 1; d[\"flows\"][0][\"extra\"] = {}
jsonschema.validate(d, json.load(open(\"ftp-embryo.schema.json\")))"'
tap "schema: each key one shape (counters numbers in stats and -w alike)" \
	python3 -c '
import json
d = json.load(open("ftp-embryo.schema.json"))["definitions"]
assert d["stats"]["properties"]["counters"] == d["stats_watch"]["properties"]["counters"]'
tap "the JSON Schema names the states, modes, reasons and events names.c names" \
	python3 names-vs-schema.py ../../nf_ftp_embryo/names.c ftp-embryo.schema.json
# The YNL spec (Documentation/netlink/specs/): YAML, and the uapi
# header's commands, attributes and values; the kernel's ynl library
# (tools/net/ynl of a linux-source tree) accepts it if one is at hand.
SPEC=../../Documentation/netlink/specs/nf_ftp_embryo.yaml
UAPI=../../include/uapi/linux/nf_ftp_embryo.h
tap "YNL spec parses (python3 yaml)" python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$SPEC"
tap "YNL spec matches the uapi header (enums, attributes, commands, group)" \
	python3 spec-vs-uapi.py "$SPEC" "$UAPI"
tap "spec-vs-uapi.py catches a renumbered attribute" \
	eval '! python3 spec-vs-uapi.py <(sed "s/^  -\$/  -/; /name: client-port/{n;s/u16/u16\n        value: 9/}" "$SPEC") "$UAPI" >/dev/null'
ynl=${YNL_DIR:-$(ls -d /root/.cache/nf_ftp_embryo/kernel-*/tools/net/ynl 2>/dev/null | sort | tail -n 1)}
if [[ -n $ynl && -f $ynl/lib/nlspec.py && -f $ynl/../../../Documentation/netlink/genetlink-legacy.yaml ]]; then
	tap "ynl's own loader accepts the spec (genetlink-legacy schema, $ynl)" \
		python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from lib import SpecFamily
f = SpecFamily(sys.argv[2], sys.argv[1] + "/../../../Documentation/netlink/genetlink-legacy.yaml")
assert {"stats-get", "flows-get", "flows-flush", "event"} <= set(f.msgs), list(f.msgs)' "$ynl" "$SPEC"
else
	echo "ok - cli: ynl's own loader accepts the spec # SKIP no tools/net/ynl (set YNL_DIR)"
fi

# ynl-vs-cli.py runs in the guest (selftests/ftp_stats.sh); here, it parses.
tap "ynl-vs-cli.py compiles" python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' ynl-vs-cli.py

# The man page: groff breaks no identifier (con‐ntrack, nf_ftp_em‐bryo)
# at a line end, at any width.
for w in 50 60 80; do
	tap "man page at $w columns: nothing hyphenated at a line end" \
		eval '! LC_ALL=C.UTF-8 MANWIDTH=$w man -l ftp-embryo.8 2>/dev/null | grep -E "[[:alnum:]_](-|‐)$"'
done
tap "man page renders without warnings" \
	eval '[[ -z $(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l ftp-embryo.8 2>&1 >/dev/null) ]]'
exit "$failed"
