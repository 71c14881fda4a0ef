"""The TLS zygote (smtp-tlsd -z) end to end, as the listener will run it.

The test is the listener here: it makes the SOCK_SEQPACKET pair, starts
`smtp-tlsd -C DIR -z` with one end on its fd 0, accepts TCP connections
on loopback and starts smtp-in for each with the connection on fd 0/1,
the other end of the pair passed in and POSTHORN_TLSD_FD naming it.
Then real clients (smtplib, openssl s_client) do STARTTLS on mx and
implicit TLS on submissions, and the tests look at what a user or an
operator would: the queued message and its Received: field, the
certificate served, which process holds the connection (and whose child
it is), the zygote's log and its exit.
"""

import os
import pathlib
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (HOSTNAME, WAIT, Client, LogProc, make_cert, parse_kv,
                      prog)

PASSWORD = "correct horse battery staple"
MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: someone@gmail.example\r\n"
           b"Subject: through the zygote\r\n\r\nhello\r\n")


def ctx():
    return ssl._create_unverified_context()


def ppid(pid):
    """The parent of pid, from /proc (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def holders(sock_inode):
    """The pids that hold the socket of that inode in a descriptor."""
    target = f"socket:[{sock_inode}]"
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
            continue
    return found


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


class Zygote(LogProc):
    """smtp-tlsd -z on one end of a SOCK_SEQPACKET pair; the test keeps
    the other end (self.end), as the listener does."""

    def __init__(self, conf):
        self.conf = conf
        self.end, theirs = socket.socketpair(socket.AF_UNIX,
                                             socket.SOCK_SEQPACKET)
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [prog("smtp-tlsd"), "-C", str(conf.dir), "-z"], stdin=theirs,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=conf.env(), start_new_session=True)
        theirs.close()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def children(self):
        """The zygote's live children (its TLS sessions)."""
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit() and ppid(int(pid)) == self.proc.pid:
                out.append(int(pid))
        return out

    def stop(self):
        self.end.close()
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)


class Door:
    """The listener's part, by hand: a loopback TCP socket, and for each
    connection smtp-in MODE with the connection on fd 0/1 and, while the
    zygote is given, its end of the pair with POSTHORN_TLSD_FD.  The
    sessions' stderr goes to one pipe, read into a log."""

    def __init__(self, conf, mode, zygote):
        self.conf = conf
        self.mode = mode
        self.zygote = zygote
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.sessions = []          # Popen of each smtp-in
        self.log = LogProc()
        self.log.lines = []
        self.log.cond = threading.Condition()
        r, self.logw = os.pipe()
        self.log.proc = None
        self.logr = os.fdopen(r, "rb")
        self.log.reader = threading.Thread(target=self._drain, daemon=True)
        self.log.reader.start()
        self.stopping = False
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _drain(self):
        for raw in self.logr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.log.cond:
                self.log.lines.append(line)
                self.log.cond.notify_all()

    def _accept(self):
        while True:
            try:
                conn, peer = self.lsock.accept()
            except OSError:
                return
            env = self.conf.env(REMOTE_ADDR=peer[0], REMOTE_PORT=str(peer[1]))
            fds = ()
            z = self.zygote
            if z is not None:
                env["POSTHORN_TLSD_FD"] = str(z.end.fileno())
                fds = (z.end.fileno(),)
            p = subprocess.Popen([prog("smtp-in"), self.mode], stdin=conn,
                                 stdout=conn, stderr=self.logw, env=env,
                                 pass_fds=fds)
            conn.close()
            self.sessions.append(p)

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port),
                                        timeout=WAIT)

    def wait_for(self, pattern, count=1):
        """Like LogProc.wait_for, on the sessions' log."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        with self.log.cond:
            while True:
                hits = [l for l in self.log.lines if rx.search(l)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {count} line(s) matching {pattern!r}:\n"
                        + "\n".join(self.log.lines[-40:]))
                self.log.cond.wait(left)

    def events(self, event):
        with self.log.cond:
            return [parse_kv(l) for l in self.log.lines
                    if f"event={event}" in l]

    def stop(self):
        # close() alone does not wake a thread in accept(); shutdown does.
        try:
            self.lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.lsock.close()
        self.acceptor.join(timeout=WAIT)
        assert not self.acceptor.is_alive()
        codes = [p.wait(timeout=WAIT) for p in self.sessions]
        if self.logw != -1:
            os.close(self.logw)
            self.logw = -1
        self.log.reader.join(timeout=WAIT)
        text = "\n".join(self.log.lines)
        assert "AddressSanitizer" not in text, text
        assert "runtime error:" not in text, text
        return codes


@pytest.fixture
def tls_conf(conf):
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user("alice@example.com", PASSWORD)
    return conf


@pytest.fixture
def zygote(tls_conf):
    z = Zygote(tls_conf)
    yield z
    z.stop()
    z.check_sanitizers()


def door(conf, mode, z):
    return Door(conf, mode, z)


@pytest.fixture
def mx(tls_conf, zygote):
    d = door(tls_conf, "mx", zygote)
    yield d
    assert d.stop() == [0] * len(d.sessions)


@pytest.fixture
def subs(tls_conf, zygote):
    d = door(tls_conf, "submissions", zygote)
    yield d
    assert d.stop() == [0] * len(d.sessions)


def session_of(d, client_sock):
    """The pid of the smtp-tlsd that holds the server's end of
    client_sock's TCP connection, alone, once smtp-in has handed it
    over."""
    port = client_sock.getsockname()[1]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        inode = tcp_inode(d.port, port)
        if inode is not None:
            pids = [p for p in holders(inode) if p != os.getpid()]
            tls = [p for p in pids if comm(p) == "smtp-tlsd"]
            if len(tls) == 1 and len(pids) == 1:
                return tls[0]
        time.sleep(0.01)
    raise AssertionError("no single smtp-tlsd holds the connection")


def tcp_inode(server_port, client_port):
    """The inode of the server's end (local port server_port, peer port
    client_port) in /proc/net/tcp."""
    want_l = f"0100007F:{server_port:04X}"
    want_r = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want_l and fields[2] == want_r:
                return int(fields[9])
    return None


def starttls(d):
    """A client on d that has done EHLO, STARTTLS and EHLO again: the
    Client over TLS and the session's smtp-tlsd pid."""
    sock = d.connect()
    c = Client(sock)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("STARTTLS")[0] == 220
    tls = ctx().wrap_socket(sock, server_hostname=HOSTNAME)
    c.sock = tls
    assert c.cmd("EHLO client.example")[0] == 250
    return c, session_of(d, tls)


def only_message(conf):
    msgs = conf.queued()
    assert len(msgs) == 1, msgs
    return msgs[0]


def received_with_tls(m):
    return re.search(rb"\(using TLSv1\.[23] with cipher \S+\)", m.body)


# --- through the zygote ------------------------------------------------------

def test_zygote_socket_is_close_on_exec_before_tls(tls_conf, zygote, mx):
    """Before STARTTLS (RCPT may start aliases -r), smtp-in holds the
    zygote's socket close-on-exec, though it came without."""
    c = Client(mx.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    [smtpin] = mx.sessions
    with open(f"/proc/{smtpin.pid}/fdinfo/{zygote.end.fileno()}") as f:
        flags = int(re.search(r"flags:\s+(\d+)", f.read()).group(1), 8)
    assert flags & os.O_CLOEXEC
    assert c.cmd("QUIT")[0] == 221
    c.close()


def test_starttls_on_mx_goes_through_the_zygote(tls_conf, zygote, mx):
    c, tlsd = starttls(mx)
    # The TLS end is the zygote's child, not smtp-in's.
    assert ppid(tlsd) == zygote.proc.pid
    [smtpin] = mx.sessions
    assert ppid(tlsd) != smtpin.pid
    # Once its TLS has started, smtp-in holds no way to the zygote (a
    # client that took the session over must find none), so neither
    # can smtp-auth or aliases -r that it starts later.
    assert not os.path.exists(
        f"/proc/{smtpin.pid}/fd/{zygote.end.fileno()}")
    assert c.cmd("MAIL FROM:<carol@remote.example>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(MESSAGE + b".\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    m = only_message(tls_conf)
    assert m.env["via"] == "mx"
    assert received_with_tls(m), m.body[:400]
    mx.wait_for(r"event=tls\s")
    [ev] = mx.events("tls")
    assert ev["version"] == "TLSv1.3", ev
    # smtp-tlsd's own log lines and exec were never needed.
    assert not zygote.events("tls-failed"), zygote.log()


def test_implicit_tls_on_submissions_goes_through_the_zygote(tls_conf,
                                                           zygote, subs):
    with smtplib.SMTP_SSL("127.0.0.1", subs.port, timeout=WAIT,
                          context=ctx()) as s:
        s.ehlo("client.example")
        tlsd = session_of(subs, s.sock)
        assert ppid(tlsd) == zygote.proc.pid
        s.login("alice@example.com", PASSWORD)
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    m = only_message(tls_conf)
    assert m.env["via"] == "submissions"
    assert received_with_tls(m), m.body[:400]
    assert re.search(rb"with ESMTPSA", m.body)


def test_two_sessions_at_once_are_two_processes(tls_conf, zygote, mx):
    a, pa = starttls(mx)
    b, pb = starttls(mx)
    assert pa != pb
    assert ppid(pa) == ppid(pb) == zygote.proc.pid
    assert sorted(zygote.children()) == sorted([pa, pb])
    for c in (a, b):
        assert c.cmd("QUIT")[0] == 221
        c.close()


def s_client(port, *extra):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
         "-starttls", "smtp", "-showcerts", *extra],
        input="QUIT\r\n", capture_output=True, timeout=WAIT, text=True)


def served(port):
    r = s_client(port)
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                  r.stdout, re.S)
    assert m, r.stdout + r.stderr
    return ssl.PEM_cert_to_DER_cert(m.group(0))


def der(path):
    return ssl.PEM_cert_to_DER_cert(path.read_text())


def test_renewed_certificate_is_served_to_the_next_session(tls_conf, zygote,
                                                           mx):
    certs = tls_conf.dir / "certs"
    first = served(mx.port)
    assert first == der(certs / "fullchain.pem")
    make_cert(certs, HOSTNAME, kind="rsa")
    second = served(mx.port)
    assert second == der(certs / "fullchain.pem")
    assert second != first
    # the sessions' log is read by a thread: wait for both lines
    mx.wait_for(r"event=tls\s", 2)
    assert len(mx.events("tls")) == 2


def test_changed_priority_reaches_the_next_session(tls_conf, zygote, mx):
    """The zygote parses tls_priority once for its children, and again
    when posthorn.conf changes."""
    served(mx.port)
    tls_conf.write(tls_priority="NORMAL:-VERS-ALL:+VERS-TLS1.2")
    served(mx.port)
    mx.wait_for(r"event=tls\s", 2)
    first, second = mx.events("tls")
    assert first["version"] == "TLSv1.3", first
    assert second["version"] == "TLSv1.2", second


def test_children_use_the_zygotes_certificate_without_reading_it(
        tls_conf, zygote, mx):
    """The zygote reads the configuration, chain and key once, and again
    only when they change: its children start the handshake at once."""
    served(mx.port)                     # the zygote has read them now
    trace = tls_conf.dir.parent / "zygote.strace"
    st = subprocess.Popen(["strace", "-f", "-qq", "-e",
                           "trace=openat,open,exit_group", "-o", str(trace),
                           "-p", str(zygote.proc.pid)],
                          stderr=subprocess.PIPE, text=True)
    try:
        # strace says nothing once attached with -qq: wait until the
        # zygote is seen traced in /proc
        deadline = time.monotonic() + WAIT
        while "TracerPid:\t0" in pathlib.Path(
                f"/proc/{zygote.proc.pid}/status").read_text():
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.01)
        for _ in range(2):
            assert served(mx.port) == der(tls_conf.dir / "certs" /
                                          "fullchain.pem")
        # ...and both have ended (the zygote reaps them)
        while zygote.children():
            assert time.monotonic() < deadline + WAIT, zygote.children()
            time.sleep(0.01)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(timeout=WAIT)
    lines = trace.read_text().splitlines()
    children = {ln.split()[0] for ln in lines if "exit_group" in ln} - \
        {str(zygote.proc.pid)}
    assert len(children) == 2, lines
    opened = [ln for ln in lines if ln.split()[0] in children and
              re.search(r"open(at)?\(", ln)]
    for name in ("posthorn.conf", "fullchain.pem", "privkey.pem"):
        assert not [ln for ln in opened if name in ln], opened


# RFC 8446 §4.1.3: the random of a HelloRetryRequest, SHA-256 of the
# words "HelloRetryRequest", the same in every session.
HRR_RANDOM = ("cf21ad74e59a6111be1d8c021e65b891"
              "c2a211167abb8c5e079e09e2c8a8339c")


def server_random(out):
    """The 32 random bytes of the ServerHello in openssl s_client -msg's
    dump (the 4-byte handshake header, 2 of version, then the random),
    past a HelloRetryRequest if the server sent one."""
    found = []
    for m in re.finditer(r"<<< TLS 1\.[23], Handshake \[length [0-9a-f]+\], "
                         r"ServerHello\n((?: +[0-9a-f]{2}(?: [0-9a-f]{2})*"
                         r"\n)+)", out):
        hexes = re.findall(r"[0-9a-f]{2}", m.group(1))
        found.append("".join(hexes[6:38]))
    found = [r for r in found if r != HRR_RANDOM]
    assert len(found) == 1, out
    return found[0]


def test_children_do_not_share_random_state(tls_conf, zygote, mx):
    """Forked from one process, the children would repeat each other's
    random bytes (and key shares) if GnuTLS did not reseed after fork."""
    r1 = s_client(mx.port, "-msg")
    r2 = s_client(mx.port, "-msg")
    a, b = server_random(r1.stdout), server_random(r2.stdout)
    assert len(a) == 64 and a != b
    mx.wait_for(r"event=tls\s", 2)
    assert len(mx.events("tls")) == 2


# --- what goes wrong ---------------------------------------------------------

def test_zygote_exits_when_the_last_holder_closes(tls_conf, zygote, mx):
    c, tlsd = starttls(mx)
    assert c.cmd("QUIT")[0] == 221
    c.close()
    mx.stop()
    # The sessions are gone; the test's end is the last one.
    assert zygote.proc.poll() is None
    zygote.end.close()
    assert zygote.proc.wait(timeout=WAIT) == 0
    mx.sessions = []


def test_killed_zygote_means_exec_and_tls_still_works(tls_conf, zygote, mx):
    zygote.proc.kill()
    zygote.proc.wait(timeout=WAIT)
    c, tlsd = starttls(mx)
    # Exec'd by smtp-in, as without a zygote.
    [smtpin] = mx.sessions
    assert ppid(tlsd) == smtpin.pid
    assert c.cmd("MAIL FROM:<carol@remote.example>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(MESSAGE + b".\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert received_with_tls(only_message(tls_conf))
    assert not mx.events("tls-failed")


def send_raw(sock, payload, fds):
    sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                              bytes(memoryview(
                                  __import__("array").array("i", fds))))]
                 if fds else [])


def request(peer):
    return bytes([1]) + peer.encode().ljust(64, b"\0")


def test_malformed_requests_are_dropped_and_the_zygote_goes_on(tls_conf,
                                                               zygote, mx):
    a, b = socket.socketpair()
    x, y = socket.socketpair()
    try:
        send_raw(zygote.end, request("192.0.2.1"), [a.fileno()])
        send_raw(zygote.end, request("192.0.2.1"),
                 [a.fileno(), x.fileno(), b.fileno()])
        send_raw(zygote.end, b"GET / HTTP/1.0\r\n", [a.fileno(),
                                                     x.fileno()])
        send_raw(zygote.end, request("192.0.2.1 x"), [a.fileno(),
                                                      x.fileno()])
        zygote.wait_for(r"event=tls-request-refused", count=4)
        # Nothing was forked for them, and what they brought was closed:
        # our ends see no other holder.
        assert zygote.children() == []
        b.settimeout(WAIT)
        y.settimeout(WAIT)
        a.close()
        x.close()
        assert b.recv(1) == b""
        assert y.recv(1) == b""
    finally:
        for s in (a, b, x, y):
            s.close()
    assert zygote.proc.poll() is None
    c, tlsd = starttls(mx)
    assert ppid(tlsd) == zygote.proc.pid
    assert c.cmd("QUIT")[0] == 221
    c.close()


def test_crashed_child_makes_the_zygote_exit_for_a_fresh_layout(tls_conf,
                                                                zygote, mx):
    c, tlsd = starttls(mx)
    # SIGILL, what a jump into the wrong bytes raises; not SIGSEGV, which
    # AddressSanitizer catches and turns into an exit status.
    os.kill(tlsd, signal.SIGILL)
    assert zygote.proc.wait(timeout=WAIT) == 2
    # its last lines may still be in the pipe: read them all first
    zygote.reader.join(timeout=WAIT)
    [ev] = zygote.events("tls-crashed")
    assert ev["pid"] == str(tlsd) and ev["signal"] == str(signal.SIGILL)
    assert c.closed()
    c.close()
    # The next session execs smtp-tlsd until a new zygote runs.
    c, tlsd = starttls(mx)
    assert ppid(tlsd) == mx.sessions[-1].pid
    assert c.cmd("QUIT")[0] == 221
    c.close()
    # The first session lost its TLS end: it ends, but not in error.
    mx.sessions[0].wait(timeout=WAIT)
    mx.sessions = mx.sessions[1:]
