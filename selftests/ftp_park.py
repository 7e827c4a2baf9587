#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A control connection that goes quiet gives its record up: the table's
gc walk parks it once it has carried nothing for the park delay (30 s,
flowtab.h), with the table far from full, and counts it in
records_parked.  The same control connection's next transfer gets a new
record, which opens its pinhole and closes it as usual.  A connection
whose row shows a refusal keeps its record (and its row in `flows`) for
10 minutes of quiet instead.  Runs in cli against ftp_park.sh's vsftpd;
prints TAP lines.
Usage: ftp_park.py FILE"""
import ftplib
import sys

import nsutil

SRV4 = "10.0.2.2"
FILE = sys.argv[1]
DATA = open(FILE, "rb").read()
# Park delay, plus a gc interval, plus time for a guest under load.
PARK_WAIT = 75
tap = nsutil.Tap("park")


def login():
    nsutil.enter("cli")
    ftp = ftplib.FTP(timeout=10)
    ftp.connect(SRV4, 21)
    ftp.login()
    ftp.set_pasv(True)
    return ftp


def fetch(ftp):
    """file.bin over @ftp; an error string, or ""."""
    # Reading rtr's numbers moved this process there: the data
    # connection is made in the namespace the process is in.
    nsutil.enter("cli")
    got = bytearray()
    try:
        ftp.retrbinary("RETR file.bin", got.extend)
    except (OSError, EOFError, ftplib.Error) as e:
        return repr(e)
    return "" if bytes(got) == DATA else f"{len(got)} bytes, want {len(DATA)}"


def pinhole_closed():
    return nsutil.wait_until(lambda: not nsutil.expectations(), 5)


def refused_rows():
    return [r for r in nsutil.flows() if " bounce " in r]


def main():
    st0 = nsutil.stats()
    quiet = login()
    err = fetch(quiet)
    tap("a transfer before the pause works", not err, err)
    tap("its pinhole closed", pinhole_closed(), nsutil.expectations())

    # PORT naming the server, not the client: refused (a bounce), a row.
    refused = login()
    try:
        refused.sendcmd(f"PORT {nsutil.hostport(SRV4, 4000)}")
    except ftplib.Error:
        pass
    tap("the refused connection has its row", len(refused_rows()) == 1,
        nsutil.flows())
    st = nsutil.stats()
    tracked = st["connections_tracked"] - st0["connections_tracked"]
    tap("both connections have records", tracked == 2, tracked)

    parked = nsutil.wait_until(
        lambda: nsutil.stats()["connections_tracked"] -
        st0["connections_tracked"] == 1, PARK_WAIT)
    st = nsutil.stats()
    tap(f"the quiet connection's record is parked within {PARK_WAIT} s",
        parked, st["connections_tracked"] - st0["connections_tracked"])
    moved = st.get("records_parked", 0) - st0.get("records_parked", 0)
    tap("records_parked counts it", moved == 1, moved)
    again = st["records_reclaimed"] - st0["records_reclaimed"]
    tap("records_reclaimed does not", again == 0, again)
    tap("the refused connection keeps its row", len(refused_rows()) == 1,
        nsutil.flows())

    # The parked connection speaks again: a new record reads on.
    err = fetch(quiet)
    tap("a transfer after the pause, same control connection, works",
        not err, err)
    tap("its pinhole closed", pinhole_closed(), nsutil.expectations())
    st = nsutil.stats()
    tracked = st["connections_tracked"] - st0["connections_tracked"]
    tap("it has a record again", tracked == 2, tracked)
    done = st["flows_completed"] - st0["flows_completed"]
    tap("both transfers were followed to their end", done == 2, done)
    for ftp in (quiet, refused):
        ftp.quit()
    return tap.failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
