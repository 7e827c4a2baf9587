#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The first payload of a control connection races its end, on two CPUs.

Run by ftp_race.sh in the guest (root, lib.sh's namespaces up, the helper
attached on rtr, nothing else listening on srv:21).  The helper makes a
connection's record on its first payload byte; here that is the server's
banner, and while rtr is making the record, the same connection ends on
the other CPU: an RST from the client, or ctnetlink's delete (what
`conntrack -D` sends) from inside rtr.  A record that is killed before it
is in the flow table must not be linked into it afterwards.

veth hands a packet to the peer's backlog on the sending CPU, and the
softirq that forwards it through rtr runs there, inside the sender's
syscall.  So the server side runs pinned to CPU 0, the client side (and
the netlink deletes) pinned to CPU 1.  Each round connects a batch of
fresh connections, then both sides go through it in step: they meet
before each pair (a spin on shared memory), one or the other waits a
little, and each does its part, banner i on CPU 0 and the end of
connection i on CPU 1.  No clock is needed for that: the debug
guest's ticks in jiffies.  No order of the two is expected, and none is
checked here: the kernel's own checkers (KASAN, lockdep) are the judges.

Rounds take turns, RST, delete, delete (or take only one of them: KIND),
and IPv4 and IPv6.  Prints "# " comments, the last of them "# result key=value ..."
for the driver.
Usage: ftp_race.py ROUNDS BATCH [rst|del|both]
"""
import errno
import mmap
import os
import random
import socket
import struct
import sys
import time

from nsutil import enter, nla

ROUNDS, BATCH = int(sys.argv[1]), int(sys.argv[2])
# Two rounds of deletes to one of RSTs: on an instrumented module, deletes
# met the window several times as often.
KINDS = {"rst": ("rst",), "del": ("del",), "both": ("rst", "del", "del")}[
    sys.argv[3] if len(sys.argv) > 3 else "both"]
SRV = {4: "10.0.2.2", 6: "fd00:2::2"}
FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}
BANNER = b"220 race\r\n"
LINGER0 = struct.pack("ii", 1, 0)       # close() sends an RST
CPU_SRV, CPU_CLI = 0, 1
FLOWS = "/proc/net/nf_ftp_embryo/flows"
STUCK_SECS = 120                        # a side this late is dead, not slow

# ctnetlink (linux/netfilter/nfnetlink_conntrack.h): the delete conntrack -D sends.
NETLINK_NETFILTER = 12
NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 1, 4, 2
NLA_F_NESTED = 0x8000
IPCTNL_MSG_CT_DELETE = (1 << 8) | 2     # NFNL_SUBSYS_CTNETLINK << 8 | ...
CTA_TUPLE_ORIG, CTA_TUPLE_IP, CTA_TUPLE_PROTO = 1, 1, 2
CTA_IP_SRC = {4: 1, 6: 3}               # CTA_IP_DST is one more
CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT = 1, 2, 3

# Shared across fork(), one counter each: how far each side is (rounds;
# pairs), which pair each is in the middle of (0: none), how often the
# server found the client's part already under way as its own began, the
# server's operations' lengths summed, and the longest wait before one.
shm = mmap.mmap(-1, 72)
(SRV_STEP, CLI_STEP, SRV_AT, CLI_AT, SRV_BUSY, CLI_BUSY, SRV_SAW, SRV_OP_NS,
 SPREAD) = range(0, 72, 8)


def put(off, val):
    struct.pack_into("Q", shm, off, val)


def get(off):
    return struct.unpack_from("Q", shm, off)[0]


def spin_until(cond, what):
    """Busy-wait: the other side runs on the other CPU."""
    end = time.monotonic() + STUCK_SECS
    n = 0
    while not cond():
        n += 1
        if n % 10000 == 0 and time.monotonic() > end:
            raise TimeoutError(f"waited {STUCK_SECS} s for {what}")


def idle(n):
    for _ in range(n):
        pass


def idle_rate():
    """How many idle() steps a second: a wait measured in steps needs no clock."""
    n, start = 0, time.monotonic()
    while time.monotonic() - start < 0.2:
        idle(1000)
        n += 1000
    return n / (time.monotonic() - start)


def ct_delete_msg(fam, cli, srv, seq):
    """ctnetlink's delete of the control conntrack cli -> srv:21."""
    a = socket.inet_pton(FAMILY[fam], cli[0])
    b = socket.inet_pton(FAMILY[fam], srv)
    ip = nla(NLA_F_NESTED | CTA_TUPLE_IP,
             nla(CTA_IP_SRC[fam], a) + nla(CTA_IP_SRC[fam] + 1, b))
    proto = nla(NLA_F_NESTED | CTA_TUPLE_PROTO,
                nla(CTA_PROTO_NUM, bytes([socket.IPPROTO_TCP])) +
                nla(CTA_PROTO_SRC_PORT, struct.pack("!H", cli[1])) +
                nla(CTA_PROTO_DST_PORT, struct.pack("!H", 21)))
    body = struct.pack("BBH", FAMILY[fam], 0, 0) + nla(NLA_F_NESTED | CTA_TUPLE_ORIG, ip + proto)
    return struct.pack("IHHII", 16 + len(body), IPCTNL_MSG_CT_DELETE,
                       NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def ack_errno(nl):
    """The error of the netlink ack just received (0: deleted)."""
    reply = nl.recv(4096)
    _, kind, _, _, _ = struct.unpack_from("IHHII", reply)
    if kind != NLMSG_ERROR:
        raise OSError(f"netlink: message type {kind}, not an ack")
    return -struct.unpack_from("i", reply, 16)[0]


def round_kind(r):
    return KINDS[r % len(KINDS)], (4, 6)[(r // len(KINDS)) % 2]


def race_pairs(r, socks, op, at, their_at, busy, their_busy, rng):
    """Meet the other side before each pair, maybe wait a while, do op(i).
    Returns how often the other side's part was under way as ours began,
    and our operations' lengths summed (by a coarse clock: the sum of many
    is still right on average)."""
    spread = get(SPREAD)
    saw = op_ns = 0
    for i in range(len(socks)):
        pair = r * BATCH + i + 1
        put(at, pair)
        spin_until(lambda: get(their_at) >= pair, f"the other side at pair {pair}")
        # One side or the other waits a little: the two meet at offsets
        # that differ from pair to pair.  On a window widened by 10 us, a
        # wait of up to a third of an operation met it more often than
        # none, a tenth, one or three operations, or both sides waiting.
        if rng.random() < 0.5:
            idle(rng.randrange(spread))
        put(busy, pair)
        saw += get(their_busy) == pair
        t0 = time.monotonic_ns()
        op(i)
        op_ns += time.monotonic_ns() - t0
        put(busy, 0)
    return saw, op_ns


def server_side(listeners):
    """CPU 0: accept a batch, then send each its banner."""
    os.sched_setaffinity(0, {CPU_SRV})
    rng = random.Random(1)

    def banner(i):
        try:
            conns[i].send(BANNER)
        except OSError:
            pass                # the RST was through first: nothing to race

    saw = 0
    for r in range(ROUNDS):
        _, fam = round_kind(r)
        conns = [listeners[fam].accept()[0] for _ in range(BATCH)]
        conns.sort(key=lambda c: c.getpeername()[1])
        put(SRV_STEP, 2 * r + 1)
        spin_until(lambda: get(CLI_STEP) > r, "the client side's start")
        n, op_ns = race_pairs(r, conns, banner, SRV_AT, CLI_AT, SRV_BUSY, CLI_BUSY, rng)
        saw += n
        put(SRV_SAW, saw)
        put(SRV_OP_NS, op_ns)
        for c in conns:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            c.close()
        put(SRV_STEP, 2 * r + 2)


def client_side(nl, child):
    """CPU 1: connect a batch, then end each connection."""
    os.sched_setaffinity(0, {CPU_CLI})
    rng = random.Random(2)
    rate = idle_rate()
    op_ns = 1_000_000           # a first guess of the longer side's operation
    seq = 0
    res = dict(connections=0, rst=0, deleted=0, delete_missed=0, together_rst=0,
               together_del=0, connect_secs=0.0)
    socks, msgs = [], []

    def end(i):
        if kind == "rst":
            socks[i].close()
            res["rst"] += 1
            return
        nl.send(msgs[i])
        err = ack_errno(nl)
        if err == errno.ENOENT:
            res["delete_missed"] += 1
        elif err:
            raise OSError(err, "ctnetlink delete")
        else:
            res["deleted"] += 1

    start = told = time.monotonic()
    for r in range(ROUNDS):
        # Progress, for the console of a guest that dies of a hit.
        if time.monotonic() - told > 10:
            told = time.monotonic()
            print(f"# round {r} of {ROUNDS} at {told - start:.0f} s", flush=True)
        kind, fam = round_kind(r)
        t = time.monotonic()
        enter("cli")
        socks = []
        for _ in range(BATCH):
            s = socket.socket(FAMILY[fam], socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect((SRV[fam], 21))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
            socks.append(s)
        socks.sort(key=lambda s: s.getsockname()[1])
        msgs = []
        for s in socks:
            seq += 1
            msgs.append(ct_delete_msg(fam, s.getsockname(), SRV[fam], seq))
        res["connections"] += BATCH
        spin_until(lambda: get(SRV_STEP) >= 2 * r + 1, "the server side's accepts")
        res["connect_secs"] += time.monotonic() - t
        if os.waitpid(child, os.WNOHANG)[0]:
            raise ChildProcessError("the server side died")
        # Waits of up to a third of the longer side's operation, in idle() steps.
        put(SPREAD, max(1, int(op_ns * rate / 3e9)))
        put(CLI_STEP, r + 1)
        saw0 = get(SRV_SAW)
        saw, mine_ns = race_pairs(r, socks, end, CLI_AT, SRV_AT, CLI_BUSY, SRV_BUSY, rng)
        for s in socks:
            s.close()
        spin_until(lambda: get(SRV_STEP) >= 2 * r + 2, "the server side's round")
        res["together_" + kind] += saw + get(SRV_SAW) - saw0
        # A record the race freed but linked is reused soon, by another
        # allocation: walk the table (the flow view does) while KASAN
        # still holds the freed memory back.
        enter("rtr")
        with open(FLOWS) as f:
            f.read()
        op_ns = (op_ns + max(mine_ns, get(SRV_OP_NS)) // BATCH) // 2
    res["connect_secs"] = round(res["connect_secs"], 1)
    res["op_us"] = op_ns // 1000
    return res


def main():
    if not {CPU_SRV, CPU_CLI} <= os.sched_getaffinity(0):
        print(f"# needs CPUs {CPU_SRV} and {CPU_CLI}, has {sorted(os.sched_getaffinity(0))}")
        return 1
    listeners = {}
    enter("srv")
    for fam in (4, 6):
        ls = socket.socket(FAMILY[fam], socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == 6:
            ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        ls.bind((SRV[fam], 21))
        ls.listen(BATCH * 2)
        ls.settimeout(STUCK_SECS)
        listeners[fam] = ls
    enter("rtr")
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    nl.settimeout(30)
    start = time.monotonic()
    child = os.fork()
    if child == 0:
        rc = 0
        try:
            server_side(listeners)
        except Exception as e:      # noqa: BLE001 - any failure, told and counted
            print(f"# server side: {e!r}", flush=True)
            rc = 1
        os._exit(rc)
    for ls in listeners.values():
        ls.close()
    try:
        res = client_side(nl, child)
    except Exception as e:          # noqa: BLE001
        print(f"# client side: {e!r}", flush=True)
        os.kill(child, 9)
        os.waitpid(child, 0)
        return 1
    _, status = os.waitpid(child, 0)
    if status:
        print(f"# server side exited with status {status:#x}")
        return 1
    res["secs"] = round(time.monotonic() - start, 1)
    print("# result " + " ".join(f"{k}={v}" for k, v in res.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
