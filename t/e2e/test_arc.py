"""ARC sealing of forwarded mail, end to end (queue-run(8), "ARC sealing").

A message from outside arrives on port 25 for a catch-all of example.com
that forwards it to someone@outside.test ("Gmail": aiosmtpd in a network
namespace of our own, netns.py).  queue-run seals the forwarded copy with
example.com's DKIM key; what the peer received must verify with
python3-dkim's ARC verifier (dkim.arc_verify), the public keys coming
from `dkimsign -p` through its dnsfunc hook.  A message that already
carries a set made by python3-dkim's arc_sign for relay.test (its key in
the namespace's DNS, served by dnsmasq, where queue-run looks it up) gets
i=2 with cv=pass and still verifies; a tampered one is not sealed as
cv=pass.  The checks' results of the envelope (authres) become the
ARC-Authentication-Results field.  Every wait is for a log event or a
stored message, bounded.
"""

import base64
import os
import re
import subprocess
import time

import pytest

from conftest import HOSTNAME, WAIT, Peer, QueueRun
from netns import AIO, OURS, PYTHON, Netns, dnsmasq_conf, wait_messages
from test_dkimsign import parse_records

try:
    import dkim  # python3-dkim (with python3-authres for ARC)
except ImportError:  # a failure, not a skip: t/deps.sh installs it
    dkim = None

DOMAIN = "example.com"
RELAY = "relay.test"
RELAY_SEL = "hop1"
FORWARD_TO = "someone@outside.test"

MSG = (b"From: Carol <carol@sender.test>\r\n"
       b"To: info@example.com\r\n"
       b"Subject: forwarded, and sealed\r\n"
       b"Date: Mon, 07 Dec 2026 01:00:00 +0000\r\n"
       b"Message-ID: <arc1@sender.test>\r\n"
       b"\r\n"
       b"Hello through the catch-all.\r\n"
       b"A line  with  spaces \t\r\n")

CLIENT = r"""
import smtplib, sys
dst, sender, rcpt = sys.argv[1], sys.argv[2], sys.argv[3]
msg = sys.stdin.buffer.read()
with smtplib.SMTP(dst, 25, timeout=20) as s:
    s.sendmail(sender, [rcpt], msg)
print("sent")
"""


def relay_key(tmp):
    """An RSA key for relay.test: its PEM and its TXT record."""
    key = tmp / "relay.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", key], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_bytes(), "v=DKIM1; k=rsa; p=" + base64.b64encode(
        der).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The namespace, with relay.test's key in its DNS."""
    tmp = tmp_path_factory.mktemp("arc")
    pem, record = relay_key(tmp)
    chunks = [record[i:i + 255] for i in range(0, len(record), 255)]
    extra = ["local=/relay.test/",
             f"txt-record={RELAY_SEL}._domainkey.{RELAY}," + ",".join(
                 f'"{c}"' for c in chunks)]
    ns = Netns(tmp / "netns", dns_conf=dnsmasq_conf(extra))
    ns.relay_pem = pem
    ns.relay_record = record
    yield ns
    ns.close()


@pytest.fixture
def ns(world):
    mark = world.mark()
    yield world
    world.stop_since(mark)


def keys(conf, domain, kind=None):
    """Keys for domain (dkimsign -g), only those of kind if given, and
    their records {name: value}."""
    r = conf.run("dkimsign", "-g", domain)
    assert r.returncode == 0, r.stderr
    kdir = conf.dir / "domains" / domain / "dkim"
    if kind is not None:
        for f in kdir.iterdir():
            if not f.name.endswith("." + kind):
                f.unlink()
    r = conf.run("dkimsign", "-p", domain)
    assert r.returncode == 0, r.stderr
    return parse_records(r.stdout.decode())


def forward(ns, conf, tmp_path, msg, seal=None):
    """Send msg from outside to info@example.com, which the catch-all
    forwards to someone@outside.test; the message the peer got, and
    queue-run's log events."""
    (conf.dir / "domains" / DOMAIN / "aliases").write_text(
        f"*: {FORWARD_TO}\n")
    (conf.dir / "routes").write_text(f"* {AIO}:25 tls=none\n")
    if seal is not None:
        conf.write(arc_seal=seal)
    peer = ns.aiosmtpd([f"{AIO}:25"], tmp_path / "peer",
                       hostname="mx.outside.test")
    ns.smtp_in(conf, [f"{OURS}:25"])
    qr = ns.queue_run(conf)
    r = ns.run([PYTHON, "-c", CLIENT, OURS, "carol@sender.test",
                "info@example.com"], input=msg, timeout=WAIT + 10)
    assert r.returncode == 0, r.stderr
    [got] = wait_messages(peer)
    qr.delivered()
    assert got.rcpts == [FORWARD_TO]
    return got.data, qr


def arc_verify(data, records):
    """python3-dkim's verdict on the ARC chain of data: (cv, results,
    reason); keys from records, else from relay.test's."""
    assert dkim is not None, "python3-dkim is not installed (t/deps.sh)"

    def dnsfunc(name, timeout=5):
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value is not None else None

    return dkim.arc_verify(data, dnsfunc=dnsfunc)


def arc_fields(data, name):
    """The fields named name in the header of data, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    out = []
    for f in re.split(r"\r\n(?![ \t])", head):
        n, _, v = f.partition(":")
        if n.lower() == name.lower():
            out.append(re.sub(r"\r\n[ \t]", " ", v).strip())
    return out


def tags(value):
    return {k.strip(): v.strip() for k, _, v in
            (t.partition("=") for t in value.split(";") if "=" in t)}


def hop1(ns, msg, results="spf=pass smtp.mailfrom=sender.test"):
    """msg with relay.test's Authentication-Results and its ARC set
    (i=1, cv=none) made by python3-dkim's arc_sign, as a first
    forwarder would send it to us."""
    assert dkim is not None, "python3-dkim is not installed (t/deps.sh)"
    msg = (f"Authentication-Results: {RELAY}; {results}\r\n".encode()
           + msg)
    fields = dkim.arc_sign(msg, RELAY_SEL.encode(), RELAY.encode(),
                           ns.relay_pem, RELAY.encode())
    assert len(fields) == 3, fields
    return b"".join(fields) + msg


def test_forwarded_mail_is_sealed_at_i1_and_verifies(ns, conf, tmp_path):
    records = keys(conf, DOMAIN)
    data, qr = forward(ns, conf, tmp_path, MSG)
    cv, results, reason = arc_verify(data, records)
    assert cv == b"pass", (reason, data[:1500])
    [seal] = arc_fields(data, "ARC-Seal")
    st = tags(seal)
    assert (st["i"], st["cv"], st["d"]) == ("1", "none", DOMAIN), seal
    # An RSA key when the domain has one: rsa-sha256 is what every ARC
    # verifier knows (Gmail's included).
    assert st["a"] == "rsa-sha256"
    assert f"{st['s']}._domainkey.{DOMAIN}" in records
    [ams] = arc_fields(data, "ARC-Message-Signature")
    assert tags(ams)["i"] == "1" and tags(ams)["d"] == DOMAIN
    # No checks were recorded (no authres): "none", by our hostname.
    [aar] = arc_fields(data, "ARC-Authentication-Results")
    assert aar == f"i=1; {HOSTNAME}; none", aar
    # The set goes first, before the Received: field of our smtp-in.
    assert data.startswith(b"ARC-Seal: "), data[:300]
    [ev] = qr.events("sealed")
    assert ev["domain"] == DOMAIN
    # Not DKIM-signed: the mail is not ours.
    assert b"DKIM-Signature" not in data
    assert qr.events("signed") == []


def test_ed25519_only_domain_seals_with_ed25519(ns, conf, tmp_path):
    """A domain with an Ed25519 key only seals with it (RFC 8463's
    a=ed25519-sha256, which RFC 8617's a= takes from DKIM).  python3-dkim
    refuses it for ARC by a list of its own (dkim.crypto's
    ARC_HASH_ALGORITHMS holds rsa-sha256 alone), as some receivers will:
    queue-run(8) says so.  With the algorithm added to that list, its
    verifier checks the Ed25519 seal and AMS like any other."""
    records = keys(conf, DOMAIN, kind="ed25519")
    data, _ = forward(ns, conf, tmp_path, MSG)
    [seal] = arc_fields(data, "ARC-Seal")
    assert tags(seal)["a"] == "ed25519-sha256", seal
    cv, _, reason = arc_verify(data, records)
    assert cv == b"fail" and b"ed25519" in reason.encode(), reason
    import hashlib
    import dkim.crypto
    algs = dkim.crypto.ARC_HASH_ALGORITHMS
    algs[b"ed25519-sha256"] = hashlib.sha256
    try:
        cv, _, reason = arc_verify(data, records)
    finally:
        del algs[b"ed25519-sha256"]
    assert cv == b"pass", (reason, data[:1500])


def test_second_hop_gets_i2_cv_pass_and_verifies(ns, conf, tmp_path):
    records = keys(conf, DOMAIN)
    records[f"{RELAY_SEL}._domainkey.{RELAY}"] = ns.relay_record
    msg = hop1(ns, MSG)
    # What we got verifies by itself, as python3-dkim sees it.
    assert arc_verify(msg, records)[0] == b"pass"
    data, qr = forward(ns, conf, tmp_path, msg)
    seals = sorted(tags(s)["i"] + tags(s)["cv"]
                   for s in arc_fields(data, "ARC-Seal"))
    assert seals == ["1none", "2pass"], data[:3000]
    cv, results, reason = arc_verify(data, records)
    assert cv == b"pass", (reason, data[:3000])
    assert [r["instance"] for r in results] == [2, 1], results
    aars = {tags(a)["i"]: a for a in arc_fields(
        data, "ARC-Authentication-Results")}
    assert aars["2"].endswith("arc=pass"), aars
    assert qr.events("sealed")[0]["domain"] == DOMAIN


def test_tampered_chain_is_not_sealed_as_pass(ns, conf, tmp_path):
    records = keys(conf, DOMAIN)
    records[f"{RELAY_SEL}._domainkey.{RELAY}"] = ns.relay_record
    msg = hop1(ns, MSG).replace(b"Hello through", b"Hullo through")
    assert arc_verify(msg, records)[0] == b"fail"
    data, qr = forward(ns, conf, tmp_path, msg)
    seals = [tags(s) for s in arc_fields(data, "ARC-Seal")]
    assert all(s["cv"] != "pass" for s in seals), seals
    assert [s["i"] for s in seals] == ["1"], seals
    [ev] = qr.events("unsealed")
    assert "body hash" in ev["reason"], ev
    # Delivered all the same: ARC never holds a forwarded message.
    assert b"Hullo through" in data


def test_tampered_seal_is_not_sealed_as_pass(ns, conf, tmp_path):
    """The body and the AMS are intact, but the results that the first
    seal vouches for were changed after it signed them."""
    records = keys(conf, DOMAIN)
    records[f"{RELAY_SEL}._domainkey.{RELAY}"] = ns.relay_record
    good = hop1(ns, MSG)
    msg = re.sub(rb"(ARC-Authentication-Results: i=1; [^\r]*)spf=pass",
                 rb"\1spf=fail", good, count=1)
    assert msg != good
    assert arc_verify(msg, records)[0] == b"fail"
    data, qr = forward(ns, conf, tmp_path, msg)
    assert [tags(s)["i"] for s in arc_fields(data, "ARC-Seal")] == ["1"]
    [ev] = qr.events("unsealed")
    assert ev["reason"].endswith(
        "ARC-Seal i=1: signature did not verify"), ev


def test_seal_stating_a_false_cv_is_not_sealed_as_pass(ns, conf, tmp_path):
    """A first seal that says cv=pass (there was no chain before it)."""
    keys(conf, DOMAIN)
    msg = hop1(ns, MSG).replace(b"cv=none", b"cv=pass", 1)
    data, qr = forward(ns, conf, tmp_path, msg)
    assert [tags(s)["i"] for s in arc_fields(data, "ARC-Seal")] == ["1"]
    [ev] = qr.events("unsealed")
    assert "ARC-Seal i=1 says cv=pass" in ev["reason"], ev


def test_arc_seal_no_leaves_it_unsealed(ns, conf, tmp_path):
    keys(conf, DOMAIN)
    data, qr = forward(ns, conf, tmp_path, MSG, seal="no")
    assert b"ARC-" not in data
    assert qr.events("sealed") == [] and qr.events("unsealed") == []


def test_local_delivery_is_not_sealed(ns, conf, tmp_path):
    keys(conf, DOMAIN)
    (conf.dir / "domains" / DOMAIN / "aliases").write_text(
        f"info: bob, {FORWARD_TO}\n")
    (conf.dir / "routes").write_text(f"* {AIO}:25 tls=none\n")
    peer = ns.aiosmtpd([f"{AIO}:25"], tmp_path / "peer")
    ns.smtp_in(conf, [f"{OURS}:25"])
    qr = ns.queue_run(conf)
    r = ns.run([PYTHON, "-c", CLIENT, OURS, "carol@sender.test",
                "info@example.com"], input=MSG, timeout=WAIT + 10)
    assert r.returncode == 0, r.stderr
    [got] = wait_messages(peer)
    qr.delivered(2)
    assert got.data.startswith(b"ARC-Seal: ")
    [bob] = conf.maildir(DOMAIN, "bob")
    assert b"ARC-" not in bob, bob[:800]


def test_the_checks_results_go_into_the_aar(conf):
    """The envelope's authres (what smtp-in's checks found,
    posthorn-queue(5)) is the body of the ARC-Authentication-Results
    field, parsed back by python3-authres as the results it names.  The
    queued message is written here as a writer of the queue would, and
    the forwarded copy goes to a peer on loopback: no DNS is needed for a
    first set."""
    import authres  # python3-authres
    records = keys(conf, DOMAIN)
    (conf.dir / "domains" / DOMAIN / "aliases").write_text(
        f"*: {FORWARD_TO}\n")
    peer = Peer()
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{peer.port} tls=none\n")
    results = (f"{HOSTNAME}; spf=pass smtp.mailfrom=sender.test; "
               "dkim=none (no signature; checked) header.d=sender.test; "
               "dmarc=fail (p=none) header.from=sender.test")
    qid = "0000000000000007"
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {int(time.time())}"
        f"\nfrom <carol@sender.test>\nrcpt <info@example.com>\nvia mx\n"
        f"peer 192.0.2.7\nhelo client.sender.test\nauthres {results}\n\n"
        .encode() + MSG.replace(b"\r\n", b"\n"))
    os.rename(tmp, conf.spool / "new" / qid)
    qr = QueueRun(conf)
    try:
        [(mail_from, rcpts, data)] = peer.wait()
        qr.delivered()
    finally:
        qr.stop()
        peer.stop()
    assert rcpts == [FORWARD_TO]
    assert arc_verify(data, records)[0] == b"pass"
    [aar] = arc_fields(data, "ARC-Authentication-Results")
    assert aar.startswith("i=1; ")
    assert aar[len("i=1; "):] == results, aar
    parsed = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + aar[len("i=1; "):])
    assert parsed.authserv_id == HOSTNAME
    assert [(r.method, r.result) for r in parsed.results] == [
        ("spf", "pass"), ("dkim", "none"), ("dmarc", "fail")]
    # Every line of the set within 78 columns (the AAR folded between
    # results, the signatures as dkimsign folds them).
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
