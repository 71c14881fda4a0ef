"""dkimsign(1) against three independent DKIM verifiers, without DNS.

Keys are made by `dkimsign -g` in the throw-away configuration of the
`conf` fixture, and the records it prints are what the verifiers get as
public keys: python3-dkim through its `dnsfunc` hook, opendkim through
`TestPublicKeys` in a config file (`opendkim -t`, whose exit code is 0
even when a signature fails, so its Authentication-Results are read), and
Mail::DKIM (RSA only: Debian's lacks Ed25519) through a key table
(dkim/mail_dkim_verify.pl).  Each message of an awkward corpus is signed
and must pass all three; a changed signed header field or one changed
body byte must fail all three.  The error cases check the exit code that
a pipeline treats as temporary (75) and the one-line reason.
"""

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import SAN, prog

try:
    import dkim  # python3-dkim
except ImportError:  # reported as a failure by need()
    dkim = None

HERE = pathlib.Path(__file__).resolve().parent
MAIL_DKIM = HERE / "dkim" / "mail_dkim_verify.pl"
DOMAIN = "example.com"
TEMPFAIL = 75
USAGE = 64


def need(tool):
    """The verifiers are test dependencies (t/deps.sh): fail, not skip."""
    if tool == "python3-dkim":
        assert dkim is not None, "python3-dkim is not installed"
    elif shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (t/deps.sh)")


def crlf(data):
    """The message as SMTP carries it: every line end CRLF, and a last
    line that lacks one gets it before the final "." (RFC 5321 §4.1.1.4).
    (opendkim -t reads a file without a final line end as unsigned.)"""
    data = re.sub(rb"\r?\n", b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


class Signer:
    """A configuration with keys for example.com, and their records."""

    def __init__(self, conf, tmp):
        self.conf = conf
        self.tmp = tmp
        r = conf.run("dkimsign", "-g", DOMAIN)
        assert r.returncode == 0, r.stderr
        self.records_text = r.stdout.decode()
        self.records = parse_records(self.records_text)
        assert len(self.records) == 2, self.records_text
        self.keyfile = tmp / "keys.txt"
        self.keyfile.write_text("".join(
            f"{name} {value}\n" for name, value in self.records.items()))
        self.odconf = tmp / "opendkim.conf"
        self.odconf.write_text(
            "Mode v\n"
            f"TestPublicKeys {self.keyfile}\n"
            "Syslog no\n"
            "AlwaysAddARHeader yes\n"
            "AuthservID verifier.test\n")
        self.n = 0

    def sign(self, data, *args, via_file=False):
        """Run dkimsign on data; stdin is a pipe, or a regular file (the
        queue's case, read twice instead of spooled)."""
        if via_file:
            path = self.tmp / f"in{self.n}"
            self.n += 1
            path.write_bytes(data)
            with open(path, "rb") as f:
                return subprocess.run([prog("dkimsign"), *args], stdin=f,
                                      env=self.conf.env(),
                                      capture_output=True, timeout=120)
        return self.conf.run("dkimsign", *args, input=data)

    def signed(self, data, *args, **kw):
        r = self.sign(data, *args, **kw)
        assert r.returncode == 0, r.stderr
        assert r.stderr == b"", r.stderr
        return r.stdout

    # --- the three verifiers: {algorithm: passed} -------------------

    def python_dkim(self, msg):
        need("python3-dkim")

        def dnsfunc(name, timeout=5):
            return self.records.get(name.decode().rstrip(".")).encode()

        out = {}
        for i, sig in enumerate(signatures(msg)):
            d = dkim.DKIM(msg, minkey=1024)
            try:
                out[alg(sig)] = bool(d.verify(idx=i, dnsfunc=dnsfunc))
            except dkim.ValidationError:  # how it says "body hash"
                out[alg(sig)] = False
        return out

    def opendkim(self, msg):
        need("opendkim")
        path = self.tmp / f"od{self.n}"
        self.n += 1
        path.write_bytes(msg)
        r = subprocess.run(["opendkim", "-x", str(self.odconf), "-vvv",
                            "-t", str(path)],
                           capture_output=True, timeout=300)
        path.unlink()
        text = (r.stdout + r.stderr).decode("utf-8", "replace")
        m = re.search(r"hname='Authentication-Results' hvalue='(.*?)'",
                      text, re.S)
        assert m, text[-2000:]
        out = {}
        for res, a in re.findall(
                r"dkim=(\w+)[^;]*?header\.a=([\w-]+)", m.group(1)):
            out[a] = res == "pass"
        return out

    def mail_dkim(self, msg):
        need("perl")
        r = subprocess.run(["perl", str(MAIL_DKIM), str(self.keyfile)],
                           input=msg, capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        out = {}
        for line in r.stdout.decode().splitlines():
            m = re.match(r"a=(\S+) s=\S+ result=(\w+)", line)
            assert m, line
            if m.group(1) == "rsa-sha256":
                out[m.group(1)] = m.group(2) == "pass"
        return out

    def verify(self, msg):
        """Every verifier's verdict on every signature."""
        msg = crlf(msg)
        return {"python3-dkim": self.python_dkim(msg),
                "opendkim": self.opendkim(msg),
                "Mail::DKIM": self.mail_dkim(msg)}


def parse_records(text):
    """`NAME. IN TXT ( "a" "b" )` records (possibly over several lines)
    into {NAME: "ab"}."""
    out = {}
    for m in re.finditer(r"^(\S+)\. IN TXT \((.*?)\)\n", text, re.S | re.M):
        strings = re.findall(r'"([^"]*)"', m.group(2))
        assert all(len(s) <= 255 for s in strings), strings
        out[m.group(1)] = "".join(strings)
    return out


def signatures(msg):
    """The DKIM-Signature fields at the top of a signed message."""
    return [m.group(0) for m in re.finditer(
        rb"^DKIM-Signature:.*?\r?\n(?:[ \t].*?\r?\n)*", msg, re.M)]


def alg(sig):
    return re.search(rb"a=([\w-]+);", sig).group(1).decode()


def all_pass(verdicts):
    want = {"python3-dkim": {"rsa-sha256": True, "ed25519-sha256": True},
            "opendkim": {"rsa-sha256": True, "ed25519-sha256": True},
            "Mail::DKIM": {"rsa-sha256": True}}
    assert verdicts == want, verdicts


def all_fail(verdicts):
    want = {"python3-dkim": {"rsa-sha256": False, "ed25519-sha256": False},
            "opendkim": {"rsa-sha256": False, "ed25519-sha256": False},
            "Mail::DKIM": {"rsa-sha256": False}}
    assert verdicts == want, verdicts


@pytest.fixture
def signer(conf, tmp_path):
    return Signer(conf, tmp_path)


# --- the corpus -------------------------------------------------------

HEAD = ("From: Alice <alice@example.com>\r\n"
        "To: Bob <bob@example.net>\r\n"
        "Subject: test\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <corpus@example.com>\r\n").encode()


def big_body():
    line = b"0123456789" * 7 + b"abcdef\r\n"
    return line * (20 * 1024 * 1024 // len(line) + 1)


CORPUS = {
    "folded_and_repeated_headers": (
        b"Received: from a.example by b.example; Mon, 23 Nov 2026\r\n"
        b"\t10:00:00 +0000\r\n"
        b"From: Alice\r\n  <alice@example.com>\r\n"
        b"To: one@example.net,\r\n two@example.net,\r\n\tthree@example.net\r\n"
        b"Cc: c1@example.net\r\n"
        b"Subject: a subject folded\r\n   over two lines\r\n"
        b"Cc: c2@example.net\r\n"
        b"Received: from c.example by d.example\r\n"
        b"List-Id: <list.example.com>\r\n"
        b"List-Unsubscribe: <mailto:u@example.com>\r\n"
        b"\r\nbody\r\n"),
    "trailing_whitespace": (
        b"From: alice@example.com  \r\nSubject: spaces   \t\r\n"
        b"To: \t bob@example.net\r\n"
        b"\r\nline with spaces   \r\ntab\t\r\n  \r\n mixed \t line \t\r\n"),
    "empty_body": HEAD + b"\r\n",
    "header_only_no_separator": HEAD,
    "no_final_crlf": HEAD + b"\r\nfirst line\r\nlast line without end",
    "lf_only": HEAD.replace(b"\r\n", b"\n") +
    b"\nline one\n  indented  \n\n\nlast\n\n",
    "utf8_headers_and_body": (
        "From: Jürgen Groß <juergen@example.com>\r\n"
        "To: Zoë <zoe@example.net>\r\n"
        "Subject: Grüße aus Köln ✉ 日本語\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\nÄrger über Öl — ça va? 🙂\r\n").encode(),
    "line_of_5000_characters": HEAD + b"\r\n" + b"x" * 5000 + b"\r\nend\r\n",
    "many_received": b"".join(
        b"Received: from h%d.example by h%d.example; "
        b"Mon, 23 Nov 2026 10:00:%02d +0000\r\n" % (i, i + 1, i % 60)
        for i in range(150)) + HEAD + b"\r\nbody\r\n",
    "trailing_blank_lines": HEAD + b"\r\nbody\r\n\r\n\r\n \r\n\t\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_passes_every_verifier(signer, name):
    data = CORPUS[name]
    out = signer.signed(data)
    # The message is untouched behind exactly two new fields.
    sigs = signatures(out)
    assert len(sigs) == 2, out[:2000]
    assert out == b"".join(sigs) + data
    assert sorted(alg(s) for s in sigs) == ["ed25519-sha256", "rsa-sha256"]
    eol = b"\r\n" if data.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    for s in sigs:
        assert s.endswith(eol)
        assert (b"\r" in s) == (eol == b"\r\n")
        assert b" l=" not in s and b";l=" not in s
    all_pass(signer.verify(out))


def test_20_mb_body_streams_and_verifies(signer, tmp_path):
    data = HEAD + b"\r\n" + big_body()
    # From a pipe (spooled to a temporary file) and from a regular file
    # (read twice): the same bytes out, t= being fixed.
    out = signer.signed(data, "-t", "1795435200")
    assert out.endswith(data)
    again = signer.signed(data, "-t", "1795435200", via_file=True)
    assert again == out
    all_pass(signer.verify(out))


def test_memory_does_not_grow_with_the_body(signer, tmp_path):
    if SAN:
        pytest.skip("ASan's shadow memory and quarantine hide the figure")

    def rss(data):
        src = tmp_path / "src"
        src.write_bytes(data)
        with open(src, "rb") as fin, open(tmp_path / "dst", "wb") as fout:
            p = subprocess.Popen(["/usr/bin/cat"], stdin=fin,
                                 stdout=subprocess.PIPE)
            q = subprocess.Popen([prog("dkimsign")], stdin=p.stdout,
                                 stdout=fout, env=signer.conf.env())
            p.stdout.close()
            _, status, ru = os.wait4(q.pid, 0)
            p.wait()
            q.returncode = os.waitstatus_to_exitcode(status)
        assert q.returncode == 0
        return ru.ru_maxrss  # KiB

    small = rss(HEAD + b"\r\nhi\r\n")
    large = rss(HEAD + b"\r\n" + big_body())
    assert large < small + 2048, (small, large)


ALTERATIONS = {
    "signed_header_changed": lambda m: m.replace(b"Subject: test",
                                                 b"Subject: tesT"),
    "one_body_byte_changed": lambda m: m[:-20] + bytes([m[-20] ^ 1]) +
    m[-19:],
    "second_from_added": lambda m: m.replace(
        b"From: Alice", b"From: Mallory <m@example.org>\r\nFrom: Alice"),
    "second_subject_added": lambda m: m.replace(
        b"Message-ID:", b"Subject: urgent\r\nMessage-ID:"),
    "body_appended": lambda m: m + b"P.S. appended\r\n",
}


@pytest.mark.parametrize("name", sorted(ALTERATIONS))
def test_altered_message_fails_every_verifier(signer, name):
    data = HEAD + b"\r\nThe body of the message.\r\nSecond line.\r\n"
    out = signer.signed(data)
    all_pass(signer.verify(out))
    bad = ALTERATIONS[name](out)
    assert bad != out
    all_fail(signer.verify(bad))


def test_signature_tags(signer):
    out = signer.signed(
        HEAD.replace(b"To: Bob", b"MIME-Version: 1.0\r\nTo: Bob") +
        b"\r\nx\r\n", "-t", "1795435200")
    for s in signatures(out):
        flat = re.sub(rb"\r?\n[ \t]", b" ", s).decode()
        tags = dict(t.strip().split("=", 1) for t in
                    flat.split(":", 1)[1].split(";") if t.strip())
        assert tags["v"] == "1"
        assert tags["c"] == "relaxed/relaxed"
        assert tags["d"] == DOMAIN
        assert tags["t"] == "1795435200"
        assert "l" not in tags and "i" not in tags
        sel = tags["s"]
        assert re.fullmatch(r"\d{8}[re]", sel)
        assert f"{sel}._domainkey.{DOMAIN}" in signer.records
        assert re.sub(r"\s", "", tags["h"]) == (
            "from:from:to:to:subject:subject:date:date:message-id:"
            "mime-version:mime-version")
        for line in s.splitlines():
            assert len(line) <= 78


def test_d_option_signs_for_another_domain(signer):
    data = HEAD.replace(b"alice@example.com", b"alice@elsewhere.example")
    out = signer.signed(data, "-d", "EXAMPLE.com")
    assert all(b"d=example.com;" in s for s in signatures(out))
    all_pass(signer.verify(out))


def test_p_prints_the_records_of_g(signer):
    r = signer.conf.run("dkimsign", "-p", DOMAIN)
    assert r.returncode == 0, r.stderr
    assert parse_records(r.stdout.decode()) == signer.records


def test_g_never_replaces_a_key(signer):
    dkimdir = signer.conf.dir / "domains" / DOMAIN / "dkim"
    before = {p.name: p.read_bytes() for p in dkimdir.iterdir()}
    for p in dkimdir.iterdir():
        assert p.stat().st_mode & 0o777 == 0o640
    r = signer.conf.run("dkimsign", "-g", DOMAIN)
    assert r.returncode == 1
    assert b"exists" in r.stderr and r.stdout == b""
    assert {p.name: p.read_bytes() for p in dkimdir.iterdir()} == before


def test_g_record_format(signer):
    ed = [v for k, v in signer.records.items() if k.split(".")[0][-1] == "e"]
    rsa = [v for k, v in signer.records.items() if k.split(".")[0][-1] == "r"]
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed[0])
    assert rsa[0].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")
    # Zone-file form, ready to paste.
    assert re.search(r'^\d{8}r\._domainkey\.example\.com\. IN TXT \( "v=DKIM1;'
                     r' k=rsa; p=[^"]{237}"\n\t"[^"]+" \)$',
                     signer.records_text, re.M), signer.records_text


def tempfail(r, reason):
    assert r.returncode == TEMPFAIL, (r.returncode, r.stderr)
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and reason in lines[0], lines


def test_no_key_is_a_temporary_failure(conf):
    r = conf.run("dkimsign", input=HEAD + b"\r\nx\r\n")
    tempfail(r, "no DKIM key for example.com")


def test_unreadable_key_is_a_temporary_failure(signer):
    dkimdir = signer.conf.dir / "domains" / DOMAIN / "dkim"
    (dkimdir / "broken.rsa").write_text("not a key\n")
    (dkimdir / "broken.rsa").chmod(0o640)
    tempfail(signer.sign(HEAD + b"\r\nx\r\n"), "broken.rsa")


def test_message_without_from_is_a_temporary_failure(signer):
    tempfail(signer.sign(b"To: bob@example.net\r\nSubject: x\r\n\r\nx\r\n"),
             "no From:")


def test_header_beyond_the_limit_is_refused(signer):
    hdr = HEAD + b"".join(b"X-Filler-%06d: %s\r\n" % (i, b"y" * 100)
                          for i in range(2500))
    assert len(hdr) > 256 * 1024
    tempfail(signer.sign(hdr + b"\r\nx\r\n"), "header larger than")


def test_usage_errors_exit_64(conf):
    for args in (["-x"], ["extra"], ["-g", DOMAIN, "-p", DOMAIN],
                 ["-b", "1024", "-g", DOMAIN], ["-b", "2048"],
                 ["-t", "soon"]):
        r = conf.run("dkimsign", *args, input=b"")
        assert r.returncode == USAGE, (args, r.stderr)


# --- -h: the fields alone, as queue-run(8) keeps them -----------------

@pytest.mark.parametrize("via_file", [False, True])
@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_h_prints_only_the_fields_that_the_filter_prepends(signer, eol,
                                                           via_file):
    data = (HEAD + b"\r\nThe body.\r\n\r\nlast\r\n").replace(b"\r\n", eol)
    fields = signer.signed(data, "-h", "-t", "1795435200",
                           via_file=via_file)
    whole = signer.signed(data, "-t", "1795435200")
    # The same fields (RSA PKCS#1 v1.5 and Ed25519 are deterministic),
    # nothing of the message, in the message's line ending.
    assert fields == whole[:len(whole) - len(data)]
    assert whole.endswith(data)
    assert sorted(alg(s) for s in signatures(fields)) == [
        "ed25519-sha256", "rsa-sha256"]
    assert b"".join(signatures(fields)) == fields
    assert (b"\r" in fields) == (eol == b"\r\n")
    # Put in front of the message later, they verify.
    all_pass(signer.verify(fields + data))


def test_h_fails_like_the_filter(conf):
    r = conf.run("dkimsign", "-h", input=HEAD + b"\r\nx\r\n")
    tempfail(r, "no DKIM key for example.com")
    assert r.stdout == b""
    for args in (["-h", "-g", DOMAIN], ["-h", "-p", DOMAIN]):
        assert conf.run("dkimsign", *args).returncode == USAGE, args
