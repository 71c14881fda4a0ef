"""smtp-in's content filter (posthorn.conf's filter key, smtp-in(8)
FILTERS), end to end: the real smtp-in runs a filter script of the
test's for each message on port 25 and answers by its verdict: taken,
taken with header fields added, refused, deferred; a filter that hangs
is killed and the client told to try later, with nothing queued; one
that crashes too.  Spam is never forwarded to another domain."""

import os
import re
import smtplib
import subprocess

import pytest

from conftest import HOSTNAME, WAIT, QueueRun, Server, parse_kv, smtp_send

MSG = (b"From: Bob <bob@remote.example>\r\n"
       b"To: alice@example.com\r\n"
       b"Subject: filtered\r\n"
       b"\r\n"
       b"the body\r\n")


def write_filter(conf, body, name="filter.sh"):
    """An executable shell script of the test's as the filter."""
    path = conf.root / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def configure(conf, script, **keys):
    conf.write(max_message_size="50M", filter=str(script), **keys)


def filter_lines(srv, count=1):
    srv.wait_for(r"event=filter ", count)
    return srv.events("filter")


@pytest.fixture
def server(conf):
    """Started by each test after it wrote its configuration."""
    started = []

    def start():
        srv = Server(conf)
        started.append(srv)
        return srv
    yield start
    for srv in started:
        srv.stop()
        srv.check_children()


# --- accept, and what the filter is given ------------------------------------

def test_accept_sees_message_and_envelope(conf, server, tmp_path):
    seen = tmp_path / "seen"
    script = write_filter(conf, f"""
cat > {seen}/stdin
env > {seen}/env
exit 0
""")
    seen.mkdir()
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG, rcpts=("<alice@example.com>",
                                           "<bob@example.com>"))
    assert code == 250, text
    [q] = conf.queued()
    # What it read is the message as queued: our Received: first.
    stdin = (seen / "stdin").read_bytes()
    assert stdin == q.body
    assert stdin.startswith(b"Received: from client.example ([127.0.0.1])")
    assert stdin.endswith(MSG.replace(b"\r\n", b"\n"))
    env = dict(l.split("=", 1) for l in
               (seen / "env").read_text().splitlines() if "=" in l)
    assert env["MAIL_FROM"] == "bob@remote.example"
    assert env["RCPT_TO"] == "alice@example.com bob@example.com"
    assert env["REMOTE_ADDR"] == "127.0.0.1"
    assert env["EHLO_DOMAIN"] == "client.example"
    assert env["ON_TLS"] == "0"
    assert env["AUTH_AS"] == ""
    assert env["POSTHORN_QUEUE_ID"] == q.id
    assert env["POSTHORN_MODE"] == "mx"
    assert env["POSTHORN_HOSTNAME"] == HOSTNAME
    # Nothing of smtp-in's own environment (the test's, here).
    assert "POSTHORN_CONF" in env and "ASAN_OPTIONS" not in env
    assert "HOME" not in env
    [f] = filter_lines(srv)
    assert f["verdict"] == "accept" and f["fields"] == "0"
    assert f["id"] == q.id


def test_accept_with_fields_added_on_top(conf, server):
    script = write_filter(conf, r"""
cat > /dev/null
printf 'X-Spam-Status: No, score=0.1\r\n\ttests=NONE\r\nX-Virus-Scanned: clean\n'
""")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 250, text
    [q] = conf.queued()
    assert q.body.startswith(b"X-Spam-Status: No, score=0.1\n\ttests=NONE\n"
                             b"X-Virus-Scanned: clean\nReceived: from ")
    assert q.body.endswith(MSG.replace(b"\r\n", b"\n"))
    assert conf.leftovers() == []
    [f] = filter_lines(srv)
    assert f["verdict"] == "accept" and f["fields"] == "2"
    # The envelope is intact: queue-run delivers it.
    qr = QueueRun(conf)
    try:
        qr.delivered()
    finally:
        qr.stop()
    [m] = conf.maildir("example.com", "alice")
    assert b"X-Virus-Scanned: clean\n" in m


def test_filter_reads_nothing_and_swaks_gets_250(conf, server):
    """A filter need not read its input: it reads a file, not a pipe."""
    script = write_filter(conf, "echo 'X-Checked: yes'\n")
    configure(conf, script)
    srv = server()
    body = ("x" * 999 + "\n") * 200
    (conf.root / "body").write_text(body)
    r = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{srv.port}", "--from",
         "bob@remote.example", "--to", "alice@example.com", "--helo",
         "client.example", "--body", str(conf.root / "body"),
         "--hide-all"],
        capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    [q] = conf.queued()
    assert q.body.startswith(b"X-Checked: yes\nReceived: ")
    assert body.encode() in q.body


@pytest.mark.parametrize("output,why", [
    ("not a header field\n", "not a header field"),
    ("X-Ok: 1\n\nbody\n", "an empty line"),
    ("\tfolded first\n", "before any field"),
    ("X-Bin: \x01\n", "not printable ASCII"),
    ("X-Long: " + "a" * 1000 + "\n", "over 998"),
])
def test_malformed_fields_are_451_and_nothing_queued(conf, server, output,
                                                     why):
    (conf.root / "out").write_text(output)
    script = write_filter(conf, f"cat {conf.root}/out\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451 and text.startswith("4.3.0"), text
    assert conf.queued() == [] and conf.leftovers() == []
    [f] = filter_lines(srv)
    assert f["verdict"] == "failed" and why in f["reason"]


def test_output_over_the_bound_is_451(conf, server):
    script = write_filter(conf, "head -c 100000 /dev/zero | tr '\\0' a\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451, text
    assert conf.queued() == [] and conf.leftovers() == []
    [f] = filter_lines(srv)
    assert "output over 16384 octets" in f["reason"]


# --- refuse and try later ---------------------------------------------------

def test_refuse_with_its_code_and_sanitised_text(conf, server):
    script = write_filter(conf, r"""
echo 'a first line'
printf '554 5.7.1 Virus found: Eicar-Test \001\303\251 sig\n'
exit 20
""")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 554
    assert text == "5.7.1 Virus found: Eicar-Test ??? sig"
    assert conf.queued() == [] and conf.leftovers() == []
    [f] = filter_lines(srv)
    assert f["verdict"] == "refuse"
    [r] = srv.events("refused")
    assert r["id"] == f["id"] and r["reason"].startswith("554 5.7.1 Virus")


def test_refuse_without_code_is_550_and_text_bounded(conf, server):
    script = write_filter(conf, "echo spam: $(head -c 600 /dev/zero | "
                          "tr '\\0' s); exit 20\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 550 and text.startswith("5.7.1 spam: sss"), text
    assert len(text) <= 6 + 200
    assert conf.queued() == []


def test_refuse_may_not_close_the_session(conf, server):
    """421 is not a filter's to say: the code falls back to 550 and the
    session goes on."""
    script = write_filter(conf, "echo '421 4.7.0 go away'; exit 20\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 550 and text == "5.7.1 421 4.7.0 go away", text


def test_tempfail(conf, server):
    script = write_filter(conf, "echo '452 4.3.1 scanner busy'; exit 75\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert (code, text) == (452, "4.3.1 scanner busy")
    assert conf.queued() == [] and conf.leftovers() == []
    script.write_text("#!/bin/sh\nexit 75\n")
    code, text = smtp_send(srv, MSG)
    assert code == 451 and text.startswith("4.7.1 "), text
    assert [f["verdict"] for f in filter_lines(srv, 2)] == ["tempfail"] * 2


def test_smtplib_sees_refusal(conf, server):
    script = write_filter(conf, "echo 'no thanks'; exit 20\n")
    configure(conf, script)
    srv = server()
    with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("bob@remote.example", ["alice@example.com"], MSG)
        assert e.value.smtp_code == 550
        assert e.value.smtp_error == b"5.7.1 no thanks"
        # The session goes on: a second message, the same answer.
        with pytest.raises(smtplib.SMTPDataError):
            s.sendmail("bob@remote.example", ["alice@example.com"], MSG)
    assert conf.queued() == []


# --- a filter that hangs or crashes ----------------------------------------

def gone(pid):
    """Not running: no such process, or a zombie that only its parent
    (init, for what the filter left behind) has yet to reap."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_hang_is_killed_451_and_nothing_queued(conf, server, tmp_path):
    script = write_filter(conf, f"""
echo $$ > {tmp_path}/pid
sleep 600 &
echo $! > {tmp_path}/child
wait
""")
    configure(conf, script, filter_timeout="2s")
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451 and text.startswith("4.7.1 "), text
    assert "timed out" in text
    assert conf.queued() == [] and conf.leftovers() == []
    # The filter and what it started are gone; the filter, smtp-in's
    # child, reaped too (the sleep is init's to reap).
    assert not os.path.exists(f"/proc/{int((tmp_path / 'pid').read_text())}")
    assert gone(int((tmp_path / "child").read_text()))
    [f] = filter_lines(srv)
    assert f["verdict"] == "failed" and "timed out" in f["reason"]


def test_hang_after_closing_output_is_killed(conf, server, tmp_path):
    script = write_filter(conf, f"""
echo $$ > {tmp_path}/pid
exec >&- sleep 600
""")
    configure(conf, script, filter_timeout="1")
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451 and "timed out" in text, text
    assert conf.queued() == []
    assert not os.path.exists(f"/proc/{int((tmp_path / 'pid').read_text())}")


def test_crash_is_451(conf, server):
    script = write_filter(conf, "echo 'X-Half: 1'; kill -SEGV $$\n")
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451 and text.startswith("4.3.0 "), text
    assert conf.queued() == [] and conf.leftovers() == []
    [f] = filter_lines(srv)
    assert f["verdict"] == "failed" and f["reason"] == "killed by signal 11"


@pytest.mark.parametrize("body,reason", [
    ("exit 3\n", "exit status 3"),
    (None, "cannot run"),
])
def test_other_failures_are_451(conf, server, body, reason):
    script = write_filter(conf, body) if body else conf.root / "missing"
    configure(conf, script)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 451, text
    assert conf.queued() == []
    [f] = filter_lines(srv)
    assert reason in f["reason"]


def test_no_filter_no_filter_line(conf, smtpd):
    code, text = smtp_send(smtpd, MSG)
    assert code == 250
    assert smtpd.events("filter") == []


# --- spam and forwarding ------------------------------------------------------

def spam_conf(conf, **keys):
    conf.domain("fwd.example", users=["carol"],
                aliases="both: carol, carol@gmail.example\n"
                        "*: someone@gmail.example\n")
    script = write_filter(conf, "echo 'X-Spam-Flag: YES'; exit 1\n")
    configure(conf, script, **keys)


def test_spam_for_local_mailboxes_is_taken(conf, server):
    spam_conf(conf)
    srv = server()
    code, text = smtp_send(srv, MSG)
    assert code == 250, text
    [q] = conf.queued()
    assert q.body.startswith(b"X-Spam-Flag: YES\n")
    assert "localonly" not in q.flags
    [f] = filter_lines(srv)
    assert f["verdict"] == "spam"


@pytest.mark.parametrize("rcpt", ["<anyone@fwd.example>", "<both@fwd.example>"])
def test_spam_to_be_forwarded_is_refused_by_default(conf, server, rcpt):
    spam_conf(conf)
    srv = server()
    code, text = smtp_send(srv, MSG, rcpts=("<alice@example.com>", rcpt))
    assert code == 550 and "not forwarded" in text, text
    assert conf.queued() == [] and conf.leftovers() == []


def test_spam_local_mode_delivers_locally_only(conf, server):
    spam_conf(conf, filter_spam="local")
    srv = server()
    # Only a forward: nowhere local to put it, refused all the same.
    code, text = smtp_send(srv, MSG, rcpts=("<anyone@fwd.example>",))
    assert code == 550, text
    code, text = smtp_send(srv, MSG, rcpts=("<both@fwd.example>",))
    assert code == 250, text
    [q] = conf.queued()
    assert "localonly" in q.flags
    assert q.body.startswith(b"X-Spam-Flag: YES\nReceived: ")
    qr = QueueRun(conf)
    try:
        qr.delivered()
        qr.wait_for(r"event=not-forwarded .*to=carol@gmail\.example")
    finally:
        qr.stop()
    [m] = conf.maildir("fwd.example", "carol")
    assert b"X-Spam-Flag: YES" in m
    # Nothing went to smtp-out (the route leads nowhere: an attempt
    # would be logged as a deferral).
    assert not re.search(r"status=deferred", qr.log())


# --- submission ---------------------------------------------------------------

@pytest.mark.parametrize("filtered", [False, True])
def test_submission_is_filtered_only_when_asked(conf, tmp_path, filtered):
    """A user's mail (port 587, AUTH) skips the filter unless
    filter_submission = yes; then the filter sees the login and TLS."""
    import ssl

    from conftest import make_cert
    seen = tmp_path / "env"
    script = write_filter(conf, f"env > {seen}; echo 'X-Seen: 1'\n")
    configure(conf, script,
              filter_submission="yes" if filtered else "no")
    make_cert(conf.dir / "certs", HOSTNAME)
    conf.add_user("alice@example.com", "pass word 1")
    srv = Server(conf, mode="submission")
    try:
        s = smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT)
        s.ehlo("client.example")
        s.starttls(context=ssl._create_unverified_context())
        s.ehlo("client.example")
        s.login("alice@example.com", "pass word 1")
        s.sendmail("alice@example.com", ["someone@remote.example"],
                   b"From: alice@example.com\r\nSubject: hi\r\n\r\nhi\r\n")
        s.quit()
        [q] = conf.queued()
        if not filtered:
            assert not seen.exists()
            assert srv.events("filter") == []
            assert not q.body.startswith(b"X-Seen")
            return
        assert q.body.startswith(b"X-Seen: 1\nReceived: ")
        env = dict(l.split("=", 1) for l in seen.read_text().splitlines()
                   if "=" in l)
        assert env["AUTH_AS"] == "alice@example.com"
        assert env["ON_TLS"] == "1" and env["TLS_VERSION"].startswith("TLS")
        assert env["POSTHORN_MODE"] == "submission"
    finally:
        srv.stop()
        srv.check_children()
