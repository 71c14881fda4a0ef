"""Secrets in the configuration tree (issue 12, item 7): /etc/posthorn
is kept in git, so install-gitignore.sh (run by install.sh) keeps the TLS
key, the DKIM keys and srs.secret out of it; and a secret that others can
read, as a restore by "git clone" leaves it (mode 0644), is refused by
every program that reads one, with the command that fixes it."""

import shutil
import smtplib
import subprocess

from conftest import HOSTNAME, ROOT, WAIT, QueueRun, Server, make_cert

SCRIPT = ROOT / "install-gitignore.sh"
SECRETS = ["certs/privkey.pem", "certs/mx.example.org/privkey.pem",
           "domains/example.org/dkim/202612a.rsa",
           "domains/example.org/dkim/202612b.ed25519", "srs.secret",
           "secrets/ses"]
PUBLIC = ["posthorn.conf", "routes", "certs/fullchain.pem",
          "certs/mx.example.org/fullchain.pem", "domains/example.org/users",
          "domains/example.org/aliases", ".gitignore"]
MESSAGE = (b"From: alice@example.com\r\nTo: bob@example.net\r\n"
           b"Subject: hi\r\n\r\nbody\r\n")


def gitignore(d):
    return subprocess.run(["sh", str(SCRIPT), str(d)], capture_output=True,
                          text=True, timeout=60)


def committed(d):
    """What "git add ." in d would commit."""
    assert shutil.which("git"), "git is not installed (t/deps.sh)"
    subprocess.run(["git", "init", "-q", str(d)], check=True, timeout=60)
    subprocess.run(["git", "-C", str(d), "add", "."], check=True,
                   timeout=60)
    r = subprocess.run(["git", "-C", str(d), "ls-files"], check=True,
                       capture_output=True, text=True, timeout=60)
    return set(r.stdout.split())


def tree(d):
    for f in SECRETS + PUBLIC[:-1]:
        (d / f).parent.mkdir(parents=True, exist_ok=True)
        (d / f).write_text(f"{f}\n")


def test_git_add_of_the_configuration_commits_no_secret(tmp_path):
    tree(tmp_path)
    r = gitignore(tmp_path)
    assert r.returncode == 0 and "wrote" in r.stdout, r.stdout + r.stderr
    assert committed(tmp_path) == set(PUBLIC)


def test_an_edited_gitignore_only_gains_the_missing_lines(tmp_path):
    tree(tmp_path)
    mine = "# mine\n/routes\n/srs.secret\n!/domains/*/dkim/*.rsa"
    (tmp_path / ".gitignore").write_text(mine)
    r = gitignore(tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / ".gitignore").read_text()
    # the administrator's lines stay as they were, first; the negated
    # pattern is not added back; the other secrets are
    assert text.startswith(mine + "\n")
    added = text[len(mine) + 1:].split()
    assert added == ["/certs/privkey.pem", "/certs/*/privkey.pem",
                     "/domains/*/dkim/*.ed25519", "/secrets/"]
    assert "added" in r.stdout and "/certs/privkey.pem" in r.stdout
    files = committed(tmp_path)
    assert "domains/example.org/dkim/202612a.rsa" in files
    assert not files & (set(SECRETS) - {
        "domains/example.org/dkim/202612a.rsa"})
    # a second run changes nothing
    r = gitignore(tmp_path)
    assert r.returncode == 0 and "kept" in r.stdout
    assert (tmp_path / ".gitignore").read_text() == text


def test_install_sh_writes_the_gitignore_of_its_configuration():
    text = (ROOT / "install.sh").read_text()
    assert 'sh install-gitignore.sh "$CONF"' in text


def readable_key(conf):
    r = conf.run("dkimsign", "-g", "example.com")
    assert r.returncode == 0, r.stderr
    dkim = conf.dir / "domains" / "example.com" / "dkim"
    [key] = sorted(dkim.glob("*.ed25519"))
    assert key.stat().st_mode & 0o777 == 0o640
    return key


def test_dkimsign_refuses_a_key_others_can_read(conf):
    key = readable_key(conf)
    assert conf.run("dkimsign", "-d", "example.com",
                    input=MESSAGE).returncode == 0
    key.chmod(0o644)
    r = conf.run("dkimsign", "-d", "example.com", input=MESSAGE)
    err = r.stderr.decode()
    assert r.returncode == 75 and r.stdout == b"", err
    assert f"chmod o-rwx {key}" in err and "0644" in err, err
    key.chmod(0o640)
    assert conf.run("dkimsign", "-d", "example.com",
                    input=MESSAGE).returncode == 0


def test_aliases_r_refuses_an_srs_secret_others_can_read(conf):
    secret = conf.dir / "srs.secret"
    secret.write_text("a secret\n")
    secret.chmod(0o644)
    r = conf.run("aliases", "-r", "SRS0=abcd=XY=remote.example=bob@example.com")
    err = r.stderr.decode()
    assert r.returncode == 75 and f"chmod o-rwx {secret}" in err, err


def test_queue_run_says_why_the_srs_secret_is_not_used(conf):
    secret = conf.dir / "srs.secret"
    secret.write_text("a secret\n")
    secret.chmod(0o604)
    qr = QueueRun(conf)
    try:
        qr.wait_for(r"event=srs-disabled .*chmod o-rwx " + str(secret))
    finally:
        qr.stop()


def test_smtp_in_offers_no_starttls_with_a_key_others_can_read(conf):
    """smtp-tlsd would refuse the key: port 25 does not offer what would
    fail, and says why, once, with the fix."""
    make_cert(conf.dir / "certs", HOSTNAME)
    key = conf.dir / "certs" / "privkey.pem"
    key.chmod(0o644)
    srv = Server(conf, mode="mx")
    try:
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
            s.ehlo()
            assert "starttls" not in s.esmtp_features
        srv.wait_for(r"event=tls-unavailable .*chmod o-rwx " + str(key))
        key.chmod(0o640)
        with smtplib.SMTP("127.0.0.1", srv.port, timeout=WAIT) as s:
            s.ehlo()
            assert "starttls" in s.esmtp_features
    finally:
        srv.stop()
        srv.check_children()
