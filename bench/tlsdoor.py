"""tlsdoor.py — a stand-in for the listener in bench/tls.sh, until
smtp-listen exists: accept on a loopback port and start smtp-in for each
connection with posix_spawn, as the listener will; with a zygote, first
start `smtp-tlsd -z` on one end of a SOCK_SEQPACKET pair and give every
session the other end as fd 3 with POSTHORN_TLSD_FD=3.

  python3 tlsdoor.py serve PORT MODE CONFDIR BINDIR exec|zygote
  python3 tlsdoor.py cpu PID

serve prints "listening" on stdout once it accepts, and on SIGTERM stops
accepting, closes its end of the pair (the zygote then reaps its children
and exits), waits for every session and exits.  Sessions' stderr is its
stderr.

cpu prints the CPU time, in seconds, of the process PID and all its live
descendants, each with the time of the children it has reaped (fields 14
to 17 of /proc/PID/stat): read before and after a run, the difference is
what the process tree spent on the run, whoever else used the machine
meanwhile.  (A process reaped by init, outside the tree, is not counted.)
"""

import os
import signal
import socket
import sys

TICK = os.sysconf("SC_CLK_TCK")


def serve(port, mode, confdir, bindir, kind):
    smtpin = os.path.join(bindir, "smtp-in")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "POSTHORN_CONF": confdir}
    zend = None
    zpid = None
    if kind == "zygote":
        zend, theirs = socket.socketpair(socket.AF_UNIX,
                                         socket.SOCK_SEQPACKET)
        devnull = os.open(os.devnull, os.O_RDWR)
        zpid = os.posix_spawn(
            os.path.join(bindir, "smtp-tlsd"),
            ["smtp-tlsd", "-C", confdir, "-z"], env,
            file_actions=[(os.POSIX_SPAWN_DUP2, theirs.fileno(), 0),
                          (os.POSIX_SPAWN_DUP2, devnull, 1)])
        theirs.close()
        os.close(devnull)
        env["POSTHORN_TLSD_FD"] = "3"
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(128)
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        lsock.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    print("listening", flush=True)
    sessions = 0
    while not stopping:
        try:
            conn, peer = lsock.accept()
        except OSError:
            break
        senv = dict(env, REMOTE_ADDR=peer[0], REMOTE_PORT=str(peer[1]))
        acts = [(os.POSIX_SPAWN_DUP2, conn.fileno(), 0),
                (os.POSIX_SPAWN_DUP2, conn.fileno(), 1)]
        if zend is not None:
            acts.append((os.POSIX_SPAWN_DUP2, zend.fileno(), 3))
        os.posix_spawn(smtpin, ["smtp-in", mode], senv, file_actions=acts)
        conn.close()
        sessions += 1
        # Reap what has ended, without waiting (the zygote is not one).
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid == zpid:
                sys.stderr.write("tlsdoor: the zygote died\n")
                zpid = None
    if zend is not None:
        zend.close()
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
        except InterruptedError:
            continue


def tree_cpu(root):
    kids = {}
    stats = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(p)
        kids.setdefault(int(rest[1]), []).append(pid)
        stats[pid] = sum(int(x) for x in rest[11:15])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo.extend(kids.get(pid, []))
    return total / TICK


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "serve" and \
            sys.argv[6] in ("exec", "zygote"):
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5],
              sys.argv[6])
    elif len(sys.argv) == 3 and sys.argv[1] == "cpu":
        print(f"{tree_cpu(int(sys.argv[2])):.3f}")
    else:
        sys.exit(__doc__)
