#!/bin/sh
# bench/runas-out.sh BIN_DIR — what starting smtp-out through
# "queue-runas -G" (queue-run(8), Connection reuse) adds to each smtp-out
# process: perf stat of /bin/true alone and through queue-runas -G ""
# (no configuration read, no fork: setgroups, setresuid, exec), in the
# same run, several rounds, with the difference.  An smtp-out -J lives
# for many jobs, so this is paid per process, not per message.
# Runs as root (queue-runas needs root to clear groups; an installed one
# gets it from its set-uid bit).
# BENCH_RUNS=N (200) per perf stat, BENCH_ROUNDS=N (3).
set -eu
bin=${1:?usage: bench/runas-out.sh BIN_DIR}
runs=${BENCH_RUNS:-200}
rounds=${BENCH_ROUNDS:-3}
[ "$(id -u)" -eq 0 ] || { echo "bench/runas-out.sh: run me as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench/runas-out.sh: needs perf" >&2; exit 1; }

# clock CMD...: perf stat's task-clock (ms of CPU) and elapsed (ms).
clock() {
	perf stat -r "$runs" "$@" 2>&1 >/dev/null | awk '
	    /task-clock/ { cpu = $1 }
	    /time elapsed/ { wall = $1 * 1000 }
	    END { printf "%.3f %.3f", cpu, wall }'
}
printf '%-6s %10s %10s %12s %12s %10s\n' round "true cpu" "true wall" \
    "runas-G cpu" "runas-G wall" "+cpu ms"
i=1
while [ "$i" -le "$rounds" ]; do
	set -- $(clock /bin/true) $(clock "$bin/queue-runas" -G "" -- \
	    /bin/true true)
	printf '%-6s %10s %10s %12s %12s %10s\n' "$i" "$1" "$2" "$3" "$4" \
	    "$(awk -v a="$1" -v b="$3" 'BEGIN { printf "%.3f", b - a }')"
	i=$((i + 1))
done
