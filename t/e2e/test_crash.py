"""The crash campaign: at-least-once delivery under SIGKILL.

500 messages are queued while queue-run is killed with SIGKILL at random
moments, a fixed number of times, and started again each time.  At the
end every message must be in its Maildir at least once; the number of
duplicates (allowed by the contract: a crash between a delivery and its
record delivers again) is printed.
"""

import os
import random
import re
import signal
import threading
import time

from conftest import QueueRun

MESSAGES = 500
KILLS = 12
SEED = 20261123          # the moments are random, but the same every run
DRAIN = 180.0            # seconds: the bound on delivering what is left


def test_sigkill_campaign_loses_nothing(conf):
    rng = random.Random(SEED)
    errors = []

    def feed():
        # Half of the messages go through an alias, half straight.
        for i in range(MESSAGES):
            rcpt = "alice@example.com" if i % 2 else "info@example.com"
            body = f"Subject: crash {i}\nX-Token: {i}\n\nmessage {i}\n"
            r = conf.run("queue-inject", "-f", "bob@example.com", rcpt,
                         input=body.encode())
            if r.returncode != 0:
                errors.append(r.stderr)

    feeder = threading.Thread(target=feed)
    qr = QueueRun(conf)
    feeder.start()
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.4))      # a random moment
        qr.stop(signal.SIGKILL)
        qr = QueueRun(conf)
    feeder.join(timeout=DRAIN)
    assert not feeder.is_alive() and errors == [], errors[:3]

    # The last queue-run is the only one now: every message still queued
    # (named by its id) ends with its "removed" line there.  Waiting for
    # those lines, not polling the spool, also keeps the test from reading
    # a queue file queue-run is removing.
    deadline = time.monotonic() + DRAIN
    try:
        for qid in sorted(os.listdir(conf.spool / "new")):
            qr.wait_for(rf"event=removed id={qid}\b",
                        timeout=max(deadline - time.monotonic(), 0.1))
    finally:
        qr.stop()
    assert conf.queued() == []

    seen = {}
    for data in conf.maildir("example.com", "alice"):
        m = re.search(rb"\nX-Token: (\d+)\n", data)
        assert m, data[:200]
        seen[int(m.group(1))] = seen.get(int(m.group(1)), 0) + 1
    missing = sorted(set(range(MESSAGES)) - set(seen))
    assert missing == [], f"lost: {missing[:20]}"
    duplicates = sum(n - 1 for n in seen.values())
    print(f"\ncrash campaign: {MESSAGES} messages, {KILLS} SIGKILLs, "
          f"{duplicates} duplicate deliveries")
    assert list((conf.spool / "state").iterdir()) == []
