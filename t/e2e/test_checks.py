"""smtp-in's checks of port 25 mail (smtp-in(8), smtp-checkd(8)): SPF,
DKIM and DMARC by the resident checker that smtp-listen starts, the
verdict in the envelope's authres and, at delivery, in an
Authentication-Results field; DMARC's p=reject refused at DATA with
nothing queued, p=quarantine kept from outside addresses; forged fields
that claim our authserv-id renamed; a DNS that does not answer, and a
checker killed in the middle, never holding a session past
checks_timeout; a user's session (AUTH) asking nothing of the checker.

Everything runs in a network namespace of this file's (zonens.py) whose
DNS server is peers/zonedns.py serving the zone below; smtp-listen runs
inside on our MX address, and the clients (smtplib, inside too) connect
from CLIENT, which the senders' SPF records allow, or from FORGER, which
no record allows.  The fields are parsed back with Python's email
package and compared method by method, property by property.
"""

import array
import base64
import email
import email.policy
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import pathlib
import threading
import time

import pytest

from conftest import HOSTNAME, WAIT, Conf, LogProc, children, cmdline, \
    make_cert, prog
from netns import OURS, PYTHON
from zonens import ZoneNetns, rsa_key, spf, txt

try:
    import dkim  # python3-dkim
except ImportError:
    dkim = None

CLIENT = "127.0.0.12"     # the senders' SPF records allow it
FORGER = "127.0.0.13"     # nobody's
TIMEOUT = 3               # checks_timeout of these tests, seconds


class World:
    """The namespace, its zone and the DKIM key of sender.test."""

    def __init__(self, tmp):
        self.key = tmp / "rsa.pem"
        pub = rsa_key(self.key)
        self.zone = {
            "sender.test": [spf(CLIENT)],
            "_dmarc.sender.test": [txt("v=DMARC1; p=reject")],
            "rsa._domainkey.sender.test": [
                txt(f"v=DKIM1; k=rsa; p={pub}")],
            "soft.test": [txt("v=spf1 ~all")],
            "reject.test": [spf(CLIENT)],
            "_dmarc.reject.test": [txt("v=DMARC1; p=reject")],
            "quar.test": [spf(CLIENT)],
            "_dmarc.quar.test": [txt("v=DMARC1; p=quarantine")],
            # SPF passes for a subdomain of the From domain: strict SPF
            # alignment wants the same name, relaxed the same org.
            "bounce.strict.test": [spf(CLIENT)],
            "_dmarc.strict.test": [txt("v=DMARC1; p=quarantine; aspf=s")],
            "bounce.relaxed.test": [spf(CLIENT)],
            "_dmarc.relaxed.test": [txt("v=DMARC1; p=quarantine")],
            # sp= speaks for the subdomains (".test" is in no rule of
            # the list: org.test is the organizational domain).
            "org.test": [spf(CLIENT)],
            "sub.org.test": [spf(CLIENT)],
            "_dmarc.org.test": [txt("v=DMARC1; p=none; sp=reject")],
            # co.uk is a public suffix: the organizational domain of
            # news.shop.co.uk is shop.co.uk, from the list.
            "news.shop.co.uk": [spf(CLIENT)],
            "_dmarc.shop.co.uk": [txt("v=DMARC1; p=reject")],
            "_dmarc.co.uk": [txt("v=DMARC1; p=none")],
            # A DNS that never answers.
            "slow.test": ["TIMEOUT"],
            "_dmarc.slow.test": ["TIMEOUT"],
        }
        self.ns = ZoneNetns(tmp / "netns")
        self.ns.serve(self.zone)

    def sign(self, msg, domain="sender.test"):
        assert dkim is not None, "python3-dkim is not installed"
        return dkim.sign(msg, b"rsa", domain.encode(),
                         self.key.read_bytes()) + msg


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("checks"))
    yield w
    w.ns.close()


def open_conf_dir():
    root = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-checks."))
    root.chmod(0o755)
    c = Conf(root)
    nobody = pwd.getpwnam("nobody")
    for top in (c.spool, c.mail):
        for d, dirs, files in os.walk(top):
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
    return c


class Mx:
    """smtp-listen inside the namespace on our MX address, port 25."""

    def __init__(self, world, conf, args=()):
        self.world = world
        self.conf = conf
        cmd = [prog("smtp-listen"), "-C", conf.dir, "-u", "nobody",
               "-d", "5", *args, "mx", f"{OURS}:25"]
        self.proc = world.ns.spawn("smtp-listen", cmd, env=conf.env())
        self.proc.wait_for(r"event=listening")

    def checkd_pid(self):
        """The pid of its running smtp-checkd."""
        deadline = time.monotonic() + WAIT
        while True:
            for p in children(self.listener_pid()):
                if cmdline(p).split(b"\0")[0].endswith(b"smtp-checkd"):
                    return p
            assert time.monotonic() < deadline, self.proc.log()
            time.sleep(0.02)  # /proc has no event to wait on

    def listener_pid(self):
        pid = self.proc.proc.pid
        deadline = time.monotonic() + WAIT
        while b"smtp-listen" not in cmdline(pid):
            kids = children(pid)
            if kids:
                pid = kids[0]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return pid

    def send(self, msg, frm, rcpts=("alice@example.com",), src=CLIENT,
             helo="client.test", login=None):
        """One transaction from src: the replies (code, text) of MAIL,
        each RCPT and the data, or of the first refused; and the seconds
        the data's reply took."""
        args = {"src": src, "dst": OURS, "helo": helo, "from": frm,
                "rcpts": list(rcpts),
                "msg": base64.b64encode(msg).decode(), "login": login}
        r = self.world.ns.run([PYTHON, "-c", CLIENT_SCRIPT,
                               json.dumps(args)], timeout=120)
        assert r.returncode == 0, r.stderr.decode()
        return json.loads(r.stdout)

    def stop(self):
        self.proc.stop()
        self.proc.check_sanitizers()


CLIENT_SCRIPT = r"""
import base64, json, smtplib, ssl, sys, time
a = json.loads(sys.argv[1])
out = {}
s = smtplib.SMTP(a["dst"], 25, source_address=(a["src"], 0), timeout=60)
s.ehlo(a["helo"])
if a["login"]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.ehlo(a["helo"])
    s.login(*a["login"])
code, text = s.mail(a["from"])
out["mail"] = [code, text.decode()]
if code == 250:
    for r in a["rcpts"]:
        code, text = s.rcpt(r)
        out.setdefault("rcpt", []).append([code, text.decode()])
    t = time.monotonic()
    code, text = s.data(base64.b64decode(a["msg"]))
    out["data"] = [code, text.decode()]
    out["seconds"] = time.monotonic() - t
s.quit()
print(json.dumps(out))
"""


@pytest.fixture
def mx(world):
    conf = open_conf_dir()
    conf.write(max_message_size="50M", checks_timeout=str(TIMEOUT))
    m = Mx(world, conf)
    m.proc.wait_for(r"smtp-checkd.*event=started")
    yield m
    m.stop()
    shutil.rmtree(conf.root)


def message(frm, subject="the figures", extra=""):
    return (f"From: Alice <{frm}>\r\n"
            "To: Bob <alice@example.com>\r\n"
            f"Subject: {subject}\r\n"
            "Date: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <m1@sender.test>\r\n"
            f"{extra}"
            "\r\n"
            "Here they are.\r\n").encode()


def parse_ar(value):
    """An Authentication-Results value as (authserv-id, [(method, result,
    {property: value})]), comments dropped: RFC 8601 §2.2's grammar,
    enough of it for what posthorn writes."""
    value = re.sub(r"\s+", " ", value)
    value = re.sub(r"\([^()]*\)", "", value)   # comments (not nested)
    parts = [p.strip() for p in value.split(";")]
    authserv, methods = parts[0], []
    for p in parts[1:]:
        words = p.split()
        method, _, result = words[0].partition("=")
        props = {}
        for w in words[1:]:
            k, _, v = w.partition("=")
            props[k] = v.strip('"')
        methods.append((method, result, props))
    return authserv, methods


def queued_one(conf):
    q = conf.queued()
    assert len(q) == 1, [m.env for m in q]
    return q[0]


def accepted(mx):
    return mx.proc.events("accepted")


def test_spf_pass_dkim_pass_dmarc_pass_into_the_envelope(world, mx):
    msg = world.sign(message("alice@sender.test"))
    r = mx.send(msg, "alice@sender.test")
    assert r["data"][0] == 250, r
    q = queued_one(mx.conf)
    authserv, methods = parse_ar(q.env["authres"])
    assert authserv == HOSTNAME
    got = {m: (res, props) for m, res, props in methods}
    assert got["spf"] == ("pass", {"smtp.mailfrom": "alice@sender.test"})
    res, props = got["dkim"]
    assert res == "pass"
    assert props["header.d"] == "sender.test"
    assert props["header.s"] == "rsa"
    assert props["header.a"] == "rsa-sha256"
    assert got["dmarc"] == ("pass", {"header.from": "sender.test"})
    line = mx.proc.wait_for(r"event=accepted")[0]
    assert "spf=pass" in line and "dkim=pass" in line and \
        "dmarc=pass" in line, line


def test_tampered_body_fails_dkim_and_dmarc_p_reject_refuses(world, mx):
    msg = world.sign(message("alice@sender.test"))
    msg = msg.replace(b"Here they are.", b"Here they were.")
    # From the forger: SPF fails too, so nothing aligns.
    r = mx.send(msg, "alice@sender.test", src=FORGER)
    assert r["data"][0] == 550, r
    assert "5.7.1" in r["data"][1] and "p=reject" in r["data"][1], r
    assert mx.conf.queued() == []
    assert mx.conf.leftovers() == []
    line = mx.proc.wait_for(r"event=refused.*dmarc=fail")[0]
    assert "dkim=fail" in line and "spf=fail" in line, line


def test_spf_softfail_and_fail_into_the_field(world, mx):
    r = mx.send(message("bob@soft.test"), "bob@soft.test")
    assert r["data"][0] == 250, r
    r = mx.send(message("bob@nodmarc.example"), "bob@org.test", src=FORGER)
    assert r["data"][0] == 250, r
    results = {}
    for q in mx.conf.queued():
        _, methods = parse_ar(q.env["authres"])
        results[q.sender] = {m: res for m, res, _ in methods}
    assert results["<bob@soft.test>"]["spf"] == "softfail"
    assert results["<bob@org.test>"]["spf"] == "fail"
    assert results["<bob@soft.test>"]["dkim"] == "none"


def test_dmarc_alignment_strict_and_relaxed(world, mx):
    # SPF passes for bounce.X.test; From: X.test.
    r = mx.send(message("news@relaxed.test"), "b@bounce.relaxed.test")
    assert r["data"][0] == 250, r
    r = mx.send(message("news@strict.test"), "b@bounce.strict.test",
                rcpts=("info@example.com",))
    assert r["data"][0] == 250, r
    got = {}
    for q in mx.conf.queued():
        _, methods = parse_ar(q.env["authres"])
        got[q.sender] = ({m: res for m, res, _ in methods}, q.flags)
    relaxed, flags = got["<b@bounce.relaxed.test>"]
    assert relaxed["spf"] == "pass" and relaxed["dmarc"] == "pass"
    assert "localonly" not in flags
    strict, flags = got["<b@bounce.strict.test>"]
    assert strict["spf"] == "pass" and strict["dmarc"] == "fail"
    # p=quarantine, every recipient local: delivered as it is.
    assert "localonly" not in flags


def test_dkim_aligned_passes_dmarc_whatever_spf(world, mx):
    """A forwarder's address: SPF fails, the author's signature passes
    and aligns, so DMARC passes and p=reject does not refuse."""
    msg = world.sign(message("alice@sender.test"))
    r = mx.send(msg, "alice@sender.test", src=FORGER)
    assert r["data"][0] == 250, r
    _, methods = parse_ar(queued_one(mx.conf).env["authres"])
    got = {m: res for m, res, _ in methods}
    assert got == {"spf": "fail", "dkim": "pass", "dmarc": "pass"}


def test_subdomain_policy_and_the_public_suffix_list(world, mx):
    # sp=reject of org.test speaks for sub.org.test; p=none for org.test.
    r = mx.send(message("x@sub.org.test"), "x@sub.org.test", src=FORGER)
    assert r["data"][0] == 550 and "p=reject" in r["data"][1], r
    r = mx.send(message("x@org.test"), "x@org.test", src=FORGER)
    assert r["data"][0] == 250, r
    # The organizational domain of news.shop.co.uk is shop.co.uk (co.uk
    # is a public suffix), whose p=reject applies; co.uk's own p=none
    # would have let it through.
    r = mx.send(message("x@news.shop.co.uk"), "x@news.shop.co.uk",
                src=FORGER)
    assert r["data"][0] == 550 and "p=reject" in r["data"][1], r
    assert [q.sender for q in mx.conf.queued()] == ["<x@org.test>"]


def test_quarantine_is_never_forwarded(world, mx):
    """catchall.example forwards to alice@example.com (local) and to an
    outside address: DMARC fail under p=quarantine is queued local-only;
    with only the outside address, it is refused at DATA."""
    d = mx.conf.dir / "domains" / "fwd.example"
    d.mkdir(parents=True)
    (d / "users").write_text("")
    (d / "aliases").write_text("both: alice@example.com, "
                               "someone@outside.test\n"
                               "out: someone@outside.test\n")
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER,
                rcpts=("both@fwd.example",))
    assert r["data"][0] == 250, r
    q = queued_one(mx.conf)
    assert "localonly" in q.flags
    assert parse_ar(q.env["authres"])[1][2][1] == "fail"
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER,
                rcpts=("out@fwd.example",))
    assert r["data"][0] == 550 and "not forwarded" in r["data"][1], r
    assert len(mx.conf.queued()) == 1
    # Delivered locally, with the field at the top.
    qr = subprocess.Popen([prog("queue-run"), "-C", str(mx.conf.dir)],
                          env=mx.conf.env(), stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while not mx.conf.maildir("example.com", "alice"):
            assert time.monotonic() < deadline, "not delivered"
            time.sleep(0.05)  # the Maildir has no event to wait on
    finally:
        qr.terminate()
        qr.wait(timeout=WAIT)
    (got,) = mx.conf.maildir("example.com", "alice")
    m = email.message_from_bytes(got, policy=email.policy.default)
    ars = m.get_all("Authentication-Results")
    assert len(ars) == 1
    authserv, methods = parse_ar(str(ars[0]))
    assert authserv == HOSTNAME
    assert [(x, y) for x, y, _ in methods] == [
        ("spf", "fail"), ("dkim", "none"), ("dmarc", "fail")]
    assert methods[2][2] == {"header.from": "quar.test"}
    # The field is right after Delivered-To:, folded into short lines.
    head = got.split(b"\n\n", 1)[0].decode()
    names = [l.split(":", 1)[0] for l in head.split("\n")
             if l and l[0] not in " \t"]
    assert names[:3] == ["Return-Path", "Delivered-To",
                         "Authentication-Results"]
    assert all(len(l) <= 78 for l in head.split("\n"))


def test_a_domain_conf_refuses_what_posthorn_conf_keeps_local(world, mx):
    """dmarc_quarantine = refuse in one domain's domain.conf: its mail
    failing DMARC under p=quarantine is refused, another domain's is
    still taken; with recipients of both, refuse wins."""
    d = mx.conf.dir / "domains" / "strict.example"
    d.mkdir(parents=True)
    (d / "users").write_text("carol:!\n")
    (d / "domain.conf").write_text("dmarc_quarantine = refuse\n")
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER,
                rcpts=("carol@strict.example",))
    assert r["data"][0] == 550 and "p=quarantine" in r["data"][1], r
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER,
                rcpts=("alice@example.com", "carol@strict.example"))
    assert r["data"][0] == 550, r
    assert mx.conf.queued() == []
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER)
    assert r["data"][0] == 250, r
    # A domain.conf with a bad value is refused as a whole (domconf):
    # posthorn.conf's then, logged.
    (d / "domain.conf").write_text("dmarc_quarantine = maybe\n")
    r = mx.send(message("x@quar.test"), "x@quar.test", src=FORGER,
                rcpts=("carol@strict.example",))
    assert r["data"][0] == 250, r
    mx.proc.wait_for(r"event=error.*op=domain.conf")


def test_spf_refuse_refuses_an_spf_fail_at_mail_from(world):
    conf = open_conf_dir()
    conf.write(max_message_size="50M", checks_timeout=str(TIMEOUT),
               spf_refuse="yes")
    m = Mx(world, conf)
    try:
        m.proc.wait_for(r"smtp-checkd.*event=started")
        r = m.send(message("alice@sender.test"), "alice@sender.test",
                   src=FORGER)
        assert r["mail"][0] == 550, r
        assert r["mail"][1].startswith("5.7.23 SPF validation failed"), r
        assert "data" not in r
        m.proc.wait_for(r"event=refused .*cmd=MAIL .*5\.7\.23")
        # softfail is no fail; pass neither.
        r = m.send(message("bob@soft.test"), "bob@soft.test", src=FORGER)
        assert r["data"][0] == 250, r
        r = m.send(message("alice@sender.test"), "alice@sender.test")
        assert r["data"][0] == 250, r
        assert len(conf.queued()) == 2
    finally:
        m.stop()
        shutil.rmtree(conf.root)


def test_forged_field_with_our_authserv_id_is_renamed(world, mx):
    forged = (f"Authentication-Results: {HOSTNAME}; dkim=pass "
              "header.d=bank.example\r\n"
              "Authentication-Results: other.example; spf=pass\r\n")
    r = mx.send(message("bob@soft.test", extra=forged), "bob@soft.test")
    assert r["data"][0] == 250, r
    q = queued_one(mx.conf)
    head = q.headers().decode()
    assert f"\nX-Original-Authentication-Results: {HOSTNAME}; dkim=pass" \
        in head, head
    assert "\nAuthentication-Results: other.example; spf=pass" in head
    assert f"\nAuthentication-Results: {HOSTNAME}" not in head


def test_dns_outage_gives_temperror_within_the_bound(world, mx):
    t = time.monotonic()
    r = mx.send(message("x@slow.test"), "x@slow.test")
    assert r["data"][0] == 250, r
    # The data's reply came after checks_timeout, not after the DNS's
    # own limits (20 s for SPF).
    assert r["seconds"] < TIMEOUT + 2, r
    assert time.monotonic() - t < WAIT
    q = queued_one(mx.conf)
    got = {m: res for m, res, _ in parse_ar(q.env["authres"])[1]}
    assert got == {"spf": "temperror", "dkim": "temperror",
                   "dmarc": "temperror"}
    line = mx.proc.wait_for(r"event=accepted")[0]
    assert "dmarc=temperror" in line


def test_checker_killed_midway_sessions_still_answer(world, mx):
    pid = mx.checkd_pid()
    # A check stuck on the silent DNS; the checker dies under it.
    import threading
    result = {}
    th = threading.Thread(target=lambda: result.update(
        mx.send(message("x@slow.test"), "x@slow.test")))
    th.start()
    # Wait until the message is being written (the session is in DATA,
    # its SPF question stuck in the checker): tmp/ has its file.
    deadline = time.monotonic() + WAIT
    while not mx.conf.leftovers():
        assert time.monotonic() < deadline, mx.proc.log()
        time.sleep(0.01)  # tmp/ has no event to wait on
    os.kill(pid, signal.SIGKILL)
    th.join(timeout=WAIT + TIMEOUT)
    assert result["data"][0] == 250, result
    assert result["seconds"] < TIMEOUT + 2, result
    mx.proc.wait_for(r"event=checkd-exit status=\"?signal 9")
    # The listener starts another; the next message is checked again.
    mx.proc.wait_for(r"smtp-checkd.*event=started", count=2)
    r = mx.send(message("bob@soft.test"), "bob@soft.test")
    assert r["data"][0] == 250, r
    ars = sorted(q.env["authres"] for q in mx.conf.queued())
    assert any("spf=softfail" in a for a in ars), ars


@pytest.fixture
def tls_mx(world):
    """Our MX with a certificate (the sessions run as nobody: the key is
    nobody's) and alice with a password, for AUTH after STARTTLS."""
    conf = open_conf_dir()
    conf.write(max_message_size="50M", checks_timeout=str(TIMEOUT))
    certdir = conf.dir / "certs"
    make_cert(certdir, HOSTNAME)
    nobody = pwd.getpwnam("nobody")
    os.chown(certdir / "privkey.pem", nobody.pw_uid, nobody.pw_gid)
    conf.add_user("alice@example.com", "secret")
    m = Mx(world, conf)
    m.proc.wait_for(r"smtp-checkd.*event=started")
    yield m
    m.stop()
    shutil.rmtree(conf.root)


def test_a_users_session_asks_the_checker_nothing(world, tls_mx):
    mx, conf = tls_mx, tls_mx.conf
    r = mx.send(message("alice@example.com"), "alice@example.com",
                rcpts=("bob@example.com",),
                login=["alice@example.com", "secret"])
    assert r["data"][0] == 250, r
    q = queued_one(conf)
    assert "authres" not in q.env
    assert q.env.get("auth") == "alice@example.com"
    line = mx.proc.wait_for(r"event=accepted")[0]
    assert "spf=" not in line and "dmarc=" not in line
    # Then a message from the world: the checker logs its one request,
    # and had logged none before it.
    r = mx.send(message("bob@soft.test"), "bob@soft.test")
    assert r["data"][0] == 250, r
    mx.proc.wait_for(r"event=checked kind=msg")
    checked = mx.proc.events("checked")
    assert [c.get("kind") for c in checked] == ["spf", "msg"], checked
    assert all(c.get("peer") == CLIENT for c in checked)


def test_a_users_forged_field_in_our_name_is_renamed(world, tls_mx):
    """A local user writing another local user a verdict in our name:
    the reader has no other way to tell it from ours."""
    forged = (f"Authentication-Results: {HOSTNAME.upper()};\r\n"
              " dkim=pass header.d=bank.example\r\n"
              "Authentication-Results: other.example; spf=pass\r\n")
    r = tls_mx.send(message("alice@example.com", extra=forged),
                    "alice@example.com", rcpts=("bob@example.com",),
                    login=["alice@example.com", "secret"])
    assert r["data"][0] == 250, r
    head = queued_one(tls_mx.conf).headers().decode()
    assert ("\nX-Original-Authentication-Results: "
            f"{HOSTNAME.upper()};\n dkim=pass") in head, head
    assert "\nAuthentication-Results: other.example; spf=pass" in head
    assert "\nAuthentication-Results: " + HOSTNAME.upper() not in head


def test_a_header_past_the_checkers_limits_is_refused(world, mx):
    """A p=reject domain forged behind more header fields than the
    checker reads would pass as dmarc=temperror: such a header is
    refused instead, and one just within the limit is still checked."""
    pad = "X-Pad: x\r\n" * 1001
    r = mx.send(message("alice@sender.test", extra=pad), "alice@sender.test",
                src=FORGER)
    assert r["data"][0] == 552 and "5.3.4" in r["data"][1], r
    assert mx.conf.queued() == []
    # 5 fields of message() and 994 of ours, and smtp-in's Received:
    # field: the checker's 1000.
    pad = "X-Pad: x\r\n" * 994
    r = mx.send(message("alice@sender.test", extra=pad), "alice@sender.test",
                src=FORGER)
    assert r["data"][0] == 550 and "p=reject" in r["data"][1], r


class Checker(LogProc):
    """smtp-checkd started by hand in the world's namespace (its DNS is
    zonedns) on one end of a SOCK_SEQPACKET pair, as smtp-listen starts
    it: the test is the session."""

    def __init__(self, ns):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_SEQPACKET)
        self.cmd = [prog("smtp-checkd"), "-t", "1"]
        self.lines = []
        self.eof = False
        self.cond = threading.Condition()
        self.proc = ns.popen(self.cmd, stdin=theirs,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        theirs.close()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.wait_for(r"event=started")

    def ask(self, msgfd):
        """One msg request with msgfd as its message: the answer's text,
        or None when the checker closed the reply socket unanswered."""
        mine, theirs = socket.socketpair(socket.AF_UNIX,
                                         socket.SOCK_SEQPACKET)
        req = "\n".join(["posthorn-check 1 msg", HOSTNAME, "0123456789ABCDEF",
                         CLIENT, "client.test", "alice@sender.test",
                         ""])
        self.sock.sendmsg([req.encode()], [(
            socket.SOL_SOCKET, socket.SCM_RIGHTS,
            array.array("i", [theirs.fileno(), msgfd]))])
        theirs.close()
        mine.settimeout(WAIT)
        try:
            data = mine.recv(65536)
        finally:
            mine.close()
        return data.decode() if data else None

    def stop(self):
        self.sock.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=WAIT)


def test_the_checker_refuses_a_file_larger_than_any_queue_file(world,
                                                                tmp_path):
    """A session gone wrong that gives a sparse file larger than the
    largest queue file gets no answer, and has the checker read nothing
    of it; a file of a message's size is checked."""
    c = Checker(world.ns)
    try:
        head = b"From: alice@sender.test\r\nSubject: t\r\n\r\nhello\r\n"
        path = tmp_path / "msg"
        path.write_bytes(head)
        with open(path, "rb") as f:
            a = c.ask(f.fileno())
        assert a is not None and a.startswith("posthorn-check 1 msg\n"), a
        assert "spf=pass" in a.split("\n")[-1], a
        # 4 GiB (max_message_size's ceiling) and the largest envelope
        # are the most a queue file can hold: one byte more is refused.
        os.truncate(path, (4 << 30) + (1 << 20) + 1)
        with open(path, "rb") as f:
            assert c.ask(f.fileno()) is None
        c.wait_for(r"event=refused.*malformed request")
    finally:
        c.stop()
    c.check_sanitizers()
