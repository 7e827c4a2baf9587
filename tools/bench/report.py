#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw measurements of tools/bench/guest.sh and parsebench into
medians, ratios and the issue's targets: a JSON file and a Markdown table.
With --smoke, also check that every part produced a sane number and print
one TAP line per part ("ok - bench smoke: ...")."""
import argparse
import json
import statistics
import sys
from collections import defaultdict


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a and b else None


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


def analyse(rows, parse):
    info = {r[1]: " ".join(r[2:]) for r in rows if r[0] == "info"}
    stats = {r[1]: int(r[2]) for r in rows if r[0] == "stat"}
    res = {"info": info, "ftpe_stats": stats}

    # (1) and (3): per-round ratios (adjacent in time), then their median.
    for sect, modes in (("rate", ("pasv", "port")), ("mp", ("pasv",))):
        out = {}
        for mode in modes:
            by = defaultdict(dict)
            for r in rows:
                if r[0] == sect and r[1] == mode:
                    by[int(r[3])][r[2]] = float(r[4])
            rounds = sorted(by)
            m = {x: median([by[i][x] for i in rounds if x in by[i]])
                 for x in "ABC"}
            ca = [ratio(by[i].get("C"), by[i].get("A")) for i in rounds]
            cb = [ratio(by[i].get("C"), by[i].get("B")) for i in rounds]
            out[mode] = {
                "rounds": len(rounds),
                "per_round": {str(i): by[i] for i in rounds},
                "median_rate": m,
                "C_over_A": median([x for x in ca if x]),
                "C_over_B": median([x for x in cb if x]),
                "B_over_A": median([x for x in
                                    (ratio(by[i].get("B"), by[i].get("A"))
                                     for i in rounds) if x]),
            }
        res[sect] = out

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
                     "open_seconds": opened[x][n]} for n in levels}

    # (4): memory per flow at the largest level; the helper's share is the
    # difference to A, which has the same connections and conntracks.
    mem = {}
    for r in rows:
        if r[0] == "mem":
            x, n = r[1], int(r[2])
            ob0, pg0, ob1, pg1 = map(int, r[3:7])
            mf0, vm0, mf1, vm1 = map(int, r[7:11])
            mem.setdefault(x, {})[n] = {
                "slab_obj_bytes_per_flow": (ob1 - ob0) / n,
                "slab_page_bytes_per_flow": (pg1 - pg0) / n,
                "memfree_bytes_per_flow": (mf0 - mf1) / n,
                "vmalloc_bytes_per_flow": (vm1 - vm0) / n,
            }
    res["mem"] = {}
    if mem:
        top = max(n for x in mem for n in mem[x])
        res["mem"]["flows"] = top
        for x in sorted(mem):
            if top in mem[x]:
                res["mem"][x] = mem[x][top]
        if "A" in res["mem"]:
            for x in ("B", "C"):
                if x in res["mem"]:
                    res["mem"][x + "_minus_A"] = {
                        k: res["mem"][x][k] - res["mem"]["A"][k]
                        for k in res["mem"]["A"]}
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

    put("C/A negotiations (PASV, 1 conn)",
        res["rate"]["pasv"]["C_over_A"], ">= 0.95", lambda v: v >= 0.95)
    put("C/B negotiations (PASV, 1 conn)",
        res["rate"]["pasv"]["C_over_B"], ">= 1.0", lambda v: v >= 1.0)
    put("C/B 2 vCPUs x 64 conns",
        res["mp"]["pasv"]["C_over_B"], ">= 1.3", lambda v: v >= 1.3)
    sc = res["scale"].get("C", {})
    if sc:
        top = max(sc, key=int)
        put("C rate at %s flows / at %s" % (top, min(sc, key=int)),
            sc[top]["relative"], ">= 0.90", lambda v: v >= 0.9)
    cm = res["mem"].get("C_minus_A")
    put("C bytes per flow (slab, minus A)",
        cm["slab_obj_bytes_per_flow"] if cm else None, "<= 128",
        lambda v: v <= 128)
    put("parser / memchr (time)", res["parse"]["ratio_time"], ">= 0.5",
        lambda v: v >= 0.5)
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
    r, mp = res["rate"], res["mp"]
    lines = ["| measurement | A (no helper) | B (nf_conntrack_ftp) | C (nf_ftp_embryo) | C/A | C/B |",
             "| --- | --- | --- | --- | --- | --- |"]
    for label, d in (("(1) negotiations/s, PASV, 1 conn", r["pasv"]),
                     ("(1) negotiations/s, PORT, 1 conn", r["port"]),
                     ("(3) negotiations/s, PASV, 64 conns, 2 vCPUs", mp["pasv"])):
        m = d["median_rate"]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, fmt(m["A"], 1), fmt(m["B"], 1), fmt(m["C"], 1),
            fmt(d["C_over_A"]), fmt(d["C_over_B"])))
    levels = sorted({int(n) for x in res["scale"].values() for n in x})
    for n in levels:
        cells = []
        for x in "ABC":
            e = res["scale"].get(x, {}).get(str(n))
            cells.append("%s (x%s)" % (fmt(e["rate"], 1), fmt(e["relative"]))
                         if e else "-")
        lines.append("| (2) rate with %d idle flows (relative to %d) | %s | | |" % (
            n, levels[0], " | ".join(cells)))
    mem = res["mem"]
    if "A" in mem:
        lines.append("| (4) slab bytes per flow at %d flows (minus A) | %s | %s (%s) | %s (%s) | | |" % (
            mem["flows"], fmt(mem["A"]["slab_obj_bytes_per_flow"], 0),
            fmt(mem["B"]["slab_obj_bytes_per_flow"], 0) if "B" in mem else "-",
            fmt(mem.get("B_minus_A", {}).get("slab_obj_bytes_per_flow"), 0),
            fmt(mem["C"]["slab_obj_bytes_per_flow"], 0) if "C" in mem else "-",
            fmt(mem.get("C_minus_A", {}).get("slab_obj_bytes_per_flow"), 0)))
    lines.append("| (4) struct ftpe_flow object / slab size | | | %d / %d | | |" % (
        mem["ftpe_flow_object_size"], mem["ftpe_flow_slab_size"]))
    p = res["parse"]
    lines.append("| (5) parser lines/s, bytes/s (host) | memchr: %s B/s | | %s lines/s, %s B/s | time %s, instr %s | |" % (
        fmt(p["memchr_bytes_per_s"], 0), fmt(p["lines_per_s"], 0),
        fmt(p["bytes_per_s"], 0), fmt(p["ratio_time"]),
        fmt(p.get("ratio_instructions"))))
    for k in ("pasv-ok", "pasv-fail", "port-fail"):
        lines.append("| (6) pinhole lifetime after final reply, %s (ms) | | %s | %s | | |" % (
            k, fmt(res["pinhole_ms"].get("B", {}).get(k), 0),
            fmt(res["pinhole_ms"].get("C", {}).get(k), 0)))
    lines.append("")
    lines.append("| target | value | goal | met |")
    lines.append("| --- | --- | --- | --- |")
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

    for sect, mode in (("rate", "pasv"), ("rate", "port"), ("mp", "pasv")):
        m = res[sect][mode]["median_rate"]
        tap("%s %s negotiates in A, B and C" % (sect, mode),
            all(m[x] and m[x] > 0 for x in "ABC"))
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
    res = analyse(load_raw(a.raw), load_parse(a.parse))
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print(table(res))
    print("\nresults: %s" % a.json)
    if a.smoke:
        sys.exit(1 if smoke_checks(res) else 0)


if __name__ == "__main__":
    main()
