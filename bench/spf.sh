#!/bin/sh
# spf.sh BINDIR [N] — what "mailauth spf" costs per message, the
# way smtp-in will start it for each message on port 25: perf stat -r N
# of
#   - a check that needs no DNS (a HELO name of one label: none at once),
#     the cost of starting alone;
#   - a pass through "a:" (a TXT and an A query), against zonedns on
#     127.0.0.1:53 in a private network and mount namespace (its own
#     resolv.conf), so that nothing leaves the machine;
#   - a fail with exp= (TXT, A, TXT, the explanation's macros);
# beside dkimsign given a bad option (a program linked to GnuTLS and
# libsodium that exits at once) and /bin/true, as references in the same
# run.  Prints perf's lines "task-clock" and "elapsed" of each.  Runs as
# root (unshare -n -m).
set -eu

bin=$(cd "${1:?usage: spf.sh BINDIR [N]}" && pwd)
n=${2:-50}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/bench-mailauth.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/zone.json" <<'ZONE'
{"sender.test": [{"TXT": "v=spf1 a:mx.sender.test exp=why.sender.test -all"}],
 "mx.sender.test": [{"A": "192.0.2.10"}],
 "why.sender.test": [{"TXT": "%{c} may not send for %{d} (%{l})"}]}
ZONE
printf 'nameserver 127.0.0.1\n' >"$tmp/resolv.conf"

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
r=$("$bin/mailauth" spf -r r.test 192.0.2.10 h.test a@sender.test | head -n 1)
[ "$r" = pass ] || { echo "mailauth spf: $r, not pass"; exit 1; }
run() {
	name=$1; shift
	printf "%-28s" "$name"
	perf stat -r "$n" -x, -e task-clock "$@" 2>"$tmp/perf" >/dev/null || true
	awk -F, "/task-clock/ { printf \"%8.3f ms CPU (+-%s)\", \$1, \$4 }" "$tmp/perf"
	perf stat -r "$n" "$@" 2>&1 >/dev/null | awk "/elapsed/ { printf \"  %8.3f ms wall\n\", \$1 * 1000 }"
}
# The first perf run is slow: one that is not reported.
perf stat -r 5 /bin/true >/dev/null 2>&1 || true
run "true" /bin/true
run "dkimsign (GnuTLS, exits)" "$bin/dkimsign" -Z
run "mailauth spf, no DNS" "$bin/mailauth" spf -r r.test 192.0.2.10 h ""
run "mailauth spf, pass (2 q)" "$bin/mailauth" spf -r r.test 192.0.2.10 h.test a@sender.test
run "mailauth spf, fail+exp (3 q)" "$bin/mailauth" spf -r r.test 192.0.2.99 h.test a@sender.test
' bench "$tmp" "$bin" "$n" "$here"
