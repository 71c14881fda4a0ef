"""mailauth(8) spf beyond the RFC 7208 suite: the HELO identity, the
Received-SPF line field by field, exp= macros that only an explanation
may use, the time limit of a whole check, SERVFAIL, the receiver taken
from posthorn.conf, usage errors and their exit codes.

DNS is peers/zonedns.py in a namespace of this file's (zonens.py).
"""

import re
import subprocess

import pytest

from conftest import SAN_ENV, prog
from zonens import ZoneNetns

ENV = {**SAN_ENV, "PATH": "/usr/bin:/bin"}
CLIENT = "192.0.2.10"
OTHER = "192.0.2.99"
ZONE = {
    "sender.test": [{"TXT": "v=spf1 a:mx.sender.test exp=why.sender.test "
                            "-all"},
                    {"TXT": "an unrelated record"}],
    "why.sender.test": [{"TXT": ["%{r} refused %{c} for %{L} ",
                                 "of %{o}; see http://%{d2}/%{S}"]}],
    "mx.sender.test": [{"A": CLIENT},
                       {"TXT": "v=spf1 ip4:192.0.2.0/28 -all"}],
    "broken.test": ["SERVFAIL"],
    "slow.test": [{"TXT": "v=spf1 ptr -all"}],
    # Ten names for the client, each of whose A lookups gets no answer.
    "10.2.0.192.in-addr.arpa": [{"PTR": f"h{i}.slow.test"}
                                for i in range(10)],
    **{f"h{i}.slow.test": ["TIMEOUT"] for i in range(10)},
}


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    n = ZoneNetns(tmp_path_factory.mktemp("mailauth"))
    n.serve(ZONE)
    yield n
    n.close()


def spf(ns, *args, opts=("-t", "1", "-r", "mx.receiver.test")):
    r = ns.run([prog("mailauth"), "spf", *opts, *args], env=ENV,
               timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def received(out):
    """The Received-SPF line: (result, comment, {key: value})."""
    line = out.split("\n")[1]
    m = re.match(r"^Received-SPF: (\w+) \(([^)]*)\)(.*)$", line)
    assert m, line
    kv = {}
    for k, v in re.findall(r' ([a-z-]+)=("(?:[^"\\]|\\.)*"|[^;]*);?',
                           m.group(3)):
        kv[k] = v[1:-1].replace('\\"', '"') if v.startswith('"') else v
    return m.group(1), m.group(2), kv


def test_mailfrom_pass_and_its_received_spf_fields(ns):
    code, out, err = spf(ns, CLIENT, "mx.sender.test", "alice@sender.test")
    assert code == 0, err
    assert out.split("\n")[0] == "pass"
    res, comment, kv = received(out)
    assert res == "pass"
    assert comment == ("mx.receiver.test: domain of alice@sender.test "
                       f"designates {CLIENT} as permitted sender")
    assert kv == {"client-ip": CLIENT, "envelope-from": "alice@sender.test",
                  "helo": "mx.sender.test", "receiver": "mx.receiver.test",
                  "identity": "mailfrom", "mechanism": "a:mx.sender.test"}
    # RFC 7208 9.1: a value that is not a dot-atom is quoted.
    line = out.split("\n")[1]
    assert f"client-ip={CLIENT};" in line
    assert 'envelope-from="alice@sender.test";' in line
    assert 'mechanism="a:mx.sender.test"' in line


def test_fail_explains_with_exp_only_macros(ns):
    code, out, err = spf(ns, OTHER, "mx.sender.test",
                         "Bob Smith@sender.test")
    assert code == 0, err
    lines = out.split("\n")
    assert lines[0] == "fail"
    # %{r} the receiver, %{c} the client, %{L} and %{S} URL-escaped,
    # %{d2} the last two labels; the TXT strings joined as they are.
    assert lines[2] == ("explanation: mx.receiver.test refused "
                        f"{OTHER} for Bob%20Smith of sender.test; see "
                        "http://sender.test/Bob%20Smith%40sender.test")
    _, _, kv = received(out)
    assert kv["mechanism"] == "-all"
    assert kv["envelope-from"] == "Bob Smith@sender.test"


def test_helo_identity(ns):
    code, out, err = spf(ns, "-H", CLIENT, "mx.sender.test")
    assert code == 0, err
    assert out.startswith("pass\n")
    _, comment, kv = received(out)
    assert comment.startswith("mx.receiver.test: HELO name of "
                              "postmaster@mx.sender.test designates")
    assert kv["identity"] == "helo"
    assert kv["mechanism"] == "ip4:192.0.2.0/28"
    code, out, err = spf(ns, "-H", "192.0.2.16", "mx.sender.test")
    assert out.startswith("fail\n"), out


def test_null_sender_checks_the_helo_name(ns):
    code, out, err = spf(ns, "192.0.2.16", "mx.sender.test", "")
    assert code == 0, err
    assert out.startswith("fail\n")
    _, _, kv = received(out)
    assert kv["identity"] == "helo"
    assert kv["envelope-from"] == "postmaster@mx.sender.test"
    # <> as SMTP writes it is the same.
    assert spf(ns, "192.0.2.16", "mx.sender.test", "<>")[1] == out


def test_servfail_is_temperror(ns):
    code, out, err = spf(ns, CLIENT, "mx.sender.test", "a@broken.test")
    assert code == 0, err
    assert out.startswith("temperror\n")
    # glibc's res_nsend hides the SERVFAIL behind "no answer".
    assert "broken.test" in received(out)[2]["problem"]


def test_whole_check_is_bounded_in_time(ns):
    # Ten PTR names whose lookups time out, a second each, and are
    # skipped (RFC 7208 5.5): -T 2 stops the check as a temperror.
    code, out, err = spf(ns, CLIENT, "mx.sender.test", "a@slow.test",
                         opts=("-t", "1", "-T", "2", "-r", "r.test"))
    assert code == 0, err
    assert out.startswith("temperror\n"), out
    assert "took more than 2 s" in received(out)[2]["problem"]


def test_receiver_from_posthorn_conf(ns, tmp_path):
    (tmp_path / "posthorn.conf").write_text("hostname = mx.conf.test\n")
    code, out, err = spf(ns, CLIENT, "mx.sender.test", "a@sender.test",
                         opts=("-t", "1", "-C", tmp_path))
    assert code == 0, err
    assert received(out)[2]["receiver"] == "mx.conf.test"


@pytest.mark.parametrize("args", [
    [], ["nosuch"], ["spf"], ["spf", "192.0.2.300", "h.test", "a@b.test"],
    ["spf", "[192.0.2.1]", "h.test", "a@b.test"],
    ["spf", "-t", "0", CLIENT, "h.test", "a@b.test"],
    ["spf", "-T", "x", CLIENT, "h.test", "a@b.test"],
    ["spf", CLIENT, "h.test"],
    # longer than any MAIL FROM or HELO name could be, as check says
    ["spf", CLIENT, "h.test", "a" * 300 + "@b.test"],
    ["spf", CLIENT, "h" * 300 + ".test", "a@b.test"],
    ["dkim", "-t", "soon"], ["dkim", "-t", "-1"], ["dkim", "-t", "1x"],
])
def test_usage_errors_exit_64(args):
    r = subprocess.run([prog("mailauth"), *args], capture_output=True,
                       env=ENV, timeout=30)
    assert r.returncode == 64, r
    assert r.stdout == b""
    assert b"usage: mailauth" in r.stderr or b"mailauth: " in r.stderr


def test_no_gnutls_linked():
    """mailauth starts per message: it must not pay GnuTLS's start (DKIM's
    RSA goes through nettle, Ed25519 through libsodium)."""
    r = subprocess.run(["ldd", prog("mailauth")], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r
    assert b"libresolv" in r.stdout
    assert b"gnutls" not in r.stdout
