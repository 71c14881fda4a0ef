#!/bin/sh
# checks.sh BIN_DIR [N] — what smtp-in's SPF, DKIM and DMARC checks add
# to a message (issue 13, "Performance"): N messages (default 300) of
# 10 KB, DKIM-signed by python3-dkim (RSA 2048), one per connection,
# sent one after the other to
#   smtp-in, checks off   smtp-listen -K: no checker, no request
#   smtp-in, checks on    smtp-listen with smtp-checkd: SPF asked at MAIL
#                         FROM, the message's DKIM, DMARC and the
#                         Authentication-Results line after the dot
#   Postfix               a private instance, accept-only (qmgr off), no
#                         checks at all: the comparison of bench/run.sh
# and, for the checks, the same again at 10 connections at a time.
# DNS is peers/zonedns.py on 127.0.0.1:53 in a private network and mount
# namespace (its own resolv.conf), answering at once: what the checks
# cost beside a local resolver's answers, which zonedns's own CPU (not
# counted) stands for.  CPU ms/msg is the server's whole process tree
# (listener, sessions, the checker; Postfix's master, smtpd, cleanup...)
# over the run; wall ms/msg at concurrency 1 is the client's time per
# message, connect to QUIT.  Queues under /var/tmp (fsynced).  The peers
# take turns, ROUNDS times (BENCH_ROUNDS, default 3).  Figures, never
# asserted.  Runs as root (unshare, Postfix).
#
#	sh bench/checks.sh build/bin [N]
set -eu

BIN=${1:?usage: checks.sh BIN_DIR [N]}
N=${2:-300}
ROUNDS=${BENCH_ROUNDS:-3}
DOMAIN=bench.example
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BIN" && pwd)
if [ -z "${CHECKS_BENCH_INSIDE:-}" ]; then
	export CHECKS_BENCH_INSIDE=1
	exec unshare -n -m sh "$0" "$@"
fi
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

need_root
need_cmd /usr/sbin/postfix python3 openssl
need_built smtp-in smtp-listen smtp-checkd
need_postfix_user
bench_tmpdir posthorn-checks-bench

ip link set lo up
mount --make-rprivate /
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf

# The zone and the message.
openssl genrsa -traditional -out "$T/rsa.pem" 2048 2>/dev/null
pub=$(openssl rsa -in "$T/rsa.pem" -pubout -outform DER 2>/dev/null |
    base64 -w 0)
cat >"$T/zone.json" <<ZONE
{"sender.test": [{"TXT": "v=spf1 ip4:127.0.0.0/8 -all"}],
 "_dmarc.sender.test": [{"TXT": "v=DMARC1; p=reject"}],
 "rsa._domainkey.sender.test": [{"TXT": "v=DKIM1; k=rsa; p=$pub"}]}
ZONE
/usr/bin/python3 - "$T" "$DOMAIN" <<'PY'
import sys, dkim
tmp, dom = sys.argv[1], sys.argv[2]
head = (b"From: Alice <alice@sender.test>\r\nTo: Bob <rcpt@%s>\r\n"
        b"Subject: benchmark\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
        b"Message-ID: <bench@sender.test>\r\n\r\n" % dom.encode())
body = b"".join(b"line %3d of the body of a ten kilobyte message, "
                b"padded to eighty bytes a line.........\r\n" % i
                for i in range(120))
msg = head + body
key = open(f"{tmp}/rsa.pem", "rb").read()
open(f"{tmp}/signed.eml", "wb").write(
    dkim.sign(msg, b"rsa", b"sender.test", key) + msg)
PY
/usr/bin/python3 "$HERE/../t/e2e/peers/zonedns.py" --listen 127.0.0.1:53 \
    "$T/zone.json" 2>"$T/dns.log" &
DNS_PID=$!
trap 'kill $DNS_PID 2>/dev/null; bench_cleanup' EXIT
wait_for "$T/dns.log" listening

# send PORT CONC: N messages, one per connection, CONC at a time;
# prints the wall ms per message and checks that each got 250.
cat >"$T/send.py" <<'PY'
import smtplib, sys, threading, time
port, n, conc, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
msg = open(path, "rb").read()
left = [n]
lock = threading.Lock()
bad = []
def worker():
    while True:
        with lock:
            if left[0] == 0:
                return
            left[0] -= 1
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("client.sender.test")
        s.mail("alice@sender.test")
        s.rcpt("rcpt@bench.example")
        code, _ = s.data(msg)
        if code != 250:
            bad.append(code)
        s.quit()
t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
wall = time.monotonic() - t0
if bad:
    sys.exit(f"{len(bad)} messages not taken: {bad[:3]}")
print(f"{wall / n * 1000:.2f}")
PY

# posthorn: the configuration, and a listener per variant.
PH_CHECKS=yes ph_init "$PH/etc/domains/$DOMAIN"
echo "rcpt:!" >"$PH/etc/domains/$DOMAIN/users"
chown -R nobody "$PH/spool" "$PH/mail"
start_listener() {	# PORT [-K]
	"$BIN/smtp-listen" -C "$PH/etc" -u nobody -c 1000 ${2-} mx \
	    "127.0.0.1:$1" </dev/null >/dev/null 2>"$PH/log.$1" &
	eval "L_$1=$!"
	wait_for "$PH/log.$1" "event=listening addr=127.0.0.1:$1"
	[ "${2-}" = -K ] || wait_for "$PH/log.$1" "smtp-checkd.*event=started"
}
OFF=$(free_port)
ON=$(free_port)
start_listener "$OFF" -K
start_listener "$ON"
eval "OFF_PID=\$L_$OFF ON_PID=\$L_$ON"
ACT_PID=$OFF_PID	# bench_cleanup stops it; the other is ours
trap 'kill $DNS_PID 2>/dev/null; stop_pid $ON_PID 50; bench_cleanup' EXIT

# Postfix, accept-only, no checks.
pf_init
PF_PORT=$(free_port)
{
	pf_main_cf "postfix.$DOMAIN"
	pf_accept_cf
} >"$PF/etc/main.cf"
{
	echo "$PF_PORT     inet  n       -       n       -       -       smtpd"
	pf_master_cf
} >"$PF/etc/master.cf"
pf_start "$PF_PORT"

# run NAME PORT PID CONC WIPE: one run; a row of $RESULTS.
run() {
	c0=$(tree_cpu "$3")
	wall=$(python3 "$T/send.py" "$2" "$N" "$4" "$T/signed.eml")
	c1=$(tree_cpu "$3")
	$5
	awk -v p="$1" -v c="$4" -v w="$wall" -v cpu=$((c1 - c0)) -v n="$N" \
	    'BEGIN { printf "%-12s %4d %9.2f %9.2f\n", p, c, cpu / n, w }' \
	    >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

echo "checks.sh: $N messages of $(wc -c <"$T/signed.eml") bytes (DKIM-signed), one per connection" >&2
r=1
while [ "$r" -le "$ROUNDS" ]; do
	run checks-off "$OFF" "$OFF_PID" 1 ph_wipe
	run checks-on "$ON" "$ON_PID" 1 ph_wipe
	run postfix "$PF_PORT" "$PF_UP" 1 pf_wipe
	run checks-off "$OFF" "$OFF_PID" 10 ph_wipe
	run checks-on "$ON" "$ON_PID" 10 ph_wipe
	r=$((r + 1))
done
# The checks did run: every message of the last run has its line.
grep -c "event=accepted.*spf=pass dkim=pass dmarc=pass" "$PH/log.$ON" \
    >"$T/passed" || true
echo "messages checked spf=pass dkim=pass dmarc=pass: $(cat "$T/passed")" \
    "(of $((N * 2 * ROUNDS)))"

printf '\nmedian of %s rounds (ms per message):\n' "$ROUNDS"
printf 'peer         conc   cpu ms   wall ms\n'
for c in 1 10; do
	for p in checks-off checks-on postfix; do
		grep -q "^$p *$c " "$RESULTS" || continue
		printf '%-12s %4d %8s %9s\n' "$p" "$c" \
		    "$(med "$p" "$c" 3 %.2f)" "$(med "$p" "$c" 4 %.2f)"
	done
done
