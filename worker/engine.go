package worker

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hintfleet/hintfleet/adaptive"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/infer"
)

// Engine is one inference engine beside the worker, as the worker uses it:
// a hint.Generator it can health-check. NewEngine adapts an engine.Client;
// tests wrap one to inject faults. An Engine that also implements
// MetricsReader feeds the worker's engine gauges, the adaptive limiter and
// Config.GPULoad.
type Engine interface {
	hint.Generator
	// Health returns nil while the engine serves; the worker stops taking
	// work for it otherwise.
	Health(ctx context.Context) error
	// URL and Model name the engine in trajectories and the registration.
	URL() string
	Model() string
}

// NewEngine adapts c; extra is sent with every request (top_k, …). The
// result implements MetricsReader, and gives each task a generator of its
// own (infer.Generator.ForTrajectory) that sizes requests to the context
// instead of being refused for it first.
func NewEngine(c *engine.Client, extra map[string]any) Engine {
	return clientEngine{Generator: infer.NewGenerator(c, extra), c: c}
}

// trajectoryEngine is an Engine that hands each task a generator for that
// task alone, one that learns from the task's own requests.
type trajectoryEngine interface {
	ForTrajectory() infer.Generator
}

// taskGenerator is the generator one task runs on.
func taskGenerator(e Engine) hint.Generator {
	if te, ok := e.(trajectoryEngine); ok {
		return te.ForTrajectory()
	}
	return e
}

type clientEngine struct {
	infer.Generator
	c *engine.Client
}

func (e clientEngine) Health(ctx context.Context) error { return e.c.Health(ctx) }
func (e clientEngine) URL() string                      { return e.c.BaseURL() }
func (e clientEngine) Model() string                    { return e.c.Model() }

// Metrics implements MetricsReader.
func (e clientEngine) Metrics(ctx context.Context) (*engine.MetricsSnapshot, error) {
	return e.c.Metrics(ctx)
}

// slot is an engine with its load: at most limit(slot) tasks run on it.
type slot struct {
	eng      Engine
	inflight atomic.Int64 // tasks taken for this engine, admitted or waiting for the limiter
	healthy  atomic.Bool
	probeErr atomic.Pointer[string] // last failed health check; nil when it passed
	// gpus are the devices the engine runs on; nil: not known, every GPU.
	gpus atomic.Pointer[[]gpu.Ref]
	// gpuFault says why a GPU the engine runs on is unhealthy; nil while
	// all are fit. A faulted engine takes no work and its tasks are
	// handed back, while the worker's other engines go on.
	gpuFault atomic.Pointer[string]
	// limiter admits sessions when Config.Adaptive is set; nil: fixed
	// Config.Concurrency.
	limiter *adaptive.Limiter
	// snap is the last /metrics scrape; nil until one succeeded (or never,
	// for an engine that is no MetricsReader).
	snap atomic.Pointer[engine.MetricsSnapshot]
	// produced counts the completion tokens this worker's sessions
	// streamed from the engine; tps is their rate between the last two
	// ticks of the engine watch. An engine's own generation counter would
	// count every client of it (two workers on one engine each showed the
	// sum), so it only feeds the GPU load (rate).
	produced atomic.Int64
	tps      atomic.Value // float64: tokens/s this worker produced lately
	own      tokenRate    // of produced, owned by the engine watch
	rate     tokenRate    // of the engine's generation counter, owned by the engine watch
}

// usable reports whether s may run tasks: its engine answers its health
// check and no GPU it runs on is faulty.
func (s *slot) usable() bool { return s.healthy.Load() && s.gpuFault.Load() == nil }

func newSlot(e Engine) *slot {
	s := &slot{eng: e}
	s.healthy.Store(true)
	s.tps.Store(0.0)
	return s
}

// probe checks every engine once, bounded by timeout each.
func probe(ctx context.Context, slots []*slot, timeout time.Duration) {
	for _, s := range slots {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := s.eng.Health(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		s.healthy.Store(err == nil)
		if err != nil {
			msg := err.Error()
			s.probeErr.Store(&msg)
		} else {
			s.probeErr.Store(nil)
		}
	}
}

// watchEngines scrapes every engine's /metrics each MetricsEvery until ctx
// ends: the gauges, Status and Config.GPULoad read the last scrape.
func (w *Worker) watchEngines(ctx context.Context) {
	t := time.NewTicker(w.cfg.MetricsEvery)
	defer t.Stop()
	for {
		var sum loadSum
		for _, s := range w.slots {
			s.tps.Store(s.own.observe(float64(s.produced.Load()), time.Now()))
			mr, ok := s.eng.(MetricsReader)
			if !ok {
				continue
			}
			mctx, cancel := context.WithTimeout(ctx, healthTimeout)
			snap, err := mr.Metrics(mctx)
			cancel()
			if err != nil {
				continue
			}
			s.snap.Store(snap)
			sum.add(snap, s.rate.observe(snap.GenerationTokens, time.Now()))
		}
		if w.cfg.GPULoad != nil {
			sum.setOn(w.cfg.GPULoad)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// signals is what an engine's adaptive limiter reads: its /metrics (TTFT
// deltas, queue, KV use) and the GPUs' utilization when the worker has them.
func (w *Worker) signals(s *slot) adaptive.SignalSource {
	mr, ok := s.eng.(MetricsReader)
	if !ok {
		return adaptive.SignalFunc(func(context.Context) (adaptive.Signals, error) {
			return adaptive.Unknown(), ErrNoEngineMetrics
		})
	}
	var util adaptive.UtilReader
	if w.cfg.GPU != nil {
		util = adaptive.GPUUtil(w.cfg.GPU)
	}
	return adaptive.EngineSignals(mr, util)
}
