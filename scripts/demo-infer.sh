#!/usr/bin/env bash
# demo-infer.sh — START's Hint-infer on one machine, no GPU: starts the
# simulated vLLM engine, runs `hintfleet infer` on 30 MATH500 and 30 GSM8K
# problems without hints and with the paper's hints (code runs in the
# bubblewrap-sandboxed python plugin), shows one hinted trajectory and both
# summaries side by side.
#
# The sim's reasoner KNOWS the reference answers: accuracy here measures the
# pipeline (hints inserted, code really executed, output read back), not a model.
#
# Needs `make build` first. Environment: BIN (default ./bin/hintfleet),
# OUT (default a fresh temp dir), N (problems per dataset, default 30),
# SPEEDUP (sim speed over the simulated GPU, default 50).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-./bin/hintfleet}
N=${N:-30}
SPEEDUP=${SPEEDUP:-50}
OUT=${OUT:-$(mktemp -d -t hintfleet-demo.XXXXXX)}
mkdir -p "$OUT"

die() { echo "demo-infer: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN not found: run 'make build' first"
[ -f "$(dirname "$BIN")/plugins/SHA256SUMS" ] || die "no plugins beside $BIN: run 'make build' first"
command -v jq >/dev/null || die "jq not found (apt install jq)"

sim_log="$OUT/sim-engine.log"
"$BIN" sim-engine --listen 127.0.0.1:0 --problems math500,gsm8k --speedup "$SPEEDUP" >"$sim_log" 2>&1 &
sim_pid=$!
cleanup() {
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sim prints "listening on URL" once its port is bound.
url=""
for _ in $(seq 1 200); do
	url=$(sed -n 's/^listening on //p' "$sim_log")
	[ -n "$url" ] && break
	kill -0 "$sim_pid" 2>/dev/null || { cat "$sim_log" >&2; die "sim-engine exited before listening"; }
	sleep 0.05
done
[ -n "$url" ] || { cat "$sim_log" >&2; die "sim-engine did not say 'listening on' within 10s"; }
echo "== simulated engine at $url (speedup ${SPEEDUP}x; scripted answers)"

run() { # label hints...
	local label=$1
	shift
	local t0=$SECONDS
	"$BIN" infer --engine "$url" --dataset math500 --dataset gsm8k --limit "$N" \
		--concurrency 16 --quiet --label "$label" --out "$OUT/$label.jsonl" "$@" \
		>"$OUT/$label.summary.txt" 2>"$OUT/$label.log" ||
		{ cat "$OUT/$label.log" >&2; die "infer $label failed"; }
	echo "== $label: $(wc -l <"$OUT/$label.jsonl") trajectories in $((SECONDS - t0))s -> $OUT/$label.jsonl"
}
run plain --hints none
run hints --hints paper

# One hinted trajectory that called the tool: the hint, the code the model
# wrote, and the ```output block the sandbox really printed.
echo
echo "== one hinted trajectory (hint, python, real output):"
jq -rs '[.[] | select(.tool_calls > 0 and ([.steps[] | select(.kind == "code") | .text | length] | max) > 60)][0]
	| "-- \(.problem_id)  answer \(.answer)  correct \(.correct)",
	(.steps as $s | range(0; $s | length) as $i | $s[$i]
		| if .kind == "gen" and ($s[$i+1].kind // "") == "hint" then "...\(.text[-160:])"
		elif .kind == "gen" and $i > 0 and $s[$i-1].kind == "output" then "\(.text[:160])..."
		elif .kind == "gen" then empty
		else "[\(.kind)\(if .trigger then " after " + .trigger else "" end)] \(.text)" end)' \
	"$OUT/hints.jsonl"
[ "$(jq -s 'map(.tool_calls) | add' "$OUT/hints.jsonl")" -gt 0 ] || die "no tool call in the hinted run"

echo
echo "== plain vs paper hints ($N MATH500 + $N GSM8K):"
"$BIN" summary plain="$OUT/plain.jsonl" hints="$OUT/hints.jsonl"
