package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/engine/sim"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/worker"
)

// TestTokensPerSecIsTheWorkersOwn (issue 18 finding 6): a worker reports
// the tokens/s its own sessions produced, not its engine's total. An idle
// worker on an engine that another client keeps busy reads 0 through many
// metrics scrapes (before, it showed the engine's whole rate, so two
// workers on one engine counted it twice); a worker running a job reads
// more than 0.
func TestTokensPerSecIsTheWorkersOwn(t *testing.T) {
	env := clustertest.Start(t)
	ps := testProblems(6)
	_, c := startSim(t, ps, func(cfg *sim.Config) { cfg.Speedup = 20 })
	idle := startWorker(t, env, "idle", []worker.Engine{worker.NewEngine(c, nil)}, func(cfg *worker.Config) { cfg.Model = "not-this-job" })

	// Another client of the same engine generates until the test has
	// seen the engine's counter move across many of the worker's scrapes
	// (MetricsEvery is 100 ms in these tests).
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, _ = c.Complete(ctx, engine.CompletionRequest{Prompt: ps[0].Question, MaxTokens: 64})
		}
	}()
	first, err := c.Metrics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	maxIdle := 0.0
	eventually.Report(t, waitLimit, "the engine generates for another client", func() (bool, string) {
		for _, e := range idle.Status().Engines {
			maxIdle = max(maxIdle, e.TokensPerSec)
		}
		m, err := c.Metrics(t.Context())
		if err != nil {
			return false, err.Error()
		}
		return m.GenerationTokens-first.GenerationTokens >= 2000, fmt.Sprintf("%.0f tokens", m.GenerationTokens-first.GenerationTokens)
	})
	stop()
	wg.Wait()
	if maxIdle != 0 {
		t.Errorf("an idle worker reported %.1f tok/s: its engine's rate, not its own", maxIdle)
	}

	// A worker that runs a job reports what it produces.
	busy := startWorker(t, env, "busy", []worker.Engine{worker.NewEngine(c, nil)}, nil)
	api := startCoordinator(t, env, t.TempDir())
	// WaitForWorker: the busy worker may not have registered yet, and the
	// idle one serves another model.
	spec := coordinator.JobSpec{ID: "rate", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 4, WaitForWorker: true}
	if _, err := api.Submit(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, waitLimit, "the busy worker reports its tokens/s", func() bool {
		for _, e := range busy.Status().Engines {
			if e.TokensPerSec > 0 {
				return true
			}
		}
		return false
	})
	// Its registration (what `top` shows) follows within a few health
	// checks, not after the 30 s refresh of the load figures, both ways.
	eventually.True(t, 10*time.Second, "the registration shows the busy worker producing", func() bool {
		return registration(t, env, "busy").TokensPerSec > 0
	})
	waitJob(t, env.Conn.Etcd, "rate", terminal)
	eventually.True(t, 10*time.Second, "the registration shows the idle worker at 0 tok/s", func() bool {
		return registration(t, env, "busy").TokensPerSec == 0
	})
}
