"""A private Dovecot for the tests that need a real one (test_lmtp.py,
test_dovecot_auth.py): "dovecot -F" on a configuration of its own under a
directory of the test's (its base_dir, state_dir and log there, no SSL),
started and stopped by the test.  The system's /etc/dovecot and any
Dovecot it runs are never touched.

A subclass gives the rest of the configuration and says when the
service it needs answers: the socket appears a moment before the
process behind it can, so its existence is not enough."""

import os
import shutil
import signal
import socket
import subprocess
import time

from conftest import WAIT

DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin")


class Dovecot:
    """The private instance: root is made (mode 0755, so that a program
    running as nobody can reach its sockets), body is the configuration
    after the common part, sock the socket whose answer means ready."""

    def __init__(self, root, name, body, sock):
        self.root = root
        self.root.mkdir(mode=0o755)
        self.run = root / "run"
        self.sock = sock if sock.is_absolute() else self.run / sock
        self.conf = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self.conf.write_text(f"""\
base_dir = {self.run}
state_dir = {root}/state
log_path = {self.log}
instance_name = posthorn-{name}-{os.getpid()}-{id(self)}
ssl = no
""" + body)
        self.proc = None

    def answers(self, s):
        """True when the service on the connected socket s answers."""
        raise NotImplementedError

    def start(self):
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + WAIT
        while True:
            assert self.proc.poll() is None, (
                "dovecot exited:\n" + self.logtext())
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(WAIT)
                    s.connect(str(self.sock))
                    if self.answers(s):
                        return
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            assert time.monotonic() < deadline, (
                f"dovecot's {self.sock.name} never answered:\n"
                + self.logtext())
            time.sleep(0.05)  # the socket has no event to wait on

    def stop(self):
        """Its master and every process of its group, then the sockets
        are gone or dead: a client now meets no Dovecot."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=WAIT)
            # its children leave with the master; any left are ours
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def logtext(self):
        return self.log.read_text() if self.log.exists() else ""
