#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lines: stock
# Monitoring as a Debian router has it (issue 25): the shipped textfile
# timer's script (tools/systemd/ftp-embryo-textfile) writes
# nf_ftp_embryo.prom, and Debian's own prometheus-node-exporter, started
# by hand (no systemd in this guest) with only its textfile collector,
# serves it on loopback; curl reads /metrics. With the module loaded and a
# transfer through rtr: every counter the CLI reports (not a list kept
# here) as a counter, every gauge as a gauge, nf_ftp_embryo_up 1, all
# labelled netns="rtr" (the script runs in rtr under ip netns exec), no
# textfile scrape error, and never half a file in scrapes made while the
# script rewrites it; a second file for namespace cli (the admin guide's
# recipe) served beside it. After rmmod: nf_ftp_embryo_up 0 and no counter
# left. node_exporter missing is a failure, not a skip.
# NFE_TEXTFILE_SCRIPT=PATH runs another script (to see the checks fail).
# Usage (in the guest, as root): ftp_textfile.sh MODULE.ko
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/xfer.inc"

ko=$(realpath "${1:?usage: $0 MODULE.ko}")
CLI=$here/../tools/cli/ftp-embryo
SCRIPT=${NFE_TEXTFILE_SCRIPT:-$here/../tools/systemd/ftp-embryo-textfile}
NODE_EXPORTER=/usr/bin/prometheus-node-exporter
# Not node_exporter's 9100: nothing else in the guest may hold it either.
ADDR=127.0.0.1:19100
DIR=$NFE_TMP/textfile
PROM=$DIR/nf_ftp_embryo.prom
ne_pid=
trap '[[ -z $ne_pid ]] || kill "$ne_pid" 2>/dev/null; topo_down; rm -rf "$NFE_TMP"' EXIT

if [[ ! -x $NODE_EXPORTER ]]; then
	echo "not ok - $NODE_EXPORTER is installed (tools/deps.sh: prometheus-node-exporter)"
	exit 1
fi

textfile() { in_ns rtr env FTP_EMBRYO="$CLI" "$SCRIPT" "$DIR"; }
scrape() { curl -fsS --noproxy "*" --max-time 10 "http://$ADDR/metrics"; }
# ours FILE: node_exporter's nf_ftp_embryo lines, comments included.
ours() { grep -E '^(# (HELP|TYPE) )?nf_ftp_embryo_' "$1"; }
no_scrape_error() { grep -qx 'node_textfile_scrape_error 0' "$1"; }

# stats_json: the CLI's JSON, whose counters and gauges are what the module
# reports, read once.
stats_json() { in_ns rtr "$CLI" -j stats >"$NFE_TMP/stats.json"; }
# typed FILE KIND MIN: each of the CLI's KIND (counters: at least MIN) has
# in FILE a TYPE line (counters as NAME_total, counter; gauges, gauge), a
# HELP that is ours (not node_exporter's "Metric read from" stand-in), and
# one sample labelled netns="rtr". One process: forks are slow under TCG.
typed() {
	"$PY" - "$NFE_TMP/stats.json" "$@" <<-'PY'
		import json, re, sys
		doc, path, kind, least = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
		names = sorted(json.load(open(doc))[kind])
		text = open(path).read()
		typ, sfx = ("counter", "_total") if kind == "counters" else ("gauge", "")
		bad = [n for n in names
		       if f"\n# TYPE nf_ftp_embryo_{n}{sfx} {typ}\n" not in text
		       or not re.search(rf"^# HELP nf_ftp_embryo_{n}{sfx} (?!Metric read from)", text, re.M)
		       or len(re.findall(rf'^nf_ftp_embryo_{n}{sfx}{{netns="rtr"}} \S+$', text, re.M)) != 1]
		for n in bad:
		    print(f"# {n}: no '# TYPE nf_ftp_embryo_{n}{sfx} {typ}', our HELP, or one sample netns=\"rtr\"")
		if len(names) < least:
		    print(f"# only {len(names)} {kind}")
		sys.exit(bool(bad) or len(names) < least)
	PY
}
counters_typed() { typed "$1" counters 40; }
gauges_typed() { typed "$1" gauges 3; }
# every_labelled FILE: no sample of ours without netns="rtr".
every_labelled() { ! ours "$1" | grep -v '^#' | grep -qv '{netns="rtr"} '; }
# up_gauge FILE VALUE: up is VALUE, typed gauge, with our HELP.
up_gauge() {
	grep -qx "nf_ftp_embryo_up{netns=\"rtr\"} $2" "$1" && grep -qx "# TYPE nf_ftp_embryo_up gauge" "$1" &&
		grep -q "^# HELP nf_ftp_embryo_up 1: " "$1"
}
counted() { (($(sed -n 's/^nf_ftp_embryo_expect_created_total{netns="rtr"} //p' "$1") >= 1)); }
# The collector serves the file's numbers as they are.
same_numbers() {
	# Files, not <(...): the guest has no /dev/fd.
	grep -v '^#' "$PROM" | sort >"$NFE_TMP/written"
	ours "$1" | grep -v '^#' | sort >"$NFE_TMP/served"
	diff "$NFE_TMP/written" "$NFE_TMP/served" >"$NFE_TMP/diff" && return 0
	sed 's/^/# /' "$NFE_TMP/diff"
	return 1
}

load_module "$ko"
topo_up
fw_up
ftpd_up
mkdir -p "$DIR"
tap "a passive download through rtr (something to count)" download 4
# written: exit 0, the .prom alone in DIR (no temporary left), mode 0644.
written() { textfile && [[ $(ls -A "$DIR") == nf_ftp_embryo.prom && $(stat -c %a "$PROM") == 644 ]]; }
tap "the textfile script, in rtr: exit 0, .prom mode 0644, no temporary left" written

"$NODE_EXPORTER" --web.listen-address="$ADDR" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$DIR" \
	>"$NFE_TMP/node_exporter.log" 2>&1 &
ne_pid=$!
if ! wait_for 30 eval 'scrape >/dev/null 2>&1'; then
	echo "not ok - node_exporter serves /metrics on $ADDR"
	sed 's/^/# /' "$NFE_TMP/node_exporter.log"
	exit 1
fi
echo "# $("$NODE_EXPORTER" --version 2>&1 | head -n 1)"

m=$NFE_TMP/metrics.up
scrape >"$m"
stats_json
tap "/metrics: node_textfile_scrape_error 0" no_scrape_error "$m"
tap "/metrics: the .prom was read (node_textfile_mtime_seconds names it)" \
	grep -q "^node_textfile_mtime_seconds{file=\"$PROM\"} " "$m"
tap "/metrics: nf_ftp_embryo_up{netns=\"rtr\"} 1, a gauge" up_gauge "$m" 1
tap "/metrics: every counter the CLI reports, # TYPE ..._total counter, labelled" counters_typed "$m"
tap "/metrics: every gauge the CLI reports, # TYPE ... gauge, labelled" gauges_typed "$m"
tap "/metrics: every sample of ours labelled netns=\"rtr\"" every_labelled "$m"
tap "/metrics: the transfer counted (expect_created_total >= 1)" counted "$m"
tap "/metrics: the file's numbers, as written" same_numbers "$m"
ours "$m" | grep -E 'nf_ftp_embryo_(up|expect_created_total|expect_live)( |\{)' | sed 's/^/# metrics: /' || true

# Atomic replacement: scrapes one after the other while the script
# rewrites the file never see a part of it (a torn file is a scrape error,
# or a sample missing). Rewrites until 5 scrapes ran during one.
torn() {
	local round pid out n=0 bad=0
	for round in $(seq 10); do
		textfile &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			out=$(scrape) || bad=1
			n=$((n + 1))
			if ! grep -qx 'node_textfile_scrape_error 0' <<<"$out" ||
				! grep -qx 'nf_ftp_embryo_up{netns="rtr"} 1' <<<"$out" ||
				! grep -q '^nf_ftp_embryo_expect_live{netns="rtr"} ' <<<"$out"; then
				echo "# scrape $n, rewrite $round:"
				grep -E 'scrape_error|nf_ftp_embryo_up' <<<"$out" | sed 's/^/#   /'
				bad=1
			fi
		done
		wait "$pid" || bad=1
		((n < 5)) || break
	done
	echo "# $n scrapes during $round rewrites"
	((bad == 0 && n >= 5))
}
tap "scrapes during rewrites: never an error, never half a file" torn

# The admin guide's second file, for another namespace: node_exporter
# merges the two (one HELP, one TYPE per metric), the labels apart.
second() {
	"$CLI" -n cli -F prometheus stats >"$DIR/.cli.tmp" && mv "$DIR/.cli.tmp" "$DIR/nf_ftp_embryo-cli.prom" &&
		scrape >"$NFE_TMP/metrics.two" && no_scrape_error "$NFE_TMP/metrics.two" &&
		grep -qx 'nf_ftp_embryo_up{netns="cli"} 1' "$NFE_TMP/metrics.two" &&
		grep -qx 'nf_ftp_embryo_up{netns="rtr"} 1' "$NFE_TMP/metrics.two" &&
		[[ $(grep -c '^# TYPE nf_ftp_embryo_up gauge$' "$NFE_TMP/metrics.two") == 1 ]]
}
tap "a second file, -n cli: both namespaces served, no scrape error" second
rm -f "$DIR/nf_ftp_embryo-cli.prom"

# The module goes: the helper's rules first (they hold it), then rmmod.
ftpd_down vsftpd 2>/dev/null || true
ct_rules -D
in_ns rtr conntrack -F >/dev/null 2>&1 || true
in_ns rtr conntrack -F -f ipv6 >/dev/null 2>&1 || true
unload_module
gone() { [[ ! -d /sys/module/nf_ftp_embryo ]]; }
# replaced: the script exits 0 and renames a new file over the old one.
replaced() {
	local ino
	ino=$(stat -c %i "$PROM")
	textfile && [[ -f $PROM && $(stat -c %i "$PROM") != "$ino" ]]
}
tap "rmmod: the module is gone" gone
tap "the textfile script, module gone: exit 0, the file replaced (not removed)" replaced
tap "... and it did not load the module" gone
m=$NFE_TMP/metrics.down
scrape >"$m"
tap "/metrics after rmmod: node_textfile_scrape_error 0" no_scrape_error "$m"
up_alone() { [[ $(ours "$1" | grep -v '^#') == 'nf_ftp_embryo_up{netns="rtr"} 0' ]]; }
tap "/metrics after rmmod: nf_ftp_embryo_up{netns=\"rtr\"} 0, a gauge, with its HELP" up_gauge "$m" 0
tap "/metrics after rmmod: no stale counter or gauge, up alone" up_alone "$m"
ours "$m" | sed 's/^/# metrics after rmmod: /' || true

# The script runs as root; on Debian the textfile directory's parent is
# the prometheus user's, who can put a directory of its own in its place.
# Here nobody does, with nf_ftp_embryo.prom leading into a directory only
# root may write: the script must refuse it and write nothing through it
# (the script before this check moved its file in there).
swapped() {
	local own=$NFE_TMP/swapped victim=$NFE_TMP/victim
	mkdir -m 0700 "$victim"
	mkdir "$own"
	chown 65534 "$own"
	as_nobody ln -s "$victim" "$own/nf_ftp_embryo.prom"
	! in_ns rtr env FTP_EMBRYO="$CLI" "$SCRIPT" "$own" 2>/dev/null &&
		[[ -z $(ls -A "$victim") && $(ls -A "$own") == nf_ftp_embryo.prom ]]
}
tap "a textfile directory another user owns is refused, nothing written through it" swapped

# run-guest.sh unloads the module after the last test.
load_module "$ko"
((failed == 0))
