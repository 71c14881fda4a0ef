"""TLS and AUTH in smtp-in, end to end, with real clients.

Port 587's submission mode (STARTTLS, then AUTH), 465's submissions mode
(TLS from the first byte) and port 25's mx mode run as they do under
systemd, one smtp-in per connection, which starts smtp-tlsd for TLS and
smtp-auth for each AUTH.  The clients are Python's smtplib and ssl,
swaks, gnutls-cli and openssl s_client.  The certificates are made per
test with openssl: an ECDSA one for the host name, and others to swap in.
"""

import re
import shutil
import smtplib
import ssl
import subprocess

import pytest

from conftest import HOSTNAME, WAIT, Client, Server, make_cert

PASSWORD = "correct horse battery staple"
MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: someone@gmail.example\r\n"
           b"Subject: submitted\r\n\r\nhello over TLS\r\n")


def fingerprint(pem_path):
    der = ssl.PEM_cert_to_DER_cert(pem_path.read_text())
    return der


@pytest.fixture
def tls_conf(conf):
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user("alice@example.com", PASSWORD)
    return conf


def server(conf, mode):
    return Server(conf, mode=mode)


@pytest.fixture
def sub(tls_conf):
    srv = server(tls_conf, "submission")
    yield srv
    srv.stop()
    srv.check_children()


@pytest.fixture
def subs(tls_conf):
    srv = server(tls_conf, "submissions")
    yield srv
    srv.stop()
    srv.check_children()


@pytest.fixture
def mx(tls_conf):
    srv = server(tls_conf, "mx")
    yield srv
    srv.stop()
    srv.check_children()


def ctx():
    """Self-signed certificates: what is served is checked by the tests
    themselves, against the files."""
    return ssl._create_unverified_context()


def only_message(conf):
    msgs = conf.queued()
    assert len(msgs) == 1, msgs
    return msgs[0]


# --- the smtplib cases -------------------------------------------

def test_587_starttls_and_plain(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.ehlo("client.example")
        assert "auth" not in s.esmtp_features
        assert "starttls" in s.esmtp_features
        s.starttls(context=ctx())
        s.ehlo("client.example")
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        s.user, s.password = "alice@example.com", PASSWORD
        code, text = s.auth("PLAIN", s.auth_plain)
        assert code == 235, text
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    m = only_message(tls_conf)
    assert m.env["via"] == "submission"
    assert m.rcpts == ["<someone@gmail.example>"]
    assert re.search(rb"with ESMTPSA id \w+\n\t\(using TLSv1\.[23] with "
                     rb"cipher \S+\)", m.body), m.body[:400]
    assert b"alice@example.com)" not in m.headers().split(b"From:")[0]
    assert PASSWORD.encode() not in m.path.read_bytes()


def test_465_implicit_tls_and_login(tls_conf, subs):
    with smtplib.SMTP_SSL("127.0.0.1", subs.port, timeout=WAIT,
                          context=ctx()) as s:
        s.ehlo("client.example")
        s.user, s.password = "alice@example.com", PASSWORD
        code, text = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        assert code == 235, text
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    assert only_message(tls_conf).env["via"] == "submissions"
    subs.wait_for(r"event=tls .*version=TLSv1\.3")


def test_wrong_password_gets_535(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.ehlo()
        s.user, s.password = "alice@example.com", "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth("PLAIN", s.auth_plain)
        assert e.value.smtp_code == 535
        assert b"5.7.8" in e.value.smtp_error
    [ev] = sub.events("auth-failed")
    assert "wrong password" in ev["reason"]
    assert "wrong\n" not in sub.log()


def test_receive_only_user_cannot_log_in(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.ehlo()
        s.user, s.password = "bob@example.com", ""
        code, _ = s.docmd("AUTH", "PLAIN AGJvYkBleGFtcGxlLmNvbQB4")
        assert code == 535


def test_auth_before_tls_is_refused_and_not_offered(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.ehlo()
        assert "auth" not in s.esmtp_features
        code, text = s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHg=")
        assert code == 538 and b"5.7.11" in text


def test_mail_before_auth_on_587_gets_530(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.ehlo()
        code, text = s.mail("alice@example.com")
        assert code == 530 and b"5.7.0" in text


def test_forged_sender_and_from_get_550(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.login("alice@example.com", PASSWORD)
        code, text = s.mail("bob@example.com")
        assert code == 550 and b"5.7.1" in text
        s.rset()
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("alice@example.com", ["someone@gmail.example"],
                       MESSAGE.replace(b"alice@example.com",
                                       b"ceo@example.com"))
        assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error
    assert tls_conf.queued() == []


def test_alias_of_the_user_may_be_the_sender(tls_conf, sub):
    # info: alice (conftest), so alice owns info@example.com.
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.login("alice@example.com", PASSWORD)
        s.sendmail("info@example.com", ["someone@gmail.example"],
                   MESSAGE.replace(b"alice@", b"info@"))
    assert only_message(tls_conf).sender == "<info@example.com>"


def test_relay_without_auth_on_25_refused_and_with_auth_accepted(tls_conf,
                                                                   mx):
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=WAIT) as s:
        s.ehlo()
        s.mail("carol@remote.example")
        code, _ = s.rcpt("someone@gmail.example")
        assert code == 554
        s.rset()
        s.starttls(context=ctx())
        s.login("alice@example.com", PASSWORD)
        s.sendmail("alice@example.com", ["someone@gmail.example"], MESSAGE)
    assert only_message(tls_conf).env["via"] == "mx"


def test_three_wrong_passwords_close_the_session(tls_conf, sub):
    with smtplib.SMTP("127.0.0.1", sub.port, timeout=WAIT) as s:
        s.starttls(context=ctx())
        s.ehlo()
        codes = [s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUuY29tAHg=")[0]
                 for _ in range(3)]
        assert codes == [535, 535, 421]
        with pytest.raises((smtplib.SMTPServerDisconnected, OSError)):
            s.noop()
    sub.wait_for(r"event=disconnect .*reason=auth-failures")


def test_pipelined_command_behind_starttls_is_never_run_under_tls(tls_conf,
                                                                 mx):
    """CVE-2011-0411: STARTTLS and a command in one packet.  The server
    must not execute the command as if it came over TLS; here it refuses
    STARTTLS and answers the command in plaintext."""
    c = Client(mx.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    c.send("STARTTLS\r\nRSET\r\n")
    code, text = c.reply()
    assert code == 503, text
    assert c.reply()[0] == 250          # RSET, in the clear
    # A later STARTTLS alone works: the session was not confused.
    code, _ = c.cmd("STARTTLS")
    assert code == 220
    tls = ctx().wrap_socket(c.sock, server_hostname=HOSTNAME)
    tls.sendall(b"MAIL FROM:<a@b.example>\r\n")
    assert tls.recv(4096).startswith(b"503")    # EHLO again first
    tls.close()


# --- swaks, gnutls-cli, openssl --------------------------------------------

def swaks(*args):
    return subprocess.run(["swaks", "--timeout", "20", *args],
                          capture_output=True, timeout=WAIT, text=True)


def test_swaks_starttls_plain_and_tlsc_login(tls_conf, sub, subs):
    r = swaks("--server", f"127.0.0.1:{sub.port}", "-tls", "-a", "PLAIN",
              "-au", "alice@example.com", "-ap", PASSWORD,
              "-f", "alice@example.com", "-t", "someone@gmail.example",
              "--h-From", "alice@example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout
    r = swaks("--server", f"127.0.0.1:{subs.port}", "-tlsc", "-a", "LOGIN",
              "-au", "alice@example.com", "-ap", PASSWORD,
              "-f", "alice@example.com", "-t", "someone@gmail.example",
              "--h-From", "alice@example.com")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(tls_conf.queued()) == 2


def s_client(port, *extra, brief=True):
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
         "-starttls", "smtp", *(["-brief"] if brief else []), *extra],
        input="QUIT\r\n", capture_output=True, timeout=WAIT, text=True)


def test_openssl_and_gnutls_see_the_certificate_and_tls13(tls_conf, mx):
    r = s_client(mx.port)
    out = r.stdout + r.stderr
    assert "Protocol version: TLSv1.3" in out, out
    assert f"CN = {HOSTNAME}" in out or f"CN={HOSTNAME}" in out, out
    if shutil.which("gnutls-cli") is None:
        pytest.fail("gnutls-cli is missing (t/deps.sh installs gnutls-bin)")
    r = subprocess.run(
        ["gnutls-cli", "--insecure", "--starttls-proto=smtp",
         "--port", str(mx.port), "127.0.0.1"],
        input="QUIT\r\n", capture_output=True, timeout=WAIT, text=True)
    out = r.stdout + r.stderr
    assert "TLS1.3" in out, out
    assert f"CN={HOSTNAME}" in out, out


def test_a_client_with_only_an_x25519_key_share_gets_no_hello_retry(tls_conf,
                                                                    mx):
    """OpenSSL's clients send a key share for X25519 alone: the default
    priorities take it, where P-256 first cost a HelloRetryRequest (a
    second ServerHello) and a round trip."""
    r = s_client(mx.port, "-tls1_3", "-groups", "X25519:P-256", "-msg",
                 brief=False)
    out = r.stdout + r.stderr
    assert "Server Temp Key: X25519" in out, out
    assert out.count("ServerHello") == 1, out


def test_renewed_certificate_is_served_on_the_next_connection(tls_conf, mx):
    certs = tls_conf.dir / "certs"

    def served():
        r = s_client(mx.port, "-showcerts", brief=False)
        m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE"
                      r"-----", r.stdout, re.S)
        assert m, r.stdout + r.stderr
        return ssl.PEM_cert_to_DER_cert(m.group(0))

    first = served()
    assert first == fingerprint(certs / "fullchain.pem")
    make_cert(certs, HOSTNAME, kind="rsa")     # as a renewal replaces it
    second = served()
    assert second == fingerprint(certs / "fullchain.pem")
    assert second != first


def test_sni_picks_the_certificate_of_the_name(tls_conf, mx):
    make_cert(tls_conf.dir / "certs" / "mail.other.example",
              "mail.other.example")
    r = s_client(mx.port, "-servername", "mail.other.example")
    assert "CN = mail.other.example" in r.stdout + r.stderr or \
        "CN=mail.other.example" in r.stdout + r.stderr, r.stdout + r.stderr
    # the log line may come after s_client has its answer
    mx.wait_for(r"event=tls .*sni=mail\.other\.example")


def test_without_certificate_mx_has_no_starttls_and_587_says_so(conf):
    srv = server(conf, "mx")
    try:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
            s.ehlo()
            assert "starttls" not in s.esmtp_features
        srv.wait_for(r"event=tls-unavailable")
    finally:
        srv.stop()
        srv.check_children()
    srv = server(conf, "submission")
    try:
        c = Client(srv.connect())
        code, text = c.reply()
        assert code == 421 and "TLS is not configured" in text[0], text
    finally:
        srv.stop()
        srv.check_children()


def test_failed_logins_outlive_the_session_per_source(tls_conf):
    """Failures are counted per client address across sessions: past the
    limit (auth_source_failures) that address is refused unchecked, even
    with the right password, and another address is not."""
    tls_conf.write(auth_source_failures="2")
    srv = server(tls_conf, "submission")
    try:
        for password in ("wrong", "wronger"):
            with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
                s.starttls(context=ctx())
                s.ehlo()
                s.user, s.password = "alice@example.com", password
                with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                    s.auth("PLAIN", s.auth_plain)
                assert e.value.smtp_code == 535
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
            s.starttls(context=ctx())
            s.ehlo()
            s.user, s.password = "alice@example.com", PASSWORD
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                s.auth("PLAIN", s.auth_plain)
            assert e.value.smtp_code == 454
        srv.wait_for(r"event=error .*too many failed logins from "
                     r"127\.0\.0\.1; refused unchecked")
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT,
                          source_address=("127.0.0.2", 0)) as s:
            s.starttls(context=ctx())
            s.ehlo()
            s.user, s.password = "alice@example.com", PASSWORD
            assert s.auth("PLAIN", s.auth_plain)[0] == 235
    finally:
        srv.stop()
    srv.check_children()
