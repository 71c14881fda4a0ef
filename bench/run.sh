#!/bin/sh
# bench/run.sh BIN_DIR — what "make bench" runs: durable acceptance of
# smtp-in beside Postfix on this machine, in the same run, and what one
# smtp-in session costs to start and to keep.
#
# For each concurrency (1, 10, 50) Postfix's smtp-source sends 2,000
# messages of 10 KB, one per connection, to
#   smtp-in  under smtp-listen (a process per connection, as installed;
#            BENCH_LISTENER=activator: under systemd-socket-activate
#            --inetd -a), with a throw-away configuration and queue, and
#   Postfix  a private instance (its own config, queue and data
#            directories) with qmgr disabled, so that messages stay queued
#            and only acceptance is measured, as for smtp-in.
# Both queues live under /var/tmp, on the disk, never on tmpfs: a message
# is answered 250 only once it is fsynced, and that must cost what it costs.
# msgs/s is 2000 / the wall time of smtp-source; cpu ms/msg is the CPU of
# the server's whole process tree (listener, sessions, helpers; Postfix's
# master, smtpd, cleanup...) over the run, divided by the messages.  Everything runs on
# loopback and everything started is stopped on exit, failure included.
#
# Runs as root (Postfix's master starts as root and drops to "postfix").
# BENCH_MSGS=N changes the message count, BENCH_ROUNDS=N the number of
# rounds (3); BENCH_PEERS="smtp-in" or "postfix" runs one side only;
# BENCH_COST=0 leaves out bench/cost.py (smtp-in beside bench/durable.c);
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
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(cd "$BIN" && pwd)
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd /usr/sbin/smtp-source /usr/sbin/postfix systemd-socket-activate python3
case " $PEERS " in *" smtp-in "*)
	need_built smtp-in smtp-listen ;;
esac
need_postfix_user
bench_tmpdir posthorn-bench

# blast PEER PORT CONC QUEUED_CMD PID: one smtp-source run, timed and
# checked, with the CPU of PID's process tree.
blast() {
	peer=$1 port=$2 conc=$3 queued=$4 pid=$5
	c0=$(tree_cpu "$pid")
	t0=$(now)
	smtp-source -c -s "$conc" -m "$MSGS" -l "$SIZE" -f "from@$DOMAIN" \
	    -t "$RCPT" "127.0.0.1:$port" >/dev/null 2>"$T/source.err" ||
	    { cat "$T/source.err" >&2; die "smtp-source failed against $peer"; }
	t1=$(now)
	c1=$(tree_cpu "$pid")
	n=$($queued)
	note=
	[ "$n" -eq "$MSGS" ] || note="  (!) $n queued, not $MSGS"
	[ ! -s "$T/source.err" ] || note="$note  (!) smtp-source: $(head -n 1 "$T/source.err")"
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a="$t0" -v b="$t1" \
	    -v cpu=$((c1 - c0)) -v note="$note" 'BEGIN {
		s = b - a
		printf "%-8s %11d %7d %9.2f %9.0f %9.2f%s\n", p, c, m, s,
		    m / s, cpu / m, note
	    }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# --- smtp-in ---------------------------------------------------------------

RSS='' STARTUP=''
case " $PEERS " in *" smtp-in "*)
	ph_init "$PH/etc/domains/$DOMAIN"
	echo "${RCPT%@*}:!" >"$PH/etc/domains/$DOMAIN/users"
	ph_listen mx
	echo "bench: smtp-in ($BIN/smtp-in) on 127.0.0.1:$PH_PORT, queue $PH/spool" >&2

	RSS=$(python3 "$HERE/session.py" rss "$PH_PORT" "$PH/log")
	STARTUP=$(python3 "$HERE/session.py" startup "$PH_PORT" "$SESSIONS")
	;;
esac

# --- Postfix -----------------------------------------------------------------

case " $PEERS " in *" postfix "*)
	pf_init
	port=$(free_port)
	{
		cat <<-EOF
		# A private Postfix for bench/run.sh: accepts for $DOMAIN on
		# 127.0.0.1:$port and keeps what it accepts (no qmgr).
		EOF
		pf_main_cf "postfix.$DOMAIN"
		pf_accept_cf
	} >"$PF/etc/main.cf"
	{
		cat <<-EOF
		# qmgr is left out on purpose: messages stay in incoming/.
		$port     inet  n       -       n       -       -       smtpd
		EOF
		pf_master_cf
	} >"$PF/etc/master.cf"
	pf_start "$port"
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
			blast smtp-in "$PH_PORT" "$c" ph_queued "$ACT_PID"
		fi
		if [ -n "${PF_PORT-}" ]; then
			pf_wipe
			blast postfix "$PF_PORT" "$c" pf_queued "$PF_UP"
		fi
	done
	r=$((r + 1))
done
if [ -n "${PH_PORT-}" ]; then
	ph_wipe
	ph_check_sessions
fi
[ -z "${PF_PORT-}" ] || pf_wipe

# --- the table ---------------------------------------------------------------

cat <<EOF

posthorn bench: durable acceptance, $MSGS messages of $SIZE bytes, one per
connection (smtp-source -s CONCURRENCY), on $(uname -n), queues in /var/tmp
(fsynced).  Postfix runs with qmgr disabled: acceptance only, like smtp-in.

peer     concurrency    msgs   seconds    msgs/s cpu ms/msg
EOF
cat "$RESULTS"
# Median msgs/s of the rounds, per peer and concurrency, and the ratio.
printf '\nmedian of %s rounds, msgs/s:\n' "$ROUNDS"
printf 'concurrency   smtp-in   postfix   smtp-in/postfix   cpu ms/msg: smtp-in postfix\n'
for c in $CONCURRENCY; do
	awk -v c="$c" -v a="$(med smtp-in "$c" 5)" -v b="$(med postfix "$c" 5)" \
	    -v x="$(med smtp-in "$c" 6)" -v y="$(med postfix "$c" 6)" 'BEGIN {
		r = (a != "-" && b != "-" && b > 0) ? sprintf("%.2f", a / b) : "-"
		printf "%11d %9s %9s %17s %20s %7s\n", c, a, b, r, x, y }'
done
if [ -n "$RSS" ]; then
	cat <<-EOF

	smtp-in, one idle session (after the greeting): VmRSS $RSS kB
	smtp-in, start-up: $STARTUP ms per session ($SESSIONS sequential connect + greeting + QUIT)
	EOF
fi
# smtp-in's own CPU, page faults and system calls per session and per
# message beside bench/durable.c, a responder that only commits
# (bench/cost.py; BENCH_COST=0 leaves it out).
case " $PEERS " in *" smtp-in "*)
	if [ "${BENCH_COST:-1}" != 0 ]; then
		python3 "$HERE/cost.py" "$BIN"
	fi ;;
esac
