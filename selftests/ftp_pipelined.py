#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A client that pipelines its commands, against vsftpd through the router.

Run in the client namespace by ftp_pipelined.sh.  Prints TAP "ok - " lines.
Usage: ftp_pipelined.py HOST FAMILY(4|6) REFERENCE_FILE RTR_PID
(RTR_PID: any process in the router's namespace, whose /proc/PID/net is
read directly.)

  - PORT/EPRT (active) or PASV/EPSV (passive), TYPE I and RETR sent in one
    segment, and again each in a segment of its own before any reply:
    the file arrives byte for byte through the pinhole, and nothing is
    left afterwards;
  - more commands before a reply than the helper follows: the PASV among
    them opens nothing (pipeline_overflow counts it), and once all are
    answered the connection is inspected again, also after 300.
"""
import socket
import sys

from nsutil import ProcNet, Tap

HOST, FAM, REF, RTR_PID = sys.argv[1:5]
RTR = ProcNet(RTR_PID)
AF = socket.AF_INET if FAM == "4" else socket.AF_INET6
DATA = open(REF, "rb").read()
DEPTH = 16		# commands unanswered that the helper still follows


tap = Tap()


def counter(name):
    """A counter on rtr; 0 if the module has none by that name (the
    deltas checked then fail without stopping the rest)."""
    return RTR.stats().get(name, 0)


def state():
    return f"expectations: {RTR.expectations()}\nflows: {RTR.flows()}"


def only_overflow_rows():
    """No flow row but the refusal a pipeline overflow leaves (issue 26:
    every reason reaches the row): IDLE, naming nothing."""
    return all(" IDLE " in f" {r} " and r.split()[-2] == "pipeline_overflow"
               for r in RTR.flows())


class Ctl:
    """The control connection: raw sends, and replies read one by one."""

    def __init__(self):
        self.sock = socket.create_connection((HOST, 21), timeout=20)
        self.buf = b""
        self.reply()		# greeting
        if self.cmd("USER anonymous").startswith("331"):
            self.cmd("PASS x@")

    def send(self, *lines, apart=False):
        """LINES in one segment, or with APART each in its own."""
        if apart:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for line in lines:
                self.sock.sendall(line.encode() + b"\r\n")
        else:
            self.sock.sendall("".join(l + "\r\n" for l in lines).encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("control connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        """One reply, a multi-line one whole; returns its last line."""
        line = self.line()
        if line[3:4] == "-":
            code = line[:3]
            while not (line[:3] == code and line[3:4] == " "):
                line = self.line()
        return line

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def close(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.sock.close()


def passive_target(ctl, reply):
    if reply.startswith("227"):
        nums = reply[reply.index("(") + 1:reply.index(")")].split(",")
        return ".".join(nums[:4]), int(nums[4]) * 256 + int(nums[5])
    port = int(reply[reply.index("(") + 4:reply.rindex(")") - 1])
    return ctl.sock.getpeername()[0], port


def recv_all(conn):
    got = bytearray()
    while chunk := conn.recv(65536):
        got += chunk
    conn.close()
    return bytes(got)


def pipelined_retr(mode, tag, apart=False):
    """MODE, TYPE I and RETR before any reply; the file must come through."""
    created = counter("expect_created")
    ctl = Ctl()
    replies = []
    got = b""
    try:
        if mode in ("PORT", "EPRT"):
            lsock = socket.create_server(("", 0), family=AF)
            lsock.settimeout(10)
            me = ctl.sock.getsockname()[0]
            port = lsock.getsockname()[1]
            if mode == "PORT":
                neg = "PORT %s,%d,%d" % (me.replace(".", ","), port >> 8,
                                         port & 255)
            else:
                neg = f"EPRT |{2 if ':' in me else 1}|{me}|{port}|"
            ctl.send(neg, "TYPE I", "RETR file.bin", apart=apart)
            replies += [ctl.reply(), ctl.reply(), ctl.reply()]
            if replies[2].startswith("150"):
                conn, _ = lsock.accept()
                got = recv_all(conn)
                replies.append(ctl.reply())
            lsock.close()
        else:
            ctl.send(mode, "TYPE I", "RETR file.bin", apart=apart)
            replies.append(ctl.reply())
            conn = socket.create_connection(passive_target(ctl, replies[0]),
                                            timeout=20)
            replies += [ctl.reply(), ctl.reply()]
            got = recv_all(conn)
            replies.append(ctl.reply())
    except OSError as e:
        replies.append(f"error: {e}")
    codes = " ".join(r[:3] for r in replies)
    tap(f"{tag}: replies in order ({codes})",
        [r[:3] for r in replies] ==
        ["227" if mode == "PASV" else "229" if mode == "EPSV" else "200",
         "200", "150", "226"], "\n".join(replies))
    tap(f"{tag}: file byte for byte", got == DATA,
        f"{len(got)} bytes, want {len(DATA)}")
    tap(f"{tag}: no expectation and no flow row after the 226",
        not RTR.expectations() and not RTR.flows(), state())
    n = counter("expect_created") - created
    tap(f"{tag}: exactly one expectation created", n == 1,
        f"expect_created +{n}")
    ctl.close()


def blocked(target):
    """Whether a connection to TARGET fails to get through the router."""
    try:
        socket.create_connection(target, timeout=3).close()
    except OSError:
        return True
    return False


def past_the_bound(tag):
    """DEPTH commands and a PASV before a reply: the 227 opens nothing."""
    overflows = counter("pipeline_overflow")
    created = counter("expect_created")
    ctl = Ctl()
    mode = "PASV" if FAM == "4" else "EPSV"
    ctl.send(*(["NOOP"] * DEPTH + [mode]))
    replies = [ctl.reply() for _ in range(DEPTH + 1)]
    tap(f"{tag}: {DEPTH} NOOP and {mode} answered in order",
        all(r.startswith("200") for r in replies[:DEPTH]) and
        replies[DEPTH][:3] in ("227", "229"), "\n".join(replies))
    tap(f"{tag}: the {mode} past the bound opened nothing",
        not RTR.expectations() and only_overflow_rows() and
        counter("expect_created") == created, state())
    n = counter("pipeline_overflow") - overflows
    tap(f"{tag}: pipeline_overflow counted once", n == 1,
        f"pipeline_overflow +{n}")
    tap(f"{tag}: its data port stays closed",
        blocked(passive_target(ctl, replies[DEPTH])))
    # Everything answered: a transfer goes through again.
    ctl.send(mode, "TYPE I", "RETR file.bin")
    replies = [ctl.reply()]
    got = b""
    try:
        conn = socket.create_connection(passive_target(ctl, replies[0]),
                                        timeout=20)
        replies += [ctl.reply(), ctl.reply()]
        got = recv_all(conn)
        replies.append(ctl.reply())
    except OSError as e:
        replies.append(f"error: {e}")
    tap(f"{tag}: inspected again once answered, file byte for byte",
        got == DATA and replies[-1].startswith("226"),
        "\n".join(replies) + f"\n{len(got)} bytes")
    tap(f"{tag}: no expectation, no flow row but the overflow's, afterwards",
        not RTR.expectations() and only_overflow_rows(), state())
    ctl.close()


def flood(n, tag):
    """N commands at once, all answered: the next transfer opens."""
    ctl = Ctl()
    ctl.send(*(["NOOP"] * n))
    replies = [ctl.reply() for _ in range(n)]
    tap(f"{tag}: {n} NOOP answered",
        all(r.startswith("200") for r in replies))
    mode = "PASV" if FAM == "4" else "EPSV"
    created = counter("expect_created")
    reply = ctl.cmd(mode)
    exp = RTR.expectations()
    tap(f"{tag}: {mode} after {n} answered opens the pinhole",
        len(exp) == 1 and counter("expect_created") == created + 1,
        f"{reply}\n{state()}")
    got = b""
    try:
        conn = socket.create_connection(passive_target(ctl, reply),
                                        timeout=20)
        ctl.send("RETR file.bin")
        r150 = ctl.reply()
        got = recv_all(conn)
        r226 = ctl.reply()
    except OSError as e:
        r150 = r226 = f"error: {e}"
    tap(f"{tag}: file byte for byte ({r150[:3]} {r226[:3]})",
        got == DATA and r226.startswith("226"), f"{len(got)} bytes")
    tap(f"{tag}: no expectation, no flow row but the overflow's, afterwards",
        not RTR.expectations() and only_overflow_rows(), state())
    ctl.close()


v = f"ipv{FAM}"
modes = ["PORT", "PASV", "EPRT", "EPSV"] if FAM == "4" else ["EPRT", "EPSV"]
for mode in modes:
    pipelined_retr(mode, f"{v} {mode}+TYPE+RETR in one segment")
for mode in modes[:2]:
    pipelined_retr(mode, f"{v} {mode}+TYPE+RETR in three segments",
                   apart=True)
past_the_bound(f"{v} past the bound")
flood(300, f"{v} 300 pipelined")
sys.exit(1 if tap.failed else 0)
