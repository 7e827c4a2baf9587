#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read the function_graph tracer's output for make bench (in the guest).

  trace.py calls TRACE LEAF NESTED ROOT...
                                  per traced function in a ROOT's calls
                                  "FUNC CALLS INCL SELF"
  trace.py locks TRACE KALLSYMS CALLBACK...
                                  per lock taken inside a callback
                                  "CALLBACK CALLER LOCK COUNT ADDRESSES"

Under QEMU's -icount shift=0 a guest nanosecond is one instruction, so the
durations are instructions.  Each includes part of the tracer's own entry
and exit, and a traced call inside another costs the outer one all of its
entry and exit: guest.sh measures both on getppid() (LEAF, NESTED).

For `locks` the tracer follows everything the callbacks call
(set_graph_function), and kprobe events on the lock functions record each
lock's address; an event belongs to the callback whose braces enclose it.
LOCK is a symbol (kallsyms) for a lock in the kernel's or a module's static
data, which every connection shares, NAME[] for one of an array of them,
and "heap" for one inside an object (a conntrack, a flow, a socket);
ADDRESSES is how many distinct locks that was, which tells a
per-connection lock (one per connection) from a shared one (one).
"""
import bisect
import re
import sys

DUR = r"(?:[+!#*@$] )?\s*([0-9]+\.[0-9]+) us\s*\|"
LEAF = re.compile(DUR + r"\s*([A-Za-z0-9_.]+)(?: \[[^]]*\])?\(\);")
TAIL = re.compile(DUR + r"\s*\} /\* ([A-Za-z0-9_.]+)")
OPEN = re.compile(r"\|\s*([A-Za-z0-9_.]+)(?: \[[^]]*\])?\(\) \{")
CLOSE = re.compile(r"\|\s*\}")
# Frames that are the lock itself or the tracing machinery, not a caller.
NOT_CALLER = ("_raw_", "queued_", "do_raw_", "kprobe", "ftrace", "trace_",
              "rb_", "ring_buffer")
IRQ_IN = "==========>"
IRQ_OUT = "<=========="
# Interrupt handlers the graph can show inside a callback (the tick).
IRQ_FUNCS = ("hrtimer_interrupt", "irq_enter_rcu", "irq_exit_rcu",
             "__sysvec_apic_timer_interrupt", "handle_irq_event")
LOCKEV = re.compile(r"/\* (\w+): .* lock=0x([0-9a-f]+)")


def ns(s):
    us, frac = s.split(".")
    return int(us) * 1000 + int(frac.ljust(3, "0")[:3])


def calls(path, leaf, nested, roots):
    """Per traced function called from (or being) one of ROOTS: calls,
    instructions inside it and in all it calls, and instructions in its own
    code only.  The tracer filters only the functions asked for
    (set_ftrace_filter), so a call is one leaf line "1.234 us | f();", or,
    with traced calls inside, "f() {" ... "} /* f */" (funcgraph-tail).
    The tracer's share comes off: LEAF inside each call's own time, NESTED
    for each traced call inside it (its entry and exit as a whole)."""
    stack = []
    tot = {}

    def done(fn, incl, inner, below):
        own = incl - leaf - inner
        net = incl - leaf - nested * below
        if fn in roots or any(f in roots for f, _, _ in stack):
            t = tot.setdefault(fn, [0, 0, 0])
            t[0] += 1
            t[1] += net
            t[2] += own
        if stack:
            # What the parent saw of this call: all of it, tracer included.
            stack[-1][1] += incl - leaf + nested
            stack[-1][2] += below + 1

    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = OPEN.search(line)
            if m:
                stack.append([m.group(1), 0, 0])
                continue
            m = LEAF.search(line)
            if m:
                done(m.group(2), ns(m.group(1)), 0, 0)
                continue
            m = TAIL.search(line)
            if m and stack:
                fn, inner, below = stack.pop()
                done(fn, ns(m.group(1)), inner, below)
    for fn in sorted(tot):
        print(fn, *tot[fn])


def load_syms(path):
    syms = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1].lower() in "dbr":
                syms.append((int(p[0], 16), p[2]))
    syms.sort()
    return syms


def symbolize(syms, addr):
    # Static data of the kernel and of modules lives in the top 2 GiB.
    if addr < 0xffffffff80000000 or not syms:
        return "heap"
    i = bisect.bisect_right(syms, (addr, "\U0010ffff")) - 1
    if i < 0:
        return "heap"
    base, name = syms[i]
    # One of an array of locks (nf_conntrack_locks, nf_nat_locks): the
    # array is the name, the addresses say how many of its locks.
    return name if addr == base else name + "[]"


def locks(path, kallsyms, callbacks):
    syms = load_syms(kallsyms)
    stack = []
    seen = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            # A hard interrupt inside a callback (the timer tick, say)
            # takes its own locks; they are not the callback's.
            if IRQ_IN in line:
                stack.append(IRQ_IN)
                continue
            if IRQ_OUT in line:
                while stack and stack.pop() != IRQ_IN:
                    pass
                continue
            ev = LOCKEV.search(line)
            if ev:
                if stack and IRQ_IN not in stack and \
                        not any(fn in IRQ_FUNCS for fn in stack):
                    # The function that asked for the lock: the innermost
                    # open one that is not the lock function itself.
                    caller = next((fn for fn in reversed(stack)
                                   if not fn.startswith(NOT_CALLER)),
                                  stack[0])
                    key = (stack[0], caller, int(ev.group(2), 16))
                    seen[key] = seen.get(key, 0) + 1
                continue
            m = OPEN.search(line)
            if m:
                if stack or m.group(1) in callbacks:
                    stack.append(m.group(1))
                continue
            if CLOSE.search(line) and stack:
                stack.pop()
    agg = {}
    for (cb, caller, addr), n in seen.items():
        k = (cb, caller, symbolize(syms, addr))
        a = agg.setdefault(k, [0, set()])
        a[0] += n
        a[1].add(addr)
    for (cb, caller, name), (n, addrs) in sorted(agg.items()):
        print(cb, caller, name, n, len(addrs))


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "calls":
        calls(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
              set(sys.argv[5:]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "locks":
        locks(sys.argv[2], sys.argv[3], set(sys.argv[4:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
