"""smtp-auth(8) end to end: the real program, run as smtp-in runs it (one
request line on standard input, one answer line on standard output, the
class in the exit code), against a configuration made by conftest.py and
a password set with mailuser(8).  The decisions themselves are pinned in
t/unit/auth_test.c; this checks the program around them: options,
environment, the pipe, the exit codes, and that the password never comes
out.
"""

import base64
import resource

import pytest

from conftest import SAN

PASSWORD = "correct horse battery"
EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain(authcid, password, authzid=""):
    return "PLAIN " + b64("\0".join((authzid, authcid, password))) + "\n"


def login(user, password):
    return f"LOGIN {b64(user)} {b64(password)}\n"


@pytest.fixture
def aconf(conf):
    """conftest's configuration, alice with a password (bob stays
    receive-only)."""
    conf.add_user("alice@example.com", PASSWORD)
    return conf


def auth(conf, request, *args, env=None, **kw):
    if isinstance(request, str):
        request = request.encode()
    r = conf.run("smtp-auth", *args, input=request, env=env, **kw)
    assert PASSWORD.encode() not in r.stdout + r.stderr
    assert b"AddressSanitizer" not in r.stderr, r.stderr
    assert b"runtime error" not in r.stderr, r.stderr
    return r


def answer(r):
    """The one answer line, without its LF."""
    assert r.stdout.endswith(b"\n") and r.stdout.count(b"\n") == 1, r.stdout
    return r.stdout[:-1].decode()


def test_right_password_with_plain_and_login(aconf):
    for req in (plain("alice@example.com", PASSWORD),
                plain("ALICE@Example.COM", PASSWORD,
                      authzid="alice@example.com"),
                login("Alice@EXAMPLE.com", PASSWORD)):
        r = auth(aconf, req)
        assert (r.returncode, answer(r)) == (0, "ok alice@example.com"), r
        assert r.stderr == b""


def test_refusals_exit_1_and_say_why_without_the_password(aconf):
    cases = [
        (plain("alice@example.com", PASSWORD + "x"), "wrong password"),
        (login("alice@example.com", "nope"), "wrong password"),
        (plain("bob@example.com", PASSWORD), "receive-only"),
        (plain("carol@example.com", PASSWORD), "no such user"),
        (plain("alice@example.org", PASSWORD), "not a local domain"),
        (plain("alice@example.com", PASSWORD, authzid="bob@example.com"),
         "authzid"),
    ]
    for req, why in cases:
        r = auth(aconf, req)
        assert r.returncode == 1, (req, r)
        line = answer(r)
        assert line.startswith("no ") and why in line, (req, line)
        assert "nope" not in line


def test_malformed_requests_exit_2(aconf):
    good = b64("\0alice@example.com\0" + PASSWORD)
    cases = [
        f"PLAIN {good[:-1]}\n",                 # padding cut
        f"PLAIN {good.replace('A', '*', 1)}\n",  # not in the alphabet
        f"PLAIN {good[:8]} {good[8:]}\n",       # a space inside
        f"PLAIN {good}\r\n",                    # CR
        f"PLAIN {b64('alice@example.com')}\n",  # no NULs
        plain("", PASSWORD),                    # empty login
        plain("alice@example.com", ""),         # empty password
        plain("alice", PASSWORD),               # not user@domain
        login("alice\0@example.com", PASSWORD),
        "CRAM-MD5 AAAA\n",
        f"PLAIN {good}\nPLAIN {good}\n",        # two lines
        f"PLAIN {good}",                        # no LF
        "",                                     # nothing
        "PLAIN " + "A" * 5000 + "\n",           # over the bound
    ]
    for req in cases:
        r = auth(aconf, req)
        assert r.returncode == 2, (req, r)
        assert answer(r).startswith("bad "), (req, r)


def test_conf_from_option_before_environment(aconf, tmp_path):
    req = plain("alice@example.com", PASSWORD)
    env = {"POSTHORN_CONF": str(tmp_path / "nowhere")}
    r = auth(aconf, req, env=env)
    assert r.returncode == EX_CONFIG and r.stdout == b"", r
    assert b"nowhere" in r.stderr
    r = auth(aconf, req, "-C", str(aconf.dir), env=env)
    assert (r.returncode, answer(r)) == (0, "ok alice@example.com")


def test_usage_and_configuration_errors(aconf):
    req = plain("alice@example.com", PASSWORD)
    r = auth(aconf, req, "extra")
    assert r.returncode == EX_USAGE and r.stdout == b""
    assert b"usage" in r.stderr
    r = auth(aconf, req, "-x")
    assert r.returncode == EX_USAGE and r.stdout == b""
    (aconf.dir / "posthorn.conf").write_text("no_such_key = 1\n")
    r = auth(aconf, req)
    assert r.returncode == EX_CONFIG and r.stdout == b""
    assert b"posthorn.conf" in r.stderr


def test_unreadable_users_file_is_temporary(aconf):
    users = aconf.dir / "domains" / "example.com" / "users"
    users.unlink()
    users.mkdir()      # chmod 000 would not stop root
    r = auth(aconf, plain("alice@example.com", PASSWORD))
    assert r.returncode == EX_TEMPFAIL, r
    assert answer(r).startswith("temp "), r


@pytest.mark.skipif(SAN, reason="ASan reserves terabytes of address space")
def test_no_memory_for_argon2id_is_temporary(aconf):
    def small():
        lim = 48 << 20     # below argon2id's 64 MiB, above the rest
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    req = plain("alice@example.com", PASSWORD)
    r = auth(aconf, req, preexec_fn=small)
    assert r.returncode == EX_TEMPFAIL, r
    assert "memory" in answer(r)
    r = auth(aconf, req)
    assert r.returncode == 0, r

