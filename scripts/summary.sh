#!/usr/bin/env bash
# Prints one line per stage from $SUMMARY and the total "N passed, M failed, K skipped";
# with --plain only "N passed, M failed" (CI's last line: a skip under CI=true failed its stage).
# Usage: summary.sh [--plain] [STATUS]; exits 1 when STATUS is non-zero or any test failed.
set -uo pipefail
summary=${SUMMARY:-.tools/test-summary.txt}
plain=false
if [ "${1:-}" = --plain ]; then plain=true; shift; fi
status=${1:-0}
passed=0; failed=0; skipped=0
if [ -f "$summary" ]; then
  while read -r stage p f s; do
    s=${s:-0}
    $plain || echo "stage $stage: $p passed, $f failed, $s skipped"
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  done <"$summary"
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if $plain; then
  echo "$passed passed, $failed failed"
else
  echo "$passed passed, $failed failed, $skipped skipped"
fi
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
