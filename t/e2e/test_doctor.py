"""posthorn-doctor(8) against a DNS server that serves the right records,
wrong ones and none (issue 12.10).

A network namespace of its own (netns.py's Netns, with a zone of this
file's instead of the delivery tests'): this machine is mx.doctor.test,
at netns.PUBLIC4 and PUBLIC6 on the bridge ours0; dnsmasq serves the
records the tutorial asks the reader to publish for doctor.test.  Each
test restarts dnsmasq with the right records changed in one place and
asserts the checklist lines and the exit code a reader or a script sees.
"""

import ipaddress
import re
import subprocess

import pytest

from conftest import SAN_ENV, prog
from netns import PEERS, PUBLIC4, PUBLIC6, PYTHON, Netns, TestCA

DOMAIN = "doctor.test"
HOST = "mx.doctor.test"
OTHER = "mx.other.test"             # a host that is not this machine
OTHER4 = "127.0.0.3"
HTTPS4 = "127.0.0.14"               # mta-sts.doctor.test (peers/https.py)
STATUS = re.compile(r"^(ok|WARN|FAIL) +(\S+) +(.*)$")


def dkim_records(text):
    """dkimsign -g's output: {NAME: VALUE}, the strings of each record
    joined."""
    out = {}
    for m in re.finditer(r"^(\S+)\. IN TXT \((.*?)\)", text, re.M | re.S):
        out[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    return out


class Site:
    """The configuration directory of mx.doctor.test: doctor.test with
    its DKIM keys (dkimsign -g) and a certificate for the host name."""

    def __init__(self, root):
        self.dir = root / "etc"
        (self.dir / "domains" / DOMAIN).mkdir(parents=True)
        (self.dir / "certs").mkdir()
        self.cert = self.dir / "certs" / "fullchain.pem"
        self.make_cert(self.cert, days=90)
        # The MTA-STS policy server's CA, as smtp-out would trust it.
        self.web = TestCA(root / "webca", names=[f"mta-sts.{DOMAIN}"])
        (self.dir / "posthorn.conf").write_text(
            f"hostname = {HOST}\ntls_cert = {self.cert}\n"
            f"mta_sts_ca = {self.web.ca}\n")
        r = subprocess.run([prog("dkimsign"), "-C", self.dir, "-g", DOMAIN],
                           capture_output=True, timeout=60,
                           env={**SAN_ENV, "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0, r.stderr
        self.dkim = dkim_records(r.stdout.decode())
        assert len(self.dkim) == 2, r.stdout
        self.rsa = next(n for n, v in self.dkim.items() if "k=rsa" in v)
        self.ed = next(n for n, v in self.dkim.items() if "k=ed25519" in v)

    @staticmethod
    def make_cert(path, days, self_signed=False):
        """A certificate for HOST valid for days, signed by a CA made
        beside it (or by itself)."""
        key = path.with_suffix(".key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-nodes"]
        san = ["-addext", f"subjectAltName=DNS:{HOST}"]
        if self_signed:
            cmds = [["req", "-x509", *ec, "-days", str(days), "-subj",
                     f"/CN={HOST}", *san, "-keyout", key, "-out", path]]
        else:
            ca, cakey = path.with_suffix(".ca.pem"), path.with_suffix(".ca.key")
            csr = path.with_suffix(".csr")
            ext = path.with_suffix(".ext")
            ext.write_text(f"subjectAltName=DNS:{HOST}\n")
            cmds = [["req", "-x509", *ec, "-days", "365", "-subj",
                     "/CN=doctor test CA", "-keyout", cakey, "-out", ca],
                    ["req", *ec, "-subj", f"/CN={HOST}", "-keyout", key,
                     "-out", csr],
                    ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                     "-CAcreateserial", "-days", str(days), "-extfile", ext,
                     "-out", path]]
        for c in cmds:
            r = subprocess.run(["openssl", *map(str, c)], capture_output=True,
                               timeout=60)
            assert r.returncode == 0, r.stderr

    def right(self):
        """The records as the tutorial has them published."""
        return {
            "addr": {HOST: [PUBLIC4, PUBLIC6], OTHER: [OTHER4]},
            "ptr": {PUBLIC4: HOST, PUBLIC6: HOST},
            "mx": {DOMAIN: [(10, HOST)]},
            "cname": {},
            "txt": {
                DOMAIN: "v=spf1 mx -all",
                HOST: "v=spf1 a -all",
                f"_dmarc.{DOMAIN}":
                    f"v=DMARC1; p=reject; rua=mailto:postmaster@{DOMAIN}",
                **self.dkim,
            },
        }


def zone(z):
    """dnsmasq's configuration for the records z (Site.right's form).
    A name with an IPv4 and an IPv6 address gets them with address=,
    which makes no PTR record, so that an address has one only when
    z["ptr"] says so; a name of one family gets host-record= (its PTR
    records no test looks at), since dnsmasq answers NXDOMAIN for the
    family that address= does not give."""
    lines = ["no-resolv", "no-hosts", "no-poll", "bind-interfaces",
             "listen-address=127.0.0.1", "port=53", "user=root",
             "keep-in-foreground", "log-queries", "log-facility=-",
             "cache-size=0", "local=/test/", "local=/in-addr.arpa/",
             "local=/ip6.arpa/", "host-record=probe.test,127.0.0.1"]
    for name, addrs in z["addr"].items():
        if len({":" in a for a in addrs}) == 2:
            lines += [f"address=/{name}/{a}" for a in addrs]
        else:
            lines.append(f"host-record={name}," + ",".join(addrs))
    for addr, name in z["ptr"].items():
        rev = ipaddress.ip_address(addr).reverse_pointer
        lines.append(f"ptr-record={rev},{name}")
    for dom, mxs in z["mx"].items():
        lines += [f"mx-host={dom},{host},{pref}" for pref, host in mxs]
    for name, target in z["cname"].items():
        lines.append(f"cname={name},{target}")
    for name, value in z["txt"].items():
        # One record, its value cut into strings of 255 (RFC 1035).
        parts = [value[i:i + 255] for i in range(0, len(value), 255)]
        lines.append(f"txt-record={name}," +
                     ",".join(f'"{p}"' for p in parts))
    return "".join(l + "\n" for l in lines)


class Report:
    """One run: code, the checklist's status lines, the whole output."""

    def __init__(self, r):
        self.code = r.returncode
        self.out = r.stdout.decode()
        self.err = r.stderr.decode()
        for finding in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert finding not in self.err, self.err
        self.lines = [STATUS.match(l).groups()
                      for l in self.out.splitlines() if STATUS.match(l)]

    def having(self, status):
        return [f"{c} {t}" for s, c, t in self.lines if s == status]

    def line(self, status, check, pattern):
        """The one line of that status and check matching pattern."""
        got = [t for s, c, t in self.lines
               if s == status and c == check and re.search(pattern, t)]
        assert len(got) == 1, f"{status} {check} {pattern}\n{self!r}"
        return got[0]

    def after(self, text):
        """The indented lines (what to do) under the line holding text."""
        lines = self.out.splitlines()
        i = next(i for i, l in enumerate(lines) if text in l)
        out = []
        for l in lines[i + 1:]:
            if not l.startswith("      "):
                break
            out.append(l.strip())
        return "\n".join(out)

    def __repr__(self):
        return f"exit {self.code}\n{self.out}{self.err}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return Site(tmp_path_factory.mktemp("doctor"))


@pytest.fixture(scope="module")
def dns(tmp_path_factory, site):
    n = Netns(tmp_path_factory.mktemp("doctorns"), dns_conf=zone(site.right()))
    yield n
    n.close()


def doctor(dns, site, z, *args, greeting=HOST, conf=None):
    """posthorn-doctor -C DIR ARGS with the records z published and an
    SMTP server on port 25 of this machine's addresses that greets as
    greeting (None: nothing listens there)."""
    dns.set_dns(zone(z))
    mark = dns.mark()
    try:
        if greeting is not None:
            dns.aiosmtpd([f"{PUBLIC4}:25", f"[{PUBLIC6}]:25"],
                         site.dir.parent / "store", hostname=greeting)
        r = dns.run([prog("posthorn-doctor"), "-C", conf or site.dir, *args],
                    env={**SAN_ENV, "PATH": "/usr/bin:/bin"})
    finally:
        dns.stop_since(mark)
    return Report(r)


def test_everything_right_is_all_ok_and_exit_0(dns, site):
    # No argument: the local domains of the configuration.
    rep = doctor(dns, site, site.right())
    assert rep.code == 0, rep
    assert rep.having("FAIL") == [] and rep.having("WARN") == [], rep
    rep.line("ok", "HOST", rf"^{HOST}: {PUBLIC6}, {PUBLIC4}, this machine")
    rep.line("ok", "PTR", rf"^{PUBLIC4}: {HOST}, which resolves back")
    rep.line("ok", "PTR", rf"^{re.escape(PUBLIC6)}: {HOST}, which resolves")
    for a in (PUBLIC4, PUBLIC6):
        rep.line("ok", "SPF", rf"^{HOST} for {re.escape(a)}: pass")
        rep.line("ok", "SPF", rf"^{DOMAIN} for {re.escape(a)}: pass")
    rep.line("ok", "MX", rf"^{DOMAIN}: 10 {HOST} \(.*\), this host$")
    for name in (site.rsa, site.ed):
        rep.line("ok", "DKIM", rf"^{re.escape(name)}: matches the key")
    rep.line("ok", "DMARC", rf"^_dmarc\.{DOMAIN}: p=reject")
    rep.line("ok", "TLS", rf"names {HOST}, expires in (89|90) days")
    for a in (PUBLIC4, PUBLIC6):
        rep.line("ok", "SMTP", rf"^{re.escape(a)} port 25: greets as {HOST}$")
    # MTA-STS and TLS-RPT are optional: not published is no warning.
    rep.line("ok", "STS", rf"^_mta-sts\.{DOMAIN}: not published")
    rep.line("ok", "TLSRPT", rf"^_smtp\._tls\.{DOMAIN}: not published")
    assert len(rep.lines) == 16, rep


def test_greeting_of_another_name_fails(dns, site):
    rep = doctor(dns, site, site.right(), DOMAIN, greeting="localhost")
    assert rep.code == 1, rep
    for a in (PUBLIC4, PUBLIC6):
        line = rep.line("FAIL", "SMTP", rf"^{re.escape(a)} port 25: greets "
                                        rf"as localhost, not {HOST}$")
    assert "another server listening on port 25" in rep.after(line), rep
    assert len(rep.having("FAIL")) == 2, rep


def test_greeting_with_control_bytes_is_printed_without_them(dns, site):
    # What answers on port 25 may be another machine (NAT): its bytes
    # reach the reader's terminal, so an escape sequence must not.
    rep = doctor(dns, site, site.right(), DOMAIN, greeting="mx\x1b[2J.evil")
    assert rep.code == 1, rep
    for a in (PUBLIC4, PUBLIC6):
        rep.line("FAIL", "SMTP", rf"^{re.escape(a)} port 25: greets "
                                 rf"as mx\?\[2J\.evil, not {HOST}$")
    assert "\x1b" not in rep.out, rep


def test_nothing_listening_on_port_25_fails(dns, site):
    rep = doctor(dns, site, site.right(), DOMAIN, greeting=None)
    assert rep.code == 1, rep
    rep.line("FAIL", "SMTP", rf"^{PUBLIC4} port 25: Connection refused")
    assert len(rep.having("FAIL")) == 2, rep


def test_mx_pointing_elsewhere_fails(dns, site):
    z = site.right()
    z["mx"][DOMAIN] = [(10, OTHER)]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "MX",
                    rf"^{DOMAIN}: 10 {OTHER} \({OTHER4}\) is not this host")
    assert rep.after(line) == f"publish: {DOMAIN}. IN MX 10 {HOST}.", rep
    # "v=spf1 mx" follows the MX: it no longer covers this machine.
    assert sorted(rep.having("FAIL")) == sorted([
        f"MX {line}",
        f"SPF {DOMAIN} for {PUBLIC6}: fail ({DOMAIN} matched -all)",
        f"SPF {DOMAIN} for {PUBLIC4}: fail ({DOMAIN} matched -all)"]), rep


def test_mx_host_that_is_a_cname_fails(dns, site):
    z = site.right()
    z["mx"][DOMAIN] = [(10, f"mail.{DOMAIN}")]
    z["cname"][f"mail.{DOMAIN}"] = HOST
    z["txt"][DOMAIN] = "v=spf1 a:mx.doctor.test -all"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    rep.line("FAIL", "MX", rf"^{DOMAIN}: 10 mail\.{DOMAIN} is a CNAME "
                           rf"\(to {HOST}\)")
    assert len(rep.having("FAIL")) == 1, rep


def test_missing_ptr_fails(dns, site):
    z = site.right()
    del z["ptr"][PUBLIC6]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "PTR", rf"^{re.escape(PUBLIC6)}: no PTR record")
    assert f"PTR record of {PUBLIC6} giving {HOST}" in rep.after(line), rep
    rep.line("ok", "PTR", rf"^{PUBLIC4}: {HOST}")
    assert len(rep.having("FAIL")) == 1, rep


def test_ptr_giving_another_name_fails(dns, site):
    z = site.right()
    z["ptr"][PUBLIC4] = "vmi1234567.provider.test"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    rep.line("FAIL", "PTR", rf"^{PUBLIC4}: gives vmi1234567\.provider\.test, "
                            rf"not {HOST}$")
    assert len(rep.having("FAIL")) == 1, rep


def test_dkim_record_not_matching_the_key_fails(dns, site):
    z = site.right()
    value = z["txt"][site.rsa]
    # One character of the key changed: another key, as after a
    # "dkimsign -g" whose records were never published.
    i = value.index("p=") + 40
    z["txt"][site.rsa] = value[:i] + ("A" if value[i] != "A" else "B") \
        + value[i + 1:]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "DKIM", rf"^{re.escape(site.rsa)}: does not "
                                    r"match the key \S+\.rsa on disk")
    fix = rep.after(line)
    # What to publish: dkimsign's record, its strings those of the key.
    assert fix.startswith(f"publish (dkimsign -p {DOMAIN} prints it again):")
    assert "".join(re.findall(r'"([^"]*)"', fix)) == value, rep
    rep.line("ok", "DKIM", rf"^{re.escape(site.ed)}: matches")
    assert len(rep.having("FAIL")) == 1, rep


def test_missing_dkim_record_fails(dns, site):
    z = site.right()
    del z["txt"][site.ed]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    rep.line("FAIL", "DKIM", rf"^{re.escape(site.ed)}: no DKIM record")
    assert len(rep.having("FAIL")) == 1, rep


def test_missing_dmarc_fails(dns, site):
    z = site.right()
    del z["txt"][f"_dmarc.{DOMAIN}"]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "DMARC", rf"^_dmarc\.{DOMAIN}: no DMARC record")
    assert (f'_dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=none; '
            f'rua=mailto:postmaster@{DOMAIN}"') in rep.after(line), rep
    assert len(rep.having("FAIL")) == 1, rep


def test_dmarc_without_a_policy_fails(dns, site):
    z = site.right()
    z["txt"][f"_dmarc.{DOMAIN}"] = "v=DMARC1; rua=mailto:x@doctor.test"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    rep.line("FAIL", "DMARC", r"no valid p= tag")


def sts_doctor(dns, site, tmp_path, policy, tlsrpt):
    """The doctor with _mta-sts published and policy served at
    https://mta-sts.doctor.test/.well-known/mta-sts.txt (None: nothing
    listens there)."""
    z = site.right()
    z["txt"][f"_mta-sts.{DOMAIN}"] = "v=STSv1; id=20261206T1"
    z["txt"][f"_smtp._tls.{DOMAIN}"] = tlsrpt
    z["addr"][f"mta-sts.{DOMAIN}"] = [HTTPS4]
    dns.set_dns(zone(z))
    mark = dns.mark()
    try:
        if policy is not None:
            f = tmp_path / f"mta-sts.{DOMAIN}" / ".well-known" / "mta-sts.txt"
            f.parent.mkdir(parents=True)
            f.write_text(policy)
            dns.spawn("https", [PYTHON, PEERS / "https.py", "--listen",
                                f"{HTTPS4}:443", "--root", tmp_path,
                                "--cert", site.web.cert, "--key",
                                site.web.key]).wait_for("listening")
        return doctor(dns, site, z, DOMAIN)
    finally:
        dns.stop_since(mark)


def test_mta_sts_and_tls_rpt_checked_when_published(dns, site, tmp_path):
    rep = sts_doctor(dns, site, tmp_path, "version: STSv1\nmode: enforce\n"
                     f"mx: {HOST}\nmax_age: 604800\n",
                     "v=TLSRPTv1; rua=ftp://x.test/")
    assert rep.code == 1, rep
    rep.line("ok", "STS", rf"^_mta-sts\.{DOMAIN}: id=20261206T1$")
    rep.line("ok", "STS", rf"^mta-sts\.{DOMAIN} policy: mode enforce, "
             rf"max_age 604800, mx {HOST}$")
    rep.line("FAIL", "TLSRPT", rf"^_smtp\._tls\.{DOMAIN}: no valid rua=")
    assert len(rep.having("FAIL")) == 1, rep


def test_mta_sts_policy_without_our_mx_fails(dns, site, tmp_path):
    rep = sts_doctor(dns, site, tmp_path, "version: STSv1\nmode: enforce\n"
                     "mx: *.elsewhere.test\nmax_age: 604800\n",
                     f"v=TLSRPTv1; rua=mailto:tls@{DOMAIN}")
    assert rep.code == 1, rep
    rep.line("FAIL", "STS", rf"MX host {HOST} matches no mx: line")
    assert f'add "mx: {HOST}"' in rep.after("matches no mx: line"), rep
    rep.line("ok", "TLSRPT", rf"rua=mailto:tls@{DOMAIN}$")


def test_mta_sts_policy_not_served_fails_and_says_how(dns, site, tmp_path):
    rep = sts_doctor(dns, site, tmp_path, None,
                     f"v=TLSRPTv1; rua=mailto:tls@{DOMAIN}")
    assert rep.code == 1, rep
    rep.line("FAIL", "STS", rf"^https://mta-sts\.{DOMAIN}/\.well-known/"
             r"mta-sts\.txt: ")
    how = rep.after(f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt: ")
    assert f"mx: {HOST}" in how and "version: STSv1" in how, how


def test_unpublished_mta_sts_and_tls_rpt_say_how(dns, site):
    rep = doctor(dns, site, site.right(), DOMAIN)
    assert rep.code == 0, rep
    rep.line("ok", "STS", rf"^_mta-sts\.{DOMAIN}: not published")
    how = rep.after(f"_mta-sts.{DOMAIN}: not published")
    for want in (f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt",
                 "version: STSv1", f"mx: {HOST}", "max_age: 604800",
                 f'_mta-sts.{DOMAIN}. IN TXT "v=STSv1; id='):
        assert want in how, how
    rep.line("ok", "TLSRPT", rf"^_smtp\._tls\.{DOMAIN}: not published")
    assert (f'_smtp._tls.{DOMAIN}. IN TXT "v=TLSRPTv1; '
            f'rua=mailto:tlsrpt@{DOMAIN}"') in rep.after(
                f"_smtp._tls.{DOMAIN}: not published"), rep


def test_host_name_address_not_this_machine_warns(dns, site):
    z = site.right()
    # Behind NAT the published address is the router's: a warning.
    z["addr"][HOST] = ["198.51.100.25", PUBLIC6]
    z["ptr"]["198.51.100.25"] = HOST
    z["txt"][HOST] = "v=spf1 a -all"
    z["txt"][DOMAIN] = "v=spf1 a:mx.doctor.test -all"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 0, rep
    line = rep.line("WARN", "HOST", rf"^{HOST}: {PUBLIC6}, 198\.51\.100\.25: "
                                    r"1 of them not this machine's")
    assert "forwards port 25 here" in rep.after(line), rep
    rep.line("ok", "PTR", rf"^198\.51\.100\.25: {HOST}")
    rep.line("ok", "MX", rf"^{DOMAIN}: 10 {HOST} .*this host$")


def test_spf_not_covering_an_address_fails(dns, site):
    z = site.right()
    # IPv6 covered through an include, IPv4 not at all.
    # exp= words a failure only: its macro is no reason to give up.
    z["txt"][DOMAIN] = ("v=spf1 ip4:198.51.100.0/24 include:_spf.other.test"
                        " exp=explain.%{d} -all")
    z["txt"]["_spf.other.test"] = "v=spf1 ip6:2001:db8::/32 ~all"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "SPF", rf"^{DOMAIN} for {PUBLIC4}: fail "
                                   rf"\({DOMAIN} matched -all\)")
    assert f"add ip4:{PUBLIC4} to the SPF record of {DOMAIN}" \
        in rep.after(line), rep
    rep.line("ok", "SPF", rf"^{DOMAIN} for {re.escape(PUBLIC6)}: pass "
                          rf"\({DOMAIN} matched \+include:_spf\.other\.test\)")
    assert len(rep.having("FAIL")) == 1, rep


def test_spf_redirect_is_followed(dns, site):
    z = site.right()
    z["txt"][DOMAIN] = "v=spf1 redirect=_spf.doctor.test"
    z["txt"]["_spf.doctor.test"] = "v=spf1 a:mx.doctor.test/32//128 -all"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 0, rep
    for a in (PUBLIC4, PUBLIC6):
        rep.line("ok", "SPF", rf"^{DOMAIN} for {re.escape(a)}: pass "
                              r"\(_spf\.doctor\.test matched \+a:")


def test_spf_past_ten_lookups_is_a_permerror(dns, site):
    z = site.right()
    # RFC 7208 §4.6.4: the eleventh include is one too many.
    z["txt"][DOMAIN] = "v=spf1 include:i1.doctor.test -all"
    for i in range(1, 11):
        z["txt"][f"i{i}.doctor.test"] = f"v=spf1 include:i{i + 1}.doctor.test"
    z["txt"]["i11.doctor.test"] = "v=spf1 +all"
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "SPF", rf"^{DOMAIN} for {PUBLIC4}: permerror "
                                   r"\(i10\.doctor\.test: more than 10 DNS")
    assert "correct the SPF record" in rep.after(line), rep


def test_spf_with_macros_is_evaluated(dns, site):
    z = site.right()
    # exists with %{i}: the IPv4 address has its name under
    # spf.doctor.test, the IPv6 one (%{i} in nibbles) has none.
    z["txt"][DOMAIN] = "v=spf1 exists:%{i}.spf.%{d} -all"
    z["addr"][f"{PUBLIC4}.spf.{DOMAIN}"] = ["127.0.0.2"]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    rep.line("ok", "SPF", rf"^{DOMAIN} for {PUBLIC4}: pass "
                          rf"\({DOMAIN} matched \+exists:%{{i}}\.spf\.%{{d}}\)")
    rep.line("FAIL", "SPF", rf"^{DOMAIN} for {re.escape(PUBLIC6)}: fail "
                            rf"\({DOMAIN} matched -all\)")


def test_spf_missing_fails_with_the_record_to_publish(dns, site):
    z = site.right()
    del z["txt"][HOST]
    rep = doctor(dns, site, z, DOMAIN)
    assert rep.code == 1, rep
    line = rep.line("FAIL", "SPF", rf"^{HOST} for {PUBLIC4}: none")
    assert rep.after(line) == f'publish: {HOST}. IN TXT "v=spf1 a -all"'


def test_self_signed_certificate_warns(dns, site, tmp_path):
    cert = tmp_path / "self.pem"
    Site.make_cert(cert, days=90, self_signed=True)
    conf = tmp_path / "etc"
    (conf / "domains").mkdir(parents=True)
    (conf / "posthorn.conf").write_text(
        f"hostname = {HOST}\ntls_cert = {cert}\n")
    rep = doctor(dns, site, site.right(), conf=conf)
    assert rep.code == 0, rep
    line = rep.line("WARN", "TLS", rf"names {HOST}, self-signed$")
    assert "send mail as" in rep.after(line), rep


def test_certificate_about_to_expire_warns(dns, site, tmp_path):
    cert = tmp_path / "soon.pem"
    Site.make_cert(cert, days=5)
    conf = tmp_path / "etc"
    (conf / "domains").mkdir(parents=True)
    (conf / "posthorn.conf").write_text(
        f"hostname = {HOST}\ntls_cert = {cert}\n")
    rep = doctor(dns, site, site.right(), conf=conf)
    assert rep.code == 0, rep
    rep.line("WARN", "TLS", rf"names {HOST}, expires in [45] days")
    # No local domain: said so, not silently "all ok".
    assert "no mail domain" in rep.out, rep
