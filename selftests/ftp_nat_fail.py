#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""NAT that cannot rewrite must not leak, and must not cost unbounded work.

Run by ftp_nat_fail.sh in the guest: the cli/rtr/srv namespaces of
ftp_nat.sh (cli 192.168.124.10 behind rtr's MASQUERADE to 198.51.100.1,
srv 198.51.100.2 outside, rtr:2121 forwarded to cli:21), the helper
attached on rtr, nothing listening on port 21.  One process plays both
ends, switching namespaces with setns(2), and reads rtr's statistics.
Prints TAP lines.  Usage: ftp_nat_fail.py CASE...  (CASEs: split, resend,
random, burst, twoport, two227, rejoin, rejoin_tlp, wrap, evict, nofree;
nofree needs the module loaded with min_port=65535).

  split   PORT split so that the first segment ends at every interesting
          place, its digits starting in the first: the server must read
          the router's address, and the data connection must get through.
  random  a port another pinhole holds is replaced by a random one, not
          the next one up.
  burst   one segment of many PORT lines through the port forward (no
          rewrite needed, so each line would cost a port search): the
          router creates at most a handful of expectations for it.
  nofree  no port is free: the PORT is dropped, not passed untranslated,
          and gets through rewritten once a port is free again.
  resend  the rewritten PORT is lost after the router (srv drops the
          first): the client's retransmission is rewritten alike, and the
          lines after it stay in step.
  twoport PORT a and PORT b in one segment, both naming cli: the
          first pass reads PORT a and is dropped at PORT b (one pinhole per
          segment); the resend, which carries PORT a again, must pass with
          both rewritten, and the data connection to b must get through.
  two227  the inside server behind the port forward answers two PASV
          with two 227 in one segment: the first, to a superseded PASV,
          opens nothing but is rewritten, the second opens the pinhole.
  rejoin  PORT a passes rewritten and is lost after the router, EPRT b is
          lost before it: the client's resend (tail loss probes off)
          carries both, PORT a's rewrite to repeat and EPRT b's to make,
          and must pass, the lines after it in step.
  rejoin_tlp  the same with tail loss probes: EPRT b's resend passes
          first, and seqadj's one correction misplaces what came before
          it; PORT a arrives cut, but must not leak.
  wrap    a control connection made with TCP_REPAIR, no handshake, its
          client's sequence numbers crossing 2^32 inside the PORT's
          address or just before it (rtr picks the connection up
          midway): the PORT is rewritten, the data connection gets
          through, the lines after it stay in step both ways; then alike
          with the PORT lost after the router, its resend rewritten from
          the kept rewrite.
  evict   more PORT lines, each in its own segment, than the router keeps
          rewrites for, none acknowledged until all have passed: the
          resends must not leave with the inside address.  The router may
          drop a resend whose rewrite it no longer keeps, and the
          connection stall; how many lines the server read is reported.

For all but burst, tcpdump records srv's side of the router: no packet,
and no reassembled stream, may contain 192.168.124 in any spelling.
"""
import itertools
import os
import struct
import subprocess
import sys
import time

from nsutil import Ports, Tap, enter, expectations, hostport, stats, wait_until

import socket

CLI, PUB, SRV = "192.168.124.10", "198.51.100.1", "198.51.100.2"
PRIVATE = (b"192,168,124", b"192.168.124")
# A dropped segment comes back after the retransmission timeout, doubled
# at each try: 0.2 + 0.4 + ... s.
RESEND_WAIT = 15
# linux/tcp.h's TCP_REPAIR options, which the socket module does not name.
TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_REPAIR_WINDOW = 19, 20, 21, 29
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
# Rewrites the router keeps for resends (FTPE_NAT_EDITS, nat.h).
NAT_EDITS = 8

tap = Tap("nat fail")
next_port = Ports(41000, 7)


def listener(ns, addr, port):
    enter(ns)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    s.settimeout(5)
    return s


class Ctl:
    """A control connection from @cns to @dst:@dport, accepted on @lst."""

    def __init__(self, lst, cns, dst, dport):
        enter(cns)
        self.c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.settimeout(10)
        self.c.connect((dst, dport))
        self.s, _ = lst.accept()
        self.s.settimeout(RESEND_WAIT)
        self.buf = b""

    def line(self, timeout=RESEND_WAIT):
        """The next line the server reads, or None."""
        self.s.settimeout(timeout)
        try:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(4096)
                if not chunk:
                    return None
                self.buf += chunk
        except socket.timeout:
            return None
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def rep(self, text):
        self.s.sendall(text)
        self.c.settimeout(10)
        got = b""
        while len(got) < len(text):
            got += self.c.recv(len(text) - len(got))

    def close(self):
        for sock in (self.c, self.s):
            # RST: nothing may linger in retransmission after a case.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            sock.close()


def repaired(ns, local, remote, snd_isn, rcv_isn):
    """A socket in @ns established from @local to @remote with no handshake
    (TCP_REPAIR): its first byte goes out as @snd_isn, the peer's is
    @rcv_isn.  Still in repair mode, so it has sent nothing yet."""
    enter(ns)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    for queue, seq in ((TCP_SEND_QUEUE, snd_isn), (TCP_RECV_QUEUE, rcv_isn)):
        s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, queue)
        # Packed: past 2^31 the value overflows setsockopt's C int.
        s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ,
                     struct.pack("I", seq))
    s.bind(local)
    s.connect(remote)
    # connect() leaves the peer's window 0, which a handshake would open.
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_WINDOW,
                 struct.pack("5I", rcv_isn, 65535, 65535, 65535, rcv_isn))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Repaired(Ctl):
    """A control connection cli:@cport - srv:21 with the sequence numbers
    chosen: the client's first byte is @cisn, the server's @sisn.  Each
    end sends a window probe as it leaves repair mode, the client's first,
    so rtr picks the connection up midway (nf_conntrack_tcp_loose) in the
    client's direction, and MASQUERADE keeps the client's port: the
    server's end is already connected to it."""

    def __init__(self, cport, cisn, sisn):
        self.s = repaired("srv", (SRV, 21), (PUB, cport), sisn, cisn)
        self.c = repaired("cli", (CLI, cport), (SRV, 21), cisn, sisn)
        self.c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
        time.sleep(0.2)
        self.s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
        time.sleep(0.2)
        self.buf = b""


def tracked(cport):
    """rtr's conntrack entry of the connection from cli's port @cport."""
    return subprocess.run(
        ["ip", "netns", "exec", "rtr", "conntrack", "-L", "-p", "tcp",
         "--sport", str(cport)],
        capture_output=True, text=True).stdout.strip()


def announced(line):
    """(address, port) of a PORT line, or None."""
    try:
        f = line.decode().split(" ", 1)[1].split(",")
        return ".".join(f[:4]), int(f[4]) * 256 + int(f[5])
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def passive(line):
    """(address, port) of a 227 line, or None."""
    try:
        f = line.decode().split("(", 1)[1].split(")", 1)[0].split(",")
        return ".".join(f[:4]), int(f[4]) * 256 + int(f[5])
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def lines_from(sock, n, timeout=RESEND_WAIT):
    """The next @n lines @sock reads (fewer if they do not come)."""
    buf = b""
    end = time.monotonic() + timeout
    try:
        while buf.count(b"\r\n") < n:
            left = end - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    return buf.split(b"\r\n")[:n]


def data_through(ns, addr, port, data_lst):
    """A data connection from @ns to @addr:@port reaches @data_lst."""
    try:
        enter(ns)
        d = socket.create_connection((addr, port), 5)
        d.sendall(b"data")
        d.shutdown(socket.SHUT_WR)
        a, _ = data_lst.accept()
        a.settimeout(5)
        ok = a.recv(16) == b"data"
        a.close()
        d.close()
        return ok
    except OSError as e:
        print(f"#   data connection: {e}")
        return False


def no_pinhole():
    return wait_until(lambda: not expectations(), 5)


# --- the capture -------------------------------------------------------------

class Capture:
    def __init__(self, path):
        self.path = path
        self.err = open(path + ".err", "w+")
        self.p = subprocess.Popen(
            # --immediate-mode: the cases read the file as it grows.
            ["ip", "netns", "exec", "srv", "tcpdump", "-Z", "root", "-U",
             "--immediate-mode", "-n", "-s", "0", "-i", "s0", "-w", path,
             "tcp port 21 or tcp port 2121"],
            stdout=subprocess.DEVNULL, stderr=self.err)
        ok = wait_until(lambda: "listening on" in open(path + ".err").read(),
                        30)
        if not ok:
            raise RuntimeError("tcpdump did not start")

    def stop(self):
        time.sleep(1)
        self.p.terminate()
        self.p.wait()

    def payloads(self):
        """[(flow, seq, payload)] of every TCP segment with data."""
        out = []
        with open(self.path, "rb") as f:
            data = f.read()
        magic = struct.unpack("<I", data[:4])[0]
        end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
        pos = 24
        while pos + 16 <= len(data):
            incl = struct.unpack(end + "I", data[pos + 8:pos + 12])[0]
            if pos + 16 + incl > len(data):
                break   # still being written: read while tcpdump runs
            pkt = data[pos + 16:pos + 16 + incl]
            pos += 16 + incl
            if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
            ihl = (ip[0] & 15) * 4
            if ip[9] != 6:
                continue
            tot = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:tot]
            doff = (tcp[12] >> 4) * 4
            payload = tcp[doff:]
            if not payload:
                continue
            sport, dport, seq = struct.unpack(">HHI", tcp[:8])
            out.append(((ip[12:16], sport, ip[16:20], dport), seq, payload))
        return out

    def leaks(self):
        """Where private text shows: in a packet, or once reassembled."""
        found = []
        streams = {}
        for flow, seq, payload in self.payloads():
            for p in PRIVATE:
                if p in payload:
                    found.append(f"packet: {payload!r}")
            streams.setdefault(flow, []).append((seq, payload))
        for flow, segs in streams.items():
            # Offsets from the first segment, signed: the stream may
            # cross 2^32, and a resend may start before it.
            offs = [((s - segs[0][0] + 2**31) & 0xffffffff) - 2**31
                    for s, _ in segs]
            buf = bytearray()
            for off, (_, payload) in zip(offs, segs):
                at = off - min(offs)
                if len(buf) < at + len(payload):
                    buf.extend(b"\0" * (at + len(payload) - len(buf)))
                buf[at:at + len(payload)] = payload
            for p in PRIVATE:
                if p in buf:
                    found.append(f"stream: {bytes(buf)!r}")
        return found


# --- the cases ---------------------------------------------------------------

def split(lst):
    """PORT split at AT bytes; the digits start in the first segment for
    every AT past 5."""
    for at in (3, 5, 6, 9, 13, 18, 23):
        name = f"PORT split at {at}"
        before = stats()
        data_lst = None
        port = next_port()
        data_lst = listener("cli", CLI, port)
        ctl = Ctl(lst, "cli", SRV, 21)
        line = f"PORT {hostport(CLI, port)}\r\n".encode()
        ctl.c.send(line[:at])
        time.sleep(0.05)
        ctl.c.send(line[at:])
        got = ctl.line()
        ep = announced(got) if got else None
        tap(f"{name}: the server reads the router's address",
            ep is not None and ep[0] == PUB, f"server read {got!r}")
        ok = False
        if ep and ep[0] == PUB:
            ctl.rep(b"200 PORT command successful.\r\n")
            ctl.c.sendall(b"RETR file\r\n")
            ctl.line()
            ok = data_through("srv", PUB, ep[1], data_lst)
        tap(f"{name}: the data connection gets through", ok)
        ctl.close()
        data_lst.close()
        after = stats()
        print(f"#   nat_rewritten +{after['nat_rewritten'] - before['nat_rewritten']}"
              f" nat_failed +{after['nat_failed'] - before['nat_failed']}")
        tap(f"{name}: no pinhole left", no_pinhole(), "\n".join(expectations()))


def resend(lst):
    """srv drops the first PORT it receives from each address."""
    nft = ["ip", "netns", "exec", "srv", "nft"]
    subprocess.run(nft + ["-f", "-"], check=True, input=b"""
        table ip lossy {
            set once { type ipv4_addr; flags dynamic; }
            chain in {
                type filter hook input priority filter; policy accept;
                tcp dport 21 @ih,0,32 0x504f5254 ip saddr != @once add @once { ip saddr } drop
            }
        }""")
    before = stats()
    port = next_port()
    ctl = Ctl(lst, "cli", SRV, 21)
    ctl.c.sendall(f"PORT {hostport(CLI, port)}\r\n".encode())
    got = ctl.line()
    ep = announced(got) if got else None
    tap("PORT lost after the router: the resend is rewritten alike",
        ep == (PUB, port), f"server read {got!r}")
    ok = got is not None
    for cmd in (b"NOOP", b"TYPE I", b"SYST"):
        ctl.c.sendall(cmd + b"\r\n")
        line = ctl.line(5)
        ok = ok and line == cmd
        if line != cmd:
            print(f"#   sent {cmd!r}, server read {line!r}")
        ctl.rep(b"200 ok\r\n")
    tap("PORT lost after the router: the lines after it stay in step", ok)
    after = stats()
    print(f"#   segments_retransmitted +{after['segments_retransmitted'] - before['segments_retransmitted']}"
          f" nat_rewritten +{after['nat_rewritten'] - before['nat_rewritten']}"
          f" nat_failed +{after['nat_failed'] - before['nat_failed']}")
    ctl.close()
    subprocess.run(nft + ["delete", "table", "ip", "lossy"], check=True)
    tap("PORT lost after the router: no pinhole left", no_pinhole(),
        "\n".join(expectations()))


def counted(before):
    after = stats()
    print("#  " + "".join(f" {k} +{after[k] - before[k]}" for k in
                          ("segments_retransmitted", "nat_rewritten",
                           "nat_failed", "expect_created")))


def twoport(lst):
    """PORT a and PORT b, both naming cli, in one segment."""
    name = "PORT a, PORT b in one segment"
    before = stats()
    pa, pb = next_port(), next_port()
    data_lst = listener("cli", CLI, pb)
    ctl = Ctl(lst, "cli", SRV, 21)
    ctl.c.sendall(f"PORT {hostport(CLI, pa)}\r\n"
                  f"PORT {hostport(CLI, pb)}\r\n".encode())
    got = [ctl.line(), ctl.line()]
    eps = [announced(g) if g else None for g in got]
    tap(f"{name}: the server reads both, rewritten",
        all(ep and ep[0] == PUB for ep in eps) and eps[1][1] >= 1024,
        f"server read {got!r}")
    ok = False
    if eps[1] and eps[1][0] == PUB:
        ctl.rep(b"200 PORT command successful.\r\n" * 2)
        ctl.c.sendall(b"RETR file\r\n")
        ok = ctl.line() == b"RETR file"
        ok = ok and data_through("srv", PUB, eps[1][1], data_lst)
        ctl.rep(b"150 Opening data connection.\r\n"
                b"226 Transfer complete.\r\n")
    tap(f"{name}: the transfer to the second gets through", ok)
    tap(f"{name}: its pinhole closed at the transfer's end", no_pinhole(),
        "\n".join(expectations()))
    ctl.close()
    data_lst.close()
    counted(before)


def two227():
    """A superseded PASV's 227 and the real one in one segment, from the
    inside server behind the port forward."""
    name = "227, 227 in one segment"
    lst = listener("cli", CLI, 21)
    before = stats()
    pa, pb = next_port(), next_port()
    data_lst = listener("cli", CLI, pb)
    ctl = Ctl(lst, "srv", PUB, 2121)
    ctl.c.sendall(b"PASV\r\nPASV\r\n")
    asked = [ctl.line(), ctl.line()]
    ctl.s.sendall(f"227 Entering Passive Mode ({hostport(CLI, pa)}).\r\n"
                  f"227 Entering Passive Mode ({hostport(CLI, pb)}).\r\n"
                  .encode())
    got = lines_from(ctl.c, 2)
    eps = [passive(g) for g in got] + [None, None]
    tap(f"{name}: the client reads both, rewritten",
        asked == [b"PASV"] * 2 and len(got) == 2 and
        all(ep and ep[0] == PUB for ep in eps[:2]),
        f"server read {asked!r}, client read {got!r}")
    ok = False
    if eps[1] and eps[1][0] == PUB:
        ctl.c.sendall(b"RETR file\r\n")
        ok = ctl.line() == b"RETR file"
        ok = ok and data_through("srv", PUB, eps[1][1], data_lst)
        ctl.s.sendall(b"150 Opening data connection.\r\n"
                      b"226 Transfer complete.\r\n")
        ok = ok and len(lines_from(ctl.c, 2, 5)) == 2
    tap(f"{name}: the transfer to the second gets through", ok)
    tap(f"{name}: its pinhole closed at the transfer's end", no_pinhole(),
        "\n".join(expectations()))
    ctl.close()
    data_lst.close()
    lst.close()
    counted(before)


def eprt_ep(line):
    """(address, port) of an EPRT |1| line, or None."""
    try:
        f = line.decode().split(" ", 1)[1].split("|")
        return (f[2], int(f[3])) if f[1] == "1" else None
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def nft_once(ns, table, hook, prio, match):
    """A table in @ns that drops the first packet to port 21 matching
    @match from each address."""
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], check=True,
                   input=f"""
        table ip {table} {{
            set once {{ type ipv4_addr; flags dynamic; }}
            chain c {{
                type filter hook {hook} priority {prio}; policy accept;
                tcp dport 21 {match} ip saddr != @once add @once {{ ip saddr }} drop
            }}
        }}""".encode())


def early_retrans(value):
    """Set cli's net.ipv4.tcp_early_retrans; returns the old value."""
    enter("cli")
    path = "/proc/sys/net/ipv4/tcp_early_retrans"
    with open(path) as f:
        old = f.read().strip()
    with open(path, "w") as f:
        f.write(str(value))
    return old


def rejoin(lst, tlp):
    """PORT a passes the router, rewritten, and srv drops it; EPRT b,
    sent next, is dropped in rtr before conntrack sees it.  Without tail
    loss probes (@tlp false) the client's retransmission joins the two:
    PORT a's rewrite repeated, EPRT b's new, both length changes in the
    one correction seqadj keeps at the segment's start.  With them, EPRT
    b is resent first, alone, and rewritten, which moves seqadj's one
    correction there: srv's acknowledgment of what came before PORT a
    reaches the client moved by PORT a's length change, which it precedes
    (a limit of seqadj), and the client resends PORT a cut.  It must not
    leave with the inside address (the capture); nothing else is
    checked."""
    name = "PORT lost after the router, EPRT before it"
    if tlp:
        name += ", tail loss probe"
    old = early_retrans(3 if tlp else 0)
    nft_once("srv", "lossy", "input", "filter", "@ih,0,32 0x504f5254")
    nft_once("rtr", "early", "prerouting", "raw", "@ih,0,32 0x45505254")
    before = stats()
    pa, pb = next_port(), next_port()
    data_lst = listener("cli", CLI, pb)
    ctl = Ctl(lst, "cli", SRV, 21)
    ctl.c.sendall(f"PORT {hostport(CLI, pa)}\r\n".encode())
    time.sleep(0.05)
    ctl.c.sendall(f"EPRT |1|{CLI}|{pb}|\r\n".encode())
    got = [ctl.line(), ctl.line()]
    ea = announced(got[0]) if got[0] else None
    eb = eprt_ep(got[1]) if got[1] else None
    if tlp:
        print(f"#   {name}: server read {got!r}")
        ctl.close()
        data_lst.close()
        early_retrans(old)
        for ns, table in (("srv", "lossy"), ("rtr", "early")):
            subprocess.run(["ip", "netns", "exec", ns, "nft", "delete",
                            "table", "ip", table], check=True)
        counted(before)
        return
    tap(f"{name}: the server reads both, rewritten",
        ea == (PUB, pa) and eb is not None and eb[0] == PUB and
        eb[1] >= 1024, f"server read {got!r}")
    ok = eb is not None and eb[0] == PUB
    ctl.rep(b"200 ok\r\n" * 2)
    for cmd in (b"NOOP", b"TYPE I"):
        ctl.c.sendall(cmd + b"\r\n")
        line = ctl.line(5)
        ok = ok and line == cmd
        if line != cmd:
            print(f"#   sent {cmd!r}, server read {line!r}")
        ctl.rep(b"200 ok\r\n")
    if ok:
        ctl.c.sendall(b"RETR file\r\n")
        ok = ctl.line(5) == b"RETR file"
        ok = ok and data_through("srv", PUB, eb[1], data_lst)
        ctl.rep(b"150 Opening data connection.\r\n"
                b"226 Transfer complete.\r\n")
    tap(f"{name}: the lines after them stay in step, the transfer "
        "gets through", ok)
    tap(f"{name}: its pinhole closed at the transfer's end", no_pinhole(),
        "\n".join(expectations()))
    ctl.close()
    data_lst.close()
    early_retrans(old)
    for ns, table in (("srv", "lossy"), ("rtr", "early")):
        subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table",
                        "ip", table], check=True)
    counted(before)


def exchange(ctl, cmd, reply):
    """@cmd (None: no command) reaches the server as it was sent, then
    @reply the client: both directions in step."""
    if cmd:
        ctl.c.sendall(cmd + b"\r\n")
        got = ctl.line(5)
        if got != cmd:
            print(f"#   sent {cmd!r}, server read {got!r}")
            return False
    ctl.s.sendall(reply + b"\r\n")
    got = lines_from(ctl.c, 1, 5)
    if got != [reply]:
        print(f"#   server sent {reply!r}, client read {got!r}")
    return got == [reply]


# The client's first byte, and what crosses 2^32 then: the address's
# digits ("PORT 192" before it), or the segment only, the address wholly
# after it, so that the rewrite's offset in the segment wraps.  The
# server's replies cross it as well.
WRAPS = ((2**32 - 8, "PORT's address across 2^32"),
         (2**32 - 3, "PORT across 2^32, its address after"))
WRAP_SISN = 2**32 - 16


def port_segments(cap, cport):
    """(seq, length) of each PORT segment from cli's port @cport that left
    the router so far."""
    return [(seq, len(p)) for flow, seq, p in cap.payloads()
            if flow[1] == cport and flow[3] == 21 and p.startswith(b"PORT")]


def wrap(lst, cap):
    """The PORT crosses 2^32, where the rewrite's offsets and seqadj's
    corrections must wrap: first passing, then lost after the router (srv
    drops it) so that the resend is rewritten from the kept rewrite.  The
    capture shows where the PORT really lay."""
    for (cisn, what), lost in itertools.product(WRAPS, (False, True)):
        name = what + (", lost after the router" if lost else "")
        if lost:
            nft_once("srv", "lossy", "input", "filter",
                     "@ih,0,32 0x504f5254")
        before = stats()
        cport, port = next_port(), next_port()
        data_lst = listener("cli", CLI, port)
        ctl = Repaired(cport, cisn, WRAP_SISN)
        conn = tracked(cport)
        print(f"#   rtr: {conn}")
        tap(f"{name}: rtr tracks it from midway, helped, the port kept",
            "helper=" in conn and f"sport=21 dport={cport} " in conn, conn)
        line = f"PORT {hostport(CLI, port)}\r\n".encode()
        print(f"#   cli sends from {cisn:#x}: the PORT's bytes {cisn:#x}.."
              f"{(cisn + len(line) - 1) & 0xffffffff:#x}, its address from "
              f"{(cisn + 5) & 0xffffffff:#x}")
        ctl.c.sendall(line)
        got = ctl.line()
        ep = announced(got) if got else None
        tap(f"{name}: the server reads the router's address",
            ep == (PUB, port), f"server read {got!r}")
        ok = (ep == (PUB, port) and
              exchange(ctl, None, b"200 PORT command successful.") and
              exchange(ctl, b"RETR file", b"150 Opening data connection.")
              and data_through("srv", PUB, port, data_lst) and
              exchange(ctl, None, b"226 Transfer complete."))
        tap(f"{name}: the transfer gets through", ok)
        ok = ok and all(exchange(ctl, cmd, b"200 ok")
                        for cmd in (b"NOOP", b"TYPE I", b"SYST"))
        tap(f"{name}: the lines after it stay in step, both ways", ok)
        wait_until(lambda: len(port_segments(cap, cport)) >= 1 + lost, 5)
        wire = port_segments(cap, cport)
        for seq, n in wire:
            print(f"#   the PORT left the router at {seq:#x}.."
                  f"{(seq + n - 1) & 0xffffffff:#x}")
        tap(f"{name}: the PORT leaves the router across 2^32"
            + (", twice" if lost else ""),
            len(wire) >= 1 + lost and all(seq + n > 2**32 for seq, n in wire),
            f"PORT segments (seq, length): {wire}")
        counted(before)
        ctl.close()
        data_lst.close()
        if lost:
            subprocess.run(["ip", "netns", "exec", "srv", "nft", "delete",
                            "table", "ip", "lossy"], check=True)
        tap(f"{name}: no pinhole left", no_pinhole(),
            "\n".join(expectations()))


def evict(lst, cap):
    """NAT_EDITS + 2 PORT lines in as many segments, srv deaf to them
    until all have passed the router, which then keeps the rewrites of
    the last NAT_EDITS only.  The client's resends (Linux joins them into
    one) carry the first lines again: they must not leave with the inside
    address.  The router may drop such a resend for good, so how many
    lines the server reads is only reported."""
    n = NAT_EDITS + 2
    name = f"{n} PORT lines unacknowledged"
    before = stats()
    ctl = Ctl(lst, "cli", SRV, 21)
    cport = ctl.c.getsockname()[1]
    nft = ["ip", "netns", "exec", "srv", "nft"]
    subprocess.run(nft + ["-f", "-"], check=True, input=f"""
        table ip deaf {{
            chain c {{
                type filter hook input priority filter; policy accept;
                ip saddr {PUB} tcp sport {cport} tcp dport 21 drop
            }}
        }}""".encode())
    # Quickly, while the congestion window takes them all: after a
    # retransmission timeout the rest would go out as one segment.
    for _ in range(n):
        ctl.c.sendall(f"PORT {hostport(CLI, next_port())}\r\n".encode())
        time.sleep(0.005)
    time.sleep(1)
    subprocess.run(nft + ["delete", "table", "ip", "deaf"], check=True)
    got = []
    while len(got) < n:
        line = ctl.line()
        if line is None:
            break
        got.append(line)
    eps = [announced(g) for g in got if g.startswith(b"PORT")]
    tap(f"{name}: every PORT the server reads names the router's address",
        all(ep and ep[0] == PUB for ep in eps) and
        not any(p in g for g in got for p in PRIVATE),
        f"server read {got!r}")
    after = stats()
    segs = sorted({(seq, p.count(b"PORT")) for flow, seq, p in cap.payloads()
                   if flow[1] == cport and flow[3] == 21})
    print(f"#   {name}: the server read {len(got)} lines, {len(eps)} PORT;"
          f" {len(segs)} distinct segments left the router, carrying "
          f"{[k for _, k in segs]} PORT lines;"
          + "".join(f" {k} +{after[k] - before[k]}" for k in
                    ("segments_retransmitted", "nat_rewritten",
                     "nat_failed")))
    ctl.close()
    tap(f"{name}: no pinhole left", no_pinhole(), "\n".join(expectations()))


def random_port(lst):
    """The announced port is held by another connection's pinhole."""
    got = []
    for _ in range(3):
        port = next_port()
        first = Ctl(lst, "cli", SRV, 21)
        first.c.sendall(f"PORT {hostport(CLI, port)}\r\n".encode())
        a = first.line()
        second = Ctl(lst, "cli", SRV, 21)
        second.c.sendall(f"PORT {hostport(CLI, port)}\r\n".encode())
        b = second.line()
        ea, eb = announced(a) if a else None, announced(b) if b else None
        got.append((port, ea, eb))
        first.close()
        second.close()
    print(f"#   (announced, first, second): {got}")
    tap("a taken port: the first keeps it",
        all(ea == (PUB, p) for p, ea, _ in got))
    tap("a taken port: the second gets another, translated",
        all(eb and eb[0] == PUB and eb[1] != p and eb[1] >= 1024
            for p, _, eb in got))
    tap("a taken port: the replacement is not the next one up",
        all(eb and eb[1] != p + 1 for p, _, eb in got))
    tap("a taken port: no pinhole left", no_pinhole(),
        "\n".join(expectations()))


def burst():
    """A segment of many PORT lines through the port forward."""
    lst = listener("cli", CLI, 21)
    n = 400
    lines = b"".join(f"PORT {hostport(SRV, 2000 + i)}\r\n".encode()
                     for i in range(n))
    before = stats()
    ctl = Ctl(lst, "srv", PUB, 2121)
    ctl.c.sendall(lines)
    time.sleep(1.5)
    after = stats()
    d = {k: after[k] - before[k] for k in
         ("packets", "lines", "cmd_port", "expect_created", "expect_failed",
          "nat_failed", "nat_rewritten")}
    print(f"#   {n} PORT lines ({len(lines)} bytes) in one send: {d}")
    tap(f"burst of {n} PORT lines: at most a few expectations created",
        d["expect_created"] <= 8, f"expect_created +{d['expect_created']}")
    ctl.close()
    lst.close()
    tap("burst: no pinhole left", no_pinhole(), "\n".join(expectations()))


def nofree(lst):
    """min_port=65535: a single port, held by the first connection."""
    line = f"PORT {hostport(CLI, 65535)}\r\n".encode()
    before = stats()
    first = Ctl(lst, "cli", SRV, 21)
    first.c.sendall(line)
    a = first.line()
    tap("no free port: the first PORT is rewritten",
        a is not None and announced(a) == (PUB, 65535), f"server read {a!r}")
    second = Ctl(lst, "cli", SRV, 21)
    second.c.sendall(line)
    b = second.line(3)
    tap("no free port: the second PORT does not pass", b is None,
        f"server read {b!r}")
    after = stats()
    tap("no free port: counted in nat_failed",
        after["nat_failed"] > before["nat_failed"],
        f"nat_failed +{after['nat_failed'] - before['nat_failed']}")
    # The first connection ends: its port is free, the resent PORT passes.
    first.close()
    if b is None:
        b = second.line()
    tap("no free port: once one is free, the resent PORT is rewritten",
        b is not None and announced(b) == (PUB, 65535), f"server read {b!r}")
    second.close()
    tap("no free port: no pinhole left", no_pinhole(),
        "\n".join(expectations()))


def main(cases):
    lst = listener("srv", SRV, 21)
    cap = None
    if set(cases) & {"split", "random", "nofree", "resend", "twoport",
                     "two227", "rejoin", "rejoin_tlp", "wrap", "evict"}:
        cap = Capture(os.environ.get("NFE_TMP", "/tmp") + f"/nat_fail_{os.getpid()}.pcap")
    for c in cases:
        if c == "split":
            split(lst)
        elif c == "random":
            random_port(lst)
        elif c == "burst":
            burst()
        elif c == "nofree":
            nofree(lst)
        elif c == "resend":
            resend(lst)
        elif c == "twoport":
            twoport(lst)
        elif c == "two227":
            two227()
        elif c == "rejoin":
            rejoin(lst, False)
        elif c == "rejoin_tlp":
            rejoin(lst, True)
        elif c == "wrap":
            wrap(lst, cap)
        elif c == "evict":
            evict(lst, cap)
        else:
            raise SystemExit(f"unknown case {c}")
    if cap:
        cap.stop()
        if "rejoin" in cases:
            joined = any(b"PORT" in p and b"EPRT" in p
                         for _, _, p in cap.payloads())
            print(f"# rejoin: a resend carried PORT and EPRT together: "
                  f"{'yes' if joined else 'no'}")
        leaks = cap.leaks()
        tap(f"capture ({' '.join(cases)}): no 192.168.124 leaves the router",
            not leaks, "\n".join(leaks[:6]))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
