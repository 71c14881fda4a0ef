"""mailuser(8) end to end: add, check, del and list through the real
program, and the users file never half-written: with fsync, write or
rename made to fail under strace, the file stays byte for byte what it
was and no temporary is left; concurrent adds all land (flock).

Each test makes its own configuration directory under tmp_path; the
program comes from $POSTHORN_BIN.
"""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("POSTHORN_BIN") or ROOT / "build" / "bin")
MAILUSER = str(BIN / "mailuser")
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87",
}
TIMEOUT = 60  # seconds: the bound of every run
DOMAIN = "example.org"

EX_USAGE, EX_DATAERR, EX_CONFIG = 64, 65, 78


@pytest.fixture
def cdir(tmp_path):
    d = tmp_path / "etc"
    d.mkdir()
    (d / "posthorn.conf").write_text("hostname = mx.example.net\n")
    return d


def run(cdir, *args, password=None, prefix=(), env=None):
    e = dict(os.environ)
    e.pop("POSTHORN_CONF", None)
    e.update(SAN_ENV)
    e.update(env or {})
    argv = [*prefix, MAILUSER]
    if cdir is not None:
        argv += ["-C", str(cdir)]
    data = None if password is None else password.encode() + b"\n"
    return subprocess.run([*argv, *args], input=data, env=e,
                          stdin=None if data is not None
                          else subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT)


def users_file(cdir, domain=DOMAIN):
    return cdir / "domains" / domain / "users"


def test_add_then_check_right_and_wrong_password(cdir):
    r = run(cdir, "add", "alice@" + DOMAIN, password="correct horse")
    assert r.returncode == 0, r.stderr
    assert b"is now a local domain" in r.stderr
    line = users_file(cdir).read_text()
    assert line.startswith("alice:$argon2id$v=19$m=65536,"), line
    assert b"correct horse" not in r.stderr + r.stdout
    assert (cdir / "domains" / DOMAIN).stat().st_mode & 0o777 == 0o755
    assert users_file(cdir).stat().st_mode & 0o777 == 0o640

    r = run(cdir, "check", "alice@" + DOMAIN, password="correct horse")
    assert r.returncode == 0, r.stderr
    r = run(cdir, "check", "Alice@EXAMPLE.org", password="correct horse")
    assert r.returncode == 0, r.stderr
    r = run(cdir, "check", "alice@" + DOMAIN, password="correct horsf")
    assert r.returncode == 1
    assert r.stderr.startswith(b"mailuser: ")
    assert b"correct" not in r.stderr
    r = run(cdir, "check", "nobody@" + DOMAIN, password="correct horse")
    assert r.returncode == 1


def test_add_of_existing_user_changes_password(cdir):
    assert run(cdir, "add", "alice@" + DOMAIN, password="one").returncode == 0
    r = run(cdir, "add", "alice@" + DOMAIN, password="two")
    assert r.returncode == 0, r.stderr
    assert b"password changed" in r.stderr
    assert len(users_file(cdir).read_text().splitlines()) == 1
    assert run(cdir, "check", "alice@" + DOMAIN,
               password="one").returncode == 1
    assert run(cdir, "check", "alice@" + DOMAIN,
               password="two").returncode == 0


def test_password_line_may_end_in_crlf(cdir):
    assert run(cdir, "add", "alice@" + DOMAIN,
               password="pw\r").returncode == 0
    assert run(cdir, "check", "alice@" + DOMAIN,
               password="pw").returncode == 0


def test_empty_password_is_refused(cdir):
    r = run(cdir, "add", "alice@" + DOMAIN, password="")
    assert r.returncode == EX_DATAERR
    assert not (cdir / "domains").exists()


def test_receive_only_user_cannot_check(cdir):
    r = run(cdir, "add", "-r", "list@" + DOMAIN)
    assert r.returncode == 0, r.stderr
    assert users_file(cdir).read_text() == "list:!\n"
    r = run(cdir, "check", "list@" + DOMAIN, password="!")
    assert r.returncode == 1
    assert b"receive-only" in r.stderr
    r = run(cdir, "check", "list@" + DOMAIN, password="")
    assert r.returncode != 0


def test_del_removes_user_and_keeps_the_rest(cdir):
    d = cdir / "domains" / DOMAIN
    d.mkdir(parents=True)
    users_file(cdir).write_bytes(
        b"# our users\r\nbob:!\n\nalice:!\n# end\n")
    r = run(cdir, "del", "ALICE@" + DOMAIN)
    assert r.returncode == 0, r.stderr
    assert (users_file(cdir).read_bytes() ==
            b"# our users\r\nbob:!\n\n# end\n")
    r = run(cdir, "del", "alice@" + DOMAIN)
    assert r.returncode == 1
    assert b"no such user" in r.stderr


def test_list_one_domain_or_all(cdir):
    assert run(cdir, "add", "-r", "zed@b.example").returncode == 0
    assert run(cdir, "add", "bob@a.example",
               password="pw").returncode == 0
    assert run(cdir, "add", "-r", "amy@a.example").returncode == 0
    r = run(cdir, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (b"bob@a.example\n"
                        b"amy@a.example\treceive-only\n"
                        b"zed@b.example\treceive-only\n")
    r = run(cdir, "list", "B.example")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"zed@b.example\treceive-only\n"
    r = run(cdir, "list", "nowhere.example")
    assert r.returncode == 1
    assert r.stdout == b""


def test_config_dir_from_environment(cdir):
    r = run(None, "add", "-r", "env@" + DOMAIN,
            env={"POSTHORN_CONF": str(cdir)})
    assert r.returncode == 0, r.stderr
    assert users_file(cdir).read_text() == "env:!\n"


@pytest.mark.parametrize("args,code", [
    ((), EX_USAGE),
    (("frob",), EX_USAGE),
    (("add",), EX_USAGE),
    (("del", "a@b.example", "c@d.example"), EX_USAGE),
    (("add", "-r", "no-domain"), EX_DATAERR),
    (("add", "-r", "a b@example.org"), EX_DATAERR),
    (("add", "-r", "a/b@example.org"), EX_DATAERR),
    (("add", "-r", "a@[192.0.2.1]"), EX_DATAERR),
])
def test_bad_usage_and_addresses(cdir, args, code):
    r = run(cdir, *args)
    assert r.returncode == code, r.stderr
    assert not (cdir / "domains").exists()


def test_malformed_users_file_is_a_config_error(cdir):
    d = cdir / "domains" / DOMAIN
    d.mkdir(parents=True)
    users_file(cdir).write_text("alice:!\nthis is no user line\n")
    r = run(cdir, "add", "-r", "bob@" + DOMAIN)
    assert r.returncode == EX_CONFIG
    assert users_file(cdir).read_text() == "alice:!\nthis is no user line\n"


STRACE = shutil.which("strace")


@pytest.mark.skipif(STRACE is None, reason="strace not installed")
@pytest.mark.parametrize("inject", [
    "fsync:error=EIO",
    "write:error=ENOSPC",
    "rename,renameat,renameat2:error=ENOSPC",
])
def test_failed_add_leaves_the_file_as_it_was(cdir, inject):
    assert run(cdir, "add", "alice@" + DOMAIN, password="pw").returncode == 0
    d = cdir / "domains" / DOMAIN
    with users_file(cdir).open("a") as f:
        f.write("# a comment that must survive\r\n")
    before = users_file(cdir).read_bytes()
    r = run(cdir, "add", "bob@" + DOMAIN, password="pw",
            prefix=(STRACE, "-f", "-qq", "-o", "/dev/null",
                    "-e", "inject=" + inject))
    assert r.returncode != 0, r.stderr
    assert users_file(cdir).read_bytes() == before
    assert sorted(p.name for p in d.iterdir()) == ["users"]
    # And without the fault the same command works.
    r = run(cdir, "add", "bob@" + DOMAIN, password="pw")
    assert r.returncode == 0, r.stderr
    assert users_file(cdir).read_bytes().startswith(before)


def test_concurrent_adds_all_land(cdir):
    n = 20
    assert run(cdir, "add", "-r", "first@" + DOMAIN).returncode == 0
    e = dict(os.environ)
    e.update(SAN_ENV)
    procs = [subprocess.Popen(
        [MAILUSER, "-C", str(cdir), "add", f"user{i}@{DOMAIN}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=e) for i in range(n)]
    for p in procs:
        p.stdin.write(b"pw\n")
        p.stdin.close()
    for p in procs:
        p.wait(timeout=TIMEOUT)
        assert p.returncode == 0, p.stderr.read()
        p.stdout.close()
        p.stderr.close()
    names = [line.split(":")[0]
             for line in users_file(cdir).read_text().splitlines()]
    assert sorted(names) == sorted(["first"] + [f"user{i}"
                                                for i in range(n)])
    d = cdir / "domains" / DOMAIN
    assert sorted(p.name for p in d.iterdir()) == ["users"]


# --- what the tool says (issue 12, item 9) ---------------------------------

def test_check_says_what_it_checked(cdir):
    assert run(cdir, "add", "alice@" + DOMAIN, password="pw").returncode == 0
    r = run(cdir, "check", "Alice@" + DOMAIN, password="pw")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (f"alice@{DOMAIN}: password right (checked "
                                 f"against {users_file(cdir)})\n")
    r = run(cdir, "check", "alice@" + DOMAIN, password="wrong")
    assert r.returncode == 1 and r.stdout == b""
    assert b"alice@example.org: wrong password" in r.stderr
    r = run(cdir, "check", "bob@" + DOMAIN, password="pw")
    assert r.returncode == 1 and b"bob@example.org: no such user" in r.stderr


def test_password_from_a_file_or_a_descriptor(cdir, tmp_path):
    """-p FILE: for scripts, with standard input left alone (a terminal
    here would otherwise get a prompt) and nothing on the command line."""
    pw = tmp_path / "pw"
    pw.write_text("from a file\nnot this line\n")
    r = run(cdir, "add", "-p", str(pw), "alice@" + DOMAIN)
    assert r.returncode == 0, r.stderr
    assert b"added alice@example.org" in r.stderr
    assert run(cdir, "check", "alice@" + DOMAIN,
               password="from a file").returncode == 0
    assert run(cdir, "check", "-p", str(pw),
               "alice@" + DOMAIN).returncode == 0
    # a descriptor, as /dev/fd/N: the password never is an argument
    rfd, wfd = os.pipe()
    os.write(wfd, b"from a file\n")
    os.close(wfd)
    e = dict(os.environ, **SAN_ENV)
    r = subprocess.run([MAILUSER, "-C", str(cdir), "check", "-p",
                        f"/dev/fd/{rfd}", "alice@" + DOMAIN],
                       pass_fds=[rfd], stdin=subprocess.DEVNULL, env=e,
                       capture_output=True, timeout=TIMEOUT)
    os.close(rfd)
    assert r.returncode == 0, r.stderr
    assert b"password right" in r.stdout
    # wrong, missing, and -r with a password
    (tmp_path / "bad").write_text("nope\n")
    assert run(cdir, "check", "-p", str(tmp_path / "bad"),
               "alice@" + DOMAIN).returncode == 1
    r = run(cdir, "check", "-p", str(tmp_path / "none"), "alice@" + DOMAIN)
    assert r.returncode == 74 and str(tmp_path / "none").encode() in r.stderr
    r = run(cdir, "add", "-r", "-p", str(pw), "bob@" + DOMAIN)
    assert r.returncode == EX_USAGE
    assert "bob:" not in users_file(cdir).read_text()


def test_del_says_what_it_leaves_behind(cdir, tmp_path):
    maildirs = tmp_path / "mail"
    (cdir / "posthorn.conf").write_text(
        f"hostname = mx.example.net\nmaildirs = {maildirs}\n")
    for u in ("alice", "bob"):
        assert run(cdir, "add", "-r", f"{u}@{DOMAIN}").returncode == 0
    (maildirs / DOMAIN / "alice" / "new").mkdir(parents=True)
    (cdir / "domains" / DOMAIN / "aliases").write_text("info: bob\n")
    d = cdir / "domains" / DOMAIN
    r = run(cdir, "del", "alice@" + DOMAIN)
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert f"removed alice@{DOMAIN}" in err
    assert f"stays in {maildirs / DOMAIN / 'alice'}/" in err
    assert "no users left" not in err
    # the last one: the domain is still local, and the message says how
    # to stop that
    r = run(cdir, "del", "bob@" + DOMAIN)
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "bob@example.org: the mail" not in err   # no Maildir of bob's
    assert f"{DOMAIN} has no users left but is still a local domain" in err
    assert f"{d} holds aliases, users" in err
    assert f"rm -r {d}" in err
    assert d.is_dir()
