#!/bin/sh
# dkim.sh BINDIR [N] — how many 10 KB messages per second dkimsign signs,
# with RSA-2048 and with Ed25519, one process per message as in the
# pipeline; beside python3-dkim's dkimsign and opendkim -t (also one
# process per message) and python3-dkim signing in one process (the cost
# of signing without the cost of starting), when they are installed, and
# posthorn's signing in one process (bench/dkimbench).
# Prints a small table.  Everything stays in a temporary directory.
set -eu

bin=${1:?usage: dkim.sh BINDIR [N]}
n=${2:-300}
pyn=$((n / 10 > 10 ? n / 10 : 10))	# python starts slowly
py=/usr/bin/python3
pydkimsign=/usr/bin/dkimsign		# python3-dkim's, not ours

tmp=$(mktemp -d /tmp/bench-dkim.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

# A configuration with one domain per algorithm, keys from dkimsign -g.
mkdir -p "$tmp/etc/domains/rsa.example" "$tmp/etc/domains/ed.example"
for d in rsa.example ed.example; do
	"$bin/dkimsign" -C "$tmp/etc" -g "$d" >/dev/null
done
rm -f "$tmp"/etc/domains/rsa.example/dkim/*.ed25519
rm -f "$tmp"/etc/domains/ed.example/dkim/*.rsa
rsakey=$(ls "$tmp"/etc/domains/rsa.example/dkim/*.rsa)
edkey=$(ls "$tmp"/etc/domains/ed.example/dkim/*.ed25519)
rsasel=$(basename "$rsakey" .rsa)
edsel=$(basename "$edkey" .ed25519)

# 10 KB messages: the same text for every signer.
msg() {
	printf 'From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\n' "$1"
	printf 'Subject: benchmark\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n'
	printf 'Message-ID: <bench@%s>\r\nMIME-Version: 1.0\r\n' "$1"
	printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'
	i=0
	while [ $i -lt 128 ]; do
		printf '%s\r\n' "line $i of the body of a ten kilobyte message, padded to eighty."
		i=$((i + 1))
	done
}
msg rsa.example >"$tmp/rsa.eml"
msg ed.example >"$tmp/ed.eml"

now() { date +%s.%N; }
# rate LABEL ALG COUNT COMMAND...: run COMMAND COUNT times, print msgs/s.
rate() {
	label=$1 alg=$2 count=$3
	shift 3
	if ! "$@" >/dev/null 2>&1; then
		printf '%-34s %-9s %10s\n' "$label" "$alg" "failed"
		return 0
	fi
	t0=$(now)
	i=0
	while [ $i -lt "$count" ]; do
		"$@" >/dev/null 2>&1
		i=$((i + 1))
	done
	t1=$(now)
	printf '%-34s %-9s %10.0f\n' "$label" "$alg" \
	    "$(echo "$count / ($t1 - $t0)" | bc -l)"
}

ours() { "$bin/dkimsign" -C "$tmp/etc" <"$1"; }

printf '%-34s %-9s %10s\n' "signer (10 KB message)" "key" "msgs/s"
rate "posthorn dkimsign, process/msg" rsa-2048 "$n" ours "$tmp/rsa.eml"
rate "posthorn dkimsign, process/msg" ed25519 "$n" ours "$tmp/ed.eml"

if [ -x "$pydkimsign" ]; then
	# dkimpy reads an Ed25519 key as the base64 of its seed.
	openssl pkey -in "$edkey" -outform DER 2>/dev/null | tail -c 32 |
	    base64 >"$tmp/ed.seed" || true
	pyrsa() {
		"$pydkimsign" --bcanon relaxed "$rsasel" rsa.example \
		    "$rsakey" <"$tmp/rsa.eml"
	}
	pyed() {
		"$pydkimsign" --bcanon relaxed --signalg ed25519-sha256 \
		    "$edsel" ed.example "$tmp/ed.seed" <"$tmp/ed.eml"
	}
	rate "python3-dkim dkimsign, process/msg" rsa-2048 "$pyn" pyrsa
	rate "python3-dkim dkimsign, process/msg" ed25519 "$pyn" pyed
	for a in rsa ed; do
		if [ $a = rsa ]; then key=$rsakey sel=$rsasel alg=rsa-sha256
		else key=$tmp/ed.seed sel=$edsel alg=ed25519-sha256; fi
		"$py" - "$tmp/$a.eml" "$key" "$sel" "$a.example" "$alg" "$n" \
		    <<'EOF' || true
import sys, time, dkim
msg, key, sel, dom, alg, n = sys.argv[1:]
m = open(msg, "rb").read()
k = open(key, "rb").read()
t0 = time.monotonic()
for _ in range(int(n)):
    dkim.sign(m, sel.encode(), dom.encode(), k, signature_algorithm=alg.encode(),
              canonicalize=(b"relaxed", b"relaxed"))
r = int(n) / (time.monotonic() - t0)
print("%-34s %-9s %10.0f" % ("python3-dkim, one process", "rsa-2048"
      if alg.startswith("rsa") else "ed25519", r))
EOF
	done
fi

# Our signing without the process: bench/dkimbench (built by "make
# bench" beside BINDIR) loads the keys once and signs the message over and
# over in memory, as python3-dkim does just above.
dkimbench=$bin/../bench/dkimbench
for a in rsa ed; do
	if [ $a = rsa ]; then alg=rsa-2048; else alg=ed25519; fi
	r=$("$dkimbench" -C "$tmp/etc" -n $((n * 10)) "$tmp/$a.eml" \
	    2>/dev/null | awk '{ print $2 }') || r=
	printf '%-34s %-9s %10s\n' "posthorn, all in one process" "$alg" \
	    "${r:-failed}"
done

if command -v opendkim >/dev/null 2>&1; then
	cat >"$tmp/opendkim.conf" <<EOF
Mode s
Domain rsa.example
Selector $rsasel
KeyFile $rsakey
Canonicalization relaxed/relaxed
RequireSafeKeys false
Syslog no
EOF
	od() { opendkim -x "$tmp/opendkim.conf" -t "$tmp/rsa.eml"; }
	rate "opendkim -t, process/msg" rsa-2048 "$n" od
fi
