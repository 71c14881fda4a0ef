"""AUTH checked by a real Dovecot (posthorn.conf auth_dovecot,
smtp-auth(8) "Dovecot"), end to end.

Each test starts its own Dovecot (Debian's dovecot-core) in the
foreground with a private configuration in a temporary directory: its
base_dir, a passwd-file passdb with alice and carol, no protocols and
no SSL, and an auth-client listener of mode 0666.  The system's /etc/dovecot and
any Dovecot it runs are never touched.  The posthorn users file of
example.com holds no password for alice ("alice:!"): a login that
succeeds was checked by Dovecot alone.

- 587 after STARTTLS (PLAIN) and 465 (LOGIN), right password: 235, and
  the message is queued as an authenticated submission, through
  smtp-in's own smtp-auth and through smtp-listen's keeper; the process
  that connected to Dovecot is smtp-auth, the child of smtp-in or of
  the keeper (the socket is 0666 here, and a session whose keeper is
  not asked runs smtp-auth itself: only its parent tells them apart).
- senders(5) applies to the login Dovecot names, as to a users file's.
- A wrong password: 535, and counted: auth_source_failures = 1 turns the
  next try, even with the right password, into 454 unchecked; the same
  under a login with a TAB, which Dovecot's FAIL echoes.
- Dovecot unable to check (its passdb unreadable): 454.
- Dovecot stopped: 454 at once (the socket refused, no deadline), and
  the session goes on.
"""

import os
import pathlib
import pwd
import re
import shutil
import smtplib
import socket
import ssl
import struct
import subprocess
import tempfile
import threading

import pytest

from conftest import HOSTNAME, WAIT, Listener, Server, cmdline, make_cert
from dovecot import DOVECOT, Dovecot

PASSWORD = "dovecot's own password"
MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: someone@gmail.example\r\n"
           b"Subject: via dovecot\r\n\r\nchecked by Dovecot\r\n")

pytestmark = pytest.mark.skipif(DOVECOT is None,
                                reason="dovecot-core is not installed")


class AuthDovecot(Dovecot):
    """Its authentication server alone, on root/run/auth-client, with a
    passwd-file of the users given (name: password)."""

    def __init__(self, root, users):
        # auth_failure_delay 0: Dovecot's own 2 s wait on a refusal is
        # not what is tested here, and would only slow the tests.
        super().__init__(root, "auth", f"""\
protocols =
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {root}/passwd
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
""", pathlib.Path("auth-client"))
        hashes = ""
        for user, password in users.items():
            h = subprocess.run(
                ["doveadm", "-c", "/dev/null", "pw", "-s", "SHA512-CRYPT",
                 "-p", password], check=True, capture_output=True,
                text=True, timeout=WAIT).stdout.strip()
            hashes += f"{user}:{h}\n"
        (root / "passwd").write_text(hashes)

    def answers(self, s):
        s.sendall(b"VERSION\t1\t1\nCPID\t1\n")
        got = b""
        while b"\nDONE\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                return False
            got += chunk
        return True


def argv0(pid):
    return cmdline(pid).split(b"\0")[0]


def ppid(pid):
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


class Asked:
    """A socket in front of Dovecot's auth-client that notes who asks:
    for each connection, the program of its peer (SO_PEERCRED) and of the
    peer's parent, read while the peer waits for Dovecot's handshake
    (which has not been passed on yet, so the peer is still there), then
    the bytes go through both ways."""

    def __init__(self, path, target):
        self.path, self.target = path, target
        self.askers = []
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(str(path))
        os.chmod(path, 0o666)
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while chunk := a.recv(65536):
                b.sendall(chunk)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _serve(self, c):
        cred = c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                            struct.calcsize("3i"))
        pid = struct.unpack("3i", cred)[0]
        self.askers.append((argv0(pid), argv0(ppid(pid))))
        with c, socket.socket(socket.AF_UNIX) as up:
            up.connect(str(self.target))
            back = threading.Thread(target=self._pump, args=(up, c))
            back.start()
            self._pump(c, up)
            back.join()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def dovecot():
    root = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-dovecot."))
    root.chmod(0o755)
    d = AuthDovecot(root / "dovecot",
                    {"alice@example.com": PASSWORD,
                     "carol@example.com": PASSWORD})
    d.start()
    yield d
    d.stop()
    shutil.rmtree(root)


def dovecot_conf(c, dovecot, **keys):
    """c with auth_dovecot at the test's Dovecot, a certificate, and alice
    in the users file without a password (receive-only: mail for her is
    still delivered, and the users file cannot log her in)."""
    c.write(max_message_size="50M", auth_dovecot=str(dovecot.sock), **keys)
    c.domain("example.com", users=["alice", "bob"])
    make_cert(c.dir / "certs", HOSTNAME)
    return c


@pytest.fixture(params=["smtp-in", "keeper"])
def front(request, dovecot):
    """A submission and a submissions listener on loopback, checked
    through Dovecot: smtp-in under systemd-socket-activate, which starts
    smtp-auth itself, or smtp-listen, whose keeper does; the conf."""
    if request.param == "smtp-in":
        c = dovecot_conf(request.getfixturevalue("conf"), dovecot)
        srv = {m: Server(c, mode=m) for m in ("submission", "submissions")}
    else:
        c = dovecot_conf(request.getfixturevalue("open_conf"), dovecot)
        # -T: no TLS zygote; each session's smtp-tlsd reads the key
        # as nobody, its owner here (never others: secret(7) checks)
        nobody = pwd.getpwnam("nobody")
        os.chown(c.dir / "certs" / "privkey.pem", nobody.pw_uid,
                 nobody.pw_gid)
        srv = {m: Listener(c, mode=m, args=("-T",))
               for m in ("submission", "submissions")}
    yield c, srv
    for s in srv.values():
        s.stop()
    if request.param == "smtp-in":
        for s in srv.values():
            s.check_children()


def ctx():
    return ssl._create_unverified_context()


def starttls(port):
    s = smtplib.SMTP("127.0.0.1", port, timeout=WAIT)
    s.ehlo("client.example")
    s.starttls(context=ctx())
    s.ehlo("client.example")
    return s


def plain(s, user, password):
    s.user, s.password = user, password
    return s.auth("PLAIN", s.auth_plain)


@pytest.fixture
def asked(dovecot):
    a = Asked(dovecot.root / "asked", dovecot.sock)
    yield a
    a.close()


def test_587_plain_and_465_login_are_checked_by_dovecot(front, asked):
    c, srv = front
    c.write(max_message_size="50M", auth_dovecot=str(asked.path))
    with starttls(srv["submission"].port) as s:
        code, text = plain(s, "alice@example.com", PASSWORD)
        assert code == 235, text
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    with smtplib.SMTP_SSL("127.0.0.1", srv["submissions"].port,
                          timeout=WAIT, context=ctx()) as s:
        s.ehlo("client.example")
        # Dovecot's user name is the login, whatever case was typed
        s.user, s.password = "ALICE@example.com", PASSWORD
        code, text = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235, text
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    msgs = c.queued()
    assert sorted(m.env["via"] for m in msgs) == ["submission",
                                                  "submissions"]
    for m in msgs:
        assert m.rcpts == ["<someone@gmail.example>"]
        assert re.search(rb"with ESMTPSA id", m.body), m.body[:400]
        assert PASSWORD.encode() not in m.path.read_bytes()
    for mode in ("submission", "submissions"):
        hit = srv[mode].wait_for(r"event=auth .*login=alice@example\.com")
        assert PASSWORD not in srv[mode].log()
        assert hit
    # Who asked Dovecot: smtp-auth, the keeper's under smtp-listen (its
    # sessions do not reach Dovecot themselves), else the session's.
    parent = (b"smtp-keeper" if isinstance(srv["submission"], Listener)
              else b"smtp-in")
    assert [(a.rsplit(b"/", 1)[-1], p.rsplit(b"/", 1)[-1])
            for a, p in asked.askers] == [(b"smtp-auth", parent)] * 2, \
        asked.askers


def test_senders_applies_to_the_login_dovecot_names(front):
    """carol is Dovecot's alone (no line in the users file): she may
    send as herself and as what DIR/senders gives her login, not as
    bob."""
    c, srv = front
    (c.dir / "senders").write_text("carol@example.com: sales@example.com\n")

    def send(sender):
        with starttls(srv["submission"].port) as s:
            code, text = plain(s, "carol@example.com", PASSWORD)
            assert code == 235, text
            try:
                s.sendmail(sender, ["someone@gmail.example"],
                           MESSAGE.replace(b"Alice <alice@example.com>",
                                           sender.encode()))
            except smtplib.SMTPSenderRefused as e:
                return e.smtp_code, e.smtp_error.decode()
        return 250, ""

    assert send("carol@example.com") == (250, "")
    assert send("sales@example.com") == (250, "")
    code, text = send("bob@example.com")
    assert code == 550 and "bob@example.com" in text, text
    assert sorted(m.sender for m in c.queued()) == [
        "<carol@example.com>", "<sales@example.com>"]


def test_wrong_password_is_535_and_counted(front, dovecot):
    c, srv = front
    # one failure is the limit: the next try is refused unchecked
    c.write(max_message_size="50M", auth_dovecot=str(dovecot.sock),
            auth_source_failures="1")
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com", "not the password")
        assert e.value.smtp_code == 535
    srv["submission"].wait_for(
        r"event=auth-failed .*Dovecot refused alice@example\.com")
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com", PASSWORD)
        assert e.value.smtp_code == 454
    srv["submission"].wait_for(r"too many failed logins")
    assert c.queued() == []


def test_wrong_password_under_an_odd_login_is_535_and_counted(front,
                                                              dovecot):
    """Dovecot's FAIL echoes the login as typed, a TAB escaped in it: a
    refusal all the same, not a broken Dovecot's 454 left uncounted."""
    c, srv = front
    c.write(max_message_size="50M", auth_dovecot=str(dovecot.sock),
            auth_source_failures="1")
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com\t", "not the password")
        assert e.value.smtp_code == 535, e.value.smtp_error
    srv["submission"].wait_for(r"event=auth-failed .*Dovecot refused")
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com", PASSWORD)
        assert e.value.smtp_code == 454
    srv["submission"].wait_for(r"too many failed logins")
    assert c.queued() == []


def test_dovecot_that_cannot_check_is_454(front, dovecot):
    """Its passdb unreadable (Dovecot's auth runs as its own user): it
    answers FAIL with code=temp_fail, which is no refusal."""
    c, srv = front
    # A new file, root's alone, which Dovecot's auth (as its user, past
    # its start) must open again: it reads the file once at its start,
    # as root, and again when its size or time stamp change.
    new = dovecot.root / "passwd.new"
    new.write_bytes(b"# changed\n" + (dovecot.root / "passwd").read_bytes())
    new.chmod(0o600)
    os.utime(new, (1, 1))
    new.rename(dovecot.root / "passwd")
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com", PASSWORD)
        assert e.value.smtp_code == 454, dovecot.logtext()
    srv["submission"].wait_for(r"op=auth .*Dovecot cannot check "
                               r"alice@example\.com now")
    assert c.queued() == []


def test_dovecot_down_is_454_at_once(front, dovecot):
    c, srv = front
    dovecot.stop()
    with starttls(srv["submission"].port) as s:
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            plain(s, "alice@example.com", PASSWORD)
        assert e.value.smtp_code == 454
        assert b"4.7.0" in e.value.smtp_error
        # the session is still there
        assert s.noop()[0] == 250
    # at once, not at the end of a wait: the socket is refused or gone
    srv["submission"].wait_for(r"op=auth .*Dovecot at .*auth-client: "
                               r"(Connection refused|No such file)")
    assert c.queued() == []
