#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The generic netlink family validates every request strictly (issue 13).

Prints TAP lines: a request the family understands is answered; one with an
attribute no request carries, or with the header's reserved byte set, is
refused with EINVAL.  A flush's filter (issue 26) is refused with EINVAL and
an extended ack's message when it names nothing, names what no filter
takes, or names a family and addresses that disagree.  Usage (in a
namespace where the module is loaded): ftp_genl.py
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
FTPE_CMD_FLOWS_FLUSH = 3
FTPE_A_PAD, FTPE_A_STATS, FTPE_A_FLOW = 1, 2, 4
FTPE_FLOW_A_FAMILY, FTPE_FLOW_A_CLIENT, FTPE_FLOW_A_SERVER = 1, 2, 4
FTPE_FLOW_A_STATE, FTPE_FLOW_A_MODE = 6, 7
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NLMSGERR_ATTR_MSG = 1
AF_INET, AF_INET6 = 2, 10


tap = Tap("genl")


def request(s, family, cmd, body=b"", reserved=0, ack=None):
    """Send one request; returns (errno from the ack, payloads seen).
    @ack, a list: the extended ack's message is appended to it."""
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
                if ack is not None:
                    # Capped: the request's header only, then the TLVs.
                    tlv = attrs(buf[off + 36:off + length])
                    ack.append(tlv.get(NLMSGERR_ATTR_MSG, b"")
                               .rstrip(b"\0").decode())
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
    flush_filters(s, family)
    raise SystemExit(1 if tap.failed else 0)


def flush_filters(s, family):
    """FTPE_CMD_FLOWS_FLUSH's FTPE_A_FLOW filter, validated strictly."""
    s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)

    def flt(*members):
        return nla(FTPE_A_FLOW | 0x8000, b"".join(members))

    v4 = nla(FTPE_FLOW_A_FAMILY, bytes([AF_INET]))
    for name, body, says in (
            ("an empty filter", flt(), "empty filter"),
            ("family 3", flt(nla(FTPE_FLOW_A_FAMILY, bytes([3]))), "family"),
            ("a 5-byte client address",
             flt(nla(FTPE_FLOW_A_CLIENT, b"\1" * 5)), "4 or 16 bytes"),
            ("a 17-byte server address",
             flt(nla(FTPE_FLOW_A_SERVER, b"\1" * 17)), "4 or 16 bytes"),
            ("AF_INET with a 16-byte address",
             flt(v4, nla(FTPE_FLOW_A_CLIENT, b"\1" * 16)), "disagree"),
            ("state 9", flt(nla(FTPE_FLOW_A_STATE, bytes([9]))), "no such state"),
            ("a mode (no filter member)",
             flt(v4, nla(FTPE_FLOW_A_MODE, bytes([3]))), ""),
            ("an unknown member", flt(v4, nla(42, b"\0" * 4)), ""),
            ("a stats nest beside it", flt(v4) + nla(FTPE_A_STATS, b""), "")):
        ack = []
        err, _ = request(s, family, FTPE_CMD_FLOWS_FLUSH, body, ack=ack)
        tap(f"a flush filter with {name} is refused with EINVAL"
            f"{' saying ' + repr(says) if says else ''}",
            err == errno.EINVAL and says in (ack[0] if ack else ""),
            f"errno {err} ({os.strerror(err)}), ack {ack}")
    # 198.51.100.1 talks to nobody here: a filter that matches nothing.
    err, _ = request(s, family, FTPE_CMD_FLOWS_FLUSH,
                     flt(v4, nla(FTPE_FLOW_A_CLIENT, bytes([198, 51, 100, 1])),
                         nla(FTPE_FLOW_A_STATE, bytes([1]))))
    tap("a well-formed flush filter is accepted", err == 0, os.strerror(err))


if __name__ == "__main__":
    main()
