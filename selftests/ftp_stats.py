#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A scripted FTP session through the router, then every counter checked.

Run in the client namespace by ftp_stats.sh.  Six control connections to
vsftpd, each ending its negotiation a different way (see SESSION below);
afterwards each event counter of the router must have exactly the value
the script predicts, in /proc/net/nf_ftp_embryo/stats and in
`ftp-embryo stats --json`, and the two must agree on every name.
Prints TAP lines.
Usage: ftp_stats.py SERVER CLIENT_ADDR RTR_PID CLI
"""
import json
import re
import socket
import struct
import subprocess
import sys
import time

SRV, ME, RTR_PID, CLI = sys.argv[1:5]
NFE = f"/proc/{RTR_PID}/net/nf_ftp_embryo"
# expect_timeout of the module (its default): a pinhole older is expired.
EXPECT_TIMEOUT = 60
failed = 0

# What the client itself sent and received, for the line and reply counts.
sent_cmds = 0
reply_lines = 0
reply_class = {c: 0 for c in range(1, 6)}


def tap(name, cond, why=""):
    global failed
    print(f"{'ok' if cond else 'not ok'} - {name}", flush=True)
    if not cond:
        failed += 1
        for line in str(why).splitlines():
            print(f"#   {line}", flush=True)


def rtr(*cmd, check=True):
    r = subprocess.run(["ip", "netns", "exec", "rtr", *cmd],
                       capture_output=True, text=True, timeout=60)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    return r


def proc_stats():
    with open(f"{NFE}/stats") as f:
        return {k: int(v) for k, _, v in
                (line.partition(": ") for line in f.read().splitlines())}


def proc_flows():
    with open(f"{NFE}/flows") as f:
        return f.read().splitlines()


def cli_stats():
    j = json.loads(rtr(CLI, "stats", "--json").stdout)
    return {**j["counters"], **j["gauges"]}


def cli_flows():
    return json.loads(rtr(CLI, "flows", "--json").stdout)["flows"]


class Ctl:
    """A control connection that counts every line it sends and receives."""

    def __init__(self):
        self.s = socket.create_connection((SRV, 21), timeout=30)
        self.port = self.s.getsockname()[1]
        self.f = self.s.makefile("rb")
        code, _ = self.reply()
        assert code == 220, code

    def reply(self):
        global reply_lines
        line = self.f.readline()
        n = 1
        code = line[:3]
        if line[3:4] == b"-":
            while True:
                line = self.f.readline()
                n += 1
                if line[:3] == code and line[3:4] == b" ":
                    break
        reply_lines += n
        reply_class[int(code) // 100] += 1
        return int(code), line.decode().strip()

    def cmd(self, text):
        global sent_cmds
        self.s.sendall(text.encode() + b"\r\n")
        sent_cmds += 1
        return self.reply()

    def login(self):
        code, _ = self.cmd("USER anonymous")
        if code == 331:
            code, _ = self.cmd("PASS x@")
        assert code == 230, code

    def pasv(self):
        code, text = self.cmd("PASV")
        assert code == 227, text
        n = [int(x) for x in re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)",
                                       text).groups()]
        return ".".join(map(str, n[:4])), n[4] * 256 + n[5]

    def epsv(self):
        code, text = self.cmd("EPSV")
        assert code == 229, text
        return SRV, int(re.search(r"\(\|\|\|(\d+)\|\)", text).group(1))

    def port_cmd(self):
        ls = socket.create_server((ME, 0))
        ls.settimeout(30)
        p = ls.getsockname()[1]
        code, text = self.cmd(f"PORT {ME.replace('.', ',')},{p >> 8},{p & 255}")
        assert code == 200, text
        return ls

    def rst(self):
        # The makefile holds the socket open: close it first, or the RST
        # waits for the process to exit.
        self.f.close()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        self.s.close()

    def close(self):
        self.f.close()
        self.s.close()


def drain(conn):
    n = 0
    while chunk := conn.recv(65536):
        n += len(chunk)
    conn.close()
    return n


def mine(flows, ctl):
    return [f for f in flows
            if (f["client_address"], f["client_port"]) == (ME, ctl.port)]


def retr_passive(c, how, watch=False):
    """PASV or EPSV, connect, RETR; with @watch, look at the flow table
    while the transfer is running (the client is not reading yet)."""
    addr = c.pasv() if how == "PASV" else c.epsv()
    data = socket.create_connection(addr, timeout=30)
    code, text = c.cmd("RETR file.bin")
    assert code == 150, text
    if watch:
        rows = mine(cli_flows(), c)
        tap("flows during a transfer: the row is EXEC_STARTED, PASV, reply 150, pinhole used",
            len(rows) == 1 and rows[0]["state"] == "EXEC_STARTED" and
            rows[0]["mode"] == "PASV" and rows[0]["reply"] == 150 and
            not rows[0]["pinhole"], rows)
        tap("flows during a transfer: /proc shows the same row",
            any(f"{ME}:{c.port} -> {SRV}:21 EXEC_STARTED PASV" in line
                for line in proc_flows()), proc_flows())
    n = drain(data)
    code, text = c.reply()
    assert code == 226, text
    return n


def retr_active(c):
    ls = c.port_cmd()
    code, text = c.cmd("RETR file.bin")
    assert code == 150, text
    data, _ = ls.accept()
    ls.close()
    n = drain(data)
    code, text = c.reply()
    assert code == 226, text
    return n


# SESSION: each control connection and how its negotiation ends.
# E: EPSV, then `ftp-embryo flush`             -> aborted_flush
# X: PASV, left for longer than expect_timeout -> expect_expired, then QUIT
# A: PASV, EPSV, PORT transfers; a 550; a bounce PORT; QUIT
# B: PASV, ABOR                                 -> aborted_abor_quit
# C: EPSV, RST                                  -> aborted_rst_fin
# D: PASV, conntrack -D                         -> aborted_conntrack_destroy

e = Ctl()
e.login()
e.epsv()
r = rtr("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        CLI, "flush", check=False)
tap("flush as an unprivileged user: exit 4, one line 'permission denied'",
    r.returncode == 4 and r.stderr.count("\n") == 1 and
    "permission denied" in r.stderr, f"exit {r.returncode}: {r.stderr}")
r = rtr("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        CLI, "stats", check=False)
tap("stats as an unprivileged user: allowed", r.returncode == 0,
    f"exit {r.returncode}: {r.stderr}")
# The flows name every client and server: CAP_NET_ADMIN only, as conntrack's.
r = rtr("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        CLI, "flows", check=False)
tap("flows as an unprivileged user: exit 4, one line 'permission denied'",
    r.returncode == 4 and r.stderr.count("\n") == 1 and
    "permission denied" in r.stderr and not r.stdout,
    f"exit {r.returncode}: {r.stderr}{r.stdout}")
r = rtr("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
        "cat", "/proc/net/nf_ftp_embryo/flows", check=False)
tap("/proc flows unreadable to an unprivileged user",
    r.returncode != 0 and not r.stdout, f"exit {r.returncode}: {r.stdout}")
tap("E: one flow row before the flush", len(mine(cli_flows(), e)) == 1, cli_flows())
rtr(CLI, "flush")
tap("E: flush (as root) removed the row", not cli_flows() and not proc_flows(),
    f"{cli_flows()}\n{proc_flows()}")
e.close()

x = Ctl()
x.login()
x_addr = x.pasv()
x_since = time.monotonic()
rows, lines = cli_flows(), proc_flows()
tap("flows during a negotiation: one row, OPENED, PASV, reply 227, pinhole open",
    len(rows) == 1 and rows[0]["client_address"] == ME and
    rows[0]["client_port"] == x.port and rows[0]["server_address"] == SRV and
    rows[0]["server_port"] == 21 and rows[0]["state"] == "OPENED" and
    rows[0]["mode"] == "PASV" and rows[0]["reply"] == 227 and
    rows[0]["data_address"] == x_addr[0] and
    rows[0]["data_port"] == x_addr[1] and rows[0]["pinhole"] and
    rows[0]["refused"] is None and rows[0]["refused_address"] is None and
    rows[0]["family"] == "ipv4", rows)
tap("flows during a negotiation: /proc has the same one row",
    len(lines) == 1 and lines[0].startswith(
        f"ipv4 {ME}:{x.port} -> {SRV}:21 OPENED PASV {x_addr[0]}:{x_addr[1]} 227 ")
    and lines[0].endswith(" 1 - -"), lines)

a = Ctl()
a.login()
code, _ = a.cmd("TYPE I")
assert code == 200
size = retr_passive(a, "PASV", watch=True)
tap("A: PASV transfer complete", size == 1024 * 1024, size)
tap("A: EPSV transfer complete", retr_passive(a, "EPSV") == 1024 * 1024)
tap("A: PORT transfer complete", retr_active(a) == 1024 * 1024)
a.pasv()
code, _ = a.cmd("RETR no-such-file")
tap("A: RETR of a missing file answered 550", code == 550, code)
code, text = a.cmd("PORT 10,0,2,2,39,16")
tap("A: PORT naming the server (a bounce) refused by vsftpd too", code == 500, text)
rows = mine(cli_flows(), a)
tap("A: the flows keep the refusal: bounce, announced 10.0.2.2:10000, IDLE",
    len(rows) == 1 and rows[0]["refused"] == "bounce" and
    rows[0]["refused_address"] == "10.0.2.2" and
    rows[0]["refused_port"] == 10000 and rows[0]["state"] == "IDLE" and
    rows[0]["data_address"] is None and not rows[0]["pinhole"], rows)
tap("A: /proc shows the same refusal",
    any(line.startswith(f"ipv4 {ME}:{a.port} -> {SRV}:21 IDLE - - ") and
        line.endswith(" 0 bounce 10.0.2.2:10000") for line in proc_flows()),
    proc_flows())
code, _ = a.cmd("QUIT")
a.close()

b = Ctl()
b.login()
b.pasv()
code, text = b.cmd("ABOR")
tap("B: ABOR with no transfer answered 225", code == 225, text)
code, _ = b.cmd("QUIT")
b.close()

c = Ctl()
c.login()
c.epsv()
c.rst()

d = Ctl()
d.login()
d.pasv()
r = rtr("conntrack", "-D", "-p", "tcp", "--orig-src", ME,
        "--orig-port-src", str(d.port), "--orig-port-dst", "21", check=False)
tap("D: conntrack -D deleted the control connection", r.returncode == 0, r.stderr)
d.close()

# X's pinhole must outlive expect_timeout before the QUIT.
left = EXPECT_TIMEOUT + 2 - (time.monotonic() - x_since)
if left > 0:
    print(f"# waiting {left:.0f} s for X's pinhole to expire", flush=True)
    time.sleep(left)
code, _ = x.cmd("QUIT")
x.close()


def settled():
    s = proc_stats()
    return s["connections_tracked"] == 0 and not proc_flows()


end = time.monotonic() + 10
while not settled() and time.monotonic() < end:
    time.sleep(0.1)

tap("flows after the session: none, in /proc and over netlink",
    not proc_flows() and not cli_flows(), f"{proc_flows()}\n{cli_flows()}")
p, n = proc_stats(), cli_stats()
tap("/proc and ftp-embryo stats --json name the same counters",
    sorted(p) == sorted(n), set(p) ^ set(n))
tap("/proc and ftp-embryo stats --json agree on every value", p == n,
    {k: (p.get(k), n.get(k)) for k in set(p) | set(n) if p.get(k) != n.get(k)})

# Commands: E 2, X 3, A 12, B 4, C 2, D 2.  Every reply but 1xx, the 550
# and vsftpd's 500 to the bounce is a 2xx.
want = {
    "lines": sent_cmds + reply_lines,
    "cmd_other": 7,              # USER x6, TYPE
    "cmd_pasv": 5,               # X, A x2, B, D
    "cmd_epsv": 3,               # E, A, C
    "cmd_port": 2,               # A: one transfer, one bounce
    "cmd_eprt": 0,
    "cmd_transfer": 4,           # A: three RETR, one 550
    "cmd_abor": 1,
    "cmd_quit": 3,               # X, A, B
    "malformed": 0,
    "replies_1xx": reply_class[1],
    "replies_2xx": reply_class[2],
    "replies_3xx": reply_class[3],
    "replies_4xx": reply_class[4],
    "replies_5xx": reply_class[5],
    "transitions": 31,
    "flows_created": 9,
    "flows_completed": 3,
    "flows_aborted": 6,
    "flows_aborted_negative_reply": 1,
    "flows_aborted_refused": 0,
    "flows_aborted_abor_quit": 2,
    "flows_aborted_rst_fin": 1,
    "flows_aborted_conntrack_destroy": 1,
    "flows_aborted_flush": 1,
    "flows_aborted_other": 0,
    "flows_replaced": 0,
    "expect_created": 9,
    "expect_used": 3,
    "expect_removed_early": 5,
    "expect_expired": 1,
    "expect_failed": 0,
    "refused_bounce": 1,
    "refused_third_party": 0,
    "refused_privileged_port": 0,
    "refused_unsolicited": 0,
    "refused_table_full": 0,
    "tls_sessions": 0,
    "nomem": 0,
    "connections_tracked": 0,
    "flows_current": 0,
    "expect_live": 0,
}
tap("the client's own tally: 25 commands, 34 reply lines, 3 1xx, 29 2xx, 2 5xx",
    (sent_cmds, reply_lines, reply_class) ==
    (25, 34, {1: 3, 2: 29, 3: 0, 4: 0, 5: 2}),
    (sent_cmds, reply_lines, reply_class))
for k, v in want.items():
    tap(f"counter {k} = {v} (/proc {p.get(k)}, netlink {n.get(k)})",
        p.get(k) == v and n.get(k) == v)
# Segmentation is the stack's choice; each command is its own segment.
tap(f"packets: at least one per command ({p.get('packets')} >= {sent_cmds})",
    p.get("packets", 0) >= sent_cmds)

# Print the whole table for the log (and the lead's report).
print("# counters on rtr after the session:", flush=True)
for k, v in p.items():
    print(f"#   {k}: {v}", flush=True)
sys.exit(1 if failed else 0)
