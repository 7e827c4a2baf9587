#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Does the JSON Schema name exactly what names.c names?  Each enum of the
schema must be a table's names, plus what the CLI prints for a missing
value (null) or one it does not know ("?", "unknown").  Prints what
differs; exit 1 if anything does."""
import json
import re
import sys

names_c, schema = sys.argv[1], sys.argv[2]
with open(names_c) as f:
    text = f.read()


def listed(table):
    body = re.search(r"%s\[[^]]*\] = \{(.*?)\};" % table, text, re.S).group(1)
    return re.findall(r'\] = "(\w+)"', body)


with open(schema) as f:
    defs = json.load(f)["definitions"]
want = {
    "reason": [None] + listed("ftpe_reason_names") + ["unknown"],
    "state": [None] + listed("ftpe_state_names") + ["?"],
    "mode": [None] + listed("ftpe_mode_names") + ["?"],
    "event": listed("ftpe_event_names") + ["unknown"],
}
have = {
    "reason": defs["reason"]["enum"],
    "state": defs["state"]["enum"],
    "mode": defs["mode"]["enum"],
    "event": defs["event"]["properties"]["event"]["enum"],
}
bad = 0
for k in want:
    if sorted(map(str, want[k])) != sorted(map(str, have[k])):
        print("# %s: names.h %s, schema %s" % (k, want[k], have[k]))
        bad = 1
sys.exit(bad)
