#!/usr/bin/env bash
# gpu-check.sh — on a machine with an NVIDIA GPU and driver, in one go:
#   1. the default build (no tag: it reads GPUs through NVML);
#   2. `hintfleet gpu list` (table and JSON) beside `nvidia-smi -q` and
#      nvidia-smi's CSV of the same fields, and MIG instances if any;
#   3. the exporter scraped once (DCGM-named series);
#   4. a worker with --require-gpu against the simulated engine, in
#      `hintfleet up` (embedded etcd and NATS): its /healthz (GPUs, engine
#      mapping) and /metrics (GPU and engine↔GPU series), and one small job;
#   5. the NVML poll benchmark on the real driver
#      (BENCH nvml_poll_us_per_device_real) beside the simulated one.
# Everything lands in ${OUT:-out/gpu-check}; the summary is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-check}
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null || { echo "gpu-check: nvidia-smi not found: not a GPU machine" >&2; exit 1; }
BIN="$OUT/hintfleet"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
wait_http() { # URL: up to 60 s
	for _ in $(seq 300); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
	return 1
}

echo "== 1. default build"
go build -o "$BIN" ./cmd/hintfleet
mkdir -p "$OUT/plugins"
go build -o "$OUT/plugins/" ./plugins/cmd/...
(cd "$OUT/plugins" && rm -f SHA256SUMS && sha256sum -- * > SHA256SUMS)
"$BIN" version | tee "$OUT/version.txt"

echo "== 2. gpu list beside nvidia-smi"
nvidia-smi -q > "$OUT/nvidia-smi-q.txt" 2>&1 || echo "nvidia-smi -q failed" >> "$OUT/nvidia-smi-q.txt"
nvidia-smi --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu,utilization.memory,temperature.gpu,power.draw,clocks.sm,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total \
	--format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
nvidia-smi -L > "$OUT/nvidia-smi-L.txt" 2>&1 || true
nvidia-smi mig -lgi > "$OUT/nvidia-smi-mig-lgi.txt" 2>&1 || true
"$BIN" gpu list --require-gpu > "$OUT/hintfleet-gpu-list.txt" 2>&1
"$BIN" gpu list --require-gpu --json > "$OUT/hintfleet-gpu-list.json" 2>&1
cat "$OUT/nvidia-smi.csv" "$OUT/hintfleet-gpu-list.txt" "$OUT/nvidia-smi-L.txt"

echo "== 3. exporter"
"$BIN" gpu exporter --require-gpu --listen 127.0.0.1:19400 --interval 1s > "$OUT/exporter.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:19400/metrics
sleep 2 # one poll after the first
curl -sf http://127.0.0.1:19400/metrics > "$OUT/exporter-metrics.txt"
grep '^DCGM_FI_DEV_\(GPU_UTIL\|FB_USED\|GPU_TEMP\|POWER_USAGE\|SM_CLOCK\|XID_ERRORS\)' "$OUT/exporter-metrics.txt"

echo "== 4. worker --require-gpu against the simulated engine"
"$BIN" sim-engine --listen 127.0.0.1:0 --problems math500 --speedup 50 > "$OUT/sim-engine.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q '^listening on ' "$OUT/sim-engine.log" && break; sleep 0.2; done
engine=$(sed -n 's/^listening on //p' "$OUT/sim-engine.log")
"$BIN" up --data "$OUT/fleet" --workers 1 --engine "$engine" --require-gpu --concurrency 8 \
	--listen 127.0.0.1:0 --metrics-listen 127.0.0.1:19401 --plugins-dir "$OUT/plugins" > "$OUT/up.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:19401/healthz || { cat "$OUT/up.log"; exit 1; }
curl -s http://127.0.0.1:19401/healthz | tee "$OUT/worker-healthz.json"
echo
curl -sf http://127.0.0.1:19401/metrics > "$OUT/worker-metrics.txt"
grep '^\(DCGM_FI_DEV_GPU_UTIL\|DCGM_FI_DEV_FB_USED\|hintfleet_engine_gpu_info\|hintfleet_engine_healthy\|hintfleet_worker_healthy\)' "$OUT/worker-metrics.txt"
"$BIN" submit --data "$OUT/fleet" --dataset math500 --limit 4 --samples 1 --wait > "$OUT/submit.txt" 2>&1 || true
tail -3 "$OUT/submit.txt"
if grep -q "no NVIDIA driver" "$OUT/up.log"; then echo "gpu-check: the worker found no driver" >&2; exit 1; fi

echo "== 5. NVML poll cost, real and simulated"
go test -run '^$' -bench 'NVMLPoll' -benchtime 1x -count 1 ./gpu/ 2>&1 | tee "$OUT/bench.txt" | grep '^BENCH'
echo "gpu-check: done; files in $OUT"
