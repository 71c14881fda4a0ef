#!/bin/sh
# qsign.sh BINDIR [N] — DKIM signing in queue-run's path: N signatures of
# one queued 10 KB message with RSA-2048 and with Ed25519, as queue-run
# signs now (in its process, keys kept: bench/qsignbench's "in-process")
# and as it did before (an exec of dkimsign -h per message: "exec"),
# each writing the fields to state/ID.dkim as queue-run does.  Prints
# messages per second and CPU per message (the process and its
# children).  The spool is on /dev/shm when there is one, so that the
# fsync of the signature file, the same in both ways, does not drown
# the difference.  A third row, "arc-seal", is the ARC set queue-run
# adds to a forwarded copy of mail from outside with the same key
# (seal.h: i=1, no chain to validate; the set written to state/ID.arc),
# made in its process too; "arc-seal2" seals that sealed copy again
# (i=2: the chain validated first, its key given from memory, no DNS).
# Needs "make bench" (bench/qsignbench beside BINDIR).
set -eu

bin=${1:?usage: qsign.sh BINDIR [N]}
n=${2:-300}
qsb=$bin/../bench/qsignbench
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/bench-qsign.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir -p "$tmp/etc/domains/rsa.example" "$tmp/etc/domains/ed.example" \
    "$tmp/spool/tmp" "$tmp/spool/new" "$tmp/spool/state"
printf 'hostname = mx.bench.example\nspool = %s/spool\nmaildirs = %s/mail\n' \
    "$tmp" "$tmp" >"$tmp/etc/posthorn.conf"
for d in rsa.example ed.example; do
	"$bin/dkimsign" -C "$tmp/etc" -g "$d" >/dev/null
done
rm -f "$tmp"/etc/domains/rsa.example/dkim/*.ed25519
rm -f "$tmp"/etc/domains/ed.example/dkim/*.rsa

msg() {
	printf 'From: Alice <alice@%s>\nTo: Bob <bob@example.net>\n' "$1"
	printf 'Subject: benchmark\nDate: Mon, 23 Nov 2026 10:00:00 +0000\n'
	printf 'Message-ID: <bench@%s>\nMIME-Version: 1.0\n' "$1"
	printf 'Content-Type: text/plain; charset=us-ascii\n\n'
	i=0
	while [ $i -lt 128 ]; do
		printf '%s\n' "line $i of the body of a ten kilobyte message, padded to eighty."
		i=$((i + 1))
	done
}

printf '%-10s %-9s %12s %12s\n' "path" "key" "msgs/s" "CPU ms/msg"
for a in rsa ed; do
	if [ $a = rsa ]; then alg=rsa-2048; else alg=ed25519; fi
	msg $a.example >"$tmp/$a.eml"
	"$qsb" -a -C "$tmp/etc" -d $a.example -x "$bin/dkimsign" -n "$n" \
	    "$tmp/$a.eml" | while read -r way rate _ cpu _; do
		printf '%-10s %-9s %12s %12s\n' "$way" "$alg" "$rate" "$cpu"
	done
done
