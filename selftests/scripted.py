# SPDX-License-Identifier: GPL-2.0
"""A scripted FTP control connection across lib.sh's routed topology: this
process plays both the client (in cli) and the server (in srv, port 21),
so a test decides every byte each side sends and when."""
import socket

from nsutil import enter

CLI4, CLI6, SRV4, SRV6 = "10.0.1.2", "fd00:1::2", "10.0.2.2", "fd00:2::2"


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 16))
        if not chunk:
            raise EOFError(f"peer closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


class Listener:
    """The scripted server's control sockets on srv:21, one per family."""

    def __init__(self, backlog=16):
        enter("srv")
        self.socks = {}
        for fam, addr in ((socket.AF_INET, SRV4), (socket.AF_INET6, SRV6)):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, 21))
            s.listen(backlog)
            s.settimeout(5)
            self.socks[fam] = s


class Ctl:
    """One control connection: c is the client's end, s the server's.
    cmd() and rep() return once the other end has read every byte, so the
    router has seen them."""

    def __init__(self, lst, v6=False):
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        self.v6 = v6
        self.me = CLI6 if v6 else CLI4
        enter("cli")
        self.c = socket.socket(fam, socket.SOCK_STREAM)
        self.c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.settimeout(10)
        # Not a third-host address that source selection might prefer.
        self.c.bind((self.me, 0))
        self.c.connect((SRV6 if v6 else SRV4, 21))
        self.s, _ = lst.socks[fam].accept()
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.settimeout(10)

    def cmd(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.c.sendall(data)
        recv_exact(self.s, len(data))

    def rep(self, text):
        data = text.encode() if isinstance(text, str) else text
        self.s.sendall(data)
        recv_exact(self.c, len(data))

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
