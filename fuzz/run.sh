#!/bin/sh
# run.sh BUILD SECONDS [check] — build the libFuzzer harnesses of fuzz/
# under BUILD with clang ($FUZZ_CC) and run each for SECONDS, on its seed
# corpus (fuzz/corpus/NAME, read only) and a working corpus that grows
# under BUILD/corpus/NAME; a crash leaves its input in BUILD/crashes/.
# With "check", the working corpus starts empty each time
# (BUILD/check-corpus/NAME): a corpus grown by long runs would take
# longer than SECONDS to replay, and the check must stay short.
# "make fuzz" and "make fuzz-check" call it (fuzz/README.md).  FUZZ_ONLY
# names the harnesses to run (default: all); FUZZ_JOBS, more than one
# process per harness.  Where clang cannot link libFuzzer it says so and
# succeeds: a machine without clang skips fuzzing, it does not fail.
set -u
build=${1:?usage: run.sh BUILD SECONDS [check]}
secs=${2:?usage: run.sh BUILD SECONDS [check]}
mode=${3:-}
cc=${FUZZ_CC:-clang}
only=${FUZZ_ONLY:-}
here=$(cd "$(dirname "$0")" && pwd)

probe=$(mktemp -d "${TMPDIR:-/tmp}/fuzzprobe.XXXXXX") || exit 1
# The harnesses' scratch configurations and spools (fuzzutil.h): on a
# tmpfs where there is one, and gone after the run even when a harness
# crashed.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
FUZZ_SCRATCH=$(mktemp -d "$shm/posthorn-fuzz.XXXXXX") || exit 1
export FUZZ_SCRATCH
trap 'rm -rf "$probe" "$FUZZ_SCRATCH"' EXIT
trap 'exit 130' INT TERM HUP
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
    '{ (void)d; (void)n; return 0; }' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" \
    >"$probe/log" 2>&1; then
	echo "fuzz: skipped: $cc cannot build a libFuzzer harness" \
	    "(install clang; t/deps.sh does):"
	sed 's/^/fuzz:   /' "$probe/log" | head -5
	exit 0
fi

${MAKE:-make} -s BUILD="$build" CC="$cc" FUZZ=1 fuzzers || exit 1

status=0 ran=0
for src in "$here"/*.c; do
	name=$(basename "$src" .c)
	case "$name" in fuzzutil|fuzzsession) continue ;; esac
	if [ -n "$only" ]; then
		case " $only " in *" $name "*) ;; *) continue ;; esac
	fi
	bin=$build/fuzz/$name
	work=$build/corpus/$name
	if [ "$mode" = check ]; then
		work=$build/check-corpus/$name
		rm -rf "$work"
	fi
	mkdir -p "$work" "$build/crashes"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -close_fd_mask=2 -print_final_stats=1 \
	    -artifact_prefix="$build/crashes/$name-"
	[ -f "$here/dict/$name.dict" ] && set -- "$@" -dict="$here/dict/$name.dict"
	[ -n "${FUZZ_JOBS:-}" ] && set -- "$@" -fork="$FUZZ_JOBS"
	seeds=
	[ -d "$here/corpus/$name" ] && seeds=$here/corpus/$name
	log=$build/fuzz/$name.log
	if "$bin" "$@" "$work" $seeds >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
		echo "fuzz: $name: ok, ${runs:-?} runs in ${secs}s, ${cov:-cov: ?}," \
		    "corpus $(ls "$work" | wc -l)"
	else
		status=1
		echo "fuzz: $name: FAILED (log: $log; inputs: $build/crashes/$name-*)"
		# The harness's own words went to the closed stderr: replay
		# the input that failed with stderr open.
		art=$(ls -t "$build/crashes/$name-"* 2>/dev/null | head -1)
		[ -n "$art" ] && "$bin" "$art" >"$log.replay" 2>&1
		cat "$log" ${art:+"$log.replay"} |
		    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|$name: )" |
		    sort -u | head -5 | sed 's/^/fuzz:   /'
	fi
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "fuzz: no harness matched"; exit 1; }
exit $status
