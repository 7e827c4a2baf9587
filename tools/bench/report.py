#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw measurements of tools/bench/guest.sh and parsebench into
medians, ratios and the issue's targets: a JSON file and a Markdown table.
With --smoke, also check that every part produced a sane number and print
one TAP line per part ("ok - bench smoke: ...")."""
import argparse
import bisect
import json
import os
import statistics
import sys
from collections import defaultdict


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a and b else None


def mem_per_flow(rows, kind):
    """Slab and memory per connection from the @kind rows ("mem X N OBJ0
    PAGES0 OBJ1 PAGES1 FREE0 VMALLOC0 FREE1 VMALLOC1 [SECONDS]") at the
    largest level all three configurations ran at, and the differences
    between them."""
    mem, out = {}, {}
    for r in rows:
        if r[0] == kind:
            x, n = r[1], int(r[2])
            ob0, pg0, ob1, pg1 = map(int, r[3:7])
            mf0, vm0, mf1, vm1 = map(int, r[7:11])
            if len(r) > 11:
                out["seconds"] = int(r[11])
            mem.setdefault(x, {})[n] = {
                "slab_obj_bytes_per_flow": (ob1 - ob0) / n,
                "slab_page_bytes_per_flow": (pg1 - pg0) / n,
                "memfree_bytes_per_flow": (mf0 - mf1) / n,
                "vmalloc_bytes_per_flow": (vm1 - vm0) / n,
            }
    if not mem:
        return out
    # The largest level all three ran at (C alone runs the largest).
    both = [n for n in mem.get("C", {})
            if all(n in mem.get(x, {}) for x in "AB")]
    top = max(both) if both else max(n for x in mem for n in mem[x])
    out["flows"] = top
    for x in sorted(mem):
        if top in mem[x]:
            out[x] = mem[x][top]
    for base, others in (("A", ("B", "C")), ("B", ("C",))):
        if base not in out:
            continue
        for x in others:
            if x in out:
                out[x + "_minus_" + base] = {
                    k: out[x][k] - out[base][k] for k in out[base]}
    return out


def load_raw(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts:
                rows.append(parts)
    return rows


def load_parse(path):
    kv = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            for k, v in zip(p[::2], p[1::2]):
                kv[k] = float(v)
    return kv


MODES = ("pasv", "epsv", "port", "eprt", "nat-pasv", "nat-port")
# The kernel's own tables that both helpers use once per negotiation (the
# expectation and the data connection's NAT): not a per-packet lock.
PER_NEGOTIATION_LOCKS = ("nf_conntrack_expect_lock", "nf_nat_locks[]")


def per_neg(rate):
    """Guest nanoseconds per negotiation: instructions under -icount."""
    return 1e9 / rate if rate else None


def callbacks(rows, kind, level, mode, x):
    """{func: (calls, incl, self)} per negotiation from "cb" rows,
    for the callbacks and what they call."""
    out = {}
    for r in rows:
        if r[0] == kind and r[1] == str(level) and r[2] == mode and r[3] == x:
            n = float(r[8])
            if n:
                out[r[4]] = (int(r[5]) / n, int(r[6]) / n, int(r[7]) / n)
    return out


ROOTS = ("help", "nf_nat_follow_master", "ftpe_help", "ftpe_pinhole_used",
         "ftpe_destroy")


def cb_total(cbs):
    """The callbacks' instructions per negotiation (their own and all they
    call), the tick taken off."""
    return sum(v[1] for f, v in cbs.items() if f in ROOTS) if cbs else None


# The helpers' own modules, whose functions the profile lists.
HELPER_MODULES = ("nf_ftp_embryo", "nf_conntrack_ftp", "nf_nat_ftp")


def load_counts(path):
    with open(path) as f:
        return {int(a, 16): int(c) for a, c in (line.split() for line in f)}


def profile(rows, d):
    """Per "insn MODE X N FROM TO" row: instructions per negotiation by
    function between the plugin's snapshots FROM and TO (insncount.c),
    for the helpers' own functions, and for the whole guest."""
    out = {}
    runs = [r for r in rows if r[0] == "insn"]
    if not runs or not os.path.exists(os.path.join(d, "kallsyms")):
        return out
    syms = []
    with open(os.path.join(d, "kallsyms")) as f:
        for line in f:
            p = line.split()
            if p[1] in "tT":
                syms.append((int(p[0], 16), p[2], p[3].strip("[]") if len(p) > 3 else ""))
    syms.sort()
    starts = [s[0] for s in syms]
    for mode, x, n, a, b in (r[1:6] for r in runs):
        before = os.path.join(d, "insn.%s" % a)
        after = os.path.join(d, "insn.%s" % b)
        if not float(n) or not os.path.exists(before) or not os.path.exists(after):
            continue
        c0 = load_counts(before)
        own, total = defaultdict(int), 0
        for addr, c in load_counts(after).items():
            c -= c0.get(addr, 0)
            total += c
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and syms[i][2] in HELPER_MODULES:
                own[syms[i][1]] += c
        n = float(n)
        out.setdefault(mode, {})[x] = {
            "own": {f: c / n for f, c in own.items() if c},
            "own_total": sum(own.values()) / n,
            "guest_total": total / n, "negotiations": n}
    return out


def analyse(rows, parse, d):
    info = {r[1]: " ".join(r[2:]) for r in rows if r[0] == "info"}
    stats = {r[1]: int(r[2]) for r in rows if r[0] == "stat"}
    res = {"info": info, "ftpe_stats": stats}
    calib = [(int(r[1]), int(r[2])) for r in rows if r[0] == "calib"]
    res["tracer_overhead_per_call"] = calib[0][0] if calib else None
    res["tracer_overhead_nested"] = calib[0][1] if calib else None

    # (1): per round, the three configurations back to back; the overheads
    # C - A and B - A and their ratio per round, then medians.
    rate = {}
    for mode in MODES:
        by = defaultdict(dict)
        for r in rows:
            if r[0] == "rate" and r[1] == mode:
                by[int(r[3])][r[2]] = float(r[4])
        if not by:
            continue
        rounds = sorted(by)
        # The fewest instructions over the rounds: what disturbs a run in
        # instruction time (a timer's work, an RCU batch freeing the last
        # configuration's conntracks) only ever adds instructions.
        best = {x: max([by[i][x] for i in rounds if x in by[i]], default=None)
                for x in "ABC"}
        pn = {x: per_neg(best[x]) for x in "ABC"}
        oc = pn["C"] - pn["A"] if pn["C"] and pn["A"] else None
        ob = pn["B"] - pn["A"] if pn["B"] and pn["A"] else None
        rate[mode] = {
            "rounds": len(rounds),
            "per_round": {str(i): by[i] for i in rounds},
            "best_rate": best,
            "per_negotiation": pn,
            "overhead_C": oc, "overhead_B": ob,
            "overhead_ratio": oc / ob if oc is not None and ob else None,
            "spread": {x: (max(v) / min(v) - 1 if v else None)
                       for x in "ABC"
                       for v in [[by[i][x] for i in rounds if x in by[i]]]},
        }
    res["rate"] = rate
    mp = defaultdict(dict)
    for r in rows:
        if r[0] == "mp":
            mp[r[2]][int(r[3])] = float(r[4])
    res["mp"] = {x: median(list(v.values())) for x, v in mp.items()}

    # The callbacks' own instructions, per negotiation and per call.
    res["callbacks"] = {}
    for mode in MODES:
        b = callbacks(rows, "cb", 0, mode, "B")
        c = callbacks(rows, "cb", 0, mode, "C")
        if not b and not c:
            continue
        res["callbacks"][mode] = {
            "B": b, "C": c, "B_total": cb_total(b), "C_total": cb_total(c),
            "C_over_B": ratio(cb_total(c), cb_total(b))}
    res["profile"] = profile(rows, d)

    # Locks taken inside the callbacks, per negotiation.
    locks = {}
    for r in rows:
        if r[0] == "lock":
            mode, x, cb, caller, name = r[1:6]
            n, addrs, negs = int(r[6]), int(r[7]), float(r[8])
            e = locks.setdefault(mode, {}).setdefault(x, {})
            k = "%s %s %s" % (cb, caller, name)
            e[k] = {"per_negotiation": n / negs if negs else None,
                    "addresses": addrs, "shared": name != "heap"}
    res["locks"] = locks
    res["lock_overrun"] = sum(int(r[4]) for r in rows if r[0] == "lockinfo")

    # (2): rate with N idle tracked flows, relative to the smallest N.
    scale = defaultdict(dict)
    opened = defaultdict(dict)
    for r in rows:
        if r[0] == "scale":
            scale[r[1]][int(r[2])] = float(r[3])
            opened[r[1]][int(r[2])] = float(r[4])
    res["scale"] = {}
    for x in sorted(scale):
        levels = sorted(scale[x])
        base = scale[x][levels[0]]
        res["scale"][x] = {
            str(n): {"rate": scale[x][n], "relative": ratio(scale[x][n], base),
                     "per_negotiation": per_neg(scale[x][n]),
                     "open_seconds": opened[x][n]} for n in levels}
        if x != "A":
            for n in levels:
                cbs = callbacks(rows, "cb", n, "pasv", x)
                res["scale"][x][str(n)]["callbacks"] = cb_total(cbs)

    # (4): memory per flow at the largest level; the helper's share is the
    # difference to A, which has the same connections and conntracks.  mem
    # is read 1 s after the last connection was tracked; memsteady once
    # they have been quiet for the seconds its last field says (after the
    # helper's park delay: its steady state).
    res["mem"] = mem_per_flow(rows, "mem")
    res["mem_steady"] = mem_per_flow(rows, "memsteady")
    res["mem"]["ftpe_flow_object_size"] = int(info.get("ftpe_flow_object_size", 0))
    res["mem"]["ftpe_flow_slab_size"] = int(info.get("ftpe_flow_slab_size", 0))
    res["mem"]["nf_conntrack_object_size"] = int(info.get("nf_conntrack_object_size", 0))

    # (6): how long the expectation outlived the final reply.
    pin = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r[0] == "pinhole":
            pin[r[1]][r[2]].append(float(r[4]))
    res["pinhole_ms"] = {x: {k: median(v) for k, v in pin[x].items()}
                         for x in sorted(pin)}

    # (5): the parser against memchr, by wall clock and by instructions.
    p = {"lines_per_s": parse.get("parse_lines_per_s"),
         "bytes_per_s": parse.get("parse_bytes_per_s"),
         "memchr_bytes_per_s": parse.get("memchr_bytes_per_s"),
         "ratio_time": parse.get("ratio_time"),
         "transcript_bytes": parse.get("transcript_bytes"),
         "transcript_lines": parse.get("transcript_lines")}
    if "callgrind_ir_parse" in parse:
        fixed = parse["callgrind_ir_none"]
        ir_p = parse["callgrind_ir_parse"] - fixed
        ir_m = parse["callgrind_ir_memchr"] - fixed
        iters = 200
        p["ir_per_byte_parse"] = ir_p / iters / parse["transcript_bytes"]
        p["ir_per_byte_memchr"] = ir_m / iters / parse["transcript_bytes"]
        p["ratio_instructions"] = ir_m / ir_p
    res["parse"] = p
    res["targets"] = targets(res)
    return res


def targets(res):
    t = {}

    def put(name, value, goal, ok):
        t[name] = {"value": value, "target": goal,
                   "met": None if value is None else bool(ok(value))}

    for mode in ("pasv", "port", "nat-pasv", "nat-port"):
        c = res["callbacks"].get(mode, {})
        put("callbacks C/B, %s" % mode, c.get("C_over_B"), "<= 0.7",
            lambda v: v <= 0.7)
        r = res["rate"].get(mode, {})
        put("overhead (C-A)/(B-A) per negotiation, %s" % mode,
            r.get("overhead_ratio"), "<= 0.7", lambda v: v <= 0.7)
    sc = res["scale"].get("C", {})
    lv = sorted(sc, key=int)
    if len(lv) > 1 and sc[lv[0]].get("callbacks"):
        put("C callbacks at %s idle flows / at %s" % (lv[-1], lv[0]),
            ratio(sc[lv[-1]]["callbacks"], sc[lv[0]]["callbacks"]),
            "<= 1.02", lambda v: v <= 1.02)
    cm = res["mem"].get("C_minus_B")
    put("C bytes per connection over B (slab)",
        cm["slab_obj_bytes_per_flow"] if cm else None, "<= 128",
        lambda v: v <= 128)
    cm = res["mem_steady"].get("C_minus_B")
    put("C bytes per connection over B (slab, steady state)",
        cm["slab_obj_bytes_per_flow"] if cm else None, "<= 128",
        lambda v: v <= 128)
    shared = None
    for mode, xs in res["locks"].items():
        for k, e in xs.get("C", {}).items():
            if e["shared"] and not k.endswith(PER_NEGOTIATION_LOCKS):
                shared = (shared or 0) + e["per_negotiation"]
    if res["locks"]:
        put("C shared-lock acquisitions per negotiation on the packet path",
            shared or 0.0, "0", lambda v: v == 0)
    pc = res["pinhole_ms"].get("C", {})
    put("C pinhole lifetime after final reply (ms, worst kind)",
        max(pc.values()) if pc else None, "0", lambda v: v < 1)
    return t


def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.*f" % (digits, v)
    return str(v)


def table(res):
    lines = ["Instructions per negotiation (1e9 / the best rate of the rounds):", "",
             "| mode | A (no helper) | B (nf_conntrack_ftp) | C (nf_ftp_embryo) | B-A | C-A | (C-A)/(B-A) | spread A/B/C |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for mode, d in res["rate"].items():
        p = d["per_negotiation"]
        sp = "/".join("%.2f%%" % (100 * d["spread"][x]) if d["spread"][x]
                      is not None else "-" for x in "ABC")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            mode, fmt(p["A"], 0), fmt(p["B"], 0), fmt(p["C"], 0),
            fmt(d["overhead_B"], 0), fmt(d["overhead_C"], 0),
            fmt(d["overhead_ratio"]), sp))
    lines += ["", "The callbacks' own instructions per negotiation (function_graph;"
              " the tracer's share, %s per call and %s per call inside a traced"
              " one, taken off):" % (fmt(res["tracer_overhead_per_call"]),
                                     fmt(res["tracer_overhead_nested"])), "",
              "| mode | B: help (+ nf_nat_follow_master) | C: ftpe_help + ftpe_pinhole_used (+ destroy) | C/B | per call B | per call C |",
              "| --- | --- | --- | --- | --- | --- |"]
    for mode, d in res["callbacks"].items():
        def per_call(cbs):
            return ", ".join("%s %.0f" % (f, v[1] / v[0]) for f, v in
                             sorted(cbs.items()) if f in ROOTS and v[0])
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            mode, fmt(d["B_total"], 0), fmt(d["C_total"], 0),
            fmt(d["C_over_B"]), per_call(d["B"]), per_call(d["C"])))
    if res["profile"]:
        lines += ["", "Profile (QEMU plugin, exact): instructions per negotiation"
                  " in each helper's own functions, and in the whole guest:", "",
                  "| mode | B own | C own | guest C - B | C's costliest |",
                  "| --- | --- | --- | --- | --- |"]
        for mode, xs in res["profile"].items():
            b, c = xs.get("B"), xs.get("C")
            if not b or not c:
                continue
            top = sorted(c["own"].items(), key=lambda kv: -kv[1])[:8]
            lines.append("| %s | %s | %s | %s | %s |" % (
                mode, fmt(b["own_total"], 0), fmt(c["own_total"], 0),
                # A short run is mostly the client's start-up.
                fmt(c["guest_total"] - b["guest_total"], 0)
                if min(b["negotiations"], c["negotiations"]) >= 500 else "-",
                ", ".join("%s %.0f" % kv for kv in top)))
    if res["locks"]:
        lines += ["", "Locks taken inside the callbacks, per negotiation"
                  " (shared: static, one for all connections):", "",
                  "| mode | helper | callback, caller, lock | per negotiation | locks | shared |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for mode, xs in res["locks"].items():
            for x, ks in sorted(xs.items()):
                for k, e in sorted(ks.items()):
                    lines.append("| %s | %s | %s | %s | %d | %s |" % (
                        mode, x, k, fmt(e["per_negotiation"]), e["addresses"],
                        "yes" if e["shared"] else "no"))
    levels = sorted({int(n) for x in res["scale"].values() for n in x})
    if levels:
        lines += ["", "With N idle tracked control connections (PASV):", "",
                  "| N | A | B | C | B-A | C-A | callbacks B | callbacks C |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for n in levels:
            e = {x: res["scale"].get(x, {}).get(str(n), {}) for x in "ABC"}
            pn = {x: e[x].get("per_negotiation") for x in "ABC"}
            lines.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                n, fmt(pn["A"], 0), fmt(pn["B"], 0), fmt(pn["C"], 0),
                fmt(pn["B"] - pn["A"] if pn["B"] and pn["A"] else None, 0),
                fmt(pn["C"] - pn["A"] if pn["C"] and pn["A"] else None, 0),
                fmt(e["B"].get("callbacks"), 0), fmt(e["C"].get("callbacks"), 0)))
    def slab_split(m):
        """A, B and C's slab bytes per connection, and their differences."""
        b = lambda k: fmt(m.get(k, {}).get("slab_obj_bytes_per_flow"), 0)
        return "A %s, B %s (+%s over A), C %s (+%s over A, +%s over B)" % (
            b("A"), b("B"), b("B_minus_A"), b("C"), b("C_minus_A"), b("C_minus_B"))

    mem = res["mem"]
    if "A" in mem:
        lines += ["", "Memory at %d idle connections, slab bytes per connection:"
                  " %s; struct ftpe_flow %d B (slab object %d B)" % (
                      mem["flows"], slab_split(mem),
                      mem["ftpe_flow_object_size"], mem["ftpe_flow_slab_size"])]
    ms = res["mem_steady"]
    if "A" in ms:
        lines += ["Steady state, the same connections quiet for %d s: %s" % (
            ms["seconds"], slab_split(ms))]
    for k in ("pasv-ok", "pasv-fail", "port-fail"):
        lines.append("pinhole lifetime after the final reply, %s: B %s ms, C %s ms" % (
            k, fmt(res["pinhole_ms"].get("B", {}).get(k), 0),
            fmt(res["pinhole_ms"].get("C", {}).get(k), 0)))
    p = res["parse"]
    lines.append("parser on the host: %s lines/s, %s B/s (memchr %s B/s; ratio"
                 " time %s, instructions %s)" % (
                     fmt(p["lines_per_s"], 0), fmt(p["bytes_per_s"], 0),
                     fmt(p["memchr_bytes_per_s"], 0), fmt(p["ratio_time"]),
                     fmt(p.get("ratio_instructions"))))
    if res["mp"]:
        lines.append("wall clock, 2 vCPUs, %s connections: A %s, B %s, C %s negotiations/s" % (
            res["info"].get("mp_conns", "-"), fmt(res["mp"].get("A"), 1),
            fmt(res["mp"].get("B"), 1), fmt(res["mp"].get("C"), 1)))
    lines += ["", "| target | value | goal | met |", "| --- | --- | --- | --- |"]
    for name, t in res["targets"].items():
        lines.append("| %s | %s | %s | %s |" % (
            name, fmt(t["value"]), t["target"],
            {True: "yes", False: "NO", None: "-"}[t["met"]]))
    return "\n".join(lines)


def smoke_checks(res):
    """Sanity, not performance: every part ran and produced a number."""
    bad = 0

    def tap(name, ok):
        nonlocal bad
        print("%s - bench smoke: %s" % ("ok" if ok else "not ok", name))
        bad += not ok

    for mode in MODES:
        m = res["rate"].get(mode, {}).get("best_rate", {})
        tap("%s negotiates in A, B and C" % mode,
            all(m.get(x) and m[x] > 0 for x in "ABC"))
    tap("instruction time (one vCPU, -icount)",
        res["info"].get("clock") == "icount" and res["info"].get("cpus") == "1")
    tap("tracer calibrated", (res["tracer_overhead_per_call"] or 0) > 0)
    tap("callbacks traced in a plain and a NAT'd mode",
        len(res["callbacks"]) >= 2)
    for mode, d in res["callbacks"].items():
        tap("callbacks of B and C traced, %s" % mode,
            (d.get("B_total") or 0) > 0 and (d.get("C_total") or 0) > 0)
    tap("profile counted the helpers' instructions (QEMU plugin)",
        any(xs.get("C", {}).get("own", {}).get("ftpe_help", 0) > 0 and
            xs.get("B", {}).get("own", {}).get("help", 0) > 0
            for xs in res["profile"].values()))
    lk = res["locks"].get("pasv", {})
    tap("locks counted: nf_conntrack_ftp takes nf_ftp_lock",
        any(k.endswith("nf_ftp_lock") and e["per_negotiation"] > 0
            for k, e in lk.get("B", {}).items()))
    tap("locks counted: no trace events lost", res["lock_overrun"] == 0)
    tap("idle flows open and rate measured in A, B and C",
        all(x in res["scale"] and all(e["rate"] > 0 for e in res["scale"][x].values())
            for x in "ABC"))
    st = res["ftpe_stats"]
    tap("nf_ftp_embryo created expectations and they were used or removed",
        st.get("expect_created", 0) > 0 and
        st.get("expect_used", 0) + st.get("expect_removed_early", 0) > 0)
    tap("slab accounting read (ftpe_flow cache found)",
        res["mem"]["ftpe_flow_object_size"] > 0 and "C_minus_A" in res["mem"])
    pin = res["pinhole_ms"]
    tap("pinhole probes ran for B and C",
        all(v is not None and v >= 0 for x in ("B", "C")
            for v in pin.get(x, {"x": None}).values())
        and len(pin.get("B", {})) == 3 and len(pin.get("C", {})) == 3)
    tap("nf_ftp_embryo leaves no pinhole after the final reply",
        all(v < 1 for v in pin.get("C", {"x": 1e9}).values()))
    tap("parser benchmark ran",
        (res["parse"]["lines_per_s"] or 0) > 0 and (res["parse"]["ratio_time"] or 0) > 0)
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--raw", required=True)
    ap.add_argument("--parse", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    res = analyse(load_raw(a.raw), load_parse(a.parse), os.path.dirname(a.raw))
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print(table(res))
    print("\nresults: %s" % a.json)
    if a.smoke:
        sys.exit(1 if smoke_checks(res) else 0)


if __name__ == "__main__":
    main()
