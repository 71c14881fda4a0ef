#!/bin/sh
# install-users.sh — make the posthorn user and the groups that its
# programs and secrets need, and only those that are missing: install.sh
# runs it after "make install", and the Debian package's postinst runs
# the copy in /usr/libexec/posthorn, so that both make the same user and
# groups.  A user or group that exists is left as it is, but for the two
# memberships below; a group that must have no member and has one is
# warned about.
#
#	sh install-users.sh [-r RECAP] [-S SPOOL] [-M MAILDIRS]
#
# RECAP: each thing done is appended to it, one a line (install.sh's
# summary).  SPOOL (/var/spool/posthorn) is the user's home, which is
# not made here (install-queue.sh makes it); MAILDIRS (/var/mail) is
# made, root:mail 2775 as on Debian, if missing.
set -euf

RECAP=
SPOOL=/var/spool/posthorn
MAILDIRS=/var/mail
# The user's and groups' names: install-names.sh, beside this script
# (the tree's root, or /usr/libexec/posthorn under the package).
. "$(dirname "$0")/install-names.sh"
CONF=/etc/posthorn

# The package's postinst runs this too (POSTHORN_INSTALL_BY=deb): its
# lines name the package there.
WHO=install.sh
[ "${POSTHORN_INSTALL_BY-}" != deb ] || WHO="posthorn postinst"
say() { printf '%s: %s\n' "$WHO" "$*"; }
did() {
	say "$*"
	[ -z "$RECAP" ] || printf '%s\n' "$*" >>"$RECAP"
}
usage() {
	echo "usage: install-users.sh [-r RECAP] [-S SPOOL] [-M MAILDIRS]" >&2
	exit 64
}
while getopts r:S:M: o; do
	case $o in
	r)	RECAP=$OPTARG ;;
	S)	SPOOL=$OPTARG ;;
	M)	MAILDIRS=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

if ! getent group "$USER" >/dev/null; then
	groupadd --system "$USER"
	did "created group $USER"
fi
if ! getent passwd "$USER" >/dev/null; then
	useradd --system --gid "$USER" --home-dir "$SPOOL" --no-create-home \
	    --shell /usr/sbin/nologin --comment "posthorn mail server" "$USER"
	did "created user $USER"
fi

# queue-inject is setgid $DROP so that sendmail, run by any user, can
# write into the queue; $USER is in $DROP too, to read the queue files
# that other users' injections own.  No one else may be.
if ! getent group "$DROP" >/dev/null; then
	groupadd --system "$DROP"
	did "created group $DROP (queue-inject's)"
fi
if ! id -nG "$USER" | grep -qw -- "$DROP"; then
	usermod -a -G "$DROP" "$USER"
	did "added $USER to group $DROP (to read what sendmail queues)"
fi

# queue-runas is set-uid root and runs pipe aliases and MDAs as
# $CMDUSER (or a domain's command_user): only $RUN may run it, and only
# queue-run has $RUN, given at its start (the unit's
# SupplementaryGroups=, setpriv --groups in install.sh), never by
# membership, so that smtp-listen and its sessions, which take $USER's
# groups, cannot.  queue-run also starts smtp-out through it
# (queue-runas -G), which then keeps only $DROP of queue-run's groups.
if ! getent group "$RUN" >/dev/null; then
	groupadd --system "$RUN"
	did "created group $RUN (queue-runas's)"
fi
members=$(getent group "$RUN" | cut -d: -f4)
if [ -n "$members" ]; then
	say "warning: group $RUN has members ($members): each may run"
	say "  commands as $CMDUSER through queue-runas; remove them"
	say "  (gpasswd -d USER $RUN)"
fi
# The DKIM keys are root:$DKIM 0640 (install-conf.sh, also over an
# older install's, which were group $USER): smtp-in and the listeners,
# which talk to the network, cannot read them.
if ! getent group "$DKIM" >/dev/null; then
	groupadd --system "$DKIM"
	did "created group $DKIM (the DKIM keys', queue-run's alone)"
fi
for g in "$TLS" "$SRS" "$AUTH"; do
	if ! getent group "$g" >/dev/null; then
		groupadd --system "$g"
		did "created group $g (of a secret: smtp-listen(8), PRIVILEGES)"
	fi
	members=$(getent group "$g" | cut -d: -f4)
	[ -z "$members" ] ||
	    say "warning: group $g has members ($members): each may read" \
		"its secret; remove them (gpasswd -d USER $g)"
done
getent passwd "$CMDUSER" >/dev/null ||
    say "warning: no user $CMDUSER: pipe aliases and MDAs will not run" \
	"until command_user in $CONF/posthorn.conf names one"

# queue-run makes the Maildirs of a new domain under /var/mail, which is
# root:mail 2775 on Debian.
if getent group mail >/dev/null && ! id -nG "$USER" | grep -qw mail; then
	usermod -a -G mail "$USER"
	did "added $USER to group mail (for $MAILDIRS)"
fi
[ -d "$MAILDIRS" ] || {
	install -d -o root -g mail -m 2775 "$MAILDIRS"
	did "created $MAILDIRS"
}
