"""A private network for posthorn's remote-delivery tests.

smtp-out talks to the world: DNS through glibc's resolver and
/etc/resolv.conf, SMTP to port 25 of the addresses DNS gives.  To test
it for real without touching the machine's network, everything runs in a
network and mount namespace of its own (unshare -n -m):

  - lo up, with 127.0.0.2-127.0.0.20 and ::2-::10 on it, so that every
    peer has an address of its own and listens on port 25 there;
  - ours0, a bridge with no port, holding 192.0.2.25 and 2001:db8::25:
    this machine's "public" addresses, on an interface that is not
    loopback, as a server's are (smtp-out takes loopback addresses for
    relays and peers, never for itself);
  - /etc/resolv.conf ("nameserver 127.0.0.1") and /etc/hosts bind-mounted
    over the machine's, privately (mount --make-rprivate /): nothing
    outside the namespace sees them;
  - dnsmasq on 127.0.0.1:53 serving the test zones (HOSTS, MX, ... below): MX
    records, A and AAAA, a null MX, NXDOMAIN for every other name under
    .test, and SERVFAIL for servfail.test (forwarded to a responder,
    peers/servfail.py, that says nothing else);
  - the peers, started by the tests that need them: a private Postfix
    (peers/postfix-*.cf), python3-aiosmtpd (peers/smtpd.py, STARTTLS
    with a test CA made at run time, AUTH for the smarthost test) and
    Postfix's smtp-sink forced to answer 4xx or 5xx.

The pytest process itself stays outside.  One long-lived holder process
(unshare ... exec sleep infinity) keeps the namespaces; every command runs
inside with `nsenter -t HOLDER -n -m CMD` (nsenter execs, it does not
fork, so the process we start is the command itself).  Everything started
is stopped at teardown, and, last, any process still in the namespace
(Postfix's children, say) is killed by its id.  Every wait is bounded and
waits for an event: a log line, a port that accepts, a name that
resolves.

Runs as root (unshare -n, Postfix's master).
"""

import json
import os
import pathlib
import re
import select
import shutil
import signal
import string
import subprocess
import tempfile
import time

from conftest import WAIT, LogProc, QueueRun, Server, prog

HERE = pathlib.Path(__file__).resolve().parent
PEERS = HERE / "peers"
PYTHON = "/usr/bin/python3"     # Debian's, where python3-aiosmtpd lives

# --- the world inside the namespace ----------------------------------------
# For the SRS tests: outside.test is "Gmail" (aiosmtpd at 127.0.0.3), the
# MX of our local domains is mx.example.net = 127.0.0.11 (conftest's
# HOSTNAME), where ns.smtp_in(conf, [OURS + ":25"]) runs smtp-in, so that a
# peer's bounce to an SRS address comes back through DNS and port 25.

DNS = "127.0.0.1"            # dnsmasq, port 53
SERVFAIL_PORT = 5399         # peers/servfail.py on 127.0.0.1
POSTFIX = "127.0.0.2"        # private Postfix, port 25
AIO = "127.0.0.3"            # aiosmtpd, port 25
AIO6 = "::1"                 # the same aiosmtpd over IPv6 (loopback:
                             # smtp-out skips MX addresses of our own
                             # interfaces, except loopback ones)
SOFT = "127.0.0.4"           # smtp-sink answering 4xx
DOWN = "127.0.0.5"           # nothing listens here
TLS = "127.0.0.6"            # aiosmtpd with STARTTLS (test CA)
SUBMIT = "127.0.0.7"         # aiosmtpd submission, port 587, AUTH
HARD = "127.0.0.8"           # smtp-sink answering 5xx
SRC4 = "127.0.0.10"          # a source address for bind4
SRC6 = "::10"                # a source address for bind6
OURS = "127.0.0.11"          # mx.example.net: our own MX (smtp-in)
PUBLIC4 = "192.0.2.25"       # ours0: this machine's own addresses, which
PUBLIC6 = "2001:db8::25"     # a next hop must never be (issue 12.2)
EXTRA4 = [f"127.0.0.{i}" for i in range(2, 21)]
EXTRA6 = [f"::{i}" for i in range(2, 11)]      # ::2 ... ::9, ::10

SMARTHOST_USER = "relay-user@example.net"
SMARTHOST_PASS = "s3cret pass:word"

# Names: (A, AAAA) records.  Mail domains: [(pref, host)] MX records.
HOSTS = {
    "probe.test": (["127.0.0.1"], []),          # the harness's own check
    "mx.pf.test": ([POSTFIX], []),
    "mx.v4.test": ([AIO], []),
    "mx.v6.test": ([], [AIO6]),
    "mx.dual.test": ([AIO], [AIO6]),
    "implicit.test": ([AIO], []),               # no MX: its A is the MX
    "down.twomx.test": ([DOWN], []),
    "up.twomx.test": ([AIO], []),
    "mx.soft.test": ([SOFT], []),
    "mx.hard.test": ([HARD], []),
    "mx.tls.test": ([TLS], []),
    "mx.badname.test": ([TLS], []),             # the cert does not say so
    "smarthost.test": ([SUBMIT], []),
    "mx.example.net": ([OURS], []),             # conftest's HOSTNAME
    "mx.outside.test": ([AIO], []),
    # Its MX query fails (SERVFAIL) but its A exists: a resolver that
    # fell back to the A record would deliver to aiosmtpd.
    "servfail.test": ([AIO], []),
    # This machine under names that are not local and not `hostname`:
    # www.selfaddr.test is the tutorial's www.example.org (an A and AAAA
    # record on this server, no MX); mx.selfaddr.test an MX host of
    # mxaddr.test; mixed.selfaddr.test has one address of another host.
    "www.selfaddr.test": ([PUBLIC4], [PUBLIC6]),
    "v6only.selfaddr.test": ([], [PUBLIC6]),
    "mx.selfaddr.test": ([PUBLIC4], []),
    "mixed.selfaddr.test": ([AIO], [PUBLIC6]),
}
MX = {
    "pf.test": [(10, "mx.pf.test")],
    "v4.test": [(10, "mx.v4.test")],
    "v6.test": [(10, "mx.v6.test")],
    "dual.test": [(10, "mx.dual.test")],
    "twomx.test": [(10, "down.twomx.test"), (20, "up.twomx.test")],
    "soft.test": [(10, "mx.soft.test")],
    "hard.test": [(10, "mx.hard.test")],
    "tls.test": [(10, "mx.tls.test")],
    "badname.test": [(10, "mx.badname.test")],
    # Our own name first: smtp-out must skip it, not loop to itself.
    "self.test": [(10, "mx.example.net"), (20, "mx.v4.test")],
    "outside.test": [(10, "mx.outside.test")],  # "Gmail", for forwarding
    "mxaddr.test": [(10, "mx.selfaddr.test")],  # an MX that is us by address
    "example.com": [(10, "mx.example.net")],    # conftest's local domains
    "catchall.example": [(10, "mx.example.net")],
}
NULLMX = ["nullmx.test"]
SERVFAIL = ["servfail.test"]
# Every other name under .test is NXDOMAIN (nxdomain.test, say).
TLS_NAMES = ["mx.tls.test", "smarthost.test"]


def dnsmasq_conf(extra=()):
    """dnsmasq's configuration for the zones above: no upstream, nothing
    but what is listed, NXDOMAIN for other names of the local zones."""
    lines = ["no-resolv", "no-hosts", "no-poll", "bind-interfaces",
             f"listen-address={DNS}", "port=53", "user=root",
             "keep-in-foreground", "log-queries", "log-facility=-",
             "cache-size=0",
             "local=/test/", "local=/example.com/", "local=/example.net/",
             "local=/example/"]
    for name, (v4, v6) in HOSTS.items():
        lines.append("host-record=" + ",".join([name, *v4, *v6]))
    for dom, mxs in MX.items():
        for pref, host in mxs:
            lines.append(f"mx-host={dom},{host},{pref}")
    for dom in NULLMX:
        # RFC 7505: MX 0 "." -- type 15, preference 0, the root name.
        lines.append(f"dns-rr={dom},15,000000")
    for dom in SERVFAIL:
        lines.append(f"server=/{dom}/{DNS}#{SERVFAIL_PORT}")
    lines.extend(extra)
    return "".join(l + "\n" for l in lines)


# --- the namespace ---------------------------------------------------------

HOLDER = r"""
set -e
mount --make-rprivate /
mount --bind "$1/resolv.conf" /etc/resolv.conf
mount --bind "$1/hosts" /etc/hosts
ip link set lo up
for a in $2; do ip addr add "$a/8" dev lo; done
for a in $3; do ip -6 addr add "$a/128" dev lo nodad; done
ip link add ours0 type bridge
ip link set ours0 up
ip addr add "$4/32" dev ours0
ip -6 addr add "$5/128" dev ours0 nodad
echo ready
exec sleep infinity
"""

PORT_WAIT = r"""
import socket, sys, time
host, port, bound = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + bound
while True:
    try:
        socket.create_connection((host, port), 1).close()
        break
    except OSError as e:
        if time.monotonic() > end:
            sys.exit(f"nothing listens on [{host}]:{port}: {e}")
        time.sleep(0.02)
"""

NAME_WAIT = r"""
import socket, sys, time
name, bound = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + bound
while True:
    try:
        socket.getaddrinfo(name, 25)
        break
    except OSError as e:
        if time.monotonic() > end:
            sys.exit(f"{name} does not resolve: {e}")
        time.sleep(0.02)
"""


class Proc(LogProc):
    """A process inside the namespace, its stderr collected (wait_for)."""

    def __init__(self, ns, name, cmd, env=None):
        self.name = name
        self.start(ns.prefix + [str(c) for c in cmd], env=env)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)


class Netns:
    """The namespace, its DNS, and the peers the tests start in it."""

    def __init__(self, root, dns_conf=None):
        """dns_conf: dnsmasq's configuration, dnsmasq_conf() unless
        given (set_dns changes it later)."""
        if os.geteuid() != 0:
            raise RuntimeError("the remote-delivery tests run as root "
                               "(unshare -n, Postfix)")
        for p in ("unshare", "nsenter", "ip", "dnsmasq", "/usr/sbin/smtp-sink",
                  "/usr/sbin/postfix", "openssl"):
            if shutil.which(p) is None:
                raise RuntimeError(f"{p} is missing (sh t/deps.sh)")
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.procs = []
        self.postfixes = []
        (self.root / "resolv.conf").write_text(
            f"# the test namespace's\nnameserver {DNS}\n"
            "options attempts:2 timeout:2\n")
        (self.root / "hosts").write_text(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
        self.holder = subprocess.Popen(
            ["unshare", "-n", "-m", "sh", "-c", HOLDER, "holder",
             str(self.root), " ".join(EXTRA4), " ".join(EXTRA6),
             PUBLIC4, PUBLIC6],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            start_new_session=True)
        line = self.holder.stdout.readline()
        if line != b"ready\n":
            self.holder.kill()
            self.holder.wait()
            raise RuntimeError("the namespace did not come up")
        self.pid = self.holder.pid
        self.netns = os.readlink(f"/proc/{self.pid}/ns/net")
        self.prefix = ["nsenter", "-t", str(self.pid), "-n", "-m", "--"]
        try:
            self._start_dns(dns_conf if dns_conf is not None
                            else dnsmasq_conf())
        except BaseException:
            self.close()
            raise

    # --- running things inside ---

    def run(self, cmd, input=None, env=None, timeout=60, check=False):
        """Run cmd inside; its CompletedProcess (stdout, stderr bytes)."""
        r = subprocess.run(self.prefix + [str(c) for c in cmd], input=input,
                           env=env, capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} exited {r.returncode}:\n"
                                 + r.stderr.decode("utf-8", "replace"))
        return r

    def popen(self, cmd, env=None, **kw):
        """A plain Popen inside, stopped at teardown."""
        p = subprocess.Popen(self.prefix + [str(c) for c in cmd], env=env,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def spawn(self, name, cmd, env=None):
        """A Proc (stderr collected, wait_for) inside, stopped at teardown."""
        p = Proc(self, name, cmd, env=env)
        self.procs.append(p)
        return p

    def wait_port(self, host, port, bound=WAIT, proc=None):
        """Bounded wait until host:port accepts a connection (inside);
        proc: the server, whose log goes into the failure."""
        r = self.run([PYTHON, "-c", PORT_WAIT, host, port, bound],
                     timeout=bound + 10)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode("utf-8", "replace")
                                 + (f"\n{proc.name}:\n{proc.log()}"
                                    if proc is not None else ""))

    def mark(self):
        """Where the test's own processes start (see stop_since)."""
        return len(self.procs), len(self.postfixes)

    def stop_since(self, mark):
        """Stop what was started after mark, newest first."""
        n, m = mark
        while len(self.postfixes) > m:
            self.postfixes.pop().stop()
        while len(self.procs) > n:
            _stop(self.procs.pop())

    # --- DNS ---

    def _start_dns(self, text):
        self.spawn("servfail", [PYTHON, PEERS / "servfail.py", DNS,
                                SERVFAIL_PORT]).wait_for("listening")
        self.dns = None
        self.set_dns(text)

    def set_dns(self, text):
        """(Re)start dnsmasq with the configuration text; it must give
        probe.test an address (the wait for it to answer).  The new
        server takes the old one's place among the processes, so that
        stop_since leaves it running: it lives as long as the
        namespace."""
        conf = self.root / "dnsmasq.conf"
        conf.write_text(text)
        old = self.dns
        if old is not None:
            old.stop()
        self.dns = Proc(self, "dnsmasq", ["dnsmasq", "-C", conf])
        if old is not None:
            self.procs[self.procs.index(old)] = self.dns
        else:
            self.procs.append(self.dns)
        self.dns.wait_for(r"dnsmasq.*started")
        self.run([PYTHON, "-c", NAME_WAIT, "probe.test", WAIT],
                 timeout=WAIT + 10, check=True)

    # --- peers ---

    def aiosmtpd(self, listen, store, hostname="peer.test", tls=None,
                 auth=None, rcpt_reply=None, smtputf8=True, dsn=False):
        """peers/smtpd.py on each "ADDR:PORT" of listen, storing into
        store; tls: a TestCA (STARTTLS with its server certificate);
        auth: "user:password" (AUTH required, after STARTTLS)."""
        store = pathlib.Path(store)
        cmd = [PYTHON, PEERS / "smtpd.py", "--store", store,
               "--hostname", hostname]
        for a in listen:
            cmd += ["--listen", a]
        if tls is not None:
            cmd += ["--cert", tls.cert, "--key", tls.key]
        if auth is not None:
            cmd += ["--auth", auth]
        if rcpt_reply is not None:
            cmd += ["--rcpt-reply", rcpt_reply]
        if not smtputf8:
            cmd += ["--no-smtputf8"]
        if dsn:
            cmd += ["--dsn"]
        p = self.spawn(f"aiosmtpd {listen}", cmd)
        for a in listen:
            p.wait_for(re.escape(f"listening {a}"))
        p.store = store
        p.messages = lambda: peer_messages(store)
        return p

    def smtp_sink(self, addr, port=25, soft=(), hard=(), extra=()):
        """Postfix's smtp-sink on addr:port; soft: commands answered 4xx
        (-r), hard: commands answered 5xx (-f): "RCPT", "MAIL", "DATA",
        "." ... (smtp-sink(1))."""
        # As root it must be told whom to run as (-u).
        cmd = ["/usr/sbin/smtp-sink", "-u", "postfix",
               "-h", f"sink-{addr.replace('.', '-').replace(':', '-')}"]
        if soft:
            cmd += ["-r", ",".join(soft)]
        if hard:
            cmd += ["-f", ",".join(hard)]
        cmd += list(extra)
        cmd += [f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}",
                "64"]
        p = self.spawn(f"smtp-sink {addr}", cmd)
        self.wait_port(addr, port, proc=p)
        return p

    def postfix(self, domains, addr=POSTFIX, hostname="mx.pf.test"):
        p = PostfixPeer(self, domains, addr, hostname)
        self.postfixes.append(p)
        p.start()
        return p

    def smtp_in(self, conf, listen, mode="mx"):
        """smtp-in under systemd-socket-activate inside (conftest's
        Server): our own MX, where bounces and forwarded mail come back."""
        srv = Server(conf, mode=mode, listen=listen, prefix=self.prefix)
        self.procs.append(srv)
        return srv

    def queue_run(self, conf):
        qr = NsQueueRun(self, conf)
        self.procs.append(qr)
        return qr

    # --- the programs under test ---

    def smtp_out(self, conf, sender, *rcpts, message=b"", flags=(),
                 timeout=120):
        """smtp-out -C DIR [flags] -f SENDER -- RCPT... < message, inside;
        a SmtpOut with its exit code, parsed lines and log."""
        cmd = [prog("smtp-out"), "-C", conf.dir, *flags, "-f", sender,
               "--", *rcpts]
        r = self.run(cmd, input=message, env=conf.env(), timeout=timeout)
        return SmtpOut(r)

    # --- the end ---

    def close(self):
        for p in reversed(self.postfixes):
            p.stop()
        self.postfixes = []
        for p in reversed(self.procs):
            _stop(p)
        self.procs = []
        if self.holder.poll() is None:
            os.killpg(self.holder.pid, signal.SIGKILL)
            self.holder.wait(timeout=WAIT)
        # Whatever still lives in the namespace was started by us in it
        # (a Postfix daemon whose master was killed, say): by its id.
        for pid in self.members():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def members(self):
        """The ids of the processes in our network namespace."""
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink(f"/proc/{d}/ns/net") == self.netns:
                    out.append(int(d))
            except OSError:
                pass
        return out


def _stop(p):
    if isinstance(p, subprocess.Popen):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=WAIT)
            except ProcessLookupError:
                pass
    elif isinstance(p, QueueRun):
        p.stop()
    else:
        p.stop()


class NsQueueRun(QueueRun):
    """conftest's QueueRun, inside the namespace."""

    def __init__(self, ns, conf):
        self.ns = ns
        super().__init__(conf)

    def start(self, cmd, env=None):
        super().start(self.ns.prefix + cmd, env=env)

    def delivered(self, count=1, timeout=WAIT):
        """Wait for count successful deliveries of queue-run's own (the
        lines of smtp-out, on the same stderr, have no queue id)."""
        return self.wait_for(r"event=delivery id=\S+ .*status=sent", count,
                             timeout)

    def stop(self, sig=signal.SIGTERM):
        if getattr(self, "stopped", False):
            return
        self.stopped = True
        super().stop(sig)


# --- what the peers received -----------------------------------------------

class Received:
    """One message a peer stored: meta (envelope, session) and data."""

    def __init__(self, meta, data):
        self.meta = meta
        self.data = data
        self.mail_from = meta.get("mail_from")
        self.rcpts = meta.get("rcpt_tos", [])
        self.tls = meta.get("tls")
        self.auth = meta.get("auth")
        self.peer = meta.get("peer")

    def __repr__(self):
        return f"Received({self.meta!r}, {self.data[:80]!r}...)"


def peer_messages(store):
    """What an aiosmtpd peer stored, oldest first."""
    store = pathlib.Path(store)
    if not store.is_dir():
        return []
    out = []
    for j in sorted(store.glob("*.json")):
        meta = json.loads(j.read_text())
        out.append(Received(meta, j.with_suffix(".eml").read_bytes()))
    return out


def wait_messages(peer, count=1, bound=WAIT):
    """Bounded wait until peer (an aiosmtpd Proc or a PostfixPeer) has
    count messages; returns them.  The peers write their files before
    they answer 250, so this waits only for a delivery in flight."""
    end = time.monotonic() + bound
    while True:
        got = peer.messages()
        if len(got) >= count:
            return got
        if time.monotonic() > end:
            raise AssertionError(f"{len(got)} message(s) at the peer, "
                                 f"not {count}")
        time.sleep(0.05)


# --- Postfix as a receiving MX ---------------------------------------------

class PostfixPeer:
    """A private Postfix in a temporary directory (not under pytest's
    0700 tmp_path: its daemons run as "postfix"), listening on addr:25 in
    the namespace, delivering every message of its domains to one
    Maildir with virtual(8)."""

    def __init__(self, ns, domains, addr, hostname):
        self.ns = ns
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-pf.", dir="/var/tmp"))
        self.root.chmod(0o755)
        self.master = None
        r = self.root
        for d in ("etc", "queue", "data", "mail/box/new", "mail/box/cur",
                  "mail/box/tmp"):
            (r / d).mkdir(parents=True)
        import pwd
        pw = pwd.getpwnam("postfix")
        shutil.chown(r / "data", pw.pw_uid)
        for d in (r / "mail", r / "mail/box", r / "mail/box/new",
                  r / "mail/box/cur", r / "mail/box/tmp"):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        self.maildir = r / "mail" / "box"
        subst = dict(ROOT=r, ADDR=addr, HOSTNAME=hostname,
                     DOMAINS=" ".join(domains), BASE=r / "mail",
                     UID=pw.pw_uid, GID=pw.pw_gid)
        for name in ("main.cf", "master.cf"):
            tpl = string.Template((PEERS / f"postfix-{name}").read_text())
            (r / "etc" / name).write_text(tpl.substitute(subst))
        self.addr = addr

    def start(self):
        r = self.root
        res = self.ns.run(["/usr/sbin/postfix", "-c", r / "etc", "start"])
        if res.returncode != 0:
            raise AssertionError("postfix did not start:\n"
                                 + res.stderr.decode("utf-8", "replace")
                                 + res.stdout.decode("utf-8", "replace"))
        self.master = int((r / "queue/pid/master.pid").read_text().strip())
        self.ns.wait_port(self.addr, 25)

    def messages(self):
        """The delivered messages (bytes, as virtual(8) wrote them, with
        its Return-Path and Delivered-To), oldest first."""
        d = self.maildir / "new"
        return [p.read_bytes() for p in sorted(d.iterdir(),
                                               key=lambda p: p.name)]

    def log(self):
        try:
            return (self.root / "maillog").read_text()
        except OSError:
            return ""

    def stop(self):
        if self.master is not None:
            # The master is not our child (it daemonizes): a pidfd,
            # opened before it is told to stop, waits for its end.
            try:
                pidfd = os.pidfd_open(self.master)
            except ProcessLookupError:
                pidfd = None
            try:
                self.ns.run(["/usr/sbin/postfix", "-c", self.root / "etc",
                             "stop"])
                if pidfd is not None and not select.select(
                        [pidfd], [], [], WAIT)[0]:
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            finally:
                if pidfd is not None:
                    os.close(pidfd)
            self.master = None
        shutil.rmtree(self.root, ignore_errors=True)


# --- smtp-out's output -------------------------------------------------------

class Line:
    """One line of smtp-out's stdout (smtp-out(8)):
    STATUS RCPT DSN HOST TLS TEXT, tab-separated."""

    FIELDS = ("status", "rcpt", "dsn", "host", "tls", "text")

    def __init__(self, text):
        self.raw = text
        parts = text.split("\t")
        assert len(parts) == 6, f"not six tab-separated fields: {text!r}"
        for k, v in zip(self.FIELDS, parts):
            setattr(self, k, v)
        assert self.status in ("sent", "deferred", "failed"), text
        assert re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", self.dsn), text
        assert self.dsn[0] == {"sent": "2", "deferred": "4",
                               "failed": "5"}[self.status], text
        assert self.host == "-" or re.fullmatch(
            r"[^\s\[\]]+\[[0-9A-Fa-f.:IPv]+\]", self.host), text
        assert self.tls == "none" or re.fullmatch(
            r"TLSv1\.[23]/[A-Z0-9_]+/(dane|sts|verified|opportunistic)",
            self.tls), text

    @property
    def addr(self):
        """The address in HOST's brackets, without an IPv6: tag."""
        m = re.search(r"\[(?:IPv6:)?([^\]]+)\]$", self.host)
        return m.group(1) if m else None

    @property
    def hostname(self):
        return self.host.split("[", 1)[0]

    def __repr__(self):
        return f"Line({self.raw!r})"


class SmtpOut:
    """One smtp-out run: code, lines (parsed), stdout, stderr."""

    def __init__(self, r):
        self.code = r.returncode
        self.stdout = r.stdout.decode("utf-8", "replace")
        self.stderr = r.stderr.decode("utf-8", "replace")
        assert self.stdout == "" or self.stdout.endswith("\n"), self.stdout
        assert "\r" not in self.stdout, self.stdout
        for finding in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert finding not in self.stderr, self.stderr
        self.lines = [Line(l) for l in self.stdout.splitlines()]

    def __repr__(self):
        return (f"smtp-out exit {self.code}\nstdout:\n{self.stdout}"
                f"stderr:\n{self.stderr}")


# --- a test CA ----------------------------------------------------------------

class TestCA:
    """A CA and one server certificate for TLS_NAMES, made with openssl
    at run time in dir (nothing private is ever committed)."""

    __test__ = False        # not a pytest class

    def __init__(self, dir, names=TLS_NAMES):
        d = pathlib.Path(dir)
        d.mkdir(parents=True, exist_ok=True)
        self.ca = d / "ca.pem"
        self.ca_key = d / "ca.key"
        self.cert = d / "server.pem"
        self.key = d / "server.key"
        csr = d / "server.csr"
        ext = d / "server.ext"
        ossl = ["openssl"]
        _run(ossl + ["req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                     "-subj", "/CN=posthorn test CA", "-keyout", self.ca_key,
                     "-out", self.ca,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        _run(ossl + ["req", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-subj",
                     f"/CN={names[0]}", "-keyout", self.key, "-out", csr])
        ext.write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
        _run(ossl + ["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
                     self.ca_key, "-CAcreateserial", "-days", "2",
                     "-extfile", ext, "-out", self.cert])
        for k in (self.key, self.ca_key):
            k.chmod(0o600)


def _run(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{r.stderr.decode()}")
