"""The man pages as a reader meets them (issue 12, item 8): groff, which
man(1) uses, reads every page without a warning (mandoc's lint misses
some of what groff trips on: a word of a reference's title taken for a
macro left a STANDARDS section empty, "cannot chop empty macro");
`man -k posthorn` finds every page once `make install` has put them in
place; and posthorn(7), the overview, is one of them and names them all.
"""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, SAN

MAN = ROOT / "man"
PAGES = sorted(p for p in MAN.iterdir() if re.fullmatch(r".+\.[1-8]", p.name))

# The STANDARDS entry that queue-run(8) had: groff reads "An" as a macro.
BAD_PAGE = """.Dd December 6, 2026
.Dt BAD 8
.Os
.Sh NAME
.Nm bad
.Nd a page that groff stumbles on
.Sh STANDARDS
.Rs
.%R RFC 3464
.%T An Extensible Message Format for Delivery Status Notifications
.Re
"""


def groff_warnings(path):
    """What groff and man --warnings say about the page at path."""
    assert shutil.which("groff") and shutil.which("man"), \
        "groff-base and man-db are test dependencies (t/deps.sh)"
    g = subprocess.run(["groff", "-mandoc", "-ww", "-z", "-Tutf8", str(path)],
                       capture_output=True, text=True, timeout=60)
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="",
               LC_ALL="C.UTF-8")
    m = subprocess.run(["man", "--warnings", "-l", str(path)], env=env,
                       capture_output=True, text=True, timeout=60)
    return (g.stderr + m.stderr).strip()


def test_the_check_sees_what_man_warned_about(tmp_path):
    bad = tmp_path / "bad.8"
    bad.write_text(BAD_PAGE)
    assert "cannot chop empty macro" in groff_warnings(bad)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_groff_reads_the_page_without_a_warning(page):
    assert groff_warnings(page) == ""


def test_make_lint_man_runs_groff_too():
    r = subprocess.run(["make", "-s", "-n", "lint-man"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "groff -mandoc -ww" in r.stdout


def test_man_k_posthorn_finds_every_installed_page(tmp_path):
    stage = tmp_path / "stage"
    r = subprocess.run(
        ["make", "-s", "install", f"DESTDIR={stage}", "PREFIX=/usr/local",
         f"BUILD={BIN.parent}", f"SAN={'1' if SAN else ''}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    mandir = stage / "usr" / "local" / "share" / "man"
    assert (mandir / "man7" / "posthorn.7").is_file()
    r = subprocess.run(["mandb", "-q", str(mandir)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["apropos", "posthorn"], capture_output=True,
                       text=True, timeout=60,
                       env=dict(os.environ, MANPATH=str(mandir)))
    found = set(re.findall(r"^(\S+) \((\d)\)", r.stdout, re.M))
    want = {(p.stem, p.suffix[1:]) for p in PAGES}
    assert want - found == set(), r.stdout


def test_posthorn_7_names_every_page_and_every_program():
    text = (MAN / "posthorn.7").read_text()
    see_also = text[text.index(".Sh SEE ALSO"):text.index(".Sh STANDARDS")]
    named = set(re.findall(r"^\.Xr (\S+) (\d)", see_also, re.M))
    others = {(p.stem, p.suffix[1:]) for p in PAGES} - {("posthorn", "7")}
    assert named == others
    programs = text[text.index(".Ss The programs"):
                    text.index(".Ss How mail flows")]
    listed = set(re.findall(r"^\.It Xr (\S+) \d", programs, re.M))
    built = {p.name for p in BIN.iterdir() if os.access(p, os.X_OK)}
    assert built - listed == set()
