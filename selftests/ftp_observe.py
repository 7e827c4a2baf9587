#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What an admin sees (issue 16): refusals in the netfilter log, flow events
on the netlink group, and the CLI's JSON and OpenMetrics read by real
parsers.

Run by ftp_observe.sh in the guest: lib.sh's namespaces up, the helper
attached on rtr, nothing listening on srv:21, rtr's IPv4 log backend bound
to nfnetlink_log (net.netfilter.nf_log.2).  One process plays client and
server (scripted.py) and listens on rtr's NFLOG group 0, where the
backend sends what nf_log_packet() gets without a rule of its own.
Prints TAP lines.
Usage: ftp_observe.py CLI SCHEMA
"""
import errno
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import jsonschema
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nsutil import Tap, enter, hostport, nla, stats, wait_until
from scripted import CLI4, SRV4, Ctl, Listener, recv_exact

CLI, SCHEMA = sys.argv[1], sys.argv[2]
tap = Tap("observe")
validator = jsonschema.Draft7Validator(json.load(open(SCHEMA)),
                                       format_checker=jsonschema.FormatChecker())

NETLINK_NETFILTER = 12
NFULNL_MSG_PACKET = 4 << 8              # NFNL_SUBSYS_ULOG, NFULNL_MSG_PACKET
NFULNL_MSG_CONFIG = (4 << 8) | 1
NFULA_PAYLOAD, NFULA_PREFIX = 9, 10
NFULA_CFG_CMD, NFULA_CFG_MODE, NFULA_CFG_QTHRESH = 1, 2, 5
NFULNL_CFG_CMD_BIND, NFULNL_COPY_PACKET = 1, 2


class Nflog:
    """rtr's NFLOG group 0: every message's prefix and packet, as read."""

    def __init__(self):
        enter("rtr")
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                               NETLINK_NETFILTER)
        self.s.bind((0, 0))
        self.lines = []
        self.config(nla(NFULA_CFG_CMD, bytes([NFULNL_CFG_CMD_BIND])))
        self.config(nla(NFULA_CFG_MODE,
                        struct.pack(">IBB", 0xffff, NFULNL_COPY_PACKET, 0)) +
                    nla(NFULA_CFG_QTHRESH, struct.pack(">I", 1)))
        threading.Thread(target=self.read, daemon=True).start()

    def config(self, attrs):
        body = struct.pack("=BBH", socket.AF_INET, 0, socket.htons(0)) + attrs
        hdr = struct.pack("=IHHII", 16 + len(body), NFULNL_MSG_CONFIG, 1 | 4, 1, 0)
        self.s.send(hdr + body)
        ack = self.s.recv(65536)
        err = struct.unpack_from("=i", ack, 16)[0]
        if err:
            raise OSError(-err, "NFLOG config")

    def read(self):
        while True:
            buf = self.s.recv(1 << 20)
            off = 0
            while off + 16 <= len(buf):
                n, kind = struct.unpack_from("=IH", buf, off)
                if kind == NFULNL_MSG_PACKET:
                    self.lines.append(self.parse(buf[off + 20:off + n]))
                off += (n + 3) & ~3

    @staticmethod
    def parse(attrs):
        prefix, src, dst = "", None, None
        off = 0
        while off + 4 <= len(attrs):
            n, kind = struct.unpack_from("=HH", attrs, off)
            data = attrs[off + 4:off + n]
            if kind & 0x3fff == NFULA_PREFIX:
                prefix = data.rstrip(b"\0").decode()
            elif kind & 0x3fff == NFULA_PAYLOAD and len(data) >= 24:
                src = socket.inet_ntoa(data[12:16])
                dst = socket.inet_ntoa(data[16:20])
                ihl = (data[0] & 15) * 4
                src += ":%d" % struct.unpack_from(">H", data, ihl)[0]
                dst += ":%d" % struct.unpack_from(">H", data, ihl + 2)[0]
            off += (n + 3) & ~3
        return prefix, src, dst

    def matching(self, text):
        return [line for line in self.lines if text in line[0]]


class Monitor:
    """ftp-embryo -n rtr monitor --json [ARGS], read line by line; with
    json=False, its table's lines."""

    def __init__(self, *args, json_out=True):
        self.json = json_out
        self.p = subprocess.Popen([CLI, "-n", "rtr", "monitor", *args] +
                                  (["--json"] if json_out else []),
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.started = "monitoring" in self.p.stderr.readline()
        self.events = []
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.p.stdout:
            self.events.append(json.loads(line) if self.json else line)

    def of(self, port):
        return [e for e in self.events if e["client_port"] == port]


def cli(*args, check=True):
    r = subprocess.run([CLI, "-n", "rtr", *args], capture_output=True,
                       text=True, timeout=60)
    if check and r.returncode:
        raise RuntimeError(f"ftp-embryo {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


def valid(doc):
    errs = [e.message for e in validator.iter_errors(doc)]
    return not errs, "\n".join(errs) or doc


def client_port(ctl):
    return ctl.c.getsockname()[1]


def pasv_transfer(lst, port):
    ctl = Ctl(lst)
    ctl.rep("220 scripted\r\n")
    ctl.cmd("PASV\r\n")
    enter("srv")
    dl = socket.create_server((SRV4, port))
    ctl.rep(f"227 Entering Passive Mode ({hostport(SRV4, port)}).\r\n")
    enter("cli")
    d = socket.create_connection((SRV4, port), timeout=5)
    ds, _ = dl.accept()
    dl.close()
    ctl.cmd("RETR file\r\n")
    ctl.rep("150 Here it comes.\r\n")
    ds.sendall(b"x" * 4096)
    ds.close()
    recv_exact(d, 4096)
    d.close()
    ctl.rep("226 Transfer complete.\r\n")
    return ctl


def main():
    nflog = Nflog()
    mon = Monitor()
    tap("monitor --json subscribed", mon.started)
    lst = Listener()

    # 1. A PASV transfer: its events, in order.
    a = pasv_transfer(lst, 10021)
    port = client_port(a)
    want = [("started", "OPENING", None), ("pinhole_open", "OPENED", None),
            ("state", "OPENED", None), ("pinhole_close", "OPENED", "used"),
            ("state", "CMD_SENT", None), ("state", "EXEC_STARTED", None),
            ("state", "IDLE", "completed")]
    wait_until(lambda: len(mon.of(port)) >= len(want), 5)
    got = [(e["event"], e["state"], e["reason"]) for e in mon.of(port)]
    for e in mon.of(port):
        print("# monitor: " + json.dumps(e), flush=True)
    tap("monitor: a PASV transfer's events in order", got == want,
        f"got  {got}\nwant {want}")
    ev = mon.of(port)
    tap("monitor: the pinhole named 10.0.2.2:10021, the connection named both ends",
        len(ev) > 1 and ev[1]["data_address"] == SRV4 and
        ev[1]["data_port"] == 10021 and ev[1]["client_address"] == CLI4 and
        ev[1]["server_address"] == SRV4 and ev[1]["server_port"] == 21 and
        ev[1]["mode"] == "PASV" and ev[1]["family"] == "ipv4", ev[:2])
    # The events tell the negotiation as each line leaves it: no mode once
    # it has ended.
    modes = [e["mode"] for e in ev]
    tap("monitor: each event names the mode as the line left it",
        modes == ["PASV"] * (len(want) - 1) + [None], modes)
    a.close()

    # 2. A bounce: refused, logged once, kept in the flows.
    b = Ctl(lst)
    b.rep("220 scripted\r\n")
    b.cmd(f"PORT {hostport(SRV4, 10000)}\r\n")
    b.rep("500 Illegal PORT command.\r\n")
    bport = client_port(b)
    wait_until(lambda: mon.of(bport), 5)
    got = [(e["event"], e["state"], e["reason"], e["data_address"], e["data_port"])
           for e in mon.of(bport)]
    tap("monitor: the bounce is one refused event naming 10.0.2.2:10000",
        got == [("refused", "IDLE", "bounce", SRV4, 10000)], got)
    text = "nf_ct_ftp-embryo: refused bounce 10.0.2.2:10000"
    wait_until(lambda: nflog.matching(text), 5)
    lines = nflog.matching(text)
    print(f"# NFLOG: {lines}", flush=True)
    tap("NFLOG: one line for the bounce, naming what was announced and the control connection",
        len(lines) == 1 and lines[0][1] == f"{CLI4}:{bport}" and
        lines[0][2] == f"{SRV4}:21", nflog.lines)

    # 3. An unsolicited 227: refused, logged once.
    c = Ctl(lst)
    c.rep("220 scripted\r\n")
    c.cmd("NOOP\r\n")
    c.rep(f"227 Entering Passive Mode ({hostport(SRV4, 10001)}).\r\n")
    cport = client_port(c)
    wait_until(lambda: mon.of(cport), 5)
    got = [(e["event"], e["state"], e["reason"], e["data_address"], e["data_port"])
           for e in mon.of(cport)]
    tap("monitor: the unsolicited 227 is one refused event naming 10.0.2.2:10001",
        got == [("refused", "IDLE", "unsolicited", SRV4, 10001)], got)
    text = "nf_ct_ftp-embryo: refused unsolicited 10.0.2.2:10001"
    wait_until(lambda: nflog.matching(text), 5)
    lines = nflog.matching(text)
    print(f"# NFLOG: {lines}", flush=True)
    tap("NFLOG: one line for the unsolicited 227, from the server's side",
        len(lines) == 1 and lines[0][1] == f"{SRV4}:21" and
        lines[0][2] == f"{CLI4}:{cport}", nflog.lines)
    tap("NFLOG: nothing else was logged", len(nflog.lines) == 2, nflog.lines)

    # 4. The flows keep both refusals; JSON valid; the table's options.
    doc = json.loads(cli("flows", "--json").stdout)
    tap("flows --json validates against the schema", *valid(doc))
    rows = {r["client_port"]: r for r in doc["flows"]}
    tap("flows: the bounce kept, with what it announced",
        bport in rows and rows[bport]["refused"] == "bounce" and
        rows[bport]["refused_address"] == SRV4 and
        rows[bport]["refused_port"] == 10000 and rows[bport]["reply"] == None and
        rows[bport]["data_address"] is None and rows[bport]["mode"] is None,
        rows)
    tap("flows: the unsolicited 227 kept",
        cport in rows and rows[cport]["refused"] == "unsolicited" and
        rows[cport]["refused_port"] == 10001, rows)
    out = cli("flows", "--noheadings", "-o", "client,refused,announced",
              "--state", "idle").stdout
    want = sorted([f"{CLI4}:{bport} bounce 10.0.2.2:10000",
                   f"{CLI4}:{cport} unsolicited 10.0.2.2:10001"])
    tap("flows --noheadings -o CLIENT,REFUSED,ANNOUNCED --state idle: two rows, those columns",
        sorted(" ".join(line.split()) for line in out.splitlines()) == want, out)
    tap("flows -6: none", cli("flows", "--noheadings", "-6").stdout == "",
        cli("flows", "-6").stdout)
    tap("flows -a 10.0.1.9: none",
        cli("flows", "--noheadings", "-a", "10.0.1.9").stdout == "")
    out = cli("flows").stdout.splitlines()
    print("# flows:\n" + "\n".join("#   " + line for line in out), flush=True)
    print("# flows --json row: " + json.dumps(rows[bport]), flush=True)
    tap("flows: a header and two rows, columns aligned",
        len(out) == 3 and out[0].split()[0] == "AF" and
        len({line.index("10.0.2.2:21") for line in out[1:]}) == 1, out)
    for e in mon.events:
        ok, why = valid(e)
        if not ok:
            tap("monitor --json validates against the schema", False, why)
            break
    else:
        tap(f"monitor --json validates against the schema ({len(mon.events)} events)",
            bool(mon.events))

    # 5. stats: JSON, OpenMetrics, and a watch interval with one bounce.
    doc = json.loads(cli("stats", "--json").stdout)
    tap("stats --json validates against the schema", *valid(doc))
    proc = stats()
    text = cli("stats", "--format", "openmetrics").stdout
    try:
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        # and nf_ftp_embryo_up, every sample labelled with rtr's name
        ok = (len(fams) == len(proc) + 1 and
              fams["nf_ftp_embryo_up"].type == "gauge" and
              fams["nf_ftp_embryo_up"].samples[0].value == 1 and
              all(s.labels == {"netns": "rtr"}
                  for f in fams.values() for s in f.samples) and
              fams["nf_ftp_embryo_refused_bounce"].type == "counter" and
              fams["nf_ftp_embryo_refused_bounce"].samples[0].value ==
              proc["refused_bounce"] and
              fams["nf_ftp_embryo_flows_current"].type == "gauge")
        why = f"{len(fams)} families, /proc has {len(proc)}"
    except Exception as e:  # the parser's verdict
        ok, why = False, repr(e)
    print("# openmetrics: " + " | ".join(line for line in text.splitlines()
                                           if "refused_bounce" in line or
                                           "flows_current" in line or
                                           line.startswith("# EOF")), flush=True)
    tap("stats --format openmetrics parses (prometheus_client) and matches /proc",
        ok, why + "\n" + text[-300:])
    w = subprocess.Popen([CLI, "-n", "rtr", "stats", "-w", "3", "-c", "1", "-j"],
                         stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    d = Ctl(lst)
    d.rep("220 scripted\r\n")
    d.cmd(f"PORT {hostport(SRV4, 10002)}\r\n")
    d.rep("500 Illegal PORT command.\r\n")
    out, _ = w.communicate(timeout=30)
    doc = json.loads(out)
    tap("stats -w 3 -j validates against the schema", *valid(doc))
    rb = {k: doc[k]["refused_bounce"] for k in ("counters", "deltas", "rates")}
    print(f"# stats -w 3 -j: interval_s {doc['interval_s']}, refused_bounce {json.dumps(rb)}",
          flush=True)
    tap("stats -w 3 -j: refused_bounce delta 1, rate 1/3 unrounded, total as /proc",
        rb["deltas"] == 1 and abs(rb["rates"] - 1 / 3) < 1e-12 and
        rb["counters"] == stats()["refused_bounce"], rb)
    for ctl in (b, c, d):
        ctl.close()

    # 6. A flood of refusals in one segment: each is counted, but only
    # 200 a second become events (report.h), the rest are counted as
    # suppressed.  (Sent, an event may still be lost to a listener whose
    # socket buffer is full: the monitor's own lost-event report.)  The
    # 17th command in flight is one more: pipeline_overflow.
    before = stats()
    e = Ctl(lst)
    e.rep("220 scripted\r\n")
    e.cmd(f"PORT {hostport(SRV4, 10003)}\r\n" * 1000)
    eport = client_port(e)
    wait_until(lambda: stats()["refused_bounce"] - before["refused_bounce"] == 1000, 10)
    after = stats()
    suppressed = after.get("events_suppressed", 0) - before.get("events_suppressed", 0)
    time.sleep(1)
    events = len(mon.of(eport))
    tap(f"a flood of 1000 bounces: {events} events, {suppressed} counted as suppressed",
        after["refused_bounce"] - before["refused_bounce"] == 1000 and
        0 < events <= 400 and 600 <= suppressed <= 1001 - events,
        f"refused_bounce +{after['refused_bounce'] - before['refused_bounce']}")
    e.close()

    # 7. The log's limit: the flood's lines beyond 10 in 5 s were counted
    # (log_suppressed), and the next line that passes says how many.
    suppressed = (stats().get("log_suppressed", 0) -
                  before.get("log_suppressed", 0))
    time.sleep(5.5)
    mark = len(nflog.lines)
    f = refuse(lst, 10004)
    wait_until(lambda: nflog.matching("10.0.2.2:10004"), 5)
    said = told_suppressed(nflog.lines[mark:])
    print(f"# after the flood: log_suppressed +{suppressed}; "
          f"NFLOG: {nflog.lines[mark:]}", flush=True)
    tap(f"the log: the flood's {suppressed} suppressed lines counted, and "
        "said in the next line (\"N lines suppressed\")",
        suppressed >= 980 and said == [suppressed], said)
    f.close()

    # 8. The limit as sysctls: bad values refused (EINVAL), not clamped.
    for name, bad in (("log_burst", "0"), ("log_burst", "-1"),
                      ("log_burst", "10001"), ("log_burst", "ten"),
                      ("log_interval", "0"), ("log_interval", "3601")):
        err = sysctl_write(name, bad)
        tap(f"sysctl nf_ftp_embryo_{name}={bad} refused with EINVAL, "
            "the value unchanged",
            err == errno.EINVAL and sysctl_read(name) ==
            {"log_burst": 10, "log_interval": 5}[name], f"errno {err}")
    tap("sysctl: burst 2 a second accepted",
        sysctl_write("log_burst", "2") == 0 and
        sysctl_write("log_interval", "1") == 0 and
        sysctl_read("log_burst") == 2 and sysctl_read("log_interval") == 1)
    time.sleep(1.2)
    before = stats()
    mark = len(nflog.lines)
    g = Ctl(lst)
    g.rep("220 scripted\r\n")
    g.cmd(f"PORT {hostport(SRV4, 10005)}\r\n" * 5)
    wait_until(lambda: stats()["refused_bounce"] - before["refused_bounce"] == 5, 5)
    time.sleep(0.5)
    burst = nflog.matching("10.0.2.2:10005")
    counted = (stats().get("log_suppressed", 0) -
               before.get("log_suppressed", 0))
    tap("burst 2: five bounces, two lines logged, three counted as suppressed",
        len(burst) == 2 and counted == 3, f"{burst}, log_suppressed +{counted}")
    time.sleep(1.2)
    h = refuse(lst, 10006)
    wait_until(lambda: nflog.matching("10.0.2.2:10006"), 5)
    said = told_suppressed(nflog.lines[mark:])
    tap("burst 2: the next line, a second later, says \"3 lines suppressed\"",
        said == [3] and "(3 lines suppressed)" in
        nflog.matching("10.0.2.2:10006")[0][0], nflog.lines[mark:])
    sysctl_write("log_burst", "10")
    sysctl_write("log_interval", "5")
    for ctl in (g, h):
        ctl.close()

    # 9. A line that does not parse: counted each time, reported once
    # (per connection and 10 s) in the monitor, the log and the row.
    time.sleep(5.5)
    before = stats()
    m = Ctl(lst)
    m.rep("220 scripted\r\n")
    m.cmd("PORT 10,0,1,2,39\r\n" * 3)
    mport = client_port(m)
    wait_until(lambda: mon.of(mport), 5)
    time.sleep(0.5)
    got = [(e["event"], e["state"], e["reason"]) for e in mon.of(mport)]
    tap("monitor: three malformed PORTs are one refused event, reason malformed",
        got == [("refused", "IDLE", "malformed")], got)
    tap("stats: malformed counts all three",
        stats()["malformed"] - before["malformed"] == 3)
    text = "nf_ct_ftp-embryo: refused malformed -"
    wait_until(lambda: nflog.matching(text), 5)
    lines = [ln for ln in nflog.matching(text) if ln[1] == f"{CLI4}:{mport}"]
    tap("NFLOG: one line 'refused malformed -' from the client",
        len(lines) == 1, nflog.matching(text))
    row = flow_row(mport)
    tap("flows: the row keeps refused malformed, announcing nothing",
        row and row["refused"] == "malformed" and
        row["refused_address"] is None, row)

    # 10. More commands in flight than are inspected: pipeline_overflow.
    before = stats()
    o = Ctl(lst)
    o.rep("220 scripted\r\n")
    o.cmd("PASV\r\n" + "NOOP\r\n" * 16)
    oport = client_port(o)
    wait_until(lambda: [e for e in mon.of(oport) if e["event"] == "refused"], 5)
    got = [(e["event"], e["state"], e["reason"]) for e in mon.of(oport)]
    tap("monitor: the 17th command in flight is a refused event, "
        "reason pipeline_overflow, after the negotiation it ended",
        got[-2:] == [("state", "IDLE", "other"),
                     ("refused", "IDLE", "pipeline_overflow")], got)
    tap("stats: pipeline_overflow +1",
        stats()["pipeline_overflow"] - before["pipeline_overflow"] == 1)
    text = "nf_ct_ftp-embryo: refused pipeline_overflow -"
    wait_until(lambda: nflog.matching(text), 5)
    tap("NFLOG: one line 'refused pipeline_overflow -' from the client",
        [ln[1] for ln in nflog.matching(text)] == [f"{CLI4}:{oport}"],
        nflog.matching(text))
    row = flow_row(oport)
    tap("flows: the row keeps refused pipeline_overflow",
        row and row["refused"] == "pipeline_overflow", row)
    doc = json.loads(cli("flows", "--json").stdout)
    tap("flows --json with the new reasons validates against the schema",
        *valid(doc))

    # 11. Delete by filter: only the flows named end, and only for an
    # admin of the namespace.
    p4 = Ctl(lst)
    p4.rep("220 scripted\r\n")
    p4.cmd("PASV\r\n")
    p6 = Ctl(lst, v6=True)
    p6.rep("220 scripted\r\n")
    p6.cmd("PASV\r\n")
    port4, port6 = client_port(p4), client_port(p6)
    wait_until(lambda: flow_row(port4) and flow_row(port6), 5)
    rows = len(json.loads(cli("flows", "--json").stdout)["flows"])
    r = subprocess.run(["ip", "netns", "exec", "rtr", "unshare", "-U", "-r",
                        CLI, "delete", "--state", "opening"],
                       capture_output=True, text=True, timeout=60)
    tap("delete from an unprivileged user namespace: refused (exit 4), "
        "nothing ended",
        r.returncode == 4 and flow_row(port4) and flow_row(port6),
        f"exit {r.returncode}: {r.stderr}")
    r = subprocess.run(["unshare", "-U", "-r", "-n", CLI, "delete",
                        "--state", "opening"],
                       capture_output=True, text=True, timeout=60)
    tap("delete in a user namespace's own network namespace ends none of rtr's",
        r.returncode == 0 and flow_row(port4) and flow_row(port6),
        f"exit {r.returncode}: {r.stderr}")
    cli("delete", "-6", "--state", "opening")
    after = json.loads(cli("flows", "--json").stdout)["flows"]
    tap("delete -6 --state opening: the IPv6 OPENING flow ended, every other row stays",
        flow_row(port6) is None and flow_row(port4) and
        len(after) == rows - 1, after)
    wait_until(lambda: [e for e in mon.of(port6) if e["state"] == "IDLE"], 5)
    got = [(e["event"], e["state"], e["reason"]) for e in mon.of(port6)]
    tap("monitor: it ended for flush", ("state", "IDLE", "flush") in got, got)
    cli("delete", "-s", CLI4, "--state", "opening")
    after = json.loads(cli("flows", "--json").stdout)["flows"]
    tap(f"delete -s {CLI4} --state opening: that flow ended, the refusals' rows stay",
        flow_row(port4) is None and len(after) == rows - 2 and
        flow_row(mport) and flow_row(oport), after)
    # 12. FTPS (issue 27): an encrypted session says so in the monitor, the
    # log and the row; CCC says the session is plaintext again.  A second
    # monitor wants only tls events, as conntrack -E -e does.
    tlsmon = Monitor("--noheadings", "-o", "event,client,reason", "-e", "tls",
                     json_out=False)
    tap("monitor -e tls subscribed", tlsmon.started)
    time.sleep(5.5)
    t = Ctl(lst)
    t.rep("220 scripted\r\n")
    t.cmd("AUTH TLS\r\n")
    t.rep("234 Proceed with negotiation.\r\n")
    tport = client_port(t)
    wait_until(lambda: mon.of(tport), 5)
    got = [(e["event"], e["reason"]) for e in mon.of(tport)]
    tap("monitor: the 234 is one tls event, reason encrypted",
        got == [("tls", "encrypted")], got)
    text = ("nf_ct_ftp-embryo: encrypted (AUTH TLS): transfers need a "
            "passive port range rule")
    wait_until(lambda: nflog.matching(text), 5)
    tap("NFLOG: one line saying the session is encrypted and what it needs",
        [ln[2] for ln in nflog.matching(text)] == [f"{CLI4}:{tport}"],
        nflog.matching(text))
    row = flow_row(tport)
    tap("flows: the row says encrypted", row and row["refused"] == "encrypted",
        row)
    # CCC: a record each way (the 200 to CCC, the close_notify), then lines.
    rec = bytes([23, 3, 3, 0, 19]) + b"x" * 19
    t.cmd(rec)
    t.rep(rec)
    t.cmd("NOOP\r\n")
    t.rep("200 NOOP ok.\r\n")
    wait_until(lambda: len(mon.of(tport)) >= 3, 5)
    got = [(e["event"], e["reason"]) for e in mon.of(tport)]
    tap("monitor: CCC: each direction's return to plaintext is a tls event",
        got == [("tls", "encrypted"), ("tls", "plaintext"),
                ("tls", "plaintext")], got)
    row = flow_row(tport)
    tap("flows: the row says plaintext", row and row["refused"] == "plaintext",
        row)
    wait_until(lambda: len(tlsmon.events) >= 3, 5)
    print("# monitor --noheadings -o event,client,reason -e tls:\n" +
          "".join("#   " + ln for ln in tlsmon.events), flush=True)
    got = [ln.split() for ln in tlsmon.events]
    tap("monitor -e tls: the three tls events and nothing else",
        got == [["tls", f"{CLI4}:{tport}", r]
                for r in ("encrypted", "plaintext", "plaintext")], got)
    tlsmon.p.terminate()

    for ctl in (m, o, p4, p6, t):
        ctl.close()
    mon.p.terminate()
    return tap.failed


def refuse(lst, port):
    """A control connection whose PORT names the server: one bounce."""
    ctl = Ctl(lst)
    ctl.rep("220 scripted\r\n")
    ctl.cmd(f"PORT {hostport(SRV4, port)}\r\n")
    return ctl


def told_suppressed(lines):
    """The N of each "(N lines suppressed)" the log lines say."""
    return [int(m.group(1)) for ln in lines
            for m in [re.search(r"\((\d+) lines suppressed\)", ln[0])] if m]


SYSCTL = "/proc/sys/net/netfilter/nf_ftp_embryo_"


def sysctl_write(name, value):
    """Write rtr's sysctl; 0 or the errno it was refused with."""
    enter("rtr")
    try:
        with open(SYSCTL + name, "w") as f:
            f.write(value + "\n")
    except OSError as e:
        return e.errno
    return 0


def sysctl_read(name):
    """rtr's sysctl, or None where there is none."""
    enter("rtr")
    try:
        with open(SYSCTL + name) as f:
            return int(f.read())
    except OSError:
        return None


def flow_row(port):
    """rtr's flow row of the control connection from client port @port."""
    rows = json.loads(cli("flows", "--json").stdout)["flows"]
    return next((r for r in rows if r["client_port"] == port), None)


if __name__ == "__main__":
    sys.exit(1 if main() else 0)
