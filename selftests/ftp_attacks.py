#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hostile FTP control channels against the helper on rtr.

Run by ftp_attacks.sh in the guest (root, the cli/rtr/srv namespaces of
lib.sh up, the helper attached on rtr, nothing listening on srv:21).  One
process plays both ends: it switches its network namespace with setns(2)
to make the client's sockets in cli, the server's in srv, and to read
rtr's /proc.  Scripted peers, not real servers: each line is received by
the other end before the next one is sent, so rtr sees them in order.

Every case asserts that nothing was opened (no expectation on rtr, and the
data connection the attacker wanted is dropped by the firewall), that the
counter for the refusal moved, and that the same control connection can
still negotiate a normal passive transfer afterwards.  Prints TAP lines.
Usage: ftp_attacks.py MAX_FLOWS        the suite
       ftp_attacks.py --loose           what loose=1 relaxes, and what not
"""
import socket
import struct
import sys
import time

from nsutil import (Frames, Ports, Tap, enter, expectations, hostport, rtr_read,
                    stats, wait_until)
from scripted import CLI4, SRV4, Ctl, Listener, recv_exact

LOOSE = sys.argv[1] == "--loose"
MAX_FLOWS = 0 if LOOSE else int(sys.argv[1])
THIRD_CLI4, THIRD_CLI6, THIRD_SRV4 = "10.0.1.3", "fd00:1::3", "10.0.2.3"
DROP_WAIT = 1.0         # seconds a dropped SYN is given before "refused"

tap = Tap("attack")
next_port = Ports(40000, 1)


def ct_invalid():
    """Packets conntrack on rtr found invalid, summed over CPUs."""
    lines = rtr_read("/proc/net/stat/nf_conntrack").splitlines()
    col = lines[0].split().index("invalid")
    return sum(int(line.split()[col], 16) for line in lines[1:])


def connects(ns, dst, port, bind_ns, bind_addr):
    """Can ns reach bind_addr:port (listening in bind_ns) at dst:port?"""
    fam = socket.AF_INET6 if ":" in bind_addr else socket.AF_INET
    enter(bind_ns)
    lst = socket.socket(fam, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((bind_addr, port))
    lst.listen(1)
    enter(ns)
    c = socket.socket(fam, socket.SOCK_STREAM)
    c.settimeout(DROP_WAIT)
    try:
        c.connect((dst, port))
        return True
    except OSError:
        return False
    finally:
        c.close()
        lst.close()


def passive_connects(port, addr=SRV4):
    return connects("cli", addr, port, "srv", addr)


def active_connects(port, addr=CLI4):
    return connects("srv", addr, port, "cli", addr)


def no_pinhole():
    exps = expectations()
    return tap_detail(not exps, exps)


def tap_detail(cond, detail):
    return cond, "\n".join(detail) if isinstance(detail, list) else detail


def healthy(ctl, name):
    """A normal passive transfer on the same control connection."""
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    opened = any(f"dport={port}" in e for e in expectations())
    ok = opened and passive_connects(port)
    ctl.cmd("RETR file.bin\r\n")
    ctl.rep("150 Opening BINARY mode data connection.\r\n")
    ctl.rep("226 Transfer complete.\r\n")
    closed = wait_until(lambda: not expectations(), 2)
    tap(f"{name}: then a normal transfer works", ok and closed,
        f"pinhole opened {opened}, closed after 226 {closed}")


class Case:
    """Counters and expectations around one attack."""

    def __init__(self, name):
        self.name = name
        self.before = stats()

    def moved(self, counter, at_least=1):
        now = stats()
        d = now.get(counter, 0) - self.before.get(counter, -10**9)
        return tap(f"{self.name}: {counter} counted", d >= at_least,
                   f"{counter} moved by {d}, expected >= {at_least}")

    def nothing_opened(self):
        exps = expectations()
        return tap(f"{self.name}: no expectation", not exps, "\n".join(exps))

    def refused(self, what, reached):
        return tap(f"{self.name}: {what} dropped by the firewall",
                   not reached)


# --- the cases -------------------------------------------------------------

def baseline(lst):
    ctl = Ctl(lst)
    ctl.rep("220 scripted\r\n")
    healthy(ctl, "baseline")
    ctl.close()


def bounce(ctl, c):
    """A PORT naming a third host, which the server takes: refused."""
    port = next_port()
    ctl.cmd(f"PORT {hostport(THIRD_CLI4, port)}\r\n")
    ctl.rep("200 PORT command successful.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    c.nothing_opened()
    c.refused("server to third host", active_connects(port, THIRD_CLI4))
    ctl.rep("425 Failed to establish connection.\r\n")
    c.moved("refused_bounce")


def bounce_port(lst):
    c = Case("bounce PORT to a third host")
    ctl = Ctl(lst)
    bounce(ctl, c)
    healthy(ctl, c.name)
    ctl.close()


def bounce_eprt(lst, v6):
    c = Case(f"EPRT to a third host (IPv{6 if v6 else 4})")
    ctl = Ctl(lst, v6)
    port = next_port()
    third = THIRD_CLI6 if v6 else THIRD_CLI4
    ctl.cmd(f"EPRT |{2 if v6 else 1}|{third}|{port}|\r\n")
    ctl.rep("200 EPRT command successful.\r\n")
    ctl.cmd("STOR up.bin\r\n")
    c.nothing_opened()
    c.refused("server to third host", active_connects(port, third))
    ctl.rep("425 Failed to establish connection.\r\n")
    c.moved("refused_bounce")
    if not v6:
        healthy(ctl, c.name)
    ctl.close()


def port_refused_by_server(lst):
    c = Case("PORT the server refused")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd(f"PORT {hostport(CLI4, port)}\r\n")
    ctl.rep("500 Illegal PORT command.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    c.nothing_opened()
    c.refused("server to client", active_connects(port))
    ctl.rep("425 Use PORT or PASV first.\r\n")
    c.moved("flows_aborted_negative_reply")
    healthy(ctl, c.name)
    ctl.close()


def pasv_third(lst):
    c = Case("227 naming a third host")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(THIRD_SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to third host", passive_connects(port, THIRD_SRV4))
    c.refused("client to server", passive_connects(port))
    c.moved("refused_third_party")
    healthy(ctl, c.name)
    ctl.close()


def pasv_unsolicited(lst):
    c = Case("227 without PASV")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("NOOP\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("refused_unsolicited")
    healthy(ctl, c.name)
    ctl.close()


def echo_550(lst):
    c = Case("227 echoed in a 550 text")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep(f"550 227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("replies_5xx")
    c.moved("flows_aborted_negative_reply")
    healthy(ctl, c.name)
    ctl.close()


def echo_continuation(lst):
    c = Case("227 inside a NNN- continuation")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep("211-Status of the server:\r\n"
            f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n"
            "211 End of status\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    # Only the closing line is a reply: the inner "227" is not one.
    now = stats()
    d2 = now["replies_2xx"] - c.before["replies_2xx"]
    tap(f"{c.name}: only the closing 211 counted as a reply", d2 == 1,
        f"replies_2xx moved by {d2}")
    c.moved("flows_aborted")
    healthy(ctl, c.name)
    ctl.close()


def port_from_server(lst):
    c = Case("PORT from the server side")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("NOOP\r\n")
    ctl.rep(f"PORT {hostport(SRV4, port)}\r\n")
    ctl.rep("200 NOOP ok.\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("malformed")
    healthy(ctl, c.name)
    ctl.close()


def reply_from_client(lst):
    c = Case("227 from the client side")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd(f"227 Entering Passive Mode ({hostport(CLI4, port)}).\r\n")
    ctl.rep("500 Unknown command.\r\n")
    c.nothing_opened()
    c.refused("server to client", active_connects(port))
    c.moved("malformed")
    healthy(ctl, c.name)
    ctl.close()


def privileged(lst):
    c = Case("privileged data port")
    ctl = Ctl(lst)
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, 80)}).\r\n")
    c.nothing_opened()
    c.refused("client to server:80", passive_connects(80))
    ctl.cmd(f"PORT {hostport(CLI4, 25)}\r\n")
    ctl.rep("200 PORT command successful.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    c.nothing_opened()
    c.refused("server to client:25", active_connects(25))
    ctl.rep("425 Failed to establish connection.\r\n")
    c.moved("refused_privileged_port", 2)
    healthy(ctl, c.name)
    ctl.close()


def overflow(lst):
    c = Case("octet and port overflow, trailing garbage, overlong numbers")
    ctl = Ctl(lst)
    port = next_port()
    bad_cmds = [
        f"PORT 10,0,1,258,{port >> 8},{port & 255}",
        f"PORT 10,0,1,2,{256 + (port >> 8)},{port & 255}",
        f"PORT 10,0,1,2,{port >> 8},{256 + (port & 255)}",
        f"PORT {hostport(CLI4, port)},7",
        f"PORT {hostport(CLI4, port)} x",
        f"PORT 10,0,1,000002,{port >> 8},{port & 255}",
        f"EPRT |1|10.0.1.2|{port + 65536}|",
        f"EPRT |1|10.0.1.2|{port}|x",
        "EPRT |1|10.0.1.2|000040001|",
    ]
    for cmd in bad_cmds:
        ctl.cmd(cmd + "\r\n")
        ctl.rep("501 Syntax error.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    ctl.rep("425 Use PORT or PASV first.\r\n")
    c.nothing_opened()
    c.refused("server to client", active_connects(port))
    bad_replies = [
        f"227 Entering Passive Mode (10,0,2,2,{256 + (port >> 8)},{port & 255})",
        f"227 Entering Passive Mode (10,0,2,258,{port >> 8},{port & 255})",
        f"227 Entering Passive Mode (10,0,2,2,{port >> 8},{port & 255},9)",
        f"229 Entering Extended Passive Mode (|||{port + 65536}|)",
        "229 Entering Extended Passive Mode (|||0000040001|)",
    ]
    for rep in bad_replies:
        ctl.cmd("EPSV\r\n" if rep.startswith("229") else "PASV\r\n")
        ctl.rep(rep + "\r\n")
        c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("malformed", len(bad_cmds) + len(bad_replies))
    healthy(ctl, c.name)
    ctl.close()


def long_line(lst):
    c = Case("64 KiB lines")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("X" * 65536 + "\r\n")
    ctl.rep("500 Command too long.\r\n")
    ctl.cmd("PASV\r\n")
    # A valid 227 at the start of an overlong line is never believed.
    head = f"227 Entering Passive Mode ({hostport(SRV4, port)}). "
    ctl.rep(head + "y" * (65536 - len(head)) + "\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("lines_overlong", 2)
    st = stats()
    tap(f"{c.name}: one record for the connection",
        st["connections_tracked"] == 1,
        f"connections_tracked {st['connections_tracked']}")
    healthy(ctl, c.name)
    ctl.close()


def byte_segments(lst):
    c = Case("a line split into 1-byte segments")
    ctl = Ctl(lst)
    port = next_port()
    for b in b"PASV\r\n":
        ctl.c.send(bytes([b]))
        time.sleep(0.01)
    recv_exact(ctl.s, 6)
    rep = f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n".encode()
    for b in rep:
        ctl.s.send(bytes([b]))
        time.sleep(0.01)
    recv_exact(ctl.c, len(rep))
    opened = any(f"dport={port}" in e for e in expectations())
    tap(f"{c.name}: reassembled, pinhole opened", opened,
        "\n".join(expectations()))
    tap(f"{c.name}: data connection works", passive_connects(port))
    ctl.rep("226 Transfer complete.\r\n")
    c.moved("lines_split", 2)
    ctl.close()


def pasv_flood(lst):
    c = Case("10,000 PASV without replies")
    ctl = Ctl(lst)
    ctl.cmd("PASV\r\n" * 10000)
    c.nothing_opened()
    st = stats()
    tap(f"{c.name}: one record, one row",
        st["connections_tracked"] == 1 and st["flows_current"] <= 1,
        f"connections_tracked {st['connections_tracked']}, "
        f"flows_current {st['flows_current']}")
    c.moved("cmd_pasv", 10000)
    # The first 16 are followed, each replacing the last; past them the
    # connection is not inspected until they are all answered.
    c.moved("flows_replaced", 15)
    c.moved("pipeline_overflow")
    # Which PASV a 227 now answers is unknown: it must open nothing.
    port = next_port()
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    ctl.close()
    ctl = Ctl(lst)
    healthy(ctl, c.name)
    ctl.close()


def conn_flood(lst):
    n = MAX_FLOWS + 24
    c = Case(f"{n} control connections, max_flows={MAX_FLOWS}")
    ctls = []
    for _ in range(n):
        ctl = Ctl(lst)
        ctl.cmd("NOOP\r\n")
        ctls.append(ctl)
    st = stats()
    tap(f"{c.name}: records capped", st["connections_tracked"] <= MAX_FLOWS,
        f"connections_tracked {st['connections_tracked']}")
    c.moved("refused_table_full", n - MAX_FLOWS)
    # An untracked connection fails closed: its 227 opens nothing.
    port = next_port()
    ctls[-1].cmd("PASV\r\n")
    ctls[-1].rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server (untracked)", passive_connects(port))
    for ctl in ctls:
        ctl.close()
    drained = wait_until(lambda: stats()["connections_tracked"] == 0, 5)
    tap(f"{c.name}: records freed when the connections close", drained,
        f"connections_tracked {stats()['connections_tracked']}")
    ctl = Ctl(lst)
    healthy(ctl, c.name)
    ctl.close()


def retransmitted_227(lst):
    c = Case("retransmitted segment carrying a different 227")
    ctl = Ctl(lst)
    good, evil = next_port(), next_port()
    sn = Frames("srv", "s0", 21)
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, good)}).\r\n")
    frame, tcp, doff = sn.find(b"227 ")
    sn.send(frame, tcp, doff,
            f"227 Entering Passive Mode ({hostport(SRV4, evil)}).\r\n".encode())
    sn.close()
    ok = wait_until(lambda: stats()["segments_retransmitted"] >
                    c.before["segments_retransmitted"], 2)
    exps = expectations()
    tap(f"{c.name}: only the first 227 opened",
        ok and len(exps) == 1 and f"dport={good}" in exps[0], "\n".join(exps))
    c.refused("client to the replayed port", passive_connects(evil))
    tap(f"{c.name}: the first 227's port works", passive_connects(good))
    ctl.rep("226 Transfer complete.\r\n")
    c.moved("segments_retransmitted")
    healthy(ctl, c.name)
    ctl.close()


def out_of_window_227(lst, ahead):
    where = "ahead of" if ahead else "behind"
    c = Case(f"segment far {where} the window carrying a 227")
    invalid = ct_invalid()
    ctl = Ctl(lst)
    evil = next_port()
    sn = Frames("srv", "s0", 21)
    ctl.cmd("NOOP\r\n")
    ctl.rep("200 NOOP ok.\r\n")
    frame, tcp, doff = sn.find(b"200 ")
    ctl.cmd("PASV\r\n")
    # A line end first: a stream that resynchronised would read the 227.
    sn.send(frame, tcp, doff,
            f"\r\n227 Entering Passive Mode ({hostport(SRV4, evil)}).\r\n"
            .encode(), seq_add=0x20000000 if ahead else -0x20000000)
    sn.close()
    time.sleep(0.2)
    c.nothing_opened()
    c.refused("client to the injected port", passive_connects(evil))
    if ahead:
        seen = ct_invalid() - invalid
        tap(f"{c.name}: conntrack found it invalid", seen > 0,
            f"invalid +{seen}")
    else:
        c.moved("segments_retransmitted")
    # The real reply to the PASV still opens the real port.
    good = next_port()
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, good)}).\r\n")
    tap(f"{c.name}: the real 227 still works", passive_connects(good))
    ctl.rep("226 Transfer complete.\r\n")
    ctl.close()


def end_mid_negotiation(lst, rst):
    how = "RST" if rst else "FIN"
    c = Case(f"{how} in the middle of a negotiation")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    st = stats()
    ready = bool(expectations()) and st["flows_current"] == 1
    tap(f"{c.name}: pinhole and row before", ready,
        f"expectations {expectations()}, flows_current {st['flows_current']}")
    if rst:
        ctl.c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        ctl.c.close()
        ctl.s.close()
    else:
        ctl.close()
    gone = wait_until(lambda: not expectations() and
                      stats()["flows_current"] == 0 and
                      stats()["connections_tracked"] == 0, 3)
    tap(f"{c.name}: entry and expectation gone", gone,
        f"expectations {expectations()}, stats {stats()}")
    c.refused("client to the old port", passive_connects(port))
    c.moved("flows_aborted_rst_fin")
    c.moved("expect_removed_early")


def tls(lst):
    c = Case("AUTH TLS accepted")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("AUTH TLS\r\n")
    ctl.rep("234 Proceed with negotiation.\r\n")
    # What follows would be TLS records; plaintext look-alikes are ignored.
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("tls_sessions")
    ctl.close()


def record(body, version=b"\x03\x03", kind=23):
    """One TLS record: header and body, nothing decrypted or encrypted."""
    return bytes([kind]) + version + struct.pack("!H", len(body)) + body


def ccc_bounce(lst):
    """CCC: records both ways, then plaintext.  Every check of a plaintext
    session applies (a bounce is refused), and a real PASV opens."""
    c = Case("CCC, then a bounce")
    ctl = Ctl(lst)
    ctl.cmd("AUTH TLS\r\n")
    ctl.rep("234 Proceed with negotiation.\r\n")
    ctl.cmd(record(b"\x01" * 40, b"\x03\x01", 22))
    ctl.rep(record(b"\x02" * 90, kind=22))
    ctl.cmd(record(b"c" * 19))       # CCC, then a TLS 1.3 close_notify
    ctl.rep(record(b"s" * 19))       # 200, then its close_notify
    bounce(ctl, c)
    c.moved("tls_plaintext", 2)
    healthy(ctl, c.name)
    ctl.close()


def tls_blind(lst):
    """AUTH past the pipeline bound: its 234 still starts TLS, so lines
    a client shapes in ciphertext, and 227s the server echoes into it,
    are never read (review, 2026-12)."""
    c = Case("AUTH TLS past the pipeline bound")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("NOOP\r\n" * 16 + "AUTH TLS\r\n")
    ctl.rep("200 NOOP ok.\r\n" * 16 + "234 Proceed with negotiation.\r\n")
    ctl.cmd(record(b"x\nPASV\r\nx"))
    ctl.rep(record(f"x\n227 Entering Passive Mode ({hostport(SRV4, port)})."
                   "\r\nx".encode()))
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("tls_sessions")
    ctl.close()


def tls_lost(lst):
    """A record header that makes no sense loses the framing for good:
    plaintext after it is never read."""
    c = Case("TLS framing lost")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd("AUTH TLS\r\n")
    ctl.rep("234 Proceed with negotiation.\r\n")
    ctl.cmd(record(b"hello", b"\x02\x00"))
    ctl.rep(record(b"s" * 19))
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    c.nothing_opened()
    c.refused("client to server", passive_connects(port))
    c.moved("tls_lost")
    ctl.close()


def loose(lst):
    """loose=1 honours a bounce (that is why it is unsafe), nothing more."""
    c = Case("loose=1")
    ctl = Ctl(lst)
    port = next_port()
    ctl.cmd(f"PORT {hostport(THIRD_CLI4, port)}\r\n")
    ctl.rep("200 PORT command successful.\r\n")
    ctl.cmd("RETR file.bin\r\n")
    exps = expectations()
    tap(f"{c.name}: PORT to a third host opens a pinhole to it",
        len(exps) == 1 and f"dst={THIRD_CLI4} " in exps[0], "\n".join(exps))
    tap(f"{c.name}: server reaches the third host",
        active_connects(port, THIRD_CLI4))
    ctl.rep("226 Transfer complete.\r\n")
    tap(f"{c.name}: refused_bounce not counted",
        stats()["refused_bounce"] == c.before["refused_bounce"])
    port = next_port()
    ctl.cmd("PASV\r\n")
    ctl.rep(f"227 Entering Passive Mode ({hostport(THIRD_SRV4, port)}).\r\n")
    c.nothing_opened()
    c.moved("refused_third_party")
    healthy(ctl, c.name)
    ctl.close()


def main():
    lst = Listener(128)
    cases = [loose] if LOOSE else [
        baseline,
        bounce_port,
        lambda l: bounce_eprt(l, False),
        lambda l: bounce_eprt(l, True),
        port_refused_by_server,
        pasv_third,
        pasv_unsolicited,
        echo_550,
        echo_continuation,
        port_from_server,
        reply_from_client,
        privileged,
        overflow,
        long_line,
        byte_segments,
        pasv_flood,
        conn_flood,
        retransmitted_227,
        lambda l: out_of_window_227(l, True),
        lambda l: out_of_window_227(l, False),
        lambda l: end_mid_negotiation(l, True),
        lambda l: end_mid_negotiation(l, False),
        tls,
        ccc_bounce,
        tls_blind,
        tls_lost,
    ]
    for case in cases:
        t = time.monotonic()
        try:
            case(lst)
        except Exception as e:  # a case that cannot run fails
            tap(f"{getattr(case, '__name__', 'case')} ran to completion",
                False, repr(e))
        # No case may leave anything behind for the next one.
        clean = wait_until(lambda: not expectations() and
                           stats()["connections_tracked"] == 0, 3)
        if not clean:
            tap("nothing left behind", False,
                f"expectations {expectations()}, stats {stats()}")
        print(f"# {time.monotonic() - t:.1f}s", flush=True)
    sys.exit(1 if tap.failed else 0)


main()
