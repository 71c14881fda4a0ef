"""smtp-in's DNS blocklists (posthorn.conf's dnsbl, smtp-in(8)), end to
end in a private network namespace (netns.py): dnsmasq serves the test's
zone bl.test, which lists one client address (IPv4 and IPv6, with a TXT
reason) and not another; smtp-in runs inside on our MX address, and real
clients (smtplib, swaks) connect from the listed and the unlisted
addresses.  A listed client gets 554 5.7.1 with the list's reason and
nothing but QUIT; a DNS failure, or a list's error code, is no listing
and is logged.  No test ever asks a real list."""

import smtplib
import subprocess

import pytest

from conftest import WAIT
from netns import OURS, PYTHON, Netns, dnsmasq_conf

LISTED4 = "127.0.0.12"
CLEAN4 = "127.0.0.13"
NOTXT4 = "127.0.0.14"
ERRCODE4 = "127.0.0.15"
LISTED6 = "::5"
OURS6 = "::9"

REASON = "Listed by bl.test: see https://bl.test/lookup?ip=127.0.0.12"


def rev4(a):
    return ".".join(reversed(a.split(".")))


def nibbles(a):
    import ipaddress
    return ".".join(reversed(ipaddress.IPv6Address(a).exploded.replace(":",
                                                                        "")))


def zone_records():
    return [
        f"host-record={rev4(LISTED4)}.bl.test,127.0.0.2",
        f'txt-record={rev4(LISTED4)}.bl.test,"{REASON}"',
        f"host-record={rev4(NOTXT4)}.bl.test,127.0.0.4",
        # A list that refuses the query says so in 127.255.255.0/24.
        f"host-record={rev4(ERRCODE4)}.err.test,127.255.255.254",
        f"host-record={nibbles(LISTED6)}.bl.test,127.0.0.3",
        f'txt-record={nibbles(LISTED6)}.bl.test,"v6 listed\tby bl.test"',
    ]


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    n = Netns(tmp_path_factory.mktemp("dnsblns"),
              dns_conf=dnsmasq_conf(zone_records()))
    yield n
    n.close()


@pytest.fixture
def mx(ns, conf):
    """smtp-in on our MX address inside, with a failing zone first, one
    that answers with an error code, then the listing one."""
    conf.write(max_message_size="50M",
               dnsbl="bl.servfail.test  err.test bl.test")
    srv = ns.smtp_in(conf, [f"{OURS}:25", f"[{OURS6}]:25"])
    yield srv
    srv.stop()
    srv.check_children()


CLIENT = r"""
import smtplib, sys
src, dst = sys.argv[1], sys.argv[2]
try:
    s = smtplib.SMTP(dst, 25, source_address=(src, 0), timeout=20)
except smtplib.SMTPConnectError as e:
    print(e.smtp_code, e.smtp_error.decode())
    sys.exit(0)
print(220, "ok")
print(*s.ehlo())
print(*s.mail("bob@remote.example"))
s.quit()
"""


def listings(srv):
    return [e for e in srv.events("dnsbl") if e["event"] == "dnsbl"]


def connect_from(ns, src, dst=OURS):
    r = ns.run([PYTHON, "-c", CLIENT, src, dst], timeout=WAIT + 10)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().splitlines()


def test_listed_ipv4_client_gets_554_with_the_reason(ns, mx):
    out = connect_from(ns, LISTED4)
    assert out == [f"554 5.7.1 {REASON}"]
    [d] = listings(mx)
    assert d["peer"] == f"[{LISTED4}]" and d["zone"] == "bl.test"
    assert d["reason"] == REASON
    [r] = mx.events("refused")
    assert r["cmd"] == "greeting" and r["reply"].startswith("554 5.7.1 ")


def test_unlisted_client_is_served(ns, mx):
    out = connect_from(ns, CLEAN4)
    assert out[0] == "220 ok"
    assert out[2].startswith("250 ")
    assert listings(mx) == []


def test_failures_are_logged_and_not_listings(ns, mx):
    out = connect_from(ns, CLEAN4)
    assert out[0] == "220 ok"
    errors = {e["zone"]: e["error"] for e in mx.events("dnsbl-error")}
    assert set(errors) == {"bl.servfail.test"}
    # musl's res_send takes a SERVFAIL for no answer.
    assert "13.0.0.127.bl.servfail.test" in errors["bl.servfail.test"]
    out = connect_from(ns, ERRCODE4)
    assert out[0] == "220 ok"
    errors = [e for e in mx.events("dnsbl-error") if e["zone"] == "err.test"]
    assert len(errors) == 1
    assert "127.255.255.254 is the list's error code" in errors[0]["error"]


def test_listing_without_txt_names_the_zone(ns, mx):
    assert connect_from(ns, NOTXT4) == ["554 5.7.1 listed by bl.test"]


def test_listed_ipv6_client_by_nibbles(ns, mx):
    out = connect_from(ns, LISTED6, OURS6)
    # The TXT record's tab comes back as '?': printable only.
    assert out == ["554 5.7.1 v6 listed?by bl.test"]
    [d] = listings(mx)
    assert d["peer"] == f"[{LISTED6}]"


def test_listed_client_gets_nothing_but_quit(ns, mx):
    """swaks, as a sender would: the 554 greeting, then 503 to anything
    but QUIT, and nothing queued."""
    r = ns.run(["swaks", "--server", OURS, "--port", "25",
                "--local-interface", LISTED4, "--from", "bob@remote.example",
                "--to", "alice@example.com", "--quit-after", "RCPT"],
               timeout=WAIT + 10)
    out = r.stdout.decode()
    assert "<** 554 5.7.1 " + REASON in out, out
    assert mx.conf.queued() == []


def test_no_zones_asks_nothing(ns, conf):
    conf.write(max_message_size="50M")
    srv = ns.smtp_in(conf, [f"{OURS}:25"])
    try:
        mark = len(ns.dns.lines)
        assert connect_from(ns, LISTED4)[0] == "220 ok"
        assert srv.events("dnsbl") == [] and srv.events("dnsbl-error") == []
        # dnsmasq logs every query: none came.
        assert not [l for l in ns.dns.lines[mark:] if "bl.test" in l]
    finally:
        srv.stop()
        srv.check_children()
