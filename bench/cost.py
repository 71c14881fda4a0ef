"""cost.py — what one smtp-in session costs in CPU, page faults and system
calls, beside bench/durable.c, the floor: a do-nothing responder that
commits each message the same durable way (tmp/ -> new/, two fsyncs).

  python3 bench/cost.py BIN_DIR [NAME=PATH ...]

Each session is started the same way for every server: this process
accepts a loopback TCP connection, posix_spawn()s the server on it (fd 0
and 1; stderr to a log file) and plays the client, one command at a time
as smtp-source does; os.wait4() then gives the server's own rusage, its
exec and exit included and this client excluded.  Two sessions:
  quit  connect, greeting, EHLO, QUIT
  msg   the same with MAIL, RCPT and one 10 KB message (DATA) before QUIT
Servers: smtp-in (BIN_DIR/smtp-in mx), durable (built here from
bench/durable.c, static musl like smtp-in) and any NAME=PATH given (e.g.
an smtp-in built from another commit, to compare in the same run).  The
servers take turns session by session, BENCH_ROUNDS (3) rounds of
BENCH_SESSIONS (200) sessions each; the table gives the median over
rounds of the mean CPU per session, and the minor page faults.  Then one session of each kind
under strace -f gives the system calls, by name.

Every server gets the TZ that smtp-listen would give its sessions (the
string that ends /etc/localtime), so that smtp-in formats its Received:
date as it does under the listener, without opening the zone file.
The configuration is bench/run.sh's, with (empty) certificate files so
that EHLO offers STARTTLS as on a real server.  The spool is under
/var/tmp, on the disk: the fsyncs must cost what they cost.  Loopback only; every wait is bounded.  BENCH_KEEP=1 keeps the
temporary directory.  Benchmarks are noisy on a shared machine: compare
the rows of one run, not runs.
"""

import collections
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WAIT = 10.0  # seconds: the bound of every wait
SIZE = 10240
DOMAIN = "bench.example"
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def body():
    line = b"x" * 76 + b"\r\n"
    head = (b"From: <from@" + DOMAIN.encode() + b">\r\nTo: <rcpt@" +
            DOMAIN.encode() + b">\r\nSubject: cost\r\n\r\n")
    n = (SIZE - len(head)) // len(line)
    return head + line * n + b".\r\n"


BODY = body()


def reply(f):
    """One whole SMTP reply from the file f; its code."""
    while True:
        line = f.readline()
        if not line:
            raise EOFError("connection closed by the server")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


def talk(sock, kind):
    f = sock.makefile("rb")
    expect = [(None, 220), (b"EHLO client.example\r\n", 250)]
    if kind == "msg":
        expect += [(b"MAIL FROM:<from@" + DOMAIN.encode() + b">\r\n", 250),
                   (b"RCPT TO:<rcpt@" + DOMAIN.encode() + b">\r\n", 250),
                   (b"DATA\r\n", 354), (BODY, 250)]
    expect.append((b"QUIT\r\n", 221))
    for send, code in expect:
        if send is not None:
            sock.sendall(send)
        got = reply(f)
        if got != code:
            raise RuntimeError(f"{send!r}: {got}, not {code}")
    f.close()


def session(lsock, argv, env, log, kind, wrap=None):
    """One session; the server's rusage."""
    c = socket.create_connection(lsock.getsockname(), timeout=WAIT)
    conn, _ = lsock.accept()
    if wrap:
        argv = wrap + argv
    fa = [(os.POSIX_SPAWN_DUP2, conn.fileno(), 0),
          (os.POSIX_SPAWN_DUP2, conn.fileno(), 1),
          (os.POSIX_SPAWN_OPEN, 2, log,
           os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)]
    pid = os.posix_spawn(argv[0], argv, env, file_actions=fa)
    conn.close()
    try:
        talk(c, kind)
    finally:
        c.close()
    _, status, ru = os.wait4(pid, 0)
    if status != 0:
        raise RuntimeError(f"{argv}: exit status {status:#x}")
    return ru


def localtime_tz():
    """The TZ that smtp-listen gives its sessions: the POSIX string that
    ends /etc/localtime (smtp-in/tzenv.h; the listener also checks that
    it agrees with the file over the coming year, which is not redone
    here), or None."""
    try:
        with open("/etc/localtime", "rb") as f:
            data = f.read(65536)
    except OSError:
        return None
    if not data.startswith(b"TZif") or data[4:5] == b"\0" or \
            not data.endswith(b"\n"):
        return None
    tz = data[:-1].rsplit(b"\n", 1)[-1]
    return tz.decode("ascii", "replace") if 0 < len(tz) < 64 else None


def syscalls(path):
    """strace -f output: counts by name."""
    n = collections.Counter()
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) < 2 or parts[1].startswith(("+++", "---")):
                continue
            name = parts[1].split("(", 1)[0]
            if name.startswith("<..."):
                continue
            n[name] += 1
    return n


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bindir = os.path.abspath(sys.argv[1])
    t = tempfile.mkdtemp(prefix="posthorn-cost.", dir="/var/tmp")
    try:
        run(bindir, t)
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept {t}", file=sys.stderr)
        else:
            shutil.rmtree(t, ignore_errors=True)


def run(bindir, t):
    etc, spool = os.path.join(t, "etc"), os.path.join(t, "spool")
    for d in ("tmp", "new", "state"):
        os.makedirs(os.path.join(spool, d))
    os.makedirs(os.path.join(etc, "domains", DOMAIN))
    os.makedirs(os.path.join(t, "mail"))
    with open(os.path.join(etc, "posthorn.conf"), "w") as f:
        f.write(f"hostname = mx.{DOMAIN}\nspool = {spool}\n"
                f"maildirs = {t}/mail\n")
    with open(os.path.join(etc, "domains", DOMAIN, "users"), "w") as f:
        f.write("rcpt:!\n")
    # A certificate and key where smtp-in looks, as on every real
    # server, so that EHLO offers STARTTLS rather than logging its
    # absence; smtp-in only checks that they are readable, and the
    # client never starts TLS, so empty files do.
    os.makedirs(os.path.join(etc, "certs"))
    for name in ("fullchain.pem", "privkey.pem"):
        open(os.path.join(etc, "certs", name), "w").close()
    durable = os.path.join(t, "durable")
    subprocess.run(["musl-gcc", "-static", "-O2", "-o", durable,
                    os.path.join(HERE, "durable.c")], check=True)
    servers = [("smtp-in", [os.path.join(bindir, "smtp-in"), "mx"]),
               ("durable", [durable, spool])]
    for arg in sys.argv[2:]:
        name, _, path = arg.partition("=")
        servers.append((name, [os.path.abspath(path), "mx"]))
    env = {"POSTHORN_CONF": etc, "PATH": "/usr/bin:/bin",
           "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1"}
    tz = localtime_tz()
    if tz:
        env["TZ"] = tz
    log = os.path.join(t, "log")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)

    def wipe():
        for d in ("new", "tmp"):
            p = os.path.join(spool, d)
            for n in os.listdir(p):
                os.unlink(os.path.join(p, n))

    # cpu[name][kind] = [mean ms per round]; faults likewise.
    cpu = collections.defaultdict(lambda: collections.defaultdict(list))
    flt = collections.defaultdict(lambda: collections.defaultdict(list))
    # The servers take turns session by session, so that a change in
    # the machine's load falls on all of them alike.
    for _ in range(ROUNDS):
        for kind in ("quit", "msg"):
            wipe()
            us = collections.Counter()
            mf = collections.Counter()
            for _ in range(SESSIONS):
                for name, argv in servers:
                    ru = session(lsock, argv, env, log, kind)
                    us[name] += ru.ru_utime + ru.ru_stime
                    mf[name] += ru.ru_minflt
            for name, _ in servers:
                cpu[name][kind].append(us[name] * 1000 / SESSIONS)
                flt[name][kind].append(mf[name] / SESSIONS)
    wipe()

    traces = {}
    if shutil.which("strace"):
        for name, argv in servers:
            for kind in ("quit", "msg"):
                out = os.path.join(t, f"strace.{name}.{kind}")
                session(lsock, argv, env, log, kind,
                        wrap=["/usr/bin/strace", "-f", "-qq", "-o", out])
                traces[name, kind] = syscalls(out)
        wipe()

    print(f"\nposthorn bench/cost.py: CPU of one session (the server's "
          f"rusage, exec and exit included),\n{ROUNDS} rounds of "
          f"{SESSIONS} sessions per server and kind, on {os.uname()[1]}; "
          f"median of the rounds' means.\n")
    print(f"{'server':<16} {'kind':<5} {'ms/session':>10} {'rounds':<24} "
          f"{'minflt':>7} {'syscalls':>8}")
    for name, _ in servers:
        for kind in ("quit", "msg"):
            rs = cpu[name][kind]
            sc = sum(traces[name, kind].values()) if traces else "-"
            print(f"{name:<16} {kind:<5} {statistics.median(rs):10.3f} "
                  f"{' '.join(f'{r:.3f}' for r in rs):<24} "
                  f"{statistics.median(flt[name][kind]):7.0f} {sc:>8}")
    base = cpu["durable"]
    print("\nbeyond durable (ms/session, median):")
    for name, _ in servers:
        if name != "durable":
            print(f"  {name:<16} " + "  ".join(
                f"{k} {statistics.median(cpu[name][k]) - statistics.median(base[k]):+.3f}"
                for k in ("quit", "msg")))
    if traces:
        print("\nsystem calls of one session (strace -f), by name:")
        for name, _ in servers:
            for kind in ("quit", "msg"):
                c = traces[name, kind]
                print(f"  {name} {kind} ({sum(c.values())}): " + ", ".join(
                    f"{k} {v}" for k, v in sorted(c.items(),
                                                  key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
