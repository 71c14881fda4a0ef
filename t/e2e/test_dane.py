"""DANE for SMTP (RFC 7672) end to end: smtp-out against TLS peers whose
names live in a DNSSEC-signed test zone, inside the private network
namespace of netns.py.

The zone dane.test is made and signed here, at run time, with ldnsutils
(ldns-keygen, ldns-signzone; the private key never leaves the test's
directory), served by nsd on 127.0.0.1:5354, and reached through the
namespace's dnsmasq (a server=/dane.test/ line), as a signed zone on the
Internet is reached through the resolver of /etc/resolv.conf.  smtp-out
validates with libunbound and the zone's own key as its trust anchor
(posthorn.conf: dnssec = validate, dnssec_trust_anchor = that key), so
that every other zone of the namespace (tls.test, ...) is insecure, as an
unsigned zone is under the root's key.

Every test checks what a user would: the result line (sent or deferred,
tls=dane or opportunistic), the delivery log line, and whether the peer
got the message; a deferral means nothing reached the peer, in clear or
otherwise.
"""

import datetime
import hashlib
import pathlib
import re
import shutil
import subprocess
import types

import pytest

from conftest import WAIT, parse_kv
from netns import (AIO, DNS, NAME_WAIT, PEERS, PYTHON, TLS, TestCA,
                   dnsmasq_conf, wait_messages)

EX_OK, EX_TEMPFAIL = 0, 75
NSD_PORT = 5354
DANE_PEER = "127.0.0.12"     # aiosmtpd, STARTTLS, chain: leaf + test CA
SELF_PEER = "127.0.0.13"     # aiosmtpd, STARTTLS, a self-signed cert
ZONE = "dane.test"
# The peer's certificate names every MX host of the zone that points at
# it (DANE-TA checks the name, RFC 7672 §3.2.2).
NAMES = [f"mx.{d}.{ZONE}" for d in ("good", "bad", "ta", "notlsa", "pkix",
                                    "bogus")]

MESSAGE = (b"From: Alice <alice@example.com>\n"
           b"To: someone@remote\n"
           b"Subject: DANE\n"
           b"Message-ID: <dane@example.com>\n"
           b"\n"
           b"sent only where the TLSA records say\n")


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True,
                       timeout=60, **kw)
    assert r.returncode == 0, (cmd, r.stderr.decode())
    return r.stdout


def der(pem):
    return run(["openssl", "x509", "-in", pem, "-outform", "DER"])


def spki(pem):
    pub = run(["openssl", "x509", "-in", pem, "-pubkey", "-noout"])
    return run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub)


def zone_text(ca):
    """The zone before signing: one mail domain per case."""
    leaf_spki = hashlib.sha256(spki(ca.cert)).hexdigest()
    ca_cert = hashlib.sha256(der(ca.ca)).hexdigest()
    other = hashlib.sha256(b"not the peer's key").hexdigest()
    lines = [
        f"$ORIGIN {ZONE}.",
        "$TTL 300",
        f"@ IN SOA ns.{ZONE}. hostmaster.{ZONE}. 1 3600 600 86400 300",
        f"@ IN NS ns.{ZONE}.",
        f"ns IN A {DNS}",
    ]
    hosts = {
        # domain: (address of its MX host, TLSA records)
        "good": (DANE_PEER, [f"3 1 1 {leaf_spki}"]),
        "bad": (DANE_PEER, [f"3 1 1 {other}"]),
        "strip": (AIO, [f"3 1 1 {leaf_spki}"]),
        "ta": (DANE_PEER, [f"2 0 1 {ca_cert}"]),
        "notlsa": (DANE_PEER, []),
        # PKIX-EE only: unusable for SMTP (RFC 7672 §3.1.3), so TLS is
        # required but not authenticated.
        "pkix": (DANE_PEER, [f"1 1 1 {leaf_spki}"]),
        "bogus": (DANE_PEER, [f"3 1 1 {leaf_spki}"]),
    }
    for dom, (addr, tlsas) in hosts.items():
        lines.append(f"{dom} IN MX 10 mx.{dom}.{ZONE}.")
        lines.append(f"mx.{dom} IN A {addr}")
        for t in tlsas:
            lines.append(f"_25._tcp.mx.{dom} IN TLSA {t}")
    lines.append(f"self IN A {SELF_PEER}")
    return "\n".join(lines) + "\n"


def sign(d, text):
    """Sign the zone with a fresh key: (signed zone file, the key's
    DNSKEY record file, the trust anchor)."""
    (d / "zone").write_text(text)
    base = run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", ZONE],
               cwd=d).decode().strip()
    # Signatures valid from yesterday: a validator's clock a little
    # behind ours still takes them.
    since = (datetime.datetime.utcnow()
             - datetime.timedelta(days=1)).strftime("%Y%m%d")
    run(["ldns-signzone", "-i", since, "-o", ZONE, "zone", base], cwd=d)
    signed = d / "zone.signed"
    # A record changed after signing: its signature no longer holds,
    # the answer is bogus, never merely insecure.
    text = signed.read_text()
    was = f"mx.bogus.{ZONE}.\t300\tIN\tA\t{DANE_PEER}"
    assert was in text, text
    signed.write_text(text.replace(was, f"mx.bogus.{ZONE}.\t300\tIN\tA\t{AIO}"))
    return signed, d / f"{base}.key"


NSD_CONF = """server:
	ip-address: {addr}@{port}
	username: ""
	chroot: ""
	zonesdir: "{dir}"
	pidfile: "{dir}/nsd.pid"
	xfrdfile: "{dir}/xfrd.state"
	xfrdir: "{dir}"
	zonelistfile: "{dir}/zone.list"
	database: ""
	verbosity: 1
	server-count: 1
remote-control:
	control-enable: no
zone:
	name: {zone}
	zonefile: {zonefile}
"""


@pytest.fixture(scope="module")
def dane(netns, tmp_path_factory):
    """The signed zone served by nsd and forwarded to by dnsmasq, and the
    peers' certificates: a namespace with .anchor (the zone's key),
    .ca (TestCA for NAMES), .chain (leaf + CA for the peer)."""
    for p in ("nsd", "ldns-signzone", "ldns-keygen"):
        if shutil.which(p) is None:
            raise RuntimeError(f"{p} is missing (sh t/deps.sh)")
    d = tmp_path_factory.mktemp("dane")
    ca = TestCA(d / "ca", names=NAMES)
    chain = d / "chain.pem"
    chain.write_text(ca.cert.read_text() + ca.ca.read_text())
    zd = d / "zone"
    zd.mkdir()
    signed, anchor = sign(zd, zone_text(ca))
    conf = zd / "nsd.conf"
    conf.write_text(NSD_CONF.format(addr=DNS, port=NSD_PORT, dir=zd,
                                    zone=ZONE, zonefile=signed.name))
    mark = netns.mark()
    netns.spawn("nsd", ["nsd", "-d", "-c", conf])
    netns.set_dns(dnsmasq_conf(
        extra=[f"server=/{ZONE}/{DNS}#{NSD_PORT}"]))
    netns.run([PYTHON, "-c", NAME_WAIT, f"mx.good.{ZONE}", WAIT],
              timeout=WAIT + 10, check=True)
    yield types.SimpleNamespace(anchor=anchor, ca=ca, chain=chain, dir=d)
    netns.stop_since(mark)
    netns.set_dns(dnsmasq_conf())


@pytest.fixture
def conf(conf, dane):
    """DNSSEC validation with the test zone's key; DNS decides routes."""
    conf.write(dnssec="validate", dnssec_trust_anchor=dane.anchor)
    (conf.dir / "routes").write_text("# empty: MX lookups\n")
    return conf


@pytest.fixture
def peer(ns, tmp_path, dane):
    """STARTTLS on DANE_PEER:25, presenting its chain (leaf, test CA)."""
    tls = types.SimpleNamespace(cert=dane.chain, key=dane.ca.key)
    return ns.aiosmtpd([f"{DANE_PEER}:25"], tmp_path / "peer",
                       hostname=f"mx.good.{ZONE}", tls=tls)


def send(ns, conf, domain):
    return ns.smtp_out(conf, "alice@example.com", f"rcpt@{domain}",
                       message=MESSAGE)


def delivery(r):
    """smtp-out's delivery log line, parsed."""
    [line] = [parse_kv(l) for l in r.stderr.splitlines()
              if "event=delivery" in l]
    return line


def assert_deferred_nothing_sent(r, peer_, why):
    assert r.code == EX_TEMPFAIL, r
    [line] = r.lines
    assert line.status == "deferred" and line.dsn.startswith("4."), r
    assert why in line.text, r
    assert peer_.messages() == [], "the peer got the message"


def test_tlsa_3_1_1_matching_is_delivered_tls_dane(ns, conf, peer):
    r = send(ns, conf, f"good.{ZONE}")
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent" and line.tls.endswith("/dane"), r
    assert line.hostname == f"mx.good.{ZONE}", r
    assert delivery(r)["tls"] == "dane", r.stderr
    [tls] = [parse_kv(l) for l in r.stderr.splitlines() if "event=tls " in l]
    assert tls["dane"] == "match", r.stderr
    [got] = wait_messages(peer)
    assert got.tls is not None and got.data.endswith(
        b"sent only where the TLSA records say\r\n")


def test_tlsa_not_matching_is_deferred_never_sent(ns, conf, peer):
    r = send(ns, conf, f"bad.{ZONE}")
    assert_deferred_nothing_sent(r, peer, "TLSA")
    assert r.lines[0].dsn == "4.7.5", r


def test_starttls_stripped_on_a_dane_hop_is_deferred(ns, conf, peer):
    # The MX host has TLSA records; a man in the middle (peers/strip.py,
    # at the MX's address) relays to a server that offers STARTTLS and
    # removes the word from its EHLO reply.
    strip = ns.spawn("strip", [PYTHON, PEERS / "strip.py", "--listen",
                               f"{AIO}:25", "--to", f"{DANE_PEER}:25"])
    strip.wait_for(re.escape(f"listening {AIO}:25"))
    r = send(ns, conf, f"strip.{ZONE}")
    strip.wait_for("stripped")
    assert_deferred_nothing_sent(r, peer, "STARTTLS")
    assert r.lines[0].dsn == "4.7.5", r


def test_dane_ta_2_0_1_with_the_chain_is_delivered(ns, conf, peer):
    r = send(ns, conf, f"ta.{ZONE}")
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/dane"), r
    assert delivery(r)["tls"] == "dane", r.stderr
    assert len(wait_messages(peer)) == 1


def test_dane_ta_without_the_ca_in_the_chain_is_deferred(ns, conf, dane,
                                                         tmp_path):
    # The same peer sending its own certificate only: a DANE-TA digest
    # has nothing to match (RFC 7671 §5.2.2).
    tls = types.SimpleNamespace(cert=dane.ca.cert, key=dane.ca.key)
    leaf_only = ns.aiosmtpd([f"{DANE_PEER}:25"], tmp_path / "leaf",
                            hostname=f"mx.ta.{ZONE}", tls=tls)
    r = send(ns, conf, f"ta.{ZONE}")
    assert_deferred_nothing_sent(r, leaf_only, "TLSA")


def test_signed_zone_without_tlsa_is_opportunistic(ns, conf, peer):
    r = send(ns, conf, f"notlsa.{ZONE}")
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    assert delivery(r)["tls"] == "opportunistic", r.stderr
    [got] = wait_messages(peer)
    assert got.tls is not None


def test_only_pkix_records_mean_tls_without_authentication(ns, conf, peer):
    r = send(ns, conf, f"pkix.{ZONE}")
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    assert delivery(r)["tls"] == "opportunistic", r.stderr
    [got] = wait_messages(peer)
    assert got.tls is not None


def test_bogus_address_records_are_deferred_not_insecure(ns, conf, peer,
                                                        tmp_path):
    # mx.bogus points, unsigned-ly, at the plain peer: an "insecure"
    # reading would deliver there in clear.
    plain = ns.aiosmtpd([f"{AIO}:25"], tmp_path / "plain",
                        hostname=f"mx.bogus.{ZONE}")
    r = send(ns, conf, f"bogus.{ZONE}")
    assert_deferred_nothing_sent(r, plain, "bogus")
    assert peer.messages() == []


def test_unsigned_zone_is_opportunistic_as_before(ns, conf, testca, tmp_path):
    tls_peer = ns.aiosmtpd([f"{TLS}:25"], tmp_path / "tls",
                           hostname="mx.tls.test", tls=testca)
    r = send(ns, conf, "tls.test")
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r
    assert delivery(r)["tls"] == "opportunistic", r.stderr
    assert not any("event=tlsa " in l for l in r.stderr.splitlines()), \
        "a TLSA lookup for a host of an unsigned zone"
    assert len(wait_messages(tls_peer)) == 1


def test_route_tls_dane_to_an_unsigned_zone_is_deferred(ns, conf, testca,
                                                        tmp_path):
    tls_peer = ns.aiosmtpd([f"{TLS}:25"], tmp_path / "tls",
                           hostname="mx.tls.test", tls=testca)
    (conf.dir / "routes").write_text("tls.test mx tls=dane\n")
    r = send(ns, conf, "tls.test")
    assert_deferred_nothing_sent(r, tls_peer, "not DNSSEC-signed")


def test_route_tls_verify_to_a_self_signed_peer_is_deferred(ns, conf, dane,
                                                            tmp_path):
    d = tmp_path / "self"
    d.mkdir()
    cert, key = d / "cert.pem", d / "key.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
         f"/CN=self.{ZONE}", "-addext", f"subjectAltName=DNS:self.{ZONE}",
         "-keyout", key, "-out", cert])
    key.chmod(0o600)
    selfsigned = ns.aiosmtpd([f"{SELF_PEER}:25"], d / "store",
                             hostname=f"self.{ZONE}",
                             tls=types.SimpleNamespace(cert=cert, key=key))
    (conf.dir / "routes").write_text(f"selfsigned.test self.{ZONE} "
                                     "tls=verify\n")
    r = send(ns, conf, "selfsigned.test")
    assert_deferred_nothing_sent(r, selfsigned, "not verified")
    # The same peer under tls=encrypt takes it: the refusal was verify's.
    (conf.dir / "routes").write_text(f"selfsigned.test self.{ZONE} "
                                     "tls=encrypt\n")
    r = send(ns, conf, "selfsigned.test")
    assert r.code == EX_OK, r
    assert r.lines[0].tls.endswith("/opportunistic"), r


def test_queue_run_logs_and_mailq_show_tls_dane(ns, conf, peer):
    from test_smtpout import inject
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", f"rcpt@good.{ZONE}", body=MESSAGE)
    [line] = qr.wait_for(r"event=delivery id=\S+ .*via=remote.*status=sent")
    assert "tls=dane" in line, line
    assert len(wait_messages(peer)) == 1


def test_queue_run_keeps_a_mismatch_queued_and_mailq_names_tls(ns, conf,
                                                               peer):
    from test_smtpout import inject
    qr = ns.queue_run(conf)
    inject(conf, "alice@example.com", f"rcpt@bad.{ZONE}", body=MESSAGE)
    [line] = qr.wait_for(r"event=delivery id=\S+ .*status=deferred")
    assert "dsn=4.7.5" in line and "TLSA" in line, line
    qr.wait_for(r"event=waiting")      # the state is written
    listing = conf.run("mailq").stdout.decode()
    assert f"<rcpt@bad.{ZONE}>" in listing, listing
    assert f"via mx.bad.{ZONE}[{DANE_PEER}] tls=opportunistic" in listing, \
        listing
    assert peer.messages() == []
