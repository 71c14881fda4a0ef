"""mailauth check: SPF, DKIM and DMARC of one message in one run, as
mailauth(8) documents it.

DNS is peers/zonedns.py in a namespace of this file's (zonens.py): the
SPF records, a DKIM key made here with openssl (messages signed by
python3-dkim), and the DMARC records of domains of each kind: p=reject,
strict and relaxed SPF alignment, and an organizational domain whose
sp= speaks for its subdomains (".test" is in no public suffix list
rule, so the list's implicit "*" makes org.test the organizational
domain of sub.org.test).  The Authentication-Results field printed is
parsed back with Python's email package and with authres
(python3-authres), and compared method by method, property by
property.
"""

import email
import email.policy
import os
import subprocess
import time

import pytest

from conftest import SAN_ENV, prog
from zonens import ZoneNetns, rsa_key, spf, txt

try:
    import dkim  # python3-dkim
except ImportError:
    dkim = None
try:
    import authres  # python3-authres
except ImportError:
    authres = None

ENV = {**SAN_ENV, "PATH": "/usr/bin:/bin"}
CLIENT = "192.0.2.10"        # the senders' SPF records allow it
FORWARDER = "192.0.2.99"     # nobody's
AUTHSERV = "mx.receiver.test"


class World:
    def __init__(self, tmp):
        self.key = tmp / "rsa.pem"
        pub = rsa_key(self.key)
        self.zone = {
            "sender.test": [spf(CLIENT)],
            "_dmarc.sender.test": [txt("v=DMARC1; p=reject")],
            "rsa._domainkey.sender.test": [
                {"TXT": f"v=DKIM1; k=rsa; p={pub}"}],
            "reject.test": [spf(CLIENT)],
            "_dmarc.reject.test": [txt("v=DMARC1; p=reject; "
                                         "rua=mailto:d@reject.test")],
            # The bounce domains: SPF passes for a subdomain of the
            # From domain; strict SPF alignment wants the same name.
            "bounce.strict.test": [spf(CLIENT)],
            "_dmarc.strict.test": [txt("v=DMARC1; p=quarantine; "
                                         "aspf=s")],
            "bounce.relaxed.test": [spf(CLIENT)],
            "_dmarc.relaxed.test": [txt("v=DMARC1; p=quarantine")],
            "org.test": [spf(CLIENT)],
            "sub.org.test": [spf(CLIENT)],
            "_dmarc.org.test": [txt("v=DMARC1; p=none; sp=reject")],
            "nodmarc.test": [spf(CLIENT)],
        }
        self.ns = ZoneNetns(tmp / "netns")
        self.ns.serve(self.zone)

    def sign(self, msg, domain="sender.test"):
        assert dkim is not None, "python3-dkim is not installed"
        return dkim.sign(msg, b"rsa", domain.encode(),
                         self.key.read_bytes()) + msg

    def check(self, msg, ip, helo, sender, opts=("-r", AUTHSERV)):
        r = self.ns.run([prog("mailauth"), "check", *opts, ip, helo,
                         sender], input=msg, env=ENV, timeout=60)
        return r.returncode, r.stdout.decode(), r.stderr.decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("check"))
    yield w
    w.ns.close()


def message(frm, subject="the figures"):
    return (f"From: Alice <{frm}>\r\n"
            "To: Bob <bob@receiver.test>\r\n"
            f"Subject: {subject}\r\n"
            "Date: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <m1@sender.test>\r\n"
            "\r\n"
            "Here they are.\r\n").encode()


def verdict(world, msg, ip, helo, sender):
    """(first line's words, the field's text) of a check that worked."""
    code, out, err = world.check(msg, ip, helo, sender)
    assert code == 0, err
    first, field = out.split("\n", 1)
    assert field.endswith("\n") and field.startswith(
        "Authentication-Results: ")
    return first, field[:-1]


def parsed(field):
    """The field through Python's email package: {method: [(result,
    comment, {ptype.property: value})]} and the authserv-id."""
    m = email.message_from_bytes(field.encode() + b"\n\nbody\n",
                                 policy=email.policy.default)
    value = str(m["Authentication-Results"])
    authserv, *parts = [p.strip() for p in value.split(";")]
    out = {}
    for p in parts:
        # method=result [(comment)] ptype.prop=value ...
        head, _, rest = p.partition(" ")
        method, _, result = head.partition("=")
        comment = None
        rest = rest.strip()
        if rest.startswith("("):
            comment, _, rest = rest[1:].partition(")")
        props = {}
        for w in rest.split():
            k, _, v = w.partition("=")
            props[k] = v.strip('"')
        out.setdefault(method, []).append((result, comment, props))
    return authserv, out


def test_signed_aligned_spf_pass_is_dmarc_pass(world):
    msg = world.sign(message("alice@sender.test"))
    first, field = verdict(world, msg, CLIENT, "mx.sender.test",
                           "alice@sender.test")
    assert first == "pass none"
    authserv, res = parsed(field)
    assert authserv == AUTHSERV
    assert res["spf"] == [("pass", None,
                           {"smtp.mailfrom": "alice@sender.test"})]
    [(result, _, props)] = res["dkim"]
    assert result == "pass"
    assert props["header.d"] == "sender.test"
    assert props["header.s"] == "rsa"
    assert props["header.a"] == "rsa-sha256"
    assert res["dmarc"] == [("pass", "p=reject dis=none",
                             {"header.from": "sender.test"})]


def test_dkim_alone_passes_dmarc_after_a_forwarder(world):
    # SPF fails from the forwarder's address; the aligned signature is
    # enough (RFC 7489 §4.2).
    msg = world.sign(message("alice@sender.test"))
    first, field = verdict(world, msg, FORWARDER, "fwd.test",
                           "alice@sender.test")
    assert first == "pass none"
    _, res = parsed(field)
    assert res["spf"][0][0] == "fail"
    assert res["dkim"][0][0] == "pass"


def test_unsigned_spf_fail_under_p_reject_is_fail_reject(world):
    first, field = verdict(world, message("ceo@reject.test"), FORWARDER,
                           "evil.test", "ceo@reject.test")
    assert first == "fail reject"
    _, res = parsed(field)
    assert res["spf"] == [("fail", None,
                           {"smtp.mailfrom": "ceo@reject.test"})]
    assert res["dkim"] == [("none", None, {})]
    assert res["dmarc"] == [("fail", "p=reject dis=reject",
                             {"header.from": "reject.test"})]


def test_tampered_signature_does_not_align(world):
    msg = world.sign(message("alice@sender.test")).replace(
        b"Here they are.", b"Send money to..")
    first, field = verdict(world, msg, FORWARDER, "fwd.test",
                           "alice@sender.test")
    assert first == "fail reject"
    assert parsed(field)[1]["dkim"][0][0] == "fail"


def test_signature_of_another_domain_does_not_align(world):
    # A good signature of sender.test on mail from reject.test.
    msg = world.sign(message("ceo@reject.test"))
    first, field = verdict(world, msg, FORWARDER, "fwd.test",
                           "ceo@reject.test")
    assert first == "fail reject"
    _, res = parsed(field)
    assert res["dkim"][0][0] == "pass"
    assert res["dkim"][0][2]["header.d"] == "sender.test"


@pytest.mark.parametrize("domain,want", [
    ("relaxed.test", "pass none"),          # same organizational domain
    ("strict.test", "fail quarantine"),     # aspf=s: not the same name
])
def test_spf_alignment_relaxed_and_strict(world, domain, want):
    first, field = verdict(world, message(f"a@{domain}"), CLIENT,
                           "mx.test", f"bounces@bounce.{domain}")
    assert first == want
    _, res = parsed(field)
    assert res["spf"][0][0] == "pass"
    assert res["spf"][0][2] == {"smtp.mailfrom": f"bounces@bounce.{domain}"}
    assert res["dmarc"][0][2] == {"header.from": domain}


def test_subdomain_takes_the_organizational_sp(world):
    # sub.org.test has no record: org.test's, whose sp=reject is for its
    # subdomains, while its own mail is p=none.
    first, field = verdict(world, message("a@sub.org.test"), FORWARDER,
                           "evil.test", "a@sub.org.test")
    assert first == "fail reject"
    assert parsed(field)[1]["dmarc"] == [
        ("fail", "p=reject dis=reject", {"header.from": "sub.org.test"})]
    first, field = verdict(world, message("a@org.test"), FORWARDER,
                           "evil.test", "a@org.test")
    assert first == "fail none"
    assert parsed(field)[1]["dmarc"][0][1] == "p=none dis=none"


def test_null_sender_checks_helo(world):
    first, field = verdict(world, message("a@org.test"), CLIENT,
                           "org.test", "<>")
    assert first == "pass none"
    assert parsed(field)[1]["spf"] == [("pass", None,
                                        {"smtp.helo": "org.test"})]


def test_no_record_is_none_and_several_from_domains_permerror(world):
    first, field = verdict(world, message("a@nodmarc.test"), FORWARDER,
                           "h.test", "a@nodmarc.test")
    assert first == "none none"
    assert parsed(field)[1]["dmarc"][0][0] == "none"
    msg = message("a@reject.test").replace(
        b"From: Alice <a@reject.test>\r\n",
        b"From: Alice <a@reject.test>\r\nFrom: b@sender.test\r\n")
    first, field = verdict(world, msg, CLIENT, "h.test", "a@sender.test")
    assert first == "permerror none"
    [(result, _, props)] = parsed(field)[1]["dmarc"]
    assert result == "permerror" and props == {}
    first, field = verdict(world, b"Subject: no author\r\n\r\nx\r\n",
                           CLIENT, "h.test", "a@sender.test")
    assert first == "none none"


def test_time_option_dates_the_dkim_check(world):
    # -t: the signature (t= now) is from the future an hour earlier.
    msg = world.sign(message("alice@sender.test"))
    code, out, err = world.check(msg, CLIENT, "mx.sender.test",
                                 "alice@sender.test",
                                 opts=("-r", AUTHSERV, "-t",
                                       str(int(time.time()) - 3600)))
    assert code == 0, err
    _, field = out.split("\n", 1)
    [(result, comment, _)] = parsed(field.rstrip("\n"))[1]["dkim"]
    assert result == "permerror" and "future" in comment
    # SPF still passes and aligns: DMARC passes on it alone.
    assert out.startswith("pass none\n")


def test_field_is_folded_under_78_columns(world):
    msg = world.sign(world.sign(message("alice@sender.test")),
                     domain="sender.test")
    first, field = verdict(world, msg, CLIENT, "mx.sender.test",
                           "alice@sender.test")
    lines = field.split("\n")
    assert len(lines) >= 5
    for i, line in enumerate(lines):
        assert len(line.expandtabs(8)) < 78, line
        assert i == 0 or line[0] in " \t"
    assert len(parsed(field)[1]["dkim"]) == 2


@pytest.mark.skipif(authres is None, reason="python3-authres is missing")
def test_authres_reads_what_email_reads(world):
    msg = world.sign(message("alice@sender.test"))
    _, field = verdict(world, msg, CLIENT, "mx.sender.test",
                       "alice@sender.test")
    authserv, mine = parsed(field)
    m = email.message_from_bytes(field.encode() + b"\n\n",
                                 policy=email.policy.compat32)
    value = m["Authentication-Results"]
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + value)
    assert h.authserv_id == authserv == AUTHSERV
    # authres skips comments as CFWS: results and properties compared.
    theirs = {}
    for r in h.results:
        theirs.setdefault(r.method, []).append(
            (r.result,
             {f"{p.type}.{p.name}": p.value for p in r.properties}))
    assert theirs == {k: [(res, props) for res, _, props in v]
                      for k, v in mine.items()}
    assert theirs["dkim"][0][0] == "pass"
    assert theirs["dmarc"] == [("pass", {"header.from": "sender.test"})]
    assert [r.method for r in h.results] == ["spf", "dkim", "dmarc"]


def test_authserv_id_from_posthorn_conf(world, tmp_path):
    (tmp_path / "posthorn.conf").write_text("hostname = mx.conf.test\n")
    code, out, err = world.check(message("a@org.test"), CLIENT, "h.test",
                                 "a@org.test", opts=("-C", tmp_path))
    assert code == 0, err
    assert out.split("\n")[1] == "Authentication-Results: mx.conf.test;"


def test_exit_codes(world, tmp_path):
    msg = message("a@org.test")
    assert world.check(msg, "192.0.2.300", "h", "a@b.test")[0] == 64
    assert world.check(msg, CLIENT, "h", "a@b.test",
                       opts=("-t", "soon"))[0] == 64
    r = world.ns.run([prog("mailauth"), "check", CLIENT, "h"], env=ENV)
    assert r.returncode == 64
    assert b"usage: mailauth check" in r.stderr
    (tmp_path / "posthorn.conf").write_text("no such key = 1\n")
    code, out, err = world.check(msg, CLIENT, "h", "a@b.test",
                                 opts=("-C", tmp_path))
    assert code == 78 and out == ""
    # A message that cannot be read: standard input is a directory.
    d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = subprocess.run(world.ns.prefix + [
            str(prog("mailauth")), "check", "-r", AUTHSERV, CLIENT, "h",
            "a@b.test"], stdin=d, env=ENV, capture_output=True, timeout=60)
    finally:
        os.close(d)
    assert r.returncode == 75 and r.stdout == b""
    assert b"Is a directory" in r.stderr
