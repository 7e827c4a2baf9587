#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The python ftplib cells of the client matrix (ftp_matrix.sh): per data
channel mode, one control connection that sends what real clients send
around their transfers, each transfer checked byte for byte and the router
checked for leftovers after it.

  FEAT, OPTS UTF8 ON, TYPE I, MODE S, STRU F, SIZE, MDTM,
  LIST, NLST, MLSD (when FEAT offers MLST), RETR, REST + RETR,
  STOR + APPE (a resumed upload), STOU, TYPE A + RETR (text), RETR again

Usage: ftp_verbs.py SERVER HOST FAMILY ROOT RTR_PID MODE...
  ROOT     the server's directory (the guest shares /tmp): file.bin,
           text.txt, dir/{a.bin,b.txt}, up/ writable
  RTR_PID  a process in the router's namespace: its /proc/PID/net is read
           directly, since a process spawned per look is slow under TCG
  MODE     PASV, EPSV, PORT or EPRT; one cell each, its own connection
Prints per cell one line "# cell: SERVER ftplib F MODE ok|FAIL", after
the reason for a failure; ftp_matrix.sh turns them into TAP lines.
"""
import ftplib
import os
import socket
import subprocess
import sys
import time

from nsutil import ProcNet

SERVER, HOST, FAM, ROOT, RTR_PID = sys.argv[1:6]
MODES = sys.argv[6:]
AF = socket.AF_INET if FAM == "4" else socket.AF_INET6
RTR = ProcNet(RTR_PID)
EMBRYO = RTR.embryo()
REF = open(f"{ROOT}/file.bin", "rb").read()
TEXT = open(f"{ROOT}/text.txt").read().splitlines()


class Fail(Exception):
    pass


class FTP(ftplib.FTP):
    """ftplib with the data channel mode chosen per cell: ftplib itself
    picks PASV/PORT on IPv4 and EPSV/EPRT on IPv6 only."""
    mode = "PASV"

    def makepasv(self):
        if self.mode == "PASV":
            _, port = ftplib.parse227(self.sendcmd("PASV"))
            return self.sock.getpeername()[0], port
        return ftplib.parse229(self.sendcmd("EPSV"), self.sock.getpeername())

    def makeport(self):
        sock = socket.create_server(("", 0), family=self.af, backlog=1)
        host, port = self.sock.getsockname()[0], sock.getsockname()[1]
        if self.mode == "PORT":
            self.sendport(host, port)
        else:
            self.sendeprt(host, port)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        return sock


def leftovers():
    """Expectations and flow rows on the router."""
    left = RTR.expectations()
    if EMBRYO:
        left += RTR.flows()
    return left


def closed(what):
    """Nothing left on the router after WHAT; the last segments may still
    be crossing it when the client returns."""
    end = time.monotonic() + 5
    while left := leftovers():
        if time.monotonic() > end:
            raise Fail(f"after {what}, left on the router: {left}")
        time.sleep(0.05)


def flush():
    """After a failure: let the next cell start clean."""
    for what in ([], ["expect"]):
        for fam in ("ipv4", "ipv6"):
            subprocess.run(["ip", "netns", "exec", "rtr", "conntrack", "-F", *what,
                            "-f", fam], capture_output=True, timeout=10)


def counters():
    if not EMBRYO:
        return {}
    return RTR.stats()


STEP = ""


def step(what):
    """What the cell does now, for the failure's message."""
    global STEP
    STEP = what


def want(cond, what):
    if not cond:
        raise Fail(what)


def expect(resp, code, what):
    want(resp.startswith(code), f"{what}: {resp!r}, want {code}")


def cell(ftp, mode):
    """One session; returns the number of data transfers it made."""
    xfers = 0
    step("FEAT")
    feat = ftp.sendcmd("FEAT")
    expect(feat, "211", "FEAT")
    facts = {line.strip().split(" ")[0].upper() for line in feat.splitlines()[1:-1]}
    # Sent whatever FEAT says, as FileZilla and WinSCP do: servers that
    # refuse it (Pure-FTPd's 504, pyftpdlib's 501) go on all the same.
    step("OPTS UTF8 ON")
    try:
        ftp.sendcmd("OPTS UTF8 ON")
    except ftplib.error_perm:
        pass
    for cmd in ("TYPE I", "MODE S", "STRU F"):
        step(cmd)
        expect(ftp.sendcmd(cmd), "200", cmd)
    step("SIZE")
    want(ftp.size("file.bin") == len(REF), "SIZE file.bin")
    step("MDTM")
    expect(ftp.sendcmd("MDTM file.bin"), "213", "MDTM")

    step("LIST")
    names = []
    ftp.retrlines("LIST dir", names.append)
    want(any("a.bin" in n for n in names) and any("b.txt" in n for n in names),
         f"LIST dir: {names}")
    closed("LIST")
    step("NLST")
    # Pure-FTPd lists . and .. too.
    names = [os.path.basename(n) for n in ftp.nlst("dir")]
    want(sorted(set(names) - {".", ".."}) == ["a.bin", "b.txt"], f"NLST dir: {names}")
    closed("NLST")
    xfers += 2
    if "MLST" in facts:
        step("MLSD")
        names = sorted(n for n, f in ftp.mlsd("dir") if f.get("type") == "file")
        want(names == ["a.bin", "b.txt"], f"MLSD dir: {names}")
        closed("MLSD")
        xfers += 1

    step("RETR")
    got = bytearray()
    ftp.retrbinary("RETR file.bin", got.extend)
    want(got == REF, f"RETR file.bin: {len(got)} bytes differ")
    closed("RETR")
    step("REST + RETR")
    rest = len(REF) // 3
    got = bytearray()
    ftp.retrbinary("RETR file.bin", got.extend, rest=rest)
    want(got == REF[rest:], f"REST {rest} + RETR: {len(got)} bytes differ")
    closed("REST + RETR")

    # A resumed upload: the first half, then APPE with the rest. Pure-FTPd
    # lets no anonymous user change an existing file, APPE included: there
    # APPE creates a new one.
    name = f"up/ftplib-{SERVER}-ipv{FAM}-{mode}.bin"
    half = 0 if SERVER == "pure-ftpd" else len(REF) // 2
    step("STOR")
    ftp.storbinary(f"STOR {name}", _Reader(REF[:half]))
    closed("STOR")
    step("APPE")
    if half == 0:
        name += ".appe"
    ftp.storbinary(f"APPE {name}", _Reader(REF[half:]))
    closed("APPE")
    with open(f"{ROOT}/{name}", "rb") as f:
        want(f.read() == REF, "STOR + APPE: the stored file differs")
    xfers += 4

    # STOU: the server names the file; find it on its disk.
    step("STOU")
    before = set(os.listdir(f"{ROOT}/up"))
    ftp.cwd("up")
    ftp.storbinary("STOU", _Reader(REF))
    ftp.cwd("..")
    closed("STOU")
    new = set(os.listdir(f"{ROOT}/up")) - before
    want(len(new) == 1, f"STOU: new files {new}")
    with open(f"{ROOT}/up/{new.pop()}", "rb") as f:
        want(f.read() == REF, "STOU: the stored file differs")

    step("TYPE A RETR")
    lines = []
    ftp.retrlines("RETR text.txt", lines.append)  # sends TYPE A
    want(lines == TEXT, f"TYPE A RETR text.txt: {len(lines)} lines differ")
    closed("TYPE A RETR")
    step("second RETR")
    ftp.voidcmd("TYPE I")
    got = bytearray()
    ftp.retrbinary("RETR file.bin", got.extend)
    want(got == REF, "second RETR file.bin differs")
    closed("second RETR")
    return xfers + 3


class _Reader:
    """storbinary's file: DATA in blocks."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def read(self, n):
        chunk = self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


failed = 0
for mode in MODES:
    before = counters()
    start = time.monotonic()
    step("login")
    ftp = FTP(timeout=15)
    try:
        ftp.af = AF
        ftp.mode = mode
        ftp.set_pasv(mode in ("PASV", "EPSV"))
        ftp.connect(HOST, 21)
        ftp.login()
        n = cell(ftp, mode)
        step("QUIT")
        ftp.quit()
        closed("QUIT")
        step("counters")
        after = counters()
        if EMBRYO:
            # The label is true: MODE only, once per transfer.
            seen = {m: after[f"cmd_{m.lower()}"] - before[f"cmd_{m.lower()}"]
                    for m in ("PASV", "EPSV", "PORT", "EPRT")}
            want(seen == {m: n if m == mode else 0 for m in seen},
                 f"{n} transfers, negotiations seen: {seen}")
            made = after["expect_created"] - before["expect_created"]
            want(made == n, f"{n} transfers, {made} expectations")
        secs = time.monotonic() - start
        print(f"# cell: {SERVER} ftplib {FAM} {mode} ok {secs:.1f}s", flush=True)
    except (Fail, ftplib.Error, OSError, EOFError, KeyError) as e:
        failed += 1
        secs = time.monotonic() - start
        print(f"#   {STEP}: {type(e).__name__}: {e}", flush=True)
        print(f"# cell: {SERVER} ftplib {FAM} {mode} FAIL {secs:.1f}s", flush=True)
        ftp.close()
        flush()
sys.exit(1 if failed else 0)
