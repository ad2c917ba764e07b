// Package adaptive sizes how many trajectories a worker keeps in flight
// against one inference engine, from what the engine says about itself.
//
// # Why not a fixed concurrency
//
// The right number of concurrent hint sessions depends on the model, the
// GPU, the context lengths the problems reach and whatever else shares the
// engine. Too few and the GPU decodes small batches (a decode step costs
// a+b·batch, so throughput grows with the batch); too many and the engine's
// KV cache fills, vLLM preempts and recomputes sequences, requests queue,
// TTFT and the tail time per task grow without any gain in tokens/s. The
// knee moves during a run (sequences grow, a co-tenant arrives, clocks
// throttle), so no setting chosen up front stays right.
//
// # The rule: AIMD driven by the engine's own congestion signals
//
// We use AIMD (TCP Reno's additive-increase/multiplicative-decrease) with
// Vegas-like, delay- and queue-based congestion detection, rather than
// Netflix concurrency-limits' pure gradient on request latency. Request
// latency is a poor congestion signal for LLM decoding: a trajectory's
// duration is dominated by how many tokens it writes, which varies 10x
// between problems and says nothing about load. The engine, on the other
// hand, exports the congestion directly on /metrics:
//
//   - num_requests_waiting > 0 means the engine has more sequences than it
//     runs (MaxNumSeqs or KV cache exhausted): more concurrency only queues.
//   - kv_cache_usage_perc near 1 means the next token of a growing sequence
//     may not fit and vLLM will preempt (recompute) one: wasted GPU time.
//   - TTFT (p50 of the interval, from the cumulative histogram's delta)
//     rising well above its floor means the scheduler is behind; its floor
//     plays the part of Vegas' min RTT.
//
// Every Interval the controller (controller.go, pure and table-tested)
// reads these through the consumer-declared SignalSource and:
//
//   - on 503/429 or an error ratio above ErrorRatio, halves the limit;
//   - on waiting > WaitingTolerance, KV usage > KVHigh or TTFT p50 >
//     TTFTTolerance × baseline, multiplies the limit by a gradient, the
//     smallest of running/(running+waiting), KVTarget/kv and
//     TTFTTolerance·baseline/ttft, clamped to [MinBackoff, MaxBackoff]:
//     proportional to how far over the line the engine is, and never by
//     less than 10% so a decision is visible in one step;
//   - after a decrease, holds for Cooldown intervals: a lower limit only
//     admits fewer new sessions, it does not shrink the ones running, so
//     the KV and queue signals take a session's lifetime to respond, and
//     cutting again each interval would collapse the limit (TCP cuts once
//     per RTT for the same reason);
//   - otherwise, when the engine has headroom (no queue, KV below
//     KVTarget, TTFT near its floor) and the limit is actually used (not
//     app-limited), grows it: doubling (slow start) until the first
//     congestion or until KV usage reaches half of KVTarget, then by
//     √limit per interval; a growth step is capped so
//     that the KV usage projected from the current per-sequence footprint
//     stays under KVHigh.
//
// The TTFT baseline follows the lowest p50 seen and drifts up slowly
// (BaselineDrift per interval) while the engine is not queueing, so a
// lasting slowdown (thermal throttling, a co-tenant) becomes the new normal
// after a few intervals instead of pinning the limit at Min.
//
// GPU utilization from NVML is carried in Signals and the trace, but is not
// a control input: NVML's utilization is the share of time any kernel ran,
// and a decoding engine shows ~100% at batch 1, so it cannot tell a full
// batch from an empty one.
//
// # Use
//
//	l, _ := adaptive.New(adaptive.WithBounds(4, 256))
//	go l.Run(ctx, adaptive.EngineSignals(client, nil)) // owned by the caller's group
//	release, err := l.Acquire(ctx) // blocks while at the limit
//	… run one hint session …
//	release(adaptive.Outcome{Latency: d, Tokens: n, Err: err})
//
// RunPool runs a fixed list of tasks through a Limiter, starting one
// whenever the limiter admits it; the benchmark harness (bench_test.go)
// uses it against engine/sim.
package adaptive
