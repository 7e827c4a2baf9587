#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""FTP sessions that fail over between the routers of ftp_ha.sh.

Runs in cli; looks at the routers with `ip netns exec`; moves the VIPs with
`$FAILOVER --failover $HA_DIR`.  Prints TAP lines.
Usage: ftp_ha.py REFERENCE_FILE TAG CASE...
CASE: between (failover between two transfers of one session), pasv (after
the 227, before the data connection), port (after the PORT and its 200,
before RETR), mid (in the middle of a transfer), failback (there and back
again, a transfer on each leg).
"""
import ftplib
import os
import socket
import subprocess
import sys
import time

from nsutil import Tap

REF, TAG, CASES = sys.argv[1], sys.argv[2], sys.argv[3:]
DATA = open(REF, "rb").read()
SRV = "198.51.100.2"
ROUTERS = ("rtra", "rtrb")


tap = Tap(f"ha {TAG}")


def run(ns, *cmd):
    r = subprocess.run(["ip", "netns", "exec", ns, *cmd],
                       capture_output=True, text=True, timeout=20)
    return r.stdout + (f"[{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}]"
                       if r.returncode else "")


def expectations(ns):
    return [l for l in run(ns, "conntrack", "-L", "expect").splitlines() if l.strip()]


def flows(ns):
    return [l for l in run(ns, "cat", "/proc/net/nf_ftp_embryo/flows").splitlines()
            if l.strip()]


def conntracks(ns, *match):
    return [l for l in run(ns, "conntrack", "-L", "-p", "tcp", *match).splitlines()
            if l.strip() and "flow entries" not in l]


def cached(ns, what):
    """The copies conntrackd on ns holds of the other router's table (its
    external cache): ct or expect."""
    conf = f"{os.environ['HA_DIR']}/{ns}/conntrackd.conf"
    return [l for l in run(ns, "conntrackd", "-C", conf, "-e", what).splitlines()
            if l.strip()]


def wait_until(cond, secs=10.0):
    end = time.monotonic() + secs
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def master():
    for ns in ROUTERS:
        if "198.51.100.1/" in run(ns, "ip", "-4", "addr", "show", "dev", "wan"):
            return ns
    return None


def failover(why):
    before = master()
    r = subprocess.run([os.environ["FAILOVER"], "--failover", os.environ["HA_DIR"]],
                       capture_output=True, text=True, timeout=60)
    now = master()
    tap(f"{why}: failover {before} -> {now}", r.returncode == 0 and now and now != before,
        r.stdout + r.stderr)
    return now


def state():
    return "\n".join(f"{ns}: expectations {expectations(ns)}\n{ns}: flows {flows(ns)}\n"
                     f"{ns}: conntrackd's copies {cached(ns, 'expect')}"
                     for ns in ROUTERS)


def stats(ns):
    conf = f"{os.environ['HA_DIR']}/{ns}/conntrackd.conf"
    return run(ns, "conntrackd", "-C", conf, "-s")


def clean(case):
    """No pinhole on either router; the active router's flow table empty.
    (Records a router keeps for connections the other one carried are not
    pinholes; they go with their conntrack.)"""
    ok = wait_until(lambda: not any(expectations(ns) for ns in ROUTERS), 10)
    tap(f"{case}: no expectation on either router", ok, state())
    m = master()
    ok = wait_until(lambda: not flows(m), 5)
    tap(f"{case}: no flow row on the active router {m}", ok, state())
    for ns in ROUTERS:
        if ns != m and flows(ns):
            print(f"# {case}: {ns} keeps rows {flows(ns)}", flush=True)


def login():
    ftp = ftplib.FTP()
    ftp.connect(SRV, 21, timeout=20)
    ftp.login()
    ftp.voidcmd("TYPE I")
    return ftp


def synced(port, what, secs=10):
    """Wait until conntrackd on the router that is not the master holds a
    copy of the conntrack whose client port is PORT."""
    other = [ns for ns in ROUTERS if ns != master()][0]
    ok = wait_until(lambda: any(f"sport={port} " in l for l in cached(other, "ct")), secs)
    tap(f"{what} reached the backup {other}", ok, cached(other, "ct"))
    return ok


def pinhole_taken(what):
    """After a failover: the router that took over has the pinhole in its
    kernel."""
    m = master()
    ok = wait_until(lambda: len(expectations(m)) == 1, 5)
    tap(f"{what}: the pinhole is open on {m}, which took over", ok,
        state() + "\n" + stats(m))


def pinhole_synced(what):
    m = master()
    other = [ns for ns in ROUTERS if ns != m][0]
    tap(f"{what}: the pinhole is open on the active router {m}",
        len(expectations(m)) == 1, state())
    ok = wait_until(lambda: len(cached(other, "expect")) == 1, 10)
    tap(f"{what}: the pinhole reached the backup {other}", ok, state())


def receive(conn, limit=None):
    got = bytearray()
    while limit is None or len(got) < limit:
        chunk = conn.recv(65536 if limit is None else min(65536, limit - len(got)))
        if not chunk:
            break
        got += chunk
    return got


def passive_connect(ftp, rcvbuf=None):
    host, port = ftplib.parse227(ftp.sendcmd("PASV"))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(20)
    return s, (host, port)


def retr_pasv(ftp, what):
    s, addr = passive_connect(ftp)
    try:
        s.connect(addr)
        ftp.sendcmd("RETR file.bin")
        got = receive(s)
        s.close()
        resp = ftp.voidresp()
    except (OSError, ftplib.Error) as e:
        tap(f"{what}: PASV RETR", False, f"{e!r}\n{state()}")
        return False
    return tap(f"{what}: PASV RETR byte for byte, {resp[:3]}",
               bytes(got) == DATA, f"{len(got)} bytes, want {len(DATA)}")


def control_port(ftp):
    return ftp.sock.getsockname()[1]


def case_between():
    ftp = login()
    retr_pasv(ftp, "between: first transfer")
    synced(control_port(ftp), "between: the control connection")
    failover("between")
    retr_pasv(ftp, "between: second transfer, on the other router")
    ftp.quit()
    clean("between")


def case_pasv():
    ftp = login()
    s, addr = passive_connect(ftp)
    pinhole_synced("pasv: after the 227")
    failover("pasv")
    pinhole_taken("pasv")
    try:
        s.connect(addr)
        ftp.sendcmd("RETR file.bin")
        got = receive(s)
        s.close()
        resp = ftp.voidresp()
        tap(f"pasv: RETR on the other router byte for byte, {resp[:3]}",
            bytes(got) == DATA, f"{len(got)} bytes, want {len(DATA)}")
    except (OSError, ftplib.Error) as e:
        tap("pasv: RETR on the other router", False, f"{e!r}\n{state()}")
    retr_pasv(ftp, "pasv: the next transfer")
    ftp.quit()
    clean("pasv")


def case_port():
    ftp = login()
    lsock = socket.create_server(("192.168.124.10", 0))
    lsock.settimeout(20)
    ftp.sendport("192.168.124.10", lsock.getsockname()[1])
    pinhole_synced("port: after the 200")
    failover("port")
    pinhole_taken("port")
    try:
        ftp.sendcmd("RETR file.bin")
        conn, _ = lsock.accept()
        conn.settimeout(20)
        got = receive(conn)
        conn.close()
        resp = ftp.voidresp()
        tap(f"port: RETR on the other router byte for byte, {resp[:3]}",
            bytes(got) == DATA, f"{len(got)} bytes, want {len(DATA)}")
    except (OSError, ftplib.Error) as e:
        tap("port: RETR on the other router", False, f"{e!r}\n{state()}")
    lsock.close()
    retr_pasv(ftp, "port: the next transfer")
    ftp.quit()
    clean("port")


def case_mid():
    ftp = login()
    # A small window keeps most of the file on the server's side.
    s, addr = passive_connect(ftp, rcvbuf=8192)
    try:
        s.connect(addr)
        ftp.sendcmd("RETR file.bin")
        got = receive(s, 65536)
        synced(s.getsockname()[1], "mid: the data connection")
        failover("mid")
        got += receive(s)
        s.close()
        resp = ftp.voidresp()
        tap(f"mid: the transfer finished on the other router byte for byte, {resp[:3]}",
            bytes(got) == DATA, f"{len(got)} bytes, want {len(DATA)}")
    except (OSError, ftplib.Error) as e:
        tap("mid: the transfer", False, f"{e!r}\n{state()}")
    retr_pasv(ftp, "mid: the next transfer")
    ftp.quit()
    clean("mid")


def case_failback():
    ftp = login()
    first = master()
    retr_pasv(ftp, "failback: on the first router")
    synced(control_port(ftp), "failback: the control connection")
    failover("failback: away")
    retr_pasv(ftp, "failback: on the second router")
    time.sleep(1)
    back = failover("failback: back")
    tap("failback: the first router is active again", back == first, back)
    retr_pasv(ftp, "failback: on the first router again")
    ftp.quit()
    clean("failback")


def case_refused():
    """The router that took over closes the pinhole it inherited at the
    550, as the one that opened it would have, not at its timeout."""
    ftp = login()
    s, addr = passive_connect(ftp)
    pinhole_synced("refused: after the 227")
    failover("refused")
    pinhole_taken("refused")
    try:
        ftp.sendcmd("RETR no-such-file")
        code = "1xx/2xx"
    except ftplib.error_perm as e:
        code = str(e)[:3]
    tap("refused: RETR of a missing file answered 550", code == "550", code)
    m = master()
    exp = expectations(m)
    tap(f"refused: no pinhole on the active router {m} right after the 550",
        not exp, state())
    s.close()
    retr_pasv(ftp, "refused: the next transfer")
    ftp.quit()
    clean("refused")


def case_masq_between():
    """MASQUERADE: the kernel deletes the conntracks masqueraded to an
    address when the address goes (nf_nat_masquerade), so the old master
    deletes the session as keepalived takes the VIP away, and conntrackd
    carries the deletion to the new master.  What comes after depends on
    the rules (here the next control segment may start a conntrack anew:
    port 21 from the LAN, nf_conntrack_tcp_loose); what must hold is that
    nothing is left open."""
    ftp = login()
    retr_pasv(ftp, "masquerade: first transfer")
    port = control_port(ftp)
    synced(port, "masquerade: the control connection")
    m = failover("masquerade")
    gone = wait_until(lambda: not conntracks(m, "--sport", str(port)), 5)
    tap(f"masquerade: the VIP's release deleted the session's conntrack on {m} too",
        gone, run(m, "conntrack", "-L"))
    try:
        ftp.sock.settimeout(10)
        s, addr = passive_connect(ftp)
        s.settimeout(10)
        s.connect(addr)
        ftp.sendcmd("RETR file.bin")
        got = receive(s)
        s.close()
        ftp.voidresp()
        worked = "worked" if bytes(got) == DATA else f"gave {len(got)} bytes"
    except (OSError, ftplib.Error) as e:
        worked = f"failed ({e!r})"
    print(f"# masquerade: a transfer after the failover {worked}", flush=True)
    ftp.close()
    clean("masquerade")


for case in CASES:
    start = time.monotonic()
    globals()[f"case_{case}"]()
    print(f"# {TAG} {case}: {time.monotonic() - start:.1f} s", flush=True)
sys.exit(1 if tap.failed else 0)
