#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""One client holds every record of a small table with idle control
connections (a banner read, nothing more); another client's transfers,
in every mode, must still work once the idle records are reclaimed, and
an idle connection that speaks again is inspected again.  Runs in cli
against ftp_idle.sh's vsftpd; prints TAP lines.
Usage: ftp_idle.py MAX_FLOWS FILE"""
import ftplib
import socket
import sys
import time

import nsutil

SRV4, SRV6 = "10.0.2.2", "fd00:2::2"
MAX_FLOWS, FILE = int(sys.argv[1]), sys.argv[2]
DATA = open(FILE, "rb").read()
tap = nsutil.Tap("idle")


def hold():
    nsutil.enter("cli")
    s = socket.create_connection((SRV4, 21), timeout=10)
    banner = s.recv(1024)
    if not banner.startswith(b"220"):
        raise OSError(f"banner {banner!r}")
    return s


def download(host, passive):
    """file.bin over a fresh session; returns an error string, or ""."""
    nsutil.enter("cli")
    got = bytearray()
    try:
        ftp = ftplib.FTP(timeout=5)
        ftp.connect(host, 21)
        ftp.login()
        ftp.set_pasv(passive)
        ftp.retrbinary("RETR file.bin", got.extend)
        ftp.quit()
    except (OSError, EOFError, ftplib.Error) as e:
        return repr(e)
    return "" if bytes(got) == DATA else f"{len(got)} bytes, want {len(DATA)}"


def main():
    idle = [hold() for _ in range(MAX_FLOWS)]
    st = nsutil.stats()
    tap(f"{MAX_FLOWS} idle connections hold the table",
        st["connections_tracked"] == MAX_FLOWS, st["connections_tracked"])
    full0, reclaimed0 = st["refused_table_full"], st.get("records_reclaimed", 0)

    # The first session finds the table full; the records idle long
    # enough (5 s) go, and a later try is inspected.
    end, tries, err = time.monotonic() + 30, 0, "never tried"
    while time.monotonic() < end:
        tries += 1
        err = download(SRV4, True)
        if not err:
            break
        time.sleep(1)
    st = nsutil.stats()
    tap(f"PASV transfer works despite the idle connections ({tries} tries)",
        not err, err)
    tap("the full table was counted", st["refused_table_full"] > full0,
        st["refused_table_full"] - full0)
    tap("the idle records were reclaimed",
        st.get("records_reclaimed", 0) - reclaimed0 >= MAX_FLOWS - 1,
        st.get("records_reclaimed", 0) - reclaimed0)
    for host, passive, mode in ((SRV6, True, "EPSV"), (SRV4, False, "PORT"),
                                (SRV6, False, "EPRT")):
        err = download(host, passive)
        tap(f"{mode} transfer works", not err, err)

    # An idle connection that speaks again gets a record again: its PASV
    # opens a pinhole.
    s = idle[0]
    s.sendall(b"USER anonymous\r\n")
    s.recv(1024)
    s.sendall(b"PASS x\r\n")
    s.recv(1024)
    s.sendall(b"PASV\r\n")
    reply = s.recv(1024).decode()
    host, port = ftplib.parse227(reply)
    opened = nsutil.wait_until(lambda: any(f"dport={port} " in e
                                           for e in nsutil.expectations()))
    tap("an idle connection that speaks again is inspected again", opened,
        reply)
    for s in idle:
        s.close()
    return tap.failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
