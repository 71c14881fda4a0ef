"""mailauth spf against the RFC 7208 test suite (the openspf suite,
release 2014.04, as Debian's python3-spf ships it), every case.

Each scenario's zone data is served by a real DNS server, peers/zonedns.py,
on 127.0.0.1:53 of a network namespace of this file's (zonens.py), one
server per scenario.  mailauth runs inside with "-t 1": one try of one
second a query, so that the suite's TIMEOUT cases cost a second each.

The zone follows the suite's own driver (testspf.py): an "SPF" record is
served as type 99 and, when the name has no TXT entry at all, as TXT
too; "TXT: NONE" means no TXT record; TIMEOUT means no answer for a type
the name has no record of.  A case passes when the result word is one
the suite allows (some allow two), and, where it names an explanation,
when mailauth prints that one ("DEFAULT", the driver's default, means
that the domain gave none: no explanation line).
"""

import gzip
import pathlib

import pytest
import yaml

from conftest import SAN_ENV, prog
from zonens import ZoneNetns

SUITE = pathlib.Path("/usr/share/doc/python3-spf/rfc7208-tests.yml.gz")
RECEIVER = "receiver.test"


def load():
    """[(scenario number, its zone, case name, case)] in the file's order."""
    if not SUITE.exists():
        return []
    with gzip.open(SUITE, "rt", encoding="utf-8") as f:
        docs = list(yaml.safe_load_all(f))
    out = []
    for i, doc in enumerate(docs):
        zone = zone_of(doc.get("zonedata") or {})
        for name, case in doc["tests"].items():
            out.append((i, zone, name, case))
    return out


def zone_of(zonedata):
    """The suite's zonedata as zonedns.py's zone (testspf.py's getrdata)."""
    zone = {}
    for name, recs in zonedata.items():
        out, copies, has_txt = [], [], False
        for r in recs:
            if not isinstance(r, dict):
                out.append(r)                   # TIMEOUT
                continue
            (t, v), = r.items()
            if t == "TXT":
                has_txt = True
            if t in ("TXT", "SPF") and v == "NONE":
                continue
            out.append({t: v})
            if t == "SPF":
                copies.append({"TXT": v})
        if not has_txt:
            out.extend(copies)
        zone[name] = out
    return zone


CASES = load()


class Scenario:
    """The namespace, and the number of the scenario it serves now."""

    def __init__(self, root):
        self.ns = ZoneNetns(root)
        self.current = None

    def serve(self, number, zone):
        if self.current != number:
            self.ns.serve(zone)
            self.current = number


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    s = Scenario(tmp_path_factory.mktemp("spfsuite"))
    yield s
    s.ns.close()


def test_the_suite_is_there():
    """No suite, no cases: that must fail, not pass by having none."""
    assert SUITE.exists(), f"{SUITE} is missing: apt-get install " \
        "python3-spf (t/deps.sh)"
    assert len(CASES) >= 200, len(CASES)


@pytest.mark.parametrize("number,zone,name,case", CASES,
                         ids=[c[2] for c in CASES])
def test_rfc7208(scenario, number, zone, name, case):
    scenario.serve(number, zone)
    cmd = [prog("mailauth"), "spf", "-t", "1", "-r", RECEIVER,
           str(case["host"]), str(case["helo"]), str(case["mailfrom"])]
    r = scenario.ns.run(cmd, env={**SAN_ENV, "PATH": "/usr/bin:/bin"},
                        timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err
    lines = out.split("\n")
    allowed = case["result"] if isinstance(case["result"], list) \
        else [case["result"]]
    assert lines[0] in allowed, f"{case.get('description', '')}\n{out}{err}"
    assert lines[1].startswith(f"Received-SPF: {lines[0]} ("), out
    exp = [l[len("explanation: "):] for l in lines
           if l.startswith("explanation: ")]
    if "explanation" in case:
        want = [] if case["explanation"] == "DEFAULT" \
            else [case["explanation"]]
        assert exp == want, out
