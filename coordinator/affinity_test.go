package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hintfleet/hintfleet/cluster"
	"github.com/hintfleet/hintfleet/cluster/clustertest"
	"github.com/hintfleet/hintfleet/coordinator"
	"github.com/hintfleet/hintfleet/engine"
	"github.com/hintfleet/hintfleet/hint"
	"github.com/hintfleet/hintfleet/internal/eventually"
	"github.com/hintfleet/hintfleet/trajectory"
	"github.com/hintfleet/hintfleet/worker"
)

// longProblems are n problems with a long, distinct preamble each, so the
// prompt spans many KV blocks and a prefix-cache hit is worth measuring.
func longProblems(n int) []trajectory.Problem {
	ps := testProblems(n)
	for i := range ps {
		var b strings.Builder
		for s := range 12 {
			fmt.Fprintf(&b, "Context sentence %d of problem %02d says that the numbers below are integers and the sum is exact. ", s, i)
		}
		ps[i].Question = b.String() + ps[i].Question
	}
	return ps
}

// runAffinityJob runs one job of ps × k on workers each with its own sim
// engine, and returns the engines' prefix-cache hit rate over the job.
func runAffinityJob(t *testing.T, affinity bool, workers, k int, ps []trajectory.Problem) float64 {
	t.Helper()
	env := clustertest.Start(t)
	dir := t.TempDir()
	r := startReplica(t, env, dir, coordinator.Config{Affinity: affinity})
	waitLeader(t, r)
	var clients []*engine.Client
	for i := range workers {
		c := startSim(t, ps, 100)
		clients = append(clients, c)
		startWorker(t, env, fmt.Sprintf("w%d", i+1), []worker.Engine{worker.NewEngine(c, nil)}, func(cfg *worker.Config) {
			cfg.Concurrency = 2
		})
	}
	eventually.True(t, waitLimit, "workers registered", func() bool {
		ws, err := r.client.Workers(context.Background())
		return err == nil && len(ws) == workers
	})
	id := fmt.Sprintf("aff-%v", affinity)
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: id, Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: k}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, env.Conn.Etcd, id, terminal)
	checkExactlyOnce(t, dir, id, ps, k)
	var hits, queries float64
	for _, c := range clients {
		m, err := c.Metrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		hits += m.PrefixCacheHits
		queries += m.PrefixCacheQueries
	}
	if queries == 0 {
		t.Fatal("no prefix cache queries")
	}
	return hits / queries
}

// TestPrefixCacheAffinity measures the sim engines' prefix-cache hit rate
// (vllm:prefix_cache_hits_total / queries_total) for one job of 16
// problems × 4 samples on 4 workers, each with its own engine, with and
// without affinity, and prints both as BENCH lines.
func TestPrefixCacheAffinity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two fleets")
	}
	ps := longProblems(16)
	with := runAffinityJob(t, true, 4, 4, ps)
	without := runAffinityJob(t, false, 4, 4, ps)
	fmt.Printf("BENCH prefix_cache_hit_rate_affinity %.3f ratio\n", with)
	fmt.Printf("BENCH prefix_cache_hit_rate_no_affinity %.3f ratio\n", without)
	if with <= without {
		t.Errorf("hit rate with affinity %.3f, without %.3f: want higher with", with, without)
	}
}

// heldEngine blocks every request until its context ends: a worker on it
// never finishes a task.
type heldEngine struct{ worker.Engine }

func (h heldEngine) Generate(ctx context.Context, _ hint.GenRequest) (hint.GenStream, error) {
	<-ctx.Done()
	return nil, errors.New("held")
}

// TestAffinityBacklogOfDeadWorkerMoved: tasks waiting on a worker's own
// subject when it dies (kill -9: connection closed, lease left to expire)
// are moved to the shared subject and finished by another worker, exactly
// once.
func TestAffinityBacklogOfDeadWorkerMoved(t *testing.T) {
	env := clustertest.Start(t)
	dir := t.TempDir()
	ps := testProblems(4)
	c := startSim(t, ps, 200)
	r := startReplica(t, env, dir, coordinator.Config{Affinity: true, AffinityBacklog: 3})
	waitLeader(t, r)
	w1 := startWorker(t, env, "w1", []worker.Engine{heldEngine{worker.NewEngine(c, nil)}}, func(cfg *worker.Config) {
		cfg.Concurrency = 1
	})
	eventually.True(t, waitLimit, "w1 registered", func() bool {
		ws, err := r.client.Workers(context.Background())
		return err == nil && len(ws) == 1
	})
	if _, err := r.client.Submit(context.Background(), coordinator.JobSpec{ID: "gone", Model: testModel, ProblemsJSONL: problemsJSONL(ps), Samples: 1}); err != nil {
		t.Fatal(err)
	}
	// w1 alone: capacity 1 + backlog 3 — every task is routed to it, one
	// claimed and three waiting on its own subject.
	own := cluster.WorkerConsumer(testModel, "w1")
	eventually.True(t, waitLimit, "3 tasks wait on w1's own subject", func() bool {
		cons, err := env.Conn.JS.Consumer(context.Background(), cluster.StreamTasks, own)
		if err != nil {
			return false
		}
		info, err := cons.Info(context.Background())
		return err == nil && info.NumPending == 3
	})
	_ = w1.conn.Close() // kill -9
	w1.cancel()
	<-w1.w.Done()
	startWorker(t, env, "w2", []worker.Engine{worker.NewEngine(c, nil)}, nil)
	j := waitJob(t, env.Conn.Etcd, "gone", terminal)
	if j.State != coordinator.JobDone {
		t.Fatalf("job %s %+v, want done", j.State, j.Counts)
	}
	tl := checkExactlyOnce(t, dir, "gone", ps, 1)
	if tl.written != 4 {
		t.Fatalf("written %d, want 4", tl.written)
	}
}
