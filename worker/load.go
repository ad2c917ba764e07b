package worker

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
)

// MetricsReader scrapes an engine's /metrics. *engine.Client is one, and so
// is the Engine NewEngine returns; an Engine that is not (a test double)
// simply reports no queue depth, KV-cache use or throughput.
type MetricsReader interface {
	Metrics(ctx context.Context) (*engine.MetricsSnapshot, error)
}

// EngineLoad is a gpu.LoadSource that follows engines' /metrics, so that
// simulated GPUs are as busy as the engines beside them: pass it to
// gpu.Open (Options.Load) and to the worker (Config.GPULoad), which feeds it
// from its own engine poll. A process without a worker (the GPU exporter
// alone) calls Run instead.
//
// The simulator calls Load on every device read, so Load only returns the
// last observation; it never does I/O. Safe for concurrent use. The zero
// value is an idle load.
type EngineLoad struct {
	mu               sync.Mutex
	running, waiting int
	kvUsage, tps     float64
}

var _ gpu.LoadSource = (*EngineLoad)(nil)

// NewEngineLoad returns an idle load.
func NewEngineLoad() *EngineLoad { return &EngineLoad{} }

// Load implements gpu.LoadSource.
func (l *EngineLoad) Load() (running, waiting int, kvUsage, tokensPerSec float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running, l.waiting, l.kvUsage, l.tps
}

// Set records one observation: sequences running and waiting (summed over
// engines), KV-cache use 0–1 (their mean) and decode tokens/s (summed).
func (l *EngineLoad) Set(running, waiting int, kvUsage, tokensPerSec float64) {
	l.mu.Lock()
	l.running, l.waiting, l.kvUsage, l.tps = running, waiting, kvUsage, tokensPerSec
	l.mu.Unlock()
}

// Run polls readers every interval until ctx ends and Sets the sum; it
// returns nil then. A failed scrape leaves that engine out of the round.
// Run starts no goroutine; its caller owns it.
func (l *EngineLoad) Run(ctx context.Context, every time.Duration, readers ...MetricsReader) error {
	if every <= 0 {
		return fmt.Errorf("%w: engine load interval %v: want > 0", ErrInvalidConfig, every)
	}
	rates := make([]tokenRate, len(readers))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var sum loadSum
		for i, r := range readers {
			snap, err := r.Metrics(ctx)
			if err != nil {
				continue
			}
			sum.add(snap, rates[i].observe(snap.GenerationTokens, time.Now()))
		}
		sum.setOn(l)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// loadSum aggregates engine snapshots into one load. A signal an engine
// does not report (llama.cpp and TGI have no KV-cache series) is left out
// rather than counted as zero.
type loadSum struct {
	running, waiting int
	kv, tps          float64
	n, nKV           int
	busy             bool // an engine without a KV series runs sequences
}

func (s *loadSum) add(snap *engine.MetricsSnapshot, tps float64) {
	rep := snap.Reported
	if rep == 0 {
		rep = ^engine.Signal(0) // a snapshot that does not say reports all
	}
	s.running += int(snap.RequestsRunning)
	s.waiting += int(snap.RequestsWaiting)
	if rep.Has(engine.SignalKVCache) {
		s.kv += snap.KVCacheUsage
		s.nKV++
	} else if snap.RequestsRunning > 0 || !rep.Has(engine.SignalRunning) {
		s.busy = true
	}
	s.tps += tps
	s.n++
}

// unknownKV is the KV-cache use set for engines that do not report it while
// they run sequences (or do not say whether they do): llama.cpp and TGI
// allocate their whole cache at start, so the memory is in use whatever the
// batch, and an unknown load must not read as an idle GPU.
const unknownKV = 1.0

func (s *loadSum) setOn(l *EngineLoad) {
	kv := 0.0
	switch {
	case s.nKV > 0:
		kv = s.kv / float64(s.nKV)
	case s.busy:
		kv = unknownKV
	}
	l.Set(s.running, s.waiting, kv, s.tps)
}

// tokenRate turns a cumulative token counter into tokens per second between
// successive observations. A counter that goes back (engine restart) starts
// over. Not safe for concurrent use: one poller owns it.
type tokenRate struct {
	last   float64
	lastAt time.Time
	rate   float64
}

func (r *tokenRate) observe(total float64, at time.Time) float64 {
	if !r.lastAt.IsZero() && total >= r.last && at.After(r.lastAt) {
		r.rate = (total - r.last) / at.Sub(r.lastAt).Seconds()
	} else if total < r.last {
		r.rate = 0
	}
	r.last, r.lastAt = total, at
	return r.rate
}
