"""sendmail(8) and queue-inject(8) as cron and scripts use them.

Each test runs the built programs (from $POSTHORN_BIN, never the
system's /usr/sbin/sendmail) against the throw-away configuration and
spool of the `conf` fixture, then reads the queue files as
posthorn-queue(5) describes them.  The failure-injection tests make
fsync, rename or write fail under strace and check that nothing is left
that could be delivered, and that the caller is told to retry (75).
"""

import os
import pwd
import shutil
import subprocess

import pytest

from conftest import HOSTNAME, prog

LOGIN = pwd.getpwuid(os.getuid()).pw_name

CRON_MAIL = (
    "From: root (Cron Daemon)\r\n"
    "To: root, Ops <ops@example.org>\r\n"
    "Cc: team: dev@example.org;\r\n"
    "Bcc: auditor@example.net,\r\n"
    "  \"Second Secret\" <audit2@example.net>\r\n"
    "Subject: Cron <root@host> run-parts /etc/cron.daily\r\n"
    "\r\n"
    "line one\r\n"
    "..starts with dots\r\n"
    "last line\r\n"
)


def sendmail(conf, *args, input=b"", env=None):
    if isinstance(input, str):
        input = input.encode()
    return conf.run("sendmail", *args, input=input, env=env)


def only_message(conf):
    msgs = conf.queued()
    assert len(msgs) == 1, [m.path.name for m in msgs]
    assert conf.leftovers() == []
    return msgs[0]


def assert_nothing_queued(conf):
    assert conf.queued() == []
    assert conf.leftovers() == []


def header_lines(msg):
    return msg.headers().decode().split("\n")


def test_sendmail_t_queues_to_cc_and_bcc_and_removes_bcc(conf):
    r = sendmail(conf, "-t", "-i", input=CRON_MAIL)
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    assert msg.sender == f"<{LOGIN}@{HOSTNAME}>"
    assert msg.rcpts == [
        f"<root@{HOSTNAME}>", "<ops@example.org>", "<dev@example.org>",
        "<auditor@example.net>", "<audit2@example.net>"]
    assert msg.env["via"] == "local"
    assert msg.env["uid"] == str(os.getuid())
    head = msg.headers().decode()
    assert "Bcc" not in head and "auditor" not in head
    assert "Second Secret" not in head
    assert "\nTo: root, Ops <ops@example.org>\n" in head
    assert head.startswith(f"Received: (posthorn queue-inject {msg.id} "
                           f"invoked by uid {os.getuid()});\n\t")
    # LF line ends; the body exactly as written, dots and all.
    assert msg.body.endswith(
        b"\n\nline one\n..starts with dots\nlast line\n")
    assert b"\r" not in msg.body
    # From: was there; Date: and Message-ID: were added.
    lines = header_lines(msg)
    assert sum(l.startswith("From:") for l in lines) == 1
    assert sum(l.startswith("Date: ") for l in lines) == 1
    assert sum(l.startswith("Message-ID: <") for l in lines) == 1
    # Silent on success: cron would mail anything on stderr back.
    assert r.stderr == b"" and r.stdout == b""


def test_sendmail_f_and_argument_recipients(conf):
    r = sendmail(conf, "-f", "a@b.example", "x@y.example", "<z@y.example>",
                 input="Subject: args\n\nhello\n")
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    assert msg.sender == "<a@b.example>"
    assert msg.rcpts == ["<x@y.example>", "<z@y.example>"]
    assert "From: a@b.example" in header_lines(msg)
    assert msg.body.endswith(b"\n\nhello\n")


def test_sendmail_null_sender_and_full_name(conf):
    r = sendmail(conf, "-f", "<>", "-F", "Backup Job", "x@y.example",
                 input="hello\n")
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    assert msg.sender == "<>"
    assert f'From: "Backup Job" <{LOGIN}@{HOSTNAME}>' in header_lines(msg)
    # No header block given: one was made, then the empty line, then
    # the text as body.
    assert msg.body.endswith(b"\n\nhello\n")


def test_a_verdict_in_our_name_is_renamed(conf):
    """A local user's Authentication-Results claiming our authserv-id
    would reach another local mailbox as our verdict (RFC 8601 §5)."""
    r = sendmail(conf, "bob@example.com", input=(
        f"Authentication-Results: {HOSTNAME}; dkim=pass\n"
        f"Authentication-Results: (x) {HOSTNAME}; spf=pass\n"
        "Authentication-Results: other.example; spf=pass\n"
        "Subject: verdicts\n\nhello\n"))
    assert r.returncode == 0, r.stderr
    lines = header_lines(only_message(conf))
    assert f"X-Original-Authentication-Results: {HOSTNAME}; dkim=pass" \
        in lines, lines
    assert f"X-Original-Authentication-Results: (x) {HOSTNAME}; spf=pass" \
        in lines, lines
    assert "Authentication-Results: other.example; spf=pass" in lines
    assert not any(l.startswith("Authentication-Results: " + HOSTNAME)
                   for l in lines), lines


@pytest.mark.parametrize("flag", [None, "-i", "-oi"])
def test_lone_dot_ends_input_unless_i(conf, flag):
    args = ([flag] if flag else []) + ["x@y.example"]
    r = sendmail(conf, *args, input="Subject: dots\n\nbefore\n.\nafter\n")
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    if flag is None:
        assert msg.body.endswith(b"\n\nbefore\n")
    else:
        assert msg.body.endswith(b"\n\nbefore\n.\nafter\n")


def test_ignored_options_are_accepted(conf):
    r = sendmail(conf, "-odi", "-oem", "-B8BITMIME", "-v", "-N", "never",
                 "-R", "hdrs", "-V", "env1", "-bm", "x@y.example",
                 input="Subject: cron style\n\nbody\n")
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    assert "8bitmime" == msg.env.get("body")


def test_bad_recipient_exits_65_and_queues_nothing(conf):
    r = sendmail(conf, "x@y.example", "not an address@",
                 input="Subject: x\n\nbody\n")
    assert r.returncode == 65, r.stderr
    assert_nothing_queued(conf)


def test_no_recipient_exits_64(conf):
    r = sendmail(conf, "-t", input="Subject: nobody\n\nbody\n")
    assert r.returncode == 64, r.stderr
    assert b"no recipients" in r.stderr
    assert_nothing_queued(conf)


def test_message_over_max_size_exits_65(conf):
    conf.write(max_message_size="1K")
    r = sendmail(conf, "x@y.example", input="x" * 4000 + "\n")
    assert r.returncode == 65, r.stderr
    assert_nothing_queued(conf)


def test_header_block_over_256k_exits_65(conf):
    big = "".join(f"X-Filler-{i}: {'y' * 70}\n" for i in range(4000))
    r = sendmail(conf, "x@y.example", input=big + "\nbody\n")
    assert r.returncode == 65, r.stderr
    assert_nothing_queued(conf)


def test_large_body_streams_through_intact(conf):
    body = b"".join(b"%07d %s\n" % (i, b"." * (i % 90)) for i in range(40000))
    r = sendmail(conf, "x@y.example", input=b"Subject: big\n\n" + body)
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    assert msg.body.endswith(b"\n\n" + body)


def test_queue_inject_with_missing_spool_exits_75(conf):
    shutil.rmtree(conf.spool / "new")
    r = conf.run("queue-inject", "-f", "a@b.example", "x@y.example",
                 input=b"Subject: x\n\nbody\n")
    assert r.returncode == 75, r.stderr
    assert conf.leftovers() == []
    r = sendmail(conf, "x@y.example", input="Subject: x\n\nbody\n")
    assert r.returncode == 75, r.stderr
    assert conf.leftovers() == []


def test_queue_inject_exit_codes(conf):
    ok = conf.run("queue-inject", "-v", "-f", "", "--", "x@y.example",
                  input=b"a\r\nb\rc")
    assert ok.returncode == 0, ok.stderr
    msg = only_message(conf)
    assert ok.stdout.decode().strip() == msg.id
    # Received: is two lines; then CRLF made LF, the bare CR kept and
    # the last line completed.
    assert msg.body.split(b"\n", 2)[2] == b"a\nb\rc\n"
    usage = conf.run("queue-inject", "x@y.example", input=b"")
    assert usage.returncode == 64
    bad = conf.run("queue-inject", "-f", "a@\u00e9.example", "x@y.example",
                   input=b"")
    assert bad.returncode == 65
    utf8 = conf.run("queue-inject", "-U", "-f", "a@b.example",
                    "j\u00f6rg@y.example", input=b"x\n")
    assert utf8.returncode == 0, utf8.stderr
    assert any("smtputf8" in m.flags for m in conf.queued())
    (conf.dir / "posthorn.conf").write_text("no_such_key = 1\n")
    broken = conf.run("queue-inject", "-f", "", "x@y.example", input=b"")
    assert broken.returncode == 78


def test_queue_inject_renames_a_verdict_in_our_name(conf):
    """queue-inject, which every local message passes (and which a local
    user may run without sendmail), renames the fields that claim our
    authserv-id: after a CR alone too (smtp-out sends it as a line end),
    and in the header only.  (inject_test puts its reads' boundaries
    inside such a field.)"""
    forged = f"Authentication-Results: {HOSTNAME}; dkim=pass\n"
    filler = "".join(f"X-Filler-{i:05d}: {'y' * 40}\n" for i in range(1400))
    head = (filler + forged + f"X-Hide: x\rAuthentication-Results: "
            f"{HOSTNAME}.; spf=pass\n"
            "Authentication-Results: other.example; spf=pass\n")
    body = forged
    r = conf.run("queue-inject", "-f", "", "--", "bob@example.com",
                 input=(head + "\n" + body).encode())
    assert r.returncode == 0, r.stderr
    msg = only_message(conf)
    text = msg.body.decode()
    header, _, got_body = text.partition("\n\n")
    assert f"\nX-Original-Authentication-Results: {HOSTNAME}; dkim=pass\n" \
        in header, header[-400:]
    assert (f"\nX-Hide: x\rX-Original-Authentication-Results: "
            f"{HOSTNAME}.; spf=pass\n") in header, header[-400:]
    assert "\nAuthentication-Results: other.example; spf=pass" in header
    assert "\nAuthentication-Results: " + HOSTNAME not in header
    assert got_body == body
    assert header.count("X-Filler-") == 1400


# --- failure injection ------------------------------------------------

STRACE = shutil.which("strace")


def traced(conf, inject, name, *args, input=b""):
    """Run a program with one syscall fault injected (strace -f follows
    sendmail's queue-inject child)."""
    cmd = [STRACE, "-f", "-qq", "-o", "/dev/null",
           "-e", f"inject={inject}", prog(name), *args]
    # LeakSanitizer cannot work under ptrace; the other checks can.
    env = conf.env(ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=86")
    return subprocess.run(cmd, input=input, env=env,
                          capture_output=True, timeout=60)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("inject", [
    "fsync:error=EIO",              # the file's fsync
    "fsync:error=EIO:when=2",       # the directory's, after the rename
    "rename,renameat,renameat2,link,linkat:error=ENOSPC",
])
def test_sendmail_commit_failure_leaves_nothing(conf, inject):
    r = traced(conf, inject, "sendmail", "-f", "a@b.example", "x@y.example",
               input=b"Subject: fault\n\nbody\n")
    assert r.returncode == 75, r.stderr
    assert_nothing_queued(conf)
    assert b"event=failed" in r.stderr


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("when", [1, 3])
def test_write_failure_leaves_nothing(conf, when):
    # 300 KB: several 64 KiB writes to the queue file.
    body = b"Subject: big\n\n" + b"0123456789abcdef\n" * 18000
    r = traced(conf, f"write:error=ENOSPC:when={when}", "queue-inject",
               "-f", "a@b.example", "x@y.example", input=body)
    assert r.returncode == 75, r.stderr
    assert_nothing_queued(conf)
    assert b"No space left on device" in r.stderr


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_fault_free_run_under_strace_queues(conf):
    # The harness itself does not break anything: same run, no fault.
    r = traced(conf, "fsync:error=EIO:when=99", "sendmail", "x@y.example",
               input=b"Subject: fine\n\nbody\n")
    assert r.returncode == 0, r.stderr
    only_message(conf)
