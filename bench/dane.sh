#!/bin/sh
# bench/dane.sh BUILD_DIR [BASE_SMTP_OUT] — what DANE adds to the start of
# smtp-out, which is started per destination: (1) exec and dynamic
# linking, smtp-out with libunbound (BUILD_DIR/bin/smtp-out) against one
# without it (BASE_SMTP_OUT, e.g. a build of the commit before DANE), both
# exiting at once on a usage error; (2) the DNSSEC context made once per
# process (bench/danestart: dane_init with the root key of dns-root-data)
# against the same process without it (danestart -n).  perf stat, RUNS
# runs each, interleaved ROUNDS times so that the machine's other load
# falls on both sides alike; task-clock (CPU ms) is the figure.  Figures
# only: nothing is asserted.
#   sh bench/dane.sh build /tmp/base/build/bin/smtp-out
set -eu
B=${1:?usage: dane.sh BUILD_DIR [BASE_SMTP_OUT]}
BASE=${2:-}
RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-3}
CONF=$(mktemp -d)
trap 'rm -rf "$CONF"' EXIT
# dnssec = validate with the default anchor, /usr/share/dns/root.key.
printf 'hostname = bench.example\n' >"$CONF/posthorn.conf"
export POSTHORN_CONF="$CONF"

ms() {	# CPU ms per run of "$@"
	perf stat -x, -e task-clock -r "$RUNS" "$@" 2>&1 >/dev/null |
	    awk -F, '/task-clock/ { printf "%.3f", $1 }'
}

i=0
while [ "$i" -lt "$ROUNDS" ]; do
	if [ -n "$BASE" ]; then
		a=$(ms "$BASE" || true)
		b=$(ms "$B/bin/smtp-out" || true)
		echo "start   smtp-out without libunbound $a ms, with $b ms"
	fi
	a=$(ms "$B/bench/danestart" -n)
	b=$(ms "$B/bench/danestart")
	echo "context danestart -n $a ms, danestart (dane_init) $b ms"
	i=$((i + 1))
done
