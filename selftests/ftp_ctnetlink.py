#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""An attacker on the ctnetlink input path (ftp_ctnetlink.sh runs it).

Runs as an unprivileged user that is root only of its own user namespace,
in a fresh network namespace that namespace owns: CAP_NET_ADMIN over that
namespace's conntrack table is all it has.  It attaches helpers to its own
connections over lo (iptables raw CT: "ftp-embryo" on port 21, the
kernel's "ftp" on 2121 and 2122), plays both ends of each FTP control
connection (every line is read by the other end before the next is sent,
so the helpers have seen it), and speaks NETLINK_NETFILTER itself to make,
change and delete expectations and conntracks as a hostile conntrackd
would, and to give verdicts, with expectations attached, on its commands
to 2122, which it queues (NFQUEUE).  An INPUT rule drops any new
connection that no expectation admits, so a connect tells whether a
pinhole is open.

What only the machine's root can do (rmmod, insmod, reading the flows
file: mode 0440 and owned by the machine's root, in our namespace too) it
asks for on stdout with a line "@ WHAT" and reads the answer on stdin:
lines "| ...", then "= RC".  Everything else on stdout is TAP.
Usage: ftp_ctnetlink.py yes|no   (does the kernel have NFQUEUE's conntrack glue)
"""
import errno
import itertools
import os
import socket
import struct
import subprocess
import sys
import time

from nsutil import Tap, attrs, hostport, nla, stats_of, wait_until

LO = "127.0.0.1"
OURS, KFTP = 21, 2121           # control ports: our helper, the kernel's
QFTP, QNUM = 2122, 7            # the kernel's again, its commands queued
DROP_WAIT = 1.0                 # seconds a dropped SYN is given
STATS = "/proc/net/nf_ftp_embryo/stats"

NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLM_F_DUMP = 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 0x8000
# nfnetlink subsystems and their messages
CT_NEW, CT_GET = 1 << 8 | 0, 1 << 8 | 1
EXP_NEW, EXP_GET = 2 << 8 | 0, 2 << 8 | 1
# enum ctattr_type, ctattr_tuple, ctattr_ip, ctattr_l4proto, ctattr_help
CTA_TUPLE_ORIG, CTA_HELP = 1, 5
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_HELP_NAME = 1
# enum ctattr_expect, ctattr_expect_nat
CTA_EXPECT_MASTER, CTA_EXPECT_TUPLE, CTA_EXPECT_MASK = 1, 2, 3
CTA_EXPECT_TIMEOUT, CTA_EXPECT_HELP_NAME = 4, 6
CTA_EXPECT_FLAGS, CTA_EXPECT_CLASS, CTA_EXPECT_NAT, CTA_EXPECT_FN = 8, 9, 10, 11
CTA_EXPECT_NAT_DIR, CTA_EXPECT_NAT_TUPLE = 1, 2
# nfnetlink_queue
NFQ_PACKET, NFQ_VERDICT, NFQ_CONFIG = 3 << 8 | 0, 3 << 8 | 1, 3 << 8 | 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_CT, NFQA_EXP = 1, 2, 11, 15
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND, NFQNL_COPY_META, NF_ACCEPT = 1, 1, 1

# Does this kernel have NFQUEUE's conntrack glue (ftp_ctnetlink.sh knows)?
GLUE = sys.argv[1] if len(sys.argv) > 1 else "unknown"
# Does ctnetlink give CTA_EXPECT_HELP_NAME to the data connection (case 1)?
ASSIGNS = False
QUEUE_SOCK = None       # the attacker's NFQUEUE, where the kernel has the glue


tap = Tap("ctnetlink")


def note(text):
    for line in str(text).splitlines():
        print(f"# {line}", flush=True)


def ask(what):
    """Have the machine's root do WHAT; returns (status, lines of output)."""
    print(f"@ {what}", flush=True)
    lines = []
    while True:
        line = sys.stdin.readline()
        if not line:
            raise EOFError(f"no answer to {what!r}")
        if line.startswith("= "):
            return int(line[2:]), lines
        lines.append(line[2:].rstrip("\n"))


def risky(text):
    """Say what is about to be tried, and let everything printed so far
    reach the log first: what follows may take the machine down."""
    note(text)
    ask("sync")
    time.sleep(1)


def run(*argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if r.returncode:
        note(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.returncode == 0


# --- netlink ---------------------------------------------------------------

def nest(kind, *inner):
    return nla(kind | NLA_F_NESTED, b"".join(inner))


def tuple_attrs(src, sport, dst, dport, proto=socket.IPPROTO_TCP):
    return (nest(CTA_TUPLE_IP,
                 nla(CTA_IP_V4_SRC, socket.inet_aton(src)),
                 nla(CTA_IP_V4_DST, socket.inet_aton(dst))) +
            nest(CTA_TUPLE_PROTO,
                 nla(CTA_PROTO_NUM, bytes([proto])),
                 nla(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)),
                 nla(CTA_PROTO_DST_PORT, struct.pack("!H", dport))))


def parse_tuple(buf):
    a = attrs(buf)
    ip, proto = attrs(a[CTA_TUPLE_IP]), attrs(a[CTA_TUPLE_PROTO])

    def port(k):
        return struct.unpack("!H", proto[k])[0] if k in proto else 0
    return (socket.inet_ntoa(ip[CTA_IP_V4_SRC]), port(CTA_PROTO_SRC_PORT),
            socket.inet_ntoa(ip[CTA_IP_V4_DST]), port(CTA_PROTO_DST_PORT))


def cstr(buf):
    return buf.split(b"\0")[0].decode() if buf else ""


def expect_body(port, fn=None, helper=None, nat=None, flags=None, cls=None,
                src_mask="255.255.255.255"):
    """An expectation of 127.0.0.1:any -> 127.0.0.1:PORT, as conntrackd
    sends one: FN names the expect function, HELPER the data connection's
    helper, NAT (address, port, direction) where it is to be sent,
    SRC_MASK which sources it admits."""
    body = (nest(CTA_EXPECT_TUPLE, tuple_attrs(LO, 0, LO, port)) +
            nest(CTA_EXPECT_MASK,
                 tuple_attrs(src_mask, 0, "255.255.255.255", 0xffff)) +
            nla(CTA_EXPECT_TIMEOUT, struct.pack("!I", 60)))
    if flags is not None:
        body += nla(CTA_EXPECT_FLAGS, struct.pack("!I", flags))
    if cls is not None:
        body += nla(CTA_EXPECT_CLASS, struct.pack("!I", cls))
    if helper is not None:
        body += nla(CTA_EXPECT_HELP_NAME, helper.encode() + b"\0")
    if nat is not None:
        addr, nport, d = nat
        body += nest(CTA_EXPECT_NAT,
                     nla(CTA_EXPECT_NAT_DIR, struct.pack("!I", d)),
                     nest(CTA_EXPECT_NAT_TUPLE, tuple_attrs(addr, nport, LO, 0)))
    if fn is not None:
        body += nla(CTA_EXPECT_FN, fn.encode() + b"\0")
    return body


class Nfnl:
    """One NETLINK_NETFILTER socket."""

    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_NETFILTER)
        self.s.bind((0, 0))
        self.s.settimeout(10)
        self.seq = 0

    def _send(self, kind, flags, body, family, res_id=0):
        self.seq += 1
        msg = struct.pack("!BBH", family, 0, res_id) + body
        self.s.send(struct.pack("=IHHII", 16 + len(msg), kind, flags,
                                self.seq, 0) + msg)

    def _answers(self):
        while True:
            buf = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(buf):
                n, kind, _, seq, _ = struct.unpack_from("=IHHII", buf, off)
                if seq == self.seq:
                    yield kind, buf[off + 16:off + n]
                off += (n + 3) & ~3

    def request(self, kind, body, flags=0, family=socket.AF_INET, res_id=0):
        """The errno the kernel answers with; 0 when done."""
        self._send(kind, NLM_F_REQUEST | NLM_F_ACK | flags, body, family, res_id)
        for k, payload in self._answers():
            if k == NLMSG_ERROR:
                return -struct.unpack_from("=i", payload)[0]
        return None

    def dump(self, kind):
        self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, b"", socket.AF_UNSPEC)
        out = []
        for k, payload in self._answers():
            if k == NLMSG_DONE:
                return out
            if k == NLMSG_ERROR:
                raise OSError(-struct.unpack_from("=i", payload)[0], "dump")
            out.append(attrs(payload[4:]))
        return out


class Ctnl(Nfnl):
    """ctnetlink, as root of this network namespace's user namespace."""

    def expect(self, master, port, **kw):
        """EXP_NEW on the control connection MASTER (see expect_body());
        returns the errno."""
        body = nest(CTA_EXPECT_MASTER, master.tuple()) + expect_body(port, **kw)
        return self.request(EXP_NEW, body, NLM_F_CREATE | NLM_F_EXCL)

    def set_helper(self, ctl, name):
        """CT_NEW on the existing conntrack of CTL: its helper becomes
        NAME ("" detaches); returns the errno."""
        body = (nest(CTA_TUPLE_ORIG, ctl.tuple()) +
                nest(CTA_HELP, nla(CTA_HELP_NAME, name.encode() + b"\0")))
        return self.request(CT_NEW, body)

    def expectations(self):
        """[(master's client port, master's server port, data port, helper, fn)]"""
        out = []
        for a in self.dump(EXP_GET):
            m = parse_tuple(a[CTA_EXPECT_MASTER])
            t = parse_tuple(a[CTA_EXPECT_TUPLE])
            out.append((m[1], m[3], t[3], cstr(a.get(CTA_EXPECT_HELP_NAME)),
                        cstr(a.get(CTA_EXPECT_FN))))
        return out

    def helper_of(self, sport, dport):
        """The helper named on the conntrack SPORT -> DPORT; None: no such conntrack."""
        for a in self.dump(CT_GET):
            t = parse_tuple(a[CTA_TUPLE_ORIG])
            if (t[1], t[3]) != (sport, dport):
                continue
            return cstr(attrs(a[CTA_HELP]).get(CTA_HELP_NAME)) if CTA_HELP in a else ""
        return None


class Queue(Nfnl):
    """NFQUEUE QNUM, packets' metadata only."""

    def __init__(self):
        super().__init__()
        for attr in (nla(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0)),
                     nla(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))):
            err = self.request(NFQ_CONFIG, attr, family=socket.AF_UNSPEC,
                               res_id=QNUM)
            if err:
                raise OSError(err, "NFQUEUE config")

    def cmd(self, ctl, text, exp=None):
        """CTL's command TEXT, queued: let it pass with a verdict that
        carries expectation EXP for its conntrack; returns the verdict's
        errno (the expectation's own fate is not reported)."""
        data = text.encode()
        ctl.c.sendall(data)
        while True:
            buf = self.s.recv(1 << 16)
            if struct.unpack_from("=H", buf, 4)[0] == NFQ_PACKET:
                break
        pid = struct.unpack("!I", attrs(buf[20:])[NFQA_PACKET_HDR][:4])[0]
        body = nla(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))
        if exp is not None:
            body += nest(NFQA_CT) + nest(NFQA_EXP, exp)
        err = self.request(NFQ_VERDICT, body, family=socket.AF_UNSPEC,
                           res_id=QNUM)
        recv_exact(ctl.s, len(data))
        return err


ctnl = None             # setup() opens it


def exps_at(port):
    return [e for e in ctnl.expectations() if e[2] == port]


def exps_of(ctl):
    return [e for e in ctnl.expectations() if e[:2] == (ctl.cport, ctl.port)]


def show_exps():
    return "\n".join(map(str, ctnl.expectations())) or "no expectations"


# --- FTP peers on lo -----------------------------------------------------------

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"peer closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LO, port))
    s.listen(16)
    s.settimeout(5)
    return s


LISTEN = {}


class Conn:
    """Both ends of one TCP connection over lo: c is the client's, s the
    server's.  cmd() and rep() return once the other end has read every
    byte, so the helpers have seen them."""

    def __init__(self, c, s, port):
        for sock in (c, s):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(10)
        self.c, self.s, self.port = c, s, port
        self.cport = c.getsockname()[1]

    def tuple(self):
        return tuple_attrs(LO, self.cport, LO, self.port)

    def cmd(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.c.sendall(data)
        recv_exact(self.s, len(data))

    def rep(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.s.sendall(data)
        recv_exact(self.c, len(data))

    def login(self):
        self.rep("220 scripted\r\n")
        self.cmd("USER anonymous\r\n")
        self.rep("331 password\r\n")
        self.cmd("PASS x\r\n")
        self.rep("230 in\r\n")

    def pasv(self, port):
        self.cmd("PASV\r\n")
        self.rep(f"227 Entering Passive Mode ({hostport(LO, port)}).\r\n")

    def close(self):
        for sock in (self.c, self.s):
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        for sock in (self.c, self.s):
            try:
                sock.recv(1)
            except OSError:
                pass
            sock.close()


def control(port, greet=True):
    """A control connection to PORT (OURS, KFTP or QFTP), logged in unless
    not GREET: then it has carried no byte yet."""
    c = socket.create_connection((LO, port), timeout=10)
    s, _ = LISTEN[port].accept()
    ctl = Conn(c, s, port)
    if greet:
        ctl.login()
    return ctl


# Data ports, below the ephemeral range our clients' ports come from.
_PORTS = itertools.count(20001)


def next_port():
    return next(_PORTS)


def data_conn(port):
    """A connection to 127.0.0.1:PORT, or None when the firewall dropped
    it (no expectation admitted it)."""
    lst = listener(port)
    c = socket.socket()
    c.settimeout(DROP_WAIT)
    try:
        c.connect((LO, port))
        s, _ = lst.accept()
    except OSError:
        c.close()
        return None
    finally:
        lst.close()
    return Conn(c, s, port)


def connects(port):
    """Does a connection to 127.0.0.1:PORT get in?"""
    conn = data_conn(port)
    if conn:
        conn.c.close()
        conn.s.close()
    return conn is not None


def transfer(ctl, port, size=4096):
    """RETR through the pinhole at PORT: 150, the bytes, 226.  True when
    the data connection was admitted and carried every byte."""
    conn = data_conn(port)
    ctl.cmd("RETR file\r\n")
    ctl.rep("150 Here it comes.\r\n")
    ok = False
    if conn:
        conn.s.sendall(b"x" * size)
        conn.s.close()
        ok = len(recv_exact(conn.c, size)) == size
        conn.c.close()
    ctl.rep("226 Transfer complete.\r\n" if ok else "425 No data connection.\r\n")
    return ok


def stats():
    with open(STATS) as f:
        return stats_of(f.read())


def unheld():
    """Conntracks of this namespace allocated but not in its table: ones
    deleted that something still holds."""
    with open("/proc/sys/net/netfilter/nf_conntrack_count") as f:
        count = int(f.read())
    return count - len(ctnl.dump(CT_GET))


def delta(before, after, *keys):
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys}


def flows():
    rc, lines = ask("flows")
    return lines if rc == 0 else [f"reading the flows file failed ({rc})"]


def consistent(before, after):
    """Every pinhole made was used or removed, every negotiation begun has
    ended, and none is open."""
    d = delta(before, after, "expect_created", "expect_used",
              "expect_removed_early", "expect_expired", "flows_created",
              "flows_completed", "flows_aborted", "flows_replaced")
    ok = (d["expect_created"] == d["expect_used"] + d["expect_removed_early"] +
          d["expect_expired"] and
          d["flows_created"] == d["flows_completed"] + d["flows_aborted"] +
          d["flows_replaced"] and
          after["expect_live"] == 0 and after["flows_current"] == 0)
    return ok, (f"{d}, expect_live {after['expect_live']}, "
                f"flows_current {after['flows_current']}")


# --- setup ---------------------------------------------------------------------

RULES = [
    ("-t", "raw", "-A", "OUTPUT", "-p", "tcp", "--dport", str(OURS),
     "-j", "CT", "--helper", "ftp-embryo"),
    ("-t", "raw", "-A", "OUTPUT", "-p", "tcp", "-m", "multiport", "--dports",
     f"{KFTP},{QFTP}", "-j", "CT", "--helper", "ftp"),
]
# New connections get in only to the control ports, or through a pinhole.
FILTER = ("-A", "INPUT", "-p", "tcp", "--syn", "-m", "conntrack",
          "--ctstate", "NEW", "-m", "multiport", "!", "--dports",
          f"{OURS},{KFTP},{QFTP}", "-j", "DROP")
# Every command to QFTP waits in the queue for our verdict.
QUEUE = ("-A", "OUTPUT", "-p", "tcp", "--dport", str(QFTP), "--tcp-flags",
         "PSH", "PSH", "-j", "NFQUEUE", "--queue-num", str(QNUM))


def helpers_on():
    return all(run("iptables", *r) for r in RULES)


def helpers_off():
    return run("iptables", "-t", "raw", "-F", "OUTPUT")


def setup():
    global ctnl
    who = f"uid {os.getuid()} here, {open('/proc/self/uid_map').read().split()}"
    note(f"attacker: {who}")
    ok = (run("ip", "link", "set", "lo", "up") and helpers_on() and
          run("iptables", *FILTER))
    if not tap("root of a user namespace attaches ftp-embryo and ftp to its own "
               "connections (iptables raw CT) and firewalls them", ok):
        return False
    for port in (OURS, KFTP, QFTP):
        LISTEN[port] = listener(port)
    ctnl = Ctnl()
    # Its own namespace's view of the helper belongs to it, as conntrack's
    # /proc/net/nf_conntrack does.
    try:
        with open("/proc/net/nf_ftp_embryo/flows") as f:
            got = f"{len(f.read().splitlines())} rows"
    except OSError as e:
        got = repr(e)
    tap("root of a user namespace reads its own namespace's flows file",
        got.endswith("rows"), got)
    return True


# --- the cases -----------------------------------------------------------------

def refuses_everything(d):
    """Junk and every FTP line that must open nothing, over D, a connection
    that carries our helper: read, refused, and nothing opened."""
    before = stats()
    d.cmd("PASV\r\n")
    d.rep(f"227 Entering Passive Mode ({hostport('10.9.8.7', 20484)}).\r\n")
    for line in (b"\x00\xff\xfe\x80junk\r\n", b"A" * 3000 + b"\r\n",
                 f"PORT {hostport('10.9.8.7', 20480)}\r\n",    # a bounce
                 f"PORT {hostport(LO, 21)}\r\n",               # a low port
                 "EPRT |2|::1|20481|\r\n"):                    # another family
        d.cmd(line)
        d.rep("200 whatever you say\r\n")
    d.rep(f"227 Entering Passive Mode ({hostport(LO, 20482)}).\r\n")  # unsolicited
    d.rep("229 Entering Extended Passive Mode (|||20483|)\r\n")
    d.rep(b"\r\n\r\n227 (1,2,3\n")
    after = stats()
    moved = delta(before, after, "lines", "refused_bounce",
                  "refused_privileged_port", "refused_unsolicited",
                  "refused_third_party")
    tap("... our helper reads it, and refuses every endpoint on it",
        all(moved.values()), moved)
    tap("... no pinhole of ours appears",
        not exps_of(d) and after["expect_live"] == 0 and
        after["expect_created"] == before["expect_created"], show_exps())
    d.close()
    tap("... its record goes with the connection",
        wait_until(lambda: stats()["connections_tracked"] == 0), stats())


def foreign_master():
    """Case 1: the review's reproduction, on a master of the kernel's ftp
    helper, whose helper data its lines fill (the sequence numbers after
    each line end: what our expect function once read as our pointer)."""
    global ASSIGNS
    f = control(KFTP)
    f.cmd("SYST\r\n")
    f.rep("215 UNIX Type: L8\r\n")
    f.cmd("TYPE I\r\n")
    f.rep("200 Switching to Binary mode.\r\n")
    tap("the kernel's ftp helper is on the foreign master",
        ctnl.helper_of(f.cport, KFTP) == "ftp", ctnl.helper_of(f.cport, KFTP))

    port = next_port()
    err = ctnl.expect(f, port, fn="ftp-embryo")
    tap('expect function "ftp-embryo" on a master of the ftp helper: refused (EINVAL)',
        err == errno.EINVAL, f"errno {err} ({os.strerror(err or 0)})\n{show_exps()}")
    if err == 0:
        risky(f"accepted: connecting to 127.0.0.1:{port} through it (what crashed)")
        connects(port)
        tap("... and its data connection did not take the machine down", True)

    # Our helper for the data connection of a foreign master.  Kernels
    # since "assign_helper" take the name for nothing here (the
    # expectation's helper is its master's); older ones gave it to the
    # data connection, whose conntrack then starts with our zeroed data.
    port = next_port()
    err = ctnl.expect(f, port, helper="ftp-embryo")
    if err:
        tap(f'helper "ftp-embryo" for the data connection of a foreign master: '
            f"refused ({os.strerror(err)})", True)
        f.close()
        return
    d = data_conn(port)
    tap('helper "ftp-embryo" for the data connection of a foreign master: '
        "accepted, the data connection admitted", d is not None, show_exps())
    helper = ctnl.helper_of(d.cport, port) if d else None
    ASSIGNS = helper == "ftp-embryo"
    if ASSIGNS:
        note("the data connection carries our helper")
        refuses_everything(d)
    elif d:
        tap(f"... without a helper: this kernel names none for it ({helper!r})",
            helper == "", helper)
        d.close()
    f.close()


def glue():
    """Case 1, through NFQUEUE: a verdict may carry an expectation for the
    queued packet's conntrack (NFQA_EXP), which ctnetlink's glue makes
    with the same expect function lookup, and which takes
    CTA_EXPECT_HELP_NAME as the data connection's helper."""
    if GLUE != "yes":
        note(f"NFQUEUE: no conntrack glue in this kernel ({GLUE}): NFQA_EXP makes nothing")
        return
    global QUEUE_SOCK
    try:
        q = QUEUE_SOCK = Queue()
    except OSError as e:
        tap("NFQUEUE: the attacker binds a queue", False, repr(e))
        return
    if not tap("NFQUEUE: the attacker binds a queue and queues its own commands",
               run("iptables", *QUEUE)):
        return
    f = control(QFTP, greet=False)
    f.rep("220 scripted\r\n")
    q.cmd(f, "USER anonymous\r\n")
    f.rep("331 password\r\n")
    q.cmd(f, "PASS x\r\n")
    f.rep("230 in\r\n")
    port = next_port()
    err = q.cmd(f, "NOOP\r\n", expect_body(port, fn="ftp-embryo"))
    f.rep("200 ok\r\n")
    made = exps_at(port)
    tap('NFQUEUE: a verdict\'s expectation naming "ftp-embryo" on a master of '
        "the ftp helper is not made", err == 0 and not made,
        f"verdict errno {err}\n{show_exps()}")
    if made:
        risky(f"made: connecting to 127.0.0.1:{port} through it (what crashed)")
        connects(port)
    port = next_port()
    err = q.cmd(f, "NOOP\r\n", expect_body(port, helper="ftp-embryo"))
    f.rep("200 ok\r\n")
    d = data_conn(port)
    helper = d and ctnl.helper_of(d.cport, port)
    if tap('NFQUEUE: one giving its data connection our helper is made, and '
           "the data connection carries it", err == 0 and helper == "ftp-embryo",
           f"verdict errno {err}, helper {helper!r}\n{show_exps()}"):
        refuses_everything(d)
    elif d:
        d.close()
    run("iptables", "-D", *QUEUE[1:])
    f.close()


def our_masters():
    """Case 2: the attacker's expectations on masters of ours."""
    m = control(OURS)
    before = stats()
    m.cmd("PASV\r\n")
    p1, p2, p3 = next_port(), next_port(), next_port()
    err = ctnl.expect(m, p1, fn="nat-follow-master", nat=(LO, p1, 0))
    tap("on our master mid-negotiation, an expectation with the kernel's "
        "nat-follow-master is accepted, and admits its connection",
        err == 0 and connects(p1), f"errno {err}\n{show_exps()}")
    err = ctnl.expect(m, p2)
    tap("... one without an expect function likewise",
        err == 0 and connects(p2), f"errno {err}\n{show_exps()}")
    m.rep(f"227 Entering Passive Mode ({hostport(LO, p3)}).\r\n")
    tap("then the 227 opens the module's own pinhole",
        [e[2] for e in exps_of(m)] == [p3], show_exps())
    tap("... which carries the transfer", transfer(m, p3))
    tap("... and is gone after the 226", wait_until(lambda: not exps_of(m)),
        show_exps())
    after = stats()
    d = delta(before, after, "expect_created", "expect_used", "flows_created",
              "flows_completed", "expect_failed", "flows_aborted")
    tap("... counted as one pinhole made and used, one negotiation completed",
        d == {"expect_created": 1, "expect_used": 1, "flows_created": 1,
              "flows_completed": 1, "expect_failed": 0, "flows_aborted": 0}, d)
    rows = flows()
    tap("... and the flows file has no row for it", not rows, "\n".join(rows))
    m.close()

    # Before the first byte: the module takes such a pinhole over as one a
    # peer router copied (ha.c), expect function and all.
    n = control(OURS, greet=False)
    p4, p5 = next_port(), next_port()
    err = ctnl.expect(n, p4, fn="nat-follow-master", nat=(LO, p4, 0))
    before = stats()
    n.login()
    rows = flows()
    tap("an expectation on a fresh master of ours is taken over at its first bytes",
        err == 0 and any(f"127.0.0.1:{p4}" in r for r in rows),
        f"errno {err}\n" + "\n".join(rows))
    tap("... admits its connection, counted as a pinhole of ours used",
        connects(p4) and stats()["expect_used"] == before["expect_used"] + 1,
        delta(before, stats(), "expect_used"))
    n.pasv(p5)
    tap("... and the control connection then negotiates as any",
        [e[2] for e in exps_of(n)] == [p5] and transfer(n, p5) and
        wait_until(lambda: not exps_of(n)), show_exps())
    n.close()
    tap("... no record, row or pinhole left",
        wait_until(lambda: stats()["connections_tracked"] == 0) and
        not flows() and not ctnl.expectations(), f"{stats()}\n{show_exps()}")

    # Only a pinhole shaped as the module makes them is taken over; any
    # other on a fresh master is removed at its first bytes, and counted.
    for what, port, kw, counter in (
            ("to port 1000, below min_port", 1000, {},
             "refused_privileged_port"),
            ("from any source", next_port(), {"src_mask": "0.0.0.0"},
             "expect_failed")):
        n = control(OURS, greet=False)
        err = ctnl.expect(n, port, **kw)
        before = stats()
        n.login()
        after = stats()
        tap(f"an expectation {what} on a fresh master is not taken over: "
            f"removed, counted in {counter}",
            err == 0 and not exps_of(n) and not flows() and
            after[counter] == before[counter] + 1 and
            after["expect_created"] == before["expect_created"],
            f"errno {err}\n{delta(before, after, counter, 'expect_created')}\n"
            f"{show_exps()}")
        n.close()


def mid_negotiation():
    """Case 3: detach, swap, delete and flush while a pinhole is open."""
    before = stats()
    a, b, c = control(OURS), control(OURS), control(OURS)
    pa, pb, pc = next_port(), next_port(), next_port()
    for ctl, port in ((a, pa), (b, pb), (c, pc)):
        ctl.pasv(port)
    tap("three negotiations, each with its pinhole",
        sorted(e[2] for e in ctnl.expectations()) == [pa, pb, pc], show_exps())

    err = ctnl.set_helper(a, "ftp")
    tap('swapping our helper for "ftp" on a live conntrack: refused (EBUSY)',
        err == errno.EBUSY, f"errno {err}")
    tap("... the pinhole and helper stay",
        [e[2] for e in exps_of(a)] == [pa] and
        ctnl.helper_of(a.cport, OURS) == "ftp-embryo", show_exps())
    err = ctnl.set_helper(a, "")
    detached = err == 0
    if err == errno.EOPNOTSUPP:
        tap("this kernel refuses to detach a helper (EOPNOTSUPP)",
            ctnl.helper_of(a.cport, OURS) == "ftp-embryo")
    else:
        tap("detaching our helper mid-negotiation: done, the pinhole goes with it",
            detached and ctnl.helper_of(a.cport, OURS) == "" and not exps_of(a),
            f"errno {err}\n{show_exps()}")
        errs = [ctnl.set_helper(a, name) for name in ("ftp-embryo", "ftp")]
        tap("... and no helper can be attached to it again (EBUSY)",
            errs == [errno.EBUSY] * 2, errs)
    a.cmd("NOOP\r\n")     # the detached control connection carries on
    a.rep("200 ok\r\n")
    # No destroy callback will come for the detached one's record, which
    # holds a reference to its conntrack: deleted now, that conntrack stays
    # allocated until the namespace's GC (every 10 s) reaps the record.
    # Reading the stats or flows would reap it too: neither is read until
    # it is checked below.
    held = unheld()
    if detached:
        run("conntrack", "-D", "-p", "tcp", "--orig-port-src", str(a.cport),
            "--orig-port-dst", str(OURS))

    tap("conntrack -D of a control connection mid-negotiation",
        run("conntrack", "-D", "-p", "tcp", "--orig-port-src", str(b.cport),
            "--orig-port-dst", str(OURS)) and not exps_of(b), show_exps())
    tap("conntrack -F expect mid-negotiation",
        run("conntrack", "-F", "expect") and not ctnl.expectations(), show_exps())
    tap("... and the flushed pinhole admits nothing", not connects(pc))
    c.cmd("RETR file\r\n")
    c.rep("425 No data connection.\r\n")
    pc2 = next_port()
    c.pasv(pc2)
    tap("... the same control connection negotiates again",
        [e[2] for e in exps_of(c)] == [pc2] and transfer(c, pc2) and
        wait_until(lambda: not exps_of(c)), show_exps())
    for ctl in (a, b, c):
        ctl.close()
    if detached:
        t0 = time.monotonic()
        tap("the detached connection's deleted conntrack is let go within the "
            "GC interval, nobody reading the module's table",
            wait_until(lambda: unheld() == held, 12),
            f"conntracks allocated but not in the table: {unheld()}, before {held}")
        note(f"... after {time.monotonic() - t0:.1f} s more")
    tap("afterwards no record left",
        wait_until(lambda: stats()["connections_tracked"] == 0), stats())
    after = stats()
    tap("... no expectation, no flows row", not ctnl.expectations() and not flows(),
        show_exps())
    tap("... and the counters add up", *consistent(before, after))
    fresh_transfer("afterwards")


def fresh_transfer(when):
    m = control(OURS)
    port = next_port()
    m.pasv(port)
    opened = [e[2] for e in exps_of(m)] == [port]
    ok = opened and transfer(m, port, 65536)
    m.cmd("QUIT\r\n")
    m.rep("221 bye\r\n")
    m.close()
    tap(f"{when}: a fresh transfer in the same namespace works, no pinhole left",
        ok and wait_until(lambda: not ctnl.expectations()),
        f"pinhole opened {opened}\n{show_exps()}")


def hostile_peer():
    """Case 5: a conntrackd on a peer router replays expectations of
    ftp-embryo for a master that here has the kernel's ftp helper."""
    f = control(KFTP)
    f.cmd("PASV\r\n")       # lines, so that the helper data is not zero
    f.rep("502 no\r\n")
    port = next_port()
    err = ctnl.expect(f, port, helper="ftp-embryo", fn="ftp-embryo",
                      nat=(LO, port, 0), flags=0, cls=0)
    tap('a replayed expectation with expect function "ftp-embryo" and NAT: '
        "refused (EINVAL)", err == errno.EINVAL,
        f"errno {err}\n{show_exps()}")
    if err == 0:
        risky(f"accepted: connecting to 127.0.0.1:{port} through it")
        connects(port)
    before = stats()
    for fn, helper in ((None, "ftp-embryo"), ("nat-follow-master", "ftp-embryo"),
                       ("nat-follow-master", None)):
        port = next_port()
        err = ctnl.expect(f, port, helper=helper, fn=fn, nat=(LO, port, 0),
                          flags=0)
        what = f"fn {fn}, helper {helper}, NAT"
        if err:
            tap(f"replayed ({what}): refused ({os.strerror(err)})", True)
            continue
        tap(f"replayed ({what}): accepted and harmless, its connection admitted",
            connects(port), show_exps())
    after = stats()
    tap("... no pinhole of ours made or used for any of them",
        delta(before, after, "expect_created", "expect_used") ==
        {"expect_created": 0, "expect_used": 0} and after["expect_live"] == 0,
        delta(before, after, "expect_created", "expect_used"))
    f.close()


def unload():
    """Case 4: rmmod with the attacker's expectations everywhere."""
    keep = {}       # data port -> whether it must work after rmmod
    # A master of ours with the module's pinhole, one with the attacker's,
    # and one whose attacker-made pinhole the module took over.
    a = control(OURS)
    pa = next_port()
    a.pasv(pa)
    b = control(OURS)
    pb = next_port()
    b.cmd("PASV\r\n")
    err_b = ctnl.expect(b, pb, fn="nat-follow-master", nat=(LO, pb, 0))
    c = control(OURS, greet=False)
    pc = next_port()
    err_c = ctnl.expect(c, pc)
    c.login()
    keep.update({pa: False, pb: False, pc: False})
    # Foreign masters: the ftp helper's own pinhole, one the attacker gave
    # our helper for its data connection (on kernels that take the name,
    # case 1), one with the kernel's expect function, and the review's.
    f1, f2, f3, f4 = control(KFTP), control(KFTP), control(KFTP), control(KFTP)
    pf1, pf2, pf3, pf4 = next_port(), next_port(), next_port(), next_port()
    f1.pasv(pf1)
    errs = [err_b, err_c,
            ctnl.expect(f2, pf2, helper="ftp-embryo"),
            ctnl.expect(f3, pf3, fn="nat-follow-master", nat=(LO, pf3, 0))]
    err_f4 = ctnl.expect(f4, pf4, fn="ftp-embryo")
    keep.update({pf1: True, pf2: not ASSIGNS, pf3: True, pf4: False})
    foreign = [f1, f2, f3, f4]
    # ... and one that a queue verdict gave our helper.
    if QUEUE_SOCK and run("iptables", *QUEUE):
        g = control(QFTP, greet=False)
        g.rep("220 scripted\r\n")
        pg = next_port()
        errs.append(QUEUE_SOCK.cmd(g, "NOOP\r\n", expect_body(pg, helper="ftp-embryo")))
        g.rep("200 ok\r\n")
        run("iptables", "-D", *QUEUE[1:])
        keep[pg] = False
        foreign.append(g)
    made = sorted(e[2] for e in ctnl.expectations())
    want = sorted(p for p in keep if p != pf4)
    tap(f"before rmmod: pinholes on three masters of ours and {len(foreign) - 1} "
        "foreign ones", made == want and not any(errs),
        f"errors {errs + [err_f4]}\n{show_exps()}")

    tap("the CT rules removed", helpers_off())
    rc, out = ask("rmmod")
    if not tap("rmmod nf_ftp_embryo", rc == 0, "\n".join(out)):
        return False
    left = sorted(e[2] for e in ctnl.expectations())
    tap("after rmmod: only the expectations that call nothing of ours are left",
        left == sorted(p for p, k in keep.items() if k), show_exps())
    got = {p: connects(p) for p in keep}
    tap("... connecting to every formerly expected port: the kernel's own still "
        "admit, ours admit nothing, and the machine stands", got == keep,
        f"got {got}\nwant {keep}")
    for ctl in [a, b, c] + foreign:
        ctl.close()
    rc, out = ask("insmod")
    return tap("insmod nf_ftp_embryo again", rc == 0, "\n".join(out))


def main():
    if not setup():
        return 1
    foreign_master()
    glue()
    our_masters()
    mid_negotiation()
    hostile_peer()
    if unload():
        tap("the CT rules back", helpers_on() and
            wait_until(lambda: os.path.exists(STATS)))
        fresh_transfer("after the reload")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a TAP line rather than a bare traceback
        tap(f"the attacker ran to its end ({type(e).__name__})", False, repr(e))
        raise
