"""Remote delivery end to end: smtp-out, and queue-run handing it mail,
against real peers in a private network namespace (netns.py).

Inside the namespace dnsmasq serves the test zones of netns.py and the
peers listen on port 25 of their own addresses: a private Postfix,
python3-aiosmtpd (plain, STARTTLS with a CA made for the run, AUTH on a
submission port) and Postfix's smtp-sink forced to answer 4xx or 5xx.
smtp-out is run by hand as a user would (`smtp-out -C DIR -f SENDER RCPT
< message`) and its output lines are checked against smtp-out(8); then
the same paths through queue-run: a message injected into the queue, the
delivery log line, what the peer got, and the DSN in the sender's
Maildir.  Every wait is bounded and waits for an event.
"""

import email
import email.policy
import re

import pytest

from conftest import HOSTNAME, parse_kv
from netns import (AIO, AIO6, HARD, OURS, PUBLIC4, PUBLIC6, SMARTHOST_PASS,
                   SMARTHOST_USER, SOFT, SRC4, SRC6, SUBMIT, TLS, POSTFIX,
                   wait_messages)

# queue-run's own delivery lines: smtp-out logs "event=delivery" too, on
# the same stderr, but without the queue id.
QR_DELIVERY = r"event=delivery id=\S+ "
EX_OK, EX_FAILED, EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 0, 1, 64, 75, 78
HARD_TEXT = "550 5.1.1 <nobody@hard.test>: no such user here (sink)"
SOFT_TEXT = "451 4.3.2 try again later (sink)"

MESSAGE = (b"From: Alice <alice@example.com>\n"
           b"To: someone@remote\n"
           b"Subject: over the wire\n"
           b"Message-ID: <wire@example.com>\n"
           b"\n"
           b"first line\n"
           b".a line that starts with a dot\n"
           b".\n"
           b"..two dots\n"
           b"last line\n")


def crlf(data):
    """What must reach the wire (after the peer undoes dot-stuffing):
    every LF, and every lone CR, as CRLF."""
    return re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", data)


def bare_cr_or_lf(data):
    return re.search(rb"\r(?!\n)|(?<!\r)\n", data) is not None


def routes(conf, text):
    (conf.dir / "routes").write_text(text)


def events(r, event):
    """The key=value pairs of smtp-out's log lines for event."""
    return [parse_kv(l) for l in r.stderr.splitlines()
            if f"event={event}" in l]


@pytest.fixture
def conf(conf):
    """conftest's configuration, less its routes file that sends every
    remote domain to a dead port: in the namespace, DNS decides."""
    routes(conf, "# empty: MX lookups in the test namespace\n")
    return conf


@pytest.fixture
def aio(ns, tmp_path):
    """aiosmtpd on 127.0.0.3:25 and [::1]:25: the MX of v4.test,
    v6.test, dual.test, implicit.test, up.twomx.test."""
    return ns.aiosmtpd([f"{AIO}:25", f"[{AIO6}]:25"], tmp_path / "aio",
                       hostname="mx.v4.test")


@pytest.fixture
def tls_peer(ns, tmp_path, testca):
    """aiosmtpd with STARTTLS on 127.0.0.6:25, its certificate for
    mx.tls.test from the test CA; mx.badname.test points here too."""
    return ns.aiosmtpd([f"{TLS}:25"], tmp_path / "tls", hostname="mx.tls.test",
                       tls=testca)


# --- smtp-out by hand: addresses, MX, the output lines ----------------------

def test_ipv4_delivery_to_postfix(ns, conf):
    pf = ns.postfix(["pf.test"])
    r = ns.smtp_out(conf, "alice@example.com", "bob@pf.test", message=MESSAGE)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert (line.status, line.rcpt) == ("sent", "bob@pf.test"), r
    assert line.dsn.startswith("2."), r
    assert line.host == f"mx.pf.test[{POSTFIX}]", r
    assert line.tls == "none", r
    assert "queued as" in line.text, r
    [data] = wait_messages(pf)
    assert data.startswith(b"Return-Path: <alice@example.com>\n"), data
    # Postfix stores LF; what it got is the message, byte for byte.
    assert data.endswith(MESSAGE.split(b"\n\n", 1)[1]), data
    assert b"\nSubject: over the wire\n" in data


def test_ipv4_wire_is_crlf_and_dot_stuffed(ns, conf, aio):
    msg = MESSAGE + b"a lone\rcarriage return\n.\rdot then CR\nend\n"
    r = ns.smtp_out(conf, "alice@example.com", "bob@v4.test", message=msg)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent" and line.host == f"mx.v4.test[{AIO}]", r
    [got] = aio.messages()
    assert got.mail_from == "alice@example.com"
    assert got.rcpts == ["bob@v4.test"]
    assert got.meta["helo"] == HOSTNAME
    assert got.meta["esmtp"] is True
    assert not bare_cr_or_lf(got.data), got.data
    assert got.data == crlf(msg), got.data


def test_authres_goes_first_folded(ns, conf, aio):
    """-A (queue-run passes the envelope's authres): an
    Authentication-Results field above the message, folded into lines
    of at most 78 characters, each method on a line of its own."""
    ar = ("mx.example.net; spf=pass smtp.mailfrom=alice@example.com; "
          "dkim=pass header.d=example.com header.i=@example.com "
          "header.s=sel header.a=rsa-sha256 header.b=abcdefgh; "
          "dmarc=pass (p=reject dis=none) header.from=example.com")
    r = ns.smtp_out(conf, "alice@example.com", "bob@v4.test",
                    message=MESSAGE, flags=("-A", ar))
    assert r.code == EX_OK, r
    [got] = aio.messages()
    head = got.data.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("Authentication-Results: mx.example.net;\r\n\t"
                           "spf=pass"), head
    field = head.split("\r\nFrom:", 1)[0]
    assert all(len(l) <= 78 for l in field.split("\r\n")), field
    assert " ".join(field[len("Authentication-Results:"):].split()) == ar
    assert got.data.endswith(crlf(MESSAGE.split(b"\n\n", 1)[1]))


def test_ipv6_only_mx(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "carol@v6.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent" and line.addr == AIO6, r
    assert line.hostname == "mx.v6.test", r
    [got] = aio.messages()
    assert got.peer[0] == AIO6 or ":" in got.peer[0], got.meta


def test_dual_stack_mx_is_tried_over_ipv6_first(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "dave@dual.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].addr == AIO6, r
    [got] = aio.messages()
    assert ":" in got.peer[0], got.meta


def test_source_addresses_bind4_and_bind6(ns, conf, aio):
    conf.write(bind4=SRC4, bind6=SRC6)
    r4 = ns.smtp_out(conf, "alice@example.com", "x@v4.test", message=MESSAGE)
    r6 = ns.smtp_out(conf, "alice@example.com", "y@v6.test", message=MESSAGE)
    assert r4.code == EX_OK, r4
    assert r6.code == EX_OK, r6
    by_rcpt = {m.rcpts[0]: m.peer[0] for m in aio.messages()}
    assert by_rcpt == {"x@v4.test": SRC4, "y@v6.test": SRC6}


def test_domain_without_mx_uses_its_address(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "e@implicit.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].host == f"implicit.test[{AIO}]", r
    assert len(aio.messages()) == 1


def test_first_mx_down_second_takes_it(ns, conf, aio):
    # down.twomx.test (MX 10) is 127.0.0.5, where nothing listens.
    r = ns.smtp_out(conf, "alice@example.com", "f@twomx.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent", r
    assert line.host == f"up.twomx.test[{AIO}]", r
    assert [m.rcpts for m in aio.messages()] == [["f@twomx.test"]]


def test_mx_that_is_ourselves_is_skipped(ns, conf, aio):
    # self.test: MX 10 mx.example.net (our hostname), MX 20 mx.v4.test.
    # Were ours not skipped, this sink would fail the recipient for good.
    ns.smtp_sink(OURS, hard=["RCPT"], extra=["-B", HARD_TEXT])
    r = ns.smtp_out(conf, "alice@example.com", "g@self.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].host == f"mx.v4.test[{AIO}]", r


@pytest.fixture
def ours(ns, tmp_path):
    """aiosmtpd on this machine's own addresses (netns.py's ours0), port
    25: what smtp-out would reach if it took one of them for a next hop.
    It keeps whatever it is given, so a loop shows as a message here."""
    return ns.aiosmtpd([f"{PUBLIC4}:25", f"[{PUBLIC6}]:25"],
                       tmp_path / "ours", hostname="loop.test")


def assert_loop(r, domain, *words):
    """smtp-out's verdict on a domain whose next hop is this machine:
    failed for good, 5.4.6, before any connection, with the reason."""
    assert r.code == EX_FAILED, r
    [line] = r.lines
    assert line.status == "failed" and line.dsn == "5.4.6", r
    assert line.host == "-", r
    assert line.text.startswith(f"mail for {domain} loops back to myself: "), r
    for w in words:
        assert w in line.text, r
    assert events(r, "connect") == [], r
    assert [e["reason"] for e in events(r, "skip")] == ["ourselves"] * len(
        events(r, "skip")) != [], r


def test_implicit_mx_that_is_this_machine_fails_5_4_6(ns, conf, ours):
    """The tutorial's webmaster@www.example.org: an A and AAAA record on
    this server, no MX, a name that is not local.  The implicit MX is a
    next hop like any other: failed at once, not sent to ourselves."""
    r = ns.smtp_out(conf, "alice@example.com", "webmaster@www.selfaddr.test",
                    message=MESSAGE)
    assert_loop(r, "www.selfaddr.test", "has no MX record",
                f"www.selfaddr.test has this machine's address {PUBLIC6}")
    assert ours.messages() == []


def test_implicit_mx_ipv6_only_that_is_this_machine_fails_5_4_6(ns, conf,
                                                                ours):
    r = ns.smtp_out(conf, "alice@example.com", "w@v6only.selfaddr.test",
                    message=MESSAGE)
    assert_loop(r, "v6only.selfaddr.test", PUBLIC6)
    assert ours.messages() == []


def test_mx_whose_address_is_ours_fails_5_4_6(ns, conf, ours):
    """An MX host named otherwise than `hostname` whose address is this
    machine's: 5.4.6, as smtp-out(8) says, not a 4.4.0 deferral."""
    r = ns.smtp_out(conf, "alice@example.com", "m@mxaddr.test",
                    message=MESSAGE)
    assert_loop(r, "mxaddr.test",
                f"its MX host mx.selfaddr.test has this machine's address "
                f"{PUBLIC4}")
    assert ours.messages() == []


def test_host_with_one_address_of_ours_uses_the_other(ns, conf, aio, ours):
    r = ns.smtp_out(conf, "alice@example.com", "x@mixed.selfaddr.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].host == f"mixed.selfaddr.test[{AIO}]", r
    [skip] = events(r, "skip")
    assert skip["addr"] == PUBLIC6, r
    assert ours.messages() == []


def test_route_to_this_machine_fails_5_4_6_but_not_to_another_port(
        ns, conf, ours):
    """A route's host on one of posthorn's own ports (25, 465, 587) of
    this machine comes back to us; another port is a filter's."""
    routes(conf, f"www.selfaddr.test [{PUBLIC6}]:587 tls=none\n"
                 f"mxaddr.test {HOSTNAME} tls=none\n"
                 f"v6only.selfaddr.test {PUBLIC4}:10025 tls=none\n")
    r = ns.smtp_out(conf, "alice@example.com", "a@www.selfaddr.test",
                    message=MESSAGE)
    assert_loop(r, "www.selfaddr.test", "its route's host",
                f"has this machine's address {PUBLIC6}")
    r = ns.smtp_out(conf, "alice@example.com", "b@mxaddr.test",
                    message=MESSAGE)
    assert_loop(r, "mxaddr.test", f"its route's host {HOSTNAME} is this "
                "host's name")
    # Nothing listens on 10025: tried, and deferred like any relay down.
    r = ns.smtp_out(conf, "alice@example.com", "c@v6only.selfaddr.test",
                    message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r
    assert r.lines[0].dsn == "4.4.1", r
    assert events(r, "skip") == [], r
    assert ours.messages() == []


def test_4xx_defers_with_the_remote_reply(ns, conf):
    ns.smtp_sink(SOFT, soft=["RCPT"], extra=["-b", SOFT_TEXT])
    r = ns.smtp_out(conf, "alice@example.com", "h@soft.test",
                    message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r
    [line] = r.lines
    assert (line.status, line.dsn) == ("deferred", "4.3.2"), r
    assert line.host == f"mx.soft.test[{SOFT}]", r
    assert line.text == SOFT_TEXT, r


def test_5xx_fails_with_the_remote_reply(ns, conf):
    ns.smtp_sink(HARD, hard=["RCPT"], extra=["-B", HARD_TEXT])
    r = ns.smtp_out(conf, "alice@example.com", "nobody@hard.test",
                    message=MESSAGE)
    assert r.code == EX_FAILED, r
    [line] = r.lines
    assert (line.status, line.dsn) == ("failed", "5.1.1"), r
    assert line.host == f"mx.hard.test[{HARD}]", r
    assert line.text == HARD_TEXT, r


def test_one_line_per_recipient_in_order(ns, conf, aio):
    rcpts = ["one@v4.test", "hard-two@v4.test", "soft-three@v4.test",
             "four@v4.test"]
    r = ns.smtp_out(conf, "alice@example.com", *rcpts, message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r        # one deferred: 75 wins over 1
    assert [l.rcpt for l in r.lines] == rcpts, r
    assert [(l.status, l.dsn) for l in r.lines] == [
        ("sent", r.lines[0].dsn), ("failed", "5.1.1"),
        ("deferred", "4.2.2"), ("sent", r.lines[3].dsn)], r
    assert "no such mailbox here" in r.lines[1].text, r
    assert "mailbox full" in r.lines[2].text, r
    # One transaction for the two that were taken.
    [got] = aio.messages()
    assert got.rcpts == ["one@v4.test", "four@v4.test"]


def test_failed_and_none_deferred_exits_1(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "ok@v4.test",
                    "hard-x@v4.test", message=MESSAGE)
    assert r.code == EX_FAILED, r
    assert [l.status for l in r.lines] == ["sent", "failed"], r


def test_null_mx_fails_5_1_10(ns, conf):
    r = ns.smtp_out(conf, "alice@example.com", "i@nullmx.test",
                    message=MESSAGE)
    assert r.code == EX_FAILED, r
    [line] = r.lines
    assert (line.status, line.dsn, line.host) == ("failed", "5.1.10", "-"), r


def test_nxdomain_fails_5_1_2(ns, conf):
    r = ns.smtp_out(conf, "alice@example.com", "j@nxdomain.test",
                    "k@nxdomain.test", message=MESSAGE)
    assert r.code == EX_FAILED, r
    assert [(l.status, l.dsn, l.host) for l in r.lines] == [
        ("failed", "5.1.2", "-")] * 2, r


def test_servfail_defers_and_never_falls_back_to_a(ns, conf, aio):
    # servfail.test: its MX query gets SERVFAIL, its A is aiosmtpd's.
    r = ns.smtp_out(conf, "alice@example.com", "l@servfail.test",
                    message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r
    [line] = r.lines
    assert (line.status, line.dsn) == ("deferred", "4.4.3"), r
    assert aio.messages() == []


def test_null_sender(ns, conf, aio):
    r = ns.smtp_out(conf, "", "m@v4.test", message=MESSAGE)
    assert r.code == EX_OK, r
    [got] = aio.messages()
    assert got.mail_from in ("", "<>")      # aiosmtpd keeps the brackets


def test_8bitmime_and_smtputf8(ns, conf, aio):
    body = "Subject: caf\u00e9\n\nna\u00efve\n".encode()
    r = ns.smtp_out(conf, "alice@example.com", "n@v4.test", message=body,
                    flags=["-8", "-U"])
    assert r.code == EX_OK, r
    [got] = aio.messages()
    opts = [o.upper() for o in got.meta["mail_options"]]
    assert "BODY=8BITMIME" in opts and "SMTPUTF8" in opts, opts
    assert got.data == crlf(body)


DSN_FLAGS = ["-R", "hdrs", "-V", "QQ+1", "-N", "1:SUCCESS,DELAY",
             "-O", "1:rfc822;b+c@list.example", "-N", "2:NEVER"]


def test_dsn_parameters_go_to_a_host_that_offers_dsn(ns, conf, tmp_path):
    peer = ns.aiosmtpd([f"{AIO}:25"], tmp_path / "dsn", dsn=True)
    r = ns.smtp_out(conf, "alice@example.com", "q@v4.test", "r@v4.test",
                    message=MESSAGE, flags=DSN_FLAGS)
    assert r.code == EX_OK, r
    [got] = peer.messages()
    assert got.meta["dsn_mail"] == ["RET=HDRS", "ENVID=QQ+2B1"]
    assert got.meta["dsn_rcpt"] == [
        ["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;b+2Bc@list.example"],
        ["NOTIFY=NEVER"]]


def test_dsn_parameters_stay_from_a_host_without_dsn(ns, conf, aio):
    # aiosmtpd answers 555 to a parameter it does not know.
    r = ns.smtp_out(conf, "alice@example.com", "q@v4.test", "r@v4.test",
                    message=MESSAGE, flags=DSN_FLAGS)
    assert r.code == EX_OK, r
    [got] = aio.messages()
    assert got.meta["dsn_mail"] == [] and got.meta["dsn_rcpt"] == []
    assert sorted(got.meta["rcpt_tos"]) == ["q@v4.test", "r@v4.test"]


def test_smtputf8_to_a_server_without_it_fails_5_6_7(ns, conf, tmp_path):
    peer = ns.aiosmtpd([f"{AIO}:25"], tmp_path / "noutf8", smtputf8=False)
    r = ns.smtp_out(conf, "j\u00f6rg@example.com", "o@v4.test",
                    message=b"Subject: x\n\nx\n", flags=["-U"])
    assert r.code == EX_FAILED, r
    assert (r.lines[0].status, r.lines[0].dsn) == ("failed", "5.6.7"), r
    assert peer.messages() == []


def test_nul_byte_fails_5_6_0(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "p@v4.test",
                    message=b"Subject: x\n\nnul \0 here\n")
    assert r.code == EX_FAILED, r
    assert (r.lines[0].status, r.lines[0].dsn) == ("failed", "5.6.0"), r
    assert aio.messages() == []


def test_line_over_998_octets_fails_5_6_0(ns, conf, aio):
    r = ns.smtp_out(conf, "alice@example.com", "q@v4.test",
                    message=b"Subject: x\n\n" + b"y" * 999 + b"\n")
    assert r.code == EX_FAILED, r
    assert (r.lines[0].status, r.lines[0].dsn) == ("failed", "5.6.0"), r
    assert aio.messages() == []
    # 998 is still fine.
    r = ns.smtp_out(conf, "alice@example.com", "q@v4.test",
                    message=b"Subject: x\n\n" + b"y" * 998 + b"\n")
    assert r.code == EX_OK, r


def test_recipients_of_two_domains_is_a_usage_error(ns, conf):
    r = ns.smtp_out(conf, "alice@example.com", "a@v4.test", "b@v6.test",
                    message=MESSAGE)
    assert r.code == EX_USAGE, r
    assert r.stdout == "", r


def test_no_sender_or_no_recipient_is_a_usage_error(ns, conf):
    from conftest import prog
    r = ns.run([prog("smtp-out"), "-C", conf.dir, "--", "a@v4.test"],
               input=MESSAGE)
    assert r.returncode == EX_USAGE, r
    r = ns.run([prog("smtp-out"), "-C", conf.dir, "-f", "a@example.com"],
               input=MESSAGE)
    assert r.returncode == EX_USAGE, r


# --- STARTTLS and routes --------------------------------------------------

def test_starttls_verified_with_the_route_ca(ns, conf, tls_peer, testca):
    routes(conf, f"tls.test mx ca={testca.ca}\n")
    r = ns.smtp_out(conf, "alice@example.com", "r@tls.test", message=MESSAGE)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.tls.startswith("TLSv1.") and line.tls.endswith("/verified"), r
    [tls] = events(r, "tls")
    assert tls.get("verified") == "yes", r.stderr
    [got] = tls_peer.messages()
    assert got.tls is not None and got.tls["version"] in ("TLSv1.2",
                                                          "TLSv1.3")
    assert line.tls.split("/")[0] == got.tls["version"], (line, got.tls)


def test_starttls_unverified_without_the_ca_is_still_used(ns, conf,
                                                          tls_peer):
    # tls=may (the default): encrypted, logged as not verified, delivered.
    r = ns.smtp_out(conf, "alice@example.com", "s@tls.test", message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    [tls] = events(r, "tls")
    assert tls.get("verified") == "no", r.stderr
    assert tls.get("reason"), r.stderr
    [got] = tls_peer.messages()
    assert got.tls is not None


def test_starttls_name_mismatch_is_unverified(ns, conf, tls_peer, testca):
    # mx.badname.test has the address of mx.tls.test, not its name.
    routes(conf, f"badname.test mx ca={testca.ca}\n")
    r = ns.smtp_out(conf, "alice@example.com", "t@badname.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    [tls] = events(r, "tls")
    assert tls.get("verified") == "no", r.stderr


def test_tls_verify_delivers_to_a_verified_host(ns, conf, tls_peer, testca):
    routes(conf, f"tls.test mx tls=verify ca={testca.ca}\n")
    r = ns.smtp_out(conf, "alice@example.com", "u@tls.test", message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/verified"), r
    assert len(tls_peer.messages()) == 1


@pytest.mark.parametrize("domain,with_ca", [("badname.test", True),
                                            ("tls.test", False)])
def test_tls_verify_refuses_an_unverified_host(ns, conf, tls_peer, testca,
                                               domain, with_ca):
    ca = f" ca={testca.ca}" if with_ca else ""
    routes(conf, f"{domain} mx tls=verify{ca}\n")
    r = ns.smtp_out(conf, "alice@example.com", f"v@{domain}",
                    message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r
    [line] = r.lines
    assert (line.status, line.dsn) == ("deferred", "4.7.5"), r
    assert tls_peer.messages() == []


def test_tls_encrypt_refuses_a_host_without_starttls(ns, conf, aio):
    routes(conf, "v4.test mx tls=encrypt\n")
    r = ns.smtp_out(conf, "alice@example.com", "w@v4.test", message=MESSAGE)
    assert r.code == EX_TEMPFAIL, r
    assert r.lines[0].status == "deferred", r
    assert r.lines[0].dsn.startswith("4.7."), r
    assert aio.messages() == []


def test_tls_encrypt_takes_any_certificate(ns, conf, tls_peer):
    routes(conf, "badname.test mx tls=encrypt\n")
    r = ns.smtp_out(conf, "alice@example.com", "x@badname.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    assert tls_peer.messages()[0].tls is not None


def test_tls_none_never_starts_tls(ns, conf, tls_peer):
    routes(conf, "tls.test mx tls=none\n")
    r = ns.smtp_out(conf, "alice@example.com", "y@tls.test", message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].tls == "none", r
    [got] = tls_peer.messages()
    assert got.tls is None


def smarthost(ns, tmp_path, testca):
    return ns.aiosmtpd([f"{SUBMIT}:587"], tmp_path / "submit",
                       hostname="smarthost.test", tls=testca,
                       auth=f"{SMARTHOST_USER}:{SMARTHOST_PASS}")


def secrets(conf, mode=0o600, text=None):
    d = conf.dir / "secrets"
    d.mkdir(exist_ok=True)
    f = d / "smarthost"
    f.write_text(text or f"{SMARTHOST_USER}:{SMARTHOST_PASS}\n")
    f.chmod(mode)
    return "secrets/smarthost"


def test_smarthost_route_with_auth(ns, conf, tmp_path, testca):
    peer = smarthost(ns, tmp_path, testca)
    auth = secrets(conf)
    routes(conf, "# everything through the smarthost\n"
           f"*  smarthost.test:587  auth={auth} tls=verify ca={testca.ca}\n")
    # nxdomain.test has no DNS at all: the route, not MX, decides.
    r = ns.smtp_out(conf, "alice@example.com", "z@nxdomain.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.host == f"smarthost.test[{SUBMIT}]", r
    assert line.tls.endswith("/verified"), r
    [got] = peer.messages()
    assert got.auth == SMARTHOST_USER
    assert got.tls is not None
    assert got.rcpts == ["z@nxdomain.test"]
    assert got.mail_from == "alice@example.com"
    assert SMARTHOST_PASS not in r.stderr


def test_smarthost_auth_without_tls_key_needs_a_verified_certificate(
        ns, conf, tmp_path, testca):
    # The smarthost's certificate is from a CA that smtp-out is not told
    # about (no ca=): with auth= and no tls=, the password must not go.
    peer = smarthost(ns, tmp_path, testca)
    routes(conf, f"* smarthost.test:587 auth={secrets(conf)}\n")
    r = ns.smtp_out(conf, "alice@example.com", "z@nxdomain.test",
                    message=MESSAGE)
    [line] = r.lines
    assert (line.status, line.dsn) == ("deferred", "4.7.5"), r
    # The smarthost takes mail only after AUTH: nothing arrived, so no
    # password was sent.
    assert peer.messages() == []
    assert SMARTHOST_PASS not in r.stderr


def test_smarthost_auth_with_tls_encrypt_written_out_is_the_opt_out(
        ns, conf, tmp_path, testca):
    peer = smarthost(ns, tmp_path, testca)
    routes(conf, f"* smarthost.test:587 auth={secrets(conf)} tls=encrypt\n")
    r = ns.smtp_out(conf, "alice@example.com", "z@nxdomain.test",
                    message=MESSAGE)
    assert r.code == EX_OK, r
    [got] = peer.messages()
    assert got.auth == SMARTHOST_USER


def test_smarthost_credentials_readable_by_others_are_refused(ns, conf,
                                                              tmp_path,
                                                              testca):
    peer = smarthost(ns, tmp_path, testca)
    auth = secrets(conf, mode=0o644)
    routes(conf, f"* smarthost.test:587 auth={auth} tls=encrypt\n")
    r = ns.smtp_out(conf, "alice@example.com", "z@v4.test", message=MESSAGE)
    assert r.code == EX_CONFIG, r
    assert peer.messages() == []
    assert SMARTHOST_PASS not in r.stderr + r.stdout


def test_domain_route_beats_star(ns, conf, aio, tmp_path, testca):
    peer = smarthost(ns, tmp_path, testca)
    routes(conf, f"v4.test mx\n* smarthost.test:587 auth={secrets(conf)} "
           f"tls=verify ca={testca.ca}\n")
    r = ns.smtp_out(conf, "alice@example.com", "a@v4.test", message=MESSAGE)
    assert r.code == EX_OK, r
    assert r.lines[0].host == f"mx.v4.test[{AIO}]", r
    assert peer.messages() == [] and len(aio.messages()) == 1


# --- through queue-run ------------------------------------------------------

def inject(conf, sender, *rcpts, body=MESSAGE):
    r = conf.run("queue-inject", "-f", sender, "--", *rcpts, input=body)
    assert r.returncode == 0, r.stderr
    return r


def dsns(conf, user="alice"):
    """The DSNs in user@example.com's Maildir: [(per-message fields,
    [per-recipient fields])]."""
    out = []
    for raw in conf.maildir("example.com", user):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/report", raw[:400]
        parts = list(msg.iter_parts())
        groups = parts[1].get_payload()
        out.append((groups[0], groups[1:]))
    return out


def test_queue_run_delivers_to_a_remote_mx(ns, conf, aio):
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "bob@v4.test")
    [line] = qr.delivered()
    kv = parse_kv(line)
    assert kv["via"] == "remote" and kv["to"] == "bob@v4.test", line
    assert AIO in kv.get("where", ""), line
    qr.wait_for(r"event=removed")
    [got] = aio.messages()
    assert got.mail_from == "alice@example.com"
    assert got.rcpts == ["bob@v4.test"]
    assert not bare_cr_or_lf(got.data)
    assert got.data.endswith(crlf(MESSAGE.split(b"\n\n", 1)[1]))
    assert b"\r\nSubject: over the wire\r\n" in got.data
    assert conf.queued() == []


def test_queue_run_groups_recipients_of_one_domain(ns, conf, aio):
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "a@v4.test", "b@v4.test",
           "c@v6.test")
    qr.delivered(3)
    qr.wait_for(r"event=removed")
    got = sorted(m.rcpts for m in aio.messages())
    assert got == [["a@v4.test", "b@v4.test"], ["c@v6.test"]]


def test_queue_run_4xx_then_success_on_retry(ns, conf, tmp_path):
    sink = ns.smtp_sink(SOFT, soft=["RCPT"], extra=["-b", SOFT_TEXT])
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "later@soft.test")
    [line] = qr.wait_for(QR_DELIVERY + r".*status=deferred")
    kv = parse_kv(line)
    assert kv["dsn"] == "4.3.2" and "try again later" in kv["reason"], line
    qr.wait_for(r"event=waiting")
    listing = conf.run("mailq").stdout.decode()
    assert "<later@soft.test>" in listing and "4.3.2" in listing, listing
    # The peer recovers: the same address now takes mail.
    sink.stop()
    peer = ns.aiosmtpd([f"{SOFT}:25"], tmp_path / "recovered")
    r = conf.run("mailq", "-f")
    assert r.returncode == 0, r.stderr
    qr.delivered()
    qr.wait_for(r"event=removed")
    [got] = peer.messages()
    assert got.rcpts == ["later@soft.test"]
    assert dsns(conf) == []           # no delay notice, no bounce


def test_queue_run_5xx_bounces_with_the_remote_diagnostic(ns, conf):
    ns.smtp_sink(HARD, hard=["RCPT"], extra=["-B", HARD_TEXT])
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "nobody@hard.test")
    [line] = qr.wait_for(QR_DELIVERY + r".*status=bounced")
    assert parse_kv(line)["dsn"] == "5.1.1", line
    qr.delivered()                    # the DSN, into alice's Maildir
    [(per_msg, [rcpt])] = dsns(conf)
    assert per_msg["Reporting-MTA"] == f"dns; {HOSTNAME}"
    assert rcpt["Final-Recipient"] == "rfc822;nobody@hard.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Remote-MTA"].startswith("dns; mx.hard.test"), rcpt
    assert rcpt["Diagnostic-Code"] == f"smtp; {HARD_TEXT}", rcpt


def test_queue_run_null_mx_and_nxdomain_bounce_at_once(ns, conf):
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "a@nullmx.test", "b@nxdomain.test")
    lines = qr.wait_for(QR_DELIVERY + r".*status=bounced", 2)
    # At once: no attempt was deferred first.
    assert not [l for l in qr.lines
                if re.search(QR_DELIVERY + r".*status=deferred", l)], qr.log()
    assert sorted(parse_kv(l)["dsn"] for l in lines) == ["5.1.10", "5.1.2"]
    qr.wait_for(r"event=removed")
    qr.delivered()
    # One DSN for both, or one each: every recipient is in one.
    status = {}
    for _, rcpts in dsns(conf):
        for f in rcpts:
            status[f["Final-Recipient"]] = f["Status"]
    assert status == {"rfc822;a@nullmx.test": "5.1.10",
                      "rfc822;b@nxdomain.test": "5.1.2"}, status


def test_queue_run_servfail_stays_queued(ns, conf, aio):
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "l@servfail.test")
    [line] = qr.wait_for(QR_DELIVERY + r".*status=deferred")
    assert parse_kv(line)["dsn"] == "4.4.3", line
    qr.wait_for(r"event=waiting")
    [q] = conf.queued()
    assert q.rcpts == ["<l@servfail.test>"]
    listing = conf.run("mailq").stdout.decode()
    assert "<l@servfail.test>" in listing and "4.4.3" in listing, listing
    assert aio.messages() == [] and dsns(conf) == []


def test_queue_run_tls_verify_keeps_the_mail_queued(ns, conf, tls_peer,
                                                    testca):
    routes(conf, f"badname.test mx tls=verify ca={testca.ca}\n")
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "v@badname.test")
    [line] = qr.wait_for(QR_DELIVERY + r".*status=deferred")
    assert parse_kv(line)["dsn"] == "4.7.5", line
    qr.wait_for(r"event=waiting")
    assert len(conf.queued()) == 1
    assert tls_peer.messages() == [] and dsns(conf) == []


def test_queue_run_bounces_mail_for_this_machine_after_one_hop(ns, conf):
    """webmaster@www.example.org with www.example.org's A and AAAA on
    this server, no MX, the domain not local (issue 12.2): a bounce with
    5.4.6 and the reason, at the first attempt, and not one connection
    to our own smtp-in (which would refuse to relay it, or take it and
    loop until "too many Received")."""
    srv = ns.smtp_in(conf, [f"{PUBLIC4}:25", f"[{PUBLIC6}]:25"])
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", "webmaster@www.selfaddr.test")
    [line] = qr.wait_for(QR_DELIVERY + r".*status=bounced")
    kv = parse_kv(line)
    assert kv["dsn"] == "5.4.6", line
    assert "loops back to myself" in kv["reason"], line
    qr.wait_for(r"event=bounce ")
    qr.delivered()                    # the DSN, into alice's Maildir
    qr.wait_for(r"event=removed", 2)
    # One attempt, no deferral before it, no session at our smtp-in.
    assert not [l for l in qr.lines
                if re.search(QR_DELIVERY + r".*status=deferred", l)], qr.log()
    assert srv.child_pids() == [], srv.log()
    [(per_msg, [rcpt])] = dsns(conf)
    assert rcpt["Final-Recipient"] == "rfc822;webmaster@www.selfaddr.test"
    assert rcpt["Action"] == "failed" and rcpt["Status"] == "5.4.6"
    assert "loops back to myself" in rcpt["Diagnostic-Code"], rcpt
    assert "has no MX record" in rcpt["Diagnostic-Code"], rcpt
    assert conf.queued() == []


def test_queue_run_forward_of_a_local_alias_to_postfix(ns, conf):
    """An alias of a local address to a remote one: delivered to the
    remote MX (the SRS rewriting of its sender is test_srs.py's)."""
    pf = ns.postfix(["pf.test"])
    (conf.dir / "srs.secret").write_text("forwarding test secret\n")
    (conf.dir / "srs.secret").chmod(0o640)
    path = conf.dir / "domains" / "example.com" / "aliases"
    path.write_text(path.read_text() + "fwd: away@pf.test\n")
    qr = ns.queue_run(conf)
    inject(conf, "carol@v4.test", "fwd@example.com")
    [line] = qr.delivered()
    kv = parse_kv(line)
    assert kv["to"] == "away@pf.test" and kv["via"] == "remote", line
    [data] = wait_messages(pf)
    assert b"\nDelivered-To: away@pf.test\n" in data
    assert data.endswith(MESSAGE.split(b"\n\n", 1)[1])
