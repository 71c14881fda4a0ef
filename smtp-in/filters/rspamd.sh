#!/bin/sh
# rspamd.sh — a content filter for smtp-in(8) (posthorn.conf's filter
# key): rspamd judges each message, asked through rspamc with the
# envelope smtp-in gives, and this script says its action in smtp-in's
# terms.
#
#	filter = /usr/local/share/posthorn/filters/rspamd.sh [RSPAMC-OPTION...]
#
# rspamd's actions: "no action" and "greylist" take the message
# (X-Spam-Status: No; posthorn does not greylist); "add header" and
# "rewrite subject" take it as spam, with X-Spam-Flag: YES, never
# forwarded to another domain (filter_spam in posthorn.conf(5));
# "reject" refuses it (550, with rspamd's message if it gives one);
# "soft reject", rspamd down or failing: 451, the client tries again
# later.  The rspamc options say where rspamd listens (-h HOST:PORT,
# localhost:11333 by default).
set -u
set -f	# RCPT_TO is split at blanks, never globbed

# Envelope values come from the client: each as one argument, "=" joined
# so that none is taken for an option.
set -- "$@" "--ip=$REMOTE_ADDR" "--helo=$EHLO_DOMAIN"
[ -n "$MAIL_FROM" ] && set -- "$@" "--from=$MAIL_FROM"
[ -n "$AUTH_AS" ] && set -- "$@" "--user=$AUTH_AS"
for r in $RCPT_TO; do
	set -- "$@" "--rcpt=$r"
done

out=$(rspamc "$@")
rc=$?
action=$(printf '%s\n' "$out" | sed -n 's/^Action: //p' | head -n 1)
score=$(printf '%s\n' "$out" | sed -n 's/^Score: \([-0-9.]*\) \/ \([0-9.]*\)$/score=\1 required=\2/p' |
    head -n 1)
message=$(printf '%s\n' "$out" | sed -n 's/^Message - smtp_message: //p' |
    head -n 1)
[ "$rc" -eq 0 ] || action=

case $action in
"no action"|greylist)
	echo "X-Spam-Status: No, $score"
	exit 0
	;;
"add header"|"rewrite subject")
	printf 'X-Spam-Flag: YES\nX-Spam-Status: Yes, %s\n' "$score"
	exit 1
	;;
reject)
	echo "550 5.7.1 ${message:-message refused as spam}"
	exit 20
	;;
"soft reject")
	echo "451 4.7.1 ${message:-try again later}"
	exit 75
	;;
*)
	echo "451 4.7.1 spam filter unavailable, try again later"
	# One log line, whatever the tool printed: its output may quote
	# the message (rspamd's symbol options), which must not make lines
	# of its own in smtp-in's log.
	printf 'rspamd.sh: rspamc exited %s: %s\n' "$rc" "$(printf '%s' "$out" |
	    tr -c '[:print:]' ' ' | cut -c 1-200)" >&2
	exit 75
	;;
esac
