#!/usr/bin/env bash
# demo-fleet.sh — the fleet path on one machine, no GPU, nothing to install:
# a simulated vLLM engine, `hintfleet up` (embedded etcd + NATS JetStream, the
# coordinator and 2 workers running code in the bubblewrap-sandboxed python
# plugin), a MATH500 job of 50 problems × 2 samples submitted with
# `submit --wait`, then the summary and where the output is.
#
# The sim's reasoner KNOWS the reference answers: accuracy measures the
# pipeline, not a model.
#
# Needs `make build` first. Environment: BIN (default ./bin/hintfleet), OUT
# (default a fresh temp dir; the fleet's data dir is OUT/fleet), N (problems,
# default 50), K (samples, default 2), WORKERS (default 2), SPEEDUP (sim speed
# over the simulated GPU, default 100).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-./bin/hintfleet}
N=${N:-50}
K=${K:-2}
WORKERS=${WORKERS:-2}
SPEEDUP=${SPEEDUP:-100}
OUT=${OUT:-$(mktemp -d -t hintfleet-fleet.XXXXXX)}
DATA="$OUT/fleet"
mkdir -p "$OUT"

die() { echo "demo-fleet: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN not found: run 'make build' first"
[ -f "$(dirname "$BIN")/plugins/SHA256SUMS" ] || die "no plugins beside $BIN: run 'make build' first"
command -v jq >/dev/null || die "jq not found (apt install jq)"
command -v curl >/dev/null || die "curl not found"

pids=()
cleanup() {
	# SIGTERM first: up drains its workers and stops the servers cleanly.
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll CMD... until it succeeds, every 0.1 s for at most $WAIT_S seconds,
# failing early when process $WATCH died.
poll() {
	local what=$1 log=$2
	shift 2
	local deadline=$((SECONDS + ${WAIT_S:-60}))
	until "$@" >/dev/null 2>&1; do
		kill -0 "$WATCH" 2>/dev/null || { cat "$log" >&2; die "$what: process exited"; }
		[ $SECONDS -lt $deadline ] || { cat "$log" >&2; die "$what: not ready within ${WAIT_S:-60}s"; }
		sleep 0.1
	done
}

t0=$SECONDS
sim_log="$OUT/sim-engine.log"
"$BIN" sim-engine --listen 127.0.0.1:0 --problems math500 --speedup "$SPEEDUP" >"$sim_log" 2>&1 &
pids+=($!)
WATCH=$!
has_url() { grep -q '^listening on ' "$sim_log"; }
poll "sim-engine" "$sim_log" has_url
engine=$(sed -n 's/^listening on //p' "$sim_log")
echo "== simulated engine at $engine (speedup ${SPEEDUP}x; scripted answers)"

up_log="$OUT/up.log"
"$BIN" up --data "$DATA" --workers "$WORKERS" --engine "$engine" --concurrency 32 \
	--listen 127.0.0.1:0 --lease-ttl 5s --simulate-gpus 2 --metrics-listen 127.0.0.1:0 >"$up_log" 2>&1 &
pids+=($!)
WATCH=$!
poll "hintfleet up" "$up_log" test -s "$DATA/endpoints.json"
api=$(jq -r .api "$DATA/endpoints.json")
leads() { curl -fsS "$api/healthz" | jq -e .leader; }
poll "coordinator election" "$up_log" leads
echo "== fleet up in $((SECONDS - t0))s: $(jq -c '{api, nats, etcd, model}' "$DATA/endpoints.json")"
echo "   (embedded etcd + NATS JetStream under $DATA/cluster, $WORKERS workers, sandboxed python plugin)"

echo "== submit --wait: MATH500, $N problems × $K samples, paper hints"
t1=$SECONDS
"$BIN" submit --data "$DATA" --dataset math500 --limit "$N" --samples "$K" --hints paper --wait |
	tee "$OUT/submit.txt" || { tail -n 30 "$up_log" >&2; die "submit --wait failed"; }
job=$(sed -n 's/^job \([^ ]*\) done:.*/\1/p' "$OUT/submit.txt")
[ -n "$job" ] || die "submit printed no job id"
echo "== job $job done in $((SECONDS - t1))s"
"$BIN" jobs --data "$DATA"

traj="$DATA/jobs/$job/trajectories.jsonl"
dead="$DATA/jobs/$job/dead_letters.jsonl"
written=$(wc -l <"$traj")
dl=$(wc -l <"$dead")
uniq=$(jq -r .task_id "$traj" "$dead" | sort -u | wc -l)
echo "== tasks: submitted $((N * K)), written $written, dead-lettered $dl, distinct $uniq"
[ $((written + dl)) -eq $((N * K)) ] && [ "$uniq" -eq $((N * K)) ] || die "exactly-once broken"
[ "$(jq -s 'map(.tool_calls) | add' "$traj")" -gt 0 ] || die "no tool call ran in the sandbox"

echo
echo "== summary:"
"$BIN" summary "fleet=$traj"
echo
echo "trajectories: $traj"
echo "dead letters: $dead"
echo "fleet data:   $DATA   (stop: the script sends SIGTERM; 'hintfleet up --data $DATA' resumes)"
echo "== total $((SECONDS - t0))s"
