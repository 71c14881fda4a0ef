"""zonedns.py — a small authoritative DNS server for tests: it serves the
records of one zone file and can be told to fail the way real servers
fail (no answer at all, SERVFAIL), which dnsmasq cannot be told.

Usage: zonedns.py [-v] --listen ADDR:PORT ZONEFILE
(--listen may be given more than once; IPv6 as [ADDR]:PORT.)  It binds
UDP and TCP on each address, prints "listening" on stderr once bound and
runs until killed.  With -v it logs each query on stderr: "query NAME
TYPE -> what".  python3-dnslib packs and parses the messages.

The zone file is JSON (its name ends in .json) or YAML: a mapping from names to
lists of records, the shape of the RFC 7208 test suite's zonedata:

    example.com:
      - A: 192.0.2.1
      - AAAA: "2001:db8::1"
      - MX: [10, mx.example.com]      # preference, host ("" is ".")
      - TXT: v=spf1 -all              # one string
      - TXT: ["v=spf1 ip4:", "192.0.2.0/24 -all"]   # several strings
      - TXT: []                       # a record of no string at all
      - SPF: v=spf1 -all              # type 99, the same as TXT
    4.3.2.1.in-addr.arpa:
      - PTR: mail.example.com
    www.example.com:
      - CNAME: example.com
    slow.example.com:
      - TIMEOUT
    broken.example.com:
      - SERVFAIL

What it answers, for a query of NAME and TYPE:
  - NAME is compared without case and without its trailing dot.  A text
    string is sent as its UTF-8 bytes; one longer than 255 bytes is cut
    into strings of 255 (RFC 1035 §3.3.14); any byte may be in it (JSON
    "\\u0000" is a NUL).
  - NAME has records of TYPE: all of them, TTL 0, in the file's order.
  - NAME has a CNAME (and TYPE is not CNAME): the CNAME and, followed
    through the zone (at most 8 links, a loop stops there), the
    records of TYPE of the name it leads to.
  - NAME has no record of TYPE and lists TIMEOUT: no answer at all (the
    client times out); with SERVFAIL: RCODE SERVFAIL.  A name that lists
    TIMEOUT and records answers the types it has records of.
  - NAME is listed without records of TYPE, or is an ancestor of a
    listed name (an empty non-terminal): NOERROR with no answer (NODATA).
  - Any other name: NXDOMAIN.
The server is authoritative (AA set) and claims recursion (RA), so that
glibc's resolver takes its word.  Every answer fits in UDP for the
zones the tests use; a bigger one gets TC and the client retries on TCP.
"""

import argparse
import json
import socket
import struct
import sys
import threading

import yaml
from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, \
    DNSLabel, DNSRecord

CHAIN_MAX = 8          # CNAME links followed inside the zone
UDP_MAX = 512          # RFC 1035 §4.2.1, without EDNS0
TYPES = {"A": 1, "AAAA": 28, "MX": 15, "TXT": 16, "SPF": 99, "PTR": 12,
         "CNAME": 5}


def key(name):
    """A name as the zone's key: lowercase, no trailing dot."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return name.rstrip(".").lower()


def label(name):
    """A DNSLabel from text, without dnslib's IDNA (which refuses long or
    odd labels that the tests want on the wire as they are)."""
    return DNSLabel(name.rstrip(".").encode("latin-1")) if name.strip(".") \
        else DNSLabel(b"")


def strings(value):
    """A TXT value (text or list of texts) as the record's strings."""
    if isinstance(value, str):
        value = [value]
    out = []
    for s in value:
        b = str(s).encode("utf-8")
        if b == b"":
            out.append(b"")
        while b:
            out.append(b[:255])
            b = b[255:]
    return out


class Zone:
    """The zone file, parsed once: name -> (records, failure)."""

    def __init__(self, data):
        self.names = {}
        self.parents = set()
        for name, recs in (data or {}).items():
            k = key(str(name))
            rrs, fail = [], None
            for r in recs or []:
                if r in ("TIMEOUT", "SERVFAIL"):
                    fail = r
                    continue
                (t, v), = r.items()
                rrs.append((t.upper(), v))
            self.names[k] = (rrs, fail)
            parts = k.split(".")
            for i in range(1, len(parts)):
                self.parents.add(".".join(parts[i:]))

    def rdata(self, t, v):
        if t == "A":
            return A(v)
        if t == "AAAA":
            return AAAA(v)
        if t == "MX":
            return MX(label(str(v[1])), int(v[0]))
        if t in ("TXT", "SPF"):
            return TXT(strings(v))
        if t == "PTR":
            return PTR(label(str(v)))
        if t == "CNAME":
            return CNAME(label(str(v)))
        raise ValueError(f"unknown record type {t}")

    def answer(self, qname, qtype):
        """(rcode, [RR]) or None for no answer, and a word for the log."""
        k = key(qname)
        if k not in self.names:
            if k in self.parents:
                return (RCODE.NOERROR, []), "NODATA (empty non-terminal)"
            return (RCODE.NXDOMAIN, []), "NXDOMAIN"
        out, seen, owner = [], set(), qname
        while True:
            rrs, fail = self.names[k]
            mine = [(t, v) for t, v in rrs if TYPES.get(t) == qtype]
            cname = [v for t, v in rrs if t == "CNAME"]
            if not mine and cname and qtype != TYPES["CNAME"]:
                out.append(RR(label(owner), QTYPE.CNAME, ttl=0,
                              rdata=self.rdata("CNAME", cname[0])))
                seen.add(k)
                owner, k = str(cname[0]), key(str(cname[0]))
                if k in seen or len(seen) >= CHAIN_MAX or \
                        k not in self.names:
                    return (RCODE.NOERROR, out), "CNAME chain"
                continue
            if not mine and fail is not None and not out:
                return (None if fail == "TIMEOUT" else
                        (RCODE.SERVFAIL, [])), fail
            for t, v in mine:
                out.append(RR(label(owner), qtype, ttl=0,
                              rdata=self.rdata(t, v)))
            return (RCODE.NOERROR, out), f"{len(out)} records"


def respond(zone, data, verbose, limit):
    try:
        q = DNSRecord.parse(data)
    except Exception:                   # noqa: BLE001 -- garbage in
        return None
    qname = b".".join(q.q.qname.label).decode("latin-1")
    res, word = zone.answer(qname, q.q.qtype)
    if verbose:
        print(f"query {qname} {QTYPE.get(q.q.qtype)} -> {word}",
              file=sys.stderr, flush=True)
    if res is None:
        return None
    rcode, rrs = res
    r = q.reply(ra=1, aa=1)
    r.header.rcode = rcode
    for rr in rrs:
        r.add_answer(rr)
    out = r.pack()
    if limit is not None and len(out) > limit:
        r = q.reply(ra=1, aa=1)
        r.header.tc = 1
        out = r.pack()
    return out


def serve_udp(sock, zone, verbose):
    while True:
        data, peer = sock.recvfrom(65535)
        out = respond(zone, data, verbose, UDP_MAX)
        if out is not None:
            sock.sendto(out, peer)


def recv_all(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_tcp_conn(conn, zone, verbose):
    with conn:
        conn.settimeout(10)
        try:
            while True:
                head = recv_all(conn, 2)
                if head is None:
                    return
                data = recv_all(conn, struct.unpack("!H", head)[0])
                if data is None:
                    return
                out = respond(zone, data, verbose, None)
                if out is None:
                    continue        # TIMEOUT: say nothing, keep it open
                conn.sendall(struct.pack("!H", len(out)) + out)
        except OSError:
            return


def serve_tcp(sock, zone, verbose):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, zone, verbose),
                         daemon=True).start()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("-v", action="store_true")
    ap.add_argument("zone")
    a = ap.parse_args()
    with open(a.zone, "rb") as f:
        zone = Zone(json.load(f) if a.zone.endswith(".json")
                    else yaml.safe_load(f))
    threads = []
    for spec in a.listen:
        host, _, port = spec.rpartition(":")
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((host, int(port)))
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((host, int(port)))
        t.listen(16)
        threads.append(threading.Thread(target=serve_udp,
                                        args=(u, zone, a.v), daemon=True))
        threads.append(threading.Thread(target=serve_tcp,
                                        args=(t, zone, a.v), daemon=True))
    for t in threads:
        t.start()
    print("listening", file=sys.stderr, flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
