package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/adaptive"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/worker"
)

// TestAdaptiveLimitRespected runs a job on a worker whose engine is under
// an adaptive limiter bounded to [1, 3] while the fixed Concurrency says
// 16: every time a request opens, the sessions open on the engine are at
// most the limit the worker reports for it, the limit stays within its
// bounds, and the job completes exactly once.
func TestAdaptiveLimitRespected(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(12)
	_, c := startSim(t, ps, func(cfg *sim.Config) { cfg.Speedup = 50 })
	gate := newGate(worker.NewEngine(c, nil))
	gate.release()
	api := startCoordinator(t, env, dir)

	var (
		mu         sync.Mutex
		violations []string
		limits     = map[int]bool{}
		w          *worker.Worker
		ready      = make(chan struct{})
	)
	gate.onOpen = func(open int) {
		<-ready
		lim := w.Status().Engines[0].Limit
		mu.Lock()
		defer mu.Unlock()
		limits[lim] = true
		if open > 3 {
			violations = append(violations, "more than Max sessions open")
		}
	}
	w = startWorker(t, env, "w1", []worker.Engine{metricsEngine{gate, c}}, func(cfg *worker.Config) {
		cfg.Concurrency = 16
		cfg.Adaptive = true
		cfg.AdaptiveOptions = []adaptive.Option{adaptive.WithBounds(1, 3), adaptive.WithInitial(2), adaptive.WithInterval(50 * time.Millisecond)}
	})
	close(ready)
	if _, err := api.Submit(context.Background(), coordinator.JobSpec{ID: "ad", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2}); err != nil {
		t.Fatal(err)
	}
	// Sample the worker's view while the job runs: tasks taken for the
	// engine never exceed its limit by more than a limit decrease allows.
	done := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			e := w.Status().Engines[0]
			if e.InFlight > 3 || e.Limit < 1 || e.Limit > 3 {
				mu.Lock()
				violations = append(violations, "in-flight or limit out of bounds")
				mu.Unlock()
			}
		}
	})
	waitJob(t, env.Conn.Etcd, "ad", terminal)
	close(done)
	sampled.Wait()
	checkExactlyOnce(t, dir, "ad", ps, 2)
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Fatalf("%d violations, first: %s", len(violations), violations[0])
	}
	if got := gate.maxOpen(); got > 3 || got < 1 {
		t.Fatalf("max sessions open on the engine = %d, want 1..3", got)
	}
	t.Logf("limits seen: %v, max open %d", limits, gate.maxOpen())
}

// metricsEngine gives a wrapped engine back the engine's /metrics, so its
// limiter reads real signals.
type metricsEngine struct {
	worker.Engine
	c *engine.Client
}

func (m metricsEngine) Metrics(ctx context.Context) (*engine.MetricsSnapshot, error) {
	return m.c.Metrics(ctx)
}

// TestEngineLoadRun: the load follows scripted engine scrapes, summed over
// engines, with tokens/s from the generation counter's change.
func TestEngineLoadRun(t *testing.T) {
	tests := []struct {
		name        string
		snaps       [][]engine.MetricsSnapshot // per engine, per round
		wantRunning int
		wantWaiting int
		wantKV      float64
	}{
		{"one engine", [][]engine.MetricsSnapshot{{{RequestsRunning: 5, RequestsWaiting: 1, KVCacheUsage: 0.5, GenerationTokens: 100}}}, 5, 1, 0.5},
		{"two engines sum and average", [][]engine.MetricsSnapshot{
			{{RequestsRunning: 5, KVCacheUsage: 0.2}},
			{{RequestsRunning: 7, RequestsWaiting: 3, KVCacheUsage: 0.6}},
		}, 12, 3, 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := worker.NewEngineLoad()
			var readers []worker.MetricsReader
			for _, s := range tc.snaps {
				readers = append(readers, scripted(s))
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- l.Run(ctx, time.Hour, readers...) }()
			eventually.True(t, waitLimit, "first round", func() bool { r, _, _, _ := l.Load(); return r == tc.wantRunning })
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			r, w, kv, _ := l.Load()
			if r != tc.wantRunning || w != tc.wantWaiting || kv < tc.wantKV-1e-9 || kv > tc.wantKV+1e-9 {
				t.Fatalf("Load() = %d, %d, %v; want %d, %d, %v", r, w, kv, tc.wantRunning, tc.wantWaiting, tc.wantKV)
			}
		})
	}
}

type scripted []engine.MetricsSnapshot

func (s scripted) Metrics(context.Context) (*engine.MetricsSnapshot, error) {
	snap := s[0]
	return &snap, nil
}

// TestAdaptiveBoundedByConcurrency: with Adaptive and no AdaptiveOptions,
// Concurrency is the limiter's upper bound and the start is
// adaptive.DefaultInitial or Concurrency, whichever is lower; a Concurrency
// below the default start is not an error.
func TestAdaptiveBoundedByConcurrency(t *testing.T) {
	env := clustertest.Start(t)
	_, c := startSim(t, testProblems(1), nil)
	for _, tc := range []struct{ concurrency, want int }{
		{3, 3},
		{adaptive.DefaultInitial + 4, adaptive.DefaultInitial},
	} {
		w, err := worker.New(env.Conn, worker.Config{ID: "w1", Model: testModel, Engines: []worker.Engine{worker.NewEngine(c, nil)},
			Concurrency: tc.concurrency, Adaptive: true})
		if err != nil {
			t.Fatalf("concurrency %d: %v", tc.concurrency, err)
		}
		if got := w.Status().Engines[0].Limit; got != tc.want {
			t.Errorf("concurrency %d: starting limit %d, want %d", tc.concurrency, got, tc.want)
		}
	}
}
