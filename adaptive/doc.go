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
// # The rule: keep the batch full, the queue short and the cache just full
//
// The controller is Vegas-like: it aims for an operating point read off the
// engine's own congestion signals, in the spirit of TCP Vegas and BBR,
// rather than Netflix concurrency-limits' pure gradient on request latency.
// Request latency is a poor congestion signal for LLM decoding: a
// trajectory's duration is dominated by how many tokens it writes, which
// varies 10x between problems and says nothing about load. The engine, on
// the other hand, exports the congestion directly on /metrics:
//
//   - num_requests_waiting: sequences the engine cannot batch yet
//     (MaxNumSeqs reached or KV cache full). A few are wanted, since they
//     refill the batch the moment a sequence ends or a session sends its
//     next request; many only add latency.
//   - num_preemptions_total: sequences evicted because the cache could not
//     hold their next token. A few are the price of a full cache (the
//     newest is recomputed, cheaply); many mean it is over-committed.
//   - kv_cache_usage_perc: how full the cache is. Every sequence it holds is
//     one more in the batch and a decode step costs a+b·batch, so the target
//     is just under full (KVTarget 0.97), not a comfortable 0.8.
//   - TTFT (p50 of the interval, from the cumulative histogram's delta):
//     its floor plays the part of Vegas' min RTT.
//
// Every Interval the controller (controller.go, pure and table-tested)
// reads these through the consumer-declared SignalSource and:
//
//   - on 503/429 or an error ratio above ErrorRatio, cuts the limit by
//     MinBackoff or MaxBackoff, even in cooldown: requests are failing;
//   - on a queue above QueueHigh × its target (WaitingTolerance +
//     QueueFraction × running), preemptions above PreemptTolerance ×
//     running, or KV above KVHigh, sets the limit to the sessions we hold
//     less the excess: minus the waiting sequences past the target, or
//     scaled by the share preempted. The target is computed from what we
//     hold, not from the limit, so reading the same congestion again while
//     earlier sessions drain asks for the same limit instead of cutting
//     twice (TCP cuts once per RTT for the same reason). A cut stays
//     within [MinBackoff, MaxBackoff] of the limit, then Cooldown intervals
//     pass before the next move;
//   - never cuts for queue, preemptions or KV below CapacityFloor × the
//     largest batch of ours the engine ran in the last CapacityWindow
//     intervals (BBR's windowed max bandwidth as the capacity estimate):
//     sessions admitted together grow together, fill the cache, queue and
//     get preempted, then finish at once and leave room for more young ones
//     than before. Cutting deep on such a wave leaves the batch short once
//     it has passed. For the same reason, while sessions admitted earlier
//     still drain, the limit comes back up to that floor: a limit cut
//     while the cache held a wave's longest sequences would otherwise stay
//     there, since the queue of our own sessions stops all growth;
//   - otherwise grows when there is headroom: the queue under its target,
//     preemptions under half their tolerance, TTFT under TTFTTolerance ×
//     its baseline, the limit actually used (not app-limited), and the
//     cache projected to hold more (fit, below). Growth is slow start
//     (×SlowStartFactor per interval) until the first cut or until KV usage
//     reaches SlowStartKV of its target, then √limit per interval.
//
// fit is where the Vegas expected-against-actual comparison happens, on the
// cache rather than on the round trip: a sequence's KV grows for its whole
// lifetime, so the usage read now understates what the sessions admitted
// now will need. Growth may not pass the smaller of two projections: the
// usage KVHorizon intervals ahead if it keeps rising at its smoothed slope
// (which stops slow start while a synchronised batch of young sessions
// still reads 0.3), and KVTarget over the mean KV footprint per session of
// the window, counting the sessions running or in a tool call but not those
// queued in the engine (which stops the limit from growing into the room
// that young sessions, replacing a batch of finished old ones, only seem to
// leave).
//
// TTFT only stops growth; it never cuts. A slower engine (thermal
// throttling, a co-tenant, the sim's slow_down knob) lengthens every step
// at any load: the cache and the batch it holds do not change, so the
// limit that filled it before still does, and cutting would lose
// throughput without shortening anything. The baseline follows the lowest
// p50 seen and drifts up (BaselineDrift per interval) while the engine is
// not queueing, so the slower TTFT soon becomes the new normal and growth
// resumes.
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
//
// # Measured as users meet it
//
// BenchmarkAdaptiveScenarios (scenario_test.go) runs the defaults, untuned,
// through ten scenarios on a discrete-event model of engine/sim's time
// model (fleetsim_test.go): A100-40G, A100-80G, H100 and H200 shapes,
// GSM8K-short to AIME-long problems, tool calls of 0 to 2 s, a 3x slowdown
// mid-run and a mixed fleet of all four sharing one job, three draws of
// each job. Each scenario also runs at fixed concurrency 8…256 (and 384,
// 512 for a second summary), and the benchmark prints adaptive against the
// best fixed setting of each scenario (an oracle tuned in hindsight) and
// against the single fixed setting that is best over the suite. What it
// shows (docs/scale.md has the table): the throughput of one engine is flat
// past the knee, because an over-committed engine only queues, so the
// largest fixed setting is close to every single-engine oracle and pays in
// p99 rather than tokens/s; adaptive reads 0.97–1.13 of each oracle at a
// lower p99 over the suite, and 1.29x a fixed 256 on the mixed fleet, where
// one limit for every node lets the slowest GPU hoard tasks. Where the
// cache holds only a few of the longest sequences, a deeper queue than the
// one aimed for keeps the batch a few percent fuller; and where sessions
// live for tens of minutes, slow start overshoots before any sequence is
// long enough to show what the cache holds, and the footprint of the young
// sessions that replace a drained wave lets the limit grow into a second
// overshoot.
package adaptive
