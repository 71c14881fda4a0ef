"""The configuration of the long-lived programs follows posthorn.conf.

queue-run and smtp-listen run for weeks; an edit of posthorn.conf must
reach them without a restart (issue 12.1): read again when the file
changes, and on SIGHUP, atomically (a file that does not parse leaves the
running configuration as it was), with a log line either way.  The tests
edit the file while the program runs and check what a user would: the
DSN that the next bounce carries, where the next message goes, the
greeting of a refusal, the log lines.
"""

import os
import signal
import time

from conftest import HOSTNAME, Listener, QueueRun, parse_kv
from test_queue_run import dsn_of

NEW_HOST = "mail.example.org"
_dropped = [0]


def drop(conf, sender, rcpt):
    """A message committed to SPOOL/new as queue-inject would
    (posthorn-queue(5)), without running a program that reads
    posthorn.conf: the tests break that file on purpose."""
    _dropped[0] += 1
    qid = f"ZZZZZZZZZZZZ{_dropped[0]:04d}"
    tmp = conf.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {int(time.time())}\n"
        f"from <{sender}>\nrcpt <{rcpt}>\nvia local\n\n"
        "Subject: t\n\nhello\n".encode())
    os.rename(tmp, conf.spool / "new" / qid)


def bounce_to_bob(conf, qr, count=1):
    """A message to an unknown user from bob: its DSN, as bob's Maildir
    has it (the raw bytes and the file name)."""
    drop(conf, "bob@example.com", "nobody@example.com")
    qr.wait_for(r"event=bounce ", count)
    qr.wait_for(r"event=delivery id=\S+ .*to=bob@example.com .*status=sent",
                count)
    d = conf.mail / "example.com" / "bob" / "new"
    names = sorted(os.listdir(d), key=lambda n: os.stat(d / n).st_mtime_ns)
    name = names[-1]
    return (d / name).read_bytes(), name


def check_dsn_host(raw, name, host):
    msg, parts, per_msg, _ = dsn_of(raw.split(b"\n", 2)[2])
    assert msg["From"].addresses[0].addr_spec == f"MAILER-DAEMON@{host}"
    assert msg["Message-ID"].endswith(f"@{host}>"), msg["Message-ID"]
    assert per_msg["Reporting-MTA"] == f"dns; {host}"
    assert f"mail delivery system at {host}." in \
        parts[0].get_content()
    # The Maildir file's name ends in the host name (maildir(5)).
    assert name.endswith("." + host), name


def test_hostname_change_reaches_the_next_bounce(conf):
    qr = QueueRun(conf)
    try:
        raw, name = bounce_to_bob(conf, qr)
        check_dsn_host(raw, name, HOSTNAME)
        # The tutorial's step: the PTR is set, and then the hostname.
        conf.write(hostname=NEW_HOST)
        [line] = qr.wait_for(r"event=config-reloaded")
        kv = parse_kv(line)
        assert kv["changed"] == "hostname" and kv["trigger"] == "change"
        raw, name = bounce_to_bob(conf, qr, 2)
        check_dsn_host(raw, name, NEW_HOST)
    finally:
        qr.stop()


def test_broken_file_keeps_the_running_configuration(conf):
    qr = QueueRun(conf)
    try:
        conf.write(hostname=NEW_HOST, hostnme="typo.example")
        [line] = qr.wait_for(r"event=config-rejected")
        kv = parse_kv(line)
        n = (conf.dir / "posthorn.conf").read_text().splitlines().index(
            "hostnme = typo.example") + 1
        assert kv["reason"].endswith(
            f"posthorn.conf:{n}: unknown key 'hostnme'"), kv
        assert kv["using"] == "the previous configuration"
        # Not a word of the broken file was taken.
        raw, name = bounce_to_bob(conf, qr)
        check_dsn_host(raw, name, HOSTNAME)
        assert qr.events("config-reloaded") == []
        # Fixed: taken at once.
        conf.write(hostname=NEW_HOST)
        [line] = qr.wait_for(r"event=config-reloaded")
        assert parse_kv(line)["changed"] == "hostname"
        raw, name = bounce_to_bob(conf, qr, 2)
        check_dsn_host(raw, name, NEW_HOST)
    finally:
        qr.stop()


def test_local_part_rules_and_limits_follow_the_file(conf):
    """drop_characters changes where a-lice@ goes; max_deliveries grows
    the slots; spool cannot change under a running queue-run and is
    said to be kept."""
    qr = QueueRun(conf)
    try:
        drop(conf, "carol@remote.example", "a-lice@example.com")
        qr.wait_for(r"event=delivery .*to=a-lice@example.com "
                    r".*status=bounced")
        conf.write(drop_characters=".-", max_deliveries="120",
                   spool=str(conf.root / "elsewhere"))
        [line] = qr.wait_for(r"event=config-reloaded")
        kv = parse_kv(line)
        assert kv["changed"] == "drop_characters,max_deliveries", kv
        assert kv["kept"] == "spool", kv
        drop(conf, "carol@remote.example", "a-lice@example.com")
        [line] = qr.delivered()
        assert parse_kv(line)["to"] == "alice@example.com"
        assert len(conf.maildir("example.com", "alice")) == 1
    finally:
        qr.stop()


def test_sighup_reads_the_file_and_retries(conf):
    """systemctl reload posthorn-queue: the file read whatever its stat
    says, and the queue retried."""
    qr = QueueRun(conf)
    try:
        os.kill(qr.proc.pid, signal.SIGHUP)
        [line] = qr.wait_for(r"event=config-reloaded")
        kv = parse_kv(line)
        assert kv["trigger"] == "SIGHUP" and kv["changed"] == "none", kv
        qr.wait_for(r"event=flush signal=HUP")
        # A broken file on SIGHUP: said, and the old one kept.
        (conf.dir / "posthorn.conf").write_text("hostname = -bad-\n")
        qr.wait_for(r"event=config-rejected .*trigger=change")
        os.kill(qr.proc.pid, signal.SIGHUP)
        [line] = qr.wait_for(r"event=config-rejected .*trigger=SIGHUP")
        assert "not a valid host name" in parse_kv(line)["reason"]
        raw, name = bounce_to_bob(conf, qr)
        check_dsn_host(raw, name, HOSTNAME)
    finally:
        qr.stop()


def test_listener_refusals_follow_the_hostname(open_conf):
    """smtp-listen reads one key for itself, hostname, for its 421
    refusals: the file is read again before a refusal when it changed,
    and on SIGHUP; a session reads the file itself at each connection."""
    srv = Listener(open_conf, args=("-T", "-c", "1"))
    try:
        a = srv.connect()
        assert a.reply()[0] == 220
        b = srv.connect()
        code, text = b.reply()
        assert code == 421 and text[0].startswith(f"4.3.2 {HOSTNAME} "), text
        b.close()
        open_conf.write(hostname=NEW_HOST)
        c = srv.connect()
        code, text = c.reply()
        assert code == 421 and text[0].startswith(f"4.3.2 {NEW_HOST} "), text
        c.close()
        [line] = srv.wait_for(r"event=config-reloaded")
        assert parse_kv(line)["changed"] == "hostname"
        # Broken: said once on SIGHUP, and the refusals keep the name.
        (open_conf.dir / "posthorn.conf").write_text("hostname = -x-\n")
        os.kill(srv.pid(), signal.SIGHUP)
        srv.wait_for(r"event=config-rejected .*trigger=SIGHUP")
        d = srv.connect()
        code, text = d.reply()
        assert code == 421 and text[0].startswith(f"4.3.2 {NEW_HOST} "), text
        d.close()
        assert len(srv.events("config-rejected")) == 1
        assert a.cmd("QUIT")[0] == 221
        a.close()
    finally:
        srv.stop()
