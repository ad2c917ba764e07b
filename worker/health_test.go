package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/gpu"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/worker"
)

// TestFaultHandsBackAndRecovers: a GPU fault (XID, uncorrected ECC, over
// temperature) or a failing engine health check on a worker whose tasks
// are mid-generation makes it unhealthy: /healthz answers 503 with the
// reason, its registration says so, its claims are released without done
// (checkpointed), and another worker finishes every task exactly once.
// When the fault clears (temperature, engine) it is healthy again.
func TestFaultHandsBackAndRecovers(t *testing.T) {
	type fault struct {
		inject, clear func(*gpu.Simulator, *gateEngine) error
	}
	tests := []struct {
		name string
		fault
		recovers bool
	}{
		{"xid", fault{inject: func(s *gpu.Simulator, _ *gateEngine) error { return s.InjectXID(0, 79) }}, false},
		{"uncorrected ecc", fault{inject: func(s *gpu.Simulator, _ *gateEngine) error { return s.InjectECC(1, 0, 2) }}, false},
		{"over temperature", fault{
			inject: func(s *gpu.Simulator, _ *gateEngine) error { return s.InjectOverTemperature(0, 70) },
			clear:  func(s *gpu.Simulator, _ *gateEngine) error { return s.InjectOverTemperature(0, 0) },
		}, true},
		{"engine health check fails", fault{
			inject: func(_ *gpu.Simulator, g *gateEngine) error { g.setDown(true); return nil },
			clear:  func(_ *gpu.Simulator, g *gateEngine) error { g.setDown(false); return nil },
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := clustertest.Start(t)
			dir := t.TempDir()
			ps := testProblems(6)
			_, c := startSim(t, ps, nil)
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
			// w1's engine holds every request: its tasks stay mid-generation.
			held := newGate(worker.NewEngine(c, nil))
			w1 := startWorker(t, env, "w1", []worker.Engine{held}, func(cfg *worker.Config) {
				cfg.GPU, cfg.Hostname = src, "node-a"
			})
			if _, err := api.Submit(context.Background(), coordinator.JobSpec{ID: "f", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 1}); err != nil {
				t.Fatal(err)
			}
			eventually.True(t, waitLimit, "w1 claims 4 tasks", func() bool { return claimsOf(t, env.Conn.Etcd, "w1") == 4 })
			if st := healthz(t, w1); st.code != http.StatusOK {
				t.Fatalf("/healthz before the fault = %d %+v, want 200", st.code, st.Status)
			}

			if err := tc.inject(gsim, held); err != nil {
				t.Fatal(err)
			}
			eventually.True(t, waitLimit, "w1 unhealthy", func() bool { return w1.Status().State == worker.StateUnhealthy })
			eventually.True(t, waitLimit, "w1 releases its claims", func() bool { return claimsOf(t, env.Conn.Etcd, "w1") == 0 })
			st := healthz(t, w1)
			if st.code != http.StatusServiceUnavailable || st.State != worker.StateUnhealthy || len(st.Reasons) == 0 {
				t.Fatalf("/healthz = %d %+v, want 503 unhealthy with reasons", st.code, st.Status)
			}
			t.Logf("reasons: %q", st.Reasons)
			eventually.True(t, waitLimit, "registration says unhealthy", func() bool {
				info := registration(t, env, "w1")
				return info.Health == cluster.HealthUnhealthy && info.Draining && len(info.Reasons) > 0
			})

			startWorker(t, env, "w2", []worker.Engine{worker.NewEngine(c, nil)}, nil)
			j := waitJob(t, env.Conn.Etcd, "f", terminal)
			if j.State != coordinator.JobDone {
				t.Fatalf("job = %s %+v, want done", j.State, j.Counts)
			}
			out := checkExactlyOnce(t, dir, "f", ps, 1)
			retried := 0
			for id, l := range out {
				if l.Worker != "w2" {
					t.Errorf("task %s written by %q, want w2 (w1 never got past its held engine)", id, l.Worker)
				}
				if l.Attempt > 1 {
					retried++
				}
			}
			if retried < 4 {
				t.Errorf("%d tasks ran again, want the 4 w1 handed back", retried)
			}

			if !tc.recovers {
				return
			}
			if err := tc.clear(gsim, held); err != nil {
				t.Fatal(err)
			}
			eventually.True(t, waitLimit, "w1 healthy again", func() bool { return healthz(t, w1).code == http.StatusOK })
			eventually.True(t, waitLimit, "registration says healthy", func() bool {
				info := registration(t, env, "w1")
				return info.Health == cluster.HealthOK && !info.Draining
			})
		})
	}
}

type healthAnswer struct {
	code int
	worker.Status
}

func healthz(t *testing.T, w *worker.Worker) healthAnswer {
	t.Helper()
	rec := httptest.NewRecorder()
	w.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	a := healthAnswer{code: rec.Code}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.Status); err != nil {
		t.Fatalf("decode /healthz: %v (%s)", err, rec.Body)
	}
	return a
}

func registration(t *testing.T, env *clustertest.Env, id string) cluster.WorkerInfo {
	t.Helper()
	resp, err := env.Conn.Etcd.Get(context.Background(), cluster.WorkerKey(id))
	if err != nil {
		t.Fatal(err)
	}
	var info cluster.WorkerInfo
	if len(resp.Kvs) == 1 {
		_ = json.Unmarshal(resp.Kvs[0].Value, &info)
	}
	return info
}

// TestDrainReportsDraining: once Drain is called the worker says draining
// in /healthz (503) until it leaves.
func TestDrainReportsDraining(t *testing.T) {
	env := clustertest.Start(t)
	_, c := startSim(t, testProblems(1), nil)
	w := startWorker(t, env, "w1", []worker.Engine{worker.NewEngine(c, nil)}, nil)
	eventually.True(t, waitLimit, "registered", func() bool { return registration(t, env, "w1").Health == cluster.HealthOK })
	if err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := healthz(t, w); a.code != http.StatusServiceUnavailable || a.State != worker.StateDraining {
		t.Fatalf("/healthz after Drain = %d %+v, want 503 draining", a.code, a.Status)
	}
}
