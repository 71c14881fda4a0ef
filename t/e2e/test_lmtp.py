"""LMTP delivery to a real Dovecot (domain.conf lmtp, queue-run(8),
smtp-out(8) -L), end to end.

Each test starts its own Dovecot (Debian's dovecot-core and
dovecot-lmtpd) in the foreground on a private configuration under the
test's directory: its base_dir and state_dir, an lmtp listener of mode
0666 on a UNIX socket there, a passwd-file userdb that knows alice and
bob of lmtp.example (their mail as nobody, in Maildirs under the test's
directory), and no SSL.  The system's /etc/dovecot and any Dovecot it
runs are never touched.

- One message to alice, bob and carol of lmtp.example, where posthorn's
  users file has all three but Dovecot knows no carol: alice's and bob's
  copies land in Dovecot's Maildirs, carol's RCPT is refused (550 5.1.1)
  and the sender gets a DSN with Dovecot's reply, and the queue ends
  empty.
- The same over TCP, to Dovecot's inet_listener on loopback.
- The socket missing (Dovecot down): the message stays queued, deferred
  with 4.4.1 and a log line that names the socket; once Dovecot runs, the
  retry delivers it.
"""

import os
import pathlib
import pwd

import pytest

from conftest import QueueRun, free_port, inject, parse_kv
from dovecot import DOVECOT, Dovecot
from test_queue_run import dsn_of

LMTP_MODULE = pathlib.Path("/usr/lib/dovecot/lmtp")
DOMAIN = "lmtp.example"

pytestmark = pytest.mark.skipif(
    DOVECOT is None or not LMTP_MODULE.exists(),
    reason="dovecot-core and dovecot-lmtpd are not installed")


class LmtpDovecot(Dovecot):
    """Serving LMTP on root/run/lmtp (and on a port of loopback) for the
    users given."""

    def __init__(self, root, users):
        # Dovecot delivers as the user's uid (never root): nobody, into
        # a tree that nobody may write.
        self.mail = root / "mail"
        self.port = free_port()
        super().__init__(root, "lmtp", f"""\
protocols = lmtp
listen = 127.0.0.1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
}}
""", pathlib.Path("lmtp"))
        self.mail.mkdir()
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        (root / "users").write_text("".join(
            f"{u}@{DOMAIN}::{nobody.pw_uid}:{nobody.pw_gid}::"
            f"{self.mail}/{u}::\n" for u in users))

    def answers(self, s):
        if s.recv(512).startswith(b"220 "):
            s.sendall(b"QUIT\r\n")
            return True
        return False

    def maildir(self, user):
        """The messages in user's Maildir/new, as Dovecot stored them."""
        new = self.mail / user / "Maildir" / "new"
        if not new.is_dir():
            return []
        return [p.read_bytes() for p in sorted(new.iterdir())]


@pytest.fixture
def dovecot(conf):
    dv = LmtpDovecot(conf.root / "dovecot", ["alice", "bob"])
    yield dv
    dv.stop()


def lmtp_domain(conf, dv, server=None):
    conf.domain(DOMAIN, users=["alice", "bob", "carol"])
    (conf.dir / "domains" / DOMAIN / "domain.conf").write_text(
        "# the mailboxes live in Dovecot\n"
        f"lmtp = {server or f'unix:{dv.sock}'}\n")


BODY = (b"From: bob@example.com\nTo: team@lmtp.example\n"
        b"Subject: to the store\nMessage-ID: <lmtp-1@example.com>\n\n"
        b"into dovecot\n")


def test_one_refused_two_delivered_and_a_dsn(conf, dovecot):
    lmtp_domain(conf, dovecot)
    dovecot.start()
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", f"alice@{DOMAIN}", f"bob@{DOMAIN}",
               f"carol@{DOMAIN}", body=BODY)
        sent = qr.wait_for(r"event=delivery id=\S+ .*via=lmtp.*status=sent",
                           2)
        assert sorted(parse_kv(l)["to"] for l in sent) == [
            f"alice@{DOMAIN}", f"bob@{DOMAIN}"]
        for l in sent:
            kv = parse_kv(l)
            assert kv["where"] == f"lmtp:unix:{dovecot.sock}", l
            assert kv["dsn"] == "2.0.0", l
        [bounced] = qr.wait_for(
            r"event=delivery id=\S+ .*via=lmtp.*status=bounced")
        kv = parse_kv(bounced)
        assert kv["to"] == f"carol@{DOMAIN}" and kv["dsn"] == "5.1.1", bounced
        assert "User doesn't exist" in kv["reason"], bounced
        # The DSN, delivered to the sender's Maildir (example.com has no
        # LMTP), and then the queue is empty.
        qr.wait_for(r"event=delivery id=\S+ .*to=bob@example.com "
                    r".*via=mailbox.*status=sent")
        qr.wait_for(r"event=removed", 2)
    finally:
        qr.stop()
    assert conf.queued() == []
    for user in ("alice", "bob"):
        [copy] = dovecot.maildir(user)
        assert copy.endswith(b"\n\ninto dovecot\n"), copy
        assert b"Return-Path: <bob@example.com>" in copy, copy
        assert b"Message-ID: <lmtp-1@example.com>" in copy, copy
    assert not (dovecot.mail / "carol").exists()
    assert f"lmtp(alice@{DOMAIN})" in dovecot.logtext()
    [raw] = conf.maildir("example.com", "bob")
    _, _, _, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert rcpt["Final-Recipient"] == f"rfc822;carol@{DOMAIN}"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 550 5.1.1"), \
        rcpt["Diagnostic-Code"]
    assert "User doesn't exist" in rcpt["Diagnostic-Code"]


def test_socket_missing_keeps_the_message_then_delivers(conf, dovecot):
    lmtp_domain(conf, dovecot)
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", f"alice@{DOMAIN}", body=BODY)
        [line] = qr.wait_for(
            r"event=delivery id=\S+ .*via=lmtp.*status=deferred")
        kv = parse_kv(line)
        assert kv["to"] == f"alice@{DOMAIN}", line
        assert kv["dsn"] == "4.4.1", line
        assert kv["where"] == f"lmtp:unix:{dovecot.sock}", line
        assert "No such file or directory" in kv["reason"], line
        assert str(dovecot.sock) in kv["reason"], line
        qr.wait_for(r"event=waiting")
        [msg] = conf.queued()
        assert conf.maildir(DOMAIN, "alice") == []   # not the Maildir
        # Dovecot comes up; a flush (mailq -f) delivers at once.
        dovecot.start()
        r = conf.run("mailq", "-f")
        assert r.returncode == 0, r.stderr
        qr.wait_for(r"event=delivery id=\S+ .*via=lmtp.*status=sent")
        qr.wait_for(r"event=removed")
    finally:
        qr.stop()
    assert conf.queued() == []
    [copy] = dovecot.maildir("alice")
    assert copy.endswith(b"\n\ninto dovecot\n"), copy


def test_tcp_listener(conf, dovecot):
    lmtp_domain(conf, dovecot, f"inet:[127.0.0.1]:{dovecot.port}")
    dovecot.start()
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", f"bob@{DOMAIN}", f"carol@{DOMAIN}",
               body=BODY)
        [sent] = qr.wait_for(r"event=delivery id=\S+ .*via=lmtp.*status=sent")
        kv = parse_kv(sent)
        assert kv["to"] == f"bob@{DOMAIN}", sent
        assert kv["where"] == "lmtp:127.0.0.1[127.0.0.1]", sent
        qr.wait_for(r"event=delivery id=\S+ .*via=lmtp.*status=bounced")
        qr.wait_for(r"event=removed", 2)
    finally:
        qr.stop()
    assert conf.queued() == []
    [copy] = dovecot.maildir("bob")
    assert copy.endswith(b"\n\ninto dovecot\n"), copy
