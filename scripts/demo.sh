#!/usr/bin/env bash
# make demo: hintfleet's main job on the embedded default, no GPU needed.
# 1. Hint-infer on one machine: plain vs the paper's hints on 30 MATH500 +
#    30 GSM8K problems, code really run in the bubblewrap sandbox.
# 2. The fleet: embedded etcd + NATS JetStream, a coordinator, 2 workers, a
#    50-problem MATH500 job with 2 samples (when the fleet demo is present).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/demo-infer.sh
if [ -x scripts/demo-fleet.sh ]; then
	echo
	./scripts/demo-fleet.sh
fi
