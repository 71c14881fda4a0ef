"""The installed layout: `make install` splits the programs between
PREFIX/sbin and PREFIX/bin (dkimsign, a user's tool), and a program that
starts another must find it there as well as in a build directory, where
they all sit together.  queue-run, in sbin, signing with dkimsign, in bin,
is the case that once failed.  And the owners and modes that install.sh
gives queue-inject and the queue (issue 15, item 1): below."""

import grp
import os
import pathlib
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import types

import pytest

from conftest import (BIN, ROOT, SAN, SAN_ENV, WAIT, Client, Conf,
                      QueuedMessage, QueueRun)


def test_installed_queue_run_finds_dkimsign_in_bin(conf, tmp_path):
    stage = tmp_path / "stage"
    r = subprocess.run(
        ["make", "-s", "install", f"DESTDIR={stage}", "PREFIX=/usr/local",
         f"BUILD={BIN.parent}", f"SAN={'1' if SAN else ''}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    prefix = stage / "usr" / "local"
    assert (prefix / "bin" / "dkimsign").exists()
    assert not (prefix / "sbin" / "dkimsign").exists()
    for p in ("queue-run", "smtp-in", "smtp-tlsd", "smtp-auth", "smtp-out",
              "aliases", "mailq", "queue-inject", "sendmail", "mailuser",
              "posthorn-config"):
        assert os.access(prefix / "sbin" / p, os.X_OK), p
    assert conf.run("dkimsign", "-g", "example.com").returncode == 0
    qr = QueueRun(conf, exe=str(prefix / "sbin" / "queue-run"))
    try:
        r = conf.run("sendmail", "-t", "-f", "alice@example.com", input=(
            b"From: alice@example.com\nTo: bob@example.com\n"
            b"Subject: installed\n\nsigned\n"))
        assert r.returncode == 0, r.stderr
        qr.wait_for(r"event=signed ")
        qr.delivered()
    finally:
        qr.stop()
    [data] = conf.maildir("example.com", "bob")
    assert data.count(b"\nDKIM-Signature:") == 2, data[:600]


# --- queue-inject: set-id without a way from posthorn to root -------------
#
# install.sh installs with "make install" and then gives queue-inject and
# the queue their owners and modes with queue-run/install-queue.sh.  The
# tests below do the same into a DESTDIR, with stand-in numeric ids for
# posthorn, its group and posthorn-drop (ids no one has here, so nothing
# of the machine's users and groups changes), and check what issue 15
# asks: nothing that grants privilege can be rewritten by posthorn, and
# the setgid injector still queues mail that its caller can never open
# again and that posthorn's queue-run delivers.

NOBODY = 65534


def unused_ids(count):
    """count numeric ids that are neither a user nor a group here; below
    65536, which a container's user namespace maps."""
    out, n = [], 40000 + os.getpid() % 2000 * 8
    while len(out) < count:
        n += 1
        try:
            pwd.getpwuid(n)
            continue
        except KeyError:
            pass
        try:
            grp.getgrgid(n)
            continue
        except KeyError:
            pass
        out.append(n)
    return out


def writable_by(st, uid, gids):
    """Could uid (with gids) change this file or directory?  Its owner
    always can (chmod); otherwise the one class of bits that applies."""
    if st.st_uid == uid:
        return True
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


@pytest.fixture
def installed():
    """make install into a DESTDIR that others may traverse (the
    injector runs as nobody), then install-queue.sh with stand-in ids."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="posthorn-install-"))
    try:
        os.chmod(base, 0o755)
        stage = base / "stage"
        r = subprocess.run(
            ["make", "-s", "install", f"DESTDIR={stage}",
             "PREFIX=/usr/local", f"BUILD={BIN.parent}",
             f"SAN={'1' if SAN else ''}"],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        uid, gid, drop = unused_ids(3)
        inst = types.SimpleNamespace(
            base=base, stage=stage, uid=uid, gid=gid, drop=drop,
            sbin=stage / "usr" / "local" / "sbin",
            spool=stage / "var" / "spool" / "posthorn")
        install_queue(inst)
        yield inst
    finally:
        shutil.rmtree(base)


def test_nothing_that_grants_privilege_is_posthorns_to_rewrite(installed):
    stage = installed.stage
    gids = {installed.gid, installed.drop}
    granting = []
    for d, dirs, files in os.walk(stage):
        for f in files:
            p = pathlib.Path(d) / f
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and \
                    st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                granting.append(p)
    # The injector must grant something, or this test proves nothing.
    inject = installed.sbin / "queue-inject"
    assert granting == [inject], granting
    for p in granting:
        for q in [p, *p.parents]:
            st = os.lstat(q)
            assert not writable_by(st, installed.uid, gids), (
                f"{q} ({st.st_uid}:{st.st_gid} {oct(st.st_mode)}) "
                f"can be changed by posthorn, and so can {p}")
            if q == stage:
                break
    # What it grants: the group posthorn-drop, and nothing of root's.
    st = os.stat(inject)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, installed.drop, 0o2755), (st.st_uid, st.st_gid, oct(st.st_mode))


def install_queue(inst):
    r = subprocess.run(
        ["sh", str(ROOT / "queue-run" / "install-queue.sh"),
         "-D", str(inst.stage), "-u", str(inst.uid), "-G", str(inst.gid),
         "-g", str(inst.drop)],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_rerun_puts_an_old_install_right(installed):
    """What install.sh made before: queue-inject setuid posthorn, the
    queue posthorn:posthorn 0750.  Running it again (install-queue.sh)
    leaves the modes of posthorn-queue(5)."""
    inst = installed
    inject = inst.sbin / "queue-inject"
    os.chown(inject, inst.uid, inst.gid)
    os.chmod(inject, 0o4755)
    for d in (inst.spool, *(inst.spool / s for s in ("tmp", "new", "state"))):
        os.chown(d, inst.uid, inst.gid)
        os.chmod(d, 0o750)
    install_queue(inst)
    want = {
        inject: (0, inst.drop, 0o2755),
        inst.spool: (inst.uid, inst.drop, 0o710),
        inst.spool / "tmp": (inst.uid, inst.drop, 0o3730),
        inst.spool / "new": (inst.uid, inst.drop, 0o1770),
        inst.spool / "state": (inst.uid, inst.gid, 0o750),
        inst.spool / "auth": (inst.uid, inst.gid, 0o700),
    }
    for p, (uid, gid, mode) in want.items():
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))) == \
            (uid, gid, oct(mode)), p


def test_a_rerun_follows_no_link_posthorn_left_in_the_spool(installed,
                                                           tmp_path):
    """posthorn owns the spool: a tmp/ it replaced by a link to a
    directory of root's must not make a re-run hand that directory to
    posthorn."""
    inst = installed
    victim = tmp_path / "victim"
    victim.mkdir()
    os.chmod(victim, 0o755)
    shutil.rmtree(inst.spool / "tmp")
    (inst.spool / "tmp").symlink_to(victim)
    r = subprocess.run(
        ["sh", str(ROOT / "queue-run" / "install-queue.sh"),
         "-D", str(inst.stage), "-u", str(inst.uid), "-G", str(inst.gid),
         "-g", str(inst.drop)],
        capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "symbolic link" in r.stderr, r.stderr
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, 0, 0o755)


class Namespace:
    """A private mount namespace whose /etc has a posthorn/ of the test's
    (an overlay over the real /etc, gone with the namespace): a set-id
    queue-inject reads /etc/posthorn whatever its caller says."""

    def __init__(self, base, confdir):
        upper, work = base / "etc-upper", base / "etc-work"
        upper.mkdir()
        work.mkdir()
        (upper / "posthorn").symlink_to(confdir)
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             "mount -t overlay overlay -o lowerdir=/etc,upperdir=\"$1\","
             "workdir=\"$2\" /etc && echo ready && exec sleep infinity",
             "ns", str(upper), str(work)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        ready = self.proc.stdout.readline()
        assert ready == b"ready\n", ready

    def prefix(self, uid=None, gid=None, groups=()):
        p = ["nsenter", "-t", str(self.proc.pid), "-m", "--"]
        if uid is not None:
            p += ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
            p += [f"--groups={','.join(map(str, groups))}"] if groups \
                else ["--clear-groups"]
        return p

    def run(self, cmd, uid=None, gid=None, groups=(), input=None):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **SAN_ENV}
        return subprocess.run(self.prefix(uid, gid, groups) + cmd,
                              input=input, env=env, capture_output=True,
                              timeout=60)

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=WAIT)


def committed(spool):
    return sorted((spool / "new").iterdir())


def test_setgid_injector_queues_what_its_caller_cannot_open(installed):
    """nobody and root (cron) inject through the installed sendmail,
    smtp-in and queue-run run as the posthorn stand-in, in a spool laid
    out by install-queue.sh."""
    inst = installed
    spool = inst.spool
    conf = Conf(inst.base / "conf")
    conf.write(spool=str(spool), maildirs=str(conf.mail))
    os.chown(conf.mail, inst.uid, inst.gid)
    ns = Namespace(inst.base, conf.dir)
    try:
        sendmail = str(inst.sbin / "sendmail")
        msg = b"Subject: from nobody\n\nhello\n"
        r = ns.run([sendmail, "-f", "nobody@example.com",
                    "bob@example.com"], uid=NOBODY, gid=NOBODY, input=msg)
        assert r.returncode == 0, r.stderr
        [path] = committed(spool)
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (NOBODY, inst.drop, 0o640), (st.st_uid, st.st_gid,
                                         oct(st.st_mode))
        assert QueuedMessage(path).env["uid"] == str(NOBODY)
        # The file is the user nobody's, yet that user can neither read
        # it, append to it nor chmod it, nor list the spool.
        for cmd in (["cat", str(path)],
                    ["sh", "-c", 'echo x >>"$0"', str(path)],
                    ["chmod", "666", str(path)],
                    ["ls", str(spool)]):
            r = ns.run(cmd, uid=NOBODY, gid=NOBODY)
            assert r.returncode != 0 and \
                b"Permission denied" in r.stderr, (cmd, r)

        # root (cron): a file of root's, group posthorn-drop.
        r = ns.run([sendmail, "-f", "root@example.com", "bob@example.com"],
                   input=b"Subject: from cron\n\nhello\n")
        assert r.returncode == 0, r.stderr
        [root_file] = set(committed(spool)) - {path}
        st = os.stat(root_file)
        assert (st.st_uid, st.st_gid) == (0, inst.drop)
        assert QueuedMessage(root_file).env["uid"] == "0"

        # smtp-in as posthorn (without posthorn-drop: it needs none).
        a, b = socket.socketpair()
        with a, b:
            env = {"REMOTE_ADDR": "127.0.0.1",
                   "POSTHORN_CONF": str(conf.dir), **SAN_ENV}
            p = subprocess.Popen(
                ns.prefix(inst.uid, inst.gid) +
                [str(inst.sbin / "smtp-in"), "mx"],
                stdin=b, stdout=b, env=env)
            b.close()
            c = Client(a)
            a.settimeout(WAIT)
            assert c.reply()[0] == 220
            assert c.cmd("EHLO client.example")[0] == 250
            assert c.cmd("MAIL FROM:<carol@remote.example>")[0] == 250
            assert c.cmd("RCPT TO:<bob@example.com>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            assert c.cmd("Subject: over smtp\r\n\r\nhello\r\n.")[0] == 250
            assert c.cmd("QUIT")[0] == 221
            assert p.wait(timeout=WAIT) == 0
        files = committed(spool)
        assert len(files) == 3, files
        for f in files:
            # setgid tmp/: the group is posthorn-drop whoever wrote it.
            assert os.stat(f).st_gid == inst.drop, f

        # queue-run as posthorn, a member of posthorn-drop: it reads all
        # three, delivers them and removes them from the queue.
        qr = QueueRun(conf, exe=str(inst.sbin / "queue-run"),
                      prefix=ns.prefix(inst.uid, inst.gid,
                                       (inst.gid, inst.drop)),
                      env=conf.env(PATH="/usr/bin:/bin"))
        try:
            qr.delivered(3)
            qr.wait_for(r"event=removed ", 3)
        finally:
            qr.stop()
        got = conf.maildir("example.com", "bob")
        assert sorted(m.split(b"Subject: ")[1].split(b"\n")[0]
                      for m in got) == \
            [b"from cron", b"from nobody", b"over smtp"]
        assert committed(spool) == []
    finally:
        ns.close()


def test_root_is_not_steered_by_a_link_in_the_spool(installed):
    """posthorn owns the spool: a tmp/ or new/ it swapped for a link to
    a directory of root's must not receive what root's cron mails."""
    inst = installed
    spool = inst.spool
    conf = Conf(inst.base / "conf")
    conf.write(spool=str(spool))
    rootonly = inst.base / "rootonly"
    rootonly.mkdir(mode=0o700)
    ns = Namespace(inst.base, conf.dir)
    try:
        for sub in ("tmp", "new"):
            real = spool / f"{sub}.real"
            (spool / sub).rename(real)
            (spool / sub).symlink_to(rootonly)
            r = ns.run([str(inst.sbin / "sendmail"), "-f",
                        "root@example.com", "bob@example.com"],
                       input=b"Subject: cron\n\nhello\n")
            assert r.returncode == 75, r
            assert list(rootonly.iterdir()) == []
            (spool / sub).unlink()
            real.rename(spool / sub)
    finally:
        ns.close()
