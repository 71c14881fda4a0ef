#!/bin/sh
# bench/local.sh BIN_DIR — the end-to-end local path of "make bench":
# smtp-source -> smtp-in -> queue -> queue-run -> Maildir, beside a private
# Postfix doing the same (smtpd -> cleanup -> qmgr -> virtual -> Maildir),
# in the same run.
#
# Throughput: for each concurrency (10, 50) smtp-source sends 2,000
# messages of 10 KB, one per connection, to one user of one domain, and
# three times are taken from the moment smtp-source starts:
#   accept s    smtp-source exits (every message answered 250);
#   last s      the last message is in the user's Maildir new/;
#   msgs/s      messages / last s: the rate end to end.
# Every message must arrive once; a run that is short or long says so.
#
# Idle latency: with the queue empty, 50 times one 10 KB message over SMTP,
# then the time from its commit to its file in the Maildir's new/:
#   commit      the moment the queue file becomes the scheduler's:
#               posthorn  its rename into SPOOL/new/ (posthorn-queue(5));
#               Postfix   cleanup's chmod of incoming/ID to 0700, the mark
#                         of a complete queue file, just before its fsync
#                         and qmgr's wake-up.
#   250         the client has the 250 reply to the end of DATA.  The
#               scheduler may be done before the writer's last fsync and
#               reply, so this one can be small or even negative.
# Median and 90th percentile in milliseconds.
#
# How the times are taken: one Python helper (written from this file into
# the temporary directory) watches the directories with inotify(7) (ctypes
# on libc, no package needed) and stamps each event with the monotonic
# clock when it reads it; it sleeps in poll(2) on the inotify descriptor,
# so the stamp is the event plus the helper's wake-up, microseconds on an
# idle machine, well under a millisecond under the load of a run.  No
# polling interval is involved.  The SMTP client of the latency test runs
# in a thread so that the watcher is never blocked behind it.
#
# Both queues and both Maildirs live under /var/tmp, on the disk, never on
# tmpfs: every step fsyncs and that must cost what it costs.  Both sides
# run with their default delivery limits: posthorn max_deliveries 20,
# max_per_destination 4 (per mailbox); Postfix default_process_limit
# raised to 200 (as in bench/run.sh, for smtpd), virtual's concurrency 20
# per domain, in_flow_delay left at its 1s default (smtpd waits for qmgr
# to keep up: Postfix's own flow control is part of its end to end).
# Loopback only; everything started is stopped on exit, failure included;
# every wait is bounded.
#
# CPU: for each run, the CPU time of the server's process trees (user and
# system, from /proc/PID/stat: every live process of the tree, and what
# its reaped children used) over the run, per message: posthorn's
# activator with its smtp-in sessions and queue-run with whatever it
# starts, and queue-run's part alone (the local delivery); Postfix's
# master and all its daemons.  The counts are in clock ticks (10 ms), so
# a run of 2,000 messages gives them to some 0.01 ms a message.
#
# BENCH_OLD_BIN=DIR adds a peer "old": a second posthorn with the
# programs of DIR (another build, main's for instance), taking its turn
# in every round, for a before/after in the same run.
#
# Runs as root (Postfix's master starts as root).  BENCH_MSGS=N changes
# the message count (2000), BENCH_ROUNDS=N the number of rounds (3; the
# peers take turns within a round, and the table ends with the medians), BENCH_LATENCY=N the number of latency
# samples (50); BENCH_PEERS="posthorn" or "postfix" runs one side only;
# BENCH_KEEP=1 keeps the temporary directory (logs, queues, Maildirs).
set -eu

BIN=${1:?usage: bench/local.sh BIN_DIR}
MSGS=${BENCH_MSGS:-2000}
SIZE=10240			# bytes a message
CONCURRENCY="10 50"
ROUNDS=${BENCH_ROUNDS:-3}
SAMPLES=${BENCH_LATENCY:-50}
PEERS=${BENCH_PEERS:-posthorn postfix}
OLD_BIN=${BENCH_OLD_BIN-}
if [ -n "$OLD_BIN" ]; then
	OLD_BIN=$(cd "$OLD_BIN" && pwd)
	PEERS="$PEERS old"
fi
DOMAIN=bench.example
USER_=rcpt
RCPT=$USER_@$DOMAIN
STALL=60			# seconds without a new arrival: a run has failed
BIN=$(cd "$BIN" && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd /usr/sbin/smtp-source /usr/sbin/postfix systemd-socket-activate python3
case " $PEERS " in *" posthorn "*)
	need_built smtp-in queue-run ;;
esac
need_postfix_user
bench_tmpdir posthorn-bench-local

# --- the measuring helper ------------------------------------------------------

M=$T/measure.py
cat >"$M" <<'EOF'
"""The clock of bench/local.sh: inotify(7) through ctypes, monotonic stamps.

  measure.py blast N MAILDIR_NEW QUEUE_DIR... -- SMTP_SOURCE_ARGV...
      run smtp-source, print "ACCEPT_S LAST_S ARRIVED" (seconds from its
      start to its exit and to the Nth arrival in MAILDIR_NEW, and how
      many files MAILDIR_NEW holds at the end); then wait until the
      QUEUE_DIRs are empty so that the next run starts on an idle queue.
  measure.py latency COUNT PORT RCPT SIZE MAILDIR_NEW COMMIT_DIR COMMIT \
      QUEUE_DIR...
      COUNT times on an idle queue: one SMTP message; print one line per
      sample, "COMMIT_TO_MAILDIR_MS OK_TO_MAILDIR_MS".  COMMIT is the event
      in COMMIT_DIR that is the commit: "moved" (a rename into it) or
      "chmod" (a file in it given its owner's execute bit).
Every wait is bounded.
"""

import ctypes
import os
import select
import smtplib
import struct
import subprocess
import sys
import threading
import time

STALL = float(os.environ.get("STALL", "60"))  # s without a new arrival
IDLE_WAIT = 120.0  # s for a queue to drain
ONE_WAIT = 10.0  # s for one message of the latency test

IN_ATTRIB = 0x4
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_Q_OVERFLOW = 0x4000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
EVENT = struct.Struct("iIII")

libc = ctypes.CDLL(None, use_errno=True)


class Inotify:
    def __init__(self):
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            sys.exit("inotify_init1: " + os.strerror(ctypes.get_errno()))
        self.wds = {}
        self.poll = select.poll()
        self.poll.register(self.fd, select.POLLIN)

    def watch(self, path, mask):
        wd = libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            sys.exit(f"inotify_add_watch {path}: "
                     + os.strerror(ctypes.get_errno()))
        self.wds[wd] = path
        return wd

    def events(self, timeout):
        """Wait up to timeout s; return (stamp, [(wd, mask, name)])."""
        if not self.poll.poll(max(0, int(timeout * 1000))):
            return time.monotonic(), []
        stamp = time.monotonic()
        out = []
        while True:
            try:
                buf = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            off = 0
            while off < len(buf):
                wd, mask, _, n = EVENT.unpack_from(buf, off)
                name = buf[off + EVENT.size:off + EVENT.size + n]
                out.append((wd, mask, name.rstrip(b"\0")))
                off += EVENT.size + n
        return stamp, out


def files(dirs):
    n = 0
    for d in dirs:
        for _, _, fs in os.walk(d):
            n += len(fs)
    return n


def wait_idle(dirs):
    deadline = time.monotonic() + IDLE_WAIT
    while files(dirs):
        if time.monotonic() > deadline:
            sys.exit(f"the queue ({' '.join(dirs)}) did not drain")
        time.sleep(0.01)


def blast(argv):
    n = int(argv[0])
    mail = argv[1]
    sep = argv.index("--")
    queue = argv[2:sep]
    source = argv[sep + 1:]
    ino = Inotify()
    ino.watch(mail, IN_MOVED_TO | IN_CREATE)
    seen = set(os.listdir(mail))
    if seen:
        sys.exit(f"{mail} is not empty")
    t0 = time.monotonic()
    err = open(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])),
                            "source.err"), "wb")
    proc = subprocess.Popen(source, stdout=subprocess.DEVNULL, stderr=err)
    accept = last = None
    heard = t0
    while last is None or accept is None:
        stamp, evs = ino.events(0.05)
        for _, mask, name in evs:
            if mask & IN_Q_OVERFLOW:
                seen = set(os.listdir(mail))
            else:
                seen.add(name)
        if evs:
            heard = stamp
        if last is None and len(seen) >= n:
            last = stamp - t0
        if accept is None and proc.poll() is not None:
            accept = time.monotonic() - t0
            if proc.returncode != 0:
                sys.exit(f"smtp-source exited {proc.returncode}")
        if accept is not None and last is None and \
                time.monotonic() - heard > STALL:
            break
    arrived = len(os.listdir(mail))
    print(f"{accept:.3f} {'-' if last is None else f'{last:.3f}'} {arrived}")
    sys.stdout.flush()
    if last is None:
        sys.exit(f"stalled: no arrival in {mail} for {STALL:.0f} s")
    wait_idle(queue)


def latency(argv):
    count, port, rcpt, size = int(argv[0]), int(argv[1]), argv[2], int(argv[3])
    mail, cdir, commit = argv[4], argv[5], argv[6]
    queue = argv[7:]
    ino = Inotify()
    wmail = ino.watch(mail, IN_MOVED_TO | IN_CREATE)
    wcommit = ino.watch(cdir, IN_MOVED_TO if commit == "moved" else IN_ATTRIB)
    line = b"x" * 78
    body = b"\r\n".join([line] * (size // 80))
    for i in range(count):
        wait_idle(queue)
        msg = (f"From: bench@{rcpt.split('@')[1]}\r\nTo: {rcpt}\r\n"
               f"Subject: latency {i}\r\n\r\n").encode() + body + b"\r\n"
        ok = {}

        def send():
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=ONE_WAIT) as s:
                    s.sendmail(f"bench@{rcpt.split('@')[1]}", [rcpt], msg)
                    ok["t"] = time.monotonic()
            except Exception as e:  # reported below, by the main thread
                ok["error"] = e

        th = threading.Thread(target=send)
        t_commit = t_mail = None
        deadline = time.monotonic() + ONE_WAIT
        th.start()
        while t_mail is None and time.monotonic() < deadline:
            stamp, evs = ino.events(0.1)
            for wd, mask, name in evs:
                if wd == wmail and t_mail is None:
                    t_mail = stamp
                elif wd == wcommit and t_commit is None:
                    if commit == "moved":
                        t_commit = stamp
                    else:
                        try:
                            st = os.stat(os.path.join(cdir, os.fsdecode(name)))
                        except FileNotFoundError:
                            continue  # already taken by qmgr: no mode to see
                        if st.st_mode & 0o100:
                            t_commit = stamp
        th.join(ONE_WAIT)
        if "error" in ok:
            sys.exit(f"sample {i}: SMTP: {ok['error']}")
        if t_mail is None or t_commit is None or "t" not in ok:
            sys.exit(f"sample {i}: no {'commit' if t_commit is None else 'delivery'}"
                     f" seen within {ONE_WAIT} s")
        print(f"{(t_mail - t_commit) * 1000:.3f} {(t_mail - ok['t']) * 1000:.3f}")
        sys.stdout.flush()
    wait_idle(queue)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "blast":
        blast(sys.argv[2:])
    elif len(sys.argv) > 9 and sys.argv[1] == "latency":
        latency(sys.argv[2:])
    else:
        sys.exit(__doc__)
EOF

LATENCY=$T/latency
: >"$LATENCY"

CPU=$T/cpu
: >"$CPU"

# cpu_ms PID...: the CPU ms of the process trees of the PIDs.
cpu_ms() { tree_cpu "$@"; }

# blast PEER PORT CONC "ALL_PIDS" "DELIVERY_PIDS" MAILDIR_NEW QUEUE_DIR...:
# one smtp-source run, and the CPU of the server's trees over it.
blast() {
	peer=$1 port=$2 conc=$3 allpids=$4 delpids=$5 mnew=$6
	shift 6
	rc=0
	# shellcheck disable=SC2086
	a0=$(cpu_ms $allpids)
	# shellcheck disable=SC2086
	d0=$( [ -z "$delpids" ] || cpu_ms $delpids)
	out=$(STALL=$STALL python3 "$M" blast "$MSGS" "$mnew" "$@" -- \
	    smtp-source -c -s "$conc" -m "$MSGS" -l "$SIZE" \
	    -f "from@$DOMAIN" -t "$RCPT" "127.0.0.1:$port") || rc=$?
	if [ -z "$out" ]; then
		cat "$T/source.err" >&2
		die "the run against $peer failed"
	fi
	# shellcheck disable=SC2086
	set -- $out
	note=
	[ "$3" -eq "$MSGS" ] || note="  (!) $3 in the Maildir, not $MSGS"
	[ "$2" != - ] || note="$note  (!) stalled for ${STALL}s"
	[ ! -s "$T/source.err" ] || note="$note  (!) smtp-source: $(head -n 1 "$T/source.err")"
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a="$1" -v l="$2" \
	    -v note="$note" 'BEGIN {
		r = (l == "-") ? "-" : sprintf("%.0f", m / l)
		printf "%-9s %11d %6d %9.2f %9s %9s%s\n", p, c, m, a,
		    (l == "-") ? "-" : sprintf("%.2f", l), r, note
	    }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
	[ "$rc" -eq 0 ] || die "the run against $peer failed (its row is above)"
	# measure.py waited for the queue to empty: all the work is done.
	# shellcheck disable=SC2086
	a1=$(cpu_ms $allpids)
	# shellcheck disable=SC2086
	d1=$( [ -z "$delpids" ] || cpu_ms $delpids)
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a0="$a0" -v a1="$a1" \
	    -v d0="$d0" -v d1="$d1" 'BEGIN {
		d = (d0 == "") ? "-" : sprintf("%.2f", (d1 - d0) / m)
		printf "%-9s %11d %12.2f %12s\n", p, c, (a1 - a0) / m, d
	    }' >>"$CPU"
	tail -n 1 "$CPU" >&2
	find "$mnew" -type f -delete
}

# latency PEER PORT MAILDIR_NEW COMMIT_DIR moved|chmod QUEUE_DIR...
latency() {
	peer=$1 port=$2
	shift 2
	python3 "$M" latency "$SAMPLES" "$port" "$RCPT" "$SIZE" "$@" \
	    >"$T/lat.$peer" || die "the latency test against $peer failed"
	for col in 1 2; do
		cut -d ' ' -f $col "$T/lat.$peer" | sort -g | awk -v p="$peer" \
		    -v c="$col" '{ v[NR] = $1 } END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			i = int(NR * 0.9 + 0.999999); if (i < 1) i = 1
			printf "%-9s %-16s %8d %10.2f %10.2f %10.2f %10.2f\n", p,
			    (c == 1) ? "commit->Maildir" : "250->Maildir", NR,
			    v[1], m, v[i], v[NR] }' >>"$LATENCY"
	done
	tail -n 2 "$LATENCY" >&2
}

# --- posthorn: smtp-in and queue-run ------------------------------------------

PH_NEW=$PH/mail/$DOMAIN/$USER_/new
case " $PEERS " in *" posthorn "*)
	ph_init "$PH/etc/domains/$DOMAIN"
	echo "$USER_:!" >"$PH/etc/domains/$DOMAIN/users"
	# The Maildir is made beforehand (queue-run would make it at the
	# first delivery) so that it can be watched from the start.
	mkdir -p "$PH_NEW" "${PH_NEW%/new}/cur" "${PH_NEW%/new}/tmp"
	ph_listen mx
	ph_queue_run
	PH_PIDS="$ACT_PID $QR_PID"
	PH_QR=$QR_PID
	echo "bench: posthorn: smtp-in ($BIN/smtp-in) on 127.0.0.1:$PH_PORT, queue-run, queue $PH/spool" >&2
	;;
esac

# --- old: a second posthorn, from BENCH_OLD_BIN --------------------------------

# Its activator and queue-run, stopped on exit beside what lib.sh stops.
OLD_ACT='' OLD_QR=''
old_cleanup() {
	[ -z "$OLD_QR" ] || stop_pid "$OLD_QR" $WAIT
	[ -z "$OLD_ACT" ] || stop_pid "$OLD_ACT" $WAIT
}
trap 'old_cleanup; bench_cleanup' EXIT
case " $PEERS " in *" old "*)
	# lib.sh's helpers work on $PH, $BIN and the pids: this instance
	# gets its own, and the first one's are put back.
	save_ph=$PH save_bin=$BIN save_port=${PH_PORT-} save_act=$ACT_PID
	save_qr=$QR_PID
	PH=$T/old BIN=$OLD_BIN
	ph_init "$PH/etc/domains/$DOMAIN"
	echo "$USER_:!" >"$PH/etc/domains/$DOMAIN/users"
	OLD_NEW=$PH/mail/$DOMAIN/$USER_/new
	mkdir -p "$OLD_NEW" "${OLD_NEW%/new}/cur" "${OLD_NEW%/new}/tmp"
	ph_listen mx
	ph_queue_run
	OLD_ACT=$ACT_PID OLD_QR=$QR_PID OLD_PORT=$PH_PORT OLD_PH=$PH
	echo "bench: old: smtp-in ($BIN/smtp-in) on 127.0.0.1:$PH_PORT, queue-run, queue $PH/spool" >&2
	PH=$save_ph BIN=$save_bin PH_PORT=$save_port ACT_PID=$save_act
	QR_PID=$save_qr
	[ -n "$PH_PORT" ] || unset PH_PORT
	;;
esac

# --- Postfix: smtpd, cleanup, qmgr, virtual --------------------------------------

PF_NEW=$PF/mail/$DOMAIN/$USER_/new
case " $PEERS " in *" postfix "*)
	vuid=$(id -u postfix)
	vgid=$(id -g postfix)
	pf_init
	mkdir -p "$PF_NEW" "${PF_NEW%/new}/cur" "${PF_NEW%/new}/tmp"
	chown -R "$vuid:$vgid" "$PF/mail"
	echo "$RCPT $DOMAIN/$USER_/" >"$PF/etc/vmailbox"
	port=$(free_port)
	{
		cat <<-EOF
		# A private Postfix for bench/local.sh: accepts for $DOMAIN on
		# 127.0.0.1:$port and delivers to the Maildir $PF/mail/$DOMAIN/$USER_/.
		EOF
		pf_main_cf "postfix.$DOMAIN"
		cat <<-EOF
		relay_domains =
		mynetworks = 127.0.0.0/8
		virtual_mailbox_domains = $DOMAIN
		virtual_mailbox_base = $PF/mail
		virtual_mailbox_maps = texthash:$PF/etc/vmailbox
		virtual_uid_maps = static:$vuid
		virtual_gid_maps = static:$vgid
		EOF
	} >"$PF/etc/main.cf"
	{
		cat <<-EOF
		$port     inet  n       -       n       -       -       smtpd
		virtual   unix  -       n       n       -       -       virtual
		EOF
		pf_master_cf qmgr
	} >"$PF/etc/master.cf"
	pf_start "$port"
	echo "bench: Postfix $(postconf -c "$PF/etc" -h mail_version) on 127.0.0.1:$port, queue $Q, virtual(8) to $PF/mail" >&2
	PF_PORT=$port
	;;
esac

# --- the runs ------------------------------------------------------------------

# The peers take turns, run by run, so that a slow minute of the disk of
# a virtual machine does not fall on one side only.
r=1
while [ $r -le "$ROUNDS" ]; do
	for c in $CONCURRENCY; do
		[ -z "${PH_PORT-}" ] ||
		    blast posthorn "$PH_PORT" "$c" "$PH_PIDS" "$PH_QR" \
		    "$PH_NEW" "$PH/spool/new"
		[ -z "${OLD_PORT-}" ] ||
		    blast old "$OLD_PORT" "$c" "$OLD_ACT $OLD_QR" "$OLD_QR" \
		    "$OLD_NEW" "$OLD_PH/spool/new"
		# shellcheck disable=SC2086
		[ -z "${PF_PORT-}" ] ||
		    blast postfix "$PF_PORT" "$c" "$PF_UP" "" "$PF_NEW" \
		    $PF_QUEUE
	done
	r=$((r + 1))
done
[ -z "${PH_PORT-}" ] ||
    latency posthorn "$PH_PORT" "$PH_NEW" "$PH/spool/new" moved "$PH/spool/new"
[ -z "${OLD_PORT-}" ] ||
    latency old "$OLD_PORT" "$OLD_NEW" "$OLD_PH/spool/new" moved \
    "$OLD_PH/spool/new"
# shellcheck disable=SC2086
[ -z "${PF_PORT-}" ] ||
    latency postfix "$PF_PORT" "$PF_NEW" "$Q/incoming" chmod $PF_QUEUE

if [ -n "${PH_PORT-}" ]; then
	ph_check_sessions
	if grep -v 'status=sent' "$PH/queue-run.log" | grep -q 'event=delivery\|event=error'; then
		echo "bench: (!) queue-run logged failures:" >&2
		grep -v 'status=sent' "$PH/queue-run.log" |
		    grep 'event=delivery\|event=error' | head -n 3 >&2
	fi
fi

# --- the table ---------------------------------------------------------------

cat <<EOF

posthorn bench, local delivery end to end: $MSGS messages of $SIZE bytes, one
per connection (smtp-source -s CONCURRENCY), to one Maildir, on $(uname -n);
queues and Maildirs in /var/tmp (fsynced).  Seconds from the start of
smtp-source to its exit (accept) and to the last message in Maildir/new
(last); msgs/s = msgs / last.

peer      concurrency   msgs  accept s    last s    msgs/s
EOF
cat "$RESULTS"
med_table
cat <<EOF

server CPU per message, ms (all: the whole path, acceptance included;
delivery: queue-run's tree alone, for posthorn and old):
peer      concurrency          all     delivery
EOF
cat "$CPU"
cat <<EOF

idle queue, one message at a time, ms (inotify stamps; commit = posthorn's
rename into new/, Postfix's chmod 0700 of incoming/ID; 250 = the client
has the reply to the end of DATA):
peer      from              samples        min     median        p90        max
EOF
cat "$LATENCY"
