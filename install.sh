#!/bin/sh
# install.sh — install posthorn on this machine (Debian 12, as root) and
# start receiving mail on port 25.  It installs the packages it needs with
# apt-get, builds, runs "make install", creates the posthorn user, writes
# a first /etc/posthorn, creates the queue, and starts the listener and
# the queue runner: a systemd socket unit and a service where systemd runs
# the machine, else systemd-socket-activate and queue-run in the
# background.
#
# Re-running it is safe: it never overwrites a file of /etc/posthorn, it
# leaves a user, the queue and a running listener as they are (fixing only
# owners and modes), and it restarts the systemd socket only if its unit
# files changed.
#
#	./install.sh			postmaster@DOMAIN is a local mailbox
#	POSTMASTER=me@example.org ./install.sh	postmaster and abuse go there
#
# BUILD=DIR puts the objects in DIR instead of ./build.
# -f: no globbing, so that "[::]:25" in an unquoted list stays as it is.
set -euf

PREFIX=/usr/local
SBIN=$PREFIX/sbin
CONF=/etc/posthorn
SPOOL=/var/spool/posthorn
USER=posthorn
UNITDIR=/etc/systemd/system
SOCKET=posthorn-smtp.socket
SERVICE=posthorn-smtp@.service
QSERVICE=posthorn-queue.service
LOGDIR=/var/log/posthorn
LOG=$LOGDIR/smtp-in.log
QLOG=$LOGDIR/queue-run.log
PIDFILE=/run/posthorn-smtp.pid
QPIDFILE=/run/posthorn-queue.pid
MAILDIRS=/var/mail
PORT=25
# Sessions at once without systemd, as MaxConnections= in the socket unit:
# an RLIMIT_NPROC on the posthorn user, so that the exec of one session
# too many fails and its connection is closed.
MAX_SESSIONS=256

# musl-tools: smtp-in is linked statically against musl (see Makefile).
PKGS_BUILD="gcc make libc6-dev musl-tools libsodium-dev libgnutls28-dev"
# libsodium23: mailuser; systemd: systemd-socket-activate; util-linux:
# setpriv and prlimit; passwd: useradd; hostname: hostname -f.
PKGS_RUN="libsodium23 systemd util-linux passwd hostname"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
DONE=
did() { say "$*"; DONE="$DONE
  - $*"; }

cd "$(dirname "$0")"
[ "$(id -u)" -eq 0 ] || die "run me as root (sudo ./install.sh)"
command -v apt-get >/dev/null 2>&1 || die "this needs Debian (apt-get)"
if [ ! -f Makefile ] || [ ! -d smtp-in ]; then
	die "run me from the posthorn source tree"
fi

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
did "installed smtp-in, queue-run, mailq, aliases, mailuser, queue-inject, sendmail in $SBIN, dkimsign in $PREFIX/bin, man pages in $PREFIX/share/man"

# --- the user --------------------------------------------------------------

if ! getent group "$USER" >/dev/null; then
	groupadd --system "$USER"
	did "created group $USER"
fi
if ! getent passwd "$USER" >/dev/null; then
	useradd --system --gid "$USER" --home-dir "$SPOOL" --no-create-home \
	    --shell /usr/sbin/nologin --comment "posthorn mail server" "$USER"
	did "created user $USER"
fi

# queue-run makes the Maildirs of a new domain under /var/mail, which is
# root:mail 2775 on Debian.
if getent group mail >/dev/null && ! id -nG "$USER" | grep -qw mail; then
	usermod -a -G mail "$USER"
	did "added $USER to group mail (for $MAILDIRS)"
fi
[ -d "$MAILDIRS" ] || { install -d -o root -g mail -m 2775 "$MAILDIRS"; did "created $MAILDIRS"; }

# queue-inject is setuid posthorn so that sendmail, run by any user, can
# write into the queue, which nobody else can.  Setuid rather than setgid
# (as qmail-queue): the committed file is then owned by posthorn, so the
# user who injected it cannot rewrite its envelope afterwards.  (chown
# clears the bit, so it comes first; "make install" has just reset it.)
chown "$USER:$USER" "$SBIN/queue-inject"
chmod 4755 "$SBIN/queue-inject"

# --- the queue -------------------------------------------------------------

[ -d "$SPOOL" ] || did "created the queue $SPOOL"
mkdir -p "$SPOOL"
chown "$USER:$USER" "$SPOOL"
chmod 0750 "$SPOOL"
for d in tmp new state; do
	mkdir -p "$SPOOL/$d"
	chown "$USER:$USER" "$SPOOL/$d"
	chmod 0750 "$SPOOL/$d"
done

# --- /etc/posthorn, never overwriting ------------------------------------

host=$(hostname -f 2>/dev/null) || host=
[ -n "$host" ] || host=$(hostname)
host=$(printf '%s' "$host" | tr '[:upper:]' '[:lower:]')
domain=$(hostname -d 2>/dev/null | tr '[:upper:]' '[:lower:]') || domain=
# Without a domain from the resolver, the name's parent when it has one
# below a top-level domain (mx.example.org: example.org), else the name.
if [ -z "$domain" ]; then
	case $host in
	*.*.*)	domain=${host#*.} ;;
	*)	domain=$host ;;
	esac
fi
case $host in
localhost|localhost.*|*.localdomain)
	say "warning: this machine calls itself $host; set the name that"
	say "  its PTR record gives in $CONF/posthorn.conf (hostname = ...)" ;;
esac

# dir PATH OWNER MODE: make it if missing, and give it that owner and mode.
dir() {
	[ -d "$1" ] || { mkdir -p "$1"; did "created $1"; }
	chown "$2" "$1"
	chmod "$3" "$1"
}
# newfile PATH OWNER MODE < CONTENT: write it only if nothing is there.
newfile() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		say "kept $1 (exists)"
		cat >/dev/null
		return 0
	fi
	cat >"$1.install.$$"
	chown "$2" "$1.install.$$"
	chmod "$3" "$1.install.$$"
	mv "$1.install.$$" "$1"
	did "wrote $1"
}

dir "$CONF" root:root 0755
newfile "$CONF/posthorn.conf" root:root 0644 <<EOF
# posthorn.conf — see posthorn.conf(5).  Written by install.sh, which
# never overwrites it.  "key = value"; the commented keys show their
# defaults.  A change takes effect at the next connection.

# The name this server gives in its greeting and in Received: headers:
# the name that the PTR record of its address gives.
hostname = $host

#spool = $SPOOL
#maildirs = /var/mail
#tls_cert = certs/fullchain.pem
#tls_key = certs/privkey.pem
#max_message_size = 50M
EOF

# smtp-in (group posthorn) reads the users and aliases files; mailuser
# gives a new users file the group of its directory.
dir "$CONF/domains" "root:$USER" 0755
ddir=$CONF/domains/$domain
dir "$ddir" "root:$USER" 0755
if [ -e "$ddir/aliases" ]; then
	say "kept $ddir/aliases (exists)"
	[ -z "${POSTMASTER-}" ] ||
	    say "POSTMASTER ignored: edit $ddir/aliases yourself"
elif [ -n "${POSTMASTER-}" ]; then
	case $POSTMASTER in
	*@*.*) ;;
	*) die "POSTMASTER=$POSTMASTER: want an address, user@domain" ;;
	esac
	case $POSTMASTER in
	*[\ \	,:\|]*) die "POSTMASTER=$POSTMASTER: one plain address, please" ;;
	esac
	newfile "$ddir/aliases" "root:$USER" 0640 <<EOF
# Aliases of $domain, see aliases(5): "name: target, target".
# Mail to these addresses is forwarded to $POSTMASTER.
postmaster: $POSTMASTER
abuse: $POSTMASTER
EOF
else
	if grep -qi '^postmaster:' "$ddir/users" 2>/dev/null; then
		say "kept postmaster@$domain (already in $ddir/users)"
	else
		"$SBIN/mailuser" -C "$CONF" add -r "postmaster@$domain" </dev/null
		did "added receive-only user postmaster@$domain"
	fi
	newfile "$ddir/aliases" "root:$USER" 0640 <<EOF
# Aliases of $domain, see aliases(5): "name: target, target".
# postmaster@$domain is a local mailbox (receive-only, made by install.sh).
# To read it elsewhere, remove it ("mailuser del postmaster@$domain")
# and add a line such as "postmaster: you@example.org".
abuse: postmaster
EOF
fi

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

# --- the listener ------------------------------------------------------------

# Is anything listening on TCP port $PORT?  /proc/net/tcp{,6}: local
# address HEX:PORT in column 2, state 0A is LISTEN.
port_busy() {
	awk -v p="$(printf ':%04X' "$PORT")" \
	    '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
	    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
port_owner() {
	if command -v ss >/dev/null 2>&1; then
		ss -ltnpH "sport = :$PORT" 2>/dev/null | sed 's/^/    /'
	fi
}

# queue-run in the background, as posthorn (with its groups: mail).  An
# old one is stopped first, so that the program just installed runs; it
# finishes or safely abandons its deliveries on SIGTERM.
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
	from=$(($(stat -c %s "$QLOG" 2>/dev/null || echo 0) + 1))
	setsid env -i POSTHORN_CONF="$CONF" PATH=/usr/local/bin:/usr/bin:/bin \
	    setpriv --reuid="$USER" --regid="$USER" --init-groups \
	    --no-new-privs "$SBIN/queue-run" </dev/null >>"$QLOG" 2>&1 &
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

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || [ -d /run/systemd/system ]; then
	changed=
	for u in "$SOCKET" "$SERVICE"; do
		if ! cmp -s "smtp-in/$u" "$UNITDIR/$u"; then
			install -m 644 "smtp-in/$u" "$UNITDIR/$u"
			changed=1
			did "installed $UNITDIR/$u"
		fi
	done
	[ -z "$changed" ] || systemctl daemon-reload
	if systemctl is-active --quiet "$SOCKET"; then
		if [ -n "$changed" ]; then
			systemctl restart "$SOCKET"
			did "restarted $SOCKET (its units changed)"
		fi
	else
		if port_busy; then
			port_owner
			die "port $PORT is taken by another program (above);" \
			    "stop it, then run me again"
		fi
		systemctl start "$SOCKET"
		did "started $SOCKET (port $PORT, IPv4 and IPv6)"
	fi
	# Enabled only once it listens: enabled while another program has
	# the port, it could take port 25 from that program at the next boot.
	systemctl enable --quiet "$SOCKET"
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
	logs="journalctl -u 'posthorn-smtp@*' -u $QSERVICE (add -f to follow)"
	stop="systemctl disable --now $SOCKET $QSERVICE"
else
	running=
	if [ -s "$PIDFILE" ]; then
		pid=$(cat "$PIDFILE")
		case $pid in
		*[!0-9]*|'') ;;
		*)	if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			    grep -q "systemd-socket-activate.* $SBIN/smtp-in mx"; then
				running=$pid
			fi ;;
		esac
	fi
	if [ -n "$running" ]; then
		say "the listener is already running (pid $running); left as it is"
	else
		if port_busy; then
			port_owner
			die "port $PORT is taken by another program (above);" \
			    "stop it, then run me again"
		fi
		# One socket for both families where the kernel allows it:
		# with net.ipv6.bindv6only=0 (Linux's default) [::]:25 also
		# takes IPv4, and a second socket on 0.0.0.0:25 would fail
		# with EADDRINUSE.
		if [ ! -e /proc/net/if_inet6 ]; then
			listen="-l 0.0.0.0:$PORT" want=1
		elif [ "$(cat /proc/sys/net/ipv6/bindv6only 2>/dev/null)" = 1 ]; then
			listen="-l 0.0.0.0:$PORT -l [::]:$PORT" want=2
		else
			listen="-l [::]:$PORT" want=1
		fi
		dir "$LOGDIR" root:adm 0750
		# Where this start's lines begin (the log is appended to).
		from=$(($(stat -c %s "$LOG" 2>/dev/null || echo 0) + 1))
		# setsid: its own session, so that it outlives this shell
		# and the terminal.  The activator passes no environment
		# but what -E gives.
		# shellcheck disable=SC2086 # $listen is meant to split
		setsid prlimit --nproc="$MAX_SESSIONS:$MAX_SESSIONS" \
		    systemd-socket-activate --inetd -a $listen \
		    -E POSTHORN_CONF="$CONF" \
		    setpriv --reuid="$USER" --regid="$USER" --init-groups \
		    --no-new-privs "$SBIN/smtp-in" mx \
		    </dev/null >>"$LOG" 2>&1 &
		pid=$!
		echo "$pid" >"$PIDFILE"
		# Bounded wait for its "Listening on" line(s), or its death.
		i=0
		while [ "$i" -lt 50 ]; do
			kill -0 "$pid" 2>/dev/null || break
			n=$(tail -c "+$from" "$LOG" |
			    grep -c "^Listening on .*:$PORT ") || n=0
			[ "$n" -ge "$want" ] && break
			sleep 0.1
			i=$((i + 1))
		done
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PIDFILE"
			tail -c "+$from" "$LOG" | tail -n 5 >&2
			die "the listener did not start (above; $LOG)"
		fi
		did "started the listener (pid $pid, port $PORT:" \
		    "systemd-socket-activate $listen, sessions as $USER)"
	fi
	start_queue_run
	logs="$LOG and $QLOG"
	stop="kill \$(cat $PIDFILE $QPIDFILE) && rm $PIDFILE $QPIDFILE"
	say "systemd is not PID 1 here: the listener and queue-run are not"
	say "  started at boot; run ./install.sh again after a reboot"
fi

# --- what now ----------------------------------------------------------------

cat <<EOF

posthorn is installed.  Done this time:${DONE:-
  - nothing: everything was in place}

  Configuration:  $CONF (posthorn.conf, domains/$domain/)
  Queue:          $SPOOL/new ("mailq" lists it)
  Mailboxes:      $MAILDIRS/DOMAIN/USER/ (Maildir)
  Logs:           $logs
  Stop:           $stop

Next steps:
  1. Try it:  swaks --server 127.0.0.1 --to postmaster@$domain
  2. Add a mailbox:  $SBIN/mailuser add you@$domain   (asks for a password)
  3. Publish the MX record of $domain, pointing at this host, and check
     that the PTR record of its address gives $host:
         $domain.  IN MX 10 $host.
  4. Forward the domain's mail elsewhere with aliases(5), e.g. a
     catch-all "*: you@gmail.com" in $ddir/aliases, and check it
     with "aliases --check".  (Remote delivery, smtp-out, is not in this
     release: such mail waits in the queue, listed by mailq.)
EOF
