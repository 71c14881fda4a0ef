"""session.py — the two per-session measurements of bench/run.sh.

  python3 session.py rss PORT LOG       RSS of one idle smtp-in session
  python3 session.py startup PORT N     N sequential connect, greeting, QUIT

`rss` connects, reads the greeting and holds the connection open while it
finds the session's process from the "smtp-in[PID]: event=connect" line
that it writes to LOG, then prints its VmRSS in kB.
`startup` prints the milliseconds one whole short session costs, the
client's side of it included (small beside a fork and an exec).
Every wait is bounded; loopback only.
"""

import re
import socket
import sys
import time

WAIT = 10.0  # seconds: the bound of every wait


def reply(sock, buf=b""):
    """Read one whole (possibly multi-line) SMTP reply; return its code."""
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise EOFError("connection closed by the server")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


def rss(port, log):
    with open(log, "rb") as f:
        f.seek(0, 2)
        start = f.tell()
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        code = reply(s)
        if code != 220:
            sys.exit(f"greeting {code}, not 220")
        deadline = time.monotonic() + WAIT
        pid = None
        while pid is None:
            with open(log, "rb") as f:
                f.seek(start)
                m = re.search(rb"smtp-in\[(\d+)\]: event=connect", f.read())
            if m:
                pid = int(m.group(1))
            elif time.monotonic() > deadline:
                sys.exit("no 'smtp-in[PID]: event=connect' line in " + log)
            else:
                time.sleep(0.01)
        with open(f"/proc/{pid}/status") as f:
            st = dict(l.split(":", 1) for l in f if ":" in l)
        name = st["Name"].strip()
        if name != "smtp-in":
            sys.exit(f"PID {pid} is {name!r}, not smtp-in")
        print(st["VmRSS"].split()[0])
        s.sendall(b"QUIT\r\n")
        reply(s)


def startup(port, n):
    t0 = time.monotonic()
    for _ in range(n):
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
            if reply(s) != 220:
                sys.exit("greeting is not 220")
            s.sendall(b"QUIT\r\n")
            if reply(s) != 221:
                sys.exit("QUIT reply is not 221")
    print(f"{(time.monotonic() - t0) * 1000 / n:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "rss":
        rss(int(sys.argv[2]), sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "startup":
        startup(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(__doc__)
