"""bench/srs.py BIN_DIR — what an SRS recipient costs smtp-in under
smtp-listen: checked by smtp-keeper (a datagram and an HMAC in the
resident) against the exec of `aliases -r` per RCPT that smtp-in does
without it (issue 15, item 9); and what a local user's RCPT costs when
the keeper reads the users file (a round trip) against the session
reading it itself.

Two listeners on loopback, as root dropping to nobody: BIN_DIR's, with its
keeper, and a copy of BIN_DIR without smtp-keeper (its sessions exec
aliases(8)).  The same client, in turns (ROUNDS), sends one session of
TRANSACTIONS x RCPTS valid SRS recipients (made here with the secret, as
srs.h describes them) to each and reports per RCPT: the wall time, and
the CPU of the server side (the listener's reaped children, sessions and
what they ran, plus the keeper's own).  A benchmark, not a test: figures
from a shared machine are worth their ratio within one run.

    sudo python3 bench/srs.py build/bin
"""

import base64
import hashlib
import hmac
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TRANSACTIONS, RCPTS = 10, 50
SECRET = "bench secret"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TICK = os.sysconf("SC_CLK_TCK")


def srs0(local, host, fwd):
    day = int(time.time()) // 86400
    tt = B32[(day >> 5) & 31] + B32[day & 31]
    mac = hmac.new(SECRET.encode(), (tt + host + local).lower().encode(),
                   hashlib.sha1).digest()
    h = base64.b64encode(mac).decode()[:4]
    return f"SRS0={h}={tt}={host}={local}@{fwd}"


def cpu(pid, field):
    """utime+stime (own) or cutime+cstime (reaped children), seconds."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    i = 11 if field == "own" else 13
    return (int(f[i]) + int(f[i + 1])) / TICK


def children(pid):
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            out += map(int, open(f"/proc/{pid}/task/{t}/children")
                       .read().split())
        except OSError:
            pass
    return out


def reply(f):
    while True:
        line = f.readline()
        if line[3:4] != b"-":
            return line


def session(port, addr):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO bench.example\r\n")
    reply(f)
    for _ in range(TRANSACTIONS):
        s.sendall(b"MAIL FROM:<>\r\n")
        assert reply(f).startswith(b"250")
        for _ in range(RCPTS):
            s.sendall(f"RCPT TO:<{addr}>\r\n".encode())
            r = reply(f)
            assert r.startswith(b"250"), r
        s.sendall(b"RSET\r\n")
        reply(f)
    s.sendall(b"QUIT\r\n")
    reply(f)
    s.close()


def main():
    bindir = os.path.abspath(sys.argv[1])
    root = tempfile.mkdtemp(prefix="posthorn-bench-srs.")
    os.chmod(root, 0o755)
    nobody = pwd.getpwnam("nobody")
    conf = os.path.join(root, "etc")
    spool = os.path.join(root, "spool")
    for d in ("tmp", "new", "state"):
        os.makedirs(os.path.join(spool, d))
    for d, _, _ in os.walk(spool):
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
    os.makedirs(os.path.join(conf, "domains", "example.org"))
    with open(os.path.join(conf, "domains", "example.org", "users"),
              "w") as f:
        f.write("".join(f"user{i}:!\n" for i in range(50)) + "alice:!\n")
    with open(os.path.join(conf, "posthorn.conf"), "w") as f:
        f.write(f"hostname = mx.example.org\nspool = {spool}\n"
                f"dnssec = off\n")
    with open(os.path.join(conf, "srs.secret"), "w") as f:
        f.write(SECRET + "\n")
    os.chmod(os.path.join(conf, "srs.secret"), 0o640)
    os.chown(os.path.join(conf, "srs.secret"), 0, nobody.pw_gid)
    nokeeper = os.path.join(root, "bin")
    shutil.copytree(bindir, nokeeper)
    os.unlink(os.path.join(nokeeper, "smtp-keeper"))
    kinds = {"srs": srs0("grace", "remote.example", "example.org"),
             "user": "alice@example.org"}
    procs = {}   # "keeper": BIN_DIR's; "exec": without smtp-keeper
    try:
        for name, bd in (("keeper", bindir), ("exec", nokeeper)):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            s.close()
            p = subprocess.Popen(
                [os.path.join(bd, "smtp-listen"), "-C", conf, "-u",
                 "nobody", "-T", "mx", f"127.0.0.1:{port}"],
                stderr=subprocess.DEVNULL)
            procs[name] = (p, port)
        time.sleep(1)   # a benchmark: let both listeners and the keeper up
        n = TRANSACTIONS * RCPTS
        print(f"{n} RCPTs per session, {ROUNDS} rounds; ms per RCPT")
        print(f"{'':14} {'wall':>8} {'cpu':>8}")
        res = {}
        for _ in range(ROUNDS):
            for (kind, addr), (name, (p, port)) in (
                    (k, q) for k in kinds.items() for q in procs.items()):
                name = f"{kind}/{name}"
                kids = [c for c in children(p.pid)]
                before = cpu(p.pid, "kids") + sum(cpu(c, "own") for c in kids)
                t0 = time.monotonic()
                session(port, addr)
                wall = time.monotonic() - t0
                while len(children(p.pid)) > len(kids):
                    time.sleep(0.01)
                after = cpu(p.pid, "kids") + sum(cpu(c, "own") for c in kids)
                res.setdefault(name, []).append(
                    (wall * 1e3 / n, (after - before) * 1e3 / n))
                print(f"{name:14} {wall * 1e3 / n:8.3f} "
                      f"{(after - before) * 1e3 / n:8.3f}")
        for name, v in res.items():
            w = sorted(x[0] for x in v)[len(v) // 2]
            c = sorted(x[1] for x in v)[len(v) // 2]
            print(f"median {name:14} {w:8.3f} ms wall {c:8.3f} ms cpu")
    finally:
        for p, _ in procs.values():
            p.terminate()
            p.wait()
        shutil.rmtree(root)


main()
