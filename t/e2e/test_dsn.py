"""Delivery status notifications end to end: the DSN extension (RFC 3461)
and the delay warning (RFC 3464 Action: delayed).

Mail comes in over SMTP on port 25 (smtp-in, which offers DSN) with
NOTIFY, ORCPT, RET and ENVID, or is put in the queue by hand with those
keys (posthorn-queue(5)); queue-run delivers into Maildirs and pipes
(a pipe alias that exits 1 fails for good, one that exits 75 is retried)
and to a scripted SMTP peer on loopback that offers DSN or does not.
Every DSN is read with Python's email package, field by field.  Every
wait is for a log event or a peer's message, with a bound.
"""

import email
import email.policy
import email.utils
import os
import re
import smtplib
import socket
import threading
import time

from conftest import WAIT, QueueRun, free_port, parse_kv

SENDER = "alice@example.com"


def aliases(conf, text):
    (conf.dir / "domains" / "example.com" / "aliases").write_text(text)


def untraced(raw):
    """A delivered message without Return-Path: and Delivered-To:."""
    m = re.match(rb"Return-Path: <[^\n]*>\nDelivered-To: [^\n]*\n", raw)
    assert m, raw[:300]
    return raw[m.end():]


def report(raw):
    """(message, its parts, per-message fields, [per-recipient fields])
    of a DSN as a mail client reads it."""
    msg = email.message_from_bytes(untraced(raw),
                                   policy=email.policy.default)
    assert msg.get_content_type() == "multipart/report", msg
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["From"].addresses[0].username == "MAILER-DAEMON"
    parts = list(msg.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    groups = parts[1].get_payload()
    return msg, parts, groups[0], groups[1:]


def smtp(port, mail_options, rcpts, body, sender=SENDER):
    """One transaction; rcpts: [(address, [options])]."""
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
        s.ehlo("client.example")
        assert s.has_extn("dsn"), s.esmtp_features
        code, text = s.mail(sender, list(mail_options))
        assert code == 250, text
        for addr, opts in rcpts:
            code, text = s.rcpt(addr, list(opts))
            assert code == 250, (addr, text)
        code, text = s.data(body.replace(b"\n", b"\r\n"))
        assert code == 250, text
        return text.decode().rsplit(" ", 1)[-1]   # the queue id


def test_smtp_in_refuses_bad_dsn_parameters(conf, smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port, timeout=WAIT) as s:
        s.ehlo("client.example")
        assert s.mail(SENDER, ["RET=BODY"])[0] == 501
        assert s.mail(SENDER, ["ENVID=" + "x" * 101])[0] == 501
        assert s.mail(SENDER, ["ENVID=a+2"])[0] == 501
        assert s.mail(SENDER, ["RET=HDRS", "ENVID=ok"])[0] == 250
        assert s.rcpt("bob@example.com", ["NOTIFY=NEVER,DELAY"])[0] == 501
        assert s.rcpt("bob@example.com", ["ORCPT=bob@example.com"])[0] \
            == 501
        assert s.rcpt("bob@example.com", ["ORCPT=rfc822;" + "b" * 494])[0] \
            == 501
        assert s.rcpt("bob@example.com", ["NOTIFY=SUCCESS",
                                          "ORCPT=rfc822;b@example.com"])[0] \
            == 250


def test_notify_never_suppresses_the_bounce(conf, smtpd, queue_run):
    aliases(conf, "broken: | exit 1\n")
    never = smtp(smtpd.port, [], [("broken@example.com", ["NOTIFY=NEVER"])],
                 b"Subject: never tell me\n\nbody\n")
    [line] = queue_run.wait_for(r"event=bounce-suppressed ")
    assert parse_kv(line)["id"] == never
    queue_run.wait_for(r"event=removed id=" + never)
    # The same failure without NOTIFY: the bounce goes out.  Had the
    # first one gone out too, alice would hold two.
    told = smtp(smtpd.port, [], [("broken@example.com", [])],
                b"Subject: do tell me\n\nbody\n")
    [line] = queue_run.wait_for(r"event=bounce id=" + told)
    queue_run.wait_for(r"event=delivery .*to=alice@example.com "
                       r".*status=sent")
    [raw] = conf.maildir("example.com", "alice")
    msg, parts, per_msg, [rcpt] = report(raw)
    assert per_msg["X-Posthorn-Queue-ID"] == told
    assert rcpt["Action"] == "failed"
    assert rcpt["Final-Recipient"] == "rfc822;broken@example.com"


def test_ret_hdrs_returns_headers_and_ret_full_the_message(conf, smtpd,
                                                           queue_run):
    aliases(conf, "broken: | exit 1\n")
    hdrs = smtp(smtpd.port, ["RET=HDRS"], [("broken@example.com", [])],
                b"Subject: headers only\n\nBODY LINE OF THE FIRST\n")
    queue_run.wait_for(r"event=bounce id=" + hdrs)
    full = smtp(smtpd.port, ["RET=FULL"], [("broken@example.com", [])],
                b"Subject: all of it\n\nBODY LINE OF THE SECOND\n")
    queue_run.wait_for(r"event=bounce id=" + full)
    queue_run.wait_for(r"event=delivery .*to=alice@example.com "
                       r".*status=sent", count=2)
    got = {}
    for raw in conf.maildir("example.com", "alice"):
        msg, parts, per_msg, _ = report(raw)
        got[per_msg["X-Posthorn-Queue-ID"]] = (raw, parts)
    raw, parts = got[hdrs]
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"Subject: headers only" in raw
    assert b"BODY LINE OF THE FIRST" not in raw
    raw, parts = got[full]
    assert parts[2].get_content_type() == "message/rfc822"
    [returned] = parts[2].iter_parts()
    assert returned["Subject"] == "all of it"
    assert returned.get_content().strip() == "BODY LINE OF THE SECOND"


def test_orcpt_and_envid_come_back_in_the_dsn(conf, smtpd, queue_run):
    aliases(conf, "broken: | exit 1\n")
    qid = smtp(smtpd.port, ["ENVID=QQ314159+2Bx"],
               [("broken@example.com",
                 ["ORCPT=rfc822;Broken+2Btag@list.example"]),
                ("bob@example.com", [])],
               b"Subject: where from\n\nbody\n")
    queue_run.wait_for(r"event=bounce id=" + qid)
    queue_run.wait_for(r"event=delivery .*to=alice@example.com "
                       r".*status=sent")
    [raw] = conf.maildir("example.com", "alice")
    msg, parts, per_msg, [rcpt] = report(raw)
    assert per_msg["Original-Envelope-Id"] == "QQ314159+x"
    assert rcpt["Original-Recipient"] == "rfc822;Broken+tag@list.example"
    assert rcpt["Final-Recipient"] == "rfc822;broken@example.com"
    assert rcpt["Action"] == "failed"
    # bob got the message, and it says nothing of the parameters.
    [bob] = conf.maildir("example.com", "bob")
    assert b"QQ314159" not in bob


def test_notify_success_reports_the_delivery(conf, smtpd, queue_run):
    qid = smtp(smtpd.port, ["ENVID=ok-1"],
               [("bob@example.com", ["NOTIFY=SUCCESS,FAILURE",
                                     "ORCPT=rfc822;bob@example.com"]),
                ("info@example.com", [])],
               b"Subject: tell me it arrived\n\nbody\n")
    [line] = queue_run.wait_for(r"event=success-report ")
    assert parse_kv(line)["id"] == qid
    queue_run.wait_for(r"event=delivery .*id=%s.*to=alice@example.com"
                       % parse_kv(line)["dsn"])
    dsns = [r for r in conf.maildir("example.com", "alice")
            if b"multipart/report" in r]
    [raw] = dsns
    msg, parts, per_msg, [rcpt] = report(raw)
    assert msg["Subject"] == "Successful Mail Delivery Report"
    assert per_msg["Original-Envelope-Id"] == "ok-1"
    assert rcpt["Action"] == "delivered"
    assert rcpt["Status"] == "2.0.0"
    assert rcpt["Final-Recipient"] == "rfc822;bob@example.com"
    assert parts[2].get_content_type() == "text/rfc822-headers"


def test_delayed_dsn_is_sent_once(conf, tmp_path):
    """delay_warning_time after arrival, the sender learns that the
    message is still waiting, once: not at the next retry, not after a
    restart of queue-run."""
    conf.write(delay_warning_time="2s")
    aliases(conf, "slow: | echo not now >&2; exit 75\n")
    qr = QueueRun(conf)
    try:
        r = conf.run("queue-inject", "-f", SENDER, "--", "slow@example.com",
                     "bob@example.com",
                     input=b"Subject: patience\n\nbody\n")
        assert r.returncode == 0, r.stderr
        [line] = qr.wait_for(r"event=delivery .*to=slow@example.com "
                             r".*status=deferred")
        [msg] = [m for m in conf.queued()
                 if m.id == parse_kv(line)["id"]]
        [line] = qr.wait_for(r"event=delay-warning ")
        kv = parse_kv(line)
        assert kv["id"] == msg.id and kv["to"] == SENDER
        qr.wait_for(r"event=delivery id=%s .*to=alice@example.com "
                    r".*status=sent" % kv["dsn"])
        # Another attempt (mailq -f): deferred again, and put back to
        # wait (the warning would come before that line), no second
        # warning.
        waits = waiting(qr, msg.id)
        assert conf.run("mailq", "-f").returncode == 0
        qr.wait_for(r"event=waiting id=" + msg.id, count=waits + 1)
        assert len(qr.events("delay-warning")) == 1
    finally:
        qr.stop()
    # A new queue-run finds the mark beside the message.
    qr = QueueRun(conf)
    try:
        assert conf.run("mailq", "-f").returncode == 0
        qr.wait_for(r"event=delivery .*to=slow@example.com "
                    r".*status=deferred")
        qr.wait_for(r"event=waiting id=" + msg.id)
        assert qr.events("delay-warning") == []
    finally:
        qr.stop()
    [raw] = conf.maildir("example.com", "alice")
    dsn, parts, per_msg, [rcpt] = report(raw)
    assert dsn["Subject"] == "Delayed Mail (still being retried)"
    assert dsn["To"].addresses[0].addr_spec == SENDER
    assert per_msg["X-Posthorn-Queue-ID"] == msg.id
    assert per_msg["Reporting-MTA"].startswith("dns; ")
    # Only the recipient still waiting: bob has his copy.
    assert rcpt["Final-Recipient"] == "rfc822;slow@example.com"
    assert rcpt["Action"] == "delayed"
    assert rcpt["Status"].startswith("4.")
    assert "not now" in rcpt["Diagnostic-Code"]
    assert rcpt["Will-Retry-Until"]
    until = email.utils.parsedate_to_datetime(rcpt["Will-Retry-Until"])
    assert abs(until.timestamp() - (msg_time(msg) + 5 * 86400)) < 2
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"Subject: patience" in raw
    assert len(conf.maildir("example.com", "bob")) == 1


def msg_time(msg):
    return int(msg.env["time"])


def waiting(qr, qid):
    return len([e for e in qr.events("waiting") if e["id"] == qid])


def test_no_delay_warning_when_turned_off_or_not_wanted(conf):
    """delay_warning_time = 0 sends none; NOTIFY without DELAY neither."""
    conf.write(delay_warning_time="0")
    aliases(conf, "slow: | exit 75\n")
    qr = QueueRun(conf)
    try:
        r = conf.run("queue-inject", "-f", SENDER, "--", "slow@example.com",
                     input=b"Subject: quiet\n\nbody\n")
        assert r.returncode == 0, r.stderr
        [msg] = conf.queued()
        qr.wait_for(r"event=waiting id=" + msg.id)
    finally:
        qr.stop()
    # Past its warning time, but its only recipient said NOTIFY=FAILURE.
    # (The first message, seconds old, is not past 30 minutes.)
    conf.write(delay_warning_time="30m")
    qid = "0000000000000001"
    old = int(time.time()) - 3600
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {old}\nfrom <{SENDER}>\n"
        f"rcpt <slow@example.com>\nnotify FAILURE\nvia local\n\n"
        "Subject: quiet too\n\nbody\n".encode())
    os.rename(tmp, conf.spool / "new" / qid)
    qr = QueueRun(conf)
    try:
        assert conf.run("mailq", "-f").returncode == 0
        qr.wait_for(r"event=waiting id=" + qid)
        qr.wait_for(r"event=waiting id=" + msg.id)
        assert qr.events("delay-warning") == []
    finally:
        qr.stop()
    assert conf.maildir("example.com", "alice") == []
    # It was looked at: its warning is done, with nothing to send.
    assert (conf.spool / "state" / (qid + ".warned")).exists()
    assert not (conf.spool / "state" / (msg.id + ".warned")).exists()


# --- smtp-out: the parameters go on to a next hop that offers DSN --------

class ScriptedPeer:
    """A minimal SMTP server on a loopback port, in a thread: it offers
    DSN in its EHLO reply or not, accepts everything, and keeps every
    command line it reads."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.lines = []
        self.messages = 0
        self.cond = threading.Condition()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = free_port()
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                try:
                    self.session(c.makefile("rb"), c)
                except OSError:
                    pass

    def session(self, f, c):
        c.sendall(b"220 peer.test ESMTP scripted\r\n")
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.rstrip(b"\r\n").decode()
            with self.cond:
                self.lines.append(cmd)
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                c.sendall(b"250-peer.test\r\n" +
                          (b"250-DSN\r\n" if self.dsn else b"") +
                          b"250 8BITMIME\r\n")
            elif verb == "DATA":
                c.sendall(b"354 go on\r\n")
                while f.readline() not in (b".\r\n", b""):
                    pass
                c.sendall(b"250 2.0.0 kept\r\n")
                with self.cond:
                    self.messages += 1
                    self.cond.notify_all()
            elif verb == "QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"250 2.0.0 ok\r\n")

    def wait(self, count=1):
        deadline = time.monotonic() + WAIT
        with self.cond:
            while self.messages < count:
                left = deadline - time.monotonic()
                assert left > 0, self.lines
                self.cond.wait(left)

    def commands(self, verb):
        with self.cond:
            return [l for l in self.lines if l.upper().startswith(verb)]

    def stop(self):
        self.sock.close()


def smtp_out(conf, peer, *args):
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{peer.port} tls=none\n")
    return conf.run("smtp-out", "-f", SENDER, *args,
                    input=b"Subject: onwards\n\nbody\n")


DSN_ARGS = ["-R", "hdrs", "-V", "QQ+1 x", "-N", "1:SUCCESS,DELAY",
            "-O", "1:rfc822;b+c=d@list.example", "-N", "2:NEVER", "--",
            "bob@remote.example", "carol@remote.example"]


def envelope_sent(conf, dsn):
    """The MAIL and RCPT commands smtp-out sends with DSN_ARGS to a host
    that offers DSN, or does not."""
    peer = ScriptedPeer(dsn=dsn)
    try:
        r = smtp_out(conf, peer, *DSN_ARGS)
        assert r.returncode == 0, r.stderr
        peer.wait()
        [mail] = peer.commands("MAIL")
        return mail, peer.commands("RCPT")
    finally:
        peer.stop()


def test_smtp_out_passes_dsn_parameters_to_a_host_that_offers_dsn(conf):
    mail, rcpts = envelope_sent(conf, dsn=True)
    assert mail == "MAIL FROM:<alice@example.com> RET=HDRS ENVID=QQ+2B1+20x"
    assert rcpts == [
        "RCPT TO:<bob@remote.example> NOTIFY=SUCCESS,DELAY "
        "ORCPT=rfc822;b+2Bc+3Dd@list.example",
        "RCPT TO:<carol@remote.example> NOTIFY=NEVER"]


def test_smtp_out_keeps_them_from_a_host_that_does_not(conf):
    mail, rcpts = envelope_sent(conf, dsn=False)
    assert mail == "MAIL FROM:<alice@example.com>"
    assert rcpts == ["RCPT TO:<bob@remote.example>",
                     "RCPT TO:<carol@remote.example>"]


def test_smtp_out_refuses_bad_dsn_options(conf):
    for bad in (["-R", "body"], ["-N", "1:NEVER,DELAY"], ["-N", "0:NEVER"],
                ["-N", "2:NEVER"], ["-O", "1:no-type"], ["-V", "x" * 101]):
        r = conf.run("smtp-out", "-f", SENDER, *bad, "--",
                     "bob@remote.example", input=b"x\n")
        assert r.returncode == 64, (bad, r)


def test_queue_run_hands_the_parameters_to_smtp_out(conf):
    """A queued message with DSN keys leaves with them, and its
    NOTIFY=SUCCESS recipient gets a "relayed" report back."""
    peer = ScriptedPeer(dsn=True)
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{peer.port} tls=none\n")
    qid = "0000000000000002"
    now = int(time.time())
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {now}\nfrom <{SENDER}>\n"
        "rcpt <bob@remote.example>\nnotify SUCCESS\n"
        "orcpt rfc822;bob@old.example\nrcpt <carol@remote.example>\n"
        "ret FULL\nenvid env-7\nvia local\n\n"
        "Subject: away\n\nbody\n".encode())
    os.rename(tmp, conf.spool / "new" / qid)
    qr = QueueRun(conf)
    try:
        peer.wait()
        [line] = qr.wait_for(r"event=success-report id=" + qid)
        qr.wait_for(r"event=delivery id=%s .*status=sent"
                    % parse_kv(line)["dsn"])
        [mail] = peer.commands("MAIL")
        rcpts = peer.commands("RCPT")
    finally:
        qr.stop()
        peer.stop()
    assert mail.endswith(" RET=FULL ENVID=env-7"), mail
    assert sorted(rcpts) == [
        "RCPT TO:<bob@remote.example> NOTIFY=SUCCESS "
        "ORCPT=rfc822;bob@old.example",
        "RCPT TO:<carol@remote.example>"]
    [raw] = conf.maildir("example.com", "alice")
    msg, parts, per_msg, [rcpt] = report(raw)
    assert per_msg["Original-Envelope-Id"] == "env-7"
    assert rcpt["Original-Recipient"] == "rfc822;bob@old.example"
    assert rcpt["Final-Recipient"] == "rfc822;bob@remote.example"
    assert rcpt["Action"] == "relayed"
    assert rcpt["Remote-MTA"] == "dns; 127.0.0.1"
