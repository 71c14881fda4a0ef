"""Logs without systemd (issue 12, item 6): install.sh starts the
listeners and queue-run with their stderr appended to files under
/var/log/posthorn.  Every line there has an RFC 3339 time stamp with its
zone and is one of posthorn's key=value lines (no other program's
chatter), whichever program wrote it: the listener, its sessions, the
TLS and AUTH helpers, queue-run and smtp-out.  And the logrotate file
that install.sh installs rotates them, keeping a bounded number."""

import datetime
import os
import pathlib
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (HOSTNAME, ROOT, SAN_ENV, WAIT, Client, free_port,
                      make_cert, prog)

PASSWORD = "correct horse battery"
LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
    r"([a-z-]+)\[(\d+)\]: event=\S")


def as_install_sh(conf, argv, log):
    """argv started as install.sh starts it without systemd: a clean
    environment but for the configuration, POSTHORN_LOG_TIME=1 and PATH,
    its stderr appended to the file log."""
    env = {"POSTHORN_CONF": str(conf.dir), "POSTHORN_LOG_TIME": "1",
           "PATH": "/usr/local/bin:/usr/bin:/bin", **SAN_ENV}
    with open(log, "ab") as f:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f,
                                stderr=f, env=env, start_new_session=True)


def wait_line(log, pattern, proc):
    """Wait (bounded) until a line of the file log matches pattern."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + WAIT
    while True:
        text = log.read_text(errors="replace") if log.exists() else ""
        if any(rx.search(l) for l in text.splitlines()):
            return
        assert proc.poll() is None, f"exited {proc.returncode}:\n{text}"
        assert time.monotonic() < deadline, f"no {pattern!r} in:\n{text}"
        time.sleep(0.05)    # a file has no event to wait on


def stop(proc):
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0


def test_every_line_of_the_log_files_is_stamped(open_conf, tmp_path):
    conf = open_conf
    make_cert(conf.dir / "certs", HOSTNAME)
    # the sessions run as nobody: the key is nobody's, and others' not
    # (a key others can read is refused, posthorn.conf(5) Secrets)
    nobody = pwd.getpwnam("nobody")
    os.chown(conf.dir / "certs" / "privkey.pem", nobody.pw_uid,
             nobody.pw_gid)
    conf.add_user("alice@example.com", PASSWORD)
    os.chmod(conf.dir / "domains" / "example.com" / "users", 0o644)
    smtp_log = tmp_path / "smtp-in.log"
    queue_log = tmp_path / "queue-run.log"
    port = free_port()
    listener = as_install_sh(
        conf, [prog("smtp-listen"), "-u", "nobody", "-c", "8", "mx",
               f"127.0.0.1:{port}"], smtp_log)
    qr = None
    try:
        wait_line(smtp_log, r"event=listening", listener)
        with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
            s.ehlo("client.example")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            s.starttls(context=ctx)
            s.ehlo("client.example")
            s.login("alice@example.com", PASSWORD)
            s.sendmail("alice@example.com",
                       ["bob@example.com", "carol@remote.example"],
                       b"From: alice@example.com\r\nSubject: t\r\n\r\nhi\r\n")
        with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as s:
            s.ehlo("client.example")
            s.mail("bob@remote.example")
            assert s.rcpt("nobody@example.com")[0] == 550
        # a handshake that fails: smtp-tlsd says so itself
        c = Client(socket.create_connection(("127.0.0.1", port),
                                            timeout=WAIT))
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        c.send(b"this is not a TLS record\r\n" * 4)
        assert c.closed()
        c.close()
        wait_line(smtp_log, r"smtp-in\[\d+\]: event=refused ", listener)
        wait_line(smtp_log, r"smtp-tlsd\[\d+\]: event=tls-failed", listener)
        qr = as_install_sh(conf, [prog("queue-run")], queue_log)
        wait_line(queue_log, r"queue-run\[\d+\]: event=delivery .* "
                  r"to=bob@example.com .*status=sent", qr)
        wait_line(queue_log, r"queue-run\[\d+\]: event=delivery .* "
                  r"to=carol@remote.example .*status=deferred", qr)
    finally:
        stop(listener)
        if qr is not None:
            stop(qr)
    progs = set()
    for log in (smtp_log, queue_log):
        for line in log.read_text().splitlines():
            m = LINE.match(line)
            assert m, f"{log.name}: not a stamped posthorn line: {line!r}"
            stamp = datetime.datetime.fromisoformat(
                m.group(1).replace("Z", "+00:00"))
            assert stamp.tzinfo is not None
            progs.add(m.group(2))
    assert {"smtp-listen", "smtp-in", "smtp-tlsd", "queue-run",
            "smtp-out"} <= progs, progs


def test_the_logrotate_file_rotates_a_log_held_open(tmp_path):
    """smtp-in/posthorn.logrotate, as install.sh installs it into
    /etc/logrotate.d, pointed at a directory of the test: logrotate reads
    it without a complaint, and a forced rotation of a log that a
    listener holds open (O_APPEND, as the shell's >> opens it) keeps the
    old lines in the rotated file and sends the next ones to the start
    of the emptied log."""
    logdir = tmp_path / "log"
    logdir.mkdir(mode=0o750)
    text = (ROOT / "smtp-in" / "posthorn.logrotate").read_text()
    assert "/var/log/posthorn/*.log {" in text
    conf = tmp_path / "posthorn.logrotate"
    conf.write_text(text.replace("/var/log/posthorn", str(logdir)))
    state = tmp_path / "state"
    r = subprocess.run(["logrotate", "-d", "-s", str(state), str(conf)],
                       capture_output=True, text=True, timeout=WAIT)
    assert r.returncode == 0 and "error" not in r.stderr.lower(), r.stderr
    log = logdir / "smtp-in.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        before = b"2026-12-06T18:56:01.123Z smtp-in[1]: event=connect\n"
        os.write(fd, before * 100)
        r = subprocess.run(["logrotate", "-f", "-s", str(state), str(conf)],
                           capture_output=True, text=True, timeout=WAIT)
        assert r.returncode == 0, r.stderr
        [rotated] = [p for p in logdir.iterdir() if p != log]
        assert rotated.name.startswith("smtp-in.log-")
        assert rotated.read_bytes() == before * 100
        assert log.stat().st_size == 0
        after = b"2026-12-06T18:56:02.000Z smtp-in[2]: event=connect\n"
        os.write(fd, after)
        assert log.read_bytes() == after
    finally:
        os.close(fd)
