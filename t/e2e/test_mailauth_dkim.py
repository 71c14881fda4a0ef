"""mailauth dkim: DKIM verification against three independent signers,
with the keys in DNS.

The keys are made here with openssl (RSA 2048, Ed25519); their TXT
records are served by dnsmasq (--txt-record) in a private network
namespace of our own (netns.py), where mailauth resolves them through
glibc as it would on a server.  Messages are signed by python3-dkim
(RSA and Ed25519), by opendkim in its test mode with "Mode s" (RSA and
Ed25519: its -t mode signs what a signing configuration says to sign
and prints the field it would insert) and by Mail::DKIM (RSA only:
Debian 12's lacks Ed25519), and must pass; each kind of tampering must
give the result that mailauth(8) documents, with its reason; RFC 8463's
A.3 message passes with its keys in the zone; and on every message of
the corpus mailauth agrees with python3-dkim's verifier signature by
signature, where the policy of mailauth(8) does not differ on purpose.
"""

import base64
import os
import pathlib
import re
import subprocess
import time

import pytest

from conftest import SAN, SAN_ENV, prog

try:
    import dkim  # python3-dkim
except ImportError:
    dkim = None

HERE = pathlib.Path(__file__).resolve().parent
MD_SIGN = HERE / "dkim" / "mail_dkim_sign.pl"
D = "sign.test"
NOW = int(time.time())

MSG = (b"From: Alice <alice@sign.test>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: the figures\r\n"
       b"Date: Sun, 06 Dec 2026 22:00:00 +0000\r\n"
       b"Message-ID: <m1@sign.test>\r\n"
       b"\r\n"
       b"Here they are.  \r\n"
       b"\tindented line\r\n"
       b"\r\n"
       b"-- \r\n"
       b"Alice\r\n")

# RFC 8463 Appendix A.3, as the RFC prints it, and its key records.
RFC_MSG = (
    b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    b" subject : date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    b" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    b" date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    b" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    b" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    b"From: Joe SixPack <joe@football.example.com>\r\n"
    b"To: Suzie Q <suzie@shopping.example.net>\r\n"
    b"Subject: Is dinner ready?\r\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    b"\r\n"
    b"Hi.\r\n"
    b"\r\n"
    b"We lost the game.  Are you hungry yet?\r\n"
    b"\r\n"
    b"Joe.\r\n")
RFC_KEYS = {
    "brisbane._domainkey.football.example.com":
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "test._domainkey.football.example.com":
        "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzW"
        "RiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3Fu"
        "tACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO"
        "2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
}


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True,
                          capture_output=True, timeout=120).stdout


class World:
    """Keys, their zone, the namespace that serves it, the signers."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.rsa = tmp / "rsa.pem"          # PKCS#1: all three read it
        openssl("genrsa", "-traditional", "-out", str(self.rsa), "2048")
        self.small = tmp / "small.pem"      # under RFC 8301's 1024 bits
        openssl("genrsa", "-traditional", "-out", str(self.small), "512")
        self.ed = tmp / "ed.pem"            # PKCS#8, for opendkim
        openssl("genpkey", "-algorithm", "ed25519", "-out", str(self.ed))
        rsa_pub = base64.b64encode(openssl(
            "rsa", "-in", str(self.rsa), "-pubout", "-outform",
            "DER")).decode()
        # The last 32 bytes of the DER forms: the public key of the
        # SubjectPublicKeyInfo, the seed of the PKCS#8 key (dkimpy's).
        ed_pub = base64.b64encode(openssl(
            "pkey", "-in", str(self.ed), "-pubout", "-outform",
            "DER")[-32:]).decode()
        small_pub = base64.b64encode(openssl(
            "rsa", "-in", str(self.small), "-pubout", "-outform",
            "DER")).decode()
        self.ed_seed = base64.b64encode(openssl(
            "pkey", "-in", str(self.ed), "-outform", "DER")[-32:])
        k = f"._domainkey.{D}"
        self.zone = {
            "rsa" + k: f"v=DKIM1; k=rsa; p={rsa_pub}",
            "ed" + k: f"v=DKIM1; k=ed25519; p={ed_pub}",
            "revoked" + k: "v=DKIM1; k=rsa; p=",
            "wrongk" + k: f"v=DKIM1; k=ed25519; p={ed_pub}",
            "testing" + k: f"v=DKIM1; t=y; p={rsa_pub}",
            "strict" + k: f"v=DKIM1; t=s; p={rsa_pub}",
            "sha1only" + k: f"v=DKIM1; h=sha1; p={rsa_pub}",
            "notemail" + k: f"v=DKIM1; s=tlsrpt; p={rsa_pub}",
            "small" + k: f"v=DKIM1; p={small_pub}",
            **RFC_KEYS,
        }
        from netns import Netns, dnsmasq_conf
        extra = ["local=/sign.test/"]
        for name, text in self.zone.items():
            chunks = [text[i:i + 255] for i in range(0, len(text), 255)]
            extra.append(f"txt-record={name}," + ",".join(
                f'"{c}"' for c in chunks))
        self.ns = Netns(tmp / "netns", dns_conf=dnsmasq_conf(extra))
        self.n = 0

    def close(self):
        self.ns.close()

    # --- the signers ---

    def py(self, msg, sel="rsa", alg=b"rsa-sha256", domain=D,
           canon=(b"relaxed", b"relaxed"), headers=None, length=False,
           identity=None):
        assert dkim is not None, "python3-dkim is not installed"
        key = (self.ed_seed if alg == b"ed25519-sha256"
               else self.rsa.read_bytes())
        sig = dkim.sign(msg, sel.encode(), domain.encode(), key,
                        signature_algorithm=alg, canonicalize=canon,
                        include_headers=headers, length=length,
                        identity=identity)
        return sig + msg

    def opendkim(self, msg, ed=False):
        """opendkim -t with a signing configuration: it prints the field
        it would insert ("### INSHEADER: ... hvalue='...'")."""
        self.n += 1
        conf = self.tmp / f"od{self.n}.conf"
        path = self.tmp / f"od{self.n}.eml"
        path.write_bytes(msg)
        conf.write_text(
            "Mode s\n"
            f"Domain {D}\n"
            f"Selector {'ed' if ed else 'rsa'}\n"
            f"KeyFile {self.ed if ed else self.rsa}\n"
            f"SignatureAlgorithm {'ed25519-sha256' if ed else 'rsa-sha256'}\n"
            "Canonicalization relaxed/simple\n"
            # pytest's directories are under /tmp, which others can
            # write: opendkim would refuse the key file there.
            "RequireSafeKeys no\n"
            "Syslog no\n")
        r = subprocess.run(["opendkim", "-x", str(conf), "-vvv", "-t",
                            str(path)], capture_output=True, timeout=120)
        text = (r.stdout + r.stderr).decode()
        m = re.search(r"hname='DKIM-Signature' hvalue='(.*?)'", text, re.S)
        assert m, text
        field = "DKIM-Signature: " + m.group(1).replace("\n", "\r\n")
        return field.encode() + b"\r\n" + msg

    def mail_dkim(self, msg, sel="rsa", t=None, x=None, key=None):
        args = ["perl", str(MD_SIGN), str(key or self.rsa), sel, D]
        if t is not None or x is not None:
            args += [str(t or 0), str(x or 0)]
        r = subprocess.run(args, input=msg, capture_output=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    # --- the verifiers ---

    def mailauth(self, msg, *args):
        env = dict(os.environ)
        if SAN:
            env.update(SAN_ENV)
        r = self.ns.run([prog("mailauth"), "dkim", *args], input=msg,
                        env=env, timeout=120)
        assert r.stderr == b"", r.stderr
        lines = r.stdout.decode().splitlines()
        assert lines, r
        sigs = []
        for line in lines[:-1]:
            m = re.fullmatch(r'(\w+) d=(\S*) s=(\S*) a=(\S*)'
                             r'(?: reason="([^"]*)")?', line)
            assert m, line
            sigs.append(m.groups())
        return r.returncode, sigs, lines[-1]

    def dkimpy(self, msg):
        """python3-dkim's verdict on each signature, in order."""
        def dnsfunc(name, timeout=5):
            return self.zone.get(name.decode().rstrip("."), "").encode()

        out = []
        n = len(re.findall(rb"^DKIM-Signature:", msg, re.M | re.I))
        for i in range(n):
            try:
                out.append(bool(dkim.DKIM(msg, minkey=1024).verify(
                    idx=i, dnsfunc=dnsfunc)))
            except Exception:   # nacl's ValueError for a k= mismatch
                out.append(False)
        return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("dkimv"))
    yield w
    w.close()


def results(sigs):
    return [(res, reason or "") for res, _, _, _, reason in sigs]


# --- independent signers: pass ----------------------------------------

SIGNERS = {
    "python3-dkim rsa relaxed/relaxed": lambda w: w.py(MSG),
    "python3-dkim rsa simple/simple":
        lambda w: w.py(MSG, canon=(b"simple", b"simple")),
    "python3-dkim rsa relaxed/simple":
        lambda w: w.py(MSG, canon=(b"relaxed", b"simple")),
    "python3-dkim ed25519": lambda w: w.py(MSG, sel="ed",
                                           alg=b"ed25519-sha256"),
    "opendkim rsa": lambda w: w.opendkim(MSG),
    "opendkim ed25519": lambda w: w.opendkim(MSG, ed=True),
    "Mail::DKIM rsa": lambda w: w.mail_dkim(MSG),
}


@pytest.mark.parametrize("name", SIGNERS)
def test_independent_signers_pass(world, name):
    msg = SIGNERS[name](world)
    rc, sigs, ar = world.mailauth(msg)
    alg = "ed25519-sha256" if "ed25519" in name else "rsa-sha256"
    sel = "ed" if "ed25519" in name else "rsa"
    assert sigs == [("pass", D, sel, alg, None)]
    assert ar.startswith(f"dkim=pass header.d={D} header.i=@{D} "
                         f"header.s={sel} header.a={alg} header.b=")
    assert rc == 0


def test_every_signature_of_a_message(world):
    msg = world.mail_dkim(world.opendkim(world.py(
        MSG, sel="ed", alg=b"ed25519-sha256")))
    rc, sigs, ar = world.mailauth(msg)
    assert [(r, s, a) for r, _, s, a, _ in sigs] == [
        ("pass", "rsa", "rsa-sha256"), ("pass", "rsa", "rsa-sha256"),
        ("pass", "ed", "ed25519-sha256")]
    assert ar.count("dkim=pass") == 3 and rc == 0
    rc, sigs, ar = world.mailauth(msg.replace(b"Alice\r\n", b"Mallory\r\n"))
    assert results(sigs) == [("fail", "body hash mismatch")] * 3
    assert rc == 1
    assert ar.count("dkim=fail (body hash mismatch)") == 3


def test_rfc8463_a3_message_passes(world):
    rc, sigs, ar = world.mailauth(RFC_MSG)
    assert sigs == [
        ("pass", "football.example.com", "brisbane", "ed25519-sha256", None),
        ("pass", "football.example.com", "test", "rsa-sha256", None)]
    assert rc == 0


def test_message_with_lf_line_ends_verifies_as_crlf(world):
    """A message stored with bare LF (a Maildir, a pipe) is verified in
    its CRLF form, the one that was signed."""
    msg = world.py(MSG, canon=(b"simple", b"simple")).replace(b"\r\n",
                                                               b"\n")
    rc, sigs, ar = world.mailauth(msg)
    assert results(sigs) == [("pass", "")] and rc == 0


def test_unsigned_message_is_none(world):
    rc, sigs, ar = world.mailauth(MSG)
    assert sigs == [] and ar == "dkim=none" and rc == 1


def test_folded_d_cannot_forge_a_line_of_output(world):
    """A d= folded (FWS is allowed inside a tag's value) so that its
    second line reads like a verdict of its own: one signature, broken,
    and the folding shown as '?', not a line that says "pass"."""
    msg = (b"DKIM-Signature: v=1; a=rsa-sha256; d=x.test\r\n"
           b" pass d=bank.test; s=sel; h=from; bh=AA==; b=AA==\r\n" + MSG)
    rc, sigs, ar = world.mailauth(msg)
    assert sigs == [("permerror", "x.test???pass?d=bank.test", "sel",
                     "rsa-sha256", "d= is not a domain")], sigs
    assert ar.startswith("dkim=permerror ") and "\n" not in ar
    assert rc == 1


# --- each kind of tampering -------------------------------------------

def drop_from_in_h(msg):
    """The field's h= without "from" (the signature is then broken too,
    but the verdict comes before any hash)."""
    head, sep, rest = msg.partition(b"\r\n\r\n")
    head = re.sub(rb"(h=[^;]*)", lambda m: re.sub(
        rb"(?i)\bfrom\s*:\s*|\s*:\s*from\b", b"", m.group(1)), head,
        count=1)
    assert not re.search(rb"h=[^;]*from", head, re.I)
    return head + sep + rest


def add_field(msg, field):
    return msg.replace(b"\r\n\r\n", b"\r\n" + field + b"\r\n\r\n", 1)


# name: (message builder, mailauth options, result, reason)
CASES = {
    "subject changed": (
        lambda w: w.py(MSG).replace(b"the figures", b"the figures!"), (),
        "fail", "signature did not verify"),
    "body changed": (
        lambda w: w.py(MSG).replace(b"Here", b"There"), (),
        "fail", "body hash mismatch"),
    "second From added (oversigned)": (
        lambda w: add_field(w.py(MSG, headers=[b"from", b"from", b"to",
                                               b"subject", b"date"]),
                            b"From: Mallory <m@evil.example>"), (),
        "fail", "signature did not verify"),
    "l= covers the whole body": (
        lambda w: w.py(MSG, length=True), (), "pass", ""),
    "text appended beyond l=": (
        lambda w: w.py(MSG, length=True) + b"Send money to Mallory.\r\n",
        (), "policy", "body has unsigned bytes beyond l="),
    "expired x=": (
        lambda w: w.mail_dkim(MSG, t=NOW - 7200, x=NOW - 3600), (),
        "permerror", "signature expired, x="),
    "x= not reached at -t": (
        lambda w: w.mail_dkim(MSG, t=NOW - 7200, x=NOW - 3600),
        ("-t", str(NOW - 5000)), "pass", ""),
    "t= in the future": (
        lambda w: w.mail_dkim(MSG, t=NOW + 86400), (),
        "permerror", "signature dated in the future, t="),
    "revoked key": (
        lambda w: w.py(MSG, sel="revoked"), (),
        "permerror", "key revoked, p= empty"),
    "wrong k=": (
        lambda w: w.py(MSG, sel="wrongk"), (),
        "permerror", "key k= does not match a="),
    "h= without from": (
        lambda w: drop_from_in_h(w.py(MSG)), (),
        "permerror", "From is not signed"),
    "key h=sha1 only": (
        lambda w: w.py(MSG, sel="sha1only"), (),
        "permerror", "key h= excludes the hash"),
    "key s= not email": (
        lambda w: w.py(MSG, sel="notemail"), (),
        "permerror", "key record s= is not for email"),
    "testing key t=y": (
        lambda w: w.py(MSG, sel="testing"), (),
        "neutral", "key in testing mode t=y, good signature"),
    "t=s key, i= in a subdomain": (
        lambda w: w.py(MSG, sel="strict", identity=b"@mail.sign.test"), (),
        "permerror", "key t=s and i= in a subdomain"),
    "t=s key, i= in d=": (
        lambda w: w.py(MSG, sel="strict", identity=b"alice@sign.test"), (),
        "pass", ""),
    "i= outside d=": (
        lambda w: w.py(MSG).replace(b"i=@sign.test;", b"i=@evil.example;",
                                    1),
        (), "permerror", "i= is not within d="),
    "rsa-sha1": (
        lambda w: w.py(MSG, alg=b"rsa-sha1"), (),
        "policy", "rsa-sha1 is not accepted, RFC 8301"),
    "RSA key of 512 bits": (
        lambda w: w.mail_dkim(MSG, sel="small", key=w.small), (),
        "permerror", "RSA key under 1024 bits"),
    "no key record": (
        lambda w: w.py(MSG, sel="nokey"), (), "permerror", "no key record"),
    "DNS failure": (
        lambda w: w.py(MSG, domain="servfail.test"), (),
        "temperror", "key lookup failed for now"),
}


@pytest.fixture(scope="module")
def corpus(world):
    """Each case's message, made once (the cross-check reuses them)."""
    return {name: c[0](world) for name, c in CASES.items()}


@pytest.mark.parametrize("name", CASES)
def test_tampering_gives_the_documented_result(world, corpus, name):
    _, args, want, reason = CASES[name]
    rc, sigs, ar = world.mailauth(corpus[name], *args)
    assert results(sigs) == [(want, reason)]
    assert rc == (0 if want == "pass" else 1)
    assert ar.startswith(f"dkim={want}")


# --- the cross-check with python3-dkim's verifier ---------------------

# Where mailauth(8) decides otherwise on purpose: the signature verifies
# (python3-dkim says so) but is not taken as a pass.
POLICY = {
    "text appended beyond l=": "policy",
    "rsa-sha1": "policy",
    "testing key t=y": "neutral",
    # python3-dkim (1.1.4) does not apply the key's t=s and h= tags,
    # nor x= (RFC 6376 §3.5 lets a verifier choose; we refuse).
    "t=s key, i= in a subdomain": "permerror",
    "key h=sha1 only": "permerror",
    "expired x=": "permerror",
}


def test_verdicts_agree_with_python3_dkim(world, corpus):
    assert dkim is not None, "python3-dkim is not installed"
    messages = dict(corpus)
    messages["rfc8463"] = RFC_MSG
    for name, fn in SIGNERS.items():
        messages[name] = fn(world)
    messages["three signatures"] = world.mail_dkim(world.opendkim(world.py(
        MSG, sel="ed", alg=b"ed25519-sha256")))
    messages["three signatures, body changed"] = messages[
        "three signatures"].replace(b"Alice\r\n", b"Mallory\r\n")
    disagree = []
    for name, msg in messages.items():
        if name in CASES and (CASES[name][1] or
                              CASES[name][2] == "temperror"):
            continue        # another clock, or no answer to compare
        _, sigs, _ = world.mailauth(msg)
        ours = [res for res, *_ in sigs]
        theirs = world.dkimpy(msg)
        if name in POLICY:
            ok = ours == [POLICY[name]] and theirs == [True]
        else:
            ok = len(ours) == len(theirs) and all(
                (o == "pass") == t for o, t in zip(ours, theirs))
        if not ok:
            disagree.append((name, ours, theirs))
    assert not disagree, disagree
