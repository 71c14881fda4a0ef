"""Connection reuse of remote delivery (issue 11.1 and 11.2): queue-run
keeps a long-lived smtp-out -J per busy destination and feeds it jobs;
smtp-out keeps its connection from one message to the next.

The peer is peers/scripted.py on a loopback port, routed to with
routes(5), numbering its connections and breaking one on cue: a 421 or a
dropped connection between messages, a connection dropped in the middle
of a transaction, a 452 past the 2nd recipient, a peer that stops
answering.  What a user checks: every recipient arrives exactly once,
byte for byte, or stays queued and arrives once after a flush; none is
lost; the peer counts far fewer connections than messages; and mail of
different routes, TLS requirements and AUTH identities never shares a
connection.  Every wait is bounded and waits for an event.
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import (HOSTNAME, WAIT, LogProc, QueueRun, children,
                      free_port, inject, parse_kv, prog)

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"
QR_SENT = r"event=delivery id=\S+ .*status=sent"
QR_DEFERRED = r"event=delivery id=\S+ .*status=deferred"


class Scripted(LogProc):
    """peers/scripted.py on 127.0.0.1:port."""

    def __init__(self, store, *args):
        self.port = free_port()
        self.store = pathlib.Path(store)
        self.start([PYTHON, str(HERE / "peers" / "scripted.py"),
                    "--listen", f"127.0.0.1:{self.port}",
                    "--store", str(store), *map(str, args)])
        self.wait_for("listening")

    def messages(self):
        out = []
        for j in sorted(self.store.glob("*.json")):
            meta = json.loads(j.read_text())
            meta["data"] = j.with_suffix(".eml").read_bytes()
            out.append(meta)
        return out

    def connections(self):
        try:
            return len((self.store / "connections").read_text()
                       .splitlines())
        except FileNotFoundError:
            return 0

    def wait_messages(self, count, bound=WAIT):
        end = time.monotonic() + bound
        while True:
            got = self.messages()
            if len(got) >= count:
                return got
            assert time.monotonic() < end, \
                f"{len(got)} message(s) at the peer, not {count}"
            time.sleep(0.05)    # files appear; there is no event to wait on

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)


@pytest.fixture
def peers(tmp_path):
    started = []

    def start(*args, name="peer"):
        p = Scripted(tmp_path / f"{name}{len(started)}", *args)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


@pytest.fixture
def qrs():
    started = []

    def start(conf):
        q = QueueRun(conf)
        started.append(q)
        return q
    yield start
    for q in started:
        q.stop()


def route(conf, peer, domain="*", extra="tls=none"):
    (conf.dir / "routes").write_text(
        f"{domain} 127.0.0.1:{peer.port} {extra}\n")


def body(i):
    """A message of its own for each i, with lines that must be
    dot-stuffed and a line end the wire turns into CRLF."""
    return (f"From: alice@example.com\nTo: someone@reuse.test\n"
            f"Subject: message {i}\nMessage-ID: <{i}@example.com>\n\n"
            f"body of message {i}\n.a dot first\n.\nlast\n").encode()


def crlf(data):
    return re.sub(rb"\r(?!\n)|(?<!\r)\n", b"\r\n", data)


def injected(data):
    """What arrived, less the Received: field queue-inject put on top."""
    m = re.match(rb"Received: \(posthorn queue-inject [^\r]*\r\n"
                 rb"(?:\t[^\r]*\r\n)*", data)
    assert m, data[:200]
    return data[m.end():]


def once_each(peer, expected):
    """Every (recipient, message) of expected arrived exactly once, byte
    for byte as injected (in wire form, with CRLF line ends)."""
    got = {}
    for m in peer.messages():
        for r in m["rcpt_tos"]:
            key = (r, injected(m["data"]))
            got[key] = got.get(key, 0) + 1
    want = {(r, crlf(b)): 1 for r, b in expected}
    assert got == want, (sorted(got.items())[:5], len(got), len(want))


def flush_and_wait(conf, qr, count):
    r = conf.run("mailq", "-f")
    assert r.returncode == 0, r.stderr
    qr.wait_for(QR_SENT, count)


# --- many messages, few connections -----------------------------------

def test_hundred_messages_go_over_far_fewer_connections(conf, peers, qrs):
    peer = peers()
    route(conf, peer)
    msgs = [(f"rcpt{i}@reuse.test", body(i)) for i in range(100)]
    qr = qrs(conf)
    for rcpt, b in msgs:
        inject(conf, "alice@example.com", rcpt, body=b)
    qr.wait_for(QR_SENT, 100, timeout=120)
    qr.wait_for(r"event=removed", 100)
    once_each(peer, msgs)
    conns = peer.connections()
    # At most max_per_destination (20) at once, each kept for the next.
    assert conns <= 25, conns
    assert len(qr.events("reuse")) >= 100 - conns, qr.log()
    assert conf.queued() == []


def test_message_limit_of_a_connection(conf, peers, qrs):
    """smtp_reuse_limit: a connection carries that many messages, then
    a new one is opened."""
    conf.write(max_per_destination=1, smtp_reuse_limit=3)
    peer = peers()
    route(conf, peer)
    msgs = [(f"r{i}@reuse.test", body(i)) for i in range(7)]
    for rcpt, b in msgs:
        inject(conf, "alice@example.com", rcpt, body=b)
    qr = qrs(conf)
    qr.wait_for(QR_SENT, 7)
    once_each(peer, msgs)
    by_conn = {}
    for m in peer.messages():
        by_conn.setdefault(m["conn"], []).append(m)
    assert sorted(len(v) for v in by_conn.values()) == [1, 3, 3], by_conn


# --- what a reused connection survives --------------------------------

def one_at_a_time(conf, peer, qrs, n=3):
    """n messages through one smtp-out (max_per_destination = 1), so
    that the fault meets a connection kept from the message before."""
    conf.write(max_per_destination=1, smtp_reply_timeout=2)
    route(conf, peer)
    msgs = [(f"m{i}@reuse.test", body(i)) for i in range(n)]
    for rcpt, b in msgs:
        inject(conf, "alice@example.com", rcpt, body=b)
    return qrs(conf), msgs


@pytest.mark.parametrize("fault", ["421", "drop", "stall", "dropdata"])
def test_broken_reused_connection_reconnects(conf, peers, qrs, fault):
    """A 421, a closed connection, a peer that stops answering (RSET
    times out after smtp_reply_timeout) between messages, or a
    connection dropped at DATA: the next message goes over a new
    connection at once, and nothing is lost or sent twice."""
    peer = peers("--fault", f"{fault}:1:1")
    qr, msgs = one_at_a_time(conf, peer, qrs)
    qr.wait_for(QR_SENT, 3)
    once_each(peer, msgs)
    assert qr.events("delivery") and not [
        l for l in qr.lines if re.search(QR_DEFERRED, l)], qr.log()
    assert peer.connections() == 2, qr.log()
    assert [m["conn"] for m in peer.messages()] == [1, 2, 2]


def test_connection_dropped_after_the_dot_defers_then_delivers_once(
        conf, peers, qrs):
    """The peer takes the whole message and drops the connection before
    it answers: the message may have been delivered, so it is deferred
    (never sent at once elsewhere), and a flush sends it; here the peer
    had stored nothing, so each arrives once."""
    peer = peers("--fault", "dropdot:1:1")
    qr, msgs = one_at_a_time(conf, peer, qrs)
    qr.wait_for(QR_SENT, 2)
    [line] = qr.wait_for(QR_DEFERRED)
    assert parse_kv(line)["dsn"] == "4.4.2", line
    qr.wait_for(r"event=removed", 2)
    qr.wait_for(r"event=waiting")
    assert len(conf.queued()) == 1
    assert len(peer.messages()) == 2
    flush_and_wait(conf, qr, 3)
    once_each(peer, msgs)
    qr.wait_for(r"event=removed", 3)
    assert conf.queued() == []


def test_452_at_the_third_recipient_takes_a_second_transaction(
        conf, peers, qrs):
    peer = peers("--max-rcpts", "2")
    route(conf, peer)
    rcpts = [f"u{i}@reuse.test" for i in range(5)]
    inject(conf, "alice@example.com", *rcpts, body=body(0))
    qr = qrs(conf)
    qr.wait_for(QR_SENT, 5)
    got = peer.messages()
    assert [m["rcpt_tos"] for m in got] == [rcpts[0:2], rcpts[2:4],
                                            rcpts[4:5]], got
    assert {m["conn"] for m in got} == {1}
    assert all(injected(m["data"]) == crlf(body(0)) for m in got)
    assert peer.connections() == 1


def test_peer_that_never_answers_defers_and_loses_nothing(conf, peers, qrs):
    """Every connection stops answering after its first message: each
    message gets a new connection; the stalled RSET costs the reply
    timeout, and nothing is lost."""
    peer = peers("--fault", "stall:*:1")
    qr, msgs = one_at_a_time(conf, peer, qrs, n=3)
    qr.wait_for(QR_SENT, 3, timeout=60)
    once_each(peer, msgs)
    assert peer.connections() == 3


def test_queue_run_killed_with_smtp_out_alive(conf, peers, tmp_path):
    """kill -9 of queue-run while its smtp-out processes hold their
    connections: they see the end of their jobs and exit; the next
    queue-run delivers everything that was not, at least once."""
    peer = peers()
    route(conf, peer)
    conf.write(smtp_reuse_idle=60)      # kept alive until the kill
    msgs = [(f"k{i}@reuse.test", body(i)) for i in range(40)]
    qr = QueueRun(conf)
    try:
        for rcpt, b in msgs[:10]:
            inject(conf, "alice@example.com", rcpt, body=b)
        qr.wait_for(QR_SENT, 10)
        outs = [p for p in children(qr.proc.pid)]
        assert outs, "no smtp-out alive"
        for rcpt, b in msgs[10:]:
            inject(conf, "alice@example.com", rcpt, body=b)
        os.kill(qr.proc.pid, signal.SIGKILL)
        qr.proc.wait(timeout=WAIT)
    finally:
        qr.reader.join(timeout=WAIT)
    end = time.monotonic() + WAIT
    for pid in outs:
        while pathlib.Path(f"/proc/{pid}").exists() and \
                b"smtp-out" in _cmdline(pid):
            assert time.monotonic() < end, f"smtp-out {pid} still runs"
            time.sleep(0.05)    # /proc: there is no event to wait on
    qr2 = QueueRun(conf)
    try:
        end = time.monotonic() + 60
        while conf.queued():
            assert time.monotonic() < end, qr2.log()
            time.sleep(0.1)
    finally:
        qr2.stop()
    seen = {}
    for m in peer.messages():
        for r in m["rcpt_tos"]:
            seen.setdefault(r, []).append(m["data"])
    for rcpt, b in msgs:
        assert rcpt in seen, rcpt
        assert all(injected(d) == crlf(b) for d in seen[rcpt])


def _cmdline(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- what never shares a connection -----------------------------------

def jobs(*jobs):
    """The job stream of smtp-out -J (smtp-out(8)): for each job, the
    count of its arguments, then each, every one NUL-terminated."""
    out = b""
    for args in jobs:
        out += str(len(args)).encode() + b"\0"
        out += b"".join(a.encode() + b"\0" for a in args)
    return out


def test_routes_tls_and_auth_identities_never_share_a_connection(
        conf, peers, tmp_path, testca):
    """smtp-out -J fed by hand: jobs for domains whose routes lead to
    the same host and port but differ in TLS requirement or AUTH
    identity each get their own connection; two domains of the very
    same route share one."""
    peer = peers("--cert", testca.cert, "--key", testca.key, "--auth",
                 "one:pw1")
    peer_two = peers("--cert", testca.cert, "--key", testca.key, "--auth",
                     "two:pw2")
    d = conf.dir / "secrets"
    d.mkdir()
    for user, pw in (("one", "pw1"), ("two", "pw2")):
        (d / user).write_text(f"{user}:{pw}\n")
        (d / user).chmod(0o600)
    p = peer.port
    (conf.dir / "routes").write_text(
        f"plain.test 127.0.0.1:{p} tls=none\n"
        f"same.test 127.0.0.1:{p} tls=none\n"
        f"tls.test 127.0.0.1:{p} tls=encrypt\n"
        f"one.test 127.0.0.1:{p} tls=encrypt auth=secrets/one\n"
        f"two.test 127.0.0.1:{peer_two.port} tls=encrypt auth=secrets/two\n")
    msg = tmp_path / "msg"
    msg.write_bytes(b"Subject: jobs\n\nhello\n")
    order = ["plain", "same", "tls", "one", "plain", "two", "one", "one"]
    stream = jobs(*[["-m", str(msg), "-f", "alice@example.com", "--",
                     f"x{i}@{d}.test"] for i, d in enumerate(order)])
    r = subprocess.run([prog("smtp-out"), "-C", str(conf.dir), "-J"],
                       input=stream, capture_output=True, timeout=120,
                       env=conf.env())
    err = r.stderr.decode()
    assert r.returncode == 0, err
    lines = r.stdout.decode().splitlines()
    assert [l.split("\t")[0] for l in lines] == ["sent"] * len(order), \
        r.stdout.decode() + err
    got = {m["rcpt_tos"][0]: m for m in peer.messages() +
           peer_two.messages()}
    conn = {rc: (m["conn"], m["tls"] is not None, m["auth"],
                 rc.split("@")[1]) for rc, m in got.items()}
    # The AUTH login and TLS each connection had.
    assert conn["x3@one.test"][1:3] == (True, "one")
    assert conn["x5@two.test"][1:3] == (True, "two")
    assert conn["x2@tls.test"][1:3] == (True, None)
    assert conn["x0@plain.test"][1:3] == (False, None)
    # One route's, one TLS requirement's, one identity's per connection.
    by_conn = {}
    for rc, (c, tls, auth, dom) in conn.items():
        if rc.endswith("two.test"):
            c = ("two", c)
        by_conn.setdefault(c, set()).add((tls, auth, dom if dom not in
                                          ("plain.test", "same.test")
                                          else "plain-route"))
    assert all(len(v) == 1 for v in by_conn.values()), by_conn
    # The same route shares: plain then same went over one connection;
    # one.test's last two jobs, one after the other, too.
    assert conn["x0@plain.test"][0] == conn["x1@same.test"][0]
    assert conn["x6@one.test"][0] == conn["x7@one.test"][0]
    assert conn["x3@one.test"][0] != conn["x6@one.test"][0]
    assert "pw1" not in err and "pw2" not in err


def test_changed_configuration_gets_a_new_smtp_out_and_connection(
        conf, peers, qrs):
    """An idle smtp-out read the old posthorn.conf: after a change, the
    next message goes over a new process and a new connection."""
    conf.write(smtp_reuse_idle=60)
    peer = peers()
    route(conf, peer)
    qr = qrs(conf)
    inject(conf, "alice@example.com", "a@reuse.test", body=body(1))
    qr.wait_for(QR_SENT, 1)
    inject(conf, "alice@example.com", "b@reuse.test", body=body(2))
    qr.wait_for(QR_SENT, 2)
    assert peer.connections() == 1, qr.log()
    conf.write(smtp_reuse_idle=59)
    qr.wait_for(r"event=config-reloaded")
    inject(conf, "alice@example.com", "c@reuse.test", body=body(3))
    qr.wait_for(QR_SENT, 3)
    once_each(peer, [("a@reuse.test", body(1)), ("b@reuse.test", body(2)),
                     ("c@reuse.test", body(3))])
    assert peer.connections() == 2, qr.log()
    assert [m["conn"] for m in peer.messages()] == [1, 1, 2]


def test_trust_store_read_once_per_process_and_kept_per_ca_file(
        conf, peers, tmp_path, testca):
    """smtp-out -J reads the system trust store for its first TLS
    connection and keeps it for the next ones (7-25 ms of CPU each time
    here), but never verifies one route's certificate with another
    route's CA file: a route without ca= after three with it finds the
    server's issuer unknown, and the route after it finds it known
    again."""
    ps = [peers("--cert", testca.cert, "--key", testca.key)
          for _ in range(3)]
    ca = f"tls=encrypt ca={testca.ca}"
    (conf.dir / "routes").write_text(
        f"a1.test 127.0.0.1:{ps[0].port} {ca}\n"
        f"a2.test 127.0.0.1:{ps[1].port} {ca}\n"
        f"a3.test 127.0.0.1:{ps[2].port} {ca}\n"
        f"b.test 127.0.0.1:{ps[0].port} tls=encrypt\n"
        f"a4.test 127.0.0.1:{ps[1].port} {ca}\n")
    msg = tmp_path / "msg"
    msg.write_bytes(b"Subject: trust\n\nhello\n")
    order = ["a1", "a2", "a3", "b", "a4"]
    stream = jobs(*[["-m", str(msg), "-f", "alice@example.com", "--",
                     f"x@{d}.test"] for d in order])
    trace = tmp_path / "trace"
    # LeakSanitizer cannot run under ptrace: leaks are other tests' to see.
    env = dict(conf.env())
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] = env["ASAN_OPTIONS"].replace("detect_leaks=1",
                                                          "detect_leaks=0")
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o",
                        str(trace), prog("smtp-out"), "-C", str(conf.dir),
                        "-J"], input=stream, capture_output=True,
                       timeout=120, env=env)
    err = r.stderr.decode()
    assert r.returncode == 0, err
    assert [l.split("\t")[0] for l in r.stdout.decode().splitlines()] == \
        ["sent"] * len(order), r.stdout.decode() + err
    tls = [parse_kv(l) for l in err.splitlines() if " event=tls " in l]
    assert [t["domain"] for t in tls] == [f"{d}.test" for d in order], err
    # No name of ours is in the certificate (the routes go to 127.0.0.1),
    # so none verifies; but only b.test, without the CA, lacks the issuer.
    unknown = ["issuer" in t.get("reason", "") for t in tls]
    assert unknown == [False, False, False, True, False], tls
    # Five connections; the store read for the first, again at most for
    # the change of CA file to b.test's and back.
    stores = [l for l in trace.read_text().splitlines()
              if '"/etc/ssl/certs/' in l and "= -1" not in l]
    assert 1 <= len(stores) <= 3, stores
