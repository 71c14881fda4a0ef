#!/bin/sh
# spamassassin.sh — a content filter for smtp-in(8) (posthorn.conf's
# filter key): SpamAssassin's spamd judges each message, asked through
# spamc, and this script says its verdict in smtp-in's terms.
#
#	filter = /usr/local/share/posthorn/filters/spamassassin.sh [-r SCORE] [SPAMC-OPTION...]
#
# A message under spamd's threshold (required_score, 5 by default) is
# taken with X-Spam-Status: No; one over it is taken as spam, with
# X-Spam-Flag: YES, and never forwarded to another domain (filter_spam in
# posthorn.conf(5)); with -r, one of SCORE points or more is refused at
# once (550), which avoids storing what nobody will read.  spamd down or
# failing: 451, the client tries again later, nothing is lost.  The spamc
# options say where spamd listens (-d HOST -p PORT, or -U SOCKET); -c and
# -x are this script's.  spamc passes a message over its size limit (-s,
# 500 KB by default) unchecked, as it does for every MTA.
set -u

refuse=
if [ "${1-}" = -r ]; then
	refuse=${2:?spamassassin.sh: -r needs a score}
	shift 2
fi

# -c: only "score/threshold", exit 1 for spam; -x: a failure is an
# error, never a quiet "not spam".
out=$(spamc -x -c "$@")
rc=$?
case $rc in
0|1) ;;
*)
	echo "451 4.7.1 spam filter unavailable, try again later"
	echo "spamassassin.sh: spamc exited $rc" >&2
	exit 75
	;;
esac
score=${out%%/*}
required=${out#*/}
case $score/$required in
*[!0-9./-]*|/*|*/)
	echo "451 4.7.1 spam filter gave no score, try again later"
	exit 75
	;;
esac

if [ -n "$refuse" ] &&
    awk -v s="$score" -v r="$refuse" 'BEGIN { exit !(s + 0 >= r + 0) }'; then
	echo "550 5.7.1 message refused as spam (score $score)"
	exit 20
fi
if [ "$rc" -eq 1 ]; then
	printf 'X-Spam-Flag: YES\nX-Spam-Status: Yes, score=%s required=%s\n' \
	    "$score" "$required"
	exit 1
fi
printf 'X-Spam-Status: No, score=%s required=%s\n' "$score" "$required"
exit 0
