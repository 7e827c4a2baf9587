#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Set two runs of selftests/ftp_matrix.sh side by side: one through
# ftp-embryo, one through the kernel's nf_conntrack_ftp (HELPER=ftp), from
# the "# cell: SERVER CLIENT FAMILY MODE ok|FAIL TIME" lines of their logs.
# Prints the cell table (each cell "embryo/reference", + ok, - failed),
# the cell counts per helper, per server and per client, and every cell
# whose result differs; one TAP line says whether every cell that works
# through nf_conntrack_ftp works through ftp-embryo, and both runs have the
# same cells.
# Usage: matrix-table.sh EMBRYO_LOG REFERENCE_LOG
set -euo pipefail
embryo=${1:?usage: $0 EMBRYO_LOG REFERENCE_LOG}
reference=${2:?usage: $0 EMBRYO_LOG REFERENCE_LOG}
for f in "$embryo" "$reference"; do
	if ! grep -q '^# cell: ' "$f" 2>/dev/null; then
		echo "not ok - matrix: $f has no cell results"
		exit 1
	fi
done

awk '
FNR == 1 { run++ }
$1 == "#" && $2 == "cell:" {
	key = $3 " " $4 " " $5 " " $6
	res[run, key] = ($7 == "ok")
	seen[key] = 1
	row = $3 " " $4
	if (!(row in rows)) { rows[row] = 1; order[++nrows] = row }
}
END {
	ncols = split("4 PASV,4 EPSV,4 PORT,4 EPRT,6 EPSV,6 EPRT", cols, ",")
	printf "# %-10s %-8s", "server", "client"
	for (c = 1; c <= ncols; c++) {
		split(cols[c], fm, " ")
		printf " ipv%s %-4s", fm[1], fm[2]
	}
	printf "   (ftp-embryo/nf_conntrack_ftp: + ok, - failed)\n"
	for (r = 1; r <= nrows; r++) {
		split(order[r], sc, " ")
		printf "# %-10s %-8s", sc[1], sc[2]
		for (c = 1; c <= ncols; c++) {
			key = order[r] " " cols[c]
			if (!(key in seen)) { printf " %9s", "."; continue }
			e = ((1, key) in res) ? (res[1, key] ? "+" : "-") : "?"
			f = ((2, key) in res) ? (res[2, key] ? "+" : "-") : "?"
			printf " %9s", e "/" f
		}
		printf "\n"
	}
	bad = 0
	for (key in seen) {
		split(key, k, " ")
		for (i = 1; i <= 2; i++) {
			if (!((i, key) in res)) {
				printf "# %s ipv%s %s %s: missing from the %s run\n", k[1], k[3], k[4], k[2], i == 1 ? "ftp-embryo" : "nf_conntrack_ftp"
				bad++
				continue
			}
			n[i]++; ok[i] += res[i, key]
			sn[i, k[1]]++; sok[i, k[1]] += res[i, key]
			cn[i, k[2]]++; cok[i, k[2]] += res[i, key]
		}
		if (((1, key) in res) && ((2, key) in res) && res[1, key] != res[2, key]) {
			printf "# differs: %s %s ipv%s %s: ftp-embryo %s, nf_conntrack_ftp %s\n", k[1], k[2], k[3], k[4], res[1, key] ? "ok" : "FAILS", res[2, key] ? "ok" : "FAILS"
			if (res[2, key])
				bad++
		}
	}
	printf "# cells: ftp-embryo %d ok / nf_conntrack_ftp %d ok, of %d / %d\n", ok[1], ok[2], n[1], n[2]
	for (r = 1; r <= nrows; r++) {
		split(order[r], sc, " ")
		if (!(sc[1] in sdone)) {
			sdone[sc[1]] = 1
			printf "# cells: %-10s ftp-embryo %3d ok / nf_conntrack_ftp %3d ok, of %d\n", sc[1], sok[1, sc[1]], sok[2, sc[1]], sn[1, sc[1]]
		}
	}
	for (r = 1; r <= nrows; r++) {
		split(order[r], sc, " ")
		if (!(sc[2] in cdone)) {
			cdone[sc[2]] = 1
			printf "# cells: %-10s ftp-embryo %3d ok / nf_conntrack_ftp %3d ok, of %d\n", sc[2], cok[1, sc[2]], cok[2, sc[2]], cn[1, sc[2]]
		}
	}
	if (bad)
		print "not ok - matrix: every cell that works through nf_conntrack_ftp works through ftp-embryo"
	else
		print "ok - matrix: every cell that works through nf_conntrack_ftp works through ftp-embryo"
	exit bad != 0
}' "$embryo" "$reference"
