package coordinator_test

import (
	"context"
	"testing"
	"time"

	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/top"
	"github.com/hintfleet/hintfleet/worker"
)

// TestWorkersAPI: GET /v1/workers lists the registered workers with their
// engines, health, limits and GPUs, and `hintfleet top`'s HTTP source reads
// both /v1/workers and /v1/jobs as they are served, GPU figures and job
// counts included (its metrics scrape of each worker too).
func TestWorkersAPI(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(4)
	c := startSim(t, ps, 200)
	r := startReplica(t, env, dir, coordinator.Config{})
	waitLeader(t, r)
	src, err := gpu.Open(t.Context(), gpu.Options{Simulate: 2, Model: testModel})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	startWorker(t, env, "w1", []worker.Engine{worker.NewEngine(c, nil)}, func(cfg *worker.Config) {
		cfg.GPU, cfg.Hostname, cfg.MetricsAddr = src, "node-a", "127.0.0.1:0"
	})
	startWorker(t, env, "w2", []worker.Engine{worker.NewEngine(c, nil)}, nil)
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "wk", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 2}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, env.Conn.Etcd, "wk", terminal)

	var ws []coordinator.WorkerStatus
	// A worker releases its last claim just after the result that ends
	// the job, so "no claims" is waited for, not read once.
	eventually.True(t, waitLimit, "both workers listed with w1's gpus and no claims left", func() bool {
		ws, err = r.client.Workers(context.Background())
		return err == nil && len(ws) == 2 && len(ws[0].GPUs) == 2 && ws[0].InFlight+ws[1].InFlight == 0
	})
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"ids sorted", ws[0].ID + "," + ws[1].ID, "w1,w2"},
		{"state", ws[0].State, coordinator.WorkerReady},
		{"health", ws[0].Health, "healthy"},
		{"engine", ws[0].Engine, c.BaseURL()},
		{"limit", ws[0].Limit, 4},
		{"pool", ws[1].Pool, testModel},
		{"gpu name", ws[0].GPUs[0].Name, "NVIDIA H100 80GB HBM3"},
		{"metrics url set", ws[0].MetricsURL != "", true},
		{"no metrics url without an address", ws[1].MetricsURL, ""},
		{"no claims after the job", ws[0].InFlight + ws[1].InFlight, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}

	ts, err := top.NewHTTPSource(r.srv.URL, r.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap, err := ts.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Warnings) > 0 {
		t.Errorf("top warnings: %q", snap.Warnings)
	}
	if len(snap.Workers) != 2 || snap.Workers[0].State != "ready" || snap.Workers[0].Limit != 4 ||
		len(snap.Workers[0].GPUs) != 2 || snap.Workers[0].GPUs[1].MemTotalMiB == 0 || snap.Workers[0].Engine == "" {
		t.Errorf("top workers = %+v", snap.Workers)
	}
	if len(snap.Jobs) != 1 || snap.Jobs[0].ID != "wk" || snap.Jobs[0].Submitted != 8 || snap.Jobs[0].Done != 8 || snap.Jobs[0].Tokens == 0 {
		t.Errorf("top jobs = %+v", snap.Jobs)
	}
}
