// Package top is `hintfleet top`: a terminal view of the fleet — workers,
// each GPU's utilization, memory and temperature, per-job progress and
// tokens/s, dead letters — refreshed every interval, plus a plain-text
// snapshot for scripts and terminals without a TTY.
//
// top reads the fleet only through the Source interface it declares, so
// the view is tested with a fake and the coordinator is free to change how
// it stores state. HTTPSource is the production Source; it expects the
// coordinator's HTTP API to serve:
//
//	GET <api>/v1/jobs     → 200, JSON: a list of jobs, or {"jobs": [...]}
//	  [{"id": "j1", "state": "running", "submitted": 1000, "queued": 512,
//	    "running": 64, "done": 420, "dead_lettered": 3, "tokens": 1234567,
//	    "tokens_per_s": 850.5, "waiting": "…"}]
//	  queued tasks wait for a worker, running ones a worker holds; tokens
//	  is the completion tokens of the job's finished tasks so far, and
//	  tokens_per_s the coordinator's rate of the last minute (without it,
//	  top derives one from tokens between refreshes); waiting, when set,
//	  says why the queued tasks do not move.
//
//	GET <api>/v1/workers  → 200, JSON: a list of workers, or {"workers": [...]}
//	  [{"id": "w1", "engine": "http://10.0.0.5:8000", "state": "ready",
//	    "in_flight": 48, "limit": 56, "tokens_per_s": 1500.5,
//	    "metrics_url": "http://10.0.0.5:9400/metrics",
//	    "gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3",
//	              "util": 97, "mem_used_mib": 70000, "mem_total_mib": 81559,
//	              "temp_c": 64}]}]
//	  util is a percentage (0–100), as DCGM_FI_DEV_GPU_UTIL. Unknown fields
//	  are ignored, missing ones are zero.
//
// When a worker lists a metrics_url, top scrapes it (Prometheus text, the
// dcgm-exporter names gpu.Exporter serves: DCGM_FI_DEV_GPU_UTIL,
// DCGM_FI_DEV_FB_USED, DCGM_FI_DEV_FB_FREE, DCGM_FI_DEV_GPU_TEMP, label
// "gpu") and those values replace the worker's own GPU figures: they come
// from the node's exporter, fresher than what the worker last reported. A
// failed scrape keeps the reported figures and shows the error in the
// footer; it never blanks the screen.
//
// Dead letters are the sum of the jobs' dead_lettered counts. Job ids are
// shown whole, so they can be copied into cancel or status.
//
// Without a terminal (a pipe, a script, CI) `hintfleet top` prints one
// plain snapshot (WritePlain) or, with --json, the Snapshot as JSON,
// instead of starting the interactive view.
package top
