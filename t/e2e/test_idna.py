"""International addresses (RFC 6530-6533, IDNA 2008): UTF-8 local parts
and domains through smtp-in, queue-run and smtp-out.

A local domain is known in either spelling, its U-labels or its A-labels,
whichever its directory under domains/ has, and its mail goes to the one
Maildir named as that directory.  A message that needs SMTPUTF8 goes only
to a host that offers it, else it bounces with 5.6.7; one whose only UTF-8
is in its envelope domains leaves with them as A-labels."""

import email
import email.policy
import re

import pytest

from conftest import Client, Peer, QueueRun, inject, parse_kv

UDOM = "b\u00fccher.example"           # bücher.example
ADOM = "xn--bcher-kva.example"
USER = "j\u00f6rg"                     # jörg
REMOTE_U = "d\u00f6main.example"       # dömain.example
REMOTE_A = "xn--dmain-jua.example"


def session(srv, sender, rcpts, body, utf8=True):
    """One SMTP transaction; the replies to each RCPT, and to DATA when
    some RCPT was taken."""
    c = Client(srv.connect())
    try:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        opt = " SMTPUTF8 BODY=8BITMIME" if utf8 else ""
        assert c.cmd(f"MAIL FROM:<{sender}>{opt}")[0] == 250
        replies = [c.cmd(f"RCPT TO:<{r}>") for r in rcpts]
        data = None
        if any(code == 250 for code, _ in replies):
            assert c.cmd("DATA")[0] == 354
            c.send(body + b".\r\n")
            data = c.reply()
        assert c.cmd("QUIT")[0] == 221
        return replies, data
    finally:
        c.close()


BODY = ("From: \u00f1and\u00fa <\u00f1and\u00fa@remote.example>\r\n"
        f"To: {USER}@{UDOM}\r\n"
        "Subject: gr\u00fc\u00dfe\r\n\r\nK\u00e4se\r\n").encode()


def test_utf8_addresses_to_a_maildir_at_a_u_label_domain(conf, smtpd,
                                                         queue_run):
    """The domain configured in UTF-8 (domains/bücher.example) takes RCPT
    in its U-labels and in its A-labels, in any case of ASCII; both
    messages reach the one Maildir of the UTF-8 user, byte for byte."""
    conf.domain(UDOM, users=[USER])
    sender = "\u00f1and\u00fa@remote.example"
    for rcpt in (f"{USER}@{UDOM}", f"J\u00f6RG@XN--BCHER-KVA.Example"):
        replies, data = session(smtpd, sender, [rcpt], BODY)
        assert replies[0][0] == 250, replies
        assert data[0] == 250, data
    queue_run.delivered(2)
    got = conf.maildir(UDOM, USER)
    assert len(got) == 2
    for m in got:
        assert m.endswith(BODY.replace(b"\r\n", b"\n"))
    assert not (conf.mail / ADOM).exists()


def test_u_label_rcpt_at_a_domain_configured_as_a_labels(conf, smtpd,
                                                         queue_run):
    conf.domain("xn--mnchen-3ya.example", users=["anna"])
    replies, data = session(smtpd, "bob@remote.example",
                            ["anna@m\u00fcnchen.example"],
                            b"Subject: hi\r\n\r\nhi\r\n")
    assert replies[0][0] == 250 and data[0] == 250, (replies, data)
    queue_run.delivered(1)
    assert len(conf.maildir("xn--mnchen-3ya.example", "anna")) == 1


def test_unknown_user_and_foreign_u_label_domain_are_refused(conf, smtpd):
    conf.domain(UDOM, users=[USER])
    replies, _ = session(smtpd, "bob@remote.example",
                         [f"nobody@{UDOM}", f"nobody@{ADOM}",
                          f"{USER}@{REMOTE_U}", "x@xn--bcher-kv.example"],
                         b"")
    assert [code for code, _ in replies] == [550, 550, 554, 554], replies
    assert replies[0][1][0].startswith("5.1.1"), replies


def test_a_label_rcpt_needs_no_smtputf8(conf, smtpd, queue_run):
    """An A-label is ASCII: a client without SMTPUTF8 may use it for a
    domain that is configured in UTF-8."""
    conf.domain(UDOM, users=["anna"])
    replies, data = session(smtpd, "bob@remote.example", [f"anna@{ADOM}"],
                            b"Subject: hi\r\n\r\nhi\r\n", utf8=False)
    assert replies[0][0] == 250 and data[0] == 250, (replies, data)
    queue_run.delivered(1)
    assert len(conf.maildir(UDOM, "anna")) == 1


@pytest.fixture
def utf8_peer(conf):
    p = Peer(smtputf8=True)
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{p.port} tls=none\n")
    yield p
    p.stop()


@pytest.fixture
def ascii_peer(conf):
    p = Peer(smtputf8=False)
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{p.port} tls=none\n")
    yield p
    p.stop()


def test_utf8_envelope_goes_to_a_host_that_offers_smtputf8(conf, utf8_peer,
                                                           queue_run):
    conf.domain(UDOM, users=[USER])
    sender = f"{USER}@{UDOM}"
    rcpt = f"\u00fcnsal@{REMOTE_U}"
    r = conf.run("queue-inject", "-U", "-8", "-f", sender, "--", rcpt,
                 input=BODY.replace(b"\r\n", b"\n"))
    assert r.returncode == 0, r.stderr
    [(mail_from, rcpts, data)] = utf8_peer.wait()
    assert mail_from == sender
    assert rcpts == [rcpt]
    assert "SMTPUTF8" in [o.upper() for o in utf8_peer.options[0]]
    assert "Subject: gr\u00fc\u00dfe".encode() in data
    [line] = queue_run.wait_for(r"event=delivery id=.*via=remote "
                                r".*status=sent")
    assert parse_kv(line)["rcpt"] == rcpt


def test_utf8_message_to_a_host_without_smtputf8_bounces_567(
        conf, ascii_peer, queue_run):
    """RFC 6531 §3.2: the message is not sent; its sender gets a DSN
    that says 5.6.7 and why."""
    rcpt = f"\u00fcnsal@{REMOTE_U}"
    r = conf.run("queue-inject", "-U", "-8", "-f", "alice@example.com",
                 "--", rcpt, input=BODY.replace(b"\r\n", b"\n"))
    assert r.returncode == 0, r.stderr
    [line] = queue_run.wait_for(r"event=delivery .*status=bounced")
    assert parse_kv(line)["dsn"] == "5.6.7"
    queue_run.delivered(1)          # the DSN, to alice's Maildir
    [dsn] = conf.maildir("example.com", "alice")
    msg = email.message_from_bytes(dsn, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    text = dsn.decode("utf-8", "replace")
    assert "Status: 5.6.7" in text
    assert "needs SMTPUTF8, which the host does not offer" in text
    assert ascii_peer.got == []


def test_only_utf8_domain_leaves_as_a_labels(conf, ascii_peer, queue_run):
    """An ASCII message forwarded to a U-label domain (an alias) needs no
    SMTPUTF8: the envelope domain leaves as its A-labels, the same
    domain (RFC 5890), and the message is delivered."""
    conf.domain("example.com", users=["alice", "bob"],
                aliases=f"fwd: bob@{REMOTE_U}\n")
    inject(conf, "alice@example.com", "fwd@example.com")
    [(mail_from, rcpts, _)] = ascii_peer.wait()
    assert mail_from == "alice@example.com"
    assert rcpts == [f"bob@{REMOTE_A}"]
    assert ascii_peer.options[0] == [] or "SMTPUTF8" not in [
        o.upper() for o in ascii_peer.options[0]]


def test_dkim_of_a_u_label_domain_signs_d_as_its_a_label(conf, tmp_path):
    """dkimsign -g for bücher.example prints records under the A-label;
    a message From: that domain in UTF-8 is signed d=xn--bcher-kva.example
    and python3-dkim verifies it (RFC 8616)."""
    dkim = pytest.importorskip("dkim")
    from test_dkimsign import parse_records
    conf.domain(UDOM, users=[USER])
    r = conf.run("dkimsign", "-g", UDOM)
    assert r.returncode == 0, r.stderr
    records = parse_records(r.stdout.decode())
    assert len(records) == 2 and all(
        n.endswith(f"._domainkey.{ADOM}") for n in records), records
    msg = (f"From: {USER} <{USER}@{UDOM}>\r\nTo: x@{REMOTE_U}\r\n"
           "Subject: gr\u00fc\u00dfe\r\n"
           "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nK\u00e4se\r\n"
           ).encode()
    r = conf.run("dkimsign", input=msg)
    assert r.returncode == 0, r.stderr
    signed = r.stdout
    sigs = re.findall(rb"^DKIM-Signature:.*?\r?\n(?:[ \t].*?\r?\n)*",
                      signed, re.M)
    assert len(sigs) == 2
    assert all(re.search(rb"\bd=" + ADOM.encode() + rb";", s)
               for s in sigs), sigs

    def dnsfunc(name, timeout=5):
        return records[name.decode().rstrip(".")].encode()

    for i in range(2):
        assert dkim.DKIM(signed, minkey=1024).verify(idx=i, dnsfunc=dnsfunc)


def test_aliases_and_users_files_in_utf8(conf):
    """aliases(5) names and targets in UTF-8, a name in the other
    spelling of the file's domain, and mailuser adding a UTF-8 user who
    may then log in at either spelling."""
    conf.domain(UDOM, users=[USER],
                aliases=f"z\u00f6e: {USER}, \u00fcnsal@{REMOTE_U}\n"
                        f"info@{ADOM}: {USER}\n")
    r = conf.run("aliases", "-c", UDOM)
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = conf.run("aliases", f"z\u00f6e@{ADOM}", f"info@{UDOM}")
    assert r.returncode == 0, r.stderr
    maildir = conf.mail / UDOM / USER
    assert r.stdout.decode().splitlines() == [
        f"z\u00f6e@{ADOM}: mailbox {USER}@{UDOM} ({maildir}/)",
        f"z\u00f6e@{ADOM}: remote \u00fcnsal@{REMOTE_U}",
        f"info@{UDOM}: mailbox {USER}@{UDOM} ({maildir}/)"]
    conf.add_user(f"\u00e9mile@{ADOM}", "a good password")
    users = (conf.dir / "domains" / UDOM / "users").read_text()
    assert "\n\u00e9mile:$argon2id$" in users
    r = conf.run("mailuser", "check", f"\u00e9mile@{UDOM}",
                 input=b"a good password\n")
    assert r.returncode == 0, r.stderr


def test_greeting_and_ehlo_name_a_u_label_hostname_by_its_a_labels(
        conf, smtpd):
    conf.write(hostname="mx.B\u00fccher.example")
    c = Client(smtpd.connect())
    try:
        code, text = c.reply()
        assert code == 220 and text[0].split()[0] == f"mx.{ADOM}", text
        code, text = c.cmd("EHLO client.example")
        assert code == 250 and text[0].split()[0] == f"mx.{ADOM}", text
        # the hostname is a local domain in its U-labels too
        assert c.cmd(f"MAIL FROM:<a@remote.example> SMTPUTF8")[0] == 250
        code, text = c.cmd(f"RCPT TO:<postmaster@mx.{UDOM}>")
        assert code == 250, text
    finally:
        c.close()


def test_config_warns_of_a_disallowed_name_and_of_two_spellings(conf):
    """posthorn-config checks the domain directories with libidn2: a
    snowman is not IDNA 2008, and one domain must have one directory."""
    conf.domain(UDOM)
    conf.domain(ADOM)
    conf.domain("\u2603.example")
    r = conf.run("posthorn-config")
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert ("domains/\u2603.example: not a valid international domain "
            "name (IDNA 2008): string contains a disallowed character"
            ) in err, err
    assert "are one domain in two spellings: keep one" in err, err
    assert "example.com" not in err


def test_submission_at_a_u_label_domain_leaves_signed_d_a_label(
        conf, utf8_peer, queue_run):
    """A user of bücher.example logs in by the ASCII spelling of her
    address, sends with SMTPUTF8 as the U-label one; the message leaves
    for a host that offers SMTPUTF8 with its envelope as written, signed
    d=xn--bcher-kva.example, and the signature verifies."""
    import smtplib
    import ssl
    from conftest import HOSTNAME, WAIT, Server, make_cert
    from test_signing import keys, verify
    conf.domain(UDOM)
    records = keys(conf, UDOM)
    assert all(n.endswith(f"._domainkey.{ADOM}") for n in records), records
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user(f"anna@{ADOM}", "a good password")
    sub = Server(conf, mode="submission")
    try:
        sender = f"anna@{UDOM}"
        rcpt = f"\u00fcnsal@{REMOTE_U}"
        msg = (f"From: Anna <{sender}>\r\nTo: <{rcpt}>\r\n"
               "Subject: gr\u00fc\u00dfe\r\n"
               "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
               "Message-ID: <idna1@xn--bcher-kva.example>\r\n"
               "\r\nhello, signed\r\n").encode()
        with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
            s.ehlo("client.example")
            s.starttls(context=ssl._create_unverified_context())
            s.ehlo("client.example")
            s.login(f"anna@{ADOM}", "a good password")
            s.sendmail(sender, [rcpt], msg,
                       mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        [(mail_from, rcpts, data)] = utf8_peer.wait()
    finally:
        sub.stop()
        sub.check_children()
    assert mail_from == sender and rcpts == [rcpt]
    sigs = re.findall(rb"^DKIM-Signature:.*?\r?\n(?:[ \t].*?\r?\n)*",
                      data, re.M)
    assert len(sigs) == 2, data[:1500]
    assert all(re.search(rb"\bd=" + ADOM.encode() + rb";", s)
               for s in sigs), sigs
    assert verify(data, records) == {"ed25519-sha256": True,
                                     "rsa-sha256": True}


def test_smtputf8_message_with_only_a_utf8_domain_leaves_as_a_labels(
        conf, ascii_peer, queue_run):
    """Sent with SMTPUTF8, but nothing in it needs SMTPUTF8 once the
    envelope domain is its A-labels (ASCII local parts, an ASCII header,
    a UTF-8 body is 8BITMIME's): delivered to a host without SMTPUTF8
    rather than bounced."""
    body = "Subject: plain\n\nK\u00e4se\n".encode()
    r = conf.run("queue-inject", "-U", "-8", "-f", "alice@example.com",
                 "--", f"bob@{REMOTE_U}", input=body)
    assert r.returncode == 0, r.stderr
    [(mail_from, rcpts, data)] = ascii_peer.wait()
    assert mail_from == "alice@example.com"
    assert rcpts == [f"bob@{REMOTE_A}"]
    opts = [o.upper() for o in ascii_peer.options[0]]
    assert "SMTPUTF8" not in opts and "BODY=8BITMIME" in opts, opts
    assert data.endswith("K\u00e4se\r\n".encode())


def test_domain_that_maps_to_delimiters_is_refused_not_sent(
        conf, ascii_peer, queue_run):
    """UTS #46 maps U+FF1E to '>', U+3000 to ' ', U+FF1D to '=': such a
    U-label domain (a sender's, bounced to) is not a host name once
    mapped, and must not reach the RCPT line of a host as
    "<bob@a> notify=success <b.example>": it fails 5.1.2, unsent."""
    rcpt = ("bob@a\uff1e\u3000notify\uff1dsuccess\u3000\uff1cb."
            f"{REMOTE_U}")
    r = conf.run("queue-inject", "-U", "-f", "alice@example.com", "--",
                 rcpt, input=b"Subject: plain\n\nhi\n")
    assert r.returncode == 0, r.stderr
    [line] = queue_run.wait_for(r"event=delivery .*status=bounced")
    kv = parse_kv(line)
    assert kv["dsn"] == "5.1.2", line
    assert "letters, digits, hyphens and dots" in line, line
    assert ascii_peer.got == []
