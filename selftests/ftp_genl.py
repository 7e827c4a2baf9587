#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The generic netlink family validates every request strictly (issue 13).

Prints TAP lines: a request the family understands is answered; one with an
attribute no request carries, or with the header's reserved byte set, is
refused with EINVAL.  Usage (in a namespace where the module is loaded):
ftp_genl.py
"""
import errno
import os
import socket
import struct

from nsutil import Tap, attrs, nla

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
FTPE_CMD_STATS_GET = 1
FTPE_A_PAD = 1


tap = Tap("genl")


def request(s, family, cmd, body=b"", reserved=0):
    """Send one request; returns (errno from the ack, payloads seen)."""
    msg = struct.pack("BBH", cmd, 1, reserved) + body
    s.send(struct.pack("IHHII", 16 + len(msg), family,
                       NLM_F_REQUEST | NLM_F_ACK, 1, 0) + msg)
    payloads = []
    while True:
        buf = s.recv(65536)
        off = 0
        while off < len(buf):
            length, kind = struct.unpack_from("IH", buf, off)
            if kind == NLMSG_ERROR:
                return -struct.unpack_from("i", buf, off + 16)[0], payloads
            payloads.append(buf[off + 20:off + length])
            off += (length + 3) & ~3


def main():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    s.bind((0, 0))
    err, replies = request(s, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                           nla(CTRL_ATTR_FAMILY_NAME, b"nf_ftp_embryo\0"))
    if err or not replies:
        tap("family nf_ftp_embryo resolves", False, os.strerror(err))
        raise SystemExit(1)
    family = struct.unpack("H", attrs(replies[0])[CTRL_ATTR_FAMILY_ID][:2])[0]

    err, replies = request(s, family, FTPE_CMD_STATS_GET)
    tap("a plain stats request is answered", err == 0 and replies,
        os.strerror(err))
    for name, body, reserved in (
            ("an unknown attribute", nla(42, b"\0" * 4), 0),
            ("an attribute no request carries (PAD)", nla(FTPE_A_PAD, b""), 0),
            ("the reserved header byte set", b"", 1)):
        err, _ = request(s, family, FTPE_CMD_STATS_GET, body, reserved)
        tap(f"a stats request with {name} is refused with EINVAL",
            err == errno.EINVAL, f"errno {err} ({os.strerror(err)})")
    raise SystemExit(1 if tap.failed else 0)


if __name__ == "__main__":
    main()
