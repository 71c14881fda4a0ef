#!/bin/sh
# install.sh — install posthorn on this machine (Debian 12, as root) and
# start receiving mail on port 25 and submissions on ports 587 and 465.
# It installs the packages it needs with apt-get, builds, runs "make
# install", creates the posthorn user and the posthorn-drop group (of
# queue-inject), posthorn-run (of queue-runas, which runs pipe aliases
# and MDAs as nobody), posthorn-dkim (of the DKIM keys), posthorn-tls,
# posthorn-srs and posthorn-auth (of the TLS key, srs.secret and the
# users files), writes a
# first /etc/posthorn (with a self-signed
# certificate when there is none, so that TLS works from the first
# start), creates the queue, and starts the three listeners and the queue
# runner: systemd socket units, the smtp-listen services behind them and
# queue-run's service where systemd runs the machine, else smtp-listen
# (binding the ports as root, then dropping to posthorn) and queue-run in
# the background.
#
# Re-running it is safe: it never overwrites a file of /etc/posthorn, it
# leaves a user and the queue as they are (fixing only owners and modes),
# restarts the listeners and queue-run so that the programs just built
# run (a listener lets its sessions finish first; under systemd the
# ports stay open throughout), and restarts a systemd socket only if its
# unit file changed.
#
#	./install.sh [-a ADMIN] [-H HOSTNAME] [DOMAIN]
#
#	./install.sh example.org		mail for example.org
#	./install.sh -a me@gmail.com -H mx.example.org example.org
#
# DOMAIN is the mail domain, and the only one made: its MX, its DKIM
# keys, its mailboxes.  HOSTNAME is this server's name (the greeting,
# the PTR of its addresses, the certificate): by default the one that
# posthorn.conf has, else the machine's full name (hostname -f), as
# Postfix's myhostname and chasquid's hostname default to it; it is
# checked against its forward and reverse DNS, with a warning.  ADMIN
# is where mail to root, postmaster, abuse and the other role names of
# the host name goes (cron, sendmail root), and the domain's postmaster
# and abuse; by default the local mailbox postmaster@DOMAIN.  ADMIN=
# and POSTMASTER= (its old name) in the environment work as -a.
#
# Without DOMAIN, a re-run takes the domain that /etc/posthorn has; a
# first run makes no mail domain but the host name itself (local anyway)
# and says so loudly, with the command that names one: scripts run it
# too, and it never prompts, and it never guesses a domain from the
# host name (a hosting provider's machine is named in its domain).
#
# BUILD=DIR puts the objects in DIR instead of ./build.
# -f: no globbing, so that "[::]:25" in an unquoted list stays as it is.
set -euf

PREFIX=/usr/local
SBIN=$PREFIX/sbin
CONF=/etc/posthorn
SPOOL=/var/spool/posthorn
# The user's and groups' names ($USER, $DROP, $RUN, $DKIM, $TLS, $SRS,
# $AUTH), shared with install-users.sh.
. "$(dirname "$0")/install-names.sh"
UNITDIR=/etc/systemd/system
QSERVICE=posthorn-queue.service
LOGDIR=/var/log/posthorn
QLOG=$LOGDIR/queue-run.log
LOGROTATE=/etc/logrotate.d/posthorn
LOGCRON=/etc/cron.hourly/posthorn-logrotate
# tlsrpt(8), the daily TLS reports: a systemd timer, else cron.daily.
RPTUNIT=posthorn-tlsrpt
RPTCRON=/etc/cron.daily/posthorn-tlsrpt
QPIDFILE=/run/posthorn-queue.pid
MAILDIRS=/var/mail
CERTDIR=$CONF/certs
CERT=$CERTDIR/fullchain.pem
KEY=$CERTDIR/privkey.pem
# The listeners, NAME:PORT:MODE:SESSIONS.  NAME gives the units
# (posthorn-NAME.socket and posthorn-NAME.service, in smtp-in/) and,
# without systemd, the pid file /run/posthorn-NAME.pid; MODE is the mode
# of its sessions; SESSIONS its sessions at once (smtp-listen -c, as in
# the service units).
LISTENERS="smtp:25:mx:256 submission:587:submission:32 submissions:465:submissions:32"

# musl-tools: smtp-in is linked statically against musl (see Makefile).
# zlib1g-dev (libz-dev): tlsrpt(8) gzips the TLS reports (RFC 8460);
# libunbound-dev: smtp-out validates DNSSEC for DANE.
# libidn2-dev: IDNA 2008 for international domains (smtp-out, dkimsign,
# queue-run); libidn2-0, its library, comes with libgnutls30.
PKGS_BUILD="gcc make libc6-dev musl-tools libsodium-dev libgnutls28-dev
zlib1g-dev libunbound-dev libidn2-dev"
# libsodium23: mailuser, smtp-auth; libgnutls30: smtp-tlsd, dkimsign;
# openssl: the first, self-signed certificate; systemd: the units;
# util-linux: setpriv (queue-run without systemd); passwd: useradd;
# hostname: hostname -f; logrotate: the log files without systemd;
# publicsuffix: the Public Suffix List, DMARC's organizational domains;
# zlib1g: tlsrpt's gzip; libunbound8 and dns-root-data: smtp-out's
# DNSSEC validation for DANE (posthorn.conf(5) dnssec,
# dnssec_trust_anchor).
PKGS_RUN="libsodium23 libgnutls30 openssl systemd util-linux passwd hostname
logrotate publicsuffix zlib1g libunbound8 dns-root-data"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
DONE=
# recap_done: what a helper script did (its -r file), into $DONE in turn.
recap_done() {
	while IFS= read -r l; do
		DONE="$DONE
  - $l"
	done <"$recap"
	: >"$recap"
}
did() { say "$*"; DONE="$DONE
  - $*"; }
# dir PATH OWNER MODE: make it if missing, and give it that owner and mode.
dir() {
	[ -d "$1" ] || { mkdir -p "$1"; did "created $1"; }
	chown "$2" "$1"
	chmod "$3" "$1"
}

usage() {
	cat <<EOF
usage: ./install.sh [-a ADMIN] [-H HOSTNAME] [DOMAIN]
  DOMAIN       the mail domain, e.g. example.org (default: the one that
               $CONF has, else none but the host name itself)
  -H HOSTNAME  this server's name, that the PTR of its addresses gives
               (default: posthorn.conf's, else hostname -f)
  -a ADMIN     the address that mail to root, postmaster and abuse goes
               to (default: the local mailbox postmaster@DOMAIN)
EOF
}
admin=${ADMIN-${POSTMASTER-}}
host=
while getopts a:H:h o; do
	case $o in
	a)	admin=$OPTARG ;;
	H)	host=$OPTARG ;;
	h)	usage; exit 0 ;;
	*)	usage >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || { usage >&2; exit 64; }
domain=${1-}

cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || die "run me as root (sudo ./install.sh)"
command -v apt-get >/dev/null 2>&1 || die "this needs Debian (apt-get)"
if [ ! -f Makefile ] || [ ! -d smtp-in ]; then
	die "run me from the posthorn source tree"
fi

# --- the names, chosen and checked before anything is installed -----------

# install-conf.sh -n chooses the host name and the domain that were not
# given, checks them and the administrator's address, and prints the
# notice when no domain was named; it is kept for the end.
notice=$(mktemp)
recap=$(mktemp)
records=$(mktemp)
trap 'rm -f "$notice" "$recap" "$records"' EXIT
names=$(sh ./install-conf.sh -n -c "$CONF" ${admin:+-a "$admin"} \
    ${host:+-H "$host"} ${domain:+"$domain"} 2>"$notice") || {
	cat "$notice" >&2
	die "usage: ./install.sh [-a ADMIN] [-H HOSTNAME] [DOMAIN]" \
	    "(./install.sh -h says more)"
}
cat "$notice"
host=${names% *}
domain=${names#* }

# --- packages -------------------------------------------------------------

missing=
for p in $PKGS_BUILD $PKGS_RUN; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # the list is meant to split
	apt-get install -q -y --no-install-recommends $missing
	did "installed packages:$missing"
fi

# --- build and install the programs --------------------------------------

make BUILD="${BUILD:-build}"
make BUILD="${BUILD:-build}" install PREFIX="$PREFIX"
did "installed smtp-listen, smtp-in, smtp-tlsd, smtp-keeper, smtp-auth, queue-run, smtp-out, mailq, aliases, mailuser, queue-inject, sendmail in $SBIN, dkimsign in $PREFIX/bin, man pages in $PREFIX/share/man"

# --- the user and the groups ---------------------------------------------

# install-users.sh makes them (the Debian package's postinst runs it
# too): the posthorn user, in $DROP and mail; $RUN, $DKIM, $TLS, $SRS
# and $AUTH, which no one is a member of; and $MAILDIRS if missing.
sh ./install-users.sh -r "$recap" -S "$SPOOL" -M "$MAILDIRS"
recap_done

# --- queue-inject and the queue -------------------------------------------

# Postfix's postdrop: queue-inject is root's and setgid $DROP (2755), so
# that no one but root can replace what it runs (it was setuid $USER,
# and anything running as $USER could replace it and wait for root's
# cron to run it).  The queue lets $DROP pass, create and rename but
# never its caller: the committed file is the caller's, in a spool the
# caller cannot enter.  install-queue.sh has the modes, and puts back an
# older install's (queue-inject setuid $USER, the queue $USER:$USER 0750).
[ -d "$SPOOL" ] || did "created the queue $SPOOL"
sh queue-run/install-queue.sh -p "$PREFIX" -s "$SPOOL" -u "$USER" \
    -G "$USER" -g "$DROP" -r "$RUN"

# --- /etc/posthorn, never overwriting ------------------------------------

# install-conf.sh writes it: posthorn.conf, the SRS secret, the domain,
# the host name's aliases, the DKIM keys, a certificate; it checks the
# host name's DNS and writes the records to publish, shown at the end.
# The names were chosen (and checked) before anything was installed.
sh ./install-conf.sh -p "$PREFIX" -c "$CONF" -u "$USER" -k "$DKIM" \
    -t "$TLS" -s "$SRS" -A "$AUTH" \
    -r "$recap" -R "$records" ${admin:+-a "$admin"} -H "$host" "$domain" ||
    die "could not write $CONF (above)"
recap_done
# posthorn.conf's hostname, which install-conf.sh kept if it differs.
names=$(sh ./install-conf.sh -n -c "$CONF" "$domain" 2>/dev/null) ||
    die "$CONF/posthorn.conf: no hostname that install-conf.sh takes"
host=${names% *}
ddir=$CONF/domains/$domain
# Where root's mail goes now, as queue-run will resolve it.
sysmail=$("$SBIN/aliases" -C "$CONF" "root@$host" 2>&1 |
    sed -n '1s/^[^:]*: //p') || sysmail=

# Said at every run while it lasts, not only the first.
selfsigned=
if [ -r "$CERT" ] &&
    ! grep -Eq '^[[:space:]]*tls_cert[[:space:]]*=' "$CONF/posthorn.conf"; then
	subj=$(openssl x509 -in "$CERT" -noout -subject -nameopt RFC2253 \
	    2>/dev/null) || subj=
	iss=$(openssl x509 -in "$CERT" -noout -issuer -nameopt RFC2253 \
	    2>/dev/null) || iss=
	[ -z "$subj" ] || [ "${subj#subject=}" != "${iss#issuer=}" ] ||
	    selfsigned=1
fi

# --- secrets out of git -----------------------------------------------------

# $CONF is meant to be kept in git; its .gitignore keeps the TLS key, the
# DKIM keys, srs.secret and secrets/ out (an existing one only gains
# missing lines).
sh install-gitignore.sh "$CONF"

# --- sendmail --------------------------------------------------------------

if [ -e /usr/sbin/sendmail ] || [ -L /usr/sbin/sendmail ]; then
	if [ "$(readlink /usr/sbin/sendmail)" = "$SBIN/sendmail" ]; then
		:
	else
		owner=$(dpkg-query -S /usr/sbin/sendmail 2>/dev/null |
		    cut -d: -f1) || owner=
		say "left /usr/sbin/sendmail alone: it belongs to ${owner:-another MTA}"
		say "  (posthorn's is $SBIN/sendmail)"
	fi
else
	ln -s "$SBIN/sendmail" /usr/sbin/sendmail
	did "linked /usr/sbin/sendmail to $SBIN/sendmail"
fi

# --- the listeners -----------------------------------------------------------

on_systemd=
if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || [ -d /run/systemd/system ]; then
	on_systemd=1
fi

# Is anything listening on TCP port $1?  /proc/net/tcp{,6}: local
# address HEX:PORT in column 2, state 0A is LISTEN.
port_busy() {
	awk -v p="$(printf ':%04X' "$1")" \
	    '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
	    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_owner() {
	if command -v ss >/dev/null 2>&1; then
		ss -ltnpH "sport = :$1" 2>/dev/null | sed 's/^/    /'
	fi
}

# running NAME MODE: is posthorn's listener NAME up?  Without systemd,
# $pid is then its pid, and $old says whether it is the listener of
# earlier versions (systemd-socket-activate starting smtp-in).
running() {
	old=
	if [ -n "$on_systemd" ]; then
		systemctl is-active --quiet "posthorn-$1.socket"
		return
	fi
	pid=
	[ -s "/run/posthorn-$1.pid" ] || return 1
	pid=$(cat "/run/posthorn-$1.pid")
	case $pid in
	*[!0-9]*|'') return 1 ;;
	esac
	# The spaces around the mode (NULs in cmdline): "submission"
	# must not match the listener of "submissions".
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	case $cmd in
	"$SBIN/smtp-listen "*" $2 "*) return 0 ;;
	*systemd-socket-activate*" $SBIN/smtp-in $2 ") old=1; return 0 ;;
	esac
	return 1
}

# split NAME:PORT:MODE:SESSIONS into $name, $port, $mode and $max.
split() {
	name=${1%%:*}
	rest=${1#*:}
	port=${rest%%:*}
	rest=${rest#*:}
	mode=${rest%%:*}
	max=${rest#*:}
}

# systemd_listener NAME PORT: install posthorn-NAME.socket and
# posthorn-NAME.service, start the socket (its port is known to be free)
# or restart it if its unit changed, and (re)start the service, so that
# the programs just installed run.  The socket stays open across the
# service's restart: no connection is refused meanwhile.
systemd_listener() {
	sock=posthorn-$1.socket
	svc=posthorn-$1.service
	changed=
	sock_changed=
	# Before smtp-listen, each connection had a unit of its own:
	# posthorn-NAME@.service behind an Accept=yes socket.
	if [ -e "$UNITDIR/posthorn-$1@.service" ]; then
		rm -f "$UNITDIR/posthorn-$1@.service"
		changed=1
		did "removed $UNITDIR/posthorn-$1@.service (a unit per connection, replaced by $svc)"
	fi
	if ! cmp -s "smtp-in/$sock" "$UNITDIR/$sock"; then
		install -m 644 "smtp-in/$sock" "$UNITDIR/$sock"
		changed=1 sock_changed=1
		did "installed $UNITDIR/$sock"
	fi
	if ! cmp -s "smtp-in/$svc" "$UNITDIR/$svc"; then
		install -m 644 "smtp-in/$svc" "$UNITDIR/$svc"
		changed=1
		did "installed $UNITDIR/$svc"
	fi
	[ -z "$changed" ] || systemctl daemon-reload
	if systemctl is-active --quiet "$sock"; then
		if [ -n "$sock_changed" ]; then
			systemctl stop "$svc" "$sock"
			systemctl start "$sock"
			did "restarted $sock (its unit changed)"
		fi
	else
		systemctl start "$sock"
		did "started $sock (port $2, IPv4 and IPv6)"
	fi
	systemctl restart "$svc"
	systemctl is-active --quiet "$svc" ||
	    die "smtp-listen did not start: journalctl -u $svc"
	did "started $svc (smtp-listen on port $2)"
	# Enabled only once it listens: enabled while another program has
	# the port, it could take the port from that program at the next
	# boot.
	systemctl enable --quiet "$sock" "$svc"
}

# logfile NAME: the log of listener NAME without systemd (port 25's keeps the
# name it had before there were three).
logfile() {
	case $1 in
	smtp)	echo "$LOGDIR/smtp-in.log" ;;
	*)	echo "$LOGDIR/smtp-in-$1.log" ;;
	esac
}

# stop_pid PID: SIGTERM, then a bounded wait for it to go (a listener
# drains its sessions for up to 20 s, then ends them).
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$i" -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# bg_listener NAME PORT MODE SESSIONS: smtp-listen on PORT, binding it as
# root and dropping to posthorn itself, keeping CAP_SETGID alone to give
# its zygote $TLS and its keeper $SRS and $AUTH (and its sessions no
# group at all), its pid in /run/posthorn-NAME.pid; its port is known to
# be free.
bg_listener() {
	pidfile=/run/posthorn-$1.pid
	log=$(logfile "$1")
	# [::] takes IPv4 too (smtp-listen makes it dual-stack whatever
	# net.ipv6.bindv6only says); without IPv6, 0.0.0.0.
	if [ -e /proc/net/if_inet6 ]; then
		listen="[::]:$2"
	else
		listen="0.0.0.0:$2"
	fi
	dir "$LOGDIR" root:adm 0750
	# Where this start's lines begin (the log is appended to).
	from=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + 1))
	# setsid: its own session, so that it outlives this shell and the
	# terminal.
	setsid env -i POSTHORN_CONF="$CONF" POSTHORN_LOG_TIME=1 \
	    PATH=/usr/local/bin:/usr/bin:/bin \
	    "$SBIN/smtp-listen" -u "$USER" -c "$4" "$3" "$listen" \
	    </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$pidfile"
	# Bounded wait for its "event=listening" line, or its death.
	i=0
	while [ "$i" -lt 50 ]; do
		kill -0 "$pid" 2>/dev/null || break
		tail -c "+$from" "$log" | grep -q "event=listening .*:$2 " &&
		    break
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		rm -f "$pidfile"
		tail -c "+$from" "$log" | tail -n 5 >&2
		die "the listener on port $2 did not start (above; $log)"
	fi
	did "started smtp-listen on port $2 (pid $pid, $listen, sessions" \
	    "as $USER, log $log)"
}

# The log files without systemd are rotated: daily by logrotate's own
# run, and by size (100M) every hour by cron, 14 kept
# (smtp-in/posthorn.logrotate says why copytruncate).  Replaced when the
# tree's differ, as the units are.
log_rotation() {
	if ! cmp -s smtp-in/posthorn.logrotate "$LOGROTATE"; then
		install -D -m 644 smtp-in/posthorn.logrotate "$LOGROTATE"
		did "installed $LOGROTATE (daily or past 100M, 14 kept)"
	fi
	if ! cmp -s smtp-in/posthorn-logrotate.cron "$LOGCRON"; then
		install -D -m 755 smtp-in/posthorn-logrotate.cron "$LOGCRON"
		did "installed $LOGCRON (the 100M bound, checked hourly)"
	fi
	command -v cron >/dev/null 2>&1 || [ -x /usr/sbin/cron ] ||
	    say "warning: no cron here: nothing runs logrotate on $LOGDIR"
}

# queue-run in the background, as posthorn with its groups (mail,
# $DROP) and $RUN, $DKIM, $SRS (it signs forwarded senders) and $AUTH
# (a local address is a user of the users file), which no one has by
# membership.  Without
# --no-new-privs, unlike the listeners: queue-runas, set-uid root, is
# how it runs pipe aliases and MDAs as command_user (nobody unless
# posthorn.conf says otherwise).  An old one is stopped
# first, so that the program just installed runs; it finishes or safely
# abandons its deliveries on SIGTERM.
start_queue_run() {
	if [ -s "$QPIDFILE" ]; then
		qpid=$(cat "$QPIDFILE")
		case $qpid in
		*[!0-9]*|'') ;;
		*)	if tr '\0' ' ' <"/proc/$qpid/cmdline" 2>/dev/null |
			    grep -q "$SBIN/queue-run"; then
				kill "$qpid"
				i=0
				while kill -0 "$qpid" 2>/dev/null &&
				    [ "$i" -lt 300 ]; do
					sleep 0.1
					i=$((i + 1))
				done
			fi ;;
		esac
	fi
	dir "$LOGDIR" root:adm 0750
	qgroups=$(id -G "$USER" | tr ' ' ','),$(getent group "$RUN" |
	    cut -d: -f3),$(getent group "$DKIM" | cut -d: -f3),$(getent \
	    group "$SRS" | cut -d: -f3),$(getent group "$AUTH" | cut -d: -f3)
	from=$(($(stat -c %s "$QLOG" 2>/dev/null || echo 0) + 1))
	setsid env -i POSTHORN_CONF="$CONF" POSTHORN_LOG_TIME=1 \
	    PATH=/usr/local/bin:/usr/bin:/bin \
	    setpriv --reuid="$USER" --regid="$USER" --groups="$qgroups" \
	    "$SBIN/queue-run" </dev/null >>"$QLOG" 2>&1 &
	qpid=$!
	echo "$qpid" >"$QPIDFILE"
	i=0
	while [ "$i" -lt 50 ]; do
		kill -0 "$qpid" 2>/dev/null || break
		tail -c "+$from" "$QLOG" | grep -q "event=started" && break
		sleep 0.1
		i=$((i + 1))
	done
	if ! kill -0 "$qpid" 2>/dev/null; then
		rm -f "$QPIDFILE"
		tail -c "+$from" "$QLOG" | tail -n 5 >&2
		die "queue-run did not start (above; $QLOG)"
	fi
	did "started queue-run (pid $qpid, as $USER, log $QLOG)"
}

# Refuse before starting anything: all three listeners or none.
busy=
for l in $LISTENERS; do
	split "$l"
	if ! running "$name" "$mode" && port_busy "$port"; then
		port_owner "$port"
		busy="$busy $port"
	fi
done
[ -z "$busy" ] ||
    die "taken by another program (above): port$busy;" \
	"stop it, then run me again"

if [ -n "$on_systemd" ]; then
	units=
	for l in $LISTENERS; do
		split "$l"
		systemd_listener "$name" "$port"
		units="$units posthorn-$name.socket posthorn-$name.service"
	done
	if ! cmp -s "queue-run/$QSERVICE" "$UNITDIR/$QSERVICE"; then
		install -m 644 "queue-run/$QSERVICE" "$UNITDIR/$QSERVICE"
		systemctl daemon-reload
		did "installed $UNITDIR/$QSERVICE"
	fi
	systemctl enable --quiet "$QSERVICE"
	# A restart takes the program just installed; queue-run finishes
	# or safely abandons what is in flight, and carries on.
	systemctl restart "$QSERVICE"
	systemctl is-active --quiet "$QSERVICE" ||
	    die "queue-run did not start: journalctl -u $QSERVICE"
	did "started $QSERVICE (queue-run)"
	# The daily TLS reports (tlsrpt(8)): a timer, no daemon.
	for u in "$RPTUNIT.service" "$RPTUNIT.timer"; do
		if ! cmp -s "smtp-out/$u" "$UNITDIR/$u"; then
			install -m 644 "smtp-out/$u" "$UNITDIR/$u"
			systemctl daemon-reload
			did "installed $UNITDIR/$u"
		fi
	done
	systemctl enable --quiet --now "$RPTUNIT.timer"
	logs="journalctl -u posthorn-smtp -u posthorn-submission
                  -u posthorn-submissions -u $QSERVICE (add -f to follow;
                  -t smtp-in, -t queue-run... for one program)"
	stop="systemctl disable --now$units
                  $QSERVICE $RPTUNIT.timer"
else
	logs=
	for l in $LISTENERS; do
		split "$l"
		if running "$name" "$mode"; then
			# A re-run installs new programs: the listener that
			# runs them is restarted (its sessions drain first).
			# Without systemd nothing holds the port meanwhile.
			stop_pid "$pid"
			rm -f "/run/posthorn-$name.pid"
			[ -z "$old" ] ||
			    did "stopped the old listener on port $port (systemd-socket-activate, pid $pid)"
		fi
		bg_listener "$name" "$port" "$mode" "$max"
		logs="$logs$(logfile "$name")
                  "
	done
	start_queue_run
	log_rotation
	if ! cmp -s smtp-out/posthorn-tlsrpt.cron "$RPTCRON"; then
		install -D -m 755 smtp-out/posthorn-tlsrpt.cron "$RPTCRON"
		did "installed $RPTCRON (the daily TLS reports, tlsrpt(8))"
	fi
	logs="$logs$QLOG
                  (time stamps in UTC; rotated by $LOGROTATE)"
	stop="kill \$(cat /run/posthorn-*.pid) && rm /run/posthorn-*.pid"
	say "systemd is not PID 1 here: the listeners and queue-run are not"
	say "  started at boot; run ./install.sh again after a reboot"
fi

# --- what now ----------------------------------------------------------------

if [ -n "$selfsigned" ]; then
	cert_line="$CERT (SELF-SIGNED, see below)"
elif grep -Eq '^[[:space:]]*tls_cert[[:space:]]*=' "$CONF/posthorn.conf"; then
	cert_line="as tls_cert and tls_key in $CONF/posthorn.conf say"
else
	cert_line=$CERT
fi

cat <<EOF

posthorn is installed.  Done this time:${DONE:-
  - nothing: everything was in place}

  Ports:          25 (MX, STARTTLS), 587 (submission, STARTTLS and AUTH),
                  465 (submissions, TLS and AUTH); IPv4 and IPv6
  Certificate:    $cert_line
  Domain:         $domain (host name $host)
  System mail:    root@$host (cron, sendmail root): ${sysmail:-nowhere?}
  Configuration:  $CONF (posthorn.conf, domains/$domain/)
  Queue:          $SPOOL/new ("mailq" lists it)
  Mailboxes:      $MAILDIRS/DOMAIN/USER/ (Maildir)
  Logs:           $logs
  Stop:           $stop
EOF

if [ -n "$selfsigned" ]; then
	cat <<EOF

  *******************************************************************
  *  WARNING: the TLS certificate is SELF-SIGNED (made by install.sh
  *  for $host).
  *  Other MTAs still encrypt to port 25 with it, but mail clients
  *  and Gmail's "send mail as" will refuse it or warn on 587 and 465.
  *  Get a real one for $host, e.g. from Let's Encrypt:
  *    acme.sh --issue -d $host --standalone --keylength ec-256
  *    acme.sh --install-cert -d $host --ecc \\
  *        --fullchain-file $CERT \\
  *        --key-file $KEY --reloadcmd true
  *  or certbot with a --deploy-hook that copies fullchain.pem and
  *  privkey.pem into $CERTDIR (privkey.pem root:$TLS, mode 0640).
  *  The exact lines are in README.md, "TLS certificates".  No
  *  restart is needed: every connection reads the files anew.
  *******************************************************************
EOF
fi

echo
cat "$records"
# The notice of a domain taken from the host name, once more.
if grep -q '\*\*\*' "$notice"; then
	grep -v '^install.sh:' "$notice"
fi

cat <<EOF

Next steps:
  1. Try it:  swaks --server 127.0.0.1 --to postmaster@$domain
  2. Add a mailbox:  $SBIN/mailuser add you@$domain   (asks for a password)
  3. Publish the records above: the MX of $domain pointing at this
     host, SPF for $domain and for $host, DKIM; and check that the PTR
     record of each address of $host gives $host.
  4. Forward the domain's mail elsewhere with aliases(5), e.g. a
     catch-all "*: you@gmail.com" in $ddir/aliases, and check it
     with "aliases --check"; forwarded mail leaves with an SRS sender.
  5. Send from a mail client: server $host, port 587 (STARTTLS) or
     465 (SSL/TLS), login your full address (you@$domain) and the
     password of step 2.
  6. Check what you published: $SBIN/posthorn-doctor $domain
     (MX, PTR, SPF, DKIM, DMARC and the certificate, with what to fix;
     "dkimsign -p $domain" prints the DKIM records again).
EOF
