package adaptive

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/gpu"
)

// SignalSource reads the engine's state once; the Limiter declares it so
// that tests script signal sequences and the worker plugs in what its node
// has.
type SignalSource interface {
	Signals(ctx context.Context) (Signals, error)
}

// SignalFunc adapts a function to SignalSource.
type SignalFunc func(ctx context.Context) (Signals, error)

// Signals implements SignalSource.
func (f SignalFunc) Signals(ctx context.Context) (Signals, error) { return f(ctx) }

// MetricsReader scrapes an engine's /metrics; *engine.Client is one.
type MetricsReader interface {
	Metrics(ctx context.Context) (*engine.MetricsSnapshot, error)
}

// UtilReader reads the utilization of the engine's GPUs, 0..1.
type UtilReader interface {
	GPUUtil(ctx context.Context) (float64, error)
}

// Engine turns successive /metrics scrapes into Signals. TTFT quantiles
// come from the difference between this scrape's cumulative histogram and
// the previous one, and preemptions from the difference of the counter, so
// both describe the last interval only. Safe for
// concurrent use, though one Run calls it at a time.
type Engine struct {
	metrics MetricsReader
	util    UtilReader

	mu          sync.Mutex
	prev        engine.Histogram
	prevPreempt float64
	scraped     bool
}

// EngineSignals reads m and, when util is not nil, the GPU utilization.
func EngineSignals(m MetricsReader, util UtilReader) *Engine {
	return &Engine{metrics: m, util: util}
}

// Signals implements SignalSource. A failed GPU reading leaves GPUUtil
// unknown; a failed scrape is an error.
func (e *Engine) Signals(ctx context.Context) (Signals, error) {
	s := Unknown()
	m, err := e.metrics.Metrics(ctx)
	if err != nil {
		return s, fmt.Errorf("adaptive: engine signals: %w", err)
	}
	// A snapshot that says nothing of what it reports (a test double, an
	// older engine package) is taken at its word on every field.
	rep := m.Reported
	if rep == 0 {
		rep = ^engine.Signal(0)
	}
	if rep.Has(engine.SignalWaiting) {
		s.Waiting = int(m.RequestsWaiting)
	}
	if rep.Has(engine.SignalRunning) {
		s.Running = int(m.RequestsRunning)
	}
	if rep.Has(engine.SignalKVCache) {
		s.KVUsage = m.KVCacheUsage
	}
	e.mu.Lock()
	d := delta(m.TTFT, e.prev)
	e.prev = m.TTFT
	// The first scrape sets the counter's origin: preemptions from before
	// we watched say nothing about the limit we set. A counter that went
	// down is an engine restart; its new total is the interval's. SGLang's
	// gauge of the last batch's retractions is an interval's count as is.
	switch p := m.Preemptions; {
	case !rep.Has(engine.SignalPreemptions):
	case m.PreemptionsRecent:
		s.Preemptions = int(p)
	case !e.scraped:
		s.Preemptions = 0
	case p >= e.prevPreempt:
		s.Preemptions = int(p - e.prevPreempt)
	default:
		s.Preemptions = int(p)
	}
	e.prevPreempt, e.scraped = m.Preemptions, true
	e.mu.Unlock()
	s.TTFTp50, s.TTFTp90 = seconds(d.Quantile(0.5)), seconds(d.Quantile(0.9))
	if e.util != nil {
		if u, err := e.util.GPUUtil(ctx); err == nil {
			s.GPUUtil = u
		}
	}
	return s, nil
}

// delta is cur minus prev, bucket by bucket; a counter reset (engine
// restart) returns cur.
func delta(cur, prev engine.Histogram) engine.Histogram {
	if prev.Count == 0 || cur.Count < prev.Count || len(cur.Buckets) != len(prev.Buckets) {
		return cur
	}
	out := engine.Histogram{Count: cur.Count - prev.Count, Sum: cur.Sum - prev.Sum}
	for i, b := range cur.Buckets {
		if b.UpperBound != prev.Buckets[i].UpperBound {
			return cur
		}
		out.Buckets = append(out.Buckets, engine.Bucket{UpperBound: b.UpperBound, Count: b.Count - prev.Buckets[i].Count})
	}
	return out
}

func seconds(v float64) time.Duration {
	if math.IsNaN(v) || v <= 0 {
		return 0
	}
	return time.Duration(v * float64(time.Second))
}

// GPUBackend is the part of gpu.Backend the utilization reader needs.
type GPUBackend interface {
	Snapshot(ctx context.Context) ([]gpu.Device, error)
}

// GPUUtil reads the mean utilization of b's devices (or of those listed in
// indexes, the engine's GPUs on a shared node).
func GPUUtil(b GPUBackend, indexes ...int) UtilReader { return gpuUtil{b: b, idx: indexes} }

type gpuUtil struct {
	b   GPUBackend
	idx []int
}

// errNoDevice means no listed GPU was found.
var errNoDevice = errors.New("no matching gpu")

func (g gpuUtil) GPUUtil(ctx context.Context) (float64, error) {
	devs, err := g.b.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("adaptive: gpu util: %w", err)
	}
	var sum float64
	n := 0
	for _, d := range devs {
		if len(g.idx) > 0 && !contains(g.idx, d.Index) {
			continue
		}
		sum += float64(d.GPUUtilPercent) / 100
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("adaptive: gpu util: %w", errNoDevice)
	}
	return sum / float64(n), nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// IsOverload reports whether err is an engine's refusal for load: HTTP 503
// or 429.
func IsOverload(err error) bool {
	var se *engine.StatusError
	return errors.As(err, &se) && (se.StatusCode == http.StatusServiceUnavailable || se.StatusCode == http.StatusTooManyRequests)
}
