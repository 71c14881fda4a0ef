#!/usr/bin/env python3
"""bench/lmtp.py BIN_DIR — what local delivery by LMTP costs, beside the
Maildir that queue-run writes itself and an MDA (dovecot-lda) started
per message, in the same run.

Three local domains of one user each, in one configuration:
  maildir  the Maildir, written by queue-run in its own process;
  lmtp     domain.conf "lmtp = unix:SOCK": the message goes to a
           long-lived smtp-out -J, which speaks LMTP to a private
           Dovecot (dovecot -F on a configuration in the temporary
           directory, as t/e2e/test_lmtp.py starts it);
  lda      domains/DOMAIN/mda "dovecot-lda -c CONF -d %a": one
           queue-runas and one dovecot-lda per message, into the same
           Dovecot's store.
For each, N messages of 10 KB are queued with queue-inject while
queue-run is stopped; then queue-run starts and the clock runs until the
Nth "status=sent" line.  Printed per domain: the wall time, messages a
second, and the CPU (user+system) per message of posthorn's processes
(queue-run with what it reaped, and the live smtp-out -J) and of
Dovecot's (its master's tree: the live processes and what they reaped),
taken from /proc/PID/stat before and after.

Runs as root (Dovecot delivers as nobody).  BENCH_MSGS=N (500),
BENCH_ROUNDS=N (3; the modes take turns in a round).  Everything it
starts is stopped on exit; every wait is bounded.  A benchmark, not a
test: nothing is asserted but that every message arrived.
"""

import os
import pathlib
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = pathlib.Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
MSGS = int(os.environ.get("BENCH_MSGS", "500"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WAIT = 300.0
TICK = os.sysconf("SC_CLK_TCK")
BODY = (b"From: a@maildir.example\nSubject: bench\n\n" +
        (b"x" * 76 + b"\n") * 132)  # some 10 KB


def cpu(pid):
    """utime+stime+cutime+cstime of pid in seconds, 0 if gone."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in f[11:15]) / TICK


def tree(root):
    """root and its descendants, by /proc's ppid."""
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1]
                       .split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu(root):
    """CPU of root's tree: each live process's own and reaped children's;
    a child counted live is not in its parent's reaped time yet."""
    return sum(cpu(p) for p in tree(root))


def main():
    if BIN is None or os.geteuid() != 0:
        sys.exit("usage (as root): bench/lmtp.py BIN_DIR")
    dovecot = shutil.which("dovecot", path="/usr/sbin:/usr/bin")
    lda = "/usr/lib/dovecot/dovecot-lda"
    if dovecot is None or not os.path.exists("/usr/lib/dovecot/lmtp"):
        sys.exit("bench/lmtp.py: needs dovecot-core and dovecot-lmtpd")
    t = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-bench-lmtp.",
                                      dir="/var/tmp"))
    t.chmod(0o755)
    nobody = pwd.getpwnam("nobody")
    procs = []
    try:
        # Dovecot: LMTP on a socket, users rcpt@lmtp.example and
        # rcpt@lda.example, their mail as nobody under t/dv/mail.
        dv = t / "dv"
        (dv / "mail").mkdir(parents=True)
        os.chown(dv / "mail", nobody.pw_uid, nobody.pw_gid)
        (dv / "users").write_text("".join(
            f"rcpt@{d}::{nobody.pw_uid}:{nobody.pw_gid}::{dv}/mail/{d}::\n"
            for d in ("lmtp.example", "lda.example")))
        dvconf = dv / "dovecot.conf"
        dvconf.write_text(f"""\
base_dir = {dv}/run
state_dir = {dv}/state
log_path = {dv}/dovecot.log
instance_name = posthorn-bench-{os.getpid()}
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {dv}/users
}}
userdb {{
  driver = passwd-file
  args = {dv}/users
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
# dovecot-lda runs as nobody (queue-runas(8)): its log and stats too.
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        os.chmod(dvconf, 0o644)
        (dv / "dovecot.log").touch()
        os.chmod(dv / "dovecot.log", 0o666)
        dvp = subprocess.Popen([dovecot, "-F", "-c", str(dvconf)],
                               start_new_session=True,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        procs.append(dvp)
        sock = dv / "run" / "lmtp"
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(20)
                    s.connect(str(sock))
                    if s.recv(512).startswith(b"220 "):
                        break
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            if time.monotonic() > deadline:
                sys.exit("dovecot did not come up")
            time.sleep(0.05)

        # posthorn: three domains, the spool and Maildirs on the disk.
        etc, spool, mail = t / "etc", t / "spool", t / "mail"
        for d in ("tmp", "new", "state"):
            (spool / d).mkdir(parents=True)
        mail.mkdir()
        etc.mkdir()
        (etc / "posthorn.conf").write_text(
            f"hostname = mx.bench.example\nspool = {spool}\n"
            f"maildirs = {mail}\ndnssec = off\n")
        for d in ("maildir.example", "lmtp.example", "lda.example"):
            (etc / "domains" / d).mkdir(parents=True)
            (etc / "domains" / d / "users").write_text("rcpt:!\n")
        (etc / "domains" / "lmtp.example" / "domain.conf").write_text(
            f"lmtp = unix:{sock}\n")
        (etc / "domains" / "lda.example" / "mda").write_text(
            f"{lda} -c {dvconf} -d %a\n")
        env = dict(os.environ, POSTHORN_CONF=str(etc))

        rows = {}
        for rnd in range(ROUNDS):
            for mode in ("maildir", "lmtp", "lda"):
                rcpt = f"rcpt@{mode}.example"
                for _ in range(MSGS):
                    subprocess.run([str(BIN / "queue-inject"), "-f",
                                    "a@maildir.example", "--", rcpt],
                                   input=BODY, env=env, check=True,
                                   timeout=60)
                dv0 = tree_cpu(dvp.pid)
                qr = subprocess.Popen([str(BIN / "queue-run")], env=env,
                                      stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE,
                                      start_new_session=True)
                procs.append(qr)
                start = time.monotonic()
                sent = 0
                for line in qr.stderr:
                    if b"event=delivery id=" in line and \
                            b"status=sent" in line:
                        sent += 1
                        if sent == MSGS:
                            break
                    elif b"status=" in line and b"event=delivery id=" \
                            in line:
                        sys.exit("not sent: " + line.decode())
                    if time.monotonic() - start > WAIT:
                        sys.exit(f"{mode}: {sent} of {MSGS} in {WAIT}s")
                wall = time.monotonic() - start
                # Its later lines must not fill the pipe and stop it.
                threading.Thread(target=lambda f=qr.stderr: f.read(),
                                 daemon=True).start()
                ph = tree_cpu(qr.pid)
                dvc = tree_cpu(dvp.pid) - dv0
                qr.send_signal(signal.SIGTERM)
                qr.wait(timeout=60)
                procs.remove(qr)
                rows.setdefault(mode, []).append((wall, ph, dvc))
                print(f"round {rnd + 1} {mode:8} {wall:7.2f} s "
                      f"{MSGS / wall:7.1f} msg/s  posthorn "
                      f"{ph * 1000 / MSGS:6.2f} ms/msg  dovecot "
                      f"{dvc * 1000 / MSGS:6.2f} ms/msg", flush=True)
        print(f"\nmedians of {ROUNDS} rounds, {MSGS} messages of "
              f"{len(BODY)} bytes each:")
        for mode, rs in rows.items():
            med = [sorted(x)[len(x) // 2] for x in zip(*rs)]
            print(f"{mode:8} {MSGS / med[0]:7.1f} msg/s  posthorn "
                  f"{med[1] * 1000 / MSGS:6.2f} ms/msg  dovecot "
                  f"{med[2] * 1000 / MSGS:6.2f} ms/msg  all "
                  f"{(med[1] + med[2]) * 1000 / MSGS:6.2f} ms/msg")
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(t, ignore_errors=True)


if __name__ == "__main__":
    main()
