#!/bin/sh
# install-conf.sh — write the first /etc/posthorn for one mail domain and
# one host name, never overwriting a file that is there: posthorn.conf,
# the SRS secret, the domain (its aliases, its postmaster, its DKIM
# keys), the aliases of the host name itself (where root, postmaster,
# MAILER-DAEMON and the other RFC 2142 names of the host go: the
# administrator), and a self-signed certificate when there is none.
# Then it checks that the host name's forward and reverse DNS agree, and
# writes the DNS records to publish.  install.sh runs it as root after
# "make install" and after making the posthorn user, with the domain,
# host name and administrator it was given (and with -n before it
# installs anything, to choose the names that were not given and check
# them); the tests run it on a directory of their own.
#
#	sh install-conf.sh [-n] [-D DESTDIR] [-p PREFIX] [-c CONF] [-u USER]
#	    [-k DKIMGROUP] [-t TLSGROUP] [-s SRSGROUP] [-A AUTHGROUP]
#	    [-a ADMIN] [-r RECAP] [-R RECORDS] [-H HOSTNAME] [DOMAIN]
#
# Defaults: no DESTDIR, /usr/local, /etc/posthorn, posthorn (the group
# that reads the configuration; a name or a numeric id), posthorn-dkim
# (the group of the DKIM private keys: the signer's alone, which
# install.sh gives to queue-run and to no program that talks to the
# network; USER when no such group exists), posthorn-tls (the TLS
# private key's: smtp-listen gives it to its TLS zygote alone),
# posthorn-srs (srs.secret's: the keeper and queue-run), posthorn-auth
# (the users files': the keeper, which runs smtp-auth); each USER when
# no such group exists (smtp-listen(8), "PRIVILEGES").  HOSTNAME:
# posthorn.conf's, else hostname -f.  DOMAIN: the one CONF has, else the
# host name itself, which is local anyway, with a notice no one can miss:
# never a domain the reader did not name (the machine's name's parent is
# a hosting provider's as often as the reader's).  ADMIN is the
# address that system mail and the postmaster's go to; without it they
# stay in the local mailbox postmaster@DOMAIN.  RECAP: each thing done is
# appended to it, one a line (install.sh's summary).  RECORDS: the DNS
# records are written there instead of to standard output.  -n: choose
# the names not given (below) and check them all; print "HOSTNAME
# DOMAIN" and exit 0 if they are good, else exit 64 with the reason.
#
# It makes one local domain, DOMAIN, and no other: the host name is
# local anyway (posthorn.conf(5), "hostname"), and its directory holds
# only the aliases of its system names.
set -euf

DESTDIR=
PREFIX=/usr/local
CONFDIR=/etc/posthorn
USER=posthorn
DKIM=posthorn-dkim
TLS=posthorn-tls
SRS=posthorn-srs
AUTH=posthorn-auth
ADMIN=
HOST=
RECAP=
RECORDS=
# The NSS service the DNS check asks (getent -s): "dns", so that an
# /etc/hosts entry, which every installer writes for the machine's own
# name, does not hide a missing or wrong record.  The tests set "files"
# with an /etc/hosts of their own.
NSS=${POSTHORN_INSTALL_NSS:-dns}

# The command that runs this again with other names, as the notices
# below suggest it: install.sh's, or the Debian package's, whose
# postinst sets POSTHORN_INSTALL_BY=deb and takes the names from the
# environment.
rerun() {
	if [ "${POSTHORN_INSTALL_BY-}" = deb ]; then
		printf 'POSTHORN_DOMAIN=%s %sdpkg-reconfigure posthorn' "$2" \
		    "${1:+POSTHORN_HOSTNAME=$1 }"
	else
		printf './install.sh %s%s' "${1:+-H $1 }" "$2"
	fi
}

# The names that mail from the host itself and the standard role
# addresses of the host name go to (RFC 2142 §§3-5, and root and
# MAILER-DAEMON, which cron, daemons and other MTAs' bounces use).
HOST_NAMES="root postmaster abuse mailer-daemon hostmaster webmaster www
noc security info marketing sales support usenet news uucp ftp"
# When the host name is the mail domain itself, its users' names must
# stay free (an alias hides a user of the same name): the system's.
SYSTEM_NAMES="root postmaster abuse mailer-daemon"

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
bad() { printf 'install.sh: %s\n' "$*" >&2; exit 64; }
did() {
	say "$*"
	[ -z "$RECAP" ] || printf '%s\n' "$*" >>"$RECAP"
}
usage() {
	echo "usage: install-conf.sh [-n] [-D DESTDIR] [-p PREFIX] [-c CONF]" \
	    "[-u USER] [-k DKIMGROUP] [-t TLSGROUP] [-s SRSGROUP]" \
	    "[-A AUTHGROUP] [-a ADMIN] [-r RECAP] [-R RECORDS]" \
	    "[-H HOSTNAME]" \
	    "[DOMAIN]" >&2
	exit 64
}
check=
while getopts nD:p:c:u:k:t:s:A:a:r:R:H: o; do
	case $o in
	n)	check=1 ;;
	D)	DESTDIR=$OPTARG ;;
	p)	PREFIX=$OPTARG ;;
	c)	CONFDIR=$OPTARG ;;
	u)	USER=$OPTARG ;;
	k)	DKIM=$OPTARG ;;
	t)	TLS=$OPTARG ;;
	s)	SRS=$OPTARG ;;
	A)	AUTH=$OPTARG ;;
	a)	ADMIN=$OPTARG ;;
	r)	RECAP=$OPTARG ;;
	R)	RECORDS=$OPTARG ;;
	H)	HOST=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
domain=${1-}

CONF=$DESTDIR$CONFDIR
SBIN=$DESTDIR$PREFIX/sbin
BIN=$DESTDIR$PREFIX/bin
CERTDIR=$CONF/certs
CERT=$CERTDIR/fullchain.pem
KEY=$CERTDIR/privkey.pem

# -n: what is said goes to standard error; standard output has the
# names chosen, for install.sh.
if [ -n "$check" ]; then
	exec 3>&1 1>&2
fi

# conf_value KEY: the value of KEY in posthorn.conf, if it has one.
conf_value() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" \
	    "$CONF/posthorn.conf" 2>/dev/null | sed 's/[[:space:]]*$//' |
	    tail -n 1
}

# --- the names -----------------------------------------------------------------

# The host name: posthorn.conf's (the administrator's, on a re-run),
# else the machine's full name, as Postfix's myhostname and chasquid's
# hostname default to it: the name its PTR records should already give.
# Not an invented mail.DOMAIN, which no DNS would know.
host=$HOST
[ -n "$host" ] || host=$(conf_value hostname)
if [ -z "$host" ]; then
	host=$(hostname -f 2>/dev/null) || host=
	[ -n "$host" ] || host=$(hostname 2>/dev/null) || host=
fi
host=$(printf '%s' "$host" | tr '[:upper:]' '[:lower:]')

# The domain: the one named; else, on a re-run, the mail domain made
# before (a directory with a users file or DKIM keys; the host name's
# holds its aliases, and keys only if the reader made some, so it comes
# last); else the host name alone, said loudly.
guessed=
if [ -z "$domain" ] && [ -d "$CONF/domains" ]; then
	# shellcheck disable=SC2045 # domain names: no spaces, no globs
	for d in $(ls "$CONF/domains") "$host"; do
		if [ -e "$CONF/domains/$d/users" ] ||
		    [ -d "$CONF/domains/$d/dkim" ]; then
			domain=$d
			[ "$d" = "$host" ] || break
		fi
	done
	[ -z "$domain" ] || say "no DOMAIN given: $domain, which $CONF has"
fi
if [ -z "$domain" ]; then
	case $host in
	*.*)	domain=$host ;;
	*)	bad "which mail domain?  $(rerun "" example.org) (the host" \
		    "name \"$host\" is no full domain name either)" ;;
	esac
	guessed=1
fi
domain=$(printf '%s' "$domain" | tr '[:upper:]' '[:lower:]')

# name WHAT NAME: a domain name as DNS writes it (letters, digits, '-'
# and dots).
name() {
	case $2 in
	*[!a-z0-9.-]*|.*|*.|*..*|-*|*.-*|*-.*|*-|'')
		bad "$1 \"$2\": not a domain name" ;;
	esac
	[ "${#2}" -le 253 ] || bad "$1 \"$2\": longer than 253 characters"
}
name domain "$domain"
name "host name" "$host"
# A mail domain has a dot; a host name without one is warned about
# below (it works on a private network, and nowhere else).
case $domain in
*.*)	;;
*)	bad "domain \"$domain\": not a full domain name (one with a dot)" ;;
esac
case $ADMIN in
'') ;;
*[[:space:],:\|\"\<\>]*|*@*@*)
	bad "administrator \"$ADMIN\": one plain address, please" ;;
?*@?*.?*) ;;
*)	bad "administrator \"$ADMIN\": want an address, user@domain" ;;
esac

# Scripts run install.sh too: never a prompt, but a notice no one can
# miss, with the command that names another domain.
[ -z "$guessed" ] || cat <<EOF

  *******************************************************************
  *  No DOMAIN was given: posthorn takes mail only for this
  *  machine's own name, $host.
  *  For your domain's mail, name it:   $(rerun "" example.org)
  *******************************************************************

EOF
if [ -n "$check" ]; then
	echo "$host $domain" >&3
	exit 0
fi

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
# The group of a secret: name (or numeric id) when it exists, else
# USER's with a warning (the secret then stays readable by everything
# that runs as USER, as before these groups).
secret_group() {
	case $1 in
	*[!0-9]*)
		if ! getent group "$1" >/dev/null 2>&1; then
			say "warning: no group $1: $2 stays readable by" \
			    "group $USER" >&2
			echo "$USER"
			return
		fi ;;
	esac
	echo "$1"
}
TLS=$(secret_group "$TLS" "the TLS key")
SRS=$(secret_group "$SRS" "srs.secret")
AUTH=$(secret_group "$AUTH" "the users files")
# give PATH GROUP MODE WHOSE: root:GROUP and MODE, said if it was not so
# already.  A link is the administrator's own arrangement, and left as
# it is.
give() {
	[ -f "$1" ] && [ ! -L "$1" ] || return 0
	was=$(stat -c '%u:%g %a' "$1")
	chown "root:$2" "$1"
	chmod "$3" "$1"
	[ "$was" = "$(stat -c '%u:%g %a' "$1")" ] ||
	    did "gave $1 to root:$2, mode $3 ($4)"
}
dir "$CONF" root:root 0755
newfile "$CONF/posthorn.conf" root:root 0644 <<EOF
# posthorn.conf — see posthorn.conf(5).  Written by install.sh, which
# never overwrites it.  "key = value"; the commented keys show their
# defaults.  A change takes effect without a restart: smtp-in and the
# other programs of one connection read this file each time they start;
# queue-run and smtp-listen read it again when it changes (and on
# systemctl reload).  A file with an error is refused whole and the
# running ones keep what they had: check with journalctl -t queue-run.
# spool alone needs a restart of queue-run.  See posthorn.conf(5).

# The name this server gives in its greeting and in Received: headers:
# the name that the PTR record of its address gives.  Mail from this
# host itself (cron, sendmail root) and bounces come from it; the
# aliases of domains/$host/ say where mail to root@ it goes.
hostname = $host

#spool = /var/spool/posthorn
#maildirs = /var/mail
#tls_cert = certs/fullchain.pem
#tls_key = certs/privkey.pem
#max_message_size = 50M
#queue_minfree = 100M
EOF
# The administrator's file wins: its hostname is the one the programs
# use, and the one the rest of this script must use.
had=$(conf_value hostname)
if [ -n "$had" ] && [ "$had" != "$host" ]; then
	say "kept hostname = $had in $CONF/posthorn.conf; not $host"
	say "  (edit the file to change it)"
	host=$had
fi

# The SRS secret (aliases(5)): queue-run signs the senders of forwarded
# mail with it and smtp-keeper, started by smtp-listen, checks the
# bounces; both have the group $SRS, which smtp-in has not.  Never
# overwritten: a new secret voids the
# addresses of mail still on its way.  A srs_secret_file of
# posthorn.conf is the administrator's, and left alone.
SRS_SECRET=$CONF/srs.secret
if grep -Eq '^[[:space:]]*srs_secret_file[[:space:]]*=' "$CONF/posthorn.conf"
then
	say "kept the SRS secret that $CONF/posthorn.conf names (srs_secret_file)"
elif [ -e "$SRS_SECRET" ] || [ -L "$SRS_SECRET" ]; then
	say "kept $SRS_SECRET (exists)"
else
	# 24 random bytes, one line of base64; unreadable to others from
	# the first byte written.
	(umask 077 && head -c 24 /dev/urandom | base64 \
	    >"$SRS_SECRET.install.$$") || die "could not write $SRS_SECRET"
	chown "root:$SRS" "$SRS_SECRET.install.$$"
	chmod 0640 "$SRS_SECRET.install.$$"
	mv "$SRS_SECRET.install.$$" "$SRS_SECRET"
	did "made the SRS secret $SRS_SECRET (keep it; not in git)"
fi
# Also over an older install's (group $USER).
grep -Eq '^[[:space:]]*srs_secret_file[[:space:]]*=' "$CONF/posthorn.conf" ||
    give "$SRS_SECRET" "$SRS" 0640 "the keeper's and queue-run's alone"

# --- the domain --------------------------------------------------------------

# smtp-in (group posthorn) reads the users and aliases files; mailuser
# gives a new users file the group of its directory.
dir "$CONF/domains" "root:$USER" 0755
ddir=$CONF/domains/$domain
dir "$ddir" "root:$USER" 0755
# The host name's directory when it is not the domain's: the host name
# is a local domain whether or not it has one (posthorn.conf(5)).
hdir=$CONF/domains/$host

# host_aliases TARGET NAMES: one line each.  "postmaster" is left out
# when TARGET is the domain's own postmaster mailbox: it is that mailbox.
host_aliases() {
	for n in $2; do
		[ "$n" != postmaster ] || [ "$1" != postmaster ] || continue
		printf '%s: %s\n' "$n" "$1"
	done
}

if [ -e "$ddir/aliases" ]; then
	say "kept $ddir/aliases (exists)"
	[ -z "$ADMIN" ] ||
	    grep -Fqi -- "$ADMIN" "$ddir/aliases" ||
	    say "  it does not send to $ADMIN: edit it yourself (aliases(5))"
elif [ -n "$ADMIN" ]; then
	{
		cat <<EOF
# Aliases of $domain, see aliases(5): "name: target, target".
# Written by install.sh, which never overwrites it.  Mail to these
# addresses goes to the administrator, $ADMIN.
EOF
		if [ "$host" = "$domain" ]; then
			echo "# $domain is the host name too: mail from this host"
			echo "# (cron, sendmail root) and to its role names."
			host_aliases "$ADMIN" "$SYSTEM_NAMES"
		else
			echo "postmaster: $ADMIN"
			echo "abuse: $ADMIN"
		fi
	} | newfile "$ddir/aliases" "root:$USER" 0640
else
	if grep -qi '^postmaster:' "$ddir/users" 2>/dev/null; then
		say "kept postmaster@$domain (already in $ddir/users)"
	else
		"$SBIN/mailuser" -C "$CONF" add -r "postmaster@$domain" \
		    </dev/null || die "mailuser could not add postmaster@$domain"
		did "added receive-only user postmaster@$domain"
	fi
	{
		cat <<EOF
# Aliases of $domain, see aliases(5): "name: target, target".
# postmaster@$domain is a local mailbox (receive-only, made by install.sh).
# To read it elsewhere, remove it ("mailuser del postmaster@$domain")
# and add a line such as "postmaster: you@example.org".
EOF
		if [ "$host" = "$domain" ]; then
			echo "# $domain is the host name too: mail from this host"
			echo "# (cron, sendmail root) and to its role names."
			host_aliases postmaster "$SYSTEM_NAMES"
		else
			echo "abuse: postmaster"
		fi
	} | newfile "$ddir/aliases" "root:$USER" 0640
fi

# The users files hold the password hashes: root:$AUTH 0640, read by
# the keeper's smtp-auth and by queue-run, not by smtp-in (the keeper
# answers its questions); every domain's, also over an older install's
# (group $USER).  mailuser keeps a file's group when it rewrites it.
find "$CONF/domains" -mindepth 2 -maxdepth 2 -type f -name users |
while IFS= read -r u; do
	give "$u" "$AUTH" 0640 "the password hashes: the keeper's alone"
done

# --- the host name: where system mail goes ------------------------------------

# sendmail qualifies a bare name with the host name: cron's mail to
# root is root@$host, and so are the senders of system mail (bounced to
# them).  Without this file the host name has postmaster alone (its
# Maildir, which nothing reads) and mail to root bounces twice.  No
# catch-all: the host name takes mail from the world too, and its
# system users' names are nobody's addresses there.
admin=${ADMIN:-postmaster@$domain}
if [ "$host" != "$domain" ]; then
	dir "$hdir" "root:$USER" 0755
	{
		cat <<EOF
# Aliases of $host, the host name, see aliases(5).  Written by
# install.sh, which never overwrites it.  Mail from this host itself
# (cron, "sendmail root") and to the role names of RFC 2142 at the host
# name goes to the administrator.  The host name has no users.
EOF
		host_aliases "$admin" "$HOST_NAMES"
	} | newfile "$hdir/aliases" "root:$USER" 0640
	[ -z "$ADMIN" ] || grep -Fqi -- "$ADMIN" "$hdir/aliases" ||
	    say "  it does not send to $ADMIN: edit it yourself (aliases(5))"
fi

# --- DKIM keys of the domain, made once ----------------------------------

# queue-run signs the mail this host sends for $domain (submitted with
# AUTH, or by sendmail) once $ddir/dkim/ holds a key: dkimsign(1),
# queue-run(8) "DKIM SIGNING"; and, with the same keys, the mail of the
# host name when it is a name under $domain (bounces, cron's mail).
# Keys are made only when there is none, so a re-run (or keys of your
# own) changes nothing.
dkimdir=$ddir/dkim
made_keys=
if [ -d "$dkimdir" ] && find "$dkimdir" -maxdepth 1 ! -name '.*' \
    \( -name '*.rsa' -o -name '*.ed25519' \) | grep -q .; then
	say "kept the DKIM keys of $domain in $dkimdir"
else
	"$BIN/dkimsign" -C "$CONF" -g "$domain" >/dev/null ||
	    die "dkimsign -g $domain could not make the DKIM keys (above)"
	made_keys=1
	did "made DKIM keys for $domain in $dkimdir (publish the records below)"
fi

# The keys are the signer's: root's, group $DKIM (mode 0640, their
# directory 0750), which only queue-run has (it starts dkimsign); not
# $USER's, which smtp-in and the listeners, which talk to the network,
# have.  Every domain's, on a fresh install and on a re-run over an
# older one (where they were group $USER).  A link is the
# administrator's own arrangement, and left as it is.
case $DKIM in
*[!0-9]*)
	getent group "$DKIM" >/dev/null 2>&1 || {
		say "warning: no group $DKIM: the DKIM keys stay readable by" \
		    "group $USER"
		DKIM=$USER
	} ;;
esac
# keep PATH MODE: root:$DKIM and MODE, said if it was not so already.
keep() {
	was=$(stat -c '%u:%g %a' "$1")
	chown "root:$DKIM" "$1"
	chmod "$2" "$1"
	[ "$was" = "$(stat -c '%u:%g %a' "$1")" ] ||
	    did "gave $1 to root:$DKIM, mode $2 (the signer's alone)"
}
find "$CONF/domains" -mindepth 2 -maxdepth 2 -type d -name dkim |
while IFS= read -r kd; do
	keep "$kd" 0750
	find "$kd" -maxdepth 1 -type f \( -name '*.rsa' -o -name '*.ed25519' \) |
	while IFS= read -r k; do
		keep "$k" 0640
	done
done

# --- the TLS certificate, never overwriting --------------------------------

# smtp-tlsd (as posthorn) reads the chain and key at every connection.
# Without one, port 25 offers no STARTTLS and 587 and 465 refuse every
# session; so when none is there, a self-signed one for this host, to be
# replaced by a real one (README, "TLS certificates").  Only the default
# paths are looked at: a tls_cert or tls_key in posthorn.conf is the
# administrator's, and left alone.
dir "$CERTDIR" "root:$USER" 0750
if grep -Eq '^[[:space:]]*tls_(cert|key)[[:space:]]*=' "$CONF/posthorn.conf"
then
	say "kept the certificate that $CONF/posthorn.conf names (tls_cert, tls_key)"
elif [ -e "$CERT" ] || [ -L "$CERT" ] || [ -e "$KEY" ] || [ -L "$KEY" ]; then
	if [ -r "$CERT" ] && [ -r "$KEY" ]; then
		say "kept $CERT and $KEY (exist)"
	else
		say "warning: only one of $CERT and $KEY is there (or it is a"
		say "  dangling link); TLS will not work until both are"
	fi
else
	# A leaf (CA:FALSE): a client that pins it trusts this certificate
	# and nothing it could sign.  825 days: the longest that Apple's
	# clients accept.
	(umask 077 && openssl req -x509 -newkey ec \
	    -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
	    -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
	    -addext "basicConstraints=critical,CA:FALSE" \
	    -addext "keyUsage=critical,digitalSignature" \
	    -addext "extendedKeyUsage=serverAuth" \
	    -keyout "$KEY.install.$$" -out "$CERT.install.$$" 2>/dev/null) ||
	    die "openssl could not make a self-signed certificate for $host"
	chown "root:$TLS" "$KEY.install.$$"
	chown "root:$USER" "$CERT.install.$$"
	chmod 0640 "$KEY.install.$$"
	chmod 0644 "$CERT.install.$$"
	mv "$KEY.install.$$" "$KEY"
	mv "$CERT.install.$$" "$CERT"
	did "made a SELF-SIGNED certificate for $host in $CERTDIR"
fi
# The key is the TLS zygote's alone (group $TLS, which smtp-listen gives
# it and no session), also over an older install's (group $USER).
grep -Eq '^[[:space:]]*tls_key[[:space:]]*=' "$CONF/posthorn.conf" ||
    give "$KEY" "$TLS" 0640 "the TLS zygote's alone"

# --- checks: where system mail goes, and the host name's DNS -----------------

# The aliases tool resolves as queue-run will: a local ADMIN that is no
# user yet would bounce everything the host sends.
where=$("$SBIN/aliases" -C "$CONF" "root@$host" 2>&1 || :)
case $where in
*": mailbox "*|*": remote "*|*": pipe "*)
	say "mail to root@$host (cron, sendmail root) goes to:"
	printf '%s\n' "$where" | sed 's/^/    /'
	case $where in
	*": mailbox "*)
		say "  a mailbox on this machine (mutt -f DIR reads it); to"
		say "  send it elsewhere, give -a you@example.org on the first"
		say "  run, or edit the aliases files of domains/ (aliases(5))" ;;
	esac ;;
*)	say "warning: mail to root@$host goes nowhere yet:"
	printf '%s\n' "${where:-(aliases printed nothing)}" | sed 's/^/    /'
	say "  add the user it names (mailuser add ADDRESS), or edit the"
	say "  aliases of domains/ (aliases(5)); aliases root@$host checks" ;;
esac

# localhost, or a name without a dot: no one else can reach it.
case $host in
localhost.*|*.localdomain) lonely=1 ;;
*.*)	lonely= ;;
*)	lonely=1 ;;
esac
if [ -n "$lonely" ]; then
	say "warning: this machine calls itself $host; set the name that"
	say "  its PTR record gives in $CONF/posthorn.conf (hostname = ...)"
fi
case $host in
*."$domain") ;;
"$domain") ;;
*)	say "warning: the host name $host is not a name under $domain:"
	say "  mail from this host (cron, bounces) comes from $host and"
	say "  is signed only if $host or its parent domain has DKIM"
	say "  keys.  A name such as mail.$domain, with its A and PTR"
	say "  records, keeps it under $domain:"
	say "  $(rerun "mail.$domain" "$domain")" ;;
esac

# Forward: the host name's addresses; reverse: the name each gives.
# Warn, never fail: DNS is often published after the install.
dns_ok=
addrs=$(getent -s "$NSS" ahosts "$host" 2>/dev/null | awk '{print $1}' |
    sort -u) || addrs=
if [ -z "$addrs" ]; then
	say "warning: $host has no A or AAAA record (or the DNS could not be"
	say "  asked from here): publish them, and check again with"
	say "  \"getent -s dns ahosts $host\""
else
	dns_ok=1
	for a in $addrs; do
		ptr=$(getent -s "$NSS" hosts "$a" 2>/dev/null |
		    awk '{print tolower($2)}' | sed 's/\.$//') || ptr=
		if [ -z "$ptr" ]; then
			dns_ok=
			say "warning: $a ($host) has no PTR record: ask whoever"
			say "  gave you the address to make it $host"
		elif [ "$ptr" != "$host" ]; then
			dns_ok=
			say "warning: $a ($host) has the PTR record $ptr, not $host:"
			say "  receivers check that they agree; make the PTR $host,"
			say "  or give -H $ptr (and hostname = $ptr in posthorn.conf)"
		fi
	done
	[ -z "$dns_ok" ] ||
	    say "checked: $host and the PTR records of" \
	    "$(printf '%s\n' "$addrs" | tr '\n' ' ')agree"
fi

# --- the records to publish ----------------------------------------------------

records() {
	cat <<EOF
  DNS records to publish (a DNS provider's web form wants the name, and
  quoted strings joined without the quotes).  In the zone of $domain:

    $domain.  IN MX  10 $host.
    $domain.  IN TXT "v=spf1 mx -all"
EOF
	"$BIN/dkimsign" -C "$CONF" -p "$domain" 2>/dev/null | sed 's/^/    /'
	cat <<EOF

  For the host name, mail from this machine itself (cron, bounces) and
  its HELO name; with its A (and AAAA) records, in the zone of $host:

    $host.  IN TXT "v=spf1 a -all"

  and where the addresses come from (the provider's panel), a PTR record
  of each address giving $host.
EOF
	[ -z "$made_keys" ] || cat <<EOF

  DKIM: mail sent for $domain is signed from now on; until the records
  are published, receivers cannot check the signatures.  "dkimsign -p
  $domain" prints them again.
EOF
}
if [ -n "$RECORDS" ]; then
	records >"$RECORDS"
else
	echo
	records
fi
