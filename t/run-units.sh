#!/bin/sh
# run-units.sh BUILD — run every cmocka unit test built under BUILD and
# fail if any fails.  cmocka prints its own per-test lines.
build=${1:?usage: run-units.sh BUILD}
pass=0 fail=0
for t in "$build"/t/unit/*_test; do
	[ -x "$t" ] || continue
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
