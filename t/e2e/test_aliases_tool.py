"""aliases(8) end to end: the built program against a throw-away
configuration (conftest's `conf`: example.com with users alice and bob,
catchall.example whose "*" goes to alice@example.com), checking what a
user reads: the lines printed and the exit status."""

import os

import pytest

ALIASES = """\
# written by the test
info: bob
team: alice, bob, friend@Gmail.com
all: team, info
handler: |  /usr/bin/handler --work "x"
alice: alice, alice@gmail.example
"""

EX_USAGE, EX_TEMPFAIL, EX_CONFIG = 64, 75, 78


def run(conf, *args, **kw):
    p = conf.run("aliases", *args, **kw)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@pytest.fixture
def aliased(conf):
    (conf.dir / "domains" / "example.com" / "aliases").write_text(ALIASES)
    return conf


def mailbox(conf, user, domain="example.com"):
    return f"mailbox {user}@{domain} ({conf.mail}/{domain}/{user}/)"


def test_each_address_prints_its_targets(aliased):
    conf = aliased
    rc, out, err = run(conf, "team@example.com", "handler@example.com",
                       "someone@gmail.com", "x@catchall.example")
    assert (rc, err) == (0, "")
    assert out.splitlines() == [
        "team@example.com: " + mailbox(conf, "alice"),
        "team@example.com: remote alice@gmail.example",
        "team@example.com: " + mailbox(conf, "bob"),
        "team@example.com: remote friend@gmail.com",
        'handler@example.com: pipe "/usr/bin/handler --work \\"x\\"" '
        "(alias handler@example.com)",
        "someone@gmail.com: remote someone@gmail.com",
        "x@catchall.example: " + mailbox(conf, "alice"),
        "x@catchall.example: remote alice@gmail.example",
    ]


def test_a_target_reached_twice_is_printed_once(aliased):
    rc, out, _ = run(aliased, "all@example.com")
    assert rc == 0
    lines = out.splitlines()
    assert lines.count("all@example.com: " + mailbox(aliased, "bob")) == 1
    assert len(lines) == 4, out


def test_drop_characters_and_suffix_reach_the_user(aliased):
    (aliased.dir / "domains" / "example.com" / "aliases").write_text("")
    rc, out, _ = run(aliased, "B.o.B+lists@example.com")
    assert rc == 0
    assert out == "B.o.B+lists@example.com: " + mailbox(aliased, "bob") + "\n"


def test_unknown_broken_and_bad_addresses_exit_1(aliased):
    d = aliased.dir / "domains" / "example.com"
    (d / "aliases").write_text(ALIASES + "ghosts: alice, ghost\n")
    rc, out, _ = run(aliased, "info@example.com", "nobody@example.com",
                     "ghosts@example.com", "not an address")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0] == "info@example.com: " + mailbox(aliased, "bob")
    assert lines[1] == "nobody@example.com: no such user"
    assert lines[2] == (f"ghosts@example.com: broken: {d}/aliases:7: "
                        "ghost: no such user or alias")
    assert lines[3].startswith("not an address: not an address: ")
    assert len(lines) == 4


def test_loop_is_broken(aliased):
    (aliased.dir / "domains" / "example.com" / "aliases").write_text(
        "a: b\nb: a\n")
    rc, out, _ = run(aliased, "a@example.com")
    assert rc == 1
    assert out == ("a@example.com: broken: alias loop: a@example.com -> "
                   "b@example.com -> a@example.com\n")


def test_postmaster_alone_is_the_hostname_s(conf):
    rc, out, _ = run(conf, "postmaster")
    assert rc == 0
    assert out == "postmaster: " + mailbox(conf, "postmaster",
                                           "mx.example.net") + "\n"


def test_unreadable_file_is_a_temporary_failure_exit_75(aliased):
    d = aliased.dir / "domains" / "example.com"
    (d / "aliases").unlink()
    (d / "aliases").mkdir()     # open works, read fails: even for root
    rc, out, _ = run(aliased, "alice@example.com", "nobody@example.com")
    assert rc == EX_TEMPFAIL
    assert out.startswith(f"alice@example.com: temporary failure: "
                          f"{d}/aliases: ")
    rc, out, err = run(aliased, "--check", "example.com")
    assert rc == EX_TEMPFAIL
    assert "example.com" in err and out == ""


def test_check_of_good_files_prints_nothing(aliased):
    for opt in ("--check", "-c"):
        rc, out, err = run(aliased, opt)
        assert (rc, out, err) == (0, "", "")


def test_check_reports_file_and_line(aliased):
    d = aliased.dir / "domains" / "example.com"
    (d / "aliases").write_text(
        "info: alice\n"
        "oops no colon\n"
        "# comment\n"
        "team: alice, carol\n"
        "info: bob\n"
        "x@catchall.example: bob\n"
        "loop: loop\n")
    (aliased.dir / "domains" / "catchall.example" / "aliases").write_text(
        "*: nobody@example.com\n")
    rc, out, err = run(aliased, "--check")
    assert (rc, err) == (1, "")
    f, g = d / "aliases", aliased.dir / "domains" / "catchall.example" / \
        "aliases"
    assert out.splitlines() == [
        f"{g}:1: nobody@example.com: no such user or alias",
        f"{f}:2: no ':' after a name",
        f"{f}:4: carol: no such user or alias",
        f"{f}:5: info: named again; line 1 is the one used",
        f"{f}:6: x@catchall.example: a name of another domain "
        "(this file is example.com's)",
        f"{f}:7: alias loop: loop@example.com -> loop@example.com",
    ]
    # Only the domains named.
    rc, out, _ = run(aliased, "-c", "catchall.example")
    assert rc == 1 and out.splitlines() == [
        f"{g}:1: nobody@example.com: no such user or alias"]
    rc, out, _ = run(aliased, "-c", "nowhere.example")
    assert (rc, out) == (1, "nowhere.example: not a local domain\n")


def test_dir_option_comes_before_the_environment(aliased):
    rc, out, _ = run(aliased, "-C", str(aliased.dir), "info@example.com",
                     env={"POSTHORN_CONF": "/nonexistent/posthorn"})
    assert rc == 0
    assert out == "info@example.com: " + mailbox(aliased, "bob") + "\n"


def test_usage_and_configuration_errors(conf):
    assert run(conf)[0] == EX_USAGE
    rc, _, err = run(conf, "-x", "a@example.com")
    assert rc == EX_USAGE and "usage:" in err
    (conf.dir / "posthorn.conf").write_text("no_such_key = 1\n")
    rc, out, err = run(conf, "a@example.com")
    assert (rc, out) == (EX_CONFIG, "")
    assert "posthorn.conf:1" in err
    assert run(conf, "--check")[0] == EX_CONFIG
