#!/bin/sh
# bench/run.sh BIN_DIR — what "make bench" runs: durable acceptance of
# smtp-in beside Postfix on this machine, in the same run, and what one
# smtp-in session costs to start and to keep.
#
# For each concurrency (1, 10, 50) Postfix's smtp-source sends 2,000
# messages of 10 KB, one per connection, to
#   smtp-in  under systemd-socket-activate --inetd -a (a process per
#            connection), with a throw-away configuration and queue, and
#   Postfix  a private instance (its own config, queue and data
#            directories) with qmgr disabled, so that messages stay queued
#            and only acceptance is measured, as for smtp-in.
# Both queues live under /var/tmp, on the disk, never on tmpfs: a message
# is answered 250 only once it is fsynced, and that must cost what it costs.
# msgs/s is 2000 / the wall time of smtp-source.  Everything runs on
# loopback and everything started is stopped on exit, failure included.
#
# Runs as root (Postfix's master starts as root and drops to "postfix").
# BENCH_MSGS=N changes the message count, BENCH_ROUNDS=N the number of
# rounds (3); BENCH_PEERS="smtp-in" or "postfix" runs one side only;
# BENCH_KEEP=1 keeps the temporary directory (logs, queues) for a look.
set -eu

BIN=${1:?usage: bench/run.sh BIN_DIR}
MSGS=${BENCH_MSGS:-2000}
SIZE=10240			# bytes a message
CONCURRENCY="1 10 50"
ROUNDS=${BENCH_ROUNDS:-3}		# the peers take turns, this many times
SESSIONS=300			# for the start-up cost
PEERS=${BENCH_PEERS:-smtp-in postfix}
DOMAIN=bench.example
RCPT=rcpt@$DOMAIN
WAIT=100			# tenths of a second: the bound of each wait
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BIN" && pwd)

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (Postfix's master needs it)"
for p in /usr/sbin/smtp-source /usr/sbin/postfix systemd-socket-activate python3; do
	command -v "$p" >/dev/null 2>&1 || die "$p is missing (sh t/deps.sh)"
done
case " $PEERS " in *" smtp-in "*)
	[ -x "$BIN/smtp-in" ] || die "$BIN/smtp-in is not built" ;;
esac
getent passwd postfix >/dev/null || die "no postfix user (apt-get install postfix)"

T=$(mktemp -d /var/tmp/posthorn-bench.XXXXXX)
chmod 755 "$T"
[ "$(stat -f -c %T "$T")" != tmpfs ] ||
    die "/var/tmp is tmpfs: the queues would not be durable"
ACT_PID=
PF_UP=
cleanup() {
	set +e
	if [ -n "$ACT_PID" ]; then
		kill "$ACT_PID" 2>/dev/null
		wait "$ACT_PID" 2>/dev/null
	fi
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

RESULTS=$T/results
: >"$RESULTS"

# blast PEER PORT CONC QUEUED_CMD: one smtp-source run, timed and checked.
blast() {
	peer=$1 port=$2 conc=$3 queued=$4
	t0=$(now)
	smtp-source -c -s "$conc" -m "$MSGS" -l "$SIZE" -f "from@$DOMAIN" \
	    -t "$RCPT" "127.0.0.1:$port" >/dev/null 2>"$T/source.err" ||
	    { cat "$T/source.err" >&2; die "smtp-source failed against $peer"; }
	t1=$(now)
	n=$($queued)
	note=
	[ "$n" -eq "$MSGS" ] || note="  (!) $n queued, not $MSGS"
	[ ! -s "$T/source.err" ] || note="$note  (!) smtp-source: $(head -n 1 "$T/source.err")"
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a="$t0" -v b="$t1" \
	    -v note="$note" 'BEGIN {
		s = b - a
		printf "%-8s %11d %7d %9.2f %9.0f%s\n", p, c, m, s, m / s, note
	    }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# --- smtp-in ---------------------------------------------------------------

PH=$T/ph
ph_queued() { count "$PH/spool/new"; }
ph_wipe() { find "$PH/spool/new" "$PH/spool/tmp" -type f -delete; }

RSS='' STARTUP=''
case " $PEERS " in *" smtp-in "*)
	mkdir -p "$PH/etc/domains/$DOMAIN" "$PH/spool/tmp" "$PH/spool/new" \
	    "$PH/spool/state" "$PH/mail"
	cat >"$PH/etc/posthorn.conf" <<-EOF
	hostname = mx.$DOMAIN
	spool = $PH/spool
	maildirs = $PH/mail
	EOF
	echo "${RCPT%@*}:!" >"$PH/etc/domains/$DOMAIN/users"
	port=$(free_port)
	systemd-socket-activate --inetd -a -l "127.0.0.1:$port" \
	    -E POSTHORN_CONF="$PH/etc" "$BIN/smtp-in" mx \
	    </dev/null >/dev/null 2>"$PH/log" &
	ACT_PID=$!
	wait_for "$PH/log" "Listening on 127.0.0.1:$port"
	echo "bench: smtp-in ($BIN/smtp-in) on 127.0.0.1:$port, queue $PH/spool" >&2

	RSS=$(python3 "$HERE/session.py" rss "$port" "$PH/log")
	STARTUP=$(python3 "$HERE/session.py" startup "$port" "$SESSIONS")
	PH_PORT=$port
	;;
esac

# --- Postfix -----------------------------------------------------------------

PF=$T/pf
Q=$PF/queue
pf_queued() {
	count "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" "$Q/hold"
}
pf_wipe() {
	find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" \
	    "$Q/defer" "$Q/hold" "$Q/bounce" -type f -delete 2>/dev/null || true
}

case " $PEERS " in *" postfix "*)
	mkdir -p "$PF/etc" "$Q" "$PF/data"
	chown postfix "$PF/data"
	port=$(free_port)
	cat >"$PF/etc/main.cf" <<-EOF
	# A private Postfix for bench/run.sh: accepts for $DOMAIN on
	# 127.0.0.1:$port and keeps what it accepts (no qmgr).
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
	# Flow control tokens come from qmgr; with no qmgr every message
	# would wait this long.  0: Postfix's acceptance at its best.
	in_flow_delay = 0
	maillog_file = $PF/maillog
	EOF
	cat >"$PF/etc/master.cf" <<-EOF
	# qmgr is left out on purpose: messages stay in incoming/.
	$port     inet  n       -       n       -       -       smtpd
	cleanup   unix  n       -       n       -       0       cleanup
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	proxymap  unix  -       -       n       -       -       proxymap
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	postfix -c "$PF/etc" start >"$T/postfix.out" 2>&1 ||
	    { cat "$T/postfix.out" >&2; die "postfix did not start"; }
	PF_UP=$(tr -d ' ' <"$Q/pid/master.pid")
	i=0
	while ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" 2>/dev/null; do
		[ $i -lt $WAIT ] || die "Postfix does not listen on $port"
		sleep 0.1; i=$((i + 1))
	done
	echo "bench: Postfix $(postconf -c "$PF/etc" -h mail_version) on 127.0.0.1:$port, queue $Q (qmgr disabled: acceptance only)" >&2
	PF_PORT=$port
	;;
esac

# --- the runs ------------------------------------------------------------------

# The disk of a virtual machine is not steady (its fsync rate was seen to
# halve and recover within a minute here), so the peers take turns: each
# round runs every concurrency against smtp-in and then at once against
# Postfix, and the table gives every run plus the median of the rounds.
r=1
while [ $r -le "$ROUNDS" ]; do
	for c in $CONCURRENCY; do
		if [ -n "${PH_PORT-}" ]; then
			ph_wipe
			blast smtp-in "$PH_PORT" "$c" ph_queued
		fi
		if [ -n "${PF_PORT-}" ]; then
			pf_wipe
			blast postfix "$PF_PORT" "$c" pf_queued
		fi
	done
	r=$((r + 1))
done
if [ -n "${PH_PORT-}" ]; then
	ph_wipe
	if grep -q 'died with code [1-9]\|signal' "$PH/log"; then
		echo "bench: (!) some smtp-in sessions failed:" >&2
		grep 'died with code [1-9]\|signal' "$PH/log" | head -n 3 >&2
	fi
fi
[ -z "${PF_PORT-}" ] || pf_wipe

# --- the table ---------------------------------------------------------------

cat <<EOF

posthorn bench: durable acceptance, $MSGS messages of $SIZE bytes, one per
connection (smtp-source -s CONCURRENCY), on $(uname -n), queues in /var/tmp
(fsynced).  Postfix runs with qmgr disabled: acceptance only, like smtp-in.

peer     concurrency    msgs   seconds    msgs/s
EOF
cat "$RESULTS"
# Median msgs/s of the rounds, per peer and concurrency, and the ratio.
printf '\nmedian of %s rounds, msgs/s:\n' "$ROUNDS"
printf 'concurrency   smtp-in   postfix   smtp-in/postfix\n'
med() {
	awk -v p="$1" -v c="$2" '$1 == p && $2 == c { print $5 }' "$RESULTS" |
	    sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for c in $CONCURRENCY; do
	awk -v c="$c" -v a="$(med smtp-in "$c")" -v b="$(med postfix "$c")" 'BEGIN {
		r = (a != "-" && b != "-" && b > 0) ? sprintf("%.2f", a / b) : "-"
		printf "%11d %9s %9s %17s\n", c, a, b, r }'
done
if [ -n "$RSS" ]; then
	cat <<-EOF

	smtp-in, one idle session (after the greeting): VmRSS $RSS kB
	smtp-in, start-up: $STARTUP ms per session ($SESSIONS sequential connect + greeting + QUIT)
	EOF
fi
