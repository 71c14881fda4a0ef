"""mtasts.py — what MTA-STS and the TLS-report counting add to one
smtp-out delivery to a domain without a policy: one TXT query of
_mta-sts.DOMAIN, a look for a cached policy, and one line appended to
the day's counts.  Runs as root in the private network namespace of the
end-to-end tests (t/e2e/netns.py: dnsmasq, an aiosmtpd peer for
v4.test), nothing leaving the machine.

  python3 bench/mtasts.py BIN_DIR [ROUNDS]

Two routes(5) files take turns, delivery by delivery:
  sts   "v4.test mx"            (the default: MTA-STS looked up, counted)
  off   "v4.test mx tls=none"   (neither; the peer offers no STARTTLS,
                                 so the SMTP session is the same)
Each delivery is one smtp-out run through nsenter; the table gives the
median wall time and the children's CPU (user+sys, from wait4) of each.
Figures only, never asserted; the machine is shared, so compare the two
rows of one run.
"""

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "t" / "e2e"))
BIN = pathlib.Path(sys.argv[1]).resolve()
os.environ["POSTHORN_BIN"] = str(BIN)

from conftest import Conf  # noqa: E402
from netns import AIO, Netns  # noqa: E402

ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
MESSAGE = b"From: a@example.com\nSubject: bench\n\nbody\n"


def run(ns, conf):
    cmd = ns.prefix + [str(BIN / "smtp-out"), "-C", str(conf.dir), "-f",
                       "a@example.com", "--", "b@v4.test"]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=conf.env())
    p.stdin.write(MESSAGE)
    p.stdin.close()
    p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    assert os.waitstatus_to_exitcode(status) == 0, "delivery failed"
    return wall, ru.ru_utime + ru.ru_stime


def main():
    with tempfile.TemporaryDirectory(prefix="posthorn-bench.") as tmp:
        tmp = pathlib.Path(tmp)
        ns = Netns(tmp / "ns")
        try:
            ns.aiosmtpd([f"{AIO}:25"], tmp / "store", hostname="mx.v4.test")
            confs = {}
            for name, line in (("sts", "v4.test mx\n"),
                               ("off", "v4.test mx tls=none\n")):
                (tmp / name).mkdir()
                c = Conf(tmp / name)
                (c.dir / "routes").write_text(line)
                confs[name] = c
            res = {n: ([], []) for n in confs}
            for _ in range(ROUNDS):
                for n, c in confs.items():
                    w, cpu = run(ns, c)
                    res[n][0].append(w)
                    res[n][1].append(cpu)
        finally:
            ns.close()
    print(f"{'route':6} {'wall ms':>8} {'cpu ms':>8}   (median of {ROUNDS})")
    for n, (w, c) in res.items():
        print(f"{n:6} {statistics.median(w) * 1e3:8.2f} "
              f"{statistics.median(c) * 1e3:8.2f}")


if __name__ == "__main__":
    main()
