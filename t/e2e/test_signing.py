"""DKIM signing on the way out, end to end (queue-run(8), "DKIM signing").

Mail comes in as a user sends it: an authenticated submission on port 587
(smtplib, STARTTLS, AUTH), `sendmail -t`, a message from outside on port
25, and a DSN of queue-run's own.  queue-run runs as under systemd and
delivers into Maildirs; the tests read the delivered files and verify the
signatures with python3-dkim, the public keys coming from `dkimsign -p`
through its dnsfunc hook (no DNS).  Every wait is for a log event, with a
bound.
"""

import re
import smtplib
import ssl
import subprocess

import pytest

from conftest import (HOSTNAME, WAIT, Peer, QueueRun, Server, make_cert,
                      parse_kv, prog)
from test_dkimsign import (Signer, alg, all_fail, all_pass, crlf,
                           parse_records, signatures)

try:
    import dkim  # python3-dkim
except ImportError:  # a failure, not a skip: t/deps.sh installs it
    dkim = None

DOMAIN = "example.com"
PASSWORD = "correct horse battery staple"
SUBMITTED = (b"From: Alice <alice@example.com>\r\n"
             b"To: Bob <bob@example.com>\r\n"
             b"Subject: signed once\r\n"
             b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
             b"Message-ID: <sub1@example.com>\r\n"
             b"\r\nhello, signed\r\n.dot line\r\n")
BOTH = ["ed25519-sha256", "rsa-sha256"]


def keys(conf, domain):
    """Keys for domain (dkimsign -g) and their records {name: value}."""
    r = conf.run("dkimsign", "-g", domain)
    assert r.returncode == 0, r.stderr
    r = conf.run("dkimsign", "-p", domain)
    assert r.returncode == 0, r.stderr
    records = parse_records(r.stdout.decode())
    assert len(records) == 2, r.stdout
    return records


def add_aliases(conf, text, domain=DOMAIN):
    path = conf.dir / "domains" / domain / "aliases"
    old = path.read_text() if path.exists() else ""
    path.write_text(old + text)


def trace_stripped(data, rcpt):
    """The delivered file without Return-Path: and Delivered-To:, which
    delivery puts first and which are not signed."""
    m = re.match(rb"Return-Path: <[^\n]*>\nDelivered-To: ([^\n]*)\n", data)
    assert m, data[:300]
    assert m.group(1).decode() == rcpt
    return data[m.end():]


def verify(data, records):
    """{algorithm: passed} for each DKIM-Signature of data."""
    assert dkim is not None, "python3-dkim is not installed (t/deps.sh)"

    def dnsfunc(name, timeout=5):
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value is not None else None

    msg = crlf(data)
    out = {}
    for i, sig in enumerate(signatures(msg)):
        d = dkim.DKIM(msg, minkey=1024)
        try:
            out[alg(sig)] = bool(d.verify(idx=i, dnsfunc=dnsfunc))
        except dkim.ValidationError:
            out[alg(sig)] = False
    return out


def assert_signed_once(data, rcpt, records, domain):
    """Exactly one signature per key, for domain, right after the trace
    fields, and both verify with and without those fields."""
    body = trace_stripped(data, rcpt)
    sigs = signatures(body)
    assert sorted(alg(s) for s in sigs) == BOTH, data[:1500]
    assert body.startswith(b"".join(sigs)), data[:1500]
    assert len(re.findall(rb"^DKIM-Signature:", data, re.M)) == 2
    for s in sigs:
        assert re.search(rb"\bd=" + re.escape(domain.encode()) + rb";", s), s
    assert verify(body, records) == dict.fromkeys(BOTH, True)
    assert verify(data, records) == dict.fromkeys(BOTH, True)
    # The check can fail: a changed body fails both.
    bad = data.replace(b"hello", b"jello").replace(b"body", b"bodY")
    assert bad != data
    assert verify(bad, records) == dict.fromkeys(BOTH, False)
    return sigs


@pytest.fixture
def sub(conf):
    """smtp-in in submission mode (587), with a certificate and a user."""
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user("alice@example.com", PASSWORD)
    srv = Server(conf, mode="submission")
    yield srv
    srv.stop()
    srv.check_children()


def submit(port, rcpts, msg=SUBMITTED):
    ctx = ssl._create_unverified_context()
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
        s.ehlo("client.example")
        s.starttls(context=ctx)
        s.ehlo("client.example")
        s.login("alice@example.com", PASSWORD)
        s.sendmail("alice@example.com", rcpts, msg)


def test_authenticated_submission_arrives_signed_once_and_verifies(
        conf, sub, queue_run):
    records = keys(conf, DOMAIN)
    submit(sub.port, ["bob@example.com", "alice@example.com"])
    [msg] = conf.queued()
    assert msg.env["via"] == "submission" and msg.env["auth"]
    queue_run.delivered(2)
    [bob] = conf.maildir(DOMAIN, "bob")
    [alice] = conf.maildir(DOMAIN, "alice")
    sigs_bob = assert_signed_once(bob, "bob@example.com", records, DOMAIN)
    sigs_alice = assert_signed_once(alice, "alice@example.com", records,
                                    DOMAIN)
    # Signed once for both copies: the very same fields.
    assert sigs_bob == sigs_alice
    [ev] = queue_run.events("signed")
    assert ev["id"] == msg.id and ev["domain"] == DOMAIN
    # The queue file was never touched; the signature file went with it.
    queue_run.wait_for(r"event=removed")
    assert list((conf.spool / "state").iterdir()) == []


def test_sendmail_t_from_a_local_user_is_signed(conf, queue_run):
    records = keys(conf, DOMAIN)
    r = conf.run("sendmail", "-t", "-i", input=(
        b"From: alice@example.com\nTo: bob@example.com\n"
        b"Subject: from cron\n\nthe body of a cron job\n"))
    assert r.returncode == 0, r.stderr
    queue_run.delivered()
    [bob] = conf.maildir(DOMAIN, "bob")
    assert_signed_once(bob, "bob@example.com", records, DOMAIN)


def test_mail_from_outside_is_not_signed(conf, smtpd, queue_run):
    keys(conf, DOMAIN)
    # Even with a From: of ours: port 25 without AUTH is not us.
    with smtplib.SMTP("127.0.0.1", smtpd.port, timeout=WAIT) as s:
        s.sendmail("someone@remote.example", ["bob@example.com"],
                   b"From: alice@example.com\r\nTo: bob@example.com\r\n"
                   b"Subject: spoofed\r\n\r\nnot ours\r\n")
    queue_run.delivered()
    [bob] = conf.maildir(DOMAIN, "bob")
    assert b"DKIM-Signature" not in bob, bob[:800]
    assert queue_run.events("signed") == []


def test_submission_without_keys_is_delivered_unsigned(conf, sub, queue_run):
    submit(sub.port, ["bob@example.com"])
    queue_run.delivered()
    [bob] = conf.maildir(DOMAIN, "bob")
    assert b"DKIM-Signature" not in bob
    assert queue_run.events("signed") == []


def test_bounce_is_signed_with_the_hostname_keys(conf, queue_run):
    records = keys(conf, HOSTNAME)
    add_aliases(conf, "broken: | exit 1\n")
    r = conf.run("sendmail", "-f", "alice@example.com", "broken@example.com",
                 input=b"From: alice@example.com\nSubject: x\n\nbody\n")
    assert r.returncode == 0, r.stderr
    queue_run.wait_for(r"event=bounce ")
    queue_run.wait_for(r"event=delivery .*to=alice@example.com .*status=sent")
    [dsn] = conf.maildir(DOMAIN, "alice")
    assert b"MAILER-DAEMON@" + HOSTNAME.encode() in dsn
    body = trace_stripped(dsn, "alice@example.com")
    sigs = signatures(body)
    assert sorted(alg(s) for s in sigs) == BOTH, dsn[:1500]
    assert all(b"d=" + HOSTNAME.encode() + b";" in s for s in sigs), sigs
    assert verify(body, records) == dict.fromkeys(BOTH, True)
    # The original (alice@example.com, no key for example.com) was not
    # signed; the DSN was.
    assert [e["domain"] for e in queue_run.events("signed")] == [HOSTNAME]


def test_failed_signing_holds_the_mail_and_never_sends_it_unsigned(
        conf, tmp_path):
    keys(conf, DOMAIN)
    broken = conf.dir / "domains" / DOMAIN / "dkim" / "zz.rsa"
    broken.write_text("not a key\n")
    broken.chmod(0o640)
    qr = QueueRun(conf)
    try:
        r = conf.run("sendmail", "-t", input=(
            b"From: alice@example.com\nTo: bob@example.com\n"
            b"Subject: must wait\n\nbody\n"))
        assert r.returncode == 0, r.stderr
        [line] = qr.wait_for(r"event=delivery .*status=deferred")
        kv = parse_kv(line)
        assert kv["dsn"].startswith("4."), kv
        assert "not signed" in kv["reason"] and "zz.rsa" in kv["reason"], kv
        qr.wait_for(r"event=waiting")
        assert conf.maildir(DOMAIN, "bob") == []
        [msg] = conf.queued()
        assert not (conf.spool / "state" / (msg.id + ".dkim")).exists()
    finally:
        qr.stop()


def test_submission_to_another_domain_leaves_signed(conf, sub):
    """The way out proper: smtp-out sends the signature fields first, the
    same ones a local copy gets, and they verify at the receiver."""
    records = keys(conf, DOMAIN)
    peer = Peer()
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{peer.port} tls=none\n")
    qr = QueueRun(conf)
    try:
        submit(sub.port, ["someone@gmail.example", "bob@example.com"])
        [(mail_from, rcpts, data)] = peer.wait()
        qr.delivered(2)
    finally:
        qr.stop()
        peer.stop()
    assert rcpts == ["someone@gmail.example"]
    sigs = signatures(data)
    assert sorted(alg(s) for s in sigs) == BOTH, data[:1500]
    assert data.startswith(b"".join(sigs)), data[:1500]
    assert verify(data, records) == dict.fromkeys(BOTH, True)
    [bob] = conf.maildir(DOMAIN, "bob")
    # The same fields as the local copy (LF there, CR LF on the wire).
    assert signatures(trace_stripped(bob, "bob@example.com")) == [
        x.replace(b"\r\n", b"\n") for x in sigs]


def test_in_process_signature_is_the_bytes_of_dkimsign_h(conf, tmp_path):
    """queue-run signs in its own process with kept keys: its fields are
    exactly those `dkimsign -h` writes for the same queued message at the
    same time, and all three verifiers pass them.  The message waits in
    the queue (its next hop does not answer), its signature file beside
    it."""
    signer = Signer(conf, tmp_path)
    qr = QueueRun(conf)
    try:
        for n, text in enumerate([
                b"From: Alice <alice@example.com>\nTo: x@remote.example\n"
                b"Subject: kept keys\nMIME-Version: 1.0\n\n"
                b"line  with  spaces \t\n\n\n",
                b"From: alice@example.com\nTo: y@remote.example\n"
                b"Subject: second,\n folded\nCc: a@remote.example,\n"
                b"\tb@remote.example\n\n" + b"body line\n" * 2000]):
            r = conf.run("sendmail", "-t", "-i", input=text)
            assert r.returncode == 0, r.stderr
            qr.wait_for(r"event=signed ", count=n + 1)
            qr.wait_for(r"event=delivery .*status=deferred", count=n + 1)
        assert qr.events("signed") and all(
            e["domain"] == DOMAIN for e in qr.events("signed"))
        for msg in conf.queued():
            fields = (conf.spool / "state" / (msg.id + ".dkim")).read_bytes()
            t = re.search(rb"\bt=(\d+);", fields).group(1).decode()
            body = tmp_path / ("body-" + msg.id)
            body.write_bytes(msg.body)
            with open(body, "rb") as f:
                r = subprocess.run([prog("dkimsign"), "-h", "-d", DOMAIN,
                                    "-t", t], stdin=f, env=conf.env(),
                                   capture_output=True, timeout=60)
            assert r.returncode == 0, r.stderr
            assert r.stdout == fields
            assert sorted(alg(x) for x in signatures(fields)) == BOTH
            all_pass(signer.verify(fields + msg.body))
            all_fail(signer.verify(fields + msg.body.replace(b"ine", b"ime")))
    finally:
        qr.stop()
