#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A reply the router never saw (ftp_gap.sh lets it bypass conntrack):
the server's stream has a hole that is never filled, and the helper jumps
it at the next line start it knows.  The negotiation after it must still
be followed: its 227 answers its PASV, not the command whose reply was
lost.  Prints TAP lines; usage: ftp_gap.py"""
import socket
import sys

import nsutil
from scripted import SRV4, Ctl, Listener

tap = nsutil.Tap("gap")
# ftp_gap.sh's rule: IPv4 packets from port 21 this long bypass conntrack.
LOST = b"200 " + b"x" * 94 + b"\r\n"


def pinhole(port):
    return any(f"dport={port} " in e for e in nsutil.expectations())


def passive(ctl, lst_port, what):
    """PASV answered by a 227 for lst_port: the pinhole opens and a data
    connection gets through it."""
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode (10,0,2,2,{lst_port >> 8},{lst_port & 255}).\r\n")
    ok = tap(f"{what}: the 227 opened its pinhole",
             nsutil.wait_until(lambda: pinhole(lst_port)), nsutil.expectations())
    if not ok:
        return
    nsutil.enter("cli")
    try:
        socket.create_connection((SRV4, lst_port), timeout=5).close()
        got = ""
    except OSError as e:
        got = repr(e)
    tap(f"{what}: the data connection got through", not got, got)
    ctl.cmd("RETR f\r\n")
    ctl.rep("150 here\r\n226 done\r\n")
    tap(f"{what}: no pinhole left after the 226",
        nsutil.wait_until(lambda: not pinhole(lst_port)), nsutil.expectations())


def main():
    lst = Listener()
    nsutil.enter("srv")
    data = socket.create_server((SRV4, 0))
    data.settimeout(5)
    port = data.getsockname()[1]
    before = nsutil.stats()
    ctl = Ctl(lst)
    ctl.rep("220 scripted\r\n")
    # TYPE's reply never reaches the helper; NOOP's, beyond the hole, is
    # not read but marks where a line starts.
    ctl.cmd("TYPE I\r\n")
    ctl.rep(LOST)
    ctl.cmd("NOOP\r\n")
    ctl.rep("200 ok\r\n")
    passive(ctl, port, "after a lost reply")
    gaps = nsutil.stats()["segments_gap"] - before["segments_gap"]
    tap("the router counted the hole", gaps > 0, f"gaps +{gaps}")
    # And the connection goes on being followed.
    passive(ctl, port, "the next negotiation")
    ctl.cmd("QUIT\r\n")
    ctl.rep("221 bye\r\n")
    ctl.close()
    data.close()
    return tap.failed


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
