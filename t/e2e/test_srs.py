"""SRS end to end: `aliases -r` and smtp-in's RCPT check against
addresses that Mail::SRS (libmail-srs-perl, the reference beside
postsrsd/libsrs2) makes with the same secret at the current time, or 22
days ago for expired ones.  Our own srs_forward is compared byte for byte
with Mail::SRS in t/unit/srs_test.c; here `mail_srs_reverse` checks any
address of ours (the forwarded envelope sender of a queue-run test can use
it too)."""

import os
import subprocess
import time

import pytest

SECRET = "e2e secret, not a good one"
DAY = 86400
EX_USAGE, EX_TEMPFAIL = 64, 75

# Mail::SRS with its time() fixed at $T, so that "22 days ago" is exact.
PERL = r"""
BEGIN { my $t = $ENV{SRS_TIME}; *CORE::GLOBAL::time = sub () { $t }; }
use strict;
use warnings;
use Mail::SRS;
my $srs = Mail::SRS->new(Secret => $ENV{SRS_SECRET});
my ($op, $a, $fwd) = @ARGV;
my $r = eval { $op eq "forward" ? $srs->forward($a, $fwd) : $srs->reverse($a) };
if (!defined $r) { print STDERR $@; exit 1; }
print "$r\n";
"""


def mail_srs(op, *args, when=None, secret=SECRET):
    env = dict(os.environ, SRS_SECRET=secret,
               SRS_TIME=str(int(time.time() if when is None else when)))
    p = subprocess.run(["perl", "-e", PERL, op, *args], env=env,
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def mail_srs_forward(sender, fwd, **kw):
    rc, out, err = mail_srs("forward", sender, fwd, **kw)
    assert rc == 0, err
    return out


def mail_srs_reverse(address, **kw):
    """What Mail::SRS makes of address: (ok, original or its error)."""
    rc, out, err = mail_srs("reverse", address, **kw)
    return rc == 0, out if rc == 0 else err


def forward_with_cased_hash(user, host, fwd):
    """A Mail::SRS address whose hash has an upper and a lower case
    letter (three addresses in four do), so that changing its case
    changes it: user, user1, user2, ... until one does."""
    for i in range(64):
        a = mail_srs_forward(f"{user}{i or ''}@{host}", fwd)
        hsh = a.split("=")[1]
        if hsh.lower() != hsh and hsh.upper() != hsh:
            return a
    raise AssertionError("no hash with both cases")


@pytest.fixture
def srs_conf(conf):
    (conf.dir / "srs.secret").write_text(SECRET + "\n")
    (conf.dir / "srs.secret").chmod(0o640)
    return conf


def reverse(conf, address):
    p = conf.run("aliases", "-r", address)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_mail_srs_srs0_is_reversed(srs_conf):
    a = forward_with_cased_hash("Alice.Smith", "remote.example",
                                "example.com")
    user = a.split("=")[-1].split("@")[0]
    assert a.startswith("SRS0=") and a.endswith("=remote.example="
                                                f"{user}@example.com")
    assert reverse(srs_conf, a) == (0, f"{user}@remote.example\n", "")
    # The hash keeps its case (a lowercase guess would otherwise hit one
    # time in 2^20); the rest of the address may change case.
    tag, hsh, rest = a.split("=", 2)
    assert reverse(srs_conf, f"{tag.lower()}={hsh}={rest.upper()}")[0:2] == (
        0, f"{user.upper()}@remote.example\n")
    rc, out, err = reverse(srs_conf, a.upper())
    assert (rc, out) == (1, "") and "bad hash" in err, err
    # postsrsd's rule, for relays that smash the whole local part.
    srs_conf.write(srs_postsrsd_compat="yes")
    assert reverse(srs_conf, a.upper())[0:2] == (
        0, f"{user.upper()}@remote.example\n")


def test_mail_srs_srs1_gives_the_first_forwarders_address(srs_conf):
    first = "SRS0=abcd=XY=orig.example=bob@first.example"
    a = mail_srs_forward(first, "catchall.example")
    assert a.startswith("SRS1=") and "=first.example==abcd=" in a
    assert reverse(srs_conf, a) == (0, first + "\n", "")


def test_three_weeks_are_good_and_22_days_are_not(srs_conf):
    now = time.time()
    a = mail_srs_forward("carol@remote.example", "example.com",
                         when=now - 21 * DAY)
    assert reverse(srs_conf, a)[0:2] == (0, "carol@remote.example\n")
    a = mail_srs_forward("carol@remote.example", "example.com",
                         when=now - 22 * DAY)
    rc, out, err = reverse(srs_conf, a)
    assert (rc, out) == (1, "") and "expired" in err, err
    # Mail::SRS agrees on both.
    assert not mail_srs_reverse(a)[0]


def test_tampered_and_foreign_addresses_are_refused(srs_conf):
    a = mail_srs_forward("dave@remote.example", "example.com")
    tampered = a.replace("=dave@", "=mallory@")
    rc, out, err = reverse(srs_conf, tampered)
    assert (rc, out) == (1, "") and "bad hash" in err, err
    assert not mail_srs_reverse(tampered)[0]
    other = mail_srs_forward("dave@remote.example", "example.com",
                             secret="someone else's")
    assert "bad hash" in reverse(srs_conf, other)[2]
    # Not SRS, or not a domain of ours: no answer either.
    assert reverse(srs_conf, "alice@example.com")[0] == 1
    rc, _, err = reverse(srs_conf, a.replace("@example.com", "@remote.example"))
    assert rc == 1 and "not a local domain" in err, err


def test_mail_srs_reverses_what_aliases_accepts(srs_conf):
    """The same verdicts from both, on one list of addresses, with
    srs_postsrsd_compat; without it, a hash whose case changed is
    refused where Mail::SRS takes it."""
    good = forward_with_cased_hash("erin", "remote.example", "example.com")
    cases = [(good, True),
             (good.lower(), True),
             (good.replace("SRS0=", "SRS0=x"), False),
             (good.replace("=remote.example=", "=remote.example.org="),
              False)]
    for a, ok in cases:
        assert mail_srs_reverse(a)[0] == ok, a
        strict = ok and a == good
        assert (reverse(srs_conf, a)[0] == 0) == strict, a
    srs_conf.write(srs_postsrsd_compat="yes")
    for a, ok in cases:
        assert (reverse(srs_conf, a)[0] == 0) == ok, a


def test_longer_hash_written_and_read(srs_conf):
    """srs_hash_length: Mail::SRS's HashLength; srs_hash_min keeps the
    four characters of mail still on its way readable meanwhile."""
    long_ = mail_srs_forward("erin@remote.example", "example.com")
    tag, hsh, rest = long_.split("=", 2)
    assert len(hsh) == 4
    srs_conf.write(srs_hash_length="8")
    rc, _, err = reverse(srs_conf, long_)
    assert rc == 1 and "bad hash" in err, err
    srs_conf.write(srs_hash_length="8", srs_hash_min="4")
    assert reverse(srs_conf, long_)[0] == 0


def test_without_a_secret_it_is_a_temporary_failure(conf):
    a = mail_srs_forward("frank@remote.example", "example.com")
    rc, out, err = reverse(conf, a)
    assert (rc, out) == (EX_TEMPFAIL, "") and "srs.secret" in err, err


def test_r_takes_one_address_alone(srs_conf):
    assert reverse(srs_conf, "")[0] == 1
    p = srs_conf.run("aliases", "-r", "a@example.com", "b@example.com")
    assert p.returncode == EX_USAGE
    p = srs_conf.run("aliases", "-c", "-r", "a@example.com")
    assert p.returncode == EX_USAGE


def rcpt(client, address):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<>")[0] == 250
    return client.cmd(f"RCPT TO:<{address}>")


def test_smtp_in_accepts_a_bounce_to_a_valid_srs_address(srs_conf, smtpd,
                                                         client):
    a = mail_srs_forward("grace@remote.example", "example.com")
    code, _ = rcpt(client, a)
    assert code == 250
    assert client.cmd("DATA")[0] == 354
    client.send("Subject: bounce\r\n\r\nundeliverable\r\n.\r\n")
    assert client.reply()[0] == 250
    assert client.cmd("QUIT")[0] == 221
    msgs = srs_conf.queued()
    assert len(msgs) == 1 and msgs[0].rcpts == [f"<{a}>"]


def test_smtp_in_refuses_a_tampered_srs_address(srs_conf, smtpd, client):
    a = mail_srs_forward("heidi@remote.example", "catchall.example")
    # The domain has a catch-all, which must not take a forged one.
    code, text = rcpt(client, a.replace("=heidi@", "=mallory@"))
    assert code == 550, text
    assert "invalid or expired SRS address" in text[0]
    old = mail_srs_forward("heidi@remote.example", "catchall.example",
                           when=time.time() - 22 * DAY)
    assert client.cmd(f"RCPT TO:<{old}>")[0] == 550
    # The case of the tag does not matter, nor does the separator.
    tag, hsh, rest = a.split("=", 2)
    code, _ = client.cmd(f"RCPT TO:<{tag.lower()}={hsh}={rest}>")
    assert code == 250
    assert client.cmd("QUIT")[0] == 221
    smtpd.wait_for(r"event=refused .*invalid or expired SRS address", 2)


def test_smtp_in_closes_after_three_bad_srs_addresses(srs_conf, smtpd,
                                                      client):
    """Guessing hashes: the third failure in a session closes it."""
    a = forward_with_cased_hash("heidi", "remote.example", "example.com")
    tag, hsh, rest = a.split("=", 2)
    # A lowercased hash: what postsrsd would take, and we do not.
    code, _ = rcpt(client, f"{tag}={hsh.lower()}={rest}")
    assert code == 550
    assert client.cmd(
        "RCPT TO:<srs0+abcd=XY=orig.example=x@example.com>")[0] == 550
    # A good one in between is not counted.
    assert client.cmd(f"RCPT TO:<{a}>")[0] == 250
    code, text = client.cmd("RCPT TO:<SRS0=AAAA=XY=orig.example=y@"
                            "example.com>")
    assert code == 421 and "too many invalid SRS addresses" in text[0], text
    assert client.closed()
    smtpd.wait_for(r"event=disconnect .*reason=srs-failures")


def test_smtp_in_defers_when_the_secret_is_missing(conf, smtpd, client):
    a = mail_srs_forward("ivan@remote.example", "example.com")
    code, _ = rcpt(client, a)
    assert code == 451
    assert client.cmd("QUIT")[0] == 221
    smtpd.wait_for(r"event=error .*op=srs .*srs\.secret")


def test_smtp_in_leaves_srs_of_other_domains_to_the_relay_rules(
        srs_conf, smtpd, client):
    a = mail_srs_forward("judy@remote.example", "elsewhere.example")
    assert rcpt(client, a)[0] == 554
