#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A tc that can attach a conntrack helper with act_ct ("ct commit helper
# ipv4-tcp-NAME", iproute2 6.2 and later): Debian 12's own is 6.1, so
# bookworm-backports' iproute2 is downloaded and unpacked into the cache,
# keyed by its version, never installed. It links only against libraries
# Debian 12 has. apt runs with a private sources list, lists and cache, so
# the machine's apt is not touched.
# Usage: newer-tc.sh    Last stdout line: the path of the tc binary.
set -euo pipefail

cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}/newer-tc
mirror=${NFE_MIRROR:-http://deb.debian.org/debian}
say() { echo "newer-tc: $*" >&2; }

mkdir -p "$cache/lists/partial" "$cache/archives/partial"
exec 9>"$cache/.lock"
flock 9
echo "deb $mirror bookworm-backports main" >"$cache/sources.list"
apt_opts=(-q -o Dir::Etc::SourceList="$cache/sources.list"
	-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$cache/lists"
	-o Dir::Cache="$cache" -o Dir::Cache::archives="$cache/archives"
	-o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)

# The lists once a day: the version keys the unpacked tree.
if [[ -z $(find "$cache/lists" -name '*_Packages*' -mtime -1 2>/dev/null) ]]; then
	apt-get "${apt_opts[@]}" update >"$cache/update.log" 2>&1 || {
		say "apt-get update for bookworm-backports failed:"
		sed 's/^/newer-tc:   /' "$cache/update.log" >&2
		exit 1
	}
fi
v=$(apt-cache "${apt_opts[@]}" show iproute2 2>/dev/null |
	sed -n 's/^Version: \(.*bpo.*\)/\1/p' | sort -V | tail -n1)
[[ -n $v ]] || { say "bookworm-backports has no iproute2"; exit 1; }
# Only characters a kernel command line carries as they are.
dir=$cache/iproute2-${v//[^0-9A-Za-z.]/_}
if [[ ! -x $dir/sbin/tc ]]; then
	say "fetching iproute2 $v"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	(cd "$dir.tmp" && apt-get "${apt_opts[@]}" download "iproute2=$v" \
		>download.log 2>&1) || {
		say "apt-get download failed:"
		sed 's/^/newer-tc:   /' "$dir.tmp/download.log" >&2
		exit 1
	}
	dpkg-deb -x "$dir.tmp"/iproute2_*.deb "$dir.tmp"
	rm -f "$dir.tmp"/*.deb
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
"$dir/sbin/tc" -V >/dev/null || { say "$dir/sbin/tc does not run here"; exit 1; }
echo "$dir/sbin/tc"
