#!/bin/sh
# mailauth.sh BINDIR [RUNS] — what a verifier costs to start, since
# mailauth runs once per incoming message: perf stat's task-clock (CPU
# milliseconds, mean of RUNS runs) of
#   noop            a dynamic C program that does nothing (the floor)
#   nettle+sodium   the same linked to hogweed, nettle, gmp and libsodium
#                   and touching each (what mailauth links)
#   gnutls+sodium   the same linked to GnuTLS and libsodium instead
#   mailauth dkim   the real program on a 10 KB unsigned message
#   dkimsign -p     a real program linked to GnuTLS (it prints the DNS
#                   records of a domain's keys: small work, like ours)
# The machine's noise shows as perf's ± column; compare figures of one
# run.  perf (linux-perf) and a C compiler are needed.
set -eu

bin=${1:?usage: mailauth.sh BINDIR [RUNS]}
runs=${2:-50}
for p in perf cc; do
	command -v "$p" >/dev/null 2>&1 || { echo "bench: $p is missing" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/bench-mailauth.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/noop.c" <<'C'
int main(void) { return 0; }
C
cat >"$tmp/nettle.c" <<'C'
#include <nettle/rsa.h>
#include <sodium.h>
int main(void)
{
	struct rsa_public_key k;

	rsa_public_key_init(&k);
	rsa_public_key_clear(&k);
	return sodium_init() < 0;
}
C
cat >"$tmp/gnutls.c" <<'C'
#include <gnutls/abstract.h>
#include <sodium.h>
int main(void)
{
	gnutls_pubkey_t k;

	if (gnutls_pubkey_init(&k) < 0)
		return 1;
	gnutls_pubkey_deinit(k);
	return sodium_init() < 0;
}
C
cc -O2 -o "$tmp/noop" "$tmp/noop.c"
cc -O2 -Wl,--as-needed -o "$tmp/nettle" "$tmp/nettle.c" -lhogweed -lnettle \
    -lgmp -lsodium
cc -O2 -Wl,--as-needed -o "$tmp/gnutls" "$tmp/gnutls.c" -lgnutls -lsodium

{
	printf 'From: Alice <alice@example.com>\r\nTo: Bob <bob@example.net>\r\n'
	printf 'Subject: benchmark\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\n'
	i=0
	while [ $i -lt 128 ]; do
		printf '%s\r\n' "line $i of the body of a ten kilobyte message, padded to eighty."
		i=$((i + 1))
	done
} >"$tmp/msg.eml"
mkdir -p "$tmp/etc/domains/example.com"
"$bin/dkimsign" -C "$tmp/etc" -g example.com >/dev/null

# cost LABEL PROG ARG...: perf's mean task-clock of PROG ARG... with the
# message on standard input (the first run reads it, the others find
# its end: the start is what is measured, not the reading of 10 KB).
# mailauth exits 1 on an unsigned message: the status is not a failure,
# a missing figure is.
cost() {
	label=$1
	shift
	rm -f "$tmp/perf"
	perf stat -r "$runs" -x, -e task-clock -o "$tmp/perf" -- "$@" \
	    <"$tmp/msg.eml" >/dev/null 2>&1 || :
	if ! grep -q task-clock "$tmp/perf" 2>/dev/null; then
		printf '%-16s failed\n' "$label"
		return 0
	fi
	awk -F, -v l="$label" '/task-clock/ {
	    printf "%-16s %7.2f ms  (+-%s)\n", l, $1, $4 }' "$tmp/perf"
}

echo "start cost, CPU per run (task-clock), $runs runs each:"
cost noop "$tmp/noop"
cost nettle+sodium "$tmp/nettle"
cost gnutls+sodium "$tmp/gnutls"
cost "mailauth dkim" "$bin/mailauth" dkim
cost "dkimsign -p" "$bin/dkimsign" -C "$tmp/etc" -p example.com
