#!/bin/sh
# check.sh BINDIR [N] — what "mailauth check" costs per message: SPF,
# DKIM and DMARC of a 10 KB message signed by python3-dkim (RSA 2048,
# relaxed/relaxed), against zonedns on 127.0.0.1:53 in a private network
# and mount namespace (its own resolv.conf), so nothing leaves the
# machine.  The lookups: SPF's TXT, the DKIM key's TXT, _dmarc's TXT;
# the public suffix list is read once.  perf stat -r N (default 30) of
#   - rewind /bin/true               the wrapper's own cost: each run
#                                    must read the message afresh, so
#                                    every command runs under a static
#                                    program that seeks standard input
#                                    back to 0 and execs it
#   - mailauth spf                   SPF alone (one TXT)
#   - mailauth dkim                  DKIM alone (one TXT, RSA verify)
#   - mailauth check                 all three, DMARC pass
#   - mailauth check, unsigned fail  SPF fail, no signature, p=reject
#   - mailauth check, no From        the same without a From field: no
#                                    DMARC lookup and no public suffix
#                                    list, what DMARC adds shows
# Prints perf's task-clock (CPU) and elapsed (wall) of each; the
# wrapper's line is to be taken off the others.  Runs as root (unshare
# -n -m); needs perf, openssl, musl-gcc and python3-dkim.
set -eu

bin=$(cd "${1:?usage: check.sh BINDIR [N]}" && pwd)
n=${2:-30}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/bench-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/rewind.c" <<'C'
#include <unistd.h>
int main(int argc, char **argv)
{
	(void)argc;
	if (lseek(0, 0, SEEK_SET) == -1)
		return 111;
	execv(argv[1], argv + 1);
	return 111;
}
C
musl-gcc -O2 -static -o "$tmp/rewind" "$tmp/rewind.c"
openssl genrsa -traditional -out "$tmp/rsa.pem" 2048 2>/dev/null
pub=$(openssl rsa -in "$tmp/rsa.pem" -pubout -outform DER 2>/dev/null |
    base64 -w 0)
cat >"$tmp/zone.json" <<ZONE
{"sender.test": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
 "_dmarc.sender.test": [{"TXT": "v=DMARC1; p=reject"}],
 "rsa._domainkey.sender.test": [{"TXT": "v=DKIM1; k=rsa; p=$pub"}]}
ZONE
/usr/bin/python3 - "$tmp" <<'PY'
import sys, dkim
tmp = sys.argv[1]
head = (b"From: Alice <alice@sender.test>\r\nTo: Bob <bob@example.net>\r\n"
        b"Subject: benchmark\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
        b"Message-ID: <bench@sender.test>\r\n\r\n")
body = b"".join(b"line %3d of the body of a ten kilobyte message, "
                b"padded to eighty.\r\n" % i for i in range(150))
msg = head + body
key = open(f"{tmp}/rsa.pem", "rb").read()
open(f"{tmp}/signed.eml", "wb").write(
    dkim.sign(msg, b"rsa", b"sender.test", key) + msg)
open(f"{tmp}/unsigned.eml", "wb").write(msg)
open(f"{tmp}/nofrom.eml", "wb").write(msg.split(b"\r\n", 1)[1])
PY
printf 'nameserver 127.0.0.1\n' >"$tmp/resolv.conf"
echo "message: $(wc -c <"$tmp/signed.eml") bytes signed; $n runs each"

unshare -n -m sh -eu -c '
tmp=$1 bin=$2 n=$3 here=$4
. "$here/bench/lib.sh"
mount --make-rprivate /
mount --bind "$tmp/resolv.conf" /etc/resolv.conf
ip link set lo up
/usr/bin/python3 "$here/t/e2e/peers/zonedns.py" --listen 127.0.0.1:53 \
    "$tmp/zone.json" 2>"$tmp/dns.log" &
dns=$!
trap "kill $dns" EXIT
wait_for "$tmp/dns.log" listening
ma=$bin/mailauth
ok="192.0.2.10 h.test alice@sender.test"
bad="192.0.2.99 h.test a@sender.test"
r=$("$ma" check -r r.test $ok <"$tmp/signed.eml" | head -n 1)
[ "$r" = "pass none" ] || { echo "mailauth check: $r, not pass none"; exit 1; }
r=$("$ma" check -r r.test $bad <"$tmp/unsigned.eml" | head -n 1)
[ "$r" = "fail reject" ] || { echo "mailauth check: $r, not fail reject"; exit 1; }
# run NAME MESSAGE PROG ARG...
run() {
	name=$1 msg=$2; shift 2
	printf "%-34s" "$name"
	perf stat -r "$n" -x, -e task-clock "$tmp/rewind" "$@" <"$msg" \
	    2>"$tmp/perf" >/dev/null || true
	awk -F, "/task-clock/ { printf \"%8.3f ms CPU (+-%s)\", \$1, \$4 }" "$tmp/perf"
	perf stat -r "$n" "$tmp/rewind" "$@" <"$msg" 2>&1 >/dev/null |
	    awk "/elapsed/ { printf \"  %8.3f ms wall\n\", \$1 * 1000 }"
}
# The first perf run is slow: one that is not reported.
perf stat -r 5 /bin/true >/dev/null 2>&1 || true
s=$tmp/signed.eml u=$tmp/unsigned.eml
run "rewind /bin/true (wrapper)" "$s" /bin/true
run "mailauth spf, pass" "$s" "$ma" spf -r r.test $ok
run "mailauth dkim, pass" "$s" "$ma" dkim
run "mailauth check, signed, pass" "$s" "$ma" check -r r.test $ok
run "mailauth check, unsigned, fail" "$u" "$ma" check -r r.test $bad
run "mailauth check, unsigned, no From" "$tmp/nofrom.eml" "$ma" check -r r.test $bad
' bench "$tmp" "$bin" "$n" "$here"
