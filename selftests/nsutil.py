# SPDX-License-Identifier: GPL-2.0
"""What the in-process selftest scripts share: switching this process between
lib.sh's namespaces, TAP lines with a running failure count, fresh client
ports, reading rtr's counters, expectations and flows (from rtr, or from
another namespace through a process in rtr), waiting for them, netlink
attributes, PORT's address form, and replaying a captured TCP frame with
other bytes."""
import ctypes
import os
import socket
import struct
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
# Opened at first use: importing this (for Tap) needs no namespace.
_NS = {}


def enter(ns):
    if ns not in _NS:
        _NS[ns] = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    if _libc.setns(_NS[ns], CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), f"setns {ns}")


class Tap:
    """tap(name, cond, why): one TAP line named "PREFIX: name" (or "name"),
    why's lines as comments when it fails; counts failures."""

    def __init__(self, prefix=None):
        self.prefix = f"{prefix}: " if prefix else ""
        self.failed = 0

    def __call__(self, name, cond, why=""):
        print(f"{'ok' if cond else 'not ok'} - {self.prefix}{name}", flush=True)
        if not cond:
            self.failed += 1
            for line in str(why).splitlines():
                print(f"#   {line}", flush=True)
        return cond


class Ports:
    """next_port(): START + STEP, START + 2 * STEP, ..."""

    def __init__(self, start, step):
        self.port = start
        self.step = step

    def __call__(self):
        self.port += self.step
        return self.port


def rtr_read(path):
    enter("rtr")
    with open(path) as f:
        return f.read()


def stats_of(text):
    """The module's stats file ("name: value" lines) as a dict of ints."""
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = int(v)
    return out


def stats():
    """rtr's /proc/net/nf_ftp_embryo/stats as a dict of ints."""
    return stats_of(rtr_read("/proc/net/nf_ftp_embryo/stats"))


def expectations():
    """rtr's expectation table, one string per expectation."""
    return [line for line in
            rtr_read("/proc/net/nf_conntrack_expect").splitlines()
            if line.strip()]


def flows():
    """rtr's flow table, one string per flow."""
    return [line for line in
            rtr_read("/proc/net/nf_ftp_embryo/flows").splitlines()
            if line.strip()]


class ProcNet:
    """A namespace's /proc/net, read through /proc/PID/net of a process in
    it (PID), by a script that stays in its own namespace for its sockets;
    a process spawned per look (ip netns exec) is slow under TCG."""

    def __init__(self, pid):
        self.dir = f"/proc/{pid}/net"

    def lines(self, name):
        with open(f"{self.dir}/{name}") as f:
            return f.read().splitlines()

    def expectations(self):
        """Both families' expectations: conntrack keeps them in one hash."""
        return self.lines("nf_conntrack_expect")

    def flows(self):
        return self.lines("nf_ftp_embryo/flows")

    def stats(self):
        with open(f"{self.dir}/nf_ftp_embryo/stats") as f:
            return stats_of(f.read())

    def embryo(self):
        """The module is loaded: its files are there."""
        return os.path.exists(f"{self.dir}/nf_ftp_embryo/stats")


def wait_until(cond, secs=3.0):
    end = time.monotonic() + secs
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def nla(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def attrs(buf):
    """{type: payload} of a run of netlink attributes (the last of a type)."""
    out, off = {}, 0
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        out[kind & 0x3fff] = buf[off + 4:off + n]
        off += (n + 3) & ~3
    return out


def hostport(addr, port):
    """ADDR (IPv4) and PORT as PORT and 227 write them: h1,h2,h3,h4,p1,p2."""
    return ",".join(addr.split(".") + [str(port >> 8), str(port & 255)])


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


class Frames:
    """IPv4 TCP frames leaving @ifname in namespace @ns from port @sport, to
    replay with another payload: a segment the sender's stack never sent,
    at the sequence number of one it did."""

    ETH_P_ALL = 0x0003

    def __init__(self, ns, ifname, sport):
        enter(ns)
        self.sport = sport
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(self.ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.settimeout(3)

    def find(self, prefix):
        """(frame, TCP header offset, its length) of the first such frame
        whose payload starts with @prefix."""
        while True:
            frame, addr = self.sock.recvfrom(65536)
            if addr[2] != socket.PACKET_OUTGOING or len(frame) < 54:
                continue
            if frame[12:14] != b"\x08\x00" or frame[23] != 6:
                continue
            tcp = 14 + (frame[14] & 15) * 4
            doff = (frame[tcp + 12] >> 4) * 4
            if struct.unpack("!H", frame[tcp:tcp + 2])[0] != self.sport:
                continue
            if frame[tcp + doff:].startswith(prefix):
                return frame, tcp, doff

    def send(self, frame, tcp, doff, payload, seq_add=0):
        """@frame with its TCP payload replaced and seq moved by @seq_add."""
        ip = bytearray(frame[14:tcp])
        th = bytearray(frame[tcp:tcp + doff])
        struct.pack_into("!H", ip, 2, len(ip) + len(th) + len(payload))
        struct.pack_into("!H", ip, 10, 0)
        struct.pack_into("!H", ip, 10, _checksum(bytes(ip)))
        seq = (struct.unpack_from("!I", th, 4)[0] + seq_add) & 0xffffffff
        struct.pack_into("!I", th, 4, seq)
        struct.pack_into("!H", th, 16, 0)
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(th) + len(payload))
        struct.pack_into("!H", th, 16, _checksum(bytes(pseudo + th) + payload))
        self.sock.send(frame[:14] + bytes(ip) + bytes(th) + payload)

    def close(self):
        self.sock.close()
