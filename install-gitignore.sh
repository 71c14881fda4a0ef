#!/bin/sh
# install-gitignore.sh — keep the secrets of a posthorn configuration
# directory out of git.  /etc/posthorn is plain text that its owner keeps
# in git (DESIGN.md); but "git add ." there would commit the TLS key, the
# DKIM private keys and the SRS secret, and a restore by "git clone"
# would bring them back readable by everyone.  install.sh runs this at
# every install; posthorn.conf(5), SECRETS, lists the same files.
#
#	sh install-gitignore.sh [CONFDIR]	(default /etc/posthorn)
#
# CONFDIR/.gitignore is written whole when it is missing.  An existing
# one is the administrator's: it is never rewritten, a pattern that it
# lacks is appended (and said), and a pattern that it negates ("!PATTERN",
# the administrator's choice to commit that file) is left out.
# -f: the patterns are not globbed here.
set -euf

dir=${1:-/etc/posthorn}
file=$dir/.gitignore

# The secrets, as gitignore(5) patterns from CONFDIR: the default TLS key
# and those of smtp-tlsd(8)'s names (certs/NAME/privkey.pem), the DKIM
# keys of dkimsign(1), the SRS secret of aliases(5), and secrets/, where
# routes(5) keeps the passwords of smarthosts.  A file that posthorn.conf
# or routes moves elsewhere (tls_key, srs_secret_file, auth=) is outside
# this tree, or must be added by hand.
PATTERNS='/certs/privkey.pem
/certs/*/privkey.pem
/domains/*/dkim/*.rsa
/domains/*/dkim/*.ed25519
/srs.secret
/secrets/'

say() { printf 'install-gitignore.sh: %s\n' "$*"; }

[ -d "$dir" ] || { say "$dir: no such directory" >&2; exit 1; }

if [ ! -e "$file" ] && [ ! -L "$file" ]; then
	{
		printf '%s\n' \
		    "# Secrets that must not go into git (posthorn.conf(5), SECRETS):" \
		    "# back them up another way.  Written by install.sh, which only" \
		    "# adds a missing line, and none that a \"!PATTERN\" line negates."
		printf '%s\n' "$PATTERNS"
	} >"$file.new.$$"
	chmod 0644 "$file.new.$$"
	mv "$file.new.$$" "$file"
	say "wrote $file (the TLS keys, the DKIM keys, srs.secret and secrets/ stay out of git)"
	exit 0
fi

added=
# The patterns have no blank: a line each.
for p in $PATTERNS; do
	if grep -qxF -e "$p" -e "!$p" "$file"; then
		continue
	fi
	# A file without a final newline gets one first.
	if [ -s "$file" ] && [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" != '\n' ]; then
		printf '\n' >>"$file"
	fi
	printf '%s\n' "$p" >>"$file"
	added="$added $p"
done
if [ -n "$added" ]; then
	say "added to $file:$added"
else
	say "kept $file (it lists every secret)"
fi
