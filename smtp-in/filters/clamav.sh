#!/bin/sh
# clamav.sh — a content filter for smtp-in(8) (posthorn.conf's filter
# key): ClamAV's clamd scans each message, sent to it by clamdscan, and
# this script says its verdict in smtp-in's terms.
#
#	filter = /usr/local/share/posthorn/filters/clamav.sh [CLAMDSCAN-OPTION...]
#
# A clean message is taken with X-Virus-Scanned: ClamAV; one with a virus
# is refused (554 5.7.1 and the signature's name), so it is neither
# stored nor bounced; clamd down or failing: 451, the client tries again
# later.  The clamdscan options say which clamd (--config-file=FILE, whose
# LocalSocket or TCPSocket it uses; Debian's by default).
set -u

out=$(clamdscan --no-summary "$@" - 2>&1)
rc=$?
case $rc in
0)
	echo "X-Virus-Scanned: ClamAV on ${POSTHORN_HOSTNAME:-posthorn}"
	exit 0
	;;
1)
	# "stream: NAME FOUND", or "fd[N]: NAME FOUND" when clamdscan hands
	# clamd our descriptor (standard input is a file)
	name=$(printf '%s\n' "$out" | sed -n 's/^[^ ]*: \(.*\) FOUND$/\1/p' |
	    head -n 1)
	echo "554 5.7.1 virus found: ${name:-unknown}"
	exit 20
	;;
*)
	echo "451 4.7.1 virus scanner unavailable, try again later"
	# One log line, whatever the tool printed: its output may quote
	# the message (rspamd's symbol options), which must not make lines
	# of its own in smtp-in's log.
	printf 'clamav.sh: clamdscan exited %s: %s\n' "$rc" "$(printf '%s' "$out" |
	    tr -c '[:print:]' ' ' | cut -c 1-200)" >&2
	exit 75
	;;
esac
