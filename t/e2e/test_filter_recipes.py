"""The content filter recipes that posthorn ships (smtp-in/filters/*.sh,
installed under share/posthorn/filters), each against the real Debian
daemon that it adapts, started by the test on loopback with a
configuration of its own: SpamAssassin's spamd (through spamc), ClamAV's
clamd (through clamdscan, with a signature database the test makes: the
EICAR test string, since there is no network to fetch ClamAV's), and
rspamd (through rspamc).  The messages go through the real smtp-in, and
what is checked is what a user sees: the reply, the fields in the
queued message, nothing queued for a refusal, a 451 when the daemon is
down."""

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import ROOT, WAIT, Server, free_port, smtp_send

RECIPES = ROOT / "smtp-in" / "filters"
# SpamAssassin's and rspamd's test string (GTUBE), split so that no
# scanner of this file takes it for spam.
GTUBE = ("XJS*C4JDBQADN1.NSBN3*2IDNEN*" "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
EICAR = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$" "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
# Daemons load their rules at start: rspamd takes some 15 s on a busy
# machine of two cores.
START = 180.0


def message(body, subject="Lunch on Friday", extra=""):
    """A message as a mail client writes it, so that spam filters find
    nothing amiss but what the test puts in."""
    return (f"From: Bob Example <bob@remote.example>\r\n"
            f"To: Alice <alice@example.com>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: <20261206100000.1234@remote.example>\r\n"
            f"MIME-Version: 1.0\r\n{extra}"
            f"\r\n{body}\r\n").encode()


HAM = message("Hi Alice,\r\n\r\nshall we have lunch on Friday at the usual "
              "place?\r\n\r\nBob")


def wait_ready(proc, ready, what):
    """Until ready() is true, bounded; the daemon must not have died."""
    deadline = time.monotonic() + START
    while not ready():
        assert proc.poll() is None, f"{what} exited {proc.returncode}"
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.1)


def can_connect(port):
    def ready():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    return ready


class Daemon:
    def __init__(self, cmd, ready, what, **kw):
        self.proc = subprocess.Popen(cmd, start_new_session=True,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, **kw)
        try:
            wait_ready(self.proc, ready, what)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=WAIT)


@pytest.fixture
def server(conf):
    started = []

    def start(recipe, *args, **keys):
        conf.domain("fwd.example", users=[],
                    aliases="*: someone@gmail.example\n")
        conf.write(max_message_size="50M",
                   filter=" ".join([str(RECIPES / recipe), *args]), **keys)
        srv = Server(conf)
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.stop()
        srv.check_children()


# --- SpamAssassin -------------------------------------------------------------

@pytest.fixture(scope="module")
def spamd(tmp_path_factory):
    d = tmp_path_factory.mktemp("spamd")
    port = free_port()
    # -L: no network tests (there is no network); -x: no user files.
    daemon = Daemon(["spamd", "--listen", f"127.0.0.1:{port}", "-L", "-x",
                     "-u", "nobody", "--max-children", "1",
                     "--syslog", "stderr", "--pidfile", str(d / "pid")],
                    can_connect(port), "spamd")
    yield port
    daemon.stop()


def test_spamassassin_ham_is_taken_with_its_status(conf, server, spamd):
    srv = server("spamassassin.sh", "-d", "127.0.0.1", "-p", str(spamd))
    code, text = smtp_send(srv, HAM)
    assert code == 250, text
    [q] = conf.queued()
    first = q.body.split(b"\n", 1)[0]
    assert first.startswith(b"X-Spam-Status: No, score="), q.body[:200]
    assert b"X-Spam-Flag" not in q.headers()
    srv.wait_for(r"event=filter ")  # the log is read apart
    [f] = srv.events("filter")
    assert f["verdict"] == "accept"


def test_spamassassin_spam_is_flagged_and_not_forwarded(conf, server, spamd):
    srv = server("spamassassin.sh", "-d", "127.0.0.1", "-p", str(spamd))
    spam = message(GTUBE, subject="cheap")
    code, text = smtp_send(srv, spam)
    assert code == 250, text
    [q] = conf.queued()
    assert q.body.startswith(b"X-Spam-Flag: YES\nX-Spam-Status: Yes, score=")
    # The catch-all of fwd.example forwards to Gmail: refused, not
    # bounced later.
    code, text = smtp_send(srv, spam, rcpts=("<anyone@fwd.example>",))
    assert code == 550 and "not forwarded" in text, text
    assert len(conf.queued()) == 1
    srv.wait_for(r"event=filter ", 2)  # the log is read apart
    assert [f["verdict"] for f in srv.events("filter")] == ["spam", "spam"]


def test_spamassassin_refuses_above_a_score(conf, server, spamd):
    srv = server("spamassassin.sh", "-r", "20", "-d", "127.0.0.1",
                 "-p", str(spamd))
    code, text = smtp_send(srv, message(GTUBE, subject="cheap"))
    # GTUBE scores 1000, give or take the other rules that match: what
    # matters is that the score said is the one above the limit.
    m = re.fullmatch(r"5\.7\.1 message refused as spam \(score (-?\d+\.\d+)\)",
                     text)
    assert code == 550 and m and float(m[1]) > 20, text
    assert conf.queued() == [] and conf.leftovers() == []
    code, text = smtp_send(srv, HAM)
    assert code == 250, text


def test_spamassassin_down_is_451(conf, server):
    srv = server("spamassassin.sh", "-d", "127.0.0.1", "-p", str(free_port()))
    code, text = smtp_send(srv, HAM)
    assert code == 451 and text.startswith("4.7.1 spam filter unavailable")
    assert conf.queued() == []


# --- ClamAV -------------------------------------------------------------------

@pytest.fixture(scope="module")
def clamd(tmp_path_factory):
    d = tmp_path_factory.mktemp("clamd")
    db = d / "db"
    db.mkdir()
    # A body signature (ndb: name, any file type, any offset, hex): the
    # EICAR string wherever it is, in an attachment once clamd has
    # decoded the MIME, or in the text.
    (db / "posthorn-test.ndb").write_text(
        f"Posthorn-Test-EICAR:0:*:{EICAR.encode().hex()}\n")
    sock = d / "clamd.sock"
    cf = d / "clamd.conf"
    cf.write_text(f"LocalSocket {sock}\nDatabaseDirectory {db}\n"
                  f"Foreground yes\nLogFile {d}/clamd.log\nUser root\n")
    daemon = Daemon(["clamd", "-c", str(cf)], sock.exists, "clamd")
    yield cf
    daemon.stop()


def test_clamav_clean_is_taken_and_marked(conf, server, clamd):
    srv = server("clamav.sh", f"--config-file={clamd}")
    code, text = smtp_send(srv, HAM)
    assert code == 250, text
    [q] = conf.queued()
    assert q.body.startswith(b"X-Virus-Scanned: ClamAV on mx.example.net\n"
                             b"Received: ")


def test_clamav_virus_attachment_is_refused(conf, server, clamd):
    srv = server("clamav.sh", f"--config-file={clamd}")
    b64 = base64.encodebytes(EICAR.encode()).decode().replace("\n", "\r\n")
    body = ("--sep\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--sep\r\nContent-Type: application/octet-stream; name=a.com\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            f"{b64}--sep--")
    virus = message(body, extra="Content-Type: multipart/mixed; "
                    "boundary=sep\r\n")
    assert EICAR.encode() not in virus   # only decoded does it show
    code, text = smtp_send(srv, virus)
    assert code == 554, text
    assert text == "5.7.1 virus found: Posthorn-Test-EICAR.UNOFFICIAL"
    assert conf.queued() == [] and conf.leftovers() == []
    srv.wait_for(r"event=filter ")  # the log is read apart
    [f] = srv.events("filter")
    assert f["verdict"] == "refuse"


def test_clamav_down_is_451(conf, server, tmp_path):
    cf = tmp_path / "clamd.conf"
    cf.write_text(f"LocalSocket {tmp_path}/none.sock\n")
    srv = server("clamav.sh", f"--config-file={cf}")
    code, text = smtp_send(srv, HAM)
    assert code == 451 and "virus scanner unavailable" in text, text
    assert conf.queued() == []


# --- rspamd -------------------------------------------------------------------

@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    d = tmp_path_factory.mktemp("rspamd")
    (d / "db").mkdir()
    (d / "local").mkdir()
    port = free_port()
    # Debian's configuration but for the top level: one normal worker on
    # our port, no controller or proxy, a DNS server that is not there
    # (no network; the lookups fail at once), the log on the console.
    (d / "rspamd.conf").write_text(f"""
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }}
}}
logging {{ type = "console"; level = "error"; }}
worker "normal" {{
    bind_socket = "127.0.0.1:{port}";
    .include "$CONFDIR/worker-normal.inc"
    count = 1;
}}
""")
    daemon = Daemon(["rspamd", "-f", "-i", "-u", "root", "-g", "root",
                     "-c", str(d / "rspamd.conf"),
                     "--var", f"DBDIR={d}/db", "--var", f"RUNDIR={d}",
                     "--var", f"LOGDIR={d}",
                     "--var", f"LOCAL_CONFDIR={d}/local"],
                    can_connect(port), "rspamd")
    yield port
    daemon.stop()


def test_rspamd_ham_is_taken_with_its_status(conf, server, rspamd):
    srv = server("rspamd.sh", "-h", f"127.0.0.1:{rspamd}")
    code, text = smtp_send(srv, HAM)
    assert code == 250, text
    [q] = conf.queued()
    srv.wait_for(r"event=filter ")  # the log is read apart
    [f] = srv.events("filter")
    first = q.body.split(b"\n", 1)[0]
    if f["verdict"] == "spam":
        # rspamd's scores move with its rules; what is checked is that
        # its action was said as the protocol says it.
        assert q.body.startswith(b"X-Spam-Flag: YES\n")
    else:
        assert f["verdict"] == "accept"
        assert first.startswith(b"X-Spam-Status: No, score="), first


def test_rspamd_reject_is_refused_with_its_message(conf, server, rspamd):
    srv = server("rspamd.sh", "-h", f"127.0.0.1:{rspamd}")
    code, text = smtp_send(srv, message(GTUBE, subject="cheap"))
    assert (code, text) == (550, "5.7.1 Gtube pattern")
    assert conf.queued() == [] and conf.leftovers() == []


def test_rspamd_down_is_451(conf, server):
    srv = server("rspamd.sh", "-h", f"127.0.0.1:{free_port()}")
    code, text = smtp_send(srv, HAM)
    assert code == 451 and "spam filter unavailable" in text, text
    assert conf.queued() == []


def test_recipes_are_posix_sh():
    """dash (Debian's /bin/sh) parses every recipe."""
    recipes = sorted(RECIPES.glob("*.sh"))
    assert {p.name for p in recipes} >= {"spamassassin.sh", "rspamd.sh",
                                         "clamav.sh"}, recipes
    for p in recipes:
        assert os.access(p, os.X_OK), p
        r = subprocess.run(["dash", "-n", str(p)], capture_output=True)
        assert r.returncode == 0, (p, r.stderr)
    assert shutil.which("dash")


@pytest.mark.parametrize("recipe,tool", [("rspamd.sh", "rspamc"),
                                         ("clamav.sh", "clamdscan")])
def test_a_tools_unexpected_output_is_one_log_line(tmp_path, recipe, tool):
    """What the tool printed goes to smtp-in's log as one line: output
    that quotes the message must not forge lines of its own."""
    fake = tmp_path / tool
    fake.write_text("#!/bin/sh\ncat >/dev/null\n"
                    "printf 'Action: odd\\nevent=accepted forged=1\\n'\n"
                    "exit 2\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}",
               REMOTE_ADDR="192.0.2.1", EHLO_DOMAIN="client.example",
               MAIL_FROM="a@example.org", RCPT_TO="b@example.com",
               AUTH_AS="")  # smtp-in sets every variable, empty or not
    r = subprocess.run([str(RECIPES / recipe)], input=HAM,
                       capture_output=True, env=env, timeout=WAIT)
    assert r.returncode == 75, r
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{recipe}: {tool} exited 2: ")
    assert "forged=1" in lines[0]
