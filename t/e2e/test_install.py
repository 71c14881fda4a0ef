"""The installed layout: `make install` splits the programs between
PREFIX/sbin and PREFIX/bin (dkimsign, a user's tool), and a program that
starts another must find it there as well as in a build directory, where
they all sit together.  queue-run, in sbin, signing with dkimsign, in bin,
is the case that once failed.  And the owners and modes that install.sh
gives queue-inject and the queue (issue 15, item 1): below."""

import base64
import grp
import os
import pathlib
import pwd
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import types

import pytest

from conftest import (BIN, ROOT, SAN, SAN_ENV, WAIT, Client, Conf, LogProc,
                      Peer, QueuedMessage, QueueRun, children, cmdline,
                      free_port, inject, parse_kv)
from test_dkimsign import alg, parse_records, signatures
from test_signing import BOTH, verify
from test_srs import mail_srs_forward


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
    for p in ("queue-run", "smtp-in", "smtp-tlsd", "smtp-keeper",
              "smtp-auth", "smtp-out",
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
        uid, gid, drop, run, dkim, tls, srs, auth = unused_ids(8)
        inst = types.SimpleNamespace(
            base=base, stage=stage, uid=uid, gid=gid, drop=drop, run=run,
            dkim=dkim, tls=tls, srs=srs, auth=auth,
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
    # The injector and queue-runas must grant something, or this test
    # proves nothing.
    inject = installed.sbin / "queue-inject"
    runas = installed.sbin / "queue-runas"
    assert sorted(granting) == [inject, runas], granting
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
    # queue-runas: root, but only for posthorn-run, which no user is a
    # member of and only queue-run is given; not even posthorn's group
    # may run it.
    st = os.stat(runas)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, installed.run, 0o4750), (st.st_uid, st.st_gid, oct(st.st_mode))


def install_queue(inst):
    r = subprocess.run(
        ["sh", str(ROOT / "queue-run" / "install-queue.sh"),
         "-D", str(inst.stage), "-u", str(inst.uid), "-G", str(inst.gid),
         "-g", str(inst.drop), "-r", str(inst.run)],
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
    runas = inst.sbin / "queue-runas"
    os.chown(runas, inst.uid, inst.gid)
    os.chmod(runas, 0o755)
    install_queue(inst)
    want = {
        inject: (0, inst.drop, 0o2755),
        runas: (0, inst.run, 0o4750),
        inst.spool: (inst.uid, inst.drop, 0o710),
        inst.spool / "tmp": (inst.uid, inst.drop, 0o3730),
        inst.spool / "new": (inst.uid, inst.drop, 0o1770),
        inst.spool / "state": (inst.uid, inst.gid, 0o750),
        inst.spool / "auth": (inst.uid, inst.gid, 0o700),
        inst.spool / "metrics": (inst.uid, inst.gid, 0o755),
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
         "-g", str(inst.drop), "-r", str(inst.run)],
        capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "symbolic link" in r.stderr, r.stderr
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, 0, 0o755)


class Namespace:
    """A private mount namespace whose /etc has a posthorn/ of the test's
    (an overlay over the real /etc, gone with the namespace): a set-id
    queue-inject reads /etc/posthorn whatever its caller says."""

    def __init__(self, base, confdir, files=None):
        upper, work = base / "etc-upper", base / "etc-work"
        upper.mkdir()
        work.mkdir()
        (upper / "posthorn").symlink_to(confdir)
        for name, text in (files or {}).items():
            (upper / name).write_text(text)
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


# --- queue-runas: pipe aliases and MDAs as nobody (issue 15, item 2) ------
#
# A configuration as install-conf.sh writes it (its DKIM keys, TLS key,
# users file and SRS secret, group the posthorn stand-in), the queue and
# queue-runas as install-queue.sh leaves them, and queue-run as the
# posthorn stand-in with the groups install.sh gives it.  A pipe alias
# reports who it runs as and tries every secret and the queue.

PROBE = """#!/bin/sh
out={out}
cat > $out/message
{{ id -u; id -g; id -G; }} > $out/id
while read -r p; do
    if [ -d "$p" ]; then
        ls "$p" >/dev/null 2>&1 && echo "listed $p" || echo "denied $p"
    elif cat "$p" >/dev/null 2>&1; then
        echo "read $p"
    else
        echo "denied $p"
    fi
done < {targets} > $out/report
"""


@pytest.fixture
def delivering(installed):
    inst = installed
    inst.conf = inst.base / "etc"
    r = install_conf(inst.base, inst.conf, "-H", "mx.example.org",
                     "example.org", group=inst.gid, dkim=inst.dkim,
                     tls=inst.tls, srs=inst.srs, auth=inst.auth)
    assert r.returncode == 0, r.stdout + r.stderr
    inst.mail = inst.base / "mail"
    inst.mail.mkdir()
    os.chown(inst.mail, inst.uid, inst.gid)
    with open(inst.conf / "posthorn.conf", "a") as f:
        f.write(f"spool = {inst.spool}\nmaildirs = {inst.mail}\n")
    inst.out = inst.base / "out"
    inst.out.mkdir()
    inst.out.chmod(0o777)
    inst.targets = inst.base / "targets"
    probe = inst.base / "probe"
    probe.write_text(PROBE.format(out=inst.out, targets=inst.targets))
    probe.chmod(0o755)
    with open(inst.conf / "domains" / "example.org" / "aliases", "a") as f:
        f.write(f"probe: | {probe}\n")
    return inst


def queue_file(inst, qid, rcpt, body=b"Subject: probe\n\nsecret plans\n"):
    """A message as smtp-in (the posthorn stand-in) commits it."""
    tmp = inst.spool / "tmp" / qid
    tmp.write_bytes(
        f"posthorn-queue 1\nid {qid}\ntime {int(time.time())}\n"
        f"from <bob@remote.example>\nrcpt <{rcpt}>\nvia mx\n\n"
        .encode() + body)
    os.chown(tmp, inst.uid, inst.drop)
    os.chmod(tmp, 0o640)
    path = inst.spool / "new" / qid
    os.rename(tmp, path)
    return path


def start_queue_run(inst):
    """queue-run as install.sh starts it without systemd: the posthorn
    stand-in with its group, posthorn-drop, posthorn-run, posthorn-dkim,
    posthorn-srs and posthorn-auth."""
    groups = ",".join(map(str, (inst.gid, inst.drop, inst.run, inst.dkim,
                                inst.srs, inst.auth)))
    env = {"POSTHORN_CONF": str(inst.conf), "PATH": "/usr/bin:/bin",
           **SAN_ENV}
    return QueueRun(types.SimpleNamespace(), exe=str(inst.sbin / "queue-run"),
                    prefix=["setpriv", f"--reuid={inst.uid}",
                            f"--regid={inst.gid}", f"--groups={groups}"],
                    env=env)


def test_a_pipe_runs_as_nobody_and_reads_no_secret_nor_the_queue(
        delivering):
    inst = delivering
    dom = inst.conf / "domains" / "example.org"
    keys = sorted((dom / "dkim").iterdir())
    assert len(keys) == 2, keys
    other = queue_file(inst, "0000000000000002", "bob@example.org")
    mine = queue_file(inst, "0000000000000001", "probe@example.org")
    secrets = [*keys, inst.conf / "certs" / "privkey.pem", dom / "users",
               inst.conf / "srs.secret", mine, other,
               inst.spool / "state", inst.spool / "new", inst.spool]
    for p in secrets:
        assert p.exists(), p
    inst.targets.write_text("".join(f"{p}\n" for p in secrets))
    qr = start_queue_run(inst)
    try:
        [line] = qr.wait_for(r"event=delivery id=0000000000000001 .*"
                             r"status=sent")
        assert parse_kv(line)["via"] == "pipe"
    finally:
        qr.stop()
    # It ran, and got the message on its standard input.
    assert (inst.out / "message").read_bytes().endswith(
        b"Subject: probe\n\nsecret plans\n")
    nobody = pwd.getpwnam("nobody")
    uid, gid, groups = (inst.out / "id").read_text().splitlines()
    assert (int(uid), int(gid)) == (nobody.pw_uid, nobody.pw_gid)
    assert groups.split() == [str(nobody.pw_gid)]
    report = (inst.out / "report").read_text().splitlines()
    assert report == [f"denied {p}" for p in secrets], report


def test_the_dkim_keys_are_the_signers_alone(delivering):
    """root:posthorn-dkim 0640: queue-run, given that group, signs; the
    posthorn user with the groups smtp-listen and its sessions take from
    it (posthorn, posthorn-drop) reads no key, nor lists them."""
    inst = delivering
    kd = inst.conf / "domains" / "example.org" / "dkim"
    keys = sorted(kd.iterdir())
    assert len(keys) == 2, keys
    for p, mode in [(kd, 0o750), *((k, 0o640) for k in keys)]:
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, inst.dkim, mode), (p, st.st_uid, st.st_gid, oct(st.st_mode))
    session = ["setpriv", f"--reuid={inst.uid}", f"--regid={inst.gid}",
               f"--groups={inst.gid},{inst.drop}"]
    for cmd in (["cat", *map(str, keys)], ["ls", str(kd)]):
        r = subprocess.run(session + cmd, capture_output=True, timeout=60)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, \
            (cmd, r)
    # sendmail run by root (cron), for a local mailbox: signed with
    # both keys by queue-run's dkimsign.
    tmp = inst.spool / "tmp" / "0000000000000003"
    tmp.write_bytes(
        b"posthorn-queue 1\nid 0000000000000003\ntime %d\n"
        b"from <root@example.org>\nrcpt <postmaster@example.org>\n"
        b"via local\nuid 0\n\n"
        b"From: root@example.org\nSubject: cron\n\nsigned\n"
        % int(time.time()))
    os.chown(tmp, 0, inst.drop)
    os.chmod(tmp, 0o640)
    os.rename(tmp, inst.spool / "new" / "0000000000000003")
    qr = start_queue_run(inst)
    try:
        qr.wait_for(r"event=signed ")
        qr.delivered()
    finally:
        qr.stop()
    [box] = list((inst.mail / "example.org" / "postmaster" / "new")
                 .iterdir())
    assert box.read_bytes().count(b"\nDKIM-Signature:") == 2


def test_smtp_out_has_none_of_queue_runs_secret_groups(delivering):
    """queue-run with the groups install.sh gives it starts smtp-out
    through queue-runas -G: the process that faces the network keeps
    the queue's group (a message that sendmail wrote is its user's,
    group posthorn-drop) and none of the secrets' groups, cannot open a
    DKIM key or srs.secret, and delivers (queue-run(8))."""
    inst = delivering
    keys = sorted((inst.conf / "domains" / "example.org" / "dkim")
                  .iterdir())
    secret = inst.conf / "srs.secret"
    peer = Peer()
    try:
        (inst.conf / "routes").write_text(
            f"* 127.0.0.1:{peer.port} tls=none\n")
        with open(inst.conf / "posthorn.conf", "a") as f:
            # smtp-out stays, idle, long enough to be looked at.
            f.write("smtp_reuse_idle = 60\n")
        path = queue_file(inst, "0000000000000005", "carol@remote.example",
                          body=b"Subject: out\n\nfrom nobody\n")
        os.chown(path, NOBODY, inst.drop)
        qr = start_queue_run(inst)
        try:
            qr.delivered()
            [(_, rcpts, data)] = peer.wait()
            assert rcpts == ["carol@remote.example"]
            assert b"from nobody" in data
            [out] = [p for p in children(qr.proc.pid)
                     if b"smtp-out" in cmdline(p)]
            st = proc_status(out)
            assert st["Uid"] == [str(inst.uid)] * 4, st
            assert st["Gid"] == [str(inst.gid)] * 4, st
            assert st["Groups"] == [str(inst.drop)], st
            assert os.path.basename(cmdline(out).split(b"\0")[0]) == \
                b"smtp-out", cmdline(out)
            for p in (*keys, secret):
                r = subprocess.run(
                    ["setpriv", f"--reuid={inst.uid}",
                     f"--regid={inst.gid}", f"--groups={inst.drop}",
                     "cat", str(p)], capture_output=True, timeout=60)
                assert r.returncode != 0 and \
                    b"Permission denied" in r.stderr, (p, r)
            assert "smtp-out-groups" not in qr.log()
        finally:
            qr.stop()
    finally:
        peer.stop()


def test_without_a_set_uid_queue_runas_smtp_out_is_started_as_before(
        conf):
    """An unprivileged build (queue-runas not set-uid): queue-run with a
    group to drop says so once and starts smtp-out itself, which
    delivers."""
    peer = Peer()
    try:
        conf.write(smtp_reuse_idle="0")
        (conf.dir / "routes").write_text(
            f"* 127.0.0.1:{peer.port} tls=none\n")
        for i in range(2):
            inject(conf, "bob@example.com", f"carol{i}@remote.example")
        extra = unused_ids(1)[0]
        qr = QueueRun(conf, prefix=["setpriv", f"--groups=0,{extra}"])
        try:
            qr.delivered(2)
            assert len(peer.wait(2)) == 2
            assert len(re.findall(r"event=warning op=smtp-out-groups ",
                                  qr.log())) == 1, qr.log()
        finally:
            qr.stop()
    finally:
        peer.stop()


def test_smtp_ins_process_cannot_read_the_dkim_keys(delivering):
    """smtp-listen as install.sh starts it without systemd (binding as
    root, then -u posthorn), and one session: the smtp-in process has
    no supplementary group, so neither posthorn-dkim nor posthorn-run,
    and with its very ids the keys cannot be read."""
    inst = delivering
    name = "phstandin"
    passwd = pathlib.Path("/etc/passwd").read_text() + \
        f"{name}:x:{inst.uid}:{inst.gid}::/nonexistent:/usr/sbin/nologin\n"
    group = pathlib.Path("/etc/group").read_text() + \
        f"{name}:x:{inst.gid}:\nph-drop:x:{inst.drop}:{name}\n" \
        f"ph-run:x:{inst.run}:\nph-dkim:x:{inst.dkim}:\n"
    ns = Namespace(inst.base, inst.conf, files={"passwd": passwd,
                                                "group": group})
    port = free_port()
    listener = LogProc()
    try:
        listener.start(ns.prefix() + [
            str(inst.sbin / "smtp-listen"), "-C", str(inst.conf), "-u",
            name, "-d", "5", "mx", f"127.0.0.1:{port}"],
            env={"PATH": "/usr/bin:/bin", **SAN_ENV})
        listener.wait_for(r"event=listening")
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=WAIT) as sock:
            c = Client(sock)
            assert c.reply()[0] == 220
            pids = [p for p in children(listener.proc.pid)
                    if b"smtp-in" in cmdline(p)]
            assert len(pids) == 1, pids
            status = pathlib.Path(f"/proc/{pids[0]}/status").read_text()
            ids = {k: v.split() for k, v in
                   (l.split(":", 1) for l in status.splitlines())
                   if k in ("Uid", "Gid", "Groups")}
            assert ids["Uid"] == [str(inst.uid)] * 4, ids
            assert ids["Gid"] == [str(inst.gid)] * 4, ids
            # No supplementary group at all (smtp-listen keeps
            # CAP_SETGID to drop them): not even posthorn-drop.
            assert ids["Groups"] == [], ids
            c.cmd("QUIT")
        keys = sorted((inst.conf / "domains" / "example.org" / "dkim")
                      .iterdir())
        r = subprocess.run(
            ["setpriv", f"--reuid={inst.uid}", f"--regid={inst.gid}",
             "--clear-groups", "cat",
             *map(str, keys)], capture_output=True, timeout=60)
        assert r.returncode != 0 and b"Permission denied" in r.stderr, r
    finally:
        if listener.proc.poll() is None:
            listener.proc.terminate()
            listener.proc.wait(timeout=WAIT)
        ns.close()


# --- the secrets of the listener's residents (issue 15, items 2 and 9) ---
#
# smtp-listen started as root with -u, as install.sh starts it without
# systemd: it keeps CAP_SETGID alone, gives its sessions no group and no
# capability, its TLS zygote posthorn-tls and its keeper posthorn-srs and
# posthorn-auth.  The sessions cannot open the TLS key, a users file or
# srs.secret, and STARTTLS, AUTH, a user's RCPT and an SRS bounce work
# all the same, through the residents.

def proc_status(pid):
    return {k: v.split() for k, v in
            (line.split(":", 1) for line in
             pathlib.Path(f"/proc/{pid}/status").read_text().splitlines())}


NO_CAPS = ["0000000000000000"]


def test_secrets_are_given_by_group_to_the_residents_alone(delivering):
    inst = delivering
    dom = inst.conf / "domains" / "example.org"
    key = inst.conf / "certs" / "privkey.pem"
    users, secret = dom / "users", inst.conf / "srs.secret"
    for p, gid in ((key, inst.tls), (users, inst.auth),
                   (secret, inst.srs)):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, gid, 0o640), (p, st.st_uid, st.st_gid, oct(st.st_mode))
    # A user with a password: mailuser, run by root, keeps the file's
    # owner, group and mode.
    r = subprocess.run([str(inst.sbin / "mailuser"), "add",
                        "alice@example.org"], input=b"alices password\n",
                       env={"POSTHORN_CONF": str(inst.conf), **SAN_ENV},
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    st = os.stat(users)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (0, inst.auth, 0o640)
    # No exec per SRS recipient: without aliases(8) beside smtp-in, an
    # SRS check that exec'd it could only fail.
    (inst.sbin / "aliases").unlink()
    srs_addr = mail_srs_forward("grace@remote.example", "example.org",
                                secret=secret.read_text().splitlines()[0])

    name = "phstandin"
    passwd = pathlib.Path("/etc/passwd").read_text() + \
        f"{name}:x:{inst.uid}:{inst.gid}::/nonexistent:/usr/sbin/nologin\n"
    group = pathlib.Path("/etc/group").read_text() + \
        f"{name}:x:{inst.gid}:\nph-drop:x:{inst.drop}:{name}\n" \
        f"posthorn-tls:x:{inst.tls}:\nposthorn-srs:x:{inst.srs}:\n" \
        f"posthorn-auth:x:{inst.auth}:\n"
    ns = Namespace(inst.base, inst.conf, files={"passwd": passwd,
                                                "group": group})
    listeners = {}
    try:
        for mode in ("mx", "submission"):
            port = free_port()
            lp = LogProc()
            lp.start(ns.prefix() + [
                str(inst.sbin / "smtp-listen"), "-C", str(inst.conf), "-u",
                name, "-d", "5", mode, f"127.0.0.1:{port}"],
                env={"PATH": "/usr/bin:/bin", **SAN_ENV})
            lp.wait_for(r"event=listening")
            listeners[mode] = (lp, port)
        lp, port = listeners["mx"]
        kids = {}
        deadline = time.monotonic() + WAIT
        while set(kids) != {b"smtp-tlsd", b"smtp-keeper", b"smtp-checkd"}:
            assert time.monotonic() < deadline, (kids, lp.log())
            kids = {os.path.basename(cmdline(p).split(b"\0")[0]): p
                    for p in children(lp.proc.pid)}
            time.sleep(0.02)    # /proc has no event to wait on
        zygote, keeper = kids[b"smtp-tlsd"], kids[b"smtp-keeper"]
        checker = kids[b"smtp-checkd"]
        listener = proc_status(lp.proc.pid)
        assert listener["CapEff"] == ["%016x" % (1 << 6)], listener
        assert listener["CapAmb"] == NO_CAPS and listener["Groups"] == []
        # The checker parses mail from the world: it holds no secret.
        for pid, groups in ((zygote, [inst.tls]),
                            (keeper, sorted([inst.srs, inst.auth])),
                            (checker, [])):
            st = proc_status(pid)
            assert sorted(map(int, st["Groups"])) == groups, st
            for c in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
                assert st[c] == NO_CAPS, (pid, c, st)

        with socket.create_connection(("127.0.0.1", port),
                                      timeout=WAIT) as sock:
            c = Client(sock)
            assert c.reply()[0] == 220
            [session] = [p for p in children(lp.proc.pid)
                         if p not in (zygote, keeper, checker)]
            st = proc_status(session)
            assert st["Uid"] == [str(inst.uid)] * 4, st
            assert st["Gid"] == [str(inst.gid)] * 4, st
            assert st["Groups"] == [], st
            for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
                assert st[cap] == NO_CAPS, (cap, st)
            assert st["NoNewPrivs"] == ["1"], st
            for p in (key, users, secret):
                r = subprocess.run(
                    ["setpriv", f"--reuid={inst.uid}",
                     f"--regid={inst.gid}", "--clear-groups", "cat",
                     str(p)], capture_output=True, timeout=60)
                assert r.returncode != 0 and \
                    b"Permission denied" in r.stderr, (p, r)
            # The users file, the SRS secret: through the keeper.
            assert c.cmd("EHLO client.example")[0] == 250
            assert c.cmd("MAIL FROM:<>")[0] == 250
            assert c.cmd("RCPT TO:<alice@example.org>")[0] == 250
            assert c.cmd("RCPT TO:<nobody-here@example.org>")[0] == 550
            code, text = c.cmd(f"RCPT TO:<{srs_addr}>")
            assert code == 250, (text, lp.log())
            forged = srs_addr.replace("=grace@", "=mallory@")
            assert c.cmd(f"RCPT TO:<{forged}>")[0] == 550
            assert c.cmd("RSET")[0] == 250
            # The TLS key: through the zygote.
            assert c.cmd("STARTTLS")[0] == 220
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(sock) as t:
                tc = Client(t)
                assert tc.cmd("EHLO client.example")[0] == 250
                assert tc.cmd("QUIT")[0] == 221

        # AUTH: the keeper's smtp-auth reads the users file.
        lp, port = listeners["submission"]
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=WAIT) as sock:
            c = Client(sock)
            assert c.reply()[0] == 220
            assert c.cmd("EHLO client.example")[0] == 250
            assert c.cmd("STARTTLS")[0] == 220
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(sock) as t:
                tc = Client(t)
                assert tc.cmd("EHLO client.example")[0] == 250
                plain = base64.b64encode(
                    b"\0alice@example.org\0alices password").decode()
                code, text = tc.cmd(f"AUTH PLAIN {plain}")
                assert code == 235, (text, lp.log())
                assert tc.cmd("QUIT")[0] == 221
    finally:
        for lp, _ in listeners.values():
            if lp.proc.poll() is None:
                lp.proc.terminate()
                lp.proc.wait(timeout=WAIT)
        ns.close()


def test_a_rerun_gives_an_older_installs_keys_to_the_signer(tmp_path):
    """Keys of an install older than posthorn-dkim: group posthorn.
    Running install-conf.sh again hands them over."""
    confdir = tmp_path / "etc"
    group, dkim = unused_ids(2)
    r = install_conf(tmp_path, confdir, "example.org", group=group,
                     dkim=group)
    assert r.returncode == 0, r.stdout + r.stderr
    kd = confdir / "domains" / "example.org" / "dkim"
    keys = sorted(kd.iterdir())
    assert {os.stat(p).st_gid for p in (kd, *keys)} == {group}
    r = install_conf(tmp_path, confdir, "example.org", group=group,
                     dkim=dkim)
    assert r.returncode == 0, r.stdout + r.stderr
    for p, mode in [(kd, 0o750), *((k, 0o640) for k in keys)]:
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, dkim, mode), p
        assert f"gave {p} to root:{dkim}" in r.stdout, r.stdout


def test_a_rerun_gives_an_older_installs_secrets_their_groups(tmp_path):
    """The TLS key, srs.secret and the users files of an install older
    than their groups: group posthorn, which smtp-in has.  Running
    install-conf.sh again gives each the group of the one resident
    that reads it."""
    confdir = tmp_path / "etc"
    group, tls, srs, auth = unused_ids(4)
    r = install_conf(tmp_path, confdir, "example.org", group=group,
                     tls=group, srs=group, auth=group)
    assert r.returncode == 0, r.stdout + r.stderr
    files = {confdir / "certs" / "privkey.pem": tls,
             confdir / "srs.secret": srs,
             confdir / "domains" / "example.org" / "users": auth}
    assert {os.stat(p).st_gid for p in files} == {group}
    r = install_conf(tmp_path, confdir, "example.org", group=group,
                     tls=tls, srs=srs, auth=auth)
    assert r.returncode == 0, r.stdout + r.stderr
    for p, gid in files.items():
        st = os.stat(p)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, gid, 0o640), p
        assert f"gave {p} to root:{gid}" in r.stdout, r.stdout


def test_a_command_user_of_root_is_refused_and_the_mail_kept(delivering):
    inst = delivering
    conf = inst.conf / "domains" / "example.org" / "domain.conf"
    conf.write_text("command_user = root\n")
    conf.chmod(0o644)
    queue_file(inst, "0000000000000001", "probe@example.org")
    qr = start_queue_run(inst)
    try:
        [line] = qr.wait_for(r"event=delivery id=0000000000000001 .*"
                             r"status=deferred")
    finally:
        qr.stop()
    kv = parse_kv(line)
    assert kv["dsn"] == "4.3.0", kv
    assert "command_user root: refused, root's uid" in kv["reason"], kv
    assert list(inst.out.iterdir()) == []
    assert (inst.spool / "new" / "0000000000000001").exists()


def test_a_command_user_from_a_file_posthorn_may_write_is_refused(
        delivering):
    """domain.conf in a directory the posthorn stand-in may write: a
    user it chose could be anyone's."""
    inst = delivering
    conf = inst.conf / "domains" / "example.org" / "domain.conf"
    conf.write_text("command_user = nobody\n")
    os.chown(conf, inst.uid, inst.gid)
    conf.chmod(0o644)
    queue_file(inst, "0000000000000001", "probe@example.org")
    qr = start_queue_run(inst)
    try:
        [line] = qr.wait_for(r"event=delivery id=0000000000000001 .*"
                             r"status=deferred")
    finally:
        qr.stop()
    assert "not a file of root's alone" in parse_kv(line)["reason"], line
    assert list(inst.out.iterdir()) == []


# --- install-conf.sh: the domain, the host name and the administrator -----
#
# install.sh hands /etc/posthorn to install-conf.sh with the names it
# was given (issue 12, items 3 and 5).  The tests run it on a directory
# of their own, with the programs of this build, as install.sh runs it
# after "make install".

def install_conf(tmp_path, confdir, *args, env=None, prefix=(), group=None,
                 dkim=None, tls=None, srs=None, auth=None):
    """Run install-conf.sh on confdir; the records go to a file, read
    back as r.records."""
    stage = tmp_path / "prefix"
    if not stage.exists():
        stage.mkdir()
        (stage / "sbin").symlink_to(BIN)
        (stage / "bin").symlink_to(BIN)
    records = tmp_path / "records"
    r = subprocess.run(
        [*prefix, "sh", str(ROOT / "install-conf.sh"), "-p", str(stage),
         "-c", str(confdir), "-u", str(os.getgid() if group is None else group),
         "-k", str(os.getgid() if dkim is None else dkim),
         *(["-t", str(tls)] if tls is not None else []),
         *(["-s", str(srs)] if srs is not None else []),
         *(["-A", str(auth)] if auth is not None else []),
         "-R", str(records),
         *args],
        env={**os.environ, **SAN_ENV, **(env or {})},
        capture_output=True, text=True, timeout=120)
    r.records = records.read_text() if records.exists() else ""
    return r


def where(confdir, *addresses):
    """aliases(8): {address: where it goes}."""
    r = subprocess.run([str(BIN / "aliases"), "-C", str(confdir),
                        *addresses], env={**os.environ, **SAN_ENV},
                       capture_output=True, text=True, timeout=60)
    out = {}
    for line in r.stdout.splitlines():
        a, _, rest = line.partition(": ")
        out.setdefault(a, []).append(rest)
    return out


def snapshot(top):
    """Every file and directory under top: its bytes, owner and mode."""
    out = {}
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            p = pathlib.Path(d) / n
            st = os.lstat(p)
            out[str(p.relative_to(top))] = (
                st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode),
                p.read_bytes() if stat.S_ISREG(st.st_mode) else None)
    return out


# What the reader had: a VPS named by its provider.
VPS = "vmi1234567.provider.example"
ADMIN = "me@gmail.example"
HOST_ROLES = ["root", "postmaster", "abuse", "mailer-daemon", "hostmaster",
              "webmaster", "noc", "security"]


def test_a_named_domain_is_the_only_one_made(tmp_path):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", VPS, "-a", ADMIN,
                     "Example.ORG")
    assert r.returncode == 0, r.stdout + r.stderr
    domains = confdir / "domains"
    # The domain asked for, and the host name's aliases: nothing of the
    # provider's domain.
    assert sorted(p.name for p in domains.iterdir()) == \
        ["example.org", VPS]
    assert [p.name for p in (domains / VPS).iterdir()] == ["aliases"]
    assert "hostname = " + VPS + "\n" in \
        (confdir / "posthorn.conf").read_text()
    keys = sorted(p.suffix for p in (domains / "example.org" / "dkim")
                  .iterdir())
    assert keys == [".ed25519", ".rsa"]
    got = where(confdir, "support@provider.example", "postmaster@example.org",
                "abuse@example.org", "nobody@example.org")
    assert got["support@provider.example"] == \
        ["remote support@provider.example"]
    assert got["postmaster@example.org"] == [f"remote {ADMIN}"]
    assert got["abuse@example.org"] == [f"remote {ADMIN}"]
    assert got["nobody@example.org"] == ["no such user"]
    # The records name the domain, and the host name has its own SPF.
    assert f"example.org.  IN MX  10 {VPS}." in r.records
    assert 'example.org.  IN TXT "v=spf1 mx -all"' in r.records
    assert f'{VPS}.  IN TXT "v=spf1 a -all"' in r.records
    assert "._domainkey.example.org. IN TXT" in r.records
    # And the reader is told the host name is not under the domain.
    assert f"the host name {VPS} is not a name under example.org" in r.stdout


def test_the_host_names_role_addresses_go_to_the_administrator(tmp_path):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", "mx.example.org", "-a", ADMIN,
                     "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    got = where(confdir, *(f"{n}@mx.example.org" for n in HOST_ROLES),
                "MAILER-DAEMON@mx.example.org", "www-data@mx.example.org")
    for n in HOST_ROLES:
        assert got[f"{n}@mx.example.org"] == [f"remote {ADMIN}"], got
    assert got["MAILER-DAEMON@mx.example.org"] == [f"remote {ADMIN}"]
    # No catch-all: the host name takes mail from the world too.
    assert got["www-data@mx.example.org"] == ["no such user"]
    assert "mail to root@mx.example.org (cron, sendmail root) goes to:\n" \
        f"    root@mx.example.org: remote {ADMIN}\n" in r.stdout


def test_an_administrator_of_the_domain_without_a_mailbox_is_warned_of(
        tmp_path):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", "mx.example.org", "-a",
                     "admin@example.org", "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning: mail to root@mx.example.org goes nowhere yet" in \
        r.stdout
    assert "admin@example.org: no such user or alias" in r.stdout
    r = subprocess.run([str(BIN / "mailuser"), "-C", str(confdir), "add",
                        "-r", "admin@example.org"], env={**os.environ,
                                                         **SAN_ENV},
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r
    assert where(confdir, "root@mx.example.org") == {
        "root@mx.example.org": [
            f"mailbox admin@example.org (/var/mail/example.org/admin/)"]}


def test_without_an_administrator_system_mail_stays_in_the_postmaster_box(
        tmp_path):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", "mx.example.org",
                     "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    got = where(confdir, "root@mx.example.org", "postmaster@example.org",
                "abuse@example.org")
    mailbox = ["mailbox postmaster@example.org"]
    assert all(v[0].startswith(mailbox[0]) and len(v) == 1
               for v in got.values()), got


def test_the_host_name_as_the_domain_keeps_the_users_names_free(tmp_path):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", "example.org", "-a", ADMIN,
                     "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p.name for p in (confdir / "domains").iterdir()] == \
        ["example.org"]
    got = where(confdir, "root@example.org", "postmaster@example.org",
                "info@example.org")
    assert got["root@example.org"] == [f"remote {ADMIN}"]
    assert got["postmaster@example.org"] == [f"remote {ADMIN}"]
    assert got["info@example.org"] == ["no such user"]


@pytest.mark.parametrize("args, why", [
    (["-H", "mx.example.org", "a.example", "b.example"], "usage"),
    (["-H", "mx.example.org", "org"], "not a full domain name"),
    (["-H", "mx.example.org", "exa mple.org"], "not a domain name"),
    (["-H", "mx/..", "example.org"], "not a domain name"),
    (["-H", "mx.example.org", "-a", "me", "example.org"], "want an address"),
    (["-H", "mx.example.org", "-a", "a@b.example, c@d.example",
      "example.org"], "one plain address"),
])
def test_bad_names_are_refused_before_anything_is_written(tmp_path, args,
                                                          why):
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, *args)
    assert r.returncode == 64, r.stdout + r.stderr
    assert why in r.stderr
    assert not confdir.exists()


def test_a_rerun_changes_nothing_and_keeps_the_readers_edits(tmp_path):
    confdir = tmp_path / "etc"
    args = ["-H", "mx.example.org", "-a", ADMIN, "example.org"]
    r = install_conf(tmp_path, confdir, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    first = snapshot(confdir)
    r = install_conf(tmp_path, confdir, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert snapshot(confdir) == first
    assert "made" not in r.stdout and "wrote" not in r.stdout, r.stdout

    # The reader's edits stay, whatever a later run is given.
    conf = confdir / "posthorn.conf"
    conf.write_text(conf.read_text().replace(
        "hostname = mx.example.org", "hostname = mail.example.org"))
    host_aliases = confdir / "domains" / "mx.example.org" / "aliases"
    host_aliases.write_text("root: someone@else.example\n")
    edited = snapshot(confdir)
    r = install_conf(tmp_path, confdir, "-H", "mx2.example.org", "-a",
                     "other@gmail.example", "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    after = snapshot(confdir)
    # The one new thing: the aliases of the host name posthorn.conf has.
    new = set(after) - set(edited)
    assert new == {"domains/mail.example.org",
                   "domains/mail.example.org/aliases"}, new
    assert {k: v for k, v in after.items() if k not in new} == edited
    assert "kept hostname = mail.example.org" in r.stdout
    assert "it does not send to other@gmail.example" in r.stdout


@pytest.mark.parametrize("hosts, said", [
    ("192.0.2.25 mx.example.org\n2001:db8::25 mx.example.org\n",
     "checked: mx.example.org and the PTR records of 192.0.2.25 "
     "2001:db8::25 agree"),
    ("192.0.2.26 vps26.provider.example\n192.0.2.26 mx.example.org\n",
     "warning: 192.0.2.26 (mx.example.org) has the PTR record "
     "vps26.provider.example, not mx.example.org"),
    ("192.0.2.27 other.example\n",
     "warning: mx.example.org has no A or AAAA record"),
])
def test_the_host_names_forward_and_reverse_dns_are_checked(tmp_path, hosts,
                                                            said):
    """The names come from an /etc/hosts of the test's, in a namespace
    (getent -s files in place of dns): the check warns, never fails."""
    confdir = tmp_path / "etc"
    ns = Namespace(tmp_path, confdir, files={"hosts": hosts})
    try:
        r = install_conf(tmp_path, confdir, "-H", "mx.example.org",
                         "example.org", prefix=ns.prefix(),
                         env={"POSTHORN_INSTALL_NSS": "files"})
    finally:
        ns.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert said in " ".join(r.stdout.replace("install.sh:", "").split()), \
        r.stdout
    assert (confdir / "posthorn.conf").exists()


def test_sendmail_root_reaches_the_administrator_signed(tmp_path):
    """cron's mail: "sendmail root" on the host mx.example.org of
    example.org, the administrator outside.  It goes to the
    administrator, once, signed with example.org's keys (the host name
    has none), and the signature verifies."""
    conf = Conf(tmp_path / "c")
    shutil.rmtree(conf.dir)
    r = install_conf(tmp_path, conf.dir, "-H", "mx.example.org", "-a", ADMIN,
                     "example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    records = parse_records(r.records.replace("\n    ", "\n"))
    assert len(records) == 2, r.records
    # Where this test's queue is; the outside is a peer on loopback.
    with open(conf.dir / "posthorn.conf", "a") as f:
        f.write(f"spool = {conf.spool}\nmaildirs = {conf.mail}\n")
    peer = Peer()
    (conf.dir / "routes").write_text(f"* 127.0.0.1:{peer.port} tls=none\n")
    qr = QueueRun(conf)
    try:
        r = conf.run("sendmail", "root", input=(
            b"Subject: Cron <root@mx> run-parts /etc/cron.daily\n\n"
            b"the output of a cron job\n"))
        assert r.returncode == 0, r.stderr
        [(mail_from, rcpts, data)] = peer.wait()
        qr.delivered()
    finally:
        qr.stop()
        peer.stop()
    assert rcpts == [ADMIN]
    assert mail_from == "root@mx.example.org"
    assert b"\nFrom: root@mx.example.org\r\n" in data, data[:1500]
    sigs = signatures(data)
    assert sorted(alg(s) for s in sigs) == BOTH, data[:1500]
    assert all(re.search(rb"\bd=example\.org;", s) for s in sigs), sigs
    assert verify(data, records) == dict.fromkeys(BOTH, True)
    assert qr.events("bounce") == []
    assert [e["domain"] for e in qr.events("signed")] == ["example.org"]


def fake_hostname(tmp_path, fqdn):
    """A hostname(1) that says this machine is fqdn: PATH for it."""
    d = tmp_path / "fakebin"
    d.mkdir(exist_ok=True)
    (d / "hostname").write_text(
        "#!/bin/sh\n"
        f"case ${{1-}} in -f) echo {fqdn} ;; -d) echo {fqdn.split('.', 1)[1]} ;;"
        f" *) echo {fqdn.split('.')[0]} ;; esac\n")
    (d / "hostname").chmod(0o755)
    return {"PATH": f"{d}:{os.environ['PATH']}"}


def test_without_a_domain_only_the_host_name_is_taken_and_said_loudly(
        tmp_path):
    """On a hosting provider's machine the name's parent domain is the
    provider's: a first run without DOMAIN makes no domain but the
    machine's own name, which is local anyway."""
    confdir = tmp_path / "etc"
    env = fake_hostname(tmp_path, VPS)
    r = install_conf(tmp_path, confdir, "-n", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"{VPS} {VPS}\n"
    said = " ".join(r.stderr.replace("*", "").split())
    assert ("No DOMAIN was given: posthorn takes mail only for this "
            f"machine's own name, {VPS}.") in said, r.stderr
    assert "./install.sh example.org" in said
    assert not confdir.exists()
    r = install_conf(tmp_path, confdir, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(p.name for p in (confdir / "domains").iterdir()) == [VPS]


def test_a_rerun_without_a_domain_takes_the_one_made_before(tmp_path):
    confdir = tmp_path / "etc"
    env = fake_hostname(tmp_path, VPS)
    r = install_conf(tmp_path, confdir, "-a", ADMIN, "example.org", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    first = snapshot(confdir)
    # The host name from hostname -f, as Postfix's myhostname.
    assert f"hostname = {VPS}\n" in (confdir / "posthorn.conf").read_text()
    r = install_conf(tmp_path, confdir, "-n", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == f"{VPS} example.org\n"
    assert "***" not in r.stderr
    r = install_conf(tmp_path, confdir, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert snapshot(confdir) == first
    assert not (confdir / "domains" / "provider.example").exists()


def test_a_host_name_that_is_no_domain_name_needs_a_domain(tmp_path):
    r = install_conf(tmp_path, tmp_path / "etc", "-n", "-H", "debian",
                     env=fake_hostname(tmp_path, "debian.lan"))
    assert r.returncode == 64
    assert "which mail domain?" in r.stderr, r.stderr


def test_a_rerun_takes_the_domain_before_the_host_names_own_keys(tmp_path):
    """dkimsign -g HOSTNAME (keys for the bounces) gives the host name's
    directory keys too: it is still not the mail domain."""
    confdir = tmp_path / "etc"
    r = install_conf(tmp_path, confdir, "-H", "a.example.net",
                     "zzz.example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(BIN / "dkimsign"), "-C", str(confdir), "-g",
                        "a.example.net"], env={**os.environ, **SAN_ENV},
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r
    r = install_conf(tmp_path, confdir, "-n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "a.example.net zzz.example.org\n"
