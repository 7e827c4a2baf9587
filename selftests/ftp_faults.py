#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hold FTP control connections open for ftp_faults.sh.

Usage (in the client namespace): ftp_faults.py HOST COUNT pasv|login
Opens COUNT anonymous sessions to HOST; with "pasv" each also negotiates a
passive transfer (PASV, 227) and stops there, mid-negotiation.  Prints
"ready N" (N: sessions that got that far), then waits for a line on stdin
and drops every connection (close, no QUIT).
"""
import ftplib
import sys

host, count, step = sys.argv[1], int(sys.argv[2]), sys.argv[3]
held = []
for _ in range(count):
    ftp = ftplib.FTP(timeout=20)
    try:
        ftp.connect(host, 21)
        ftp.login()
        if step == "pasv":
            ftp.sendcmd("PASV")
        held.append(ftp)
    except (OSError, ftplib.Error) as e:
        print(f"# session {len(held)}: {e}", flush=True)
        ftp.close()
print(f"ready {len(held)}", flush=True)
sys.stdin.readline()
for ftp in held:
    ftp.close()
