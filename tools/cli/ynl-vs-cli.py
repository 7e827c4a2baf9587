#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Do the kernel's ynl tool, reading the family through the YNL spec alone,
and ftp-embryo see the same statistics and flows?

Usage (where the module is loaded, in the namespace to read):
ynl-vs-cli.py CLI SPEC YNL_DIR

YNL_DIR is tools/net/ynl of a kernel source tree (its cli.py, and
Documentation/netlink/genetlink-legacy.yaml three levels up).  Compares
`cli.py --do stats-get` with `CLI stats --json` (every name, value and
counter/gauge kind) and `cli.py --dump flows-get` with `CLI flows --json`
(each row's endpoints, state and mode).  The two reads are not atomic:
on a difference both are read again, up to three times.  Prints what
differs; exit 1 if anything still does."""
import ipaddress
import json
import os
import subprocess
import sys
import time

CLI, SPEC, YNL = sys.argv[1:4]
SCHEMA = os.path.join(YNL, "..", "..", "..", "Documentation", "netlink",
                      "genetlink-legacy.yaml")


def ynl(*args):
    out = subprocess.run([sys.executable, os.path.join(YNL, "cli.py"),
                          "--spec", SPEC, "--schema", SCHEMA, "--output-json",
                          *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def cli(*args):
    out = subprocess.run([CLI, *args, "--json"], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def stats():
    by_ynl = {s["name"]: (s["value"], bool(s.get("gauge")))
              for s in ynl("--do", "stats-get")["stats"]["stat"]}
    doc = cli("stats")
    by_cli = {k: (v, False) for k, v in doc["counters"].items()}
    by_cli.update({k: (v, True) for k, v in doc["gauges"].items()})
    return by_ynl, by_cli


def addr(hexed):
    return str(ipaddress.ip_address(bytes.fromhex(hexed))) if hexed else None


def flows():
    rows = ynl("--dump", "flows-get")
    by_ynl = sorted(
        (addr(f.get("client")), f.get("client-port"), addr(f.get("server")),
         f.get("server-port"), str(f.get("state")).upper().replace("-", "_"),
         None if f.get("mode", "none") == "none" else f["mode"].upper())
        for f in (r["flow"] for r in rows))
    by_cli = sorted(
        (r["client_address"], r["client_port"], r["server_address"],
         r["server_port"], r["state"], r["mode"])
        for r in cli("flows")["flows"])
    return by_ynl, by_cli


bad = []
for name, read in (("stats", stats), ("flows", flows)):
    t0 = time.monotonic()
    for attempt in range(3):
        a, b = read()
        if a == b:
            break
    print(f"# {name}: {len(a)} through ynl, {len(b)} through the CLI, "
          f"{attempt + 1} read(s), {time.monotonic() - t0:.1f} s", flush=True)
    if a != b:
        bad.append(f"{name}: ynl {a}\n#   CLI {b}")
for line in bad:
    print("# differs: " + line)
sys.exit(1 if bad else 0)
