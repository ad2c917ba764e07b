#!/usr/bin/env bash
# demo-infer.sh — START's Hint-infer on one machine, no GPU: starts the
# simulated vLLM engine, runs `hintfleet infer` on N MATH500 and N GSM8K
# problems without hints and with the paper's hints (code runs in the
# bubblewrap-sandboxed python plugin), shows one hinted trajectory, both
# summaries side by side and what their rows mean.
#
# The sim's reasoner KNOWS the reference answers: accuracy here measures the
# pipeline (hints inserted, code really executed, output read back), not a model.
#
# Needs `make build` first. Environment: BIN (default ./bin/hintfleet),
# OUT (default a fresh temp dir), N (problems per dataset, default 30),
# SPEEDUP (sim speed over the simulated GPU, default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/demo-lib.sh

BIN=${BIN:-./bin/hintfleet}
N=${N:-30}
SPEEDUP=${SPEEDUP:-50}
OUT=${OUT:-$(mktemp -d -t hintfleet-demo.XXXXXX)}
mkdir -p "$OUT"
need_build
trap stop_all EXIT
trap 'exit 130' INT TERM

echo "== Hint-infer on one machine: $N MATH500 + $N GSM8K problems, run twice"
start_sim "$OUT/sim-engine.log" --problems math500,gsm8k --speedup "$SPEEDUP"
echo "   engine: the simulated vLLM server at $engine, ${SPEEDUP}x faster than the GPU it models"

run() { # label what hints...
	local label=$1 what=$2
	shift 2
	local t0=$SECONDS
	"$BIN" infer --engine "$engine" --dataset math500 --dataset gsm8k --limit "$N" \
		--concurrency 16 --quiet --label "$label" --out "$OUT/$label.jsonl" "$@" \
		>"$OUT/$label.summary.txt" 2>"$OUT/$label.log" ||
		{ cat "$OUT/$label.log" >&2; die "infer $label failed"; }
	printf '   %-6s %3d trajectories in %3ds  %s\n' "$label" "$(wc -l <"$OUT/$label.jsonl")" $((SECONDS - t0)) "$what"
}
run plain "no hints: the model answers on its own" --hints none
run hints "the paper's hints; the code they invite runs in the sandbox" --hints paper
[ "$(jsonl 'sum(r["tool_calls"] for r in rows)' "$OUT/hints.jsonl")" -gt 0 ] || die "no tool call in the hinted run"

# One hinted trajectory that called the tool: the reasoning where it was
# cut, the hint, the code the model wrote, the output the sandbox printed.
echo
echo "   One hinted trajectory, abridged:"
python3 - "$OUT/hints.jsonl" <<'PY' | sed 's/^/     /'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def code_len(r):
    return max((len(s["text"]) for s in r["steps"] if s["kind"] == "code"), default=0)
shown = [r for r in rows if r["tool_calls"] > 0 and code_len(r) > 60]
t = next((r for r in shown if r["dataset"] == "math500"), shown[0])
pid = t["problem_id"] if "/" in t["problem_id"] else f'{t["dataset"]}/{t["problem_id"]}'
q = " ".join(t["question"].split())
print(f'{pid}: {q[:110]}{"..." if len(q) > 110 else ""}')
steps = t["steps"]
for i, s in enumerate(steps):
    text = s["text"].strip()
    if s["kind"] == "gen":
        if i + 1 < len(steps) and steps[i + 1]["kind"] == "hint":
            print("[model]  ..." + " ".join(text[-140:].split()))
        elif i > 0 and steps[i - 1]["kind"] == "output":
            print("[model]  " + " ".join(text[:140].split()) + "...")
        continue
    label = {"hint": "[hint]", "code": "[python]", "output": "[output]"}.get(s["kind"], f'[{s["kind"]}]')
    if s["kind"] == "hint" and s.get("trigger"):
        label = f'[hint, cut at "{s["trigger"]}"]'
    print(label)
    for line in text.splitlines():
        if not line.startswith("```"):
            print("    " + line)
print(f'answered {t["answer"]}, reference {t["reference"]}: graded {"correct" if t["correct"] else "wrong"}')
PY

echo
echo "   Side by side:"
"$BIN" summary plain="$OUT/plain.jsonl" hints="$OUT/hints.jsonl" | indent
cat <<EOF

   What the rows mean:
     accuracy        answers graded against each dataset's reference answer. The scripted
                     reasoner is right about half the time alone and right whenever its code
                     runs, so the gap shows that hints reached it and the sandbox's output came
                     back, not that any model improved.
     tool calls      code blocks run in the sandbox; "with a tool call" counts trajectories
     hints           hints inserted into the model's text
     tokens/problem  completion tokens per trajectory
     wasted          generated tokens thrown away because the stream was cut at a trigger word
     requests        completion requests; a hinted trajectory makes one per segment
     errors, resumed trajectories that failed; ones already in the output file (a rerun resumes)
     time, tokens/s  the run's wall time; the hinted run mostly waits on sandboxed Python
   Files: $OUT/{plain,hints}.jsonl (one trajectory per line; docs/architecture.md describes them)
EOF
