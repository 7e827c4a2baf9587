#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Allocation failure at every allocation site: the scripted half of
ftp_failslab.sh, which builds the namespaces and rtr's NAPI threads and
says why they are needed.  Prints TAP lines ("failslab: ..."); exit 1 if
one of them failed.

  count          slab allocations of one unshare(CLONE_NEWNET) (a number).
  netns T0       this process's unshare(CLONE_NEWNET) with fail-nth = 1,
                 2, 3, ... until no n-th allocation is left: every
                 allocation of namespace creation, the module's pernet
                 init among them (T0: the count without the module), fails
                 once; a namespace made regardless must work.
  premise        make-it-fail on this process, which sends every packet of
                 a PASV transfer, only the module's two caches flagged:
                 rtr handles the packets in softirq, where the task filter
                 never applies, so nothing fails; then GRO on rtr's veths
                 (and TSO off on their peers) for ftp_failslab.sh to
                 thread their NAPI.
  thread R0 R1   the same injection with make-it-fail on napi/r1 (R1):
                 now the flow record fails.
  sweep R0 R1 F  four transfers (PASV, PORT, PORT masqueraded, PASV
                 through a port forward; each announcing line split in
                 two segments), each once per direction: the NAPI thread
                 of that direction gets fail-nth = 1, 2, 3, ... until it
                 has no n-th allocation left, with a listener on the
                 module's events group.  Each run must end whole or
                 failed closed, with no pinhole but the negotiated one and
                 nothing left; the failures must hit the module's sites.
                 F gets the client ports of the control connections the
                 kernel let through without their helper.
  pcap FILE F    no packet of srv's link carries the private address, but
                 those of F's connections.

Topology (ftp_failslab.sh): lib.sh's routed cli/rtr/srv plus the NAT
addresses of topo_nat4 on the same links: cli 192.168.124.10 behind
rtr's MASQUERADE to 198.51.100.1, srv 198.51.100.2, which has no route
to 192.168.124.0/24; rtr:2121 is forwarded to cli:21, with the helper
attached by nft after the DNAT.
"""
import ctypes
import fcntl
import os
import re
import socket
import struct
import sys
import threading
import time

from nsutil import Tap, hostport, nla

FS = "/sys/kernel/debug/failslab"
BIG = 1 << 30
CLONE_NEWNET = 0x40000000
ENOMEM = 12

CLI, SRV = "10.0.1.2", "10.0.2.2"
LAN, PUB, WAN = "192.168.124.10", "198.51.100.1", "198.51.100.2"
PRIVATE = (b"192,168,124", b"192.168.124")
LAN_PREFIX = socket.inet_aton("192.168.124.0")[:3]

# A segment the router drops comes again after the retransmission timeout
# (200 ms or more, doubling); a dropped SYN after 1 s, then 3 s.  One
# failure per run: one drop at most.
LINE_WAIT = 3
DATA_WAIT = 2.5
# Between the two segments of a split line: the first is handled alone.
PAUSE = 0.05
PAYLOAD = 4096


tap = Tap("failslab")


def note(text):
    print(f"# {text}", flush=True)


def fs_set(name, value):
    with open(f"{FS}/{name}", "w") as f:
        f.write(f"{value}\n")


def fs_get(name):
    with open(f"{FS}/{name}") as f:
        return f.read().strip()


class FailNth:
    """/proc/TID/task/TID/fail-nth of one thread: arm(n) fails the n-th
    slab allocation it makes from now on, in task context only (not in a
    softirq it serves); disarm() returns what was left (0: it failed) and
    clears it."""

    def __init__(self, tid):
        self.fd = os.open(f"/proc/{tid}/task/{tid}/fail-nth", os.O_RDWR)

    def arm(self, n):
        os.pwrite(self.fd, b"%d" % n, 0)

    def disarm(self):
        left = int(os.pread(self.fd, 32, 0))
        os.pwrite(self.fd, b"0", 0)
        return left


def make_it_fail(tid, on):
    with open(f"/proc/{tid}/task/{tid}/make-it-fail", "w") as f:
        f.write("1" if on else "0")


def wait_until(cond, secs):
    end = time.monotonic() + secs
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


# --- namespaces ------------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


class Unsharer:
    """unshare(CLONE_NEWNET) with fail-nth armed on this thread, then back
    home.  Nothing between the arming and the system call allocates."""

    def __init__(self):
        self.nth = FailNth(threading.get_native_id())
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)

    def create(self, n, check=None):
        """(errno or 0, allocations left of n, what check() said)."""
        self.nth.arm(n)
        rc = libc.unshare(CLONE_NEWNET)
        err = ctypes.get_errno() if rc else 0
        left = self.nth.disarm()
        said = None
        if not rc:
            said = check() if check else None
            if libc.setns(self.home, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back home")
        return err, left, said

    def count(self):
        err, left, _ = self.create(BIG)
        if err:
            raise OSError(err, "unshare(CLONE_NEWNET) with nothing failed")
        return BIG - left


def module_view():
    """In a namespace just made: the module's files and sysctl work.
    None if they do, else what does not."""
    base = "/proc/thread-self/net/nf_ftp_embryo"
    knob = "/proc/sys/net/netfilter/nf_ftp_embryo_strict_active"
    try:
        with open(f"{base}/stats") as f:
            if "nomem: 0" not in f.read():
                return "stats without nomem: 0"
        with open(f"{base}/flows") as f:
            if f.read().strip():
                return "flows not empty"
        for v in ("1", "0"):
            with open(knob, "w") as f:
                f.write(v)
            with open(knob) as f:
                if f.read().strip() != v:
                    return f"{knob} did not take {v}"
    except OSError as e:
        return str(e)
    return None


def cmd_count():
    u = Unsharer()
    print(max(u.count() for _ in range(3)))


def cmd_netns(t0):
    fs_set("ignore-gfp-wait", "N")
    u = Unsharer()
    t1 = max(u.count() for _ in range(3))
    if t0:
        tap(f"netns: creating a namespace makes {t1} slab allocations, "
            f"{t1 - t0} of them the module's ({t0} without it)", t1 > t0)
    else:
        tap("netns: counted without the module (it did not unload)", False)
    marks, broken, odd = [], [], []
    start = time.monotonic()
    n = 0
    while n < t1 + 50:
        n += 1
        err, left, said = u.create(n, module_view)
        if left:
            break
        if err == ENOMEM:
            marks.append("F")
        elif err:
            marks.append("E")
            odd.append(f"n={n}: {os.strerror(err)}")
        elif said:
            marks.append("X")
            broken.append(f"n={n}: {said}")
        else:
            marks.append("s")
    secs = time.monotonic() - start
    done = len(marks)
    note(f"netns sweep: F failed (ENOMEM), E failed (another error), "
         f"s made regardless, X made broken; {secs:.1f} s")
    pattern = "".join(marks)
    for i in range(0, done, 100):
        note(f"  {i + 1:4d} {pattern[i:i + 100]}")
    tap(f"netns: each of the {done} allocations failed once in turn "
        f"({pattern.count('F') + pattern.count('E')} creations failed, "
        f"{pattern.count('s')} made regardless)",
        done >= t1 - 10 and n <= t1 + 50 and left,
        f"swept {done}, counted {t1}, stopped at n={n} with {left} left")
    # Many pernet inits turn -ENOMEM into another error (a socket they
    # could not make: ENFILE, ENOBUFS, ...): any error is a clean failure.
    errors = {}
    for line in odd:
        why = line.split(": ", 1)[1]
        errors[why] = errors.get(why, 0) + 1
    note("netns: creation failed with ENOMEM %d times, else with %s" % (
        pattern.count("F"), ", ".join(f"{k} ({v})" for k, v in
                                       sorted(errors.items())) or "nothing"))
    tap("netns: every namespace made despite a failure has working stats, "
        "flows and sysctl", not broken, "\n".join(broken[:20]))
    # The module's pernet init is in the count (t1 > t0) and the sweep
    # failed every allocation of the count: its sites were among them.


# --- namespaces of lib.sh: imported late, they exist only then --------------

def ns():
    global enter, stats, expectations, flows
    from nsutil import enter, stats, expectations, flows


def settled():
    return not expectations() and not flows()


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0)}


SIOCETHTOOL = 0x8946
ETHTOOL_STSO, ETHTOOL_SGRO = 0x1f, 0x2c


def ethtool(netns, dev, cmd, value):
    """The legacy ethtool ioctl: one feature of @dev on or off."""
    enter(netns)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ev = ctypes.create_string_buffer(struct.pack("=II", cmd, value))
    ifr = struct.pack("16sP", dev.encode(), ctypes.addressof(ev))
    fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr.ljust(40, b"\0"))
    s.close()


# --- the event listener -----------------------------------------------------

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLMSG_ERROR = 2
NLM_F_REQUEST = 1
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2
# include/uapi/linux/nf_ftp_embryo.h
FTPE_CMD_EVENT = 4
FTPE_A_FLOW, FTPE_A_EVENT, FTPE_A_REASON = 4, 5, 6
FTPE_FLOW_A_CLIENT_PORT, FTPE_FLOW_A_DATA_PORT = 3, 10
FTPE_EVENT_REFUSED = 5
REASONS = {5: "nat_failed", 6: "expect_failed"}


def attrs(buf):
    """{type: [payload, ...]} of a run of netlink attributes."""
    out = {}
    off = 0
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4:
            break
        out.setdefault(kind & 0x3fff, []).append(buf[off + 4:off + n])
        off += (n + 3) & ~3
    return out


class Event:
    def __init__(self, port, kind, reason, endpoint):
        self.port, self.kind, self.reason = port, kind, reason
        self.endpoint = endpoint


class Events:
    """The module's events group in rtr, read by a thread as they come."""

    def __init__(self):
        enter("rtr")
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_GENERIC)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.family, group = self.resolve()
        self.s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
        self.got = []
        self.overruns = 0
        threading.Thread(target=self.read, daemon=True).start()

    def resolve(self):
        body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + \
            nla(CTRL_ATTR_FAMILY_NAME, b"nf_ftp_embryo\0")
        self.s.send(struct.pack("=IHHII", 16 + len(body), GENL_ID_CTRL,
                                NLM_F_REQUEST, 1, 0) + body)
        msg = self.s.recv(65536)
        n, kind = struct.unpack_from("=IH", msg)
        if kind == NLMSG_ERROR:
            raise OSError(-struct.unpack_from("=i", msg, 16)[0],
                          "genl family nf_ftp_embryo")
        a = attrs(msg[20:n])
        family = struct.unpack_from("=H", a[CTRL_ATTR_FAMILY_ID][0])[0]
        for groups in a.get(CTRL_ATTR_MCAST_GROUPS, []):
            for each in attrs(groups).values():
                g = attrs(each[0])
                if g[CTRL_ATTR_MCAST_GRP_NAME][0].rstrip(b"\0") == b"events":
                    return family, struct.unpack_from(
                        "=I", g[CTRL_ATTR_MCAST_GRP_ID][0])[0]
        raise RuntimeError("nf_ftp_embryo has no events group")

    def read(self):
        while True:
            try:
                buf = self.s.recv(1 << 20)
            except OSError:
                self.overruns += 1
                continue
            off = 0
            while off + 20 <= len(buf):
                n, kind = struct.unpack_from("=IH", buf, off)
                if n < 16:
                    break
                if kind == self.family and buf[off + 16] == FTPE_CMD_EVENT:
                    self.got.append(self.parse(buf[off + 20:off + n]))
                off += (n + 3) & ~3

    @staticmethod
    def parse(body):
        a = attrs(body)
        flow = attrs(a[FTPE_A_FLOW][0]) if FTPE_A_FLOW in a else {}
        port = struct.unpack_from("=H", flow[FTPE_FLOW_A_CLIENT_PORT][0])[0] \
            if FTPE_FLOW_A_CLIENT_PORT in flow else None
        kind = a[FTPE_A_EVENT][0][0] if FTPE_A_EVENT in a else None
        reason = a[FTPE_A_REASON][0][0] if FTPE_A_REASON in a else 0
        return Event(port, kind, reason, FTPE_FLOW_A_DATA_PORT in flow)

    def of(self, port):
        return [e for e in self.got if e.port == port]


# --- scripted FTP -----------------------------------------------------------

def named(line):
    """(address, port) a PORT or 227 line names, or None."""
    m = re.search(rb"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", line or b"")
    if not m:
        return None
    f = [int(x) for x in m.groups()]
    return ".".join(map(str, f[:4])), f[4] * 256 + f[5]


def listener(netns, addr, port):
    enter(netns)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    return s


def nodelay(s):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    """Close with an RST: nothing of it lingers in retransmission."""
    if s is None:
        return
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


def dial(netns, src, dst, port, wait=DATA_WAIT):
    enter(netns)
    s = nodelay(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    s.settimeout(wait)
    try:
        s.bind((src, 0))
        s.connect((dst, port))
        return s
    except OSError:
        reset(s)
        return None


def take(lst, peer_port=None, wait=DATA_WAIT):
    """The connection @lst accepts (from @peer_port if given), or None;
    one left over from an earlier run is closed."""
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return None
        lst.settimeout(left)
        try:
            s, peer = lst.accept()
        except OSError:
            return None
        if peer_port is None or peer[1] == peer_port:
            return nodelay(s)
        reset(s)


class Ctl:
    """One control connection: c, the client's end (in cns, from csrc, to
    dst:dport), and s, the server's end, accepted on lst."""

    def __init__(self, cns, csrc, dst, dport, lst):
        self.c = dial(cns, csrc, dst, dport, wait=LINE_WAIT)
        self.s = None
        self.buf = {}
        if self.c is None:
            raise ConnectionError("control connection not made")
        self.port = self.c.getsockname()[1]
        self.s = take(lst, self.port, wait=LINE_WAIT)
        if self.s is None:
            reset(self.c)
            raise ConnectionError("control connection not accepted")
        self.buf = {self.c: b"", self.s: b""}

    @staticmethod
    def send(sock, parts):
        for i, part in enumerate(parts):
            if i:
                time.sleep(PAUSE)
            sock.sendall(part)

    def line(self, sock):
        """The next line @sock reads, or None."""
        end = time.monotonic() + LINE_WAIT
        buf = self.buf[sock]
        try:
            while b"\r\n" not in buf:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                sock.settimeout(left)
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                buf += chunk
        except OSError:
            return None
        finally:
            self.buf[sock] = buf
        line, self.buf[sock] = buf.split(b"\r\n", 1)
        return line

    def cmd(self, *parts):
        """The client sends (split as given); what the server read."""
        self.send(self.c, parts)
        return self.line(self.s)

    def rep(self, *parts):
        self.send(self.s, parts)
        return self.line(self.c)

    def close(self, whole):
        for sock in (self.c, self.s):
            if sock is None:
                continue
            if whole:
                sock.close()
            else:
                reset(sock)


def pour(src, dst):
    """PAYLOAD bytes from @src to @dst, which must read all of them."""
    try:
        src.sendall(b"x" * PAYLOAD)
        src.close()
        got = 0
        dst.settimeout(LINE_WAIT)
        while True:
            chunk = dst.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        dst.close()
        return got == PAYLOAD
    except OSError:
        reset(src)
        reset(dst)
        return False


class Run:
    """One transfer: how it ended and what the router showed meanwhile."""

    def __init__(self):
        self.ok = False
        self.why = ""
        self.port = None        # the control connection's client port
        self.told = None        # (address, port) the reading side was told
        self.line = None        # the announcing line as read
        self.stray = []         # pinholes other than the negotiated one
        self.private = False    # the outside read the private address

    def fail(self, why):
        self.why = why
        return self

    def announced(self, line, outside):
        """The announcing line was read (None: lost): check the pinholes
        now, and on the outside of a translation the address."""
        self.line = line
        self.told = named(line)
        if outside and line and any(p in line for p in PRIVATE):
            self.private = True
        pin = expectations()
        told = f" dport={self.told[1]} " if self.told else None
        if len(pin) > 1 or (pin and (not told or told not in f" {pin[0]} ")):
            self.stray = pin


class Scenario:
    """A transfer with a split announcing line; run() returns a Run."""

    ports = 30000

    def __init__(self, name, nat, client, fn):
        self.name, self.nat, self.client, self.fn = name, nat, client, fn

    def data_port(self):
        Scenario.ports += 1
        return Scenario.ports

    def run(self, lst):
        r = Run()
        ctl = None
        data = []
        try:
            # A client on cli talks to srv's server, one on srv to cli's.
            ctl = Ctl(*self.client, lst[self.client[0] == "cli"])
            r.port = ctl.port
            self.fn(self, ctl, r, data)
        except ConnectionError as e:
            r.fail(str(e))
        for s in data:
            reset(s)
        if ctl:
            ctl.close(r.ok)
        return r


def end_transfer(ctl, r, server_end, client_end):
    """RETR, 150, the data, 226, QUIT, 221."""
    if ctl.cmd(b"RETR f\r\n") is None:
        return r.fail("RETR lost")
    if ctl.rep(b"150 Here it comes.\r\n") is None:
        return r.fail("150 lost")
    if not pour(server_end, client_end):
        return r.fail("data cut")
    if ctl.rep(b"226 Transfer complete.\r\n") is None:
        return r.fail("226 lost")
    if ctl.cmd(b"QUIT\r\n") is None or ctl.rep(b"221 Bye.\r\n") is None:
        return r.fail("QUIT lost")
    r.ok = True
    return r


def refuse_data(ctl, r, why):
    ctl.rep(b"425 Can't open data connection.\r\n")
    return r.fail(why)


def pasv(scn, ctl, r, data):
    """cli 10.0.1.2 -> srv 10.0.2.2:21; the 227 split in its address."""
    if ctl.rep(b"220 failslab\r\n") is None:
        return r.fail("220 lost")
    if ctl.cmd(b"PASV\r\n") is None:
        return r.fail("PASV lost")
    port = scn.data_port()
    lst = listener("srv", SRV, port)
    data.append(lst)
    r.announced(ctl.rep(b"227 Entering Passive Mode (10,0,2,",
                        b"2,%d,%d).\r\n" % (port >> 8, port & 255)), False)
    if not r.told:
        return r.fail("227 lost")
    d = dial("cli", CLI, *r.told)
    a = take(lst) if d else None
    data += [d, a]
    if not a:
        return refuse_data(ctl, r, "no data connection")
    return end_transfer(ctl, r, a, d)


def port(scn, ctl, r, data):
    """cli 10.0.1.2 -> srv 10.0.2.2:21; the PORT split in its address."""
    if ctl.rep(b"220 failslab\r\n") is None:
        return r.fail("220 lost")
    port = scn.data_port()
    lst = listener("cli", CLI, port)
    data.append(lst)
    r.announced(ctl.cmd(b"PORT 10,0,1,",
                        b"2,%d,%d\r\n" % (port >> 8, port & 255)), False)
    if not r.told:
        return r.fail("PORT lost")
    if ctl.rep(b"200 PORT command successful.\r\n") is None:
        return r.fail("200 lost")
    return active_data(ctl, r, data, lst, "srv", SRV)


def active_data(ctl, r, data, lst, sns, ssrc):
    if ctl.cmd(b"RETR f\r\n") is None:
        return r.fail("RETR lost")
    if ctl.rep(b"150 Here it comes.\r\n") is None:
        return r.fail("150 lost")
    d = dial(sns, ssrc, *r.told)
    a = take(lst) if d else None
    data += [d, a]
    if not a:
        return refuse_data(ctl, r, "no data connection")
    if not pour(d, a):
        return r.fail("data cut")
    if ctl.rep(b"226 Transfer complete.\r\n") is None:
        return r.fail("226 lost")
    if ctl.cmd(b"QUIT\r\n") is None or ctl.rep(b"221 Bye.\r\n") is None:
        return r.fail("QUIT lost")
    r.ok = True
    return r


def masq_port(scn, ctl, r, data):
    """cli 192.168.124.10 masqueraded -> srv 198.51.100.2:21; "PO" alone,
    then "RT 192,168,124,10,...": the split-line buffer holds "PO", and
    the address, all in the second segment, can be rewritten."""
    if ctl.rep(b"220 failslab\r\n") is None:
        return r.fail("220 lost")
    port = scn.data_port()
    lst = listener("cli", LAN, port)
    data.append(lst)
    r.announced(ctl.cmd(b"PO", b"RT %s\r\n" % hostport(LAN, port).encode()),
                True)
    if not r.told:
        return r.fail("PORT lost")
    if r.private:
        return r.fail("PORT read untranslated")
    if ctl.rep(b"200 PORT command successful.\r\n") is None:
        return r.fail("200 lost")
    return active_data(ctl, r, data, lst, "srv", WAN)


def fwd_pasv(scn, ctl, r, data):
    """srv 198.51.100.2 -> rtr 198.51.100.1:2121, forwarded to cli:21;
    "22" alone, then "7 Entering Passive Mode (192,168,124,10,...)"."""
    if ctl.rep(b"220 failslab\r\n") is None:
        return r.fail("220 lost")
    if ctl.cmd(b"PASV\r\n") is None:
        return r.fail("PASV lost")
    port = scn.data_port()
    lst = listener("cli", LAN, port)
    data.append(lst)
    r.announced(ctl.rep(b"22", b"7 Entering Passive Mode (%s).\r\n" %
                        hostport(LAN, port).encode()), True)
    if not r.told:
        return r.fail("227 lost")
    if r.private:
        return r.fail("227 read untranslated")
    d = dial("srv", WAN, *r.told)
    a = take(lst) if d else None
    data += [d, a]
    if not a:
        return refuse_data(ctl, r, "no data connection")
    return end_transfer(ctl, r, a, d)


# A control connection's client end: namespace, source, server, port.
SCENARIOS = [
    Scenario("PASV", False, ("cli", CLI, SRV, 21), pasv),
    Scenario("PORT", False, ("cli", CLI, SRV, 21), port),
    Scenario("masqueraded PORT", True, ("cli", LAN, WAN, 21), masq_port),
    Scenario("forwarded PASV", True, ("srv", WAN, PUB, 2121), fwd_pasv),
]

# What the failures of each sweep must have hit, by thread: r0 handles
# what cli sends, r1 what srv sends.  The flow record comes with the first
# payload (the 220), the split-line buffer with the first segment of the
# split line, the expectation (and, translated, the rewrite record) with
# its second; events come with every line that changes something.
MUST = {
    ("PASV", "r0"): {"event"},
    ("PASV", "r1"): {"flow record", "split-line buffer", "expectation",
                     "event"},
    ("PORT", "r0"): {"split-line buffer", "expectation", "event"},
    ("PORT", "r1"): {"flow record", "event"},
    ("masqueraded PORT", "r0"): {"split-line buffer", "NAT", "event"},
    ("masqueraded PORT", "r1"): {"flow record", "event"},
    ("forwarded PASV", "r0"): {"flow record", "split-line buffer", "NAT",
                               "event"},
    # Not "seqadj": nft's ct helper set adds that extension itself to a
    # translated conntrack (as nf_nat, act_ct and openvswitch do when they
    # find a helper), dropping the packet if it cannot; the module's
    # ftpe_nat_prepare() finds it there.
    ("forwarded PASV", "r1"): {"event"},
}


def label(scn, r, d, ev, base):
    """Which site one run's failure hit, from the module's counters and
    refusal events (one allocation failed, so at most one site)."""
    refusals = [e for e in ev if e.kind == FTPE_EVENT_REFUSED]
    if not d.get("packets"):
        # Its helper extension failed, and the kernel let the control
        # connection through without it (ftp_failslab.sh): the module saw
        # none of it.
        return "helper not attached"
    if d.get("nomem", 0):
        if d.get("nat_seqadj_added", 0) < base["d"].get("nat_seqadj_added", 0):
            return "seqadj"
        for e in refusals:
            if REASONS.get(e.reason) == "expect_failed":
                return "expectation"
            if REASONS.get(e.reason) == "nat_failed":
                # The split-line buffer's refusal names no endpoint; the
                # rewrite record's and its expectation's name the one read.
                return "NAT" if e.endpoint else "split-line buffer"
        # Untranslated, a line whose buffer failed is skipped: no pinhole.
        return "flow record" if r.told and r.ok else "split-line buffer"
    if len(ev) < len(base["ev"]):
        return "event"
    return "kernel"


def sweep(scn, dev, nth, lst, events, unhelped):
    """fail-nth = 1, 2, ... on @nth (the thread of @dev) over whole runs of
    @scn, until it has no n-th allocation left."""
    def once(n):
        wait_until(settled, 5)
        before = stats()
        nth.arm(n)
        r = scn.run(lst)
        r.clean = wait_until(settled, 5)
        left = nth.disarm()
        # Events were queued as the packets passed; let the reader catch up.
        time.sleep(0.02)
        ev = events.of(r.port)
        return r, left, delta(before, stats()), ev

    start = time.monotonic()
    r, left, d, ev = once(BIG)
    count = BIG - left
    base = {"d": d, "ev": ev}
    what = f"{scn.name} via napi/{dev}"
    if not tap(f"{what}: whole with nothing failed "
               f"({count} allocations, {len(ev)} events)",
               r.ok and r.clean and not r.stray and not r.private and
               not d.get("nomem") and left,
               f"{r.why}; left {left}; {d}"):
        return
    runs, hit, bad, notes = [], {}, [], []
    n = 0
    while n < count + 20:
        n += 1
        r, left, d, ev = once(n)
        if left:
            break
        site = label(scn, r, d, ev, base)
        hit.setdefault(site, []).append(n)
        runs.append(r)
        if site == "helper not attached":
            unhelped.write(f"{r.port}\n")
            if r.private:
                note(f"kernel: {what} n={n}: its control connection ran "
                     f"without the helper, the inside address left as it "
                     f"was: {r.line!r}")
            r.private = False
        counters = " ".join(f"{k}+{v}" for k, v in sorted(d.items())
                            if k in ("nomem", "nat_failed", "expect_failed",
                                     "expect_created", "nat_seqadj_added"))
        notes.append(f"n={n}: {site}, {'whole' if r.ok else r.why}"
                     f"{', ' + counters if counters else ''}")
        if not r.clean:
            bad.append(f"n={n}: left {flows() + expectations()}")
        if r.stray:
            bad.append(f"n={n}: pinholes {r.stray}, told {r.told}")
        if r.private:
            bad.append(f"n={n}: the outside read {r.line!r}")
    for line in notes:
        note(f"  {what}: {line}")
    tap(f"{what}: each of its {len(runs)} allocations failed once in turn",
        runs and left, f"stopped at n={n}, baseline {count}")
    sites = ", ".join(f"{k} (n={','.join(map(str, v))})"
                      for k, v in sorted(hit.items()))
    must = MUST[(scn.name, dev)]
    tap(f"{what}: the failures hit {', '.join(sorted(must))}",
        must <= set(hit), f"hit: {sites}")
    if "NAT" in must:
        tap(f"{what}: both translation records failed (the rewrite "
            f"record, then its expectation)", len(hit.get("NAT", [])) >= 2,
            f"hit: {sites}")
    tap(f"{what}: every run whole or failed closed, no stray pinhole, "
        f"nothing left" + (", no private address outside the module let "
                           "pass" if scn.nat else ""),
        not bad, "\n".join(bad[:20]))
    whole = sum(r.ok for r in runs)
    note(f"{what}: {len(runs)} runs ({whole} whole, {len(runs) - whole} "
         f"failed closed) in {time.monotonic() - start:.1f} s")


def scripted_pasv(lst):
    return SCENARIOS[0].run(lst)


def listeners():
    # [cli's server socket, srv's]
    return [listener("cli", LAN, 21), listener("srv", "0.0.0.0", 21)]


def cmd_premise():
    """make-it-fail on this process alone, the module's caches alone."""
    lst = listeners()
    for cache in ("ftpe_flow", "nf_conntrack_expect"):
        with open(f"/sys/kernel/slab/{cache}/failslab") as f:
            if f.read().strip() != "1":
                tap(f"{cache} flagged for failslab", False)
                return
    before = stats()
    fs_set("cache-filter", "Y")
    fs_set("task-filter", "Y")
    fs_set("space", 0)
    fs_set("interval", 1)
    fs_set("times", 10)
    fs_set("probability", 100)
    me = threading.get_native_id()
    make_it_fail(me, True)
    try:
        r = scripted_pasv(lst)
    finally:
        make_it_fail(me, False)
        fs_set("probability", 0)
    left = int(fs_get("times"))
    d = delta(before, stats())
    tap(f"make-it-fail misses rtr's softirq: a PASV transfer whose every "
        f"packet this make-it-fail process sent made its flow record and "
        f"pinhole, {left} of 10 injections left",
        r.ok and left == 10 and d.get("flows_created") == 1 and
        d.get("expect_created") == 1 and not d.get("nomem"),
        f"{r.why} {d}")
    # Now NAPI on rtr's veths (their peers must not send TSO: veth hands
    # only other skbs to NAPI); ftp_failslab.sh threads it.
    for netns, dev in (("cli", "c0"), ("srv", "s0")):
        ethtool(netns, dev, ETHTOOL_STSO, 0)
    for dev in ("r0", "r1"):
        ethtool("rtr", dev, ETHTOOL_SGRO, 1)


def cmd_thread(r1):
    """The same injection, make-it-fail on napi/r1."""
    lst = listeners()
    before = stats()
    fs_set("cache-filter", "Y")
    fs_set("task-filter", "Y")
    fs_set("times", 1)
    fs_set("probability", 100)
    make_it_fail(r1, True)
    try:
        r = scripted_pasv(lst)
    finally:
        make_it_fail(r1, False)
        fs_set("probability", 0)
    left = int(fs_get("times"))
    d = delta(before, stats())
    tap(f"make-it-fail on napi/r1 (task context): the 220's flow record "
        f"fails (nomem +{d.get('nomem', 0)}, {left} of 1 injection left), "
        f"the next line makes it, the transfer works",
        r.ok and left == 0 and d.get("nomem") == 1 and
        d.get("expect_created") == 1, f"{r.why} {d}")


def cmd_sweep(r0, r1, path):
    lst = listeners()
    events = Events()
    fs_set("probability", 0)
    threads = {"r0": FailNth(r0), "r1": FailNth(r1)}
    with open(path, "w") as unhelped:
        for scn in SCENARIOS:
            for dev in ("r1", "r0"):
                sweep(scn, dev, threads[dev], lst, events, unhelped)
    if events.overruns:
        note(f"event listener overran {events.overruns} times")


# --- the capture ------------------------------------------------------------

def cmd_pcap(path, unhelped):
    """Every IPv4 packet of an Ethernet pcap: neither its addresses nor
    its bytes name 192.168.124.0/24, but those of TCP connections from
    one of the client ports in the file @unhelped (control connections
    the kernel let through without their helper)."""
    skip = set()
    if os.path.exists(unhelped):
        with open(unhelped) as f:
            skip = {int(p) for p in f.read().split()}
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        tap("capture of srv's link", False, f"{path}: {len(data)} bytes")
        return
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, packets, lines, leaks, theirs = 24, 0, 0, [], 0
    while off + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        packets += 1
        ip = frame[14:]
        if b"198,51,100,1," in ip:
            lines += 1
        if ip[12:15] == LAN_PREFIX or ip[16:19] == LAN_PREFIX or \
                any(p in ip for p in PRIVATE):
            ihl = (ip[0] & 15) * 4
            ports = struct.unpack_from(">HH", ip, ihl) if ip[9] == 6 else ()
            if skip & set(ports):
                theirs += 1
            else:
                leaks.append(ip[:60].hex())
    if theirs:
        note(f"kernel: {theirs} packets of {len(skip)} control connections "
             f"without their helper carried 192.168.124.x")
    tap(f"no packet on srv's link carries 192.168.124.x ({packets} packets, "
        f"{lines} with a translated PORT/227), but from a connection the "
        f"helper was not attached to",
        packets and lines and not leaks, "\n".join(leaks[:10]))


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        cmd_count()
        return 0
    if cmd == "netns":
        cmd_netns(int(sys.argv[2]))
    elif cmd == "pcap":
        cmd_pcap(sys.argv[2], sys.argv[3])
    else:
        ns()
        if cmd == "premise":
            cmd_premise()
        elif cmd == "thread":
            cmd_thread(int(sys.argv[3]))
        elif cmd == "sweep":
            cmd_sweep(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
        else:
            raise SystemExit(f"usage: {sys.argv[0]} count|netns T0|premise|"
                             f"thread R0 R1|sweep R0 R1 F|pcap FILE F")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
