"""smtp-listen: one long-lived listener, one smtp-in process per
connection.  Sessions are started and reaped; the limits answer 421 from
the listener itself, without a session, and recover when sessions end;
SIGTERM drains; a session's crash touches nothing else; sockets come from
systemd's LISTEN_FDS with a mode per name; PROXY listeners take their
proxies only; and the peer's address reaches smtp-in's log and the
Received: field whichever way the connection came."""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import time

import pytest

from conftest import (HOSTNAME, WAIT, Client, Listener, children, cmdline,
                      free_port, make_cert, prog)

PEERS = pathlib.Path(__file__).resolve().parent / "peers"


def greet(c):
    code, text = c.reply()
    return code, " ".join(text)


def send_message(c, rcpt="alice@example.com"):
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    code, text = c.cmd("Subject: t\r\n\r\nbody\r\n.")
    assert code == 250, text
    return text


@pytest.fixture
def listener(open_conf, request):
    marker = request.node.get_closest_marker("listen_args")
    args = marker.args if marker else ()
    srv = Listener(open_conf, args=args)
    yield srv
    srv.stop()


@pytest.mark.listen_args("-T")
def test_sessions_are_started_as_nobody_and_reaped(open_conf, listener):
    c = listener.connect()
    code, text = greet(c)
    assert code == 220 and text.startswith(HOSTNAME)
    [pid] = listener.sessions()
    # the session runs as the user of -u, with no way back to root
    status = open(f"/proc/{pid}/status").read()
    nobody = str(__import__("pwd").getpwnam("nobody").pw_uid)
    assert re.search(rf"^Uid:\s+{nobody}\s+{nobody}\s", status, re.M)
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    assert c.cmd("QUIT")[0] == 221
    listener.wait_sessions(0)
    # one smtp-in process per connection: a second gets a new one
    c2 = listener.connect()
    assert greet(c2)[0] == 220
    [pid2] = listener.sessions()
    assert pid2 != pid
    c2.close()
    listener.wait_sessions(0)


@pytest.mark.listen_args("-T", "-c", "2")
def test_session_limit_answers_421_without_a_session_and_recovers(
        open_conf, listener):
    a, b = listener.connect(), listener.connect()
    assert greet(a)[0] == 220 and greet(b)[0] == 220
    c = listener.connect()
    code, text = greet(c)
    assert code == 421 and "4.3.2" in text and HOSTNAME in text
    assert c.closed()
    assert len(listener.sessions()) == 2
    listener.wait_for(r"event=refused reason=sessions peer=127\.0\.0\.1")
    assert a.cmd("QUIT")[0] == 221
    listener.wait_sessions(1)
    d = listener.connect()
    assert greet(d)[0] == 220
    for x in (b, d):
        x.close()
    listener.wait_sessions(0)


@pytest.mark.listen_args("-T", "-x", "none", "-s", "1", "-r", "0")
def test_one_source_flooding_does_not_stop_another(open_conf, listener):
    a = listener.connect(source="127.0.0.1")
    assert greet(a)[0] == 220
    # the flood: every further connection from the same source is
    # refused by the listener, and no session starts for it
    for _ in range(20):
        f = listener.connect(source="127.0.0.1")
        code, text = greet(f)
        assert code == 421 and "4.7.0" in text and "your address" in text
        f.close()
    assert len(listener.sessions()) == 1
    other = listener.connect(source="127.0.0.2")
    assert greet(other)[0] == 220
    # refusals are logged, but not one line each
    listener.wait_for(r"event=refused reason=source-sessions")
    assert len(listener.events("refused")) < 20
    assert a.cmd("QUIT")[0] == 221
    listener.wait_sessions(1)
    again = listener.connect(source="127.0.0.1")
    assert greet(again)[0] == 220
    for x in (other, again):
        x.close()


@pytest.mark.listen_args("-T", "-x", "none", "-s", "0", "-r", "1")
def test_new_connections_per_second_per_source(open_conf, listener):
    a = listener.connect(source="127.0.0.3")
    assert greet(a)[0] == 220
    a.close()
    b = listener.connect(source="127.0.0.3")
    code, text = greet(b)
    assert code == 421 and "slow down" in text
    listener.wait_for(r"event=refused reason=source-rate")
    # the bucket refills: a connection a second is let through
    deadline = time.monotonic() + 3
    while True:
        c = listener.connect(source="127.0.0.3")
        code, _ = greet(c)
        c.close()
        if code == 220:
            break
        assert time.monotonic() < deadline, "the rate never recovered"
        time.sleep(0.2)  # a rate limit is about time: wait some


@pytest.mark.listen_args("-T", "-s", "1")
def test_loopback_is_exempt_from_per_source_limits_by_default(
        open_conf, listener):
    cs = [listener.connect() for _ in range(3)]
    assert [greet(c)[0] for c in cs] == [220, 220, 220]
    for c in cs:
        c.close()


@pytest.mark.listen_args("-T")
def test_sigterm_drains_sessions_in_flight(open_conf, listener):
    c = listener.connect()
    assert greet(c)[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    os.kill(listener.pid(), signal.SIGTERM)
    listener.wait_for(r"event=draining sessions=1")
    # no new connection is taken...
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listener.port), timeout=2)
    # ...but the session in flight finishes its message
    assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    assert c.cmd("Subject: drain\r\n\r\nbody\r\n.")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert listener.proc.wait(timeout=WAIT) == 0
    listener.wait_for(r"event=stopped")
    assert len(open_conf.queued()) == 1


@pytest.mark.listen_args("-T", "-d", "1")
def test_drain_has_a_bound(open_conf, listener):
    c = listener.connect()
    assert greet(c)[0] == 220
    os.kill(listener.pid(), signal.SIGTERM)
    listener.wait_for(r"event=drain-timeout sessions=1")
    assert listener.proc.wait(timeout=WAIT) == 0
    assert c.closed()


@pytest.mark.listen_args("-T")
def test_a_crashing_session_touches_nothing_else(open_conf, listener):
    a, b = listener.connect(), listener.connect()
    assert greet(a)[0] == 220 and greet(b)[0] == 220
    pids = listener.sessions()
    assert len(pids) == 2
    victim = pids[0]
    # abort(3)'s signal: ASan, in the sanitizer build, would turn a
    # SIGSEGV into a report and an exit
    os.kill(victim, signal.SIGABRT)
    listener.wait_for(rf"event=session-killed pid={victim} signal=6")
    listener.wait_sessions(1)
    # whichever of the two survived still talks, and new ones come
    survivors = [x for x in (a, b) if not x.closed(timeout=0.5)]
    assert len(survivors) == 1
    assert survivors[0].cmd("EHLO client.example")[0] == 250
    c = listener.connect()
    assert greet(c)[0] == 220
    for x in (survivors[0], c):
        x.close()


def test_sessions_that_cannot_start_are_refused_and_logged_sparingly(
        open_conf, tmp_path):
    """A session that cannot be started (here smtp-in is gone from beside
    the listener; under systemd, TasksMax) is a 421 from the listener,
    and a flood of them is not a flood of the log: the error goes into
    the refusal's line, at most one a second."""
    import shutil
    for name in ("smtp-listen", "smtp-in", "smtp-tlsd", "smtp-keeper",
                 "smtp-checkd"):
        shutil.copy2(prog(name), tmp_path / name)
    srv = Listener(open_conf, args=("-T", "-K"), wrap=(
        "sh", "-c", 'shift; exec "$0" "$@"', str(tmp_path / "smtp-listen")))
    try:
        (tmp_path / "smtp-in").unlink()
        t0 = time.monotonic()
        for _ in range(30):
            c = srv.connect()
            code, text = greet(c)
            assert code == 421 and "4.3.0" in text, text
            c.close()
        seconds = time.monotonic() - t0
        [first, *_] = srv.wait_for(r"event=refused reason=spawn ")
        # (smtp-in gone, or its copy's directory closed to nobody)
        assert re.search(r' error="[^"]+"', first), first
        refused = srv.events("refused")
        assert 1 <= len(refused) <= int(seconds) + 2, refused
        assert not srv.events("error"), srv.log()
        assert srv.sessions() == []
    finally:
        srv.stop()


def test_listen_fds_two_sockets_a_mode_each(open_conf):
    """systemd passes two sockets (Accept=no) named after their modes."""
    p1, p2 = free_port(), free_port()
    srv = Listener(open_conf, args=("-T",), listen=[],
                   prefix=["systemd-socket-activate",
                           "-l", f"127.0.0.1:{p1}", "-l", f"127.0.0.1:{p2}",
                           "--fdname=mx:submission",
                           "-E", f"POSTHORN_CONF={open_conf.dir}",
                           "-E", "ASAN_OPTIONS", "-E", "UBSAN_OPTIONS"])
    try:
        srv.wait_for(re.escape(f"Listening on 127.0.0.1:{p2}"))
        mx = srv.connect(port=p1)
        assert greet(mx)[0] == 220
        # port 587's mode: submission without a certificate says so
        sub = srv.connect(port=p2)
        code, text = greet(sub)
        assert code == 421 and "TLS" in text
        srv.wait_for(r"event=listening addr=127\.0\.0\.1:%d mode=mx" % p1)
        srv.wait_for(r"event=listening addr=127\.0\.0\.1:%d mode=submission"
                     % p2)
        mx.close()
    finally:
        srv.stop()


@pytest.mark.listen_args("-T")
def test_peer_address_reaches_log_and_received(open_conf, listener):
    c = listener.connect(source="127.0.0.5")
    assert greet(c)[0] == 220
    send_message(c)
    c.close()
    [m] = open_conf.queued()
    assert b"[127.0.0.5]" in m.headers()
    listener.wait_for(r"smtp-in.*event=accepted .*peer=\[127\.0\.0\.5\]")


ZONEINFO = pathlib.Path("/usr/share/zoneinfo")
needs_zones = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/etc/localtime")
    or not all((ZONEINFO / z).exists() for z in (
        "Europe/Berlin", "Africa/Casablanca", "America/New_York")),
    reason="needs root, /etc/localtime and tzdata")


def zone_listener(conf, zone, env=("-u", "TZ")):
    """smtp-listen -T in a mount namespace of its own where
    /etc/localtime is the zone's file, its environment changed by env
    (env(1)'s arguments)."""
    return Listener(conf, args=("-T",), wrap=[
        "unshare", "-m", "--propagation", "private", "sh", "-c",
        'mount --bind "$0" /etc/localtime && exec env "$@"',
        str(ZONEINFO / zone), *env])


def environ(pid):
    raw = open(f"/proc/{pid}/environ", "rb").read()
    return dict(v.split(b"=", 1) for v in raw.split(b"\0") if b"=" in v)


def received_offset(m):
    """The instant and UTC offset of the first Received: field's date."""
    import email.utils
    field = re.search(rb"^Received:.*?(?=^\S)", m.headers() + b"\nX",
                      re.M | re.S).group(0).decode()
    when = email.utils.parsedate_to_datetime(field.rsplit(";", 1)[1].strip())
    return when, when.utcoffset()


@needs_zones
@pytest.mark.parametrize("zone,tz", [
    ("Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"),
    # Morocco's file lists each Ramadan's change, which its footer
    # string cannot say: the sessions read the file
    ("Africa/Casablanca", None),
])
def test_sessions_get_local_time_as_tz(open_conf, zone, tz):
    """The listener gives its sessions the POSIX TZ string that ends
    /etc/localtime, so that none reads the file; where the string and
    the file disagree in the coming year it gives none.  Either way the
    Received: field is in the zone's local time."""
    import zoneinfo
    # /etc/localtime is the zone's file in a mount namespace of the
    # listener's own
    srv = zone_listener(open_conf, zone)
    try:
        if tz:
            srv.wait_for(r"event=timezone tz=" + re.escape(tz) + "$")
        else:
            srv.wait_for(r"event=timezone file=/etc/localtime$")
        c = srv.connect()
        assert greet(c)[0] == 220
        [pid] = srv.sessions()
        env = environ(pid)
        assert env.get(b"TZ") == (tz.encode() if tz else None)
        send_message(c)
        c.close()
        srv.wait_sessions(0)
    finally:
        srv.stop()
    [m] = open_conf.queued()
    when, offset = received_offset(m)
    assert offset == when.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()


@needs_zones
def test_a_new_zone_reaches_the_sessions_at_sighup(open_conf):
    """The zone changed (timedatectl set-timezone), then SIGHUP (systemctl
    reload): the next session gets the new zone's string, or none where
    the new zone's string and file disagree; the file is read afresh,
    not compared as libc last read it."""
    srv = zone_listener(open_conf, "Europe/Berlin")
    try:
        srv.wait_for(r"event=timezone tz=CET-1CEST,M3\.5\.0,M10\.5\.0/3$")
        for zone, tz, line in [
                ("Africa/Casablanca", None, r"file=/etc/localtime$"),
                ("America/New_York", b"EST5EDT,M3.2.0,M11.1.0",
                 r"tz=EST5EDT,M3\.2\.0,M11\.1\.0$")]:
            subprocess.run(["nsenter", "-t", str(srv.pid()), "-m", "mount",
                            "--bind", str(ZONEINFO / zone), "/etc/localtime"],
                           check=True, timeout=WAIT)
            os.kill(srv.pid(), signal.SIGHUP)
            srv.wait_for(r"event=timezone " + line)
            c = srv.connect()
            assert greet(c)[0] == 220
            [pid] = srv.sessions()
            assert environ(pid).get(b"TZ") == tz, zone
            c.close()
            srv.wait_sessions(0)
    finally:
        srv.stop()


@needs_zones
def test_an_inherited_tz_is_the_sessions(open_conf):
    """A TZ in the listener's environment is the administrator's: the
    sessions get it as it is, and /etc/localtime is not looked at."""
    srv = zone_listener(open_conf, "Europe/Berlin", env=("TZ=EST5EDT",))
    try:
        c = srv.connect()
        assert greet(c)[0] == 220
        [pid] = srv.sessions()
        assert environ(pid).get(b"TZ") == b"EST5EDT"
        send_message(c)
        c.close()
        srv.wait_sessions(0)
        assert "event=timezone" not in srv.log()
    finally:
        srv.stop()
    [m] = open_conf.queued()
    when, offset = received_offset(m)
    assert offset.total_seconds() in (-5 * 3600, -4 * 3600)


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6_peer_address(open_conf):
    port = free_port()
    srv = Listener(open_conf, args=("-T",), listen=[f"[::1]:{port}"])
    try:
        c = srv.connect(host="::1", port=port)
        assert greet(c)[0] == 220
        send_message(c)
        c.close()
        [m] = open_conf.queued()
        assert b"[IPv6:::1]" in m.headers() or b"[::1]" in m.headers()
        srv.wait_for(r"event=accepted .*peer=\[(IPv6:)?::1\]")
    finally:
        srv.stop()


# --- the PROXY protocol -----------------------------------------------------

def v2_header(src, dst, sport, dport):
    sig = b"\r\n\r\n\x00\r\nQUIT\n"
    body = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport)
    return sig + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


@pytest.mark.listen_args("-T", "-p", "127.0.0.2")
def test_proxy_from_a_configured_proxy(open_conf, listener):
    c = listener.connect(source="127.0.0.2")
    c.send("PROXY TCP4 192.0.2.9 127.0.0.1 40000 25\r\n")
    assert greet(c)[0] == 220
    send_message(c)
    c.close()
    v2 = listener.connect(source="127.0.0.2")
    v2.send(v2_header("198.51.100.4", "127.0.0.1", 40001, 25))
    assert greet(v2)[0] == 220
    send_message(v2)
    v2.close()
    headers = b"".join(m.headers() for m in open_conf.queued())
    assert b"[192.0.2.9]" in headers and b"[198.51.100.4]" in headers
    assert b"127.0.0.2" not in headers
    listener.wait_for(r"event=accepted .*peer=\[192\.0\.2\.9\]")
    listener.wait_for(r"event=accepted .*peer=\[198\.51\.100\.4\]")


@pytest.mark.listen_args("-T", "-p", "127.0.0.2")
def test_proxy_header_from_another_address_is_refused(open_conf, listener):
    c = listener.connect(source="127.0.0.1")
    code, text = greet(c)
    assert code == 421 and "prox" in text
    assert listener.sessions() == []
    listener.wait_for(r"event=refused reason=not-a-proxy peer=127\.0\.0\.1")


# --- TLS through the listener ------------------------------------------------

def test_starttls_through_the_listener_and_its_zygote(open_conf):
    certdir = open_conf.dir / "certs"
    make_cert(certdir, HOSTNAME)
    # the sessions run as nobody: the key is nobody's, and others' not
    nobody = __import__("pwd").getpwnam("nobody")
    os.chown(certdir / "privkey.pem", nobody.pw_uid, nobody.pw_gid)
    srv = Listener(open_conf)
    try:
        r = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{srv.port}", "-tls",
             "--from", "bob@remote.example", "--to", "alice@example.com",
             "--body", "over tls"],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        [m] = open_conf.queued()
        assert b"ESMTPS" in m.headers()
        srv.wait_sessions(0)    # swaks's, reaped: the next is the only
        # the TLS of a session is a child of the listener's zygote, not
        # an smtp-tlsd that the session started
        [zygote] = [p for p in children(srv.pid())
                    if b"-z" in cmdline(p).split(b"\0")]
        c = srv.connect()
        assert greet(c)[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
        with tls.wrap_socket(c.sock) as t:
            [session] = srv.sessions()
            assert any(b"smtp-tlsd" in cmdline(p) for p in children(zygote))
            assert not any(b"smtp-tlsd" in cmdline(p)
                           for p in children(session))
            t.sendall(b"QUIT\r\n")
            assert t.recv(100).startswith(b"221")
    finally:
        srv.stop()


# --- what a session is given, and the keeper ------------------------------

def status(pid):
    return {k: v.split() for k, v in
            (line.split(":", 1) for line in
             pathlib.Path(f"/proc/{pid}/status").read_text().splitlines())}


def resident(srv, name):
    """The pid of the listener's resident whose program is name, once it
    runs (the listener starts it as it starts listening)."""
    deadline = time.monotonic() + WAIT
    while True:
        for p in children(srv.pid()):
            if cmdline(p).split(b"\0")[0].endswith(name):
                return p
        assert time.monotonic() < deadline, f"no {name}:\n{srv.log()}"
        time.sleep(0.02)    # /proc has no event to wait on


def test_a_session_has_no_capability_and_no_group(open_conf):
    """Started as root with -u, the listener keeps CAP_SETGID alone (in
    its bounding set too) and empties its groups; its sessions have
    neither a capability nor a supplementary group (smtp-listen(8),
    Privileges)."""
    srv = Listener(open_conf, args=("-T",))
    try:
        st = status(srv.pid())
        setgid = ["%016x" % (1 << 6)]
        assert st["CapEff"] == setgid and st["CapPrm"] == setgid, st
        assert st["CapBnd"] == setgid and st["CapAmb"] == ["0" * 16], st
        assert st["Groups"] == [], st
        c = srv.connect()
        assert greet(c)[0] == 220
        [pid] = srv.sessions()
        st = status(pid)
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert st[cap] == ["0" * 16], (cap, st)
        assert st["Groups"] == [], st
        assert c.cmd("QUIT")[0] == 221
    finally:
        srv.stop()


def srs0(secret, local, host, fwd):
    """An SRS0 address as srs.h makes it, today."""
    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    day = int(time.time()) // 86400
    tt = b32[(day >> 5) & 31] + b32[day & 31]
    mac = hmac.new(secret.encode(), (tt + host + local).lower().encode(),
                   hashlib.sha1).digest()
    return (f"SRS0={base64.b64encode(mac).decode()[:4]}={tt}={host}="
            f"{local}@{fwd}")


def test_the_keeper_answers_srs_and_is_restarted(open_conf):
    """An SRS bounce checked by the listener's keeper; killed, the keeper
    is started again and answers the next session."""
    secret = open_conf.dir / "srs.secret"
    secret.write_text("listen test secret\n")
    nobody = __import__("pwd").getpwnam("nobody")
    os.chown(secret, nobody.pw_uid, nobody.pw_gid)
    secret.chmod(0o640)
    addr = srs0("listen test secret", "grace", "remote.example",
                "example.com")
    srv = Listener(open_conf, args=("-T",))
    try:
        for turn in range(2):
            keeper = resident(srv, b"smtp-keeper")
            c = srv.connect()
            assert greet(c)[0] == 220
            assert c.cmd("EHLO client.example")[0] == 250
            assert c.cmd("MAIL FROM:<>")[0] == 250
            code, text = c.cmd(f"RCPT TO:<{addr}>")
            assert code == 250, (text, srv.log())
            forged = addr.replace("=grace@", "=mallory@")
            assert c.cmd(f"RCPT TO:<{forged}>")[0] == 550
            assert c.cmd("QUIT")[0] == 221
            srv.wait_sessions(0)
            if turn == 0:
                os.kill(keeper, signal.SIGKILL)
                srv.wait_for(r"event=keeper-exit status=\"signal 9\"")
                deadline = time.monotonic() + WAIT
                while resident(srv, b"smtp-keeper") == keeper:
                    assert time.monotonic() < deadline, srv.log()
                    time.sleep(0.02)    # no event: the restart's pid
    finally:
        srv.stop()


def test_failed_srs_recipients_are_counted_per_client(open_conf):
    """Forged SRS guesses from one client, a couple a session (below the
    per-session 3) over many sessions through a proxy, reach the keeper's
    limit per source: that client is then answered 450 even for a good
    address, unchecked, while another client's good address is still
    accepted (smtp-keeper(8), failures per source)."""
    secret = open_conf.dir / "srs.secret"
    secret.write_text("listen test secret\n")
    nobody = __import__("pwd").getpwnam("nobody")
    os.chown(secret, nobody.pw_uid, nobody.pw_gid)
    secret.chmod(0o640)
    good = srs0("listen test secret", "grace", "remote.example",
                "example.com")
    limit = 30      # SRSFAIL_MAX, smtp-keeper(8)
    srv = Listener(open_conf, args=("-T", "-p", "127.0.0.2"))

    def session(src):
        c = srv.connect(source="127.0.0.2")
        c.send(f"PROXY TCP4 {src} 127.0.0.1 40000 25\r\n")
        assert greet(c)[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<>")[0] == 250
        return c

    try:
        resident(srv, b"smtp-keeper")
        guesses = 0
        while guesses < limit:
            c = session("192.0.2.66")
            for i in range(2):
                forged = good.replace("=grace@", f"=m{guesses}@")
                code, text = c.cmd(f"RCPT TO:<{forged}>")
                assert code == 550, (text, srv.log())
                guesses += 1
            assert c.cmd("QUIT")[0] == 221
            c.close()
        c = session("192.0.2.66")
        code, text = c.cmd(f"RCPT TO:<{good}>")
        assert code == 450 and "too many invalid SRS" in " ".join(text), \
            text
        assert c.cmd("QUIT")[0] == 221
        c.close()
        # another client, and the attacker's neighbour, are untouched
        for src in ("198.51.100.4", "192.0.2.67"):
            c = session(src)
            code, text = c.cmd(f"RCPT TO:<{good}>")
            assert code == 250, (src, text, srv.log())
            assert c.cmd("QUIT")[0] == 221
            c.close()
        srv.wait_for(r"event=srs-refused peer=192\.0\.2\.66 ")
        srv.wait_for(r"event=refused peer=\[192\.0\.2\.66\] cmd=RCPT "
                     r"reply=\"450 4\.7\.1 .*too many invalid SRS")
    finally:
        srv.stop()


class FakeJournal:
    """smtp-listen under peers/journald.py, in a mount namespace of its
    own: its stderr is a "journal stream" and the native socket is the
    stand-in's, which reports each entry with the pid the kernel gave."""

    def __init__(self, conf, args=()):
        self.port = free_port()
        cmd = ["unshare", "-m", "/usr/bin/python3",
               str(PEERS / "journald.py"), "--", prog("smtp-listen"),
               "-C", str(conf.dir), "-u", "nobody", "-d", "5", *args,
               "mx", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     env=conf.env(), start_new_session=True)
        self.entries = []
        self.buf = b""
        self.pid = self.next(lambda e: "started" in e)["started"]
        self.next(lambda e: "event=listening" in e.get("MESSAGE", ""))

    def next(self, match, timeout=WAIT):
        """The next entry for which match() holds, within timeout."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                e = json.loads(line)
                self.entries.append(e)
                if match(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            assert chunk, f"journald.py ended: {self.entries}"
            self.buf += chunk
        raise AssertionError(f"no such entry: {self.entries}")

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=WAIT)


def test_sessions_log_to_the_journal_through_the_listener(open_conf):
    """journald reads /proc for every new sender: the sessions' lines
    reach it from the listener's one pid, each under smtp-in's name with
    the session's own pid as SYSLOG_PID."""
    j = FakeJournal(open_conf, args=("-T",))
    try:
        for _ in range(3):
            c = Client(socket.create_connection(("127.0.0.1", j.port),
                                                timeout=WAIT))
            assert greet(c)[0] == 220
            assert c.cmd("QUIT")[0] == 221
            c.close()
        ends = [j.next(lambda e: "event=disconnect" in
                       e.get("MESSAGE", "")) for _ in range(3)]
    finally:
        j.stop()
    smtp_in = [e for e in j.entries if e.get("SYSLOG_IDENTIFIER") ==
               "smtp-in"]
    assert len(smtp_in) >= 6, j.entries          # connect and disconnect
    senders = {e["_PID"] for e in j.entries if "_PID" in e}
    assert senders == {j.pid}, j.entries
    pids = {e["SYSLOG_PID"] for e in ends}
    assert len(pids) == 3 and str(j.pid) not in pids, ends
    for e in ends:
        assert e["MESSAGE"].startswith("event=disconnect peer=[127.0.0.1]")
        # journalctl's short view shows _PID, the listener's: the
        # session's own is in the line
        assert e["MESSAGE"].endswith(f" pid={e['SYSLOG_PID']}"), e
        assert e["PRIORITY"] == "6"


def test_a_journal_that_does_not_keep_up_does_not_stall_the_listener(
        open_conf):
    """The listener relays its sessions' lines between accepts: with
    journald not reading, lines are dropped and counted, never waited
    for, and the count is logged once the journal reads again."""
    j = FakeJournal(open_conf, args=("-T",))
    try:
        os.kill(j.proc.pid, signal.SIGUSR1)
        j.next(lambda e: e.get("paused") is True)
        # two lines a session, many times what the socket's queue holds
        # (net.unix.max_dgram_qlen, 10 by default)
        for _ in range(30):
            c = Client(socket.create_connection(("127.0.0.1", j.port),
                                                timeout=WAIT))
            assert greet(c)[0] == 220
            assert c.cmd("QUIT")[0] == 221
            c.close()
        os.kill(j.proc.pid, signal.SIGUSR2)
        j.next(lambda e: e.get("paused") is False)
        c = Client(socket.create_connection(("127.0.0.1", j.port),
                                            timeout=WAIT))
        assert greet(c)[0] == 220
        assert c.cmd("QUIT")[0] == 221
        c.close()
        note = j.next(lambda e: "event=log_dropped" in
                      e.get("MESSAGE", ""))
    finally:
        j.stop()
    dropped = int(re.search(r"lines=(\d+)", note["MESSAGE"]).group(1))
    assert dropped > 0, note
    assert note["PRIORITY"] == "4"
