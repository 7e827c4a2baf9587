#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Many concurrent FTP sessions from one process, for ftp_load.sh.

Usage (in the client namespace): ftp_load.py SESSIONS TRANSFERS ROOT FILE...
  --parallel K         at most K transfers in flight (default: all);
  --srv4/--srv6 ADDR   the server; --cli4/--cli6 ADDR  plain client addresses;
  --nat4/--nat6 ADDR   client addresses the router masquerades.
Session i takes its family and whether it goes through NAT from i % 4, and
its transfers rotate through the family's negotiations (IPv4: PASV, PORT,
EPSV, EPRT; IPv6: EPSV, EPRT), so every combination is in the mix.  Each
transfer is a RETR of ROOT/FILE, hashed as it arrives and compared with the
file itself.

Protocol with the caller: logs in every session (a few at a time, the
server's listen backlog is small), prints "ready N" (N: sessions logged in)
and waits for a line on stdin, so that all control connections are open at
once while the caller looks at the router.  Then every session does its
transfers, K at a time over all sessions, and QUITs; the last line is
"result key=value ..." with what was sent, for the caller's counter checks.
One line starting with "#" per failure (the first few) and per phase.
"""
import argparse
import asyncio
import hashlib
import os
import re
import socket
import sys
import time

LOGIN_AT_ONCE = 32
TIMEOUT = 600

ap = argparse.ArgumentParser()
ap.add_argument("sessions", type=int)
ap.add_argument("transfers", type=int)
ap.add_argument("root")
ap.add_argument("files", nargs="+")
ap.add_argument("--parallel", type=int, default=0)
for opt in ("srv4", "srv6", "cli4", "cli6", "nat4", "nat6"):
    ap.add_argument(f"--{opt}", required=True)
args = ap.parse_args()

# The reference: what each file must hash to.
REF = {}
for name in args.files:
    with open(os.path.join(args.root, name), "rb") as f:
        data = f.read()
    REF[name] = (len(data), hashlib.sha256(data).hexdigest())

MODES = {4: ("PASV", "PORT", "EPSV", "EPRT"), 6: ("EPSV", "EPRT")}
KINDS = ((4, False), (4, True), (6, False), (6, True))
errors = []


class Failed(Exception):
    pass


class Session:
    def __init__(self, i):
        self.i = i
        self.fam, self.nat = KINDS[i % len(KINDS)]
        self.af = socket.AF_INET if self.fam == 4 else socket.AF_INET6
        self.srv = args.srv4 if self.fam == 4 else args.srv6
        if self.fam == 4:
            self.me = args.nat4 if self.nat else args.cli4
        else:
            self.me = args.nat6 if self.nat else args.cli6
        self.plan = []
        for t in range(args.transfers):
            modes = MODES[self.fam]
            mode = modes[(i // len(KINDS) + t) % len(modes)]
            name = args.files[(i + t) % len(args.files)]
            self.plan.append((mode, name))
        self.r = self.w = None
        # Where the session is, for the failure summary.
        self.step = "connect"

    def tag(self):
        return f"session {self.i} (ipv{self.fam}{' nat' if self.nat else ''})"

    async def reply(self):
        """One reply, multi-line ones whole; returns (code, last line)."""
        line = (await self.r.readline()).decode("latin-1")
        if len(line) < 4 or not line[:3].isdigit():
            raise Failed(f"bad reply {line!r}")
        code = line[:3]
        while line[3] == "-":
            line = (await self.r.readline()).decode("latin-1")
            if not line:
                raise Failed("connection closed in a multi-line reply")
            if line[:3] == code and line[3:4] == " ":
                break
        return int(code), line.rstrip("\r\n")

    async def expect(self, want):
        code, line = await self.reply()
        if code // 100 != want:
            raise Failed(f"wanted {want}xx, got {line!r}")
        return line

    async def cmd(self, text, want):
        self.w.write(text.encode() + b"\r\n")
        await self.w.drain()
        return await self.expect(want)

    async def login(self):
        self.r, self.w = await asyncio.open_connection(
            self.srv, 21, family=self.af, local_addr=(self.me, 0))
        self.step = "login"
        await self.expect(2)
        # no_anon_password: vsftpd may answer USER with 230 at once.
        self.w.write(b"USER anonymous\r\n")
        await self.w.drain()
        code, line = await self.reply()
        if code == 331:
            await self.cmd("PASS load@", 2)
        elif code // 100 != 2:
            raise Failed(f"USER: {line!r}")
        await self.cmd("TYPE I", 2)

    async def data_socket(self, mode):
        """Negotiate MODE; returns the data socket: connected (passive) or
        listening (active)."""
        s = socket.socket(self.af, socket.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.bind((self.me, 0))
            await self.negotiate(s, mode)
            return s
        except BaseException:
            s.close()
            raise

    async def negotiate(self, s, mode):
        if mode in ("PASV", "EPSV"):
            self.step = mode
            line = await self.cmd(mode, 2)
            if mode == "PASV":
                m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", line)
                host = ".".join(m.group(1, 2, 3, 4)) if m else None
                port = int(m.group(5)) * 256 + int(m.group(6)) if m else 0
            else:
                m = re.search(r"\(\|\|\|(\d+)\|\)", line)
                host, port = self.srv, int(m.group(1)) if m else 0
            if not m:
                raise Failed(f"{mode}: cannot parse {line!r}")
            self.step = "data connect"
            await asyncio.get_running_loop().sock_connect(s, (host, port))
            return
        s.listen(1)
        port = s.getsockname()[1]
        self.step = mode
        if mode == "PORT":
            h = self.me.replace(".", ",")
            await self.cmd(f"PORT {h},{port >> 8},{port & 255}", 2)
        else:
            await self.cmd(f"EPRT |{1 if self.fam == 4 else 2}|{self.me}|{port}|", 2)

    async def transfer(self, mode, name):
        loop = asyncio.get_running_loop()
        s = await self.data_socket(mode)
        try:
            self.step = "RETR"
            await self.cmd(f"RETR {name}", 1)
            if mode in ("PORT", "EPRT"):
                self.step = "data accept"
                conn, _ = await loop.sock_accept(s)
                s.close()
                s = conn
            self.step = "data"
            h = hashlib.sha256()
            size = 0
            while chunk := await loop.sock_recv(s, 1 << 18):
                h.update(chunk)
                size += len(chunk)
        finally:
            s.close()
        self.step = "226"
        await self.expect(2)
        if (size, h.hexdigest()) != REF[name]:
            raise Failed(f"{mode} RETR {name}: {size} bytes, content differs"
                         if size == REF[name][0] else
                         f"{mode} RETR {name}: {size} bytes, want {REF[name][0]}")
        return size

    async def run(self, gate):
        total = 0
        for mode, name in self.plan:
            # Not the wait for a turn: each transfer has TIMEOUT.
            async with gate:
                total += await asyncio.wait_for(self.transfer(mode, name), TIMEOUT)
        self.step = "QUIT"
        await asyncio.wait_for(self.cmd("QUIT", 2), TIMEOUT)
        self.w.close()
        return total


def failure(s, what, e):
    """Print the first few; all of them go into the summary by step."""
    msg = str(e) or type(e).__name__
    errors.append(f"{what} at {s.step}: {type(e).__name__}")
    if len(errors) <= 10:
        print(f"# {s.tag()} {what} at {s.step}: {msg}", flush=True)


async def login_all(sessions):
    gate = asyncio.Semaphore(LOGIN_AT_ONCE)

    async def one(s):
        async with gate:
            try:
                await asyncio.wait_for(s.login(), TIMEOUT)
                return s
            except (OSError, Failed, asyncio.TimeoutError) as e:
                failure(s, "login", e)
                if s.w:
                    s.w.close()
                return None

    return [s for s in await asyncio.gather(*map(one, sessions)) if s]


async def transfer_all(sessions):
    # A client that reads a 227 only after the router's expect_timeout
    # (60 s) finds its pinhole gone: under TCG a thousand transfers at
    # once would starve this one process that long.
    gate = asyncio.Semaphore(args.parallel or len(sessions) * args.transfers or 1)

    async def one(s):
        try:
            return await s.run(gate)
        except (OSError, Failed, asyncio.TimeoutError) as e:
            failure(s, "transfer", e)
            s.w.close()
            return None

    return await asyncio.gather(*map(one, sessions))


async def main():
    sessions = [Session(i) for i in range(args.sessions)]
    t0 = time.monotonic()
    live = await login_all(sessions)
    print(f"# login: {len(live)}/{len(sessions)} sessions in "
          f"{time.monotonic() - t0:.1f} s", flush=True)
    print(f"ready {len(live)}", flush=True)
    # All control connections stay open, idle, while the caller looks.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    t1 = time.monotonic()
    sizes = await transfer_all(live)
    secs = time.monotonic() - t1
    got = sum(x for x in sizes if x is not None)
    good = sum(1 for x in sizes if x is not None)
    print(f"# transfers: {good}/{len(live)} sessions whole, {got / 1e6:.1f} MB "
          f"in {secs:.1f} s ({got / 1e6 / max(secs, 1e-3):.1f} MB/s)", flush=True)

    # What was sent, for the counter checks (every planned step of the
    # sessions that logged in; a failure fails the test anyway).
    sent = {m: 0 for m in MODES[4]}
    nat_active = 0
    for s in live:
        for mode, _ in s.plan:
            sent[mode] += 1
            nat_active += s.nat and mode in ("PORT", "EPRT")
    xfers = sum(len(s.plan) for s in live)
    for why in sorted(set(errors)):
        print(f"# failed: {errors.count(why)} x {why}", flush=True)
    print(f"result sessions={len(sessions)} logged_in={len(live)} "
          f"whole={good} failed={len(errors)} transfers={xfers} "
          + " ".join(f"{m.lower()}={n}" for m, n in sent.items())
          + f" nat_active={nat_active} bytes={got} secs={secs:.1f}", flush=True)
    return 0 if not errors and good == len(sessions) else 1


sys.exit(asyncio.run(main()))
