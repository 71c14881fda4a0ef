"""Who may send, signed, as whom (smtp-in(8) "Submission policy",
queue-run(8) "DKIM signing", lib/sendas.h), end to end.

- An alias confers send-as only when its one target is the user: alice,
  who gets a copy of bob's mail (`bob: bob, alice`), cannot send as bob,
  and the catch-all that leads a domain to her gives her none of it.
- A local user other than root and the posthorn user has mail signed as
  a hosted address only when DIR/senders gives it that address: mail that
  uid 65534 injects with `From: ceo@` leaves unsigned, and says why.
- A domain with `any_sender = yes` has what it let through signed with
  its own key; a submission that leaves unsigned says why in the log.

Signatures are checked with python3-dkim, as test_signing.py does.
"""

import smtplib
import ssl

import pytest

from conftest import HOSTNAME, WAIT, QueueRun, Server, make_cert
from test_dkimsign import alg, signatures
from test_signing import (BOTH, DOMAIN, PASSWORD, add_aliases,
                          assert_signed_once, keys, trace_stripped, verify)

NOBODY = 65534


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


# --- 12.4: any_sender mail is signed, unsigned mail says why ---------------

def test_any_sender_mail_is_signed_with_the_domains_key(conf, sub, queue_run):
    records = keys(conf, DOMAIN)
    keys(conf, "catchall.example")
    (conf.dir / "domains" / DOMAIN / "domain.conf").write_text(
        "any_sender = yes\n")
    with session(sub.port) as s:
        s.sendmail("ceo@example.com", ["bob@example.com"],
                   message("CEO <ceo@example.com>"))
        s.sendmail("news@catchall.example", ["bob@example.com"],
                   message("news@catchall.example"))
    # queue-run signs in its own process now, quickly enough to have
    # delivered the first message before the second is queued: the
    # queue is not looked at, only what queue-run did.
    queue_run.delivered(2)
    by_from = {}
    for data in conf.maildir(DOMAIN, "bob"):
        by_from[b"ceo@" in data.split(b"\n\n")[0]] = data
    # ceo@example.com: the domain's own policy let it through: signed.
    assert_signed_once(by_from[True], "bob@example.com", records, DOMAIN)
    # catchall.example's key is not example.com's policy to lend.
    assert b"DKIM-Signature" not in by_from[False], by_from[False][:800]
    [signed] = queue_run.events("signed")
    assert signed["domain"] == DOMAIN
    [unsigned] = queue_run.events("unsigned")
    assert signed["id"] != unsigned["id"]
    assert "news@catchall.example" in unsigned["reason"], unsigned
    assert "any_sender" in unsigned["reason"], unsigned


def test_a_submission_without_a_key_says_why_it_is_unsigned(
        conf, sub, queue_run):
    with session(sub.port) as s:
        s.sendmail("alice@example.com", ["bob@example.com"],
                   message("alice@example.com"))
    [msg] = conf.queued()
    queue_run.delivered()
    [ev] = queue_run.events("unsigned")
    assert ev["id"] == msg.id
    assert ev["reason"] == "no DKIM key for example.com", ev


# --- 15.3: local injection is signed only for whom it may be ---------------

def sendmail_as(conf, uid, sender, header):
    """sendmail run by uid, as cron or a script of that user runs it."""
    r = conf.run("sendmail", "-f", sender, "bob@example.com", user=uid,
                 input=b"From: " + header.encode() +
                 b"\nTo: bob@example.com\nSubject: wire the money"
                 b"\n\nnow, please\n")
    assert r.returncode == 0, r.stderr
    [msg] = [m for m in conf.queued() if m.env.get("uid") == str(uid)]
    return msg


def test_sendmail_as_another_user_with_a_hosted_from_leaves_unsigned(
        open_conf):
    conf = open_conf
    records = keys(conf, DOMAIN)
    msg = sendmail_as(conf, NOBODY, "ceo@example.com",
                      "CEO <ceo@example.com>")
    qr = QueueRun(conf)
    try:
        qr.delivered()
    finally:
        qr.stop()
    [bob] = conf.maildir(DOMAIN, "bob")
    # Today's main signed it, and python3-dkim said pass.
    assert verify(trace_stripped(bob, "bob@example.com"), records) == {}
    assert b"DKIM-Signature" not in bob, bob[:800]
    assert qr.events("signed") == []
    [ev] = qr.events("unsigned")
    assert ev["id"] == msg.id and f"uid {NOBODY}" in ev["reason"], ev
    assert "ceo@example.com" in ev["reason"], ev


def test_a_local_user_that_senders_names_is_signed(open_conf):
    conf = open_conf
    records = keys(conf, DOMAIN)
    (conf.dir / "senders").write_text(
        "# the reports of the nobody user\nnobody: reports@example.com\n")
    sendmail_as(conf, NOBODY, "reports@example.com", "reports@example.com")
    qr = QueueRun(conf)
    try:
        qr.delivered()
    finally:
        qr.stop()
    [bob] = conf.maildir(DOMAIN, "bob")
    body = trace_stripped(bob, "bob@example.com")
    assert sorted(alg(s) for s in signatures(body)) == BOTH, bob[:1500]
    assert verify(body, records) == dict.fromkeys(BOTH, True)
    assert qr.events("unsigned") == []
