#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""One python ftplib transfer, for the client matrix (ftp_matrix.sh).

Usage: ftp_oneshot.py HOST MODE OP LOCAL REMOTE
  MODE  passive (PASV on IPv4, EPSV on IPv6: ftplib's own choice) or
        active (PORT on IPv4, EPRT on IPv6)
  OP    get (RETR REMOTE into LOCAL), put (STOR LOCAL as REMOTE) or
        list (LIST REMOTE into LOCAL)
"""
import ftplib
import sys

host, mode, op, local, remote = sys.argv[1:6]
with ftplib.FTP(host, timeout=20) as ftp:
    ftp.login()
    ftp.set_pasv(mode == "passive")
    if op == "get":
        with open(local, "wb") as f:
            ftp.retrbinary("RETR " + remote, f.write)
    elif op == "put":
        with open(local, "rb") as f:
            ftp.storbinary("STOR " + remote, f)
    else:
        lines = []
        ftp.retrlines("LIST " + remote, lines.append)
        with open(local, "w") as f:
            f.write("\n".join(lines) + "\n")
