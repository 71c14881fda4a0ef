#!/bin/sh
# install-queue.sh — give queue-inject, queue-runas and the queue the
# owners and modes that let any user queue mail, and queue-run run pipe
# aliases and MDAs as their unprivileged user, without letting anyone,
# the posthorn user included, become someone else through them.  install.sh runs it as
# root after "make install" and after making the users; the tests run it
# on a DESTDIR with stand-in ids.  A re-run puts everything back as
# below, whatever an older install left (queue-inject setuid posthorn,
# the queue posthorn:posthorn 0750).
#
#	sh queue-run/install-queue.sh [-n] [-D DESTDIR] [-p PREFIX] [-s SPOOL]
#	    [-u USER] [-G GROUP] [-g DROPGROUP] [-r RUNGROUP]
#
# Defaults: no DESTDIR, /usr/local, /var/spool/posthorn, posthorn,
# posthorn (USER's group), posthorn-drop, posthorn-run.  Names or
# numeric ids.  -n: the queue alone, not queue-inject and queue-runas,
# whose owners and modes are dpkg-statoverride's in the Debian package
# (its postinst): an administrator's own override there must stand.
#
# The model (Postfix's postdrop), in posthorn-queue(5) and queue-inject(8):
#
#   PREFIX/sbin/queue-inject  root:DROP   2755  setgid DROP; root's alone,
#                                               so no one but root can
#                                               replace what it runs
#   PREFIX/sbin/queue-runas   root:RUN    4750  setuid root, run by RUN
#                                               alone: queue-run has it
#                                               as a supplementary group,
#                                               no user is its member
#                                               (queue-runas(8))
#   SPOOL                     USER:DROP   0710  DROP may only pass through:
#                                               the user who queued a
#                                               message owns its file but
#                                               can never reach it again
#   SPOOL/tmp                 USER:DROP   3730  DROP creates, cannot list;
#                                               sticky: no one removes
#                                               another's file but USER;
#                                               setgid: every file gets
#                                               the group DROP
#   SPOOL/new                 USER:DROP   1770  DROP renames into it and
#                                               fsyncs it (which needs r)
#   SPOOL/state               USER:GROUP  0750  queue-run's alone
#   SPOOL/auth                USER:GROUP  0700  smtp-auth's failure counts
#                                               and turns (smtp-auth(8))
#   SPOOL/metrics             USER:GROUP  0755  the programs' counters,
#                                               for mailq -m (mailq(8))
#
# Queue files are 0640, group DROP; USER is a member of DROP (install.sh
# adds it) so that queue-run reads the ones another user owns.  DROP
# must hold no one else, and nothing else may run with it: it writes
# the queue, nothing more.
set -eu

progs=1
DESTDIR=
PREFIX=/usr/local
SPOOL=/var/spool/posthorn
USER=posthorn
GROUP=
DROP=posthorn-drop
RUN=posthorn-run

usage() {
	echo "usage: install-queue.sh [-n] [-D DESTDIR] [-p PREFIX] [-s SPOOL]" \
	    "[-u USER] [-G GROUP] [-g DROPGROUP] [-r RUNGROUP]" >&2
	exit 64
}
while getopts nD:p:s:u:G:g:r: o; do
	case $o in
	n)	progs= ;;
	D)	DESTDIR=$OPTARG ;;
	p)	PREFIX=$OPTARG ;;
	s)	SPOOL=$OPTARG ;;
	u)	USER=$OPTARG ;;
	G)	GROUP=$OPTARG ;;
	g)	DROP=$OPTARG ;;
	r)	RUN=$OPTARG ;;
	*)	usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
GROUP=${GROUP:-$USER}

inject=$DESTDIR$PREFIX/sbin/queue-inject
runas=$DESTDIR$PREFIX/sbin/queue-runas
spool=$DESTDIR$SPOOL
for f in "$inject" "$runas"; do
	[ -f "$f" ] || { echo "install-queue.sh: no $f" >&2; exit 66; }
done

# set PATH OWNER MODE.  chown before chmod: chown clears the set-id bits.
# USER owns the spool and could have put a link where a directory of it
# was: root must never follow one (chown and chmod would hand USER
# whatever it points at), so a link, or anything but a directory or the
# injector, stops the install.
set_mode() {
	if [ -L "$1" ]; then
		echo "install-queue.sh: $1 is a symbolic link; remove it" >&2
		exit 65
	fi
	chown -h "$2" "$1"
	chmod "$3" "$1"
}

if [ -n "$progs" ]; then
	set_mode "$inject" "root:$DROP" 2755
	set_mode "$runas" "root:$RUN" 4750
fi

# The directories: made if missing, modes fixed if not.  The spool is
# root's alone while its entries are fixed, so that USER cannot swap one
# for a link between the check and the change; then it is USER's again.
mkdir -p "$spool"
set_mode "$spool" root:root 0700
for d in tmp new state auth metrics; do
	[ -L "$spool/$d" ] || mkdir -p "$spool/$d"
done
set_mode "$spool/tmp" "$USER:$DROP" 3730
set_mode "$spool/new" "$USER:$DROP" 1770
set_mode "$spool/state" "$USER:$GROUP" 0750
set_mode "$spool/auth" "$USER:$GROUP" 0700
set_mode "$spool/metrics" "$USER:$GROUP" 0755
set_mode "$spool" "$USER:$DROP" 0710
