# bench/lib.sh — what the benchmarks of "make bench" share, sourced by
# bench/run.sh, local.sh, tls.sh and relay.sh after "set -eu":
#   . "$(dirname "$0")/lib.sh"
# The checks before a run, the temporary directory on the disk, the
# bounded waits, a throw-away posthorn (its configuration, smtp-in under
# systemd-socket-activate, queue-run) and a private Postfix instance (the
# main.cf and master.cf lines every bench gives it, its start and stop),
# and the stop of everything started, on exit, failure included.
# Nothing here runs when sourced but the setting of the variables below;
# a script names what it starts in them so that bench_cleanup stops it.

WAIT=100			# tenths of a second: the bound of a start-up wait
ACT_PID=			# smtp-listen (or systemd-socket-activate)
QR_PID=				# queue-run
CL_PID=				# a client running in the background
SINK_PID=			# smtp-sink
PF_UP=				# Postfix's master

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "run me as root (Postfix's master needs it)"
}

# need_cmd CMD...: each is installed.
need_cmd() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || die "$p is missing (sh t/deps.sh)"
	done
}

# need_built PROG...: each is built in $BIN.
need_built() {
	for p in "$@"; do
		[ -x "$BIN/$p" ] || die "$BIN/$p is not built"
	done
}

need_postfix_user() {
	getent passwd postfix >/dev/null ||
	    die "no postfix user (apt-get install postfix)"
}

# bench_tmpdir NAME: the temporary directory $T under /var/tmp, which must
# be on the disk: a message is answered 250 only once it is fsynced, and
# that must cost what it costs.  Sets the places below it and the traps.
bench_tmpdir() {
	T=$(mktemp -d "/var/tmp/$1.XXXXXX")
	chmod 755 "$T"
	[ "$(stat -f -c %T "$T")" != tmpfs ] ||
	    die "/var/tmp is tmpfs: the queues would not be durable"
	PH=$T/ph			# posthorn: etc, spool, mail, logs
	PF=$T/pf			# Postfix: etc, queue, data
	Q=$PF/queue
	PF_QUEUE="$Q/maildrop $Q/incoming $Q/active $Q/deferred $Q/hold"
	RESULTS=$T/results
	: >"$RESULTS"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# stop_pid PID TENTHS: TERM, a bounded wait, KILL.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while [ $i -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# pf_stop: Postfix's master and, by their ids, its children.
pf_stop() {
	[ -n "$PF_UP" ] || return 0
	kids=$(ps -o pid= --ppid "$PF_UP" 2>/dev/null) || true
	postfix -c "$PF/etc" stop >/dev/null 2>&1 || true
	i=0
	while [ $i -lt $WAIT ] && kill -0 "$PF_UP" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
	for p in $PF_UP $kids; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

bench_cleanup() {
	set +e
	# queue-run gives running deliveries 10 s: wait a little more.
	[ -z "$QR_PID" ] || stop_pid "$QR_PID" 150
	# The client stops its own processes when told to.
	[ -z "$CL_PID" ] || stop_pid "$CL_PID" 50
	[ -z "$ACT_PID" ] || stop_pid "$ACT_PID" 50
	[ -z "$SINK_PID" ] || stop_pid "$SINK_PID" 50
	pf_stop
	if [ -n "${BENCH_KEEP-}" ]; then
		echo "bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
}

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

# wait_port PORT: bounded wait until 127.0.0.1:PORT accepts; 1 if it
# does not in time.
wait_port() {
	python3 - "$1" "$WAIT" <<-'EOF'
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

# tree_cpu PID...: milliseconds of CPU that the PIDs and every process
# below them have used, the children that they reaped included (/proc/PID/stat's
# utime, stime, cutime and cstime).  A difference of two readings is the
# CPU of a run, server side, whatever process did the work.
tree_cpu() {
	python3 - "$@" <<-'EOF'
	import os, sys
	def kids(p):
	    out = []
	    try:
	        for t in os.listdir(f"/proc/{p}/task"):
	            with open(f"/proc/{p}/task/{t}/children") as f:
	                out += [int(x) for x in f.read().split()]
	    except OSError:
	        pass
	    return out
	def ticks(p):
	    try:
	        with open(f"/proc/{p}/stat") as f:
	            st = f.read().rsplit(")", 1)[1].split()
	        return sum(int(x) for x in st[11:15])
	    except OSError:
	        return 0
	todo, total = [int(a) for a in sys.argv[1:]], 0
	while todo:
	    p = todo.pop()
	    total += ticks(p)
	    todo += kids(p)
	print(total * 1000 // os.sysconf("SC_CLK_TCK"))
	EOF
}

# median [FMT]: the median of the numbers on the input, printed with FMT
# (as they are without one); "-" when there are none.
median() {
	sort -g | awk -v fmt="${1-}" '
		{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		if (NR % 2) m = v[(NR + 1) / 2]
		else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		if (fmt == "") print m; else printf fmt "\n", m }'
}

# med PEER KEY FIELD [FMT]: the median over the rounds of FIELD of the
# rows of $RESULTS that begin "PEER KEY"; a field "-" (no value) is left
# out.
med() {
	awk -v p="$1" -v k="$2" -v f="$3" '$1 == p && $2 == k { print $f }' \
	    "$RESULTS" | grep -v '^-$' | median "${4-}"
}

# med_table: the medians of the end to end runs (local.sh, relay.sh),
# whose rows of $RESULTS are "PEER CONCURRENCY MSGS ACCEPT_S LAST_S MSGS/S".
med_table() {
	printf '\nmedian of %s rounds:\n' "$ROUNDS"
	printf 'peer      concurrency  accept s    last s    msgs/s\n'
	for c in $CONCURRENCY; do
		for p in $PEERS; do
			grep -q "^$p " "$RESULTS" || continue
			printf '%-9s %11d %9s %9s %9s\n' "$p" "$c" \
			    "$(med "$p" "$c" 4 %.2f)" "$(med "$p" "$c" 5 %.2f)" \
			    "$(med "$p" "$c" 6 %.0f)"
		done
	done
}

# --- posthorn -------------------------------------------------------------

ph_queued() { count "$PH/spool/new"; }
ph_wipe() { find "$PH/spool/new" "$PH/spool/tmp" -type f -delete; }

# ph_init [DIR...]: a throw-away posthorn configuration and queue under
# $PH for mx.$DOMAIN, and the DIRs.  SPF, DKIM and DMARC checks are off
# (PH_CHECKS=yes: on), as Postfix beside it has none: bench/checks.sh
# measures what they add, against a DNS server of its own (a bench on
# the host's resolver measures that resolver).
ph_init() {
	mkdir -p "$PH/etc" "$PH/spool/tmp" "$PH/spool/new" "$PH/spool/state" \
	    "$PH/mail" "$@"
	cat >"$PH/etc/posthorn.conf" <<-EOF
	hostname = mx.$DOMAIN
	spool = $PH/spool
	maildirs = $PH/mail
	checks = ${PH_CHECKS:-no}
	EOF
	# BENCH_PH_CONF: more posthorn.conf lines, to measure a setting
	# (e.g. "max_per_destination = 20").
	if [ -n "${BENCH_PH_CONF-}" ]; then
		printf '%s\n' "$BENCH_PH_CONF" >>"$PH/etc/posthorn.conf"
	fi
}

# ph_listen SERVICE: smtp-in SERVICE on a free loopback port, $PH_PORT,
# one process per connection started by smtp-listen (as installed), its
# sessions running as nobody; BENCH_LISTENER=activator starts them with
# systemd-socket-activate --inetd -a instead, as before smtp-listen.
ph_listen() {
	PH_PORT=$(free_port)
	if [ "${BENCH_LISTENER-}" = activator ]; then
		systemd-socket-activate --inetd -a -l "127.0.0.1:$PH_PORT" \
		    -E POSTHORN_CONF="$PH/etc" "$BIN/smtp-in" "$1" \
		    </dev/null >/dev/null 2>"$PH/log" &
		ACT_PID=$!
		wait_for "$PH/log" "Listening on 127.0.0.1:$PH_PORT"
		return
	fi
	chown -R nobody "$PH/spool" "$PH/mail"
	"$BIN/smtp-listen" -C "$PH/etc" -u nobody -c 1000 "$1" \
	    "127.0.0.1:$PH_PORT" </dev/null >/dev/null 2>"$PH/log" &
	ACT_PID=$!
	wait_for "$PH/log" "event=listening addr=127.0.0.1:$PH_PORT"
}

# ph_queue_run: queue-run on $PH's configuration, logging to
# $PH/queue-run.log.
ph_queue_run() {
	POSTHORN_CONF=$PH/etc "$BIN/queue-run" </dev/null >/dev/null \
	    2>"$PH/queue-run.log" &
	QR_PID=$!
	wait_for "$PH/queue-run.log" "event=started"
}

# ph_check_sessions: say so if some smtp-in sessions failed or were
# refused.
ph_check_sessions() {
	bad='died with code [1-9]\|signal\|event=session-killed\|event=refused'
	if grep -q "$bad" "$PH/log"; then
		echo "bench: (!) some smtp-in sessions failed:" >&2
		grep "$bad" "$PH/log" | head -n 3 >&2
	fi
}

# --- Postfix ----------------------------------------------------------------

# shellcheck disable=SC2086
pf_queued() { count $PF_QUEUE; }
pf_wipe() {
	find "$Q/maildrop" "$Q/incoming" "$Q/active" "$Q/deferred" \
	    "$Q/defer" "$Q/hold" "$Q/bounce" -type f -delete 2>/dev/null || true
}

# pf_init: the directories of a private Postfix instance.
pf_init() {
	mkdir -p "$PF/etc" "$Q" "$PF/data"
	chown postfix "$PF/data"
}

# pf_main_cf HOSTNAME: the main.cf settings every bench's Postfix has: its
# own directories, loopback IPv4, no aliases, no limits on clients, and
# smtpd's process limit raised to 200 for the 50 connections at a time.
pf_main_cf() {
	cat <<-EOF
	compatibility_level = 3.6
	config_directory = $PF/etc
	queue_directory = $Q
	data_directory = $PF/data
	mail_owner = postfix
	setgid_group = postdrop
	myhostname = $1
	mydomain = $DOMAIN
	myorigin = \$myhostname
	mydestination =
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
	maillog_file = $PF/maillog
	EOF
}

# pf_accept_cf: the main.cf lines of a Postfix that only accepts (no
# qmgr), for $DOMAIN, as bench/run.sh and bench/systemd.sh compare it.
pf_accept_cf() {
	cat <<-EOF
	relay_domains = $DOMAIN
	mynetworks = 127.0.0.0/8
	# Flow control tokens come from qmgr; with no qmgr every message
	# would wait this long.  0: Postfix's acceptance at its best.
	in_flow_delay = 0
	EOF
}

# pf_master_cf [qmgr]: the master.cf services every bench's Postfix needs
# besides its smtpd; with "qmgr", also those of one that delivers (qmgr
# and its helpers), where the delivery agent is the script's to add.
# shellcheck disable=SC2120
pf_master_cf() {
	[ "${1-}" != qmgr ] || cat <<-EOF
	qmgr      unix  n       -       n       300     1       qmgr
	flush     unix  n       -       n       1000?   0       flush
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	EOF
	cat <<-EOF
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
}

# pf_start PORT: start the instance and wait until it listens on PORT.
pf_start() {
	postfix -c "$PF/etc" start >"$T/postfix.out" 2>&1 ||
	    { cat "$T/postfix.out" >&2; die "postfix did not start"; }
	PF_UP=$(tr -d ' ' <"$Q/pid/master.pid")
	wait_port "$1" || die "Postfix does not listen on 127.0.0.1:$1"
}
