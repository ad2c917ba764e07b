#!/usr/bin/env bash
# gotest.sh runs the test suite under the race detector. Its whole output
# goes to the terminal and to out/gotest.log; on a failure it ends with a
# summary (the failing tests and the first data race reports in full), so
# that a CI page that keeps only the tail of the output still shows which
# two goroutines raced, not just the end of the last stack.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
PKG=${PKG:-./...}
mkdir -p out
log=out/gotest.log
# shellcheck disable=SC2086 # PKG may name several packages
$GO test -race -count=1 -timeout 20m $PKG 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
	echo
	echo "== gotest: failed (exit $rc); full output in $log"
	grep -E '^(--- FAIL|FAIL|panic:)' "$log" | head -40
	races=$(grep -c '^WARNING: DATA RACE' "$log")
	if [ "$races" -gt 0 ]; then
		echo "== gotest: $races data race report(s); the first ones in full:"
		awk '/^WARNING: DATA RACE/ {on = 1; n++} on && n <= 2 {print} /^==================$/ && on {on = 0}' "$log"
	fi
fi
exit "$rc"
