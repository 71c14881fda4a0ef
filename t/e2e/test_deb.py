"""The Debian package (issue 16, item 1): "make deb" builds it, lintian
finds no error in it, and on a fresh Debian 12 root it installs (the
programs, units, user, groups, queue, and a first /etc/posthorn with its
certificate and DKIM keys, with their owners and modes), upgrades to a
later build keeping an edited configuration, is removed keeping the
configuration and the queue, and is purged without them.  Booted with
systemd (systemd-nspawn), its sockets listen, smtp-listen greets on port
25, queue-run runs, and "apt-get remove" stops them.

The root is made once with debootstrap (minbase) in
/var/cache/posthorn-deb/bookworm (POSTHORN_DEB_ROOT names another) and
never changed: each run works in an overlay of it, thrown away at the
end, and apt-get fetches the package's dependencies through the host's
network into /var/cache/posthorn-deb/archives, kept between runs.  The
first run takes a few minutes more (debootstrap, and a whole build of
the tree); a later one about four (the package built twice, the second
time on the first's objects, lintian, three installs and a boot).  It is skipped, saying why, where it cannot run: not root, no
dpkg-buildpackage, debhelper, lintian or debootstrap, no overlayfs, no
Debian mirror within reach, and in the sanitizer run (the package is
built with its own flags, the same in both runs)."""

import os
import pathlib
import re
import shutil
import stat
import subprocess

import pytest

from conftest import ROOT, SAN

CACHE = pathlib.Path("/var/cache/posthorn-deb")
DEB_ROOT = pathlib.Path(os.environ.get("POSTHORN_DEB_ROOT")
                        or CACHE / "bookworm")
ARCHIVES = CACHE / "archives"
# Below every later version that "make deb" gives (debian/changelog's +
# "+git"...), so that these never pass for a real build; the second is
# the upgrade.
V1, V2 = "0.0+test1", "0.0+test2"
DOMAIN, HOST = "example.org", "mx.example.org"
BUILD_WAIT = 900     # seconds: a whole build of the tree, on a busy machine
APT_WAIT = 600       # seconds: one apt-get, fetching through the network
GROUPS = ("posthorn", "posthorn-drop", "posthorn-run", "posthorn-dkim",
          "posthorn-tls", "posthorn-srs", "posthorn-auth")
SBIN = ("smtp-listen", "smtp-in", "smtp-tlsd", "smtp-keeper", "smtp-auth",
        "smtp-checkd", "queue-run", "queue-inject", "queue-runas",
        "smtp-out", "mailq", "sendmail", "aliases", "mailuser", "mailauth",
        "tlsrpt", "posthorn-doctor", "posthorn-config")
UNITS = ("posthorn-smtp.socket", "posthorn-smtp.service",
         "posthorn-submission.socket", "posthorn-submission.service",
         "posthorn-submissions.socket", "posthorn-submissions.service",
         "posthorn-queue.service", "posthorn-tlsrpt.service",
         "posthorn-tlsrpt.timer")
# What the package enables (deb-systemd-helper's links, made without a
# running systemd): the sockets, the listeners, queue-run, the timer.
ENABLED = ("sockets.target.wants/posthorn-smtp.socket",
           "sockets.target.wants/posthorn-submission.socket",
           "sockets.target.wants/posthorn-submissions.socket",
           "multi-user.target.wants/posthorn-smtp.service",
           "multi-user.target.wants/posthorn-submission.service",
           "multi-user.target.wants/posthorn-submissions.service",
           "multi-user.target.wants/posthorn-queue.service",
           "timers.target.wants/posthorn-tlsrpt.timer")
SOCKETS = ("posthorn-smtp.socket", "posthorn-submission.socket",
           "posthorn-submissions.socket")


def why_not():
    """Why the package cannot be built and installed here, or None."""
    if SAN:
        return "the package is built with its own flags: the plain run has it"
    if os.geteuid() != 0:
        return "not root (debootstrap, chroot and mounts need it)"
    for tool in ("dpkg-buildpackage", "dh", "lintian", "debootstrap",
                 "chroot"):
        if shutil.which(tool) is None:
            return f"no {tool} (t/deps.sh installs it)"
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "no overlayfs"
    return None


pytestmark = pytest.mark.skipif(why_not() is not None,
                                reason=str(why_not()))


def run(argv, timeout, **kw):
    r = subprocess.run(argv, capture_output=True, text=True,
                       timeout=timeout, **kw)
    assert r.returncode == 0, f"{argv}: {r.stdout[-3000:]}{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """Both builds: V1, then V2 on V1's objects (make-deb.sh keeps its
    copy's build/).  Returns {version: .deb path} and the .changes of V1."""
    out = ROOT / "build" / "deb-test"
    keep = tmp_path_factory.mktemp("debs")
    debs = {}
    for v in (V1, V2):
        r = run(["sh", str(ROOT / "debian" / "make-deb.sh"), str(out), v],
                BUILD_WAIT)
        deb = pathlib.Path(r.stdout.strip().splitlines()[-1])
        assert deb.name == f"posthorn_{v}_amd64.deb", r.stdout
        debs[v] = keep / deb.name
        shutil.copy(deb, debs[v])
        if v == V1:
            for f in out.glob(f"posthorn*_{v}_*"):
                shutil.copy(f, keep / f.name)
    return debs, keep / f"posthorn_{V1}_amd64.changes"


def test_lintian_finds_no_error(debs):
    _, changes = debs
    r = subprocess.run(["lintian", "--no-tag-display-limit", str(changes)],
                       capture_output=True, text=True, timeout=BUILD_WAIT)
    errors = [l for l in r.stdout.splitlines()
              if l.startswith(("E:", "W:"))]
    assert not errors, r.stdout
    # An override that no longer matches is a stale excuse.
    assert "unused-override" not in r.stdout, r.stdout


def test_built_using_names_the_source_of_musl(debs):
    """smtp-in and smtp-listen hold musl's code (static): Built-Using
    names musl's source package and its version (policy 7.8)."""
    debs, _ = debs
    want = run(["dpkg-query", "-W", "-f",
                "${source:Package} (= ${source:Version})", "musl-dev"],
               60).stdout
    r = run(["dpkg-deb", "-f", str(debs[V1]), "Built-Using"], 60)
    assert r.stdout.strip() == want, r.stdout


def make_root():
    """The cached Debian 12 root, made once (in ROOT.new, renamed when
    complete, so that a run cut short leaves nothing taken for a root)."""
    if (DEB_ROOT / ".posthorn-deb").exists():
        return
    new = DEB_ROOT.with_name(DEB_ROOT.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    DEB_ROOT.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm",
                        str(new)], capture_output=True, text=True,
                       timeout=BUILD_WAIT)
    if r.returncode != 0:
        shutil.rmtree(new, ignore_errors=True)
        pytest.skip("debootstrap could not make a Debian 12 root: "
                    + (r.stdout + r.stderr).strip().splitlines()[-1])
    (new / ".posthorn-deb").touch()
    shutil.rmtree(DEB_ROOT, ignore_errors=True)
    new.rename(DEB_ROOT)


class Chroot:
    """An overlay of the cached root, with /proc, /dev, the host's DNS and
    the kept apt archives, and a policy-rc.d that lets nothing start."""

    def __init__(self, base):
        make_root()
        self.base = base
        self.root = base / "root"
        self.mounts = []
        for d in ("upper", "work", "root"):
            (base / d).mkdir()
        self.mount(["-t", "overlay", "overlay", "-o",
                    f"lowerdir={DEB_ROOT},upperdir={base / 'upper'},"
                    f"workdir={base / 'work'}"], self.root)
        self.mount(["-t", "proc", "proc"], self.root / "proc")
        self.mount(["--bind", "/dev"], self.root / "dev")
        ARCHIVES.mkdir(parents=True, exist_ok=True)
        (ARCHIVES / "partial").mkdir(exist_ok=True)
        self.mount(["--bind", str(ARCHIVES)],
                   self.root / "var/cache/apt/archives")
        shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf")
        policy = self.root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)

    def mount(self, args, target):
        subprocess.run(["mount", *args, str(target)], check=True,
                       capture_output=True, timeout=60)
        self.mounts.append(target)

    def close(self, keep=0):
        """Unmount all but the first `keep` mounts (1: the overlay)."""
        while len(self.mounts) > keep:
            m = self.mounts.pop()
            if subprocess.run(["umount", str(m)],
                              capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(m)], capture_output=True)

    def run(self, argv, timeout=APT_WAIT, check=True, env=None, **kw):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
             "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8"}
        e.update(env or {})
        r = subprocess.run(["chroot", str(self.root), *argv],
                           capture_output=True, text=True, env=e,
                           timeout=timeout, **kw)
        if check:
            assert r.returncode == 0, \
                f"{argv}: {r.stdout[-4000:]}{r.stderr[-4000:]}"
        return r

    def path(self, p):
        return self.root / p.lstrip("/")

    def ids(self, f):
        """name -> id of the root's /etc/passwd or /etc/group."""
        return {l.split(":")[0]: int(l.split(":")[2])
                for l in self.path(f).read_text().splitlines() if l}

    def owner(self, p):
        """'user:group mode' of a path in the root, by the root's names."""
        st = self.path(p).lstat()
        users = {v: k for k, v in self.ids("/etc/passwd").items()}
        groups = {v: k for k, v in self.ids("/etc/group").items()}
        return (f"{users.get(st.st_uid, st.st_uid)}:"
                f"{groups.get(st.st_gid, st.st_gid)} "
                f"{stat.S_IMODE(st.st_mode):o}")

    def status(self):
        r = self.run(["dpkg-query", "-W", "-f", "${Status} ${Version}",
                      "posthorn"], check=False)
        return r.stdout if r.returncode == 0 else "unknown"


@pytest.fixture
def chroot(tmp_path):
    c = Chroot(tmp_path)
    try:
        if c.run(["apt-get", "update", "-q"], check=False).returncode:
            pytest.skip("apt-get update failed in the root: no mirror here")
        yield c
    finally:
        c.close()


def check_installed(c, version):
    assert c.status() == f"install ok installed {version}"
    for p in SBIN:
        assert os.access(c.path(f"/usr/sbin/{p}"), os.X_OK), p
    assert os.access(c.path("/usr/bin/dkimsign"), os.X_OK)
    for m in ("man8/smtp-in.8.gz", "man7/posthorn.7.gz",
              "man5/posthorn.conf.5.gz"):
        assert c.path(f"/usr/share/man/{m}").exists(), m
    for u in UNITS:
        text = c.path(f"/lib/systemd/system/{u}").read_text()
        assert "/usr/local" not in text, u
    for link in ENABLED:
        assert c.path(f"/etc/systemd/system/{link}").is_symlink(), link
    # An upgrade restarts the services (the new programs run) and only
    # starts the sockets, which keep their ports open throughout: a
    # socket restarted would refuse connections meanwhile.
    script = c.path("/var/lib/dpkg/info/posthorn.postinst").read_text()
    invoked = [l for l in script.splitlines() if "deb-systemd-invoke" in l]
    for u in SOCKETS:
        lines = [l for l in invoked if f"'{u}'" in l]
        assert lines and all("deb-systemd-invoke start " in l
                             for l in lines), (u, invoked)
    assert any("$_dh_action" in l and "'posthorn-smtp.service'" in l
               for l in invoked), invoked
    assert "_dh_action=restart" in script
    # An MTA in Debian's sense: the one of the system, with sendmail
    # and mailq where programs look for them.
    r = c.run(["dpkg-query", "-W", "-f",
               "${Provides}|${Conflicts}|${Replaces}", "posthorn"])
    assert r.stdout == "|".join(["mail-transport-agent"] * 3), r.stdout
    assert os.readlink(c.path("/usr/lib/sendmail")) == "../sbin/sendmail"
    assert os.readlink(c.path("/usr/bin/mailq")) == "../sbin/mailq"
    # The user, its groups, and the groups no one is a member of.
    pw = c.path("/etc/passwd").read_text()
    line = next(l for l in pw.splitlines() if l.startswith("posthorn:"))
    assert line.endswith(":/var/spool/posthorn:/usr/sbin/nologin"), line
    groups = {l.split(":")[0]: l.split(":")[3].split(",")
              for l in c.path("/etc/group").read_text().splitlines()}
    for g in GROUPS:
        assert g in groups, g
    assert "posthorn" in groups["posthorn-drop"]
    assert "posthorn" in groups["mail"]
    for g in ("posthorn-run", "posthorn-dkim", "posthorn-tls",
              "posthorn-srs", "posthorn-auth"):
        assert groups[g] == [""], (g, groups[g])
    # The injector and the command runner, even as unpacked by an upgrade.
    assert c.owner("/usr/sbin/queue-inject") == "root:posthorn-drop 2755"
    assert c.owner("/usr/sbin/queue-runas") == "root:posthorn-run 4750"
    r = c.run(["dpkg-statoverride", "--list"])
    assert "root posthorn-drop 2755 /usr/sbin/queue-inject" in r.stdout
    assert "root posthorn-run 4750 /usr/sbin/queue-runas" in r.stdout
    # The queue, as install-queue.sh makes it.
    sp = "/var/spool/posthorn"
    assert c.owner(sp) == "posthorn:posthorn-drop 710"
    assert c.owner(f"{sp}/tmp") == "posthorn:posthorn-drop 3730"
    assert c.owner(f"{sp}/new") == "posthorn:posthorn-drop 1770"
    assert c.owner(f"{sp}/state") == "posthorn:posthorn 750"
    # The first /etc/posthorn.
    e = "/etc/posthorn"
    assert c.owner(f"{e}/posthorn.conf") == "root:root 644"
    assert f"hostname = {HOST}" in c.path(f"{e}/posthorn.conf").read_text()
    assert c.owner(f"{e}/srs.secret") == "root:posthorn-srs 640"
    assert c.owner(f"{e}/certs/privkey.pem") == "root:posthorn-tls 640"
    assert c.owner(f"{e}/certs/fullchain.pem") == "root:posthorn 644"
    r = c.run(["openssl", "x509", "-in", f"{e}/certs/fullchain.pem",
               "-noout", "-subject"])
    assert f"CN = {HOST}" in r.stdout, r.stdout
    d = f"{e}/domains/{DOMAIN}"
    assert c.owner(f"{d}/users") == "root:posthorn-auth 640"
    assert "postmaster:" in c.path(f"{d}/users").read_text()
    assert c.owner(f"{d}/dkim") == "root:posthorn-dkim 750"
    keys = sorted(p.name for p in c.path(f"{d}/dkim").iterdir())
    assert [k for k in keys if k.endswith(".rsa")], keys
    assert [k for k in keys if k.endswith(".ed25519")], keys
    for k in keys:
        assert c.owner(f"{d}/dkim/{k}") == "root:posthorn-dkim 640", k
    assert "/domains/*/dkim/*.rsa" in c.path(f"{e}/.gitignore").read_text()
    # The programs run in the root with the libraries the package
    # depends on: dkimsign prints the key's record, and the static
    # smtp-in answers a session on a pipe.
    r = c.run(["dkimsign", "-p", DOMAIN])
    assert "v=DKIM1" in r.stdout, r.stdout
    r = c.run(["smtp-in", "mx"], input="QUIT\r\n")
    assert r.stdout.startswith(f"220 {HOST}"), r.stdout
    assert "\n221" in r.stdout, r.stdout


def test_package_installs_upgrades_removes_and_purges(debs, chroot):
    c = chroot
    debs, _ = debs
    for v, deb in debs.items():
        shutil.copy(deb, c.path(f"/tmp/{deb.name}"))
    names = {"POSTHORN_DOMAIN": DOMAIN, "POSTHORN_HOSTNAME": HOST}

    c.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
           f"/tmp/{debs[V1].name}"], env=names)
    check_installed(c, V1)

    # Any user queues mail with sendmail (queue-inject, setgid).
    r = c.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
               "--clear-groups", "/usr/sbin/sendmail",
               f"postmaster@{DOMAIN}"],
              input="Subject: kept\n\nin the queue\n")
    queued = sorted(p.name for p in c.path("/var/spool/posthorn/new")
                    .iterdir())
    assert len(queued) == 1, queued

    # The administrator's edits; the upgrade must keep them, and keep
    # the keys and certificate made at install.
    conf = c.path("/etc/posthorn/posthorn.conf")
    edited = conf.read_text() + "# edited by the test\nmax_message_size = 20M\n"
    conf.write_text(edited)
    aliases = c.path(f"/etc/posthorn/domains/{DOMAIN}/aliases")
    aliases.write_text(aliases.read_text() + "sales: postmaster\n")
    kept = {p: p.read_bytes() for p in
            [*c.path(f"/etc/posthorn/domains/{DOMAIN}/dkim").iterdir(),
             c.path("/etc/posthorn/certs/privkey.pem"),
             c.path("/etc/posthorn/srs.secret"), aliases]}
    # A domain added since, with a mailbox and no DKIM key (one signed
    # elsewhere, or not yet in DNS), whose name sorts before DOMAIN:
    # the upgrade must not take it for the mail domain and make its
    # keys, its postmaster and its aliases.
    c.run(["mailuser", "add", "me@a.example"], input="a long password\n")
    added = c.path("/etc/posthorn/domains/a.example")
    added_users = (added / "users").read_bytes()

    # The upgrade, without the names: it makes nothing in /etc/posthorn.
    r = c.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
               f"/tmp/{debs[V2].name}"])
    check_installed(c, V2)
    assert sorted(p.name for p in added.iterdir()) == ["users"], r.stdout
    assert (added / "users").read_bytes() == added_users
    assert conf.read_text() == edited
    for p, data in kept.items():
        assert p.read_bytes() == data, p
    assert sorted(p.name for p in c.path("/var/spool/posthorn/new")
                  .iterdir()) == queued

    # remove: the programs go (and the services are stopped: the prerm
    # that did it is debhelper's); the configuration and the queue stay.
    prerm = c.path("/var/lib/dpkg/info/posthorn.prerm").read_text()
    assert "deb-systemd-invoke stop" in prerm
    c.run(["apt-get", "remove", "-y", "-q", "posthorn"])
    assert c.status() == f"deinstall ok config-files {V2}"
    assert not c.path("/usr/sbin/smtp-in").exists()
    assert not c.path("/lib/systemd/system/posthorn-smtp.socket").exists()
    assert conf.read_text() == edited
    for p, data in kept.items():
        assert p.read_bytes() == data, p
    assert sorted(p.name for p in c.path("/var/spool/posthorn/new")
                  .iterdir()) == queued

    # purge: the configuration (but for its git history), the queue and
    # the statoverrides go; the user and groups stay, as Debian keeps system users, and what the
    # package did not make: install.sh's logs (without systemd).
    logs = c.path("/var/log/posthorn/queue-run.log")
    logs.parent.mkdir()
    logs.write_text("install.sh's\n")
    # The administrator's git history of /etc/posthorn is theirs too
    # (no git in the root: its files stand for one).
    history = c.path("/etc/posthorn/.git")
    history.mkdir()
    (history / "HEAD").write_text("ref: refs/heads/main\n")
    gitignore = c.path("/etc/posthorn/.gitignore").read_text()
    r = c.run(["apt-get", "purge", "-y", "-q", "posthorn"])
    assert "kept /etc/posthorn/.git" in r.stderr, r.stderr
    assert logs.read_text() == "install.sh's\n"
    assert c.status() == "unknown" or "not-installed" in c.status()
    assert (history / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert "/certs/privkey.pem" in gitignore
    assert c.path("/etc/posthorn/.gitignore").read_text() == gitignore
    assert sorted(p.name for p in c.path("/etc/posthorn").iterdir()) == \
        [".git", ".gitignore"]
    assert not c.path("/var/spool/posthorn").exists()
    # (--list exits 1 when it lists nothing.)
    r = c.run(["dpkg-statoverride", "--list"], check=False)
    assert "posthorn" not in r.stdout, r.stdout
    assert "posthorn:" in c.path("/etc/passwd").read_text()


def test_install_without_a_domain_does_not_fail(debs, chroot):
    """A host name with no dot and no domain given: the package installs,
    says how to make /etc/posthorn, and "dpkg-reconfigure" with the
    domain makes it."""
    c = chroot
    debs, _ = debs
    deb = debs[V1]
    shutil.copy(deb, c.path(f"/tmp/{deb.name}"))
    r = c.run(["unshare", "--uts", "sh", "-c",
               f"hostname nodot && apt-get install -y -q "
               f"--no-install-recommends /tmp/{deb.name}"])
    assert c.status() == f"install ok installed {V1}"
    assert "POSTHORN_DOMAIN=example.org dpkg-reconfigure posthorn" in \
        r.stdout + r.stderr
    assert not c.path("/etc/posthorn/posthorn.conf").exists()
    c.run(["unshare", "--uts", "sh", "-c",
           "hostname nodot && dpkg-reconfigure posthorn"],
          env={"POSTHORN_DOMAIN": DOMAIN, "POSTHORN_HOSTNAME": HOST})
    check_installed(c, V1)

    # The administrator's own statoverride (sendmail for the group
    # alone) stands: the postinst of dpkg-reconfigure (and of every
    # upgrade) sets the programs' modes only through dpkg-statoverride,
    # which keeps an override that is there.
    inject = "/usr/sbin/queue-inject"
    c.run(["dpkg-statoverride", "--remove", inject])
    c.run(["dpkg-statoverride", "--update", "--add", "root",
           "posthorn-drop", "2750", inject])
    c.run(["dpkg-reconfigure", "posthorn"])
    assert c.owner(inject) == "root:posthorn-drop 2750"
    r = c.run(["dpkg-statoverride", "--list", inject])
    assert r.stdout.strip() == f"root posthorn-drop 2750 {inject}", r.stdout


# Run at the end of the container's boot: what a user checks after the
# install, then "apt-get remove" under the running systemd, and what it
# stopped.  Its output is read from the overlay once the container is
# down.
BOOT_CHECK = r"""#!/bin/bash
exec >/root/boot-check 2>&1
units="posthorn-smtp.socket posthorn-submission.socket
posthorn-submissions.socket posthorn-smtp.service posthorn-submission.service
posthorn-submissions.service posthorn-queue.service posthorn-tlsrpt.timer"
g=$(timeout 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/25 && head -n 1 <&3 &&
    printf "QUIT\r\n" >&3')
echo "greeting $g"
for u in $units; do echo "up $u $(systemctl is-active $u)"; done
# A report run under way at removal: one that takes its time.
mkdir -p /run/systemd/system/posthorn-tlsrpt.service.d
printf '[Service]\nExecStart=\nExecStart=/bin/sleep 600\n' \
    >/run/systemd/system/posthorn-tlsrpt.service.d/held.conf
systemctl daemon-reload
systemctl start --no-block posthorn-tlsrpt.service
echo "up posthorn-tlsrpt.service $(systemctl is-active posthorn-tlsrpt.service)"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q posthorn \
    >/root/remove.log 2>&1
echo "removed $?"
for u in $units posthorn-tlsrpt.service; do
    echo "down $u $(systemctl is-active $u)"
done
systemctl --no-block poweroff
"""
BOOT_WAIT = 300      # seconds: a boot, the checks, the removal, the halt


def test_services_start_under_systemd_and_stop_on_remove(debs, chroot):
    """Booted with systemd (systemd-nspawn, a private network): the
    sockets listen, smtp-listen greets on port 25, queue-run runs; and
    "apt-get remove" stops them all, a TLS report run under way too."""
    c = chroot
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("no systemd-nspawn (systemd-container)")
    debs, _ = debs
    deb = debs[V1]
    shutil.copy(deb, c.path(f"/tmp/{deb.name}"))
    c.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
           "systemd-sysv", f"/tmp/{deb.name}"],
          env={"POSTHORN_DOMAIN": DOMAIN, "POSTHORN_HOSTNAME": HOST})
    c.path("/usr/sbin/policy-rc.d").unlink()
    c.path("/usr/local/sbin/boot-check").write_text(BOOT_CHECK)
    c.path("/usr/local/sbin/boot-check").chmod(0o755)
    c.path("/etc/systemd/system/boot-check.service").write_text(
        "[Unit]\nAfter=multi-user.target\n"
        "[Service]\nType=oneshot\nExecStart=/usr/local/sbin/boot-check\n"
        "[Install]\nWantedBy=multi-user.target\n")
    c.path("/etc/systemd/system/multi-user.target.wants/"
           "boot-check.service").symlink_to(
               "/etc/systemd/system/boot-check.service")
    c.close(keep=1)
    probe = subprocess.run(
        ["systemd-nspawn", "-q", "-D", str(c.root), "--register=no",
         "--keep-unit", "--private-network", "/bin/true"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=BOOT_WAIT)
    if probe.returncode != 0:
        pytest.skip("systemd-nspawn cannot run a container here: "
                    + (probe.stdout + probe.stderr).strip()[-300:])
    r = subprocess.run(
        ["systemd-nspawn", "-q", "-D", str(c.root), "--register=no",
         "--keep-unit", "--private-network", "-b"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=BOOT_WAIT)
    out = c.path("/root/boot-check")
    assert out.exists(), "no boot check: " + (r.stdout + r.stderr)[-2000:]
    said = out.read_text()
    assert f"greeting 220 {HOST}" in said, said
    for u in UNITS:
        if u != "posthorn-tlsrpt.service":
            assert f"up {u} active" in said, said
            assert f"down {u} inactive" in said, said
    # Started by its timer alone, and stopped on remove all the same
    # (a oneshot stopped while it runs is left "failed").
    assert "up posthorn-tlsrpt.service activating" in said, said
    assert re.search(r"^down posthorn-tlsrpt\.service (inactive|failed)$",
                     said, re.M), said
    assert "removed 0" in said, said + c.path("/root/remove.log").read_text()
    assert c.path("/etc/posthorn/posthorn.conf").exists()
