#!/bin/sh
# filter.sh — what smtp-in's content filter and DNS blocklists cost a
# session, for "make bench" (issue 13): the CPU of N whole sessions (one
# 2 KB message each, smtp-in reading a script on a pipe) with neither,
# with a blocklist asked of a dnsmasq on loopback (one zone, the client
# not listed: an A query that gets NXDOMAIN), and with a filter that
# does nothing (/bin/true: the cost of starting one), each in turns,
# inside a network and mount namespace of its own so that
# /etc/resolv.conf can name the local dnsmasq.  With OLD=path/to/smtp-in
# the same sessions of an older binary too (the cost of nothing, when
# both are off).  Also counts the system calls of one session of each
# (strace -c -f).  Figures, never asserted.  Runs as root (unshare).
#
#	sh bench/filter.sh BUILD/bin [N]
set -eu

bin=${1:?usage: filter.sh BIN [N]}
n=${2:-300}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if [ -z "${FILTER_BENCH_INSIDE:-}" ]; then
	export FILTER_BENCH_INSIDE=1
	exec unshare -n -m sh "$0" "$@"
fi

tmp=$(mktemp -d /tmp/posthorn-filterbench.XXXXXX)
trap 'kill $(cat "$tmp/dnsmasq.pid" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT

ip link set lo up
mount --make-rprivate /
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$tmp/resolv.conf"
mount --bind "$tmp/resolv.conf" /etc/resolv.conf
dnsmasq --no-resolv --no-hosts --port=53 --listen-address=127.0.0.1 \
    --bind-interfaces --local=/bl.test/ --cache-size=0 \
    --pid-file="$tmp/dnsmasq.pid" --user=root
mkdir -p "$tmp/spool/tmp" "$tmp/spool/new" "$tmp/spool/state" \
    "$tmp/etc/domains/example.com"
echo "alice:!" >"$tmp/etc/domains/example.com/users"

conf() {
	printf 'hostname = mx.example.net\nspool = %s/spool\nqueue_minfree = 0\n%s\n' \
	    "$tmp" "$1" >"$tmp/etc/posthorn.conf"
}

# The session: a message of 2 KB.
{
	printf 'EHLO client.example\r\nMAIL FROM:<bob@remote.example>\r\n'
	printf 'RCPT TO:<alice@example.com>\r\nDATA\r\n'
	printf 'From: bob@remote.example\r\nSubject: bench\r\n\r\n'
	i=0
	while [ $i -lt 27 ]; do
		printf '%s\r\n' \
		    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
		i=$((i + 1))
	done
	printf '.\r\nQUIT\r\n'
} >"$tmp/session"

# CPU and wall ms per session of n sessions of program (CPU: the
# children's rusage, which counts the fork of python too), and one check
# that the message was taken.
run() {
	prog=$1
	python3 - "$prog" "$n" "$tmp" <<'EOF'
import os, resource, subprocess, sys, time
prog, n, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
env = {"POSTHORN_CONF": tmp + "/etc", "REMOTE_ADDR": "192.0.2.7"}
data = open(tmp + "/session", "rb").read()
r = subprocess.run([prog, "mx"], input=data, capture_output=True, env=env)
assert b"250 2.0.0 Ok: queued" in r.stdout, r.stdout + r.stderr
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
for _ in range(n):
    subprocess.run([prog, "mx"], input=data, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
print(f"{cpu / n * 1000:.2f}/{wall / n * 1000:.2f}")
EOF
	rm -f "$tmp"/spool/new/*
}

syscalls() {
	POSTHORN_CONF=$tmp/etc REMOTE_ADDR=192.0.2.7 strace -f -c -o "$tmp/st" \
	    "$1" mx <"$tmp/session" >/dev/null 2>&1
	awk '$NF == "total" { print $(NF-2) }' "$tmp/st"
	rm -f "$tmp"/spool/new/*
}

echo "filter.sh: $n sessions each, ms per session: CPU (children's rusage)/wall"
for round in 1 2; do
	conf ""
	plain=$(run "$bin/smtp-in")
	old=-
	[ -n "${OLD:-}" ] && old=$(run "$OLD")
	conf "dnsbl = bl.test"
	dnsbl=$(run "$bin/smtp-in")
	conf "filter = /bin/true"
	filter=$(run "$bin/smtp-in")
	echo "round $round: off $plain  old-binary $old  dnsbl $dnsbl  filter(/bin/true) $filter"
done
conf ""
echo "system calls of one session: off $(syscalls "$bin/smtp-in")" \
    "old-binary $([ -n "${OLD:-}" ] && syscalls "$OLD" || echo -)"
conf "dnsbl = bl.test"
echo "  dnsbl $(syscalls "$bin/smtp-in")"
conf "filter = /bin/true"
echo "  filter $(syscalls "$bin/smtp-in")"
