# SPDX-License-Identifier: GPL-2.0
"""What the in-process selftest scripts share: switching this process between
lib.sh's namespaces, TAP lines with a running failure count, fresh client
ports, reading rtr's counters and expectations, and waiting for them."""
import ctypes
import os
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_NS = {n: os.open(f"/run/netns/{n}", os.O_RDONLY) for n in ("cli", "rtr", "srv")}


def enter(ns):
    if _libc.setns(_NS[ns], CLONE_NEWNET):
        raise OSError(ctypes.get_errno(), f"setns {ns}")


class Tap:
    """tap(name, cond, why): one TAP line named "PREFIX: name"; counts failures."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.failed = 0

    def __call__(self, name, cond, why=""):
        print(f"{'ok' if cond else 'not ok'} - {self.prefix}: {name}", flush=True)
        if not cond:
            self.failed += 1
            for line in str(why).splitlines():
                print(f"#   {line}", flush=True)
        return cond


class Ports:
    """next_port(): START + STEP, START + 2 * STEP, ..."""

    def __init__(self, start, step):
        self.port = start
        self.step = step

    def __call__(self):
        self.port += self.step
        return self.port


def rtr_read(path):
    enter("rtr")
    with open(path) as f:
        return f.read()


def stats():
    """rtr's /proc/net/nf_ftp_embryo/stats as a dict of ints."""
    out = {}
    for line in rtr_read("/proc/net/nf_ftp_embryo/stats").splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = int(v)
    return out


def expectations():
    """rtr's expectation table, one string per expectation."""
    return [line for line in
            rtr_read("/proc/net/nf_conntrack_expect").splitlines()
            if line.strip()]


def wait_until(cond, secs=3.0):
    end = time.monotonic() + secs
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True
