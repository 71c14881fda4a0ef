"""smtp-in in mx mode, end to end: real clients (smtplib, swaks) against
the real program under systemd-socket-activate, checked by what a user
checks: the replies, the bytes in the queue, the log lines."""

import os
import re
import shutil
import smtplib
import subprocess
import threading

import pytest

from conftest import HOSTNAME, SAN, WAIT, Client, Server, free_port, parse_kv

MSG = (b"From: Bob <bob@remote.example>\r\n"
       b"To: alice@example.com\r\n"
       b"Subject: hello\r\n"
       b"\r\n"
       b"first line\r\n"
       b".leading dot\r\n"
       b"last line\r\n")


def stored(msg):
    """What the queue must hold of a message sent over SMTP: LF line
    endings (posthorn-queue(5)); smtplib does the dot-stuffing itself."""
    return msg.replace(b"\r\n", b"\n")


def session(client, sender="<bob@remote.example>", rcpts=("<alice@example.com>",)):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd(f"MAIL FROM:{sender}")[0] == 250
    for r in rcpts:
        assert client.cmd(f"RCPT TO:{r}")[0] == 250


# --- delivery into the queue ------------------------------------------------

def test_smtplib_message_is_queued_exactly(conf, smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port, local_hostname="client.example",
                      timeout=WAIT) as s:
        refused = s.sendmail("bob@remote.example",
                             ["alice@example.com", "info@example.com"], MSG)
        assert refused == {}
        code, text = s.noop()
        assert code == 250
    [m] = conf.queued()
    assert conf.leftovers() == []
    assert m.sender == "<bob@remote.example>"
    assert m.rcpts == ["<alice@example.com>", "<info@example.com>"]
    assert m.env["via"] == "mx"
    assert m.env["peer"] == "127.0.0.1"
    assert m.env["helo"] == "client.example"
    assert re.fullmatch(r"[0-9A-Z]{16}", m.id)
    assert m.path.name == m.id
    received, rest = m.body.split(b"\n", 1)[0], m.body
    assert received.startswith(b"Received: from client.example ([127.0.0.1])")
    # The header is folded: continuation lines start with a tab, and the
    # original message follows it byte for byte (LF endings, unstuffed).
    hdr_end = rest.index(b"From: Bob")
    header = rest[:hdr_end].decode()
    assert re.search(rf"\n\tby {re.escape(HOSTNAME)} \(posthorn\) with ESMTP id {m.id}\b", header)
    assert "for <" not in header  # two recipients: never name one
    assert re.search(r";\n\t\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", header)
    assert rest[hdr_end:] == stored(MSG)
    [acc] = smtpd.wait_for(rf"event=accepted .*id={m.id}")
    assert "from=<bob@remote.example>" in acc or "from=bob@remote.example" in acc


def test_swaks_message_is_queued_with_one_recipient_named(conf, smtpd):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{smtpd.port}",
                        "--helo", "swaks.example", "--from", "carol@remote.example",
                        "--to", "bob@example.com", "--header", "Subject: swaks test",
                        "--body", "hello from swaks\n.\nstill the body\n"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"<-  250 2\.0\.0 .*queued as [0-9A-Z]{16}", r.stdout), r.stdout
    [m] = conf.queued()
    assert m.sender == "<carol@remote.example>"
    assert m.rcpts == ["<bob@example.com>"]
    assert f"\tfor <bob@example.com>;".encode() in m.headers()
    assert b"Subject: swaks test\n" in m.body
    # swaks stuffed the lone dot; the queue holds it unstuffed, LF-terminated.
    assert b"\n\nhello from swaks\n.\nstill the body\n" in m.body
    assert b"\r" not in m.body


def test_swaks_pipelining(conf, smtpd):
    r = subprocess.run(["swaks", "--pipeline", "--server", f"127.0.0.1:{smtpd.port}",
                        "--from", "carol@remote.example",
                        "--to", "alice@example.com,info@example.com",
                        "--body", "pipelined"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PIPELINING" in r.stdout
    [m] = conf.queued()
    assert m.rcpts == ["<alice@example.com>", "<info@example.com>"]


def test_pipelined_batch_is_answered_in_order(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    # One write: commands, the message and QUIT.  The answers must come
    # back in order and nothing buffered may be lost.
    client.send("MAIL FROM:<bob@remote.example>\r\n"
                "RCPT TO:<alice@example.com>\r\n"
                "RCPT TO:<nobody@example.com>\r\n"
                "RCPT TO:<someone@elsewhere.example>\r\n"
                "RCPT TO:<info@example.com>\r\n"
                "DATA\r\n")
    codes = [client.reply()[0] for _ in range(6)]
    assert codes == [250, 250, 550, 554, 250, 354]
    client.send("Subject: p\r\n\r\nbody\r\n.\r\nNOOP\r\nMAIL FROM:<>\r\nRSET\r\nQUIT\r\n")
    codes = [client.reply()[0] for _ in range(5)]
    assert codes == [250, 250, 250, 250, 221]
    [m] = conf.queued()
    assert m.rcpts == ["<alice@example.com>", "<info@example.com>"]
    assert m.body.endswith(b"\n\nbody\n")


def test_ehlo_advertises_the_extensions(client):
    code, lines = client.cmd("EHLO client.example")
    assert code == 250
    assert lines[0].startswith(HOSTNAME)
    ext = {l.split()[0] for l in lines[1:]}
    assert {"PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES",
            "SMTPUTF8"} <= ext
    size = [l for l in lines if l.startswith("SIZE ")]
    assert size == [f"SIZE {50 * 1024 * 1024}"]


def test_smtputf8_envelope(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<jörg@bücher.example> SMTPUTF8 BODY=8BITMIME")[0] == 250
    assert client.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert client.cmd("DATA")[0] == 354
    code, _ = client.cmd("Subject: \u00fc\r\n\r\n\u00fcml\u00e4ut\r\n.")
    assert code == 250
    [m] = conf.queued()
    assert m.sender == "<jörg@bücher.example>"
    assert "smtputf8" in m.flags
    assert m.env.get("body") == "8bitmime"
    assert b"with UTF8SMTP id" in m.headers()


def test_non_ascii_sender_without_smtputf8_is_refused(conf, client):
    assert client.cmd("EHLO client.example")[0] == 250
    code, text = client.cmd("MAIL FROM:<jörg@bücher.example>")
    assert code == 553 and text[0].startswith("5.6.7"), text


def test_ipv6_peer_in_received_header(conf):
    srv6 = Server(conf, listen=[f"[::1]:{free_port()}"])
    try:
        c = Client(srv6.connect("::1"))
        assert c.reply()[0] == 220
        session(c)
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: v6\r\n\r\nhi\r\n.")[0] == 250
        c.close()
        [m] = conf.queued()
        assert m.env["peer"] == "::1"
        assert m.body.startswith(b"Received: from client.example ([IPv6:::1])")
    finally:
        srv6.stop()
    srv6.check_children()


# --- refusals ---------------------------------------------------------------

def test_unknown_local_user_gets_550(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    code, text = client.cmd("RCPT TO:<nobody@example.com>")
    assert code == 550 and text[0].startswith("5.1.1"), text
    # The names that do exist: users, aliases, postmaster, a catch-all.
    for ok in ("<ALICE@Example.COM>", "<info@example.com>",
               "<postmaster@example.com>", "<Postmaster>",
               "<anything@catchall.example>", f"<postmaster@{HOSTNAME}>"):
        assert client.cmd(f"RCPT TO:{ok}")[0] == 250, ok
    ev = smtpd.wait_for(r"event=refused .*nobody@example\.com")
    assert "5.1.1" in ev[0]


def test_relay_is_refused(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<alice@example.com>")[0] == 250
    for rcpt in ("<victim@gmail.com>", "<x@[127.0.0.1]>",
                 "<alice@example.com.evil.example>", "<@example.com:x@gmail.com>"):
        code, text = client.cmd(f"RCPT TO:{rcpt}")
        assert code in (550, 554) and text[0].startswith("5.7.1"), (rcpt, text)
    code, _ = client.cmd("DATA")
    assert code == 554
    assert conf.queued() == []
    smtpd.wait_for(r"event=refused .*victim@gmail\.com")


def test_size_is_refused_at_mail(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    code, text = client.cmd(f"MAIL FROM:<bob@remote.example> SIZE={50 * 1024 * 1024 + 1}")
    assert code == 552 and text[0].startswith("5.3.4"), text
    assert client.cmd(f"MAIL FROM:<bob@remote.example> SIZE={1024}")[0] == 250


def test_size_is_checked_during_data(conf):
    conf.write(max_message_size="64K")
    srv = Server(conf)
    try:
        c = Client(srv.connect())
        assert c.reply()[0] == 220
        code, lines = c.cmd("EHLO client.example")
        assert "SIZE 65536" in lines
        session(c)
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 100)
        code, text = c.cmd(".")
        assert code == 552 and text[0].startswith("5.3.4"), text
        # The session goes on, and nothing of the refused message is queued.
        assert c.cmd("NOOP")[0] == 250
        c.close()
        assert conf.queued() == [] and conf.leftovers() == []
    finally:
        srv.stop()
    srv.check_children()


def test_101st_recipient_gets_452(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    for i in range(1, 101):
        assert client.cmd(f"RCPT TO:<r{i}@catchall.example>")[0] == 250, i
    code, text = client.cmd("RCPT TO:<r101@catchall.example>")
    assert code == 452 and text[0].startswith("4.5.3"), text
    assert client.cmd("DATA")[0] == 354
    assert client.cmd("Subject: many\r\n\r\nx\r\n.")[0] == 250
    [m] = conf.queued()
    assert len(m.rcpts) == 100
    assert m.rcpts[-1] == "<r100@catchall.example>"


def test_long_command_line_is_refused(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    code, text = client.cmd("NOOP " + "x" * 100 * 1024)
    assert code == 500 and text[0].startswith("5.5.2"), text
    assert client.cmd("NOOP")[0] == 250


def test_long_data_line_is_refused(conf, smtpd, client):
    session(client)
    assert client.cmd("DATA")[0] == 354
    client.send(b"Subject: long\r\n\r\n" + b"y" * (100 * 1024) + b"\r\n")
    code, text = client.cmd(".")
    assert code == 554 and text[0].startswith("5.6.0"), text
    assert conf.queued() == [] and conf.leftovers() == []


SMUGGLING = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n\x00.\r\n"]


@pytest.mark.parametrize("seq", SMUGGLING, ids=repr)
def test_smuggling_leaves_no_second_message(conf, smtpd, client, seq):
    session(client)
    assert client.cmd("DATA")[0] == 354
    client.send(b"From: bob@remote.example\r\nSubject: first\r\n\r\nbody" + seq +
                b"MAIL FROM:<admin@example.com>\r\n"
                b"RCPT TO:<alice@example.com>\r\n"
                b"DATA\r\n"
                b"From: admin@example.com\r\nSubject: smuggled\r\n\r\nevil\r\n"
                b".\r\n")
    client.send(b"QUIT\r\n")
    code, text = client.reply()
    assert 500 <= code < 600, text
    assert client.closed()
    smtpd.wait_for(r"event=disconnect")
    assert conf.queued() == []
    assert conf.leftovers() == []


@pytest.mark.parametrize("request_line", [
    "GET / HTTP/1.1", "POST /cgi HTTP/1.0", "CONNECT mx.example.net:25 HTTP/1.1"])
def test_http_request_closes(conf, smtpd, client, request_line):
    client.send(request_line + "\r\nHost: x\r\n\r\n")
    code, text = client.reply()
    assert code == 502
    assert client.closed()
    assert conf.queued() == []


def test_mail_loop_is_refused(conf, smtpd, client):
    session(client)
    assert client.cmd("DATA")[0] == 354
    hops = "".join(f"Received: from hop{i}.example by hop{i + 1}.example; "
                   f"Mon, 23 Nov 2026 12:00:00 +0000\r\n" for i in range(51))
    code, text = client.cmd(hops + "Subject: loop\r\n\r\nround and round\r\n.")
    assert code == 554 and text[0].startswith("5.4.6"), text
    assert conf.queued() == [] and conf.leftovers() == []
    [line] = smtpd.wait_for(r"event=refused .*5\.4\.6")
    ev = parse_kv(line)
    assert ev["id"] and ev["count"] == "1" and "5.4.6" in ev["reason"]
    # 50 Received: fields are still fine (our own makes 51 in the queue).
    session(client)
    assert client.cmd("DATA")[0] == 354
    hops = hops.split("\r\n", 1)[1]
    assert client.cmd(hops + "Subject: ok\r\n\r\nfine\r\n.")[0] == 250


def test_delivered_to_loop_is_refused_before_the_250(conf, smtpd, client):
    """A message carrying queue-run's loop marker for one of its
    recipients is refused at the end of DATA, not bounced later to a
    sender the client chose."""
    session(client)
    assert client.cmd("DATA")[0] == 354
    code, text = client.cmd("Delivered-To: Alice@example.com\r\n"
                            "Subject: loop\r\n\r\nround\r\n.")
    assert code == 554 and text[0].startswith("5.4.6"), text
    assert "alice@example.com" in text[0]
    assert conf.queued() == [] and conf.leftovers() == []
    [line] = smtpd.wait_for(r"event=refused .*5\.4\.6 mail loop")
    assert parse_kv(line)["id"]
    # Through an alias (info: alice) too: queue-run compares the mailbox.
    session(client, rcpts=("<info@example.com>",))
    assert client.cmd("DATA")[0] == 354
    code, text = client.cmd("Subject: loop\r\nDelivered-To:\r\n"
                            " <alice@example.com>\r\n\r\nround\r\n.")
    assert code == 554 and text[0].startswith("5.4.6"), text
    # Another recipient's marker, or one in the body, is no loop.
    session(client, rcpts=("<bob@example.com>",))
    assert client.cmd("DATA")[0] == 354
    assert client.cmd("Delivered-To: alice@example.com\r\n\r\n"
                      "Delivered-To: bob@example.com\r\n.")[0] == 250
    assert len(conf.queued()) == 1


def test_helo_must_be_one_token(conf, smtpd, client):
    code, _ = client.cmd("EHLO gmail.com ([8.8.8.8]) by mx.google.com")
    assert code == 501
    assert client.cmd("EHLO client.example")[0] == 250


def test_same_mailbox_in_other_case_is_queued_once(conf, smtpd, client):
    session(client, rcpts=("<alice@example.com>", "<ALICE@Example.com>",
                           "<\"alice\"@example.com>"))
    assert client.cmd("DATA")[0] == 354
    assert client.cmd("Subject: once\r\n\r\nx\r\n.")[0] == 250
    [m] = conf.queued()
    assert m.rcpts == ["<alice@example.com>"]


def test_eof_during_data_is_logged_as_aborted(conf, smtpd, client):
    session(client)
    assert client.cmd("DATA")[0] == 354
    client.send(b"Subject: cut\r\n\r\nhalf a mess")
    client.close()
    [line] = smtpd.wait_for(r"event=aborted")
    assert "reason=eof" in line and "id=" in line
    smtpd.wait_for(r"event=disconnect")
    assert conf.queued() == [] and conf.leftovers() == []


def test_too_many_errors_close_the_session(conf, smtpd, client):
    assert client.cmd("EHLO client.example")[0] == 250
    codes = []
    for _ in range(40):
        try:
            codes.append(client.cmd("BOGUS")[0])
        except EOFError:
            break
    assert codes[-1] == 421 and all(c == 500 for c in codes[:-1]), codes
    assert len(codes) <= 21
    assert client.closed()


def test_bare_lf_command_is_refused(conf, smtpd, client):
    client.send(b"EHLO client.example\n")
    code, _ = client.reply()
    assert code == 500
    assert client.cmd("EHLO client.example")[0] == 250


# --- durability -------------------------------------------------------------

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def smtp_in_pid(smtpd):
    smtpd.wait_for(r"Spawned .* as PID \d+")  # the activator's own line
    pids = [p for p in smtpd.child_pids() if os.path.exists(f"/proc/{p}")]
    assert len(pids) == 1, pids
    return pids[0]


def test_30mb_message_streams_to_disk_in_bounded_memory(conf, smtpd, client):
    session(client)
    assert client.cmd("DATA")[0] == 354
    pid = smtp_in_pid(smtpd)
    line = b"z" * 998 + b"\r\n"
    chunk = line * 1024  # ~1 MB
    peak = 0
    client.send(b"Subject: big\r\n\r\n")
    for _ in range(30):
        client.send(chunk)
        peak = max(peak, rss_kb(pid))
    code, text = client.cmd(".")
    assert code == 250, text
    [m] = conf.queued()
    assert len(m.body) > 30 * 1000 * 1000
    if not SAN:  # the sanitizers' shadow memory is not smtp-in's
        assert peak < 10 * 1024, f"RSS peaked at {peak} kB"


def test_kill_9_during_data_leaves_nothing_deliverable(conf):
    smtpd = Server(conf)
    client = Client(smtpd.connect())
    assert client.reply()[0] == 220
    session(client)
    assert client.cmd("DATA")[0] == 354
    client.send(b"Subject: half\r\n\r\n" + b"a" * 100000 + b"\r\n")
    pid = smtp_in_pid(smtpd)
    # The message is being written: its file exists in tmp/ since DATA.
    assert len(conf.leftovers()) == 1
    os.kill(pid, 9)
    smtpd.wait_for(rf"Child {pid} died")
    # The half message stays in tmp/, where nothing is ever delivered from
    # (queue-run sweeps it later); new/ never saw it.
    assert conf.queued() == []
    smtpd.stop()
    smtpd.check_children(allowed=(9,))


def test_queue_failure_gets_451_and_leaves_nothing(conf):
    """fsync of the queue file fails (EIO), injected into the real
    smtp-in by strace: 451, nothing committed, nothing left."""
    if shutil.which("strace") is None:
        pytest.fail("strace is required (t/deps.sh installs it)")
    srv = Server(conf, wrap=["strace", "-f", "-qq", "-o", "/dev/null",
                             "-e", "trace=fsync", "-e", "inject=fsync:error=EIO"])
    try:
        c = Client(srv.connect())
        assert c.reply()[0] == 220
        session(c)
        code = c.cmd("DATA")[0]
        assert code == 354
        code, text = c.cmd("Subject: x\r\n\r\nbody\r\n.")
        assert code == 451 and text[0].startswith("4.3.0"), text
        c.close()
        assert conf.queued() == [] and conf.leftovers() == []
    finally:
        srv.stop()


def test_full_spool_gets_451_and_leaves_nothing(conf, tmp_path):
    """A real full file system: a 256 KB tmpfs mounted over the spool in a
    private mount namespace of the listener.  No queue_minfree: the
    write itself must fail (test_limits.py has the floor)."""
    conf.write(max_message_size="50M", queue_minfree="0")
    spool = conf.spool
    setup = (f"mount -t tmpfs -o size=256k posthorn-test {spool} && "
             f"mkdir {spool}/tmp {spool}/new {spool}/state && exec \"$@\"")
    srv = Server(conf, prefix=["unshare", "-m", "--propagation", "private",
                               "sh", "-c", setup, "sh"])
    try:
        view = f"/proc/{srv.proc.pid}/root{spool}"
        c = Client(srv.connect())
        assert c.reply()[0] == 220
        session(c)
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: too big for the disk\r\n\r\n" + (b"q" * 998 + b"\r\n") * 1024)
        code, text = c.cmd(".")
        assert code == 451 and text[0].startswith("4.3.0"), text
        assert os.listdir(f"{view}/new") == [] and os.listdir(f"{view}/tmp") == []
        # Nothing was left behind: a small message fits again.
        session(c, sender="<bob@remote.example>")
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: small\r\n\r\nfits\r\n.")[0] == 250
        assert len(os.listdir(f"{view}/new")) == 1
        c.close()
    finally:
        srv.stop()
    srv.check_children()


def test_postmaster_reaches_a_person_even_past_a_broken_catch_all(
        conf, smtpd, client):
    """aliases(5): the catch-all takes postmaster (the person who reads
    the domain's other mail reads its postmaster's); a catch-all broken by
    a deleted user refuses everything else but never postmaster, which
    falls to the domain's postmaster Maildir (RFC 5321 §4.5.1)."""
    r = conf.run("aliases", "postmaster@catchall.example")
    assert r.stdout.decode() == ("postmaster@catchall.example: mailbox "
                                 f"alice@example.com ({conf.mail}/"
                                 "example.com/alice/)\n"), r.stderr
    (conf.dir / "domains" / "catchall.example" / "aliases").write_text(
        "*: alice@example.com, gone@example.com\n")
    assert client.cmd("EHLO client.example")[0] == 250
    assert client.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    assert client.cmd("RCPT TO:<anything@catchall.example>")[0] == 550
    assert client.cmd("RCPT TO:<PostMaster@catchall.example>")[0] == 250
    r = conf.run("aliases", "postmaster@catchall.example")
    assert r.stdout.decode() == ("postmaster@catchall.example: mailbox "
                                 f"postmaster@catchall.example ({conf.mail}/"
                                 "catchall.example/postmaster/)\n")
    r = conf.run("aliases", "-c", "catchall.example")
    assert r.returncode == 1 and b"gone@example.com" in r.stdout + r.stderr
