"""Who may send, signed, as whom (smtp-in(8) "Submission policy",
queue-run(8) "DKIM signing", lib/sendas.h), end to end.

- An alias confers send-as only when its one target is the user: alice,
  who gets a copy of bob's mail (`bob: bob, alice`), cannot send as bob,
  and the catch-all that leads a domain to her gives her none of it.
- Sender: and Resent-From: are checked as From: is.
"""

import smtplib
import ssl

import pytest

from conftest import HOSTNAME, WAIT, Server, make_cert
from test_signing import PASSWORD, add_aliases


@pytest.fixture
def sub(conf):
    """smtp-in in submission mode, alice with a password."""
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user("alice@example.com", PASSWORD)
    srv = Server(conf, mode="submission")
    yield srv
    srv.stop()
    srv.check_children()


def session(port):
    ctx = ssl._create_unverified_context()
    s = smtplib.SMTP("127.0.0.1", port, timeout=WAIT)
    s.ehlo("client.example")
    s.starttls(context=ctx)
    s.ehlo("client.example")
    s.login("alice@example.com", PASSWORD)
    return s


def message(sender, extra=b""):
    return (b"From: " + sender.encode() + b"\r\n" + extra +
            b"To: someone@example.com\r\nSubject: as whom\r\n"
            b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
            b"\r\nhello, as whom\r\n")


def refused(port, envelope, header):
    """The reply code and text that MAIL or the end of DATA gave."""
    with session(port) as s:
        try:
            s.sendmail(envelope, ["bob@example.com"], message(header))
        except smtplib.SMTPSenderRefused as e:
            return e.smtp_code, e.smtp_error.decode()
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()
    return 250, ""


# --- 15.4: send-as through aliases -----------------------------------------

def test_an_alias_another_user_receives_gives_no_send_as(conf, sub):
    add_aliases(conf, "bob: bob, alice\nsales: alice\n")
    code, text = refused(sub.port, "bob@example.com", "alice@example.com")
    assert code == 550 and "bob@example.com" in text, text
    code, text = refused(sub.port, "alice@example.com", "Bob <bob@example.com>")
    assert code == 550 and "From: <bob@example.com>" in text, text
    assert conf.queued() == []
    # sales: alice, whose one target she is, is hers.
    assert refused(sub.port, "sales@example.com", "sales@example.com") == \
        (250, "")
    assert len(conf.queued()) == 1


def test_the_catch_all_and_postmaster_give_no_send_as(conf, sub):
    # conftest: catchall.example has "*: alice@example.com".
    add_aliases(conf, "postmaster: alice\n")
    for addr in ("billing@catchall.example", "postmaster@catchall.example",
                 "postmaster@example.com"):
        code, text = refused(sub.port, addr, "alice@example.com")
        assert code == 550 and addr in text, (addr, text)
        code, text = refused(sub.port, "alice@example.com", addr)
        assert code == 550 and addr in text, (addr, text)
    assert conf.queued() == []
    # The senders file may give it to her, explicitly.
    (conf.dir / "senders").write_text(
        "alice@example.com: billing@catchall.example\n")
    assert refused(sub.port, "billing@catchall.example",
                   "billing@catchall.example") == (250, "")


def test_sender_and_resent_from_are_checked_like_from(conf, sub):
    for field in (b"Sender: ", b"Resent-From: "):
        with session(sub.port) as s:
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail("alice@example.com", ["bob@example.com"],
                           message("alice@example.com",
                                   field + b"ceo@example.com\r\n"))
        assert e.value.smtp_code == 550
        assert b"<ceo@example.com>" in e.value.smtp_error
    assert conf.queued() == []

