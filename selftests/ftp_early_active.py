#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Active mode's pinhole opens at PORT/EPRT (issue 14), for ftp_early_active.sh.

  ftp_early_active.py pyftpd ROOT ADDR...
                                     pyftpdlib on srv, port 21 of each
                                     ADDR, anonymous, read-only, serving ROOT
  ftp_early_active.py scripted       the scripted cases below, TAP lines
  ftp_early_active.py strict         the same PORT under strict_active=1
  ftp_early_active.py scripted-one   only: an IPv4 PORT opens at once

Run in the guest with lib.sh's cli/rtr/srv namespaces up, the helper on
rtr and (for scripted/strict) nothing listening on srv:21.  One process
plays both ends, switching namespaces with setns(2) as ftp_attacks.py
does; each line reaches the other end before the next is sent, so rtr
sees them in order.  Scripted cases: a server that connects back before
its 200 (as pyftpdlib does), the pinhole there right after an accepted
PORT/EPRT and gone after a 5xx to it, after ABOR, QUIT, RST, a 226 and a
425, and a PORT/EPRT that fails a check opens nothing.
"""
import ipaddress
import socket
import struct
import sys

import scripted
from nsutil import Ports, Tap, enter, expectations, rtr_read, stats, wait_until
from scripted import CLI4, CLI6, SRV4, SRV6, Listener

THIRD4, THIRD6 = "10.0.1.3", "fd00:1::3"
NFE = "/proc/net/nf_ftp_embryo"
DROP_WAIT = 1.5		# seconds a dropped SYN is given before "blocked"
DATA = bytes(range(256)) * 64

next_port = Ports(41000, 1)


def pyftpd(root, addrs):
    # Imported here: the scripted cases need no pyftpdlib.
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import ActiveDTP, FTPHandler
    from pyftpdlib.servers import FTPServer

    class QuickDTP(ActiveDTP):
        # A connection the firewall drops fails in 5 s, not 30.
        timeout = 5

    class Handler(FTPHandler):
        active_dtp = QuickDTP

    auth = DummyAuthorizer()
    auth.add_anonymous(root)
    Handler.authorizer = auth
    enter("srv")
    # A listener per address on one I/O loop: each family keeps its own
    # addresses, so pyftpdlib compares PORT/EPRT with an unmapped peer.
    servers = [FTPServer((addr, 21), Handler) for addr in addrs]
    servers[0].serve_forever()


def pinhole(port):
    """The expectation for data port PORT on rtr, or None."""
    for e in expectations():
        if f"dport={port} " in e + " ":
            return e
    return None


def admits_only(e, src):
    """Does expectation line E admit connections from SRC only?"""
    for field in (e or "").split():
        if field.startswith("src="):
            return ipaddress.ip_address(field[4:]) == ipaddress.ip_address(src)
    return False


class Ctl(scripted.Ctl):
    """A control connection that the server has greeted."""

    def __init__(self, lst, v6):
        super().__init__(lst, v6)
        self.rep("220 scripted\r\n")

    def announce(self, port, addr=None):
        """PORT (IPv4) or EPRT (IPv6) for ADDR:PORT, ADDR the client's."""
        addr = addr or self.me
        if self.v6:
            self.cmd(f"EPRT |2|{addr}|{port}|\r\n")
        else:
            hp = ",".join(addr.split(".") + [str(port >> 8),
                                              str(port & 255)])
            self.cmd(f"PORT {hp}\r\n")

    def verb(self):
        return "EPRT" if self.v6 else "PORT"

    def reset(self):
        """The client aborts the connection: an RST crosses rtr."""
        self.c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        self.c.close()
        self.s.close()


class DataListener:
    """The client's data socket on cli, the port PORT/EPRT announces."""

    def __init__(self, v6, addr=None):
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        self.addr = addr or (CLI6 if v6 else CLI4)
        self.port = next_port()
        enter("cli")
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.addr, self.port))
        self.sock.listen(1)
        self.sock.settimeout(DROP_WAIT)

    def server_connects(self):
        """The server's connection from srv, or None when rtr drops it."""
        fam = self.sock.family
        enter("srv")
        d = socket.socket(fam, socket.SOCK_STREAM)
        d.settimeout(DROP_WAIT)
        try:
            d.connect((self.addr, self.port))
        except OSError:
            d.close()
            return None
        try:
            conn, _ = self.sock.accept()
        except OSError:
            d.close()
            return None
        conn.settimeout(10)
        return d, conn

    def close(self):
        self.sock.close()


def family(v6):
    return "ipv6" if v6 else "ipv4"


def connects_before_200(tap, lst, v6):
    """pyftpdlib's order: connect as PORT/EPRT arrives, then 200."""
    ctl = Ctl(lst, v6)
    dl = DataListener(v6)
    name = f"{family(v6)} {ctl.verb()}, server connects before its 200"
    ctl.announce(dl.port)
    ends = dl.server_connects()
    tap(f"{name}: the data connection gets through", ends is not None,
        "\n".join(expectations()))
    ctl.rep("200 Active data connection established.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    got = b""
    if ends:
        d, conn = ends
        ctl.rep("125 Data connection already open. Transfer starting.\r\n")
        d.sendall(DATA)
        d.close()
        while chunk := conn.recv(65536):
            got += chunk
        conn.close()
        ctl.rep("226 Transfer complete.\r\n")
    else:
        ctl.rep("425 Can't connect to specified address.\r\n")
    tap(f"{name}: the data arrives whole", got == DATA, f"{len(got)} bytes")
    tap(f"{name}: no expectation left",
        wait_until(lambda: not expectations()), "\n".join(expectations()))
    dl.close()
    ctl.close()


def present_after_port(tap, lst, v6):
    """The pinhole is there as soon as PORT/EPRT has crossed rtr."""
    ctl = Ctl(lst, v6)
    dl = DataListener(v6)
    name = f"{family(v6)} {ctl.verb()}"
    created = stats()["expect_created"]
    ctl.announce(dl.port)
    e = pinhole(dl.port)
    tap(f"{name}: pinhole open before the reply", e is not None,
        "\n".join(expectations()))
    tap(f"{name}: it admits the server only",
        admits_only(e, SRV6 if v6 else SRV4), e)
    tap(f"{name}: one expectation created",
        stats()["expect_created"] == created + 1)
    flows = rtr_read(f"{NFE}/flows").split()
    # ... <age> <pinhole> <last refusal> <what it announced>
    tap(f"{name}: flow row in OPENING, pinhole 1",
        "OPENING" in flows and len(flows) >= 3 and flows[-3] == "1",
        " ".join(flows))
    ctl.rep(f"200 {ctl.verb()} command successful.\r\n")
    tap(f"{name}: still open after the 200", pinhole(dl.port) is not None)
    dl.close()
    ctl.close()
    tap(f"{name}: gone with the control connection",
        wait_until(lambda: not expectations()), "\n".join(expectations()))


def ends_with(tap, lst, v6, how):
    """PORT/EPRT opens the pinhole; HOW must close it, unused."""
    ctl = Ctl(lst, v6)
    dl = DataListener(v6)
    name = f"{family(v6)} {ctl.verb()} then {how}"
    ctl.announce(dl.port)
    opened = pinhole(dl.port) is not None
    if how == "500":
        ctl.rep(f"500 Illegal {ctl.verb()} command.\r\n")
    elif how == "ABOR":
        ctl.cmd("ABOR\r\n")
    elif how == "QUIT":
        ctl.cmd("QUIT\r\n")
    elif how == "RST":
        ctl.reset()
    elif how in ("226", "425"):
        ctl.rep(f"200 {ctl.verb()} command successful.\r\n")
        ctl.cmd("LIST\r\n")
        if how == "226":
            ctl.rep("150 Here comes the directory listing.\r\n")
            ctl.rep("226 Directory send OK.\r\n")
        else:
            ctl.rep("425 Failed to establish connection.\r\n")
    gone = wait_until(lambda: pinhole(dl.port) is None)
    tap(f"{name}: opened at {ctl.verb()}, closed at {how}", opened and gone,
        f"opened {opened}, then {expectations()}")
    tap(f"{name}: the server's late connection is dropped",
        dl.server_connects() is None)
    dl.close()
    if how != "RST":
        ctl.close()


def refused(tap, lst, v6, what):
    """A PORT/EPRT that fails a check opens nothing."""
    ctl = Ctl(lst, v6)
    third = THIRD6 if v6 else THIRD4
    dl = DataListener(v6, third if what == "third host" else None)
    if what == "port 1023":
        dl.close()
        dl.port = 1023
    name = f"{family(v6)} {ctl.verb()} to {what}"
    counter = ("refused_bounce" if what == "third host"
               else "refused_privileged_port")
    before = stats()
    ctl.announce(dl.port, third if what == "third host" else None)
    exps = expectations()
    tap(f"{name}: no expectation", not exps, "\n".join(exps))
    after = stats()
    tap(f"{name}: {counter} counted",
        after[counter] == before[counter] + 1 and
        after["expect_created"] == before["expect_created"])
    ctl.rep(f"200 {ctl.verb()} command successful.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    if what == "third host":
        tap(f"{name}: the server's connection is dropped",
            dl.server_connects() is None)
    ctl.rep("425 Can't open data connection.\r\n")
    tap(f"{name}: still nothing", not expectations())
    dl.close()
    ctl.close()


def scripted():
    tap = Tap("early")
    lst = Listener()
    for v6 in (False, True):
        connects_before_200(tap, lst, v6)
        present_after_port(tap, lst, v6)
        for how in ("500", "ABOR", "QUIT", "RST", "226", "425"):
            ends_with(tap, lst, v6, how)
        refused(tap, lst, v6, "third host")
        refused(tap, lst, v6, "port 1023")
    return 1 if tap.failed else 0


def strict():
    """strict_active=1: nothing until the transfer command, as founded."""
    tap = Tap("strict")
    lst = Listener()
    for v6 in (False, True):
        ctl = Ctl(lst, v6)
        dl = DataListener(v6)
        name = f"{family(v6)} {ctl.verb()}"
        ctl.announce(dl.port)
        tap(f"{name}: no pinhole before the reply", pinhole(dl.port) is None,
            "\n".join(expectations()))
        tap(f"{name}: a server connecting before its 200 is dropped",
            dl.server_connects() is None)
        ctl.rep(f"200 {ctl.verb()} command successful.\r\n")
        tap(f"{name}: none after the 200 either", pinhole(dl.port) is None)
        ctl.cmd("RETR file.bin\r\n")
        tap(f"{name}: open at RETR", pinhole(dl.port) is not None,
            "\n".join(expectations()))
        ends = dl.server_connects()
        tap(f"{name}: the server's connection after RETR gets through",
            ends is not None)
        if ends:
            ends[0].close()
            ends[1].close()
        ctl.rep("150 Opening data connection.\r\n")
        ctl.rep("226 Transfer complete.\r\n")
        tap(f"{name}: nothing left after the 226",
            wait_until(lambda: not expectations()))
        dl.close()
        ctl.close()
    return 1 if tap.failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "pyftpd":
        pyftpd(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "strict":
        sys.exit(strict())
    elif sys.argv[1] == "scripted-one":
        one = Tap("early")
        present_after_port(one, Listener(), False)
        sys.exit(1 if one.failed else 0)
    else:
        sys.exit(scripted())
