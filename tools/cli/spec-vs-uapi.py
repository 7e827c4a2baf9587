#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Does the YNL spec describe the family the uapi header defines?

Usage: spec-vs-uapi.py SPEC.yaml HEADER.h

Each enum of the spec's definitions, each attribute set that has a
name-prefix, and the operations must be the header's enum of that name,
name for name and value for value (the header's UNSPEC may be left out of
the operations, and __*_MAX is the header's own).  The family's name,
version and multicast groups must be the header's defines, and every
enum: and nested-attributes: a spec names must exist.  Prints what
differs; exit 1 if anything does."""
import re
import sys

import yaml

spec_path, header_path = sys.argv[1], sys.argv[2]
with open(spec_path) as f:
    spec = yaml.safe_load(f)
with open(header_path) as f:
    text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)


def c_name(*parts):
    return "".join(parts).upper().replace("-", "_")


def c_enum(name):
    return name.replace("-", "_")


def header_enums():
    """{enum name: {ENTRY: value}}, as the C compiler numbers them."""
    out = {}
    for name, body in re.findall(r"enum\s+(\w+)\s*\{(.*?)\};", text, re.S):
        vals, nxt = {}, 0
        for item in body.split(","):
            item = item.strip()
            if not item:
                continue
            m = re.fullmatch(r"(\w+)(?:\s*=\s*(\w+))?", item)
            if not m:
                raise SystemExit(f"{header_path}: cannot read '{item}' in enum {name}")
            if m.group(2) is not None:
                nxt = int(m.group(2), 0) if m.group(2)[0].isdigit() else vals[m.group(2)]
            vals[m.group(1)] = nxt
            nxt += 1
        out[name] = {k: v for k, v in vals.items() if not k.startswith("__")}
    return out


defines = dict(re.findall(r"#define[ \t]+(\w+)[ \t]+(\S+)", text))
enums = header_enums()
bad = []


def compare(what, enum_name, have):
    """have: {C NAME: value} from the spec."""
    want = enums.get(enum_name)
    if want is None:
        bad.append(f"{what}: the header has no enum {enum_name}")
        return
    for k in sorted(set(want) | set(have), key=lambda k: want.get(k, have.get(k))):
        if want.get(k) != have.get(k):
            bad.append(f"{what}: {k} is {want.get(k)} in the header, {have.get(k)} in the spec")


# The family itself.
if f'"{spec["name"]}"' != defines.get("FTPE_GENL_NAME"):
    bad.append(f"name: spec {spec['name']}, header {defines.get('FTPE_GENL_NAME')}")
if str(spec.get("version", 1)) != defines.get("FTPE_GENL_VERSION"):
    bad.append(f"version: spec {spec.get('version', 1)}, header {defines.get('FTPE_GENL_VERSION')}")
groups = sorted(g["name"] for g in spec.get("mcast-groups", {}).get("list", []))
hgroups = sorted(v.strip('"') for k, v in defines.items() if k.startswith("FTPE_GENL_MCGRP_"))
if groups != hgroups:
    bad.append(f"multicast groups: spec {groups}, header {hgroups}")

# definitions: enums, numbered from value-start (0) unless an entry says.
defs = {}
for d in spec.get("definitions", []):
    if d["type"] != "enum":
        continue
    defs[d["name"]] = d
    have, nxt = {}, d.get("value-start", 0)
    for e in d["entries"]:
        e = e if isinstance(e, dict) else {"name": e}
        nxt = e.get("value", nxt)
        have[c_name(d.get("name-prefix", ""), e["name"])] = nxt
        nxt += 1
    compare(f"enum {d['name']}", c_enum(d.get("enum-name", d["name"])), have)

# attribute sets: numbered from 1 unless an attribute says (ynl's rule).
sets = {s["name"]: s for s in spec["attribute-sets"]}
for s in spec["attribute-sets"]:
    if "subset-of" in s:
        parent = sets.get(s["subset-of"])
        names = {a["name"] for a in parent["attributes"]} if parent else set()
        for a in s["attributes"]:
            if a["name"] not in names:
                bad.append(f"set {s['name']}: {a['name']} is not in {s['subset-of']}")
        continue
    have, nxt = {}, 1
    for a in s["attributes"]:
        nxt = a.get("value", nxt)
        have[c_name(s["name-prefix"], a["name"])] = nxt
        nxt += 1
        if "enum" in a and a["enum"] not in defs:
            bad.append(f"set {s['name']}: {a['name']} names no enum {a['enum']}")
        if "nested-attributes" in a and a["nested-attributes"] not in sets:
            bad.append(f"set {s['name']}: {a['name']} nests no set {a['nested-attributes']}")
    compare(f"attribute set {s['name']}", c_enum(s["enum-name"]), have)

# operations: numbered from 1 unless one says; UNSPEC (0) need not be listed.
ops = spec["operations"]
have, nxt = {}, 1
for op in ops["list"]:
    nxt = op.get("value", nxt)
    have[c_name(ops["name-prefix"], op["name"])] = nxt
    nxt += 1
    if op.get("mcgrp") and op["mcgrp"] not in groups:
        bad.append(f"operation {op['name']}: no multicast group {op['mcgrp']}")
    if op.get("attribute-set", "main") not in sets:
        bad.append(f"operation {op['name']}: no attribute set {op['attribute-set']}")
unspec = c_name(ops["name-prefix"], "unspec")
if unspec not in have and enums.get(c_enum(ops["enum-name"]), {}).get(unspec) == 0:
    have[unspec] = 0
compare("operations", c_enum(ops["enum-name"]), have)

for line in bad:
    print("# " + line)
sys.exit(1 if bad else 0)
