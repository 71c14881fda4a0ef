"""The limits an attacker meets at smtp-in and in the logs (issue 15,
items 5 and 8; issue 12, item 6): one port's sessions cannot use up the
processes of another; a session that moves no mail is closed; what a
client writes reaches the log bounded; and mail is refused before the
spool's file system is full."""

import os
import pwd
import re

from conftest import WAIT, Client, Listener, LogProc, free_port, prog


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
