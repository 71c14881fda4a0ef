"""A stand-in for journald, for the log relay's test.

Run under `unshare -m` (a mount namespace of its own): it mounts a tmpfs
on /run/systemd, binds the native protocol's datagram socket at
/run/systemd/journal/socket with SO_PASSCRED, and starts the command
after "--" with its stderr on a stream socket and JOURNAL_STREAM naming
that socket, as systemd does for a service.  Each datagram it receives
is printed on stdout as one JSON object: the sender's pid as the kernel
gave it ("_PID", what journald trusts) and the fields of the entry.  What
the command writes on the stream is printed as {"stream": line}.  It
exits when the command does, or on SIGTERM (passed on to the command).
SIGUSR1 makes it stop reading the datagram socket, as a journald that
does not keep up, and prints {"paused": true}; SIGUSR2 resumes it and
prints {"paused": false}."""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys

SOCKET = "/run/systemd/journal/socket"


def fields(data):
    """The native protocol's KEY=VALUE lines (no binary fields here)."""
    out = {}
    for line in data.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cmd = sys.argv[sys.argv.index("--") + 1:]
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"],
                   check=True)
    os.mkdir("/run/systemd/journal")
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    dgram.bind(SOCKET)
    os.chmod(SOCKET, 0o666)     # the command drops to nobody
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    st = os.fstat(theirs.fileno())
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=theirs,
                            env=env)
    theirs.close()
    signal.signal(signal.SIGTERM,
                  lambda *_: proc.poll() is None and proc.terminate())
    emit({"started": proc.pid})
    stream = b""
    creds = socket.CMSG_SPACE(struct.calcsize("3i"))
    paused = []
    signal.signal(signal.SIGUSR1, lambda *_: paused.append(True))
    signal.signal(signal.SIGUSR2, lambda *_: paused.clear())
    said = False
    while True:
        if bool(paused) != said:
            said = bool(paused)
            emit({"paused": said})
        try:
            r, _, _ = select.select([ours] if said else [dgram, ours],
                                    [], [], 0.2)
        except InterruptedError:
            continue
        if dgram in r:
            data, anc, _, _ = dgram.recvmsg(65536, creds)
            pid = None
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", raw)[0]
            emit(dict(fields(data), _PID=pid))
        if ours in r:
            chunk = ours.recv(65536)
            stream += chunk
            while b"\n" in stream:
                line, stream = stream.split(b"\n", 1)
                emit({"stream": line.decode("utf-8", "replace")})
            if not chunk and proc.poll() is not None:
                break
        if not r and proc.poll() is not None:
            break
    emit({"exited": proc.wait()})


if __name__ == "__main__":
    main()
