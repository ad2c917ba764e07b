#!/usr/bin/env bash
# The whole START recipe on the simulated engine, one command per stage:
# plain Hint-infer baseline → hinted run → curate (grade, filter, seed
# selection, rewrite, export) → RFT sampling and selection → HTML report.
# Usage: scripts/pipeline.sh [OUT_DIR] [PROBLEMS_PER_DATASET]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/pipeline}
N=${2:-30}
HF=./bin/hintfleet
[ -x "$HF" ] || make build
mkdir -p "$OUT"
rm -f "$OUT"/*.jsonl

"$HF" sim-engine --listen 127.0.0.1:0 --problems math500,gsm8k --speedup 100 > "$OUT/sim.log" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null; wait $SIM 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q 'listening on' "$OUT/sim.log" && break; sleep 0.1; done
ENGINE=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$OUT/sim.log" | head -1)
[ -n "$ENGINE" ] || { cat "$OUT/sim.log"; echo "sim engine did not start" >&2; exit 1; }
DS=(--dataset math500 --dataset gsm8k --limit "$N" --engine "$ENGINE" --quiet)

echo "== 1. plain run (no hints)"
"$HF" infer "${DS[@]}" --hints none --label plain --out "$OUT/plain.jsonl" >/dev/null
echo "== 2. Hint-infer (paper hints), and sequential scaling with --defer-stop 0..2"
for d in 0 1 2; do
  "$HF" infer "${DS[@]}" --hints paper --defer-stop $d --out "$OUT/hinted_defer$d.jsonl" >/dev/null
done
"$HF" summary plain="$OUT/plain.jsonl" hinted="$OUT/hinted_defer0.jsonl" defer2="$OUT/hinted_defer2.jsonl" 2>/dev/null || true
echo "== 3. Hint-RFT curation: grade, filter, seed selection, rewrite, export"
"$HF" curate --in "$OUT/hinted_defer0.jsonl" --plain "$OUT/plain.jsonl" --out "$OUT/seed" \
  --format messages,sharegpt,alpaca,parquet
echo "== 4. RFT: k=4 samples per problem without hints at temperature 0.7, keep the correct ones"
"$HF" infer "${DS[@]}" --hints none --samples 4 --temperature 0.7 --out "$OUT/rft_samples.jsonl" >/dev/null
"$HF" rft --in "$OUT/rft_samples.jsonl" --out "$OUT/d_start.jsonl"
"$HF" rft --in "$OUT/rft_samples.jsonl" --out "$OUT/d_start.jsonl" --json > "$OUT/rft.json"
echo "== 5. report"
"$HF" report --run plain="$OUT/plain.jsonl" --run hinted="$OUT/hinted_defer0.jsonl" --run rft="$OUT/rft_samples.jsonl" \
  --scaling 0="$OUT/hinted_defer0.jsonl" --scaling 1="$OUT/hinted_defer1.jsonl" --scaling 2="$OUT/hinted_defer2.jsonl" \
  --curation "$OUT/seed/curation.json" --rft "$OUT/rft.json" --out "$OUT/report.html"
