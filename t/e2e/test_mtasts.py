"""MTA-STS (RFC 8461) end to end: smtp-out against MX peers and an HTTPS
policy server in the private network namespace (netns.py), nothing
leaving the machine.

dnsmasq serves, for each test domain D, an MX record, the TXT record
_mta-sts.D ("v=STSv1; id=..."), and mta-sts.D pointing at the HTTPS
server (peers/https.py: Python's http.server under ssl, its certificate
from a CA made for this module and given to smtp-out as posthorn.conf's
mta_sts_ca).  The MX peer is aiosmtpd with STARTTLS (a certificate of
the same CA for the names in MX_NAMES, routes(5) ca= for smtp-out);
strip.test's MX is a man in the middle in front of it (peers/strip.py)
that removes STARTTLS from the EHLO reply.  What is checked is what a user
checks: smtp-out's result lines and exit code, its log lines, what the
peers received, how often the policy was fetched, the cache file, and the
day's TLS-report counts in the spool.
"""

import datetime
import email
import email.policy
import gzip
import json
import pathlib
import re

import pytest

from conftest import parse_kv, prog
from netns import PEERS, PYTHON, TestCA, dnsmasq_conf, wait_messages

EX_OK, EX_TEMPFAIL = 0, 75
MX_TLS = "127.0.0.13"        # aiosmtpd with STARTTLS
HTTPS = "127.0.0.14"         # peers/https.py, port 443
STRIP = "127.0.0.15"         # peers/strip.py in front of MX_TLS
REPORTS = "127.0.0.16"       # aiosmtpd, MX of reports.test (the rua)
# Names the MX certificate holds; mx.badcert.test and mx.testing.test
# point at the same host without being in it.
MX_NAMES = ["mx.enforce.test", "mx.nomatch.test", "mx.cached.test",
            "mx.idchange.test", "mx.redirect.test", "mx.big.test"]
DOMAINS = {
    # domain: (MX host, its address)
    "enforce.test": ("mx.enforce.test", MX_TLS),
    "nomatch.test": ("mx.nomatch.test", MX_TLS),
    "badcert.test": ("mx.badcert.test", MX_TLS),
    "strip.test": ("mx.strip.test", STRIP),
    "testing.test": ("mx.testing.test", MX_TLS),
    "cached.test": ("mx.cached.test", MX_TLS),
    "idchange.test": ("mx.idchange.test", MX_TLS),
    "redirect.test": ("mx.redirect.test", MX_TLS),
    "big.test": ("mx.big.test", MX_TLS),
}

MESSAGE = (b"From: Alice <alice@example.com>\n"
           b"To: someone@remote\n"
           b"Subject: policy\n"
           b"\n"
           b"body\n")


def policy(mode, *mx, max_age=86400):
    return ("version: STSv1\n" f"mode: {mode}\n"
            + "".join(f"mx: {m}\n" for m in mx)
            + f"max_age: {max_age}\n")


POLICIES = {
    "enforce.test": policy("enforce", "*.enforce.test"),
    "nomatch.test": policy("enforce", "mail.elsewhere.test"),
    "badcert.test": policy("enforce", "mx.badcert.test"),
    "strip.test": policy("enforce", "mx.strip.test"),
    "testing.test": policy("testing", "mx.testing.test"),
    "cached.test": policy("enforce", "mx.cached.test"),
    "idchange.test": policy("enforce", "mx.idchange.test"),
    "redirect.test": policy("enforce", "mx.redirect.test"),
    # Over 64 KB: a valid policy padded with blank lines.
    "big.test": policy("enforce", "mx.big.test") + "\n" * (64 * 1024),
}


def sts_dns(ids=None):
    ids = ids or {}
    extra = []
    for dom, (mx, addr) in DOMAINS.items():
        extra.append(f"host-record={mx},{addr}")
        extra.append(f"mx-host={dom},{mx},10")
        extra.append(f"host-record=mta-sts.{dom},{HTTPS}")
        extra.append(f'txt-record=_mta-sts.{dom},"v=STSv1; id={ids.get(dom, "1")}"')
    # TLS-RPT: where the reports go (the testing domain's address is
    # %-escaped, and it names an https: rua too, which is not used).
    extra += [
        # No policy, and the man in the middle on the way.
        f"host-record=mx.nopolicy.test,{STRIP}",
        "mx-host=nopolicy.test,mx.nopolicy.test,10",
        f"host-record=mx.reports.test,{REPORTS}",
        "mx-host=reports.test,mx.reports.test,10",
        'txt-record=_smtp._tls.enforce.test,'
        '"v=TLSRPTv1; rua=mailto:tls-reports@reports.test"',
        'txt-record=_smtp._tls.testing.test,'
        '"v=TLSRPTv1;rua=https://reports.test/x,mailto:tls%2Dreports@reports.test"',
    ]
    return dnsmasq_conf(extra)


@pytest.fixture(scope="module")
def sts_world(netns, tmp_path_factory):
    """The module's DNS and CA: the namespace's dnsmasq with the records
    above (put back as it was at the end)."""
    d = tmp_path_factory.mktemp("sts")
    ca = TestCA(d / "ca", names=MX_NAMES
                + [f"mta-sts.{dom}" for dom in DOMAINS])
    netns.set_dns(sts_dns())
    yield ca
    netns.set_dns(dnsmasq_conf())


@pytest.fixture
def web(ns, tmp_path, sts_world):
    """The HTTPS server with every domain's policy, by Host."""
    root = tmp_path / "www"
    for dom, text in POLICIES.items():
        p = root / f"mta-sts.{dom}" / ".well-known" / "mta-sts.txt"
        p.parent.mkdir(parents=True)
        p.write_text(text)
    (root / "mta-sts.redirect.test" / "redirect").write_text(
        "https://mta-sts.enforce.test/.well-known/mta-sts.txt\n")
    p = ns.spawn("https", [PYTHON, PEERS / "https.py", "--listen",
                           f"{HTTPS}:443", "--root", root, "--cert",
                           sts_world.cert, "--key", sts_world.key])
    p.wait_for(re.escape(f"listening {HTTPS}:443"))
    p.root = root
    p.fetches = lambda host: len([l for l in p.log().splitlines()
                                  if l.startswith(f"request {host} ")])
    return p


@pytest.fixture
def peers(ns, tmp_path, sts_world):
    """The MX (STARTTLS) and the stripping proxy in front of it."""
    tls = ns.aiosmtpd([f"{MX_TLS}:25"], tmp_path / "tls",
                      hostname="mx.enforce.test", tls=sts_world)
    strip = ns.spawn("strip", [PYTHON, PEERS / "strip.py", "--listen",
                               f"{STRIP}:25", "--to", f"{MX_TLS}:25"])
    strip.wait_for(re.escape(f"listening {STRIP}:25"))
    return tls, strip


@pytest.fixture
def conf(conf, sts_world):
    conf.write(mta_sts_ca=str(sts_world.ca))
    (conf.dir / "routes").write_text(f"* mx ca={sts_world.ca}\n")
    return conf


def send(ns, conf, rcpt):
    return ns.smtp_out(conf, "alice@example.com", rcpt, message=MESSAGE)


def events(r, event):
    return [parse_kv(l) for l in r.stderr.splitlines()
            if f"event={event} " in l]


def counts(conf):
    """The TLS-report count lines of the spool, all days."""
    d = conf.spool / "state" / "tlsrpt"
    out = []
    if d.is_dir():
        for f in sorted(d.iterdir()):
            for line in f.read_text().splitlines():
                out.append(line.split("\t"))
    return out


def test_enforce_with_matching_mx_and_valid_certificate_is_delivered(
        ns, conf, web, peers):
    r = send(ns, conf, "a@enforce.test")
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent" and line.tls.endswith("/sts"), r
    [got] = peers[0].messages()
    assert got.tls is not None and got.rcpts == ["a@enforce.test"]
    [d] = [e for e in events(r, "delivery")]
    assert d["tls"] == "sts", r.stderr
    # Cached for the posthorn user only, with its id.
    cache = conf.spool / "state" / "mta-sts" / "enforce.test"
    assert cache.stat().st_mode & 0o777 == 0o600
    assert (cache.parent.stat().st_mode & 0o077) == 0
    text = cache.read_text()
    assert text.startswith("posthorn-mta-sts 1\nid 1\nfetched "), text
    assert text.endswith(POLICIES["enforce.test"]), text
    assert ["v1", "sts", "enforce.test", "success"] == counts(conf)[0][:4]
    assert web.fetches("mta-sts.enforce.test") == 1


@pytest.mark.parametrize("domain,why,result", [
    ("nomatch.test", "matches no mx line", "validation-failure"),
    ("badcert.test", "not verified", "certificate-host-mismatch"),
    ("strip.test", "does not offer STARTTLS", "starttls-not-supported"),
])
def test_enforce_defers_what_the_policy_does_not_allow(ns, conf, web, peers,
                                                       domain, why, result):
    r = send(ns, conf, f"b@{domain}")
    assert r.code == EX_TEMPFAIL, r
    [line] = r.lines
    assert line.status == "deferred" and line.dsn.startswith("4.7."), r
    assert why in line.text, r
    # Nothing reached the peer, in clear or otherwise.
    assert peers[0].messages() == []
    if domain == "strip.test":
        # Through the man in the middle, who did strip it.
        peers[1].wait_for("stripped")
    rows = [c for c in counts(conf) if c[2] == domain]
    assert [c[1] for c in rows] == ["sts"], rows
    assert rows[0][3] == result, rows


def test_testing_mode_delivers_and_counts_the_failure(ns, conf, web, peers):
    # mx.testing.test is not a name of the MX's certificate.
    r = send(ns, conf, "c@testing.test")
    assert r.code == EX_OK, r
    [line] = r.lines
    assert line.status == "sent" and line.tls.endswith("/opportunistic"), r
    assert len(peers[0].messages()) == 1
    [row] = [c for c in counts(conf) if c[2] == "testing.test"]
    assert row[1:4] == ["sts", "testing.test", "certificate-host-mismatch"]
    assert row[5] == "mx.testing.test" and row[6] == MX_TLS, row


def test_cached_policy_is_used_when_the_server_is_gone(ns, conf, web, peers):
    r = send(ns, conf, "d@cached.test")
    assert r.code == EX_OK and r.lines[0].tls.endswith("/sts"), r
    web.stop()
    # A new id asks for a fetch, which fails: the cache still rules.
    ns.set_dns(sts_dns({"cached.test": "2"}))
    try:
        r = send(ns, conf, "e@cached.test")
    finally:
        ns.set_dns(sts_dns())
    assert r.code == EX_OK and r.lines[0].tls.endswith("/sts"), r
    [ev] = [e for e in events(r, "mta-sts") if e.get("fetched") == "no"]
    assert ev["cache"] == "used" and ev["failure"] == \
        "sts-policy-fetch-error", r.stderr
    assert len(peers[0].messages()) == 2
    # And under it, an MX outside the policy still gets nothing: the
    # cached policy is enforced, not merely remembered.
    cache = conf.spool / "state" / "mta-sts" / "cached.test"
    cache.write_text(cache.read_text().replace("mx: mx.cached.test",
                                                "mx: mx.other.test"))
    r = send(ns, conf, "f@cached.test")
    assert r.code == EX_TEMPFAIL and "matches no mx" in r.lines[0].text, r


def test_same_id_uses_the_cache_and_a_new_id_refetches(ns, conf, web,
                                                         peers):
    host = "mta-sts.idchange.test"
    assert send(ns, conf, "g@idchange.test").code == EX_OK
    assert web.fetches(host) == 1
    # The domain changes its policy but not its id: not seen.
    (web.root / host / ".well-known" / "mta-sts.txt").write_text(
        policy("enforce", "mx.elsewhere.test"))
    r = send(ns, conf, "h@idchange.test")
    assert r.code == EX_OK and r.lines[0].tls.endswith("/sts"), r
    assert web.fetches(host) == 1
    # A new id: fetched again, and the new policy defers the mail.
    ns.set_dns(sts_dns({"idchange.test": "2"}))
    try:
        r = send(ns, conf, "i@idchange.test")
    finally:
        ns.set_dns(sts_dns())
    assert web.fetches(host) == 2
    assert r.code == EX_TEMPFAIL and "matches no mx" in r.lines[0].text, r
    cache = conf.spool / "state" / "mta-sts" / "idchange.test"
    assert cache.read_text().startswith("posthorn-mta-sts 1\nid 2\n")


@pytest.mark.parametrize("domain,why", [
    ("redirect.test", "HTTP status 301 (a redirect, not followed)"),
    ("big.test", "over 65536 bytes"),
])
def test_refused_policy_is_no_policy(ns, conf, web, peers, domain, why):
    r = send(ns, conf, f"j@{domain}")
    # No policy: delivered as before (opportunistic TLS), not as sts.
    assert r.code == EX_OK, r
    assert not r.lines[0].tls.endswith("/sts"), r
    [ev] = events(r, "mta-sts")
    assert ev["fetched"] == "no" and why in ev["reason"], r.stderr
    assert not (conf.spool / "state" / "mta-sts" / domain).exists()
    # The redirect's target was never asked for.
    assert web.fetches("mta-sts.enforce.test") == 0
    rows = [c for c in counts(conf) if c[2] == domain]
    assert ["sts", "sts-policy-fetch-error"] == rows[0][1:4:2], rows
    assert rows[1][1] == "no-policy-found", rows


def test_no_txt_record_means_no_fetch(ns, conf, web, peers):
    # v4.test (netns.py) has no _mta-sts record: nothing is fetched and
    # nothing cached; the session counts under no-policy-found.
    aio = ns.aiosmtpd(["127.0.0.3:25"], pathlib.Path(conf.root) / "aio",
                      hostname="mx.v4.test")
    r = send(ns, conf, "k@v4.test")
    assert r.code == EX_OK, r
    assert events(r, "mta-sts") == []
    assert not (conf.spool / "state" / "mta-sts").exists()
    assert web.log().count("request ") == 0
    assert len(aio.messages()) == 1
    [row] = counts(conf)
    assert row[1:4] == ["no-policy-found", "v4.test",
                        "starttls-not-supported"], row


# --- TLS reports (RFC 8460) -------------------------------------------------

RESULT_TYPES = {  # RFC 8460 §4.3
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired", "certificate-not-trusted", "validation-failure",
    "tlsa-invalid", "dnssec-invalid", "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"}


def report_of(data):
    """The JSON report of a TLS-report mail, and the message."""
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", data[:800]
    assert msg.get_param("report-type") == "tlsrpt"
    [part] = [p for p in msg.iter_parts()
              if p.get_content_type() == "application/tlsrpt+gzip"]
    name = part.get_filename()
    gz = part.get_payload(decode=True)
    return json.loads(gzip.decompress(gz)), msg, name


def check_schema(rep, domain, day):
    """RFC 8460 §4.4, field by field."""
    assert set(rep) == {"organization-name", "date-range", "contact-info",
                        "report-id", "policies"}, rep
    assert rep["organization-name"] == "example.net"
    assert rep["contact-info"] == "tlsrpt-noreply@example.net"
    assert rep["date-range"] == {"start-datetime": f"{day}T00:00:00Z",
                                 "end-datetime": f"{day}T23:59:59Z"}
    assert isinstance(rep["report-id"], str) and domain in rep["report-id"]
    for p in rep["policies"]:
        assert set(p) <= {"policy", "summary", "failure-details"}, p
        pol = p["policy"]
        assert pol["policy-type"] in ("sts", "tlsa", "no-policy-found")
        assert pol["policy-domain"] == domain
        s = p["summary"]
        assert set(s) == {"total-successful-session-count",
                          "total-failure-session-count"}, s
        assert all(isinstance(v, int) and v >= 0 for v in s.values())
        fails = p.get("failure-details", [])
        assert sum(f["failed-session-count"] for f in fails) == \
            s["total-failure-session-count"], p
        for f in fails:
            assert f["result-type"] in RESULT_TYPES, f
            assert set(f) <= {"result-type", "sending-mta-ip",
                              "receiving-mx-hostname", "receiving-mx-helo",
                              "receiving-ip", "failed-session-count",
                              "additional-information",
                              "failure-reason-code"}, f
    return {p["policy"]["policy-type"]: p for p in rep["policies"]}


def test_tls_report_is_mailed_gzipped_and_dkim_signed(ns, conf, web, peers,
                                                      tmp_path):
    import dkim  # python3-dkim
    from test_dkimsign import parse_records

    # Our domain (mx.example.net's) signs what leaves, as any mail.
    conf.domain("example.net")
    assert conf.run("dkimsign", "-g", "example.net").returncode == 0
    r = conf.run("dkimsign", "-p", "example.net")
    records = parse_records(r.stdout.decode())
    rua = ns.aiosmtpd([f"{REPORTS}:25"], tmp_path / "rua",
                      hostname="mx.reports.test")
    # A day of sessions: two good ones and an MX outside the policy for
    # enforce.test, a certificate for another name for testing.test,
    # and nomatch.test, which publishes no _smtp._tls record.
    for rcpt in ("a@enforce.test", "b@enforce.test", "c@testing.test",
                 "d@nomatch.test"):
        send(ns, conf, rcpt)
    cache = conf.spool / "state" / "mta-sts" / "enforce.test"
    cache.write_text(cache.read_text().replace("*.enforce.test",
                                                "mx.gone.test"))
    assert send(ns, conf, "e@enforce.test").code == EX_TEMPFAIL
    # The day is over: today's file becomes yesterday's.
    d = conf.spool / "state" / "tlsrpt"
    [today] = list(d.iterdir())
    yesterday = (datetime.datetime.strptime(today.name, "%Y-%m-%d")
                 - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    today.rename(d / yesterday)

    r = ns.run([prog("tlsrpt"), "-C", conf.dir], env=conf.env())
    assert r.returncode == 0, r.stderr.decode()
    log = r.stderr.decode()
    assert re.search(r"event=tlsrpt .*domain=nomatch.test sent=no", log), log
    assert "rua=https" in log, log
    assert not (d / yesterday).exists()
    assert len(conf.queued()) == 2
    qr = ns.queue_run(conf)
    qr.delivered(2)
    mails = wait_messages(rua, 2)
    assert len(mails) == 2
    # Both to the one address (%2D decoded in testing.test's record).
    assert [m.rcpts for m in mails] == [["tls-reports@reports.test"]] * 2
    by_domain = {}
    for m in mails:
        assert m.mail_from == "tlsrpt-noreply@example.net"
        rep, msg, name = report_of(m.data)
        dom = msg["TLS-Report-Domain"]
        assert msg["TLS-Report-Submitter"] == "example.net"
        assert msg["Subject"].startswith(
            f"Report Domain: {dom} Submitter: example.net Report-ID: <")
        assert re.fullmatch(rf"example\.net!{re.escape(dom)}!\d+!\d+!\w+"
                            r"\.json\.gz", name), name
        # The DKIM signature of example.net verifies.
        data = m.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert b"d=example.net" in data
        assert dkim.verify(data, dnsfunc=lambda n, timeout=5: records.get(
            n.decode().rstrip(".")).encode()), data[:600]
        by_domain[dom] = check_schema(rep, dom, yesterday)

    sts = by_domain["enforce.test"]["sts"]
    assert sts["policy"]["policy-string"][:2] == ["version: STSv1",
                                                  "mode: enforce"]
    assert sts["policy"]["mx-host"] == ["mx.gone.test"]
    assert sts["summary"] == {"total-successful-session-count": 2,
                              "total-failure-session-count": 1}
    [f] = sts["failure-details"]
    assert f["result-type"] == "validation-failure"
    assert f["receiving-mx-hostname"] == "mx.enforce.test"
    assert f["failure-reason-code"] == "mx-not-in-policy"

    t = by_domain["testing.test"]["sts"]
    assert t["policy"]["mx-host"] == ["mx.testing.test"]
    assert t["summary"]["total-failure-session-count"] == 1
    [f] = t["failure-details"]
    assert (f["result-type"], f["receiving-ip"]) == (
        "certificate-host-mismatch", MX_TLS)
    assert f["sending-mta-ip"].startswith("127.")


def test_stripped_starttls_without_a_policy_goes_in_clear(ns, conf, web,
                                                          peers):
    # Today's behaviour where the domain has no policy: the man in the
    # middle wins, and the TLS report says so.
    r = send(ns, conf, "m@nopolicy.test")
    assert r.code == EX_OK, r
    assert r.lines[0].tls == "none", r
    peers[1].wait_for("stripped")
    [got] = peers[0].messages()
    assert got.tls is None
    [row] = counts(conf)
    assert row[1:4] == ["no-policy-found", "nopolicy.test",
                        "starttls-not-supported"], row


def test_testing_mode_mx_outside_the_policy_is_one_failure(ns, conf, web,
                                                           peers):
    cache = conf.spool / "state" / "mta-sts" / "testing.test"
    assert send(ns, conf, "n@testing.test").code == EX_OK
    cache.write_text(cache.read_text().replace("mx: mx.testing.test",
                                                "mx: mx.other.test"))
    r = send(ns, conf, "o@testing.test")
    assert r.code == EX_OK, r
    assert len(peers[0].messages()) == 2
    rows = [c for c in counts(conf) if c[2] == "testing.test"]
    # One count per session: the second is the MX mismatch alone.
    assert len(rows) == 2, rows
    assert (rows[1][3], rows[1][7]) == ("validation-failure",
                                        "mx-not-in-policy"), rows
