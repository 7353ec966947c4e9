#!/usr/bin/env bash
# Runs one test stage, shows its output, and records "<stage> <passed> <failed> <skipped>" in
# $SUMMARY. Deno's closing line is "ok | N passed | M failed", with "| K ignored" added when
# tests were skipped (and "(S steps)" after a count when tests have steps); a stage that is not
# a test runner (check) counts as one test. Under CI=true a skipped test fails the stage: on CI
# every promise must be exercised. Exits with the stage's status.
set -uo pipefail
stage=$1; shift
summary=${SUMMARY:-.tools/test-summary.txt}
mkdir -p "$(dirname "$summary")"
out=$(mktemp)
# A stage that hangs (a stuck browser, a lock) is stopped, so that the summary still comes.
timeout -k 30 "${STAGE_TIMEOUT:-1800}" env NO_COLOR=1 "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
if [ "$status" -eq 124 ]; then
  echo "stage $stage: stopped after ${STAGE_TIMEOUT:-1800} s" >&2
fi
line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$out" | tail -n 1)
skipped=0
if [ -n "$line" ]; then
  passed=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
  failed=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  if grep -qE '\| [0-9]+ ignored' <<<"$line"; then
    skipped=$(sed -E 's/.*\| ([0-9]+) ignored.*/\1/' <<<"$line")
  fi
else
  if [ "$status" -eq 0 ]; then passed=1; failed=0; else passed=0; failed=1; fi
fi
# A runner that died without a summary still failed.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
  echo "CI=true: stage $stage skipped $skipped test(s); on CI that is a failure (see the" \
    "'Skipping ...' lines above for what is missing)" >&2
  status=1
  # Counted as failed, so that the total says so too.
  failed=$((failed + skipped))
fi
echo "$stage $passed $failed $skipped" >>"$summary"
rm -f "$out"
exit "$status"
