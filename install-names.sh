#!/bin/sh
# install-names.sh — the names of posthorn's user and groups, read with
# "." by install.sh and install-users.sh (and so by the Debian package's
# postinst), so that the one that makes them and the one that hands them
# to the programs and secrets cannot disagree.  Run, it only sets them
# (the package installs it beside its users, executable as they are).
USER=posthorn
# The group that queue-inject is setgid to; it runs nothing else.
DROP=posthorn-drop
# The group that may run queue-runas (set-uid root): queue-run alone is
# given it, as a supplementary group; no user is its member.
RUN=posthorn-run
# The group of the DKIM private keys: the signer's alone (queue-run, and
# dkimsign that it starts), given like $RUN, never by membership.
DKIM=posthorn-dkim
# The groups of the other secrets, given like $DKIM (smtp-listen(8),
# "PRIVILEGES"): the TLS private key's, which smtp-listen gives its TLS
# zygote; srs.secret's and the users files', which it gives its keeper
# (smtp-keeper(8)), and queue-run has through its start.  smtp-in, which
# parses the network, has none of them.
TLS=posthorn-tls
SRS=posthorn-srs
AUTH=posthorn-auth
# Whom pipe aliases and MDAs run as unless posthorn.conf's or a
# domain.conf's command_user says otherwise (queue-runas(8)).
CMDUSER=nobody
