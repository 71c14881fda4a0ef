"""tlsclient.py — the client of bench/tls.sh: whole submissions sessions
over implicit TLS (port 465, RFC 8314), and one idle TLS session held for
its memory to be read.

  python3 tlsclient.py blast PORT N CONC LOGIN PASSWORD RCPT SIZE CAFILE [starttls|plain]
  python3 tlsclient.py idle PORT CAFILE PEER [LISTENER_PID]

blast runs N sessions, CONC at a time, each one: a new TCP connection, a
full TLS 1.3 handshake (no session resumption: every connection is a new
client), EHLO, AUTH PLAIN with an initial response, MAIL FROM the login,
RCPT TO the remote RCPT, a message of SIZE bytes, QUIT.  The sessions run
in CONC forked processes (not threads: Python's GIL would make the client
the bottleneck) that take the sessions one by one from a pipe of tokens,
so a slow session never leaves a process idle while others wait.
With LOGIN "-" a session is the connection, the handshake, EHLO and QUIT
only: what TLS costs to start, without AUTH and without a message.  With
PASSWORD "-" the session skips AUTH (for a server that has no SASL).  With
"starttls" at the end, the connection starts in plaintext and the TLS
handshake follows EHLO and STARTTLS (port 25 or 587) instead; with
"plain", there is no TLS at all (LOGIN "-" only: the cost of a session
without TLS, to set the others against).  The
processes build their TLS context before the clock starts.  It prints one
line:

  WALL_S CLIENT_CPU_S BUSY_PERCENT OK FAILED FIRST_ERROR...

WALL_S from the first token to the exit of the last process; CLIENT_CPU_S
the user + system time of all the client's processes (getrusage of the
waited-for children plus this one), to tell whether the client was the
bottleneck; BUSY_PERCENT how busy all the machine's CPUs were meanwhile
(/proc/stat: 100 = every CPU busy all the time), to tell whether the
machine was.

idle connects, does the TLS handshake and EHLO, then finds, from the
connection's socket inode in /proc/net/tcp, the process on the server side
that holds the other end, and prints the memory of the session's
processes, one line each, "NAME PID VmRSS_kB Pss_kB":
  PEER posthorn  smtp-tlsd (it holds the network) and its parent smtp-in;
  PEER postfix   Postfix's smtpd (and tlsproxy if one holds the socket);
  PEER ph-exec, ph-zygote  smtp-tlsd and the one smtp-in that smtp-listen
                 LISTENER_PID started (the bench's only session then).
Pss is "-" when /proc/PID/smaps_rollup cannot be read.  Then it QUITs.

The certificate is checked against CAFILE (the self-signed certificate) and
the name 127.0.0.1 (its subjectAltName), as a real client checks one.
Every wait is bounded; loopback only.
"""

import os
import resource
import signal
import smtplib
import ssl
import sys
import time

WAIT = 60.0  # seconds: the bound of one SMTP exchange
HOST = "127.0.0.1"


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def message(login, rcpt, size):
    head = (f"From: <{login}>\r\nTo: <{rcpt}>\r\n"
            f"Subject: bench/tls.sh\r\nMessage-ID: <x@bench>\r\n\r\n").encode()
    line = b"x" * 78 + b"\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def connect(port, ctx, starttls):
    if not starttls:
        return smtplib.SMTP_SSL(HOST, port, context=ctx, timeout=WAIT)
    s = smtplib.SMTP(HOST, port, timeout=WAIT)
    if starttls == "plain":
        return s
    s.ehlo("client.bench.example")
    code, resp = s.starttls(context=ctx)
    if code != 220:
        raise RuntimeError(f"STARTTLS: {code} {resp!r}")
    return s


def session(port, ctx, login, password, rcpt, msg, starttls=False):
    with connect(port, ctx, starttls) as s:
        if starttls == "plain":
            code, resp = s.ehlo("client.bench.example")
            if code != 250:
                raise RuntimeError(f"EHLO: {code} {resp!r}")
            return
        if s.sock.version() != "TLSv1.3":
            raise RuntimeError(f"negotiated {s.sock.version()}")
        code, resp = s.ehlo("client.bench.example")
        if code != 250:
            raise RuntimeError(f"EHLO: {code} {resp!r}")
        if login == "-":
            return  # TLS and EHLO only; the with statement QUITs
        if password != "-":
            s.user, s.password = login, password
            code, resp = s.auth("PLAIN", s.auth_plain,
                                initial_response_ok=True)
            if code != 235:
                raise RuntimeError(f"AUTH: {code} {resp!r}")
        refused = s.sendmail(login, [rcpt], msg)
        if refused:
            raise RuntimeError(f"refused: {refused!r}")


def worker(tokens, results, port, cafile, login, password, rcpt, size,
           starttls):
    """One client process: sessions until the token pipe is empty."""
    ok = failed = 0
    first = ""
    ctx = context(cafile)
    msg = message(login, rcpt, size)
    while os.read(tokens, 1):
        try:
            session(port, ctx, login, password, rcpt, msg, starttls)
            ok += 1
        except Exception as e:  # counted, and the first one reported
            failed += 1
            if not first:
                first = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
    os.write(results, f"{ok} {failed} {first}\n".encode())


def cpu_ticks():
    """(busy, total) jiffies of all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    total = sum(v[:8])  # guest time is already in user
    return total - idle, total


def blast(argv):
    port, n, conc = int(argv[0]), int(argv[1]), int(argv[2])
    login, password, rcpt, size, cafile = argv[3], argv[4], argv[5], \
        int(argv[6]), argv[7]
    starttls = argv[8] if len(argv) > 8 else None
    tok_r, tok_w = os.pipe()
    res_r, res_w = os.pipe()
    pids = []

    def stop(signum, frame):
        """Stopped by the benchmark (its trap): the processes go too, or
        they would drain the token pipe against a server that is gone."""
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except ProcessLookupError:
                pass
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(conc):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 0
            try:
                os.close(tok_w)
                os.close(res_r)
                worker(tok_r, res_w, port, cafile, login, password, rcpt,
                       size, starttls)
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    os.close(tok_r)
    os.close(res_w)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0, total0 = cpu_ticks()
    t0 = time.monotonic()
    # The pipe holds 64 KB: written in pieces, so that any N works.
    left = n
    while left > 0:
        left -= os.write(tok_w, b"x" * min(left, 4096))
    os.close(tok_w)
    bad_exit = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if status != 0:
            bad_exit += 1
    wall = time.monotonic() - t0
    busy1, total1 = cpu_ticks()
    busy = 100.0 * (busy1 - busy0) / max(1, total1 - total0)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (kids.ru_utime + kids.ru_stime + self1.ru_utime + self1.ru_stime
           - self0.ru_utime - self0.ru_stime)
    ok = failed = 0
    first = ""
    with os.fdopen(res_r, "r") as f:
        for line in f:
            a, b, e = (line.rstrip("\n").split(" ", 2) + [""])[:3]
            ok, failed = ok + int(a), failed + int(b)
            first = first or e
    if bad_exit:
        failed += n - ok - failed
        first = first or f"{bad_exit} client processes died"
    print(f"{wall:.3f} {cpu:.3f} {busy:.0f} {ok} {failed} {first}".rstrip())


def socket_inode(local, remote):
    """The inode of the TCP socket whose local end is local (ip, port) and
    whose peer is remote, from /proc/net/tcp (addresses in hex)."""
    def hexaddr(a):
        ip = bytes(int(x) for x in a[0].split("."))
        return f"{int.from_bytes(ip, 'little'):08X}:{a[1]:04X}"
    want_l, want_r = hexaddr(local), hexaddr(remote)
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want_l and fields[2] == want_r:
                return int(fields[9])
    return None


def holders(inode):
    """The pids that hold socket inode in a descriptor."""
    target = f"socket:[{inode}]"
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    found.append(int(pid))
                    break
        except OSError:
            continue  # gone, or not ours to read
    return found


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict((k, v.strip()) for k, v in
                    (l.split(":", 1) for l in f if ":" in l))


def memory(pid):
    st = status(pid)
    pss = "-"
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = line.split()[1]
    except OSError:
        pass
    return st["Name"], pid, st["VmRSS"].split()[0], pss, int(st["PPid"])


def children(ppid):
    """memory() of each process whose parent is ppid."""
    rows = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            row = memory(int(pid))
        except (OSError, KeyError):
            continue  # gone, or a kernel thread (no VmRSS)
        if row[4] == ppid:
            rows.append(row)
    return rows


def idle(argv):
    port, cafile, peer = int(argv[0]), argv[1], argv[2]
    listener = int(argv[3]) if len(argv) > 3 else None
    if peer.startswith("ph-") and listener is None:
        sys.exit(__doc__)
    with smtplib.SMTP_SSL(HOST, port, context=context(cafile),
                          timeout=WAIT) as s:
        code, _ = s.ehlo("client.bench.example")
        if code != 250:
            sys.exit(f"EHLO: {code}")
        mine = s.sock.getsockname()
        inode = None
        deadline = time.monotonic() + WAIT
        while inode is None and time.monotonic() < deadline:
            inode = socket_inode((HOST, port), mine)
            if inode is None:
                time.sleep(0.01)
        if inode is None:
            sys.exit("the server's end of the connection is not in /proc/net/tcp")
        pids = holders(inode)
        if not pids:
            sys.exit(f"no process holds socket inode {inode}")
        rows = [memory(p) for p in pids]
        if peer == "posthorn":
            tlsd = [r for r in rows if r[0] == "smtp-tlsd"]
            if len(tlsd) != 1:
                sys.exit(f"the network is held by {rows!r}, not one smtp-tlsd")
            parent = memory(tlsd[0][4])
            if parent[0] != "smtp-in":
                sys.exit(f"smtp-tlsd's parent is {parent[0]!r}, not smtp-in")
            rows = [parent] + tlsd
        elif peer.startswith("ph-"):
            tlsd = [r for r in rows if r[0] == "smtp-tlsd"]
            if len(tlsd) != 1:
                sys.exit(f"the network is held by {rows!r}, not one smtp-tlsd")
            ins = [r for r in children(listener) if r[0] == "smtp-in"]
            if len(ins) != 1:
                sys.exit(f"smtp-listen {listener} runs {ins!r}, not one smtp-in")
            rows = ins + tlsd
        for name, pid, rss, pss, _ in rows:
            print(f"{name} {pid} {rss} {pss}")
        s.quit()


if __name__ == "__main__":
    if len(sys.argv) in (10, 11) and sys.argv[1] == "blast" and \
            sys.argv[10:] in ([], ["starttls"], ["plain"]):
        blast(sys.argv[2:])
    elif len(sys.argv) in (5, 6) and sys.argv[1] == "idle":
        idle(sys.argv[2:])
    else:
        sys.exit(__doc__)
