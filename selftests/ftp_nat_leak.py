#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""No inside address may reach the public side of a translating router.

Run by ftp_nat_leak.sh in the guest: lib.sh's NAT topology (cli
192.168.124.10 behind rtr, which masquerades it to 198.51.100.1 and
forwards 198.51.100.1:2121 to cli:21; srv 198.51.100.2 outside, with no
route back), the helper attached on rtr.  One process plays every end,
switching namespaces with setns(2):

  server  a scripted FTP server on cli:21, reached by a scripted client in
          srv through the port forward (DNAT): its 227 names its inside
          address, in the irregular orders the state machine does not
          match to a pending PASV.
  client  a scripted client in cli, masqueraded (SNAT), to a scripted
          server on srv:21: its PORT/EPRT name its own inside address with
          something the helper refuses or does not read in the normal way.

Each such line must reach srv rewritten (to the public address) or not
at all (its segment dropped); either is fine, a leak is not.  tcpdump on
srv's link records every packet; each case's connection is searched,
packet by packet and reassembled, and so are the bytes srv's end read,
for 192.168 in the comma form of PORT/227 and the dotted form of EPRT.
One TAP line per case.  Usage: ftp_nat_leak.py all | norecord
(norecord: the module loaded with max_flows=1; one connection holds the
only record, kept busy so that it is not reclaimed as idle).  Without /proc/net/nf_ftp_embryo (the kernel's own helper,
HELPER=ftp) the counters are not shown.
"""
import os
import socket
import struct
import subprocess
import sys
import time

from nsutil import Frames, Tap, enter, expectations, stats, wait_until
from scripted import recv_exact

INSIDE, PUBLIC, OUTSIDE = "192.168.124.10", "198.51.100.1", "198.51.100.2"
# Any 192.168 address, comma (PORT, 227) or dotted (EPRT) form: none lives
# outside, so any of it on srv's link came from inside.
PRIVATE = (b"192,168", b"192.168")
# How long a line is given to reach srv before it counts as not delivered
# (dropped by the router: fine).  A resend comes after 0.2 s, 0.6 s, ...
DELIVERY_WAIT = 3.0
# Commands one more than the helper follows unanswered (FTPE_PENDING_MAX).
OVERFLOW = 17

tap = Tap("nat leak")


def comma(addr, port):
    return ",".join(addr.split(".") + [str(port >> 8), str(port & 255)])


def pasv227(port, addr=INSIDE):
    return f"227 Entering Passive Mode ({comma(addr, port)}).\r\n".encode()


def port_cmd(port, addr=INSIDE):
    return f"PORT {comma(addr, port)}\r\n".encode()


def eprt_cmd(port, addr=INSIDE):
    return f"EPRT |1|{addr}|{port}|\r\n".encode()


def have_stats():
    enter("rtr")
    return os.path.exists("/proc/net/nf_ftp_embryo/stats")


# --- the capture on srv's link ------------------------------------------------

class Capture:
    """tcpdump on s0 in srv, written packet by packet, read back per case."""

    def __init__(self, path):
        self.path = path
        self.log = path + ".log"
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", "srv", "tcpdump", "-Z", "root", "-U",
                 "-n", "-s", "0", "-i", "s0", "-w", path, "tcp"],
                stdout=subprocess.DEVNULL, stderr=err)
        if not wait_until(lambda: "listening on" in open(self.log).read(), 30):
            raise RuntimeError("tcpdump did not start")

    def stop(self):
        time.sleep(0.5)
        self.proc.terminate()
        self.proc.wait()

    def segments(self):
        """[((src, sport), (dst, dport), seq, payload)] of IPv4 TCP
        segments that carry data, in capture order."""
        with open(self.path, "rb") as f:
            raw = f.read()
        if len(raw) < 24:
            return []
        order = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") \
            else ">"
        segs = []
        pos = 24
        while pos + 16 <= len(raw):
            caplen, = struct.unpack(order + "I", raw[pos + 8:pos + 12])
            frame = raw[pos + 16:pos + 16 + caplen]
            pos += 16 + caplen
            # Ethernet, IPv4, TCP: nothing else crosses s0 here.
            if len(frame) < 54 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            if ip[9] != socket.IPPROTO_TCP:
                continue
            hl = (ip[0] & 0x0f) * 4
            total, = struct.unpack(">H", ip[2:4])
            tcp = ip[hl:total]
            if len(tcp) < 20:
                continue
            sport, dport, seq = struct.unpack(">HHI", tcp[:8])
            data = tcp[(tcp[12] >> 4) * 4:]
            if data:
                src = socket.inet_ntoa(ip[12:16])
                dst = socket.inet_ntoa(ip[16:20])
                segs.append(((src, sport), (dst, dport), seq, data))
        return segs

    def leaks(self, ends):
        """What private text passed on the connection between @ends (as
        srv's link shows them), per packet and in each direction's
        reassembled stream."""
        found = []
        streams = {}
        for src, dst, seq, data in self.segments():
            if {src, dst} != ends:
                continue
            if any(p in data for p in PRIVATE):
                found.append(f"packet {src}->{dst}: {data[:160]!r}")
            streams.setdefault((src, dst), []).append((seq, data))
        for (src, dst), segs in streams.items():
            first = segs[0][0]
            buf = bytearray()
            for seq, data in segs:
                at = (seq - first) & 0xffffffff
                if at > 1 << 20:
                    continue        # before the first one seen: a resend
                if len(buf) < at + len(data):
                    buf.extend(bytes(at + len(data) - len(buf)))
                buf[at:at + len(data)] = data
            if any(p in buf for p in PRIVATE):
                found.append(f"stream {src}->{dst}: {bytes(buf)[:200]!r}")
        return found


# --- the two kinds of control connection --------------------------------------

class Listeners:
    """The inside server's socket (cli:21, behind the port forward) and
    the outside server's (srv:21)."""

    def __init__(self):
        self.inside = self._listen("cli", INSIDE)
        self.outside = self._listen("srv", OUTSIDE)

    @staticmethod
    def _listen(ns, addr):
        enter(ns)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, 21))
        s.listen(8)
        s.settimeout(10)
        return s


class Pair:
    """One control connection across rtr.  @inside is the end in cli, the
    one that announces its address; @outside the end in srv, which must
    never read it.  kind "server": cli serves, srv's client came in
    through the port forward; kind "client": cli's client goes out
    masqueraded to srv's server."""

    def __init__(self, lst, kind):
        if kind == "server":
            enter("srv")
            self.outside = socket.create_connection((PUBLIC, 2121), 10)
            self.inside, _ = lst.inside.accept()
        else:
            enter("cli")
            self.inside = socket.create_connection((OUTSIDE, 21), 10)
            self.outside, _ = lst.outside.accept()
        for s in (self.inside, self.outside):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(10)
        # As srv's link shows the connection: srv's end is not translated.
        self.ends = {self.outside.getsockname(), self.outside.getpeername()}
        self.read = b""

    def inside_says(self, *segments):
        """Send each of @segments as a segment of its own."""
        for i, seg in enumerate(segments):
            if i:
                time.sleep(0.05)
            self.inside.sendall(seg)

    def outside_says(self, data):
        """Sent in one go; returns once the inside end has it all."""
        self.outside.sendall(data)
        recv_exact(self.inside, len(data))

    def outside_reads(self, lines):
        """Has srv's end read @lines lines in all, within DELIVERY_WAIT?"""
        end = time.monotonic() + DELIVERY_WAIT
        while self.read.count(b"\n") < lines:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.outside.settimeout(left)
            try:
                chunk = self.outside.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                return False
            self.read += chunk
        return True

    def close(self):
        # RST: a dropped segment must not go on being resent after a case.
        for s in (self.inside, self.outside):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()


# --- the cases ------------------------------------------------------------------
# Each takes a Pair, makes the inside end announce, and returns how many
# lines srv's end was to read, whether it read them all.

def pasv_superseded(p):
    """Two PASV pipelined: the answer to the first is no longer wanted."""
    p.outside_says(b"PASV\r\nPASV\r\n")
    p.inside_says(pasv227(50001))
    if not p.outside_reads(1):
        return 1, False
    p.inside_says(pasv227(50002))
    return 2, p.outside_reads(2)


def pasv_overflow(p):
    """More commands unanswered than the helper follows, then PASV."""
    p.outside_says(b"NOOP\r\n" * OVERFLOW + b"PASV\r\n")
    p.inside_says(b"200 NOOP ok.\r\n" * OVERFLOW)
    if not p.outside_reads(OVERFLOW):
        return OVERFLOW, False
    p.inside_says(pasv227(50003))
    return OVERFLOW + 1, p.outside_reads(OVERFLOW + 1)


def long_227_head(p):
    """A 227 of over 256 bytes, its address in the part the helper reads."""
    p.outside_says(b"PASV\r\n")
    p.inside_says(pasv227(50004)[:-2] + b" Have a nice day." * 16 + b"\r\n")
    return 1, p.outside_reads(1)


def long_227_tail(p):
    """A 227 of over 256 bytes, its address past the 256th."""
    p.outside_says(b"PASV\r\n")
    p.inside_says(b"227 Entering Passive Mode" + b"." * 250 +
                  f" ({comma(INSIDE, 50005)})\r\n".encode())
    return 1, p.outside_reads(1)


def lowport_227(p):
    """A 227 to PASV naming a port below min_port: it opens nothing."""
    p.outside_says(b"PASV\r\n")
    p.inside_says(pasv227(1000))
    return 1, p.outside_reads(1)


def unsolicited_227(p):
    """A 227 nobody asked for, after a greeting."""
    p.inside_says(b"220 Ready.\r\n")
    if not p.outside_reads(1):
        return 1, False
    p.inside_says(pasv227(50006))
    return 2, p.outside_reads(2)


def multiline_227(p):
    """A 227 line inside a multi-line reply."""
    p.outside_says(b"USER anonymous\r\n")
    p.inside_says(b"230-Welcome.\r\n" + pasv227(50007) + b"230 Logged in.\r\n")
    return 3, p.outside_reads(3)


def split_227(p):
    """A 227 nobody asked for, cut inside its address."""
    line = pasv227(50008)
    at = line.index(b",168") + 4
    p.inside_says(line[:at], line[at:])
    return 1, p.outside_reads(1)


def lowport_port(p):
    """PORT naming a port below min_port: refused, it opens nothing."""
    p.inside_says(port_cmd(1000))
    return 1, p.outside_reads(1)


def lowport_eprt(p):
    """EPRT naming a port below min_port."""
    p.inside_says(eprt_cmd(1000))
    return 1, p.outside_reads(1)


def port_superseded(p):
    """Two PORT pipelined in one segment: the second replaces the first."""
    p.inside_says(port_cmd(50011) + port_cmd(50012))
    return 2, p.outside_reads(2)


def port_overflow(p):
    """More commands unanswered than the helper follows, then PORT."""
    p.inside_says(b"NOOP\r\n" * OVERFLOW + port_cmd(50013))
    return OVERFLOW + 1, p.outside_reads(OVERFLOW + 1)


def long_port(p):
    """PORT of over 256 bytes, its address past the 256th (blanks before
    the argument are allowed)."""
    p.inside_says(b"PORT" + b" " * 260 + comma(INSIDE, 50014).encode() +
                  b"\r\n")
    return 1, p.outside_reads(1)


def long_eprt(p):
    """EPRT of over 256 bytes, its address past the 256th."""
    p.inside_says(b"EPRT" + b" " * 260 + f"|1|{INSIDE}|50015|\r\n".encode())
    return 1, p.outside_reads(1)


def port_forged_resend(p):
    """A segment at a rewritten PORT's sequence number that starts with the
    router's own rewrite of it, as if met again, and goes on with another
    PORT: not the router's output, since it brings bytes never read."""
    frames = Frames("cli", "c0", p.inside.getsockname()[1])
    try:
        p.inside_says(port_cmd(50016))
        frame, tcp, doff = frames.find(b"PORT ")
        if not p.outside_reads(1):
            return 1, False
        frames.send(frame, tcp, doff, p.read + port_cmd(50017))
    finally:
        frames.close()
    return 2, p.outside_reads(2)


def port_resent_otherwise(p):
    """A segment dropped after reading a line (it ends in a PORT cut inside
    its digits), then resent with other bytes where that line was: a PORT
    naming cli, as long as the line it replaces.  The router read the
    first version and the server never got it."""
    frames = Frames("cli", "c0", p.inside.getsockname()[1])
    other = port_cmd(50018)
    try:
        p.inside_says(b"NOOP " + b"A" * (len(other) - 7) + b"\r\nPORT 1")
        frame, tcp, doff = frames.find(b"NOOP ")
        frames.send(frame, tcp, doff, other)
    finally:
        frames.close()
    return 1, p.outside_reads(1)


def port_resent_after_old_byte(p):
    """As port_resent_otherwise, with an old byte resent between: a
    segment that ends where the dropped one began touches nothing it
    read, and must not count as bringing it back."""
    frames = Frames("cli", "c0", p.inside.getsockname()[1])
    other = port_cmd(50019)
    try:
        p.inside_says(b"NOOP\r\n")
        if not p.outside_reads(1):
            return 1, False
        p.inside_says(b"NOOP " + b"A" * (len(other) - 7) + b"\r\nPORT 1")
        frame, tcp, doff = frames.find(b"NOOP A")
        frames.send(frame, tcp, doff, b"\n", seq_add=-1)
        frames.send(frame, tcp, doff, other)
    finally:
        frames.close()
    return 2, p.outside_reads(2)


CASES = [
    ("server", "227 to a PASV superseded by a pipelined PASV", pasv_superseded),
    ("server", "227 in pipeline-overflow mode", pasv_overflow),
    ("server", "227 over 256 bytes, address in the first 256", long_227_head),
    ("server", "227 over 256 bytes, address past byte 256", long_227_tail),
    ("server", "227 naming a port below min_port", lowport_227),
    ("server", "unsolicited 227", unsolicited_227),
    ("server", "227 line inside a multi-line reply", multiline_227),
    ("server", "unsolicited 227 split inside its address", split_227),
    ("client", "PORT naming a port below min_port", lowport_port),
    ("client", "EPRT naming a port below min_port", lowport_eprt),
    ("client", "PORT superseded by a second PORT in its segment", port_superseded),
    ("client", "PORT in pipeline-overflow mode", port_overflow),
    ("client", "PORT over 256 bytes, address past byte 256", long_port),
    ("client", "EPRT over 256 bytes, address past byte 256", long_eprt),
    ("client", "forged resend: the router's rewrite, then a new PORT",
     port_forged_resend),
    ("client", "a dropped segment's read line resent as a PORT",
     port_resent_otherwise),
    ("client", "the same after an old byte resent just before it",
     port_resent_after_old_byte),
]


def port_norecord(p):
    p.inside_says(port_cmd(50021))
    return 1, p.outside_reads(1)


def eprt_norecord(p):
    p.inside_says(eprt_cmd(50022))
    return 1, p.outside_reads(1)


def pasv_norecord(p):
    p.outside_says(b"PASV\r\n")
    p.inside_says(pasv227(50023))
    return 1, p.outside_reads(1)


def port_norecord_cut(p):
    """Cut after "PO": the next segment starts with no line start to know."""
    line = port_cmd(50024)
    p.inside_says(line[:2], line[2:])
    return 1, p.outside_reads(1)


def pasv_norecord_cut(p):
    p.outside_says(b"PASV\r\n")
    line = pasv227(50025)
    p.inside_says(line[:2], line[2:])
    return 1, p.outside_reads(1)


def port_norecord_beyond(p):
    """The rest of a PORT, in a segment beyond a hole: "PORT" itself is
    still to come, so nothing in the segment says it is one."""
    frames = Frames("cli", "c0", p.inside.getsockname()[1])
    try:
        p.inside_says(b"NOOP\r\n")
        frame, tcp, doff = frames.find(b"NOOP")
        if not p.outside_reads(1):
            return 1, False
        frames.send(frame, tcp, doff, b" " + port_cmd(50026)[5:],
                    seq_add=6 + 4)
    finally:
        frames.close()
    time.sleep(0.3)
    return 1, True


NORECORD_CASES = [
    ("client", "PORT without a record", port_norecord),
    ("client", "EPRT without a record", eprt_norecord),
    ("server", "227 to PASV without a record", pasv_norecord),
    ("client", "PORT cut after its first 2 bytes, without a record",
     port_norecord_cut),
    ("server", "227 cut after its first 2 bytes, without a record",
     pasv_norecord_cut),
    ("client", "the rest of a PORT beyond a hole, without a record",
     port_norecord_beyond),
]


class Runner:
    def __init__(self, cap):
        self.cap = cap
        self.lst = Listeners()
        self.counted = have_stats()

    def case(self, kind, name, fn):
        before = stats() if self.counted else None
        p = Pair(self.lst, kind)
        try:
            want, whole = fn(p)
        finally:
            p.close()
        time.sleep(0.3)     # tcpdump -U has written what passed
        leaks = self.cap.leaks(p.ends)
        leaks += [f"srv's end read {p.read[:200]!r}"
                  for pat in PRIVATE if pat in p.read][:1]
        shown = p.read.replace(b"\r\n", b"|")
        if len(shown) > 120:
            shown = shown[:60] + b"..." + shown[-60:]
        got = p.read.count(b"\n")
        rest = "" if whole else " (the rest not delivered)"
        print(f"#   {name}: srv read {got} of {want} lines{rest}: {shown!r}")
        if before:
            after = stats()
            moved = [f"{k} +{after[k] - before[k]}" for k in
                     ("nat_rewritten", "nat_failed", "refused_table_full")
                     if after[k] != before[k]]
            if moved:
                print(f"#   {' '.join(moved)}")
        tap(f"no inside address reached the public side ({name})",
            not leaks, "\n".join(leaks[:4]))

    def norecord(self):
        """max_flows=1: one connection holds the only record; the cases
        run on connections the helper has no record for."""
        before = stats()
        holder = Pair(self.lst, "client")
        for i, (kind, name, fn) in enumerate(NORECORD_CASES):
            # A record idle for long may be reclaimed for another one:
            # the holder stays busy.
            holder.inside_says(b"NOOP\r\n")
            holder.outside_reads(i + 1)
            self.case(kind, name, fn)
        full = stats()["refused_table_full"] - before["refused_table_full"]
        tap("without a record: the cases found the table full",
            full >= len(NORECORD_CASES), f"refused_table_full +{full}")
        holder.close()
        self.resumed()

    def resumed(self):
        """max_flows=1: a connection's idle record is reclaimed for another
        one; it carries a line with no record, then gets one again, which
        must read on from after that line."""
        victim = Pair(self.lst, "client")
        victim.inside_says(b"NOOP\r\n")
        victim.outside_reads(1)
        victim.outside_says(b"200 NOOP ok.\r\n")    # nothing pending
        reclaimed = stats()["records_reclaimed"]
        time.sleep(6)       # idle for longer than FTPE_IDLE_RECLAIM
        other = Pair(self.lst, "client")
        other.inside_says(b"NOOP\r\n")
        gone = wait_until(lambda: stats()["records_reclaimed"] > reclaimed, 5)
        other.inside_says(b"NOOP\r\n")    # takes the only record
        other.outside_reads(2)
        victim.inside_says(b"NOOP\r\n")   # passes with no record
        victim.outside_reads(2)
        other.close()
        wait_until(lambda: stats()["connections_tracked"] <= 1, 5)
        victim.inside_says(b"NOOP\r\n")
        ok = victim.outside_reads(3)
        victim.close()
        tap("a line passed with no record: the next record reads on after it",
            gone and ok, f"reclaimed {gone}, srv read {victim.read!r}")


def main(which):
    tmp = os.environ.get("NFE_TMP", "/tmp")
    cap = Capture(f"{tmp}/nat_leak_{which}_{os.getpid()}.pcap")
    run = Runner(cap)
    try:
        if which == "all":
            for kind, name, fn in CASES:
                run.case(kind, name, fn)
        elif which == "norecord":
            run.norecord()
        else:
            raise SystemExit(f"unknown case set {which}")
    finally:
        cap.stop()
    # nf_conntrack_ftp keeps its pinholes until the master goes.
    if run.counted:
        tap(f"no pinhole left ({which})",
            wait_until(lambda: not expectations(), 5),
            "\n".join(expectations()))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "all"))
