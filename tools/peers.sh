#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The FTP servers the client matrix tests against besides vsftpd and
# pyftpdlib: ProFTPD (proftpd-core, with proftpd-mod-crypto's mod_tls for
# FTPS, selftests/ftp_ccc.sh) and Pure-FTPd (pure-ftpd), unpacked
# into a private cache, never installed. Debian's FTP server packages all
# provide and conflict with "ftp-server", so only one of them (vsftpd, for
# the other selftests) can be installed; the libraries they need are
# ordinary packages in tools/deps.sh. The guest sees the cache through the
# host's read-only root (selftests/run-guest.sh passes the path).
# Usage: peers.sh    Last stdout line: the directory, holding
#   proftpd/   proftpd-core unpacked with dpkg-deb -x (usr/sbin/proftpd, usr/lib/proftpd/),
#              proftpd-mod-crypto unpacked over it (usr/lib/proftpd/mod_tls.so)
#   pure-ftpd/ pure-ftpd unpacked the same way (usr/sbin/pure-ftpd)
set -euo pipefail

cache=${NFE_CACHE:-$HOME/.cache/nf_ftp_embryo}/peers
pkgs=(proftpd-core proftpd-mod-crypto pure-ftpd)
say() { echo "peers: $*" >&2; }

# The versions apt would install now: the cache is keyed by them.
key=
for p in "${pkgs[@]}"; do
	v=$(apt-cache show --no-all-versions "$p" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	if [[ -z $v ]]; then
		say "apt knows no package $p (apt-get update?)"
		exit 1
	fi
	key+="${key:+ }${p}_$v"
done
dir=$cache/$(echo "$key" | sha256sum | cut -c1-16)
if [[ -f $dir/.complete && $(cat "$dir/.complete") == "$key" ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -f $dir/.complete ]]; then
	say "fetching $key"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp/debs"
	# apt-get download writes to the current directory; _apt cannot
	# write to ours, so download as root (no sandbox user).
	(cd "$dir.tmp/debs" && apt-get -q -o APT::Sandbox::User=root download \
		"${pkgs[@]}" >../download.log 2>&1) || {
		say "apt-get download failed:"
		sed 's/^/peers:   /' "$dir.tmp/download.log" >&2
		exit 1
	}
	dpkg-deb -x "$dir.tmp"/debs/proftpd-core_*.deb "$dir.tmp/proftpd"
	dpkg-deb -x "$dir.tmp"/debs/proftpd-mod-crypto_*.deb "$dir.tmp/proftpd"
	dpkg-deb -x "$dir.tmp"/debs/pure-ftpd_*.deb "$dir.tmp/pure-ftpd"
	rm -rf "$dir.tmp/debs"
	echo "$key" >"$dir.tmp/.complete"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
echo "$dir"
