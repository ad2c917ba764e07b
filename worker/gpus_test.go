package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/worker"
)

// TestGPUFaultDrainsOnlyItsEngine: a worker with two engines, one on each
// of two GPUs (--engine-gpus 0 and 1). An XID on GPU 1 drains the engine
// on GPU 1 alone: its tasks are handed back, the other engine keeps its
// tasks, the worker stays healthy, and /healthz, the registration (what
// /v1/workers lists) and /metrics show which engine runs on which GPU.
func TestGPUFaultDrainsOnlyItsEngine(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(4)
	_, c0 := startSim(t, ps, nil)
	_, c1 := startSim(t, ps, nil)
	api := startCoordinator(t, env, dir)
	gsim, err := gpu.NewSimulator(2)
	if err != nil {
		t.Fatal(err)
	}
	src, err := gsim.Open(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	// Both engines hold every request: their tasks stay mid-generation.
	e0, e1 := newGate(worker.NewEngine(c0, nil)), newGate(worker.NewEngine(c1, nil))
	w := startWorker(t, env, "w1", []worker.Engine{e0, e1}, func(cfg *worker.Config) {
		cfg.GPU, cfg.Hostname, cfg.Concurrency = src, "node-a", 2
		cfg.EngineGPUs = [][]string{{"0"}, {"GPU-5151a000-0000-4000-8000-000000000001"}}
	})
	if _, err := api.Submit(context.Background(), coordinator.JobSpec{ID: "g", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 1}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, waitLimit, "w1 claims 4 tasks, 2 per engine", func() bool {
		st := w.Status()
		return claimsOf(t, env.Conn.Etcd, "w1") == 4 && st.Engines[0].InFlight == 2 && st.Engines[1].InFlight == 2
	})
	eventually.True(t, waitLimit, "the registration maps engines to GPUs", func() bool {
		gs := registration(t, env, "w1").GPUs
		return len(gs) == 2 && slices.Equal(gs[0].Engines, []string{c0.BaseURL()}) && slices.Equal(gs[1].Engines, []string{c1.BaseURL()})
	})

	if err := gsim.InjectXID(1, 79); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, waitLimit, "engine 1 drained", func() bool { return !w.Status().Engines[1].Healthy })
	eventually.True(t, waitLimit, "engine 1's tasks handed back", func() bool {
		return claimsOf(t, env.Conn.Etcd, "w1") == 2 && w.Status().Engines[1].InFlight == 0
	})
	st := healthz(t, w)
	if st.State != worker.StateHealthy || st.code != 200 {
		t.Errorf("/healthz = %d %s, want 200 healthy: engine 0 still serves", st.code, st.State)
	}
	if e := st.Engines[1]; !strings.Contains(e.Error, "gpu 1") || !strings.Contains(e.Error, "xid 79") || !slices.Equal(e.GPUs, []string{"1"}) {
		t.Errorf("engine 1 status = %+v, want the xid on gpu 1 as its error, gpus [1]", e)
	}
	if e := st.Engines[0]; !e.Healthy || e.InFlight != 2 || !slices.Equal(e.GPUs, []string{"0"}) {
		t.Errorf("engine 0 status = %+v, want healthy, 2 in flight, gpus [0]", e)
	}
	body := scrape(t, w.Handler())
	for _, want := range []string{
		`hintfleet_engine_gpu_info{GPU_I_ID="",engine="` + c1.BaseURL() + `",gpu="1",worker="w1"} 1`,
		`hintfleet_engine_healthy{engine="` + c1.BaseURL() + `",worker="w1"} 0`,
		`hintfleet_engine_healthy{engine="` + c0.BaseURL() + `",worker="w1"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The registration is rewritten by the health watch, which may land
	// after the hand-back the test waited for.
	eventually.Report(t, waitLimit, "registration healthy with engine 0's capacity 2", func() (bool, string) {
		info := registration(t, env, "w1")
		return info.Health == cluster.HealthOK && info.Capacity == 2, fmt.Sprintf("health %s capacity %d", info.Health, info.Capacity)
	})
	e0.release()
	e1.release()
}

// TestEngineGPUsValidated: a device list that does not parse is a config
// error from New; one naming a GPU the node lacks fails Run.
func TestEngineGPUsValidated(t *testing.T) {
	env := clustertest.Start(t)
	_, c := startSim(t, testProblems(1), nil)
	eng := worker.NewEngine(c, nil)
	cfg := worker.Config{ID: "w", Model: testModel, Engines: []worker.Engine{eng}, EngineGPUs: [][]string{{"zero"}}}
	if _, err := worker.New(env.Conn, cfg); !errors.Is(err, worker.ErrInvalidConfig) {
		t.Errorf("New with gpus [zero] = %v, want ErrInvalidConfig", err)
	}
	cfg.EngineGPUs = [][]string{{"0"}, {"1"}}
	if _, err := worker.New(env.Conn, cfg); !errors.Is(err, worker.ErrInvalidConfig) {
		t.Errorf("New with 2 gpu lists for 1 engine = %v, want ErrInvalidConfig", err)
	}
	gsim, err := gpu.NewSimulator(1)
	if err != nil {
		t.Fatal(err)
	}
	src, err := gsim.Open(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = src.Close() })
	cfg.GPU, cfg.EngineGPUs = src, [][]string{{"3"}}
	w, err := worker.New(env.Conn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(t.Context()); !errors.Is(err, gpu.ErrUnknownDevice) || !errors.Is(err, worker.ErrInvalidConfig) {
		t.Errorf("Run with gpu 3 of 1 = %v, want ErrInvalidConfig and gpu.ErrUnknownDevice", err)
	}
}
