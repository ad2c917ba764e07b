#!/usr/bin/env bash
# demo-fleet.sh — the fleet path on one machine, no GPU, nothing to install:
# a simulated vLLM engine, `hintfleet up` (embedded etcd + NATS JetStream, the
# coordinator and WORKERS workers running code in the bubblewrap-sandboxed
# python plugin), a MATH500 job of N problems × K samples submitted with
# `submit --wait`, the exactly-once check, the summary and where the output is.
#
# The sim's reasoner KNOWS the reference answers: accuracy measures the
# pipeline, not a model.
#
# Needs `make build` first. Environment: BIN (default ./bin/hintfleet), OUT
# (default a fresh temp dir; the fleet's data dir is OUT/data), N (problems,
# default 50), K (samples, default 2), WORKERS (default 2), SPEEDUP (sim
# speed over the simulated GPU, default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/demo-lib.sh

BIN=${BIN:-./bin/hintfleet}
N=${N:-50}
K=${K:-2}
WORKERS=${WORKERS:-2}
SPEEDUP=${SPEEDUP:-100}
OUT=${OUT:-$(mktemp -d -t hintfleet-fleet.XXXXXX)}
DATA="$OUT/data"
mkdir -p "$OUT"
need_build
trap stop_all EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
echo "== The fleet: one job split into tasks that workers pull, as on a cluster"
start_sim "$OUT/sim-engine.log" --problems math500 --speedup "$SPEEDUP"
echo "   engine: the simulated vLLM server at $engine, ${SPEEDUP}x faster than the GPU it models"

up_log="$OUT/up.log"
"$BIN" up --data "$DATA" --workers "$WORKERS" --engine "$engine" --concurrency 32 \
	--listen 127.0.0.1:0 --lease-ttl 5s --simulate-gpus 2 --metrics-listen 127.0.0.1:0 >"$up_log" 2>&1 &
WATCH=$!
pids+=("$WATCH")
poll "hintfleet up" "$up_log" test -s "$DATA/endpoints.json"
api=$(json_field "$DATA/endpoints.json" api)
poll "coordinator election" "$up_log" http_json_true "$api/healthz" leader
cat <<EOF
   hintfleet up, ready in $((SECONDS - t0))s, one process holding what a cluster spreads out:
     etcd (embedded)             who is alive (leases), who leads, the job registry
     NATS JetStream (embedded)   the task queue; every write fsync'd under $DATA/cluster
     coordinator                 shards jobs into tasks, writes each result exactly once; API $api
     $WORKERS workers                   pull tasks, run Hint-infer on the engine, code in the sandbox
   its addresses: $DATA/endpoints.json; its log: $up_log

EOF

echo "== submit --wait: MATH500, $N problems × $K samples = $((N * K)) tasks, paper hints"
t1=$SECONDS
"$BIN" submit --data "$DATA" --dataset math500 --limit "$N" --samples "$K" --hints paper --wait >"$OUT/submit.txt" 2>&1 ||
	{ cat "$OUT/submit.txt" >&2; tail -n 30 "$up_log" >&2; die "submit --wait failed"; }
job=$(sed -n 's/^job \([^ ]*\) done:.*/\1/p' "$OUT/submit.txt")
[ -n "$job" ] || { cat "$OUT/submit.txt" >&2; die "submit printed no job id"; }
indent <"$OUT/submit.txt"

traj="$DATA/jobs/$job/trajectories.jsonl"
dead="$DATA/jobs/$job/dead_letters.jsonl"
written=$(wc -l <"$traj")
dl=$(wc -l <"$dead")
uniq=$(jsonl 'len({r["task_id"] for r in rows})' "$traj" "$dead")
echo "   done in $((SECONDS - t1))s. Exactly once: $((N * K)) tasks submitted, $written trajectories written,"
echo "   $dl dead-lettered, $uniq distinct task ids."
[ $((written + dl)) -eq $((N * K)) ] && [ "$uniq" -eq $((N * K)) ] || die "exactly-once broken"
[ "$(jsonl 'sum(r["tool_calls"] for r in rows)' "$traj")" -gt 0 ] || die "no tool call ran in the sandbox"

echo
echo "   The job's trajectories, summarised:"
"$BIN" summary "fleet=$traj" | indent
cat <<EOF

   The fleet's state stays in $DATA: 'hintfleet up --data $DATA'
   resumes it, 'hintfleet jobs --data $DATA' lists its jobs.
== total $((SECONDS - t0))s
EOF
