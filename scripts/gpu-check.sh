#!/usr/bin/env bash
# gpu-check.sh — on a machine with an NVIDIA GPU: build with the real NVML
# backend and print hintfleet's reading of every device beside nvidia-smi's,
# then scrape the dcgm-named series once. Writes into ${OUT:-./out/gpu-check}.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-check}
mkdir -p "$OUT"
go build -o "$OUT/hintfleet" ./cmd/hintfleet # the default build reads NVML; no tag
nvidia-smi -q > "$OUT/nvidia-smi-q.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi-q.txt"
nvidia-smi --query-gpu=index,uuid,name,memory.used,memory.total,utilization.gpu,utilization.memory,temperature.gpu,power.draw,clocks.sm \
	--format=csv > "$OUT/nvidia-smi.csv" 2>&1 || true
"$OUT/hintfleet" gpu list > "$OUT/hintfleet-gpu-list.txt" 2>&1
"$OUT/hintfleet" gpu list --json > "$OUT/hintfleet-gpu-list.json" 2>&1
"$OUT/hintfleet" gpu exporter --listen 127.0.0.1:19400 > "$OUT/exporter.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:19400/metrics > "$OUT/metrics.txt" && break; sleep 0.2; done
go test -count=1 -run "TestOpenDefaultBuild" -v ./gpu/ > "$OUT/go-test-nvml.txt" 2>&1 || true
cat "$OUT/nvidia-smi.csv" "$OUT/hintfleet-gpu-list.txt"
grep '^DCGM_FI_DEV_\(GPU_UTIL\|FB_USED\|GPU_TEMP\|POWER_USAGE\|SM_CLOCK\)' "$OUT/metrics.txt" || true
