"""smtp-in behind a load balancer: the HAProxy PROXY protocol header, v1
and v2, that smtp-in reads first when the listener sets POSTHORN_PROXY=1
(smtp-in(8), "PROXY protocol").  Each test starts smtp-in itself, as the
listener does, on a connection accepted on loopback (fd 0 and 1) with
REMOTE_ADDR the proxy's address, plays the proxy and its client, and
checks what an operator checks: when the greeting comes, the Received:
field and the envelope of the queued message, the log lines, the exit
status."""

import fcntl
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import SAN, WAIT, Client, parse_kv, prog

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROXY_ADDR = "127.0.0.1"          # the real connection: the proxy's address
EXIT_PROTOCOL = 76                # smtp-in(8) EXIT STATUS: no valid header

# The client as the proxy saw it, per family: the header's source, the
# proxy's own listening address, and how Received: writes the source.
CLIENTS = {
    "ipv4": ("203.0.113.9", "198.51.100.1", "[203.0.113.9]"),
    "ipv6": ("2001:db8::5", "2001:db8::1", "[IPv6:2001:db8::5]"),
}


def v1(family, src, dst, sport=50123, dport=25):
    proto = "TCP4" if family == "ipv4" else "TCP6"
    return f"PROXY {proto} {src} {dst} {sport} {dport}\r\n".encode()


def v2(family, src, dst, sport=50123, dport=25, cmd=0x1, tlvs=b""):
    af = socket.AF_INET if family == "ipv4" else socket.AF_INET6
    fam = 0x11 if family == "ipv4" else 0x21
    body = (socket.inet_pton(af, src) + socket.inet_pton(af, dst) +
            struct.pack("!HH", sport, dport) + tlvs)
    return V2_SIG + struct.pack("!BBH", 0x20 | cmd, fam, len(body)) + body


def header(version, family, **kw):
    src, dst, _ = CLIENTS[family]
    return (v1 if version == 1 else v2)(family, src, dst, **kw)


class Proxied:
    """smtp-in on the server end of a loopback connection, started as the
    listener starts it; self.client is the proxy's end.  The test keeps
    its own copy of the server end, to see how much smtp-in has read."""

    def __init__(self, conf, proxy=True, mode="mx"):
        with socket.socket() as ls:
            ls.bind((PROXY_ADDR, 0))
            ls.listen(1)
            self.client = socket.create_connection(ls.getsockname(),
                                                   timeout=WAIT)
            self.conn, (addr, port) = ls.accept()
        env = {"REMOTE_ADDR": addr, "REMOTE_PORT": str(port)}
        if proxy:
            env["POSTHORN_PROXY"] = "1"
        env = conf.env(**env)
        env.pop("TCPREMOTEIP", None)
        self.proc = subprocess.Popen([prog("smtp-in"), mode],
                                     stdin=self.conn, stdout=self.conn,
                                     stderr=subprocess.PIPE, env=env)
        self.smtp = Client(self.client)
        self.log = ""

    def unread(self):
        """Bytes sent to smtp-in that it has not read yet."""
        buf = fcntl.ioctl(self.conn.fileno(), termios.FIONREAD, b"\0" * 4)
        return struct.unpack("i", buf)[0]

    def wait_taken(self):
        """Until smtp-in has read everything sent so far (bounded)."""
        deadline = time.monotonic() + WAIT
        while self.unread() > 0:
            assert time.monotonic() < deadline, "smtp-in stopped reading"
            time.sleep(0.005)

    def nothing_to_read(self):
        """True when smtp-in has written nothing to the client so far
        (a look, not a wait: a socket with a timeout would wait)."""
        self.client.settimeout(0)
        try:
            return self.client.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return True
        finally:
            self.client.settimeout(WAIT)

    def finish(self):
        """Wait for smtp-in's exit; its status.  The log is in .log."""
        code = self.proc.wait(timeout=WAIT)
        self.conn.close()
        self.log = self.proc.stderr.read().decode("utf-8", "replace")
        self.proc.stderr.close()
        if SAN:
            assert "Sanitizer" not in self.log and \
                "runtime error:" not in self.log, self.log
        return code

    def events(self, event):
        return [parse_kv(l) for l in self.log.splitlines()
                if f"event={event} " in l + " "]

    def close(self):
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        self.conn.close()


@pytest.fixture
def proxied(conf):
    made = []

    def make(**kw):
        p = Proxied(conf, **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


def send_message(smtp):
    assert smtp.cmd("EHLO client.example")[0] == 250
    assert smtp.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    assert smtp.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert smtp.cmd("DATA")[0] == 354
    code, text = smtp.cmd("Subject: through a proxy\r\n\r\nhello\r\n.")
    assert code == 250, text
    assert smtp.cmd("QUIT")[0] == 221


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("version", [1, 2])
def test_header_source_is_the_peer_everywhere(conf, proxied, version,
                                              family):
    src, _, literal = CLIENTS[family]
    hdr = header(version, family)
    p = proxied()
    # Half the header, taken by smtp-in: it must still be silent.
    p.smtp.send(hdr[:len(hdr) // 2])
    p.wait_taken()
    assert p.nothing_to_read(), "greeting before the end of the header"
    p.smtp.send(hdr[len(hdr) // 2:])
    code, text = p.smtp.reply()
    assert code == 220, text
    send_message(p.smtp)
    assert p.finish() == 0, p.log

    [m] = conf.queued()
    assert m.env["peer"] == src
    first = m.body.split(b"\n", 1)[0].decode()
    assert first == f"Received: from client.example ({literal})", first
    [acc] = p.events("accepted")
    assert acc["peer"] == f"[{src}]"
    [con] = p.events("connect")
    assert con["peer"] == f"[{src}]"
    assert con["proxy"] == f"[{PROXY_ADDR}]"
    assert p.events("disconnect")[0]["peer"] == f"[{src}]"


@pytest.mark.parametrize("version", [1, 2])
def test_smtp_right_after_the_header_is_answered(conf, proxied, version):
    p = proxied()
    # One write: the header and a whole pipelined session behind it.
    p.smtp.send(header(version, "ipv4") + b"EHLO client.example\r\n"
                b"MAIL FROM:<bob@remote.example>\r\n"
                b"RCPT TO:<alice@example.com>\r\nDATA\r\n")
    assert [p.smtp.reply()[0] for _ in range(5)] == [220, 250, 250, 250, 354]
    assert p.smtp.cmd("pipelined\r\n.")[0] == 250
    assert p.smtp.cmd("QUIT")[0] == 221
    assert p.finish() == 0, p.log
    [m] = conf.queued()
    assert m.env["peer"] == "203.0.113.9"
    assert m.body.endswith(b"\npipelined\n")


def test_v2_tlvs_are_skipped(conf, proxied):
    tlvs = b"\x02\x00\x0amx.example" + b"\x04\x00\x03\x00\x00\x00"
    p = proxied()
    p.smtp.send(header(2, "ipv6", tlvs=tlvs) + b"QUIT\r\n")
    assert p.smtp.reply()[0] == 220
    assert p.smtp.reply()[0] == 221
    assert p.finish() == 0, p.log
    assert p.events("connect")[0]["peer"] == "[2001:db8::5]"


@pytest.mark.parametrize("hdr", [
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN 2001:db8::5 2001:db8::1 1 25\r\n",
    V2_SIG + b"\x20\x00\x00\x00",                   # LOCAL, no address
    v2("ipv4", "203.0.113.9", "198.51.100.1", cmd=0x0),  # LOCAL
], ids=["v1-unknown", "v1-unknown-addresses", "v2-local", "v2-local-inet"])
def test_unknown_and_local_keep_the_proxy_address(conf, proxied, hdr):
    p = proxied()
    p.smtp.send(hdr)
    assert p.smtp.reply()[0] == 220
    assert p.smtp.cmd("QUIT")[0] == 221
    assert p.finish() == 0, p.log
    [con] = p.events("connect")
    assert con["peer"] == f"[{PROXY_ADDR}]"
    assert "proxy" not in con


@pytest.mark.parametrize("hdr,reason", [
    (b"EHLO client.example\r\n", "signature"),
    (b"PROXY TCP4 2001:db8::5 198.51.100.1 1 25\r\n", "address"),
    (b"PROXY TCP4 203.0.113.9 198.51.100.1 1\r\n", "syntax"),
    (b"PROXY TCP4 203.0.113.9 198.51.100.1 99999 25\r\n", "port"),
    (b"PROXY TCP4 " + b"1" * 120 + b"\r\n", "too-long"),
    (V2_SIG + b"\x21\x31\x00\x0c" + b"\x00" * 12, "family"),   # AF_UNIX
    (V2_SIG + b"\x21\x12\x00\x0c" + b"\x00" * 12, "family"),   # UDP
    (V2_SIG + b"\x21\x11\x02\x19" + b"\x00" * 537, "too-long"),
    (V2_SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12, "version"),
], ids=["smtp", "v1-address", "v1-syntax", "v1-port", "v1-long",
        "v2-unix", "v2-udp", "v2-long", "v2-version"])
def test_malformed_header_gets_no_greeting(conf, proxied, hdr, reason):
    p = proxied()
    p.smtp.send(hdr)
    assert p.finish() == EXIT_PROTOCOL, p.log
    # Everything smtp-in wrote is there now that its end is closed.
    assert p.smtp.closed()
    assert p.smtp.buf == b""
    [err] = p.events("proxy-error")
    assert err["reason"] == reason
    assert err["peer"] == f"[{PROXY_ADDR}]"
    assert p.events("connect") == []
    assert conf.queued() == []


@pytest.mark.parametrize("version", [1, 2])
def test_truncated_header_gets_no_greeting(conf, proxied, version):
    p = proxied()
    p.smtp.send(header(version, "ipv4")[:-3])
    p.client.shutdown(socket.SHUT_WR)
    assert p.finish() == EXIT_PROTOCOL, p.log
    assert p.smtp.closed() and p.smtp.buf == b""
    assert p.events("proxy-error")[0]["reason"] == "eof"


def test_without_posthorn_proxy_a_header_is_an_unknown_command(conf,
                                                               proxied):
    p = proxied(proxy=False)
    assert p.smtp.reply()[0] == 220
    code, text = p.smtp.cmd("PROXY TCP4 203.0.113.9 198.51.100.1 1 25")
    assert code == 500 and text[0].startswith("5.5.2"), text
    assert p.smtp.cmd("QUIT")[0] == 221
    assert p.finish() == 0, p.log
    assert p.events("connect")[0]["peer"] == f"[{PROXY_ADDR}]"
