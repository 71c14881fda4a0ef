"""Fixtures for posthorn's end-to-end tests.

Every test gets its own throw-away configuration directory, spool and
mail root under pytest's tmp_path, and (when it asks for `smtpd`) a real
smtp-in started per connection by systemd-socket-activate on loopback
ports, exactly as a user runs it without systemd.  The programs come from
$POSTHORN_BIN (the Makefile points it at build/bin or build-asan/bin).
"""

import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("POSTHORN_BIN") or ROOT / "build" / "bin")
SAN = os.environ.get("POSTHORN_SAN") == "1"
HOSTNAME = "mx.example.net"
# Sanitizer settings passed to every program we start; a finding makes
# the program exit non-zero, which the fixtures turn into a failure.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
}
WAIT = 20.0  # seconds: the bound of every wait for a server event


def prog(name):
    return str(BIN / name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory, name, kind="ec"):
    """A self-signed certificate for name, made with openssl for this run
    (nothing private is committed): directory/fullchain.pem and
    directory/privkey.pem, where smtp-in looks; kind "ec" (P-256) or
    "rsa" (2048 bits).  Returns the certificate's path."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] \
        if kind == "ec" else ["-newkey", "rsa:2048"]
    subprocess.run(
        ["openssl", "req", "-x509", *key, "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(directory / "privkey.pem"),
         "-out", str(directory / "fullchain.pem")],
        check=True, capture_output=True, timeout=WAIT)
    return directory / "fullchain.pem"


class QueuedMessage:
    """One committed file of SPOOL/new, parsed as posthorn-queue(5) says."""

    def __init__(self, path):
        self.path = path
        raw = path.read_bytes()
        head, sep, self.body = raw.partition(b"\n\n")
        assert sep, f"{path}: no empty line after the envelope"
        lines = head.decode("utf-8").split("\n")
        assert lines[0] == "posthorn-queue 1", lines[0]
        self.env = {}
        self.rcpts = []
        self.flags = set()
        for line in lines[1:]:
            key, _, value = line.partition(" ")
            if key == "rcpt":
                self.rcpts.append(value)
            elif value == "":
                self.flags.add(key)
            else:
                self.env[key] = value
        self.id = self.env.get("id")
        self.sender = self.env.get("from")

    def headers(self):
        return self.body.split(b"\n\n", 1)[0]


class Conf:
    """A configuration directory with two local domains and a spool."""

    def __init__(self, root):
        self.root = root
        self.dir = root / "etc"
        self.spool = root / "spool"
        self.mail = root / "mail"
        for d in ("tmp", "new", "state"):
            (self.spool / d).mkdir(parents=True)
        self.mail.mkdir()
        self.write(max_message_size="50M")
        self.domain("example.com", users=["alice", "bob"],
                    aliases="info: alice\n")
        self.domain("catchall.example", users=[],
                    aliases="*: alice@example.com\n")
        # Nothing a test does may reach the outside world: every remote
        # domain goes to a loopback port where nothing listens, unless a
        # test routes it to a peer of its own (routes(5)).
        (self.dir / "routes").write_text("* 127.0.0.1:1 tls=none\n")

    def write(self, **keys):
        # dnssec = off: the namespace's dnsmasq knows no root zone, so
        # that validation with the root's key would find every answer
        # bogus; test_dane.py turns it on with its own zone's key.
        conf = {"hostname": HOSTNAME, "spool": str(self.spool),
                "maildirs": str(self.mail), "dnssec": "off"}
        conf.update(keys)
        self.dir.mkdir(exist_ok=True)
        text = "# written by the test\n" + "".join(
            f"{k} = {v}\n" for k, v in conf.items())
        (self.dir / "posthorn.conf").write_text(text)

    def domain(self, name, users=(), aliases=None):
        d = self.dir / "domains" / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "users").write_text("".join(f"{u}:!\n" for u in users))
        if aliases is not None:
            (d / "aliases").write_text(aliases)

    def env(self, **extra):
        env = dict(os.environ)
        env["POSTHORN_CONF"] = str(self.dir)
        env.update(SAN_ENV)
        env.update(extra)
        return env

    def run(self, name, *args, input=None, env=None, **kw):
        return subprocess.run([prog(name), *args], input=input,
                              env=self.env(**(env or {})),
                              capture_output=True, timeout=60, **kw)

    def queued(self):
        return [QueuedMessage(p) for p in sorted((self.spool / "new").iterdir())]

    def maildir(self, domain, user):
        """The messages in MAILDIRS/DOMAIN/USER/new, oldest name first."""
        d = self.mail / domain / user / "new"
        if not d.is_dir():
            return []
        return [p.read_bytes() for p in sorted(d.iterdir())]

    def leftovers(self):
        return sorted(p.name for p in (self.spool / "tmp").iterdir())

    def add_user(self, login, password):
        """login may log in with password (mailuser add)."""
        r = self.run("mailuser", "add", login,
                     input=(password + "\n").encode())
        assert r.returncode == 0, r.stderr


class LogProc:
    """A process whose stderr (one log line per event) is collected by a
    thread; wait_for() blocks on it with a bound, so tests synchronise on
    events rather than on sleeps."""

    # Set by _drain at the end of the log; a class attribute too, for
    # subclasses that start their own reader (test_tls_zygote's Zygote).
    eof = False

    def start(self, cmd, env=None):
        self.cmd = cmd
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env,
                                     start_new_session=True)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        # Its last lines may be read after it exited: a waiter that saw
        # it gone looks once more.
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_for(self, pattern, count=1, timeout=WAIT):
        """Wait until `count` log lines match `pattern`; return them."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [l for l in self.lines if rx.search(l)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and
                                 self.eof):
                    raise AssertionError(
                        f"no {count} log line(s) matching {pattern!r}; log:\n"
                        + "\n".join(self.lines[-40:]))
                self.cond.wait(left)

    def events(self, event):
        """The key=value pairs of every log line with event=EVENT."""
        out = []
        with self.cond:
            lines = list(self.lines)
        for l in lines:
            if f"event={event}" in l:
                out.append(parse_kv(l))
        return out

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def check_sanitizers(self):
        log = self.log()
        assert "AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "LeakSanitizer" not in log, log


class Server(LogProc):
    """systemd-socket-activate --inetd -a running smtp-in on loopback."""

    def __init__(self, conf, mode="mx", listen=None, wrap=(), prefix=()):
        self.conf = conf
        self.listen = listen or [f"127.0.0.1:{free_port()}"]
        self.port = int(self.listen[0].rsplit(":", 1)[1])
        cmd = list(prefix) + ["systemd-socket-activate", "--inetd", "-a"]
        for a in self.listen:
            cmd += ["-l", a]
        for k, v in SAN_ENV.items():
            cmd += ["-E", f"{k}={v}"]
        cmd += ["-E", f"POSTHORN_CONF={conf.dir}"]
        cmd += list(wrap) + [prog("smtp-in"), mode]
        self.start(cmd)
        for a in self.listen:
            self.wait_for(re.escape(f"Listening on {a}"))

    def child_pids(self):
        with self.cond:
            return [int(m.group(1)) for l in self.lines
                    for m in [re.search(r"Spawned .* as PID (\d+)", l)] if m]

    def connect(self, host="127.0.0.1", port=None, timeout=WAIT):
        return socket.create_connection((host, port or self.port),
                                        timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)

    def check_children(self, allowed=()):
        """Every session exited 0 (or a status in `allowed`) and no
        sanitizer spoke."""
        self.check_sanitizers()
        log = self.log()
        for m in re.finditer(r"Child (\d+) died with code (\d+)", log):
            code = int(m.group(2))
            assert code == 0 or code in allowed, (
                f"smtp-in exited {code}:\n{log[-4000:]}")


class Listener(LogProc):
    """smtp-listen on loopback, binding its sockets itself (or taking
    them from `prefix`, an activator that passes LISTEN_FDS) and
    dropping to `user`, as install.sh starts it without systemd."""

    def __init__(self, conf, mode="mx", args=(), listen=None, prefix=(),
                 user="nobody", wrap=()):
        self.conf = conf
        self.listen = listen if listen is not None else \
            [f"127.0.0.1:{free_port()}"]
        self.port = int(self.listen[0].rsplit(":", 1)[1]) \
            if self.listen else None
        # -d 5: a test that fails with a session open is not held up
        # for the whole default drain
        # wrap: a command that execs the rest, the listener still
        # binding its own sockets
        cmd = list(prefix) + list(wrap) + [
            prog("smtp-listen"), "-C", str(conf.dir),
            "-u", user, "-d", "5", *args, mode]
        if not prefix:
            cmd += self.listen
        self.start(cmd, env=conf.env())
        if not prefix:
            self.wait_for(r"event=listening", len(self.listen))
            # The checker of an mx listener is started after its
            # sockets: until it has exec'd, it looks like a session.
            if mode == "mx" and "-K" not in args:
                self.wait_for(r"smtp-checkd\[\d+\]: event=started")

    def pid(self):
        """The listener's pid (under an activator, its child's)."""
        if not hasattr(self, "_pid"):
            pid = self.proc.pid
            # an activator execs it in place, or runs it as a child
            deadline = time.monotonic() + WAIT
            while b"smtp-listen" not in cmdline(pid):
                kids = children(pid)
                if kids:
                    pid = kids[0]
                assert time.monotonic() < deadline, "no smtp-listen"
                time.sleep(0.01)
            self._pid = pid
        return self._pid

    def sessions(self):
        """The pids of the sessions it has not reaped yet: its children
        but the TLS zygote, the checker and the keeper (a session that exited and is
        not reaped yet, a zombie with no command line, still counts: the
        listener has not seen it end)."""
        return [p for p in children(self.pid())
                if not cmdline(p).split(b"\0")[0].endswith(
                    (b"smtp-tlsd", b"smtp-keeper", b"smtp-checkd"))]

    def wait_sessions(self, n, timeout=WAIT):
        """Wait until it runs exactly n sessions (they are reaped)."""
        deadline = time.monotonic() + timeout
        while len(self.sessions()) != n:
            assert time.monotonic() < deadline, (
                f"{len(self.sessions())} sessions, want {n}:\n{self.log()}")
            time.sleep(0.02)  # polling /proc: there is no event to wait on

    def connect(self, host="127.0.0.1", port=None, source=None,
                timeout=WAIT):
        s = socket.create_connection(
            (host, port or self.port), timeout=timeout,
            source_address=(source, 0) if source else None)
        return Client(s)

    def stop(self):
        """SIGTERM: it drains and must exit 0 on its own."""
        if self.proc.poll() is None:
            os.kill(self.pid(), signal.SIGTERM)
            code = self.proc.wait(timeout=WAIT)
            assert code == 0, f"smtp-listen exited {code}:\n{self.log()}"
        self.reader.join(timeout=WAIT)
        self.check_sanitizers()


def cmdline(pid):
    """The arguments of process pid, NULs between them; b"" once it is
    gone (it may be reaped between a listing and the read)."""
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def children(pid):
    """The pids of pid's children (/proc/PID/task/*/children)."""
    out = []
    try:
        for t in pathlib.Path(f"/proc/{pid}/task").iterdir():
            out += [int(x) for x in (t / "children").read_text().split()]
    except FileNotFoundError:
        pass
    return out


def inject(conf, sender, *rcpts, body=b"Subject: t\n\nhello\n"):
    """Put a message into the queue with queue-inject, which must take it."""
    r = conf.run("queue-inject", "-f", sender, "--", *rcpts, input=body)
    assert r.returncode == 0, r.stderr
    return r


class QueueRun(LogProc):
    """queue-run on the test's configuration, as systemd runs it."""

    def __init__(self, conf, exe=None, prefix=(), env=None):
        self.conf = conf
        self.start(list(prefix) + [exe or prog("queue-run")],
                   env=env or conf.env())
        self.wait_for(r"event=started")

    def delivered(self, count=1, timeout=WAIT):
        """Wait for `count` successful deliveries; return their lines."""
        # queue-run's own lines carry the queue id; smtp-out's, which
        # share its stderr, do not.
        return self.wait_for(r"event=delivery id=\S+ .*status=sent", count,
                             timeout)

    def stop(self, sig=signal.SIGTERM):
        """Stop it; on SIGTERM it must exit 0 on its own."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            code = self.proc.wait(timeout=WAIT)
            if sig == signal.SIGTERM:
                assert code == 0, f"queue-run exited {code}:\n{self.log()}"
        self.reader.join(timeout=WAIT)
        self.check_sanitizers()


def parse_kv(line):
    """Parse `key=value key="quoted value"` pairs of one log line."""
    out = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        out[m.group(1)] = v
    return out


class Client:
    """A raw SMTP client for what smtplib will not do (pipelining by hand,
    bare LF, huge lines): send bytes, read whole replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One (possibly multi-line) reply: (code, [texts])."""
        texts = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode("utf-8", "replace")
            texts.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), texts

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=WAIT):
        """True when the server closed the connection (reads EOF)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def smtp_send(srv, msg, rcpts=("<alice@example.com>",)):
    """One message from bob@remote.example over a raw session with srv,
    every step but the DATA's reply checked: that reply, (code, text)."""
    c = Client(srv.connect())
    try:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
        for r in rcpts:
            assert c.cmd(f"RCPT TO:{r}")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        code, text = c.reply()
        assert c.cmd("QUIT")[0] == 221
        return code, " ".join(text)
    finally:
        c.close()


class Peer:
    """An aiosmtpd server in this process on a loopback port, keeping
    each envelope it accepts: the next hop of smtp-out, routed to with
    routes(5) "* 127.0.0.1:PORT tls=none".  smtputf8=False leaves
    SMTPUTF8 out of its EHLO; the MAIL options of each message are kept
    in `options`, in the order of `got`."""

    def __init__(self, reply="250 2.0.0 kept", smtputf8=True):
        from aiosmtpd.controller import Controller
        self.got = []
        self.options = []
        self.cond = threading.Condition()
        peer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with peer.cond:
                    peer.got.append((envelope.mail_from,
                                     list(envelope.rcpt_tos),
                                     envelope.original_content))
                    peer.options.append(list(envelope.mail_options))
                    peer.cond.notify_all()
                return reply

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1",
                                     port=self.port,
                                     enable_SMTPUTF8=smtputf8)
        self.controller.start()

    def wait(self, count=1, timeout=WAIT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.got) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"the peer got {len(self.got)} messages"
                self.cond.wait(left)
            return list(self.got)

    def stop(self):
        self.controller.stop()


@pytest.fixture
def conf():
    """A Conf under a directory of its own: root's, sticky and writable
    by all, as /tmp is, so that pipe aliases and MDAs, which run as
    nobody (queue-runas(8)), reach the scripts and files a test puts
    there, and queue-runas still trusts the configuration below it
    (pytest's tmp_path is root's alone)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-test."))
    root.chmod(0o1777)
    yield Conf(root)
    shutil.rmtree(root)


@pytest.fixture
def smtpd(conf):
    srv = Server(conf, listen=None)
    yield srv
    srv.stop()
    srv.check_children()


@pytest.fixture
def open_conf():
    """A Conf whose directories a session running as nobody can read, and
    whose spool and mail root it can write (pytest's tmp_path is root's
    alone): for smtp-listen, which never runs sessions as root."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-listen."))
    root.chmod(0o755)
    c = Conf(root)
    nobody = pwd.getpwnam("nobody")
    for top in (c.spool, c.mail):
        for d, dirs, files in os.walk(top):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
    yield c
    shutil.rmtree(root)


@pytest.fixture
def queue_run(conf):
    qr = QueueRun(conf)
    yield qr
    qr.stop()


@pytest.fixture
def client(smtpd):
    c = Client(smtpd.connect())
    code, text = c.reply()
    assert code == 220 and text[0].startswith(HOSTNAME), text
    yield c
    c.close()


# --- remote delivery: the network namespace of netns.py --------------------
# One namespace (lo with 127.0.0.2-20 and ::2-::10, dnsmasq serving the
# test zones, a private /etc/resolv.conf) for the whole run, made only
# when a test asks for it; each test's own peers (Postfix, aiosmtpd,
# smtp-sink, smtp-in, queue-run inside) are stopped when the test ends.
# Used by test_smtpout.py and the SRS tests.

@pytest.fixture(scope="session")
def netns(tmp_path_factory):
    from netns import Netns
    n = Netns(tmp_path_factory.mktemp("netns"))
    yield n
    n.close()


@pytest.fixture
def ns(netns):
    mark = netns.mark()
    yield netns
    netns.stop_since(mark)


@pytest.fixture(scope="session")
def testca(tmp_path_factory):
    """A CA and a server certificate for mx.tls.test and smarthost.test,
    made with openssl for this run (netns.TestCA)."""
    from netns import TestCA
    return TestCA(tmp_path_factory.mktemp("testca"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "listen_args(*args): options of the test's smtp-listen")
