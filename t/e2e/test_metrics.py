"""What posthorn counts, as mailq -m prints it for node_exporter's
textfile collector: smtp-listen's sessions and refusals and what its
sessions report (messages, how they ended), queue-run's deliveries, and
the queue's size, read back with the Prometheus client's own parser."""

import socket

from prometheus_client.parser import text_string_to_metric_families

from conftest import WAIT, Client, Listener, QueueRun


def samples(text):
    """{(name, ((label, value), ...)): value} of the exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def mailq_m(conf):
    r = conf.run("mailq", "-m")
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    # one HELP and one TYPE a family, whoever wrote its series
    helps = [l.split()[2] for l in text.splitlines()
             if l.startswith("# HELP ")]
    assert len(helps) == len(set(helps)), text
    return samples(text), text


def test_sessions_refusals_messages_and_deliveries_are_counted(open_conf):
    srv = Listener(open_conf, args=("-T", "-c", "1"))
    try:
        c = srv.connect()
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<bob@remote.example>")[0] == 250
        assert c.cmd("RCPT TO:<alice@example.com>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        assert c.cmd("Subject: t\r\n\r\nbody\r\n.")[0] == 250
        # the one session allowed is busy: the listener answers 421
        second = Client(socket.create_connection(("127.0.0.1", srv.port),
                                                 timeout=WAIT))
        assert second.reply()[0] == 421
        second.close()
        assert c.cmd("QUIT")[0] == 221
        c.close()
        srv.wait_sessions(0)
    finally:
        srv.stop()      # and its counters are written as it stops
    got, text = mailq_m(open_conf)
    mx = (("mode", "mx"),)
    assert got[("posthorn_sessions_total", mx)] == 1, text
    assert got[("posthorn_sessions_active", mx)] == 0, text
    assert got[("posthorn_refused_total",
                (("mode", "mx"), ("reason", "sessions")))] == 1, text
    assert got[("posthorn_messages_total", mx)] == 1, text
    assert got[("posthorn_session_ends_total",
                (("mode", "mx"), ("reason", "quit")))] == 1, text
    assert got[("posthorn_queue_messages", ())] == 1, text
    assert got[("posthorn_queue_oldest_seconds", ())] >= 0, text

    qr = QueueRun(open_conf)
    try:
        qr.delivered(1)
    finally:
        qr.stop()
    got, text = mailq_m(open_conf)
    assert got[("posthorn_deliveries_total",
                (("status", "sent"), ("via", "mailbox")))] == 1, text
    assert got[("posthorn_queue_messages", ())] == 0, text
    assert got[("posthorn_queue_oldest_seconds", ())] == 0, text
    # the listener's file is still there, beside queue-run's
    assert got[("posthorn_sessions_total", mx)] == 1, text

