"""queue-run end to end: from the queue into Maildirs, pipes and bounces.

Mail comes in the way a user sends it (smtplib to smtp-in, sendmail -t,
queue-inject), queue-run runs as it runs under systemd, and the tests
read what a user would: the files in the Maildir, the DSN in the sender's
mailbox parsed by Python's email package, mailq's listing, the log lines.
Every wait is for a log event, with a bound.
"""

import email
import email.policy
import fcntl
import os
import re
import select
import smtplib
import subprocess
import time

import pytest

from conftest import (HOSTNAME, Peer, QueueRun, WAIT, free_port, inject,
                      parse_kv, prog)

MESSAGE = (
    "From: Bob <bob@remote.example>\r\n"
    "To: alice@example.com\r\n"
    "Subject: byte for byte\r\n"
    "Message-ID: <m1@remote.example>\r\n"
    "\r\n"
    "first line\r\n"
    ".a line that starts with a dot\r\n"
    "\ttabbed, trailing space \r\n"
    "\r\n"
    "last line\r\n"
)


def strip_trace(data, rcpt, sender):
    """The message as delivered, without what delivery prepends (Return-Path,
    Delivered-To) and what smtp-in prepends (one Received:), each checked."""
    head = f"Return-Path: <{sender}>\nDelivered-To: {rcpt}\n".encode()
    assert data.startswith(head), data[:200]
    data = data[len(head):]
    m = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", data)
    assert m, data[:200]
    return data[m.end():]


def wait_port(port, timeout=WAIT):
    """Until something listens on 127.0.0.1:port (bounded)."""
    import socket
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing on port {port}"
            time.sleep(0.05)


def read_fifo(fd, timeout=WAIT):
    """One line a child writes to the FIFO open on fd (read-write, so that
    a writer's open never blocks and no EOF ends the wait), with a bound."""
    got = b""
    deadline = time.monotonic() + timeout
    while not got.endswith(b"\n"):
        left = deadline - time.monotonic()
        assert left > 0, f"nothing on the FIFO; got {got!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            got += os.read(fd, 512)
    return got


class Gate:
    """A gate the pipe scripts below wait at: the test holds an exclusive
    flock(2) on a file and the script's `flock -s` blocks on it until the
    test opens the gate (or dies, which releases the lock too), so neither
    side polls."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def wait_cmd(self):
        # Bounded: a child the test forgot still ends (and fails).
        return f"flock -s -w {int(WAIT * 6)} {self.path} true\n"

    def open(self):
        self.f.close()


def mailq(conf, *args):
    return conf.run("mailq", *args)


def pipe_script(conf, name, code_file=None, code=0):
    """A pipe alias target: writes its stdin and its environment to files
    named after it, and exits with the number in code_file (or code)."""
    out = conf.root / name
    script = conf.root / f"run-{name}"
    status = f"$(cat {code_file})" if code_file else str(code)
    script.write_text(
        "#!/bin/sh\n"
        f"n=$(ls {out}.* 2>/dev/null | wc -l)\n"
        f"cat > {out}.$n\n"
        f"env > {out}-env\n"
        f"echo 'the command says why' >&2\n"
        f"exit {status}\n")
    script.chmod(0o755)
    return script, out


def add_aliases(conf, text, domain="example.com"):
    path = conf.dir / "domains" / domain / "aliases"
    path.write_text(path.read_text() + text)


def dsn_of(raw):
    """A DSN as Python's email package parses it: (message, per-message
    fields, [per-recipient fields])."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"]
    groups = parts[1].get_payload()
    return msg, parts, groups[0], groups[1:]


# --- delivery into Maildirs ---------------------------------------------

def test_smtp_in_to_maildir_byte_for_byte(conf, smtpd, queue_run):
    with smtplib.SMTP("127.0.0.1", smtpd.port,
                      local_hostname="client.example") as s:
        s.sendmail("bob@remote.example", ["alice@example.com"],
                   MESSAGE.encode())
    queue_run.delivered()
    [data] = conf.maildir("example.com", "alice")
    body = strip_trace(data, "alice@example.com", "bob@remote.example")
    assert body == MESSAGE.replace("\r\n", "\n").encode()
    # Removed from the queue with everything that belongs to it.
    queue_run.wait_for(r"event=removed")
    assert conf.queued() == []
    assert list((conf.spool / "state").iterdir()) == []
    d = conf.mail / "example.com" / "alice"
    assert sorted(p.name for p in d.iterdir()) == ["cur", "new", "tmp"]
    assert list((d / "tmp").iterdir()) == []


def test_files_edited_between_two_messages_take_effect_at_the_second(
        conf, queue_run):
    """queue-run keeps the users and aliases files in memory between
    messages: an edit, even one of the same size within the same second,
    is seen by the next message."""
    aliases = conf.dir / "domains" / "example.com" / "aliases"
    aliases.write_text("info: alice\n")
    inject(conf, "carol@remote.example", "info@example.com")
    [line] = queue_run.delivered()
    assert parse_kv(line)["to"] == "alice@example.com"
    # The same size, in place: only the times and the inode's change
    # time tell.
    with open(aliases, "r+") as f:
        f.write("info: bob  \n")
    inject(conf, "carol@remote.example", "info@example.com")
    line = queue_run.delivered(2)[1]
    assert parse_kv(line)["to"] == "bob@example.com"
    # A user added by mailuser (a new file renamed over the old one).
    inject(conf, "carol@remote.example", "dave@example.com")
    queue_run.wait_for(r"event=delivery .*to=dave@example.com "
                       r".*status=bounced")
    conf.add_user("dave@example.com", "a password for dave")
    inject(conf, "carol@remote.example", "dave@example.com")
    queue_run.delivered(3)
    assert len(conf.maildir("example.com", "dave")) == 1
    assert len(conf.maildir("example.com", "bob")) == 1


def test_sendmail_t_to_maildir(conf, queue_run):
    r = conf.run("sendmail", "-t", "-f", "root@example.com",
                 input=b"To: bob@example.com\nSubject: cron\n\nout\n")
    assert r.returncode == 0, r.stderr
    [line] = queue_run.delivered()
    kv = parse_kv(line)
    assert kv["to"] == "bob@example.com" and kv["via"] == "mailbox"
    [data] = conf.maildir("example.com", "bob")
    assert data.startswith(b"Return-Path: <root@example.com>\n"
                           b"Delivered-To: bob@example.com\n")
    assert data.endswith(b"\n\nout\n")
    assert b"Subject: cron\n" in data


def test_list_alias_reaches_two_users(conf, queue_run):
    add_aliases(conf, "team: alice, bob@example.com\n")
    inject(conf, "carol@remote.example", "team@example.com")
    queue_run.delivered(2)
    for user in ("alice", "bob"):
        [data] = conf.maildir("example.com", user)
        assert f"Delivered-To: {user}@example.com\n".encode() in data


def test_a_member_of_two_lists_gets_one_copy(conf, queue_run):
    add_aliases(conf, "l1: alice, bob\nl2: alice\n")
    inject(conf, "carol@remote.example", "l1@example.com", "l2@example.com",
           "alice@example.com")
    queue_run.delivered(2)
    queue_run.wait_for(r"event=removed")
    assert len(conf.maildir("example.com", "alice")) == 1
    assert len(conf.maildir("example.com", "bob")) == 1


def test_catch_all(conf, queue_run):
    inject(conf, "carol@remote.example", "whatever@catchall.example")
    [line] = queue_run.delivered()
    assert parse_kv(line)["rcpt"] == "whatever@catchall.example"
    assert len(conf.maildir("example.com", "alice")) == 1


def test_drop_characters_and_suffix(conf, smtpd, queue_run):
    with smtplib.SMTP("127.0.0.1", smtpd.port) as s:
        s.sendmail("carol@remote.example", ["A.Li.Ce+lists@example.com"],
                   b"Subject: tagged\r\n\r\nhi\r\n")
    [line] = queue_run.delivered()
    kv = parse_kv(line)
    assert kv["rcpt"] == "A.Li.Ce+lists@example.com"
    assert kv["to"] == "alice@example.com"
    [data] = conf.maildir("example.com", "alice")
    assert b"Delivered-To: alice@example.com\n" in data


def test_unknown_user_bounces_to_the_sender(conf, queue_run):
    # queue-inject does not check recipients; smtp-in would have said 550.
    inject(conf, "bob@example.com", "nobody@example.com")
    queue_run.wait_for(r"event=delivery .*status=bounced")
    queue_run.delivered()      # the DSN, into bob's mailbox
    [raw] = conf.maildir("example.com", "bob")
    _, _, _, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert rcpt["Status"] == "5.1.1"
    assert rcpt["Final-Recipient"] == "rfc822;nobody@example.com"


# --- pipes ----------------------------------------------------------------

def test_pipe_alias_gets_message_and_environment(conf, queue_run):
    script, out = pipe_script(conf, "pipe0", code=0)
    add_aliases(conf, f"robot: | {script} --flag\n")
    inject(conf, "carol@remote.example", "Robot+x@example.com",
           body=b"Subject: to a robot\n\nbeep\n")
    [line] = queue_run.delivered()
    kv = parse_kv(line)
    assert kv["via"] == "pipe" and kv["dsn"] == "2.0.0"
    data = (conf.root / "pipe0.0").read_bytes()
    assert strip_trace(data, "robot@example.com", "carol@remote.example") \
        == b"Subject: to a robot\n\nbeep\n"
    env = dict(l.split("=", 1) for l in
               (conf.root / "pipe0-env").read_text().splitlines()
               if "=" in l)
    assert env["SENDER"] == "carol@remote.example"
    assert env["RECIPIENT"] == "robot@example.com"
    assert env["ORIGINAL_RECIPIENT"] == "Robot+x@example.com"
    assert env["USER"] == "robot" and env["DOMAIN"] == "example.com"
    assert "POSTHORN_TEST_SECRET" not in env


def test_catch_all_pipe_is_told_the_recipient_it_caught(conf, queue_run):
    """RECIPIENT and USER name the address the catch-all took, not '*'."""
    script, out = pipe_script(conf, "catch", code=0)
    conf.domain("pipes.example", users=[], aliases=f"*: | {script}\n")
    inject(conf, "", "Billing@pipes.example")
    queue_run.delivered()
    env = dict(l.split("=", 1) for l in
               (conf.root / "catch-env").read_text().splitlines()
               if "=" in l)
    assert env["RECIPIENT"] == "billing@pipes.example"
    assert env["USER"] == "billing" and env["DOMAIN"] == "pipes.example"
    assert env["ORIGINAL_RECIPIENT"] == "Billing@pipes.example"
    # The null sender is empty in SENDER, as documented.
    assert env["SENDER"] == ""
    data = (conf.root / "catch.0").read_bytes()
    assert data.startswith(b"Return-Path: <>\n"
                           b"Delivered-To: billing@pipes.example\n"), data


def test_pipe_tempfail_is_retried_then_delivered(conf, queue_run):
    code = conf.root / "code"
    code.write_text("75\n")
    script, out = pipe_script(conf, "pipe75", code_file=code)
    add_aliases(conf, f"flaky: | {script}\n")
    inject(conf, "carol@remote.example", "flaky@example.com")
    [line] = queue_run.wait_for(r"event=delivery .*status=deferred")
    assert parse_kv(line)["dsn"] == "4.3.0"
    queue_run.wait_for(r"event=waiting")
    listing = mailq(conf).stdout.decode()
    assert re.search(r"<flaky@example.com> \| \S+ pipe pending attempts=1 "
                     r"next=\d+m\S*: 4.3.0 ", listing), listing
    code.write_text("0\n")
    r = mailq(conf, "-f")
    assert r.returncode == 0, r.stderr
    queue_run.delivered()
    queue_run.wait_for(r"event=removed")
    assert (conf.root / "pipe75.1").exists()    # the second attempt
    assert mailq(conf).stdout == b"Mail queue is empty\n"


def test_pipe_failure_bounces_with_a_dsn(conf, queue_run):
    script, out = pipe_script(conf, "pipe1", code=1)
    add_aliases(conf, f"broken: | {script}\n")
    original = (b"From: bob@example.com\nTo: broken@example.com\n"
                b"Subject: will fail\nMessage-ID: <orig@example.com>\n\n"
                b"the body stays home\n")
    inject(conf, "bob@example.com", "broken@example.com", body=original)
    [line] = queue_run.wait_for(r"event=delivery .*status=bounced")
    assert "the command says why" in parse_kv(line)["reason"]
    queue_run.delivered()          # the DSN reaches bob
    [raw] = conf.maildir("example.com", "bob")
    assert raw.startswith(b"Return-Path: <>\nDelivered-To: bob@example.com\n")
    msg, parts, per_msg, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert msg["To"] == "bob@example.com"
    assert msg["From"].addresses[0].username == "MAILER-DAEMON"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert per_msg["Reporting-MTA"] == f"dns; {HOSTNAME}"
    assert per_msg["Arrival-Date"]
    assert rcpt["Final-Recipient"] == "rfc822;broken@example.com"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.3.0"
    assert "the command says why" in rcpt["Diagnostic-Code"]
    headers = parts[2].get_content()
    assert "Message-ID: <orig@example.com>" in headers
    assert "the body stays home" not in raw.decode()


def test_no_bounce_to_the_null_sender(conf, queue_run):
    script, _ = pipe_script(conf, "pipe1n", code=1)
    add_aliases(conf, f"broken: | {script}\n")
    inject(conf, "", "broken@example.com")
    queue_run.wait_for(r"event=bounce-dropped")
    queue_run.wait_for(r"event=removed")
    assert conf.queued() == []
    assert not (conf.mail / "example.com").exists() or all(
        conf.maildir("example.com", u) == [] for u in ("alice", "bob"))


def test_message_past_its_lifetime_bounces(conf, queue_run):
    """A message queued six days ago (default lifetime: five) whose
    delivery fails temporarily is given up and bounced at once."""
    script, _ = pipe_script(conf, "pipeold", code=75)
    add_aliases(conf, f"slow: | {script}\n")
    qid = "0000000000000000"
    old = int(time.time()) - 6 * 86400
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {old}\n"
        f"from <bob@example.com>\nrcpt <slow@example.com>\nvia local\n\n"
        "Subject: old\n\nold news\n".encode())
    os.rename(tmp, conf.spool / "new" / qid)
    [line] = queue_run.wait_for(r"event=delivery .*status=bounced")
    assert "delivery time expired" in parse_kv(line)["reason"]
    queue_run.delivered()
    [raw] = conf.maildir("example.com", "bob")
    _, _, _, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "4.3.0"
    assert "delivery time expired" in rcpt["Diagnostic-Code"]


def test_lifetime_zero_tries_once(conf):
    conf.write(queue_lifetime="0")
    script, _ = pipe_script(conf, "pipe0l", code=75)
    add_aliases(conf, f"slow: | {script}\n")
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", "slow@example.com")
        qr.wait_for(r"event=delivery .*status=bounced")
        qr.wait_for(r"event=bounce ")
    finally:
        qr.stop()


def test_per_destination_limit(conf):
    """Six messages for one command with max_per_destination = 2: the
    command, which records how many of itself run at once, never sees
    more than two."""
    conf.write(max_per_destination="2")
    count, peak = conf.root / "count", conf.root / "peak"
    count.write_text("0\n")
    peak.write_text("0\n")
    # The command runs as nobody (queue-runas(8)) and writes them.
    count.chmod(0o666)
    peak.chmod(0o666)
    script = conf.root / "slow.sh"
    script.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f"exec 9>{conf.root}/lock\n"
        f"flock 9; n=$(($(cat {count}) + 1)); echo $n > {count}\n"
        f"[ $n -gt $(cat {peak}) ] && echo $n > {peak}; flock -u 9\n"
        "sleep 0.3\n"
        f"flock 9; echo $(($(cat {count}) - 1)) > {count}\n")
    script.chmod(0o755)
    add_aliases(conf, f"slow: | {script}\n")
    for _ in range(6):
        inject(conf, "bob@example.com", "slow@example.com")
    qr = QueueRun(conf)
    try:
        qr.delivered(6)
    finally:
        qr.stop()
    assert peak.read_text().strip() == "2"


# --- the queue and its tools ----------------------------------------------

def test_remote_recipient_stays_queued_and_listed(conf, queue_run):
    add_aliases(conf, "fwd: someone@gmail.example, alice\n")
    inject(conf, "carol@remote.example", "fwd@example.com")
    queue_run.delivered()
    [line] = queue_run.wait_for(r"event=delivery .*via=remote")
    kv = parse_kv(line)
    assert kv["status"] == "deferred" and kv["to"] == "someone@gmail.example"
    queue_run.wait_for(r"event=waiting .*next_in=(29\d|300)\b")
    r = mailq(conf)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr
    assert re.search(r"<someone@gmail.example> \(for <fwd@example.com>\) "
                     r"remote pending attempts=1 next=", out), out
    assert re.search(r"<alice@example.com> \(for <fwd@example.com>\) "
                     r"mailbox sent", out), out
    [msg] = conf.queued()
    assert (conf.spool / "state" / msg.id).exists()
    # Removed on request, by queue-run itself while it runs.
    r = mailq(conf, "-d", msg.id)
    assert r.returncode == 0, r.stderr
    queue_run.wait_for(r"event=deleted")
    assert conf.queued() == []
    assert list((conf.spool / "state").iterdir()) == []
    assert mailq(conf, "-d", msg.id).returncode == 1


def test_restart_carries_on_and_mailq_works_without_queue_run(conf):
    add_aliases(conf, "fwd: someone@gmail.example\n")
    qr = QueueRun(conf)
    inject(conf, "carol@remote.example", "fwd@example.com")
    qr.wait_for(r"event=waiting")
    qr.stop()
    [msg] = conf.queued()
    before = (conf.spool / "state" / msg.id).read_text()
    assert "\tremote\t1\t" in before
    # Restarted, it does not retry before the time it had set.  (Its
    # first scan runs before it reads the SIGTERM: a retry would show.)
    qr = QueueRun(conf)
    qr.stop()
    assert qr.events("delivery") == []
    assert (conf.spool / "state" / msg.id).read_text() == before
    # Without queue-run, flush says so and delete works directly.
    r = mailq(conf, "-f")
    assert r.returncode == 75 and b"not running" in r.stderr
    r = mailq(conf, "-d", msg.id)
    assert r.returncode == 0, r.stderr
    assert conf.queued() == [] and list((conf.spool / "state").iterdir()) == []


def test_second_queue_run_refuses(conf, queue_run):
    r = subprocess.run([prog("queue-run")], env=conf.env(),
                       capture_output=True, timeout=WAIT)
    assert r.returncode == 75
    assert b"another queue-run is running" in r.stderr


def test_crash_leftovers_in_tmp_are_swept(conf):
    old = conf.spool / "tmp" / "0000000000000001"
    fresh = conf.spool / "tmp" / "0000000000000002"
    orphan = conf.spool / "state" / "0000000000000003"
    for p in (old, fresh, orphan):
        p.write_text("half a message\n")
    t = time.time() - 37 * 3600
    os.utime(old, (t, t))
    qr = QueueRun(conf)
    try:
        qr.wait_for(r"event=swept .*0000000000000001")
        qr.wait_for(r"event=swept .*0000000000000003")
    finally:
        qr.stop()
    assert not old.exists() and not orphan.exists()
    assert fresh.exists()


def test_sigterm_while_delivering_exits_and_redelivers(conf):
    """A command that hangs: SIGTERM stops queue-run within its grace
    time, and the delivery, abandoned, happens again after a restart."""
    flag = conf.root / "hang"
    flag.write_text("1")
    fifo = conf.root / "hang.fifo"
    os.mkfifo(fifo)
    fifo.chmod(0o666)       # the command, nobody, writes to it
    script = conf.root / "hang.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"cat >> {conf.root}/hang.out\n"
        f"if [ -e {flag} ]; then echo delivering > {fifo}; "
        "exec sleep 60; fi\n")
    script.chmod(0o755)
    add_aliases(conf, f"hang: | {script}\n")
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", "hang@example.com")
        assert read_fifo(fd) == b"delivering\n"
    except BaseException:
        qr.stop()
        raise
    finally:
        os.close(fd)
    t0 = time.monotonic()
    qr.stop()
    # queue-run's grace time (SCHED_STOP_GRACE, queue-run/sched.h) is
    # 10 s; stop() alone would allow WAIT.
    assert time.monotonic() - t0 < 10 + 5
    [stopping] = qr.events("stopping")
    assert stopping["running"] == "some"
    assert qr.events("delivery") == []
    flag.unlink()
    qr = QueueRun(conf)
    try:
        qr.delivered()
    finally:
        qr.stop()
    once = b"Subject: t\n\nhello\n"
    out = (conf.root / "hang.out").read_bytes()
    assert out.count(once) == 2, out


def test_failed_bounce_goes_to_the_postmaster_once(conf, queue_run):
    """The DSN to a sender that does not exist fails in turn: the
    postmaster of the host name gets it (its Maildir, since the host name
    has no domain directory here), as a double bounce."""
    script, _ = pipe_script(conf, "pipedb", code=1)
    add_aliases(conf, f"broken: | {script}\n")
    inject(conf, "ghost@example.com", "broken@example.com")
    queue_run.wait_for(r"event=bounce ")
    queue_run.wait_for(r"event=delivery .*to=ghost@example.com"
                       r".*status=bounced")
    queue_run.wait_for(r"event=delivery .*to=postmaster@" + HOSTNAME +
                       r".*status=sent")
    [raw] = conf.maildir(HOSTNAME, "postmaster")
    msg, _, _, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert msg["To"] == f"postmaster@{HOSTNAME}"
    assert rcpt["Final-Recipient"] == "rfc822;ghost@example.com"
    assert rcpt["Status"] == "5.1.1"


def test_failed_double_bounce_is_dropped(conf, queue_run):
    script, _ = pipe_script(conf, "pipedd", code=1)
    add_aliases(conf, f"broken: | {script}\n")
    conf.domain(HOSTNAME, users=[], aliases=f"postmaster: | {script}\n")
    inject(conf, "ghost@example.com", "broken@example.com")
    queue_run.wait_for(r"event=bounce ", 2)       # the DSN, the double
    [line] = queue_run.wait_for(r"event=bounce-dropped")
    assert parse_kv(line)["via"] == "double-bounce"
    queue_run.wait_for(r"event=removed", 3)
    assert conf.queued() == []


# --- forwarding to another domain (smtp-out to a peer on loopback) ------

@pytest.fixture
def peer(conf):
    p = Peer()
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{p.port} tls=none\n")
    (conf.dir / "srs.secret").write_text("a secret for the tests\n")
    (conf.dir / "srs.secret").chmod(0o640)
    yield p
    p.stop()


def test_forward_leaves_with_srs_and_its_bounce_comes_back(conf, peer):
    """The tutorial's catch-all to Gmail: the forward leaves with an SRS0
    sender of the forwarding domain, which Mail::SRS, given the same
    secret, reads back; its bounce reaches the original sender."""
    from test_srs import mail_srs_reverse
    (conf.dir / "srs.secret").write_text("e2e secret, not a good one\n")
    (conf.dir / "srs.secret").chmod(0o640)
    conf.domain("fwd.example", users=[], aliases="*: someone@gmail.example\n")
    qr = QueueRun(conf)
    try:
        inject(conf, "carol@remote.example", "anything@fwd.example",
               body=b"Subject: forwarded\n\nhi\n")
        [(mail_from, rcpts, data)] = peer.wait()
        assert rcpts == ["someone@gmail.example"]
        m = re.fullmatch(r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}="
                         r"remote\.example=carol@fwd\.example", mail_from)
        assert m, mail_from
        assert mail_srs_reverse(mail_from) == (True, "carol@remote.example")
        assert data.endswith(b"\r\n\r\nhi\r\n")
        [line] = qr.wait_for(r"event=delivery .*via=remote .*status=sent")
        assert parse_kv(line)["where"].startswith("127.0.0.1[127.0.0.1]")
        # The bounce of that mail, addressed to the SRS address, goes on
        # to the original sender; a tampered address fails at once.
        inject(conf, "", mail_from, body=b"Subject: bounce\n\nno\n")
        got = peer.wait(2)
        assert got[1][0] == "<>" and got[1][1] == ["carol@remote.example"]
        tampered = "SRS0=AAAA" + mail_from[9:]
        inject(conf, "", tampered, body=b"Subject: bounce\n\nno\n")
        [line] = qr.wait_for(r"event=delivery .*status=bounced")
        assert parse_kv(line)["dsn"] == "5.1.1"
    finally:
        qr.stop()
    assert len(peer.got) == 2


def test_sender_of_our_own_domain_is_not_rewritten(conf, peer):
    add_aliases(conf, "fwd: someone@gmail.example\n")
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", "fwd@example.com")
        [(mail_from, rcpts, _)] = peer.wait()
        assert mail_from == "bob@example.com"
    finally:
        qr.stop()


def test_remote_5xx_bounces_with_the_remote_diagnostic(conf):
    """smtp-sink refuses every RCPT with a 5xx: the DSN carries Remote-MTA
    and the remote reply as an smtp Diagnostic-Code."""
    port = free_port()
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody",
                             "-f", "RCPT",
                             f"127.0.0.1:{port}", "10"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        (conf.dir / "routes").write_text(f"* 127.0.0.1:{port} tls=none\n")
        qr = QueueRun(conf)
        try:
            inject(conf, "bob@example.com", "someone@gmail.example")
            qr.wait_for(r"event=delivery .*via=remote .*status=bounced")
            qr.delivered()      # the DSN, into bob's Maildir
        finally:
            qr.stop()
    finally:
        sink.terminate()
        sink.wait(timeout=WAIT)
    [raw] = conf.maildir("example.com", "bob")
    _, _, _, [rcpt] = dsn_of(raw.split(b"\n", 2)[2])
    assert rcpt["Remote-MTA"] == "dns; 127.0.0.1"
    assert rcpt["Diagnostic-Code"].startswith("smtp; 5")
    assert rcpt["Status"].startswith("5.")


def test_backslash_in_a_remote_reply_does_not_repeat_the_delivery(conf):
    """smtp-out's fields are not escaped: a backslash in the server's
    reply (or in an address) is itself, and the recipients it answered
    for are done, not deferred and sent again."""
    p = Peer(reply="250 2.0.0 Ok: queued as C:\\spool\\q1")
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{p.port} tls=none\n")
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", '"q\\\\r"@remote.example',
               "y@remote.example")
        p.wait()
        lines = qr.delivered(2)
        qr.wait_for(r"event=removed")
    finally:
        qr.stop()
        p.stop()
    assert "C:\\\\spool\\\\q1" in lines[0] or "C:\\spool\\q1" in lines[0]
    assert qr.events("waiting") == []
    assert len(p.got) == 1 and len(p.got[0][1]) == 2


def test_recipient_falling_due_while_its_message_is_busy_is_resolved(conf):
    """One recipient deferred at resolution (a broken alias) falls due
    while another delivery of the same message is still running: it must
    be resolved then, not leave the message stuck."""
    gate = Gate(conf.root / "slow-go")
    script = conf.root / "slow-pipe"
    script.write_text("#!/bin/sh\ncat >/dev/null\n" + gate.wait_cmd())
    script.chmod(0o755)
    add_aliases(conf, f"slow: | {script}\nloop1: loop2\nloop2: loop1\n")
    qid = "0000000000000009"
    now = int(time.time())
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {now}\nfrom <bob@example.com>\n"
        f"rcpt <slow@example.com>\nrcpt <alice@example.com>\n"
        f"via local\n\nSubject: busy\n\nhi\n".encode())
    # The state: alice's resolution was deferred and falls due at once;
    # the slow pipe is due too and will hold the message busy.
    (conf.spool / "state" / qid).write_text(
        "posthorn-state 1\n"
        f"pending\trcpt\t1\t{now + 2}\t{now}\t4.3.5\talice@example.com\t"
        "alice@example.com\t\t\tbroken alias, fixed since\n"
        f"pending\tpipe\t0\t0\t0\t\tslow@example.com\tslow@example.com\t"
        f"{script}\t\t\n")
    os.rename(tmp, conf.spool / "new" / qid)
    qr = QueueRun(conf)
    try:
        [line] = qr.delivered(1, timeout=WAIT)
        assert parse_kv(line)["to"] == "alice@example.com"
        gate.open()
        lines = qr.delivered(2)
        qr.wait_for(r"event=removed")
        # Both sent: the pipe itself, not a bounce of it (a DSN to bob).
        assert sorted(parse_kv(l)["to"] for l in lines) == [
            "alice@example.com", "slow@example.com"]
    finally:
        gate.open()
        qr.stop()


def test_messages_held_by_a_destination_limit_do_not_hold_others(conf):
    """Messages for one busy destination, more than the active set holds,
    must not keep a message for another destination waiting."""
    conf.write(max_deliveries="2", max_per_destination="1")
    gate = Gate(conf.root / "held-go")
    script = conf.root / "held-pipe"
    script.write_text("#!/bin/sh\ncat >/dev/null\n" + gate.wait_cmd())
    script.chmod(0o755)
    add_aliases(conf, f"held: | {script}\n")
    for _ in range(6):
        inject(conf, "bob@example.com", "held@example.com")
    qr = QueueRun(conf)
    try:
        inject(conf, "bob@example.com", "alice@example.com")
        [line] = qr.delivered(1)
        assert parse_kv(line)["to"] == "alice@example.com"
        gate.open()
        lines = qr.delivered(7, timeout=60)
        assert sorted(parse_kv(l)["to"] for l in lines) == [
            "alice@example.com"] + ["held@example.com"] * 6
    finally:
        gate.open()
        qr.stop()
