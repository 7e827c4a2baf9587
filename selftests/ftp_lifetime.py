#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The pieces ftp_lifetime.sh runs inside its namespaces.

  up ADDR PORT            is the server listening?
  server ADDR PORT        a scripted FTP server: 220, 331, 230, 200 to
                          PORT/EPRT/TYPE, 425 to a transfer command
  negotiate ADDR PORT     log in, PORT 127,0,0,1,200,1 and hold the control
                          connection; prints its local port, then sleeps
  detach SADDR SPORT DADDR DPORT
                          ctnetlink: set that TCP conntrack's helper to "";
                          exits with the errno if the kernel refuses
  churn ADDR PORT N       N control connections that each send only LIST
"""
import socket
import struct
import sys
import threading
import time

from nsutil import nla

NETLINK_NETFILTER = 12
NLA_F_NESTED = 0x8000
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW = 1, 0
CTA_TUPLE_ORIG, CTA_HELP = 1, 5
CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 2
CTA_IP_V4_SRC, CTA_IP_V4_DST = 1, 2
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3
CTA_HELP_NAME = 1

REPLIES = {"USER": "331 password", "PASS": "230 in", "PORT": "200 ok",
           "EPRT": "200 ok", "TYPE": "200 ok", "LIST": "425 no data",
           "RETR": "425 no data", "QUIT": "221 bye"}


def serve_one(conn):
    with conn:
        conn.sendall(b"220 ready\r\n")
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                verb = line.strip().split(b" ")[0].decode(errors="replace").upper()
                conn.sendall((REPLIES.get(verb, "502 no") + "\r\n").encode())


def server(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(128)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


class Ctl:
    def __init__(self, addr, port):
        self.s = socket.create_connection((addr, port), timeout=10)
        self.f = self.s.makefile("rb")
        self.expect("220")

    def expect(self, code):
        line = self.f.readline().decode()
        if not line.startswith(code):
            raise RuntimeError(f"expected {code}, got {line!r}")

    def cmd(self, line, code):
        self.s.sendall(line.encode() + b"\r\n")
        self.expect(code)


def negotiate(addr, port):
    c = Ctl(addr, port)
    c.cmd("USER anonymous", "331")
    c.cmd("PASS x", "230")
    c.cmd("PORT 127,0,0,1,200,1", "200")
    print(c.s.getsockname()[1], flush=True)
    time.sleep(3600)


def detach(saddr, sport, daddr, dport):
    ip = nla(CTA_TUPLE_IP | NLA_F_NESTED,
             nla(CTA_IP_V4_SRC, socket.inet_aton(saddr)) +
             nla(CTA_IP_V4_DST, socket.inet_aton(daddr)))
    proto = nla(CTA_TUPLE_PROTO | NLA_F_NESTED,
                nla(CTA_PROTO_NUM, bytes([socket.IPPROTO_TCP])) +
                nla(CTA_PROTO_SRC_PORT, struct.pack("!H", sport)) +
                nla(CTA_PROTO_DST_PORT, struct.pack("!H", dport)))
    body = (struct.pack("BBH", socket.AF_INET, 0, 0) +
            nla(CTA_TUPLE_ORIG | NLA_F_NESTED, ip + proto) +
            nla(CTA_HELP | NLA_F_NESTED, nla(CTA_HELP_NAME, b"\0")))
    msg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW
    hdr = struct.pack("IHHII", 16 + len(body), msg_type,
                      NLM_F_REQUEST | NLM_F_ACK, 1, 0)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.sendto(hdr + body, (0, 0))
    reply = s.recv(65536)
    kind = struct.unpack_from("H", reply, 4)[0]
    err = struct.unpack_from("i", reply, 16)[0] if kind == NLMSG_ERROR else -1
    if err:
        print(f"ctnetlink update: error {err}", file=sys.stderr)
        sys.exit(-err if err < 0 else 1)


def churn(addr, port, n):
    for _ in range(n):
        c = Ctl(addr, port)
        c.cmd("LIST", "425")
        c.s.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "up":
        try:
            socket.create_connection((args[0], int(args[1])), timeout=2).close()
        except OSError:
            sys.exit(1)
    elif cmd == "server":
        server(args[0], int(args[1]))
    elif cmd == "negotiate":
        negotiate(args[0], int(args[1]))
    elif cmd == "detach":
        detach(args[0], int(args[1]), args[2], int(args[3]))
    elif cmd == "churn":
        churn(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
