"""posthorn-config(8): the configuration the programs use, posthorn.conf
with the default of every key it leaves out (issue 12, item 9: what
"postconf -n" and "chasquid-util print-config" give)."""

import re

from conftest import HOSTNAME, ROOT

EX_USAGE, EX_CONFIG = 64, 78


def config(conf, *args):
    r = conf.run("posthorn-config", *args)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def keys_of(text):
    return dict(re.findall(r"^#?(\w+) =(?: (.*))?$", text, re.M))


def test_every_key_with_its_value_or_its_default(conf):
    conf.write(max_message_size="35M", queue_lifetime="36h")
    rc, out, err = config(conf)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == (f"# {conf.dir}/posthorn.conf, with the default of "
                        "every key it does not set")
    k = keys_of(out)
    assert k["hostname"] == HOSTNAME
    assert k["spool"] == str(conf.spool)
    assert k["max_message_size"] == "35M" and k["queue_lifetime"] == "36h"
    # defaults, as posthorn.conf(5) gives them
    assert k["command_timeout"] == "10m" and k["max_deliveries"] == "50"
    assert k["tls_key"] == f"{conf.dir}/certs/privkey.pem"
    assert k["drop_characters"] == "."
    assert "#bind4 =" in lines       # unset: the kernel chooses
    assert lines[-1] == ("# local domains: catchall.example, example.com, "
                         f"and {HOSTNAME} (hostname)")


def test_n_prints_only_what_differs_from_the_default(conf):
    conf.write(max_message_size="50M", drop_characters="")
    rc, out, _ = config(conf, "-n")
    assert rc == 0
    # spool, maildirs and hostname are the test's, and so is dnssec =
    # off (conftest's); 50M is the default
    assert set(keys_of(out)) == {"hostname", "spool", "maildirs",
                                 "drop_characters", "dnssec"}
    assert "drop_characters =\n" in out
    rc, out, _ = config(conf, "-d")
    assert rc == 0 and keys_of(out)["spool"] == "/var/spool/posthorn"


def test_named_keys_alone_and_an_unknown_one(conf):
    rc, out, err = config(conf, "hostname", "max_message_size")
    assert (rc, out, err) == (0, f"hostname = {HOSTNAME}\n"
                              "max_message_size = 50M\n", "")
    rc, out, err = config(conf, "hostname", "max_size")
    assert rc == 1 and out == f"hostname = {HOSTNAME}\n"
    assert "max_size: no such key" in err
    assert config(conf, "-n", "-d")[0] == EX_USAGE


def test_an_error_in_the_file_is_said_as_the_programs_say_it(conf):
    (conf.dir / "posthorn.conf").write_text("hostname = a b\n")
    rc, out, err = config(conf)
    assert rc == EX_CONFIG and out == ""
    assert f"{conf.dir}/posthorn.conf:1: bad value for 'hostname'" in err


def test_the_listing_is_a_posthorn_conf_that_loads_the_same(conf):
    conf.write(suffix_separators="+-", bind6="2001:db8::1",
               command_timeout="90")
    rc, first, _ = config(conf)
    assert rc == 0
    (conf.dir / "posthorn.conf").write_text(first)
    rc, again, err = config(conf)
    assert (rc, again) == (0, first), err


def test_every_key_is_documented_in_posthorn_conf_5(conf):
    page = (ROOT / "man" / "posthorn.conf.5").read_text()
    documented = set(re.findall(r"^\.It Cm (\w+) Ns = ", page, re.M))
    documented |= set(re.findall(r", Cm (\w+) Ns = ", page))
    rc, out, err = config(conf)
    assert rc == 0, err
    printed = set(keys_of(out))
    assert {"hostname", "spool", "tls_key"} <= printed, out
    assert printed - documented == set()
    assert "any_sender" not in printed     # domain.conf's, not this file's
