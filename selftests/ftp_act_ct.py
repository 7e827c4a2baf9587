#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Create a tc 'ct' action (act_ct) with the attributes Debian 12's tc lacks.

iproute2 6.1 cannot say 'action ct commit helper NAME' (TCA_CT_HELPER_*,
Linux 6.2's uapi), so ftp_act_ct.sh makes its ct actions here, over
rtnetlink, in the action table of the current network namespace, and its
filters bind them by index ('action ct index N').

Usage:
  ftp_act_ct.py INDEX [commit] [nat] [snat ADDR | dnat ADDR [PORT]]
                [helper NAME inet|inet6]

Prints nothing on success.  On failure the kernel's errno and extended
ack message go to stderr and the exit status is 1, so a kernel without
helper support in act_ct says so ("Unknown attribute type").
"""

import errno
import ipaddress
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
RTM_NEWACTION = 48
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000

TCA_ACT_TAB = 1
TCA_ACT_KIND, TCA_ACT_OPTIONS = 1, 2
# include/uapi/linux/tc_act/tc_ct.h
TCA_CT_PARMS = 1
TCA_CT_ACTION = 3
TCA_CT_NAT_IPV4_MIN, TCA_CT_NAT_IPV4_MAX = 9, 10
TCA_CT_NAT_IPV6_MIN, TCA_CT_NAT_IPV6_MAX = 11, 12
TCA_CT_NAT_PORT_MIN, TCA_CT_NAT_PORT_MAX = 13, 14
TCA_CT_HELPER_NAME, TCA_CT_HELPER_FAMILY, TCA_CT_HELPER_PROTO = 16, 17, 18
CT_COMMIT, CT_NAT, CT_NAT_SRC, CT_NAT_DST = 1 << 0, 1 << 3, 1 << 4, 1 << 5
TC_ACT_PIPE = 3


def attr(kind, payload, nested=False):
    """One netlink attribute, padded to 4 bytes."""
    head = struct.pack("=HH", 4 + len(payload), kind | (NLA_F_NESTED if nested else 0))
    pad = b"\0" * (-len(payload) % 4)
    return head + payload + pad


def ct_options(index, words):
    """TCA_ACT_OPTIONS of a ct action from the command line's words."""
    flags = 0
    extra = b""
    i = 0
    while i < len(words):
        w = words[i]
        if w == "commit":
            flags |= CT_COMMIT
        elif w == "nat":
            flags |= CT_NAT
        elif w in ("snat", "dnat"):
            flags |= CT_NAT | (CT_NAT_SRC if w == "snat" else CT_NAT_DST)
            addr = ipaddress.ip_address(words[i + 1])
            i += 1
            if addr.version == 4:
                kinds = (TCA_CT_NAT_IPV4_MIN, TCA_CT_NAT_IPV4_MAX)
            else:
                kinds = (TCA_CT_NAT_IPV6_MIN, TCA_CT_NAT_IPV6_MAX)
            extra += attr(kinds[0], addr.packed) + attr(kinds[1], addr.packed)
            if i + 1 < len(words) and words[i + 1].isdigit():
                port = struct.pack("!H", int(words[i + 1]))
                i += 1
                extra += attr(TCA_CT_NAT_PORT_MIN, port) + attr(TCA_CT_NAT_PORT_MAX, port)
        elif w == "helper":
            name, fam = words[i + 1], words[i + 2]
            i += 2
            family = {"inet": socket.AF_INET, "inet6": socket.AF_INET6}[fam]
            extra += attr(TCA_CT_HELPER_NAME, name.encode() + b"\0")
            extra += attr(TCA_CT_HELPER_FAMILY, struct.pack("B", family))
            extra += attr(TCA_CT_HELPER_PROTO, struct.pack("B", socket.IPPROTO_TCP))
        else:
            raise SystemExit(f"ftp_act_ct.py: unknown word {w!r}")
        i += 1
    # struct tc_ct: tc_gen's index, capab, action, refcnt, bindcnt.
    parms = struct.pack("=IIiii", index, 0, TC_ACT_PIPE, 0, 0)
    return (attr(TCA_CT_PARMS, parms) + attr(TCA_CT_ACTION, struct.pack("=H", flags))
            + extra)


def request(index, words):
    """RTM_NEWACTION for one ct action; returns (errno, extack message)."""
    act = attr(TCA_ACT_KIND, b"ct\0") + attr(TCA_ACT_OPTIONS, ct_options(index, words), True)
    body = struct.pack("=BBH", 0, 0, 0) + attr(TCA_ACT_TAB, attr(1, act, True), True)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    msg = struct.pack("=IHHII", 16 + len(body), RTM_NEWACTION, flags, 1, 0) + body
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.sendto(msg, (0, 0))
    while True:
        data = s.recv(65536)
        off = 0
        while off + 16 <= len(data):
            length, mtype, mflags, _, _ = struct.unpack_from("=IHHII", data, off)
            if mtype == NLMSG_ERROR:
                return parse_error(data[off + 16:off + length], mflags)
            off += (length + 3) & ~3


def parse_error(payload, mflags):
    """struct nlmsgerr, and the extended ack's message if there is one."""
    (err,) = struct.unpack_from("=i", payload)
    if not err:
        return 0, ""
    # The request echoed back, unless the kernel capped it to its header.
    olen = 16 if mflags & NLM_F_CAPPED else struct.unpack_from("=I", payload, 4)[0]
    off = 4 + ((olen + 3) & ~3)
    text = ""
    while mflags & NLM_F_ACK_TLVS and off + 4 <= len(payload):
        alen, kind = struct.unpack_from("=HH", payload, off)
        if alen < 4:
            break
        if kind == NLMSGERR_ATTR_MSG:
            text = payload[off + 4:off + alen].split(b"\0")[0].decode()
        off += (alen + 3) & ~3
    return -err, text


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    err, text = request(int(sys.argv[1]), sys.argv[2:])
    if err:
        print(f"ftp_act_ct.py: {os.strerror(err)} ({errno.errorcode.get(err, err)}): "
              f"{text or 'no message'}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
