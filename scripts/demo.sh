#!/usr/bin/env bash
# make demo: hintfleet's main job on this machine, no GPU needed, told as a
# short story.
# 1. Hint-infer on one machine (demo-infer.sh): plain vs the paper's hints on
#    30 MATH500 + 30 GSM8K problems, code really run in the bubblewrap sandbox.
# 2. The fleet (demo-fleet.sh): embedded etcd + NATS JetStream, a
#    coordinator, 2 workers, a 50-problem MATH500 job with 2 samples.
# Environment: OUT (default a fresh temp dir; part 1 writes OUT/infer, part 2
# OUT/fleet), and what the two scripts take.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d -t hintfleet-demo.XXXXXX)}
mkdir -p "$OUT"

cat <<EOF
hintfleet demo: START's Hint-infer (arXiv 2503.04625) on this machine, without a GPU.
A long-reasoning model's text is cut at words such as "Wait", a hint inviting Python is
inserted, the code the model then writes runs in a sandbox, and its output is appended.

   engine  a simulated vLLM server (engine/sim) with a GPU's timing: batching, prefill, KV
           cache. Its scripted reasoner knows the reference answers and writes Python after
           a hint, so accuracy below shows the pipeline at work, never a model.
   tools   bin/plugins, checked against bin/plugins/SHA256SUMS before they start: Python
           (numpy, sympy) in a bubblewrap sandbox, and a calculator written in Python
   data    MATH500 and GSM8K, compiled into bin/hintfleet from datasets/ (fields, sources
           and licenses in datasets/README.md)
   output  $OUT

Part 1 of 2
EOF
OUT="$OUT/infer" ./scripts/demo-infer.sh
printf '\nPart 2 of 2\n'
OUT="$OUT/fleet" ./scripts/demo-fleet.sh
