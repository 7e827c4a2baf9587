#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A scripted FTP peer pair for the segmentation and refusal selftests.

  ftp_scripted.py server ADDR          serve on ADDR:21 until killed
  ftp_scripted.py client ADDR CASE     run CASE against ADDR:21

Both ends disable Nagle and pause between the two halves of a split line,
so each half leaves in its own TCP segment.  The client tells the server
how to split its next reply with "SITE SPLIT n" (a command the helper
ignores), and which PORT/EPRT to refuse with "SITE REFUSE code".

The client prints one "ok"/"fail" line per transfer it attempts, then
"splits N", the number of lines that crossed the router in two segments,
and exits non-zero if any transfer failed.  CASEs:
  pasv-split, epsv-split, port-split, eprt-split   the command split at every
      byte position (1 .. len-1), each followed by a transfer
  227-split, 229-split   the server's reply split at every byte position
  port-refused, eprt-refused   the server refuses PORT/EPRT (500, 501, 522)
      and later tries to connect anyway: that connection must not get
      through the firewall
"""
import socket
import sys
import time

PAUSE = 0.03		# lets the first half leave before the second
DATA = bytes(range(256)) * 16
CONNECT_TIMEOUT = 2


def send_split(sock, line, at):
    """Send LINE (bytes) in two segments, the first AT bytes long.
    Returns whether it was split."""
    if 0 < at < len(line):
        sock.sendall(line[:at])
        time.sleep(PAUSE)
        sock.sendall(line[at:])
        return True
    sock.sendall(line)
    return False


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class Lines:
    """CRLF-terminated lines from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()


def recv_all(sock):
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


# ---------------------------------------------------------------- server

def serve_one(ctl, family):
    lines = Lines(ctl)
    split = 0
    refuse = None
    active = None		# (host, port) from PORT/EPRT
    passive = None		# listening socket after PASV/EPSV

    def reply(text):
        nonlocal split
        send_split(ctl, (text + "\r\n").encode(), split)
        split = 0

    reply("220 scripted")
    while True:
        try:
            cmd = lines.line()
        except EOFError:
            return
        verb, _, arg = cmd.partition(" ")
        verb = verb.upper()
        if verb == "SITE":
            what, _, n = arg.partition(" ")
            if what == "SPLIT":
                split = int(n)
            elif what == "REFUSE":
                refuse = n
            ctl.sendall(b"200 noted\r\n")
        elif verb in ("PASV", "EPSV"):
            if passive:
                passive.close()
            passive = socket.socket(family)
            passive.bind((ctl.getsockname()[0], 0))
            passive.listen(1)
            port = passive.getsockname()[1]
            if verb == "PASV":
                h = ctl.getsockname()[0].replace(".", ",")
                reply("227 Entering Passive Mode (%s,%d,%d)." %
                      (h, port >> 8, port & 255))
            else:
                reply("229 Entering Extended Passive Mode (|||%d|)" % port)
        elif verb in ("PORT", "EPRT"):
            if verb == "PORT":
                f = arg.split(",")
                active = (".".join(f[:4]), int(f[4]) * 256 + int(f[5]))
            else:
                f = arg[1:-1].split(arg[0])
                active = (f[1], int(f[2]))
            if refuse:
                reply("%s %s refused by script" % (refuse, verb))
                refuse = None
            else:
                reply("200 %s ok" % verb)
        elif verb == "RETR":
            try:
                if passive:
                    passive.settimeout(CONNECT_TIMEOUT)
                    data, _ = passive.accept()
                    passive.close()
                    passive = None
                else:
                    data = socket.create_connection(active, CONNECT_TIMEOUT)
            except OSError:
                ctl.sendall(b"425 no data connection\r\n")
                continue
            ctl.sendall(b"150 sending\r\n")
            data.sendall(DATA)
            data.close()
            ctl.sendall(b"226 done\r\n")
        elif verb == "QUIT":
            ctl.sendall(b"221 bye\r\n")
            return
        else:
            ctl.sendall(b"502 not scripted\r\n")


def server(addr):
    family = family_of(addr)
    lsock = socket.socket(family)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, 21))
    lsock.listen(8)
    while True:
        ctl, _ = lsock.accept()
        nodelay(ctl)
        try:
            serve_one(ctl, family)
        except (OSError, ValueError, IndexError) as e:
            print("server: %s" % e, file=sys.stderr)
        ctl.close()


# ---------------------------------------------------------------- client

class Client:
    def __init__(self, addr):
        self.family = family_of(addr)
        self.ctl = nodelay(socket.create_connection((addr, 21), 5))
        self.ctl.settimeout(10)
        self.lines = Lines(self.ctl)
        self.splits = 0		# lines split in either direction
        self.expect("220")

    def expect(self, code):
        line = self.lines.line()
        if not line.startswith(code):
            raise RuntimeError("expected %s, got %r" % (code, line))
        return line

    def cmd(self, text, code, at=0):
        self.splits += send_split(self.ctl, (text + "\r\n").encode(), at)
        return self.expect(code)

    def me(self):
        return self.ctl.getsockname()[0]

    def passive(self, verb, at, reply_at):
        """Negotiate with PASV/EPSV (split at AT, reply split at REPLY_AT),
        then RETR over the data connection.  Returns the bytes received."""
        if reply_at:
            self.cmd("SITE SPLIT %d" % reply_at, "200")
        line = self.cmd(verb, "227" if verb == "PASV" else "229", at)
        self.splits += 0 < reply_at < len(line) + 2
        inner = line[line.index("(") + 1:line.index(")")]
        if verb == "PASV":
            f = inner.split(",")
            port = int(f[4]) * 256 + int(f[5])
        else:
            port = int(inner.split(inner[0])[3])
        host = self.ctl.getpeername()[0]
        data = socket.create_connection((host, port), CONNECT_TIMEOUT)
        self.cmd("RETR x", "150")
        got = recv_all(data)
        data.close()
        self.expect("226")
        return got

    def active_cmd(self, verb, port):
        if verb == "PORT":
            return "PORT %s,%d,%d" % (self.me().replace(".", ","),
                                      port >> 8, port & 255)
        proto = 2 if self.family == socket.AF_INET6 else 1
        return "EPRT |%d|%s|%d|" % (proto, self.me(), port)

    def active(self, verb, at, refuse=None):
        """Negotiate with PORT/EPRT split at AT, then RETR.  With REFUSE the
        server answers PORT with that code and connects anyway: returns
        None when nothing arrived."""
        lsock = socket.socket(self.family)
        lsock.bind((self.me(), 0))
        lsock.listen(1)
        lsock.settimeout(CONNECT_TIMEOUT + 2)
        port = lsock.getsockname()[1]
        if refuse:
            self.cmd("SITE REFUSE %s" % refuse, "200")
        self.cmd(self.active_cmd(verb, port), refuse or "200", at)
        send_split(self.ctl, b"RETR x\r\n", 0)
        try:
            data, _ = lsock.accept()
        except socket.timeout:
            lsock.close()
            self.expect("425")
            return None
        lsock.close()
        self.expect("150")
        got = recv_all(data)
        data.close()
        self.expect("226")
        return got


def client(addr, case):
    c = Client(addr)
    kind, _, how = case.partition("-")
    verb = kind.upper()
    failed = 0

    def result(what, ok):
        nonlocal failed
        print("%s %s" % ("ok" if ok else "fail", what))
        failed += not ok

    if how == "refused":
        for code in ("500", "501", "522"):
            got = c.active(verb, 0, refuse=code)
            result("%s refused with %s: no data connection" % (verb, code),
                   got is None)
    elif kind in ("227", "229"):
        verb = "PASV" if kind == "227" else "EPSV"
        # Measure the reply once (the next negotiation replaces this
        # one), then split it at every position.
        line = c.cmd(verb, kind)
        for at in range(1, len(line) + 2):
            got = c.passive(verb, 0, at)
            result("%s split at %d" % (kind, at), got == DATA)
    elif verb in ("PASV", "EPSV"):
        for at in range(1, len(verb) + 2):
            got = c.passive(verb, at, 0)
            result("%s split at %d" % (verb, at), got == DATA)
    else:
        length = len(c.active_cmd(verb, 65535)) + 2
        for at in range(1, length):
            got = c.active(verb, at)
            result("%s split at %d" % (verb, at), got == DATA)
    c.cmd("QUIT", "221")
    print("splits %d" % c.splits)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        sys.exit(client(sys.argv[2], sys.argv[3]))
