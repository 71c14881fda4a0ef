"""The installed layout: `make install` splits the programs between
PREFIX/sbin and PREFIX/bin (dkimsign, a user's tool), and a program that
starts another must find it there as well as in a build directory, where
they all sit together.  queue-run, in sbin, signing with dkimsign, in bin,
is the case that once failed."""

import os
import pathlib
import subprocess

from conftest import BIN, ROOT, SAN, WAIT, QueueRun


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
              "aliases", "mailq", "queue-inject", "sendmail", "mailuser"):
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
