#!/bin/sh
# bench/runas.sh BIN_DIR — what queue-runas(8) adds to each pipe alias or
# MDA delivery: perf stat of "sh -c true" alone and through queue-runas
# (a trusted configuration under a directory of root's, the default
# command_user nobody), in the same run, several rounds, with the ratio.
# queue-runas execs the command itself, so the difference is its own
# start: exec, posthorn.conf, the checks of the path, getpwnam, a fork.
# Runs as root (queue-runas must be able to become nobody).
# BENCH_RUNS=N (200) per perf stat, BENCH_ROUNDS=N (3).
set -eu
bin=${1:?usage: bench/runas.sh BIN_DIR}
runs=${BENCH_RUNS:-200}
rounds=${BENCH_ROUNDS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/runas.sh: run me as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench/runas.sh: needs perf" >&2; exit 1; }
dir=$(mktemp -d /tmp/posthorn-runas.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
mkdir -m 755 "$dir/etc"
echo "spool = /nonexistent" >"$dir/etc/posthorn.conf"

# clock CMD...: perf stat's task-clock (ms of CPU) and elapsed (ms).
clock() {
	perf stat -r "$runs" "$@" 2>&1 >/dev/null | awk '
	    /task-clock/ { cpu = $1 }
	    /time elapsed/ { wall = $1 * 1000 }
	    END { printf "%.2f %.2f", cpu, wall }'
}
printf '%-8s %12s %12s %12s %12s %8s\n' round "sh cpu ms" "sh wall ms" \
    "runas cpu ms" "runas wall" "cpu x"
i=1
while [ "$i" -le "$rounds" ]; do
	set -- $(clock /bin/sh -c true) $(clock "$bin/queue-runas" -C \
	    "$dir/etc" -d example.org -- /bin/sh sh -c true)
	printf '%-8s %12s %12s %12s %12s %8s\n' "$i" "$1" "$2" "$3" "$4" \
	    "$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.2f", b / a }')"
	i=$((i + 1))
done
