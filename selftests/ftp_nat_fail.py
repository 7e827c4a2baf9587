#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""NAT that cannot rewrite must not leak, and must not cost unbounded work.

Run by ftp_nat_fail.sh in the guest: the cli/rtr/srv namespaces of
ftp_nat.sh (cli 192.168.124.10 behind rtr's MASQUERADE to 198.51.100.1,
srv 198.51.100.2 outside, rtr:2121 forwarded to cli:21), the helper
attached on rtr, nothing listening on port 21.  One process plays both
ends, switching namespaces with setns(2), and reads rtr's statistics.
Prints TAP lines.  Usage: ftp_nat_fail.py CASE...  (CASEs: split, resend,
random, burst, nofree; nofree needs the module loaded with min_port=65535).

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

For split, resend, random and nofree, tcpdump records srv's side of the router:
no packet, and no reassembled stream, may contain 192.168.124 in any
spelling.
"""
import os
import struct
import subprocess
import sys
import time

from nsutil import Ports, Tap, enter, expectations, stats, wait_until

import socket

CLI, PUB, SRV = "192.168.124.10", "198.51.100.1", "198.51.100.2"
PRIVATE = (b"192,168,124", b"192.168.124")
# A dropped segment comes back after the retransmission timeout, doubled
# at each try: 0.2 + 0.4 + ... s.
RESEND_WAIT = 15

tap = Tap("nat fail")
next_port = Ports(41000, 7)


def hostport(addr, port):
    return ",".join(addr.split(".") + [str(port >> 8), str(port & 255)])


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


def announced(line):
    """(address, port) of a PORT line, or None."""
    try:
        f = line.decode().split(" ", 1)[1].split(",")
        return ".".join(f[:4]), int(f[4]) * 256 + int(f[5])
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


def no_pinhole():
    return wait_until(lambda: not expectations(), 5)


# --- the capture -------------------------------------------------------------

class Capture:
    def __init__(self, path):
        self.path = path
        self.err = open(path + ".err", "w+")
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", "srv", "tcpdump", "-Z", "root", "-U",
             "-n", "-s", "0", "-i", "s0", "-w", path,
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
            base = min(s for s, _ in segs)
            buf = bytearray()
            for seq, payload in segs:
                at = (seq - base) & 0xffffffff
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
            try:
                enter("srv")
                d = socket.create_connection((PUB, ep[1]), 5)
                d.sendall(b"data")
                d.shutdown(socket.SHUT_WR)
                a, _ = data_lst.accept()
                a.settimeout(5)
                ok = a.recv(16) == b"data"
                a.close()
                d.close()
            except OSError as e:
                print(f"#   data connection: {e}")
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
    if set(cases) & {"split", "random", "nofree", "resend"}:
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
        else:
            raise SystemExit(f"unknown case {c}")
    if cap:
        cap.stop()
        leaks = cap.leaks()
        tap(f"capture ({' '.join(cases)}): no 192.168.124 leaves the router",
            not leaks, "\n".join(leaks[:6]))
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
