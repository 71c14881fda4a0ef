#!/bin/sh
# bench/relay.sh BIN_DIR — the relay path of "make bench":
#   smtp-source -> smtp-in -> queue -> queue-run -> smtp-out -> sink
# beside a private Postfix doing the same (smtpd -> cleanup -> qmgr ->
# smtp -> sink), in the same run, to the same sink.  Two sinks, each
# peer going to each in turn: Postfix's smtp-sink (plain), and
# bench/tlssink, which offers STARTTLS as every large provider does and
# which both relays must use (posthorn: tls=encrypt; Postfix:
# smtp_tls_security_level = encrypt).  Both relays are as shipped
# otherwise: Postfix's smtp(8) does not keep TLS connections
# (smtp_tls_connection_reuse = no) but resumes TLS sessions from the
# cache Debian's main.cf configures (smtp_tls_session_cache_database,
# set here too; the sink issues tickets); smtp-out keeps its
# connections, TLS or not, and does not resume sessions.
#
# For each sink and concurrency (10, 50) smtp-source sends 2,000
# messages of 10 KB, one per connection, to rcpt@bench.example (to the
# plain sink) or tls@bench.example (to the TLS sink), and three times
# are taken from the moment smtp-source starts:
#   accept s    smtp-source exits (every message answered 250);
#   last s      smtp-sink has received the last message: its running
#               counters (-c, "mesg=N", updated at each end of data) are
#               read every 20 ms, so the moment is known within that;
#   msgs/s      messages / last s: the relay rate end to end.
# and, once the queue is empty and the relay's idle connections are
# closed (the sink's count of ended sessions still for 3 s):
#   conn/msg    connections the sink saw, per message (1.00: none reused);
#   out ms/msg  CPU of posthorn's delivery agent per message: its
#               smtp-out processes (those queue-run reaped, and any alive).
#               Not for Postfix ("-"): its smtp(8) processes exit at
#               max_use and max_idle, and their time goes to the master's
#               account with every other daemon's.
# For posthorn, where the rest of its CPU went is said on stderr after
# each run: queue-run's own, and the sessions' (smtp-in and what it
# starts, reaped by smtp-listen), per message.
#
# posthorn: bench.example is a local domain whose aliases file sends
# rcpt@ to rcpt@relay.example and tls@ to rcpt@tls.relay.example, remote
# addresses; the sender is of a local domain, so SRS leaves it alone;
# routes(5) send relay.example to the plain sink with tls=none and
# tls.relay.example to the TLS sink with tls=encrypt, with no DNS.
# Postfix: relay_domains = bench.example, relayhost = the plain sink, and
# a transport_maps entry sending tls@ to the TLS sink through a transport
# with smtp_tls_security_level = encrypt.  Both sinks serve one
# self-signed ECDSA P-256 certificate.
# Both with their default delivery limits: posthorn max_deliveries 50,
# max_per_destination 20, smtp_reuse_limit 100, smtp_reuse_idle 2s; Postfix default_process_limit 200 (for smtpd, as
# in bench/run.sh), default_destination_concurrency_limit 20, and its
# connection cache (smtp_connection_cache_on_demand) on, as shipped.
#
# Everything on loopback, outside any namespace; queues under /var/tmp (on
# the disk, fsynced).  Everything started is stopped on exit, failure
# included; every wait is bounded.  Runs as root (Postfix's master, and
# smtp-sink's -u).  BENCH_MSGS=N (2000), BENCH_ROUNDS=N (3; the peers take
# turns within a round, and the table ends with the medians),
# BENCH_PEERS="posthorn" or "postfix" for one side, BENCH_SINKS="plain" or
# "tls" for one sink, BENCH_KEEP=1 keeps the temporary directory (logs,
# queues).
set -eu

BIN=${1:?usage: bench/relay.sh BIN_DIR}
MSGS=${BENCH_MSGS:-2000}
SIZE=10240			# bytes a message
CONCURRENCY="10 50"
ROUNDS=${BENCH_ROUNDS:-3}
PEERS=${BENCH_PEERS:-posthorn postfix}
SINKS=${BENCH_SINKS:-plain tls}
DOMAIN=bench.example
RCPT=rcpt@$DOMAIN		# to the plain sink
TLS_RCPT=tls@$DOMAIN		# to the TLS sink
FAR=rcpt@relay.example		# where the alias sends them (posthorn)
TLS_FAR=rcpt@tls.relay.example
RUN_LIMIT=600			# seconds: the bound of one run
BIN=$(cd "$BIN" && pwd)

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_root
need_cmd /usr/sbin/smtp-source /usr/sbin/smtp-sink /usr/sbin/postfix \
    systemd-socket-activate python3
case " $PEERS " in *" posthorn "*)
	need_built smtp-in queue-run smtp-out ;;
esac
TLSSINK=$BIN/../bench/tlssink
case " $SINKS " in *" tls "*)
	[ -x "$TLSSINK" ] || die "$TLSSINK is not built (make bench builds it)" ;;
esac
need_postfix_user
bench_tmpdir posthorn-bench-relay

SINK_PORT=$(free_port)
TLS_SINK_PORT=$(free_port)
SINK_CERT=$T/sink-cert.pem
SINK_KEY=$T/sink-key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj "/CN=sink.tls.relay.example" \
    -keyout "$SINK_KEY" -out "$SINK_CERT" >"$T/openssl.out" 2>&1 ||
    { cat "$T/openssl.out" >&2; die "openssl could not make the certificate"; }
chmod 644 "$SINK_KEY"		# the sink runs as postfix
# start_sink plain|tls: a fresh sink, its counters in $T/sink.count.
# (smtp-sink not with -M: it exits on the last end of data before its
# 250, and the last message would stay queued as "connection lost".)
start_sink() {
	if [ "$1" = tls ]; then
		setpriv --reuid=postfix --regid=postfix --clear-groups \
		    "$TLSSINK" "$SINK_CERT" "$SINK_KEY" \
		    "127.0.0.1:$TLS_SINK_PORT" </dev/null >"$T/sink.count" \
		    2>"$T/sink.err" &
		SINK_PID=$!
		wait_port "$TLS_SINK_PORT" ||
		    die "nothing listens on 127.0.0.1:$TLS_SINK_PORT"
		return
	fi
	/usr/sbin/smtp-sink -u postfix -h sink.relay.example -c \
	    "127.0.0.1:$SINK_PORT" 256 </dev/null >"$T/sink.count" \
	    2>"$T/sink.err" &
	SINK_PID=$!
	wait_port "$SINK_PORT" || die "nothing listens on 127.0.0.1:$SINK_PORT"
}
# sink_count [FIELD]: the messages (or sessions: sess) the sink has
# counted so far.
sink_count() {
	n=$(tr '\r' '\n' <"$T/sink.count" |
	    sed -n "s/.*${1:-mesg}=\\([0-9]*\\).*/\\1/p" | tail -n 1)
	echo "${n:-0}"
}
# sink_settle: wait (30 s at most) until the sink's count of ended
# sessions has not moved for 3 s: the relay's idle connections closed.
sink_settle() {
	last=-1 still=0 i=0
	while [ $still -lt 30 ] && [ $i -lt 300 ]; do
		n=$(sink_count sess)
		if [ "$n" = "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$n
		sleep 0.1; i=$((i + 1))
	done
}
# ph_cpu: milliseconds of CPU of queue-run itself, and of the sessions
# smtp-listen reaped (smtp-in and its helpers).
ph_cpu() {
	python3 - "${QR_PID-0}" "${ACT_PID-0}" <<-'EOF'
	import os, sys
	def st(p):
	    with open(f"/proc/{p}/stat") as f:
	        return f.read().rsplit(")", 1)[1].split()
	q, a = st(int(sys.argv[1])), st(int(sys.argv[2]))
	hz = os.sysconf("SC_CLK_TCK")
	print((int(q[11]) + int(q[12])) * 1000 // hz,
	      (int(a[13]) + int(a[14])) * 1000 // hz)
	EOF
}
# out_cpu PEER: milliseconds of CPU posthorn's smtp-out processes have
# used so far (queue-run's reaped children, and its live ones); "-" for
# Postfix.
out_cpu() {
	[ "$1" = posthorn ] || { echo -; return; }
	python3 - "$1" "${QR_PID-0}" 0 <<-'EOF'
	import os, sys
	peer, qr, master = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	def stat(p):
	    try:
	        with open(f"/proc/{p}/stat") as f:
	            head, tail = f.read().rsplit(")", 1)
	        return head.split("(", 1)[1], tail.split()
	    except OSError:
	        return None, None
	total = 0
	if peer == "posthorn":
	    _, st = stat(qr)
	    total += int(st[13]) + int(st[14])
	for d in os.listdir("/proc"):
	    if not d.isdigit():
	        continue
	    comm, st = stat(d)
	    if st is None:
	        continue
	    ppid = int(st[1])
	    if ppid == qr and comm == "smtp-out":
	        total += int(st[11]) + int(st[12])
	print(total * 1000 // os.sysconf("SC_CLK_TCK"))
	EOF
}

# blast PEER PORT SINK CONC QUEUE_DIR...: one timed run; the queue must
# drain.
blast() {
	peer=$1 port=$2 sink=$3 conc=$4
	shift 4
	rcpt=$RCPT
	[ "$sink" = plain ] || rcpt=$TLS_RCPT
	start_sink "$sink"
	cpu0=$(out_cpu "$peer")
	[ "$peer" != posthorn ] || ph0=$(ph_cpu)
	t0=$(now)
	smtp-source -c -s "$conc" -m "$MSGS" -l "$SIZE" -f "from@$DOMAIN" \
	    -t "$rcpt" "127.0.0.1:$port" >/dev/null 2>"$T/source.err" ||
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
	sink_settle
	cpu1=$(out_cpu "$peer")
	sess=$(sink_count sess)
	if [ "$peer" = posthorn ]; then
		# shellcheck disable=SC2086
		set -- $ph0 $(ph_cpu)
		awk -v m="$MSGS" -v q="$(($3 - $1))" -v s="$(($4 - $2))" 'BEGIN {
			printf "bench: posthorn CPU per message: queue-run %.3f ms, sessions %.3f ms\n", q / m, s / m
		}' >&2
	fi
	stop_pid "$SINK_PID" 50
	SINK_PID=
	note=
	[ "$(sink_count)" -eq "$MSGS" ] || note="  (!) the sink got $(sink_count)"
	[ ! -s "$T/source.err" ] || note="  (!) smtp-source: $(head -n 1 "$T/source.err")"
	awk -v p="$peer" -v c="$conc" -v m="$MSGS" -v a="$t0" -v b="$t1" \
	    -v z="$t2" -v note="$note" -v s="$sess" -v u0="$cpu0" \
	    -v u1="$cpu1" -v k="$sink" 'BEGIN {
		cpu = u0 == "-" ? "-" : sprintf("%.3f", (u1 - u0) / m)
		printf "%-9s %11d %6d %9.2f %9.2f %9.0f %9.3f %10s %5s%s\n", p, c,
		    m, b - a, z - a, m / (z - a), s / m, cpu, k, note
	    }' >>"$RESULTS"
	tail -n 1 "$RESULTS" >&2
}

# --- posthorn: smtp-in, queue-run, smtp-out -----------------------------------

case " $PEERS " in *" posthorn "*)
	ph_init "$PH/etc/domains/$DOMAIN"
	printf '%s:!\n%s:!\n' "${RCPT%@*}" "${TLS_RCPT%@*}" \
	    >"$PH/etc/domains/$DOMAIN/users"
	printf '%s: %s\n%s: %s\n' "${RCPT%@*}" "$FAR" "${TLS_RCPT%@*}" \
	    "$TLS_FAR" >"$PH/etc/domains/$DOMAIN/aliases"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PH/etc/srs.secret"
	echo >>"$PH/etc/srs.secret"
	chmod 600 "$PH/etc/srs.secret"
	printf '%s\n' "${FAR#*@} 127.0.0.1:$SINK_PORT tls=none" \
	    "${TLS_FAR#*@} 127.0.0.1:$TLS_SINK_PORT tls=encrypt" \
	    >"$PH/etc/routes"
	ph_queue_run
	ph_listen mx
	echo "bench: posthorn smtp-in on 127.0.0.1:$PH_PORT, queue-run, smtp-out -> smtp-sink 127.0.0.1:$SINK_PORT, tlssink 127.0.0.1:$TLS_SINK_PORT, queue $PH/spool" >&2
	;;
esac

# --- Postfix: smtpd, cleanup, qmgr, smtp --------------------------------------

case " $PEERS " in *" postfix "*)
	pf_init
	port=$(free_port)
	{
		cat <<-EOF
		# A private Postfix for bench/relay.sh: accepts for $DOMAIN on
		# 127.0.0.1:$port and relays all of it to [127.0.0.1]:$SINK_PORT.
		EOF
		pf_main_cf "postfix.$DOMAIN"
		cat <<-EOF
		relay_domains = $DOMAIN
		relayhost = [127.0.0.1]:$SINK_PORT
		transport_maps = inline:{$TLS_RCPT=tlsrelay:[127.0.0.1]:$TLS_SINK_PORT}
		mynetworks = 127.0.0.0/8
		smtp_dns_support_level = disabled
		# As Debian's main.cf ships it: TLS sessions resumed.
		smtp_tls_session_cache_database = btree:$PF/data/smtp_scache
		EOF
	} >"$PF/etc/main.cf"
	{
		cat <<-EOF
		$port     inet  n       -       n       -       -       smtpd
		smtp      unix  -       -       n       -       -       smtp
		relay     unix  -       -       n       -       -       smtp
		tlsrelay  unix  -       -       n       -       -       smtp
		  -o smtp_tls_security_level=encrypt
		tlsmgr    unix  -       -       n       1000?   1       tlsmgr
		EOF
		pf_master_cf qmgr
	} >"$PF/etc/master.cf"
	pf_start "$port"
	echo "bench: Postfix $(postconf -c "$PF/etc" -h mail_version) on 127.0.0.1:$port, relayhost [127.0.0.1]:$SINK_PORT, $TLS_RCPT to [127.0.0.1]:$TLS_SINK_PORT, queue $Q" >&2
	PF_PORT=$port
	;;
esac

# --- the runs ------------------------------------------------------------------

# The peers take turns, run by run, so that a slow minute of the disk of
# a virtual machine does not fall on one side only.
r=1
while [ $r -le "$ROUNDS" ]; do
	for k in $SINKS; do
		for c in $CONCURRENCY; do
			[ -z "${PH_PORT-}" ] ||
			    blast posthorn "$PH_PORT" "$k" "$c" "$PH/spool/new"
			# shellcheck disable=SC2086
			[ -z "${PF_PORT-}" ] ||
			    blast postfix "$PF_PORT" "$k" "$c" $PF_QUEUE
		done
	done
	r=$((r + 1))
done

if [ -n "${PH_PORT-}" ]; then
	ph_check_sessions
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
connection (smtp-source -s CONCURRENCY), relayed to one sink (plain:
smtp-sink; tls: bench/tlssink, STARTTLS required by both relays), on
$(uname -n); queues in /var/tmp (fsynced).  Seconds from the start of
smtp-source to its exit (accept) and to the sink's last message (last);
msgs/s = msgs / last.

peer      concurrency   msgs  accept s    last s    msgs/s  conn/msg out ms/msg  sink
EOF
cat "$RESULTS"
ALL=$RESULTS
for k in $SINKS; do
	RESULTS=$T/results.$k
	awk -v k="$k" '$9 == k' "$ALL" >"$RESULTS"
	printf '\n--- sink: %s\n' "$k"
	med_table
	printf '\nmedian of %s rounds, the delivery agents:\n' "$ROUNDS"
	printf 'peer      concurrency   conn/msg out ms/msg\n'
	for c in $CONCURRENCY; do
		for p in $PEERS; do
			grep -q "^$p " "$RESULTS" || continue
			printf '%-9s %11d %10s %10s\n' "$p" "$c" \
			    "$(med "$p" "$c" 7 %.3f)" "$(med "$p" "$c" 8 %.3f)"
		done
	done
done
