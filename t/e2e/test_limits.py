"""The limits an attacker meets at smtp-in and in the logs (issue 15,
items 5 and 8; issue 12, item 6): one port's sessions cannot use up the
processes of another; a session that moves no mail is closed, and so is
one that asks for cheap replies to RCPT without end; what a client
writes reaches the log bounded; and mail is refused before the spool's
file system is full."""

import os
import pathlib
import pwd
import re

from conftest import (Client, Listener, Server, free_port, parse_kv,
                      prog)


def nobody_processes():
    """How many processes nobody runs now (the count RLIMIT_NPROC is
    checked against)."""
    uid = pwd.getpwnam("nobody").pw_uid
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{d}")
        except FileNotFoundError:
            continue
        n += st.st_uid == uid
    return n


class LimitedListener(Listener):
    """smtp-listen started as install.sh starts it without systemd (as
    root, binding, -u to drop), but under a low soft RLIMIT_NPROC
    inherited from its parent, as a machine's or a container's default
    may be.  The hard limit stays as it is, so that the listener may
    raise the soft one even where root lacks CAP_SYS_RESOURCE (as in
    the containers the tests run in)."""

    def __init__(self, conf, nproc, args=()):
        self.conf = conf
        self.listen = [f"127.0.0.1:{free_port()}"]
        self.port = int(self.listen[0].rsplit(":", 1)[1])
        # prlimit execs the listener in place, with the limit set
        cmd = ["prlimit", f"--nproc={nproc}:", "--",
               prog("smtp-listen"), "-C", str(conf.dir), "-u", "nobody",
               "-d", "5", "-T", *args, "mx", *self.listen]
        self.start(cmd, env=conf.env())
        self.wait_for(r"event=listening")


def test_one_port_cannot_use_up_the_processes_of_another(open_conf):
    """Without systemd the listeners' sessions all run as one user: a
    flood of idle sessions on one port must not leave another port
    unable to start a session (RLIMIT_NPROC is not one shared pool)."""
    flood = 12
    # Room for fewer sessions than the flood: on a listener that keeps
    # the inherited limit, the flood takes it all.
    nproc = nobody_processes() + flood // 2
    a = LimitedListener(open_conf, nproc, args=("-c", "20", "-s", "20",
                                                "-r", "100"))
    b = LimitedListener(open_conf, nproc)
    held, greeted = [], 0
    try:
        for _ in range(flood):
            c = a.connect()
            held.append(c)
            greeted += c.reply()[0] == 220
        c = b.connect()
        code, text = c.reply()
        assert code == 220, (code, text, b.log())
        assert c.cmd("QUIT")[0] == 221
        c.close()
        # and port A's own budget is its -c, not the user's processes
        assert greeted == flood, a.log()
        a.wait_sessions(flood)
    finally:
        for c in held:
            c.close()
        a.stop()
        b.stop()


JUNK_MAX = 20   # smtp-in(8): commands that move no mail, between messages


def test_a_session_of_noops_gets_421_after_the_cap(smtpd):
    """NOOP, RSET, VRFY and the like cannot keep a session (and its
    slot) forever: after the cap, 421 and the connection closes."""
    c = Client(smtpd.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    for i in range(JUNK_MAX):
        assert c.cmd(["NOOP", "RSET", "VRFY bob"][i % 3])[0] in (250, 252)
    code, text = c.cmd("NOOP")
    assert code == 421 and "too many commands" in text[0], (code, text)
    assert c.closed()
    smtpd.wait_for(r"event=disconnect .*reason=junk")


RCPT_MAX = 100             # smtp-in(8): recipients per message
RCPT_OVERSHOOT_MAX = 1000  # smtp-in(8): RCPTs that add no recipient
ERRORS_MAX = 20            # smtp-in(8): errors per session


def test_recipients_that_add_nothing_become_errors_past_a_bound(smtpd):
    """452 past the recipients' limit, and a recipient given again, cost
    a client nothing: 300,000 of them were answered in 0.3 s.  Past
    1000 in a message, each is an error, and the errors' limit closes
    the session."""
    c = Client(smtpd.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    for i in range(RCPT_MAX):
        assert c.cmd(f"RCPT TO:<r{i}@catchall.example>")[0] == 250
    # half past the limit, half again: both kinds count
    for i in range(RCPT_OVERSHOOT_MAX // 2):
        assert c.cmd(f"RCPT TO:<x{i}@catchall.example>")[0] == 452
    for i in range(RCPT_OVERSHOOT_MAX // 2 + ERRORS_MAX - 1):
        assert c.cmd(f"RCPT TO:<r{i % RCPT_MAX}@catchall.example>")[0] == 250
    # the 20th error is answered, then the session closes
    assert c.cmd("RCPT TO:<r0@catchall.example>")[0] == 250
    code, text = c.reply()
    assert code == 421 and "too many errors" in text[0], (code, text)
    assert c.closed()
    smtpd.wait_for(r"event=disconnect .*reason=errors")
    # a new message starts the count again
    c = Client(smtpd.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    for _ in range(2):
        assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
        for i in range(RCPT_OVERSHOOT_MAX + 1):
            assert c.cmd("RCPT TO:<r0@catchall.example>")[0] == 250
        assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221


PEER_VALUE_MAX = 200    # smtp-in(8): a client's value in a log line
REFUSALS_LOGGED = 10    # smtp-in(8): refusal lines a session


def test_refused_long_recipients_write_bounded_log_bytes(smtpd):
    """Twenty refused RCPT TO:<4 KB> wrote 23 KB of log: now a client's
    values are cut at 200 bytes, marked with "...", and after ten
    refusals one line counts the rest."""
    c = Client(smtpd.connect())
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    refused = 0
    for i in range(20):
        code, _ = c.cmd(f"RCPT TO:<{i}{'x' * 3990}@example.com>")
        if code == 421:
            break
        assert code >= 500
        refused += 1
    c.send("QUIT\r\n")
    assert c.closed()
    smtpd.wait_for(r"event=disconnect")
    lines = [l for l in smtpd.log().splitlines() if "smtp-in[" in l]
    ours = [l for l in lines if "event=refused " in l]
    assert len(ours) == REFUSALS_LOGGED, "\n".join(ours)
    for l in ours:
        kv = parse_kv(l)
        # the raw value as written, quotes and escapes included
        raw = re.search(r' arg=("(?:[^"\\]|\\.)*"|\S*)', l).group(1)
        assert len(raw) <= PEER_VALUE_MAX, raw
        assert kv["arg"].endswith("..."), kv["arg"]
    [summary] = smtpd.events("refused-unlogged")
    assert int(summary["count"]) == refused - REFUSALS_LOGGED
    total = sum(len(l) + 1 for l in lines)
    assert total < 8192, f"{total} bytes of log for one session"


def spool_server(conf, size, minfree):
    """smtp-in whose spool is a tmpfs of `size` in a mount namespace of
    its own (the test's; nothing outside sees it), with queue_minfree."""
    conf.write(max_message_size="50M", queue_minfree=minfree)
    mount = ('mount -t tmpfs -o size="$1" posthorn-test "$0" && '
             'mkdir "$0/tmp" "$0/new" "$0/state" && shift && exec "$@"')
    return Server(conf, prefix=["unshare", "-m", "--propagation",
                                "private", "sh", "-c", mount,
                                str(conf.spool), size])


def in_namespace(srv, path):
    """path as the server's mount namespace sees it."""
    return pathlib.Path(f"/proc/{srv.proc.pid}/root{path}")


def test_mail_is_refused_below_the_free_space_floor(conf):
    """queue_minfree: MAIL gets 452 4.3.1 when the spool's file system
    has less free space than the floor (plus SIZE=), and a message that
    took it below the floor is refused at the end of its data and not
    queued, so that a client cannot fill the disk."""
    srv = spool_server(conf, "4m", "2M")
    try:
        c = Client(srv.connect())
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<bob@remote.example> SIZE=1000")[0] == 250
        assert c.cmd("RSET")[0] == 250
        code, text = c.cmd("MAIL FROM:<bob@remote.example> SIZE=3000000")
        assert (code, text[0][:5]) == (452, "4.3.1"), (code, text)
        # no SIZE=: found out once the data is written
        assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        line = "x" * 998 + "\r\n"
        c.send("Subject: big\r\n\r\n" + line * 2600)
        code, text = c.cmd(".")
        assert (code, text[0][:5]) == (452, "4.3.1"), (code, text)
        spool = in_namespace(srv, conf.spool)
        assert list((spool / "new").iterdir()) == []
        assert list((spool / "tmp").iterdir()) == []
        # the space is back: a small one goes through
        assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: small\r\n\r\nhi\r\n.")[0] == 250
        assert len(list((spool / "new").iterdir())) == 1
        assert c.cmd("QUIT")[0] == 221
    finally:
        srv.stop()
    srv.check_children()


def test_floor_above_the_free_space_refuses_mail(conf):
    """The floor is checked against the real spool too: set above what
    any disk here has free, every MAIL gets 452 4.3.1."""
    conf.write(max_message_size="50M", queue_minfree="1024G")
    srv = Server(conf)
    try:
        c = Client(srv.connect())
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        code, text = c.cmd("MAIL FROM:<bob@remote.example>")
        assert code == 452 and text[0].startswith("4.3.1"), (code, text)
        assert c.cmd("QUIT")[0] == 221
    finally:
        srv.stop()
    srv.check_children()


def test_floor_above_the_free_space_refuses_local_injection(conf):
    """queue-inject (sendmail) keeps the same floor: a local user cannot
    fill the spool's disk either.  Nothing is queued, nothing is left in
    tmp/, and the caller hears EX_TEMPFAIL with the reason."""
    conf.write(max_message_size="50M", queue_minfree="1024G")
    r = conf.run("queue-inject", "-f", "root@example.com",
                 "alice@example.com", input=b"Subject: x\n\nbody\n")
    assert r.returncode == 75, r
    assert b"insufficient system storage" in r.stderr, r.stderr
    assert conf.queued() == [] and conf.leftovers() == []
