// Package worker is the task loop on a GPU node. A Worker registers under an
// etcd lease (cluster.Lease; its registration says pool, model, engines,
// capacity and GPUs), pulls from its pool's JetStream consumer only as many
// tasks as it has free slots on healthy engines (fixed Concurrency per
// engine), claims each one in etcd under its lease, runs hint.Run on it
// through the engine beside it, and publishes the trajectory.
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
// one etcd transaction), then ack the message. A crash anywhere in that
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
// Engines are probed every HealthEvery; no task is pulled for an unhealthy
// engine, and none at all while every engine is down. The worker watches
// the job registry and stops the tasks of a cancelled job (releasing the
// claim, terminating the message). Drain stops pulling, marks the
// registration draining, lets in-flight tasks finish until its deadline,
// then checkpoints and hands back the rest, and revokes the lease, so
// nothing waits for a TTL.
package worker
