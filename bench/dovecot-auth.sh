#!/bin/sh
# bench/dovecot-auth.sh BIN_DIR — what one AUTH costs through Dovecot
# (posthorn.conf auth_dovecot, smtp-auth(8) "Dovecot") beside the users
# file's argon2id, in the same run: perf stat of smtp-auth with a right
# password both ways, several rounds.  A private Dovecot (dovecot -F, its
# own configuration in a temporary directory, SHA512-CRYPT as Debian's
# doveadm pw makes by default) answers; the system's is never touched.
# perf's task-clock is smtp-auth's CPU alone; Dovecot's own work shows
# in the wall time.  Each run goes through "sh -c" (stdin is the request
# file), the same for both.
# BENCH_RUNS=N (50) per perf stat, BENCH_ROUNDS=N (3).  Runs as root.
set -eu
bin=${1:?usage: bench/dovecot-auth.sh BIN_DIR}
bin=$(cd "$bin" && pwd)
runs=${BENCH_RUNS:-50}
rounds=${BENCH_ROUNDS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/dovecot-auth.sh: run me as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench/dovecot-auth.sh: needs perf" >&2; exit 1; }
command -v dovecot >/dev/null || { echo "bench/dovecot-auth.sh: needs dovecot-core" >&2; exit 1; }

dir=$(mktemp -d /tmp/posthorn-dvbench.XXXXXX)
chmod 755 "$dir"	# Dovecot's auth process (user dovecot) reads passwd
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

pw="a password for the bench"
printf 'alice@example.com:%s\n' "$(doveadm -c /dev/null pw -s SHA512-CRYPT -p "$pw")" >"$dir/passwd"
cat >"$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
instance_name = posthorn-bench-$$
protocols =
ssl = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $dir/passwd
}
service auth {
  unix_listener auth-client {
    mode = 0600
  }
}
EOF
dovecot -F -c "$dir/dovecot.conf" &
pid=$!
i=0
while [ ! -S "$dir/run/auth-client" ]; do
	i=$((i + 1))
	[ "$i" -le 100 ] || { echo "bench: dovecot did not start" >&2; exit 1; }
	sleep 0.1
done

for c in users dovecot; do
	mkdir -p "$dir/$c/domains/example.com" "$dir/$c/spool"
	printf 'hostname = mx.example.net\nspool = %s\n' "$dir/$c/spool" \
	    >"$dir/$c/posthorn.conf"
	: >"$dir/$c/domains/example.com/users"
	printf '%s\n' "$pw" | "$bin/mailuser" -C "$dir/$c" add alice@example.com
done
echo "auth_dovecot = $dir/run/auth-client" >>"$dir/dovecot/posthorn.conf"
printf 'PLAIN %s\n' "$(printf '\0alice@example.com\0%s' "$pw" | base64 -w0)" >"$dir/req"
for c in users dovecot; do
	out=$("$bin/smtp-auth" -C "$dir/$c" -p 127.0.0.1 <"$dir/req") ||
	    { echo "bench: smtp-auth ($c) said: $out" >&2; exit 1; }
done

# clock CONF: perf stat's task-clock (ms of CPU) and elapsed (ms).
clock() {
	perf stat -r "$runs" sh -c "exec '$bin/smtp-auth' -C '$dir/$1' -p 127.0.0.1 <'$dir/req'" 2>&1 >/dev/null | awk '
	    /task-clock/ { cpu = $1 }
	    /time elapsed/ { wall = $1 * 1000 }
	    END { printf "%.3f %.3f", cpu, wall }'
}
printf '%-6s %12s %12s %12s %12s %8s\n' round "users cpu" "users wall" \
    "dovecot cpu" "dovecot wall" "wall x"
i=1
while [ "$i" -le "$rounds" ]; do
	set -- $(clock users) $(clock dovecot)
	printf '%-6s %12s %12s %12s %12s %8s\n' "$i" "$1" "$2" "$3" "$4" \
	    "$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.2f", b / a }')"
	i=$((i + 1))
done
