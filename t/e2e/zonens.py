"""A private network namespace whose DNS server is peers/zonedns.py.

netns.py's Netns (its own resolv.conf naming 127.0.0.1, loopback
addresses, the bridge ours0), without its dnsmasq: serve(zone) starts
zonedns.py on 127.0.0.1:53 with the zone given as a dict (zonedns.py's
format: {NAME: [{"A": ...}, {"TXT": [...]}, "TIMEOUT", ...]}), stopping
the one served before.  For the zones dnsmasq cannot express: no answer
at all, SERVFAIL for one name, TXT records of several strings or odd
bytes.  Usage:

    ns = ZoneNetns(tmpdir)
    ns.serve({"example.com": [{"TXT": "v=spf1 -all"}]})
    r = ns.run([prog("mailauth"), "spf", ...])
    ns.close()
"""

import base64
import json
import subprocess

from netns import PEERS, PYTHON, Netns


def spf(*net):
    """An SPF record allowing the IPv4 networks net, failing the rest."""
    return {"TXT": "v=spf1 " + " ".join(f"ip4:{n}" for n in net) +
            " -all"}


def txt(text):
    return {"TXT": text}


def openssl(*args):
    return subprocess.run(["openssl", *args], check=True,
                          capture_output=True, timeout=120).stdout


def rsa_key(path, bits=2048):
    """A new RSA key in PEM at path; its public half, base64 DER, as a
    DKIM key record's p= wants it."""
    openssl("genrsa", "-traditional", "-out", str(path), str(bits))
    return base64.b64encode(openssl("rsa", "-in", str(path), "-pubout",
                                    "-outform", "DER")).decode()


class ZoneNetns(Netns):
    """A Netns whose DNS server is the test's zonedns, not dnsmasq."""

    def _start_dns(self, text):
        self.dns = None
        self.zones = 0
        self.zone_mark = None

    def serve(self, zone, verbose=False):
        """Serve zone (a dict) from now on; returns zonedns's Proc."""
        if self.zone_mark is not None:
            self.stop_since(self.zone_mark)
        self.zone_mark = self.mark()
        self.zones += 1
        path = self.root / f"zone{self.zones}.json"
        path.write_text(json.dumps(zone))
        cmd = [PYTHON, PEERS / "zonedns.py", "--listen", "127.0.0.1:53"]
        if verbose:
            cmd.append("-v")
        self.dns = self.spawn("zonedns", cmd + [path])
        self.dns.wait_for("listening")
        return self.dns
