#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""No circle among the module's files (make lint).

A part is a .c file and its .h (flowtab.c and flowtab.h are "flowtab");
part A uses part B when A's .c or .h includes B's .h.  The parts must form
layers: no part may use, through others, a part that uses it.  Prints
each circle found and exits 1, or prints the layers, bottom first."""
import os
import re
import sys

d = sys.argv[1] if len(sys.argv) > 1 else "nf_ftp_embryo"
uses = {}
for f in sorted(os.listdir(d)):
    part, ext = os.path.splitext(f)
    if ext not in (".c", ".h"):
        continue
    with open(os.path.join(d, f)) as fh:
        inc = re.findall(r'^#include "([a-z_]+)\.h"', fh.read(), re.M)
    uses.setdefault(part, set()).update(i for i in inc if i != part)

circles = []
state = {}
stack = []


def visit(p):
    state[p] = 1
    stack.append(p)
    for q in sorted(uses.get(p, ())):
        if state.get(q) == 1:
            circles.append(stack[stack.index(q):] + [q])
        elif q not in state:
            visit(q)
    stack.pop()
    state[p] = 2


for p in sorted(uses):
    if p not in state:
        visit(p)
if circles:
    for c in circles:
        print("circle: " + " -> ".join(c))
    sys.exit(1)
level = {}


def depth(p):
    if p not in level:
        level[p] = 1 + max((depth(q) for q in uses.get(p, ())), default=-1)
    return level[p]


for p in uses:
    depth(p)
for n in range(max(level.values()) + 1):
    print("# layer %d: %s" % (n, " ".join(sorted(p for p in level if level[p] == n))))
