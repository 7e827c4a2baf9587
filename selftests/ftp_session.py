#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Many transfers and failed ones on one FTP control connection.

Run in the client namespace by ftp_session.sh; looks at the router with
`ip netns exec rtr` between steps.  Prints TAP-style "ok - " lines.
Usage: ftp_session.py HOST FAMILY(4|6) REFERENCE_FILE RTR_PID
(RTR_PID: any process in the router's namespace; its /proc/PID/net is
read directly, since a process spawned per look is slow under TCG.)
"""
import ftplib
import socket
import subprocess
import sys

from nsutil import ProcNet, Tap

HOST, FAM, REF, RTR_PID = sys.argv[1:5]
RTR = ProcNet(RTR_PID)
AF = socket.AF_INET if FAM == "4" else socket.AF_INET6
DATA = open(REF, "rb").read()


def rtr(*cmd):
    r = subprocess.run(["ip", "netns", "exec", "rtr", *cmd],
                       capture_output=True, text=True, timeout=10)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


def expectations_ctnetlink():
    """What RTR.expectations() reads (one hash, both families), as
    conntrack -L expect dumps it."""
    return rtr("sh", "-c", "conntrack -L expect -f ipv4 && "
               "conntrack -L expect -f ipv6").splitlines()


def counter(name):
    return RTR.stats()[name]


tap = Tap()


def state():
    return f"expectations: {RTR.expectations()}\nflows: {RTR.flows()}"


def negotiate(ftp, mode):
    """Send the negotiation; return (connect-address or listening socket)."""
    if mode == "PASV":
        return ftplib.parse227(ftp.sendcmd("PASV"))
    if mode == "EPSV":
        return ftplib.parse229(ftp.sendcmd("EPSV"), ftp.sock.getpeername())
    lsock = socket.create_server(("", 0), family=AF)
    lsock.settimeout(10)
    me = ftp.sock.getsockname()[0]
    port = lsock.getsockname()[1]
    if mode == "PORT":
        ftp.sendport(me, port)
    else:
        ftp.sendeprt(me, port)
    return lsock


def retr(ftp, mode, path, tag):
    """One RETR in MODE; asserts the pinhole's life around it."""
    created = counter("expect_created")
    target = negotiate(ftp, mode)
    # Passive: the pinhole opens at the 227/229; active: at the PORT/EPRT
    # (the default; ftp_early_active.sh checks strict_active=1's RETR).
    exp = RTR.expectations()
    tap(f"{tag}: {len(exp)} expectation(s) after the {mode} reply", len(exp) == 1, exp)
    if mode in ("PASV", "EPSV"):
        conn = socket.create_connection(target, timeout=10)
        ftp.sendcmd(f"RETR {path}")
    else:
        ftp.sendcmd(f"RETR {path}")
        conn, _ = target.accept()
        target.close()
    got = bytearray()
    while chunk := conn.recv(65536):
        got += chunk
    conn.close()
    resp = ftp.voidresp()
    tap(f"{tag}: {mode} RETR file byte for byte, {resp[:3]}", bytes(got) == DATA,
        f"{len(got)} bytes, want {len(DATA)}")
    tap(f"{tag}: no expectation and no flow row after the 226",
        not RTR.expectations() and not RTR.flows(), state())
    n = counter("expect_created") - created
    tap(f"{tag}: exactly one expectation created", n == 1, f"expect_created +{n}")


def refused(ftp, mode, tag):
    """A RETR of a missing file: the 550 must close the pinhole at once."""
    aborted = counter("flows_aborted")
    target = negotiate(ftp, mode)
    try:
        ftp.sendcmd("RETR no-such-file")
        code = "1xx/2xx"
    except ftplib.error_perm as e:
        code = str(e)[:3]
    # No waiting: the 550 crossed the router before it reached us.
    exp, fl = RTR.expectations(), RTR.flows()
    if not isinstance(target, tuple):
        target.close()
    tap(f"{tag}: {mode} RETR missing file answered 550", code == "550", code)
    tap(f"{tag}: no expectation and no flow row right after the 550",
        not exp and not fl, f"expectations: {exp}\nflows: {fl}")
    n = counter("flows_aborted") - aborted
    tap(f"{tag}: the negotiation counted as aborted", n == 1, f"flows_aborted +{n}")


def login():
    ftp = ftplib.FTP()
    ftp.af = AF
    ftp.connect(HOST, 21, timeout=10)
    ftp.login()
    ftp.voidcmd("TYPE I")
    return ftp


v = f"ipv{FAM}"
modes = ["PASV", "PORT", "EPSV", "EPRT"] if FAM == "4" else ["EPSV", "EPRT"]

# 3. Several transfers on one control connection.
ftp = login()
created = counter("expect_created")
# Every mode, then the first two again: PASV, PORT, EPSV, EPRT, PASV, PORT.
xfers = modes + modes[:2]
for i, mode in enumerate(xfers):
    retr(ftp, mode, "file.bin", f"{v} session RETR {i + 1}")
n = counter("expect_created") - created
tap(f"{v} session: {len(xfers)} transfers, {len(xfers)} expectations",
    n == len(xfers), f"expect_created +{n}")

# 4. Failed transfers on the same connection, then a good one again.
for mode in modes:
    refused(ftp, mode, f"{v} session")
retr(ftp, modes[0], "file.bin", f"{v} session RETR after the 550s")
ftp.quit()

# 4. QUIT while a passive negotiation is open (227/229 seen, no transfer).
ftp = login()
negotiate(ftp, modes[0])
tap(f"{v} {modes[0]} open before QUIT", len(RTR.expectations()) == 1, state())
resp = ftp.sendcmd("QUIT")
exp = expectations_ctnetlink()
tap(f"{v} QUIT answered 221", resp.startswith("221"), resp)
tap(f"{v} no expectation right after the 221", not exp, exp)
ftp.close()

sys.exit(1 if tap.failed else 0)
