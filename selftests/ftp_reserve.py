#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Active mode through NAT, with a pause between PORT and RETR.

Usage: ftp_reserve.py SERVER CLIENT_ADDR REFERENCE_FILE
Logs in, sends PORT for a listener on CLIENT_ADDR, prints "ready" and waits
for a line on stdin; then RETRs file.bin and compares it with
REFERENCE_FILE.  Exit 0 when the file arrived intact.
"""
import socket
import sys


def main():
    server, addr, ref = sys.argv[1:4]
    ctl = socket.create_connection((server, 21), timeout=20)
    f = ctl.makefile("rb")

    def cmd(line, code):
        if line:
            ctl.sendall(line.encode() + b"\r\n")
        while True:
            reply = f.readline().decode()
            if reply[3:4] != "-":
                break
        if not reply.startswith(code):
            sys.exit(f"{line or 'greeting'}: expected {code}, got {reply!r}")

    cmd(None, "220")
    cmd("USER anonymous", "2")
    cmd("TYPE I", "200")
    ls = socket.socket()
    ls.bind((addr, 0))
    ls.listen(1)
    ls.settimeout(20)
    port = ls.getsockname()[1]
    cmd("PORT %s,%d,%d" % (addr.replace(".", ","), port >> 8, port & 0xff),
        "200")
    print("ready", flush=True)
    sys.stdin.readline()
    cmd("RETR file.bin", "150")
    data, _ = ls.accept()
    got = b""
    while True:
        chunk = data.recv(65536)
        if not chunk:
            break
        got += chunk
    cmd(None, "226")
    with open(ref, "rb") as r:
        if got != r.read():
            sys.exit(f"file differs ({len(got)} bytes)")


if __name__ == "__main__":
    main()
