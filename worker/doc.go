// Package worker is the task loop on a GPU node. A Worker registers under an
// etcd lease (cluster.Lease; its registration says pool, model, engines,
// capacity, health and GPUs), pulls from its own consumer (tasks routed to
// it for prefix-cache affinity) and then its pool's shared one only as many
// tasks as it has free slots on healthy engines (fixed Concurrency per
// engine, or an adaptive.Limiter per engine with Config.Adaptive), claims
// each one in etcd under its lease, runs hint.Run on it through the engine
// beside it, and publishes the trajectory.
//
// # One task
//
// Claim first: a copy that is claimed by another live worker, already done,
// or of an older attempt than the requeuer recorded is acked and dropped —
// the claim's holder finishes it or loses its lease, and then the
// coordinator's requeuer republishes it. While generating, the worker sends
// AckProgress every AckWait/3, so JetStream does not redeliver a long
// generation. On success: publish the result (Nats-Msg-Id = task id, with
// worker, lease, claim revision and attempt), wait for the stream's ack,
// release the claim with done (the done marker and the claim's deletion in
// one etcd transaction; retried while etcd cannot be reached, since a claim
// left on a live lease holds its task for ever), then ack the message. A crash anywhere in that
// order leaves either a claim that expires (requeue; a second result is
// deduplicated by the stream and by the intake's done set) or a done marker
// (a redelivered copy is dropped at claim).
//
// On an engine or tool failure, a stop, or a drain that runs out of time,
// the worker saves a checkpoint and releases the claim without done; the
// requeuer republishes attempt+1 at once (or dead-letters the task once the
// retry budget is spent) and terminates the old delivery. A permanent
// failure (a task or hint config that cannot run) is published as a
// Result.Failure, which the coordinator dead-letters with the reason. If the
// lease is lost, every task stops at once and nothing is published or
// released: the claims are gone, and Run returns an error wrapping
// cluster.ErrLeaseLost for the caller to start afresh.
//
// # Checkpoints
//
// A checkpoint (CHECKPOINTS KV bucket, key = task) is the log of what the
// engine and the tools answered — each request's text, tokens and finish,
// each tool call's result — written at every finished request and tool call
// and every CheckpointEvery while a request streams. A retry replays the
// log through hint.Run, which is deterministic given those answers, so it
// rebuilds the same state without touching the engine, then continues live;
// a request cut short is continued by asking the engine for prompt + the
// text streamed so far. hint needs no resume input for this. See Checkpoint.
//
// # Health, cancel, drain
//
// Every HealthEvery the worker probes its engines and polls its GPUs
// (Config.GPU) against gpu.Health: an XID error, uncorrected ECC errors or
// over-temperature on any GPU, or no engine passing its health check, make
// it unhealthy. A GPU is not mapped to an engine, so one bad GPU stops the
// whole worker. Unhealthy, it hands back every session (checkpoint, release
// without done: the requeuer republishes attempt+1 at once, for another
// worker), pulls nothing, and says so in /healthz (503 with the reasons)
// and in its registration (Health, Reasons, Draining, so placement skips
// it); it takes work again once the check passes. One engine down of
// several hands back only that engine's sessions. The worker watches the
// job registry and stops the tasks of a cancelled job (releasing the claim,
// terminating the message). Drain stops pulling, marks the registration
// draining, lets in-flight tasks finish until its deadline, then
// checkpoints and hands back the rest, and revokes the lease, so nothing
// waits for a TTL.
//
// # Metrics
//
// Handler serves /metrics from the worker's own registry — the fleet
// series the Grafana dashboard reads (hintfleet_tasks_in_flight,
// hintfleet_concurrency_limit, hintfleet_engine_queue_depth and
// hintfleet_engine_kv_cache_usage_ratio per engine; hintfleet_tokens_total,
// hintfleet_tool_call_duration_seconds, hintfleet_hints_inserted_total,
// hintfleet_wasted_tokens_total, hintfleet_tasks_completed_total,
// hintfleet_tasks_dead_lettered_total, hintfleet_lease_age_seconds, all
// labelled worker) and the GPU series under dcgm-exporter's names — and
// /healthz. Config.MetricsAddr makes Run serve it. EngineLoad turns the
// engines' /metrics into a gpu.LoadSource, so simulated GPUs follow them.
package worker
