#!/bin/sh
# bench/relay.sh BIN_DIR — the relay path of "make bench":
#   smtp-source -> smtp-in -> queue -> queue-run -> smtp-out -> smtp-sink
# beside a private Postfix doing the same (smtpd -> cleanup -> qmgr ->
# smtp -> smtp-sink), in the same run, to the same smtp-sink.
#
# For each concurrency (10, 50) smtp-source sends 2,000 messages of 10 KB,
# one per connection, to rcpt@bench.example, and three times are taken
# from the moment smtp-source starts:
#   accept s    smtp-source exits (every message answered 250);
#   last s      smtp-sink has received the last message: its running
#               counters (-c, "mesg=N", updated at each end of data) are
#               read every 20 ms, so the moment is known within that;
#   msgs/s      messages / last s: the relay rate end to end.
#
# posthorn: bench.example is a local domain whose aliases file sends
# rcpt@ to rcpt@relay.example, a remote address; the sender is of a local
# domain, so SRS leaves it alone; routes(5) says "* 127.0.0.1:PORT
# tls=none", so smtp-out goes to the sink with no DNS.  Postfix:
# relay_domains = bench.example, relayhost = [127.0.0.1]:PORT, no TLS.
# Both with their default delivery limits: posthorn max_deliveries 20,
# max_per_destination 4; Postfix default_process_limit 200 (for smtpd, as
# in bench/run.sh), default_destination_concurrency_limit 20, and its
# connection cache (smtp_connection_cache_on_demand) on, as shipped.
#
# Everything on loopback, outside any namespace; queues under /var/tmp (on
# the disk, fsynced).  Everything started is stopped on exit, failure
# included; every wait is bounded.  Runs as root (Postfix's master, and
# smtp-sink's -u).  BENCH_MSGS=N (2000), BENCH_ROUNDS=N (3; the peers take
# turns within a round, and the table ends with the medians),
# BENCH_PEERS="posthorn" or "postfix" for one side, BENCH_KEEP=1 keeps the
# temporary directory (logs, queues).
set -eu

BIN=${1:?usage: bench/relay.sh BIN_DIR}
MSGS=${BENCH_MSGS:-2000}
SIZE=10240			# bytes a message
CONCURRENCY="10 50"
ROUNDS=${BENCH_ROUNDS:-3}
PEERS=${BENCH_PEERS:-posthorn postfix}
DOMAIN=bench.example
RCPT=rcpt@$DOMAIN
FAR=rcpt@relay.example		# where the alias sends it (posthorn)
WAIT=100			# tenths of a second: the bound of a start-up wait
RUN_LIMIT=600			# seconds: the bound of one run
BIN=$(cd "$BIN" && pwd)

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (Postfix's master needs it)"
for p in /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/postfix \
    systemd-socket-activate python3; do
	command -v "$p" >/dev/null 2>&1 || die "$p is missing (sh t/deps.sh)"
done
case " $PEERS " in *" posthorn "*)
	for p in smtp-in queue-run smtp-out; do
		[ -x "$BIN/$p" ] || die "$BIN/$p is not built"
	done ;;
esac
getent passwd postfix >/dev/null || die "no postfix user (apt-get install postfix)"

T=$(mktemp -d /var/tmp/posthorn-bench-relay.XXXXXX)
chmod 755 "$T"
[ "$(stat -f -c %T "$T")" != tmpfs ] ||
    die "/var/tmp is tmpfs: the queues would not be durable"
ACT_PID=
QR_PID=
SINK_PID=
PF_UP=
stop_pid() {	# stop_pid PID TENTHS: TERM, a bounded wait, KILL
	kill "$1" 2>/dev/null || return 0
	i=0
	while [ $i -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	set +e
	# queue-run gives running deliveries 10 s: wait a little more.
	[ -z "$QR_PID" ] || stop_pid "$QR_PID" 150
	[ -z "$ACT_PID" ] || stop_pid "$ACT_PID" 50
	[ -z "$SINK_PID" ] || stop_pid "$SINK_PID" 50
	if [ -n "$PF_UP" ]; then
		# Postfix's master and, by their ids, its children.
		kids=$(ps -o pid= --ppid "$PF_UP" 2>/dev/null)
		postfix -c "$T/pf/etc" stop >/dev/null 2>&1
		i=0
		while [ $i -lt $WAIT ] && kill -0 "$PF_UP" 2>/dev/null; do
			sleep 0.1; i=$((i + 1))
		done
		for p in $PF_UP $kids; do
			kill -KILL "$p" 2>/dev/null
		done
	fi
	if [ -n "${BENCH_KEEP-}" ]; then
		echo "bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
count() { find "$@" -type f 2>/dev/null | wc -l; }

# wait_for FILE PATTERN: bounded wait until FILE has a line matching PATTERN.
wait_for() {
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		[ $i -lt $WAIT ] || die "timed out waiting for '$2' in $1"
		sleep 0.1; i=$((i + 1))
	done
}

# wait_port PORT: bounded wait until 127.0.0.1:PORT accepts.
wait_port() {
	python3 - "$1" "$WAIT" <<-'EOF' || die "nothing listens on 127.0.0.1:$1"
	import socket, sys, time
	port, end = int(sys.argv[1]), time.monotonic() + int(sys.argv[2]) / 10
	while True:
	    try:
	        socket.create_connection(("127.0.0.1", port), 1).close()
	        break
	    except OSError:
	        if time.monotonic() > end:
	            sys.exit(1)
	        time.sleep(0.02)
	EOF
}

SINK_PORT=$(free_port)
# start_sink: a fresh smtp-sink, its counters in $T/sink.count.  (Not -M:
# it exits on the last end of data before its 250, and the last message
# would stay queued as "connection lost".)
start_sink() {
	/usr/sbin/smtp-sink -u postfix -h sink.relay.example -c \
	    "127.0.0.1:$SINK_PORT" 256 </dev/null >"$T/sink.count" \
	    2>"$T/sink.err" &
	SINK_PID=$!
	wait_port "$SINK_PORT"
}
# sink_count: the messages the sink has received so far.
sink_count() {
	n=$(tr '\r' '\n' <"$T/sink.count" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' |
	    tail -n 1)
	echo "${n:-0}"
}

RESULTS=$T/results
: >"$RESULTS"

# blast PEER PORT CONC QUEUE_DIR...: one timed run; the queue must drain.
blast() {
	peer=$1 port=$2 conc=$3
	shift 3
	start_sink
	t0=$(now)
	smtp-source -c -s "$conc" -m "$MSGS" -l "$SIZE" -f "from@$DOMAIN" \
	    -t "$RCPT" "127.0.0.1:$port" >/dev/null 2>"$T/source.err" ||
	    { cat "$T/source.err" >&2; die "smtp-source failed against $peer"; }
	t1=$(now)
	# The moment the sink has counted the last message is "last".
	limit=$(awk -v a="$t0" -v l="$RUN_LIMIT" 'BEGIN { printf "%d", a + l }')
	while [ "$(sink_count)" -lt "$MSGS" ]; do
		[ "$(date +%s)" -lt "$limit" ] ||
		    die "$peer: the sink got $(sink_count) of $MSGS messages in ${RUN_LIMIT}s"
		sleep 0.02
	done
	t2=$(now)
	# Nothing may stay queued: a deferred message is a failed run.
	i=0
	while [ "$(count "$@")" -ne 0 ]; do
		[ $i -lt $WAIT ] || die "$peer: $(count "$@") message(s) left in the queue"
		sleep 0.1; i=$((i + 1))
	done
	stop_pid "$SINK_PID" 50
	SINK_PID=
	note=
	[ "$(sink_count)" -eq "$MSGS" ] || note="  (!) the sink got $(sink_count)"
	[ ! -s "$T/source.err" ] || note="  (!) smtp-source: $(head -n 1 "$T/source.err")"
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a="$t0" -v b="$t1" \
	    -v z="$t2" -v note="$note" 'BEGIN {
		printf "%-9s %11d %6d %9.2f %9.2f %9.0f%s\n", p, c, m, b - a,
		    z - a, m / (z - a), note
	    }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# --- posthorn: smtp-in, queue-run, smtp-out -----------------------------------

PH=$T/ph
case " $PEERS " in *" posthorn "*)
	mkdir -p "$PH/etc/domains/$DOMAIN" "$PH/spool/tmp" "$PH/spool/new" \
	    "$PH/spool/state" "$PH/mail"
	cat >"$PH/etc/posthorn.conf" <<-EOF
	hostname = mx.$DOMAIN
	spool = $PH/spool
	maildirs = $PH/mail
	EOF
	echo "${RCPT%@*}:!" >"$PH/etc/domains/$DOMAIN/users"
	echo "${RCPT%@*}: $FAR" >"$PH/etc/domains/$DOMAIN/aliases"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PH/etc/srs.secret"
	echo >>"$PH/etc/srs.secret"
	chmod 600 "$PH/etc/srs.secret"
	echo "* 127.0.0.1:$SINK_PORT tls=none" >"$PH/etc/routes"
	port=$(free_port)
	POSTHORN_CONF="$PH/etc" "$BIN/queue-run" </dev/null >/dev/null \
	    2>"$PH/queue-run.log" &
	QR_PID=$!
	wait_for "$PH/queue-run.log" "event=started"
	systemd-socket-activate --inetd -a -l "127.0.0.1:$port" \
	    -E POSTHORN_CONF="$PH/etc" "$BIN/smtp-in" mx \
	    </dev/null >/dev/null 2>"$PH/log" &
	ACT_PID=$!
	wait_for "$PH/log" "Listening on 127.0.0.1:$port"
	echo "bench: posthorn smtp-in on 127.0.0.1:$port, queue-run, smtp-out -> smtp-sink 127.0.0.1:$SINK_PORT, queue $PH/spool" >&2
	PH_PORT=$port
	;;
esac

# --- Postfix: smtpd, cleanup, qmgr, smtp --------------------------------------

PF=$T/pf
Q=$PF/queue
PF_QUEUE="$Q/maildrop $Q/incoming $Q/active $Q/deferred $Q/hold"
case " $PEERS " in *" postfix "*)
	mkdir -p "$PF/etc" "$Q" "$PF/data"
	chown postfix "$PF/data"
	port=$(free_port)
	cat >"$PF/etc/main.cf" <<-EOF
	# A private Postfix for bench/relay.sh: accepts for $DOMAIN on
	# 127.0.0.1:$port and relays all of it to [127.0.0.1]:$SINK_PORT.
	compatibility_level = 3.6
	config_directory = $PF/etc
	queue_directory = $Q
	data_directory = $PF/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = postfix.$DOMAIN
	mydomain = $DOMAIN
	myorigin = \$myhostname
	mydestination =
	relay_domains = $DOMAIN
	relayhost = [127.0.0.1]:$SINK_PORT
	mynetworks = 127.0.0.0/8
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	alias_maps =
	alias_database =
	biff = no
	smtpd_banner = \$myhostname ESMTP
	smtpd_peername_lookup = no
	smtpd_client_connection_count_limit = 0
	smtpd_client_connection_rate_limit = 0
	smtpd_client_message_rate_limit = 0
	default_process_limit = 200
	smtp_dns_support_level = disabled
	maillog_file = $PF/maillog
	EOF
	cat >"$PF/etc/master.cf" <<-EOF
	$port     inet  n       -       n       -       -       smtpd
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	smtp      unix  -       -       n       -       -       smtp
	relay     unix  -       -       n       -       -       smtp
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	postfix -c "$PF/etc" start >"$T/postfix.out" 2>&1 ||
	    { cat "$T/postfix.out" >&2; die "postfix did not start"; }
	PF_UP=$(tr -d ' ' <"$Q/pid/master.pid")
	wait_port "$port"
	echo "bench: Postfix $(postconf -c "$PF/etc" -h mail_version) on 127.0.0.1:$port, relayhost [127.0.0.1]:$SINK_PORT, queue $Q" >&2
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
		    blast posthorn "$PH_PORT" "$c" "$PH/spool/new"
		# shellcheck disable=SC2086
		[ -z "${PF_PORT-}" ] ||
		    blast postfix "$PF_PORT" "$c" $PF_QUEUE
	done
	r=$((r + 1))
done

if [ -n "${PH_PORT-}" ]; then
	if grep -q 'died with code [1-9]\|signal' "$PH/log"; then
		echo "bench: (!) some smtp-in sessions failed:" >&2
		grep 'died with code [1-9]\|signal' "$PH/log" | head -n 3 >&2
	fi
	if grep 'event=delivery id=' "$PH/queue-run.log" | grep -v 'status=sent' |
	    grep -q . || grep -q 'event=error' "$PH/queue-run.log"; then
		echo "bench: (!) queue-run logged failures:" >&2
		grep 'event=delivery id=\|event=error' "$PH/queue-run.log" |
		    grep -v 'status=sent' | head -n 3 >&2
	fi
fi

# --- the table ---------------------------------------------------------------

cat <<EOF

posthorn bench, relay end to end: $MSGS messages of $SIZE bytes, one per
connection (smtp-source -s CONCURRENCY), relayed to one smtp-sink, on
$(uname -n); queues in /var/tmp (fsynced).  Seconds from the start of
smtp-source to its exit (accept) and to the sink's last message (last);
msgs/s = msgs / last.

peer      concurrency   msgs  accept s    last s    msgs/s
EOF
cat "$RESULTS"
med() {
	awk -v p="$1" -v c="$2" -v f="$3" '$1 == p && $2 == c { print $f }' \
	    "$RESULTS" | sort -g | awk -v fmt="$4" '
		{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf fmt "\n", m }'
}
printf '\nmedian of %s rounds:\n' "$ROUNDS"
printf 'peer      concurrency  accept s    last s    msgs/s\n'
for c in $CONCURRENCY; do
	for p in $PEERS; do
		grep -q "^$p " "$RESULTS" || continue
		printf '%-9s %11d %9s %9s %9s\n' "$p" "$c" "$(med "$p" "$c" 4 %.2f)" \
		    "$(med "$p" "$c" 5 %.2f)" "$(med "$p" "$c" 6 %.0f)"
	done
done
