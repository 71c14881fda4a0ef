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

import json

from netns import PEERS, PYTHON, Netns


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
