#!/usr/bin/env bash
# Runs one test stage, shows its output, and records "<stage> <passed> <failed>" in $SUMMARY.
# Deno's own closing line is "ok | N passed | M failed"; a stage that is not a test runner
# (check) counts as one test. Exits with the stage's status.
set -uo pipefail
stage=$1; shift
summary=${SUMMARY:-.tools/test-summary.txt}
mkdir -p "$(dirname "$summary")"
out=$(mktemp)
NO_COLOR=1 "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -n 1)
if [ -n "$line" ]; then
  passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
  failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
else
  if [ "$status" -eq 0 ]; then passed=1; failed=0; else passed=0; failed=1; fi
fi
# A runner that died without a summary still failed.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$stage $passed $failed" >>"$summary"
rm -f "$out"
exit "$status"
